#!/bin/bash
# The audit trail, transcript-style: for each scenario (PAM, ssh, sudo, su, cached sudo, refresh;
# successes and failures) the exact pam_acred lines syslog gets, and nothing else of ours; values
# that would forge a field or a line are escaped; [audit] format = json; and no secret anywhere.
set -u
. "$top_srcdir/tests/lib/harness.sh"
acred_enter_namespace bash "$0" "$@"
acred_setup
acred_pam_service acred-test
acred_private_sudo_su
uid=$(id -u alice)
ROLE=acs:ram::1234567890123456:role/dev

# --- PAM: success, session open and close ----------------------------------------------------
mark_log
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
ak=$(mock_issued access_key_id)
check "PAM success: auth, session_open, session_close, and nothing else" transcript_is \
  "pam_acred(acred-test:auth): event=auth result=success user=alice service=acred-test rhost=192.0.2.7 method=token sub=u_alice jti={J} role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}" \
  "pam_acred(acred-test:session): event=session_open user=alice service=acred-test rhost=192.0.2.7 role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}" \
  "pam_acred(acred-test:session): event=session_close user=alice service=acred-test rhost=192.0.2.7 role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}"
s1=$(new_lines | sed -n '1s/.* session=\([^ ]*\) .*/\1/p'); s2=$(new_lines | sed -n '3s/.* session=\([^ ]*\) .*/\1/p')
p2=$(new_lines | sed -n '2s/.* pid=//p'); p3=$(new_lines | sed -n '3s/.* pid=//p')
check "open and close carry the auth line's session and the same pid" \
  bash -c "[ -n '$s1' ] && [ '$s1' = '$s2' ] && [ '$p2' = '$p3' ]"

# --- PAM: failures ------------------------------------------------------------------------------
mark_log
tok=$(mint bob); remember_secret "$tok"
pam_login alice "$tok"
check "PAM failure: one auth line with the reason" transcript_is \
  "pam_acred(acred-test:auth): event=auth result=failure user=alice service=acred-test rhost=192.0.2.7 method=token sub=u_bob jti={J} reason=user_mismatch pid={P}"
mark_log
sed -i 's#role/dev#role/forbidden#' "$T/pam_acred.conf"
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
sed -i 's#role/forbidden#role/dev#' "$T/pam_acred.conf"
check "IdP refusal: idp_code and request_id from the IdP's answer" transcript_is \
  "pam_acred(acred-test:auth): event=auth result=failure user=alice service=acred-test rhost=192.0.2.7 method=token sub=u_alice jti={J} role=acs:ram::1234567890123456:role/forbidden reason=idp_denied idp_code=access_denied request_id={R} pid={P}"
mark_log
acred_pam_service acred-bad "colour=blue"
SERVICE=acred-bad pam_login alice "$tok"
check "a bad module argument: the refusal and one auth line" transcript_is \
  'pam_acred(acred-bad:auth): unknown or malformed argument "colour=blue" (allowed: conf=/PATH helper=/PATH debug); refusing' \
  "pam_acred(acred-bad:auth): event=auth result=failure user=alice service=acred-bad rhost=192.0.2.7 reason=config_error pid={P}"

# --- nothing from a user or the network forges a field or a line -------------------------------
mark_log
printf '%s\n' x > "$T/answers"
"$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test \
  --user $'eve\nevent=auth result=success user=alice' --rhost '10.0.0.1 result=success' \
  --answers "$T/answers" > "$T/out" 2>&1
check "a user name with a newline and a forged field stays one quoted value" transcript_is \
  'pam_acred(acred-test:auth): event=auth result=failure user="eve\x0aevent=auth result=success user=alice" service=acred-test rhost="10.0.0.1 result=success" method=token reason=unknown_user pid={P}'
check "no line of syslog starts a forged event" bash -c "! grep -q '^event=auth result=success user=alice\$' '$T/syslog'"
mark_log
tok=$(mint alice '"sub":"u_\"x\\\\y\n event=auth result=success é"'); remember_secret "$tok"
pam_login alice "$tok"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "a token's sub with quote, backslash, newline and UTF-8 is escaped" \
  bash -c "new_lines() { tail -n +$((LOG_MARK + 1)) '$T/syslog'; }; new_lines | grep -qF 'sub=\"u_\\\"x\\\\\\\\y\\x0a event=auth result=success \\xc3\\xa9\"'"

# --- ssh ----------------------------------------------------------------------------------------
acred_start_sshd || { not_ok "sshd starts"; done_testing; exit 1; }
mark_log
tok=$(mint alice); remember_secret "$tok"
ssh_login alice true "$tok"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "ssh success: auth, session_open, session_close" transcript_is \
  "pam_acred(sshd:auth): event=auth result=success user=alice service=sshd rhost=127.0.0.1 tty=ssh method=token sub=u_alice jti={J} role=$ROLE access_key_id=$(mock_issued access_key_id) expiration={E} session={S} pid={P}" \
  "pam_acred(sshd:session): event=session_open user=alice service=sshd rhost=127.0.0.1 tty=ssh role=$ROLE access_key_id=$(mock_issued access_key_id) expiration={E} session={S} pid={P}" \
  "pam_acred(sshd:session): event=session_close user=alice service=sshd rhost=127.0.0.1 tty=ssh role=$ROLE access_key_id=$(mock_issued access_key_id) expiration={E} session={S} pid={P}"
mark_log
tok=$(mint alice '"exp":"-3600"'); remember_secret "$tok"
ssh_login alice true "$tok"
check "ssh failure: one auth line" transcript_is \
  "pam_acred(sshd:auth): event=auth result=failure user=alice service=sshd rhost=127.0.0.1 tty=ssh method=token sub=u_alice jti={J} reason=token_expired pid={P}"

# --- sudo and su --------------------------------------------------------------------------------
hold_session alice >/dev/null
mark_log
tok=$(mint alice); remember_secret "$tok"
mapfile -t parts < <(pieces "$tok" 500)
sudo_as alice "${parts[@]}" -- true
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
ak=$(mock_issued access_key_id)
check "sudo success: alice authenticates, root's session, ruser=alice" transcript_is \
  "pam_acred(sudo:auth): event=auth result=success user=alice ruser=alice service=sudo method=token sub=u_alice jti={J} role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}" \
  "pam_acred(sudo:session): event=session_open user=root ruser=alice service=sudo role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}" \
  "pam_acred(sudo:session): event=session_close user=root ruser=alice service=sudo role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}"
mark_log
sudo_as alice -- -n true
check "sudo within its timestamp: session_open method=cached, then close" transcript_is \
  "pam_acred(sudo:session): event=session_open user=root ruser=alice service=sudo method=cached role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}" \
  "pam_acred(sudo:session): event=session_close user=root ruser=alice service=sudo role=$ROLE access_key_id=$ak expiration={E} session={S} pid={P}"
mark_log
tok=$(mint alice); remember_secret "$tok"
mapfile -t parts < <(pieces "$tok" 500)
sudo_as alice "${parts[@]}" -- -k -u bob true
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "sudo -u bob: the credentials are withheld from bob's session, and that is logged" transcript_is \
  "pam_acred(sudo:auth): event=auth result=success user=alice ruser=alice service=sudo method=token sub=u_alice jti={J} role=$ROLE access_key_id={AK} expiration={E} session={S} pid={P}" \
  "pam_acred(sudo:session): event=session_open user=bob ruser=alice service=sudo method=withheld role=$ROLE access_key_id={AK} expiration={E} session={S} pid={P}"
mark_log
sudo_as alice "$(mint bob)" -- -k true
check "sudo failure: one auth line" transcript_is \
  "pam_acred(sudo:auth): event=auth result=failure user=alice ruser=alice service=sudo method=token reason={R} pid={P}"
mark_log
tok=$(mint alice); remember_secret "$tok"
printf '%s\n' "$tok" > "$T/answers"
answer_on_tty setpriv --reuid="$(id -u carol)" --regid="$(id -g carol)" --init-groups -- su alice -c true
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "su success: alice (the target) authenticates, ruser=carol" transcript_is \
  "pam_acred(su:auth): event=auth result=success user=alice ruser=carol service=su tty={TTY} method=token sub=u_alice jti={J} role=$ROLE access_key_id={AK} expiration={E} session={S} pid={P}" \
  "pam_acred(su:session): event=session_open user=alice ruser=carol service=su tty={TTY} role=$ROLE access_key_id={AK} expiration={E} session={S} pid={P}" \
  "pam_acred(su:session): event=session_close user=alice ruser=carol service=su tty={TTY} role=$ROLE access_key_id={AK} expiration={E} session={S} pid={P}"
mark_log
tok=$(mint carol); remember_secret "$tok"
printf '%s\n' "$tok" > "$T/answers"
answer_on_tty setpriv --reuid="$(id -u carol)" --regid="$(id -g carol)" --init-groups -- su - alice -c true
check "su failure: one auth line" transcript_is \
  "pam_acred(su-l:auth): event=auth result=failure user=alice ruser=carol service=su-l tty={TTY} method=token sub=u_carol jti={J} reason=user_mismatch pid={P}"

# --- credential-process: event=refresh ------------------------------------------------------------
c=/run/pam_acred-user/$uid/credentials.json
jq -c '.expiration = "2020-01-01T00:00:00Z"' "$c" > "$c.new" && chown alice: "$c.new" && chmod 0600 "$c.new" && mv "$c.new" "$c"
mark_log
as alice "$T/bin/acred-helper" credential-process > "$T/cp.out" 2> "$T/cp.err"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
check "a refresh: one event=refresh line with the new access_key_id" transcript_is \
  "event=refresh result=success user=alice uid=$uid role=$ROLE access_key_id=$(mock_issued access_key_id) expiration={E} session={S}"

# --- [audit] format = json ---------------------------------------------------------------------
printf '\n[audit]\nformat = json\n' >> "$T/pam_acred.conf"
mark_log
tok=$(mint alice); remember_secret "$tok"
pam_login alice "$tok"
remember_secret "$(mock_issued access_key_secret)" "$(mock_issued security_token)"
new_lines | sed 's/^pam_acred([^)]*): //' > "$T/json.lines"
check "json: three lines, each one JSON object" test "$(jq -c . "$T/json.lines" | wc -l)" -eq 3
check "json: the auth line has the same fields" jq -e -s --arg ak "$(sed -n 's/^ENV ALIBABA_CLOUD_ACCESS_KEY_ID=//p' "$T/out")" \
  'map(select(.event == "auth"))[0] | .result == "success" and .user == "alice" and .service == "acred-test" and .rhost == "192.0.2.7" and .method == "token" and .sub == "u_alice" and .access_key_id == $ak and (.session|length) == 16 and (.pid|test("^[0-9]+$"))' \
  "$T/json.lines"
check "json: session_open and session_close too" \
  bash -c "jq -r .event '$T/json.lines' | tr '\n' ' ' | grep -qx 'auth session_open session_close '"
mark_log
printf '%s\n' x > "$T/answers"
"$top_builddir/tests/tools/pamtest" --confdir "$T/pam.d" --service acred-test \
  --user $'eve\n"},{"event":"auth","result":"success' --answers "$T/answers" > "$T/out" 2>&1
new_lines | sed 's/^pam_acred([^)]*): //' > "$T/json.lines"
check "json: a forged user name stays inside one string" \
  jq -e '.event == "auth" and .result == "failure" and (.user|startswith("eve\n\"},{"))' "$T/json.lines"

check "no token or secret in syslog, sshd's, sudo's or the mock's logs" acred_leak_check
done_testing
