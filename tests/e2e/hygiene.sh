#!/bin/bash
# The module and its helper: how pam_acred.so runs acred-helper (descriptors, signals, umask,
# environment), which helpers it refuses to run, the time bound it keeps whatever the helper
# does (hangs, dies, breaks the protocol), and the variable list it never leaves. Each helper
# here is tests/tools/fake-helper installed under the name of a behaviour as the module's
# helper=, in a directory the module accepts.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
FH=$T/fh
mkdir -p "$FH" && chmod 0755 "$FH"
MODES="success bound-sleep term-proof no-bound partial-hang exit crash die-mid-record garbage
  long-record bound-zero bad-result bad-keyword audit-unknown env-preload env-unlisted
  env-lowercase env-newline env-escape env-del env-noeq hygiene"
for m in $MODES; do install -m 0755 "$top_builddir/tests/tools/fake-helper" "$FH/$m"; done

# fake_login HELPER_PATH: one authentication of alice with that helper; transcript in $T/out,
# milliseconds in $MS
fake_login() {
  mkdir -p "$T/pam.d"
  echo "auth required $T/lib/pam_acred.so conf=$T/pam_acred.conf helper=$1" > "$T/pam.d/fake"
  local t0; t0=$(date +%s%N)
  SERVICE=fake PAMTEST_OPTS="--ops auth" pam_login alice ""
  MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
nothing_exported() { ! grep -q '^ENV ' "$T/out" || { sed 's/^/#   /' "$T/out"; return 1; }; }
gone() { ! pgrep -f "$FH/$1" >/dev/null; }
between() { [ "$MS" -ge "$1" ] && [ "$MS" -le "$2" ] || { echo "# took $MS ms"; return 1; }; }

# --- control: a helper that does it right is believed --------------------------------------------
fake_login "$FH/success"
check "a well-behaved helper: PAM_SUCCESS" out_has "auth PAM_SUCCESS"
check "a well-behaved helper: its variables are exported" out_has "ENV ACRED_ROLE=acs:ram::1234567890123456:role/fake"

# --- how the helper is run -------------------------------------------------------------------------
for wrap in "" "$top_builddir/tests/tools/hostile"; do
  if [ -n "$wrap" ]; then how="from a hostile host process"; else how="from a plain host process"; fi
  ACRED_PAMTEST_WRAP=$wrap fake_login "$FH/hygiene"
  check "$how: the helper has only descriptors 0, 1 and 2" out_has "INFO fds 0 1 2"
  check "$how: fd 0 and 1 are the socket, fd 2 is /dev/null" \
    bash -c "grep -qx 'INFO fd0 socket' '$T/out' && grep -qx 'INFO fd1 socket' '$T/out' && grep -qx 'INFO fd2 /dev/null' '$T/out'"
  check "$how: an empty signal mask" out_has "INFO sigblk 0000000000000000"
  check "$how: no ignored signal (default dispositions)" out_has "INFO sigign 0000000000000000"
  check "$how: umask 077" out_has "INFO umask 0077"
  check "$how: the environment is PATH alone" \
    bash -c "[ \"\$(grep '^INFO environ ' '$T/out')\" = 'INFO environ PATH=/usr/sbin:/usr/bin:/sbin:/bin' ]"
  check "$how: the helper's failure is the module's" audit_has result=failure reason=no_role
done
H=$top_builddir/tests/tools/hostile
check "the hostile host really has descriptors 7 and 9" bash -c "'$H' ls /proc/self/fd | grep -qx 7 && '$H' ls /proc/self/fd | grep -qx 9"
check "the hostile host really blocks and ignores signals" \
  bash -c "'$H' cat /proc/self/status | grep -q '^SigBlk:.*[1-9a-f]' && '$H' cat /proc/self/status | grep -q '^SigIgn:.*[1-9a-f]'"
check "the hostile host really has umask 0 and a canary variable" \
  bash -c "'$H' grep -q '^Umask:.0000' /proc/self/status && '$H' env | grep -q ^ACRED_CANARY="

# --- the bound: the module never waits longer, whatever the helper does ----------------------------
fake_login "$FH/bound-sleep"
check "helper says 'bound 2' and sleeps: denied with reason timeout" audit_has result=failure reason=timeout
check "helper says 'bound 2' and sleeps: PAM_AUTHINFO_UNAVAIL after 2 s ($MS ms)" \
  bash -c "grep -q '^auth PAM_AUTHINFO_UNAVAIL' '$T/out' && [ $MS -ge 1900 ] && [ $MS -le 3500 ]"
check "helper says 'bound 2' and sleeps: nothing exported" nothing_exported
check "helper says 'bound 2' and sleeps: it was killed and reaped" gone bound-sleep
fake_login "$FH/term-proof"
check "helper that ignores SIGTERM: still ended at its bound ($MS ms)" between 1900 3500
check "helper that ignores SIGTERM: reason timeout, and it is gone" \
  bash -c "$(declare -f audit_has last_audit gone); T='$T' FH='$FH'; audit_has result=failure reason=timeout && gone term-proof"
fake_login "$FH/partial-hang"
check "helper that stops inside a record: timeout at its bound ($MS ms)" between 1900 3500
check "helper that stops inside a record: reason timeout, nothing exported" \
  bash -c "$(declare -f audit_has last_audit nothing_exported); T='$T'; audit_has result=failure reason=timeout && nothing_exported"
fake_login "$FH/no-bound"
check "helper that never declares a bound: ended after ACRED_BOUND_START, 15 s ($MS ms)" between 14900 16500
check "helper that never declares a bound: reason timeout" audit_has result=failure reason=timeout

# --- a helper that dies or breaks the protocol: helper_error, at once, nothing exported ------------
for m in exit crash die-mid-record garbage long-record bound-zero bad-result bad-keyword audit-unknown; do
  fake_login "$FH/$m"
  why=""
  grep -q '^auth PAM_SERVICE_ERR' "$T/out" || why="$why not PAM_SERVICE_ERR;"
  audit_has result=failure reason=helper_error >/dev/null || why="$why audit: $(last_audit);"
  grep -q '^ENV ' "$T/out" && why="$why something exported;"
  [ "$MS" -le 3000 ] || why="$why took $MS ms;"
  gone "$m" || why="$why still running;"
  if [ -z "$why" ]; then ok "helper '$m': denied as helper_error in $MS ms, nothing exported"
  else not_ok "helper '$m':$why"; fi
done

# --- the variable list: one bad variable and nothing at all is exported ------------------------------
for m in env-preload env-unlisted env-lowercase env-newline env-escape env-del env-noeq; do
  fake_login "$FH/$m"
  why=""
  grep -q '^auth PAM_SUCCESS' "$T/out" && why="$why authenticated;"
  audit_has result=failure reason=helper_error >/dev/null || why="$why audit: $(last_audit);"
  grep -q '^ENV ' "$T/out" && why="$why exported: $(grep '^ENV ' "$T/out" | tr '\n' ' ');"
  if [ -z "$why" ]; then ok "helper sends '$m': nothing exported, audit helper_error"
  else not_ok "helper sends '$m':$why"; fi
done
check "LD_PRELOAD from the helper is named in syslog, never set" \
  bash -c "grep -q 'helper sent a variable outside the list: LD_PRELOAD' '$T/syslog' && ! grep -q '^ENV LD_PRELOAD' '$T/out'"
check "no control character from a helper reached syslog" bash -c "! grep -q $'\033' '$T/syslog'"

# --- helpers the module refuses to run ---------------------------------------------------------------
refused() { # refused DESCRIPTION PATH LOGTEXT
  fake_login "$2"
  check "$1: not run (helper_error, PAM_SERVICE_ERR)" \
    bash -c "grep -q '^auth PAM_SERVICE_ERR' '$T/out' && ! grep -q '^ENV ' '$T/out'"
  check "$1: audit reason=helper_error" audit_has result=failure reason=helper_error
  check "$1: syslog says why" grep -q -- "$3" "$T/syslog"
}
chmod g+w "$FH/success"
refused "a group-writable helper" "$FH/success" "must be owned by root and not writable by group or others"
chmod g-w,o+w "$FH/success"
refused "a world-writable helper" "$FH/success" "must be owned by root and not writable by group or others"
chmod o-w "$FH/success"
chown 2001 "$FH/success"
refused "a helper owned by another user" "$FH/success" "must be owned by root and not writable by group or others"
chown 0 "$FH/success"
for d in 0775:group-writable 0777:world-writable 1777:sticky-and-world-writable; do
  mkdir -p "$T/dir-${d#*:}/sub"
  install -m 0755 "$top_builddir/tests/tools/fake-helper" "$T/dir-${d#*:}/sub/success"
  chmod "${d%%:*}" "$T/dir-${d#*:}"
  refused "a helper under a ${d#*:} directory" "$T/dir-${d#*:}/sub/success" "directory $T/dir-${d#*:} must be owned by root"
done
mkdir -p "$T/links" && chmod 0777 "$T/links"
ln -s "$FH/success" "$T/links/helper"
fake_login "$T/links/helper"
check "a symlink in a writable directory: the module checks (and runs) what it points to" out_has "auth PAM_SUCCESS"
install -m 0644 "$top_builddir/tests/tools/fake-helper" "$FH/not-executable"
refused "a helper that is not executable" "$FH/not-executable" "not an executable regular file"
refused "a helper that does not exist" "$FH/nonexistent" "helper $FH/nonexistent: No such file or directory"
fake_login "$FH/success"
check "control: after all that, the good helper still works" out_has "auth PAM_SUCCESS"

check "each of the $PAM_LOGINS authentications logged exactly one event=auth line" \
  test "$(grep -c 'pam_acred([^)]*:auth): event=auth ' "$T/syslog")" -eq "$PAM_LOGINS"
check "no fake helper is left running" test -z "$(pgrep -f "$FH/")"
done_testing
