# SPDX-License-Identifier: BSD-3-Clause
# tests/e2e: operating the daemon (issue 14): the control channel, the
# Prometheus metrics, systemd readiness, the pidfile lock, the privilege
# drop and dht-listen.
TESTS += \
	tests/e2e/test_control.sh \
	tests/e2e/test_control_source.sh \
	tests/e2e/test_ops.sh
EXTRA_DIST += \
	tests/e2e/test_control.sh \
	tests/e2e/test_control_source.sh \
	tests/e2e/test_ops.sh
