#!/usr/bin/env bash
# dns.sh: remote DNS under libsocksify against proxychains4 (proxy_dns) and plain libc.
#
# usage: bench/dns.sh [--quick] [--reps R] [-n CONNS] [--names M] [--no-build] [--raw FILE]
# getaddrinfo calls/s for new and repeated names, the connect rate to a name
# against the same connect to a number through socksifyd and microsocks (both
# in a mount namespace whose /etc/hosts alone knows the name), and the memory the
# library keeps for M names (1000000; --quick: 100000).
# A benchmark, not a test: it never fails on a number.
set -u
. "$(dirname "$0")/lib.sh"

REPS=5
N=1000          # connections per connect-rate run
GAI_N=200000    # getaddrinfo calls per run (libsocksify, libc)
GAI_N_SLOW=20000 # the same for proxychains4, which answers each call through a helper thread
NAMES=1000000
BUILD=1
RAW=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) REPS=1; N=300; GAI_N=50000; GAI_N_SLOW=5000; NAMES=100000 ;;
	--reps) REPS=$2; shift ;;
	-n) N=$2; shift ;;
	--names) NAMES=$2; shift ;;
	--no-build) BUILD=0 ;;
	--raw) RAW=$2; shift ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $REPS$N$NAMES in *[!0-9]*) die "--reps, -n and --names take numbers" ;; esac

[ "$BUILD" = 1 ] && bench_build socksify_loadgen socksify_connrate socksifyd socksify socksify_run
LG=$BENCH_BUILD/bench/socksify_loadgen
CR=$BENCH_BUILD/bench/socksify_connrate
RUN=$BENCH_BUILD/preload/socksify-run
SD=$BENCH_BUILD/server/socksifyd
for f in "$LG" "$CR" "$RUN" "$SD"; do
	[ -x "$f" ] || die "$f missing (drop --no-build)"
done
# The compiled launcher directly: scripts/socksify only adds one exec, which
# a per-call figure does not see.
PC=1
command -v proxychains4 >/dev/null || { note "no proxychains4: left out"; PC=0; }

# The name the proxy resolves: only socksifyd's private /etc/hosts knows it,
# so a connection to it that works went through the proxy.
TNAME=bench-target.test
grep -qw "$TNAME" /etc/hosts && die "$TNAME is in this machine's /etc/hosts: the name test needs it unknown here"

"$LG" echo1 -l 127.0.0.1:0 --port-file "$BENCH_WORK/echo.port" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
wait_file "$BENCH_WORK/echo.port" || die "echo server did not start"
EPORT=$(cat "$BENCH_WORK/echo.port")

# The proxies run in a mount namespace of their own, with /etc/hosts
# replaced by a file that maps the test name to 127.0.0.1 (unshare and sh
# exec, so the pid is the server's).  microsocks resolves inline on its
# connection's thread, socksifyd on resolver threads: the same name test
# through both tells the client's cost from the server's.
printf '127.0.0.1 localhost %s\n::1 localhost\n' "$TNAME" >"$BENCH_WORK/hosts"
# exec: started with &, the function runs in a subshell whose PID is $!;
# exec makes that PID the server's, so cleanup stops the server itself.
in_hosts_ns() {
	exec unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$BENCH_WORK/hosts" "$@"
}
NAMETEST=1
in_hosts_ns "$SD" -l 127.0.0.1:0 --port-file "$BENCH_WORK/sd.port" -q >"$BENCH_WORK/sd.out" 2>&1 &
SDPID=$!
BENCH_PIDS+=("$SDPID")
if ! wait_file "$BENCH_WORK/sd.port"; then
	note "socksifyd in a private mount namespace did not start ($(head -1 "$BENCH_WORK/sd.out")): run as root; name test left out"
	NAMETEST=0
	"$SD" -l 127.0.0.1:0 --port-file "$BENCH_WORK/sd.port" -q >"$BENCH_WORK/sd.out" 2>&1 &
	SDPID=$!
	BENCH_PIDS+=("$SDPID")
	wait_file "$BENCH_WORK/sd.port" || die "socksifyd did not start: $(cat "$BENCH_WORK/sd.out")"
fi
SPORT=$(cat "$BENCH_WORK/sd.port")
wait_port "$SPORT" || die "socksifyd is not accepting on $SPORT"
declare -A PORT=([socksifyd]=$SPORT)
SERVERS=socksifyd
if [ "$NAMETEST" = 1 ] && command -v microsocks >/dev/null; then
	MPORT=$(free_port)
	in_hosts_ns microsocks -i 127.0.0.1 -p "$MPORT" >"$BENCH_WORK/ms.out" 2>&1 &
	MSPID=$!
	BENCH_PIDS+=("$MSPID")
	if wait_port "$MPORT"; then
		PORT[microsocks]=$MPORT
		SERVERS="socksifyd microsocks"
	else
		note "microsocks did not start: left out"
	fi
fi

# Everything through the chain, loopback too (by default it stays direct).
printf 'direct = none\ndns = remote\n' >"$BENCH_WORK/sx.conf"
printf 'direct = none\ndns = remote\ndns_cache_size = %s\n' "$NAMES" >"$BENCH_WORK/sx.names.conf"

pc_conf() { # PORT
	local f=$BENCH_WORK/pc.$1.conf
	[ -f "$f" ] || printf 'strict_chain\nproxy_dns\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 127.0.0.1 %s\n' \
	    "$1" >"$f"
	echo "$f"
}
wrap() { # WRAPPER PORT CMD...
	local w=$1 p=$2
	shift 2
	case $w in
	libc) "$@" ;;
	socksify) "$RUN" -f "$BENCH_WORK/sx.conf" -q -p "socks5://127.0.0.1:$p" "$@" ;;
	proxychains4) proxychains4 -q -f "$(pc_conf "$p")" "$@" ;;
	esac
}

# Proof that the name goes to the proxy: with the proxy gone from the
# chain (a dead port), the same name must not connect.
if [ "$NAMETEST" = 1 ]; then
	DEAD=$(free_port)
	if "$RUN" -f "$BENCH_WORK/sx.conf" -q -p "socks5://127.0.0.1:$DEAD" \
	    timeout 20 "$CR" conn -n 1 "$TNAME" "$EPORT" >/dev/null 2>&1; then
		die "$TNAME connected with a dead proxy: the name did not go to the proxy"
	fi
	for s in $SERVERS; do
		if ! wrap socksify "${PORT[$s]}" timeout 20 "$CR" conn -n 1 "$TNAME" "$EPORT" \
		    >"$BENCH_WORK/probe" 2>&1; then
			note "socksify could not reach $TNAME through $s ($(tail -1 "$BENCH_WORK/probe")); name test left out"
			NAMETEST=0
		fi
	done
fi
WRAPPERS="socksify"
[ "$PC" = 1 ] && WRAPPERS="socksify proxychains4"
note "wrappers: $WRAPPERS; reps=$REPS n=$N gai_n=$GAI_N names=$NAMES; name test: $NAMETEST"

# ---- getaddrinfo calls/s, interleaved ----
run_gai() { # key wrapper n args...
	local key=$1 w=$2 n=$3 line
	shift 3
	line=$(wrap "$w" "$SPORT" timeout 120 "$CR" gai -n "$n" "$@" 2>&1 | tail -1)
	[ -n "$RAW" ] && echo "key=$key $line" >>"$RAW"
	case $line in mode=gai*) ;; *) line="errors=$n" ;; esac
	if [ "$(kv errors "$line")" = 0 ]; then
		rec "$key" "$(kv rate "$line")"
	else
		rec "$key.err" "$(kv errors "$line")"
	fi
}
for r in $(seq "$REPS"); do
	# libc: a name from /etc/hosts (there is no name server here).
	run_gai gai/repeat-hosts/libc libc "$GAI_N" --repeat localhost
	run_gai gai/repeat-hosts/socksify socksify "$GAI_N" --repeat localhost
	run_gai gai/repeat/socksify socksify "$GAI_N" --repeat "repeat.$TNAME"
	run_gai gai/new/socksify socksify "$GAI_N" --new "s$r-"
	if [ "$PC" = 1 ]; then
		run_gai gai/repeat-hosts/proxychains4 proxychains4 "$GAI_N_SLOW" --repeat localhost
		run_gai gai/repeat/proxychains4 proxychains4 "$GAI_N_SLOW" --repeat "repeat.$TNAME"
		run_gai gai/new/proxychains4 proxychains4 "$GAI_N_SLOW" --new "p$r-"
	fi
done
note "getaddrinfo done"

# ---- connect rate: a name the proxy resolves against a number ----
run_conn() { # key wrapper port host
	local line
	line=$(wrap "$2" "$3" timeout 120 "$CR" conn -n "$N" "$4" "$EPORT" 2>&1 | tail -1)
	[ -n "$RAW" ] && echo "key=$1 $line" >>"$RAW"
	if [ "$(kv errors "$line")" = 0 ]; then
		rec "$1" "$(kv rate "$line")"
	else
		note "$1: $line"
	fi
}
if [ "$NAMETEST" = 1 ]; then
	for r in $(seq "$REPS"); do
		for s in $SERVERS; do
			for w in $WRAPPERS; do
				run_conn "conn/numeric/$w/$s" "$w" "${PORT[$s]}" 127.0.0.1
				run_conn "conn/name/$w/$s" "$w" "${PORT[$s]}" "$TNAME"
			done
		done
	done
	note "connect rate done"
fi

# ---- memory for NAMES distinct names held in the library's name map ----
line=$("$RUN" -f "$BENCH_WORK/sx.names.conf" -q -p "socks5://127.0.0.1:$SPORT" \
    timeout 600 "$CR" gai -n "$NAMES" --rss --new "m-" 2>&1 | tail -1)
[ -n "$RAW" ] && echo "key=mem $line" >>"$RAW"
MEM_OK=0
if [ "$(kv errors "$line")" = 0 ]; then
	MEM_OK=1
	RSS0=$(kv rss0_kib "$line") RSS1=$(kv rss1_kib "$line") MEM_RATE=$(kv rate "$line")
else
	note "memory run: $line"
fi

stop_pid "$SDPID"
[ -n "${MSPID:-}" ] && stop_pid "$MSPID"

# ---- report ----
echo
echo "remote DNS benchmark: medians of $REPS run(s), $(nproc) CPUs"
printf '%-40s %12s %12s %12s\n' "getaddrinfo calls/s" libc socksify proxychains4
cell() { # key
	local v
	v=$(fmt "$(med "$1")" 0)
	[ "$v" = - ] && [ "$(med "$1.err")" != nan ] && v="$(med "$1.err") failed"
	echo "$v"
}
printf '%-40s %12s %12s %12s\n' "  new names (remote)" - "$(cell gai/new/socksify)" "$(cell gai/new/proxychains4)"
printf '%-40s %12s %12s %12s\n' "  one repeated name (remote)" - "$(cell gai/repeat/socksify)" \
    "$(cell gai/repeat/proxychains4)"
printf '%-40s %12s %12s %12s\n' "  one repeated /etc/hosts name" "$(cell gai/repeat-hosts/libc)" \
    "$(cell gai/repeat-hosts/socksify)" "$(cell gai/repeat-hosts/proxychains4)"
if [ "$NAMETEST" = 1 ]; then
	echo
	printf '%-40s %12s %12s\n' "connect rate (conn/s)" socksify proxychains4
	for s in $SERVERS; do
		printf '%-40s %12s %12s\n' "  via $s to 127.0.0.1" "$(fmt "$(med "conn/numeric/socksify/$s")" 0)" \
		    "$(fmt "$(med "conn/numeric/proxychains4/$s")" 0)"
		printf '%-40s %12s %12s\n' "  via $s to $TNAME" "$(fmt "$(med "conn/name/socksify/$s")" 0)" \
		    "$(fmt "$(med "conn/name/proxychains4/$s")" 0)"
	done
fi
echo
if [ "$MEM_OK" = 1 ]; then
	awk -v n="$NAMES" -v a="$RSS0" -v b="$RSS1" -v r="$MEM_RATE" 'BEGIN {
		printf "name map: %d names, RSS %.1f MiB -> %.1f MiB: +%.1f MiB, %.0f bytes/name; %.0f new names/s\n",
		    n, a / 1024, b / 1024, (b - a) / 1024, (b - a) * 1024 / n, r }'
fi

echo
echo "ratios (goal in brackets):"
printf '  getaddrinfo repeated name socksify / proxychains4 = %s  [>= 5]\n' \
    "$(ratio "$(med gai/repeat/socksify)" "$(med gai/repeat/proxychains4)")"
printf '  getaddrinfo new names     socksify / proxychains4 = %s\n' \
    "$(ratio "$(med gai/new/socksify)" "$(med gai/new/proxychains4)")"
printf '  getaddrinfo /etc/hosts name socksify / libc = %s\n' \
    "$(ratio "$(med gai/repeat-hosts/socksify)" "$(med gai/repeat-hosts/libc)")"
if [ "$NAMETEST" = 1 ]; then
	for s in $SERVERS; do
		printf '  connect by name / by number via %-10s socksify = %s  [>= 0.95]; proxychains4 = %s\n' "$s" \
		    "$(ratio "$(med "conn/name/socksify/$s")" "$(med "conn/numeric/socksify/$s")")" \
		    "$(ratio "$(med "conn/name/proxychains4/$s")" "$(med "conn/numeric/proxychains4/$s")")"
	done
fi
if [ "$MEM_OK" = 1 ]; then
	awk -v n="$NAMES" -v a="$RSS0" -v b="$RSS1" 'BEGIN {
		printf "  name map memory for 1M names (scaled from %d) = %.0f MiB  [< 200]\n",
		    n, (b - a) / 1024 * 1000000 / n }'
fi
