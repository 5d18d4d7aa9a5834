#!/usr/bin/env bats
# socksify_stress.bats: many threads, fork, and exec under the preload.

load lib/common
load lib/client
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

@test "stress: 32 threads x 200 connections through the chain all succeed (6400 sessions)" {
	start_echo_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run timeout 120 "$LAUNCHER" -f "$SFY_CONF" -- "$PROGS/threads" 127.0.0.1 "$ECHO_PORT" 32 200
	assert_success
	assert_output --partial "connections ok=6400 failed=0"
	local i n=0
	for ((i = 0; i < 100; i++)); do
		n="$(session_count cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok)"
		((n >= 6400)) && break
		sleep 0.1
	done
	[[ "$n" == 6400 ]] || fail "socksifyd logged $n ok sessions to the echo server, expected 6400"
	[[ "$(wc -l <"$ECHO_LOG")" == 6400 ]] || fail "echo server saw $(wc -l <"$ECHO_LOG") connections"
}

@test "stress: a program that forks and connects in both processes" {
	start_echo_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy "$PROGS/forkconnect" 127.0.0.1 "$ECHO_PORT"
	assert_success
	assert_output --partial "parent ok"
	assert_output --partial "child ok"
	# one before the fork, five in each process afterwards
	local i n=0
	for ((i = 0; i < 50; i++)); do
		n="$(session_count cmd=connect target="127.0.0.1:$ECHO_PORT" result=ok)"
		((n >= 11)) && break
		sleep 0.1
	done
	[[ "$n" == 11 ]] || fail "socksifyd logged $n sessions, expected 11"
}

@test "stress: curl inside a shell script under socksify (exec keeps the preload)" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	cat >"$E2E_TMP/fetch.sh" <<-EOF
		#!/bin/sh
		set -e
		echo "script starts"
		curl -sS --noproxy '*' --max-time 20 http://127.0.0.1:$HTTP_PORT/
		sh -c 'exec curl -sS --noproxy "*" --max-time 20 http://127.0.0.1:$HTTP_PORT/index.html'
	EOF
	chmod +x "$E2E_TMP/fetch.sh"
	run sfy "$E2E_TMP/fetch.sh"
	assert_success
	assert_output --partial "script starts"
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
	local i n=0
	for ((i = 0; i < 50; i++)); do
		n="$(session_count cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok)"
		((n >= 2)) && break
		sleep 0.1
	done
	[[ "$n" == 2 ]] || fail "socksifyd logged $n sessions, expected 2"
	assert_http_requests 2
}

@test "stress: python3 threads (16 x 20 connections) through danted" {
	start_echo_server
	start_danted
	sfy_conf "proxy = socks5://127.0.0.1:$DANTED_PORT"
	run sfy "$PYTHON" -c '
import socket, sys, threading
port = int(sys.argv[1]); bad = []
def work(t):
    for i in range(20):
        msg = ("t%d c%d\n" % (t, i)).encode()
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                c = s.recv(100)
                if not c: break
                got += c
            s.close()
            if got != msg: bad.append((t, i, got))
        except OSError as e:
            bad.append((t, i, e))
ts = [threading.Thread(target=work, args=(t,)) for t in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
print("bad", len(bad), bad[:3])
' "$ECHO_PORT"
	assert_success
	assert_output --partial "bad 0 []"
	local i n=0
	for ((i = 0; i < 50; i++)); do
		n="$(danted_connect_count 127.0.0.1 "$ECHO_PORT")"
		((n >= 320)) && break
		sleep 0.1
	done
	[[ "$n" == 320 ]] || fail "danted logged $n connects, expected 320"
}
