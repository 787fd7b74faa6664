# man/: the manual pages of the daemon and its configuration file, and the
# OpenWrt init script shipped in the tarball (the other contrib/ files are
# in contrib/local.mk). pkdns-cli.1 is added by src/cli.
dist_man_MANS += man/pkdns.8 man/pkdns.conf.5
EXTRA_DIST += contrib/openwrt/pkdns.init
