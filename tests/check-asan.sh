#!/bin/bash
# check-asan.sh SRCDIR ASANDIR TESTS: `make check-asan`. Configure and build the whole project
# in ASANDIR with AddressSanitizer and UndefinedBehaviorSanitizer (UB aborts), then run TESTS
# there (the unit tests and the PAM-level end-to-end tests: pamtest, built with the same flags,
# loads the instrumented module, and the instrumented helper runs under it through
# ACRED_HELPER_WRAP, which hands it the sanitizer options the module's clean environment drops).
# Every report of either sanitizer, from any process, lands in ASANDIR/reports and fails the
# run, as does any failed test. Results: the .trs files under ASANDIR/tests, one more for the
# reports (ASANDIR/tests/sanitizer-reports.trs).
set -uo pipefail
src=$1 dir=$2 tests=$3
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
mkdir -p "$dir" && cd "$dir" || exit 1
find tests -name '*.trs' -delete 2>/dev/null # no stale result may count
if [ ! -f Makefile ] || [ "$src/configure" -nt Makefile ]; then
  "$src/configure" -q --enable-werror CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    > configure.log 2>&1 || { tail -n 30 configure.log; exit 1; }
fi
make -j"$(nproc)" > build.log 2>&1 || { grep -E 'error|warning' build.log | head -n 30; exit 1; }
reports=$dir/reports
rm -rf "$reports" && mkdir -p "$reports"
asan="log_path=$reports/asan:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1"
ubsan="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
export ASAN_OPTIONS=$asan UBSAN_OPTIONS=$ubsan
export ACRED_HELPER_WRAP="/usr/bin/env ASAN_OPTIONS=$asan UBSAN_OPTIONS=$ubsan"
make -j"$(nproc)" check TESTS="$tests" > check.log 2>&1
rc=$?
grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS|# )' check.log | sed 's/^/  /'
mkdir -p tests
if [ -n "$(ls -A "$reports")" ]; then
  echo ':test-result: FAIL' > tests/sanitizer-reports.trs
  echo "sanitizer reports:"; head -n 40 "$reports"/* | sed 's/^/  /'
  rc=1
else
  echo ':test-result: PASS' > tests/sanitizer-reports.trs
  echo "no sanitizer report from any process"
fi
exit "$rc"
