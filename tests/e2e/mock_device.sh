#!/bin/bash
# The mock IdP's OAuth 2.0 device authorization grant (RFC 8628) and refresh tokens, driven with
# curl the way a client would: discovery, device/code, polling (pending, slow_down), approval,
# the tokens and what they are good for, denial, expiry, refresh rotation, and a log that never
# holds a device code or a token.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup --device-interval 5 # wide enough that two quick polls are surely too fast

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
SCOPE="urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential"

# post URL NAME=VALUE...: a form POST; the body goes to $T/body, the HTTP status to $T/status
post() {
  local url=$1 a args=(); shift
  for a in "$@"; do args+=(--data-urlencode "$a"); done
  curl -s --cacert "$T/pki/ca.pem" -o "$T/body" -w '%{http_code}' "${args[@]}" "$url" > "$T/status"
}
status_is() { [ "$(cat "$T/status")" = "$1" ] || { echo "# status $(cat "$T/status"), not $1: $(cat "$T/body")"; return 1; }; }
body() { jq -r "$1" "$T/body"; }
jqe() { jq -e "$@" >/dev/null; }
# answered STATUS ERROR: the last answer was STATUS with {"error": ERROR}
answered() { status_is "$1" && [ "$(body .error)" = "$2" ] || { echo "# body: $(cat "$T/body")"; return 1; }; }
# start_auth [CLIENT]: a new device authorization; DC and UC are its codes
start_auth() {
  post "$DEVICE_EP" "client_id=${1:-app_test}" "scope=openid $SCOPE"
  DC=$(body .device_code) UC=$(body .user_code)
  remember_secret "$DC"
}
poll() { post "$TOKEN_EP" "grant_type=$DEVICE_GRANT" "device_code=$1" "client_id=${2:-app_test}"; }
last_is() { # last_is JQ_EXPR: the newest authorization, as /test/device/last tells it
  local j; j=$(mock_device_last) && printf '%s' "$j" | jq -e "$1" >/dev/null || { echo "# last: $j"; return 1; }
}
# b64d TEXT: base64url without padding, decoded
b64d() {
  local s; s=$(printf '%s' "$1" | tr '_-' '/+')
  while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  printf '%s' "$s" | base64 -d
}
claims() { b64d "$(printf '%s' "$1" | cut -d. -f2)"; }
# obtain TOKEN: obtainAccessCredential with TOKEN as the bearer; status to $T/status
obtain() {
  curl -s --cacert "$T/pki/ca.pem" -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
    "https://127.0.0.1:$MOCK_PORT/v2/idaas_test/cloudAccountRoles/_/actions/obtainAccessCredential?cloudAccountRoleExternalId=acs:ram::1234567890123456:role/dev" \
    > "$T/status"
}
# rs256_ok JWT: its signature verifies with the public half of the mock's rsa1 key
rs256_ok() {
  openssl pkey -in "$T/pki/rsa.pem" -pubout -out "$T/rsa1.pub" 2>/dev/null &&
    printf '%s' "${1%.*}" > "$T/jwt.input" && b64d "${1##*.}" > "$T/jwt.sig" &&
    openssl dgst -sha256 -verify "$T/rsa1.pub" -signature "$T/jwt.sig" "$T/jwt.input" >/dev/null
}

# --- discovery names the endpoints -------------------------------------------------------------
curl -s --cacert "$T/pki/ca.pem" "$ISSUER/.well-known/openid-configuration" > "$T/discovery"
DEVICE_EP=$(jq -r .device_authorization_endpoint "$T/discovery")
TOKEN_EP=$(jq -r .token_endpoint "$T/discovery")
check "discovery: device_authorization_endpoint is {issuer}/device/code" test "$DEVICE_EP" = "$ISSUER/device/code"
check "discovery: token_endpoint is {issuer}/token" test "$TOKEN_EP" = "$ISSUER/token"
check "discovery: the device_code grant is offered" \
  jqe '.grant_types_supported | index("urn:ietf:params:oauth:grant-type:device_code")' "$T/discovery"

# --- a device authorization ----------------------------------------------------------------------
start_auth
check "device/code: 200" status_is 200
check "device/code: a device_code of 32 characters or more" test "${#DC}" -ge 32
check "device/code: user_code is ABCD-EFGH from the RFC 8628 alphabet" \
  bash -c "[[ '$UC' =~ ^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$ ]]"
check "device/code: verification_uri is https://127.0.0.1:PORT/device" \
  test "$(body .verification_uri)" = "https://127.0.0.1:$MOCK_PORT/device"
check "device/code: verification_uri_complete carries the user code" \
  test "$(body .verification_uri_complete)" = "https://127.0.0.1:$MOCK_PORT/device?user_code=$UC"
check "device/code: expires_in 600 by default, interval 5 from --device-interval" \
  test "$(body .expires_in)/$(body .interval)" = "600/5"
check "device/code: the answer is not cached" \
  bash -c "curl -s -D - -o /dev/null --cacert '$T/pki/ca.pem' -d client_id=app_test -d scope=openid '$DEVICE_EP' | grep -qi '^cache-control: no-store'"
start_auth # the one we go on with (the line above made another)

# --- polling -------------------------------------------------------------------------------------
poll "$DC"
check "first poll: 400 authorization_pending" answered 400 authorization_pending
poll "$DC"
check "a poll sooner than interval: 400 slow_down" answered 400 slow_down
check "test/device/last: 2 polls, still pending, one slow_down, interval grown by 5 s" \
  last_is "(.user_code == \"$UC\") and .polls == 2 and .state == \"pending\" and .slow_downs == 1 and .interval == 10"

# --- approval: the tokens ----------------------------------------------------------------------
mock_device_approve "$UC" alice > "$T/approve" 2>&1
check "test/device/approve answers {\"ok\":true}" test "$(cat "$T/approve")" = '{"ok":true}'
check "test/device/last: approved by alice" last_is '.state == "approved" and .user == "alice"'
poll "$DC"
check "poll after approval: 200" status_is 200
AT=$(body .access_token) RT=$(body .refresh_token)
remember_secret "$AT" "$RT"
check "token: token_type Bearer, expires_in 600" test "$(body .token_type)/$(body .expires_in)" = "Bearer/600"
check "token: an opaque refresh token" bash -c "[ ${#RT} -ge 32 ] && [[ '$RT' != *.* ]]"
check "token: scope is openid and the configured scope" test "$(body .scope)" = "openid $SCOPE"
check "access token: RS256 with kid rsa1" \
  bash -c "[ \"\$(printf '%s' '$(b64d "${AT%%.*}")' | jq -r '.alg + \" \" + .kid')\" = 'RS256 rsa1' ]"
check "access token: signed by the mock's rsa1 key" rs256_ok "$AT"
claims "$AT" > "$T/claims"
check "access token: preferred_username alice, sub u_alice" \
  jqe '.preferred_username == "alice" and .sub == "u_alice"' "$T/claims"
check "access token: scope holds openid and the configured scope" \
  jqe --arg s "$SCOPE" '.scope | split(" ") | index("openid") != null and index($s) != null' "$T/claims"
check "access token: iss is the issuer, aud the client" \
  jqe --arg i "$ISSUER" '.iss == $i and .aud == "app_test"' "$T/claims"
check "access token: lives 600 s from now, has a jti" \
  jqe --argjson now "$(date +%s)" '.exp - .iat == 600 and (.iat - $now | fabs) < 60 and (.jti | length) > 0' "$T/claims"
obtain "$AT"
check "access token: accepted by obtainAccessCredential" status_is 200
check "obtainAccessCredential hands out STS credentials for it" bash -c "jq -e '.cloudAccountRoleAccessCredential.alibabaCloudStsToken.accessKeyId | startswith(\"STS.\")' '$T/body' >/dev/null"
remember_secret "$(jq -r .cloudAccountRoleAccessCredential.alibabaCloudStsToken.accessKeySecret "$T/body")" \
  "$(jq -r .cloudAccountRoleAccessCredential.alibabaCloudStsToken.securityToken "$T/body")"
check "the obtain log line names the token's sub and jti" \
  bash -c "tail -n 1 '$T/mock.log' | jq -e --arg j '$(jq -r .jti "$T/claims")' '.sub == \"u_alice\" and .jti == \$j' >/dev/null"
poll "$DC"
check "the device code again: 400 invalid_grant" answered 400 invalid_grant
check "test/device/last: exchanged" last_is '.state == "exchanged"'
poll "nosuchdevicecode0123456789abcdefghijklmnop"
check "an unknown device code: 400 invalid_grant" answered 400 invalid_grant

# --- refresh -------------------------------------------------------------------------------------
post "$TOKEN_EP" grant_type=refresh_token "refresh_token=$RT" client_id=app_test
check "refresh_token grant: 200" status_is 200
AT2=$(body .access_token) RT2=$(body .refresh_token)
remember_secret "$AT2" "$RT2"
check "refresh: a new access token and a new refresh token" \
  bash -c "[ -n '$AT2' ] && [ '$AT2' != '$AT' ] && [ -n '$RT2' ] && [ '$RT2' != '$RT' ]"
claims "$AT2" > "$T/claims2"
check "refresh: the new access token is alice's" jqe '.preferred_username == "alice" and .sub == "u_alice"' "$T/claims2"
obtain "$AT2"
check "refresh: the new access token is accepted by obtainAccessCredential" status_is 200
post "$TOKEN_EP" grant_type=refresh_token "refresh_token=$RT" client_id=app_test
check "the old refresh token: 400 invalid_grant" answered 400 invalid_grant
post "$TOKEN_EP" grant_type=refresh_token "refresh_token=$RT2" client_id=app_other
check "refresh with another client_id: 400 invalid_client" answered 400 invalid_client
post "$TOKEN_EP" grant_type=refresh_token "refresh_token=$RT2" client_id=app_test
check "the new refresh token works (once)" status_is 200
remember_secret "$(body .access_token)" "$(body .refresh_token)"
post "$TOKEN_EP" grant_type=refresh_token refresh_token=not-a-refresh-token-of-this-idp client_id=app_test
check "an unknown refresh token: 400 invalid_grant" answered 400 invalid_grant

# --- denial and expiry ---------------------------------------------------------------------------
start_auth
mock_device_deny "$UC" > /dev/null
poll "$DC"
check "denied: 400 access_denied" answered 400 access_denied
check "test/device/last: denied" last_is ".user_code == \"$UC\" and .state == \"denied\""
start_auth
mock_device_expire "$UC" > /dev/null
poll "$DC"
check "expired by the test switch: 400 expired_token" answered 400 expired_token
check "test/device/last: expired" last_is ".user_code == \"$UC\" and .state == \"expired\""
if mock_device_approve "$UC" alice > "$T/approve" 2>&1; then not_ok "approving an expired code is refused"; else ok "approving an expired code is refused"; fi
check "approving an expired code: 409 conflict" grep -q "\"error\":\"conflict\"" "$T/approve"
check "an unknown user code: the controls answer 404" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$T/pki/ca.pem' 'https://127.0.0.1:$MOCK_PORT/test/device/approve?user_code=BBBB-BBBB&user=alice')\" = 404 ]"
if mock_device_deny BBBB-BBBB > /dev/null 2>&1; then not_ok "mock_device_deny fails for an unknown code"; else ok "mock_device_deny fails for an unknown code"; fi

# --- what is refused -----------------------------------------------------------------------------
post "$DEVICE_EP" client_id=app_other "scope=openid"
check "device/code, another client_id: 400 invalid_client" answered 400 invalid_client
post "$DEVICE_EP" "scope=openid"
check "device/code without client_id: 400 invalid_client" answered 400 invalid_client
post "$DEVICE_EP" client_id=app_test
check "device/code without scope: 400 invalid_request" answered 400 invalid_request
curl -s --cacert "$T/pki/ca.pem" -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"client_id":"app_test","scope":"openid"}' "$DEVICE_EP" > "$T/status"
check "device/code with a JSON body: 400 invalid_request" answered 400 invalid_request
post "$DEVICE_EP" client_id=app_test client_id=app_test scope=openid
check "device/code with a repeated parameter: 400 invalid_request" answered 400 invalid_request
start_auth
poll "$DC" app_other
check "token with another client_id: 400 invalid_client" answered 400 invalid_client
post "$TOKEN_EP" grant_type=password username=alice password=x client_id=app_test
check "grant_type password: 400 unsupported_grant_type" answered 400 unsupported_grant_type
post "$TOKEN_EP" grant_type=authorization_code code=x client_id=app_test
check "grant_type authorization_code: 400 unsupported_grant_type" answered 400 unsupported_grant_type

# --- the log -------------------------------------------------------------------------------------
issued_line() { # the log line of the device code exchange: grant type, user code, outcome
  jq -c --arg g "$DEVICE_GRANT" 'select(.grant_type == $g and .outcome == "issued")' "$T/mock.log" | head -n 1 |
    jq -e '.status == 200 and (.path | endswith("/token")) and (.user_code | test("^[A-Z]{4}-[A-Z]{4}$")) and .sub == "u_alice"' >/dev/null
}
check "the log line of the exchange names grant type, user code, user and outcome" issued_line
check "the log has slow_down and authorization_pending outcomes" \
  bash -c "grep -q '\"outcome\":\"slow_down\"' '$T/mock.log' && grep -q '\"outcome\":\"authorization_pending\"' '$T/mock.log'"
check "the log keeps the device code only as its sha256" \
  grep -qF "\"device_code_sha256\":\"$(printf '%s' "$DC" | sha256sum | cut -d' ' -f1)\"" "$T/mock.log"
check "the log keeps the issued access token only as its sha256" \
  grep -qF "\"access_token_sha256\":\"$(printf '%s' "$AT" | sha256sum | cut -d' ' -f1)\"" "$T/mock.log"
start_auth
post "$TOKEN_EP?device_code=$DC&refresh_token=$RT2" "grant_type=$DEVICE_GRANT" "device_code=$DC" client_id=app_test
check "a device code or refresh token put in the query is logged as its sha256" \
  bash -c "tail -n 1 '$T/mock.log' | jq -e '.query.device_code == \"$(printf '%s' "$DC" | sha256sum | cut -d' ' -f1)\" and (.query.refresh_token | length) == 64' >/dev/null"
check "no device code, access token or refresh token in any log" acred_leak_check

# --- a second mock: --client-id and --device-expires, the default interval -----------------------
"$top_builddir/tests/mock/mock_idp" --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
  --rsa-key "$T/pki/rsa.pem" --ec-key "$T/pki/ec.pem" --port 0 --port-file "$T/mock2.port" \
  --log "$T/mock2.log" --client-id app_other --device-expires 2 &
MOCK2=$!
ACRED_PIDS="$ACRED_PIDS $MOCK2"
for _ in $(seq 200); do [ -s "$T/mock2.port" ] && break; sleep 0.05; done
I2="https://127.0.0.1:$(cat "$T/mock2.port")/api/v2/iauths_system/oauth2"
post "$I2/device/code" client_id=app_test scope=openid
check "--client-id app_other: app_test is refused" answered 400 invalid_client
post "$I2/device/code" client_id=app_other scope=openid
check "--device-expires 2: expires_in 2, and interval 1 by default" \
  test "$(body .expires_in)/$(body .interval)" = "2/1"
DC2=$(body .device_code); remember_secret "$DC2"
poll2() { post "$I2/token" "grant_type=$DEVICE_GRANT" "device_code=$DC2" client_id=app_other; }
poll2
check "second mock, first poll: authorization_pending" answered 400 authorization_pending
sleep 1.1
poll2
check "a poll after the interval has passed: authorization_pending, not slow_down" answered 400 authorization_pending
sleep 1.1
post "$I2/token" "grant_type=$DEVICE_GRANT" "device_code=$DC2" client_id=app_other
check "after expires_in: 400 expired_token" answered 400 expired_token
kill "$MOCK2"; wait "$MOCK2"
check "the mock exits 0 on SIGTERM" test $? -eq 0
check "no device code in the second mock's log" bash -c "! grep -qF -- '$DC2' '$T/mock2.log'"

done_testing
