/* udprtt.c: a plain libc UDP client for bench/udp.sh: round-trip time and echoed datagrams per second.
 *
 * Only ordinary libc calls (getaddrinfo, socket, sendto, recvfrom),
 * dynamically linked and carrying none of our code, so that an LD_PRELOAD
 * library (ours, Dante's) interposes every one of them.  The target must
 * send every datagram back (bench/loadgen udpecho).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65000
#define SEQ_LEN 8                /* each datagram starts with its sequence number */

static uint8_t out_buf[MAX_SIZE], in_buf[MAX_SIZE + 1];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
	fputs("usage: udprtt rtt [-n N] [-s SIZE] [-w WARMUP] HOST PORT\n"
	    "       udprtt rate [-W WINDOW] [-s SIZE] [-d SECS] HOST PORT\n"
	    "rtt:  N sequential request/response pairs (sendto, then recvfrom of the\n"
	    "      echo), after WARMUP pairs not counted; prints p50_us p99_us mean_us;\n"
	    "      a datagram not back within 1 s counts as lost\n"
	    "rate: WINDOW datagrams kept outstanding for SECS seconds (each echo that\n"
	    "      comes back sends the next one); prints rate (echoes/s, the first\n"
	    "      0.2 s not counted); after 200 ms with no echo the window is counted\n"
	    "      lost and sent anew\n"
	    "Exit status 0 only if at least one echo came back.\n", f);
}

static int
parse_count(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The socket and the target's address; a receive timeout keeps a stuck
 * proxy from hanging the benchmark. */
static int
open_target(const char *host, const char *port, double timeout_s,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	struct timeval tv = { .tv_sec = (time_t)timeout_s,
	    .tv_usec = (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6) };
	int fd, rc;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0 || !res) {
		fprintf(stderr, "udprtt: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	freeaddrinfo(res);
	if (fd < 0) {
		perror("udprtt: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
send_seq(int fd, uint64_t seq, size_t size, const struct sockaddr_storage *to, socklen_t len)
{
	memcpy(out_buf, &seq, SEQ_LEN);
	if (sendto(fd, out_buf, size, 0, (const struct sockaddr *)to, len) != (ssize_t)size) {
		perror("udprtt: sendto");
		return -1;
	}
	return 0;
}

/* One echo: 1 with its sequence number, 0 on timeout, -1 on error.
 * Counts echoes whose source is not the target, or whose length is not
 * what was sent (a wrapper that reports the relay, or keeps the header). */
static int
recv_seq(int fd, size_t size, const struct sockaddr_storage *to, uint64_t *seq,
    long *bad)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	const struct sockaddr_in *a = (const struct sockaddr_in *)&from,
	    *b = (const struct sockaddr_in *)to;
	ssize_t r;

	r = recvfrom(fd, in_buf, sizeof(in_buf), 0, (struct sockaddr *)&from, &flen);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		perror("udprtt: recvfrom");
		return -1;
	}
	if ((size_t)r != size || from.ss_family != AF_INET ||
	    a->sin_addr.s_addr != b->sin_addr.s_addr || a->sin_port != b->sin_port)
		(*bad)++;
	if (r < SEQ_LEN)
		return 0;
	memcpy(seq, in_buf, SEQ_LEN);
	return 1;
}

static int
run_rtt(int fd, const struct sockaddr_storage *to, socklen_t len, size_t size,
    long n, long warm)
{
	double *rtt, t0, t1, sum = 0;
	long i, got = 0, lost = 0, bad = 0;
	uint64_t seq;
	int r, rc = 1;

	if (!(rtt = calloc((size_t)n, sizeof(*rtt))))
		return 1;
	for (i = -warm; i < n; i++) {
		uint64_t want = (uint64_t)(i + warm);

		t0 = now_s();
		if (send_seq(fd, want, size, to, len) < 0)
			goto out;
		/* Late echoes of earlier pairs are read and skipped. */
		do {
			r = recv_seq(fd, size, to, &seq, &bad);
		} while (r == 1 && seq != want && now_s() - t0 < 1.0);
		if (r < 0)
			goto out;
		if (r == 0 || seq != want) {
			lost++;
			continue;
		}
		t1 = now_s();
		if (i >= 0) {
			rtt[got++] = (t1 - t0) * 1e6;
			sum += (t1 - t0) * 1e6;
		}
	}
	rc = got > 0 || (n == 0 && lost == 0) ? 0 : 1;
out:
	if (got > 0) {
		qsort(rtt, (size_t)got, sizeof(*rtt), cmp_double);
		printf("mode=rtt size=%zu n=%ld p50_us=%.1f p99_us=%.1f mean_us=%.1f lost=%ld bad=%ld\n",
		    size, n, rtt[got / 2], rtt[(size_t)((double)(got - 1) * 0.99)], sum / (double)got,
		    lost, bad);
	} else {
		printf("mode=rtt size=%zu n=%ld p50_us=nan p99_us=nan mean_us=nan lost=%ld bad=%ld\n",
		    size, n, lost, bad);
	}
	free(rtt);
	return rc;
}

static int
run_rate(int fd, const struct sockaddr_storage *to, socklen_t len, size_t size,
    long window, double secs)
{
	double start = now_s(), tw = start + 0.2, end = tw + secs, t;
	uint64_t next = 0, base = 0, seq;
	long got = 0, counted = 0, lost = 0, late = 0, stalls = 0, bad = 0, inflight = 0, i;
	int r;

	for (;;) {
		/* (Re)fill the window: at start and after a stall. */
		for (i = inflight; i < window; i++) {
			if (send_seq(fd, next++, size, to, len) < 0)
				return 1;
		}
		inflight = window;
		for (;;) {
			if ((t = now_s()) >= end)
				goto done;
			r = recv_seq(fd, size, to, &seq, &bad);
			if (r < 0)
				return 1;
			if (r == 0) {
				/* Nothing for 200 ms: what is out counts as lost. */
				stalls++;
				lost += inflight;
				inflight = 0;
				base = next;
				break;
			}
			if (seq < base || seq >= next) {
				late++;
				continue;
			}
			got++;
			if (t >= tw)
				counted++;
			if (send_seq(fd, next++, size, to, len) < 0)
				return 1;
		}
	}
done:
	printf("mode=rate size=%zu window=%ld secs=%.2f rate=%.0f got=%ld lost=%ld late=%ld "
	    "stalls=%ld bad=%ld\n", size, window, secs, (double)counted / secs, got, lost, late,
	    stalls, bad);
	return got > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_storage to;
	socklen_t len;
	const char *mode;
	long n = 5000, warm = 100, size = 64, window = 16, secs_ms = 2000, v;
	double secs;
	int i, fd, rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(mode, "rtt") && strcmp(mode, "rate"))
		goto bad;
	for (i = 2; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		const char *o = argv[i], *a = argv[i + 1];

		if (!strcmp(o, "-n") && parse_count(a, 0, 100000000, &v) == 0)
			n = v;
		else if (!strcmp(o, "-w") && parse_count(a, 0, 1000000, &v) == 0)
			warm = v;
		else if (!strcmp(o, "-s") && parse_count(a, SEQ_LEN, MAX_SIZE, &v) == 0)
			size = v;
		else if (!strcmp(o, "-W") && parse_count(a, 1, 4096, &v) == 0)
			window = v;
		else if (!strcmp(o, "-d")) {
			char *end;

			secs = strtod(a, &end);
			if (end == a || *end || !(secs > 0 && secs <= 3600))
				goto bad;
			secs_ms = (long)(secs * 1000);
		} else
			goto bad;
	}
	if (argc - i != 2)
		goto bad;
	memset(out_buf, 'u', sizeof(out_buf));
	fd = open_target(argv[i], argv[i + 1], !strcmp(mode, "rtt") ? 1.0 : 0.2, &to, &len);
	if (fd < 0)
		return 1;
	if (!strcmp(mode, "rtt"))
		rc = run_rtt(fd, &to, len, (size_t)size, n, warm);
	else
		rc = run_rate(fd, &to, len, (size_t)size, window, (double)secs_ms / 1000);
	close(fd);
	return rc;
bad:
	usage(stderr);
	return 2;
}
