#!/bin/bash
# The Debian package, as an operator gets it: built with dpkg-buildpackage -us -uc -b from a copy
# of the tree in a temporary directory, checked by lintian and by its contents (module in the
# multiarch security directory, helper, manual pages, the conffile, a pam-auth-update profile
# that is off), installed with dpkg -i, used for a real ssh login (sshd's PAM stack names the
# INSTALLED pam_acred.so, which runs the INSTALLED /usr/bin/acred-helper with
# /etc/security/pam_acred.conf), and purged so that nothing is left on the machine, also when a
# step fails. Not part of `make check` (it installs a package); scripts/check.sh runs it.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
for tool in dpkg-buildpackage dh lintian expect ssh; do
  command -v "$tool" >/dev/null || skip_all "$tool is missing (scripts/deps.sh installs it)"
done
[ -x /usr/sbin/sshd ] || skip_all "openssh-server is missing"
PKG=libpam-acred
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MODULE=/lib/$MA/security/pam_acred.so
installed() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install ok installed'; }
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed'; then
  echo "Bail out! $PKG is already on this machine; this test installs and purges it, so it stops here"
  exit 1
fi

W=$(mktemp -d /tmp/acred-deb.XXXXXX)
WE_INSTALLED=
# dpkg ARGS...: dpkg, waiting while another dpkg or apt holds the lock
dpkg_wait() {
  local i
  for i in $(seq 90); do
    dpkg "$@" > "$W/dpkg.log" 2>&1 && return 0
    grep -qi 'lock' "$W/dpkg.log" || return 1
    sleep 2
  done
  return 1
}
deb_purge() {
  # the harness's private mounts (in this namespace only) would keep dpkg and the postrm from
  # removing what is under them
  local m
  for m in /etc/security/pam_acred.conf /var/cache/pam_acred /run/pam_acred-user /run/pam_acred; do
    mountpoint -q "$m" 2>/dev/null && umount "$m"
  done
  [ -n "$WE_INSTALLED" ] || return 0
  dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -qv 'not-installed' || return 0
  dpkg_wait --purge "$PKG"
}
deb_cleanup() {
  acred_cleanup
  deb_purge >/dev/null 2>&1 || echo "# could not purge $PKG: see dpkg --purge $PKG" >&2
  rm -rf "$W"
}
trap 'exit 1' INT TERM HUP
trap deb_cleanup EXIT
stop() { sed 's/^/# /' "$@" | tail -n 40; done_testing; exit 1; }

# --- build, from a copy of the tree outside it ----------------------------------------------------
mkdir "$W/src"
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # what a clean clone has, plus new files not yet committed (never build litter: .gitignore)
  (cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard |
     while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -C "$W/src" -xf -
else
  tar -C "$top_srcdir" --exclude=./build --exclude=./autom4te.cache --exclude='*.o' \
    --exclude='*.lo' --exclude='*.la' --exclude=.libs --exclude=.deps -cf - . | tar -C "$W/src" -xf -
fi
check "the tree is copied to $W/src, outside the source tree" test -x "$W/src/debian/rules"
start=$SECONDS
(cd "$W/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) > "$W/build.log" 2>&1 \
  || { not_ok "dpkg-buildpackage -us -uc -b builds $PKG"; stop "$W/build.log"; }
deb=$(ls "$W"/${PKG}_*.deb 2>/dev/null | head -n 1)
check "dpkg-buildpackage -us -uc -b builds $PKG ($((SECONDS - start)) s)" test -f "$deb"
check "the package build does not run the test suite" bash -c "! grep -qE 'tests/e2e/|^# (PASS|TOTAL):' '$W/build.log'"
lintian --fail-on error "$W"/*.changes > "$W/lintian.log" 2>&1
lrc=$?
sed -n 's/^/# lintian: /p' "$W/lintian.log" | grep -v 'root privileges'
check "lintian finds no error" test "$lrc" -eq 0

# --- what is in it ------------------------------------------------------------------------------------
dpkg-deb -c "$deb" > "$W/contents"
dpkg-deb -x "$deb" "$W/x"
dpkg-deb -e "$deb" "$W/control"
in_deb() { grep -qE " \./${1#/}\$" "$W/contents" || { echo "# $1 is not in the package"; return 1; }; }
check "the module is in the multiarch security directory ($MODULE)" in_deb "$MODULE"
check "no libtool archive (.la) next to it" bash -c "! grep -q 'pam_acred\.la' '$W/contents'"
check "the module needs only libpam and libc" \
  bash -c "[ \"\$(readelf -d '$W/x$MODULE' | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort | tr '\n' ' ')\" = 'libc.so.6 libpam.so.0 ' ]"
check "the helper is /usr/bin/acred-helper, mode 0755" grep -qE '^-rwxr-xr-x root/root .* \./usr/bin/acred-helper$' "$W/contents"
for page in man8/pam_acred.8 man5/pam_acred.conf.5 man1/acred-helper.1; do
  check "the manual page $page is in the package" in_deb "/usr/share/man/$page.gz"
done
check "/etc/security/pam_acred.conf is there, mode 0644" grep -qE '^-rw-r--r-- root/root .* \./etc/security/pam_acred.conf$' "$W/contents"
check "/etc/security/pam_acred.conf is a conffile" grep -qx /etc/security/pam_acred.conf "$W/control/conffiles"
prof=$W/x/usr/share/pam-configs/acred
check "the pam-auth-update profile is /usr/share/pam-configs/acred" test -f "$prof"
check "the profile is off by default (Default: no)" grep -qx 'Default: no' "$prof"
check "the profile adds auth, account and session only (no password)" \
  bash -c "[ \"\$(grep -oE '^[A-Z][a-z]+:' '$prof' | sort -u | tr '\n' ' ')\" = 'Account: Auth: Default: Name: Priority: Session: ' ] && ! grep -qi '^Password' '$prof'"

# --- install ------------------------------------------------------------------------------------------
WE_INSTALLED=1
dpkg_wait -i "$deb" || { not_ok "dpkg -i installs $PKG"; stop "$W/dpkg.log"; }
check "dpkg -i installs $PKG" installed
check "the installed module is at $MODULE" test -f "$MODULE"
check "the installed helper is /usr/bin/acred-helper, root-owned" bash -c '[ "$(stat -c %U:%a /usr/bin/acred-helper)" = root:755 ]'
check "the installed configuration is root-owned, mode 0644" bash -c '[ "$(stat -c %U:%a /etc/security/pam_acred.conf)" = root:644 ]'
check "man finds pam_acred.conf(5)" bash -c 'man -w 5 pam_acred.conf | grep -q /usr/share/man/man5/pam_acred.conf.5'
check "installing did not put pam_acred into the common PAM stacks" bash -c '! grep -qs pam_acred /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session'

# --- a real ssh login through the installed module and helper ---------------------------------------------
ACRED_INSTALLED=1 acred_setup
trap deb_cleanup EXIT
/usr/bin/acred-helper check > "$T/check.out" 2>&1
check "the installed acred-helper check passes against the mock IdP" grep -q '^a login could work' "$T/check.out"
grep -E '^(FAIL|warn)' "$T/check.out" | sed 's/^/# /'
acred_start_sshd || { not_ok "sshd starts with the installed module"; stop "$T/sshd.log"; }
check "sshd's PAM stack names the installed module, without arguments" grep -qx 'auth     required pam_acred.so ' "$T/pam.sshd"
remote_env() { sed -n "s/^$1=//p" "$T/out" | tail -n 1; }
tok=$(mint alice); remember_secret "$tok"
ssh_login alice env "$tok"
ak=$(mock_issued access_key_id); sk=$(mock_issued access_key_secret); st=$(mock_issued security_token)
remember_secret "$sk" "$st"
check "ssh: the token prompt of the installed module" out_has "IDaaS token:"
check "ssh: the remote shell has the issued AccessKeyId" test -n "$ak" -a "$(remote_env ALIBABA_CLOUD_ACCESS_KEY_ID)" = "$ak"
check "ssh: the remote shell has the issued secret" test -n "$sk" -a "$(remote_env ALIBABA_CLOUD_ACCESS_KEY_SECRET)" = "$sk"
check "ssh: the remote shell has the issued security token" test -n "$st" -a "$(remote_env ALIBABA_CLOUD_SECURITY_TOKEN)" = "$st"
check "ssh: the audit line of the installed module" audit_has event=auth result=success user=alice service=sshd "access_key_id=$ak"
tok=$(mint bob); remember_secret "$tok"
ssh_login alice "echo SHELL-REACHED" "$tok"
check "ssh: another user's token gets no shell" bash -c "! grep -q SHELL-REACHED '$T/out'"
check "no token or secret in syslog, sshd's log or the mock's log" acred_leak_check

# --- purge: nothing left --------------------------------------------------------------------------------------------
for p in $ACRED_PIDS; do kill "$p" 2>/dev/null; done
deb_purge || sed 's/^/# /' "$W/dpkg.log"
check "dpkg --purge removes $PKG entirely (not even its configuration is known)" \
  bash -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -qv not-installed"
left=
for f in "$MODULE" /usr/bin/acred-helper /etc/security/pam_acred.conf /usr/share/pam-configs/acred \
         /usr/share/man/man8/pam_acred.8.gz /usr/share/doc/$PKG; do
  [ -e "$f" ] && left="$left $f"
done
check "nothing of the package is left after the purge" test -z "$left" || diag "left:$left"
check "the common PAM stacks do not name pam_acred" bash -c '! grep -qs pam_acred /etc/pam.d/common-*'
done_testing
