#!/usr/bin/env bash
# udp.sh: UDP round-trip time and datagrams per second, direct and through each client and proxy.
#
# usage: bench/udp.sh [--quick] [--reps R] [-n N] [--secs S] [--window W]
#                     [--no-build] [--raw FILE]
# 64- and 1200-byte datagrams to a UDP echo server (loadgen udpecho):
# direct, socksify through socksifyd, danted and both (2 hops), Dante's
# client through danted, PySocks through socksifyd (and plain Python).
# A row whose client cannot carry UDP, or does not go through its proxy,
# is left out with a note.  A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=3
N=5000
SECS=2
WINDOW=16
BUILD=1
RAW=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; N=1000; SECS=1 ;;
	--reps) REPS=$2; shift ;;
	-n) N=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--window) WINDOW=$2; shift ;;
	--no-build) BUILD=0 ;;
	--raw) RAW=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$N$SECS$WINDOW in *[!0-9]*) die "--reps, -n, --secs and --window take whole numbers" ;; esac
[ "$REPS" -ge 1 ] && [ "$N" -ge 1 ] && [ "$SECS" -ge 1 ] && [ "$WINDOW" -ge 1 ] ||
    die "--reps, -n, --secs and --window must be at least 1"

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_udprtt -- socksifyd socksify socksify_run
LG=$BENCH_BUILD/bench/socksify_loadgen
UR=$BENCH_BUILD/bench/socksify_udprtt
PY=$BENCH_ROOT/bench/udprtt.py
[ -x "$LG" ] && [ -x "$UR" ] || die "bench programs missing in $BENCH_BUILD (drop --no-build)"
export SOCKSIFY_BUILD=$BENCH_BUILD
LAUNCHER=$BENCH_ROOT/scripts/socksify

# Rows: who sends, through what.  sx-* run the C client under scripts/socksify.
ROWS="direct sx-socksifyd sx-danted sx-2hop dante-danted py-direct pysocks-socksifyd"
drop() { # row reason
	note "$1 left out: $2"
	ROWS=$(echo " $ROWS " | sed "s/ $1 / /")
}
SERVERS=
if [ -x "$BENCH_BUILD/server/socksifyd" ]; then
	SERVERS="socksifyd"
else
	for r in sx-socksifyd sx-2hop pysocks-socksifyd; do drop "$r" "no socksifyd"; done
fi
if command -v danted >/dev/null; then
	SERVERS="$SERVERS danted"
else
	for r in sx-danted sx-2hop dante-danted; do drop "$r" "no danted"; done
fi
[ -x "$LAUNCHER" ] && [ -x "$BENCH_BUILD/preload/socksify-run" ] ||
    for r in sx-socksifyd sx-danted sx-2hop; do drop "$r" "no scripts/socksify or socksify-run"; done
[ -x /usr/bin/socksify ] || drop dante-danted "no Dante client (/usr/bin/socksify)"
if ! [ -x /usr/bin/python3 ]; then
	drop py-direct "no /usr/bin/python3"
	drop pysocks-socksifyd "no /usr/bin/python3"
elif ! /usr/bin/python3 -c 'import socks' 2>/dev/null; then
	drop pysocks-socksifyd "no PySocks (python3-socks)"
fi

"$LG" udpecho -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >"$BENCH_WORK/echo.out" 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/echo.port" || die "UDP echo server did not start: $(cat "$BENCH_WORK/echo.out")"
EPORT=$(cat "$BENCH_WORK/echo.port")

# danted relays UDP only when its socks pass rule allows it (read by start_server).
# shellcheck disable=SC2034
DANTED_COMMANDS="connect udpassociate udpreply"
declare -A PORT PID
for s in $SERVERS; do
	start_server "$s"
	PORT[$s]=$SRV_PORT
	PID[$s]=$SRV_PID
done

# Loopback stays direct by default ("loopback stays local"): the config
# sends everything through the chain, UDP included.
sx_conf() {
	local f=$BENCH_WORK/socksify.conf
	[ -f "$f" ] || printf 'direct = none\nudp = chain\n' >"$f"
	echo "$f"
}
dante_conf() {
	local f=$BENCH_WORK/dante.$1.conf
	[ -f "$f" ] || cat >"$f" <<-EOF
	route {
		from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $1
		proxyprotocol: socks_v5
		command: udpassociate
		method: none
	}
	EOF
	echo "$f"
}
# run ROW P1 P2 MODE ARGS...: one udprtt run for ROW, with the proxies on
# ports P1 (and, for 2 hops, P2); every run is bounded by a timeout.
run() {
	local row=$1 p1=$2 p2=$3 mode=$4
	shift 4
	case $row in
	direct) timeout 120 "$UR" "$mode" "$@" 127.0.0.1 "$EPORT" ;;
	sx-socksifyd|sx-danted)
		timeout 120 "$LAUNCHER" -f "$(sx_conf)" -q -p "socks5://127.0.0.1:$p1" \
		    "$UR" "$mode" "$@" 127.0.0.1 "$EPORT" ;;
	sx-2hop)
		timeout 120 "$LAUNCHER" -f "$(sx_conf)" -q -p "socks5://127.0.0.1:$p1" \
		    -p "socks5://127.0.0.1:$p2" "$UR" "$mode" "$@" 127.0.0.1 "$EPORT" ;;
	dante-danted)
		SOCKS_CONF=$(dante_conf "$p1") SOCKS_AUTOADD_LANROUTES=no \
		    timeout 120 /usr/bin/socksify "$UR" "$mode" "$@" 127.0.0.1 "$EPORT" ;;
	py-direct) timeout 120 /usr/bin/python3 "$PY" "$mode" "$@" 127.0.0.1 "$EPORT" ;;
	pysocks-socksifyd)
		timeout 120 /usr/bin/python3 "$PY" "$mode" "$@" --proxy "127.0.0.1:$p1" 127.0.0.1 "$EPORT" ;;
	esac
}
# The proxies each row goes through, live.
ports_of() {
	case $1 in
	sx-socksifyd|pysocks-socksifyd) echo "${PORT[socksifyd]} 0" ;;
	sx-danted|dante-danted) echo "${PORT[danted]} 0" ;;
	sx-2hop) echo "${PORT[socksifyd]} ${PORT[danted]}" ;;
	*) echo "0 0" ;;
	esac
}

# ---- proof: one echo through each row's proxy must come back, and with a
# proxy dead (each hop in turn) no echo may ----
DEAD=$(free_port)
for row in $ROWS; do
	read -r live1 live2 <<<"$(ports_of "$row")"
	if ! run "$row" "$live1" "$live2" rtt -n 1 -w 0 >"$BENCH_WORK/proof.out" 2>&1; then
		drop "$row" "no echo came back through it, it cannot carry UDP ($(grep -v '^mode=' "$BENCH_WORK/proof.out" | head -1))"
		continue
	fi
	case $row in direct|py-direct) continue ;; esac
	if run "$row" "$DEAD" "$live2" rtt -n 1 -w 0 >/dev/null 2>&1; then
		drop "$row" "an echo came back with its proxy dead: it is not proxying"
		continue
	fi
	if [ "$live2" != 0 ] && run "$row" "$live1" "$DEAD" rtt -n 1 -w 0 >/dev/null 2>&1; then
		drop "$row" "an echo came back with its second hop dead: it is not using the chain"
	fi
done
ROWS=$(echo $ROWS)
note "rows: $ROWS; reps=$REPS n=$N secs=$SECS window=$WINDOW"

# ---- measurements, interleaved: each repetition runs every row in turn ----
measure() { # row size
	local row=$1 size=$2 line p1 p2
	read -r p1 p2 <<<"$(ports_of "$row")"
	line=$(run "$row" "$p1" "$p2" rtt -n "$N" -s "$size" 2>"$BENCH_WORK/err" | tail -1)
	[ -n "$RAW" ] && echo "row=$row $line" >>"$RAW"
	case $line in
	mode=rtt*)
		rec "rtt50/$size/$row" "$(kv p50_us "$line")"
		rec "rtt99/$size/$row" "$(kv p99_us "$line")"
		[ "$(kv lost "$line")" = 0 ] || note "$row $size B: $(kv lost "$line") of $N lost"
		[ "$(kv bad "$line")" = 0 ] || note "$row $size B: $(kv bad "$line") echoes with a wrong source or length"
		;;
	*) note "$row $size B rtt failed: $(head -1 "$BENCH_WORK/err")" ;;
	esac
	line=$(run "$row" "$p1" "$p2" rate -W "$WINDOW" -d "$SECS" -s "$size" 2>"$BENCH_WORK/err" | tail -1)
	[ -n "$RAW" ] && echo "row=$row $line" >>"$RAW"
	case $line in
	mode=rate*)
		rec "rate/$size/$row" "$(kv rate "$line")"
		[ "$(kv lost "$line")" = 0 ] ||
		    note "$row $size B rate: $(kv lost "$line") lost in $(kv stalls "$line") stall(s)"
		;;
	*) note "$row $size B rate failed: $(head -1 "$BENCH_WORK/err")" ;;
	esac
}
for r in $(seq "$REPS"); do
	for size in 64 1200; do
		for row in $ROWS; do
			measure "$row" "$size"
		done
	done
	note "rep $r done"
done

for s in $SERVERS; do
	stop_pid "${PID[$s]}"
done

# ---- report ----
label() {
	case $1 in
	direct) echo "direct (C client)" ;;
	sx-socksifyd) echo "socksify -> socksifyd" ;;
	sx-danted) echo "socksify -> danted" ;;
	sx-2hop) echo "socksify -> socksifyd -> danted" ;;
	dante-danted) echo "Dante client -> danted" ;;
	py-direct) echo "Python, direct" ;;
	pysocks-socksifyd) echo "PySocks -> socksifyd" ;;
	esac
}
echo
echo "UDP benchmark: medians of $REPS run(s), $(nproc) CPUs, echo server on 127.0.0.1"
echo "rtt: $N sequential sendto + recvfrom pairs a run (us; p50, and p99 as the median of the runs' p99)"
echo "rate: echoed datagrams/s with $WINDOW outstanding (each echo sends the next), ${SECS} s a run"
echo
printf '%-32s %9s %9s %9s   %9s %9s %9s\n' "" "64 B" "" "" "1200 B" "" ""
printf '%-32s %9s %9s %9s   %9s %9s %9s\n' "" "rtt p50" "rtt p99" "dgram/s" "rtt p50" "rtt p99" "dgram/s"
for row in direct sx-socksifyd sx-danted sx-2hop dante-danted py-direct pysocks-socksifyd; do
	printf '%-32s' "$(label "$row")"
	case " $ROWS " in
	*" $row "*)
		for size in 64 1200; do
			printf ' %9s %9s %9s' "$(fmt "$(med "rtt50/$size/$row")" 1)" \
			    "$(fmt "$(med "rtt99/$size/$row")" 1)" "$(fmt "$(med "rate/$size/$row")" 0)"
			[ "$size" = 64 ] && printf '  '
		done
		;;
	*) printf ' %9s' "(left out)" ;;
	esac
	printf '\n'
done

echo
echo "ratios (goal in brackets; rtt: lower is better, rate: higher is better):"
for size in 64 1200; do
	printf '  %4s B  rtt  socksify->socksifyd / direct            = %s  [<= 4]\n' "$size" \
	    "$(ratio "$(med "rtt50/$size/sx-socksifyd")" "$(med "rtt50/$size/direct")")"
	printf '  %4s B  rate direct / socksify->socksifyd            = %s\n' "$size" \
	    "$(ratio "$(med "rate/$size/direct")" "$(med "rate/$size/sx-socksifyd")")"
	printf '  %4s B  rtt  Dante client->danted / socksify->danted = %s  [>= 2]\n' "$size" \
	    "$(ratio "$(med "rtt50/$size/dante-danted")" "$(med "rtt50/$size/sx-danted")")"
	printf '  %4s B  rate socksify->danted / Dante client->danted = %s  [>= 2]\n' "$size" \
	    "$(ratio "$(med "rate/$size/sx-danted")" "$(med "rate/$size/dante-danted")")"
	printf '  %4s B  rtt  PySocks->socksifyd / Python direct       = %s\n' "$size" \
	    "$(ratio "$(med "rtt50/$size/pysocks-socksifyd")" "$(med "rtt50/$size/py-direct")")"
done
