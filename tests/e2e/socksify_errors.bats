#!/usr/bin/env bats
# socksify_errors.bats: every way a chain can fail gives the documented errno
# to the program (python3 prints its name), curl's documented exit status,
# a bounded time, and no direct connection to the destination.

load lib/common
load lib/client
load lib/guard

setup() {
	client_setup
	guard_setup
	start_http_server
}

teardown() {
	guard_teardown
}

@test "errors: wrong SOCKS5 password gives EACCES and curl exit 7" {
	start_socksifyd -u alice:right
	sfy_conf "proxy = socks5://alice:wrong@127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	refute_session result=ok
	assert_http_requests 0
}

@test "errors: the right SOCKS5 password works (control for the wrong-password test)" {
	start_socksifyd -u alice:right
	sfy_conf "proxy = socks5://alice:right@127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "errors: SOCKS5 proxy requiring auth with no credentials configured gives EACCES" {
	start_socksifyd -u alice:right
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	assert_http_requests 0
}

@test "errors: deny rule gives EACCES and the chain is never attempted" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"deny = 127.0.0.1/32:$HTTP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	assert_no_session
	assert_http_requests 0
}

@test "errors: deny rule by CIDR without port gives EACCES" {
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "deny = 127.0.0.0/8"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	assert_no_session
	assert_http_requests 0
}

@test "errors: proxy deny rule (SOCKS5 reply 2, not allowed) gives EACCES and curl exit 7" {
	start_socksifyd --deny-dest 127.0.0.1/32
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	assert_http_requests 0
}

@test "errors: proxy that accepts then never answers: ETIMEDOUT within the handshake deadline" {
	start_badproxy silent
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT" "handshake_timeout = 1"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ETIMEDOUT
	local ms
	ms="$(elapsed_ms_of_output)"
	((ms >= 800 && ms < 5000)) || fail "connect failed after ${ms} ms, expected about 1000"
	grep -q '^conn 1 mode=silent first=05' "$BAD_LOG" || fail "the client never reached the proxy"
	local t0 t1
	t0="$(now_ms)"
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	t1="$(now_ms)"
	# curl reports a connect() that failed with ETIMEDOUT as 7, its own
	# timeout as 28; either way it must be quick.
	[[ "$status" == 7 || "$status" == 28 ]] || fail "curl exit $status, expected 7 or 28: $output"
	((t1 - t0 < 5000)) || fail "curl took $((t1 - t0)) ms"
	assert_http_requests 0
}

@test "errors: silent second hop: one deadline covers the whole chain" {
	start_socksifyd
	start_badproxy silent
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$BAD_PORT" "handshake_timeout = 1"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ETIMEDOUT
	local ms
	ms="$(elapsed_ms_of_output)"
	((ms < 5000)) || fail "connect failed after ${ms} ms"
	assert_session target="127.0.0.1:$BAD_PORT"
	assert_http_requests 0
}

@test "errors: proxy that sends garbage gives EPROTO and curl exit 7" {
	start_badproxy garbage
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EPROTO
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	grep -q '^conn 1 mode=garbage' "$BAD_LOG" || fail "the client never reached the proxy"
	assert_http_requests 0
}

@test "errors: garbage from a SOCKS4 hop and from an HTTP hop gives EPROTO" {
	start_badproxy garbage
	sfy_conf "proxy = socks4://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EPROTO
	sfy_conf "proxy = http://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EPROTO
	assert_http_requests 0
}

@test "errors: proxy that closes at once gives ECONNREFUSED and curl exit 7" {
	start_badproxy close
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	assert_http_requests 0
}

@test "errors: proxy that lies (SOCKS5 reply with version 4) gives EPROTO" {
	start_badproxy lie-version
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EPROTO
	grep -q "^target 1 127.0.0.1:$HTTP_PORT\$" "$BAD_LOG" || fail "no CONNECT reached the proxy"
	assert_http_requests 0
}

@test "errors: proxy that lies (SOCKS5 reply with address type 9) gives EPROTO" {
	start_badproxy lie-atyp
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EPROTO
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	assert_http_requests 0
}

@test "errors: SOCKS5 reply codes 1-8 map to the documented errnos" {
	local code want
	local -a errnos=(x ECONNREFUSED EACCES ENETUNREACH EHOSTUNREACH ECONNREFUSED
		ETIMEDOUT EOPNOTSUPP EAFNOSUPPORT)
	for code in 1 2 3 4 5 6 7 8; do
		start_badproxy reply --code "$code"
		sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT"
		run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
		want="${errnos[$code]}"
		# EOPNOTSUPP and ENOTSUP are one number on Linux; python
		# names it ENOTSUP.
		[[ "$want" == EOPNOTSUPP ]] && want="(EOPNOTSUPP|ENOTSUP)"
		[[ "$status" == 3 && "$output" =~ ERRNO\ $want\  ]] ||
			fail "reply $code: expected ERRNO $want, got (status $status): $output"
	done
	assert_http_requests 0
}

@test "errors: SOCKS4 reply 91 gives ECONNREFUSED, 92 gives EACCES" {
	start_badproxy reply --code 91
	sfy_conf "proxy = socks4://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	start_badproxy reply --code 92
	sfy_conf "proxy = socks4://127.0.0.1:$BAD_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	assert_http_requests 0
}

@test "errors: HTTP CONNECT 407 (wrong password) and 403 give EACCES" {
	start_httpconnect --auth bob:right
	sfy_conf "proxy = http://bob:wrong@127.0.0.1:$HCP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	grep -q "result=407" "$HCP_LOG" || fail "proxy did not answer 407: $(cat "$HCP_LOG")"
	start_httpconnect --status 403
	sfy_conf "proxy = http://127.0.0.1:$HCP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno EACCES
	run sfy_curl "http://127.0.0.1:$HTTP_PORT/"
	assert_failure 7
	assert_http_requests 0
}

@test "errors: HTTP CONNECT 502 gives ECONNREFUSED, 504 gives ETIMEDOUT" {
	start_httpconnect --status 502
	sfy_conf "proxy = http://127.0.0.1:$HCP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	start_httpconnect --status 504
	sfy_conf "proxy = http://127.0.0.1:$HCP_PORT"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ETIMEDOUT
	assert_http_requests 0
}

@test "errors: a failing connect logs which hop failed and why" {
	start_badproxy garbage
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT" "log = warn"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_output --regexp "socksify: .*hop 1.*127\.0\.0\.1:$BAD_PORT"
}
