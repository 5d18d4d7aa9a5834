/* wire_http.c: HTTP CONNECT request and response heads (RFC 9110 9.3.6).
 *
 * Only what a tunnelling proxy needs: the request line, Host, and
 * Proxy-Authorization: Basic on the way out; the status code on the way
 * back.  Heads end at an empty line; bare LF line ends are tolerated.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socksify/addr.h"
#include "wire_int.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes the base64 of src into dst (room for 4*ceil(n/3)+1); returns
 * the length without the NUL. */
static size_t
b64_encode(char *dst, const uint8_t *src, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		dst[o++] = b64chars[src[i] >> 2];
		dst[o++] = b64chars[(src[i] & 3) << 4 | src[i + 1] >> 4];
		dst[o++] = b64chars[(src[i + 1] & 15) << 2 | src[i + 2] >> 6];
		dst[o++] = b64chars[src[i + 2] & 63];
	}
	if (i < n) {
		dst[o++] = b64chars[src[i] >> 2];
		if (i + 1 < n) {
			dst[o++] = b64chars[(src[i] & 3) << 4 | src[i + 1] >> 4];
			dst[o++] = b64chars[(src[i + 1] & 15) << 2];
		} else {
			dst[o++] = b64chars[(src[i] & 3) << 4];
			dst[o++] = '=';
		}
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

static int
b64_value(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

/* Decodes base64 of length n into dst (cap bytes); returns the decoded
 * length or -1. */
static ssize_t
b64_decode(uint8_t *dst, size_t cap, const char *src, size_t n)
{
	size_t i, o = 0;
	int v[4];

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (src[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_value(src[i + k])) < 0) {
				return -1;
			}
		}
		if (o + 3 - pad > cap)
			return -1;
		dst[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			dst[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			dst[o++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	return (ssize_t)o;
}

/* Finds the end of a head: returns the length including the empty line,
 * 0 when more bytes are needed, -1 when the head is too long. */
static ssize_t
head_len(const uint8_t *buf, size_t len)
{
	size_t lim = len < WIRE_HTTP_HEAD_MAX ? len : WIRE_HTTP_HEAD_MAX;

	for (size_t i = 0; i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n')
			return (ssize_t)i + 1;
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
			return (ssize_t)i + 1;
	}
	return len >= WIRE_HTTP_HEAD_MAX ? -1 : 0;
}

/* Returns the length of the line at p (without its CR LF or LF) and sets
 * *next to the start of the following line. */
static size_t
line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	if (nl == NULL) {
		*next = end;
		return (size_t)(end - p);
	}
	*next = nl + 1;
	n = (size_t)(nl - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

/* Appends to a caller's buffer; past cap it only counts, so the encoder
 * needs no buffer of its own (it runs on the small stacks of hooks). */
struct appender {
	uint8_t *buf;
	size_t cap, n;
};

static void
append(struct appender *a, const void *s, size_t n)
{
	if (a->n + n <= a->cap)
		memcpy(a->buf + a->n, s, n);
	a->n += n;
}

static void
append_str(struct appender *a, const char *s)
{
	append(a, s, strlen(s));
}

/* Base64 of bytes fed in pieces (user, ':', pass), without gathering them
 * in one buffer first. */
struct b64_stream {
	uint8_t q[3];
	unsigned nq;
};

static void
b64_feed(struct appender *a, struct b64_stream *st, const void *p, size_t n)
{
	const uint8_t *s = p;
	char out[5]; /* b64_encode ends with a NUL */

	for (size_t i = 0; i < n; i++) {
		st->q[st->nq++] = s[i];
		if (st->nq < 3)
			continue;
		b64_encode(out, st->q, 3);
		append(a, out, 4);
		st->nq = 0;
	}
}

static void
b64_end(struct appender *a, struct b64_stream *st)
{
	char out[5]; /* b64_encode ends with a NUL */

	if (st->nq == 0)
		return;
	b64_encode(out, st->q, st->nq);
	append(a, out, 4);
	st->nq = 0;
}

ssize_t
wire_enc_http_connect(uint8_t *buf, size_t cap, const struct http_connect_req *req)
{
	struct appender a = { .buf = buf, .cap = cap, .n = 0 };
	char host[ADDR_STRLEN];
	struct wire_addr check;
	const char *why;

	if (req->dst.type == WIRE_ATYP_NAME &&
	    !wire_name_ok(req->dst.u.name, req->dst.name_len))
		return -1;
	if (req->dst.type != WIRE_ATYP_NAME && req->dst.type != WIRE_ATYP_IPV4 &&
	    req->dst.type != WIRE_ATYP_IPV6)
		return -1;
	addr_format(host, sizeof(host), &req->dst);
	/* Send only what a decoder would take back: no spaces, no CR LF, no
	 * header smuggled in through a name. */
	if (addr_parse_hostport(host, false, &check, &why) != 0 ||
	    check.type != req->dst.type)
		return -1;
	append_str(&a, "CONNECT ");
	append_str(&a, host);
	append_str(&a, " HTTP/1.1\r\nHost: ");
	append_str(&a, host);
	append_str(&a, "\r\n");
	/* An empty user id with a password is still a login (":pass"). */
	if (req->user[0] != '\0' || req->pass[0] != '\0') {
		struct b64_stream st = { .nq = 0 };
		size_t ul = strnlen(req->user, sizeof(req->user));
		size_t pl = strnlen(req->pass, sizeof(req->pass));

		/* RFC 7617: a user id with a colon cannot be told apart. */
		if (memchr(req->user, ':', ul) != NULL || ul > WIRE_USER_MAX ||
		    pl > WIRE_USER_MAX)
			return -1;
		append_str(&a, "Proxy-Authorization: Basic ");
		b64_feed(&a, &st, req->user, ul);
		b64_feed(&a, &st, ":", 1);
		b64_feed(&a, &st, req->pass, pl);
		b64_end(&a, &st);
		append_str(&a, "\r\n");
	}
	append_str(&a, "\r\n");
	if (a.n > cap)
		return -1;
	return (ssize_t)a.n;
}

static int
parse_basic(const char *v, size_t vl, struct http_connect_req *req, const char **why)
{
	uint8_t raw[2 * WIRE_USER_MAX + 2];
	ssize_t rl;
	uint8_t *colon;

	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	if (vl < 6 || strncasecmp(v, "Basic ", 6) != 0)
		WIRE_FAIL(why, "Proxy-Authorization is not Basic");
	v += 6, vl -= 6;
	while (vl > 0 && v[vl - 1] == ' ')
		vl--;
	rl = b64_decode(raw, sizeof(raw), v, vl);
	if (rl < 0)
		WIRE_FAIL(why, "bad base64 in Proxy-Authorization");
	colon = memchr(raw, ':', (size_t)rl);
	if (colon == NULL || memchr(raw, '\0', (size_t)rl) != NULL)
		WIRE_FAIL(why, "bad credentials in Proxy-Authorization");
	if (colon - raw > WIRE_USER_MAX || raw + rl - colon - 1 > WIRE_USER_MAX)
		WIRE_FAIL(why, "credentials too long");
	memcpy(req->user, raw, (size_t)(colon - raw));
	req->user[colon - raw] = '\0';
	memcpy(req->pass, colon + 1, (size_t)(raw + rl - colon - 1));
	req->pass[raw + rl - colon - 1] = '\0';
	return WIRE_OK;
}

int
wire_dec_http_connect(const uint8_t *buf, size_t len, struct http_connect_req *req,
    size_t *used, const char **why)
{
	char authority[ADDR_STRLEN];
	const char *p, *end, *next, *sp;
	ssize_t hl = head_len(buf, len);
	size_t ll;

	if (hl < 0)
		WIRE_FAIL(why, "request head too long");
	if (hl == 0) {
		/* Fail early on something that cannot become a CONNECT. */
		size_t k = len < 8 ? len : 8;
		if (memcmp(buf, "CONNECT ", k) != 0)
			WIRE_FAIL(why, "not a CONNECT request");
		return WIRE_NEED_MORE;
	}
	memset(req, 0, sizeof(*req));
	p = (const char *)buf;
	end = p + hl;
	ll = line_at(p, end, &next);
	if (ll < 8 || memcmp(p, "CONNECT ", 8) != 0)
		WIRE_FAIL(why, "not a CONNECT request");
	p += 8, ll -= 8;
	sp = memchr(p, ' ', ll);
	if (sp == NULL || (size_t)(sp - p) >= sizeof(authority))
		WIRE_FAIL(why, "bad request line");
	if (ll - (size_t)(sp - p) - 1 != 8 || memcmp(sp + 1, "HTTP/1.", 7) != 0)
		WIRE_FAIL(why, "bad HTTP version");
	memcpy(authority, p, (size_t)(sp - p));
	authority[sp - p] = '\0';
	if (addr_parse_hostport(authority, false, &req->dst, why) != 0)
		return WIRE_MALFORMED;
	for (p = next; p < end; p = next) {
		const char *colon;
		ll = line_at(p, end, &next);
		if (ll == 0)
			break;
		colon = memchr(p, ':', ll);
		if (colon == NULL)
			WIRE_FAIL(why, "header line without a colon");
		if (colon - p == 19 && strncasecmp(p, "Proxy-Authorization", 19) == 0 &&
		    parse_basic(colon + 1, ll - (size_t)(colon - p) - 1, req, why) != WIRE_OK)
			return WIRE_MALFORMED;
	}
	*used = (size_t)hl;
	return WIRE_OK;
}

ssize_t
wire_enc_http_response(uint8_t *buf, size_t cap, int status, const char *reason)
{
	char head[WIRE_HTTP_HEAD_MAX];
	int n;

	if (status < 100 || status > 999)
		return -1;
	if (reason == NULL)
		reason = "";
	/* A reason phrase is text on one line (RFC 9112 4). */
	for (const char *p = reason; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -1;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n\r\n", status, reason);
	if (n < 0 || (size_t)n >= sizeof(head) || (size_t)n > cap)
		return -1;
	memcpy(buf, head, (size_t)n);
	return n;
}

int
wire_dec_http_response(const uint8_t *buf, size_t len, int *status,
    size_t *used, const char **why)
{
	static const char proto[] = "HTTP/1.";
	size_t k = len < 7 ? len : 7;
	ssize_t hl;

	if (memcmp(buf, proto, k) != 0)
		WIRE_FAIL(why, "response is not HTTP/1.x");
	hl = head_len(buf, len);
	if (hl < 0)
		WIRE_FAIL(why, "response head too long");
	if (hl == 0)
		return WIRE_NEED_MORE;
	/* "HTTP/1.x NNN" is 12 bytes; the head has at least a line end. */
	if (hl < 13 || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '9' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n'))
		WIRE_FAIL(why, "bad HTTP status line");
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	*used = (size_t)hl;
	return WIRE_OK;
}
