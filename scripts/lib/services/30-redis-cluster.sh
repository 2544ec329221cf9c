# shellcheck shell=bash
# redis-cluster: 6 redis-server nodes on 127.0.0.1:17000-17005, 3 primaries
# with one replica each, created with `redis-cli --cluster create`.
#
# State: .infra/redis-cluster/<port>/{redis.conf,nodes.conf,redis.pid,redis.log}
# and .infra/redis-cluster/created (written once creation finished and the
# cluster was seen healthy).
#
# Choices (see also `scripts/infra --help`):
#  - cluster-node-timeout 2000: a killed primary is failed over in ~2-4 s.
#  - cluster-replica-validity-factor 0: a replica always stands for election,
#    however long it was disconnected, so failover tests are deterministic.
#  - cluster-require-full-coverage stays at the default (yes): while a
#    primary is down and not yet failed over, the whole cluster answers
#    CLUSTERDOWN, as production clusters do. Tests of failover must retry
#    until the cluster is back (bounded), which is the behaviour we want
#    clients to handle.
#  - No persistence: a primary restarted before its replica took over comes
#    back as an empty primary and its replica resyncs to empty (data loss) —
#    that is real Redis behaviour, not an infra bug.
#  - `up` on an existing cluster restarts dead nodes (they rejoin from their
#    nodes.conf); if the cluster is not healthy within
#    LAB_REDIS_CLUSTER_HEAL_WAIT seconds, or creation never finished, the
#    state is wiped and a fresh cluster is created.
#  - `down` wipes the cluster state unless --keep is given, so every `up`
#    after a `down` gives the same fresh topology (17000-17002 primaries).

REDIS_CLUSTER_PORTS=(17000 17001 17002 17003 17004 17005)
REDIS_CLUSTER_DIR=$INFRA_DIR/redis-cluster
REDIS_CLUSTER_MARKER=$REDIS_CLUSTER_DIR/created
REDIS_CLUSTER_WAIT=${LAB_REDIS_CLUSTER_WAIT:-60}
REDIS_CLUSTER_HEAL_WAIT=${LAB_REDIS_CLUSTER_HEAL_WAIT:-30}
REDIS_CLUSTER_NODE_TIMEOUT_MS=2000

lab_service redis-cluster redis_cluster \
    "Redis Cluster, 3 primaries + 3 replicas, $LAB_HOST:${REDIS_CLUSTER_PORTS[0]}-${REDIS_CLUSTER_PORTS[-1]}"

_rc_dir() { printf '%s\n' "$REDIS_CLUSTER_DIR/$1"; }

_rc_write_conf() {
    local port=$1 dir
    dir=$(_rc_dir "$port")
    mkdir -p "$dir"
    {
        redis_common_conf "$dir"
        cat <<CONF
port $port
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $REDIS_CLUSTER_NODE_TIMEOUT_MS
cluster-replica-validity-factor 0
cluster-announce-ip $LAB_HOST
CONF
    } | write_if_changed "$dir/redis.conf"
}

_rc_start_nodes() {
    local port
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        _rc_write_conf "$port"
        redis_start "redis-cluster:$port" "$(_rc_dir "$port")" "$port"
    done
}

_rc_stop_nodes() {
    local port pid pids=() ports=()
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        pid=$(redis_pid "$(_rc_dir "$port")")
        if [[ -n $pid ]]; then
            pids+=("$pid")
            ports+=("$port")
        fi
    done
    ((${#pids[@]} == 0)) || stop_pids "${pids[@]}"
    # All nodes are stopped now; any remaining PID file is stale.
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do rm -f "$(_rc_dir "$port")/redis.pid"; done
    if ((${#pids[@]} == 0)); then
        [[ ${1:-} == quiet ]] || log "redis-cluster: not running"
        return 0
    fi
    log "redis-cluster: stopped nodes ${ports[*]} (pids ${pids[*]})"
}

_rc_wipe() {
    local port
    _rc_stop_nodes "$@"
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do rm -rf "$(_rc_dir "$port")"; done
    rm -f "$REDIS_CLUSTER_MARKER" "$REDIS_CLUSTER_DIR/create.log"
}

# _rc_problems — prints what is wrong with the cluster, one line each;
# prints nothing (and returns 0) when it is healthy: every node answers and
# sees cluster_state:ok, 16384 slots ok, 6 known nodes, 3 primaries each
# with a connected replica, no node flagged fail/handshake/noaddr, and every
# replica's link to its primary is up.
_rc_problems() {
    local port info nodes want_nodes=${#REDIS_CLUSTER_PORTS[@]} out="" v
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        if ! info=$(rcli "$port" CLUSTER INFO | tr -d '\r') || [[ -z $info ]]; then
            out+="$port: not answering"$'\n'
            continue
        fi
        v=$(sed -n 's/^cluster_state://p' <<<"$info")
        [[ $v == ok ]] || out+="$port: cluster_state:$v"$'\n'
        v=$(sed -n 's/^cluster_slots_ok://p' <<<"$info")
        [[ $v == 16384 ]] || out+="$port: cluster_slots_ok:$v (want 16384)"$'\n'
        v=$(sed -n 's/^cluster_known_nodes://p' <<<"$info")
        [[ $v == "$want_nodes" ]] || out+="$port: cluster_known_nodes:$v (want $want_nodes)"$'\n'
        nodes=$(rcli "$port" CLUSTER NODES | tr -d '\r') || nodes=""
        v=$(awk -v port="$port" '
            { id[NR] = $1; flags[NR] = $3; master[NR] = $4; link[NR] = $8; nslots[NR] = NF - 8 }
            END {
                m = 0; s = 0
                for (i = 1; i <= NR; i++) {
                    if (flags[i] ~ /(^|,)(fail\??|handshake|noaddr)(,|$)/)
                        printf "%s: node %s flagged %s\n", port, id[i], flags[i]
                    if (link[i] != "connected")
                        printf "%s: node %s link %s\n", port, id[i], link[i]
                    if (flags[i] ~ /master/ && nslots[i] > 0) { m++; ismaster[id[i]] = 1 }
                    if (flags[i] ~ /slave/) { s++; replicas[master[i]]++ }
                }
                if (m != 3) printf "%s: sees %d primaries with slots (want 3)\n", port, m
                if (s != 3) printf "%s: sees %d replicas (want 3)\n", port, s
                for (k in ismaster) if (!replicas[k]) printf "%s: primary %s has no replica\n", port, k
            }' <<<"$nodes")
        [[ -z $v ]] || out+="$v"$'\n'
        if [[ $(rcli "$port" ROLE | head -n 1 | tr -d '\r') == slave ]]; then
            v=$(rcli "$port" INFO replication | tr -d '\r' | sed -n 's/^master_link_status://p')
            [[ $v == up ]] || out+="$port: replica link to primary: ${v:-unknown}"$'\n'
        fi
    done
    printf '%s' "$out"
    [[ -z $out ]]
}

# _rc_wait_healthy SECONDS — bounded wait for _rc_problems to be empty.
_rc_wait_healthy() {
    local secs=$1 deadline
    deadline=$((SECONDS + secs))
    while :; do
        _rc_problems >/dev/null && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

_rc_create() {
    local port addrs=() t0=$SECONDS
    _rc_wipe quiet
    mkdir -p "$REDIS_CLUSTER_DIR"
    _rc_start_nodes
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do addrs+=("$LAB_HOST:$port"); done
    log "redis-cluster: creating cluster (${addrs[*]}, 1 replica per primary)"
    if ! timeout 60 "$REDIS_CLI_BIN" --cluster create "${addrs[@]}" \
        --cluster-replicas 1 --cluster-yes </dev/null >"$REDIS_CLUSTER_DIR/create.log" 2>&1; then
        tail_log "$REDIS_CLUSTER_DIR/create.log" 40
        die "redis-cluster: 'redis-cli --cluster create' failed (full output in $REDIS_CLUSTER_DIR/create.log)"
    fi
    if ! _rc_wait_healthy "$REDIS_CLUSTER_WAIT"; then
        _rc_problems | sed 's/^/  /' >&2 || true
        tail_log "$REDIS_CLUSTER_DIR/create.log" 20
        die "redis-cluster: not healthy ${REDIS_CLUSTER_WAIT}s after creation (logs: $REDIS_CLUSTER_DIR/<port>/redis.log)"
    fi
    date -u +%Y-%m-%dT%H:%M:%SZ >"$REDIS_CLUSTER_MARKER"
    log "redis-cluster: created and healthy in $((SECONDS - t0))s"
}

redis_cluster_up() {
    local port complete=1 any=0 t0=$SECONDS
    mkdir -p "$REDIS_CLUSTER_DIR"
    [[ -f $REDIS_CLUSTER_MARKER ]] || complete=0
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        if [[ -s $(_rc_dir "$port")/nodes.conf ]]; then any=1; else complete=0; fi
    done

    if ((complete)); then
        _rc_start_nodes
        if _rc_wait_healthy "$REDIS_CLUSTER_HEAL_WAIT"; then
            log "redis-cluster: healthy (cluster_state:ok, 3 primaries + 3 replicas) after $((SECONDS - t0))s"
            return 0
        fi
        warn "redis-cluster: existing cluster not healthy after ${REDIS_CLUSTER_HEAL_WAIT}s:"
        _rc_problems | sed 's/^/  /' >&2 || true
        warn "redis-cluster: wiping its state and creating a fresh cluster"
    elif ((any)); then
        warn "redis-cluster: incomplete state (creation interrupted, or a node lost its nodes.conf); wiping it and creating a fresh cluster"
    fi
    _rc_create
}

# redis_cluster_down keep|wipe
redis_cluster_down() {
    if [[ ${1:-wipe} == keep ]]; then
        _rc_stop_nodes
        log "redis-cluster: state kept (next 'up' restarts the same cluster)"
    else
        _rc_wipe
        log "redis-cluster: state wiped (next 'up' creates a fresh cluster)"
    fi
}

redis_cluster_running() {
    local port
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        [[ -n $(redis_pid "$(_rc_dir "$port")") ]] && return 0
    done
    return 1
}

redis_cluster_status() {
    local port rc=0 line role problems
    for port in "${REDIS_CLUSTER_PORTS[@]}"; do
        if line=$(redis_status_line "redis-cluster:$port" "$(_rc_dir "$port")" "$port"); then
            role=$(rcli "$port" ROLE | head -n 1 | tr -d '\r')
            case $role in master) role=primary ;; slave) role=replica ;; esac
            printf '%s  %s\n' "$line" "$role"
        else
            printf '%s\n' "$line"
            rc=1
        fi
    done
    if ((rc == 0)); then
        if problems=$(_rc_problems); then
            printf '%-22s %s\n' redis-cluster "healthy: cluster_state:ok, 3 primaries + 3 replicas"
        else
            printf '%-22s %s\n' redis-cluster "NOT healthy:"
            printf '%s\n' "$problems" | sed 's/^/    /'
            rc=1
        fi
    fi
    return "$rc"
}

redis_cluster_env() {
    echo "LAB_REDIS_CLUSTER=$LAB_HOST:17000,$LAB_HOST:17001,$LAB_HOST:17002"
}
