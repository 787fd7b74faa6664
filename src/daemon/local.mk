# SPDX-License-Identifier: BSD-3-Clause
# src/daemon: the pkdns program and its context.
sbin_PROGRAMS += src/pkdns
src_pkdns_SOURCES = src/daemon/main.c src/daemon/daemon.c src/daemon/daemon.h \
	src/daemon/internal.h src/daemon/pkarr_path.c src/daemon/resolver_conf.c \
	src/daemon/ops.c src/daemon/ops.h src/daemon/control.c src/daemon/control.h \
	src/daemon/metrics.c \
	src/daemon/request.c src/daemon/request.h \
	src/daemon/reply.c \
	src/daemon/relay_api.c src/daemon/relay_api.h \
	src/daemon/relay_http.c src/daemon/relay_http.h
src_pkdns_LDADD = libpkdns.a $(DEPS_LIBS)
# The default config file is $(sysconfdir)/pkdns/pkdns.conf (src/util/conf.c
# and its test read this); expanded here, at make time, so that
# "make sysconfdir=..." and configure's --sysconfdir both reach the binary.
AM_CPPFLAGS += -DPKDNS_SYSCONFDIR=\"$(sysconfdir)\"
