#!/bin/bash
# A real login: the stock OpenSSH client against a second sshd on 127.0.0.1 whose PAM stack has
# pam_acred; the remote shell's own `env` is read back and compared with what the mock issued.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
command -v expect >/dev/null || skip_all "expect is missing"
[ -x /usr/sbin/sshd ] || skip_all "openssh-server is missing"
acred_setup
acred_start_sshd || { not_ok "sshd starts on 127.0.0.1"; sed 's/^/# /' "$T/sshd.log"; done_testing; exit 1; }
ok "a second sshd runs on 127.0.0.1:$SSHD_PORT with pam_acred in its PAM stack"

remote_env() { sed -n "s/^$1=//p" "$T/out" | tail -n 1; }

# --- a token typed at the ssh prompt becomes STS credentials in the remote shell --------------
tok=$(mint alice); remember_secret "$tok"
ssh_login alice env "$tok"
check "ssh: the IDaaS token prompt is shown" out_has "IDaaS token:"
ak=$(mock_issued access_key_id); sk=$(mock_issued access_key_secret); st=$(mock_issued security_token)
remember_secret "$sk" "$st"
check "ssh: the remote shell has the issued AccessKeyId" test "$(remote_env ALIBABA_CLOUD_ACCESS_KEY_ID)" = "$ak"
check "ssh: the remote shell has the issued secret" test "$(remote_env ALIBABA_CLOUD_ACCESS_KEY_SECRET)" = "$sk"
check "ssh: the remote shell has the issued security token" test "$(remote_env ALIBABA_CLOUD_SECURITY_TOKEN)" = "$st"
check "ssh: ALIBABA_CLOUD_IGNORE_PROFILE=TRUE" test "$(remote_env ALIBABA_CLOUD_IGNORE_PROFILE)" = TRUE
check "ssh: ACRED_ROLE is the mapped role" test "$(remote_env ACRED_ROLE)" = "acs:ram::1234567890123456:role/dev"
check "ssh: the audit line names alice, sshd, 127.0.0.1 and the key" \
  audit_has event=auth result=success user=alice service=sshd rhost=127.0.0.1 "access_key_id=$ak"
sleep 0.5
check "ssh: the session was opened and closed with the same session id" \
  bash -c "s=\$(sed -n 's/^ACRED_SESSION=//p' '$T/out'); grep -q \"event=session_open .*session=\$s\" '$T/syslog' && grep -q \"event=session_close .*session=\$s\" '$T/syslog'"

# --- a 6 KiB token, pasted in pieces of 500 through the stock client --------------------------
tok=$(long_token alice 4500); remember_secret "$tok"
mapfile -t parts < <(pieces "$tok" 500)
ssh_login alice env "${parts[@]}"
check "ssh: a $((${#tok} / 1024)) KiB token in 500-character pieces logs in" \
  test "$(remote_env ALIBABA_CLOUD_ACCESS_KEY_ID)" = "$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "ssh: continuation prompts were shown" out_has "Token (continued):"

# --- denials: a clear sentence, no shell --------------------------------------------------------
ssh_deny() { # DESCRIPTION REASON MESSAGE USER TOKEN
  local d=$1 reason=$2 msg=$3 user=$4 token=$5
  ssh_login "$user" "echo SHELL-REACHED" "$token"
  check "ssh, $d: no shell" bash -c "! grep -q SHELL-REACHED '$T/out'"
  check "ssh, $d: the person reads why" out_has "$msg"
  check "ssh, $d: audit reason=$reason" audit_has event=auth result=failure user="$user" "reason=$reason"
}
tok=$(mint bob); remember_secret "$tok"
ssh_deny "another user's token" user_mismatch "Token belongs to another user" alice "$tok"
tok=$(mint alice '"exp":"-3600"'); remember_secret "$tok"
ssh_deny "an expired token" token_expired "Token expired" alice "$tok"
ssh_deny "a garbage token" malformed_token "Token is not a well-formed IDaaS token" alice "eyJnYXJiYWdl.garbage.garbage"

check "sshd is still running after every denial" kill -0 "$(cat "$T/sshd.pid")"
check "no token or secret in syslog, sshd's log or the mock's log" acred_leak_check
done_testing
