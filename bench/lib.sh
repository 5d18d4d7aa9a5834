# lib.sh: helpers shared by the bench/*.sh scripts (sourced, not run).
#
# Every process started here is recorded in BENCH_PIDS and stopped by PID on
# exit; every wait is a bounded loop.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$BENCH_ROOT/build-bench}
BENCH_PIDS=()
BENCH_PIDFILES=()
BENCH_WORK=$(mktemp -d /tmp/socksify-bench.XXXXXX)

bench_cleanup() {
	local p f
	for f in "${BENCH_PIDFILES[@]}"; do
		# Only if that pid is still the server it was (pids get reused).
		[ -s "$f" ] && p=$(cat "$f") &&
		    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = danted ] && BENCH_PIDS+=("$p")
	done
	for p in "${BENCH_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${BENCH_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$BENCH_WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

# bench_build TARGET... [-- OPTIONAL...]: a Release build in $BENCH_BUILD of
# the TARGETs, which must build, and of the OPTIONAL ones, which are left as
# they are (with a note) when they do not: the script then finds out what it
# has and leaves the rest out.
bench_build() {
	local t opt=0 log=$BENCH_WORK/cmake.log
	note "building in $BENCH_BUILD (Release)"
	cmake -S "$BENCH_ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DSOCKSIFY_WERROR=OFF \
	    >"$log" 2>&1 || die "cmake configure failed (see cmake -S $BENCH_ROOT -B $BENCH_BUILD)"
	for t in "$@"; do
		if [ "$t" = -- ]; then
			opt=1
		elif ! cmake --build "$BENCH_BUILD" -j2 --target "$t" >>"$log" 2>&1; then
			[ "$opt" = 1 ] || die "target $t does not build (cmake --build $BENCH_BUILD --target $t)"
			note "target $t does not build; using what is there"
		fi
	done
}

# A port the kernel picked as free (for servers that cannot take port 0).
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (at most ~10 s) until something accepts on 127.0.0.1:$1.
wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Waits (at most ~10 s) for a non-empty file.
wait_file() {
	local i
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# Stops one process we started, waiting at most ~5 s, then SIGKILL.
stop_pid() {
	local p=$1 i
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# PID and every descendant (danted forks a process pool).
tree_pids() {
	local p c
	for p in "$@"; do
		echo "$p"
		for c in $(pgrep -P "$p" 2>/dev/null); do
			tree_pids "$c"
		done
	done
}

# CPU seconds used by PID and its descendants (all threads, and children
# already reaped), from /proc/PID/stat.
tree_cpu() {
	local p tot=0 ticks
	ticks=$(getconf CLK_TCK)
	for p in $(tree_pids "$1"); do
		[ -r "/proc/$p/stat" ] || continue
		# Fields after the ")" of comm: 14..17 are utime stime cutime cstime.
		tot=$((tot + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null |
		    awk '{print $12 + $13 + $14 + $15}')))
	done
	awk -v t="$tot" -v h="$ticks" 'BEGIN { printf "%.3f\n", t / h }'
}

# Memory in KiB of PID and its descendants: "RSS PSS".
tree_mem() {
	local p rss=0 pss=0 r s
	for p in $(tree_pids "$1"); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${s:-0}))
	done
	echo "$rss $pss"
}

# kv KEY LINE: the value of KEY=... in a key=value line.
kv() {
	local k=$1 w
	shift
	for w in $*; do
		case $w in "$k="*) echo "${w#*=}"; return 0 ;; esac
	done
	echo nan
}

# Results: "KEY VALUE" lines in $BENCH_RES; med KEY prints the median.
BENCH_RES=$BENCH_WORK/results
: >"$BENCH_RES"
rec() { echo "$1 $2" >>"$BENCH_RES"; }
med() {
	awk -v k="$1" '$1 == k && $2 != "nan" { print $2 }' "$BENCH_RES" | sort -g |
	    awk '{ a[NR] = $1 } END {
		if (NR == 0) print "nan";
		else if (NR % 2) print a[(NR + 1) / 2];
		else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# ratio A B: A/B with two decimals, "n/a" when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "nan" || b == "nan" || a == "" || b == "" || b + 0 == 0) print "n/a";
		else printf "%.2f\n", a / b }'
}
# fmt VALUE DECIMALS
fmt() {
	awk -v v="$1" -v d="$2" 'BEGIN { if (v == "nan" || v == "") print "-"; else printf "%.*f\n", d, v }'
}

# Command prefixes that pin the proxy and the load to CPUs (empty: no pinning).
PIN_PROXY=()
PIN_LOAD=()

# What danted's socks pass rule allows (bench/udp.sh adds UDP ASSOCIATE).
DANTED_COMMANDS=${DANTED_COMMANDS:-connect}

# Starts a third-party or our server; sets SRV_PORT and SRV_PID (for
# danted the pid of the master, which we read from its pid file).
start_server() {
	local name=$1 dir=$BENCH_WORK/$1.$RANDOM
	mkdir -p "$dir"
	SRV_PORT= SRV_PID=
	case $name in
	socksifyd)
		# The idle run holds --sessions connections from one address; the
		# default --max-per-client (1024) would cap a larger --sessions.
		"${PIN_PROXY[@]}" "$BENCH_BUILD/server/socksifyd" -l 127.0.0.1:0 --port-file "$dir/port" -q \
		    --max-per-client 0 \
		    >"$dir/out" 2>&1 &
		SRV_PID=$!
		BENCH_PIDS+=("$SRV_PID")
		wait_file "$dir/port" || die "socksifyd did not report a port: $(cat "$dir/out")"
		SRV_PORT=$(cat "$dir/port")
		;;
	microsocks)
		SRV_PORT=$(free_port)
		"${PIN_PROXY[@]}" microsocks -i 127.0.0.1 -p "$SRV_PORT" >"$dir/out" 2>&1 &
		SRV_PID=$!
		BENCH_PIDS+=("$SRV_PID")
		;;
	danted)
		SRV_PORT=$(free_port)
		# No per-connection logging: the benchmark measures relaying.
		# danted binds its outgoing sockets to external:0 before connecting,
		# and a bind cannot reuse a port held by a TIME_WAIT socket of the
		# same address; clients that close first leave thousands of those
		# on 127.0.0.1, so danted goes out from 127.0.0.3 (still loopback).
		cat >"$dir/danted.conf" <<-EOF
		logoutput: $dir/danted.log
		internal: 127.0.0.1 port = $SRV_PORT
		external: 127.0.0.3
		socksmethod: none
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
		socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: $DANTED_COMMANDS }
		EOF
		BENCH_PIDFILES+=("$dir/danted.pid")
		"${PIN_PROXY[@]}" danted -f "$dir/danted.conf" -D -p "$dir/danted.pid" >"$dir/out" 2>&1 ||
		    die "danted failed: $(cat "$dir/out" "$dir/danted.log" 2>/dev/null)"
		wait_file "$dir/danted.pid" || die "danted wrote no pid file"
		SRV_PID=$(cat "$dir/danted.pid")
		;;
	*) die "unknown server $name" ;;
	esac
	wait_port "$SRV_PORT" || die "$name is not accepting on port $SRV_PORT"
}
