# SPDX-License-Identifier: BSD-3-Clause
# src/util: logging, config, addresses, rate limits; knows nothing of DNS or the DHT.
libpkdns_a_SOURCES += src/util/log.c src/util/log.h src/util/time.h src/util/bytes.h \
	src/util/conf.c src/util/conf.h src/util/netaddr.c src/util/netaddr.h \
	src/util/ratelimit.c src/util/ratelimit.h \
	src/util/pidfile.c src/util/pidfile.h src/util/notify.c src/util/notify.h \
	src/util/privdrop.c src/util/privdrop.h
