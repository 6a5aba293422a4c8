#!/usr/bin/env bash
# mkca.sh DIR
#
# Make throw-away test PKI in DIR (EC P-256 keys, SHA-256, X.509 v3):
#   ca.pem, ca.key                 test CA ("iiifstitch test CA")
#   server.pem, server.key         server cert CN=localhost, SAN DNS:localhost, IP:127.0.0.1,
#                                  signed by the test CA
#   rogue-ca.pem, rogue-ca.key     an unrelated CA, same subject layout, never trusted
#   rogue.pem, rogue.key           server cert for localhost/127.0.0.1 signed by the rogue CA
# Works with a TLS 1.2 ECDHE-ECDSA client (mbedTLS 2.28).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

cat >openssl.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyAgreement
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 600 "$1"
}

serial() {
    echo "0x$(openssl rand -hex 8)"
}

# ca NAME CN
ca() {
    newkey "$1.key"
    openssl req -config openssl.cnf -new -x509 -key "$1.key" -sha256 -days 3650 \
        -subj "/O=iiifstitch tests/CN=$2" -extensions v3_ca -set_serial "$(serial)" \
        -out "$1.pem"
}

# server NAME CA
server() {
    newkey "$1.key"
    openssl req -config openssl.cnf -new -key "$1.key" -subj "/O=iiifstitch tests/CN=localhost" \
        -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$(serial)" \
        -days 825 -sha256 -extfile openssl.cnf -extensions v3_server -out "$1.pem" 2>/dev/null
    rm -f "$1.csr"
}

ca ca "iiifstitch test CA"
server server ca
ca rogue-ca "iiifstitch rogue CA"
server rogue rogue-ca

openssl verify -CAfile ca.pem server.pem >/dev/null
openssl verify -CAfile rogue-ca.pem rogue.pem >/dev/null
if openssl verify -CAfile ca.pem rogue.pem >/dev/null 2>&1; then
    echo "mkca: rogue certificate verifies against the test CA" >&2
    exit 1
fi
