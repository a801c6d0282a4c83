#!/bin/bash
# [edas] and [dsw]: once a login has its STS credentials, EDAS GetSecureToken and PAI-DSW GetToken,
# signed with ACS3-HMAC-SHA256, in parallel, against a mock gateway that checks every signature
# on its own; what the session gets, what the person reads, what the audit line says, and what
# happens with `required = yes`.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_start_acs
acred_pam_service acred-test
cp "$T/pam_acred.conf" "$T/base.conf"

# cloud_conf NAMESPACE INSTANCE [EDAS_REQUIRED [DSW_REQUIRED [ENDPOINT]]]: both sections on
cloud_conf() {
  local ns=$1 inst=$2 er=${3:-no} dr=${4:-no} ep=${5:-$ACS_ENDPOINT}
  { cat "$T/base.conf"; cat <<CONF

[edas]
namespace_id   = $ns
endpoint       = $ep
required       = $er

[dsw]
instance_id    = $inst
endpoint       = $ep
type           = Access
expire_time    = 1800
required       = $dr
CONF
  } > "$T/pam_acred.conf"
}

# the last token mock_acs handed out for API (edas, dsw), field by name
acs_issued() { grep "\"api\":\"$1\"" "$T/acs.issued" | tail -n 1 | jq -r ".$2"; }
# the mock's log lines of this login's requests (after line $1 of the log)
acs_log_since() { tail -n "+$(( $1 + 1 ))" "$T/acs.log"; }
acs_lines() { wc -l < "$T/acs.log"; }
env_is() { grep -qxF "ENV $1=$2" "$T/out" || { echo "# want ENV $1=$2"; grep "^ENV $1" "$T/out" | sed 's/^/#   got /'; return 1; }; }
no_env() { ! grep -q "^ENV $1" "$T/out"; }
audit_lacks() { ! last_audit | grep -q " $1="; }
jqe() { jq -e "$@" >/dev/null; }
no_codes() { audit_lacks edas_code && audit_lacks dsw_code && audit_has "$@"; }
login() { # login USER: a fresh token, a PAM login; the STS secrets are remembered
  local tok; tok=$(mint "$1"); remember_secret "$tok"
  pam_login "$1" "$tok"
  remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
}

# --- both calls work: the session gets what the mock issued -------------------------------------
cloud_conf cn-shenzhen:prod dsw-730abcdef yes yes
before=$(acs_lines)
login alice
check "edas+dsw: authentication succeeds" out_has "auth PAM_SUCCESS"
sk=$(acs_issued edas secret_key) dt=$(acs_issued dsw token)
remember_secret "$sk" "$dt"
check "edas: EDAS_ACCESS_KEY is the issued one" env_is EDAS_ACCESS_KEY "$(acs_issued edas access_key)"
check "edas: EDAS_SECRET_KEY is the issued one" env_is EDAS_SECRET_KEY "$sk"
check "edas: EDAS_TENANT_ID is the issued one" env_is EDAS_TENANT_ID "$(acs_issued edas tenant_id)"
check "edas: EDAS_ADDRESS_SERVER_HOST is the issued one" \
  env_is EDAS_ADDRESS_SERVER_HOST "$(acs_issued edas address_server_host)"
check "edas: EDAS_NAMESPACE_ID is the namespace" env_is EDAS_NAMESPACE_ID cn-shenzhen:prod
check "edas: EDAS_REGION_ID is the namespace's region" env_is EDAS_REGION_ID cn-shenzhen
check "edas: no EDAS_MSE_* when the answer has none" no_env EDAS_MSE_
check "dsw: PAI_DSW_TOKEN is the issued one" env_is PAI_DSW_TOKEN "$dt"
check "dsw: PAI_DSW_INSTANCE_ID is the instance" env_is PAI_DSW_INSTANCE_ID dsw-730abcdef
check "edas+dsw: the STS credentials are there too" \
  env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
check "edas+dsw: no warning for the person" bash -c "! grep -q '^ERROR' '$T/out'"
check "edas+dsw: the audit line is a success without edas_code or dsw_code" \
  no_codes result=success
ak=$(mock_issued access_key_id)
acs_log_since "$before" > "$T/this.log"
check "the mock got exactly two requests" test "$(wc -l < "$T/this.log")" -eq 2
check "the mock verified both signatures, made with the login's STS AccessKeyId" \
  jqe -s --arg ak "$ak" 'length == 2 and all(.[]; .signature == "valid" and .status == 200 and .access_key_id == $ak)' "$T/this.log"
check "edas: GET /pop/v5/secure_token, GetSecureToken 2017-08-01, NamespaceId" \
  jqe -s 'any(.[]; .method == "GET" and .path == "/pop/v5/secure_token" and .action == "GetSecureToken" and .version == "2017-08-01" and .query == {"NamespaceId": "cn-shenzhen:prod"})' "$T/this.log"
check "dsw: GET /api/v2/tokens, GetToken 2022-01-01, InstanceId, ExpireTime, Type" \
  jqe -s 'any(.[]; .method == "GET" and .path == "/api/v2/tokens" and .action == "GetToken" and .version == "2022-01-01" and .query == {"InstanceId": "dsw-730abcdef", "ExpireTime": "1800", "Type": "Access"})' "$T/this.log"
check "the security token is signed, with every other V3 header" \
  jqe -s 'all(.[]; .signed_headers == "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version")' "$T/this.log"
check "each request has its own 32-hex-digit nonce" \
  jqe -s 'length == 2 and (map(.nonce) | unique | length) == 2 and all(.[]; .nonce | test("^[0-9a-f]{32}$"))' "$T/this.log"

# --- MSE fields, when the answer has them -------------------------------------------------------
cloud_conf cn-beijing:mse dsw-730abcdef
login alice
check "edas with MSE: EDAS_MSE_REGISTRY_TYPE" env_is EDAS_MSE_REGISTRY_TYPE exclusive_mse
check "edas with MSE: EDAS_MSE_INSTANCE_ID" env_is EDAS_MSE_INSTANCE_ID "$(acs_issued edas mse_instance_id)"
check "edas with MSE: EDAS_MSE_INTERNET_ADDRESS" \
  env_is EDAS_MSE_INTERNET_ADDRESS "$(acs_issued edas mse_internet_address)"
check "edas with MSE: EDAS_MSE_INTRANET_ADDRESS" \
  env_is EDAS_MSE_INTRANET_ADDRESS "$(acs_issued edas mse_intranet_address)"
check "edas with MSE: EDAS_REGION_ID cn-beijing" env_is EDAS_REGION_ID cn-beijing
remember_secret "$(acs_issued edas secret_key)" "$(acs_issued dsw token)"

# --- failures with required = no: the login goes on, the person is told, the audit has the code -
soft_fail() { # DESCRIPTION NAMESPACE INSTANCE EDAS_CODE DSW_CODE EDAS_SAYS DSW_SAYS [ENDPOINT]
  local d=$1 ns=$2 inst=$3 ec=$4 dc=$5 es=$6 ds=$7
  cloud_conf "$ns" "$inst" no no "${8:-$ACS_ENDPOINT}"
  login alice
  check "$d, required = no: the login succeeds" out_has "auth PAM_SUCCESS"
  check "$d, required = no: the session has the STS credentials" \
    env_is ALIBABA_CLOUD_ACCESS_KEY_ID "$(mock_issued access_key_id)"
  check "$d, required = no: no EDAS_* and no PAI_DSW_* variables" \
    bash -c "! grep -q -e '^ENV EDAS_' -e '^ENV PAI_DSW_' '$T/out'"
  check "$d, required = no: the person reads what EDAS said" \
    out_has "ERROR EDAS GetSecureToken failed ($es"
  check "$d, required = no: ... and that the EDAS variables are missing" \
    out_has "; the session has no EDAS_* variables"
  check "$d, required = no: the person reads what PAI-DSW said" \
    out_has "ERROR PAI-DSW GetToken failed ($ds"
  check "$d, required = no: audit success with edas_code=$ec dsw_code=$dc" \
    audit_has event=auth result=success "edas_code=$ec" "dsw_code=$dc"
}
soft_fail "HTTP 403" cn-x:forbidden dsw-forbidden Forbidden.RAM Forbidden.RAM \
  "HTTP 403, Forbidden.RAM: User not authorized" "HTTP 403, Forbidden.RAM: User not authorized"
soft_fail "HTTP 500" cn-x:broken dsw-broken InternalError InternalError \
  "HTTP 500, InternalError" "HTTP 500, InternalError"
soft_fail "failure under HTTP 200" cn-x:soft dsw-soft 404 ValidationError \
  "code 404: The namespace does not exist" "code ValidationError: The instance is not running"
before=$(acs_lines)
soft_fail "a signature the gateway does not accept" cn-x:badsig dsw-badsig \
  SignatureDoesNotMatch SignatureDoesNotMatch \
  "HTTP 400, SignatureDoesNotMatch" "HTTP 400, SignatureDoesNotMatch"
check "a signature the gateway does not accept: the mock logged both as invalid" \
  bash -c "tail -n +$((before + 1)) '$T/acs.log' | jq -se 'length == 2 and all(.[]; .signature == \"invalid\" and .status == 400)' >/dev/null"
soft_fail "control characters in the answer" cn-x:ctrl dsw-ctrl bad_response bad_response \
  "an answer this host cannot read" "an answer this host cannot read"
soft_fail "an unreachable endpoint" cn-x:prod dsw-1 unreachable unreachable \
  "127.0.0.1:1 cannot be reached" "127.0.0.1:1 cannot be reached" https://127.0.0.1:1

acred_start_acs --clock-skew 3600
soft_fail "a gateway whose clock is an hour ahead" cn-shenzhen:prod dsw-1 \
  InvalidTimeStamp.Expired InvalidTimeStamp.Expired \
  "HTTP 400, InvalidTimeStamp.Expired" "HTTP 400, InvalidTimeStamp.Expired"
acred_start_acs

# --- failures with required = yes: denied --------------------------------------------------------
hard_fail() { # DESCRIPTION NAMESPACE INSTANCE EDAS_REQ DSW_REQ REASON FIELD SAYS
  local d=$1 ns=$2 inst=$3 er=$4 dr=$5 reason=$6 field=$7 says=$8
  cloud_conf "$ns" "$inst" "$er" "$dr"
  login alice
  check "$d: denied" bash -c "! grep -q 'auth PAM_SUCCESS' '$T/out'"
  check "$d: the person reads why" out_has "ERROR Login failed: $says"
  check "$d: audit failure reason=$reason $field" audit_has event=auth result=failure "reason=$reason" "$field"
  check "$d: nothing is exported" bash -c "! grep -q -e '^ENV ALIBABA' -e '^ENV EDAS' -e '^ENV PAI' '$T/out'"
}
hard_fail "EDAS 403, [edas] required" cn-x:forbidden dsw-1 yes no edas_error \
  edas_code=Forbidden.RAM "EDAS GetSecureToken failed (HTTP 403, Forbidden.RAM"
hard_fail "EDAS 500, [edas] required" cn-x:broken dsw-1 yes no edas_error \
  edas_code=InternalError "EDAS GetSecureToken failed (HTTP 500, InternalError"
hard_fail "EDAS Code 404 under 200, [edas] required" cn-x:soft dsw-1 yes yes edas_error \
  edas_code=404 "EDAS GetSecureToken failed (code 404: The namespace does not exist)"
hard_fail "DSW Success false under 200, [dsw] required" cn-x:prod dsw-soft no yes dsw_error \
  dsw_code=ValidationError "PAI-DSW GetToken failed (code ValidationError: The instance is not running)"
hard_fail "DSW bad signature, [dsw] required" cn-x:prod dsw-badsig no yes dsw_error \
  dsw_code=SignatureDoesNotMatch "PAI-DSW GetToken failed (HTTP 400, SignatureDoesNotMatch"
hard_fail "DSW 403 while EDAS works, [dsw] required" cn-x:prod dsw-forbidden yes yes dsw_error \
  dsw_code=Forbidden.RAM "PAI-DSW GetToken failed (HTTP 403, Forbidden.RAM"
check "DSW 403 while EDAS works: the audit line has no edas_code" audit_lacks edas_code
cloud_conf cn-x:prod dsw-1 yes yes https://127.0.0.1:1
login alice
check "unreachable, both required: denied with edas_error" \
  audit_has result=failure reason=edas_error edas_code=unreachable dsw_code=unreachable
check "unreachable, both required: one sentence for the person" \
  out_has "ERROR Login failed: EDAS GetSecureToken failed (127.0.0.1:1 cannot be reached"
sed -i 's/^methods        = token$/methods        = token\nfail_mode      = open/' "$T/pam_acred.conf"
login alice
check "unreachable, required, fail_mode = open: still denied (the IdP was reachable)" \
  audit_has result=failure reason=edas_error

# --- both requests run at the same time ----------------------------------------------------------
cloud_conf cn-x:slow dsw-slow
before=$(acs_lines)
tok=$(mint alice); remember_secret "$tok"
start=$(date +%s%N)
pam_login alice "$tok"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)" \
  "$(acs_issued edas secret_key)" "$(acs_issued dsw token)"
check "parallel: each answer took a second, and both arrived" \
  bash -c "grep -q '^ENV EDAS_SECRET_KEY=' '$T/out' && grep -q '^ENV PAI_DSW_TOKEN=' '$T/out'"
diag "the whole login took $elapsed_ms ms"
if [ -z "${ACRED_HELPER_WRAP:-}" ]; then
  check "parallel: the whole login took less than 1.8 s ($elapsed_ms ms), not 2 s and more" \
    test "$elapsed_ms" -lt 1800 -a "$elapsed_ms" -ge 1000
else # under valgrind the wall clock says nothing; the mock's times below still do
  skip "parallel: the wall-clock bound is not measured under ACRED_HELPER_WRAP"
fi
check "parallel: the mock got both requests within 0.3 s of each other" \
  bash -c "tail -n +$((before + 1)) '$T/acs.log' | jq -se 'length == 2 and ((.[0].time - .[1].time) | fabs) < 0.3' >/dev/null"

# --- the mock is a real verifier: a request signed in shell, then tampered with -----------------
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# shell_call AK SECRET TOKEN DATE NONCE [QUERY_SENT [EXTRA_HEADER]]: sign NamespaceId=cn-shell:prod
# with openssl, send it with curl; prints "STATUS CODE"
shell_call() {
  local ak=$1 sk=$2 st=$3 date=$4 nonce=$5 sent=${6:-NamespaceId=cn-shell%3Aprod} extra=${7:-}
  local host="127.0.0.1:$ACS_PORT" names canon hash sig
  names="host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version"
  canon=$(printf 'GET\n/pop/v5/secure_token\nNamespaceId=cn-shell%%3Aprod\nhost:%s\nx-acs-action:GetSecureToken\nx-acs-content-sha256:%s\nx-acs-date:%s\nx-acs-security-token:%s\nx-acs-signature-nonce:%s\nx-acs-version:2017-08-01\n\n%s\n%s' \
    "$host" "$EMPTY" "$date" "$st" "$nonce" "$names" "$EMPTY")
  hash=$(printf '%s' "$canon" | sha256sum | cut -d' ' -f1)
  sig=$(printf 'ACS3-HMAC-SHA256\n%s' "$hash" | openssl dgst -sha256 -hmac "$sk" | sed 's/^.*= //')
  curl -sS --cacert "$T/pki/ca.pem" -o "$T/shell.body" -w '%{http_code}' \
    -H "x-acs-action: GetSecureToken" -H "x-acs-version: 2017-08-01" -H "x-acs-date: $date" \
    -H "x-acs-signature-nonce: $nonce" -H "x-acs-content-sha256: $EMPTY" \
    -H "x-acs-security-token: $st" ${extra:+-H "$extra"} \
    -H "Authorization: ACS3-HMAC-SHA256 Credential=$ak,SignedHeaders=$names,Signature=$sig" \
    "https://$host/pop/v5/secure_token?$sent" 2>>"$T/shell.err"
  echo " $(jq -r '.Code' "$T/shell.body" 2>/dev/null)"
}
ak=$(mock_issued access_key_id) sk=$(mock_issued access_key_secret) st=$(mock_issued security_token)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
nonce=$(openssl rand -hex 16)
check "a request signed in shell is accepted (three implementations agree)" \
  test "$(shell_call "$ak" "$sk" "$st" "$now" "$nonce")" = "200 200"
remember_secret "$(acs_issued edas secret_key)"
check "the same request again: 400 SignatureNonceUsed" \
  test "$(shell_call "$ak" "$sk" "$st" "$now" "$nonce")" = "400 SignatureNonceUsed"
check "a query changed after signing: 400 SignatureDoesNotMatch" \
  test "$(shell_call "$ak" "$sk" "$st" "$now" "$(openssl rand -hex 16)" NamespaceId=cn-shell%3Aother)" = "400 SignatureDoesNotMatch"
check "an x-acs-* header that is not signed: 400 SignatureDoesNotMatch" \
  test "$(shell_call "$ak" "$sk" "$st" "$now" "$(openssl rand -hex 16)" "" "x-acs-extra: 1")" = "400 SignatureDoesNotMatch"
check "a signed header sent twice: 400 SignatureDoesNotMatch" \
  test "$(shell_call "$ak" "$sk" "$st" "$now" "$(openssl rand -hex 16)" "" "x-acs-version: 2099-01-01")" = "400 SignatureDoesNotMatch"
check "the wrong secret: 400 SignatureDoesNotMatch" \
  test "$(shell_call "$ak" "not-the-secret-at-all" "$st" "$now" "$(openssl rand -hex 16)")" = "400 SignatureDoesNotMatch"
check "an x-acs-date 20 minutes old: 400 InvalidTimeStamp.Expired" \
  test "$(shell_call "$ak" "$sk" "$st" "$(date -u -d '-20 min' +%Y-%m-%dT%H:%M:%SZ)" "$(openssl rand -hex 16)")" = "400 InvalidTimeStamp.Expired"
check "a security token the gateway never issued: 400 InvalidSecurityToken.Malformed" \
  test "$(shell_call "$ak" "$sk" "CAIS-forged-token-0123456789" "$now" "$(openssl rand -hex 16)")" = "400 InvalidSecurityToken.Malformed"
prev_st=$(tail -n 2 "$T/issued" | head -n 1 | jq -r .security_token)
check "another key's security token: 400 InvalidSecurityToken.MismatchWithAccessKey" \
  test "$(shell_call "$ak" "$sk" "$prev_st" "$now" "$(openssl rand -hex 16)")" = "400 InvalidSecurityToken.MismatchWithAccessKey"
check "an AccessKeyId the gateway does not know: 404 InvalidAccessKeyId.NotFound" \
  test "$(shell_call STS.NotIssuedByTheMock "$sk" "$st" "$now" "$(openssl rand -hex 16)")" = "404 InvalidAccessKeyId.NotFound"
check "error answers have the gateway's shape (Code, Message, RequestId, Recommend, HostId)" \
  jqe 'has("Code") and has("Message") and has("RequestId") and has("Recommend") and has("HostId")' "$T/shell.body"

# --- a real ssh login --------------------------------------------------------------------------
if command -v expect >/dev/null && [ -x /usr/sbin/sshd ]; then
  cloud_conf cn-hangzhou:dev dsw-730sshlogin
  if acred_start_sshd; then
    remote_env() { sed -n "s/^$1=//p" "$T/out" | tail -n 1; }
    tok=$(mint alice); remember_secret "$tok"
    before=$(acs_lines)
    ssh_login alice env "$tok"
    remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)" \
      "$(acs_issued edas secret_key)" "$(acs_issued dsw token)"
    for v in EDAS_ACCESS_KEY:access_key EDAS_SECRET_KEY:secret_key EDAS_TENANT_ID:tenant_id \
             EDAS_ADDRESS_SERVER_HOST:address_server_host; do
      check "ssh: the remote shell's ${v%%:*} is what the mock issued" \
        test "$(remote_env "${v%%:*}")" = "$(acs_issued edas "${v#*:}")"
    done
    check "ssh: EDAS_NAMESPACE_ID and EDAS_REGION_ID" \
      test "$(remote_env EDAS_NAMESPACE_ID) $(remote_env EDAS_REGION_ID)" = "cn-hangzhou:dev cn-hangzhou"
    check "ssh: the remote shell's PAI_DSW_TOKEN is what the mock issued" \
      test "$(remote_env PAI_DSW_TOKEN)" = "$(acs_issued dsw token)"
    check "ssh: PAI_DSW_INSTANCE_ID" test "$(remote_env PAI_DSW_INSTANCE_ID)" = dsw-730sshlogin
    check "ssh: the mock recorded two valid signatures by the login's AccessKeyId" \
      bash -c "tail -n +$((before + 1)) '$T/acs.log' | jq -se --arg ak '$(mock_issued access_key_id)' 'length == 2 and all(.[]; .signature == \"valid\" and .access_key_id == \$ak)' >/dev/null"
    check "ssh: the audit line is a success for sshd, without edas_code or dsw_code" \
      no_codes result=success user=alice service=sshd
  else
    not_ok "sshd starts on 127.0.0.1"; sed 's/^/# /' "$T/sshd.log"
  fi
elif [ "${CI:-}" = true ]; then
  not_ok "ssh login with [edas] and [dsw] (expect or openssh-server is missing, and CI must run it)"
else
  skip "ssh login with [edas] and [dsw]: expect or openssh-server is missing"
fi

# --- every authentication left exactly one audit line; no secret in any log ---------------------
check "each of the $PAM_LOGINS PAM authentications logged exactly one event=auth line" \
  test "$(grep -c 'pam_acred([^)]*:auth): event=auth .*service=acred-test' "$T/syslog")" -eq "$PAM_LOGINS"
check "no token, STS secret, EDAS secret or DSW token in syslog, the mocks' logs or sshd's" acred_leak_check
done_testing
