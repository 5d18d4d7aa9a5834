/* loadgen.c: SOCKS5 load generator and target servers for the server benchmark (bench/server.sh). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg.h"

static void
usage(FILE *f)
{
	fputs("usage: loadgen cycles|bulk|idle (--proxy IP:PORT | --direct) --target IP:PORT\n"
	    "           [-c N] [-t THREADS] [-d SECS] [--warmup SECS] [--bytes N]\n"
	    "           [--hold SECS] [--pipeline] [--up] [--client-close]\n"
	    "           [--source IP:0] [--label NAME]\n"
	    "       loadgen echo|echo1|source|sink|udpecho -l IP:PORT [--port-file FILE]\n"
	    "cycles: N clients each repeat connect, SOCKS5 no-auth CONNECT, 1-byte echo, close;\n"
	    "        the target (echo1) closes first, the cycle ends at the client's EOF\n"
	    "        (or, with --client-close, when the echo byte arrives)\n"
	    "echo1:  echoes the first bytes, then closes; echo keeps the connection\n"
	    "bulk:   N streams; down (default) reads from a source server, --up writes to a sink\n"
	    "idle:   N sessions set up and held for --hold seconds (or until SIGTERM)\n"
	    "udpecho: sends every UDP datagram back to its sender\n"
	    "Output is one line of key=value pairs.\n", f);
}

static int
parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "proxy", required_argument, NULL, 'P' },
		{ "target", required_argument, NULL, 'T' },
		{ "direct", no_argument, NULL, 'D' },
		{ "pipeline", no_argument, NULL, 'p' },
		{ "up", no_argument, NULL, 'u' },
		{ "client-close", no_argument, NULL, 'C' },
		{ "source", required_argument, NULL, 'S' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "hold", required_argument, NULL, 'H' },
		{ "label", required_argument, NULL, 'L' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct lg_opts o = {
		.conc = 1, .threads = 1, .secs = 5, .hold = 60, .label = "-",
	};
	bool have_proxy = false, have_target = false;
	struct wire_addr pw;
	double v;
	int c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:t:d:l:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			if (lg_parse_addr(optarg, &o.proxy, &o.proxy_len, &pw) < 0)
				return 2;
			have_proxy = true;
			break;
		case 'T':
			if (lg_parse_addr(optarg, &o.target, &o.target_len, &o.target_wire) < 0)
				return 2;
			have_target = true;
			break;
		case 'D': o.direct = true; break;
		case 'p': o.pipeline = true; break;
		case 'u': o.up = true; break;
		case 'C': o.client_close = true; break;
		case 'S':
			if (lg_parse_addr(optarg, &o.source, &o.source_len, &pw) < 0)
				return 2;
			o.have_source = true;
			break;
		case 'L': o.label = optarg; break;
		case 'l': o.listen = optarg; break;
		case 'f': o.port_file = optarg; break;
		case 'c':
		case 't':
			if (parse_num(optarg, &v) < 0 || v < 1 || v > 1000000)
				goto bad;
			if (c == 'c')
				o.conc = (int)v;
			else
				o.threads = (int)v;
			break;
		case 'd':
		case 'w':
		case 'H':
			if (parse_num(optarg, &v) < 0 || v > 86400)
				goto bad;
			*(c == 'd' ? &o.secs : c == 'w' ? &o.warmup : &o.hold) = v;
			break;
		case 'b':
			if (parse_num(optarg, &v) < 0)
				goto bad;
			o.bytes = (uint64_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	signal(SIGPIPE, SIG_IGN);
	lg_raise_nofile();
	if (!strcmp(o.mode, "echo") || !strcmp(o.mode, "echo1") ||
	    !strcmp(o.mode, "source") || !strcmp(o.mode, "sink")) {
		if (!o.listen)
			goto bad;
		return lg_run_server(&o) < 0 ? 1 : 0;
	}
	if (!strcmp(o.mode, "udpecho")) {
		if (!o.listen)
			goto bad;
		return lg_run_udp_echo(&o) < 0 ? 1 : 0;
	}
	if (!have_target || (!have_proxy && !o.direct) || o.secs <= 0)
		goto bad;
	if (o.threads > o.conc)
		o.threads = o.conc;
	if (!strcmp(o.mode, "cycles"))
		return lg_run_cycles(&o) < 0 ? 1 : 0;
	if (!strcmp(o.mode, "bulk"))
		return lg_run_bulk(&o) < 0 ? 1 : 0;
	if (!strcmp(o.mode, "idle"))
		return lg_run_idle(&o) < 0 ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
