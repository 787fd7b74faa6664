# SPDX-License-Identifier: BSD-3-Clause
# tests/e2e: end-to-end tests of the pkarr path (keys as TLDs), run
# against the daemon's DHT testnet or a one-node loopback DHT.
TESTS += \
	tests/e2e/test_pkarr.sh \
	tests/e2e/test_pkarr_coalesce.sh \
	tests/e2e/test_pkarr_persist.sh \
	tests/e2e/test_pkarr_saved_table.sh \
	tests/e2e/test_pkarr_update.sh \
	tests/e2e/test_pkarr_republish.sh \
	tests/e2e/test_pkarr_delegation.sh \
	tests/e2e/test_pkarr_ipv6.sh \
	tests/e2e/test_pkarr_deadline.sh \
	tests/e2e/test_pkarr_request.sh \
	tests/e2e/test_reload.sh \
	tests/e2e/test_icann_budget.sh \
	tests/e2e/test_pkarr_cache_damage.sh \
	tests/e2e/test_pkarr_unanswered.sh \
	tests/e2e/test_pkarr_future.sh \
	tests/e2e/test_pkarr_future_only.sh \
	tests/e2e/test_pkarr_policy.sh \
	tests/e2e/test_dht_bootstrap.sh \
	tests/e2e/test_dht_sybil.sh \
	tests/e2e/test_dht_emulated.sh \
	tests/e2e/test_relay_api.sh \
	tests/e2e/test_relay_browser.sh \
	tests/e2e/test_relay_coalesce.sh \
	tests/e2e/test_relay_bounds.sh
EXTRA_DIST += \
	tests/e2e/relay_lib.sh \
	tests/e2e/test_relay_api.sh \
	tests/e2e/test_relay_browser.sh \
	tests/e2e/test_relay_coalesce.sh \
	tests/e2e/test_relay_bounds.sh \
	tests/e2e/test_pkarr.sh \
	tests/e2e/test_pkarr_coalesce.sh \
	tests/e2e/test_pkarr_persist.sh \
	tests/e2e/test_pkarr_saved_table.sh \
	tests/e2e/test_pkarr_update.sh \
	tests/e2e/test_pkarr_republish.sh \
	tests/e2e/test_pkarr_delegation.sh \
	tests/e2e/test_pkarr_ipv6.sh \
	tests/e2e/test_pkarr_deadline.sh \
	tests/e2e/test_pkarr_request.sh \
	tests/e2e/test_reload.sh \
	tests/e2e/test_icann_budget.sh \
	tests/e2e/test_pkarr_cache_damage.sh \
	tests/e2e/test_pkarr_unanswered.sh \
	tests/e2e/test_pkarr_future.sh \
	tests/e2e/test_pkarr_future_only.sh \
	tests/e2e/test_pkarr_policy.sh \
	tests/e2e/test_dht_bootstrap.sh \
	tests/e2e/test_dht_sybil.sh \
	tests/e2e/test_dht_emulated.sh \
	tests/e2e/data/dht_sybil_node.py \
	tests/e2e/pkarr_lib.sh \
	tests/e2e/data/pkarr_a.zone \
	tests/e2e/data/pkarr_b.zone \
	tests/e2e/data/pkarr_big.zone \
	tests/e2e/data/pkarr_slow_node.py
