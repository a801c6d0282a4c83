#!/bin/bash
# The IdP's discovery document and JWKS cached under /var/cache/pam_acred (CONTRACT.md "Files at
# run time"): what a login asks the IdP and what it does not; a cache file that is not root's
# 0600, does not parse, is another issuer's, is a symbolic link or is too old is fetched again
# and replaced, never trusted; a token signed with a key the cache lacks makes one refetch
# (rotated keys), and such refetches are limited to one per 30 s per issuer; a fresh cache checks
# a token while the IdP's own host is down, an old one does not (fail closed), and a failed fetch
# is never written.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
CACHE=/var/cache/pam_acred
stem() { printf '%s' "$1" | sha256sum | cut -c1-32; }
STEM=$(stem "$ISSUER")
DISC=$CACHE/$STEM.discovery.json JWKS=$CACHE/$STEM.jwks.json

mark() { MARK=$(wc -l < "$T/mock.log"); }
asked() { tail -n "+$((MARK + 1))" "$T/mock.log" | jq -r --arg s "$1" 'select(.path | endswith($s)) | .path' | wc -l; }
asked_nothing() { [ "$(tail -n "+$((MARK + 1))" "$T/mock.log" | wc -l)" -eq 0 ]; }
login() { # login USER [MINT ARGS...]: a fresh token, a PAM login
  local u=$1; shift
  local tok; tok=$(mint "$u" "" "$@"); remember_secret "$tok"
  pam_login "$u" "$tok"
}
root_0600() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(stat -c '%u %a' "$1")" = "0 600" ]; }
edit() { # edit FILE JQ: rewrite a cache file as root 0600
  jq -c "$2" "$1" > "$T/edit.tmp" && install -m 0600 -o root -g root "$T/edit.tmp" "$1"
}
now() { date +%s; }
quiet() { "$@" > /dev/null; }

# --- the first login fetches and caches; the next ones do not ask -------------------------------
mark; login alice
check "first login: success" out_has "auth PAM_SUCCESS"
check "first login: discovery and JWKS fetched once each" \
  test "$(asked /openid-configuration)" -eq 1 -a "$(asked /jwks)" -eq 1
check "the cache directory is root's, 0700" test "$(stat -c '%u %a' "$CACHE")" = "0 700"
check "the entries are named by the SHA-256 of the issuer, root's 0600 files" \
  bash -c "$(declare -f root_0600); root_0600 '$DISC' && root_0600 '$JWKS'"
check "the discovery entry names this issuer and holds its document" \
  quiet jq -e --arg iss "$ISSUER" '.issuer == $iss and .document.issuer == $iss and (.fetched | type) == "number"' "$DISC"
check "the JWKS entry names this issuer and jwks_uri and holds its keys" \
  quiet jq -e --arg iss "$ISSUER" '.issuer == $iss and .jwks_uri == ($iss + "/jwks") and (.document.keys | length) == 2' "$JWKS"
mark; login alice
check "second login: success, with no discovery or JWKS request (only obtainAccessCredential)" \
  bash -c "grep -q 'auth PAM_SUCCESS' '$T/out' && [ \$(tail -n +$((MARK + 1)) '$T/mock.log' | wc -l) -eq 1 ] && tail -n 1 '$T/mock.log' | grep -q obtainAccessCredential"
hold_session alice
mark; login alice
check "a login whose keys and credentials are cached: success without any network call" \
  bash -c "grep -q 'auth PAM_SUCCESS' '$T/out' && [ \$(tail -n +$((MARK + 1)) '$T/mock.log' | wc -l) -eq 0 ]"
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null

# --- entries that are not trusted: fetched again and replaced -----------------------------------
untrusted() { # DESCRIPTION FILE ENDPOINT SETUP...: after SETUP, a login fetches ENDPOINT again
  local d=$1 f=$2 ep=$3; shift 3
  "$@"
  mark; login alice
  check "$d: the login succeeds" out_has "auth PAM_SUCCESS"
  check "$d: it is fetched again" test "$(asked "$ep")" -eq 1
  check "$d: and replaced by a root 0600 file of this issuer" \
    bash -c "$(declare -f root_0600); root_0600 '$f' && jq -e --arg iss '$ISSUER' '.issuer == \$iss' '$f' >/dev/null"
}
untrusted "a JWKS entry readable by others (0644)" "$JWKS" /jwks chmod 0644 "$JWKS"
untrusted "a JWKS entry owned by a user" "$JWKS" /jwks chown alice "$JWKS"
untrusted "a JWKS entry that is not JSON" "$JWKS" /jwks cp /etc/hostname "$JWKS"
untrusted "a JWKS entry of another issuer" "$JWKS" /jwks edit "$JWKS" '.issuer = "https://idp.example/oauth2"'
untrusted "a JWKS entry of another jwks_uri" "$JWKS" /jwks edit "$JWKS" '.jwks_uri = "https://idp.example/jwks"'
untrusted "a JWKS entry of 601 s ago (TTL 600 s)" "$JWKS" /jwks edit "$JWKS" ".fetched = $(( $(now) - 601 ))"
untrusted "a JWKS entry from the future" "$JWKS" /jwks edit "$JWKS" ".fetched = $(( $(now) + 3600 ))"
untrusted "a JWKS entry with an empty key set" "$JWKS" /jwks edit "$JWKS" '.document.keys = []'
cp "$JWKS" "$T/jwks.copy"; chmod 0600 "$T/jwks.copy"
untrusted "a JWKS entry that is a symbolic link" "$JWKS" /jwks ln -sf "$T/jwks.copy" "$JWKS"
untrusted "a discovery entry of 3601 s ago (TTL 3600 s)" "$DISC" /openid-configuration \
  edit "$DISC" ".fetched = $(( $(now) - 3601 ))"
untrusted "a discovery entry of another issuer" "$DISC" /openid-configuration \
  edit "$DISC" '.issuer = "https://idp.example/oauth2"'
untrusted "a discovery entry whose document names another issuer" "$DISC" /openid-configuration \
  edit "$DISC" '.document.issuer = "https://idp.example/oauth2"'
untrusted "a discovery entry with an http jwks_uri" "$DISC" /openid-configuration \
  edit "$DISC" '.document.jwks_uri = "http://127.0.0.1:1/jwks"'

chmod 0755 "$CACHE"
mark; login alice
check "a cache directory others may read: not used, the login fetches and succeeds" \
  bash -c "grep -q 'auth PAM_SUCCESS' '$T/out' && [ $(asked /jwks) -eq 1 ]"
mark; login alice
check "... and keeps fetching (nothing is cached there)" test "$(asked /jwks)" -eq 1
chmod 0700 "$CACHE"

# --- a helper that does not run as root (the non-root demo) does not cache ------------------------
ls -la --time-style=full-iso "$CACHE" > "$T/cache.before"
as_alice_login() {
  local tok; tok=$(mint alice); remember_secret "$tok"
  printf '%s\n' "$tok" > "$T/answers"; chmod 0644 "$T/answers"
  as alice "$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test \
    --user alice --answers "$T/answers" --ops auth > "$T/out" 2> "$T/pamtest.err"
  rm -f "$T/answers"
}
mark; as_alice_login
check "as a user (not root): the login succeeds" out_has "auth PAM_SUCCESS"
check "... fetching discovery and the JWKS itself" \
  test "$(asked /openid-configuration)" -eq 1 -a "$(asked /jwks)" -eq 1
mark; as_alice_login
check "... and again the next time: nothing was cached" \
  bash -c "grep -q 'auth PAM_SUCCESS' '$T/out' && [ $(asked /jwks) -eq 1 ]"
ls -la --time-style=full-iso "$CACHE" > "$T/cache.after"
check "... and nothing under $CACHE changed" cmp -s "$T/cache.before" "$T/cache.after"

# --- rotated keys: one refetch, at most one per 30 s per issuer ------------------------------------
login alice >/dev/null # a fresh entry
mark; login alice --kid rsa9
check "a key the cache lacks (kid rsa9): the login fails" out_has "auth PAM_AUTH_ERR"
check "... with reason unknown_key" audit_has result=failure reason=unknown_key
check "... after fetching the JWKS once more" test "$(asked /jwks)" -eq 1
check "... which is recorded for the issuer" root_0600 "$CACHE/$STEM.refetch"
mark; login alice --kid rsa9
check "another unknown key within 30 s: unknown_key again" audit_has result=failure reason=unknown_key
check "... without asking the IdP" test "$(asked /jwks)" -eq 0
echo $(( $(now) - 31 )) > "$CACHE/$STEM.refetch"
edit "$JWKS" '.document.keys |= map(select(.kid != "rsa1"))'
mark; login alice
check "keys rotated (the cache lacks rsa1, 31 s after the last refetch): the login succeeds" out_has "auth PAM_SUCCESS"
check "... after one JWKS fetch, which replaced the cached keys" \
  bash -c "[ $(asked /jwks) -eq 1 ] && jq -e '.document.keys | map(.kid) | index(\"rsa1\")' '$JWKS' >/dev/null"

# --- the IdP's host down: a fresh cache still checks tokens, an old one fails closed -------------
DEAD=https://127.0.0.1:1/api/v2/iauths_system/oauth2
DSTEM=$(stem "$DEAD")
jq -c --arg d "$DEAD" --arg l "$ISSUER" '.issuer = $d | .document |= (walk(if type == "string" then sub($l; $d) else . end))' \
  "$DISC" > "$T/d.tmp" && install -m 0600 "$T/d.tmp" "$CACHE/$DSTEM.discovery.json"
jq -c --arg d "$DEAD" '.issuer = $d | .jwks_uri = ($d + "/jwks")' "$JWKS" > "$T/d.tmp" &&
  install -m 0600 "$T/d.tmp" "$CACHE/$DSTEM.jwks.json"
sed -i "s|^issuer .*|issuer         = $DEAD|" "$T/pam_acred.conf"
deadtok() { (ISSUER=$DEAD; mint alice); }
mark; tok=$(deadtok); remember_secret "$tok"; pam_login alice "$tok"
check "the IdP's host down, keys cached: the token is checked from the cache and the login succeeds" \
  out_has "auth PAM_SUCCESS"
check "... and the mock saw only obtainAccessCredential" \
  bash -c "[ \$(tail -n +$((MARK + 1)) '$T/mock.log' | wc -l) -eq 1 ] && tail -n 1 '$T/mock.log' | grep -q obtainAccessCredential"
edit "$CACHE/$DSTEM.jwks.json" ".fetched = $(( $(now) - 601 ))"
cp "$CACHE/$DSTEM.jwks.json" "$T/old.jwks"
mark; tok=$(deadtok); remember_secret "$tok"; pam_login alice "$tok"
check "the IdP's host down, cached keys too old: the login fails closed" out_has "auth PAM_AUTHINFO_UNAVAIL"
check "... with reason idp_unavailable" audit_has result=failure reason=idp_unavailable
check "... and the failed fetch wrote nothing: the old entry is as it was" cmp -s "$T/old.jwks" "$CACHE/$DSTEM.jwks.json"
rm -f "$CACHE/$DSTEM.jwks.json" "$CACHE/$DSTEM.discovery.json"
mark; tok=$(deadtok); remember_secret "$tok"; pam_login alice "$tok"
check "the IdP's host down, nothing cached: the login fails closed and nothing is cached" \
  bash -c "grep -q 'auth PAM_AUTHINFO_UNAVAIL' '$T/out' && [ ! -e '$CACHE/$DSTEM.jwks.json' ] && [ ! -e '$CACHE/$DSTEM.discovery.json' ]"

check "no token or secret in syslog, mock log or error output" acred_leak_check
done_testing
