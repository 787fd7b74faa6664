# SPDX-License-Identifier: BSD-3-Clause
# tests/cross/: cross-builds checked under qemu-user (run-arch.sh ARCH,
# run-all-arch.sh; .ci/run runs them, `make check` does not: they need
# the cross compilers and download a sysroot), and the OpenWrt package's
# scripts, which `make check` does test (test_openwrt.sh).
TESTS += tests/cross/test_openwrt.sh
EXTRA_DIST += \
	tests/cross/test_openwrt.sh \
	tests/cross/sysroot.sh \
	tests/cross/run-arch.sh \
	tests/cross/run-all-arch.sh \
	tests/cross/e2e_foreign.sh \
	etc/pkdns-router.conf \
	contrib/openwrt/Makefile \
	contrib/openwrt/README.md \
	contrib/openwrt/files/pkdns.init \
	contrib/openwrt/files/pkdns.config \
	contrib/openwrt/files/pkdns.defaults \
	contrib/openwrt/files/pkdns-dnsmasq.sh \
	contrib/openwrt/files/pkdns.ntpd
