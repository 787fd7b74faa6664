# SPDX-License-Identifier: BSD-3-Clause
# tests/: end-to-end and interop test scripts

# End-to-end: the real pkdns on loopback, nsd as its ICANN upstream, asked
# with dig/kdig/drill and raw packets (tests/e2e/dnsprobe.py). Each script
# skips itself (TAP "1..0 # SKIP") when pkdns is not built or nsd/dig are
# missing.
TESTS += \
	tests/e2e/test_records.sh \
	tests/e2e/test_transport.sh \
	tests/e2e/test_robustness.sh \
	tests/e2e/test_acl.sh \
	tests/e2e/test_cache.sh \
	tests/e2e/test_dnssec.sh \
	tests/e2e/test_ede.sh \
	tests/e2e/test_lifecycle.sh \
	tests/e2e/test_recipes.sh
EXTRA_DIST += \
	tests/e2e/lib.sh \
	tests/e2e/dnsprobe.py \
	tests/e2e/blackhole.py \
	tests/e2e/data/e2e.example.zone \
	tests/e2e/data/other.example.zone \
	tests/e2e/test_records.sh \
	tests/e2e/test_transport.sh \
	tests/e2e/test_robustness.sh \
	tests/e2e/test_acl.sh \
	tests/e2e/test_cache.sh \
	tests/e2e/test_dnssec.sh \
	tests/e2e/test_ede.sh \
	tests/e2e/test_lifecycle.sh \
	tests/e2e/test_recipes.sh \
	tests/run-all.sh \
	tests/lib-install.sh
