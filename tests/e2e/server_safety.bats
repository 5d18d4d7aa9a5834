#!/usr/bin/env bats
# server_safety.bats: the rules that keep socksifyd from being used past what
# its options say: SOCKS4 (no password) refused when users are configured,
# --deny-dest checked on the address a connect really reaches (0.0.0.0, [::],
# IPv4-mapped and IPv4-compatible IPv6, names), no CONNECT to the server's
# own listening addresses, and no listening beyond loopback without rules.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

sc() {
	timeout 30 "$PYTHON" "$TOOLS/socks_client.py" "$@"
}

# in_new_netns CMD [ARGS...]: run CMD (exec, same PID) in a network
# namespace of its own that has only a loopback interface, up.  Used as
# SOCKSIFYD_WRAP, so a test can listen on 0.0.0.0 without reaching any
# network but that namespace's loopback.
in_new_netns() {
	exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
}

@test "safety: SOCKS4 and SOCKS4a with users configured are refused (91, result=auth-required)" {
	start_socksifyd -u alice:secret
	start_http_server
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	# The user id names a configured user, but SOCKS4 carries no password.
	run sc connect --proto socks4 --user alice --proxy "$p" --target "127.0.0.1:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=91"
	assert_session proto=socks4 user=- "target=127.0.0.1:$HTTP_PORT" result=auth-required
	run sc connect --proto socks4a --user alice --proxy "$p" --target "localhost:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=91"
	assert_session proto=socks4a user=- "target=localhost:$HTTP_PORT" result=auth-required
	run curl -sS --max-time 5 -x "socks4://alice@$p" "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
	# SOCKS5 with the password still works.
	run curl -sS --max-time 5 -x "socks5://alice:secret@$p" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	[ "$(http_request_count)" -eq 1 ]
}

@test "safety: --socks4-userid lets a SOCKS4 user id that names a user in, and no other" {
	start_socksifyd -u alice:secret --socks4-userid
	start_http_server
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	run sc connect --proto socks4 --user alice --proxy "$p" --target "127.0.0.1:$HTTP_PORT" --http /
	assert_success
	assert_line "reply=90"
	assert_output --partial "$HTTP_BODY"
	assert_session proto=socks4 user=alice result=ok
	run sc connect --proto socks4 --user mallory --proxy "$p" --target "127.0.0.1:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=91"
	assert_session proto=socks4 user=- result=auth-failed
	[ "$(http_request_count)" -eq 1 ]
}

@test "safety: --deny-dest cannot be dodged with 0.0.0.0" {
	start_socksifyd --deny-dest 127.0.0.0/8 --deny-dest ::1/128
	start_http_server
	# Linux connects 0.0.0.0 to the loopback address.
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://0.0.0.0:$HTTP_PORT/"
	assert_failure
	refute_output --partial "$HTTP_BODY"
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "0.0.0.0:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	run sc connect --proto socks4 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "0.0.0.0:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=91"
	# Any address of 0.0.0.0/8 is taken for loopback.
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "0.1.2.3:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session proto=socks5 "target=0.0.0.0:$HTTP_PORT" result=not-allowed
	assert_session proto=socks4 "target=0.0.0.0:$HTTP_PORT" result=not-allowed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "safety: --deny-dest cannot be dodged with [::]" {
	start_socksifyd --deny-dest 127.0.0.0/8 --deny-dest ::1/128
	start_http_server ::1
	# Linux connects :: to ::1.
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::]:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	run curl -sS --max-time 5 --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://[::]:$HTTP_PORT/"
	assert_failure
	refute_output --partial "$HTTP_BODY"
	assert_session "target=[::]:$HTTP_PORT" result=not-allowed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "safety: --deny-dest cannot be dodged with [::ffff:127.0.0.1]" {
	start_socksifyd --deny-dest 127.0.0.0/8 --deny-dest ::1/128
	start_http_server
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::ffff:127.0.0.1]:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	# The IPv4-mapped form of 0.0.0.0 as well.
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::ffff:0.0.0.0]:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session "target=~127\\.0\\.0\\.1:$HTTP_PORT|\\[::ffff:127\\.0\\.0\\.1\\]:$HTTP_PORT" result=not-allowed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "safety: --deny-dest cannot be dodged with IPv4-compatible [::127.0.0.1]" {
	start_socksifyd --deny-dest 127.0.0.0/8 --deny-dest ::1/128
	start_http_server
	run sc connect --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::127.0.0.1]:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session "target=[::127.0.0.1]:$HTTP_PORT" result=not-allowed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "safety: --deny-dest cannot be dodged with a name resolving to a denied address" {
	local hosts="$E2E_TMP/hosts.dodge"
	printf '%s\n' "127.0.0.1 localhost" "0.0.0.0 zero.e2e.test" ":: any6.e2e.test" \
		"192.0.2.1 mixed.e2e.test" "0.0.0.0 mixed.e2e.test" >"$hosts"
	SOCKSIFYD_WRAP=(with_hosts_file "$hosts")
	start_socksifyd --deny-dest 127.0.0.0/8 --deny-dest ::1/128 --deny-dest 192.0.2.0/24
	start_http_server
	local p="127.0.0.1:$SOCKSIFYD_PORT"
	run sc connect --proxy "$p" --target "zero.e2e.test:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	run curl -sS --max-time 5 --socks5-hostname "$p" "http://zero.e2e.test:$HTTP_PORT/"
	assert_failure
	run sc connect --proto socks4a --proxy "$p" --target "zero.e2e.test:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=91"
	# Every address a name gives is checked, not only the first.
	run sc connect --proxy "$p" --target "mixed.e2e.test:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session proto=socks5 "target=zero.e2e.test:$HTTP_PORT" result=not-allowed
	assert_session proto=socks4a "target=zero.e2e.test:$HTTP_PORT" result=not-allowed
	assert_session "target=mixed.e2e.test:$HTTP_PORT" result=not-allowed
	start_http_server ::1
	run sc connect --proxy "$p" --target "any6.e2e.test:$HTTP_PORT" --http /
	assert_failure 3
	assert_line "reply=2 bound=0.0.0.0:0"
	assert_session "target=any6.e2e.test:$HTTP_PORT" result=not-allowed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "safety: --deny-dest cannot be dodged by UDP datagrams to 0.0.0.0 or [::ffff:0.0.0.0]" {
	start_socksifyd --deny-dest 127.0.0.0/8
	start_udp_echo
	run sc udp --count 1 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "0.0.0.0:$UDP_PORT"
	assert_failure
	assert_output --partial "no reply through the relay"
	run sc udp --count 1 --proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "[::ffff:0.0.0.0]:$UDP_PORT"
	assert_failure
	assert_output --partial "no reply through the relay"
	[ "$(wc -l <"$UDP_LOG")" -eq 0 ]
}

@test "safety: --deny-dest applies to a BIND expected peer given as IPv4-compatible [::127.0.0.1]" {
	start_socksifyd --deny-dest 127.0.0.0/8
	run timeout 20 "$PYTHON" "$TOOLS/bind_client.py" --proxy "127.0.0.1:$SOCKSIFYD_PORT" \
		--expect ::127.0.0.1
	assert_failure
	assert_output --partial "first reply code 2"
	assert_session cmd=bind result=not-allowed
}

@test "safety: CONNECT to the server's own port is refused" {
	start_socksifyd
	local p="127.0.0.1:$SOCKSIFYD_PORT" t
	for t in "127.0.0.1:$SOCKSIFYD_PORT" "0.0.0.0:$SOCKSIFYD_PORT" \
		"[::ffff:127.0.0.1]:$SOCKSIFYD_PORT"; do
		run sc connect --proxy "$p" --target "$t" --echo 10
		assert_failure 3
		assert_line "reply=2 bound=0.0.0.0:0"
	done
	run sc connect --proto socks4 --proxy "$p" --target "127.0.0.1:$SOCKSIFYD_PORT" --echo 10
	assert_failure 3
	assert_line "reply=91"
	run curl -sS --max-time 5 --socks5-hostname "$p" "http://localhost:$SOCKSIFYD_PORT/"
	assert_failure
	sessions_settle
	# Four refusals and curl's, each its own line; no session nested in one.
	[ "$(session_count result=loop)" -eq 5 ]
	[ "$(session_lines | wc -l)" -eq 5 ]
}

@test "safety: CONNECT to any local address at a wildcard listener's port is refused" {
	SOCKSIFYD_WRAP=(in_new_netns)
	start_socksifyd -l 0.0.0.0:0 --allow 127.0.0.0/8
	grep -qx "listening 0.0.0.0:$SOCKSIFYD_PORT" "$SOCKSIFYD_OUT"
	local t
	for t in "127.0.0.9:$SOCKSIFYD_PORT" "0.0.0.0:$SOCKSIFYD_PORT"; do
		run in_net_of "$SOCKSIFYD_PID" timeout 30 "$PYTHON" "$TOOLS/socks_client.py" connect \
			--proxy "127.0.0.1:$SOCKSIFYD_PORT" --target "$t" --echo 10
		assert_failure 3
		assert_line "reply=2 bound=0.0.0.0:0"
	done
	sessions_settle
	[ "$(session_count result=loop)" -eq 2 ]
	[ "$(session_lines | wc -l)" -eq 2 ]
}

@test "safety: a non-loopback listen without rules is refused at start-up" {
	local l
	# In a namespace of its own: were it to start, it could reach nothing.
	for l in 0.0.0.0:0 '[::]:0' 192.0.2.1:0 '[2001:db8::1]:0'; do
		run unshare -n timeout 5 "$SOCKSIFYD" -l 127.0.0.1:0 -l "$l"
		assert_failure 2
		assert_output --partial "--allow"
		refute_output --partial "listening"
	done
	# Loopback alone needs no rules.
	run unshare -n sh -c 'ip link set lo up && exec timeout 2 "$0" -l 127.0.0.2:0 -l "[::1]:0"' \
		"$SOCKSIFYD"
	assert_failure 124
	assert_line --regexp '^listening 127\.0\.0\.2:[0-9]+$'
	# Saying who may use it is enough: --allow, or users.
	SOCKSIFYD_WRAP=(in_new_netns)
	start_socksifyd -l 0.0.0.0:0 --allow 0.0.0.0/0
	grep -qx "listening 0.0.0.0:$SOCKSIFYD_PORT" "$SOCKSIFYD_OUT"
	start_socksifyd -l '[::]:0' -u alice:secret
	grep -qx "listening \[::\]:$SOCKSIFYD_PORT" "$SOCKSIFYD_OUT"
}
