#!/bin/bash
# demo.sh: see pam_acred work, on a fresh Debian 12 machine. It installs what it needs, builds,
# starts the mock IdP (the project's test IDaaS, with its own CA) and, as root, a second sshd on
# 127.0.0.1 whose PAM stack has pam_acred; then a demo user pastes an IDaaS token at the real ssh
# prompt and the remote shell shows the STS credentials; last, the audit lines.
# Nothing under /etc is changed: users, PAM service and /dev/log exist only in a private mount
# namespace. As non-root it runs the same login through PAM (pam_start_confdir) for you.
set -euo pipefail
cd "$(dirname "$0")/.."
export top_srcdir=$PWD top_builddir=$PWD/build
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -z "${ACRED_IN_NS:-}" ]; then
  say "Installing packages and building (once)"
  scripts/deps.sh
  [ -x configure ] || ./autogen.sh >/dev/null 2>&1
  mkdir -p build && cd build
  [ -f Makefile ] || ../configure -q
  make -j"$(nproc)" >/dev/null && make -j"$(nproc)" check TESTS= >/dev/null
  cd ..
fi
. tests/lib/harness.sh

mask() { sed -E 's/^(ALIBABA_CLOUD_ACCESS_KEY_SECRET|ALIBABA_CLOUD_SECURITY_TOKEN)=(.{6}).*/\1=\2... (hidden here)/'; }

if [ "$(id -u)" -eq 0 ]; then
  acred_enter_namespace bash "$0" "$@"
  acred_setup
  acred_start_sshd
  say "The mock IDaaS runs at $ISSUER; sshd at 127.0.0.1:$SSHD_PORT"
  say "alice logs in by ssh, pasting her IDaaS token at the prompt"
  tok=$(mint alice)
  printf 'Her token: %s... (%d characters, RS256)\n' "${tok:0:40}" "${#tok}"
  ssh_login alice 'echo "Logged in as $(id -un) on $(hostname)"; env | grep -E "^(ALIBABA_CLOUD|ACRED)_" | sort' "$tok" || true
  grep -v -E '^(Warning: Permanently added|spawn )' "$T/out" | mask
  sleep 0.3 # sshd closes the session just after the client has gone
  say "What syslog (authpriv) got: one audit line per login, joined to the session"
  grep -E 'pam_acred\(' "$T/syslog" | sed 's/^<[0-9]*>//'
  say "A token of someone else is refused, with one plain sentence"
  ssh_login alice true "$(mint bob)" || true
  grep -v -E '^(Warning: Permanently added|spawn )' "$T/out"
  grep -E 'pam_acred\(' "$T/syslog" | tail -n 1 | sed 's/^<[0-9]*>//'

  say "carol logs in with a device code instead (Enter alone at the token prompt)"
  sed -i 's/^methods        = token$/methods        = token device/' "$T/pam_acred.conf"
  export T MOCK_PORT
  approve="@exec c=\$(printf '%s' \"\$PROMPT\" | sed -n 's/.*shows the code \\([A-Z-]*\\).*/\\1/p' | head -n 1);"
  approve="$approve curl -s --cacert \"\$T/pki/ca.pem\" \"https://127.0.0.1:\$MOCK_PORT/test/device/approve?user_code=\$c&user=carol\" >/dev/null; echo"
  ssh_login carol 'env | grep -E "^(ALIBABA_CLOUD_ACCESS_KEY_ID|ACRED_ROLE)="' "" "$approve" || true
  grep -v -E '^(Warning: Permanently added|spawn )' "$T/out"
  echo "(the demo approved the code at the mock IdP, as carol would in her browser)"
  grep -E 'pam_acred\(sshd:auth\)' "$T/syslog" | tail -n 1 | sed 's/^<[0-9]*>//'

  say "alice, logged in, runs sudo: she pastes her token in pieces of 500 (sudo's limit is 511)"
  acred_private_sudo_su
  acred_pam_service acred-test
  hold_session alice
  tok=$(mint alice)
  mapfile -t parts < <(pieces "$tok" 500)
  sudo_as alice "${parts[@]}" -- -i sh -c 'echo "root shell: $(id -un)"; env | grep -E "^(ALIBABA_CLOUD_ACCESS_KEY_ID|ACRED_ROLE)="' || true
  cat "$T/sudo.err"; echo; cat "$T/out"
  say "and again within sudo's timestamp: no prompt, her cached credentials"
  sudo_as alice -- -n sh -c 'env | grep -E "^(ALIBABA_CLOUD_ACCESS_KEY_ID|ACRED_SESSION)="' || true
  cat "$T/out"
  grep -E 'pam_acred\(sudo' "$T/syslog" | tail -n 1 | sed 's/^<[0-9]*>//'
else
  say "Not root: the same login through PAM (pam_start_confdir), as $(id -un)"
  T=$(mktemp -d "$HOME/.acred-demo.XXXXXX"); chmod 0755 "$T"
  trap acred_cleanup EXIT
  acred_install
  acred_start_mock
  acred_write_conf
  sed -i "s/^users          = alice$/users          = $(id -un)/" "$T/pam_acred.conf"
  MODARGS="conf=$T/pam_acred.conf helper=$T/bin/acred-helper"
  acred_pam_service acred-demo
  SERVICE=acred-demo pam_login "$(id -un)" "$(mint "$(id -un)")" || true
  sed -e 's/^ENV //' "$T/out" | mask
  echo "(the audit line went to this machine's syslog, facility authpriv)"
fi
