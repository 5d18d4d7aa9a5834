#!/usr/bin/env bats
# socksify_launcher.bats: the launcher's ways to name a proxy (-f with a
# socksify or proxychains config, -p, SOCKSIFY_PROXY, SOCKSIFY_CONF) and
# --check.  Tests that cannot write `direct = none` (no config file) use the
# destination 0.0.0.0, which Linux connects to the local host but which is
# outside the default direct rules, so the proxy log can prove the route.

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

@test "--check prints one line per hop with latency and exits 0 when all answer" {
	start_socksifyd
	start_danted
	start_httpconnect
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$DANTED_PORT" \
		"proxy = http://127.0.0.1:$HCP_PORT"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" --check
	assert_success
	assert_line --regexp "^hop 1 socks5://127\.0\.0\.1:$SOCKSIFYD_PORT ok [0-9]+(\.[0-9]+)? ?ms\$"
	assert_line --regexp "^hop 2 socks5://127\.0\.0\.1:$DANTED_PORT ok [0-9]+(\.[0-9]+)? ?ms\$"
	assert_line --regexp "^hop 3 http://127\.0\.0\.1:$HCP_PORT ok [0-9]+(\.[0-9]+)? ?ms\$"
	(($(grep -c '^hop ' <<<"$output") == 3)) || fail "expected exactly 3 hop lines"
}

@test "--check exits non-zero and says FAILED when a hop is dead" {
	start_socksifyd
	local dead
	dead="$(free_port)"
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"proxy = socks5://127.0.0.1:$dead"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" --check
	assert_failure 1
	assert_line --regexp "^hop 1 socks5://127\.0\.0\.1:$SOCKSIFYD_PORT ok "
	assert_line --regexp "^hop 2 socks5://127\.0\.0\.1:$dead FAILED"
}

@test "--check reports a proxy that accepts but does not speak SOCKS as FAILED" {
	start_badproxy garbage
	sfy_conf "proxy = socks5://127.0.0.1:$BAD_PORT" "handshake_timeout = 2"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" --check
	assert_failure
	assert_line --regexp "^hop 1 socks5://127\.0\.0\.1:$BAD_PORT FAILED"
}

@test "proxychains.conf given with -f works" {
	start_http_server
	start_socksifyd
	cat >"$E2E_TMP/proxychains.conf" <<-EOF
		# a proxychains-ng style file
		strict_chain
		quiet_mode
		tcp_read_time_out 15000
		tcp_connect_time_out 8000

		[ProxyList]
		socks5 127.0.0.1 $SOCKSIFYD_PORT
	EOF
	run timeout 30 "$LAUNCHER" -f "$E2E_TMP/proxychains.conf" -- \
		curl -sS --noproxy '*' --max-time 20 "http://0.0.0.0:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="0.0.0.0:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "proxychains.conf given with -f: a 2-hop chain with auth works" {
	start_http_server
	start_socksifyd
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_socksifyd -u carol:pw
	cat >"$E2E_TMP/proxychains.conf" <<-EOF
		strict_chain
		[ProxyList]
		socks5 127.0.0.1 $p1
		socks5 127.0.0.1 $SOCKSIFYD_PORT carol pw
	EOF
	run timeout 30 "$LAUNCHER" -f "$E2E_TMP/proxychains.conf" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 0.0.0.0 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect user=carol target="0.0.0.0:$HTTP_PORT" result=ok
	SOCKSIFYD_LOG=$l1 assert_session cmd=connect target="127.0.0.1:$SOCKSIFYD_PORT" result=ok
}

@test "-p alone works without any config file" {
	start_http_server
	start_socksifyd
	run env HOME="$E2E_TMP" timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$SOCKSIFYD_PORT" -- \
		curl -sS --noproxy '*' --max-time 20 "http://0.0.0.0:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="0.0.0.0:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "-p alone: loopback destinations stay direct by default" {
	# The web server runs beside the program: going direct is the point.
	guard_local_http_server
	start_socksifyd
	run timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$SOCKSIFYD_PORT" -- \
		curl -sS --noproxy '*' --max-time 20 "http://127.0.0.1:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_no_session
	assert_http_requests 1
}

@test "-p twice builds a 2-hop chain in order" {
	start_http_server
	start_socksifyd
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_socksifyd
	run timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$p1" \
		-p "socks4://127.0.0.1:$SOCKSIFYD_PORT" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 0.0.0.0 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect proto=socks4 target="0.0.0.0:$HTTP_PORT" result=ok
	SOCKSIFYD_LOG=$l1 assert_session cmd=connect target="127.0.0.1:$SOCKSIFYD_PORT" result=ok
}

@test "-p replaces the config file's chain" {
	start_http_server
	start_socksifyd
	local good=$SOCKSIFYD_PORT
	sfy_conf "proxy = socks5://127.0.0.1:$(free_port)"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" -p "socks5://127.0.0.1:$good" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	# the file's direct = none still holds, the hop came from -p
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "SOCKSIFY_PROXY works" {
	start_http_server
	start_socksifyd
	run env SOCKSIFY_PROXY="socks5://127.0.0.1:$SOCKSIFYD_PORT" HOME="$E2E_TMP" \
		timeout 30 "$LAUNCHER" -- \
		curl -sS --noproxy '*' --max-time 20 "http://0.0.0.0:$HTTP_PORT/"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="0.0.0.0:$HTTP_PORT" result=ok
	assert_http_requests 1
}

@test "SOCKSIFY_PROXY with two space-separated URLs builds a chain" {
	start_http_server
	start_socksifyd
	local p1=$SOCKSIFYD_PORT l1=$SOCKSIFYD_LOG
	start_socksifyd
	run env SOCKSIFY_PROXY="socks5://127.0.0.1:$p1 socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		timeout 30 "$LAUNCHER" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 0.0.0.0 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="0.0.0.0:$HTTP_PORT" result=ok
	SOCKSIFYD_LOG=$l1 assert_session cmd=connect target="127.0.0.1:$SOCKSIFYD_PORT" result=ok
}

@test "SOCKSIFY_CONF names the config file" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run env SOCKSIFY_CONF="$SFY_CONF" timeout 30 "$LAUNCHER" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "the launcher passes the command's own exit status through" {
	start_socksifyd
	run timeout 30 "$LAUNCHER" -p "socks5://127.0.0.1:$SOCKSIFYD_PORT" -- sh -c 'exit 42'
	assert_failure 42
}

@test "-v logs one info line per proxied connection, naming the destination and the hop" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run timeout 30 "$LAUNCHER" -v -f "$SFY_CONF" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_output --partial "$HTTP_BODY"
	assert_line --regexp "^socksify: .*connect 127\.0\.0\.1:$HTTP_PORT via socks5://127\.0\.0\.1:$SOCKSIFYD_PORT ok"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "without -v a successful connection logs nothing; -q silences a failing one" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	refute_output --partial "socksify:"
	sfy_conf "proxy = socks5://127.0.0.1:$(free_port)"
	run timeout 30 "$LAUNCHER" -f "$SFY_CONF" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_output --partial "socksify:"
	run timeout 30 "$LAUNCHER" -q -f "$SFY_CONF" -- \
		"$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_errno ECONNREFUSED
	refute_output --partial "socksify:"
}

@test "log_file in the config receives the library's log lines" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" "log = info" \
		"log_file = $E2E_TMP/lib.log"
	run sfy_py --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	refute_output --partial "socksify:"
	grep -qE "connect 127\.0\.0\.1:$HTTP_PORT via socks5://127\.0\.0\.1:$SOCKSIFYD_PORT ok" \
		"$E2E_TMP/lib.log" || fail "log file: $(cat "$E2E_TMP/lib.log" 2>&1)"
}
