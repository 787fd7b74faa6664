# SPDX-License-Identifier: BSD-3-Clause
# tests/interop: pkdns's DHT node against libtorrent-rasterbar (Debian's
# python3-libtorrent). The .py tests run as `$(PYTHON3) script` under the
# TAP driver and re-execute themselves with /usr/bin/python3, the
# interpreter that has the binding; without it they print "1..0 # SKIP".
TESTS += tests/interop/test_lt_selftest.py \
	tests/interop/test_interop_dht.py \
	tests/interop/test_interop_pkarr.py \
	tests/interop/test_interop_relay.py \
	tests/interop/test_interop_emulated.py
EXTRA_DIST += tests/interop/README.md \
	tests/interop/MEASUREMENTS.md \
	tests/interop/ltdht.py \
	tests/interop/interop_common.py \
	tests/interop/measure_lookups.py \
	tests/interop/test_lt_selftest.py \
	tests/interop/test_interop_dht.py \
	tests/interop/test_interop_pkarr.py \
	tests/interop/test_interop_relay.py \
	tests/interop/test_interop_emulated.py \
	tests/interop/pkarr_js.mjs
# test_interop_relay.py installs the JS pkarr package here once (npm)
clean-local: clean-npm-pkarr
clean-npm-pkarr:
	rm -rf tests/interop/.npm-pkarr
.PHONY: clean-npm-pkarr
