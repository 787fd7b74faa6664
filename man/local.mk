# man/: the manual pages of the daemon and its configuration file, and the
# contrib/ files (systemd unit, OpenWrt init script, resolver snippets)
# shipped in the tarball. pkdns-cli.1 is added by src/cli.
dist_man_MANS += man/pkdns.8 man/pkdns.conf.5
EXTRA_DIST += contrib/pkdns.service contrib/openwrt/pkdns.init \
	contrib/unbound-forward.conf contrib/dnsmasq-pkdns.conf \
	contrib/resolved-pkdns.conf
