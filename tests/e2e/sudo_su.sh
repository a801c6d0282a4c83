#!/bin/bash
# Real sudo and su with pam_acred in their PAM stacks: who is authenticated (the invoking user
# under sudo, the target under su), which sessions get the credentials (the authenticated user's
# or root's, never a third user's), sudo within its timestamp (cached credentials), and long
# tokens against sudo's 512-character limit.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
command -v sudo >/dev/null || skip_all "sudo is missing"
acred_setup
acred_private_sudo_su
acred_pam_service acred-test
err_has() { grep -qF -- "$1" "$T/sudo.err" || { echo "# sudo showed:"; sed 's/^/#   /' "$T/sudo.err"; return 1; }; }
# sudo refuses answers of 512 characters or more, and a whole RS256 token is longer: people
# paste it in pieces of 500 (the module tells them so), and so do these tests
sudo_token() { # USER TOKEN -- SUDO_ARGS...
  local user=$1 token=$2; shift 2
  local p; mapfile -t p < <(pieces "$token" 500)
  sudo_as "$user" "${p[@]}" "$@"
}
env_is() { grep -qx -- "$1=$2" "$T/out" || { echo "# $1 is not $2:"; grep "^$1=" "$T/out" | sed 's/^/#   /'; return 1; }; }

# --- sudo -S CMD: alice authenticates as herself; root's command gets her credentials ---------
tok=$(mint alice); remember_secret "$tok"
sudo_token alice "$tok" -- -k env
check "sudo: the IDaaS token prompt is shown" err_has "IDaaS token: "
ak=$(mock_issued access_key_id); remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "sudo CMD: the command has alice's credentials" env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$ak"
check "sudo CMD: and the role mapped to alice" env_is ACRED_ROLE "acs:ram::1234567890123456:role/dev"
check "sudo CMD: the audit line authenticates alice (the invoking user) for sudo" \
  audit_has event=auth result=success user=alice service=sudo "access_key_id=$ak"
check "sudo CMD: the session line names the target, root, and alice as ruser" \
  bash -c "grep 'event=session_open' '$T/syslog' | tail -n 1 | grep -q 'user=root ruser=alice service=sudo'"

# --- sudo -i: a login shell as root -----------------------------------------------------------
tok=$(mint alice); remember_secret "$tok"
sudo_token alice "$tok" -- -k -i env
check "sudo -i: the login shell has the credentials" env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"

# --- within sudo's timestamp: no authentication, the cached credentials -------------------------
# alice is logged in meanwhile (a session held open): her credentials stay while she is
tok=$(mint alice); remember_secret "$tok"
check "alice holds a login session meanwhile" hold_session alice
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
tok=$(mint alice); remember_secret "$tok"
sudo_token alice "$tok" -- true # authenticates, and starts sudo's timestamp (-k would not)
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
obtained=$(grep -c obtainAccessCredential "$T/mock.log")
sudo_as alice -- -n env
check "sudo within its timestamp: no prompt" bash -c "! grep -q 'IDaaS token' '$T/sudo.err'"
check "sudo within its timestamp: the cached credentials" env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
check "sudo within its timestamp: no call to the IdP" test "$(grep -c obtainAccessCredential "$T/mock.log")" -eq "$obtained"
check "sudo within its timestamp: event=session_open method=cached" \
  bash -c "grep 'event=session_open' '$T/syslog' | tail -n 1 | grep -q 'method=cached'"
# the cached entry past its time: said plainly, nothing exported
f=/run/pam_acred/$(id -u alice).json
jq -c '.expiration = "2020-01-01T00:00:00Z"' "$f" > "$f.new" && chmod 0600 "$f.new" && mv "$f.new" "$f"
sudo_as alice -- -n env
check "expired cache within the timestamp: no credentials" bash -c "! grep -q '^ALIBABA_CLOUD_ACCESS_KEY_ID=' '$T/out'"
check "expired cache within the timestamp: the person is told" err_has "Your cloud credentials expired at 2020-01-01T00:00:00Z"
check "expired cache within the timestamp: audit credentials_expired" \
  bash -c "grep 'event=session_open' '$T/syslog' | tail -n 1 | grep -q 'reason=credentials_expired'"

# --- sudo -u bob: a third user's session gets nothing -----------------------------------------
tok=$(mint alice); remember_secret "$tok"
sudo_token alice "$tok" -- -k -u bob env
check "sudo -u bob: the command runs" grep -q '^USER=bob' "$T/out"
check "sudo -u bob: no credentials in bob's session" bash -c "! grep -q '^ALIBABA_CLOUD' '$T/out'"
check "sudo -u bob: audited as withheld" \
  bash -c "grep 'event=session_open' '$T/syslog' | tail -n 1 | grep -q 'user=bob .*method=withheld'"

# --- a 6 KiB token through sudo, in pieces, after sudo refuses the whole line ---------------------
tok=$(long_token alice 4500); remember_secret "$tok"
mapfile -t parts < <(pieces "$tok" 500)
sudo_as alice "${parts[@]}" -- -k env
check "sudo: a $((${#tok} / 1024)) KiB token in 500-character pieces" env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
sudo_as alice "$tok" "${parts[@]}" -- -k env
check "sudo: a line of 512 or more makes the module say so" err_has "Paste at most 500 characters at a time"
check "sudo: and the pieces after it get through" env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"

# --- su: the target user authenticates ----------------------------------------------------------
tok=$(mint alice); remember_secret "$tok"
printf '%s\n' "$tok" > "$T/answers"
answer_on_tty setpriv --reuid="$(id -u carol)" --regid="$(id -g carol)" --init-groups -- su - alice -c env
check "su - alice (by carol): alice's credentials in her login shell" \
  grep -qx "ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)" "$T/out"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "su - alice: audit authenticates alice (the target), carol as ruser (service su-l)" \
  audit_has event=auth result=success user=alice ruser=carol service=su-l
tok=$(mint alice); remember_secret "$tok"
printf '%s\n' "$tok" > "$T/answers"
answer_on_tty setpriv --reuid="$(id -u carol)" --regid="$(id -g carol)" --init-groups -- su alice -c env
check "su alice (no login shell): alice's credentials" \
  grep -qx "ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)" "$T/out"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
tok=$(mint carol); remember_secret "$tok"
printf '%s\n' "$tok" > "$T/answers"
answer_on_tty setpriv --reuid="$(id -u carol)" --regid="$(id -g carol)" --init-groups -- su alice -c env
check "su alice with carol's own token: refused" audit_has event=auth result=failure user=alice reason=user_mismatch
check "su alice with carol's own token: no shell" bash -c "! grep -q '^ALIBABA_CLOUD' '$T/out'"

check "no token or secret in syslog, sudo's output or the mock's log" acred_leak_check
done_testing
