# harness.sh: a private world for real logins, with nothing under /etc or /dev changed outside.
#
# acred_enter_namespace "$0" "$@"  re-runs the calling script in a private mount namespace
# acred_setup                      then builds it: test users (alice, bob, carol) through
#                                  bind-mounted passwd/group/shadow, a /dev/log that a sink
#                                  writes to $T/syslog, the module and helper installed under
#                                  $T (root-owned, as the module demands; with ACRED_INSTALLED=1
#                                  the ones installed on this machine instead), the mock IdP with its
#                                  own CA, and $T/pam_acred.conf pointing at it.
# Everything lives under T=/var/lib/acred-test.XXXXXX and goes when the script exits.
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/tap.sh"

acred_enter_namespace() {
  [ -n "${ACRED_IN_NS:-}" ] && return 0
  [ "$(id -u)" -eq 0 ] || skip_all "real logins need root (for a private mount namespace)"
  command -v unshare >/dev/null || skip_all "unshare is missing"
  ACRED_IN_NS=1 exec unshare -m --propagation private "$@"
}

acred_cleanup() {
  set +e
  for p in $ACRED_PIDS; do kill "$p" 2>/dev/null; done
  for p in $ACRED_PIDS; do wait "$p" 2>/dev/null; done
  [ -n "${T:-}" ] && [ -d "$T" ] && { umount -R /dev 2>/dev/null; umount -R "$T/olddev" 2>/dev/null; rm -rf "$T"; }
  return 0
}

ACRED_PIDS=""
acred_bg() { "$@" & ACRED_PIDS="$ACRED_PIDS $!"; }

# a tmpfs /dev for this namespace only, with the usual nodes and a /dev/log of our own
acred_private_dev() {
  mkdir -p "$T/olddev"
  mount --rbind /dev "$T/olddev"
  mount -t tmpfs -o mode=755,size=1m tmpfs /dev
  for n in null zero full random urandom tty; do
    touch "/dev/$n"; mount --bind "$T/olddev/$n" "/dev/$n"
  done
  mkdir /dev/pts /dev/shm
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
  ln -s pts/ptmx /dev/ptmx
  mount --rbind "$T/olddev/shm" /dev/shm
  ln -s /proc/self/fd /dev/fd
  for i in 0 1 2; do ln -s "/proc/self/fd/$i" "/dev/$( echo stdin stdout stderr | cut -d' ' -f$((i + 1)) )"; done
  : > "$T/syslog"
  acred_bg "$top_builddir/tests/tools/logsink" /dev/log "$T/syslog"
  for _ in $(seq 100); do [ -S /dev/log ] && break; sleep 0.05; done
}

# syslog_sync: wait until the sink has written everything sent to /dev/log so far (a marker
# through the same datagram socket comes out after all of it), so no test reads too early
syslog_sync() {
  local mark="acred-sync-$$-$RANDOM$RANDOM"
  logger -d -u /dev/log -t acred-sync "$mark" 2>/dev/null || return 0
  for _ in $(seq 400); do grep -q "$mark" "$T/syslog" && return 0; sleep 0.025; done
  return 0
}

# users that exist only in this namespace
acred_private_users() {
  mkdir -p "$T/etc" "$T/home"
  cp /etc/passwd /etc/group /etc/shadow "$T/etc/"
  local uid=2001
  for u in alice bob carol; do
    mkdir -p "$T/home/$u"
    echo "$u:x:$uid:$uid:pam_acred test user:$T/home/$u:/bin/sh" >> "$T/etc/passwd"
    echo "$u:x:$uid:" >> "$T/etc/group"
    echo "$u:*:19000:0:99999:7:::" >> "$T/etc/shadow"
    chown "$uid:$uid" "$T/home/$u"
    uid=$((uid + 1))
  done
  echo "developers:x:2100:carol" >> "$T/etc/group"
  # ACRED_EXTRA_USERS=N: N more users, user001..userN (uid 3001...), whose primary group is
  # "crowd" (gid 2200): a crowd logging in at once (tests/e2e/concurrency.sh, make bench)
  if [ "${ACRED_EXTRA_USERS:-0}" -gt 0 ]; then
    echo "crowd:x:2200:" >> "$T/etc/group"
    local i
    for i in $(seq "$ACRED_EXTRA_USERS"); do
      u=$(printf 'user%03d' "$i")
      echo "$u:x:$((3000 + i)):2200:pam_acred test user:$T/home/$u:/bin/sh" >> "$T/etc/passwd"
      echo "$u:*:19000:0:99999:7:::" >> "$T/etc/shadow"
    done
  fi
  for f in passwd group shadow; do mount --bind "$T/etc/$f" "/etc/$f"; done
}

# install what the module needs where it accepts it: root-owned, nothing writable by others
acred_install() {
  # ACRED_INSTALLED=1: use the module and helper installed on this machine (the Debian package
  # test): "pam_acred.so" as libpam finds it, the compiled-in helper and /etc/security/pam_acred.conf
  if [ -n "${ACRED_INSTALLED:-}" ]; then ACRED_MODULE=pam_acred.so; return 0; fi
  ACRED_MODULE=$T/lib/pam_acred.so
  mkdir -p "$T/lib" "$T/bin"
  install -m 0755 "$top_builddir/.libs/pam_acred.so" "$T/lib/pam_acred.so"
  install -m 0755 "$top_builddir/acred-helper" "$T/bin/acred-helper"
  # make check-valgrind / check-asan: ACRED_HELPER_WRAP runs the helper under a tool (the module
  # gives it a clean environment, so the tool's options travel in this root-owned script), and
  # ACRED_PAMTEST_WRAP does the same for pamtest in pam_login
  if [ -n "${ACRED_HELPER_WRAP:-}" ]; then
    mv "$T/bin/acred-helper" "$T/bin/acred-helper.real"
    printf '#!/bin/sh\nexec %s %s "$@"\n' "$ACRED_HELPER_WRAP" "$T/bin/acred-helper.real" \
      > "$T/bin/acred-helper"
    chmod 0755 "$T/bin/acred-helper"
  fi
  chmod 0755 "$T" "$T/lib" "$T/bin"
}

acred_start_mock() {
  mkdir -p "$T/pki"
  bash "$top_srcdir/tests/mock/mkcerts.sh" "$T/pki" >/dev/null
  : > "$T/opaque"
  acred_bg "$top_builddir/tests/mock/mock_idp" --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
    --rsa-key "$T/pki/rsa.pem" --ec-key "$T/pki/ec.pem" --port 0 --port-file "$T/mock.port" \
    --log "$T/mock.log" --issued "$T/issued" --opaque "$T/opaque" "$@"
  for _ in $(seq 200); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
  MOCK_PORT=$(cat "$T/mock.port")
  ISSUER="https://127.0.0.1:$MOCK_PORT/api/v2/iauths_system/oauth2"
}

# the mock Alibaba Cloud API gateway for EDAS and PAI-DSW (after acred_start_mock: same CA): it
# checks V3 signatures against the STS credentials mock_idp issued ($T/issued), logs to
# $T/acs.log, records its tokens in $T/acs.issued; ACS_ENDPOINT is its URL. Started again, it
# replaces the one before; extra arguments are mock_acs options (--delay-ms, --clock-skew).
acred_start_acs() {
  [ -n "${ACS_PID:-}" ] && { kill "$ACS_PID" 2>/dev/null; wait "$ACS_PID" 2>/dev/null; }
  rm -f "$T/acs.port"
  : >> "$T/issued"
  acred_bg "$top_builddir/tests/mock/mock_acs" --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
    --port 0 --port-file "$T/acs.port" --log "$T/acs.log" --issued "$T/acs.issued" \
    --sts "$T/issued" "$@"
  ACS_PID=$!
  for _ in $(seq 200); do [ -s "$T/acs.port" ] && break; sleep 0.05; done
  ACS_PORT=$(cat "$T/acs.port")
  ACS_ENDPOINT="https://127.0.0.1:$ACS_PORT"
}

# the configuration the tests start from; more sections may be appended
acred_write_conf() {
  cat > "$T/pam_acred.conf" <<CONF
[idaas]
instance_id    = idaas_test
developer_api  = https://127.0.0.1:$MOCK_PORT
issuer         = $ISSUER
client_id      = app_test
ca_file        = $T/pki/ca.pem
timeout        = 5

[login]
methods        = token

[role dev]
external_id    = acs:ram::1234567890123456:role/dev
users          = alice

[role ops]
external_id    = acs:ram::1234567890123456:role/ops
groups         = developers

[session]
region_id      = cn-hangzhou
CONF
  chmod 0644 "$T/pam_acred.conf"
}

# the module's run-time directories, private to this namespace: a tmpfs /run and /var/cache
# of its own, so that nothing is created outside (and parallel tests cannot meet there)
acred_private_run() {
  mount -t tmpfs -o mode=0755,size=64m tmpfs /run
  mkdir -m 0755 /run/sshd /run/lock /run/pam_acred-user
  mkdir -m 0700 /run/pam_acred
  mount -t tmpfs -o mode=0755,size=64m tmpfs /var/cache
  mkdir -m 0700 /var/cache/pam_acred
}

acred_setup() {
  trap acred_cleanup EXIT
  # under /var/lib: root's, nothing above it writable by others (the module checks), and not
  # hidden by the private /run
  T=$(mktemp -d /var/lib/acred-test.XXXXXX)
  chmod 0755 "$T"
  acred_private_run
  acred_private_dev
  acred_private_users
  acred_install
  acred_start_mock "$@"
  acred_write_conf
  MODARGS="conf=$T/pam_acred.conf helper=$T/bin/acred-helper"
  if [ -n "${ACRED_INSTALLED:-}" ]; then
    MODARGS=""
    mount --bind "$T/pam_acred.conf" /etc/security/pam_acred.conf
  fi
}

# mint USER [EXTRA_CLAIMS_JSON_MEMBERS] [acred-mint options...]: a valid RS256 token for USER
mint() {
  local user=$1 extra=${2:-}; shift 2 2>/dev/null || shift $#
  "$top_builddir/tests/tools/acred-mint" --key "$T/pki/rsa.pem" --kid rsa1 --claims \
    "{\"iss\":\"$ISSUER\",\"aud\":\"app_test\",\"sub\":\"u_$user\",\"jti\":\"j$RANDOM$RANDOM\",\"preferred_username\":\"$user\",\"scope\":\"openid urn:cloud:idaas:pam|cloud_account_role:obtain_access_credential\",\"iat\":\"-10\",\"exp\":\"+600\"${extra:+,$extra}}" "$@"
}

# long_token USER N: a valid token made long by a claim of N random characters (a real token's
# pieces never repeat, and the module refuses a piece identical to the one before)
long_token() { mint "$1" "\"pad\":\"$(openssl rand -hex $(( $2 / 2 )))\""; }

# the last STS credentials the mock issued, field by name (access_key_id, ...)
mock_issued() {
  tail -n 1 "$T/issued" | jq -r ".$1"
}

# every token and secret a test used must be absent from every log we can read
acred_leak_check() {
  local f secrets="$T/secrets" leaked=0
  [ -s "$secrets" ] || return 0
  while IFS= read -r s; do
    [ ${#s} -ge 12 ] || continue
    for f in "$T/syslog" "$T/mock.log" "$T/acs.log" "$T"/sshd.log "$T"/*.err; do
      [ -f "$f" ] || continue
      if grep -qF -- "$s" "$f"; then echo "# leaked into $f: ${s:0:12}..."; leaked=1; fi
    done
  done < "$secrets"
  return $leaked
}
remember_secret() { printf '%s\n' "$@" >> "$T/secrets"; }

# the PAM service file SERVICE in $T/pam.d with our module (extra lines may follow on stdin)
acred_pam_service() {
  mkdir -p "$T/pam.d"
  {
    echo "auth     required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS ${2:-}"
    echo "account  required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS"
    echo "session  required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS"
  } > "$T/pam.d/$1"
}

# pam_login USER ANSWER... : a PAM login through pamtest; transcript in $T/out
PAM_LOGINS=0
pam_login() {
  local user=$1; shift
  PAM_LOGINS=$((PAM_LOGINS + 1))
  printf '%s\n' "$@" > "$T/answers"
  ${ACRED_PAMTEST_WRAP:-} "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service "${SERVICE:-acred-test}" \
    --user "$user" --rhost 192.0.2.7 --answers "$T/answers" --env ${PAMTEST_OPTS:-} \
    > "$T/out" 2> "$T/pamtest.err"
  local rc=$?
  rm -f "$T/answers"
  syslog_sync
  return $rc
}

# the last audit line of EVENT (auth by default), without the syslog prefix
last_audit() {
  grep "event=${1:-auth} " "$T/syslog" | tail -n 1 | sed 's/^.*pam_acred([^)]*): //'
}

# audit_has FIELD...: the last auth line holds each key=value exactly
audit_has() {
  local line f
  line=" $(last_audit) "
  for f in "$@"; do
    case "$line" in *" $f "*) ;; *) echo "# audit line lacks $f: $line"; return 1 ;; esac
  done
}

# out_has TEXT: the transcript holds a line with TEXT
out_has() { grep -qF -- "$1" "$T/out" || { echo "# transcript lacks: $1"; sed 's/^/#   /' "$T/out"; return 1; }; }

# split TOKEN into pieces of N characters, one per line
pieces() { printf '%s' "$1" | fold -w "${2:-500}"; echo; }

# a second sshd on 127.0.0.1 whose PAM service "sshd" is ours (bind-mounted in this namespace)
acred_start_sshd() {
  [ -d /run/sshd ] || mkdir -m 0755 /run/sshd
  [ -f "$T/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key"
  {
    echo "auth     required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS"
    echo "account  required pam_unix.so"
    echo "account  required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS"
    echo "session  required pam_unix.so"
    echo "session  required ${ACRED_MODULE:-$T/lib/pam_acred.so} $MODARGS"
  } > "$T/pam.sshd"
  mount --bind "$T/pam.sshd" /etc/pam.d/sshd
  local attempt
  for attempt in 1 2 3 4 5; do
    # a random port; other tests (or other people's) may hold it: sshd then cannot bind, writes
    # no pid file, and we try another
    SSHD_PORT=$(( 20000 + RANDOM % 20000 ))
    cat > "$T/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/ssh_host_ed25519_key
PidFile $T/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
LoginGraceTime 60
LogLevel VERBOSE
PrintMotd no
AcceptEnv LANG
CONF
    /usr/sbin/sshd -t -f "$T/sshd_config" || return 1
    rm -f "$T/sshd.pid"
    /usr/sbin/sshd -D -e -f "$T/sshd_config" 2>> "$T/sshd.log" &
    local pid=$!
    for _ in $(seq 100); do
      [ -s "$T/sshd.pid" ] && [ "$(cat "$T/sshd.pid")" = "$pid" ] && { ACRED_PIDS="$ACRED_PIDS $pid"; return 0; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  done
  return 1
}

# answer_on_tty COMMAND... : run COMMAND on a terminal, answering pam_acred's prompts with the
# lines of $T/answers (see answer.exp); what it shows goes to $T/out
answer_on_tty() {
  expect -f "$top_srcdir/tests/lib/answer.exp" "$T/answers" "$@" > "$T/out" 2>> "$T/expect.err"
  local rc=$?
  rm -f "$T/answers"
  tr -d '\r' < "$T/out" > "$T/out.clean" && mv "$T/out.clean" "$T/out"
  syslog_sync
  return $rc
}

# ssh_login USER COMMAND PIECE...: a real ssh client, keyboard-interactive, answering each
# prompt with the next piece (an empty one when they run out); what it shows goes to $T/out
ssh_login() {
  local user=$1 cmd=$2; shift 2
  printf '%s\n' "$@" > "$T/answers"
  answer_on_tty ssh -p "$SSHD_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 \
    "$user@127.0.0.1" "$cmd"
}
out_has_re() { grep -q -- "$1" "$T/out" || { echo "# transcript lacks /$1/"; sed 's/^/#   /' "$T/out"; return 1; }; }

# the mock's device-flow controls (RFC 8628): each prints the mock's JSON answer and fails
# unless it is 200 (404: no such user code)
mock_device_ctl() {
  curl -sS --fail-with-body --cacert "$T/pki/ca.pem" --get "$@"
}
mock_device_approve() { # CODE USER
  mock_device_ctl --data-urlencode "user_code=$1" --data-urlencode "user=$2" \
    "https://127.0.0.1:$MOCK_PORT/test/device/approve"
}
mock_device_deny() { mock_device_ctl --data-urlencode "user_code=$1" "https://127.0.0.1:$MOCK_PORT/test/device/deny"; }
mock_device_expire() { mock_device_ctl --data-urlencode "user_code=$1" "https://127.0.0.1:$MOCK_PORT/test/device/expire"; }
# the newest authorization: {"user_code","polls","state","interval","slow_downs"[,"user"]}
mock_device_last() { mock_device_ctl "https://127.0.0.1:$MOCK_PORT/test/device/last"; }

# hold_session USER: USER logs in (pamtest, a fresh token) and stays logged in, in the background,
# until the test ends or kill "$HOLD_PID"
hold_session() {
  printf '%s\n' "$(mint "$1")" > "$T/hold.answers"
  "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test --user "$1" \
    --answers "$T/hold.answers" --ops auth,account,setcred,open --hold 300 > "$T/hold.out" 2>&1 &
  HOLD_PID=$!
  ACRED_PIDS="$ACRED_PIDS $HOLD_PID"
  for _ in $(seq 100); do grep -q '^open ' "$T/hold.out" && break; sleep 0.1; done
  rm -f "$T/hold.answers"
  grep -q '^open PAM_SUCCESS' "$T/hold.out"
}

# sudo and su with pam_acred, through /etc/sudoers and the PAM services sudo, sudo-i (sudo -i),
# su and su-l (su -) that exist only in this namespace; sudo keeps its timestamps under $T
acred_private_sudo_su() {
  mkdir -m 0700 "$T/sudo-ts"
  cat > "$T/sudoers" <<CONF
Defaults env_reset, !lecture, passwd_tries=1, timestampdir=$T/sudo-ts, timestamp_type=global, !use_pty
alice ALL=(ALL:ALL) ALL
carol ALL=(ALL:ALL) ALL
CONF
  chmod 0440 "$T/sudoers"
  mount --bind "$T/sudoers" /etc/sudoers
  local svc
  for svc in sudo sudo-i su su-l; do
    {
      echo "auth     required $T/lib/pam_acred.so $MODARGS"
      echo "account  required pam_unix.so"
      echo "account  required $T/lib/pam_acred.so $MODARGS"
      echo "session  required pam_unix.so"
      echo "session  required $T/lib/pam_acred.so $MODARGS"
    } > "$T/pam.$svc"
    mount --bind "$T/pam.$svc" "/etc/pam.d/$svc"
  done
}

# as USER COMMAND...: run COMMAND as USER (real and effective ids, groups), nothing else
as() {
  local user=$1; shift
  setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups -- "$@"
}

# sudo_as USER ANSWER... -- SUDO_ARGS...: sudo -S as USER, its stdin the answers; the command's
# output in $T/out, what sudo showed (prompts, messages) in $T/sudo.err
sudo_as() {
  local user=$1; shift
  local answers=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do answers+=("$1"); shift; done
  shift
  printf '%s\n' "${answers[@]}" | as "$user" sudo -S "$@" > "$T/out" 2> "$T/sudo.err"
  local rc=$?
  syslog_sync
  return $rc
}

# audit transcripts: mark_log, run a scenario, then transcript_is LINE... — the pam_acred and
# acred-helper lines syslog got since the mark are exactly these, in order ({X} stands for one
# field value, a line nobody expected fails); the syslog prefix up to the program is dropped
mark_log() { LOG_MARK=$(wc -l < "$T/syslog"); }
new_lines() {
  tail -n +$((LOG_MARK + 1)) "$T/syslog" | grep -E 'pam_acred\(|acred-helper' |
    sed -E 's/^<[0-9]+>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ //'
}
transcript_is() {
  local got i=0 t re
  # sshd closes a session just after its client has gone: give late lines time (10 s at most)
  for _ in $(seq 200); do [ "$(new_lines | wc -l)" -ge $# ] && break; sleep 0.05; done
  mapfile -t got < <(new_lines)
  if [ ${#got[@]} -eq $# ]; then
    for t in "$@"; do
      re=$(printf '%s' "$t" | sed -E -e 's/[]\/$*.^|[(){}+?]/\\&/g' -e 's/\\\{[A-Z_]+\\\}/[^ ]+/g')
      [[ ${got[$i]} =~ ^${re}$ ]] || break
      i=$((i + 1))
    done
    [ $i -eq $# ] && return 0
  fi
  echo "# expected:"; printf '#   %s\n' "$@"
  echo "# got:"; printf '#   %s\n' "${got[@]}"
  return 1
}
