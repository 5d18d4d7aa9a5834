/* wire_socks4.c: SOCKS4 and SOCKS4a request and reply codecs.
 *
 * Request: VN=4 CD DSTPORT(2) DSTIP(4) USERID NUL [HOSTNAME NUL]; SOCKS4a
 * marks a name with DSTIP 0.0.0.x, x != 0.  Reply: VN=0 CD DSTPORT DSTIP.
 */
#include <string.h>

#include "wire_int.h"

/* Finds the NUL ending a string that starts at buf[off], looking at no more
 * than max bytes of it.  Returns the string length, -1 when more bytes are
 * needed, -2 when the string is longer than max. */
static ssize_t
find_nul(const uint8_t *buf, size_t len, size_t off, size_t max)
{
	size_t avail = len - off;
	size_t look = avail < max + 1 ? avail : max + 1;
	const uint8_t *z = memchr(buf + off, '\0', look);

	if (z != NULL)
		return z - (buf + off);
	return avail > max ? -2 : -1;
}

static int
is_socks4a(const uint8_t ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0;
}

ssize_t
wire_enc_socks4_req(uint8_t *buf, size_t cap, const struct socks4_req *req)
{
	size_t ul = strnlen(req->user, sizeof(req->user));
	size_t n = 8 + ul + 1;

	if (ul > WIRE_USER_MAX)
		return -1;
	if (req->dst.type == WIRE_ATYP_NAME) {
		if (!wire_name_ok(req->dst.u.name, req->dst.name_len))
			return -1;
		n += req->dst.name_len + 1;
	} else if (req->dst.type != WIRE_ATYP_IPV4) {
		return -1;
	}
	if (cap < n)
		return -1;
	buf[0] = SOCKS4_VERSION;
	buf[1] = req->cmd;
	wire_put16(buf + 2, req->dst.port);
	if (req->dst.type == WIRE_ATYP_NAME) {
		static const uint8_t marker[4] = { 0, 0, 0, 1 };
		memcpy(buf + 4, marker, 4);
	} else {
		memcpy(buf + 4, req->dst.u.ip4, 4);
	}
	memcpy(buf + 8, req->user, ul);
	buf[8 + ul] = '\0';
	if (req->dst.type == WIRE_ATYP_NAME) {
		memcpy(buf + 9 + ul, req->dst.u.name, req->dst.name_len);
		buf[9 + ul + req->dst.name_len] = '\0';
	}
	return (ssize_t)n;
}

int
wire_dec_socks4_req(const uint8_t *buf, size_t len, struct socks4_req *req,
    size_t *used, const char **why)
{
	ssize_t ul, nl;
	size_t off;

	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS4_VERSION)
		WIRE_FAIL(why, "not SOCKS version 4");
	if (len < 8)
		return WIRE_NEED_MORE;
	ul = find_nul(buf, len, 8, WIRE_USER_MAX);
	if (ul == -2)
		WIRE_FAIL(why, "user id too long");
	if (ul < 0)
		return WIRE_NEED_MORE;
	off = 8 + (size_t)ul + 1;
	memset(&req->dst, 0, sizeof(req->dst));
	if (is_socks4a(buf + 4)) {
		nl = find_nul(buf, len, off, WIRE_NAME_MAX);
		if (nl == -2)
			WIRE_FAIL(why, "host name too long");
		if (nl < 0)
			return WIRE_NEED_MORE;
		if (nl == 0)
			WIRE_FAIL(why, "empty host name");
		req->dst.type = WIRE_ATYP_NAME;
		req->dst.name_len = (uint8_t)nl;
		memcpy(req->dst.u.name, buf + off, (size_t)nl + 1);
		off += (size_t)nl + 1;
	} else {
		req->dst.type = WIRE_ATYP_IPV4;
		memcpy(req->dst.u.ip4, buf + 4, 4);
	}
	req->cmd = buf[1];
	req->dst.port = wire_get16(buf + 2);
	memcpy(req->user, buf + 8, (size_t)ul + 1);
	*used = off;
	return WIRE_OK;
}

ssize_t
wire_enc_socks4_rep(uint8_t *buf, size_t cap, const struct socks4_rep *rep)
{
	if (cap < 8)
		return -1;
	buf[0] = 0;
	buf[1] = rep->code;
	wire_put16(buf + 2, rep->addr.port);
	if (rep->addr.type == WIRE_ATYP_IPV4)
		memcpy(buf + 4, rep->addr.u.ip4, 4);
	else
		memset(buf + 4, 0, 4);
	return 8;
}

int
wire_dec_socks4_rep(const uint8_t *buf, size_t len, struct socks4_rep *rep,
    size_t *used, const char **why)
{
	if (len < 1)
		return WIRE_NEED_MORE;
	/* Some servers echo 4 in VN; the protocol says 0.  Accept both. */
	if (buf[0] != 0 && buf[0] != SOCKS4_VERSION)
		WIRE_FAIL(why, "reply version is neither 0 nor 4");
	if (len < 8)
		return WIRE_NEED_MORE;
	if (buf[1] < SOCKS4_REP_GRANTED || buf[1] > SOCKS4_REP_IDENT_MISMATCH)
		WIRE_FAIL(why, "unknown SOCKS4 reply code");
	memset(&rep->addr, 0, sizeof(rep->addr));
	rep->code = buf[1];
	rep->addr.type = WIRE_ATYP_IPV4;
	rep->addr.port = wire_get16(buf + 2);
	memcpy(rep->addr.u.ip4, buf + 4, 4);
	*used = 8;
	return WIRE_OK;
}
