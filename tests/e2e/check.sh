#!/bin/bash
# acred-helper check, as an operator runs it before the first login: against the mock IdP, each
# finding in plain words with its exit status: a good configuration (0), a syntax error with its
# line, a group-writable file, an unsafe helper directory, a missing or empty ca_file, a closed
# issuer port, an issuer mismatch, a discovery 404, a JWKS without a usable key (a static HTTPS
# server, openssl s_server -WWW), clock skew both ways (the mock's --date-offset), users and
# groups that do not exist, roles that can never match, EDAS and DSW endpoints, and usage.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
cd "$T"
GOOD_PORT=$MOCK_PORT GOOD_ISSUER=$ISSUER
CONF=$T/pam_acred.conf

# run_check [ARGS...]: acred-helper check as root, the installed helper; output in $T/out
run_check() {
  timeout 60 "$T/bin/acred-helper" check "$@" > "$T/out" 2> "$T/check.err"
  RC=$?
  cat "$T/check.err" >> "$T/out"
}
has() { grep -qF -- "$1" "$T/out" || { echo "# output lacks: $1"; sed 's/^/#   /' "$T/out"; return 1; }; }
has_re() { grep -qE -- "$1" "$T/out" || { echo "# output lacks /$1/"; sed 's/^/#   /' "$T/out"; return 1; }; }
lacks() { ! grep -qE -- "$1" "$T/out" || { echo "# output has /$1/"; sed 's/^/#   /' "$T/out"; return 1; }; }
rc_is() { [ "$RC" -eq "$1" ] || { echo "# exit status $RC, not $1"; sed 's/^/#   /' "$T/out"; return 1; }; }
# conf_with TEXT...: the harness's configuration with TEXT appended (sections and keys)
conf_with() { acred_write_conf; printf '%s\n' "$@" >> "$CONF"; }
# conf_sed SCRIPT: the harness's configuration, edited
conf_sed() { acred_write_conf; sed -i "$1" "$CONF"; }
# a port on 127.0.0.1 where nothing listens
closed_port() {
  local p
  for _ in $(seq 50); do
    p=$(( 30000 + RANDOM % 20000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# --- a good configuration: every finding ok, exit 0 ------------------------------------------
run_check --conf "$CONF"
check "good configuration: exit 0" rc_is 0
check "good configuration: says a login could work" has "a login could work: 0 failed"
check "good configuration: every line is ok, warn or FAIL, then the summary" \
  bash -c "grep -vE '^(ok   |warn |FAIL )' '$T/out' | grep -vq '^a login could work' && exit 1; exit 0"
check "good configuration: the file, owner and mode" has "ok   configuration $CONF: a regular file, owner uid 0, mode 0644"
check "good configuration: the helper and its directories" has "ok   helper $T/bin/acred-helper: owned by root"
check "good configuration: the syntax, 2 roles" has "ok   syntax: every line of $CONF reads, 2 role sections"
check "good configuration: the CA bundle holds a certificate" has "ok   CA bundle ca_file = $T/pki/ca.pem: 1 certificate"
check "good configuration: the issuer answers" has_re "^ok   issuer 127\.0\.0\.1:$MOCK_PORT answers \(HTTP 200 in [0-9]+ ms\)"
check "good configuration: discovery names the configured issuer" has "ok   discovery: the IdP's issuer is issuer = $ISSUER"
check "good configuration: the JWKS has the RSA and the EC key" has_re "^ok   JWKS at .*/jwks: 2 usable keys \(rsa1 RS256 [0-9]+-bit, ec1 ES256\)"
check "good configuration: the clock agrees" has_re "^ok   clock: this host and the IdP agree within [0-9] s \(leeway = 60 s\)"
check "good configuration: the developer API answers" has "ok   developer API https://127.0.0.1:$MOCK_PORT answers"
check "good configuration: role dev for alice" has "ok   [role dev] acs:ram::1234567890123456:role/dev: for users alice"
check "good configuration: role ops for the group developers" has "ok   [role ops] acs:ram::1234567890123456:role/ops: for groups developers"
check "good configuration: no FAIL and no warn" lacks "^(FAIL|warn)"
run_check --conf="$CONF"
check "--conf=PATH works like --conf PATH" rc_is 0

# --- the file ----------------------------------------------------------------------------------
conf_sed '/^region_id/a\
bogus_key      = 1'
line=$(grep -n '^bogus_key' "$CONF" | cut -d: -f1)
run_check --conf "$CONF"
check "syntax error: exit 1" rc_is 1
check "syntax error: named with its line number ($line)" has "FAIL $CONF:$line: unknown key 'bogus_key' in [session]"
check "syntax error: says a login cannot work" has "a login cannot work: 1 failed"

conf_sed 's/^timeout .*/timeout = 0/'
line=$(grep -n '^timeout' "$CONF" | cut -d: -f1)
run_check --conf "$CONF"
check "bad value: its line and the range" has_re "^FAIL $CONF:$line: .*0.* for timeout.*from 1 to 300"

acred_write_conf; chmod 0664 "$CONF"
run_check --conf "$CONF"
check "group-writable configuration: exit 1" rc_is 1
check "group-writable configuration: said with its mode" has "FAIL configuration $CONF is writable by group or others (owner uid 0, mode 0664)"
check "group-writable configuration: the rest is still checked" has "ok   discovery: the IdP's issuer is issuer = $ISSUER"
chmod 0644 "$CONF"

ln -s "$CONF" "$T/link.conf"
run_check --conf "$T/link.conf"
check "a symlink as configuration: FAIL" has "FAIL configuration $T/link.conf is a symlink"

run_check --conf "$T/nothing-here.conf"
check "a missing configuration: exit 1 and why" bash -c "[ $RC -eq 1 ] && grep -q 'FAIL configuration $T/nothing-here.conf cannot be read: No such file or directory' '$T/out'"

# --- the helper itself ---------------------------------------------------------------------------
mkdir -m 0777 "$T/openbin"; install -m 0755 "$T/bin/acred-helper" "$T/openbin/acred-helper"
timeout 60 "$T/openbin/acred-helper" check --conf "$CONF" > "$T/out" 2>&1; RC=$?
check "helper in a world-writable directory: exit 1" rc_is 1
check "helper in a world-writable directory: said" has "FAIL helper $T/openbin/acred-helper: its directory $T/openbin is writable by group or others"

# --- ca_file ----------------------------------------------------------------------------------------
conf_sed "s#^ca_file .*#ca_file = $T/pki/missing-ca.pem#"
run_check --conf "$CONF"
check "missing ca_file: exit 1" rc_is 1
check "missing ca_file: said" has "FAIL CA bundle ca_file = $T/pki/missing-ca.pem cannot be read: No such file or directory"
check "missing ca_file: the TLS failure it causes is said too" has_re "^FAIL issuer .*TLS certificate"
conf_sed "s#^ca_file .*#ca_file = $T/pki/rsa.pem#"
run_check --conf "$CONF"
check "ca_file without a certificate: said" has "FAIL CA bundle ca_file = $T/pki/rsa.pem holds no PEM certificate"

# --- the issuer --------------------------------------------------------------------------------------
port=$(closed_port)
conf_sed "s#^issuer .*#issuer = https://127.0.0.1:$port/oauth2#"
start=$SECONDS
run_check --conf "$CONF"
check "issuer on a closed port: exit 1" rc_is 1
check "issuer on a closed port: cannot be reached" has "FAIL issuer https://127.0.0.1:$port/oauth2: 127.0.0.1:$port cannot be reached"
check "issuer on a closed port: no discovery or JWKS claimed" lacks "^ok   (discovery|JWKS)"
check "issuer on a closed port: answered within the timeout" test $((SECONDS - start)) -lt 20

conf_sed "s#^issuer .*#issuer = https://localhost:$MOCK_PORT/api/v2/iauths_system/oauth2#"
run_check --conf "$CONF"
check "issuer mismatch: exit 1" rc_is 1
check "issuer mismatch: both names are shown" has "FAIL discovery: the IdP calls itself '$GOOD_ISSUER', but issuer = https://localhost:$MOCK_PORT/api/v2/iauths_system/oauth2"

conf_sed "s#^issuer .*#issuer = https://127.0.0.1:$MOCK_PORT/no/such/path#"
run_check --conf "$CONF"
check "issuer path without discovery: HTTP 404 said" has "FAIL discovery: https://127.0.0.1:$MOCK_PORT/no/such/path/.well-known/openid-configuration answered HTTP 404"

# --- a JWKS with no usable key: a static HTTPS server -------------------------------------------------
mkdir -p "$T/www/idp/.well-known"
(cd "$T/www" && exec openssl s_server -WWW -accept 127.0.0.1:0 -cert "$T/pki/server.pem" \
   -key "$T/pki/server.key" > "$T/s_server.out" 2>&1) &
ACRED_PIDS="$ACRED_PIDS $!"
for _ in $(seq 100); do grep -q '^ACCEPT' "$T/s_server.out" 2>/dev/null && break; sleep 0.05; done
sport=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/s_server.out")
if [ -n "$sport" ]; then
  echo "{\"issuer\":\"https://127.0.0.1:$sport/idp\",\"jwks_uri\":\"https://127.0.0.1:$sport/idp/jwks\"}" \
    > "$T/www/idp/.well-known/openid-configuration"
  echo '{"keys":[{"kty":"oct","kid":"hmac1","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"},{"kty":"RSA","kid":"enc1","use":"enc","n":"AQAB","e":"AQAB"}]}' > "$T/www/idp/jwks"
  chmod -R a+rX "$T/www"
  conf_sed "s#^issuer .*#issuer = https://127.0.0.1:$sport/idp#"
  run_check --conf "$CONF"
  check "JWKS without a usable key: exit 1" rc_is 1
  check "JWKS without a usable key: the discovery itself is fine" has "ok   discovery: the IdP's issuer is issuer = https://127.0.0.1:$sport/idp"
  check "JWKS without a usable key: said, with the keys it has" \
    has "FAIL JWKS at https://127.0.0.1:$sport/idp/jwks has no usable key: no RS256 (RSA) or ES256 (EC P-256) signing key, so no token can be verified (it has: hmac1 kty oct, enc1 kty RSA)"
  check "a server without a Date header: the skew cannot be measured (a warning)" has "warn clock: the IdP sent no Date header"
  check "a server without userinfo: opaque tokens cannot be checked (a warning)" has "warn the IdP has no https userinfo_endpoint"
else
  not_ok "openssl s_server serves a static JWKS"; sed 's/^/# /' "$T/s_server.out"
fi

# --- roles ----------------------------------------------------------------------------------------------
conf_with "[role ghost]" "external_id = acs:ram::1234567890123456:role/ghost" "users = alice nosuchuser" \
  "[role phantom]" "external_id = acs:ram::1234567890123456:role/phantom" "groups = nosuchgroup"
run_check --conf "$CONF"
check "a user that does not exist: exit 0 (other roles work)" rc_is 0
check "a user that does not exist: a warning naming it" has "warn [role ghost] users: 'nosuchuser' is no local user"
check "a group that does not exist: a warning naming it" has "warn [role phantom] groups: 'nosuchgroup' is no local group"
check "a role whose groups all do not exist can never match" has "warn [role phantom] can never match: none of its groups exists here"
check "a role with one existing user still matches" has "ok   [role ghost] acs:ram::1234567890123456:role/ghost: for users alice nosuchuser"

conf_sed '/^\[role dev\]/,$d'
printf '%s\n' "[role only]" "external_id = acs:ram::1234567890123456:role/only" "users = nosuchuser" >> "$CONF"
run_check --conf "$CONF"
check "no role can match anyone: exit 1" rc_is 1
check "no role can match anyone: said" has "FAIL no role can match anyone here (their users or groups do not exist) and default_role is unset"

conf_sed '/^\[role dev\]/,$d'
printf '%s\n' "[role plain]" "external_id = acs:ram::1234567890123456:role/plain" >> "$CONF"
run_check --conf "$CONF"
check "default_role unset while no role has a matcher: exit 1" rc_is 1
check "default_role unset while no role has a matcher: said" has "FAIL default_role is unset and no role has a matcher"
check "a role without matchers that is not default_role: never used" has "warn [role plain] has no matcher (users, groups, claim) and is not default_role: it is never used"
sed -i 's/^\[login\]/[login]\ndefault_role = plain/' "$CONF"
run_check --conf "$CONF"
check "the same with default_role = plain: exit 0" rc_is 0
check "default_role is said" has "ok   default_role = plain: whoever no other role matches gets acs:ram::1234567890123456:role/plain"

conf_sed 's/^users .*= alice$/users = root/'
run_check --conf "$CONF"
check "a role user below min_uid: a warning" has "warn [role dev] users: 'root' has uid 0, below min_uid = 1000, and is not in allow_users"

# --- EDAS and DSW -------------------------------------------------------------------------------------------
port=$(closed_port)
conf_with "[edas]" "namespace_id = cn-shenzhen:prod" "endpoint = https://127.0.0.1:$MOCK_PORT" \
  "[dsw]" "instance_id = dsw-test" "endpoint = https://127.0.0.1:$port"
run_check --conf "$CONF"
check "EDAS endpoint that answers: ok" has "ok   EDAS endpoint https://127.0.0.1:$MOCK_PORT answers"
check "DSW endpoint on a closed port, required = no: a warning" has "warn DSW endpoint https://127.0.0.1:$port: 127.0.0.1:$port cannot be reached"
check "DSW endpoint down, required = no: exit 0" rc_is 0
echo "required = yes" >> "$CONF"
run_check --conf "$CONF"
check "DSW endpoint down, required = yes: FAIL and exit 1" \
  bash -c "[ $RC -eq 1 ] && grep -q '^FAIL DSW endpoint https://127.0.0.1:$port: .*required = yes' '$T/out'"

# --- clock skew: the mock's Date header off by +-600 s (leeway 60) ---------------------------------------------
for off in 600 -600; do
  rm -f "$T/mock.port"
  acred_start_mock --date-offset "$off"
  acred_write_conf
  run_check --conf "$CONF"
  if [ "$off" -gt 0 ]; then
    check "IdP clock 600 s ahead: FAIL (fresh tokens not yet valid)" has_re "^FAIL clock: this host is (599|600|601) s behind the IdP, more than leeway = 60 s"
    check "IdP clock 600 s ahead: exit 1" rc_is 1
  else
    check "IdP clock 600 s behind: a warning (tokens expire early)" has_re "^warn clock: this host is (599|600|601) s ahead of the IdP, more than leeway = 60 s"
    check "IdP clock 600 s behind: exit 0" rc_is 0
  fi
done

# --- usage ------------------------------------------------------------------------------------------------------
run_check --help
check "check --help: exit 0 and the usage" bash -c "[ $RC -eq 0 ] && grep -q '^Usage: acred-helper check \[--conf PATH\]' '$T/out'"
"$T/bin/acred-helper" --help > "$T/out" 2>&1; RC=$?
check "acred-helper --help: exit 0, names check" bash -c "[ $RC -eq 0 ] && grep -q 'check \[--conf PATH\]' '$T/out'"
"$T/bin/acred-helper" --version > "$T/out" 2>&1; RC=$?
check "acred-helper --version: exit 0 and the version" bash -c "[ $RC -eq 0 ] && grep -qE '^acred-helper \(pam_acred\) [0-9]+\.[0-9]+' '$T/out'"
run_check --bogus
check "check --bogus: exit 2" rc_is 2
check "check --bogus: says what is wrong on stderr" bash -c "grep -q \"unexpected '--bogus'\" '$T/check.err'"
run_check --conf
check "check --conf without PATH: exit 2" rc_is 2
run_check --conf "$CONF" --conf "$CONF"
check "check --conf twice: exit 2" rc_is 2
"$T/bin/acred-helper" frobnicate > "$T/out" 2>&1; RC=$?
check "an unknown command: exit 2" rc_is 2
"$T/bin/acred-helper" > "$T/out" 2>&1; RC=$?
check "no command: exit 2" rc_is 2
done_testing
