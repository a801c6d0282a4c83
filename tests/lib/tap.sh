# tap.sh: Test Anything Protocol for the shell tests (automake's tap-driver counts each line).
TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $*"; }
# check DESCRIPTION COMMAND...: one test point from a command's status
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
diag() { printf '# %s\n' "$@"; }
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }
# bail out of a whole file: under CI (which runs as root) that is a failure, never a skip
skip_all() {
  if [ "${CI:-}" = true ]; then echo "Bail out! $* (CI must run this test)"; exit 1; fi
  echo "1..0 # SKIP $*"; echo "SKIPPED: $*" >&2; exit 0
}
