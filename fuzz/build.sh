#!/bin/bash
# build.sh SRCDIR BUILDDIR OUTDIR -- CPPFLAGS_AND_LIBS...: build the libFuzzer targets of fuzz/
# with clang (-fsanitize=fuzzer,address,undefined). Called by `make fuzz`, which passes the
# include and library flags configure found. The helper's sources are compiled once into
# OUTDIR/obj and linked into every target; only what changed is rebuilt.
set -euo pipefail
src=$1 build=$2 out=$3; shift 3
[ "${1:-}" = -- ] && shift
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
flags=() libs=()
for a in "$@"; do case $a in -l*|-L*|-Wl,*|-pthread) libs+=("$a") ;; *) flags+=("$a") ;; esac; done
inc=(-I"$build" -I"$src/common" -I"$src/helper")
mkdir -p "$out/obj"
objs=()
# the helper and common sources, as libacred.a has them (helper/main.c and check.c are not in it)
for c in "$src"/helper/*.c "$src"/common/*.c; do
  case $(basename "$c") in main.c|check.c) continue ;; esac
  o=$out/obj/$(basename "$(dirname "$c")")_$(basename "${c%.c}").o
  if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find "$src/helper" "$src/common" "$build/acred_build.h" -name '*.h' -newer "$o" 2>/dev/null | head -n 1)" ]; then
    # -fsanitize=fuzzer-no-link: coverage for the library code, main() comes from the target
    "$CC" ${CFLAGS/fuzzer,/fuzzer-no-link,} -DACRED_SYSCONFDIR='"/etc"' -DACRED_BINDIR='"/usr/bin"' \
      "${inc[@]}" "${flags[@]}" -c "$c" -o "$o"
  fi
  objs+=("$o")
done
for t in "$src"/fuzz/fuzz_*.c; do
  name=$(basename "${t%.c}")
  echo "  FUZZ     $name"
  "$CC" $CFLAGS "${inc[@]}" "${flags[@]}" "$t" "${objs[@]}" "${libs[@]}" -o "$out/$name"
done
