#!/bin/bash
# Device-code logins (RFC 8628): the one prompt a person sees (who, where, the address, the
# code, the QR code), approval at the IdP, denial, expiry, the rate limit, and a real ssh login
# whose session gets the credentials.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
export T MOCK_PORT
sed -i 's/^methods        = token$/methods        = token device/' "$T/pam_acred.conf"

# an @exec answer: read the code from the prompt, act on it at the mock, then press Enter
at_mock() { # ACTION USER: approve, deny or expire the code the prompt shows
  echo "@exec c=\$(printf '%s' \"\$PROMPT\" | sed -n 's/.*shows the code \\([A-Z-]*\\).*/\\1/p' | head -n 1);" \
    "curl -s --cacert \"\$T/pki/ca.pem\" \"https://127.0.0.1:\$MOCK_PORT/test/device/$1?user_code=\$c&user=$2\" >/dev/null; echo"
}

# --- an empty answer at the token prompt starts a device-code login ------------------------
pam_login alice "" "$(at_mock approve alice)"
check "the token prompt says Enter alone starts a device-code login" \
  out_has "PROMPT-OFF IDaaS token (or Enter alone for a device-code login): "
check "device prompt: names the user and this host" out_has "IDaaS device-code login for alice on $(hostname)"
check "device prompt: the verification address" out_has "Open https://127.0.0.1:$MOCK_PORT/device?user_code="
check "device prompt: the code verbatim" out_has_re "and check that it shows the code [B-Z]\{4\}-[B-Z]\{4\}$"
check "device prompt: a QR code (utf8)" out_has "█"
check "device prompt: ends asking to press Enter" out_has "Press Enter once you have approved: "
check "device login approved: success" out_has "auth PAM_SUCCESS"
check "device login approved: the person is told" out_has "INFO The device-code login was approved"
check "device login: the session has the issued credentials" \
  out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "device login: audit method=device with the IdP's subject" \
  audit_has event=auth result=success user=alice method=device sub=u_alice
check "device login: the mock saw the code exchanged" \
  bash -c "mock_device_last() { curl -s --cacert '$T/pki/ca.pem' https://127.0.0.1:$MOCK_PORT/test/device/last; }; mock_device_last | jq -e '.state == \"exchanged\"' >/dev/null"

# --- denial and expiry: one plain sentence each ------------------------------------------------
pam_login alice "" "$(at_mock deny alice)"
check "device login denied: refused" out_has "ERROR The device-code login was denied"
check "device login denied: audit device_denied" audit_has result=failure method=device reason=device_denied
pam_login alice "" "$(at_mock expire alice)"
check "device code expired: refused" out_has "ERROR The device code expired"
check "device code expired: audit device_expired" audit_has result=failure method=device reason=device_expired

# --- the token the IdP gives another user is not alice's ---------------------------------------
pam_login alice "" "$(at_mock approve bob)"
check "approved by another user: refused" audit_has result=failure method=device reason=user_mismatch

# --- polling waits for approval, at the IdP's interval ------------------------------------------
start=$(date +%s%N)
pam_login alice "" "@exec (sleep 3; c=\$(printf '%s' \"\$PROMPT\" | sed -n 's/.*shows the code \\([A-Z-]*\\).*/\\1/p' | head -n 1); curl -s --cacert \"\$T/pki/ca.pem\" \"https://127.0.0.1:\$MOCK_PORT/test/device/approve?user_code=\$c&user=alice\" >/dev/null) >/dev/null 2>&1 & echo"
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "Enter before approval: the login waits and then succeeds" out_has "auth PAM_SUCCESS"
last=$(curl -s --cacert "$T/pki/ca.pem" "https://127.0.0.1:$MOCK_PORT/test/device/last")
polls=$(echo "$last" | jq -r .polls)
check "polling honours the interval (approval after 3 s, 1 s interval: $polls polls in ${took} ms)" \
  bash -c "[ $polls -ge 2 ] && [ $polls -le 5 ] && [ $took -lt 8000 ]"
check "polling never had to be slowed down (the interval stayed 1 s)" \
  bash -c "echo '$last' | jq -e '.interval == 1' >/dev/null"

# --- qr = ascii and qr = off: the address and the code are always there as text ---------------
sed -i 's/^methods        = token device$/methods        = token device\nqr             = ascii/' "$T/pam_acred.conf"
pam_login alice "" "$(at_mock approve alice)"
check "qr = ascii: a QR code of ## blocks" out_has "##"
check "qr = ascii: no UTF-8 blocks" bash -c "! grep -q '█' '$T/out'"
sed -i 's/^qr             = ascii$/qr             = off/' "$T/pam_acred.conf"
pam_login alice "" "$(at_mock approve alice)"
check "qr = off: no QR code" bash -c "! grep -q -e '##' -e '█' '$T/out'"
check "qr = off: the address and code as text" out_has_re "shows the code [B-Z]\{4\}-[B-Z]\{4\}$"
sed -i '/^qr             = off$/d' "$T/pam_acred.conf"

# --- only for users this host knows; within device_rate ------------------------------------------
before=$(grep -c '/device/code' "$T/mock.log")
pam_login nosuchuser ""
check "an unknown user never starts a device-code login" \
  test "$(grep -c '/device/code' "$T/mock.log")" -eq "$before"
check "an unknown user: audit unknown_user" audit_has result=failure reason=unknown_user
sed -i 's/^methods        = token device$/methods        = device\ndevice_rate    = 1/' "$T/pam_acred.conf"
rm -f /run/pam_acred/device-rate # the logins above counted too
pam_login alice "$(at_mock approve alice)"
check "methods = device: the device prompt comes first" out_has_re "^PROMPT-OFF IDaaS device-code login for alice"
pam_login alice "$(at_mock approve alice)"
check "device_rate = 1: a second login within the minute is refused" \
  out_has "ERROR Too many device-code logins on this host right now"
check "device_rate: audit rate_limited" audit_has result=failure reason=rate_limited
sed -i 's/^methods        = device$/methods        = token device/; /^device_rate    = 1$/d' "$T/pam_acred.conf"
rm -f /run/pam_acred/device-rate

# --- a real ssh login by device code -------------------------------------------------------------
acred_start_sshd || { not_ok "sshd starts"; done_testing; exit 1; }
ssh_login alice env "" "$(at_mock approve alice)"
check "ssh device login: the prompt reached the ssh client" out_has "Press Enter once you have approved:"
check "ssh device login: the remote shell has the issued credentials" \
  bash -c "grep -qx 'ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)' '$T/out'"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "ssh device login: audit method=device" audit_has event=auth result=success service=sshd method=device
ssh_login alice "echo SHELL-REACHED" "" "$(at_mock deny alice)"
check "ssh device login denied: no shell" bash -c "! grep -q SHELL-REACHED '$T/out'"
check "ssh device login denied: the person reads why" out_has "The device-code login was denied"
ssh_login alice "echo SHELL-REACHED" "" "$(at_mock expire alice)"
check "ssh device code expired: no shell, and why" \
  bash -c "! grep -q SHELL-REACHED '$T/out' && grep -q 'The device code expired' '$T/out'"

check "no token or secret in any log" acred_leak_check
done_testing
