#!/bin/bash
# check.sh: the whole check, from a clean checkout: install what is needed (apt-get), build with
# warnings as errors, run every test, and end with one line "N passed, N failed".
# Run it as root: the real-login tests (sshd, sudo, su) need a private mount namespace.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
scripts/deps.sh || exit 1
build=${ACRED_BUILD_DIR:-$top/build}   # ACRED_BUILD_DIR: build elsewhere
./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; exit 1; }
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-werror -q || { echo "configure failed"; exit 1; }
make -j"$(nproc)" >/dev/null || { make 2>&1 | tail -n 40; echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
make -j"$(nproc)" check >/dev/null 2>&1
# hardening: ASan+UBSan, valgrind, cppcheck and a short fuzzing run (FUZZ_SECONDS each, two at
# a time); each leaves automake-style .trs results, counted below;
# a target that fails also counts one failure of its own (a build that breaks before any test
# still fails the check)
mkdir -p "$build/hardening" && rm -f "$build"/hardening/*.trs
for t in check-asan check-valgrind check-cppcheck fuzz-run; do
  make "$t" FUZZ_SECONDS="${FUZZ_SECONDS:-60}" > "$build/hardening/$t.log" 2>&1 ||
    echo ':test-result: ERROR' > "$build/hardening/$t.trs"
done
# packaging: the Debian package (built, installed, logged in through, purged: tests/e2e/deb.sh)
# and `make distcheck` (one test point), through automake's TAP driver like the rest
tap_run() { # NAME COMMAND...
  mkdir -p "$build/tests/package"
  "$top/build-aux/tap-driver.sh" --test-name "$1" --log-file "$build/tests/package/$1.log" \
    --trs-file "$build/tests/package/$1.trs" --color-tests no --enable-hard-errors yes \
    --expect-failure no -- "${@:2}" > /dev/null 2>&1
}
tap_run deb.sh env top_srcdir="$top" top_builddir="$build" bash "$top/tests/e2e/deb.sh"
tap_run distcheck bash -c 'if make -j"$(nproc)" distcheck > distcheck.log 2>&1; then
  echo "ok 1 - make distcheck: the tarball builds, passes every test from a VPATH build, installs and uninstalls"
  else echo "not ok 1 - make distcheck (see $PWD/distcheck.log)"; grep -E "^(FAIL|ERROR)|rror" distcheck.log | head -n 20 | sed "s/^/# /"; fi; echo 1..1'
# the per-test logs (TAP) tell what ran; show every failure and skip
passed=0 failed=0 skipped=0
for trs in $(find "$build/tests" "$build/asan/tests" "$build/valgrind.out" "$build/cppcheck.out" \
    "$build/fuzz.out" "$build/hardening" -maxdepth 3 -name '*.trs' 2>/dev/null | sort); do
  log=${trs%.trs}.log
  p=$(grep -c '^:test-result: PASS' "$trs") f=$(grep -c -E '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
  s=$(grep -c '^:test-result: SKIP' "$trs")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  printf '%-40s %4d passed %3d failed %3d skipped\n' "${trs#$build/}" "$p" "$f" "$s"
  if [ "$f" -gt 0 ] || [ "$s" -gt 0 ]; then
    grep -E '^(not ok|ok .*# SKIP|Bail out|#)' "$log" | head -n 60 | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -n "$(find "$build/tests" -name '*.trs')" ]
