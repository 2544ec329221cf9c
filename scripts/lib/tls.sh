# shellcheck shell=bash
# Self-signed test PKI for the lab, made with the openssl CLI.
#
#   .infra/tls/ca.crt, ca.key          the lab CA: generated once, then reused
#                                       (tests and clients pin it via LAB_REDIS_TLS_CA)
#   .infra/tls/server.crt, server.key  server cert for 127.0.0.1 / localhost, signed
#                                       by the CA; regenerated when missing, not
#                                       signed by the current CA, or expiring soon
#
# Only `scripts/infra clean` deletes the CA.

TLS_DIR=$INFRA_DIR/tls

tls_ensure_certs() {
    require_cmd openssl
    mkdir -p "$TLS_DIR"
    chmod 755 "$TLS_DIR"   # ca.crt must be readable by tests; keys are 600
    local ca_crt=$TLS_DIR/ca.crt ca_key=$TLS_DIR/ca.key
    local srv_crt=$TLS_DIR/server.crt srv_key=$TLS_DIR/server.key
    local tmp

    if [[ ! -s $ca_crt || ! -s $ca_key ]] \
        || ! openssl x509 -in "$ca_crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
        log "tls: generating lab CA in $TLS_DIR"
        tmp=$(mktemp -d "$TLS_DIR/.tmp.XXXXXX")
        openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
            -subj "/O=Reliability Lab/CN=Reliability Lab Test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" >/dev/null 2>&1 \
            || { rm -rf "$tmp"; die "tls: openssl failed to create the CA"; }
        chmod 600 "$tmp/ca.key"
        mv -f "$tmp/ca.key" "$ca_key"
        mv -f "$tmp/ca.crt" "$ca_crt"
        rm -rf "$tmp"
        rm -f "$srv_crt" "$srv_key"   # must be re-signed by the new CA
    fi

    if [[ ! -s $srv_crt || ! -s $srv_key ]] \
        || ! openssl verify -CAfile "$ca_crt" "$srv_crt" >/dev/null 2>&1 \
        || ! openssl x509 -in "$srv_crt" -noout -checkend $((7 * 86400)) >/dev/null 2>&1; then
        log "tls: generating server certificate (IP:127.0.0.1, DNS:localhost)"
        tmp=$(mktemp -d "$TLS_DIR/.tmp.XXXXXX")
        cat >"$tmp/ext.cnf" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
        if ! {
            openssl req -new -newkey rsa:2048 -nodes -sha256 \
                -keyout "$tmp/server.key" -out "$tmp/server.csr" \
                -subj "/O=Reliability Lab/CN=localhost" &&
                openssl x509 -req -in "$tmp/server.csr" -sha256 -days 825 \
                    -CA "$ca_crt" -CAkey "$ca_key" \
                    -set_serial "0x$(openssl rand -hex 16)" \
                    -extfile "$tmp/ext.cnf" -out "$tmp/server.crt"
        } >/dev/null 2>&1; then
            rm -rf "$tmp"
            die "tls: openssl failed to create the server certificate"
        fi
        chmod 600 "$tmp/server.key"
        mv -f "$tmp/server.key" "$srv_key"
        mv -f "$tmp/server.crt" "$srv_crt"
        rm -rf "$tmp"
    fi
}
