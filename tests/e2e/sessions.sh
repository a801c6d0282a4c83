#!/bin/bash
# Credentials that last the session: the cache (a hit skips obtainAccessCredential, an entry past
# its time does not), the files of CONTRACT.md "Files at run time", `acred-helper
# credential-process` in the aliyun CLI's External format with refresh, and credentials = process.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
uid=$(id -u alice)
obtains() { grep -c obtainAccessCredential "$T/mock.log"; }
helper_as_alice() { as alice "$T/bin/acred-helper" credential-process > "$T/cp.out" 2> "$T/cp.err"; }

# --- a login writes root's entry and alice's own copy -------------------------------------------
check "alice logs in and stays logged in while the tests below run" hold_session alice
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
ak=$(mock_issued access_key_id); remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "root's entry: /run/pam_acred/UID.json, root 0600" \
  test "$(stat -c '%U %a' /run/pam_acred/$uid.json)" = "root 600"
check "root's directory: /run/pam_acred is root 0700" test "$(stat -c '%U %a' /run/pam_acred)" = "root 700"
check "alice's copy: /run/pam_acred-user/UID is hers, 0700" \
  test "$(stat -c '%U %a' /run/pam_acred-user/$uid)" = "alice 700"
check "alice's copy: credentials.json is hers, 0600" \
  test "$(stat -c '%U %a' /run/pam_acred-user/$uid/credentials.json)" = "alice 600"
check "root's entry holds no IdP token (only alice's copy does, for refresh)" \
  bash -c "! jq -e 'has(\"token\")' /run/pam_acred/$uid.json >/dev/null && jq -e 'has(\"token\")' /run/pam_acred-user/$uid/credentials.json >/dev/null"

# --- credential-process: the aliyun CLI's External format ---------------------------------------
helper_as_alice
check "credential-process exits 0 for alice" test -s "$T/cp.out"
check "credential-process prints the External-mode JSON (mode StsToken)" \
  jq -e --arg ak "$ak" '.mode == "StsToken" and .access_key_id == $ak and (.access_key_secret|length) > 0 and (.sts_token|length) > 0 and (.expiration|test("Z$"))' "$T/cp.out"
check "credential-process prints exactly the five fields" \
  test "$(jq -c 'keys' "$T/cp.out")" = '["access_key_id","access_key_secret","expiration","mode","sts_token"]'
as bob "$T/bin/acred-helper" credential-process > "$T/cp.out" 2> "$T/cp.err"; rc=$?
check "credential-process for bob (never logged in): exit 1" test "$rc" -eq 1
check "credential-process for bob: a plain sentence" grep -q 'log in through pam_acred first' "$T/cp.err"

# --- a cache hit: the same person and role, the token still checked, no call ----------------------
before=$(obtains)
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
check "a second login of alice: success" out_has "auth PAM_SUCCESS"
check "a cache hit: the mock records no obtainAccessCredential" test "$(obtains)" -eq "$before"
check "a cache hit: the same credentials" out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_ID=$ak"
pam_login alice "$(mint alice '"exp":"-3600"')"
check "a cache hit never skips the token check (expired token: denied)" audit_has result=failure reason=token_expired
pam_login alice "$(mint alice '"sub":"u_other"')"
check "another sub (same user name): a new call, not the cache" test "$(obtains)" -eq $((before + 1))
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"

# --- an entry past its expiry minus the margin: a new call ----------------------------------------
f=/run/pam_acred/$uid.json
soon=$(date -u -d '+4 minutes' +%Y-%m-%dT%H:%M:%SZ)
jq -c --arg e "$soon" '.expiration = $e' "$f" > "$f.new" && chmod 0600 "$f.new" && mv "$f.new" "$f"
before=$(obtains)
pam_login alice "$(mint alice)"
check "an entry within the margin of its expiry: obtainAccessCredential again" test "$(obtains)" -eq $((before + 1))
check "and the session gets the new credentials" out_has "ENV ALIBABA_CLOUD_ACCESS_KEY_ID=$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"

# --- credential-process refreshes while the IdP token is valid, with an event=refresh line ---------
c=/run/pam_acred-user/$uid/credentials.json
old=$(jq -r .access_key_id "$c")
jq -c '.expiration = "2020-01-01T00:00:00Z"' "$c" > "$c.new" && chown alice: "$c.new" && chmod 0600 "$c.new" && mv "$c.new" "$c"
helper_as_alice
new=$(jq -r .access_key_id "$T/cp.out" 2>/dev/null)
check "credential-process past the STS expiration: refreshed" test -n "$new" -a "$new" != "$old"
check "the refresh is what the IdP issued" test "$new" = "$(mock_issued access_key_id)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "the refresh is logged: event=refresh with the new access_key_id" \
  bash -c "grep 'event=refresh' '$T/syslog' | tail -n 1 | grep -q 'user=alice .*access_key_id=$new'"
check "the refreshed credentials are stored for the next call" test "$(jq -r .access_key_id "$c")" = "$new"
jq -c '.expiration = "2020-01-01T00:00:00Z" | .token_exp = 1' "$c" > "$c.new" && chown alice: "$c.new" && chmod 0600 "$c.new" && mv "$c.new" "$c"
helper_as_alice; rc=$?
check "token and credentials both expired: exit 1" test "$rc" -ne 0
check "token and credentials both expired: a new login is needed, said plainly" grep -q "log in again" "$T/cp.err"
check "credential-process refuses a file that is not alice's own 0600 file" \
  bash -c "chmod 0644 '$c'; ! as alice '$T/bin/acred-helper' credential-process >/dev/null 2>&1; chmod 0600 '$c'"

# --- after a device-code login, the IdP's refresh token keeps credential-process going -----------
export T MOCK_PORT
sed -i 's/^methods        = token$/methods        = token device/' "$T/pam_acred.conf"
pam_login alice "" "@exec c=\$(printf '%s' \"\$PROMPT\" | sed -n 's/.*shows the code \\([A-Z-]*\\).*/\\1/p' | head -n 1); curl -s --cacert \"\$T/pki/ca.pem\" \"https://127.0.0.1:\$MOCK_PORT/test/device/approve?user_code=\$c&user=alice\" >/dev/null; echo"
check "a device-code login of alice" audit_has result=success method=device
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "her copy keeps the IdP's refresh token" jq -e '(.refresh_token|length) > 0' "$c"
jq -c '.expiration = "2020-01-01T00:00:00Z" | .token_exp = 1' "$c" > "$c.new" && chown alice: "$c.new" && chmod 0600 "$c.new" && mv "$c.new" "$c"
refreshes=$(grep -c '"grant_type":"refresh_token"' "$T/mock.log")
helper_as_alice
check "token and credentials expired, refresh token valid: credential-process refreshes" \
  jq -e --arg ak "$(mock_issued access_key_id)" '.access_key_id == $ak' "$T/cp.out"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "it used the refresh_token grant at the IdP's token endpoint" \
  test "$(grep -c '"grant_type":"refresh_token"' "$T/mock.log")" -eq $((refreshes + 1))
sed -i 's/^methods        = token device$/methods        = token/' "$T/pam_acred.conf"

# --- the last session closing takes alice's files with it -------------------------------------
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null
check "alice's held session ended (logged out)" grep -q '^close PAM_SUCCESS' "$T/hold.out"
check "while no session is open, her files are already gone" test ! -e "/run/pam_acred-user/$uid"
pam_login alice "$(mint alice)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "alice's last session closed: her directory is gone" test ! -e "/run/pam_acred-user/$uid"
check "alice's last session closed: root's entry is gone" test ! -e "/run/pam_acred/$uid.json"

# --- credentials = process: an aliyun CLI profile instead of keys in the environment -------------
sed -i 's/^region_id      = cn-hangzhou$/region_id      = cn-hangzhou\ncredentials    = process/' "$T/pam_acred.conf"
PAMTEST_OPTS="--ops auth,account,setcred,open" pam_login alice "$(mint alice)"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "process: ALIBABA_CLOUD_CONFIG_FILE names alice's config.json" \
  out_has "ENV ALIBABA_CLOUD_CONFIG_FILE=/run/pam_acred-user/$uid/config.json"
check "process: ALIBABA_CLOUD_PROFILE=acred" out_has "ENV ALIBABA_CLOUD_PROFILE=acred"
check "process: no keys in the environment" bash -c "! grep -q -e '^ENV ALIBABA_CLOUD_ACCESS_KEY' -e '^ENV ALIBABA_CLOUD_SECURITY_TOKEN' '$T/out'"
cfg=/run/pam_acred-user/$uid/config.json
check "process: the profile is an External one for the aliyun CLI" \
  jq -e '.current == "acred" and .profiles[0].name == "acred" and .profiles[0].mode == "External" and .profiles[0].region_id == "cn-hangzhou"' "$cfg"
cmd=$(jq -r '.profiles[0].process_command' "$cfg")
as alice sh -c "$cmd" > "$T/cp.out" 2> "$T/cp.err"
check "process: its process_command prints alice's credentials" \
  jq -e --arg ak "$(mock_issued access_key_id)" '.mode == "StsToken" and .access_key_id == $ak' "$T/cp.out"

check "no token or secret in syslog, the mock's log or any error output" acred_leak_check
done_testing
