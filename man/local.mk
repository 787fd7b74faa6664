# SPDX-License-Identifier: BSD-3-Clause
# man/: the manual pages of the daemon and its configuration file;
# pkdns-cli.1 is added by src/cli, contrib/ files by contrib/local.mk and
# contrib/openwrt by tests/cross/cross.mk.
dist_man_MANS += man/pkdns.8 man/pkdns.conf.5 man/pkdns-control.8
