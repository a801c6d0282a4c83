#!/bin/bash
# A misbehaving IdP (tests/mock/bad_idp): for discovery, the JWKS and obtainAccessCredential in
# turn, every way an IdP or what stands in front of it can fail (refused, silent, dripping, 5xx,
# 4xx, broken or huge answers, redirects, bad certificates). With fail_mode = closed each login
# is denied with the precise reason within timeout + 2 s; with fail_mode = open only an IdP that
# cannot be reached (refused, timeout, 5xx) makes the module step aside (result=ignored), and
# everything else still denies. A redirect is never followed.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
PAMTEST_OPTS="--ops auth"
TIMEOUT=2
BOUND_MS=$(( (TIMEOUT + 2) * 1000 ))
BAD=$top_builddir/tests/mock/bad_idp
MOCK=https://127.0.0.1:$MOCK_PORT
IPATH=/api/v2/iauths_system/oauth2
echo 503 > "$T/mode"

# bad NAME [bad_idp options]: start one, its port in $T/NAME.port
bad() {
  local name=$1; shift
  acred_bg "$BAD" --port-file "$T/$name.port" --log "$T/bad-$name.log" "$@"
  for _ in $(seq 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
  [ -s "$T/$name.port" ] || { echo "Bail out! bad_idp $name did not start"; exit 1; }
}
P=$T/pki
bad disc --cert "$P/server.pem" --key "$P/server.key" --mode-file "$T/mode" --redirect-to "$MOCK"
bad jwks --cert "$P/server.pem" --key "$P/server.key" --mode-file "$T/mode" --discovery-ok --redirect-to "$MOCK"
bad tcp --mode hang-tcp
for c in wronghost selfsigned expired; do
  bad "$c" --cert "$P/$c.pem" --key "$P/$c.key" --mode-file "$T/mode" --discovery-ok
done
port() { cat "$T/$1.port"; }
REFUSED=1 # nothing listens on 127.0.0.1:1
check "nothing listens on 127.0.0.1:$REFUSED" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$REFUSED) 2>/dev/null"

# conf ISSUER_BASE DEVELOPER_API FAIL_MODE: the configuration under test
conf() {
  sed -e "s#^issuer .*#issuer         = $1$IPATH#" -e "s#^developer_api .*#developer_api  = $2#" \
      -e "s#^timeout .*#timeout        = $TIMEOUT#" -e "s#^methods .*#methods        = token\nfail_mode      = $3#" \
      "$T/good.conf" > "$T/pam_acred.conf"
}
cp "$T/pam_acred.conf" "$T/good.conf"

# control: the good configuration through conf() works
conf "$MOCK" "$MOCK" closed
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "control: the real mock IdP logs alice in" out_has "auth PAM_SUCCESS"

CASES=0
# try ENDPOINT MODE FAIL_MODE REASON RESULT: one login of alice with ENDPOINT (disc, jwks,
# obtain) served by MODE; denied (or ignored) with REASON within the bound
try() {
  local ep=$1 mode=$2 fm=$3 reason=$4 result=$5 server issuer api t0 ms why=""
  case $mode in
    refused) server=127.0.0.1:$REFUSED ;; hang-tcp) server=127.0.0.1:$(port tcp) ;;
    wronghost|selfsigned|expired) server=127.0.0.1:$(port "$mode") ;;
    *) server=127.0.0.1:$(port "$([ "$ep" = disc ] && echo disc || echo jwks)")
       echo "$mode" > "$T/mode" ;;
  esac
  case $ep in
    disc|jwks) issuer=https://$server api=$MOCK ;;
    obtain) issuer=$MOCK api=https://$server ;;
  esac
  conf "$issuer" "$api" "$fm"
  # the token is the real mock's; a login never gets to its issuer check when the IdP fails
  local tok; tok=$(mint alice); remember_secret "$tok"
  rm -rf /run/pam_acred/* /var/cache/pam_acred/* 2>/dev/null # no cached credentials or keys
  local mock_before; mock_before=$(wc -l < "$T/mock.log")
  CASES=$((CASES + 1))
  t0=$(date +%s%N)
  pam_login alice "$tok" ""
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  grep -q '^auth PAM_SUCCESS' "$T/out" && why="$why authenticated;"
  grep -q '^auth PAM_' "$T/out" || why="$why no PAM result;"
  grep -q '^ENV \(ALIBABA\|ACRED\)' "$T/out" && why="$why exported;"
  [ "$ms" -le "$BOUND_MS" ] || why="$why took $ms ms (bound $BOUND_MS);"
  audit_has "result=$result" "reason=$reason" >/dev/null || why="$why audit: $(last_audit);"
  if [ "$result" = ignored ]; then
    grep -q '^auth PAM_IGNORE\|^auth PAM_PERM_DENIED\|^auth PAM_AUTH_ERR' "$T/out" || why="$why $(grep '^auth' "$T/out");"
  fi
  case $mode in redirect-*)
    local asked; asked=$(case $ep in disc) echo openid-configuration ;; jwks) echo /jwks ;; *) echo obtainAccessCredential ;; esac)
    tail -n +$((mock_before + 1)) "$T/mock.log" | grep -q "$asked" && why="$why the redirect was followed to the mock;" ;;
  esac
  if [ -z "$why" ]; then ok "$ep $mode, fail_mode=$fm: $result, reason=$reason in $ms ms"
  else not_ok "$ep $mode, fail_mode=$fm:$why"; sed 's/^/#   /' "$T/out"; fi
}

# the same misbehaviour, whichever endpoint shows it; RESULT under fail_mode = open
#      mode            reason            under open
TABLE="refused         idp_unavailable   ignored
       hang-tcp        timeout           ignored
       hang            timeout           ignored
       drip            timeout           ignored
       500             idp_unavailable   ignored
       502             idp_unavailable   ignored
       503             idp_unavailable   ignored
       500-html        idp_unavailable   ignored
       401             idp_denied        failure
       403             idp_denied        failure
       401-text        idp_denied        failure
       403-text        idp_denied        failure
       malformed       idp_bad_response  failure
       wrong-types     idp_bad_response  failure
       missing-fields  idp_bad_response  failure
       huge            idp_bad_response  failure
       huge-chunked    idp_bad_response  failure
       redirect-http   idp_bad_response  failure
       redirect-host   idp_bad_response  failure
       wronghost       tls_error         failure
       selfsigned      tls_error         failure
       expired         tls_error         failure"
for ep in disc jwks obtain; do
  while read -r mode reason open; do
    # the JWKS is named by the discovery document of the server that serves it: it cannot be
    # refused or silent at the TCP level while discovery worked, nor have another certificate
    [ "$ep" = jwks ] && case $mode in refused|hang-tcp|wronghost|selfsigned|expired) continue ;; esac
    try "$ep" "$mode" closed "$reason" failure
    try "$ep" "$mode" open "$reason" "$open"
  done <<< "$TABLE"
done

# what reached the misbehaving servers: the endpoint each part of the table meant
check "discovery cases asked bad_idp for the discovery document" \
  grep -q 'path=/api/v2/iauths_system/oauth2/.well-known/openid-configuration' "$T/bad-disc.log"
check "JWKS cases asked bad_idp for the JWKS after a good discovery" \
  grep -q 'path=/api/v2/iauths_system/oauth2/jwks' "$T/bad-jwks.log"
check "obtainAccessCredential cases sent it the bearer token" \
  grep -q 'path=/v2/idaas_test/cloudAccountRoles/_/actions/obtainAccessCredential bearer=yes' "$T/bad-jwks.log"
check "a silent TCP server was reached" grep -q 'mode=hang-tcp' "$T/bad-tcp.log"

# fail_mode = open steps aside only for an IdP it cannot reach: a token that fails still denies
conf "$MOCK" "$MOCK" open
for c in "bad_signature:--key $P/rsa2.pem" "bad_algorithm:--alg none" "unknown_key:--kid rsa9" \
         "user_mismatch:" "token_expired:"; do
  reason=${c%%:*}
  case $reason in user_mismatch) tok=$(mint bob) ;; token_expired) tok=$(mint alice '"exp":"-3600"') ;;
    *) tok=$(mint alice "" ${c#*:}) ;; esac
  remember_secret "$tok"; rm -rf /run/pam_acred/* 2>/dev/null
  pam_login alice "$tok" ""
  check "fail_mode open, the IdP reachable: $reason still denies" \
    bash -c "$(declare -f audit_has last_audit); T='$T'; audit_has result=failure reason=$reason && ! grep -q '^auth PAM_SUCCESS' '$T/out'"
done

# the IdP's own words reach the audit line
echo 401 > "$T/mode"; conf "$MOCK" "https://127.0.0.1:$(port jwks)" closed
tok=$(mint alice); remember_secret "$tok"; rm -rf /run/pam_acred/* 2>/dev/null
pam_login alice "$tok"
check "obtainAccessCredential 401: idp_code and request_id in the audit line" \
  audit_has reason=idp_denied idp_code=invalid_token request_id=BAD-IDP-0001
check "obtainAccessCredential 401: the person reads the IdP's error" out_has "ERROR IDaaS refused the credentials (HTTP 401, invalid_token"
echo redirect-host > "$T/mode"; rm -rf /run/pam_acred/* 2>/dev/null
pam_login alice "$tok"
check "obtainAccessCredential redirect: the person reads that it is never followed" \
  out_has_re "^ERROR IDaaS answered with a redirect (HTTP 30[0-9]), which this host never follows"
echo 503 > "$T/mode"; rm -rf /run/pam_acred/* 2>/dev/null
pam_login alice "$tok"
check "obtainAccessCredential 503: the person reads that IDaaS could not issue them" \
  out_has "ERROR IDaaS could not issue the credentials (HTTP 503"

check "the table had $CASES logins" test "$CASES" -ge 100
check "each of the $PAM_LOGINS authentications logged exactly one event=auth line" \
  test "$(grep -c 'pam_acred([^)]*:auth): event=auth ' "$T/syslog")" -eq "$PAM_LOGINS"
check "no token or secret in syslog, mock log or error output" acred_leak_check
check "no token in the bad IdPs' logs" bash -c "! grep -qF -f '$T/secrets' '$T'/bad-*.log"
done_testing
