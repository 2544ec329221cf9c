# shellcheck shell=bash
# kafka-mock: librdkafka's mock cluster (3 brokers on ephemeral 127.0.0.1
# ports), started through ctypes from the confluent-kafka wheel by
# scripts/lib/kafka_mock_cluster.py, with a fault-injection HTTP API on
# 127.0.0.1:19190 (broker down/up, leader moves, queued request errors).
# It has no CreateTopics over the wire (create topics through the control
# API), keeps about 5 MiB per partition, and models neither ISR nor
# read_committed filtering.

KAFKA_MOCK_CONTROL_PORT=19190
KAFKA_MOCK_DIR=$INFRA_DIR/kafka-mock
KAFKA_MOCK_PIDFILE=$KAFKA_MOCK_DIR/mock.pid
KAFKA_MOCK_BOOTSTRAP_FILE=$KAFKA_MOCK_DIR/bootstrap

lab_service kafka-mock kafka_mock "librdkafka mock cluster (3 brokers), control $LAB_HOST:$KAFKA_MOCK_CONTROL_PORT"

kafka_mock_exe() {
    local py=$LAB_ROOT/.venv/bin/python
    [[ -x $py ]] || die "kafka-mock: $py missing; run scripts/setup (creates .venv with confluent-kafka)"
    readlink -f "$py"
}

kafka_mock_pid() { pidfile_ours "$KAFKA_MOCK_PIDFILE" "$(kafka_mock_exe)" "$KAFKA_MOCK_DIR" || true; }

kafka_mock_up() {
    mkdir -p "$KAFKA_MOCK_DIR"
    local pid deadline
    pid=$(kafka_mock_pid)
    if [[ -n $pid ]]; then
        log "kafka-mock: already running (pid $pid, $(cat "$KAFKA_MOCK_BOOTSTRAP_FILE" 2>/dev/null))"
        return 0
    fi
    port_open "$KAFKA_MOCK_CONTROL_PORT" && die "kafka-mock: $LAB_HOST:$KAFKA_MOCK_CONTROL_PORT is in use by a process not started by scripts/infra"
    rm -f "$KAFKA_MOCK_BOOTSTRAP_FILE"
    rotate_log "$KAFKA_MOCK_DIR/mock.log"
    (
        cd "$KAFKA_MOCK_DIR" || exit 1
        # exec: the recorded PID is the mock itself, and the lock fd is not inherited.
        exec 9>&-
        exec setsid "$LAB_ROOT/.venv/bin/python" "$HERE/lib/kafka_mock_cluster.py" \
            --brokers 3 --control-port "$KAFKA_MOCK_CONTROL_PORT" --bootstrap-file "$KAFKA_MOCK_BOOTSTRAP_FILE" \
            </dev/null >>"$KAFKA_MOCK_DIR/mock.log" 2>&1 &
        printf '%s\n' "$!" >"$KAFKA_MOCK_PIDFILE"
    )
    deadline=$((SECONDS + 30))
    until [[ -s $KAFKA_MOCK_BOOTSTRAP_FILE ]] && port_open "$KAFKA_MOCK_CONTROL_PORT"; do
        if ((SECONDS >= deadline)) || [[ -z $(kafka_mock_pid) ]]; then
            tail_log "$KAFKA_MOCK_DIR/mock.log"
            pid=$(kafka_mock_pid)
            [[ -n $pid ]] && stop_pids "$pid"
            die "kafka-mock: did not start"
        fi
        sleep 0.2
    done
    log "kafka-mock: started (pid $(kafka_mock_pid), $(cat "$KAFKA_MOCK_BOOTSTRAP_FILE"))"
}

kafka_mock_down() {
    local pid
    pid=$(kafka_mock_pid)
    [[ -n $pid ]] && stop_pids "$pid"
    rm -f "$KAFKA_MOCK_PIDFILE" "$KAFKA_MOCK_BOOTSTRAP_FILE"
}

kafka_mock_running() { [[ -n $(kafka_mock_pid) ]]; }

kafka_mock_status() {
    local pid
    pid=$(kafka_mock_pid)
    if [[ -n $pid ]]; then
        printf '%-22s %-8s %-10s %s\n' kafka-mock running "pid $pid" "$(cat "$KAFKA_MOCK_BOOTSTRAP_FILE" 2>/dev/null)"
    else
        printf '%-22s %-8s %-10s %s\n' kafka-mock stopped - "control $LAB_HOST:$KAFKA_MOCK_CONTROL_PORT"
    fi
}

kafka_mock_env() {
    echo "LAB_KAFKA_MOCK_BOOTSTRAP=$(cat "$KAFKA_MOCK_BOOTSTRAP_FILE")"
    echo "LAB_KAFKA_MOCK_CONTROL=http://$LAB_HOST:$KAFKA_MOCK_CONTROL_PORT"
}
