#!/bin/bash
# Crafted tokens: a table of bad tokens, each one a PAM login through pamtest that must be denied
# with the right audit reason, in bounded time, without a crash, with nothing exported and
# nothing leaked. The attacks are the classic ones against JWT verifiers (alg none, HS256 with
# the RSA public key, key confusion, embedded keys) and every way a token can be malformed.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
MINT=$top_builddir/tests/tools/acred-mint
PAMTEST_OPTS="--ops auth --escaped"
BOUND_MS=${CRAFTED_BOUND_MS:-5000} # a denial of a crafted token, the IdP being local

# base64url of stdin, no padding
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
part() { printf '%s\n' "$1" | cut -d. -f"$2"; } # part TOKEN N (1-based)
# claims CLAIMS_JSON_MEMBERS: the claims mint() uses, for --raw-claims and friends
good_claims() {
  printf '{"iss":"%s","aud":"app_test","sub":"u_alice","jti":"j%s","preferred_username":"alice","scope":"openid urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential","iat":%s,"exp":%s%s}' \
    "$ISSUER" "$RANDOM$RANDOM" "$(( $(date +%s) - 10 ))" "$(( $(date +%s) + 600 ))" "${1:+,$1}"
}
# rs FILE_OR_TEXT [mint options]: an RS256 token with rsa1 over raw claims text
rs_raw() { local c=$1; shift; if [ $# -eq 0 ]; then set -- --kid rsa1; fi; "$MINT" --key "$T/pki/rsa.pem" --raw-claims "$c" "$@"; }

openssl pkey -in "$T/pki/rsa.pem" -pubout -out "$T/rsa_pub.pem" 2>/dev/null
openssl pkey -in "$T/pki/rsa.pem" -pubout -outform DER -out "$T/rsa_pub.der" 2>/dev/null
rsa2_n=$(openssl rsa -in "$T/pki/rsa2.pem" -noout -modulus | cut -d= -f2 | xxd -r -p | b64u)

CASES=0
# deny NAME REASON ANSWER...: one login as alice that must be denied with REASON
deny() { deny_as alice "$@"; }
deny_as() {
  local user=$1 name=$2 reason=$3 t0 t1 ms rc why=""; shift 3
  CASES=$((CASES + 1))
  local a; for a in "$@"; do remember_secret "$a"; done
  local before; before=$(grep -c 'event=auth ' "$T/syslog")
  t0=$(date +%s%N)
  pam_login "$user" "$@"
  rc=$?
  t1=$(date +%s%N); ms=$(( (t1 - t0) / 1000000 ))
  grep -q '^auth PAM_' "$T/out" || why="$why no PAM result (pamtest exit $rc);"
  grep -q '^auth PAM_SUCCESS' "$T/out" && why="$why authenticated;"
  [ "$rc" -lt 128 ] || why="$why pamtest died of signal $((rc - 128));"
  grep -q '^ENV \(ALIBABA\|ACRED\|ALICLOUD\|OSS\)' "$T/out" && why="$why something was exported;"
  [ "$ms" -le "$BOUND_MS" ] || why="$why took ${ms} ms;"
  [ "$(grep -c 'event=auth ' "$T/syslog")" -eq $((before + 1)) ] || why="$why not exactly one audit line;"
  audit_has result=failure "reason=$reason" >/dev/null || why="$why reason is not $reason: $(last_audit);"
  if [ -z "$why" ]; then ok "$name: denied, reason=$reason (${ms} ms)"
  else not_ok "$name:$why"; sed 's/^/#   /' "$T/out"; fi
}

# --- control: the table is not vacuous ----------------------------------------------------------
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "control: a well-formed token of alice succeeds" out_has "auth PAM_SUCCESS"
good=$(mint alice); remember_secret "$good"
H=$(part "$good" 1) P=$(part "$good" 2) S=$(part "$good" 3)

# --- algorithms ----------------------------------------------------------------------------------
deny "alg none, no signature" bad_algorithm "$(mint alice "" --alg none)"
deny "alg none with kid rsa1" bad_algorithm "$(mint alice "" --alg none --kid rsa1)"
nh=$(printf '{"alg":"none","typ":"JWT","kid":"rsa1"}' | b64u)
deny "alg none carrying a real RS256 signature" bad_algorithm "$nh.$P.$S"
deny "alg None (capitalised)" bad_algorithm "$(mint alice "" --alg none --header '{"alg":"None"}')"
deny "alg NONE" bad_algorithm "$(mint alice "" --alg none --header '{"alg":"NONE"}')"
deny "HS256 keyed with the RSA public key PEM, kid rsa1" bad_algorithm \
  "$(mint alice "" --alg HS256 --key "$T/rsa_pub.pem" --kid rsa1)"
deny "HS256 keyed with the RSA public key PEM, no kid" bad_algorithm \
  "$(mint alice "" --alg HS256 --key "$T/rsa_pub.pem" --header '{"kid":null}')"
deny "HS256 keyed with the RSA public key DER" bad_algorithm \
  "$(mint alice "" --alg HS256 --key "$T/rsa_pub.der" --kid rsa1)"
deny "HS512 keyed with the RSA public key PEM" bad_algorithm \
  "$(mint alice "" --alg HS512 --key "$T/rsa_pub.pem" --kid rsa1)"
deny "RS512 with the real key" bad_algorithm "$(mint alice "" --alg RS512)"
deny "PS256 with the real key" bad_algorithm "$(mint alice "" --alg PS256)"
deny "alg rs256 (lower case) over an RS256 signature" bad_algorithm "$(mint alice "" --header '{"alg":"rs256"}')"
deny "alg as a number" malformed_token "$(mint alice "" --header '{"alg":256}')"
deny "no alg at all" malformed_token "$(mint alice "" --header '{"alg":null}')"

# --- keys ----------------------------------------------------------------------------------------
deny "unknown kid" unknown_key "$(mint alice "" --kid rsa9)"
deny "kid with a path in it" unknown_key "$(mint alice "" --kid ../../../../etc/passwd)"
deny "empty kid" unknown_key "$(mint alice "" --header '{"kid":""}')"
deny "kid of the EC key on an RS256 token" unknown_key "$(mint alice "" --kid ec1)"
deny "kid of the RSA key on an ES256 token" unknown_key "$(mint alice "" --key "$T/pki/ec.pem" --kid rsa1 --alg ES256)"
deny "kid as a number" malformed_token "$(mint alice "" --header '{"kid":1}')"
deny "signed by an unpublished key, kid rsa1" bad_signature "$(mint alice "" --key "$T/pki/rsa2.pem" --kid rsa1)"
deny "signed by an unpublished key, no kid" bad_signature \
  "$(mint alice "" --key "$T/pki/rsa2.pem" --header '{"kid":null}')"
deny "attacker key embedded as jwk in the header" bad_signature \
  "$(mint alice "" --key "$T/pki/rsa2.pem" --header "{\"jwk\":{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"n\":\"$rsa2_n\",\"e\":\"AQAB\"}}")"
deny "attacker JWKS named by jku in the header" bad_signature \
  "$(mint alice "" --key "$T/pki/rsa2.pem" --header '{"jku":"https://127.0.0.1:1/jwks","x5u":"https://127.0.0.1:1/x5"}')"
deny "crit header extension" malformed_token "$(mint alice "" --header '{"crit":["exp"],"exp":1}')"

# --- tampering -----------------------------------------------------------------------------------
th=$(printf '{"alg":"RS256","typ":"JWT","kid":"rsa1","x":1}' | b64u)
deny "tampered header" bad_signature "$th.$P.$S"
other=$(mint alice '"role":"admin"')
deny "tampered payload (another token's claims)" bad_signature "$H.$(part "$other" 2).$S"
deny "signature of another token" bad_signature "$H.$P.$(part "$other" 3)"
first=${S:0:1}; [ "$first" = A ] && flip=B || flip=A
deny "tampered signature (first character)" bad_signature "$H.$P.$flip${S:1}"
deny "signature one byte too long" bad_signature "$H.$P.$(head -c 257 /dev/urandom | b64u)"
ec=$(mint alice "" --key "$T/pki/ec.pem" --kid ec1 --alg ES256)
deny "ES256 with a DER-length signature" bad_signature \
  "$(part "$ec" 1).$(part "$ec" 2).$(head -c 70 /dev/urandom | b64u)"
swap_rs() { local s=$1; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
  printf '%s' "$s" | tr -- '-_' '+/' | openssl base64 -d -A > "$T/rs"
  { tail -c 32 "$T/rs"; head -c 32 "$T/rs"; } | b64u; }
deny "ES256 with r and s swapped" bad_signature "$(part "$ec" 1).$(part "$ec" 2).$(swap_rs "$(part "$ec" 3)")"

# --- time ----------------------------------------------------------------------------------------
deny "expired an hour ago" token_expired "$(mint alice '"exp":"-3600"')"
deny "expired beyond the leeway" token_expired "$(mint alice '"exp":"-120"')"
deny "exp of 0" token_expired "$(mint alice '"exp":0')"
deny "no exp" malformed_token "$(rs_raw "$(good_claims | sed 's/,"exp":[0-9]*//')")"
deny "exp as a string" malformed_token "$(mint alice '"exp":"tomorrow"')"
deny "exp as a boolean" malformed_token "$(mint alice '"exp":true')"
deny "exp beyond a double" malformed_token "$(rs_raw "$(good_claims | sed 's/"exp":[0-9]*/"exp":1e400/')")"
deny "not yet valid (nbf in an hour)" token_not_yet_valid "$(mint alice '"nbf":"+3600"')"
deny "issued in the future (iat in an hour)" token_not_yet_valid "$(mint alice '"iat":"+3600"')"
deny "nbf as a string" malformed_token "$(mint alice '"nbf":"now"')"

# --- issuer, audience, scope, user -----------------------------------------------------------------
deny "another issuer" bad_issuer "$(mint alice '"iss":"https://evil.example/oauth2"')"
deny "issuer with a trailing slash" bad_issuer "$(mint alice "\"iss\":\"$ISSUER/\"")"
deny "no issuer" bad_issuer "$(rs_raw "$(good_claims | sed 's/"iss":"[^"]*",//')")"
deny "another audience" bad_audience "$(mint alice '"aud":"app_other"')"
deny "audience list without ours" bad_audience "$(mint alice '"aud":["app_other","app_test2"]')"
deny "audience with a trailing space" bad_audience "$(mint alice '"aud":"app_test "')"
deny "no audience" bad_audience "$(rs_raw "$(good_claims | sed 's/"aud":"app_test",//')")"
deny "no scope" missing_scope "$(mint alice '"scope":"openid"')"
deny "a prefix of the scope" missing_scope "$(mint alice '"scope":"urn:cloud:idaas:pam"')"
deny "scope only as an scp string" missing_scope \
  "$(mint alice '"scope":null,"scp":"urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential"')"
deny "another user's token" user_mismatch "$(mint bob)"
deny "user name in another case" user_mismatch "$(mint alice '"preferred_username":"Alice"')"
deny "user name with a trailing space" user_mismatch "$(mint alice '"preferred_username":"alice "')"
deny "user name with a Cyrillic a" user_mismatch "$(mint alice '"preferred_username":"\u0430lice"')"
deny "user name with a domain" user_mismatch "$(mint alice '"preferred_username":"alice@corp.example"')"
deny "no user name claim" malformed_token "$(rs_raw "$(good_claims | sed 's/"preferred_username":"alice",//')")"
deny "user name as an array" malformed_token "$(mint alice '"preferred_username":["alice"]')"
deny_as bob "alice's token for bob" user_mismatch "$(mint alice)"

# --- JSON ----------------------------------------------------------------------------------------
deny "duplicate user name claim (bob, then alice)" malformed_token \
  "$(rs_raw "$(good_claims '"preferred_username":"bob"' | sed 's/"preferred_username":"alice",//; s/}$/,"preferred_username":"alice"}/')")"
deny "duplicate claim spelled with an escape" malformed_token \
  "$(rs_raw "$(good_claims '"preferred_\u0075sername":"bob"')")"
deny "duplicate alg in the header" malformed_token \
  "$(rs_raw "$(good_claims)" --raw-header '{"alg":"none","kid":"rsa1","alg":"RS256"}')"
good_claims '"name":"AXFFX"' | sed 's/XFFX/\xff/' > "$T/c-ff"
deny "a byte that is not UTF-8" malformed_token "$(rs_raw @"$T/c-ff")"
good_claims '"name":"XC0X"' | sed 's/XC0X/\xc0\xaf/' > "$T/c-overlong"
deny "overlong UTF-8" malformed_token "$(rs_raw @"$T/c-overlong")"
deny "a lone surrogate escape" malformed_token "$(rs_raw "$(good_claims '"name":"\ud800"')")"
deny "a NUL escape in the user name" malformed_token \
  "$(rs_raw "$(good_claims | sed 's/"preferred_username":"alice"/"preferred_username":"alice\\u0000x"/')")"
deny "garbage after the claims object" malformed_token "$(rs_raw "$(good_claims)x")"
deny "claims nested 40 deep" malformed_token \
  "$(rs_raw "$(good_claims "\"deep\":$(printf '[%.0s' $(seq 40))1$(printf ']%.0s' $(seq 40))")")"
deny "claims that are a string" malformed_token "$(rs_raw '"alice"')"
deny "header with trailing garbage" malformed_token \
  "$(rs_raw "$(good_claims)" --raw-header '{"alg":"RS256","kid":"rsa1"} x')"
deny "single-quoted names (json-c would take them)" malformed_token \
  "$(rs_raw "$(good_claims | sed "s/\"jti\"/'jti'/")")"

# --- base64url -----------------------------------------------------------------------------------
std=$(printf '%s' "$S" | tr -- '-_' '+/')
if [ "$std" != "$S" ]; then deny "signature in the standard base64 alphabet" malformed_token "$H.$P.$std"
else deny "signature in the standard base64 alphabet" malformed_token "$H.$P.+${S:1}"; fi
deny "padding on the payload" malformed_token "$H.$P==.$S"
deny "padding on the signature" malformed_token "$H.$P.$S=="
deny "non-canonical last character of the header" malformed_token \
  "$(printf '%s' "$H" | sed 's/Q$/R/; s/w$/x/; s/g$/h/; s/A$/B/').$P.$S"
deny "an asterisk in the payload" malformed_token "$H.${P:0:10}*${P:11}.$S"
deny "a space inside the payload" malformed_token "$H.${P:0:10} ${P:11}.$S"
deny "four parts" malformed_token "$H.$P.$S.$S"
deny "five parts (a JWE)" malformed_token "$H.$P.$P.$P.$S"
deny "empty payload" malformed_token "$H..$S"

# --- how it arrives ------------------------------------------------------------------------------
# a token cut short: the module asks "Token (continued): " and the person ends with an empty answer
deny "cut inside the header" malformed_token "${H:0:20}" ""
deny "cut after the header" malformed_token "$H." ""
deny "cut inside the payload" malformed_token "$H.${P:0:30}" ""
deny "cut after the payload" bad_signature "$H.$P." ""
check "cut after the payload: the person was asked to go on" out_has "PROMPT-OFF Token (continued): "
deny "cut inside the signature" bad_signature "$H.$P.${S:0:200}" ""
deny "only eyJ" malformed_token "eyJ" ""
deny "a newline inside" malformed_token "$H.${P:0:40}\\n${P:40}.$S"
deny "a tab inside" malformed_token "$H.$P.${S:0:100}\\t${S:100}"
deny "a NUL inside (the answer ends there)" bad_signature "$H.$P.${S:0:100}\\0${S:100}" ""
deny "a carriage return inside" malformed_token "$H.$P\\r.$S"
deny "an opaque token with a control character" malformed_token "opaque\\x01token0123456789"

# 3 MB in one answer: the module and helper cap a token at 16 KiB and say so, fast
big=$(head -c 2400000 /dev/urandom | b64u | head -c 3145728)
printf '%s.%s.%s\n' "$H" "$big" "$S" > "$T/answers-big"
t0=$(date +%s%N)
${ACRED_PAMTEST_WRAP:-} "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test --user alice \
  --answers "$T/answers-big" --ops auth > "$T/out" 2> "$T/pamtest.err"
ms=$(( ($(date +%s%N) - t0) / 1000000 )); rm -f "$T/answers-big"; PAM_LOGINS=$((PAM_LOGINS + 1))
check "3 MB token in one answer: denied" bash -c "grep -q '^auth PAM_AUTH_ERR' '$T/out'"
check "3 MB token: the person reads that it is longer than 16 KiB" out_has "ERROR Token is longer than 16 KiB"
check "3 MB token: audit reason=malformed_token" audit_has result=failure reason=malformed_token
check "3 MB token: refused within ${CRAFTED_FAST_MS:-2000} ms (${ms} ms)" test "$ms" -lt "${CRAFTED_FAST_MS:-2000}"

check "the table has at least 40 crafted tokens ($CASES)" test "$CASES" -ge 40
check "each of the $PAM_LOGINS authentications logged exactly one event=auth line" \
  test "$(grep -c 'pam_acred([^)]*:auth): event=auth ' "$T/syslog")" -eq "$PAM_LOGINS"
check "no token or secret in syslog, mock log or error output" acred_leak_check
done_testing
