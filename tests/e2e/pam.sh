#!/bin/bash
# PAM-level logins (pam_start_confdir): what the person sees, what PAM answers, what reaches the
# session environment and the audit line, for good and bad tokens.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test

# --- a good RS256 token --------------------------------------------------------------------
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "RS256 token: the person is asked for an IDaaS token" out_has "PROMPT-OFF IDaaS token: "
check "RS256 token: authentication succeeds" out_has "auth PAM_SUCCESS"
check "RS256 token: account and session succeed" out_has "close PAM_SUCCESS"
ak=$(mock_issued access_key_id); secret=$(mock_issued access_key_secret); st=$(mock_issued security_token)
remember_secret "$secret" "$st"
check "RS256 token: the session has the issued AccessKeyId" out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_ID=$ak"
check "RS256 token: the session has the issued secret" out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_SECRET=$secret"
check "RS256 token: the session has the issued security token" out_has "ENV ALIBABA_CLOUD_SECURITY_TOKEN=$st"
check "RS256 token: the aliyun CLI is told to prefer them" out_has "ENV ALIBABA_CLOUD_IGNORE_PROFILE=TRUE"
check "RS256 token: region and role are exported" \
  bash -c "grep -qx 'ENV ALIBABA_CLOUD_REGION_ID=cn-hangzhou' '$T/out' && grep -qx 'ENV ACRED_ROLE=acs:ram::1234567890123456:role/dev' '$T/out'"
check "RS256 token: the expiration is the issued one" out_has "ENV ACRED_EXPIRATION=$(mock_issued expiration)"
session=$(sed -n 's/^ENV ACRED_SESSION=//p' "$T/out")
check "RS256 token: one audit line names user, role, key and session" \
  audit_has event=auth result=success user=alice service=acred-test rhost=192.0.2.7 method=token \
    sub=u_alice role=acs:ram::1234567890123456:role/dev "access_key_id=$ak" "session=$session"
check "RS256 token: obtainAccessCredential got the role and duration" \
  bash -c "tail -n 1 '$T/mock.log' | jq -e '.role == \"acs:ram::1234567890123456:role/dev\" and .duration == 3600' >/dev/null"
check "RS256 token: session open and close are logged with the same session" \
  bash -c "grep -q 'event=session_open .*session=$session' '$T/syslog' && grep -q 'event=session_close .*session=$session' '$T/syslog'"

# --- ES256, a group-mapped role ------------------------------------------------------------
tok=$(mint carol "" --key "$T/pki/ec.pem" --kid ec1 --alg ES256); remember_secret "$tok"
pam_login carol "$tok"
check "ES256 token, role from the developers group: success" out_has "auth PAM_SUCCESS"
check "ES256 token: the group's role is used" out_has "ENV ACRED_ROLE=acs:ram::1234567890123456:role/ops"

# --- denials, each with one plain sentence and one reason ------------------------------------
deny() { # deny DESCRIPTION REASON MESSAGE USER ANSWER...
  local d=$1 reason=$2 msg=$3; shift 3
  pam_login "$@"
  check "$d: denied" bash -c "! grep -q 'auth PAM_SUCCESS' '$T/out'"
  check "$d: the person reads why" out_has_re "^ERROR .*$msg"
  check "$d: audit reason=$reason" audit_has event=auth result=failure "reason=$reason"
  check "$d: nothing is exported" bash -c "! grep -q '^ENV ALIBABA' '$T/out'"
}
tok=$(mint bob); remember_secret "$tok"
deny "another user's token" user_mismatch "Token belongs to another user" alice "$tok"
tok=$(mint alice '"exp":"-3600"' ); remember_secret "$tok"
deny "expired token" token_expired "Token expired" alice "$tok"
deny "garbage JWT" malformed_token "Token is not a well-formed IDaaS token" alice "eyJhbGciOiJSUzI1NiJ9.garbage.x" ""
deny "garbage text" idp_denied "The identity provider does not accept this token" alice "not-a-token-at-all"
tok=$(mint alice "" --key "$T/pki/rsa2.pem" --kid rsa1); remember_secret "$tok"
deny "token signed by another key" bad_signature "Token signature is not valid" alice "$tok"
tok=$(mint alice "" --alg none); remember_secret "$tok"
deny "alg none" bad_algorithm "Token is signed with an algorithm this host does not accept" alice "$tok"
tok=$(mint bob); remember_secret "$tok"
deny "a user with no role" no_role "No cloud role is mapped to bob" bob "$tok"
tok=$(mint root); remember_secret "$tok"
deny "root (below min_uid)" uid_refused "system account" root "$tok"
tok=$(mint nosuchuser); remember_secret "$tok"
deny "an unknown user" unknown_user "no such user" nosuchuser "$tok"
deny "an empty answer" malformed_token "No token was entered" alice ""

# --- long tokens in pieces -------------------------------------------------------------------
tok=$(long_token alice 4500); remember_secret "$tok"
check "a 6 KiB token is really over 6000 characters" test "${#tok}" -gt 6000
mapfile -t parts < <(pieces "$tok" 500)
pam_login alice "${parts[@]}"
check "6 KiB token in 500-character pieces: success" out_has "auth PAM_SUCCESS"
check "6 KiB token: continuation prompts" out_has "PROMPT-OFF Token (continued): "
check "6 KiB token: exactly one prompt per piece" \
  test "$(grep -c '^PROMPT-OFF' "$T/out")" -eq "$(printf '%s\n' "${parts[@]}" | grep -c .)"
PAMTEST_OPTS="--max-answer 512" pam_login alice "$tok" "${parts[@]}"
check "sudo-like 512 limit: told to paste at most 500 characters" out_has "ERROR Paste at most 500 characters at a time"
check "sudo-like 512 limit: then the pieces get through" out_has "auth PAM_SUCCESS"
pam_login alice "${parts[0]}" "${parts[0]}"
check "a repeated piece is refused" out_has "ERROR The same text was entered twice"
check "a repeated piece: audit malformed_token" audit_has result=failure reason=malformed_token
pam_login alice "${tok:0:500}" ""
check "a token ended early by an empty answer is denied" audit_has result=failure
big=$(printf 'x%.0s' $(seq 480))
mapfile -t many < <(for i in $(seq 40); do echo "eyJ$i$big"; done)
pam_login alice "${many[@]}"
check "more than 16 KiB is refused" out_has "ERROR Token is longer than 16 KiB"

# --- an opaque token, checked at userinfo ----------------------------------------------------
printf 'opaque-token-for-alice-0123456789\t{"sub":"u_alice","preferred_username":"alice"}\n' >> "$T/opaque"
remember_secret opaque-token-for-alice-0123456789
pam_login alice opaque-token-for-alice-0123456789
check "opaque token: success through userinfo" out_has "auth PAM_SUCCESS"
check "opaque token: the issued credentials arrive" out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)"
pam_login bob opaque-token-for-alice-0123456789
check "opaque token of another user: denied" audit_has result=failure reason=user_mismatch

# --- what the IdP refuses --------------------------------------------------------------------
sed -i 's#role/dev#role/forbidden#' "$T/pam_acred.conf"
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "IdP 403: denied, naming the IdP's error" out_has "ERROR IDaaS refused the credentials (HTTP 403, access_denied"
check "IdP 403: audit idp_denied with idp_code" audit_has result=failure reason=idp_denied idp_code=access_denied
check "IdP 403: audit carries the IdP's request id" bash -c "grep 'event=auth ' '$T/syslog' | tail -n 1 | grep -q ' request_id=[A-Za-z0-9-]'"
sed -i 's#role/forbidden#role/dev#' "$T/pam_acred.conf"

# --- an IdP that cannot be reached -----------------------------------------------------------
cp "$T/pam_acred.conf" "$T/good.conf"
sed -i "s#127.0.0.1:$MOCK_PORT#127.0.0.1:1#" "$T/pam_acred.conf"
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "IdP unreachable, fail_mode closed: denied" audit_has result=failure reason=idp_unavailable
sed -i 's/^methods        = token$/methods        = token\nfail_mode      = open/' "$T/pam_acred.conf"
pam_login alice "$tok"
check "IdP unreachable, fail_mode open: ignored, and said so" audit_has result=ignored reason=idp_unavailable
check "fail_mode open: nothing exported" bash -c "! grep -q '^ENV ALIBABA' '$T/out'"
cp "$T/good.conf" "$T/pam_acred.conf"
sed -i 's/^methods        = token$/methods        = token\nfail_mode      = open/' "$T/pam_acred.conf"
tok=$(mint alice '"exp":"-3600"'); remember_secret "$tok"
pam_login alice "$tok"
check "fail_mode open: a bad token still denies" audit_has result=failure reason=token_expired
cp "$T/good.conf" "$T/pam_acred.conf"

# --- configuration and installation errors ---------------------------------------------------
echo "colour = blue" >> "$T/pam_acred.conf"
pam_login alice "$tok"
check "unknown configuration key: denied as config_error" audit_has result=failure reason=config_error
check "unknown configuration key: syslog names the line" bash -c "grep -q 'pam_acred.conf:$(wc -l < "$T/pam_acred.conf")' '$T/syslog'"
cp "$T/good.conf" "$T/pam_acred.conf"
chmod 0666 "$T/pam_acred.conf"
pam_login alice "$tok"
check "world-writable configuration: refused" audit_has result=failure reason=config_error
chmod 0644 "$T/pam_acred.conf"
acred_pam_service acred-bad "colour=blue"
SERVICE=acred-bad pam_login alice "$tok"
check "unknown module argument: PAM_SERVICE_ERR" out_has "auth PAM_SERVICE_ERR"
check "unknown module argument: logged" grep -q 'unknown or malformed argument "colour=blue"' "$T/syslog"
chmod g+w "$T/bin/acred-helper"
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "a group-writable helper is not run" audit_has result=failure reason=helper_error
chmod g-w "$T/bin/acred-helper"

# --- every authentication left exactly one audit line; no secret in any log -------------------
check "each of the $PAM_LOGINS authentications logged exactly one event=auth line" \
  test "$(grep -c 'pam_acred([^)]*:auth): event=auth ' "$T/syslog")" -eq "$PAM_LOGINS"
check "no token or secret in syslog, mock log or error output" acred_leak_check
done_testing
