# client.bash: helpers for the socksify (library + launcher) e2e suites.
#
# Usage in a suite (tests/e2e/socksify_*.bats), after lib/common:
#
#     load lib/common
#     load lib/client
#     setup()    { client_setup; }
#     teardown() { e2e_teardown; }
#
# Variables set here (besides those of common.bash):
#   PROGS      where client_build_progs put the compiled test programs
#   SFY_CONF   the config file sfy_conf wrote last
#   PROGS_SRC  tests/e2e/progs

PROGS_SRC="$REPO/tests/e2e/progs"
PROGS="${BATS_FILE_TMPDIR:-$E2E_TMP}/progs"
export SOCKSIFY_BUILD

# client_setup: common setup, plus an environment in which nothing but what
# the test says can pick a proxy or a config: no SOCKSIFY_* variables, no
# *_proxy variables, an empty XDG config dir, and the per-test temp dir
# (without a socksify.conf) as the working directory.
client_setup() {
	e2e_setup || return 1
	unset SOCKSIFY_CONF SOCKSIFY_PROXY SOCKSIFY_LOG SOCKSIFY_LOG_FILE
	unset SOCKSIFY_LIB
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	unset no_proxy NO_PROXY
	export XDG_CONFIG_HOME="$E2E_TMP/xdg"
	mkdir -p "$XDG_CONFIG_HOME"
	[[ -x "$LAUNCHER" ]] || fail "launcher missing: $LAUNCHER"
	[[ -f "$LIBSOCKSIFY" ]] || fail "library not built: $LIBSOCKSIFY (set SOCKSIFY_BUILD)"
}

# client_build_progs: compile tests/e2e/progs/*.c into $PROGS (call from
# setup_file).  static_hello is linked statically.
client_build_progs() {
	local src name
	mkdir -p "$PROGS"
	for src in "$PROGS_SRC"/*.c; do
		name="$(basename "$src" .c)"
		if [[ "$name" == static_hello ]]; then
			cc -static -O1 -o "$PROGS/$name" "$src" || return 1
		else
			cc -D_GNU_SOURCE -O2 -Wall -Wextra -pthread \
				-o "$PROGS/$name" "$src" || return 1
		fi
	done
}

# sfy_conf LINE...: write a config that sends everything (loopback too)
# through the chain: "direct = none" followed by the given lines.  Sets
# SFY_CONF.
sfy_conf() {
	SFY_CONF="$E2E_TMP/sfy.conf"
	{
		echo "# written by ${BATS_TEST_NAME:-e2e}"
		echo "direct = none"
		printf '%s\n' "$@"
	} >"$SFY_CONF"
}

# sfy CMD [ARGS...]: run CMD under the launcher with $SFY_CONF, bounded by
# 30 s so a hang fails the test instead of blocking the suite.
sfy() {
	timeout 30 "$LAUNCHER" -f "$SFY_CONF" -- "$@"
}

# sfy_py [ARGS...]: run tools/client_connect.py under the launcher.
sfy_py() {
	sfy "$PYTHON" "$TOOLS/client_connect.py" "$@"
}

# sfy_curl URL [ARGS...]: curl under the launcher, no proxy of its own.
sfy_curl() {
	local url="$1"
	shift
	sfy curl -sS --noproxy '*' --max-time 20 "$@" "$url"
}

# ---------------------------------------------------------------- peers

# start_echo_server [HOST]: the shared echo server (start_tcp_echo in
# common.bash).  Sets ECHO_PID, ECHO_PORT, ECHO_LOG.
start_echo_server() {
	start_tcp_echo "$@"
}

# start_httpconnect [--auth USER:PASS] [--status CODE]: tools/httpconnect_proxy.py
# on 127.0.0.1.  Sets HCP_PID, HCP_PORT, HCP_LOG (one line per CONNECT:
# "CONNECT TARGET user=U result=R").
start_httpconnect() {
	start_port_tool hcp "$PYTHON" "$TOOLS/httpconnect_proxy.py" "$@"
	HCP_PID=$TOOL_PID HCP_PORT=$TOOL_PORT HCP_LOG=$TOOL_LOG
	guard_proxy 127.0.0.1 "$HCP_PORT"
}

# start_badproxy MODE [--code N] [--delay S]: tools/badproxy.py on
# 127.0.0.1.  Sets BAD_PID, BAD_PORT, BAD_LOG ("conn N mode=M first=HEX",
# "target N HOST:PORT").
start_badproxy() {
	local mode="$1"
	shift
	start_port_tool bad "$PYTHON" "$TOOLS/badproxy.py" --mode "$mode" "$@"
	BAD_PID=$TOOL_PID BAD_PORT=$TOOL_PORT BAD_LOG=$TOOL_LOG
	guard_proxy 127.0.0.1 "$BAD_PORT"
}

# ---------------------------------------------------------------- proofs

# danted_connect_count HOST PORT: how many CONNECTs danted logged to HOST:PORT.
danted_connect_count() {
	grep -cE "tcp/connect \[: .* -> .* ${1//./\\.}\.$2\$" "$DANTED_LOG"
}

# microsocks_connect_count HOST PORT: how many CONNECTs microsocks logged
# to HOST:PORT ("client[N] IP: connected to HOST:PORT").
microsocks_connect_count() {
	grep -cF ": connected to $1:$2" "$MICROSOCKS_LOG"
}

# count_positive CMD...: true when CMD prints a number above 0 (for
# wait_until, which runs it afresh each round).
count_positive() {
	(($("$@") > 0))
}

# assert_danted_connect HOST PORT: wait (5 s) until danted logged a CONNECT
# to HOST:PORT.
assert_danted_connect() {
	wait_until 5 count_positive danted_connect_count "$1" "$2" || {
		echo "danted logged no connect to $1:$2"
		cat "$DANTED_LOG"
	} | fail
}

# assert_microsocks_connect HOST PORT
assert_microsocks_connect() {
	wait_until 5 count_positive microsocks_connect_count "$1" "$2" || {
		echo "microsocks logged no connect to $1:$2"
		cat "$MICROSOCKS_LOG"
	} | fail
}

# assert_http_requests N: the newest HTTP server saw exactly N requests.
assert_http_requests() {
	local got
	got="$(http_request_count)"
	[[ "$got" == "$1" ]] || {
		echo "HTTP server saw $got requests, expected $1:"
		cat "$HTTP_LOG"
	} | fail
}

# assert_no_session: socksifyd (newest) logged no session at all, once the
# sessions still open have ended (sessions_settle in common.bash).
assert_no_session() {
	local n
	sessions_settle
	n="$(session_lines | wc -l)"
	((n == 0)) || {
		echo "socksifyd logged $n sessions, expected none:"
		session_lines
	} | fail
}

# assert_errno NAME: $output (of client_connect.py or a prog) says ERRNO NAME.
assert_errno() {
	[[ "$output" =~ ERRNO\ $1([^A-Z]|$) ]] || {
		echo "expected ERRNO $1, got:"
		echo "$output"
	} | fail
}

# elapsed_ms_of_output: the elapsed=SECONDS client_connect.py printed, in ms.
elapsed_ms_of_output() {
	local s
	s="$(sed -nE 's/.*elapsed=([0-9.]+).*/\1/p' <<<"$output" | head -n 1)"
	awk -v s="${s:-999}" 'BEGIN { printf "%d\n", s * 1000 }'
}

# now_ms: monotonic-ish wall clock in milliseconds.
now_ms() {
	date +%s%3N
}
