/* concurrent.c: N connections opened at once by one event loop, the way an
 * asyncio program, node or curl's multi interface opens them.
 *
 * Only ordinary libc calls, dynamically linked, so that an LD_PRELOAD
 * library (ours, proxychains4's, Dante's) interposes every one of them.
 * Each connection: a non-blocking socket, connect (EINPROGRESS), wait for
 * writable, SO_ERROR, write one byte, wait for the echo, close.  A library
 * that blocks in connect() makes the connections one after another, and
 * the wall time shows it.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <poll.h>

#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 4096
#define LIMIT_MS 60000

enum { C_CONNECTING, C_ECHO, C_DONE, C_FAILED };

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
usage(void)
{
	fputs("usage: concurrent [-n N] [-p] HOST PORT\n"
	    "N (default 100) non-blocking connections at once to HOST PORT (an echo\n"
	    "server), each writing one byte and reading it back; prints the wall time.\n"
	    "The loop waits with epoll, or with poll under -p\n", stderr);
	exit(64);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	static int fd[MAXCONN], st[MAXCONN];
	struct epoll_event ev, evs[64];
	static struct pollfd pfd[MAXCONN];
	long n = 100, ok = 0, err = 0, left;
	int ep, last = 0, opt, use_poll = 0;
	double t0, t1;

	while ((opt = getopt(argc, argv, "n:p")) != -1) {
		if (opt == 'p')
			use_poll = 1;
		else if (opt == 'n')
			n = strtol(optarg, NULL, 10);
		else
			usage();
	}
	if (argc - optind != 2 || n < 1 || n > MAXCONN)
		usage();
	t0 = now_ms();
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &res) != 0 || res == NULL) {
		fprintf(stderr, "concurrent: cannot resolve %s\n", argv[optind]);
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		st[i] = C_FAILED;
		fd[i] = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd[i] < 0) {
			last = errno;
			continue;
		}
		if (connect(fd[i], res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
			last = errno;
			close(fd[i]);
			fd[i] = -1;
			continue;
		}
		st[i] = C_CONNECTING;
		ev.events = EPOLLOUT;
		ev.data.u64 = (uint64_t)i;
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
	}
	left = 0;
	for (long i = 0; i < n; i++)
		left += st[i] == C_CONNECTING;
	err = n - left;
	while (left > 0 && now_ms() - t0 < LIMIT_MS) {
		int k;

		if (use_poll) {
			/* The same events, asked with poll: evs is filled
			 * from its answer. */
			for (long i = 0; i < n; i++) {
				pfd[i].fd = st[i] == C_CONNECTING || st[i] == C_ECHO ? fd[i] : -1;
				pfd[i].events = st[i] == C_CONNECTING ? POLLOUT : POLLIN;
			}
			int got = poll(pfd, (nfds_t)n, 1000);

			k = 0;
			for (long i = 0; got > 0 && i < n && k < 64; i++)
				if (pfd[i].fd >= 0 && pfd[i].revents)
					evs[k++].data.u64 = (uint64_t)i;
		} else {
			k = epoll_wait(ep, evs, 64, 1000);
		}

		for (int j = 0; j < k; j++) {
			long i = (long)evs[j].data.u64;
			int e = 0;
			socklen_t el = sizeof(e);
			char b = 'x';

			if (st[i] == C_CONNECTING) {
				if (getsockopt(fd[i], SOL_SOCKET, SO_ERROR, &e, &el) != 0)
					e = errno;
				if (e == 0 && write(fd[i], &b, 1) != 1)
					e = errno ? errno : EIO;
				if (e == 0) {
					st[i] = C_ECHO;
					ev.events = EPOLLIN;
					ev.data.u64 = (uint64_t)i;
					(void)epoll_ctl(ep, EPOLL_CTL_MOD, fd[i], &ev);
					continue;
				}
			} else if (st[i] == C_ECHO) {
				ssize_t r = read(fd[i], &b, 1);

				if (r < 0 && errno == EAGAIN)
					continue;
				if (r == 1) {
					st[i] = C_DONE;
					ok++;
					left--;
					close(fd[i]);
					continue;
				}
				e = r < 0 ? errno : ECONNRESET;
			} else {
				continue;
			}
			st[i] = C_FAILED;
			last = e;
			err++;
			left--;
			close(fd[i]);
		}
	}
	t1 = now_ms();
	err += left;
	printf("mode=concurrent n=%ld ok=%ld errors=%ld last_errno=%d ms=%.1f\n", n, ok, err,
	    last, t1 - t0);
	freeaddrinfo(res);
	return err == 0 ? 0 : 1;
}
