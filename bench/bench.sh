#!/bin/bash
# bench.sh (`make bench`): what a pam_acred login costs, measured in one run against the mock IdP
# and the mock Alibaba Cloud gateway, in a private mount namespace (tests/lib/harness.sh). It
# prints a Markdown table (and writes it to $top_builddir/bench.md):
#
#   - the latency a login adds to the same PAM stack with pam_permit (auth, account, setcred,
#     open_session: what runs before the shell starts; the median of many logins, each through
#     tests/tools/pamtest): nothing cached; keys cached (discovery and JWKS) but new credentials;
#     everything cached (a second login of a user whose session is open); with and without
#     [edas] and [dsw];
#   - the same with the mocks adding BENCH_DELAY_MS (50) to each answer, next to the ideal: the
#     login's sequential round trips times that delay;
#   - the same job the way an operator would script it without pam_acred (bench/acred-shell.sh:
#     pam_exec, curl, jq), and how many times longer it takes;
#   - the helper's peak resident memory and CPU time (bench/acred-rusage in front of it);
#   - 100 logins at the same moment (users user001..user100).
#
# BENCH_REPS (41) and BENCH_DELAY_REPS (25) are the logins per row; tokens are ES256 (an
# RS256 token with these claims is over the 512 bytes pam_exec hands a script).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
export ACRED_EXTRA_USERS=${ACRED_EXTRA_USERS:-100}
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"

REPS=${BENCH_REPS:-41}
DREPS=${BENCH_DELAY_REPS:-25}
DELAY=${BENCH_DELAY_MS:-50}
CROWD=$ACRED_EXTRA_USERS
OPS=auth,account,setcred,open
OUT=$top_builddir/bench.md

acred_setup
MOCK_PID=$!
acred_start_acs
MY_PIDS=""

# ---- the services and configurations ---------------------------------------------------------
install -m 0755 "$top_builddir/bench/acred-rusage" "$T/bin/acred-rusage"
install -m 0755 "$top_srcdir/bench/acred-shell.sh" "$T/bin/acred-shell.sh"
printf '#!/bin/sh\nexec %s %s %s "$@"\n' "$T/bin/acred-rusage" "$T/rusage.log" \
  "$T/bin/acred-helper" > "$T/bin/acred-helper-rss"
chmod 0755 "$T/bin/acred-helper-rss"
mkdir -p "$T/pam.d" "$T/shell-env"

service() { # NAME CONF HELPER
  local a="$T/lib/pam_acred.so conf=$2 helper=$3"
  printf 'auth     required %s\naccount  required %s\nsession  required %s\n' "$a" "$a" "$a" \
    > "$T/pam.d/$1"
}
printf 'auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n' \
  > "$T/pam.d/permit"
{
  echo "auth     required pam_exec.so expose_authtok quiet $T/bin/acred-shell.sh $T/shell.conf"
  echo "auth     required pam_permit.so"
  echo "account  required pam_permit.so"
  echo "session  required pam_permit.so"
} > "$T/pam.d/shell"
acred_pam_service acred-test
service acred-cloud "$T/cloud.conf" "$T/bin/acred-helper"
service acred-rss "$T/pam_acred.conf" "$T/bin/acred-helper-rss"
service acred-rss-cloud "$T/cloud.conf" "$T/bin/acred-helper-rss"

# the configurations for the mocks of the moment (their ports change when they restart)
bench_conf() {
  acred_write_conf
  cat >> "$T/pam_acred.conf" <<CONF

[role crowd]
external_id    = acs:ram::1234567890123456:role/crowd
groups         = crowd
CONF
  { cat "$T/pam_acred.conf"; cat <<CONF

[edas]
namespace_id   = cn-hangzhou:bench
endpoint       = $ACS_ENDPOINT

[dsw]
instance_id    = dsw-bench
endpoint       = $ACS_ENDPOINT
type           = Access
CONF
  } > "$T/cloud.conf"
  chmod 0644 "$T/cloud.conf"
  cat > "$T/shell.conf" <<CONF
API=https://127.0.0.1:$MOCK_PORT
INSTANCE=idaas_test
ISSUER=$ISSUER
CLIENT_ID=app_test
SCOPE='urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential'
CA=$T/pki/ca.pem
DURATION=3600
ENV_DIR=$T/shell-env
ROLES='alice acs:ram::1234567890123456:role/dev
$(for i in $(seq "$CROWD"); do printf 'user%03d acs:ram::1234567890123456:role/crowd\n' "$i"; done)'
CONF
}

# a fresh ES256 token for each user, for the issuer of the moment
declare -A TOK
mint_all() {
  local u
  for u in alice $(seq -f 'user%03g' "$CROWD"); do
    TOK[$u]=$(mint "$u" "" --alg ES256 --key "$T/pki/ec.pem" --kid ec1)
  done
}

# restart the mocks with DELAY ms before each answer
mocks_with_delay() {
  kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null
  acred_start_mock --delay-ms "$1"
  MOCK_PID=$!
  acred_start_acs --delay-ms "$1"
  bench_conf
  mint_all
  forget_all
}

# ---- one login, and rows of them ------------------------------------------------------------
# the crowd's (uid 3001...) cached credentials; alice's (2001) stay while her session is held
forget_credentials() { rm -rf /run/pam_acred/3???.* /run/pam_acred-user/3??? 2>/dev/null; }
forget_all() { forget_credentials; rm -f /var/cache/pam_acred/* 2>/dev/null; }

# login SERVICE USER: one login (auth, account, setcred, open); LOGIN_US its wall time in µs;
# fails unless both auth and open succeeded
login() {
  printf '%s\n' "${TOK[$2]}" > "$T/answers"
  local s=$EPOCHREALTIME
  "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service "$1" --user "$2" \
    --answers "$T/answers" --ops "$OPS" > "$T/out" 2>&1
  local e=$EPOCHREALTIME
  LOGIN_US=$(( ${e/./} - ${s/./} ))
  grep -q '^auth PAM_SUCCESS' "$T/out" && grep -q '^open PAM_SUCCESS' "$T/out"
}

# must SERVICE USER: a login outside the rows, which must succeed
must() { login "$1" "$2" || { FAILS=$((FAILS + 1)); echo "# login of $2 ($1) failed:" >&2; sed 's/^/#   /' "$T/out" >&2; }; }
# (hold_session reads hold.out: an old one from the last hold would end its wait at once)
hold() { rm -f "$T/hold.out"; hold_session alice || { FAILS=$((FAILS + 1)); echo "# alice's held session failed:" >&2; sed 's/^/#   /' "$T/hold.out" >&2; }; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

# one KEY SERVICE USER: one timed login, its wall time added to TIMES[KEY]
declare -A TIMES MED
FAILS=0
one() {
  if login "$2" "$3"; then TIMES[$1]+=" $LOGIN_US"; else
    FAILS=$((FAILS + 1)); echo "# $1: the login of $3 failed:" >&2; sed 's/^/#   /' "$T/out" >&2
  fi
}

# the rows of one phase (the mocks as they are): suffix for the keys, logins per row. The rows
# take turns, one login each per round, so that what else the machine does at a moment weighs
# on every row alike; the median of each row goes to MED
phase() {
  local p=$1 n=$2 i u k
  forget_all
  must acred-test user001 # warm up the page cache
  hold                    # alice stays logged in: her credentials stay cached
  for i in $(seq "$n"); do
    u=$(printf 'user%03d' "$i")
    one "permit$p" permit alice
    forget_all; one "cold$p" acred-test "$u"
    forget_credentials; one "warm$p" acred-test "$u"
    forget_credentials; one "warmcloud$p" acred-cloud "$u"
    one "shell$p" shell "$u"
    one "hit$p" acred-test alice
    one "hitcloud$p" acred-cloud alice
  done
  kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
  for k in permit cold warm warmcloud shell hit hitcloud; do
    MED[$k$p]=$(printf '%s\n' ${TIMES[$k$p]} | median)
  done
}

# crowd SUFFIX: CROWD logins at the same moment, caches empty; CROWD_* the outcome
crowd() {
  local u i before
  forget_all
  before=$(wc -l < "$T/mock.log")
  mkdir -p "$T/crowd" && rm -f "$T/crowd"/*
  for i in $(seq "$CROWD"); do
    u=$(printf 'user%03d' "$i")
    printf '%s\n' "${TOK[$u]}" > "$T/crowd/$u.answers"
  done
  local s=$EPOCHREALTIME
  for i in $(seq "$CROWD"); do
    u=$(printf 'user%03d' "$i")
    (
      a=$EPOCHREALTIME
      "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test --user "$u" \
        --answers "$T/crowd/$u.answers" --ops "$OPS" > "$T/crowd/$u.out" 2>&1
      b=$EPOCHREALTIME
      echo $(( ${b/./} - ${a/./} )) > "$T/crowd/$u.us"
    ) &
  done
  wait_crowd
  local e=$EPOCHREALTIME
  CROWD_WALL_US=$(( ${e/./} - ${s/./} ))
  CROWD_OK=$(grep -l '^open PAM_SUCCESS' "$T"/crowd/*.out | wc -l)
  CROWD_MED=$(cat "$T"/crowd/*.us | median)
  CROWD_MAX=$(cat "$T"/crowd/*.us | sort -n | tail -n 1)
  tail -n "+$((before + 1))" "$T/mock.log" > "$T/crowd.log"
  CROWD_JWKS=$(jq -r 'select(.path | endswith("/jwks")) | .path' "$T/crowd.log" | wc -l)
  CROWD_DISC=$(jq -r 'select(.path | endswith("/openid-configuration")) | .path' "$T/crowd.log" | wc -l)
  CROWD_CONNS=$(jq -r '.conn' "$T/crowd.log" | sort -u | wc -l)
  if [ "$CROWD_DISC" -gt 1 ] || [ "$CROWD_JWKS" -gt 1 ]; then # keep what the IdP saw, to see why
    cp "$T/crowd.log" "$top_builddir/bench-crowd$1.log"
    echo "# the IdP was asked more than once: its log is in $top_builddir/bench-crowd$1.log" >&2
  fi
}
# wait for the crowd's subshells only (the mocks and the log sink are children too)
wait_crowd() {
  local i
  for i in $(seq 600); do
    [ "$(ls "$T"/crowd/*.us 2>/dev/null | wc -l)" -ge "$CROWD" ] && return 0
    sleep 0.1
  done
}

# ---- the runs --------------------------------------------------------------------------------
bench_conf
mint_all
echo "# no delay: $REPS logins per row" >&2
phase "" "$REPS"
echo "# $CROWD at once" >&2
crowd ""
C0=("$CROWD_OK" "$CROWD_WALL_US" "$CROWD_MED" "$CROWD_MAX" "$CROWD_DISC" "$CROWD_JWKS" "$CROWD_CONNS")

# the helper's peak memory and CPU time: nothing cached (three requests, TLS), new credentials
# with EDAS and DSW (the most it holds), everything cached
echo "# memory" >&2
: > "$T/rusage.log"
for i in 1 2 3; do forget_all; must acred-rss "user00$i"; done
cp "$T/rusage.log" "$T/rusage.cold"; : > "$T/rusage.log"
for i in 4 5 6; do forget_credentials; must acred-rss-cloud "user00$i"; done
cp "$T/rusage.log" "$T/rusage.cloud"; : > "$T/rusage.log"
forget_credentials
hold
for i in 1 2 3; do must acred-rss alice; done
cp "$T/rusage.log" "$T/rusage.hit"
kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
# each login runs the helper twice (auth, then session-open); the first of each pair is auth
auth_lines() { awk 'NR % 2 == 1' "$1"; }
RSS_MAX=$(cat "$T"/rusage.cold "$T"/rusage.cloud "$T"/rusage.hit | awk '$1 > m { m = $1 } END { print m }')
cpu() { auth_lines "$1" | awk '{ print $2 + $3 }' | median; }
CPU_COLD=$(cpu "$T/rusage.cold") CPU_CLOUD=$(cpu "$T/rusage.cloud") CPU_HIT=$(cpu "$T/rusage.hit")
CPU_OPEN=$(awk 'NR % 2 == 0 { print $2 + $3 }' "$T/rusage.hit" | median)

echo "# +$DELAY ms per answer: $DREPS logins per row" >&2
mocks_with_delay "$DELAY"
phase "_d" "$DREPS"
echo "# $CROWD at once, +$DELAY ms per answer" >&2
crowd _d
C1=("$CROWD_OK" "$CROWD_WALL_US" "$CROWD_MED" "$CROWD_MAX" "$CROWD_DISC" "$CROWD_JWKS" "$CROWD_CONNS")

# ---- the table -------------------------------------------------------------------------------
added() { awk -v a="${MED[$1]}" -v b="${MED[$2]}" 'BEGIN { printf "%.1f", (a - b) / 1000 }'; }
verdict() { # ADDED_MS LIMIT_MS
  awk -v a="$1" -v l="$2" 'BEGIN { if (a <= l) printf "yes (≤ %.0f)", l; else printf "**no** (> %.0f)", l }'
}
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Added latency: the median wall time of a login (auth, account, setcred, open_session through"
  echo "pamtest) less that of the same stack with pam_permit ($(ms "${MED[permit]}") ms, $(ms "${MED[permit_d]}") ms); $REPS and $DREPS logins per row."
  echo
  echo "| login | round trips | added, mock answers at once | added, mock +$DELAY ms per answer | ideal (round trips × $DELAY ms) | within 10 % + 20 ms of ideal |"
  echo "| --- | --- | --- | --- | --- | --- |"
  r() { # LABEL KEY ROUND_TRIPS
    local a0 a1 ideal=$(( $3 * DELAY ))
    a0=$(added "$2" permit) a1=$(added "$2_d" permit_d)
    local v="$(verdict "$a1" "$(awk -v i="$ideal" 'BEGIN { print i * 1.1 + 20 }')")"
    [ "${4:-}" = baseline ] && v="(the baseline)"
    echo "| $1 | $3 | $a0 ms | $a1 ms | $ideal ms | $v |"
  }
  r "pam_acred, nothing cached (discovery, JWKS, obtainAccessCredential)" cold 3
  r "pam_acred, keys cached, new credentials (obtainAccessCredential)" warm 1
  r "pam_acred, keys cached, new credentials, with EDAS and DSW" warmcloud 2
  r "pam_acred, keys and credentials cached (no network)" hit 0
  r "pam_acred, keys and credentials cached, with EDAS and DSW" hitcloud 1
  r "shell script: pam_exec + curl + jq (bench/acred-shell.sh)" shell 1 baseline
  echo
  w0=$(added warm permit) w1=$(added warm_d permit_d) s0=$(added shell permit) s1=$(added shell_d permit_d)
  echo "- The shell-script way adds $(awk -v s="$s0" -v w="$w0" 'BEGIN { printf "%.1f", s / w }')× the latency of pam_acred doing the same job (keys cached, new credentials) when the mock answers at once, and $(awk -v s="$s1" -v w="$w1" 'BEGIN { printf "%.1f", s / w }')× with +$DELAY ms per answer, where the round trip both must wait for is most of it: above that floor, $(awk -v s="$s1" -v w="$w1" -v d="$DELAY" 'BEGIN { printf "%.1f ms against %.1f ms, %.1f×", s - d, w - d, (s - d) / (w - d) }'). And it checks no signature."
  echo "- A login with everything cached adds $(added hit permit) ms and makes no network call; target ≤ 15 ms: $(verdict "$(added hit permit)" 15)."
  echo "- The helper's peak resident memory: $((RSS_MAX / 1024)).$(( (RSS_MAX % 1024) * 10 / 1024 )) MiB (the largest of nine logins; target < 16 MiB: $( [ "$RSS_MAX" -lt 16384 ] && echo yes || echo '**no**'))."
  echo "  Its CPU time (user + system) for the authentication: $CPU_COLD ms with nothing cached, $CPU_CLOUD ms with new credentials and EDAS and DSW, $CPU_HIT ms with everything cached; $CPU_OPEN ms to open a session."
  c() { # LABEL OK WALL MED MAX DISC JWKS CONNS
    echo "- $1: $2 of $CROWD succeeded in $(ms "$3") ms in all (each login: median $(ms "$4") ms, slowest $(ms "$5") ms); the IdP served discovery $6× and the JWKS $7×, over $8 TLS connections."
  }
  c "$CROWD logins at the same moment, caches empty, mock answers at once" "${C0[@]}"
  c "$CROWD logins at the same moment, caches empty, mock +$DELAY ms per answer" "${C1[@]}"
  [ "$FAILS" -eq 0 ] || echo "- **$FAILS logins failed** (see above)."
} | tee "$OUT"
[ "$FAILS" -eq 0 ]
