#!/bin/bash
# Nine in the morning: 100 people log in to the bastion at the same moment (user001..user100,
# pamtest in the background). Every login succeeds, in bounded time; the IdP serves the discovery
# document and the JWKS once for all of them (one login fetches, the others wait for it and read
# the cache); each login uses one TLS 1.3 connection for its requests; and the caches never
# tear: every cache file parses afterwards, no temporary file is left behind, and even while the
# JWKS entry keeps disappearing under the logins (as it does when it expires) none of them fails
# or fetches more than once per disappearance.
set -u
export ACRED_EXTRA_USERS=100
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
N=100
cat >> "$T/pam_acred.conf" <<CONF

[role crowd]
external_id    = acs:ram::1234567890123456:role/crowd
groups         = crowd
CONF
acred_pam_service acred-test
CACHE=/var/cache/pam_acred
quiet() { "$@" > /dev/null; }
STEM=$(printf '%s' "$ISSUER" | sha256sum | cut -c1-32)
mkdir -p "$T/crowd"

# wave FIRST LAST: users FIRST..LAST log in at once (fresh tokens; auth, account, setcred, open,
# close); WAVE_SECONDS how long the whole wave took; the mock's log lines of the wave in
# $T/wave.log
wave() {
  local i u before
  before=$(wc -l < "$T/mock.log")
  rm -f "$T"/crowd/*
  for i in $(seq "$1" "$2"); do
    u=$(printf 'user%03d' "$i")
    mint "$u" > "$T/crowd/$u.answers"
  done
  cat "$T"/crowd/*.answers >> "$T/secrets"
  local start=$EPOCHREALTIME pids=()
  for i in $(seq "$1" "$2"); do
    u=$(printf 'user%03d' "$i")
    "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test --user "$u" \
      --answers "$T/crowd/$u.answers" --env > "$T/crowd/$u.out" 2> "$T/crowd/$u.err" &
    pids+=("$!")
  done
  wait "${pids[@]}"
  local end=$EPOCHREALTIME
  WAVE_SECONDS=$(( (${end/./} - ${start/./}) / 1000000 ))
  tail -n "+$((before + 1))" "$T/mock.log" > "$T/wave.log"
  cat "$T"/crowd/*.err >> "$T/crowd.err"
}
succeeded() { grep -l '^close PAM_SUCCESS' "$T"/crowd/*.out 2>/dev/null | xargs -r grep -l '^auth PAM_SUCCESS' | wc -l; }
requests() { jq -r --arg s "$1" 'select(.path | endswith($s)) | .status' "$T/wave.log" | wc -l; }
all_succeeded() {
  local n; n=$(succeeded)
  [ "$n" -eq "$1" ] && return 0
  echo "# only $n of $1 logins succeeded; the first failure:"
  for f in "$T"/crowd/*.out; do grep -q '^auth PAM_SUCCESS' "$f" || { sed 's/^/#   /' "$f"; break; }; done
  return 1
}
# every cache file is root's 0600, parses, and is this issuer's; nothing temporary is left
caches_whole() {
  local f ok=0
  [ "$(stat -c '%u %a' "$CACHE")" = "0 700" ] || { echo "# $CACHE is $(stat -c '%u %a' "$CACHE")"; ok=1; }
  for f in "$CACHE/$STEM.discovery.json" "$CACHE/$STEM.jwks.json"; do
    [ -f "$f" ] && [ "$(stat -c '%u %a' "$f")" = "0 600" ] &&
      jq -e --arg iss "$ISSUER" '.issuer == $iss and (.document | type) == "object"' "$f" >/dev/null ||
      { echo "# $f is missing, not root's 0600, or does not parse"; ok=1; }
  done
  if ls -A "$CACHE" | grep -q '^\.'; then echo "# temporary files left: $(ls -A "$CACHE" | grep '^\.')"; ok=1; fi
  return $ok
}

# --- 100 at once, nothing cached ---------------------------------------------------------------
wave 1 "$N"
check "$N logins at once, nothing cached: every one succeeds" all_succeeded "$N"
check "$N logins at once: one audit line of success for each" \
  test "$(grep 'event=auth ' "$T/syslog" | grep ' result=success ' | grep -o ' user=user[0-9]*' | sort -u | wc -l)" -eq "$N"
diag "the wave took $WAVE_SECONDS s"
check "$N logins at once end within 60 s" test "$WAVE_SECONDS" -lt 60
check "the IdP served the discovery document once" test "$(requests /openid-configuration)" -eq 1
check "the IdP served the JWKS once" test "$(requests /jwks)" -eq 1
check "obtainAccessCredential was called once per login, each with success" \
  test "$(jq -r 'select(.path | endswith("/obtainAccessCredential")) | select(.status == 200) | .sub' "$T/wave.log" | sort -u | wc -l)" -eq "$N"
check "each login used one TLS connection for all its requests ($N connections)" \
  test "$(jq -r '.conn' "$T/wave.log" | sort -u | wc -l)" -eq "$N"
check "every connection spoke TLS 1.3" \
  test "$(jq -r '.tls' "$T/wave.log" | sort -u)" = "TLSv1.3"
check "the one login that fetched used one connection for discovery, JWKS and obtainAccessCredential" \
  quiet jq -se '(map(select(.path | test("openid-configuration|/jwks$"))) | map(.conn) | unique) as $c |
    ($c | length) == 1 and ([.[] | select(.conn == $c[0])] | length) == 3' "$T/wave.log"
check "the caches are whole: root's 0600 files that parse, nothing temporary left" caches_whole

# --- 100 at once, keys cached --------------------------------------------------------------------
wave 1 "$N"
check "$N logins at once, keys cached: every one succeeds" all_succeeded "$N"
check "keys cached: the IdP was not asked for discovery or the JWKS" \
  test "$(requests /openid-configuration)" -eq 0 -a "$(requests /jwks)" -eq 0
diag "the wave took $WAVE_SECONDS s"
check "keys cached: $N logins at once end within 60 s" test "$WAVE_SECONDS" -lt 60

# --- 50 at once while the JWKS entry keeps disappearing -----------------------------------------
(
  n=0
  while [ ! -e "$T/churn.stop" ]; do
    rm "$CACHE/$STEM.jwks.json" 2>/dev/null && n=$((n + 1))
    sleep 0.02
  done
  echo "$n" > "$T/churn.count"
) &
churn=$!
wave 1 50
touch "$T/churn.stop"; wait "$churn"
removed=$(cat "$T/churn.count") fetched=$(requests /jwks)
diag "the JWKS entry disappeared $removed times during the wave; the IdP served the JWKS $fetched times"
check "50 logins while the JWKS entry keeps disappearing: every one succeeds" all_succeeded 50
check "... every JWKS fetch succeeded, at most one per disappearance" \
  bash -c "[ $fetched -ge 1 ] && [ $fetched -le $((removed + 1)) ] && ! jq -e 'select(.path | endswith(\"/jwks\")) | select(.status != 200)' '$T/wave.log' | grep -q ."
login() { printf '%s\n' "$(mint user001)" > "$T/crowd/one"; "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test --user user001 --answers "$T/crowd/one" > "$T/out" 2>&1; }
login
check "... and afterwards the caches are whole again" caches_whole

check "no token or secret in syslog, mock log or error output" acred_leak_check
check "nothing on the helpers' or pamtest's error output" test ! -s "$T/crowd.err"
done_testing
