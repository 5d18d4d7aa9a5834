/* test_hs.c: the handshake state machine (preload/hs.c) against scripted
 * proxies on a socketpair.
 *
 * The proxy side answers with bytes made by the core encoders, split into
 * single bytes where that matters, so every wait state of the machine is
 * entered; tunnel bytes written right behind a reply must still be in the
 * socket afterwards.  What the machine sent is decoded by the core's
 * server-side decoders.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include "check.h"
#include "internal.h"

struct pair {
	int c, s; /* the machine's end, the proxy's end */
};

static struct pair
pair_new(void)
{
	int sv[2];
	struct pair p = { -1, -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
		p.c = sv[0];
		p.s = sv[1];
	}
	return p;
}

static void
pair_close(struct pair *p)
{
	close(p->c);
	close(p->s);
}

/* Steps h until it waits for the proxy, ends, or fails. */
static int
step(struct hs *h, int fd, struct sfy_fail *f)
{
	for (int i = 0; i < 1000; i++) {
		int r = hs_step(h, fd, f);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (r != HS_WANT_READ || poll(&pfd, 1, 0) == 0)
			return r;
	}
	return -100;
}

/* Reads exactly n bytes the machine sent. */
static bool
take(int s, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(s, buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* Writes buf to the proxy's end one byte at a time, stepping h between
 * bytes: each one must leave it waiting for more until the last. */
static int
feed_bytewise(struct hs *h, struct pair *p, const uint8_t *buf, size_t n,
    struct sfy_fail *f)
{
	int r = HS_WANT_READ;

	for (size_t i = 0; i < n; i++) {
		CHECK_EQ_INT(r, HS_WANT_READ);
		if (write(p->s, buf + i, 1) != 1)
			return -100;
		r = step(h, p->c, f);
	}
	return r;
}

static struct proxy_url
proxy(enum proxy_type t, const char *user, const char *pass)
{
	struct proxy_url u;

	memset(&u, 0, sizeof(u));
	u.type = t;
	snprintf(u.user, sizeof(u.user), "%s", user);
	snprintf(u.pass, sizeof(u.pass), "%s", pass);
	return u;
}

static struct wire_addr
ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct wire_addr w;

	memset(&w, 0, sizeof(w));
	w.type = WIRE_ATYP_IPV4;
	w.u.ip4[0] = a;
	w.u.ip4[1] = b;
	w.u.ip4[2] = c;
	w.u.ip4[3] = d;
	w.port = port;
	return w;
}

static struct wire_addr
name(const char *n, uint16_t port)
{
	struct wire_addr w;

	memset(&w, 0, sizeof(w));
	w.type = WIRE_ATYP_NAME;
	w.name_len = (uint8_t)strlen(n);
	memcpy(w.u.name, n, w.name_len + 1u);
	w.port = port;
	return w;
}

/* What is left in the machine's end of the socket: tunnel bytes. */
static void
check_tunnel(int c, const char *want)
{
	char buf[64];
	ssize_t n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);

	if (want[0] == '\0') {
		/* Nothing: the socket is empty, not closed. */
		CHECK(n < 0 && errno == EAGAIN);
		return;
	}
	CHECK_EQ_INT(n, (ssize_t)strlen(want));
	if (n > 0)
		CHECK_MEM(buf, want, (size_t)n);
}

static void
test_socks5_greet_login(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "alice", "s3cret");
	struct socks5_auth a;
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600], rep[2];
	size_t used;
	const char *why;

	hs_start_greet(&h, &u, 1);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	/* The greeting offers no auth and user/pass. */
	CHECK(take(p.s, buf, 4));
	CHECK_MEM(buf, "\x05\x02\x00\x02", 4);
	wire_enc_socks5_choice(rep, sizeof(rep), SOCKS5_METHOD_USERPASS);
	CHECK_EQ_INT(feed_bytewise(&h, &p, rep, 2, &f), HS_WANT_READ);
	/* RFC 1929: the login as sent decodes to the URL's user and password. */
	ssize_t n = read(p.s, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ_INT(wire_dec_socks5_auth(buf, (size_t)n, &a, &used, &why), WIRE_OK);
	CHECK_STR(a.user, "alice");
	CHECK_STR(a.pass, "s3cret");
	wire_enc_socks5_auth_rep(rep, sizeof(rep), SOCKS5_AUTH_OK);
	CHECK_EQ_INT(feed_bytewise(&h, &p, rep, 2, &f), HS_DONE);
	pair_close(&p);
}

static void
test_socks5_login_rejected(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "alice", "wrong");
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];

	hs_start_greet(&h, &u, 2);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK(take(p.s, buf, 4));
	CHECK_EQ_INT(write(p.s, "\x05\x02", 2), 2);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK(read(p.s, buf, sizeof(buf)) > 0);
	CHECK_EQ_INT(write(p.s, "\x01\x01", 2), 2);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.hop, 2);
	CHECK_EQ_INT(f.stage, STAGE_LOGIN);
	CHECK_EQ_INT(f.kind, FAIL_AUTH);
	CHECK_EQ_INT(f.err, EACCES);
	pair_close(&p);
}

/* CONNECT: the name goes out as ATYP 3, the reply's BND comes back, and
 * the tunnel's first bytes, sent right behind the reply, stay unread. */
static void
test_socks5_connect_bnd(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = name("example.test", 443);
	struct socks5_msg req, rep = { .code = SOCKS5_REP_SUCCEEDED };
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];
	size_t used;
	const char *why;
	ssize_t n;

	hs_start_request(&h, &u, 1, HS_CMD_CONNECT, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	n = read(p.s, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ_INT(wire_dec_socks5_req(buf, (size_t)n, &req, &used, &why), WIRE_OK);
	CHECK_EQ_INT(req.code, SOCKS5_CMD_CONNECT);
	CHECK_EQ_INT(req.addr.type, WIRE_ATYP_NAME);
	CHECK_STR(req.addr.u.name, "example.test");
	CHECK_EQ_INT(req.addr.port, 443);
	rep.addr = ip4(10, 1, 2, 3, 40000);
	n = wire_enc_socks5_rep(buf, sizeof(buf), &rep);
	CHECK(n == 10);
	memcpy(buf + n, "HELLO", 5);
	/* The reply a byte at a time, then the tunnel bytes with its last. */
	CHECK_EQ_INT(feed_bytewise(&h, &p, buf, (size_t)n - 1, &f), HS_WANT_READ);
	CHECK_EQ_INT(write(p.s, buf + n - 1, 6), 6);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	check_tunnel(p.c, "HELLO");
	pair_close(&p);
}

/* pipeline = yes: the greeting waits for the request and both go in one
 * write; the choice and the reply are read together, and the tunnel's
 * first bytes behind them stay unread. */
static void
test_socks5_pipelined(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = ip4(192, 0, 2, 7, 80);
	struct socks5_msg req, rep = { .code = SOCKS5_REP_SUCCEEDED };
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];
	size_t used;
	const char *why;
	ssize_t n;

	h.pipeline = 1;
	hs_start_greet(&h, &u, 1);
	/* Nothing is sent yet: the greeting is done without a round trip. */
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	CHECK(recv(p.s, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	hs_start_request(&h, &u, 1, HS_CMD_CONNECT, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	n = recv(p.s, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK_EQ_INT(n, 3 + 10);
	CHECK_MEM(buf, "\x05\x01\x00", 3);
	CHECK_EQ_INT(wire_dec_socks5_req(buf + 3, (size_t)n - 3, &req, &used, &why), WIRE_OK);
	CHECK_EQ_INT(used, 10);
	CHECK_EQ_INT(req.code, SOCKS5_CMD_CONNECT);
	CHECK_EQ_INT(req.addr.port, 80);
	buf[0] = SOCKS5_VERSION;
	buf[1] = SOCKS5_METHOD_NONE;
	rep.addr = ip4(10, 1, 2, 3, 40000);
	n = wire_enc_socks5_rep(buf + 2, sizeof(buf) - 2, &rep);
	CHECK(n == 10);
	n += 2;
	memcpy(buf + n, "HELLO", 5);
	CHECK_EQ_INT(feed_bytewise(&h, &p, buf, (size_t)n - 1, &f), HS_WANT_READ);
	CHECK_EQ_INT(write(p.s, buf + n - 1, 6), 6);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	check_tunnel(p.c, "HELLO");
	pair_close(&p);
}

/* A pipelined greeting the proxy refuses (it wants a login) fails at the
 * greeting with EACCES, before the reply is looked for. */
static void
test_socks5_pipelined_refused(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = ip4(192, 0, 2, 7, 80);
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[64];

	h.pipeline = 1;
	hs_start_greet(&h, &u, 3);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	hs_start_request(&h, &u, 3, HS_CMD_CONNECT, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK_EQ_INT(read(p.s, buf, sizeof(buf)), 13);
	CHECK_EQ_INT(write(p.s, "\x05\xff", 2), 2);
	close(p.s);
	p.s = -1;
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.hop, 3);
	CHECK_EQ_INT(f.stage, STAGE_GREET);
	CHECK_EQ_INT(f.kind, FAIL_AUTH);
	CHECK_EQ_INT(f.err, EACCES);
	close(p.c);
}

/* A login is never pipelined: the greeting goes alone and waits. */
static void
test_socks5_pipeline_not_with_login(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "alice", "s3cret");
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[16];

	h.pipeline = 1;
	hs_start_greet(&h, &u, 1);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK_EQ_INT(read(p.s, buf, sizeof(buf)), 4);
	CHECK_MEM(buf, "\x05\x02\x00\x02", 4);
	pair_close(&p);
}

/* BIND: two replies, the bound address then the peer that connected. */
static void
test_socks5_bind_two_replies(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = ip4(192, 0, 2, 7, 21);
	struct socks5_msg req, rep = { .code = SOCKS5_REP_SUCCEEDED };
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];
	size_t used;
	const char *why;
	ssize_t n;

	hs_start_request(&h, &u, 3, HS_CMD_BIND, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	n = read(p.s, buf, sizeof(buf));
	CHECK_EQ_INT(wire_dec_socks5_req(buf, (size_t)n, &req, &used, &why), WIRE_OK);
	CHECK_EQ_INT(req.code, SOCKS5_CMD_BIND);
	rep.addr = ip4(198, 51, 100, 1, 50001);
	n = wire_enc_socks5_rep(buf, sizeof(buf), &rep);
	CHECK_EQ_INT(write(p.s, buf, (size_t)n), n);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	/* The second reply: nothing yet, then the peer, split. */
	hs_start_reply2(&h);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	rep.addr = ip4(192, 0, 2, 7, 20);
	n = wire_enc_socks5_rep(buf, sizeof(buf), &rep);
	CHECK_EQ_INT(feed_bytewise(&h, &p, buf, (size_t)n, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	check_tunnel(p.c, "");
	pair_close(&p);
}

static void
test_socks5_second_reply_refused(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = ip4(192, 0, 2, 7, 21);
	struct socks5_msg rep = { .code = SOCKS5_REP_SUCCEEDED };
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];
	ssize_t n;

	hs_start_request(&h, &u, 1, HS_CMD_BIND, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK(read(p.s, buf, sizeof(buf)) > 0);
	rep.addr = ip4(198, 51, 100, 1, 50001);
	n = wire_enc_socks5_rep(buf, sizeof(buf), &rep);
	CHECK_EQ_INT(write(p.s, buf, (size_t)n), n);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	hs_start_reply2(&h);
	rep.code = SOCKS5_REP_TTL_EXPIRED;
	n = wire_enc_socks5_rep(buf, sizeof(buf), &rep);
	CHECK_EQ_INT(write(p.s, buf, (size_t)n), n);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.stage, STAGE_REPLY2);
	CHECK_EQ_INT(f.kind, FAIL_REFUSED);
	CHECK_EQ_INT(f.code, SOCKS5_REP_TTL_EXPIRED);
	CHECK_EQ_INT(f.err, ETIMEDOUT);
	pair_close(&p);
}

static void
test_socks5_refused_and_closed(void)
{
	struct proxy_url u = proxy(PROXY_SOCKS5, "", "");
	struct wire_addr dst = ip4(192, 0, 2, 9, 80);
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];

	{
		struct pair p = pair_new();
		hs_start_request(&h, &u, 1, HS_CMD_CONNECT, &dst);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
		CHECK(read(p.s, buf, sizeof(buf)) > 0);
		CHECK_EQ_INT(write(p.s, "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10), 10);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
		CHECK_EQ_INT(f.kind, FAIL_REFUSED);
		CHECK_EQ_INT(f.err, ECONNREFUSED);
		CHECK_EQ_INT(f.code, 5);
		pair_close(&p);
	}
	{
		/* Half a reply, then the proxy goes away. */
		struct pair p = pair_new();
		hs_start_request(&h, &u, 1, HS_CMD_CONNECT, &dst);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
		CHECK(read(p.s, buf, sizeof(buf)) > 0);
		CHECK_EQ_INT(write(p.s, "\x05\x00\x00", 3), 3);
		shutdown(p.s, SHUT_WR);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
		CHECK_EQ_INT(f.kind, FAIL_CLOSED);
		CHECK_EQ_INT(f.stage, STAGE_REPLY);
		CHECK_EQ_INT(f.err, ECONNREFUSED);
		pair_close(&p);
	}
	{
		struct pair p = pair_new();
		hs_start_request(&h, &u, 1, HS_CMD_CONNECT, &dst);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
		CHECK(read(p.s, buf, sizeof(buf)) > 0);
		CHECK_EQ_INT(write(p.s, "\x04\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10), 10);
		CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
		CHECK_EQ_INT(f.kind, FAIL_MALFORMED);
		CHECK_EQ_INT(f.err, EPROTO);
		pair_close(&p);
	}
}

/* SOCKS4 BIND: both 8-byte replies, each read exactly. */
static void
test_socks4_bind(void)
{
	struct pair p = pair_new();
	struct proxy_url u = proxy(PROXY_SOCKS4, "bob", "");
	struct wire_addr dst = ip4(192, 0, 2, 7, 21);
	struct socks4_req req;
	struct socks4_rep rep = { .code = SOCKS4_REP_GRANTED };
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[600];
	size_t used;
	const char *why;
	ssize_t n;

	hs_start_request(&h, &u, 1, HS_CMD_BIND, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	n = read(p.s, buf, sizeof(buf));
	CHECK_EQ_INT(wire_dec_socks4_req(buf, (size_t)n, &req, &used, &why), WIRE_OK);
	CHECK_EQ_INT(req.cmd, SOCKS4_CMD_BIND);
	CHECK_STR(req.user, "bob");
	rep.addr = ip4(198, 51, 100, 2, 50002);
	n = wire_enc_socks4_rep(buf, sizeof(buf), &rep);
	CHECK_EQ_INT(n, 8);
	CHECK_EQ_INT(feed_bytewise(&h, &p, buf, 8, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	hs_start_reply2(&h);
	rep.addr = ip4(192, 0, 2, 7, 20);
	n = wire_enc_socks4_rep(buf, sizeof(buf), &rep);
	memcpy(buf + n, "220 ", 4);
	CHECK_EQ_INT(write(p.s, buf, (size_t)n + 4), n + 4);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	CHECK(memcmp(&h.bnd, &rep.addr, sizeof(rep.addr)) == 0);
	check_tunnel(p.c, "220 ");
	pair_close(&p);
}

static void
test_socks4_cannot_carry(void)
{
	struct proxy_url u4 = proxy(PROXY_SOCKS4, "", "");
	struct wire_addr n = name("example.test", 80);
	struct sfy_fail f;
	struct hs h = { 0 };
	struct pair p = pair_new();

	hs_start_request(&h, &u4, 1, HS_CMD_CONNECT, &n);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.kind, FAIL_CARRY);
	CHECK_EQ_INT(f.err, EAFNOSUPPORT);
	hs_start_request(&h, &u4, 1, HS_CMD_UDP, &n);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.kind, FAIL_CARRY);
	pair_close(&p);
}

/* HTTP: the head is read up to its empty line and not one byte further,
 * however it arrives; BIND cannot be asked of an HTTP proxy. */
static void
test_http_connect(void)
{
	static const char head[] = "HTTP/1.1 200 Connection established\r\n"
	    "Proxy-Agent: test\r\n\r\n";
	struct proxy_url u = proxy(PROXY_HTTP, "carol", "pw");
	struct wire_addr dst = name("example.test", 443);
	struct http_connect_req req;
	struct sfy_fail f;
	struct hs h = { 0 };
	uint8_t buf[2048];
	size_t used;
	const char *why;
	ssize_t n;
	struct pair p = pair_new();

	hs_start_request(&h, &u, 2, HS_CMD_CONNECT, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	n = read(p.s, buf, sizeof(buf));
	CHECK_EQ_INT(wire_dec_http_connect(buf, (size_t)n, &req, &used, &why), WIRE_OK);
	CHECK_STR(req.user, "carol");
	CHECK_STR(req.pass, "pw");
	CHECK_STR(req.dst.u.name, "example.test");
	CHECK_EQ_INT(feed_bytewise(&h, &p, (const uint8_t *)head, 20, &f), HS_WANT_READ);
	CHECK_EQ_INT(write(p.s, head + 20, sizeof(head) - 21), (ssize_t)sizeof(head) - 21);
	CHECK_EQ_INT(write(p.s, "SSH-2.0", 7), 7);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_DONE);
	check_tunnel(p.c, "SSH-2.0");
	pair_close(&p);

	p = pair_new();
	hs_start_request(&h, &u, 2, HS_CMD_CONNECT, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_WANT_READ);
	CHECK(read(p.s, buf, sizeof(buf)) > 0);
	CHECK(write(p.s, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", 46) == 46);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.kind, FAIL_REFUSED);
	CHECK_EQ_INT(f.code, 407);
	CHECK_EQ_INT(f.err, EACCES);
	pair_close(&p);

	p = pair_new();
	hs_start_request(&h, &u, 2, HS_CMD_BIND, &dst);
	CHECK_EQ_INT(step(&h, p.c, &f), HS_FAILED);
	CHECK_EQ_INT(f.kind, FAIL_CARRY);
	CHECK_EQ_INT(f.err, EPROTONOSUPPORT);
	pair_close(&p);
}

CHECK_MAIN(
	CHECK_TEST(test_socks5_greet_login),
	CHECK_TEST(test_socks5_login_rejected),
	CHECK_TEST(test_socks5_connect_bnd),
	CHECK_TEST(test_socks5_pipelined),
	CHECK_TEST(test_socks5_pipelined_refused),
	CHECK_TEST(test_socks5_pipeline_not_with_login),
	CHECK_TEST(test_socks5_bind_two_replies),
	CHECK_TEST(test_socks5_second_reply_refused),
	CHECK_TEST(test_socks5_refused_and_closed),
	CHECK_TEST(test_socks4_bind),
	CHECK_TEST(test_socks4_cannot_carry),
	CHECK_TEST(test_http_connect),
)
