#!/bin/bash
# mkcerts.sh DIR [--force]: make the test PKI and the JWT signing keys of the test suite.
#
# Creates in DIR (certificates 0644, private keys 0600):
#   ca.pem / ca.key                 the test CA (EC P-256, self-signed, CA:TRUE)
#   server.pem / server.key         CA-signed, SAN IP:127.0.0.1, DNS:localhost
#   wronghost.pem / wronghost.key   CA-signed, SAN DNS:wrong.example only
#   selfsigned.pem / selfsigned.key self-signed, SAN IP:127.0.0.1, DNS:localhost (not CA-signed)
#   expired.pem / expired.key       CA-signed, SAN IP:127.0.0.1, DNS:localhost, valid only
#                                   from 2020-01-01 to 2020-01-02 (so: expired)
#   rsa.pem                         RSA 2048 private key: JWT signing key "rsa1" of the mock IdP
#   ec.pem                          EC P-256 private key: JWT signing key "ec1" of the mock IdP
#   rsa2.pem                        RSA 2048 private key that is never published (unknown key)
#
# Idempotent: when every file is already there it does nothing (use --force to remake them
# all). A new set is made in a temporary directory and moved in, under a lock on DIR/.mkcerts.lock,
# so concurrent runs on the same DIR are safe. Quiet (prints only on error), no faketime needed:
# the expired certificate is issued with `openssl ca -startdate/-enddate`.
set -euo pipefail

usage() {
    echo "usage: $0 DIR [--force]" >&2
    exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
dir=$1
force=0
if [ $# -eq 2 ]; then
    [ "$2" = --force ] || usage
    force=1
fi

command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 1; }

umask 077
mkdir -p -- "$dir"
dir=$(cd -- "$dir" && pwd)

certs="ca server wronghost selfsigned expired"
keys="rsa ec rsa2"

complete() {
    local n
    for n in $certs; do
        [ -s "$dir/$n.pem" ] && [ -s "$dir/$n.key" ] || return 1
    done
    for n in $keys; do
        [ -s "$dir/$n.pem" ] || return 1
    done
    return 0
}

exec 9>"$dir/.mkcerts.lock"
flock 9

if [ "$force" -eq 0 ] && complete; then
    exit 0
fi

tmp=$(mktemp -d "$dir/.mkcerts.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

log="$tmp/openssl.log"
run() {
    if ! "$@" >>"$log" 2>&1; then
        echo "$0: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

eckey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
rsakey() { run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# ---- extensions -----------------------------------------------------------------------------
cat >"$tmp/leaf.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
sed 's/^subjectAltName = .*/subjectAltName = DNS:wrong.example/' "$tmp/leaf.ext" >"$tmp/wrong.ext"

# ---- the CA ---------------------------------------------------------------------------------
eckey "$tmp/ca.key"
run openssl req -new -x509 -key "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 -sha256 \
    -subj "/O=pam_acred tests/CN=pam_acred test CA" \
    -addext "basicConstraints = critical, CA:TRUE" \
    -addext "keyUsage = critical, keyCertSign, cRLSign" \
    -addext "subjectKeyIdentifier = hash"

# leaf NAME CN EXTFILE: a CA-signed certificate valid from now for 10 years
serial=1000
leaf() {
    serial=$((serial + 1))
    eckey "$tmp/$1.key"
    run openssl req -new -key "$tmp/$1.key" -out "$tmp/$1.csr" -subj "/O=pam_acred tests/CN=$2"
    run openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -set_serial "$serial" -days 3650 -sha256 -extfile "$3" -out "$tmp/$1.pem"
}

leaf server 127.0.0.1 "$tmp/leaf.ext"
leaf wronghost wrong.example "$tmp/wrong.ext"

# ---- self-signed, for 127.0.0.1 -------------------------------------------------------------
eckey "$tmp/selfsigned.key"
run openssl req -new -x509 -key "$tmp/selfsigned.key" -out "$tmp/selfsigned.pem" -days 3650 \
    -sha256 -subj "/O=pam_acred tests/CN=127.0.0.1" \
    -addext "basicConstraints = critical, CA:FALSE" \
    -addext "keyUsage = critical, digitalSignature" \
    -addext "extendedKeyUsage = serverAuth" \
    -addext "subjectAltName = IP:127.0.0.1, DNS:localhost"

# ---- expired: `openssl ca` takes explicit validity dates (x509 -req cannot before 3.4) -------
mkdir "$tmp/ca.db"
: >"$tmp/ca.db/index.txt"
echo 2001 >"$tmp/ca.db/serial"
cat >"$tmp/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $tmp/ca.db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $tmp/ca.pem
private_key = $tmp/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
organizationName = optional
commonName = supplied
EOF
eckey "$tmp/expired.key"
run openssl req -new -key "$tmp/expired.key" -out "$tmp/expired.csr" \
    -subj "/O=pam_acred tests/CN=127.0.0.1"
run openssl ca -batch -notext -config "$tmp/ca.cnf" -in "$tmp/expired.csr" \
    -out "$tmp/expired.pem" -startdate 20200101000000Z -enddate 20200102000000Z \
    -extfile "$tmp/leaf.ext"

# ---- JWT signing keys -----------------------------------------------------------------------
rsakey "$tmp/rsa.pem"
eckey "$tmp/ec.pem"
rsakey "$tmp/rsa2.pem"

# ---- install --------------------------------------------------------------------------------
for n in $certs; do
    chmod 0644 "$tmp/$n.pem"
    chmod 0600 "$tmp/$n.key"
done
for n in $keys; do
    chmod 0600 "$tmp/$n.pem"
done
# keys first, then certificates, each by rename (atomic per file)
for n in $certs; do
    mv -f "$tmp/$n.key" "$dir/$n.key"
    mv -f "$tmp/$n.pem" "$dir/$n.pem"
done
for n in $keys; do
    mv -f "$tmp/$n.pem" "$dir/$n.pem"
done
exit 0
