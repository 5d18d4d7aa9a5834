#!/usr/bin/env bash
# client.sh: libsocksify (scripts/socksify) against proxychains4 and Dante's client, through each server.
#
# usage: bench/client.sh [--quick] [--reps R] [-n CONNS] [--servers "socksifyd microsocks danted"]
#                        [--no-build] [--raw FILE] [--compare BUILD_DIR]
# Sequential connect rate of a plain libc client (bench/connrate.c) under each
# wrapper and each proxy, direct and through a bare forwarder (the ceiling of
# any relay), each client's own CPU per connection (what bounds the gain of
# any client over another), getaddrinfo rate, start-up cost of each wrapper.
# --compare adds the library and launcher built in another directory (say,
# of an older commit) as the wrapper "socksify-cmp", measured in the same run.
# "socksify-pipe" is the library with pipeline = yes (greeting and request
# in one write); microsocks cannot read that, so it is not run against it.
# A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=3
N=1000
STARTS=200
SERVERS="socksifyd microsocks danted"
WRAPPERS="socksify proxychains4 dante"
BUILD=1
RAW=
CMP=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; N=300; STARTS=50 ;;
	--reps) REPS=$2; shift ;;
	-n) N=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--no-build) BUILD=0 ;;
	--raw) RAW=$2; shift ;;
	--compare) CMP=$2; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$N in *[!0-9]*) die "--reps and -n take numbers" ;; esac

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_connrate socksify_fwd -- socksifyd socksify socksify_run
LG=$BENCH_BUILD/bench/socksify_loadgen
CR=$BENCH_BUILD/bench/socksify_connrate
[ -x "$LG" ] && [ -x "$CR" ] || die "bench programs missing in $BENCH_BUILD (drop --no-build)"
export SOCKSIFY_BUILD=$BENCH_BUILD
LAUNCHER=$BENCH_ROOT/scripts/socksify

# What can run here.
case " $SERVERS " in *" socksifyd "*)
	[ -x "$BENCH_BUILD/server/socksifyd" ] || { note "no socksifyd: left out"; SERVERS=${SERVERS/socksifyd/}; } ;;
esac
if ! [ -x "$LAUNCHER" ] || ! "$LAUNCHER" -q -p socks5://127.0.0.1:1 /bin/true 2>"$BENCH_WORK/launcher.err"; then
	note "scripts/socksify does not run ($(head -1 "$BENCH_WORK/launcher.err" 2>/dev/null)): left out"
	WRAPPERS=${WRAPPERS/socksify/}
fi
if [ -n "$CMP" ]; then
	[ -x "$CMP/preload/socksify-run" ] && [ -f "$CMP/preload/libsocksify.so" ] ||
	    die "--compare $CMP: no preload/socksify-run and preload/libsocksify.so there"
	CMP=$(cd "$CMP" && pwd)
	case " $WRAPPERS " in *" socksify "*) WRAPPERS="socksify socksify-cmp ${WRAPPERS#socksify}" ;; esac
fi
case " $WRAPPERS " in *" socksify "*) WRAPPERS="socksify socksify-pipe ${WRAPPERS#socksify}" ;; esac
command -v proxychains4 >/dev/null || { note "no proxychains4: left out"; WRAPPERS=${WRAPPERS/proxychains4/}; }
[ -x /usr/bin/socksify ] || { note "no Dante client: left out"; WRAPPERS=${WRAPPERS/dante/}; }
SERVERS=$(echo $SERVERS) WRAPPERS=$(echo $WRAPPERS)

# echo1 closes after the echo: the target closes first, so no proxy is left
# with TIME_WAIT sockets on its outgoing ports.
"$LG" echo1 -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/echo.port" || die "echo server did not start"
EPORT=$(cat "$BENCH_WORK/echo.port")

# The ceiling of any relay here: a bare forwarder (bench/fwd.c, no SOCKS,
# no library in the client) in front of the same echo server.  What it
# costs over direct is the price of one more process on the path.
"$BENCH_BUILD/bench/socksify_fwd" -l 127.0.0.1:0 --to "127.0.0.1:$EPORT" \
    --port-file "$BENCH_WORK/fwd.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/fwd.port" || die "the bare forwarder did not start"
FPORT=$(cat "$BENCH_WORK/fwd.port")

declare -A PORT PID
for s in $SERVERS; do
	start_server "$s"
	PORT[$s]=$SRV_PORT
	PID[$s]=$SRV_PID
done

# Config files of the other clients, one per proxy port.
pc_conf() {
	local f=$BENCH_WORK/pc.$1.conf
	[ -f "$f" ] || printf 'strict_chain\nproxy_dns\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 127.0.0.1 %s\n' "$1" >"$f"
	echo "$f"
}
dante_conf() {
	local f=$BENCH_WORK/dante.$1.conf
	# resolveprotocol fake: names go to the proxy, as with the other two.
	[ -f "$f" ] || cat >"$f" <<-EOF
	resolveprotocol: fake
	route {
		from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = $1
		proxyprotocol: socks_v5
		command: connect
		method: none
	}
	route {
		from: 0.0.0.0/0 to: . via: 127.0.0.1 port = $1
		proxyprotocol: socks_v5
		command: connect
		method: none
	}
	EOF
	echo "$f"
}
# Ours: loopback is direct by default ("loopback stays local"), so the
# benchmark config sends everything, loopback too, through the chain.
sx_conf() {
	local f=$BENCH_WORK/socksify.conf
	[ -f "$f" ] || printf 'direct = none\ndns = remote\n' >"$f"
	echo "$f"
}
sx_pipe_conf() {
	local f=$BENCH_WORK/socksify-pipe.conf
	[ -f "$f" ] || printf 'direct = none\ndns = remote\npipeline = yes\n' >"$f"
	echo "$f"
}
# can_pipe SERVER: whether the server reads a greeting and a request sent
# in one write (microsocks reads one message per recv and drops the rest).
can_pipe() { [ "$1" != microsocks ]; }
# wrap WRAPPER PORT CMD...: runs CMD under WRAPPER towards the proxy on PORT.
wrap() {
	local w=$1 p=$2
	shift 2
	case $w in
	direct) "$@" ;;
	socksify) "$LAUNCHER" -f "$(sx_conf)" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	socksify-pipe) "$LAUNCHER" -f "$(sx_pipe_conf)" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	socksify-cmp) SOCKSIFY_BUILD=$CMP "$LAUNCHER" -f "$(sx_conf)" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	proxychains4) proxychains4 -q -f "$(pc_conf "$p")" "$@" ;;
	dante) SOCKS_CONF=$(dante_conf "$p") SOCKS_AUTOADD_LANROUTES=no /usr/bin/socksify "$@" ;;
	esac
}

# ---- proof that each wrapper really goes through a proxy: towards a port
# where nothing listens, the connection must fail ----
DEAD=$(free_port)
for w in $WRAPPERS; do
	for host in 127.0.0.1 localhost; do
		if wrap "$w" "$DEAD" timeout 20 "$CR" conn -n 1 "$host" "$EPORT" >/dev/null 2>&1; then
			note "$w reached the echo server ($host) with a dead proxy: it is not proxying; left out"
			WRAPPERS=${WRAPPERS/$w/}
			break
		fi
	done
done
WRAPPERS=$(echo $WRAPPERS)
note "servers: $SERVERS; wrappers: $WRAPPERS; reps=$REPS n=$N"

# ---- sequential connect rate, interleaved ----
run_conn() { # key wrapper port host [target port]
	local line
	line=$(wrap "$2" "$3" timeout 120 "$CR" conn -n "$N" "$4" "${5:-$EPORT}" 2>&1 | tail -1)
	[ -n "$RAW" ] && echo "key=$1 $line" >>"$RAW"
	if [ "$(kv errors "$line")" = 0 ]; then
		rec "$1" "$(kv rate "$line")"
		rec "cpu/${1#conn/}" "$(kv cpu_us "$line")"
	else
		note "$1: $line"
	fi
}
for r in $(seq "$REPS"); do
	for host in 127.0.0.1 localhost; do
		run_conn "conn/$host/direct/-" direct 0 "$host"
		run_conn "conn/$host/forwarder/-" direct 0 "$host" "$FPORT"
		for s in $SERVERS; do
			for w in $WRAPPERS; do
				[ "$w" = socksify-pipe ] && ! can_pipe "$s" && continue
				run_conn "conn/$host/$w/$s" "$w" "${PORT[$s]}" "$host"
			done
		done
	done
	note "connect rep $r done"
done

# ---- getaddrinfo rate (fake/remote DNS: no proxy traffic) ----
p=${PORT[${SERVERS%% *}]:-1}
run_gai() { # key wrapper args...
	local key=$1 w=$2 line
	shift 2
	line=$(wrap "$w" "$p" timeout 20 "$CR" gai -n "$N" "$@" 2>&1 | tail -1)
	[ -n "$RAW" ] && echo "key=$key $line" >>"$RAW"
	case $line in mode=gai*) ;; *) line="errors=$N" ;; esac   # timed out
	if [ "$(kv errors "$line")" = 0 ]; then
		rec "$key" "$(kv rate "$line")"
	else
		rec "$key.err" "$(kv errors "$line")"
	fi
}
for r in $(seq "$REPS"); do
	for w in direct $WRAPPERS; do
		[ "$w" = socksify-pipe ] && continue   # the same as socksify here
		run_gai "gai/repeat/$w" "$w" --repeat localhost
		# New names would go to a resolver, which a loopback-only machine lacks.
		[ "$w" = direct ] || run_gai "gai/new/$w" "$w" --new "n$r-"
	done
done

# ---- start-up cost: fork + exec of `true` under each wrapper ----
RUNBIN=
case " $WRAPPERS " in *" socksify "*) [ -x "$BENCH_BUILD/preload/socksify-run" ] && RUNBIN=$BENCH_BUILD/preload/socksify-run ;; esac
# Interleaved (one run of each in turn), so drift hits everyone alike.
for i in $(seq "$STARTS"); do
	for w in direct $WRAPPERS; do
		[ "$w" = socksify-pipe ] && continue
		t0=$EPOCHREALTIME
		wrap "$w" 1 /bin/true
		t1=$EPOCHREALTIME
		echo "start/$w $t0 $t1"
	done
	# Installed, the compiled launcher is the socksify command (no sh in between).
	if [ -n "$RUNBIN" ]; then
		t0=$EPOCHREALTIME
		"$RUNBIN" -f "$(sx_conf)" -q -p socks5://127.0.0.1:1 /bin/true
		t1=$EPOCHREALTIME
		echo "start/socksify-run $t0 $t1"
	fi
done | awk '{ printf "%s %.3f\n", $1, ($3 - $2) * 1000 }' >>"$BENCH_RES"

for s in $SERVERS; do
	stop_pid "${PID[$s]}"
done

# bound RATE CPU_US: how many times faster than RATE a client that used no
# CPU at all (waiting only for the proxy and the target) would be, given
# that the client measured at RATE spent CPU_US of each connection itself.
bound() {
	awk -v r="$1" -v c="$2" 'BEGIN {
		if (r == "nan" || c == "nan" || r == "" || c == "" || r + 0 == 0) { print "n/a"; exit }
		t = 1e6 / r
		if (t <= c) print "n/a"; else printf "%.2f\n", t / (t - c) }'
}

# table KIND HOST DECIMALS: the KIND ("conn" or "cpu") figures towards
# HOST, a column per wrapper and a row per server.
table() {
	local k=$1 host=$2 d=$3 s w
	printf '%-12s %-12s' "host=$host" ""
	for w in $WRAPPERS; do printf ' %12s' "$w"; done
	printf '\n'
	printf '%-12s %-12s %12s\n' "" direct "$(fmt "$(med "$k/$host/direct/-")" "$d")"
	printf '%-12s %-12s %12s\n' "" forwarder "$(fmt "$(med "$k/$host/forwarder/-")" "$d")"
	for s in $SERVERS; do
		printf '%-12s %-12s' "" "via $s"
		for w in $WRAPPERS; do printf ' %12s' "$(fmt "$(med "$k/$host/$w/$s")" "$d")"; done
		printf '\n'
	done
}

# ---- report ----
echo
echo "library benchmark: medians of $REPS run(s) of $N sequential connections, $(nproc) CPUs"
echo "connect rate (conn/s): getaddrinfo + socket + connect + 1-byte echo + close"
for host in 127.0.0.1 localhost; do
	echo
	table conn "$host" 0
done
echo
echo "client CPU (us per connection): the client process's own user + system time"
for host in 127.0.0.1 localhost; do
	table cpu "$host" 1
done
echo
printf '%-26s' "getaddrinfo calls/s"
for w in direct $WRAPPERS; do printf ' %12s' "$w"; done
printf '\n'
for k in repeat new; do
	printf '%-26s' "  $k name(s)"
	for w in direct $WRAPPERS; do
		v=$(fmt "$(med "gai/$k/$w")" 0)
		[ "$v" = - ] && [ "$(med "gai/$k/$w.err")" != nan ] && v="$(med "gai/$k/$w.err") failed"
		printf ' %12s' "$v"
	done
	printf '\n'
done
printf '%-26s' "start-up ms (median)"
for w in direct $WRAPPERS; do printf ' %12s' "$(fmt "$(med "start/$w")" 2)"; done
printf '\n'
[ -n "$RUNBIN" ] && printf '%-26s %12s %12s\n' "  socksify-run (installed)" "" "$(fmt "$(med start/socksify-run)" 2)"

echo
echo "ratios (goal in brackets):"
for host in 127.0.0.1 localhost; do
	for s in microsocks danted; do
		case " $SERVERS " in *" $s "*) ;; *) continue ;; esac
		printf '  %-9s via %-10s socksify / proxychains4 = %s  [>= 1.5]\n' "$host" "$s" \
		    "$(ratio "$(med "conn/$host/socksify/$s")" "$(med "conn/$host/proxychains4/$s")")"
		can_pipe "$s" && printf '  %-9s via %-10s socksify-pipe / proxychains4 = %s  [>= 1.5]\n' \
		    "$host" "$s" \
		    "$(ratio "$(med "conn/$host/socksify-pipe/$s")" "$(med "conn/$host/proxychains4/$s")")"
		printf '  %-9s via %-10s the most any client can be over proxychains4 = %s (its time with its own CPU taken out)\n' \
		    "$host" "$s" "$(bound "$(med "conn/$host/proxychains4/$s")" "$(med "cpu/$host/proxychains4/$s")")"
		printf '  %-9s via %-10s socksify / dante client = %s\n' "$host" "$s" \
		    "$(ratio "$(med "conn/$host/socksify/$s")" "$(med "conn/$host/dante/$s")")"
	done
	printf '  %-9s socksify via socksifyd / direct = %s, with pipeline = yes %s  [>= 0.5]\n' \
	    "$host" "$(ratio "$(med "conn/$host/socksify/socksifyd")" "$(med "conn/$host/direct/-")")" \
	    "$(ratio "$(med "conn/$host/socksify-pipe/socksifyd")" "$(med "conn/$host/direct/-")")"
	printf '  %-9s bare forwarder / direct = %s (the ceiling of any relay here)\n' "$host" \
	    "$(ratio "$(med "conn/$host/forwarder/-")" "$(med "conn/$host/direct/-")")"
	printf '  %-9s socksify via socksifyd / bare forwarder = %s, with pipeline = yes %s\n' \
	    "$host" "$(ratio "$(med "conn/$host/socksify/socksifyd")" "$(med "conn/$host/forwarder/-")")" \
	    "$(ratio "$(med "conn/$host/socksify-pipe/socksifyd")" "$(med "conn/$host/forwarder/-")")"
	printf '  %-9s socksify+socksifyd / proxychains4+microsocks = %s  [>= 2]\n' "$host" \
	    "$(ratio "$(med "conn/$host/socksify/socksifyd")" "$(med "conn/$host/proxychains4/microsocks")")"
done
if [ -n "$CMP" ]; then
	for host in 127.0.0.1 localhost; do
		for s in $SERVERS; do
			printf '  %-9s via %-10s socksify / socksify-cmp = %s\n' "$host" "$s" \
			    "$(ratio "$(med "conn/$host/socksify/$s")" "$(med "conn/$host/socksify-cmp/$s")")"
		done
	done
fi
printf '  start-up socksify / proxychains4 = %s  (lower is better; installed form: %s)\n' \
    "$(ratio "$(med start/socksify)" "$(med start/proxychains4)")" \
    "$(ratio "$(med start/socksify-run)" "$(med start/proxychains4)")"
printf '  start-up overhead over plain exec (ms): socksify %s, proxychains4 %s, dante %s\n' \
    "$(awk -v a="$(med start/socksify)" -v b="$(med start/direct)" 'BEGIN { if (a == "nan") print "-"; else printf "%.2f", a - b }')" \
    "$(awk -v a="$(med start/proxychains4)" -v b="$(med start/direct)" 'BEGIN { if (a == "nan") print "-"; else printf "%.2f", a - b }')" \
    "$(awk -v a="$(med start/dante)" -v b="$(med start/direct)" 'BEGIN { if (a == "nan") print "-"; else printf "%.2f", a - b }')"
