#!/bin/bash
# deps.sh: install, with apt-get, the Debian 12 packages that building and testing pam_acred
# need. Does nothing when they are all there already.
set -euo pipefail
PACKAGES=(
  build-essential autoconf automake libtool pkg-config
  libpam0g-dev libcurl4-openssl-dev libssl-dev libjson-c-dev libqrencode-dev
  libcmocka-dev libmicrohttpd-dev
  openssh-server openssh-client sudo util-linux expect jq openssl curl
  clang libclang-rt-14-dev valgrind cppcheck
  scdoc man-db debhelper dpkg-dev lintian git xxd
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: these packages are missing and only root can install them: ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
