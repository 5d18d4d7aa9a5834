/* hs.c: the client side of one hop (SOCKS4, SOCKS4a, SOCKS5, HTTP), as a
 * state machine driven by readiness.
 *
 * Messages are built and parsed by the core codecs (wire.h); this file
 * moves bytes without ever blocking and turns answers into failures.  A
 * reply is read in stages: a fixed head, then exactly the tail the head
 * announces, so no tunnel byte is consumed.  HTTP heads have no length:
 * they are peeked at, and only the bytes up to the empty line are read.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum { OP_GREET = 1, OP_REQUEST, OP_REPLY2 };

/* Steps, in order, within an op. */
enum {
	ST_START = 0,
	ST_GREET_SEND, ST_GREET_RECV, ST_LOGIN_SEND, ST_LOGIN_RECV,
	ST_REQ_SEND, ST_REP_HEAD, ST_REP_TAIL, ST_HTTP_HEAD,
};

#define MORE 2 /* a sub-step finished: go on */

static void
fail_set(struct sfy_fail *f, const struct hs *h, enum fail_stage stage,
    enum fail_kind kind, int err, int code, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static void
fail_set(struct sfy_fail *f, const struct hs *h, enum fail_stage stage,
    enum fail_kind kind, int err, int code, const char *fmt, ...)
{
	va_list ap;

	f->hop = h->hop;
	f->stage = (uint8_t)stage;
	f->kind = (uint8_t)kind;
	f->err = err;
	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* The stage a step belongs to, for failures and logs. */
static enum fail_stage
stage_of(const struct hs *h)
{
	switch (h->step) {
	case ST_GREET_SEND:
	case ST_GREET_RECV:
		return STAGE_GREET;
	case ST_LOGIN_SEND:
	case ST_LOGIN_RECV:
		return STAGE_LOGIN;
	case ST_REQ_SEND:
		return STAGE_REQUEST;
	default:
		return h->op == OP_REPLY2 ? STAGE_REPLY2 : STAGE_REPLY;
	}
}

static const char *
cmd_name(uint8_t cmd)
{
	return cmd == HS_CMD_BIND ? "BIND" : cmd == HS_CMD_UDP ? "UDP ASSOCIATE" : "CONNECT";
}

/* "hop 2 (socks5://127.0.0.1:1080): greeting ok (method none)" at -vv. */
static void __attribute__((format(printf, 2, 3), noinline))
log_stage(const struct hs *h, const char *fmt, ...)
{
	char name[ADDR_STRLEN + 16], what[ADDR_STRLEN + 96];
	va_list ap;

	if (!log_enabled(CFG_LOG_DEBUG))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_msg(CFG_LOG_DEBUG, "hop %u (%s): %s", h->hop,
	    addr_format_proxy(name, sizeof(name), h->p), what);
}

static int
io_error(struct hs *h, struct sfy_fail *f, int e)
{
	enum fail_stage st = stage_of(h);

	if (e == EPIPE || e == ECONNRESET) {
		fail_set(f, h, st, FAIL_CLOSED, ECONNREFUSED, 0,
		    "proxy closed the connection during the %s", fail_stage_name(st));
		return HS_FAILED;
	}
	fail_set(f, h, st, FAIL_IO, e, 0, "%s during the %s", strerror(e),
	    fail_stage_name(st));
	return HS_FAILED;
}

static int
malformed(struct hs *h, struct sfy_fail *f, const char *why)
{
	fail_set(f, h, stage_of(h), FAIL_MALFORMED, EPROTO, 0, "malformed reply: %s", why);
	return HS_FAILED;
}

/* Loads an encoded message into buf for sending. */
static int
load(struct hs *h, struct sfy_fail *f, ssize_t n, int next)
{
	if (n < 0) {
		fail_set(f, h, STAGE_REQUEST, FAIL_CARRY, EINVAL, 0,
		    "the request does not fit the protocol");
		return HS_FAILED;
	}
	h->off = 0;
	h->len = (uint16_t)(h->pre + n);
	h->pre = 0;
	h->step = (uint8_t)next;
	return MORE;
}

/* Sends what is left of buf; MORE when all of it went. */
static int
send_rest(struct hs *h, int fd, struct sfy_fail *f)
{
	while (h->off < h->len) {
		ssize_t w = send(fd, h->buf + h->off, h->len - h->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			h->off += (uint16_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return HS_WANT_WRITE;
		return io_error(h, f, w < 0 ? errno : EPIPE);
	}
	/* What comes next is the proxy's answer, which cannot be there yet:
	 * wait for it before asking (saves a recv that says EAGAIN). */
	h->off = 0;
	h->await = 1;
	return MORE;
}

/* Reads until buf holds `need` bytes; MORE when it does. */
static int
recv_upto(struct hs *h, int fd, size_t need, struct sfy_fail *f)
{
	if (h->await) {
		h->await = 0;
		return HS_WANT_READ;
	}
	while (h->off < need) {
		ssize_t r = recv(fd, h->buf + h->off, need - h->off, MSG_DONTWAIT);

		if (r > 0) {
			h->off += (uint16_t)r;
			continue;
		}
		if (r == 0)
			return io_error(h, f, ECONNRESET);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return HS_WANT_READ;
		return io_error(h, f, errno);
	}
	return MORE;
}

/* ---- SOCKS5 ---- */

static int
greet_step(struct hs *h, int fd, struct sfy_fail *f)
{
	const char *w = "bad reply";
	uint8_t method, status;
	size_t used;
	bool login = h->p->user[0] != '\0';
	int r;

	switch (h->step) {
	case ST_START: {
		struct socks5_greeting *g = &h->msg.greeting;

		if (h->p->type != PROXY_SOCKS5)
			return HS_DONE;
		g->nmethods = 0;
		g->methods[g->nmethods++] = SOCKS5_METHOD_NONE;
		if (login)
			g->methods[g->nmethods++] = SOCKS5_METHOD_USERPASS;
		if (h->pipeline && !login) {
			/* Only "none" is offered, so the choice cannot
			 * change what comes next: the greeting waits in buf
			 * for the request and both go in one write. */
			ssize_t n = wire_enc_socks5_greeting(h->buf, sizeof(h->buf), g);

			if (n < 0)
				return malformed(h, f, "greeting does not encode");
			h->pre = (uint8_t)n;
			h->choice = 1;
			return HS_DONE;
		}
		return load(h, f, wire_enc_socks5_greeting(h->buf, sizeof(h->buf), g),
		    ST_GREET_SEND);
	}
	case ST_GREET_SEND:
		if ((r = send_rest(h, fd, f)) != MORE)
			return r;
		h->step = ST_GREET_RECV;
		return MORE;
	case ST_GREET_RECV:
		if ((r = recv_upto(h, fd, 2, f)) != MORE)
			return r;
		if (wire_dec_socks5_choice(h->buf, 2, &method, &used, &w) != WIRE_OK)
			return malformed(h, f, w);
		if (method == SOCKS5_METHOD_UNACCEPTABLE) {
			fail_set(f, h, STAGE_GREET, FAIL_AUTH, EACCES, method, login ?
			    "authentication rejected: no acceptable method" :
			    "proxy requires authentication (no acceptable method)");
			return HS_FAILED;
		}
		if (method == SOCKS5_METHOD_NONE) {
			log_stage(h, "greeting ok (method none)");
			return HS_DONE;
		}
		if (method != SOCKS5_METHOD_USERPASS || !login)
			return malformed(h, f, "proxy chose a method that was not offered");
		log_stage(h, "greeting ok (method user/pass)");
		{
			struct socks5_auth *a = &h->msg.auth;

			memset(a, 0, sizeof(*a));
			memcpy(a->user, h->p->user, sizeof(a->user));
			memcpy(a->pass, h->p->pass, sizeof(a->pass));
			r = load(h, f, wire_enc_socks5_auth(h->buf, sizeof(h->buf), a),
			    ST_LOGIN_SEND);
			memset(a, 0, sizeof(*a));
			return r;
		}
	case ST_LOGIN_SEND:
		r = send_rest(h, fd, f);
		if (r != MORE)
			return r;
		/* The password leaves no copy behind. */
		memset(h->buf, 0, h->len);
		h->step = ST_LOGIN_RECV;
		return MORE;
	case ST_LOGIN_RECV:
		if ((r = recv_upto(h, fd, 2, f)) != MORE)
			return r;
		if (wire_dec_socks5_auth_rep(h->buf, 2, &status, &used, &w) != WIRE_OK)
			return malformed(h, f, w);
		if (status != SOCKS5_AUTH_OK) {
			fail_set(f, h, STAGE_LOGIN, FAIL_AUTH, EACCES, status,
			    "authentication rejected (user '%.48s')", h->p->user);
			return HS_FAILED;
		}
		log_stage(h, "login ok");
		return HS_DONE;
	}
	return malformed(h, f, "handshake out of step");
}

/* The method choice that comes before a pipelined request's reply: it
 * must be "none", the one method offered. */
static int
pipelined_choice(struct hs *h, struct sfy_fail *f)
{
	const char *w = "bad reply";
	uint8_t method;
	size_t used;

	if (wire_dec_socks5_choice(h->buf, 2, &method, &used, &w) != WIRE_OK)
		return malformed(h, f, w);
	if (method == SOCKS5_METHOD_UNACCEPTABLE) {
		fail_set(f, h, STAGE_GREET, FAIL_AUTH, EACCES, method,
		    "proxy requires authentication (no acceptable method)");
		return HS_FAILED;
	}
	if (method != SOCKS5_METHOD_NONE)
		return malformed(h, f, "proxy chose a method that was not offered");
	log_stage(h, "greeting ok (method none, sent with the request)");
	h->choice = 0;
	h->off -= 2;
	memmove(h->buf, h->buf + 2, h->off);
	return MORE;
}

/* The SOCKS5 reply: VER REP RSV ATYP and the first address byte (a
 * name's length), then the tail that announces.  After a pipelined
 * greeting the method choice comes first: 2 + 5 bytes are read at once. */
static int
socks5_reply(struct hs *h, int fd, struct sfy_fail *f)
{
	struct socks5_msg *m = &h->msg.s5;
	const char *w = "bad reply";
	size_t used, tail;
	int r;

	if (h->step == ST_REP_HEAD) {
		r = recv_upto(h, fd, h->choice ? 2 + 5 : 5, f);
		/* The choice is looked at as soon as it is in: a proxy that
		 * refuses the method says so and closes (or waits), and its
		 * choice explains the failure better than the close. */
		if (h->choice && h->off >= 2) {
			int c = pipelined_choice(h, f);

			if (c != MORE)
				return c;
		}
		if (r != MORE)
			return r;
		if (h->buf[0] != SOCKS5_VERSION)
			return malformed(h, f, "SOCKS5 reply with a wrong version");
		if (h->buf[1] != SOCKS5_REP_SUCCEEDED) {
			/* The proxy closes after a failure; the address
			 * that follows carries nothing we need. */
			fail_set(f, h, stage_of(h), FAIL_REFUSED, socks5_rep_errno(h->buf[1]),
			    h->buf[1], "proxy refused: %s (0x%02x)", socks5_strerror(h->buf[1]),
			    h->buf[1]);
			return HS_FAILED;
		}
		h->step = ST_REP_TAIL;
	}
	switch (h->buf[3]) {
	case WIRE_ATYP_IPV4:
		tail = 4 - 1 + 2;
		break;
	case WIRE_ATYP_IPV6:
		tail = 16 - 1 + 2;
		break;
	case WIRE_ATYP_NAME:
		tail = (size_t)h->buf[4] + 2;
		break;
	default:
		return malformed(h, f, "SOCKS5 reply with an unknown address type");
	}
	if ((r = recv_upto(h, fd, 5 + tail, f)) != MORE)
		return r;
	if (wire_dec_socks5_rep(h->buf, 5 + tail, m, &used, &w) != WIRE_OK ||
	    used != 5 + tail)
		return malformed(h, f, w);
	h->bnd = m->addr;
	return HS_DONE;
}

static int
socks4_reply(struct hs *h, int fd, struct sfy_fail *f)
{
	struct socks4_rep *rep = &h->msg.s4rep;
	const char *w = "bad reply";
	size_t used;
	int r;

	if ((r = recv_upto(h, fd, 8, f)) != MORE)
		return r;
	if (wire_dec_socks4_rep(h->buf, 8, rep, &used, &w) != WIRE_OK)
		return malformed(h, f, w);
	if (rep->code != SOCKS4_REP_GRANTED) {
		fail_set(f, h, stage_of(h), FAIL_REFUSED, socks4_rep_errno(rep->code), rep->code,
		    "proxy refused: %s (%u)", socks4_strerror(rep->code), rep->code);
		return HS_FAILED;
	}
	h->bnd = rep->addr;
	return HS_DONE;
}

/* The end of an HTTP head: an empty line, "\r\n\r\n" or a bare "\n\n". */
static size_t
head_end(const uint8_t *buf, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++) {
		if (buf[i] != '\n' || i == 0)
			continue;
		if (buf[i - 1] == '\n')
			return i + 1;
		if (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Peeks at what has arrived and consumes exactly the head's bytes.  Peeked
 * bytes without the end of the head are all head bytes, so they are
 * consumed at once and the next wait is for new data. */
static int
http_head(struct hs *h, int fd, struct sfy_fail *f)
{
	const size_t cap = WIRE_HTTP_HEAD_MAX;

	if (h->await) {
		h->await = 0;
		return HS_WANT_READ;
	}
	for (;;) {
		size_t from = h->off > 2 ? h->off - 2u : 0, end, take;
		ssize_t r;

		if (h->off >= cap)
			return malformed(h, f, "HTTP response head too long");
		r = recv(fd, h->buf + h->off, cap - h->off, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0)
			return io_error(h, f, ECONNRESET);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return HS_WANT_READ;
			return io_error(h, f, errno);
		}
		end = head_end(h->buf, from, h->off + (size_t)r);
		take = end ? end - h->off : (size_t)r;
		/* The bytes are there: this read cannot block or fall short. */
		r = recv(fd, h->buf + h->off, take, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return io_error(h, f, r < 0 ? errno : ECONNRESET);
		h->off += (uint16_t)r;
		if (end && (size_t)r == take)
			return MORE;
	}
}

static int
http_reply(struct hs *h, int fd, struct sfy_fail *f)
{
	const char *w = "bad reply", *sp;
	size_t used, sl;
	int status, r;

	if ((r = http_head(h, fd, f)) != MORE)
		return r;
	if (wire_dec_http_response(h->buf, h->off, &status, &used, &w) != WIRE_OK)
		return malformed(h, f, w);
	if (status >= 200 && status <= 299) {
		memset(&h->bnd, 0, sizeof(h->bnd)); /* HTTP says nothing of it */
		return HS_DONE;
	}
	/* "HTTP/1.1 403 Forbidden" -> "403 Forbidden" for the log. */
	sl = strcspn((const char *)h->buf, "\r\n");
	h->buf[sl] = '\0';
	sp = strchr((const char *)h->buf, ' ');
	fail_set(f, h, STAGE_REPLY, FAIL_REFUSED, http_status_errno(status), status,
	    "proxy refused: %.80s", sp ? sp + 1 : (const char *)h->buf);
	return HS_FAILED;
}

/* Out of line: its buffers stay off the stack unless -vv asks for them. */
static __attribute__((noinline)) void
log_reply(const struct hs *h)
{
	char t[ADDR_STRLEN], b[ADDR_STRLEN];

	addr_format(t, sizeof(t), &h->target);
	if (h->p->type == PROXY_HTTP)
		log_stage(h, "%s %s ok", cmd_name(h->cmd), t);
	else
		log_stage(h, "%s %s ok (%s %s)", cmd_name(h->cmd), t,
		    h->op == OP_REPLY2 ? "peer" : "bound", addr_format(b, sizeof(b), &h->bnd));
}

static int
request_load(struct hs *h, struct sfy_fail *f)
{
	const struct proxy_url *p = h->p;

	switch (p->type) {
	case PROXY_SOCKS5:
		h->msg.s5.code = h->cmd;
		h->msg.s5.addr = h->target;
		return load(h, f, wire_enc_socks5_req(h->buf + h->pre,
		    sizeof(h->buf) - h->pre, &h->msg.s5),
		    ST_REQ_SEND);
	case PROXY_SOCKS4:
	case PROXY_SOCKS4A: {
		struct socks4_req *r = &h->msg.s4;

		if (h->cmd == HS_CMD_UDP || h->target.type == WIRE_ATYP_IPV6 ||
		    (h->target.type == WIRE_ATYP_NAME && p->type != PROXY_SOCKS4A)) {
			fail_set(f, h, STAGE_REQUEST, FAIL_CARRY, EAFNOSUPPORT, 0, "%s cannot carry %s",
			    addr_proxy_type_name(p->type), h->cmd == HS_CMD_UDP ? "UDP" :
			    h->target.type == WIRE_ATYP_IPV6 ? "an IPv6 address" :
			    "a host name (use socks4a)");
			return HS_FAILED;
		}
		memset(r, 0, sizeof(*r));
		r->cmd = h->cmd == HS_CMD_BIND ? SOCKS4_CMD_BIND : SOCKS4_CMD_CONNECT;
		r->dst = h->target;
		memcpy(r->user, p->user, sizeof(r->user));
		return load(h, f, wire_enc_socks4_req(h->buf, sizeof(h->buf), r), ST_REQ_SEND);
	}
	case PROXY_HTTP: {
		struct http_connect_req *r = &h->msg.http;
		int rc;

		if (h->cmd != HS_CMD_CONNECT) {
			fail_set(f, h, STAGE_REQUEST, FAIL_CARRY, EPROTONOSUPPORT, 0,
			    "HTTP CONNECT cannot carry %s", cmd_name(h->cmd));
			return HS_FAILED;
		}
		memset(r, 0, sizeof(*r));
		r->dst = h->target;
		memcpy(r->user, p->user, sizeof(r->user));
		memcpy(r->pass, p->pass, sizeof(r->pass));
		rc = load(h, f, wire_enc_http_connect(h->buf, sizeof(h->buf), r), ST_REQ_SEND);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	}
	fail_set(f, h, STAGE_REQUEST, FAIL_LOCAL, EINVAL, 0, "unknown proxy type");
	return HS_FAILED;
}

static int
request_step(struct hs *h, int fd, struct sfy_fail *f)
{
	int r;

	switch (h->step) {
	case ST_START:
		return request_load(h, f);
	case ST_REQ_SEND:
		if ((r = send_rest(h, fd, f)) != MORE)
			return r;
		/* A request may hold a password (HTTP Basic). */
		memset(h->buf, 0, h->len);
		h->step = h->p->type == PROXY_HTTP ? ST_HTTP_HEAD : ST_REP_HEAD;
		return MORE;
	case ST_HTTP_HEAD:
		r = http_reply(h, fd, f);
		break;
	case ST_REP_HEAD:
	case ST_REP_TAIL:
		r = h->p->type == PROXY_SOCKS5 ? socks5_reply(h, fd, f) : socks4_reply(h, fd, f);
		break;
	default:
		return malformed(h, f, "handshake out of step");
	}
	if (r == HS_DONE && log_enabled(CFG_LOG_DEBUG))
		log_reply(h);
	return r;
}

/* A greeting waiting in buf (h->pre) stays there for the request. */
static void
start(struct hs *h, const struct proxy_url *p, unsigned hop, uint8_t op)
{
	h->p = p;
	h->hop = (uint8_t)hop;
	h->op = op;
	h->step = ST_START;
	h->await = 0;
	h->off = h->len = 0;
}

void
hs_start_greet(struct hs *h, const struct proxy_url *p, unsigned hop)
{
	start(h, p, hop, OP_GREET);
	h->pre = h->choice = 0;
}

void
hs_start_request(struct hs *h, const struct proxy_url *p, unsigned hop, enum hs_cmd cmd,
    const struct wire_addr *target)
{
	start(h, p, hop, OP_REQUEST);
	h->cmd = (uint8_t)cmd;
	h->target = *target;
	memset(&h->bnd, 0, sizeof(h->bnd));
}

void
hs_start_reply2(struct hs *h)
{
	h->op = OP_REPLY2;
	h->step = ST_REP_HEAD;
	h->await = 1;
	h->off = h->len = 0;
}

int
hs_step(struct hs *h, int fd, struct sfy_fail *f)
{
	int r;

	do {
		r = h->op == OP_GREET ? greet_step(h, fd, f) : request_step(h, fd, f);
	} while (r == MORE);
	return r;
}

void
hs_timed_out(const struct hs *h, struct sfy_fail *f)
{
	enum fail_stage st = stage_of(h);

	fail_set(f, h, st, FAIL_IO, ETIMEDOUT, 0, "timed out during the %s",
	    fail_stage_name(st));
}
