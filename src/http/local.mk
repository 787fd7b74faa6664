# SPDX-License-Identifier: BSD-3-Clause
# src/http: TLS (DoT, HTTPS), the HTTP/1.1 and HTTP/2 server with its
# route table, and DNS over HTTPS.
libpkdns_a_SOURCES += src/http/tls.c src/http/tls.h src/http/http.c src/http/http.h \
	src/http/http_internal.h src/http/http1.c src/http/h2.c src/http/parse.c \
	src/http/parse.h src/http/doh.c src/http/doh.h src/http/front.c src/http/front.h
