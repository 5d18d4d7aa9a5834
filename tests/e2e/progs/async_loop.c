/* async_loop: an event loop's view of a non-blocking connect.
 *
 * Usage: async_loop MODE HOST PORT [THREADS CONNS]
 *   MODE epoll         epoll, edge-triggered, registered after connect()
 *        epoll-before  epoll, edge-triggered, registered before connect()
 *        oneshot       epoll, EPOLLONESHOT, registered after connect()
 *        select        select() on the write set
 *        poll          poll() for POLLOUT
 *   HOST PORT          an IPv4 echo server (through the chain)
 *   THREADS CONNS      with these, THREADS threads each run an epoll loop
 *                      (edge-triggered) over CONNS connections at once and
 *                      print "threads ok=N fail=M"; every connection
 *                      echoes a line
 *
 * One connection (no THREADS) prints, in order:
 *   connect EINPROGRESS|0|ERRNAME
 *   write_before EAGAIN|...      (a write right after connect)
 *   peer_before ENOTCONN|...     (getpeername right after connect)
 *   connect_again EALREADY|...   (a second connect while in progress)
 *                                (neither of these two with ASYNC_LOOP_QUIET
 *                                set: they would take a failure's errno)
 *   event N                      (events the loop got before SO_ERROR was set
 *                                 or the socket worked; 1 is right)
 *   so_error 0|ERRNAME
 *   elapsed_ms T                 (connect to the event)
 * and, when SO_ERROR is 0: "peer_at_event ok", "echo ok" and
 * "connect_after EISCONN|...".  Then "done".
 * Every wait is bounded (20 s); exit 0 when the program ran to the end.
 */
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 20000

static struct sockaddr_in target;

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static const char *
errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EINPROGRESS: return "EINPROGRESS";
	case EAGAIN: return "EAGAIN";
	case ENOTCONN: return "ENOTCONN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case EPIPE: return "EPIPE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	default: return strerror(e);
	}
}

static int
nb_socket(void)
{
	return socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static int
start_connect(int fd)
{
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) == 0)
		return 0;
	return errno;
}

/* Sends a line and waits (poll, bounded) for it to come back. */
static int
echo_line(int fd, int i)
{
	char line[64], got[64];
	size_t n, have = 0;
	long end = now_ms() + WAIT_MS;

	n = (size_t)snprintf(line, sizeof(line), "async_loop %d\n", i);
	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	while (have < n && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		r = recv(fd, got + have, n - have, 0);
		if (r <= 0) {
			if (r < 0 && errno == EAGAIN)
				continue;
			return -1;
		}
		have += (size_t)r;
	}
	return have == n && memcmp(got, line, n) == 0 ? 0 : -1;
}

static int
so_error(int fd)
{
	int e = -1;
	socklen_t l = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0)
		return errno;
	return e;
}

/* Waits for fd to be reported writable, the loop's way; returns how many
 * events it took, 0 on a timeout. */
static int
wait_event(const char *mode, int fd, int ep)
{
	long end = now_ms() + WAIT_MS;
	int events = 0;

	while (now_ms() < end) {
		int left = (int)(end - now_ms());

		if (ep >= 0) {
			struct epoll_event ev;
			int n = epoll_wait(ep, &ev, 1, left);

			if (n == 1 && (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return events + 1;
			if (n == 1)
				events++;
		} else if (strcmp(mode, "select") == 0) {
			fd_set w;
			struct timeval tv = { .tv_sec = left / 1000, .tv_usec = left % 1000 * 1000 };

			FD_ZERO(&w);
			FD_SET(fd, &w);
			if (select(fd + 1, NULL, &w, NULL, &tv) == 1 && FD_ISSET(fd, &w))
				return events + 1;
		} else {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, left) == 1 && p.revents != 0)
				return events + 1;
		}
	}
	return 0;
}

static int
single(const char *mode)
{
	int fd = nb_socket(), ep = -1, e, events;
	bool quiet;
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	uint32_t kind = EPOLLIN | EPOLLOUT | EPOLLET;
	struct epoll_event ev;
	long t0;

	if (fd < 0)
		return 2;
	if (strncmp(mode, "epoll", 5) == 0 || strcmp(mode, "oneshot") == 0) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (strcmp(mode, "oneshot") == 0)
			kind = EPOLLOUT | EPOLLONESHOT;
	}
	ev.events = kind;
	ev.data.fd = fd;
	if (strcmp(mode, "epoll-before") == 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return 2;
	t0 = now_ms();
	e = start_connect(fd);
	printf("connect %s\n", errname(e));
	/* A write or a second connect takes a failed connect's error, as it
	 * does from the kernel: a test of SO_ERROR after a failure does
	 * without them. */
	quiet = getenv("ASYNC_LOOP_QUIET") != NULL;
	if (!quiet)
		printf("write_before %s\n", write(fd, "x", 1) < 0 ? errname(errno) : "written");
	printf("peer_before %s\n", getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 ?
	    errname(errno) : "connected");
	if (e == EINPROGRESS && !quiet)
		printf("connect_again %s\n", errname(start_connect(fd)));
	if (ep >= 0 && strcmp(mode, "epoll-before") != 0 &&
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return 2;
	events = e == EINPROGRESS ? wait_event(mode, fd, ep) : 1;
	printf("event %d\n", events);
	printf("elapsed_ms %ld\n", now_ms() - t0);
	e = so_error(fd);
	printf("so_error %s\n", errname(e));
	if (events > 0 && e == 0) {
		pl = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
		    peer.sin_port == target.sin_port &&
		    peer.sin_addr.s_addr == target.sin_addr.s_addr)
			printf("peer_at_event ok\n");
		if (echo_line(fd, 0) == 0)
			printf("echo ok\n");
		printf("connect_after %s\n", errname(start_connect(fd)));
	}
	printf("done\n");
	fflush(stdout);
	close(fd);
	if (ep >= 0)
		close(ep);
	return 0;
}

struct job {
	int conns, ok, fail;
};

/* One thread's own loop: CONNS connects at once, each echoed once its
 * event came. */
static void *
loop(void *arg)
{
	struct job *j = arg;
	int ep = epoll_create1(EPOLL_CLOEXEC), *fds, left = j->conns;
	long end = now_ms() + WAIT_MS;

	fds = calloc((size_t)j->conns, sizeof(*fds));
	if (ep < 0 || fds == NULL) {
		j->fail = j->conns;
		return NULL;
	}
	for (int i = 0; i < j->conns; i++) {
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i };
		int e;

		fds[i] = nb_socket();
		e = fds[i] < 0 ? errno : start_connect(fds[i]);
		if ((e != EINPROGRESS && e != 0) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
			j->fail++;
			left--;
			close(fds[i]);
			fds[i] = -1;
		}
	}
	while (left > 0 && now_ms() < end) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, (int)(end - now_ms()));

		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;

			if (fds[i] < 0)
				continue;
			if (so_error(fds[i]) == 0 && echo_line(fds[i], i) == 0)
				j->ok++;
			else
				j->fail++;
			close(fds[i]);
			fds[i] = -1;
			left--;
		}
	}
	for (int i = 0; i < j->conns; i++)
		if (fds[i] >= 0) {
			j->fail++;
			close(fds[i]);
		}
	free(fds);
	close(ep);
	return NULL;
}

static int
threaded(int threads, int conns)
{
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	struct job *jobs = calloc((size_t)threads, sizeof(*jobs));
	int ok = 0, fail = 0;

	if (t == NULL || jobs == NULL)
		return 2;
	for (int i = 0; i < threads; i++) {
		jobs[i].conns = conns;
		if (pthread_create(&t[i], NULL, loop, &jobs[i]) != 0)
			return 2;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ok += jobs[i].ok;
		fail += jobs[i].fail;
	}
	printf("threads ok=%d fail=%d\n", ok, fail);
	printf("done\n");
	free(t);
	free(jobs);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: async_loop MODE HOST PORT [THREADS CONNS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1)
		return 2;
	if (argc == 6)
		return threaded(atoi(argv[4]), atoi(argv[5]));
	return single(argv[1]);
}
