#!/usr/bin/env bats
# server_curl.bats: curl, a client nobody here wrote, through socksifyd with
# every SOCKS flavour it speaks.  Each test checks the body AND the session
# line socksifyd logged, so a request that went direct cannot pass.

load lib/common

setup() {
	e2e_setup
}

teardown() {
	e2e_teardown
}

# fetch ARGS...: curl quietly with a bound on time; body on stdout.
fetch() {
	curl -sS --max-time 10 "$@"
}

@test "curl: --socks4 to an IPv4 HTTP server" {
	start_socksifyd
	start_http_server
	run fetch --socks4 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok user=-
}

@test "curl: --socks4a sends the name and the server resolves it" {
	start_socksifyd
	start_http_server
	run fetch --socks4a "127.0.0.1:$SOCKSIFYD_PORT" "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4a cmd=connect "target=localhost:$HTTP_PORT" result=ok
}

@test "curl: --socks5 to an IPv4 HTTP server" {
	start_socksifyd
	start_http_server
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=127.0.0.1:$HTTP_PORT" result=ok user=-
	[ "$(http_request_count /)" -eq 1 ]
}

@test "curl: --socks5 to an IPv6 HTTP server (IPv6 target)" {
	start_socksifyd
	start_http_server ::1
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://[::1]:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=~(\\[::1\\]|::1):$HTTP_PORT" result=ok
}

@test "curl: --socks5-hostname sends the name (IPv4 target)" {
	start_socksifyd
	start_http_server
	run fetch --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 cmd=connect "target=localhost:$HTTP_PORT" result=ok
}

@test "curl: --socks5-hostname with a name that resolves to IPv6 only (IPv6 target)" {
	# socksifyd gets its own /etc/hosts where v6only.test is ::1 alone.
	{
		echo "::1 v6only.test"
		cat /etc/hosts
	} >"$E2E_TMP/hosts"
	SOCKSIFYD_WRAP=(with_hosts_file "$E2E_TMP/hosts")
	start_socksifyd
	start_http_server ::1
	run fetch --socks5-hostname "127.0.0.1:$SOCKSIFYD_PORT" "http://v6only.test:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 "target=v6only.test:$HTTP_PORT" result=ok
}

@test "curl: IPv6 listen address [::1] serves --socks5 and --socks4a" {
	start_socksifyd -l '[::1]:0'
	start_http_server
	grep -qx "listening \[::1\]:$SOCKSIFYD_PORT" "$SOCKSIFYD_OUT"
	run fetch --socks5 "[::1]:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 "target=127.0.0.1:$HTTP_PORT" result=ok "client=~\\[?::1\\]?:[0-9]+"
	run fetch --socks4a "[::1]:$SOCKSIFYD_PORT" "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks4a "target=localhost:$HTTP_PORT" result=ok
}

@test "curl: IPv4 and IPv6 listeners at once, each reported on stdout" {
	start_socksifyd -l 127.0.0.1:0 -l '[::1]:0'
	start_http_server ::1
	local p4 p6
	p4="$(socksifyd_listen_port 127.0.0.1)"
	p6="$(socksifyd_listen_port ::1)"
	assert [ -n "$p4" ]
	assert [ -n "$p6" ]
	[ "$p4" = "$SOCKSIFYD_PORT" ]
	run fetch --socks5-hostname "[::1]:$p6" "http://[::1]:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	run fetch --socks5 "127.0.0.1:$p4" "http://[::1]:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	[ "$(session_count proto=socks5 result=ok)" -eq 2 ]
}

@test "curl: --proxy-user with the right password (RFC 1929)" {
	start_socksifyd -u alice:s3cret
	start_http_server
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user alice:s3cret \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 user=alice "target=127.0.0.1:$HTTP_PORT" result=ok
	run fetch -x "socks5h://alice:s3cret@127.0.0.1:$SOCKSIFYD_PORT" "http://localhost:$HTTP_PORT/"
	assert_success
	assert_output "$HTTP_BODY"
	assert_session proto=socks5 user=alice "target=localhost:$HTTP_PORT" result=ok
}

@test "curl: --proxy-user with the wrong password is refused" {
	start_socksifyd -u alice:s3cret
	start_http_server
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --proxy-user alice:wrong \
		"http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	refute_output --partial "$HTTP_BODY"
	assert_session result=auth-failed
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "curl: --proxy-user: no credentials at all when users are configured is refused" {
	start_socksifyd -u alice:s3cret
	start_http_server
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$HTTP_PORT/"
	assert_failure
	refute_session result=ok
	[ "$(http_request_count)" -eq 0 ]
}

@test "curl: byte counts in the session line match a 1 MiB download and upload" {
	start_socksifyd
	start_http_server
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" -o "$E2E_TMP/got.bin" \
		"http://127.0.0.1:$HTTP_PORT/big.bin"
	assert_success
	cmp "$E2E_TMP/got.bin" "$HTTP_ROOT/big.bin"
	assert_session proto=socks5 result=ok "target=127.0.0.1:$HTTP_PORT"
	local down up
	down="$(session_field down proto=socks5 result=ok)"
	# The body plus a few hundred bytes of headers, not more than 1 KiB extra.
	((down >= 1048576 && down < 1048576 + 1024))
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" --data-binary "@$HTTP_ROOT/big.bin" \
		-H 'Content-Type: application/octet-stream' -o "$E2E_TMP/echo.bin" \
		"http://127.0.0.1:$HTTP_PORT/echo"
	assert_success
	cmp "$E2E_TMP/echo.bin" "$HTTP_ROOT/big.bin"
	wait_until 5 session_count_is -eq 2 proto=socks5 result=ok
	up="$(session_field up proto=socks5 result=ok)"
	down="$(session_field down proto=socks5 result=ok)"
	((up >= 1048576 && up < 1048576 + 1024))
	((down >= 1048576 && down < 1048576 + 1024))
}

@test "curl: a rate-limited upload and its echo cross the relay in many chunks, byte for byte" {
	# --limit-rate makes curl write (and read) 128 KiB in many pieces spread
	# over about half a second each way: a relay that passed on only its
	# first read of a direction would leave the upload or the echo short.
	start_socksifyd
	start_http_server
	head -c 131072 /dev/urandom >"$E2E_TMP/up.bin"
	local flag i=0
	for flag in --socks5-hostname --socks4a; do
		i=$((i + 1))
		run fetch "$flag" "127.0.0.1:$SOCKSIFYD_PORT" --limit-rate 256k \
			--data-binary "@$E2E_TMP/up.bin" -H 'Content-Type: application/octet-stream' \
			-o "$E2E_TMP/echo.$i.bin" "http://localhost:$HTTP_PORT/echo"
		assert_success
		run cmp "$E2E_TMP/up.bin" "$E2E_TMP/echo.$i.bin"
		assert_success
	done
	assert_session proto=socks5 "target=localhost:$HTTP_PORT" result=ok
	assert_session proto=socks4a "target=localhost:$HTTP_PORT" result=ok
	[ "$(http_request_count /echo)" -eq 2 ]
}

@test "curl: a refused target gives a clear failure and result=refused" {
	start_socksifyd
	local dead
	dead="$(free_port)"
	run fetch --socks5 "127.0.0.1:$SOCKSIFYD_PORT" "http://127.0.0.1:$dead/"
	assert_failure
	assert_session proto=socks5 "target=127.0.0.1:$dead" result=refused
}
