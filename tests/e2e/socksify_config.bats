#!/usr/bin/env bats
# socksify_config.bats: the launcher rejects bad configs with FILE:LINE: and
# exit status 2 before running anything, says how to give a proxy when there
# is none, and refuses programs the preload cannot reach (static, setuid).

load lib/common
load lib/client
load lib/guard

setup_file() {
	client_build_progs
}

setup() {
	client_setup
	guard_setup
	MARK="$E2E_TMP/command-ran"
}

teardown() {
	guard_teardown
}

# bad_conf LINE_NO TEXT...: write TEXT lines to $E2E_TMP/bad.conf, run the
# launcher on it with a command that leaves a mark, and check: exit 2,
# "socksify: FILE:LINE_NO:" on stderr, the command never ran.
bad_conf() {
	local line="$1" conf="$E2E_TMP/bad.conf"
	shift
	printf '%s\n' "$@" >"$conf"
	run timeout 30 "$LAUNCHER" -f "$conf" -- touch "$MARK"
	[[ "$status" == 2 ]] || {
		echo "expected exit 2 for:"
		cat -n "$conf"
		echo "got status $status: $output"
	} | fail
	[[ "$output" == *"socksify: $conf:$line:"* ]] || {
		echo "expected 'socksify: $conf:$line:' for:"
		cat -n "$conf"
		echo "got: $output"
	} | fail
	[[ ! -e "$MARK" ]] || fail "the command ran despite the bad config"
}

GOOD="proxy = socks5://127.0.0.1:1080"

@test "bad configs: a valid config runs the command (control)" {
	printf '%s\n' "# fine" "$GOOD" "chain = strict" "connect_timeout = 2.5" \
		"handshake_timeout = 10" "log = error" "direct = 10.0.0.0/8" \
		"deny = 192.0.2.0/24:25" "udp = direct" "dns = local" >"$E2E_TMP/ok.conf"
	run timeout 30 "$LAUNCHER" -f "$E2E_TMP/ok.conf" -- touch "$MARK"
	assert_success
	[[ -e "$MARK" ]] || fail "command did not run"
}

@test "bad configs: unknown key gives FILE:LINE: and exit 2" {
	bad_conf 3 "# unknown key" "$GOOD" "frobnicate = yes"
	assert_output --partial "frobnicate"
}

@test "bad configs: bad value for each typed key gives FILE:LINE: and exit 2" {
	local kv
	for kv in "chain = sideways" "chain_len = many" "chain_len = -1" \
		"connect_timeout = soon" "connect_timeout = -3" \
		"handshake_timeout = 1x" "handshake_timeout = -1" \
		"log = loud" "udp = sometimes" "dns = maybe"; do
		bad_conf 3 "# bad value" "$GOOD" "$kv"
	done
}

@test "bad configs: bad proxy URL gives FILE:LINE: and exit 2" {
	local url
	for url in "ftp://127.0.0.1:21" "socks5://:1080" "socks5://127.0.0.1:0" "socks5://127.0.0.1:99999" \
		"socks5://127.0.0.1:port" "socks5://[::1:1080" "http://" "127.0.0.1:1080"; do
		bad_conf 2 "chain = strict" "proxy = $url"
	done
}

@test "bad configs: bad CIDR in direct and deny gives FILE:LINE: and exit 2" {
	local rule
	for rule in "direct = 10.0.0.0/33" "direct = 300.1.2.3/8" "direct = banana" \
		"deny = 10.0.0.0/8:70000" "deny = ::1/200" "deny = 10.0.0.0/"; do
		bad_conf 4 "# cidr" "$GOOD" "" "$rule"
	done
}

@test "bad configs: a line without = gives FILE:LINE: and exit 2" {
	bad_conf 3 "$GOOD" "# next line has no =" "chain strict"
}

@test "bad configs: proxychains.conf with a bad [ProxyList] line gives FILE:LINE: and exit 2" {
	bad_conf 5 "strict_chain" "tcp_connect_time_out 8000" "[ProxyList]" \
		"socks5 127.0.0.1 1080" "socks9 127.0.0.1 1081"
	bad_conf 4 "strict_chain" "[ProxyList]" "socks5 127.0.0.1 1080" \
		"socks5 127.0.0.1"
	bad_conf 3 "dynamic_chain" "[ProxyList]" "http 127.0.0.1 notaport"
}

@test "bad configs: -p with a bad URL exits 2" {
	run timeout 30 "$LAUNCHER" -p "socks7://127.0.0.1:1" -- touch "$MARK"
	assert_failure 2
	assert_output --partial "socksify:"
	[[ ! -e "$MARK" ]] || fail "the command ran"
}

@test "bad configs: a missing -f file exits 2" {
	run timeout 30 "$LAUNCHER" -f "$E2E_TMP/nope.conf" -- touch "$MARK"
	assert_failure 2
	assert_output --partial "nope.conf"
	[[ ! -e "$MARK" ]] || fail "the command ran"
}

@test "bad configs: no proxy at all exits 2 with a message saying how to give one" {
	[[ ! -e /etc/socksify.conf ]] || skip "/etc/socksify.conf exists on this machine"
	run env -u SOCKSIFY_CONF -u SOCKSIFY_PROXY HOME="$E2E_TMP" \
		XDG_CONFIG_HOME="$E2E_TMP/xdg" timeout 30 "$LAUNCHER" -- touch "$MARK"
	assert_failure 2
	assert_output --regexp "socksify: .*(-p|SOCKSIFY_PROXY|socksify\.conf)"
	[[ ! -e "$MARK" ]] || fail "the command ran"
}

@test "bad configs: a statically linked program runs under the supervisor; with --backend preload it is refused with exit 2 and a reason" {
	# no PT_INTERP program header: nothing would load a preload library,
	# so the launcher supervises it (seccomp.bats tests its connections)
	! readelf -lW "$PROGS/static_hello" | grep -q INTERP || fail "test program is not static"
	run timeout 30 "$LAUNCHER" -v -p socks5://127.0.0.1:1080 -- "$PROGS/static_hello"
	assert_success
	assert_output --partial "static program ran"
	assert_output --partial "backend seccomp for $PROGS/static_hello"
	run timeout 30 "$LAUNCHER" --backend preload -p socks5://127.0.0.1:1080 -- "$PROGS/static_hello"
	assert_failure 2
	assert_output --regexp "socksify: .*[Ss]tatic"
	refute_output --partial "static program ran"
}

@test "bad configs: a setuid program is refused with exit 2 and a reason" {
	cp /usr/bin/id "$E2E_TMP/suid-id"
	chmod 4755 "$E2E_TMP/suid-id"
	run timeout 30 "$LAUNCHER" -p socks5://127.0.0.1:1080 -- "$E2E_TMP/suid-id"
	assert_failure 2
	assert_output --regexp "socksify: .*(setuid|set-user-ID|set-UID|suid)"
	refute_output --partial "uid="
	# found through PATH as well
	PATH="$E2E_TMP:$PATH" run timeout 30 "$LAUNCHER" -p socks5://127.0.0.1:1080 -- suid-id
	assert_failure 2
	refute_output --partial "uid="
}

@test "bad configs: a setgid program is refused with exit 2 and a reason" {
	cp /usr/bin/id "$E2E_TMP/sgid-id"
	chmod 2755 "$E2E_TMP/sgid-id"
	run timeout 30 "$LAUNCHER" -p socks5://127.0.0.1:1080 -- "$E2E_TMP/sgid-id"
	assert_failure 2
	assert_output --regexp "socksify: .*(setgid|set-group-ID|set-GID|sgid)"
	refute_output --partial "uid="
}

@test "bad configs: a missing command exits with the shell's 127, not 0" {
	run timeout 30 "$LAUNCHER" -p socks5://127.0.0.1:1080 -- "$E2E_TMP/no-such-program"
	[[ "$status" == 127 || "$status" == 2 ]] || fail "status $status: $output"
}

@test "bad configs: inside a running program a bad config fails closed with a log line (destination outside the default direct rules)" {
	start_http_server
	start_socksifyd
	printf '%s\n' "direct = none" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"frobnicate = yes" >"$E2E_TMP/bad.conf"
	run in_guard env SOCKSIFY_CONF="$E2E_TMP/bad.conf" LD_PRELOAD="$LIBSOCKSIFY" \
		timeout 30 "$PYTHON" "$TOOLS/client_connect.py" --get / 0.0.0.0 "$HTTP_PORT"
	assert_failure 3
	assert_output --partial "ERRNO "
	assert_output --regexp "socksify: .*bad\.conf:3"
	assert_no_session
	assert_http_requests 0
}

@test "bad configs: inside a running program a bad config fails closed, no crash, nothing direct" {
	start_http_server
	start_socksifyd
	printf '%s\n' "direct = none" "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT" \
		"frobnicate = yes" >"$E2E_TMP/bad.conf"
	run in_guard env SOCKSIFY_CONF="$E2E_TMP/bad.conf" LD_PRELOAD="$LIBSOCKSIFY" \
		timeout 30 "$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_failure 3
	assert_output --partial "ERRNO "
	assert_http_requests 0
}
