#!/usr/bin/env bats
# socksify_chains.bats: chains of several hops (mixed protocols), dynamic and
# strict chains with a dead hop, and IPv6 destinations; every test proves
# which proxies carried the bytes (or that nothing went out direct).

load lib/common
load lib/client
load lib/guard

setup() {
	client_setup
	guard_setup
}

teardown() {
	guard_teardown
}

@test "chains: socksifyd -> danted -> target" {
	start_http_server
	start_danted
	start_socksifyd
	sfy_conf "chain = strict" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$DANTED_PORT"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	# socksifyd carried the tunnel to danted, danted the one to the server.
	assert_session cmd=connect target="127.0.0.1:$DANTED_PORT" result=ok
	refute_session target="127.0.0.1:$HTTP_PORT"
	assert_danted_connect 127.0.0.1 "$HTTP_PORT"
	assert_http_requests 1
}

@test "chains: 3 hops of mixed types: socks4a -> socks5 with auth -> http connect with auth" {
	start_http_server
	start_socksifyd
	local s4_port=$SOCKSIFYD_PORT s4_log=$SOCKSIFYD_LOG
	start_socksifyd -u alice:s3cr%t
	local s5_port=$SOCKSIFYD_PORT
	start_httpconnect --auth "bob:pa:ss"
	sfy_conf "chain = strict" \
		"proxy = socks4a://e2euser@127.0.0.1:$s4_port" \
		"proxy = socks5://alice:s3cr%25t@127.0.0.1:$s5_port" \
		"proxy = http://bob:pa%3Ass@127.0.0.1:$HCP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	# hop 1 (SOCKS4/4a) opened hop 2, hop 2 (SOCKS5, user alice) opened
	# hop 3, hop 3 (HTTP CONNECT, user bob) opened the server.
	assert_session cmd=connect target="127.0.0.1:$HCP_PORT" result=ok user=alice
	SOCKSIFYD_LOG=$s4_log assert_session cmd=connect proto=~'socks4a?' \
		target="127.0.0.1:$s5_port" result=ok
	run cat "$HCP_LOG"
	assert_output "CONNECT 127.0.0.1:$HTTP_PORT user=bob result=ok"
	assert_http_requests 1
}

@test "chains: dynamic chain skips a dead first hop and succeeds" {
	start_http_server
	start_socksifyd
	sfy_conf "chain = dynamic" \
		"proxy = socks5://127.0.0.1:$(free_port)" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "chains: strict chain with a dead hop fails with ECONNREFUSED and nothing goes direct" {
	start_http_server
	start_socksifyd
	sfy_conf "chain = strict" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$(free_port)"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	refute_session target="127.0.0.1:$HTTP_PORT"
	assert_http_requests 0
}

@test "chains: strict chain whose only hop is dead: ECONNREFUSED, no direct connection" {
	start_http_server
	sfy_conf "chain = strict" "proxy = socks5://127.0.0.1:$(free_port)"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	assert_http_requests 0
}

@test "chains: dynamic, random and round_robin chains whose every hop is dead fail with ECONNREFUSED: one line per hop, no retry loop" {
	start_http_server
	local mode d1 d2
	d1="$(free_port)"
	d2="$(free_port)"
	for mode in dynamic random round_robin; do
		sfy_conf "chain = $mode" "proxy = socks5://127.0.0.1:$d1" \
			"proxy = socks5://127.0.0.1:$d2"
		run --separate-stderr sfy_py --get / 127.0.0.1 "$HTTP_PORT"
		assert_failure 3
		assert_errno ECONNREFUSED
		# Each dead hop is reported once, then the failed connect, then
		# the client's own detail line.  A chain that started over
		# after its last hop would print without end (until sfy's
		# 30 s bound).
		((${#stderr_lines[@]} <= 4)) || {
			echo "$mode: ${#stderr_lines[@]} log lines:"
			printf '%s\n' "${stderr_lines[@]:0:8}"
		} | fail
		[[ "$stderr" == *"no live proxy left"* ]] || fail "$mode: $stderr"
	done
	assert_http_requests 0
}

@test "ipv6: destination [::1] through a SOCKS5 hop (python3 and curl)" {
	start_http_server ::1
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / ::1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "PEER ::1 $HTTP_PORT"
	run sfy_curl "http://[::1]:$HTTP_PORT/" -g
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect proto=socks5 target=~"[[]?::1[]]?:$HTTP_PORT" result=ok
	(($(session_count cmd=connect target=~"[[]?::1[]]?:$HTTP_PORT" result=ok) == 2)) ||
		fail "expected 2 sessions to [::1]:$HTTP_PORT"
	assert_http_requests 2
}

@test "ipv6: destination [::1] through a SOCKS5 hop that listens on ::1" {
	start_http_server ::1
	start_socksifyd -l '[::1]:0'
	sfy_conf "proxy = socks5://[::1]:$SOCKSIFYD_PORT"
	run sfy_py --get / ::1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target=~"[[]?::1[]]?:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "ipv6: destination through a SOCKS4 hop is refused with EAFNOSUPPORT, not sent direct" {
	start_http_server ::1
	start_socksifyd
	sfy_conf "proxy = socks4://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / ::1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EAFNOSUPPORT
	run sfy_curl "http://[::1]:$HTTP_PORT/" -g
	assert_failure 7
	# The hop may be contacted, but no request may be sent through it.
	refute_session cmd=connect
	refute_session result=ok
	assert_http_requests 0
}

@test "ipv6: destination through a SOCKS5 hop then a SOCKS4a last hop is refused with EAFNOSUPPORT" {
	start_http_server ::1
	start_socksifyd
	local p1=$SOCKSIFYD_PORT
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$p1" \
		"proxy = socks4a://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / ::1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EAFNOSUPPORT
	assert_http_requests 0
}

@test "chains: round_robin with chain_len = 1 spreads connections over both proxies" {
	start_http_server
	start_socksifyd
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_socksifyd
	sfy_conf "chain = round_robin" "chain_len = 1" \
		"proxy = socks5://127.0.0.1:$p1" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" -c '
import socket, sys
for i in range(4):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while s.recv(65536): pass
    s.close()
print("done")' "$HTTP_PORT"
	assert_success
	assert_output --partial done
	assert_http_requests 4
	sleep 0.3
	local a b
	a="$(SOCKSIFYD_LOG=$l1 session_count cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok)"
	b="$(session_count cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok)"
	((a == 2 && b == 2)) || fail "sessions per proxy: $a and $b, expected 2 and 2"
}

@test "chains: random with chain_len = 1 uses one hop per connection, never direct" {
	start_http_server
	start_socksifyd
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_socksifyd
	sfy_conf "chain = random" "chain_len = 1" \
		"proxy = socks5://127.0.0.1:$p1" \
		"proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PYTHON" -c '
import socket, sys
for i in range(6):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while s.recv(65536): pass
    s.close()
print("done")' "$HTTP_PORT"
	assert_success
	assert_http_requests 6
	sleep 0.3
	local a b
	a="$(SOCKSIFYD_LOG=$l1 session_count cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok)"
	b="$(session_count cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok)"
	((a + b == 6)) || fail "sessions per proxy: $a and $b, expected 6 in all"
}

@test "ipv6: an IPv4-mapped destination on an AF_INET6 socket goes through a SOCKS4 hop as IPv4" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks4://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / ::ffff:127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_output --partial "PEER ::ffff:127.0.0.1 $HTTP_PORT"
	assert_session cmd=connect proto=socks4 target="127.0.0.1:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "leak guard: a connection, a datagram or a lookup that skips the chain is caught; a dead configured hop is not a leak" {
	start_http_server
	# The chain's only hop is dead: the refused attempt goes to the hop,
	# which is where the program was told to connect.
	sfy_conf "proxy = socks5://127.0.0.1:$(free_port)"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	run guard_check
	assert_success
	# The same curl without the launcher, in the guarded namespace: the
	# target's address is there, nothing listens, and the trap counts it.
	run in_guard curl -sS --noproxy '*' --max-time 5 "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	run guard_check
	assert_failure
	assert_output --partial "LEAK: 1 connection attempts"
	assert_output --regexp "IP 127\.0\.0\.1\.[0-9]+ > 127\.0\.0\.1\.$HTTP_PORT: Flags \[S\]"
	# A datagram to any address, and a lookup through the resolver.
	run in_guard bash -c 'echo x >/dev/udp/198.18.0.7/9999'
	run in_guard getent hosts guard-check.test
	assert_failure
	run guard_check
	assert_failure
	assert_output --partial "> 127.0.0.53.53: "
	assert_output --regexp '> 198\.18\.0\.7\.9999: UDP'
	assert_output --regexp 'counting name server in .*: [1-9][0-9]* queries'
	assert_http_requests 0
	# Made on purpose above: the teardown's own check must not fail on
	# them, so they are named as meant.
	guard_allow 127.0.0.1 "$HTTP_PORT"
	guard_allow 198.18.0.7 9999
	guard_allow 127.0.0.53 53
}

# ---- pipeline = yes: the SOCKS5 greeting goes with the request ----

@test "pipeline: pipeline = yes sends the greeting and the request in one write to the last hop; the page comes back" {
	start_http_server
	start_badproxy slow --delay 0
	sfy_conf "pipeline = yes" "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	# The request was in before the method choice went out.
	run grep -c '^early 1 yes$' "$BAD_LOG"
	assert_output 1
	run grep -c "^target 1 127.0.0.1:$HTTP_PORT\$" "$BAD_LOG"
	assert_output 1
	assert_http_requests 1
}

@test "pipeline: without the key (pipeline = no) the request waits for the method choice" {
	start_http_server
	start_badproxy slow --delay 0
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	run grep -c '^early 1 no$' "$BAD_LOG"
	assert_output 1
}

@test "pipeline: pipeline = yes works through socksifyd and through danted (curl and python3)" {
	start_http_server
	start_socksifyd
	start_danted
	local p
	for p in "$SOCKSIFYD_PORT" "$DANTED_PORT"; do
		sfy_conf "pipeline = yes" "proxy = socks5://127.0.0.1:$p"
		run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
		assert_success
		assert_output --partial "$HTTP_BODY"
		run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
		assert_success
		assert_output --partial "$HTTP_BODY"
	done
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	assert_danted_connect 127.0.0.1 "$HTTP_PORT"
	assert_http_requests 4
}

@test "pipeline: in a strict chain only the last hop's greeting goes with the request; a dynamic chain pipelines nothing" {
	start_http_server
	start_badproxy slow --delay 0
	local p1=$BAD_PORT l1=$BAD_LOG
	start_badproxy slow --delay 0
	local p2=$BAD_PORT l2=$BAD_LOG
	sfy_conf "pipeline = yes" "chain = strict" \
		"proxy = socks5://127.0.0.1:$p1" "proxy = socks5://127.0.0.1:$p2"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	run cat "$l1" "$l2"
	assert_line "early 1 no"
	assert_line "target 1 127.0.0.1:$p2"
	assert_line "early 1 yes"
	assert_line "target 1 127.0.0.1:$HTTP_PORT"
	: >"$l1"
	: >"$l2"
	sfy_conf "pipeline = yes" "chain = dynamic" \
		"proxy = socks5://127.0.0.1:$p1" "proxy = socks5://127.0.0.1:$p2"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	run cat "$l1" "$l2"
	refute_line --regexp '^early [0-9]+ yes$'
	assert_line "target 2 127.0.0.1:$HTTP_PORT"
	assert_http_requests 2
}

@test "pipeline: pipeline = yes to a hop that wants a login gives EACCES at the greeting, and the target is never reached" {
	start_http_server
	start_socksifyd -u alice:secret
	sfy_conf "pipeline = yes" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	assert_output --partial "requires authentication"
	refute_session target="127.0.0.1:$HTTP_PORT" result=ok
	assert_http_requests 0
}
