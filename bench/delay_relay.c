/* delay_relay.c: a TCP relay that delivers every chunk DELAY after it read
 * it, in both directions: a far hop on loopback (netem is not available).
 *
 * usage: delay_relay -t HOST:PORT -f PORT_FILE [-d SECONDS]
 *
 * Listens on 127.0.0.1 port 0 and writes the port to PORT_FILE.  Each
 * direction is a delay line, not a pause: chunks read 1 ms apart leave 1 ms
 * apart, each DELAY after it came, so a round trip costs 2 x DELAY however
 * many connections are open.  EOF is passed on (as a half-close) after the
 * same delay.  One thread, one epoll; a chunk is written with a blocking
 * send when it is due (chunks are small, the peers read at once).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 8192
#define CHUNK 65536

struct chunk {
	struct chunk *next;
	double due;
	size_t len;               /* 0: EOF */
	char data[];
};

struct dir {
	int src, dst;
	struct chunk *head, *tail;
	bool reading, done;
};

struct conn {
	struct dir d[2];          /* [0] client to target, [1] back */
};

static struct conn *conns[MAXCONN];
static unsigned nslots;            /* slots ever used: the scan stops there */
static double delay_s = 0.05;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
listen_loopback(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0)
		return -1;
	return fd;
}

static void
add_chunk(struct dir *d, const char *buf, size_t len)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (c == NULL) {
		perror("delay_relay: malloc");
		exit(1);
	}
	c->next = NULL;
	c->due = now_s() + delay_s;
	c->len = len;
	memcpy(c->data, buf, len);
	if (d->tail != NULL)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
}

/* Writes what is due on d; true once d has passed its EOF on. */
static bool
flush_due(struct dir *d, double now)
{
	while (d->head != NULL && d->head->due <= now) {
		struct chunk *c = d->head;
		size_t off = 0;

		if (c->len == 0) {
			(void)shutdown(d->dst, SHUT_WR);
			d->done = true;
		}
		while (off < c->len) {
			ssize_t w = send(d->dst, c->data + off, c->len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break; /* the peer went away: the rest is dropped */
			off += (size_t)w;
		}
		d->head = c->next;
		if (d->head == NULL)
			d->tail = NULL;
		free(c);
	}
	return d->done;
}

static void
conn_free(int ep, struct conn *c, unsigned slot)
{
	for (int k = 0; k < 2; k++) {
		struct chunk *n;

		for (struct chunk *ch = c->d[k].head; ch != NULL; ch = n) {
			n = ch->next;
			free(ch);
		}
		if (c->d[k].reading)
			(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->d[k].src, NULL);
	}
	close(c->d[0].src);
	close(c->d[1].src);
	free(c);
	conns[slot] = NULL;
}

static void
accept_one(int ep, int lfd, const struct sockaddr_in *target)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), tfd, one = 1;
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned slot;
	struct conn *c;

	if (cfd < 0)
		return;
	for (slot = 0; slot < MAXCONN && conns[slot] != NULL; slot++)
		;
	tfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = calloc(1, sizeof(*c));
	if (slot == MAXCONN || tfd < 0 || c == NULL ||
	    connect(tfd, (const struct sockaddr *)target, sizeof(*target)) != 0) {
		close(cfd);
		if (tfd >= 0)
			close(tfd);
		free(c);
		return;
	}
	(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->d[0] = (struct dir){ .src = cfd, .dst = tfd, .reading = true };
	c->d[1] = (struct dir){ .src = tfd, .dst = cfd, .reading = true };
	conns[slot] = c;
	if (slot >= nslots)
		nslots = slot + 1;
	for (int k = 0; k < 2; k++) {
		ev.data.u64 = (uint64_t)slot << 1 | (uint64_t)k;
		(void)epoll_ctl(ep, EPOLL_CTL_ADD, c->d[k].src, &ev);
	}
}

static void
read_one(int ep, struct dir *d)
{
	static char buf[CHUNK];
	ssize_t r = recv(d->src, buf, sizeof(buf), MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		add_chunk(d, buf, (size_t)r);
		return;
	}
	/* EOF or an error: passed on as EOF, after the delay. */
	add_chunk(d, buf, 0);
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, d->src, NULL);
	d->reading = false;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in target = { .sin_family = AF_INET };
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX }, evs[256];
	const char *tgt = NULL, *pfile = NULL;
	char *colon, tmp[4096];
	int opt, lfd, ep;
	FILE *f;

	while ((opt = getopt(argc, argv, "t:f:d:")) != -1) {
		if (opt == 't')
			tgt = optarg;
		else if (opt == 'f')
			pfile = optarg;
		else if (opt == 'd')
			delay_s = strtod(optarg, NULL);
		else
			goto usage;
	}
	if (tgt == NULL || pfile == NULL || (colon = strrchr(tgt, ':')) == NULL ||
	    delay_s < 0 || delay_s > 60)
		goto usage;
	*colon = '\0';
	target.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, tgt, &target.sin_addr) != 1)
		goto usage;
	if ((lfd = listen_loopback()) < 0 || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&me, &ml) != 0) {
		perror("delay_relay");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", pfile);
	if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%u\n", ntohs(me.sin_port)) < 0 ||
	    fclose(f) != 0 || rename(tmp, pfile) != 0) {
		perror("delay_relay: port file");
		return 1;
	}
	for (;;) {
		double now = now_s(), next = -1;
		int timeout = -1, n;

		for (unsigned i = 0; i < nslots; i++) {
			struct conn *c = conns[i];

			if (c == NULL)
				continue;
			/* Both directions flush, whatever the first says. */
			bool up = flush_due(&c->d[0], now), down = flush_due(&c->d[1], now);

			if (up && down) {
				conn_free(ep, c, i);
				continue;
			}
			for (int k = 0; k < 2; k++)
				if (c->d[k].head != NULL && (next < 0 || c->d[k].head->due < next))
					next = c->d[k].head->due;
		}
		if (next >= 0)
			timeout = (int)((next - now) * 1000) + 1;
		n = epoll_wait(ep, evs, 256, timeout);
		for (int j = 0; j < n; j++) {
			uint64_t u = evs[j].data.u64;
			struct conn *c;

			if (u == UINT64_MAX) {
				accept_one(ep, lfd, &target);
				continue;
			}
			c = conns[u >> 1];
			if (c != NULL && c->d[u & 1].reading)
				read_one(ep, &c->d[u & 1]);
		}
	}
usage:
	fputs("usage: delay_relay -t IPV4:PORT -f PORT_FILE [-d SECONDS]\n", stderr);
	return 64;
}
