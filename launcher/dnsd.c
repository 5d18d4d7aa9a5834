/* dnsd.c: the supervisor's own name server, on loopback.
 *
 * A static or Go program resolves names itself: it reads /etc/resolv.conf
 * and sends its questions to port 53 of a name server, over UDP or TCP.
 * Under the supervisor, the connect() to any port 53 is answered by
 * connecting the program's socket here instead (notify.c), so no question
 * reaches a resolver.  Each question is answered from the stand-in map by
 * the library's own code (preload/resquery.c, dns_res_send): A and AAAA
 * get stand-ins (or the hosts file's addresses, or a number's own), every
 * other type is REFUSED; a connect() to a stand-in then sends the name to
 * the last hop.
 *
 * One thread serves both sockets; each TCP connection gets a thread of
 * its own with a deadline, so a stalled client holds nothing else up.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsmap.h"
#include "internal.h"
#include "resolve.h"
#include "resquery.h"
#include "supervise.h"

/* A DNS message over UDP (EDNS0 sizes) or TCP (2-byte length). */
#define DNSD_MSG_MAX 65535
#define DNSD_TCP_TIMEOUT_MS 10000

static int udp_fd = -1, tcp_fd = -1;
static bool remote;

/* The library's code asks whether names go to the proxy: under the
 * supervisor, the config says. */
bool
dns_remote_enabled(void)
{
	return remote;
}

/* resquery.c's getaddrinfo_a calls the library's resolver, which the
 * launcher does not carry; the supervisor never calls getaddrinfo_a. */
int
dns_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	return EAI_FAIL;
}

static int
bound_socket(int type, struct sockaddr_in *out)
{
	socklen_t l = sizeof(*out);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)out, sizeof(*out)) != 0 ||
	    getsockname(fd, (struct sockaddr *)out, &l) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
io_full(int fd, void *buf, size_t len, bool out)
{
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		ssize_t n;

		if (poll(&p, 1, DNSD_TCP_TIMEOUT_MS) != 1)
			return -1;
		n = out ? send(fd, (char *)buf + off, len - off, MSG_NOSIGNAL) :
		    recv(fd, (char *)buf + off, len - off, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* One TCP client: questions until it closes or stalls. */
static void *
tcp_client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *q = malloc(DNSD_MSG_MAX), *a = malloc(DNSD_MSG_MAX + 2);
	uint8_t hdr[2];

	while (q != NULL && a != NULL && io_full(fd, hdr, 2, false) == 0) {
		size_t n = (size_t)hdr[0] << 8 | hdr[1];
		int r;

		if (n == 0 || io_full(fd, q, n, false) != 0)
			break;
		r = dns_res_send(NULL, q, (int)n, a + 2, DNSD_MSG_MAX);
		if (r < 0)
			break;
		a[0] = (uint8_t)(r >> 8);
		a[1] = (uint8_t)r;
		if (io_full(fd, a, (size_t)r + 2, true) != 0)
			break;
	}
	free(q);
	free(a);
	close(fd);
	return NULL;
}

static void *
serve(void *arg)
{
	static uint8_t q[DNSD_MSG_MAX], a[DNSD_MSG_MAX];
	struct pollfd p[2] = { { .fd = udp_fd, .events = POLLIN },
		{ .fd = tcp_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(udp_fd, q, sizeof(q), MSG_DONTWAIT,
			    (struct sockaddr *)&from, &fl);
			int r;

			if (n > 0) {
				/* An answer no bigger than UDP carries without
				 * EDNS0; resquery sets TC when it is cut. */
				r = dns_res_send(NULL, q, (int)n, a, 512);
				if (r > 0)
					(void)sendto(udp_fd, a, (size_t)r, MSG_DONTWAIT,
					    (struct sockaddr *)&from, fl);
			}
		}
		if (p[1].revents & POLLIN) {
			int c = accept4(tcp_fd, NULL, NULL, SOCK_CLOEXEC);
			pthread_attr_t at;
			pthread_t t;

			if (c < 0)
				continue;
			pthread_attr_init(&at);
			pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&t, &at, tcp_client, (void *)(intptr_t)c) != 0)
				close(c);
			pthread_attr_destroy(&at);
		}
	}
	return NULL;
}

int
dnsd_start(struct sup_ctx *ctx)
{
	const char *why = "bad stand-in ranges";
	pthread_attr_t at;
	pthread_t t;
	int e;

	remote = true;
	if (dns_map_setup(&ctx->cfg->fake_ipv4, &ctx->cfg->fake_ipv6,
	    ctx->cfg->dns_cache_size, &why) != 0) {
		log_msg(CFG_LOG_ERROR, "dns: %s", why);
		errno = EINVAL;
		return -1;
	}
	udp_fd = bound_socket(SOCK_DGRAM, &ctx->dns_udp);
	if (udp_fd < 0)
		return -1;
	tcp_fd = bound_socket(SOCK_STREAM, &ctx->dns_tcp);
	if (tcp_fd < 0)
		return -1;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &at, serve, NULL);
	pthread_attr_destroy(&at);
	if (e != 0) {
		errno = e;
		return -1;
	}
	log_msg(CFG_LOG_INFO, "supervisor: names answered on 127.0.0.1 port %u (udp) and "
	    "%u (tcp)", ntohs(ctx->dns_udp.sin_port), ntohs(ctx->dns_tcp.sin_port));
	return 0;
}
