# common.bash: shared helpers for the bats end-to-end suites.
#
# Usage in a suite (tests/e2e/*.bats):
#
#     load lib/common
#     setup()    { e2e_setup; }
#     teardown() { e2e_teardown; }
#
# Every server started through these helpers listens on loopback on a port
# the kernel picked, is waited for with a bound, is recorded by PID, and is
# stopped by that PID in e2e_teardown.  Background programs close bats' fd 3
# so bats never waits on them.  Start servers directly, never inside `run`
# (run is a subshell: the PIDs and ports it sets would be lost).
#
# Variables set here:
#   REPO            absolute path of the source tree
#   SOCKSIFY_BUILD  absolute path of the CMake build dir (env, default $REPO/build)
#   SOCKSIFYD       $SOCKSIFY_BUILD/server/socksifyd
#   LIBSOCKSIFY     $SOCKSIFY_BUILD/preload/libsocksify.so
#   LAUNCHER        $REPO/scripts/socksify (always call it by path)
#   PYTHON          /usr/bin/python3 (the system one, it has python3-socks)
#   TOOLS           $REPO/tests/e2e/tools
#   E2E_TMP         the per-test temporary directory ($BATS_TEST_TMPDIR)

source /usr/lib/bats/bats-support/load.bash
source /usr/lib/bats/bats-assert/load.bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SOCKSIFY_BUILD="${SOCKSIFY_BUILD:-$REPO/build}"
SOCKSIFYD="$SOCKSIFY_BUILD/server/socksifyd"
LIBSOCKSIFY="$SOCKSIFY_BUILD/preload/libsocksify.so"
LAUNCHER="$REPO/scripts/socksify"
PYTHON=/usr/bin/python3
TOOLS="$REPO/tests/e2e/tools"
E2E_TMP="${BATS_TEST_TMPDIR:-${BATS_TMPDIR:-/tmp}}"
# Sanitizer builds: report leaks, and never let a report hide in a core dump.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

# The registry of what this test started: one line "PID KIND LOGFILE".
# A file rather than an array, so it survives whatever subshells a helper
# is called from.
E2E_PIDS_FILE="$E2E_TMP/.e2e_pids"
SOCKSIFYD_WRAP=()
# The leak guard (lib/guard.bash) replaces these when a suite loads it:
# GUARD_EXEC is the prefix that runs a program where a direct packet is
# caught, guard_proxy makes a proxy reachable from there.
GUARD_EXEC=()
guard_proxy() { :; }

# e2e_setup: call from setup().  Works in the per-test temp dir.
e2e_setup() {
	E2E_TMP="$BATS_TEST_TMPDIR"
	E2E_PIDS_FILE="$E2E_TMP/.e2e_pids"
	# The temp dir is the test's own: a second call (a helper that sets
	# up more inside the test) keeps what the first one registered.
	touch "$E2E_PIDS_FILE"
	cd "$E2E_TMP" || return 1
}

# e2e_teardown: call from teardown().  Stops everything this test started
# (newest first, by recorded PID only), prints the tail of every server log
# (bats shows it only when the test failed), and fails the test when a
# socksifyd log holds a sanitizer report or socksifyd died of a signal
# other than the TERM/KILL we sent.
e2e_teardown() {
	local rc=0 pid kind log st
	[[ -f "$E2E_PIDS_FILE" ]] || return 0
	while read -r pid kind log; do
		[[ -n "$pid" ]] || continue
		st=0
		stop_pid "$pid" || st=$?
		if [[ "$kind" == socksifyd ]]; then
			if ! socksifyd_check_log "$log"; then
				rc=1
			fi
			if ((st > 128 && st != 143 && st != 137)); then
				echo "# socksifyd pid $pid died with status $st"
				rc=1
			fi
		fi
	done < <(tac "$E2E_PIDS_FILE")
	while read -r pid kind log; do
		[[ -n "$log" && -f "$log" ]] || continue
		echo "# ---- $kind $pid: $log (last 30 lines)"
		tail -n 30 "$log" | sed 's/^/# /'
	done <"$E2E_PIDS_FILE"
	: >"$E2E_PIDS_FILE"
	return "$rc"
}

# e2e_register PID KIND [LOGFILE]: record a process for e2e_teardown.
e2e_register() {
	echo "$1 $2 ${3:-}" >>"$E2E_PIDS_FILE"
}

# socksifyd_check_log LOG: fail (and show it) if LOG holds an ASan, LSan or
# UBSan report.  Called by e2e_teardown for every socksifyd; tests may call
# it after stopping one themselves.
socksifyd_check_log() {
	local log="$1"
	[[ -f "$log" ]] || return 0
	if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer' "$log"; then
		echo "# sanitizer report in $log:"
		sed 's/^/# /' "$log"
		return 1
	fi
	return 0
}

# free_port [HOST]: print a TCP port the kernel just handed out on HOST
# (default 127.0.0.1), for peers that cannot listen on port 0 themselves.
free_port() {
	"$PYTHON" -c 'import socket,sys
h=sys.argv[1]
s=socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
s.bind((h,0)); print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# wait_for_file FILE [SECS]: wait (default 10 s) until FILE exists and is
# not empty.  Returns 1 on timeout.
wait_for_file() {
	local file="$1" secs="${2:-10}" i
	for ((i = 0; i < secs * 20; i++)); do
		[[ -s "$file" ]] && return 0
		sleep 0.05
	done
	echo "# timed out after ${secs}s waiting for $file" >&2
	return 1
}

# wait_for_port HOST PORT [SECS]: wait (default 10 s) until a TCP listener
# is on HOST:PORT.  Looks at the socket table (ss) rather than connecting,
# so no stray session shows up in a proxy's log.
wait_for_port() {
	local host="$1" port="$2" secs="${3:-10}" i want
	want="$host:$port"
	[[ "$host" == *:* ]] && want="[$host]:$port"
	for ((i = 0; i < secs * 20; i++)); do
		if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qxF "$want"; then
			return 0
		fi
		sleep 0.05
	done
	echo "# timed out after ${secs}s waiting for $want to listen" >&2
	return 1
}

# wait_for_log FILE REGEX [SECS]: wait (default 5 s) until a line of FILE
# matches the extended REGEX.
wait_for_log() {
	local file="$1" re="$2" secs="${3:-5}" i
	for ((i = 0; i < secs * 20; i++)); do
		grep -qE -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# timed out after ${secs}s waiting for /$re/ in $file" >&2
	return 1
}

# wait_until SECS CMD [ARGS...]: run CMD every 0.1 s until it succeeds, at
# most SECS seconds.  Returns 1 on timeout.
#
# CMD is run afresh each round: wrap a count in a function (fd_count_le,
# session_count_is), never in "$(...)", which would be expanded only once.
wait_until() {
	local secs="$1" i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# pid_alive PID: true while PID runs (a zombie counts as gone).
pid_alive() {
	local st
	[[ -r "/proc/$1/stat" ]] || return 1
	st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"
	[[ -n "$st" && "$st" != Z ]]
}

# stop_pid PID [SECS]: send TERM, wait up to SECS (default 5), then KILL.
# Returns the exit status when PID is a child of this shell (so a clean
# SIGTERM exit shows as 0), else 0.
stop_pid() {
	local pid="$1" secs="${2:-5}" i st=0
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 20; i++)); do
		pid_alive "$pid" || break
		sleep 0.05
	done
	if pid_alive "$pid"; then
		echo "# pid $pid ignored TERM for ${secs}s: KILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 40; i++)); do
			pid_alive "$pid" || break
			sleep 0.05
		done
	fi
	wait "$pid" 2>/dev/null || st=$?
	if ((st == 127)); then
		st=0 # not our child (a daemon like danted)
	fi
	return "$st"
}

# fd_count PID: print how many file descriptors PID has open.
# fd_count_le PID N: true while PID has at most N open fds (for wait_until).
fd_count_le() {
	(($(fd_count "$1") <= $2))
}

fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- socksifyd

# start_socksifyd [ARGS...]: start socksifyd with ARGS plus --port-file and,
# unless ARGS already hold a -l, -l 127.0.0.1:0.  Waits (10 s) until it
# listens.  Sets:
#   SOCKSIFYD_PID   its PID
#   SOCKSIFYD_PORT  the first listener's port (from --port-file)
#   SOCKSIFYD_LOG   its stderr (session lines, errors, sanitizer reports)
#   SOCKSIFYD_OUT   its stdout ("listening ADDR:PORT" lines)
# Fails the test if it does not come up.  May be called more than once;
# the variables describe the newest instance.  If the array SOCKSIFYD_WRAP
# is set, it is put in front of the command (it must exec socksifyd so the
# PID stays the same), e.g. SOCKSIFYD_WRAP=(with_hosts_file FILE).
start_socksifyd() {
	local n pf a nl=0 listen=(-l 127.0.0.1:0) i
	if [[ ! -x "$SOCKSIFYD" ]]; then
		fail "socksifyd not built: $SOCKSIFYD (set SOCKSIFY_BUILD)"
		return 1
	fi
	for a in "$@"; do
		[[ "$a" == -l || "$a" == --listen ]] && nl=$((nl + 1))
	done
	if ((nl > 0)); then
		listen=()
	else
		nl=1
	fi
	n=$(ls "$E2E_TMP"/socksifyd.*.log 2>/dev/null | wc -l)
	pf="$E2E_TMP/socksifyd.$n.port"
	SOCKSIFYD_LOG="$E2E_TMP/socksifyd.$n.log"
	SOCKSIFYD_OUT="$E2E_TMP/socksifyd.$n.out"
	"${SOCKSIFYD_WRAP[@]}" "$SOCKSIFYD" "${listen[@]}" --port-file "$pf" "$@" \
		>"$SOCKSIFYD_OUT" 2>"$SOCKSIFYD_LOG" 3>&- </dev/null &
	SOCKSIFYD_PID=$!
	e2e_register "$SOCKSIFYD_PID" socksifyd "$SOCKSIFYD_LOG"
	if ! wait_for_file "$pf" 10; then
		cat "$SOCKSIFYD_LOG" >&2
		fail "socksifyd did not write its port file"
		return 1
	fi
	SOCKSIFYD_PORT="$(tr -d '[:space:]' <"$pf")"
	# stdout carries one line per listener; wait for all of them so
	# socksifyd_listen_port can read them at once.
	for ((i = 0; i < 100; i++)); do
		(($(grep -c '^listening ' "$SOCKSIFYD_OUT") >= nl)) && break
		sleep 0.05
	done
	[[ "$SOCKSIFYD_PORT" =~ ^[0-9]+$ ]] || fail "bad port file: '$SOCKSIFYD_PORT'"
	while read -r a i; do
		guard_proxy "$a" "$i"
	done < <(sed -nE 's/^listening \[?([^]]*)\]?:([0-9]+)$/\1 \2/p' "$SOCKSIFYD_OUT")
}

# with_hosts_file FILE CMD [ARGS...]: run CMD (exec, same PID) in a private
# mount namespace where FILE is bind-mounted over /etc/hosts, so a test can
# give names of its own to loopback addresses without touching the machine.
with_hosts_file() {
	local hosts="$1"
	shift
	exec unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$hosts" "$@"
}

# loopback_hosts: write a hosts file that gives V4NAME only 127.0.0.1 and
# print its path.  "localhost" is no such name: a stock Debian /etc/hosts
# maps it to ::1 as well, and which comes first is the resolver's choice.
# Use it as SOCKSIFYD_WRAP=(with_hosts_file "$(loopback_hosts)").
V4NAME=v4only.e2e.test
loopback_hosts() {
	local f="$E2E_TMP/hosts.loopback"
	printf '127.0.0.1\tlocalhost\n127.0.0.1\t%s\n' "$V4NAME" >"$f"
	echo "$f"
}

# socksifyd_listen_port HOST: print the port socksifyd reported on stdout
# for the listener on HOST (e.g. 127.0.0.1 or ::1) of the newest instance.
socksifyd_listen_port() {
	local want="$1"
	[[ "$want" == *:* ]] && want="\\[$want\\]"
	sed -nE "s/^listening $want:([0-9]+)\$/\\1/p" "$SOCKSIFYD_OUT" | head -n 1
}

# session_lines [LOG]: print the session log lines of LOG (default
# $SOCKSIFYD_LOG).
session_lines() {
	grep -E '^socksifyd: session ' "${1:-$SOCKSIFYD_LOG}" 2>/dev/null
}

# session_filter FIELD=VALUE...: print the session lines of $SOCKSIFYD_LOG
# that hold every given field exactly (e.g. proto=socks5 result=ok
# target=127.0.0.1:8080).  A FIELD=~REGEX argument matches the field's
# whole value against an extended regex instead.
session_filter() {
	session_lines | E2E_WANT="$*" awk '
	BEGIN { n = split(ENVIRON["E2E_WANT"], w, " ") }
	{
		split("", have)
		for (i = 3; i <= NF; i++) {
			eq = index($i, "=")
			if (eq) have[substr($i, 1, eq - 1)] = substr($i, eq + 1)
		}
		ok = 1
		for (j = 1; j <= n; j++) {
			if (index(w[j], "=~")) {
				k = substr(w[j], 1, index(w[j], "=~") - 1)
				re = substr(w[j], index(w[j], "=~") + 2)
				if (!(k in have) || have[k] !~ ("^(" re ")$")) { ok = 0; break }
			} else {
				k = substr(w[j], 1, index(w[j], "=") - 1)
				v = substr(w[j], index(w[j], "=") + 1)
				if (!(k in have) || have[k] != v) { ok = 0; break }
			}
		}
		if (ok) print
	}'
}

# session_count FIELD=VALUE...: print how many session lines match (see
# session_filter).
session_count() {
	session_filter "$@" | wc -l
}

# session_count_is OP N [FILTER...]: true when session_count FILTER... OP N
# holds, OP being a test(1) operator such as -eq or -ge (for wait_until).
session_count_is() {
	local op="$1" n="$2"
	shift 2
	test "$(session_count "$@")" "$op" "$n"
}

# session_field NAME FIELD=VALUE...: print the value of field NAME (e.g.
# down) in the last session line that matches the filters.
session_field() {
	local name="$1"
	shift
	session_filter "$@" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$name=//p"
}

# assert_session FIELD=VALUE...: wait (5 s) for a session line in
# $SOCKSIFYD_LOG with all the given fields (see session_count); on timeout
# fail the test and show the log.  Sessions are logged when they end, which
# may be a moment after the client exits.
assert_session() {
	local i
	for ((i = 0; i < 100; i++)); do
		(($(session_count "$@") > 0)) && return 0
		sleep 0.05
	done
	{
		echo "no session line with: $*"
		echo "socksifyd log ($SOCKSIFYD_LOG):"
		cat "$SOCKSIFYD_LOG"
	} | fail
}

# in_net_of PID CMD [ARGS...]: run CMD in the network namespace of PID (a
# server started under `ip netns exec`), or as it is when that is ours or
# cannot be entered.
in_net_of() {
	local pid="$1"
	shift
	if [[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$(readlink /proc/$$/ns/net)" ]] &&
		nsenter --net="/proc/$pid/ns/net" true 2>/dev/null; then
		nsenter --net="/proc/$pid/ns/net" "$@"
	else
		"$@"
	fi
}

# socksifyd_open_conns: print the TCP connections through which a session
# of a socksifyd this test started may still be open (sessions are logged
# when they end): connections on its listening ports that it has not closed
# yet (queued, open, or closed by the client only), and those it still
# holds half-closed.  Connections it closed itself (TIME-WAIT and the like)
# belong to sessions already logged.  Looks in socksifyd's own network
# namespace.
socksifyd_open_conns() {
	local pid kind log p filt
	[[ -f "$E2E_PIDS_FILE" ]] || return 0
	while read -r pid kind log; do
		[[ "$kind" == socksifyd ]] || continue
		pid_alive "$pid" || continue
		filt=""
		for p in $(sed -nE 's/^listening .*:([0-9]+)$/\1/p' "${log%.log}.out" 2>/dev/null); do
			filt+="${filt:+ or }sport = :$p"
		done
		if [[ -n "$filt" ]]; then
			in_net_of "$pid" ss -Htn state established state syn-recv state close-wait \
				"( $filt )" 2>/dev/null
		fi
		in_net_of "$pid" ss -Htnp state fin-wait-1 state fin-wait-2 state closing 2>/dev/null |
			grep -F "pid=$pid," || true
	done <"$E2E_PIDS_FILE"
}

# no_open_conns: true when socksifyd_open_conns prints nothing (for wait_until).
no_open_conns() {
	[[ -z "$(socksifyd_open_conns)" ]]
}

# sessions_settle [SECS]: wait (default 10 s) until no socksifyd this test
# started holds a connection whose session could still be logged, then a
# moment more for the line itself (socksifyd closes, then logs).  On
# timeout it says which connections stay open and returns 0 all the same:
# the caller asserts on the log as it then is.
sessions_settle() {
	if ! wait_until "${1:-10}" no_open_conns; then
		echo "# socksifyd connections still open after ${1:-10}s:" >&2
		socksifyd_open_conns | sed 's/^/#   /' >&2
	fi
	sleep 0.1
}

# refute_session FIELD=VALUE...: fail if any session line has all the
# fields, once the sessions still open have ended (sessions_settle).
refute_session() {
	sessions_settle
	if (($(session_count "$@") > 0)); then
		{
			echo "unexpected session line with: $*"
			session_lines
		} | fail
	fi
}

# ---------------------------------------------------------------- peers

# start_port_tool KIND CMD [ARGS...]: run CMD, a peer that listens on port
# 0, in the background with --port-file and --log added; its stderr goes
# to $E2E_TMP/KIND.N.err.  Sets TOOL_PID, TOOL_PORT and TOOL_LOG; fails the
# test when no port appears within 10 s.  The start_* helpers below are
# this with their own variable names.
start_port_tool() {
	local kind="$1" n base
	shift
	n=$(ls "$E2E_TMP/$kind".*.log 2>/dev/null | wc -l)
	base="$E2E_TMP/$kind.$n"
	TOOL_LOG="$base.log"
	: >"$TOOL_LOG"
	"$@" --port-file "$base.port" --log "$TOOL_LOG" >"$base.err" 2>&1 3>&- </dev/null &
	TOOL_PID=$!
	e2e_register "$TOOL_PID" "$kind" "$base.err"
	wait_for_file "$base.port" 10 || fail "$kind did not start"
	TOOL_PORT="$(tr -d '[:space:]' <"$base.port")"
}

# start_http_server [HOST]: start tools/httpd.py on HOST (127.0.0.1 or ::1,
# default 127.0.0.1), port 0, serving $HTTP_ROOT which holds index.html
# (body $HTTP_BODY, a unique line) and big.bin (1 MiB).  POST /echo returns
# the request body.  Sets HTTP_PID, HTTP_PORT, HTTP_HOST, HTTP_LOG (one line
# per request: "METHOD PATH CLIENT_IP"), HTTP_ROOT, HTTP_BODY.
#
# Python's HTTPServer looks up the name of the address it binds; the
# machine's /etc/hosts may not name ::1, and the lookup would then go to
# the machine's name server.  So the server runs with a hosts file of its
# own (with_hosts_file) that names both loopback addresses.
start_http_server() {
	local host="${1:-127.0.0.1}" hosts="$E2E_TMP/hosts.httpd"
	HTTP_ROOT="$(mktemp -d "$E2E_TMP/www.XXXXXX")"
	HTTP_BODY="socksify-e2e-body-$RANDOM$RANDOM"
	echo "$HTTP_BODY" >"$HTTP_ROOT/index.html"
	head -c 1048576 /dev/urandom >"$HTTP_ROOT/big.bin"
	HTTP_HOST="$host"
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost ip6-localhost" >"$hosts"
	start_port_tool http with_hosts_file "$hosts" \
		"$PYTHON" "$TOOLS/httpd.py" --host "$host" --root "$HTTP_ROOT"
	HTTP_PID=$TOOL_PID HTTP_PORT=$TOOL_PORT HTTP_LOG=$TOOL_LOG
}

# http_request_count [PATH]: print how many requests the newest HTTP server
# saw (for PATH only, when given).
http_request_count() {
	if [[ -n "${1:-}" ]]; then
		awk -v p="$1" '$2 == p' "$HTTP_LOG" | wc -l
	else
		wc -l <"$HTTP_LOG"
	fi
}

# start_udp_echo [HOST]: start tools/udp_echo.py on HOST (default
# 127.0.0.1; ::1 for IPv6), port 0.  Sets UDP_PID, UDP_PORT, UDP_HOST,
# UDP_LOG (one line per datagram: "SRC_IP SRC_PORT LENGTH").
start_udp_echo() {
	UDP_HOST="${1:-127.0.0.1}"
	start_port_tool udp "$PYTHON" "$TOOLS/udp_echo.py" --host "$UDP_HOST"
	UDP_PID=$TOOL_PID UDP_PORT=$TOOL_PORT UDP_LOG=$TOOL_LOG
}

# start_danted [--user] [EXTRA_CONFIG_LINE...]: start Dante's server on
# 127.0.0.1 at a free port with the PEERS.md config (every command allowed
# from 127.0.0.0/8, `log: connect disconnect` so each session is in
# DANTED_LOG).  --user switches socksmethod to username (system users).
# Extra lines are appended to the config verbatim.  danted forks: its PID
# comes from the pid file.  DANTED_BIN, when set, runs instead of
# /usr/sbin/danted (e.g. a wrapper that starts it in a mount namespace).
# Sets DANTED_PID, DANTED_PORT, DANTED_LOG,
# DANTED_CONF.
start_danted() {
	local method=none n pidf line
	if [[ "${1:-}" == --user ]]; then
		method=username
		shift
	fi
	n=$(ls "$E2E_TMP"/danted.*.conf 2>/dev/null | wc -l)
	DANTED_CONF="$E2E_TMP/danted.$n.conf"
	DANTED_LOG="$E2E_TMP/danted.$n.log"
	pidf="$E2E_TMP/danted.$n.pid"
	DANTED_PORT="$(free_port)"
	cat >"$DANTED_CONF" <<-EOF
		logoutput: $DANTED_LOG
		internal: 127.0.0.1 port = $DANTED_PORT
		external: 127.0.0.1
		socksmethod: $method
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass {
			from: 127.0.0.0/8 to: 0.0.0.0/0
			log: connect disconnect
		}
		socks pass {
			from: 127.0.0.0/8 to: 0.0.0.0/0
			command: connect bind udpassociate bindreply udpreply
			log: connect disconnect
		}
	EOF
	for line in "$@"; do
		echo "$line" >>"$DANTED_CONF"
	done
	: >"$DANTED_LOG"
	"${DANTED_BIN:-/usr/sbin/danted}" -f "$DANTED_CONF" -D -p "$pidf" \
		>"$E2E_TMP/danted.$n.err" 2>&1 3>&- </dev/null || true
	wait_for_file "$pidf" 10 || {
		cat "$E2E_TMP/danted.$n.err" "$DANTED_LOG" >&2
		fail "danted did not start"
		return 1
	}
	DANTED_PID="$(tr -d '[:space:]' <"$pidf")"
	e2e_register "$DANTED_PID" danted "$DANTED_LOG"
	wait_for_port 127.0.0.1 "$DANTED_PORT" 10 || fail "danted does not listen"
	guard_proxy 127.0.0.1 "$DANTED_PORT"
}

# start_microsocks [-u USER -P PASS]: start microsocks on 127.0.0.1 at a
# free port (it cannot use port 0).  Sets MICROSOCKS_PID, MICROSOCKS_PORT,
# MICROSOCKS_LOG.
start_microsocks() {
	local n
	n=$(ls "$E2E_TMP"/microsocks.*.log 2>/dev/null | wc -l)
	MICROSOCKS_LOG="$E2E_TMP/microsocks.$n.log"
	MICROSOCKS_PORT="$(free_port)"
	/usr/bin/microsocks -i 127.0.0.1 -p "$MICROSOCKS_PORT" "$@" \
		>"$MICROSOCKS_LOG" 2>&1 3>&- </dev/null &
	MICROSOCKS_PID=$!
	e2e_register "$MICROSOCKS_PID" microsocks "$MICROSOCKS_LOG"
	wait_for_port 127.0.0.1 "$MICROSOCKS_PORT" 10 || fail "microsocks does not listen"
	guard_proxy 127.0.0.1 "$MICROSOCKS_PORT"
}

# start_bg NAME CMD [ARGS...]: run any other helper in the background with
# output to $E2E_TMP/NAME.log, registered for teardown.  Sets BG_PID, BG_LOG.
start_bg() {
	local name="$1"
	shift
	BG_LOG="$E2E_TMP/$name.log"
	"$@" >"$BG_LOG" 2>&1 3>&- </dev/null &
	BG_PID=$!
	e2e_register "$BG_PID" "$name" "$BG_LOG"
}

# start_tcp_echo [HOST]: start tools/tcp_echo.py on HOST (default
# 127.0.0.1), port 0: every byte sent comes back.  Sets ECHO_PID,
# ECHO_PORT, ECHO_HOST, ECHO_LOG (one line per finished connection:
# "SRC_IP SRC_PORT BYTES").
start_tcp_echo() {
	ECHO_HOST="${1:-127.0.0.1}"
	start_port_tool echo "$PYTHON" "$TOOLS/tcp_echo.py" --host "$ECHO_HOST"
	ECHO_PID=$TOOL_PID ECHO_PORT=$TOOL_PORT ECHO_LOG=$TOOL_LOG
}
