# SPDX-License-Identifier: BSD-3-Clause
# tests/e2e: DNS over TLS and DNS over HTTPS (HTTP/2 and HTTP/1.1) with
# kdig, curl, openssl s_client and dnsperf.
TESTS += tests/e2e/test_doh_dot.sh tests/e2e/test_doh_browser.sh
EXTRA_DIST += tests/e2e/test_doh_dot.sh tests/e2e/test_doh_browser.sh
