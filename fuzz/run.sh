#!/bin/bash
# run.sh SRCDIR OUTDIR SECONDS [JOBS]: run every target built in OUTDIR for SECONDS each, JOBS
# at a time (default 2), from a copy of its seed corpus (fuzz/corpus/NAME: the repository's is
# never written). Each result goes to OUTDIR/NAME.log and OUTDIR/NAME.trs (":test-result: PASS"
# or FAIL, as automake writes them, so scripts/check.sh counts it); a crash, a leak, a hang over
# 10 s or a UBSan report fails, and what crashed is kept as OUTDIR/NAME-crash-*: copy it to the
# corpus as a regression test. Exit status: 0 when every target passed.
set -uo pipefail
src=$1 out=$2 secs=$3 jobs=${4:-2}
targets=()
for t in "$src"/fuzz/fuzz_*.c; do targets+=("$(basename "${t%.c}")"); done
run_one() {
  local name=$1 src=$2 out=$3 secs=$4 work
  work=$out/work/$name
  rm -rf "$work" && mkdir -p "$work" "$out/artifacts"
  [ -d "$src/fuzz/corpus/$name" ] && cp -r "$src/fuzz/corpus/$name/." "$work/"
  if [ ! -x "$out/$name" ]; then
    echo "$out/$name is not built (make fuzz)" > "$out/$name.log"; rc=1
  else
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
      "$out/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" "$work" > "$out/$name.log" 2>&1
    rc=$?
  fi
  local runs; runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
  if [ "$rc" -eq 0 ]; then
    printf ':test-result: PASS\n' > "$out/$name.trs"
    echo "ok - $name: ${runs:-?} inputs in ${secs} s, no crash"
  else
    printf ':test-result: FAIL\n' > "$out/$name.trs"
    echo "not ok - $name: exit $rc after ${runs:-?} inputs; see $out/$name.log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$out/$name.log" | head -n 5 | sed 's/^/#   /'
  fi
  return "$rc"
}
export -f run_one
mkdir -p "$out"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$src" "$out" "$secs"
