# harness.sh: a private world for real logins, with nothing under /etc or /dev changed outside.
#
# acred_enter_namespace "$0" "$@"  re-runs the calling script in a private mount namespace
# acred_setup                      then builds it: test users (alice, bob, carol) through
#                                  bind-mounted passwd/group/shadow, a /dev/log that a sink
#                                  writes to $T/syslog, the module and helper installed under
#                                  $T (root-owned, as the module demands), the mock IdP with its
#                                  own CA, and $T/pam_acred.conf pointing at it.
# Everything lives under T=/run/acred-test.XXXXXX and goes when the script exits.
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
  [ -n "${ACRED_MADE_SSHD_DIR:-}" ] && rmdir /run/sshd 2>/dev/null
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
  for f in passwd group shadow; do mount --bind "$T/etc/$f" "/etc/$f"; done
}

# install what the module needs where it accepts it: root-owned, nothing writable by others
acred_install() {
  mkdir -p "$T/lib" "$T/bin"
  install -m 0755 "$top_builddir/.libs/pam_acred.so" "$T/lib/pam_acred.so"
  install -m 0755 "$top_builddir/acred-helper" "$T/bin/acred-helper"
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

acred_setup() {
  trap acred_cleanup EXIT
  T=$(mktemp -d /run/acred-test.XXXXXX)
  chmod 0755 "$T"
  acred_private_dev
  acred_private_users
  acred_install
  acred_start_mock "$@"
  acred_write_conf
  MODARGS="conf=$T/pam_acred.conf helper=$T/bin/acred-helper"
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
    for f in "$T/syslog" "$T/mock.log" "$T"/sshd.log "$T"/*.err; do
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
    echo "auth     required $T/lib/pam_acred.so $MODARGS ${2:-}"
    echo "account  required $T/lib/pam_acred.so $MODARGS"
    echo "session  required $T/lib/pam_acred.so $MODARGS"
  } > "$T/pam.d/$1"
}

# pam_login USER ANSWER... : a PAM login through pamtest; transcript in $T/out
PAM_LOGINS=0
pam_login() {
  local user=$1; shift
  PAM_LOGINS=$((PAM_LOGINS + 1))
  printf '%s\n' "$@" > "$T/answers"
  "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service "${SERVICE:-acred-test}" \
    --user "$user" --rhost 192.0.2.7 --answers "$T/answers" --env ${PAMTEST_OPTS:-} \
    > "$T/out" 2> "$T/pamtest.err"
  rm -f "$T/answers"
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
  [ -d /run/sshd ] || { mkdir -m 0755 /run/sshd; ACRED_MADE_SSHD_DIR=1; }
  ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key"
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
  {
    echo "auth     required $T/lib/pam_acred.so $MODARGS"
    echo "account  required pam_unix.so"
    echo "account  required $T/lib/pam_acred.so $MODARGS"
    echo "session  required pam_unix.so"
    echo "session  required $T/lib/pam_acred.so $MODARGS"
  } > "$T/pam.sshd"
  mount --bind "$T/pam.sshd" /etc/pam.d/sshd
  /usr/sbin/sshd -t -f "$T/sshd_config" || return 1
  acred_bg /usr/sbin/sshd -D -e -f "$T/sshd_config" 2>> "$T/sshd.log"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ssh_login USER COMMAND PIECE...: a real ssh client, keyboard-interactive, answering each
# prompt with the next piece (an empty one when they run out); what it shows goes to $T/out
ssh_login() {
  local user=$1 cmd=$2; shift 2
  printf '%s\n' "$@" > "$T/answers"
  expect -f "$top_srcdir/tests/lib/ssh_login.exp" "$SSHD_PORT" "$user" "$T/answers" "$cmd" \
    > "$T/out" 2>> "$T/ssh.err"
  local rc=$?
  rm -f "$T/answers"
  tr -d '\r' < "$T/out" > "$T/out.clean" && mv "$T/out.clean" "$T/out"
  return $rc
}
out_has_re() { grep -q -- "$1" "$T/out" || { echo "# transcript lacks /$1/"; sed 's/^/#   /' "$T/out"; return 1; }; }
