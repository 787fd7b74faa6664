# man/: the manual pages of the daemon and its configuration file, and the
# contrib/ files (systemd unit, resolver snippets; contrib/openwrt: tests/cross/cross.mk)
# shipped in the tarball. pkdns-cli.1 is added by src/cli.
dist_man_MANS += man/pkdns.8 man/pkdns.conf.5
EXTRA_DIST += contrib/pkdns.service \
	contrib/unbound-forward.conf contrib/dnsmasq-pkdns.conf \
	contrib/resolved-pkdns.conf
