# shellcheck shell=bash
# mariadb: MariaDB (MySQL protocol) on 127.0.0.1:13306 with its own datadir,
# socket and PID file under .infra/mariadb — independent of any system
# mariadb service (which is never touched). TLS is offered on the same port
# (in-band, after SSLRequest) with the lab CA's server certificate.
#
# Provisioned on every `up` (idempotent): database `lab`; users
#   lab@'%', lab@'127.0.0.1', lab@localhost   password 'lab', mysql_native_password
#   lab_ed25519@'%', lab_ed25519@'127.0.0.1'  password 'lab', client_ed25519
#                                             (only if auth_ed25519 can be installed)
# all with ALL PRIVILEGES on lab.*, plus PROCESS (so a second connection of
# the same user can KILL QUERY a timed-out statement; the same user needs
# no extra privilege for that, PROCESS only helps diagnostics).

MARIADB_PORT=13306
MARIADB_DIR=$INFRA_DIR/mariadb
MARIADB_DATA=$MARIADB_DIR/data
MARIADB_SOCKET=$MARIADB_DIR/mariadbd.sock
MARIADB_PIDFILE=$MARIADB_DIR/mariadbd.pid
MARIADB_LOG=$MARIADB_DIR/error.log
MARIADB_START_TIMEOUT=${LAB_MARIADB_START_TIMEOUT:-60}
MARIADB_CLIENT_TIMEOUT=${LAB_MARIADB_CLIENT_TIMEOUT:-10}

lab_service mariadb mariadb "MariaDB (MySQL protocol, TLS in-band), $LAB_HOST:$MARIADB_PORT"

# Resolved path of mariadbd, as it appears in /proc/PID/exe.
mariadb_exe() {
    if [[ -z ${_MARIADB_EXE:-} ]]; then
        local p
        p=$(command -v mariadbd 2>/dev/null || true)
        [[ -n $p ]] || { [[ -x /usr/sbin/mariadbd ]] && p=/usr/sbin/mariadbd; }
        [[ -n $p ]] || die "mariadbd not found; run scripts/setup (mariadb-server)"
        _MARIADB_EXE=$(readlink -f "$p")
    fi
    printf '%s\n' "$_MARIADB_EXE"
}

mariadb_pid() {
    pidfile_ours "$MARIADB_PIDFILE" "$(mariadb_exe)" "$MARIADB_DIR" || true
}

# mariadb_root_sql SQL — run SQL as root over our own socket, bounded.
mariadb_root_sql() {
    timeout "$MARIADB_CLIENT_TIMEOUT" mariadb --no-defaults --protocol=socket -S "$MARIADB_SOCKET" \
        -uroot --batch --skip-column-names -e "$1" </dev/null
}

mariadb_ping() {
    timeout "$MARIADB_CLIENT_TIMEOUT" mariadb-admin --no-defaults --protocol=socket -S "$MARIADB_SOCKET" \
        -uroot --connect-timeout=2 ping </dev/null >/dev/null 2>&1
}

mariadb_init_datadir() {
    [[ -d $MARIADB_DATA/mysql ]] && return 0
    log "mariadb: initialising datadir $MARIADB_DATA"
    rm -rf "$MARIADB_DATA"
    mkdir -p "$MARIADB_DATA"
    local user_opt=()
    [[ $(id -u) == 0 ]] && user_opt=(--user=root)
    if ! (cd "$MARIADB_DIR" && without_lock_fd timeout 120 mariadb-install-db --no-defaults \
        --datadir="$MARIADB_DATA" "${user_opt[@]}" \
        --auth-root-authentication-method=normal --skip-test-db \
        </dev/null >"$MARIADB_DIR/install.out" 2>&1); then
        tail_log "$MARIADB_DIR/install.out"
        rm -rf "$MARIADB_DATA"
        die "mariadb: mariadb-install-db failed"
    fi
}

mariadb_provision() {
    local sql ed=0
    # lab: tests; lab_exp: the experiments (the harness empties its tables at each run).
    sql="CREATE DATABASE IF NOT EXISTS lab; CREATE DATABASE IF NOT EXISTS lab_exp;"
    local host
    for host in "%" "127.0.0.1" "localhost"; do
        sql+="CREATE USER IF NOT EXISTS 'lab'@'$host' IDENTIFIED VIA mysql_native_password USING PASSWORD('lab');"
        sql+="GRANT ALL PRIVILEGES ON lab.* TO 'lab'@'$host';"
        sql+="GRANT ALL PRIVILEGES ON lab_exp.* TO 'lab'@'$host';"
        sql+="GRANT PROCESS ON *.* TO 'lab'@'$host';"
    done
    mariadb_root_sql "$sql" || die "mariadb: provisioning database/users failed"

    if [[ $(mariadb_root_sql "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name='ed25519' AND plugin_status='ACTIVE'" 2>/dev/null) != 1 ]]; then
        mariadb_root_sql "INSTALL SONAME 'auth_ed25519'" >/dev/null 2>&1 || true
    fi
    if [[ $(mariadb_root_sql "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name='ed25519' AND plugin_status='ACTIVE'" 2>/dev/null) == 1 ]]; then
        sql=""
        for host in "%" "127.0.0.1"; do
            sql+="CREATE USER IF NOT EXISTS 'lab_ed25519'@'$host' IDENTIFIED VIA ed25519 USING PASSWORD('lab');"
            sql+="GRANT ALL PRIVILEGES ON lab.* TO 'lab_ed25519'@'$host';"
        done
        mariadb_root_sql "$sql" && ed=1
    fi
    ((ed)) || warn "mariadb: auth_ed25519 unavailable; user lab_ed25519 not created"
    mariadb_root_sql "FLUSH PRIVILEGES" || true
}

mariadb_up() {
    require_cmd mariadb mariadb-admin mariadb-install-db
    mariadb_exe >/dev/null
    tls_ensure_certs
    mkdir -p "$MARIADB_DIR"
    local pid deadline user_opt=()

    pid=$(mariadb_pid)
    if [[ -n $pid ]]; then
        kill -CONT "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        until mariadb_ping; do
            ((SECONDS < deadline)) || die "mariadb: PID $pid is running but does not answer ping; try 'scripts/infra down mariadb'"
            sleep 0.2
        done
        log "mariadb: already running (pid $pid, $LAB_HOST:$MARIADB_PORT)"
        mariadb_provision
        return 0
    fi
    rm -f "$MARIADB_PIDFILE"
    if port_open "$MARIADB_PORT"; then
        die "mariadb: $LAB_HOST:$MARIADB_PORT is already in use by a process not started by scripts/infra; stop it or free the port"
    fi

    mariadb_init_datadir
    [[ $(id -u) == 0 ]] && user_opt=(--user=root)
    rotate_log "$MARIADB_LOG"
    : >"$MARIADB_DIR/start.out"
    # mariadbd does not daemonize itself: start it in its own session, cwd in
    # our state dir (the ownership check relies on it), without the infra lock.
    # `exec` so that the background process IS mariadbd (no shell lingering
    # with the lock fd open); fd 9 is closed on the exec itself.
    (
        cd "$MARIADB_DIR" || exit 1
        exec 9>&-
        exec setsid mariadbd --no-defaults "${user_opt[@]}" \
            --datadir="$MARIADB_DATA" \
            --port="$MARIADB_PORT" --bind-address="$LAB_HOST" --skip-name-resolve \
            --socket="$MARIADB_SOCKET" --pid-file="$MARIADB_PIDFILE" \
            --log-error="$MARIADB_LOG" \
            --ssl-cert="$TLS_DIR/server.crt" --ssl-key="$TLS_DIR/server.key" --ssl-ca="$TLS_DIR/ca.crt" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            --max-connections=300 --max-allowed-packet=64M \
            --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
            --innodb-lock-wait-timeout=50 \
            --performance-schema=OFF --skip-log-bin \
            </dev/null >>"$MARIADB_DIR/start.out" 2>&1
    ) &
    printf '%s\n' "$!" >"$MARIADB_DIR/launcher.pid"

    deadline=$((SECONDS + MARIADB_START_TIMEOUT))
    while :; do
        pid=$(mariadb_pid)
        if [[ -n $pid ]] && mariadb_ping && port_open "$MARIADB_PORT"; then
            break
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$MARIADB_DIR/start.out"
            tail_log "$MARIADB_LOG"
            # Stop what we launched, if it is still ours.
            local lpid
            lpid=$(pidfile_ours "$MARIADB_DIR/launcher.pid" "$(mariadb_exe)" "$MARIADB_DIR" || true)
            [[ -n $lpid ]] && stop_pids "$lpid"
            die "mariadb: not answering on $LAB_HOST:$MARIADB_PORT ${MARIADB_START_TIMEOUT}s after start"
        fi
        sleep 0.2
    done
    rm -f "$MARIADB_DIR/launcher.pid"
    log "mariadb: started (pid $pid, $LAB_HOST:$MARIADB_PORT)"
    mariadb_provision
}

mariadb_down() {
    local keep=${1:-wipe} pid
    pid=$(mariadb_pid)
    if [[ -z $pid ]]; then
        log "mariadb: not running"
    else
        LAB_STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-30} stop_pids "$pid"
        log "mariadb: stopped (pid $pid)"
    fi
    rm -f "$MARIADB_PIDFILE" "$MARIADB_DIR/launcher.pid"
    if [[ $keep == wipe && -d $MARIADB_DATA ]]; then
        rm -rf "$MARIADB_DATA"
        log "mariadb: datadir wiped"
    fi
}

mariadb_running() { [[ -n $(mariadb_pid) ]]; }

mariadb_status() {
    local pid health=""
    pid=$(mariadb_pid)
    if [[ -z $pid ]]; then
        printf '%-22s %-8s %-10s %s\n' mariadb stopped - "$LAB_HOST:$MARIADB_PORT"
        return 1
    fi
    mariadb_ping || health=" (not answering ping)"
    printf '%-22s %-8s %-10s %s%s\n' mariadb running "pid $pid" "$LAB_HOST:$MARIADB_PORT" "$health"
    [[ -z $health ]]
}

mariadb_env() {
    echo "LAB_MYSQL_URL=mysql://lab:lab@$LAB_HOST:$MARIADB_PORT/lab"
    echo "LAB_MYSQL_EXP_URL=mysql://lab:lab@$LAB_HOST:$MARIADB_PORT/lab_exp"
    echo "LAB_MYSQL_TLS_CA=$TLS_DIR/ca.crt"
    if [[ $(mariadb_root_sql "SELECT COUNT(*) FROM mysql.user WHERE user='lab_ed25519'" 2>/dev/null) -ge 1 ]]; then
        echo "LAB_MYSQL_ED25519_URL=mysql://lab_ed25519:lab@$LAB_HOST:$MARIADB_PORT/lab"
    fi
}
