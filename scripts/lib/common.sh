# shellcheck shell=bash
# Shared helpers for scripts/setup, scripts/infra and scripts/test.
#
# Conventions:
#   - Messages go to stderr (log/warn/die); stdout is kept for machine-readable
#     output (e.g. `scripts/infra up` prints the env lines, so
#     `eval "$(scripts/infra up)"` works).
#   - Every long-running process we start is tracked by a PID file and is
#     stopped by that PID, after checking that the PID still belongs to the
#     process we started (same executable, working directory inside our state
#     dir). Nothing is ever stopped by name.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck disable=SC2034  # used by the scripts that source this file
INFRA_DIR=${LAB_INFRA_DIR:-$LAB_ROOT/.infra}
LAB_HOST=127.0.0.1

log()  { printf '%s %s\n' "${LAB_LOG_TAG:-[lab]}" "$*" >&2; }
warn() { printf '%s warning: %s\n' "${LAB_LOG_TAG:-[lab]}" "$*" >&2; }
die()  { printf '%s error: %s\n' "${LAB_LOG_TAG:-[lab]}" "$*" >&2; exit 1; }

# Swift lives in /opt/swift on the lab machines; put it on PATH if it is not
# there already.
ensure_swift_on_path() {
    if ! command -v swift >/dev/null 2>&1; then
        local d
        for d in "${LAB_SWIFT_BIN:-}" /opt/swift/usr/bin; do
            if [[ -n $d && -x $d/swift ]]; then
                PATH=$d:$PATH
                export PATH
                break
            fi
        done
    fi
    command -v swift >/dev/null 2>&1 \
        || die "swift not found on PATH (expected /opt/swift/usr/bin/swift; set LAB_SWIFT_BIN)"
}

require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found; run scripts/setup first"
    done
}

# ---------------------------------------------------------------------------
# Processes and PID files
# ---------------------------------------------------------------------------

# pid_alive PID — the process exists and is not a zombie.
pid_alive() {
    local pid=$1 stat state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    # Field 3 follows the parenthesised command name (which may contain spaces).
    state=${stat##*) }
    state=${state%% *}
    [[ $state != Z && $state != X ]]
}

# pid_state PID — single-letter state (R, S, D, T, t, Z, ...).
pid_state() {
    local stat state
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    printf '%s\n' "${state%% *}"
}

# pidfile_read FILE — prints the PID stored in FILE, fails if none.
pidfile_read() {
    local pid
    [[ -f $1 ]] || return 1
    read -r pid <"$1" 2>/dev/null || [[ -n ${pid:-} ]] || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

# pid_is_ours PID EXE DIR — PID is alive, runs EXE (resolved path) and its
# working directory is DIR or below (our daemons chdir into their state dir).
# This guards against PID reuse and against touching processes we did not start.
pid_is_ours() {
    local pid=$1 exe=$2 dir=$3 pexe pcwd
    pid_alive "$pid" || return 1
    pexe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    pexe=${pexe% (deleted)}
    [[ $pexe == "$exe" ]] || return 1
    pcwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    [[ $pcwd == "$dir" || $pcwd == "$dir"/* ]]
}

# pidfile_ours PIDFILE EXE DIR — prints the PID if the PID file names a live
# process of ours; fails (without touching anything) otherwise.
pidfile_ours() {
    local pid
    pid=$(pidfile_read "$1") || return 1
    pid_is_ours "$pid" "$2" "$3" || return 1
    printf '%s\n' "$pid"
}

# stop_pids PID... — SIGTERM (plus SIGCONT, in case a test SIGSTOPped it),
# wait up to LAB_STOP_TIMEOUT seconds, then SIGKILL whatever is left.
# Only call it with PIDs that passed pid_is_ours.
stop_pids() {
    (($#)) || return 0
    local timeout=${LAB_STOP_TIMEOUT:-10} pid left deadline
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
    done
    deadline=$((SECONDS + timeout))
    while :; do
        left=()
        for pid in "$@"; do pid_alive "$pid" && left+=("$pid"); done
        ((${#left[@]})) || return 0
        ((SECONDS < deadline)) || break
        sleep 0.1
    done
    warn "PID(s) ${left[*]} did not exit ${timeout}s after SIGTERM; sending SIGKILL"
    for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 5))
    while ((SECONDS < deadline)); do
        left=()
        for pid in "$@"; do pid_alive "$pid" && left+=("$pid"); done
        ((${#left[@]})) || return 0
        sleep 0.1
    done
    die "PID(s) ${left[*]} still alive after SIGKILL"
}

# port_open PORT — something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/$LAB_HOST/$1") 2>/dev/null
}

# Run a command with the infra lock fd closed, so daemons never inherit (and
# keep holding) the lock.
without_lock_fd() {
    "$@" 9>&-
}

# rotate_log FILE [MAX_BYTES] — before a server (re)opens FILE at start: if it has
# grown past MAX_BYTES (default 8 MiB, LAB_LOG_MAX_BYTES), keep it as FILE.1
# (replacing the previous one) so that a long-lived state dir does not grow
# without bound (MariaDB logs a line per aborted client, for instance).
rotate_log() {
    local f=$1 max=${2:-${LAB_LOG_MAX_BYTES:-8388608}} size
    [[ -f $f ]] || return 0
    size=$(stat -c %s "$f" 2>/dev/null || echo 0)
    if ((size > max)); then
        mv -f "$f" "$f.1"
        log "rotated $f ($size bytes) to $f.1"
    fi
}

# tail_log FILE [N] — show the end of a log to explain a failure.
tail_log() {
    local f=$1 n=${2:-20}
    [[ -s $f ]] || return 0
    printf '%s --- last %s lines of %s ---\n' "${LAB_LOG_TAG:-[lab]}" "$n" "$f" >&2
    tail -n "$n" "$f" >&2
    printf '%s ---\n' "${LAB_LOG_TAG:-[lab]}" >&2
}
