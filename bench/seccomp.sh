#!/usr/bin/env bash
# seccomp.sh: the seccomp backend against the preload backend: sequential connect rate through one socksifyd hop.
#
# usage: bench/seccomp.sh [--quick] [--reps R] [-n CONNS] [--no-build] [--raw FILE]
# The same plain client (bench/connrate.c) linked statically runs under the
# supervisor (what socksify picks for a static program), and linked
# dynamically under the library; the dynamic one under --backend seccomp
# too; each connects N times in a row to an echo server through one
# socksifyd hop, by address and by name; direct (static) is the ceiling.
# graftcp is not in Debian, so it has no row.  Medians of R runs, and
# ratios.  A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=5
N=1000
BUILD=1
RAW=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; N=300 ;;
	--reps) REPS=$2; shift ;;
	-n) N=$2; shift ;;
	--no-build) BUILD=0 ;;
	--raw) RAW=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$N in *[!0-9]*) die "--reps and -n take numbers" ;; esac
[ "$REPS" -ge 1 ] && [ "$N" -ge 1 ] || die "--reps and -n must be at least 1"

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_connrate socksifyd socksify socksify_run
LG=$BENCH_BUILD/bench/socksify_loadgen
CR=$BENCH_BUILD/bench/socksify_connrate
[ -x "$LG" ] && [ -x "$CR" ] && [ -x "$BENCH_BUILD/server/socksifyd" ] ||
    die "bench programs missing in $BENCH_BUILD (drop --no-build)"
CRS=$BENCH_WORK/connrate-static
cc -static -O2 -o "$CRS" "$BENCH_ROOT/bench/connrate.c" 2>"$BENCH_WORK/static.log" ||
    die "cannot link connrate statically: $(tail -3 "$BENCH_WORK/static.log")"
export SOCKSIFY_BUILD=$BENCH_BUILD
LAUNCHER=$BENCH_ROOT/scripts/socksify

"$LG" echo1 -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/echo.port" || die "echo server did not start"
EPORT=$(cat "$BENCH_WORK/echo.port")
start_server socksifyd
SPORT=$SRV_PORT

# Loopback is direct by default: everything, loopback too, goes through
# the chain here.
CONF=$BENCH_WORK/socksify.conf
printf 'direct = none\ndns = remote\n' >"$CONF"

ROWS="direct seccomp-static preload-dynamic seccomp-dynamic"
# row_cmd ROW PROXY_PORT: the command of a row, into CMD.
row_cmd() {
	local via=(-q -f "$CONF" -p "socks5://127.0.0.1:$2")
	case $1 in
	direct) CMD=("$CRS") ;;
	seccomp-static) CMD=("$LAUNCHER" "${via[@]}" "$CRS") ;;
	preload-dynamic) CMD=("$LAUNCHER" "${via[@]}" "$CR") ;;
	seccomp-dynamic) CMD=("$LAUNCHER" --backend seccomp "${via[@]}" "$CR") ;;
	esac
}

# Proof that each proxied row goes through the proxy: with the proxy's
# port dead, no connection may succeed.
DEAD=$(free_port)
for row in seccomp-static preload-dynamic seccomp-dynamic; do
	row_cmd "$row" "$DEAD"
	line=$(timeout 60 "${CMD[@]}" conn -n 1 127.0.0.1 "$EPORT" 2>&1 | tail -1)
	[ "$(kv ok "$line")" = 0 ] ||
	    die "$row reached the echo server with a dead proxy: it is not proxying ($line)"
done

for r in $(seq "$REPS"); do
	for host in 127.0.0.1 localhost; do
		for row in $ROWS; do
			[ "$row" = direct ] && [ "$host" = localhost ] && continue
			row_cmd "$row" "$SPORT"
			line=$(timeout 300 "${CMD[@]}" conn -n "$N" "$host" "$EPORT" 2>&1 | tail -1)
			[ -n "$RAW" ] && echo "key=$row/$host $line" >>"$RAW"
			if [ "$(kv errors "$line")" = 0 ]; then
				rec "$row/$host" "$(kv rate "$line")"
			else
				note "$row/$host: $line"
			fi
		done
	done
	note "rep $r done"
done

d=$(med direct/127.0.0.1)
printf '%-18s %-10s %12s %10s %12s\n' row host "conn/s" "/direct" "/preload"
for host in 127.0.0.1 localhost; do
	p=$(med "preload-dynamic/$host")
	for row in $ROWS; do
		[ "$row" = direct ] && [ "$host" = localhost ] && continue
		m=$(med "$row/$host")
		printf '%-18s %-10s %12s %10s %12s\n' "$row" "$host" "$(fmt "$m" 0)" \
		    "$(ratio "$m" "$d")" "$(ratio "$m" "$p")"
	done
done
note "n=$N reps=$REPS; by name (localhost): the static client resolves through the supervisor's name server, the dynamic one in the library; goal: seccomp-static at least 0.70 of preload-dynamic"
