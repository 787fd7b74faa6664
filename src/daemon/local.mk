# src/daemon: the pkdns program and its context.
sbin_PROGRAMS += src/pkdns
src_pkdns_SOURCES = src/daemon/main.c src/daemon/daemon.c src/daemon/daemon.h \
	src/daemon/internal.h src/daemon/pkarr_path.c
src_pkdns_LDADD = libpkdns.a $(DEPS_LIBS)
