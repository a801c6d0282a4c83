#!/bin/sh
# acred-shell.sh: the benchmark's baseline, the job of a pam_acred login done the way an operator
# would script it without pam_acred:
#
#   auth required pam_exec.so expose_authtok quiet /path/to/acred-shell.sh CONF
#
# pam_exec prompts "Password: " and hands the answer (the IDaaS token) to this script on stdin.
# The script checks the token's claims (issuer, audience, expiry, scope, user name) with jq,
# picks the role the user is mapped to, calls IDaaS obtainAccessCredential with curl (the token
# in a header read from stdin, never on a command line), and writes the STS credentials to a
# 0600 file for the session to source. It does not check the token's signature (turning a JWK
# into a key for openssl is more than a script like this does): obtainAccessCredential checks it.
# pam_exec cuts what it hands over at 512 bytes (PAM_MAX_RESP_SIZE), so tokens longer than that
# cannot work this way at all; the benchmark uses ES256 tokens, which fit.
#
# CONF is a shell fragment: API (the developer API URL), INSTANCE, ISSUER, CLIENT_ID, SCOPE, CA
# (the CA file), ROLES (lines "USER ROLE_EXTERNAL_ID"), DURATION and ENV_DIR.
set -eu
conf=${1:?usage: acred-shell.sh CONF}
. "$conf"
token=$(tr -d '\000\n')
[ -n "$token" ] || exit 1

# the payload of the JWT, base64url-decoded
payload=$(printf '%s' "$token" | cut -d. -f2 | tr '_-' '/+')
case $(( ${#payload} % 4 )) in 2) payload="$payload==" ;; 3) payload="$payload=" ;; esac
claims=$(printf '%s' "$payload" | base64 -d 2>/dev/null) || exit 1
printf '%s' "$claims" | jq -e --arg iss "$ISSUER" --arg aud "$CLIENT_ID" --arg scope "$SCOPE" \
  --arg user "$PAM_USER" --argjson now "$(date +%s)" '
    .iss == $iss and (.aud == $aud or ((.aud | type) == "array" and (.aud | index($aud)))) and
    .exp > $now and (.scope | split(" ") | index($scope)) and .preferred_username == $user' \
  > /dev/null || exit 1

role=$(printf '%s\n' "$ROLES" | awk -v u="$PAM_USER" '$1 == u { print $2; exit }')
[ -n "$role" ] || exit 1

answer=$(printf 'Authorization: Bearer %s\n' "$token" |
  curl -sS --fail --max-time 5 --proto =https --cacert "$CA" -H @- -H 'Accept: application/json' -G \
    --data-urlencode "cloudAccountRoleExternalId=$role" --data-urlencode "durationSeconds=$DURATION" \
    "$API/v2/$INSTANCE/cloudAccountRoles/_/actions/obtainAccessCredential") || exit 1

umask 077
printf '%s' "$answer" | jq -er '.cloudAccountRoleAccessCredential.alibabaCloudStsToken |
  "ALIBABA_CLOUD_ACCESS_KEY_ID=\(.accessKeyId)",
  "ALIBABA_CLOUD_ACCESS_KEY_SECRET=\(.accessKeySecret)",
  "ALIBABA_CLOUD_SECURITY_TOKEN=\(.securityToken)",
  "ACRED_EXPIRATION=\(.expiration)"' > "$ENV_DIR/$PAM_USER.env.tmp"
mv "$ENV_DIR/$PAM_USER.env.tmp" "$ENV_DIR/$PAM_USER.env"
