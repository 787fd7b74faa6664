# SPDX-License-Identifier: BSD-3-Clause
# src/icann: ordinary names through libunbound.
libpkdns_a_SOURCES += src/icann/icann.c src/icann/icann.h
