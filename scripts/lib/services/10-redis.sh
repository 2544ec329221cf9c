# shellcheck shell=bash
# redis: standalone redis-server on 127.0.0.1:16379, no persistence.

REDIS_PORT=16379
REDIS_DIR=$INFRA_DIR/redis

lab_service redis redis "standalone Redis, $LAB_HOST:$REDIS_PORT"

redis_up() {
    mkdir -p "$REDIS_DIR"
    {
        redis_common_conf "$REDIS_DIR"
        echo "port $REDIS_PORT"
    } | write_if_changed "$REDIS_DIR/redis.conf"
    redis_start redis "$REDIS_DIR" "$REDIS_PORT"
}

redis_down() {
    redis_stop redis "$REDIS_DIR"
}

redis_running() { [[ -n $(redis_pid "$REDIS_DIR") ]]; }

redis_status() { redis_status_line redis "$REDIS_DIR" "$REDIS_PORT"; }

redis_env() {
    echo "LAB_REDIS_URL=redis://$LAB_HOST:$REDIS_PORT"
}
