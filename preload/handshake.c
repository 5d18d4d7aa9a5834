/* handshake.c: the client side of one hop (SOCKS4, SOCKS4a, SOCKS5, HTTP).
 *
 * Every message is built and parsed by the core codecs (wire.h); this file
 * only moves bytes through io.c and turns answers into errno values.  A
 * reply is read in stages: a fixed header, then exactly the tail that the
 * header announces.  Nothing is ever pipelined (some servers read one
 * message per recv), and nothing past a reply is consumed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define WHY(...) snprintf(why, HS_WHY_MAX, __VA_ARGS__)

/* Turns an io.c failure into the documented errno and a reason. */
static int
io_failed(char *why, const char *what)
{
	int e = errno;

	switch (e) {
	case ETIMEDOUT:
		WHY("timed out %s", what);
		break;
	case ECONNRESET:
	case EPIPE:
		WHY("proxy closed the connection %s", what);
		e = ECONNREFUSED;
		break;
	case EPROTO:
		WHY("malformed reply %s", what);
		break;
	default:
		WHY("%s %s", strerror(e), what);
		break;
	}
	errno = e;
	return -1;
}

static int
garbage(char *why, const char *what)
{
	WHY("malformed reply: %s", what);
	errno = EPROTO;
	return -1;
}

static int
send_msg(int fd, const uint8_t *buf, ssize_t n, int64_t deadline, char *why)
{
	if (n < 0) {
		WHY("request does not fit the protocol");
		errno = EINVAL;
		return -1;
	}
	if (io_write_all(fd, buf, (size_t)n, deadline) != 0)
		return io_failed(why, "while sending the request");
	return 0;
}

int
hs_greet(int fd, const struct proxy_url *p, int64_t deadline, char *why)
{
	struct socks5_greeting g = { 0 };
	struct socks5_auth a;
	uint8_t buf[2 + 2 * (WIRE_USER_MAX + 1) + 2], method, status;
	const char *w = "bad reply";
	size_t used;
	bool login = p->user[0] != '\0';

	if (p->type != PROXY_SOCKS5)
		return 0;
	g.methods[g.nmethods++] = SOCKS5_METHOD_NONE;
	if (login)
		g.methods[g.nmethods++] = SOCKS5_METHOD_USERPASS;
	if (send_msg(fd, buf, wire_enc_socks5_greeting(buf, sizeof(buf), &g), deadline, why))
		return -1;
	if (io_read_exact(fd, buf, 2, deadline) != 0)
		return io_failed(why, "during the SOCKS5 greeting");
	if (wire_dec_socks5_choice(buf, 2, &method, &used, &w) != WIRE_OK)
		return garbage(why, w);
	if (method == SOCKS5_METHOD_UNACCEPTABLE) {
		WHY(login ? "authentication rejected: no acceptable method" :
		    "proxy requires authentication (no acceptable method)");
		errno = EACCES;
		return -1;
	}
	if (method == SOCKS5_METHOD_NONE)
		return 0;
	if (method != SOCKS5_METHOD_USERPASS || !login)
		return garbage(why, "proxy chose a method that was not offered");

	memset(&a, 0, sizeof(a));
	memcpy(a.user, p->user, sizeof(a.user));
	memcpy(a.pass, p->pass, sizeof(a.pass));
	if (send_msg(fd, buf, wire_enc_socks5_auth(buf, sizeof(buf), &a), deadline, why))
		return -1;
	memset(&a, 0, sizeof(a));
	if (io_read_exact(fd, buf, 2, deadline) != 0)
		return io_failed(why, "during SOCKS5 authentication");
	if (wire_dec_socks5_auth_rep(buf, 2, &status, &used, &w) != WIRE_OK)
		return garbage(why, w);
	if (status != SOCKS5_AUTH_OK) {
		WHY("authentication rejected (user '%.64s')", p->user);
		errno = EACCES;
		return -1;
	}
	return 0;
}

static int
socks5_connect(int fd, const struct proxy_url *p, const struct wire_addr *dst,
    int64_t deadline, char *why)
{
	struct socks5_msg m = { .code = SOCKS5_CMD_CONNECT, .addr = *dst };
	uint8_t buf[4 + 1 + WIRE_NAME_MAX + 2];
	const char *w = "bad reply";
	size_t used, tail;

	if (send_msg(fd, buf, wire_enc_socks5_req(buf, sizeof(buf), &m), deadline, why))
		return -1;
	/* VER REP RSV ATYP and the first address byte (a name's length). */
	if (io_read_exact(fd, buf, 5, deadline) != 0)
		return io_failed(why, "waiting for the SOCKS5 reply");
	if (buf[0] != SOCKS5_VERSION)
		return garbage(why, "SOCKS5 reply with a wrong version");
	if (buf[1] != SOCKS5_REP_SUCCEEDED) {
		/* The proxy closes after a failure; the bound address that
		 * follows carries nothing we need. */
		WHY("proxy refused: %s (0x%02x)", socks5_strerror(buf[1]), buf[1]);
		errno = socks5_rep_errno(buf[1]);
		return -1;
	}
	switch (buf[3]) {
	case WIRE_ATYP_IPV4:
		tail = 4 - 1 + 2;
		break;
	case WIRE_ATYP_IPV6:
		tail = 16 - 1 + 2;
		break;
	case WIRE_ATYP_NAME:
		tail = (size_t)buf[4] + 2;
		break;
	default:
		return garbage(why, "SOCKS5 reply with an unknown address type");
	}
	if (io_read_exact(fd, buf + 5, tail, deadline) != 0)
		return io_failed(why, "reading the SOCKS5 reply");
	if (wire_dec_socks5_rep(buf, 5 + tail, &m, &used, &w) != WIRE_OK || used != 5 + tail)
		return garbage(why, w);
	return 0;
}

static int
socks4_connect(int fd, const struct proxy_url *p, const struct wire_addr *dst,
    int64_t deadline, char *why)
{
	struct socks4_req r = { .cmd = SOCKS4_CMD_CONNECT, .dst = *dst };
	struct socks4_rep rep;
	uint8_t buf[8 + 2 * (WIRE_NAME_MAX + 1)];
	const char *w = "bad reply";
	size_t used;

	if (dst->type == WIRE_ATYP_IPV6) {
		WHY("SOCKS4 cannot carry an IPv6 destination");
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (dst->type == WIRE_ATYP_NAME && p->type != PROXY_SOCKS4A) {
		WHY("SOCKS4 cannot carry a host name (use socks4a)");
		errno = EAFNOSUPPORT;
		return -1;
	}
	memcpy(r.user, p->user, sizeof(r.user));
	if (send_msg(fd, buf, wire_enc_socks4_req(buf, sizeof(buf), &r), deadline, why))
		return -1;
	if (io_read_exact(fd, buf, 8, deadline) != 0)
		return io_failed(why, "waiting for the SOCKS4 reply");
	if (wire_dec_socks4_rep(buf, 8, &rep, &used, &w) != WIRE_OK)
		return garbage(why, w);
	if (rep.code != SOCKS4_REP_GRANTED) {
		WHY("proxy refused: %s (%u)", socks4_strerror(rep.code), rep.code);
		errno = socks4_rep_errno(rep.code);
		return -1;
	}
	return 0;
}

static int
http_connect(int fd, const struct proxy_url *p, const struct wire_addr *dst,
    int64_t deadline, char *why)
{
	struct http_connect_req r = { .dst = *dst };
	char head[WIRE_HTTP_HEAD_MAX];
	uint8_t req[1024 + 4 * (WIRE_USER_MAX + 1)];
	const char *w = "bad reply";
	size_t len, used, sl;
	int status;

	memcpy(r.user, p->user, sizeof(r.user));
	memcpy(r.pass, p->pass, sizeof(r.pass));
	if (send_msg(fd, req, wire_enc_http_connect(req, sizeof(req), &r), deadline, why))
		return -1;
	memset(&r, 0, sizeof(r));
	memset(req, 0, sizeof(req));
	if (io_read_http_head(fd, head, sizeof(head), &len, deadline) != 0)
		return io_failed(why, "waiting for the HTTP response");
	if (wire_dec_http_response((uint8_t *)head, len, &status, &used, &w) != WIRE_OK)
		return garbage(why, w);
	if (status >= 200 && status <= 299)
		return 0;
	/* "HTTP/1.1 403 Forbidden" -> "403 Forbidden" for the log. */
	sl = strcspn(head, "\r\n");
	head[sl] = '\0';
	{
		const char *sp = strchr(head, ' ');
		WHY("proxy refused: %.160s", sp ? sp + 1 : head);
	}
	errno = http_status_errno(status);
	return -1;
}

int
hs_connect(int fd, const struct proxy_url *p, const struct wire_addr *dst,
    int64_t deadline, char *why)
{
	switch (p->type) {
	case PROXY_SOCKS5:
		return socks5_connect(fd, p, dst, deadline, why);
	case PROXY_SOCKS4:
	case PROXY_SOCKS4A:
		return socks4_connect(fd, p, dst, deadline, why);
	case PROXY_HTTP:
		return http_connect(fd, p, dst, deadline, why);
	}
	WHY("unknown proxy type");
	errno = EINVAL;
	return -1;
}
