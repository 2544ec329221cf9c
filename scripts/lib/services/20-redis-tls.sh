# shellcheck shell=bash
# redis-tls: standalone redis-server speaking TLS only on 127.0.0.1:16380
# (plain port disabled), server cert signed by the lab CA (see lib/tls.sh).
# Clients need no certificate (tls-auth-clients no); they verify the server
# with LAB_REDIS_TLS_CA.

REDIS_TLS_PORT=16380
REDIS_TLS_DIR=$INFRA_DIR/redis-tls

lab_service redis-tls redis_tls "standalone Redis over TLS, $LAB_HOST:$REDIS_TLS_PORT"

redis_tls_up() {
    tls_ensure_certs
    mkdir -p "$REDIS_TLS_DIR"
    {
        redis_common_conf "$REDIS_TLS_DIR"
        cat <<CONF
port 0
tls-port $REDIS_TLS_PORT
tls-cert-file "$TLS_DIR/server.crt"
tls-key-file "$TLS_DIR/server.key"
tls-ca-cert-file "$TLS_DIR/ca.crt"
tls-auth-clients no
CONF
    } | write_if_changed "$REDIS_TLS_DIR/redis.conf"
    redis_start redis-tls "$REDIS_TLS_DIR" "$REDIS_TLS_PORT" --tls --cacert "$TLS_DIR/ca.crt"
}

redis_tls_down() {
    redis_stop redis-tls "$REDIS_TLS_DIR"
}

redis_tls_running() { [[ -n $(redis_pid "$REDIS_TLS_DIR") ]]; }

redis_tls_status() {
    redis_status_line redis-tls "$REDIS_TLS_DIR" "$REDIS_TLS_PORT" --tls --cacert "$TLS_DIR/ca.crt"
}

redis_tls_env() {
    echo "LAB_REDIS_TLS_URL=rediss://$LAB_HOST:$REDIS_TLS_PORT"
    echo "LAB_REDIS_TLS_CA=$TLS_DIR/ca.crt"
}
