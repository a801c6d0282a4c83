#!/bin/bash
# The man pages cover what the code knows: every configuration key the parser accepts is in
# pam_acred.conf(5) under its own section; every audit reason, audit field, exported variable
# and PAM argument is in pam_acred(8); acred-helper(1) gives the exit codes of check. The names
# come from the code (tests/tools/acred-names, pam_module/*.c), so a new one without
# documentation fails here. The pages themselves are built (scdoc) and well-formed.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/tap.sh"
man=$top_srcdir/man
names=$top_builddir/tests/tools/acred-names
[ -x "$names" ] || { not_ok "tests/tools/acred-names is built"; done_testing; exit 1; }

# block FILE HEADING: the lines of FILE from the line HEADING (exactly) to the next heading
block() {
  awk -v h="$2" '$0 == h { on = 1; next } on && /^#+ / { exit } on { print }' "$1"
}
# in_block FILE HEADING REGEX WHAT: one test point
in_block() {
  if block "$1" "$2" | grep -qE -- "$3"; then ok "$4"; else not_ok "$4"; echo "# no /$3/ under '$2' in ${1#$top_srcdir/}"; fi
}
ere() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

conf5=$man/pam_acred.conf.5.scd pam8=$man/pam_acred.8.scd helper1=$man/acred-helper.1.scd
"$names" > "${TMPDIR:-/tmp}/acred-names.$$" || not_ok "acred-names runs"
mapfile -t all < "${TMPDIR:-/tmp}/acred-names.$$"; rm -f "${TMPDIR:-/tmp}/acred-names.$$"
check "acred-names lists keys, reasons and audit fields" \
  test "$(printf '%s\n' "${all[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')" = "audit key reason "

# --- pam_acred.conf(5): each key with its default, in its section ------------------------------
for line in "${all[@]}"; do
  case $line in key\ *) ;; *) continue ;; esac
  sk=${line#key }; sec=${sk%%.*}; key=${sk#*.}
  heading="## [$sec]"; [ "$sec" = role ] && heading="## [role NAME]"
  in_block "$conf5" "$heading" "^\*$(ere "$key")\* = " "pam_acred.conf(5) documents $sec.$key with its default"
done

# --- pam_acred(8): reasons, audit fields, variables, arguments ------------------------------------
for line in "${all[@]}"; do
  case $line in
    reason\ *) w=${line#reason }; in_block "$pam8" "# REASONS" "^\*$(ere "$w")\*$" "pam_acred(8) explains reason=$w" ;;
    audit\ *) f=${line#audit }; in_block "$pam8" "# AUDIT" "^\*$(ere "$f")\*|, \*$(ere "$f")\*" "pam_acred(8) explains the audit field $f" ;;
  esac
done
for f in $(grep -ho 'acred_line_add([^,]*, "[a-z_]*"' "$top_srcdir"/pam_module/*.c | sed 's/.*"\(.*\)"/\1/' | sort -u); do
  in_block "$pam8" "# AUDIT" "^\*$(ere "$f")\*|, \*$(ere "$f")\*" "pam_acred(8) explains the module's audit field $f"
done
vars=$(awk "/allowed\[\] = /,/};/" "$top_srcdir/pam_module/env.c" | grep -o '"[A-Z][A-Z0-9_]*"' | tr -d '"' | sort -u)
check "pam_module/env.c lists the exported variables" test "$(echo "$vars" | wc -w)" -ge 20
for v in $vars; do
  in_block "$pam8" "# ENVIRONMENT" "\*$v\*" "pam_acred(8) explains the variable $v"
done
for a in $(grep -o 'cmp(a, "[a-z]*=\?"' "$top_srcdir/pam_module/args.c" | sed 's/.*"\(.*\)"/\1/'); do
  in_block "$pam8" "# OPTIONS" "^\*$(ere "$a")\*" "pam_acred(8) explains the PAM argument $a"
done
for p in "IDaaS token: " "IDaaS token (or Enter alone for a device-code login): " "Token (continued): " \
         "Paste at most 500 characters at a time" "Press Enter once you have approved: "; do
  grep -qF -- "$p" "$top_srcdir/helper/login.c" || { not_ok "the prompt '$p' is still in helper/login.c"; continue; }
  in_block "$pam8" "# PROMPTS" "\*$(ere "$p")\*" "pam_acred(8) shows the prompt '$p'"
done

# --- acred-helper(1): the commands and the exit codes of check ------------------------------------
for cmd in check credential-process pam; do
  in_block "$helper1" "# COMMANDS" "^\*$cmd\*" "acred-helper(1) explains the command $cmd"
done
for code in 0 1 2; do
  in_block "$helper1" "# EXIT STATUS" "\*$code\*" "acred-helper(1) gives exit status $code"
done

# --- the pages: built from their sources, well-formed, rendered by man ---------------------------
for page in pam_acred.8 pam_acred.conf.5 acred-helper.1; do
  f=$top_builddir/man/$page; [ -f "$f" ] || f=$top_srcdir/man/$page
  name=${page%.*} sec=${page##*.}
  check "man/$page is built and says .TH \"$name\" \"$sec\"" grep -q "^\.TH \"$name\" \"$sec\"" "$f"
  if command -v man >/dev/null; then
    check "man -l renders $page with a NAME section" bash -c "MANWIDTH=80 man -l '$f' 2>&1 | grep -q '^NAME'"
  elif [ "${CI:-}" = true ]; then
    not_ok "man is installed (CI must render the pages)"
  else
    skip "man is not installed"
  fi
done
done_testing
