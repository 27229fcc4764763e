#!/usr/bin/env bash
# The proxy example side by side with PgBouncer, on one throwaway
# PostgreSQL (scale-10 pgbench database): pgbench -S in simple, extended and
# prepared mode with 8 and 64 clients, direct, through PgBouncer
# (transaction pooling) and through the proxy (transaction pooling).
#
#   examples/proxy/bench.sh            # DURATION=10 by default
#   DURATION=5 examples/proxy/bench.sh
#   MODES=extended CLIENTS=64 examples/proxy/bench.sh   # one cell
#   ROUNDS=5 DURATION=3 MODES=extended CLIENTS=64 examples/proxy/bench.sh
#   COST=1 DURATION=8 MODES=simple CLIENTS=8 examples/proxy/bench.sh  # CPU, syscalls
#
# With ROUNDS > 1 each cell is run that many times, the three targets
# interleaved (direct, PgBouncer, proxy, direct, ...) so that a change in
# the machine's load hits all of them alike (the two poolers take turns
# going first); the table shows the median TPS and latency of the rounds,
# and the median of the per-round proxy / PgBouncer ratios (with 3 rounds
# or more, also their mean and its 95% confidence interval).
#
# PgBouncer and PostgreSQL run as daemons in sessions of their own; the
# proxy is started with `setsid` to match (under the kernel's autogroup
# scheduling, a process left in the benchmark shell's session would share
# one CPU share with pgbench, the load generator). The proxy runs one
# runtime thread (PROXY_THREADS=1), as PgBouncer runs one.
#
# Needs PostgreSQL's server binaries (pg_config --bindir), pgbench, and
# pgbouncer (Debian: apt-get install pgbouncer). Builds the proxy in
# release mode. Prints a Markdown table of TPS and average latency.
set -euo pipefail

DURATION=${DURATION:-10}
MODES=${MODES:-simple extended prepared}
CLIENTS=${CLIENTS:-8 64}
POOL_SIZE=${POOL_SIZE:-20}
PROXY_THREADS=${PROXY_THREADS:-1}
ROUNDS=${ROUNDS:-1}
cd "$(dirname "$0")/../.."
BINDIR=$(pg_config --bindir)
command -v pgbench >/dev/null || { echo "pgbench is not installed" >&2; exit 1; }
command -v pgbouncer >/dev/null || { echo "pgbouncer is not installed" >&2; exit 1; }

# The `dist` profile (Cargo.toml): release with whole-program optimisation,
# as a pooler binary would be built to ship. PROFILE=release for the
# quicker build.
PROFILE=${PROFILE:-dist}
cargo build --profile "$PROFILE" --example proxy -q
TARGET=${CARGO_TARGET_DIR:-target}
PROXY_BIN="$TARGET/$PROFILE/examples/proxy"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port); PGB_PORT=$(free_port); PROXY_PORT=$(free_port)

WORK=$(mktemp -d /tmp/pgwire-proxy-bench.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
    chown nobody: "$WORK"
    RUN_AS=(runuser -u nobody --)
fi
PROXY_PID=""
cleanup() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
    [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
    "${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

USER_NAME=bench
PASSWORD=bench-secret
"${RUN_AS[@]}" "$BINDIR/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
cat > "$WORK/data/pg_hba.conf" <<EOF
local all all trust
host all postgres 127.0.0.1/32 trust
host all $USER_NAME 127.0.0.1/32 scram-sha-256
EOF
cat >> "$WORK/data/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
max_connections = 200
fsync = off
synchronous_commit = off
shared_buffers = 256MB
EOF
"${RUN_AS[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w start >/dev/null
psql -X -q -h "$WORK" -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD'" \
    -c "CREATE DATABASE bench OWNER $USER_NAME"
PGPASSWORD=$PASSWORD pgbench -h 127.0.0.1 -p "$PG_PORT" -U "$USER_NAME" -i -s 10 -q bench >/dev/null 2>&1

cat > "$WORK/userlist.txt" <<EOF
"$USER_NAME" "$PASSWORD"
EOF
cat > "$WORK/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 500
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
EOF
chmod 600 "$WORK"/userlist.txt
[ "$(id -u)" = 0 ] && chown nobody: "$WORK"/pgbouncer.ini "$WORK"/userlist.txt
"${RUN_AS[@]}" pgbouncer -d "$WORK/pgbouncer.ini"

setsid "$PROXY_BIN" --listen "127.0.0.1:$PROXY_PORT" --primary "host=127.0.0.1 port=$PG_PORT sslmode=disable" \
    --users-file "$WORK/userlist.txt" --pool-mode transaction --pool-size "$POOL_SIZE" \
    --threads "$PROXY_THREADS" \
    > "$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
sleep 1
PGB_PID=$(cat "$WORK/pgbouncer.pid")

# COST=1: for the two poolers, CPU per transaction (user and system, from
# /proc), context switches per transaction (voluntary: it slept waiting
# for input; involuntary: preempted) and, when `perf` can count them,
# system calls per transaction; then the CPU per transaction of the
# PostgreSQL backends and of pgbench, and the whole machine's busy and
# idle time per transaction. On 2 cores the run is CPU-bound, so the TPS
# follows the sum: a pooler can cost the backends or pgbench CPU (by when
# it wakes them) as well as use its own. Sampled over the middle of each
# run, after the clients connected (SCRAM key derivation at connect time
# would count otherwise) and ending a second or two before pgbench does;
# the transactions in the window are estimated from pgbench's rate and the
# window's measured length. Printed to stderr, one line per run.
COST=${COST:-0}
TICK=$(getconf CLK_TCK)
SYSCALLS=raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl
sample() { # pooler-pid pgbench-pid -> "user system voluntary involuntary postgres pgbench busy idle"
    local backends
    backends=$(pgrep -d' ' -f "postgres: $USER_NAME bench" || true)
    echo "$(cut -d' ' -f14,15 "/proc/$1/stat")" \
        "$(awk '/^voluntary_ctxt/ {v=$2} /^nonvoluntary_ctxt/ {n=$2} END {print v, n}' "/proc/$1/status")" \
        "$(ticks $backends)" "$(ticks "$2")" \
        "$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat)"
}
ticks() { # pids -> user + system ticks of those still alive
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(cut -d' ' -f14 "/proc/$p/stat") + $(cut -d' ' -f15 "/proc/$p/stat")))
    done
    echo "$t"
}
# The /proc samples span `elapsed` seconds; perf counted system calls for
# `window` seconds (the length of its `sleep`) within them.
cost_line() { # name mode clients tps elapsed window before after [perf-output]
    local xacts counted
    xacts=$(awk -v t="$4" -v w="$5" 'BEGIN { print t * w }')
    counted=$(awk -v t="$4" -v w="$6" 'BEGIN { print t * w }')
    awk -v x="$xacts" -v k="$TICK" -v what="cost $1 $2 $3" -v a="$7" -v b="$8" 'BEGIN {
        split(a, s); split(b, e)
        printf "%s: CPU %.1f us/xact (user %.1f, system %.1f), switches %.2f voluntary + %.2f involuntary per xact",
            what, (e[1] - s[1] + e[2] - s[2]) * 1e6 / k / x, (e[1] - s[1]) * 1e6 / k / x,
            (e[2] - s[2]) * 1e6 / k / x, (e[3] - s[3]) / x, (e[4] - s[4]) / x
        printf "; postgres %.1f, pgbench %.1f, machine busy %.1f + idle %.1f us/xact",
            (e[5] - s[5]) * 1e6 / k / x, (e[6] - s[6]) * 1e6 / k / x,
            (e[7] - s[7]) * 1e6 / k / x, (e[8] - s[8]) * 1e6 / k / x }'
    if [ -n "${9:-}" ]; then
        awk -F, -v x="$counted" '$1 ~ /^[0-9]+$/ { n = $3; sub(/.*sys_enter_?/, "", n); if (n == "") n = "all";
            printf ", %s %.2f", n, $1 / x } END { print " syscalls/xact" }' "$9"
    else
        echo
    fi
}

run() { # port mode clients [pooler-pid pooler-name] -> "tps latency_ms" or "failed"
    local log="$WORK/pgbench.out" before="" after="" window=$((DURATION - 3)) counts="" started elapsed
    PGPASSWORD=$PASSWORD PGSSLMODE=disable pgbench -h 127.0.0.1 -p "$1" -U "$USER_NAME" \
        -M "$2" -c "$3" -j 2 -T "$DURATION" -S -n bench > "$log" 2>&1 &
    local bench=$!
    if [ "$COST" = 1 ] && [ -n "${4:-}" ] && [ "$window" -ge 1 ]; then
        sleep 1
        before=$(sample "$4" "$bench")
        started=$(date +%s.%N)
        if command -v perf >/dev/null \
            && perf stat -x, -o "$WORK/perf.out" -e "$SYSCALLS" -p "$4" -- sleep "$window" 2>/dev/null; then
            counts="$WORK/perf.out"
        else
            sleep "$window"
        fi
        after=$(sample "$4" "$bench")
        elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    fi
    local status=0
    wait "$bench" || status=$?
    if [ "$status" = 0 ] && grep -q "number of failed transactions: 0" "$log"; then
        local tps lat
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log")
        lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$log")
        if [ -n "$after" ]; then
            cost_line "$5" "$2" "$3" "$tps" "$elapsed" "$window" "$before" "$after" "$counts" >&2
        fi
        printf "%.0f %.3f" "$tps" "$lat"
    else
        echo "failed"
    fi
}

echo
# The median of "tps latency" pairs (by TPS), or "failed" if any failed.
median() {
    local v
    for v in "$@"; do [ "$v" = failed ] && { echo failed; return; }; done
    printf "%s\n" "$@" | sort -n -k1,1 | sed -n "$(( ($# + 1) / 2 ))p"
}

# "mean [low, high]": the mean of the per-round ratios and its 95%
# confidence interval (Student's t; the rounds taken as independent).
mean_interval() {
    printf "%s\n" "$@" | awk '{ x[NR] = $1; s += $1 } END {
        n = NR; m = s / n
        for (i = 1; i <= n; i++) v += (x[i] - m) ^ 2
        sd = sqrt(v / (n - 1))
        split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 2.13 2.12 2.11 2.10 2.09", t)
        q = (n - 1 <= 19) ? t[n - 1] : 2.0
        h = q * sd / sqrt(n)
        printf "%.3f [%.3f, %.3f]", m, m - h, m + h }'
}

echo "pgbench -S -j 2 -T $DURATION, scale 10, pool size $POOL_SIZE, proxy threads $PROXY_THREADS, median of $ROUNDS round(s) (PgBouncer $(pgbouncer --version | head -1 | awk '{print $2}'), PostgreSQL $(pg_config --version | awk '{print $2}'))"
echo
echo "| mode | clients | direct TPS | PgBouncer TPS | proxy TPS | proxy / PgBouncer | added latency vs direct (ms): PgBouncer / proxy |"
echo "|---|---|---|---|---|---|---|"
for mode in $MODES; do
    for clients in $CLIENTS; do
        ds=(); bs=(); ps=(); ratios=()
        for r in $(seq "$ROUNDS"); do
            ds+=("$(run "$PG_PORT" $mode $clients)")
            # The two poolers take turns going first.
            if [ $((r % 2)) = 1 ]; then
                bs+=("$(run "$PGB_PORT" $mode $clients "$PGB_PID" pgbouncer)")
                ps+=("$(run "$PROXY_PORT" $mode $clients "$PROXY_PID" proxy)")
            else
                ps+=("$(run "$PROXY_PORT" $mode $clients "$PROXY_PID" proxy)")
                bs+=("$(run "$PGB_PORT" $mode $clients "$PGB_PID" pgbouncer)")
            fi
            bl=${bs[-1]}; pl=${ps[-1]}
            if [ "$bl" != failed ] && [ "$pl" != failed ]; then
                ratios+=("$(awk -v b="${bl% *}" -v p="${pl% *}" 'BEGIN { printf "%.3f", p / b }')")
            fi
        done
        d=$(median "${ds[@]}"); b=$(median "${bs[@]}"); p=$(median "${ps[@]}")
        if [ "$ROUNDS" -gt 1 ]; then
            echo "rounds $mode $clients: direct ${ds[*]// /@} | pgbouncer ${bs[*]// /@} | proxy ${ps[*]// /@} | proxy/pgbouncer per round ${ratios[*]:-}" >&2
        fi
        ratio="-"; lat="-"
        if [ "${#ratios[@]}" -gt 0 ] && [ "${#ratios[@]}" = "$ROUNDS" ]; then
            # Median of the per-round ratios: each compares runs minutes
            # apart at most, under about the same load.
            ratio="$(printf "%s\n" "${ratios[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")x"
            if [ "$ROUNDS" -ge 3 ]; then
                ratio="$ratio (mean $(mean_interval "${ratios[@]}"))"
            fi
        fi
        if [ "$d" != failed ]; then
            lb=$([ "$b" != failed ] && awk -v d="${d#* }" -v x="${b#* }" 'BEGIN { printf "%.3f", x - d }' || echo "-")
            lp=$([ "$p" != failed ] && awk -v d="${d#* }" -v x="${p#* }" 'BEGIN { printf "%.3f", x - d }' || echo "-")
            lat="$lb / $lp"
        fi
        echo "| $mode | $clients | ${d% *} | ${b% *} | ${p% *} | $ratio | $lat |"
    done
done
