#!/usr/bin/env bats
# engine_socket.bats: what the client engine owes the program whose socket it
# drives: an event loop's epoll registration and the socket's identity
# survive the chain, an fd the program takes back during a handshake stays
# the program's, connect() fits in a small thread stack, -vv tells each
# hop's progress, socks5h:// keeps names away from the local resolver, and
# the library neither exits the host program nor exports stray symbols.
#
# Every connecting test proves through the proxies' own logs which hops
# carried it; configs say "direct = none" so loopback targets are routed.

load lib/common
load lib/client
load lib/dns
load lib/guard

setup_file() {
	client_build_progs
}

setup() {
	client_setup
	guard_setup
}

teardown() {
	guard_teardown
}

# sfy_opt OPT CMD [ARGS...]: CMD under the launcher with one launcher
# option (-q, -v, -vv) and $SFY_CONF, bounded by 30 s.
sfy_opt() {
	local opt="$1"
	shift
	timeout 30 "$LAUNCHER" "$opt" -f "$SFY_CONF" -- "$@"
}

# start_slow_relay PORT [DELAY]: tools/engine_slow_relay.py on 127.0.0.1
# in front of 127.0.0.1:PORT, holding every chunk DELAY seconds (default
# 0.3) each way.  Sets SLOW_PID, SLOW_PORT, SLOW_LOG ("conn N" per
# connection).
start_slow_relay() {
	start_port_tool slow "$PYTHON" "$TOOLS/engine_slow_relay.py" \
		--target "127.0.0.1:$1" --delay "${2:-0.3}"
	SLOW_PID=$TOOL_PID SLOW_PORT=$TOOL_PORT SLOW_LOG=$TOOL_LOG
	# A hop of the chain: reachable from the guarded namespace.
	guard_proxy 127.0.0.1 "$SLOW_PORT"
}

# re_escape TEXT: TEXT with the extended-regex metacharacters escaped.
re_escape() {
	sed -E 's/[][\.^$*+?(){}|]/\\&/g' <<<"$1"
}

# hcp_count LINE: how many lines of $HCP_LOG are exactly LINE.
hcp_count() {
	grep -cxF -- "$1" "$HCP_LOG" || true
}

# ------------------------------------------------ epoll before connect

# epoll_run: run tools/engine_epoll_connect.py against the echo server
# under $SFY_CONF.
epoll_run() {
	run sfy "$PYTHON" "$TOOLS/engine_epoll_connect.py" 127.0.0.1 "$ECHO_PORT"
}

# epoll_assert: what an event loop relies on, from epoll_run's output.  The
# socket must still be AF_INET however the hop is reached.
epoll_assert() {
	assert_line --regexp '^connect_ex (0|EINPROGRESS)$'
	assert_line --regexp '^epoll EPOLLOUT '
	assert_line "so_error 0"
	assert_line --regexp '^sockname AF_INET '
	assert_line "so_domain AF_INET"
	assert_line "peer 127.0.0.1 $ECHO_PORT"
	assert_line "echo ok"
	assert_line done
	assert_success
}

@test "engine: python3 epoll (EPOLLET, registered before connect) gets EPOLLOUT: dynamic chain, dead first hop, same socket" {
	start_tcp_echo
	start_socksifyd
	sfy_conf "chain = dynamic" \
		"proxy = socks5://127.0.0.1:$(free_port)" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	epoll_run
	# Skipping the dead hop must not swap the program's socket: a new one
	# would not be in the program's epoll set.
	assert_line "inode_after_connect same"
	epoll_assert
	assert_line "inode same"
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
}

@test "engine: python3 epoll (EPOLLET, registered before connect) gets EPOLLOUT: AF_INET socket through an IPv6-only hop" {
	start_tcp_echo
	start_socksifyd -l '[::1]:0'
	[[ -z "$(socksifyd_listen_port 127.0.0.1)" ]] || fail "the hop listens on IPv4 too"
	sfy_conf "proxy = socks5://[::1]:$SOCKSIFYD_PORT"
	epoll_run
	epoll_assert
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
}

# ------------------------------------------------ fd taken back mid-handshake

# fdreuse_case: run progs/engine_fdreuse under $SFY_CONF (its hop is the
# slow relay) and check the program's file survived the connect.
fdreuse_case() {
	run sfy "$PROGS/engine_fdreuse" 127.0.0.1 "$ECHO_PORT" "$E2E_TMP/owned.txt"
	if ((status == 2)); then
		fail "the test could not set itself up: $output"
	fi
	assert_line --regexp '^reused fd [0-9]+$'
	assert_line --regexp '^connect returned '
	refute_line --partial FAIL
	assert_line "fdreuse ok"
	assert_success
	# The handshake really was in flight through the slow hop.
	grep -qx 'conn 1' "$SLOW_LOG" || fail "the slow relay saw no connection: $(cat "$SLOW_LOG")"
}

@test "engine: an fd closed and reopened by another thread during a slow handshake keeps what the other thread put there" {
	start_tcp_echo
	start_socksifyd
	start_slow_relay "$SOCKSIFYD_PORT"
	sfy_conf "proxy = socks5://127.0.0.1:$SLOW_PORT"
	fdreuse_case
}

@test "engine: an fd closed and reopened by another thread during a slow handshake keeps what the other thread put there (dynamic chain, dead first hop)" {
	start_tcp_echo
	start_socksifyd
	start_slow_relay "$SOCKSIFYD_PORT"
	sfy_conf "chain = dynamic" \
		"proxy = socks5://127.0.0.1:$(free_port)" \
		"proxy = socks5://127.0.0.1:$SLOW_PORT"
	fdreuse_case
}

@test "engine: fd exhaustion cannot break the program: a connect with every other fd in use goes through the chain and leaves no fd behind" {
	start_tcp_echo
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PROGS/engine_fdfull" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "fdfull ok free=0"
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok
}

# ------------------------------------------------ small thread stacks

@test "engine: a thread with a 64 KiB stack connecting through a 3-hop chain with HTTP and SOCKS5-auth hops (connect uses <= 4 KiB of stack)" {
	start_tcp_echo
	start_socksifyd -u alice:s3cret
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_httpconnect --auth bob:hunter2
	start_socksifyd
	sfy_conf "chain = strict" \
		"proxy = socks5://alice:s3cret@127.0.0.1:$p1" \
		"proxy = http://bob:hunter2@127.0.0.1:$HCP_PORT" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_opt -q "$PROGS/engine_smallstack" 127.0.0.1 "$ECHO_PORT"
	((status != 139)) || fail "SIGSEGV: connect() overflowed the thread's 64 KiB stack: $output"
	assert_line "connect ok"
	assert_line "echo ok"
	assert_success
	local used
	used="$(sed -nE 's/^stack_used=([0-9]+)$/\1/p' <<<"$output")"
	[[ -n "$used" ]] || fail "no stack_used line: $output"
	echo "# connect() used $used bytes of stack" >&3
	((used <= 4096)) || fail "connect() used $used bytes of the thread's stack (at most 4096 allowed)"
	# Both connections (main's warm-up and the thread's) took all three
	# hops, each logging in.
	SOCKSIFYD_LOG=$l1 wait_until 5 session_count_is -eq 2 cmd=connect \
		target="127.0.0.1:$HCP_PORT" user=alice result=ok ||
		fail "hop 1 sessions: $(SOCKSIFYD_LOG=$l1 session_lines)"
	(($(hcp_count "CONNECT 127.0.0.1:$SOCKSIFYD_PORT user=bob result=ok") == 2)) ||
		fail "hop 2 log: $(cat "$HCP_LOG")"
	wait_until 5 session_count_is -eq 2 cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok ||
		fail "hop 3 sessions: $(session_lines)"
}

# ------------------------------------------------ per-hop debug log

@test "engine: -vv shows each hop's stages (socks5 with auth -> http -> socks5), -v only the one connect line" {
	start_tcp_echo
	start_socksifyd -u alice:s3cret
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_httpconnect
	start_socksifyd
	local p3=$SOCKSIFYD_PORT
	sfy_conf "chain = strict" \
		"proxy = socks5://alice:s3cret@127.0.0.1:$p1" \
		"proxy = http://127.0.0.1:$HCP_PORT" \
		"proxy = socks5://127.0.0.1:$p3"
	# The URLs as log lines print proxies: scheme://host:port, no user.
	local h1 h2 h3 dst
	h1="hop 1 \\($(re_escape "socks5://127.0.0.1:$p1")\\): "
	h2="hop 2 \\($(re_escape "http://127.0.0.1:$HCP_PORT")\\): "
	h3="hop 3 \\($(re_escape "socks5://127.0.0.1:$p3")\\): "
	dst="$(re_escape "127.0.0.1:$ECHO_PORT")"
	# In the order the stages complete.
	local want=(
		"${h1}tcp connect( .*)? ok( |\$)"
		"${h1}greeting ok( |\$)"
		"${h1}login ok( |\$)"
		"${h1}CONNECT $(re_escape "127.0.0.1:$HCP_PORT") ok( |\$)"
		"${h2}CONNECT $(re_escape "127.0.0.1:$p3") ok( |\$)"
		"${h3}greeting ok( |\$)"
		"${h3}CONNECT $dst ok( |\$)"
	)

	run sfy_opt -vv "$PYTHON" "$TOOLS/client_connect.py" --echo engine-vv 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "ECHO OK"
	local re n at last=0 missing=()
	for re in "${want[@]}"; do
		n="$(grep -cE -- "^socksify: $re" <<<"$output" || true)"
		if ((n != 1)); then
			missing+=("$re (seen $n times)")
			continue
		fi
		at="$(grep -nE -- "^socksify: $re" <<<"$output" | cut -d: -f1)"
		((at > last)) || missing+=("$re (out of order)")
		last=$at
	done
	if ((${#missing[@]} > 0)); then
		{
			echo "-vv stage lines missing or wrong, one per completed stage per hop expected:"
			printf '  %s\n' "${missing[@]}"
			echo "output:"
			echo "$output"
		} | fail
	fi
	# Stages a hop does not have: HTTP has no greeting or login, hop 3
	# has no credentials.
	refute_line --regexp "^socksify: ${h2}(greeting|login)"
	refute_line --regexp "^socksify: ${h3}login"
	refute_output --partial s3cret
	SOCKSIFYD_LOG=$l1 assert_session cmd=connect target="127.0.0.1:$HCP_PORT" user=alice result=ok
	(($(hcp_count "CONNECT 127.0.0.1:$p3 user=- result=ok") == 1)) ||
		fail "hop 2 log: $(cat "$HCP_LOG")"
	assert_session cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok

	run sfy_opt -v "$PYTHON" "$TOOLS/client_connect.py" --echo engine-v 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_line "ECHO OK"
	refute_line --regexp '^socksify: hop [0-9]+ \('
	n="$(grep -cE "^socksify: .*connect $dst via .* ok" <<<"$output" || true)"
	((n == 1)) || fail "-v: expected one 'connect ... via ... ok' line, saw $n: $output"
}

# ------------------------------------------------ socks5:// and socks5h://

# name_case SCHEME [CONFIG_LINE...]: in the client namespace of lib/dns
# (resolv.conf names only the counting name server), fetch / from
# $ONLY_PROXY, a name only the proxy's hosts file knows, through one
# socksifyd hop given as SCHEME://.
name_case() {
	local scheme="$1"
	shift
	dns_setup
	start_http_server
	start_dns_counter
	start_proxy_socksifyd
	dns_conf "direct = none" "$@" "proxy = $scheme://127.0.0.1:$SOCKSIFYD_PORT"
	drun dsfy "$PYTHON" "$TOOLS/dns_pyclient.py" create_connection "$ONLY_PROXY" "$HTTP_PORT"
}

# dns_saw NAME: the counting name server got a query for NAME.
dns_saw() {
	grep -qE "^(udp|tcp) $(re_escape "$1")\.? " "$DNS_LOG"
}

@test "engine: socks5:// versus socks5h:// does what the docs say: socks5h:// sends the name to the proxy even with dns = local" {
	name_case socks5h "dns = local"
	assert_no_queries
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok
}

@test "engine: socks5:// versus socks5h:// does what the docs say: socks5:// with dns = local resolves on the client" {
	name_case socks5 "dns = local"
	wait_until 5 dns_saw "$ONLY_PROXY" ||
		fail "the client did not ask its name server for $ONLY_PROXY: $(cat "$DNS_LOG")"
	# Only the proxy knows the name, so resolving it locally fails, and
	# the name never reaches the proxy.
	assert_line --regexp '^ERR '
	refute_output --partial "$HTTP_BODY"
	refute_session target="$ONLY_PROXY:$HTTP_PORT"
}

@test "engine: socks5:// versus socks5h:// does what the docs say: socks5:// sends names to the proxy by default (dns = remote)" {
	name_case socks5
	assert_no_queries
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="$ONLY_PROXY:$HTTP_PORT" result=ok
}

# ------------------------------------------------ the library's symbols

@test "engine: No code path calls exit() or abort() in the host program: none is imported" {
	local undef bad=() f
	undef="$(nm -D --undefined-only "$LIBSOCKSIFY" | awk '{ print $NF }' | sed 's/@.*//')"
	[[ -n "$undef" ]] || fail "nm listed no undefined symbols in $LIBSOCKSIFY"
	for f in exit _exit _Exit abort quick_exit err errx verr verrx; do
		if grep -qxF -- "$f" <<<"$undef"; then
			bad+=("$f")
		fi
	done
	((${#bad[@]} == 0)) || fail "libsocksify.so calls ${bad[*]}: it would end the program it lives in"
}

# sfy_export_names: the functions (and objects) marked SFY_EXPORT in the
# library's sources, one per line, sorted.  Comments and preprocessor lines
# are dropped first, so the macro's definition and prose naming it do not
# count.
sfy_export_names() {
	find "$REPO/preload" -name '*.c' -print0 | xargs -0 perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		s{//[^\n]*}{}g;
		s{^[ \t]*#[^\n]*}{}mg;
		while (/\bSFY_EXPORT\b[^;{(=]*?\b([A-Za-z_]\w*)\s*(?:\(|=|;|\[)/gs) {
			print "$1\n";
		}' | sort -u
}

@test "engine: No code path calls exit() or abort() in the host program: and it exports only the SFY_EXPORT hooks" {
	local want have extra missing
	want="$(sfy_export_names)"
	grep -qx connect <<<"$want" || fail "found no SFY_EXPORT connect in $REPO/preload: $want"
	# Version-node names (type A) are not symbols a program can bind to.
	have="$(nm -D --defined-only "$LIBSOCKSIFY" | awk 'NF >= 3 && $2 != "A" { print $3 }' |
		sed 's/@.*//' | sort -u)"
	extra="$(comm -13 <(echo "$want") <(echo "$have"))"
	missing="$(comm -23 <(echo "$want") <(echo "$have"))"
	[[ -z "$extra" ]] || fail "exported but not marked SFY_EXPORT: $(echo $extra)"
	[[ -z "$missing" ]] || fail "marked SFY_EXPORT but not exported (not interposed): $(echo $missing)"
}
