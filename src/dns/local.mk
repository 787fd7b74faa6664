# SPDX-License-Identifier: BSD-3-Clause
# src/dns: the DNS front end (listeners, query parsing, access control).
libpkdns_a_SOURCES += src/dns/msg.c src/dns/msg.h src/dns/server.c src/dns/server.h \
	src/dns/acl.c src/dns/acl.h src/dns/ede.c src/dns/ede.h src/dns/querylog.c src/dns/querylog.h src/dns/rebind.c src/dns/rebind.h
