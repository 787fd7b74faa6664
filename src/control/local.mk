# SPDX-License-Identifier: BSD-3-Clause
# src/control: the control channel's protocol (shared by the daemon and
# pkdns-control) and the pkdns-control client.
libpkdns_a_SOURCES += src/control/ctl.c src/control/ctl.h
sbin_PROGRAMS += src/pkdns-control
src_pkdns_control_SOURCES = src/control/pkdns-control.c
src_pkdns_control_LDADD = libpkdns.a $(DEPS_LIBS)
# The default control socket, $(runstatedir)/pkdns.sock: expanded at make
# time, as sysconfdir is (src/daemon/local.mk).
AM_CPPFLAGS += -DPKDNS_RUNSTATEDIR=\"$(runstatedir)\"
