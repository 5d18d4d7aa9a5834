#!/usr/bin/env bash
# concurrent.sh: N connections opened at once by one event loop, through one hop behind a far relay.
#
# usage: bench/concurrent.sh [--quick] [--reps R] [-n N] [--delay SECS] [--epoll]
#                            [--no-build] [--raw FILE]
# A relay that delays every chunk by --delay (default 0.05 s) each way
# stands in front of socksifyd (a far proxy).  bench/concurrent.c opens N
# (default 100) non-blocking connections at once to an echo server and
# waits for every echo: under socksify, socksify with pipeline = yes,
# proxychains4 and Dante's client; direct through the same relay (to the
# echo server) is the ceiling.  The loop waits with poll (Dante's client
# cannot carry a connect waited on with epoll); --epoll uses epoll and leaves
# Dante out.  Reports the median wall time and ratios.
# A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=3
N=100
DELAY=0.05
BUILD=1
RAW=
WAIT=-p
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1 ;;
	--reps) REPS=$2; shift ;;
	-n) N=$2; shift ;;
	--delay) DELAY=$2; shift ;;
	--epoll) WAIT= ;;
	--no-build) BUILD=0 ;;
	--raw) RAW=$2; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$N in *[!0-9]*) die "--reps and -n take whole numbers" ;; esac
case $DELAY in ''|*[!0-9.]*) die "--delay takes seconds" ;; esac

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_concurrent socksify_delay_relay -- socksifyd socksify socksify_run
LG=$BENCH_BUILD/bench/socksify_loadgen
CC=$BENCH_BUILD/bench/socksify_concurrent
[ -x "$LG" ] && [ -x "$CC" ] && [ -x "$BENCH_BUILD/bench/socksify_delay_relay" ] || die "bench programs missing in $BENCH_BUILD (drop --no-build)"
[ -x "$BENCH_BUILD/server/socksifyd" ] || die "no socksifyd in $BENCH_BUILD"
export SOCKSIFY_BUILD=$BENCH_BUILD
LAUNCHER=$BENCH_ROOT/scripts/socksify
WRAPPERS="socksify socksify-pipe proxychains4 dante"
command -v proxychains4 >/dev/null || { note "no proxychains4: left out"; WRAPPERS=${WRAPPERS/proxychains4/}; }
[ -x /usr/bin/socksify ] || { note "no Dante client: left out"; WRAPPERS=${WRAPPERS/dante/}; }
[ -z "$WAIT" ] && { note "--epoll: Dante's client left out"; WRAPPERS=${WRAPPERS/dante/}; }

# The echo server closes after the echo.
"$LG" echo1 -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/echo.port" || die "echo server did not start"
EPORT=$(cat "$BENCH_WORK/echo.port")
start_server socksifyd
SPORT=$SRV_PORT

# relay TARGET_PORT NAME: a delay relay to 127.0.0.1:TARGET_PORT; prints its port.
relay() {
	"$BENCH_BUILD/bench/socksify_delay_relay" -t "127.0.0.1:$1" \
	    -f "$BENCH_WORK/$2.port" -d "$DELAY" >"$BENCH_WORK/$2.out" 2>&1 &
	BENCH_PIDS+=("$!")
	wait_file "$BENCH_WORK/$2.port" || die "relay $2 did not start"
	cat "$BENCH_WORK/$2.port"
}
RPROXY=$(relay "$SPORT" far-proxy)   # the far proxy
RECHO=$(relay "$EPORT" far-echo)     # the ceiling: the echo server just as far

printf 'direct = none\ndns = remote\n' >"$BENCH_WORK/sx.conf"
printf 'direct = none\ndns = remote\npipeline = yes\n' >"$BENCH_WORK/sx-pipe.conf"
printf 'strict_chain\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 127.0.0.1 %s\n' \
    "$RPROXY" >"$BENCH_WORK/pc.conf"
cat >"$BENCH_WORK/dante.conf" <<-EOF
route {
	from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $RPROXY
	proxyprotocol: socks_v5
	command: connect
	method: none
}
EOF

# wrap WRAPPER PORT CMD...: runs CMD under WRAPPER, towards the proxy on PORT.
wrap() {
	local w=$1 p=$2
	shift 2
	case $w in
	direct) "$@" ;;
	socksify) "$LAUNCHER" -f "$BENCH_WORK/sx.conf" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	socksify-pipe) "$LAUNCHER" -f "$BENCH_WORK/sx-pipe.conf" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	proxychains4) sed "s/^socks5 127.0.0.1 .*/socks5 127.0.0.1 $p/" "$BENCH_WORK/pc.conf" \
	    >"$BENCH_WORK/pc.$p.conf"; proxychains4 -q -f "$BENCH_WORK/pc.$p.conf" "$@" ;;
	dante) sed "s/port = .*/port = $p/" "$BENCH_WORK/dante.conf" >"$BENCH_WORK/dante.$p.conf"
	    SOCKS_CONF=$BENCH_WORK/dante.$p.conf SOCKS_AUTOADD_LANROUTES=no /usr/bin/socksify "$@" ;;
	esac
}

# ---- proof: with the proxy dead, a wrapper must not reach the echo server ----
DEAD=$(free_port)
for w in $WRAPPERS; do
	if wrap "$w" "$DEAD" timeout 30 "$CC" $WAIT -n 1 127.0.0.1 "$EPORT" >/dev/null 2>&1; then
		note "$w reached the echo server with a dead proxy: it is not proxying; left out"
		WRAPPERS=${WRAPPERS/$w/}
	elif ! wrap "$w" "$RPROXY" timeout 30 "$CC" $WAIT -n 1 127.0.0.1 "$EPORT" >"$BENCH_WORK/one" 2>&1; then
		note "$w does not get through the proxy: $(tail -1 "$BENCH_WORK/one"); left out"
		WRAPPERS=${WRAPPERS/$w/}
	fi
done
WRAPPERS=$(echo $WRAPPERS)
note "wrappers: $WRAPPERS; reps=$REPS n=$N delay=${DELAY}s each way"

# run KEY WRAPPER PORT N TARGET_PORT
run() {
	local line
	line=$(wrap "$2" "$3" timeout 120 "$CC" $WAIT -n "$4" 127.0.0.1 "$5" 2>&1 | tail -1)
	[ -n "$RAW" ] && echo "key=$1 $line" >>"$RAW"
	if [ "$(kv errors "$line")" = 0 ]; then
		rec "$1" "$(kv ms "$line")"
	else
		note "$1: $line"
	fi
}
for r in $(seq "$REPS"); do
	for n in 1 "$N"; do
		# The ceiling: the echo server as far away as the proxy is.
		run "direct/$n" direct 0 "$n" "$RECHO"
		for w in $WRAPPERS; do
			run "$w/$n" "$w" "$RPROXY" "$n" "$EPORT"
		done
	done
	note "rep $r done"
done

echo
echo "concurrent connections: medians of $REPS run(s), $(nproc) CPUs, relay ${DELAY}s each way"
echo "wall time (ms) for 1 connection and for $N at once (connect + 1-byte echo + close)," \
    "waited on with $([ -n "$WAIT" ] && echo poll || echo epoll)"
printf '%-14s %10s %10s %12s\n' "" "1" "$N" "$N / 1"
for w in direct $WRAPPERS; do
	printf '%-14s %10s %10s %12s\n' "$w" "$(fmt "$(med "$w/1")" 1)" "$(fmt "$(med "$w/$N")" 1)" \
	    "$(ratio "$(med "$w/$N")" "$(med "$w/1")")"
done
echo
echo "ratios of the wall time for $N at once (goal in brackets):"
for w in socksify socksify-pipe; do
	case " $WRAPPERS " in *" $w "*) ;; *) continue ;; esac
	printf '  %-14s / direct through the relay = %s  [<= 1.3]\n' "$w" \
	    "$(ratio "$(med "$w/$N")" "$(med "direct/$N")")"
	for o in proxychains4 dante; do
		case " $WRAPPERS " in *" $o "*) ;; *) continue ;; esac
		printf '  %-14s / %-12s = %s  [>= 10]\n' "$o" "$w" \
		    "$(ratio "$(med "$o/$N")" "$(med "$w/$N")")"
	done
done
