# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by tests/run-all.sh and .ci/run (bash): install Debian packages
# for the tests without touching the machine's services. During the
# install a policy-rc.d refusing every start (exit 101) is in place,
# unless one already is; afterwards the systemd units of the packages the
# install added (compared with the list before it) are disabled, so that
# none starts at the next boot either.
#
# The caller's EXIT trap should call drop_policy (an interrupted install
# leaves no policy-rc.d of ours behind). POLICY_RC_D overrides the path
# (for dry runs with stub apt-get/dpkg/systemctl).

policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
policy_ours=no

drop_policy() {
	[ "$policy_ours" = yes ] && rm -f "$policy"
	policy_ours=no
}

installed_packages() {
	dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" {print $2}'
}

# install_quietly PKG...: apt-get install them (DEBIAN_FRONTEND is the
# caller's); apt-get's status
install_quietly() {
	local before after rc p u
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# pkdns tests: no service starts during their install\nexit 101\n' \
			>"$policy" && chmod 755 "$policy" && policy_ours=yes
	fi
	before=$(installed_packages)
	apt-get install -y -q --no-install-recommends "$@" >/dev/null
	rc=$?
	drop_policy
	after=$(installed_packages)
	for p in $(comm -13 <(echo "$before" | sort) <(echo "$after" | sort)); do
		for u in $(dpkg -L "$p" 2>/dev/null |
			sed -E -n 's#^/(usr/)?lib/systemd/system/([^/]+\.(service|socket|timer))$#\2#p'); do
			echo "not enabling $u (installed for the tests)"
			systemctl disable --quiet "$u" >/dev/null 2>&1
		done
	done
	return "$rc"
}
