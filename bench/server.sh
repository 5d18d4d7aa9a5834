#!/usr/bin/env bash
# server.sh: socksifyd against microsocks and danted (and direct loopback as the ceiling).
#
# usage: bench/server.sh [--quick] [--reps R] [--secs S] [--servers "direct forwarder socksifyd ..."]
#                        [--sessions N] [--server-close] [--pin] [--no-build] [--raw FILE]
# Prints a table of medians and the ratios the project's goals are about.
# A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=3
SECS=5
WARMUP=0.5
SESSIONS=1000
CONCS="1 16 128"
STREAMS="1 4"
SERVERS="direct forwarder socksifyd microsocks danted"
BUILD=1
RAW=
PIN=0
# The client closes after the echo, from its own source address (see README).
CLOSE="--client-close --source 127.0.0.2:0"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; SECS=2; WARMUP=0.2 ;;
	--reps) REPS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--sessions) SESSIONS=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--no-build) BUILD=0 ;;
	--server-close) CLOSE= ;;
	--pin) PIN=1 ;;
	--raw) RAW=$2; shift ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$SECS$SESSIONS in *[!0-9.]*) die "--reps, --secs and --sessions take numbers" ;; esac

ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$PIN" = 1 ]; then
	# One CPU for the proxy (all its threads and processes), the last for
	# the load generator and the target servers: a per-core comparison.
	[ "$(nproc)" -ge 2 ] || die "--pin needs two CPUs"
	PIN_PROXY=(taskset -c 0)
	PIN_LOAD=(taskset -c "$(($(nproc) - 1))")
fi

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_fwd -- socksifyd
LG=$BENCH_BUILD/bench/socksify_loadgen
[ -x "$LG" ] || die "no $LG (build first or drop --no-build)"
case " $SERVERS " in *" socksifyd "*)
	[ -x "$BENCH_BUILD/server/socksifyd" ] || { note "no socksifyd binary: left out"; SERVERS=${SERVERS/socksifyd/}; } ;;
esac
for s in microsocks danted; do
	case " $SERVERS " in *" $s "*)
		command -v "$s" >/dev/null || { note "$s not installed: left out"; SERVERS=${SERVERS/$s/}; } ;;
	esac
done
SERVERS=$(echo $SERVERS)

# ---- the target servers: echo1 (cycles), echo (idle) and source (bulk) ----
"${PIN_LOAD[@]}" "$LG" echo -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
"${PIN_LOAD[@]}" "$LG" echo1 -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo1.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
"${PIN_LOAD[@]}" "$LG" source -l 127.0.0.1:0 --port-file "$BENCH_WORK/source.port" >/dev/null 2>&1 &
SOURCE_PID=$!
BENCH_PIDS+=("$SOURCE_PID")
wait_file "$BENCH_WORK/echo.port" && wait_file "$BENCH_WORK/echo1.port" &&
    wait_file "$BENCH_WORK/source.port" ||
    die "echo/source servers did not start"
ECHO=127.0.0.1:$(cat "$BENCH_WORK/echo.port")
ECHO1=127.0.0.1:$(cat "$BENCH_WORK/echo1.port")
SOURCE=127.0.0.1:$(cat "$BENCH_WORK/source.port")

declare -A PORT PID FWD FWDPID
# The bare forwarder (bench/fwd.c) speaks no SOCKS: one instance per
# target, and the load generator goes to it as if it were the target.
fwd_up() {
	local t dir
	for t in "$ECHO" "$ECHO1" "$SOURCE"; do
		dir=$BENCH_WORK/fwd.$RANDOM
		mkdir -p "$dir"
		"${PIN_PROXY[@]}" "$BENCH_BUILD/bench/socksify_fwd" -l 127.0.0.1:0 --to "$t" \
		    --port-file "$dir/port" >"$dir/out" 2>&1 &
		BENCH_PIDS+=("$!")
		FWDPID[$t]=$!
		wait_file "$dir/port" || die "socksify_fwd did not report a port: $(cat "$dir/out")"
		FWD[$t]=127.0.0.1:$(cat "$dir/port")
		wait_port "$(cat "$dir/port")" || die "socksify_fwd is not accepting"
	done
}
# spid SERVER TARGET: the PID whose memory and CPU count for SERVER when
# it carries traffic to TARGET.
spid() { if [ "$1" = forwarder ]; then echo "${FWDPID[$2]}"; else echo "${PID[$1]}"; fi; }
up() {
	local s
	for s in $SERVERS; do
		[ "$s" = direct ] && continue
		if [ "$s" = forwarder ]; then
			fwd_up
			continue
		fi
		start_server "$s"
		PORT[$s]=$SRV_PORT
		PID[$s]=$SRV_PID
	done
}
down() {
	local s p
	for s in $SERVERS; do
		[ "$s" = direct ] && continue
		if [ "$s" = forwarder ]; then
			for p in "${FWDPID[@]}"; do stop_pid "$p"; done
			continue
		fi
		stop_pid "${PID[$s]}"
	done
}
# The loadgen arguments that point at server $1, for the target $2.
via() {
	case $1 in
	direct) echo "--direct --target $2" ;;
	forwarder) echo "--direct --target ${FWD[$2]}" ;;
	*) echo "--proxy 127.0.0.1:${PORT[$1]} --target $2" ;;
	esac
}

note "servers: $SERVERS; reps=$REPS secs=$SECS sessions=$SESSIONS"

# ---- idle sessions: each repetition on freshly started servers, so that
# memory kept by earlier load does not hide the cost of a session ----
idle_run() {
	local s=$1 out=$BENCH_WORK/idle.out pid i m0 m1 line
	sleep 0.3
	m0=$(tree_mem "$(spid "$s" "$ECHO")")
	"${PIN_LOAD[@]}" "$LG" idle $(via "$s" "$ECHO") -c "$SESSIONS" --hold 60 --label "$s" >"$out" 2>&1 &
	pid=$!
	BENCH_PIDS+=("$pid")
	for i in $(seq 300); do
		grep -q '^mode=idle' "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	line=$(grep '^mode=idle' "$out")
	if [ -z "$line" ]; then
		note "idle $s: $(tail -1 "$out")"
		stop_pid "$pid"
		return
	fi
	sleep 0.5   # let a forking server settle
	m1=$(tree_mem "$(spid "$s" "$ECHO")")
	stop_pid "$pid"
	set -- $m0 $m1
	rec "idle/$s/rss" "$(awk -v a="$1" -v b="$3" -v n="$SESSIONS" 'BEGIN { printf "%.2f", (b - a) / n }')"
	rec "idle/$s/pss" "$(awk -v a="$2" -v b="$4" -v n="$SESSIONS" 'BEGIN { printf "%.2f", (b - a) / n }')"
	rec "idle/$s/base_rss" "$1"
}
for r in $(seq "$REPS"); do
	for s in $SERVERS; do
		[ "$s" = direct ] && continue
		SERVERS_SAVE=$SERVERS SERVERS=$s
		up
		idle_run "$s"
		down
		SERVERS=$SERVERS_SAVE
	done
done
note "idle done"

up

# ---- cycles: interleaved across servers so drift hits everyone alike ----
for r in $(seq "$REPS"); do
	for c in $CONCS; do
		for s in $SERVERS; do
			line=$("${PIN_LOAD[@]}" "$LG" cycles $(via "$s" "$ECHO1") -c "$c" -d "$SECS" $CLOSE \
			    --warmup "$WARMUP" --label "$s" 2>&1 | tail -1)
			[ -n "$RAW" ] && echo "$line" >>"$RAW"
			rec "cyc/$c/$s/rate" "$(kv rate "$line")"
			rec "cyc/$c/$s/p50" "$(kv p50_us "$line")"
			rec "cyc/$c/$s/p99" "$(kv p99_us "$line")"
			rec "cyc/$c/$s/errors" "$(kv errors "$line")"
			rec "cyc/$c/$s/stuck" "$(kv stuck "$line")"
		done
	done
	note "cycles rep $r done"
done

# ---- bulk: MiB/s, and CPU per GiB of every process involved ----
for r in $(seq "$REPS"); do
	for n in $STREAMS; do
		for s in $SERVERS; do
			p0=0 p1=0
			[ "$s" != direct ] && p0=$(tree_cpu "$(spid "$s" "$SOURCE")")
			s0=$(tree_cpu "$SOURCE_PID")
			line=$("${PIN_LOAD[@]}" "$LG" bulk $(via "$s" "$SOURCE") -c "$n" -d "$SECS" --label "$s" 2>&1 | tail -1)
			s1=$(tree_cpu "$SOURCE_PID")
			[ "$s" != direct ] && p1=$(tree_cpu "$(spid "$s" "$SOURCE")")
			[ -n "$RAW" ] && echo "$line proxy_cpu=$(awk -v a="$p0" -v b="$p1" 'BEGIN{print b-a}')" >>"$RAW"
			rec "bulk/$n/$s/mibs" "$(kv mib_s "$line")"
			rec "bulk/$n/$s/cpu" "$(awk -v c="$(kv cpu_client "$line")" -v b="$(kv bytes_total "$line")" \
			    -v p0="$p0" -v p1="$p1" -v s0="$s0" -v s1="$s1" 'BEGIN {
				if (c == "nan" || b + 0 == 0) { print "nan"; exit }
				printf "%.3f", (c + (p1 - p0) + (s1 - s0)) / (b / 1073741824) }')"
			rec "bulk/$n/$s/pcpu" "$(awk -v b="$(kv bytes_total "$line")" -v p0="$p0" -v p1="$p1" 'BEGIN {
				if (b + 0 == 0) { print "nan"; exit }
				printf "%.3f", (p1 - p0) / (b / 1073741824) }')"
		done
	done
	note "bulk rep $r done"
done

down

# ---- report ----
row() { # label key-pattern decimals (pattern has @ where the server goes)
	local label=$1 pat=$2 d=$3 s
	printf '%-30s' "$label"
	for s in $SERVERS; do
		printf ' %12s' "$(fmt "$(med "${pat//@/$s}")" "$d")"
	done
	printf '\n'
}
echo
echo "socksifyd server benchmark: medians of $REPS run(s), ${SECS}s each, $(nproc) CPUs, $(uname -r)"
if [ -n "$CLOSE" ]; then how="client closes after the echo"; else how="target closes, cycle ends at the client's EOF"; fi
[ "$PIN" = 1 ] && how="$how; proxy pinned to CPU 0, load and targets to CPU $(($(nproc) - 1))"
echo "cycles: $how; bulk: download from a source server; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s' ""
for s in $SERVERS; do printf ' %12s' "$s"; done
printf '\n'
for c in $CONCS; do
	row "cycles/s c=$c" "cyc/$c/@/rate" 0
done
for c in $CONCS; do
	row "cycle p50 us c=$c" "cyc/$c/@/p50" 0
	row "cycle p99 us c=$c" "cyc/$c/@/p99" 0
done
row "cycle errors c=128" "cyc/128/@/errors" 0
row "cycles stuck c=128" "cyc/128/@/stuck" 0
for n in $STREAMS; do
	row "bulk MiB/s $n stream(s)" "bulk/$n/@/mibs" 0
done
for n in $STREAMS; do
	row "CPU s/GiB all, $n stream(s)" "bulk/$n/@/cpu" 2
	row "CPU s/GiB proxy, $n stream(s)" "bulk/$n/@/pcpu" 2
done
row "idle KiB/session (RSS)" "idle/@/rss" 1
row "idle KiB/session (PSS)" "idle/@/pss" 1
row "base RSS KiB (fresh)" "idle/@/base_rss" 0

has() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
# best_peer PATTERN: the larger median of microsocks and danted for the key
# PATTERN (@ where the server goes), nan when neither ran.
best_peer() {
	local s v best=nan
	for s in microsocks danted; do
		has "$s" || continue
		v=$(med "${1//@/$s}")
		best=$(awk -v a="$best" -v b="$v" 'BEGIN { print (a == "nan" || b + 0 > a + 0) ? b : a }')
	done
	echo "$best"
}
best_peer_cyc=$(best_peer "cyc/128/@/rate")
echo
echo "ratios (goal in brackets):"
printf '  cycles/s c=128  socksifyd / forwarder = %s  [>= 0.85]\n' \
    "$(ratio "$(med cyc/128/socksifyd/rate)" "$(med cyc/128/forwarder/rate)")"
printf '  cycles/s c=128  socksifyd / best(microsocks, danted) = %s  [>= 2]\n' \
    "$(ratio "$(med cyc/128/socksifyd/rate)" "$best_peer_cyc")"
for n in $STREAMS; do
	best_peer_bulk=$(best_peer "bulk/$n/@/mibs")
	printf '  bulk %s stream(s) socksifyd / forwarder = %s  [>= 0.85]\n' "$n" \
	    "$(ratio "$(med "bulk/$n/socksifyd/mibs")" "$(med "bulk/$n/forwarder/mibs")")"
	printf '  bulk %s stream(s) socksifyd / best(microsocks, danted) = %s  [>= 2 at 4 streams]\n' "$n" \
	    "$(ratio "$(med "bulk/$n/socksifyd/mibs")" "$best_peer_bulk")"
	printf '  bulk %s stream(s) socksifyd / direct     = %s\n' "$n" \
	    "$(ratio "$(med "bulk/$n/socksifyd/mibs")" "$(med "bulk/$n/direct/mibs")")"
	printf '  proxy CPU/GiB %s stream(s) socksifyd / forwarder = %s  [<= 1.2]\n' "$n" \
	    "$(ratio "$(med "bulk/$n/socksifyd/pcpu")" "$(med "bulk/$n/forwarder/pcpu")")"
done
printf '  idle KiB/session socksifyd (RSS) = %s  [<= 1.5]\n' "$(fmt "$(med idle/socksifyd/rss)" 2)"
printf '  idle KiB/session socksifyd / microsocks (RSS) = %s  [< 1]\n' \
    "$(ratio "$(med idle/socksifyd/rss)" "$(med idle/microsocks/rss)")"
printf '  idle KiB/session socksifyd / microsocks (PSS) = %s  [< 1]\n' \
    "$(ratio "$(med idle/socksifyd/pss)" "$(med idle/microsocks/pss)")"
