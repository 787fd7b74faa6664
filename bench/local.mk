# SPDX-License-Identifier: BSD-3-Clause
# bench/: the benchmarks the README names, shipped in the tarball (run by
# hand, not by make check; see bench/README.md).
EXTRA_DIST += \
	bench/README.md bench/RESULTS.md bench/run-all.sh bench/lib.sh \
	bench/cached_icann.sh bench/cached_pkarr.sh bench/cold_lookups.sh \
	bench/memory.sh bench/startup.sh bench/fill_cache.c \
	bench/footprint.sh bench/resource_bounds.sh bench/doh_dot.sh bench/doh_cost.sh \
	bench/answer_cost.sh bench/answer_cost.c bench/lib/fillq.py \
	bench/lib/cold.py bench/lib/dnsq.py bench/lib/dnsstat.py \
	bench/lib/summarise.py bench/lib/timeline.py \
	bench/cold_internet.sh bench/cold_internet.py bench/cold_internet_net.c \
	bench/cold_internet_js.mjs
