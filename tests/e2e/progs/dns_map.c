/* dns_map.c: drives the name map to its bound (dns_cache_size) and reports
 * what was kept, forgotten and handed out, for dns_map.bats.
 *
 * Usage: dns_map lru PORT          (run with dns_cache_size = 256)
 *        dns_map full PORT CAP
 *
 * lru: connects to p001..p010.test on PORT and keeps the sockets open;
 * resolves u001..u020.test and leaves them unused; then resolves
 * f0001..f0600.test.  Reports whether every address handed out was new,
 * whether the pinned names kept their addresses (and their sockets still
 * work), which unused names are still known (getnameinfo NI_NAMEREQD on
 * their old address), what a connect to a forgotten address gives, and
 * what resolving a forgotten name again gives.
 *
 * full: connects to p001..pCAP.test and keeps all sockets open, so every
 * slot is pinned; a new name must then fail (EAI_AGAIN, TRY_AGAIN); after
 * one socket closes, a new name must resolve again.
 *
 * Names are resolved with getaddrinfo(AF_INET); the target on PORT is an
 * echo server the proxy reaches for every pNNN.test.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPIN 10
#define NUNUSED 20
#define NFLOOD 600

static const char *port;

static int resolve4(const char *name, struct sockaddr_in *out)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc == 0) {
		memcpy(out, res->ai_addr, sizeof(*out));
		freeaddrinfo(res);
	}
	return rc;
}

/* The name a stand-in maps to now, or "" when it maps to none. */
static const char *rev(const struct sockaddr_in *sa)
{
	static char host[NI_MAXHOST];

	if (getnameinfo((const struct sockaddr *)sa, sizeof(*sa), host, sizeof(host),
	    NULL, 0, NI_NAMEREQD) != 0)
		host[0] = '\0';
	return host;
}

static const char *ntoa(const struct sockaddr_in *sa)
{
	static char buf[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof(buf));
}

static int echo_ok(int fd)
{
	char in[8];
	size_t got = 0;
	ssize_t r;

	if (send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5)
		return 0;
	while (got < 5) {
		r = recv(fd, in + got, 5 - got, 0);
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return memcmp(in, "ping\n", 5) == 0;
}

/* Resolves and connects; returns the fd or -1 (reason printed). */
static int connect_name(const char *name, struct sockaddr_in *sa)
{
	struct timeval tv = { 20, 0 };
	int fd, rc;

	rc = resolve4(name, sa);
	if (rc != 0) {
		printf("connect %s: getaddrinfo: %s\n", name, gai_strerror(rc));
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0) {
		printf("connect %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int run_lru(void)
{
	struct sockaddr_in p[NPIN], u[NUNUSED], f[NFLOOD], again, *all[NPIN + NUNUSED + NFLOOD];
	char name[32];
	int fd[NPIN], i, j, n = 0, dups = 0, ok, live, first = 0, last = 0, gaps, rc;

	for (i = 0; i < NPIN; i++) {
		snprintf(name, sizeof(name), "p%03d.test", i + 1);
		fd[i] = connect_name(name, &p[i]);
		if (fd[i] < 0)
			return 1;
		all[n++] = &p[i];
	}
	for (i = 0; i < NUNUSED; i++) {
		snprintf(name, sizeof(name), "u%03d.test", i + 1);
		if ((rc = resolve4(name, &u[i])) != 0) {
			printf("resolve %s: %s\n", name, gai_strerror(rc));
			return 1;
		}
		all[n++] = &u[i];
	}
	for (i = 0; i < NFLOOD; i++) {
		snprintf(name, sizeof(name), "f%04d.test", i + 1);
		if ((rc = resolve4(name, &f[i])) != 0) {
			printf("resolve %s: %s\n", name, gai_strerror(rc));
			return 1;
		}
		all[n++] = &f[i];
	}
	/* Every name got an address no other name had: nothing was reused,
	 * least of all an address an open socket uses. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (all[i]->sin_addr.s_addr == all[j]->sin_addr.s_addr) {
				if (dups++ < 5)
					printf("reused %s (names %d and %d)\n", ntoa(all[i]), i, j);
			}
	printf("reused=%d\n", dups);
	for (i = 0; i < n; i++)
		if ((ntohl(all[i]->sin_addr.s_addr) >> 24) != 240)
			printf("not a stand-in: %s\n", ntoa(all[i]));

	/* Which flood names are still known, before anything else touches
	 * the map. */
	live = 0;
	gaps = 0;
	for (i = 0; i < NFLOOD; i++) {
		snprintf(name, sizeof(name), "f%04d.test", i + 1);
		if (strcmp(rev(&f[i]), name) == 0) {
			if (live == 0)
				first = i + 1;
			else if (last != i)
				gaps++;
			last = i + 1;
			live++;
		}
	}
	printf("flood live=%d first=%d last=%d gaps=%d\n", live, first, last, gaps);

	live = 0;
	for (i = 0; i < NUNUSED; i++) {
		snprintf(name, sizeof(name), "u%03d.test", i + 1);
		if (strcmp(rev(&u[i]), name) == 0)
			live++;
	}
	printf("unused live=%d\n", live);

	ok = 0;
	for (i = 0; i < NPIN; i++) {
		snprintf(name, sizeof(name), "p%03d.test", i + 1);
		if (strcmp(rev(&p[i]), name) != 0) {
			printf("pinned %s lost its address %s (now '%s')\n", name,
			    ntoa(&p[i]), rev(&p[i]));
			continue;
		}
		if (resolve4(name, &again) != 0 || again.sin_addr.s_addr != p[i].sin_addr.s_addr) {
			printf("pinned %s resolves to another address\n", name);
			continue;
		}
		if (!echo_ok(fd[i])) {
			printf("pinned %s: its socket no longer works\n", name);
			continue;
		}
		ok++;
	}
	printf("pinned ok=%d of %d\n", ok, NPIN);

	/* A forgotten stand-in is never sent anywhere. */
	{
		int s = socket(AF_INET, SOCK_STREAM, 0);
		errno = 0;
		rc = connect(s, (struct sockaddr *)&u[0], sizeof(u[0]));
		printf("forgotten connect rc=%d errno=%s\n", rc,
		    errno == EHOSTUNREACH ? "EHOSTUNREACH" : strerror(errno));
		close(s);
	}

	/* A forgotten name asked again gets a fresh address. */
	if ((rc = resolve4("u001.test", &again)) != 0) {
		printf("re-resolve u001.test: %s\n", gai_strerror(rc));
	} else {
		printf("re-resolve %s maps=%s\n",
		    again.sin_addr.s_addr == u[0].sin_addr.s_addr ? "same" : "new",
		    strcmp(rev(&again), "u001.test") == 0 ? "yes" : "no");
		for (i = 0; i < n; i++)
			if (all[i]->sin_addr.s_addr == again.sin_addr.s_addr && all[i] != &u[0])
				printf("re-resolve took the address of name %d\n", i);
	}
	for (i = 0; i < NPIN; i++)
		close(fd[i]);
	return 0;
}

static int run_full(int cap)
{
	struct sockaddr_in *sa, extra;
	struct hostent *h;
	char name[32];
	int *fd, i, rc, still = 0;

	sa = calloc((size_t)cap, sizeof(*sa));
	fd = calloc((size_t)cap, sizeof(*fd));
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "p%03d.test", i + 1);
		fd[i] = connect_name(name, &sa[i]);
		if (fd[i] < 0)
			return 1;
	}
	printf("pinned %d\n", cap);
	rc = resolve4("overflow.test", &extra);
	printf("overflow gai rc=%s\n", rc == 0 ? "0" : rc == EAI_AGAIN ? "EAI_AGAIN" :
	    gai_strerror(rc));
	h_errno = 0;
	h = gethostbyname("overflow2.test");
	printf("overflow ghbn %s\n", h ? "found" : h_errno == TRY_AGAIN ? "TRY_AGAIN" : "other");
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "p%03d.test", i + 1);
		if (strcmp(rev(&sa[i]), name) == 0)
			still++;
	}
	printf("pinned still mapped=%d\n", still);

	/* One socket closes: its name is the only one that may go. */
	close(fd[0]);
	rc = resolve4("overflow.test", &extra);
	printf("after close gai rc=%s\n", rc == 0 ? "0" : gai_strerror(rc));
	if (rc == 0)
		printf("after close new address %s, p001 maps=%s\n",
		    extra.sin_addr.s_addr == sa[0].sin_addr.s_addr ? "reused" : "fresh",
		    strcmp(rev(&sa[0]), "p001.test") == 0 ? "yes" : "no");
	still = 0;
	for (i = 1; i < cap; i++) {
		snprintf(name, sizeof(name), "p%03d.test", i + 1);
		if (strcmp(rev(&sa[i]), name) == 0)
			still++;
		close(fd[i]);
	}
	printf("others still mapped=%d\n", still);
	free(sa);
	free(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "lru") == 0) {
		port = argv[2];
		return run_lru();
	}
	if (argc >= 4 && strcmp(argv[1], "full") == 0) {
		port = argv[2];
		return run_full(atoi(argv[3]));
	}
	fprintf(stderr, "usage: dns_map lru PORT | dns_map full PORT CAP\n");
	return 2;
}
