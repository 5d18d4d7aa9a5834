#!/usr/bin/python3
"""secret_tree.py: a socksified process tree that looks for a secret in
every member's environment and connects from every member.

Usage: secret_tree.py [--depth 1|2|3] [--mess-at N MODE] NEEDLE HOST PORT

Member 0 is this process; member 1 is a python3 child it starts with
subprocess (close_fds, the default); member 2 is a grandchild that member 1
starts through `sh -c`.  Each member prints, one line each:

  ENV N clean|LEAK         NEEDLE in its own /proc/self/environ?
  ENV N>M clean|LEAK       in /proc/PID/environ of the member M it started,
                           read while M waits, after its exec
  FD N VALUE               its SOCKSIFY_CHAIN_FD (- when unset)
  CONNECT N ok             an HTTP GET / to HOST:PORT worked
  CONNECT N ERRNO NAME     or failed with errno NAME

With --mess-at, member N first handles its fds the way some programs do:
  dup2-close   dup2() stdout onto the SOCKSIFY_CHAIN_FD number, writes
               "WROTE N" through that number, then close() on fds 3..1023
  raw-close    closes every fd from 3 up with a raw close_range system call
               (nothing an LD_PRELOAD library can see)
  raw-move     moves the SOCKSIFY_CHAIN_FD fd to another number (F_DUPFD
               from 300), closes the original with a raw system call and
               passes the new number on to the member it starts (pass_fds)
The exit status is 0 when every member ran to its end, whatever it found.
"""
import argparse
import ctypes
import errno
import fcntl
import os
import socket
import subprocess
import sys

SYS_CLOSE_RANGE = 436  # the same number on every Linux architecture
kept_fds = ()  # what the next member gets besides 0, 1 and 2


def say(*words):
    print(*words, flush=True)


def environ_has(path, needle):
    with open(path, "rb") as f:
        return needle.encode() in f.read()


def raw_close_range(first, last):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_CLOSE_RANGE, ctypes.c_uint(first),
                    ctypes.c_uint(last), ctypes.c_uint(0)) != 0:
        raise OSError(ctypes.get_errno(), "close_range")


def mess(member, mode):
    global kept_fds
    num = int(os.environ["SOCKSIFY_CHAIN_FD"])
    if mode == "dup2-close":
        os.dup2(1, num)
        os.write(num, b"WROTE %d\n" % member)
        for fd in range(3, 1024):
            try:
                os.close(fd)
            except OSError:
                pass
    elif mode == "raw-close":
        raw_close_range(3, 0xFFFFFFFF)
    elif mode == "raw-move":
        kept_fds = (fcntl.fcntl(num, fcntl.F_DUPFD, 300),)
        raw_close_range(num, num)
    else:
        raise SystemExit("unknown mode " + mode)


def connect(member, host, port):
    try:
        s = socket.create_connection((host, port), timeout=20)
        s.sendall(b"GET / HTTP/1.0\r\nHost: e2e\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        ok = data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n")[0]
        say("CONNECT %d %s" % (member, "ok" if ok else "BADREPLY"))
    except OSError as exc:
        name = errno.errorcode.get(exc.errno, str(exc.errno)) \
            if exc.errno is not None else type(exc).__name__
        say("CONNECT %d ERRNO %s" % (member, name))


def spawn(member, argv, needle):
    """Starts member+1, checks its environ while it waits, lets it go on,
    and passes its output on."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         pass_fds=kept_fds)
    ready = p.stdout.readline().split()
    if len(ready) != 2 or ready[0] != b"READY":
        raise SystemExit("member %d: no READY line from its child: %r"
                         % (member, ready))
    path = "/proc/%d/environ" % int(ready[1])
    say("ENV %d>%d %s" % (member, member + 1,
                          "LEAK" if environ_has(path, needle) else "clean"))
    p.stdin.write(b"go\n")
    p.stdin.close()
    for line in p.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
    p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=3, choices=(1, 2, 3))
    ap.add_argument("--mess-at", nargs=2, metavar=("N", "MODE"))
    ap.add_argument("--member", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("needle")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    me = args.member
    if me > 0:
        # The parent reads our environ now, after our exec.
        say("READY %d" % os.getpid())
        sys.stdin.readline()
    say("ENV %d %s" % (me, "LEAK" if environ_has("/proc/self/environ",
                                                  args.needle) else "clean"))
    say("FD %d %s" % (me, os.environ.get("SOCKSIFY_CHAIN_FD", "-")))
    if args.mess_at and int(args.mess_at[0]) == me:
        mess(me, args.mess_at[1])
    connect(me, args.host, args.port)
    if me + 1 < args.depth:
        argv = [sys.executable, os.path.abspath(__file__),
                "--depth", str(args.depth), "--member", str(me + 1)]
        if args.mess_at:
            argv += ["--mess-at"] + args.mess_at
        argv += [args.needle, args.host, str(args.port)]
        if me + 1 == 2:
            # A shell in between, the way scripts start programs.
            argv = ["sh", "-c", '"$@"; exit $?', "sh"] + argv
        spawn(me, argv, args.needle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
