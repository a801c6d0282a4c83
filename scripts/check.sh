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
# the per-test logs (TAP) tell what ran; show every failure and skip
passed=0 failed=0 skipped=0
for trs in $(find "$build/tests" -name '*.trs' | sort); do
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
