/* connrate.c: a plain libc client for the library benchmark: sequential connects and getaddrinfo calls.
 *
 * Only ordinary libc calls, dynamically linked, so that an LD_PRELOAD
 * library (ours, proxychains4's, Dante's) interposes every one of them.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netdb.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of the whole process so far, all threads. */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
usage(FILE *f)
{
	fputs("usage: connrate conn [-n N] HOST PORT\n"
	    "       connrate gai [-n N] [--rss] (--new PREFIX | --repeat NAME)\n"
	    "conn: N times getaddrinfo + socket + connect + write 1 byte + read 1 byte + close\n"
	    "      (the target must echo); HOST may be numeric or a name; cpu_us is\n"
	    "      this process's own CPU time per connection (what a wrapper adds)\n"
	    "gai:  N getaddrinfo calls, each for a new name PREFIX<i>.test, or the same NAME;\n"
	    "      --rss also prints the resident memory (KiB) before the first call and\n"
	    "      after the last (what a resolver keeps per name)\n", f);
}

/* One connection: returns 0 when the byte came back. */
static int
one_conn(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	struct timeval tv = { .tv_sec = 5 };
	char b = 'c';
	int fd = -1, rc = -1;

	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		goto out;
	if ((fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol)) < 0)
		goto out;
	/* A stuck proxy must not hang the benchmark. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		goto out;
	if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return rc;
}

static int
run_conn(long n, const char *host, const char *port)
{
	long i, ok = 0, err = 0;
	int last = 0;
	double c0 = cpu_s(), t0 = now_s(), secs, cpu;

	for (i = 0; i < n; i++) {
		if (one_conn(host, port) == 0) {
			ok++;
		} else {
			err++;
			last = errno;
		}
	}
	secs = now_s() - t0;
	cpu = cpu_s() - c0;
	printf("mode=conn host=%s n=%ld ok=%ld errors=%ld last_errno=%d secs=%.3f cpu_us=%.1f "
	    "rate=%.1f\n", host, n, ok, err, last, secs, cpu * 1e6 / n, ok / secs);
	return err ? 1 : 0;
}

/* VmRSS of this process in KiB, from /proc/self/status; -1 if unknown. */
static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int
run_gai(long n, const char *prefix, const char *repeat, int rss)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	long i, ok = 0, err = 0, rss0 = rss ? rss_kib() : -1;
	double t0 = now_s(), secs;
	char name[256];

	for (i = 0; i < n; i++) {
		struct addrinfo *res = NULL;

		if (repeat)
			snprintf(name, sizeof(name), "%s", repeat);
		else
			snprintf(name, sizeof(name), "%s%ld.test", prefix, i);
		if (getaddrinfo(name, "80", &hints, &res) == 0 && res)
			ok++;
		else
			err++;
		if (res)
			freeaddrinfo(res);
	}
	secs = now_s() - t0;
	if (rss)
		printf("mode=gai kind=%s n=%ld ok=%ld errors=%ld secs=%.3f rss0_kib=%ld "
		    "rss1_kib=%ld rate=%.1f\n", repeat ? "repeat" : "new", n, ok, err, secs,
		    rss0, rss_kib(), ok / secs);
	else
		printf("mode=gai kind=%s n=%ld ok=%ld errors=%ld secs=%.3f rate=%.1f\n",
		    repeat ? "repeat" : "new", n, ok, err, secs, ok / secs);
	return err ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *mode, *prefix = NULL, *repeat = NULL;
	long n = 1000;
	int i, rss = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--new") && i + 1 < argc)
			prefix = argv[++i];
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = argv[++i];
		else if (!strcmp(argv[i], "--rss"))
			rss = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (n < 1 || n > 10000000) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "conn") && argc - i == 2)
		return run_conn(n, argv[i], argv[i + 1]);
	if (!strcmp(mode, "gai") && argc == i && (prefix != NULL) != (repeat != NULL))
		return run_gai(n, prefix, repeat, rss);
	usage(stderr);
	return 2;
}
