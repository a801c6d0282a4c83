#!/bin/bash
# check-valgrind.sh SRCDIR BUILDDIR UNIT_TESTS E2E_TESTS: `make check-valgrind`. Memcheck
# (--leak-check=full, definite leaks are errors) over
#   - each unit test binary;
#   - each of E2E_TESTS with pamtest (and so the module it loads) and acred-helper (through
#     ACRED_HELPER_WRAP: the module runs a root-owned script that runs the helper under
#     valgrind) both under memcheck, every process in its own log.
# A suite passes when its tests pass and every log of it says "ERROR SUMMARY: 0 errors".
# Results: BUILDDIR/valgrind.out/NAME.trs (one test point per suite, as automake writes them),
# NAME.log (its output) and the memcheck logs.
set -uo pipefail
src=$1 build=$2 units=$3 e2e=$4
out=$build/valgrind.out
rm -rf "$out" && mkdir -p "$out"
vg="$(command -v valgrind) --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=1 --num-callers=30"
failed=0
result() { # NAME PASS|FAIL TEXT
  echo ":test-result: $2" > "$out/$1.trs"
  if [ "$2" = PASS ]; then echo "ok - $1: $3"; else echo "not ok - $1: $3"; failed=1; fi
}
# vg_clean GLOB: every memcheck log matching it reports 0 errors (and there is at least one)
vg_clean() {
  local f n=0 bad=0
  for f in $1; do
    [ -f "$f" ] || continue
    # a process that forked and then exec'd (pamtest starting the helper) leaves a log without
    # a summary: memcheck follows no exec; it may hold no error either
    grep -q 'ERROR SUMMARY: 0 errors' "$f" && n=$((n + 1))
    if grep -q -E 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|definitely lost in|Syscall param|Mismatched free' "$f"; then
      bad=$((bad + 1))
      sed -n '/ERROR SUMMARY/p;/definitely lost/p;/Invalid/,+6p;/uninitialised/,+6p' "$f" | head -n 20 | sed 's/^/#   /'
    fi
  done
  VG_LOGS=$n
  [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}
for u in $units; do
  name=$(basename "$u")
  CMOCKA_MESSAGE_OUTPUT=TAP $vg --log-file="$out/$name.vg" "$build/$u" > "$out/$name.log" 2>&1
  rc=$?
  pass=$(grep -c '^ok ' "$out/$name.log")
  if [ "$rc" -eq 0 ] && ! grep -q '^not ok' "$out/$name.log" && vg_clean "$out/$name.vg"; then
    result "$name" PASS "$pass tests under memcheck, 0 errors, no definite leak"
  else
    result "$name" FAIL "exit $rc; see $out/$name.log and $name.vg"
  fi
done
for e in $e2e; do
  name=$(basename "${e%.sh}")
  ACRED_HELPER_WRAP="$vg --log-file=$out/$name-helper.%p.vg" \
  ACRED_PAMTEST_WRAP="$vg --log-file=$out/$name-pamtest.%p.vg" \
  CRAFTED_BOUND_MS=60000 CRAFTED_FAST_MS=60000 \
    top_srcdir=$src top_builddir=$build bash "$src/$e" > "$out/$name.log" 2>&1
  rc=$?
  pass=$(grep -c '^ok ' "$out/$name.log")
  if [ "$rc" -eq 0 ] && ! grep -q '^not ok' "$out/$name.log"; then
    result "$name" PASS "$pass tests with pamtest, the module and the helper under memcheck"
  else
    grep '^not ok' "$out/$name.log" | head -n 10 | sed 's/^/#   /'
    result "$name" FAIL "exit $rc; see $out/$name.log"
  fi
  if vg_clean "$out/$name-helper.*.vg"; then
    result "$name-helper-memcheck" PASS "$VG_LOGS runs of acred-helper: 0 errors, no definite leak"
  else
    result "$name-helper-memcheck" FAIL "acred-helper: memcheck errors (or no log: $VG_LOGS)"
  fi
  if vg_clean "$out/$name-pamtest.*.vg"; then
    result "$name-module-memcheck" PASS "$VG_LOGS runs of pamtest with pam_acred.so: 0 errors, no definite leak"
  else
    result "$name-module-memcheck" FAIL "pamtest and the module: memcheck errors (or no log: $VG_LOGS)"
  fi
done
exit "$failed"
