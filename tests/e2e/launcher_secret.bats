#!/usr/bin/env bats
# launcher_secret.bats: credentials given with -p never sit in clear text in
# the environment of the command or anything it starts; the chain travels
# in an inherited, sealed memfd named by SOCKSIFY_CHAIN_FD, and every
# descendant still connects through it with those credentials.
#
# Commands run under `env -i` with a fixed environment: bats exports
# variables of its own (the test file's name holds "secret"), which would
# make a search for the word prove nothing.  The destination is 0.0.0.0,
# outside the default direct rules (no config file is used), so the proxy
# log proves the route; socksifyd's -u makes a session without the
# password impossible.

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

# clean_env CMD [ARGS...]: CMD with only what the launcher needs.
clean_env() {
	env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$E2E_TMP" \
		XDG_CONFIG_HOME="$E2E_TMP/xdg" SOCKSIFY_BUILD="$SOCKSIFY_BUILD" "$@"
}

# tree [TREE_ARGS...]: tools/secret_tree.py under the launcher with
# -p socks5://user:secret@socksifyd, looking for "secret", fetching from
# the HTTP server.
tree() {
	clean_env timeout 60 "$LAUNCHER" -p "socks5://user:secret@127.0.0.1:$SOCKSIFYD_PORT" -- \
		"$PYTHON" "$TOOLS/secret_tree.py" "$@" secret 0.0.0.0 "$HTTP_PORT"
}

# assert_user_sessions N: socksifyd logged exactly N sessions, every one a
# CONNECT to the HTTP server logged in as user, and no failed login.
assert_user_sessions() {
	wait_until 5 session_count_is -ge "$1" user=user cmd=connect \
		target="0.0.0.0:$HTTP_PORT" result=ok || {
		echo "expected $1 sessions of user 'user' to 0.0.0.0:$HTTP_PORT:"
		cat "$SOCKSIFYD_LOG"
	} | fail
	local all
	all="$(session_lines | wc -l)"
	((all == $1)) || {
		echo "socksifyd logged $all sessions, expected $1:"
		session_lines
	} | fail
}

@test "secret: -p puts the chain in a sealed, inherited memfd, not in SOCKSIFY_CHAIN" {
	run clean_env timeout 30 "$LAUNCHER" -p "socks5://user:secret@127.0.0.1:1" \
		-p "http://u2:pw2@127.0.0.1:2" -- "$PYTHON" -c '
import fcntl, os
print("CHAIN", os.environ.get("SOCKSIFY_CHAIN", "-"))
n = int(os.environ["SOCKSIFY_CHAIN_FD"])
print("HIGH", n >= 200)
print("LINK", os.readlink("/proc/self/fd/%d" % n))
want = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
print("SEALED", fcntl.fcntl(n, fcntl.F_GET_SEALS) & want == want)
print("INHERITED", fcntl.fcntl(n, fcntl.F_GETFD) & fcntl.FD_CLOEXEC == 0)
print("TEXT", os.pread(n, 8192, 0).decode())'
	assert_success
	assert_line "CHAIN -"
	assert_line "HIGH True"
	assert_line "LINK /memfd:socksify-chain (deleted)"
	assert_line "SEALED True"
	assert_line "INHERITED True"
	assert_line "TEXT socks5://user:secret@127.0.0.1:1 http://u2:pw2@127.0.0.1:2"
}

@test "secret: without -p, SOCKSIFY_CHAIN and SOCKSIFY_CHAIN_FD from outside are not passed on" {
	start_http_server
	start_socksifyd
	sfy_conf "proxy = socks5://127.0.0.1:$SOCKSIFYD_PORT"
	# shellcheck disable=SC2016 # the inner shell expands them
	run clean_env SOCKSIFY_CHAIN="socks5://127.0.0.1:$(free_port)" SOCKSIFY_CHAIN_FD=0 \
		timeout 30 "$LAUNCHER" -f "$SFY_CONF" -- sh -c '
echo "CHAIN ${SOCKSIFY_CHAIN:--}"
echo "FD ${SOCKSIFY_CHAIN_FD:--}"
exec "$0" "$@"' "$PYTHON" "$TOOLS/client_connect.py" --get / 127.0.0.1 "$HTTP_PORT"
	assert_success
	assert_line "CHAIN -"
	assert_line "FD -"
	assert_output --partial "$HTTP_BODY"
	assert_session cmd=connect target="127.0.0.1:$HTTP_PORT" result=ok
}

@test "secret: /proc/PID/environ of a child under -p socks5://user:secret@... does not contain secret" {
	start_http_server
	start_socksifyd -u user:secret
	run tree --depth 3
	assert_success
	assert_line "ENV 0 clean"
	assert_line "ENV 0>1 clean"
	assert_line "ENV 1 clean"
	assert_line "ENV 1>2 clean"
	assert_line "ENV 2 clean"
	refute_output --partial LEAK
	# the child and the grandchild (started through sh -c) connect with
	# the password from the memfd, as does the command itself
	assert_line "CONNECT 0 ok"
	assert_line "CONNECT 1 ok"
	assert_line "CONNECT 2 ok"
	assert_user_sessions 3
	assert_http_requests 3
}

@test "secret: a child that dup2()s stdout onto the memfd's number and closes fds 3..1023 with close() still connects" {
	start_http_server
	start_socksifyd -u user:secret
	run tree --depth 3 --mess-at 1 dup2-close
	assert_success
	# the dup2 did what the program asked: the number now writes to stdout
	assert_line "WROTE 1"
	assert_line "CONNECT 0 ok"
	assert_line "CONNECT 1 ok"
	# the grandchild, started after the closes, still has the chain
	assert_line "CONNECT 2 ok"
	refute_output --partial LEAK
	assert_user_sessions 3
}

@test "secret: a child that moved the memfd and closed the original behind the library's back still hands the chain down" {
	start_http_server
	start_socksifyd -u user:secret
	run tree --depth 3 --mess-at 1 raw-move
	assert_success
	assert_line "CONNECT 0 ok"
	assert_line "CONNECT 1 ok"
	# SOCKSIFY_CHAIN_FD names a closed number here: found by searching
	assert_line "CONNECT 2 ok"
	assert_user_sessions 3
}

@test "secret: after a raw close of every fd, descendants fail closed with a log line" {
	start_http_server
	start_socksifyd -u user:secret
	run tree --depth 3 --mess-at 1 raw-close
	assert_success
	assert_line "CONNECT 0 ok"
	# the child read the chain when it started, before the close
	assert_line "CONNECT 1 ok"
	assert_line "CONNECT 2 ERRNO ECONNREFUSED"
	assert_output --partial "SOCKSIFY_CHAIN_FD"
	# not sent directly either: the HTTP server saw only the two proxied
	# requests
	assert_user_sessions 2
	assert_http_requests 2
}

@test "secret: nested launchers: the inner -p chain and its credentials win" {
	start_http_server
	start_socksifyd -u user:secret
	local outer_port=$SOCKSIFYD_PORT outer_log=$SOCKSIFYD_LOG
	start_socksifyd -u inner:pw2
	run clean_env timeout 60 "$LAUNCHER" -p "socks5://user:secret@127.0.0.1:$outer_port" -- \
		"$LAUNCHER" -p "socks5://inner:pw2@127.0.0.1:$SOCKSIFYD_PORT" -- \
		"$PYTHON" "$TOOLS/secret_tree.py" --depth 2 pw2 0.0.0.0 "$HTTP_PORT"
	assert_success
	refute_output --partial LEAK
	assert_line "CONNECT 0 ok"
	assert_line "CONNECT 1 ok"
	wait_until 5 session_count_is -eq 2 user=inner cmd=connect \
		target="0.0.0.0:$HTTP_PORT" result=ok || {
		echo "expected 2 sessions of user 'inner':"
		cat "$SOCKSIFYD_LOG"
	} | fail
	SOCKSIFYD_LOG=$outer_log assert_no_session
}

@test "secret: under a low fd limit the memfd still fits and the chain works" {
	start_http_server
	start_socksifyd -u user:secret
	run clean_env bash -c 'ulimit -n 64 && exec "$@"' bash \
		timeout 60 "$LAUNCHER" -p "socks5://user:secret@127.0.0.1:$SOCKSIFYD_PORT" -- \
		"$PYTHON" "$TOOLS/secret_tree.py" --depth 2 secret 0.0.0.0 "$HTTP_PORT"
	assert_success
	assert_line --regexp '^FD 0 ([3-9]|[1-5][0-9]|6[0-3])$'
	assert_line "CONNECT 0 ok"
	assert_line "CONNECT 1 ok"
	assert_user_sessions 2
}
