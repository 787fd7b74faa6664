# SPDX-License-Identifier: BSD-3-Clause
# contrib/: the systemd unit, the resolver recipes and the annotated config.
EXTRA_DIST += contrib/pkdns.service.in contrib/unbound-forward.conf \
	contrib/dnsmasq-pkdns.conf contrib/resolved-pkdns.conf

# The unit names the binary and the config with the configured paths.
# Made here rather than by configure so that `make sbindir=...` counts too.
if HAVE_SYSTEMD
systemdsystemunit_DATA = contrib/pkdns.service
endif
CLEANFILES += contrib/pkdns.service
contrib/pkdns.service: $(srcdir)/contrib/pkdns.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		$(srcdir)/contrib/pkdns.service.in >$@.tmp && mv $@.tmp $@

# The annotated config goes to $(sysconfdir)/pkdns/pkdns.conf unless a
# config is already there (as unbound does): make install never overwrites
# an administrator's file. Uninstall removes it only if it is unchanged.
pkdns_conf = $(DESTDIR)$(sysconfdir)/pkdns/pkdns.conf
install-data-hook:
	@if test -f "$(pkdns_conf)"; then \
		echo "keeping the existing $(pkdns_conf)"; \
	else \
		$(MKDIR_P) "$(DESTDIR)$(sysconfdir)/pkdns" && \
		echo " $(INSTALL_DATA) $(srcdir)/etc/pkdns.conf $(pkdns_conf)" && \
		$(INSTALL_DATA) $(srcdir)/etc/pkdns.conf "$(pkdns_conf)"; \
	fi
uninstall-hook:
	@if cmp -s $(srcdir)/etc/pkdns.conf "$(pkdns_conf)"; then \
		echo " rm -f $(pkdns_conf)"; rm -f "$(pkdns_conf)"; \
		rmdir "$(DESTDIR)$(sysconfdir)/pkdns" 2>/dev/null || :; \
	fi

# distcheck installs into a scratch prefix as a normal user: keep the unit
# under it rather than in the system's unit folder.
AM_DISTCHECK_CONFIGURE_FLAGS = --with-systemdsystemunitdir='$${libdir}/systemd/system'
