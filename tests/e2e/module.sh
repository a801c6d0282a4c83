#!/bin/bash
# The module loads like libpam loads it (RTLD_NOW: every symbol resolves), exports only pam_sm_*,
# and links nothing but libpam and libc.
set -u
. "$top_srcdir/tests/lib/tap.sh"
so="$top_builddir/.libs/pam_acred.so"
"$top_builddir/tests/tools/dlopen" "$so" | grep -v '^1\.\.' | while read -r status n rest; do
  if [ "$status" = ok ]; then ok "${rest#- }"; else not_ok "${rest#- }"; fi
done > "${TMPDIR:-/tmp}/dlopen.$$"
cat "${TMPDIR:-/tmp}/dlopen.$$"; TAP_N=$(grep -c '' "${TMPDIR:-/tmp}/dlopen.$$")
TAP_FAILED=$(grep -c '^not ok' "${TMPDIR:-/tmp}/dlopen.$$"); rm -f "${TMPDIR:-/tmp}/dlopen.$$"
needed=$(objdump -p "$so" | awk '/NEEDED/ {print $2}' | sort | tr '\n' ' ')
check "links only libpam and libc (has: $needed)" test "$needed" = "libc.so.6 libpam.so.0 "
exports=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sort | tr '\n' ' ')
check "exports only pam_sm_* (has: $exports)" \
  test "$exports" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_close_session pam_sm_open_session pam_sm_setcred "
done_testing
