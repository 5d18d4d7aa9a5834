/* wire_socks5.c: SOCKS5 (RFC 1928) and RFC 1929 codecs, and the UDP header. */
#include <string.h>

#include "wire_int.h"

int
wire_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > WIRE_NAME_MAX)
		return 0;
	return memchr(name, '\0', len) == NULL;
}

ssize_t
wire_addr5_len(const struct wire_addr *a)
{
	switch (a->type) {
	case WIRE_ATYP_IPV4:
		return 1 + 4 + 2;
	case WIRE_ATYP_IPV6:
		return 1 + 16 + 2;
	case WIRE_ATYP_NAME:
		if (!wire_name_ok(a->u.name, a->name_len))
			return -1;
		return 1 + 1 + a->name_len + 2;
	default:
		return -1;
	}
}

size_t
wire_put_addr5(uint8_t *p, const struct wire_addr *a)
{
	size_t n = 0;

	p[n++] = a->type;
	switch (a->type) {
	case WIRE_ATYP_IPV4:
		memcpy(p + n, a->u.ip4, 4);
		n += 4;
		break;
	case WIRE_ATYP_IPV6:
		memcpy(p + n, a->u.ip6, 16);
		n += 16;
		break;
	default:
		p[n++] = a->name_len;
		memcpy(p + n, a->u.name, a->name_len);
		n += a->name_len;
		break;
	}
	wire_put16(p + n, a->port);
	return n + 2;
}

int
wire_get_addr5(const uint8_t *buf, size_t len, struct wire_addr *a,
    size_t *used, const char **why)
{
	size_t need;

	if (len < 1)
		return WIRE_NEED_MORE;
	memset(a, 0, sizeof(*a));
	a->type = buf[0];
	switch (a->type) {
	case WIRE_ATYP_IPV4:
		need = 1 + 4 + 2;
		if (len < need)
			return WIRE_NEED_MORE;
		memcpy(a->u.ip4, buf + 1, 4);
		break;
	case WIRE_ATYP_IPV6:
		need = 1 + 16 + 2;
		if (len < need)
			return WIRE_NEED_MORE;
		memcpy(a->u.ip6, buf + 1, 16);
		break;
	case WIRE_ATYP_NAME:
		if (len < 2)
			return WIRE_NEED_MORE;
		if (buf[1] == 0)
			WIRE_FAIL(why, "empty domain name");
		need = 2 + (size_t)buf[1] + 2;
		if (len < need)
			return WIRE_NEED_MORE;
		if (memchr(buf + 2, '\0', buf[1]) != NULL)
			WIRE_FAIL(why, "NUL byte inside domain name");
		a->name_len = buf[1];
		memcpy(a->u.name, buf + 2, a->name_len);
		a->u.name[a->name_len] = '\0';
		break;
	default:
		WIRE_FAIL(why, "unknown address type");
	}
	a->port = wire_get16(buf + need - 2);
	*used = need;
	return WIRE_OK;
}

ssize_t
wire_enc_socks5_greeting(uint8_t *buf, size_t cap, const struct socks5_greeting *g)
{
	size_t n = 2 + (size_t)g->nmethods;

	if (g->nmethods == 0 || cap < n)
		return -1;
	buf[0] = SOCKS5_VERSION;
	buf[1] = g->nmethods;
	memcpy(buf + 2, g->methods, g->nmethods);
	return (ssize_t)n;
}

int
wire_dec_socks5_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *g,
    size_t *used, const char **why)
{
	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		WIRE_FAIL(why, "not SOCKS version 5");
	if (len < 2)
		return WIRE_NEED_MORE;
	if (buf[1] == 0)
		WIRE_FAIL(why, "greeting offers no methods");
	if (len < 2 + (size_t)buf[1])
		return WIRE_NEED_MORE;
	g->nmethods = buf[1];
	memcpy(g->methods, buf + 2, g->nmethods);
	*used = 2 + (size_t)g->nmethods;
	return WIRE_OK;
}

ssize_t
wire_enc_socks5_choice(uint8_t *buf, size_t cap, uint8_t method)
{
	if (cap < 2)
		return -1;
	buf[0] = SOCKS5_VERSION;
	buf[1] = method;
	return 2;
}

int
wire_dec_socks5_choice(const uint8_t *buf, size_t len, uint8_t *method,
    size_t *used, const char **why)
{
	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		WIRE_FAIL(why, "method reply is not SOCKS version 5");
	if (len < 2)
		return WIRE_NEED_MORE;
	*method = buf[1];
	*used = 2;
	return WIRE_OK;
}

ssize_t
wire_enc_socks5_auth(uint8_t *buf, size_t cap, const struct socks5_auth *a)
{
	size_t ul = strnlen(a->user, sizeof(a->user));
	size_t pl = strnlen(a->pass, sizeof(a->pass));
	size_t n = 3 + ul + pl;

	if (ul == 0 || ul > WIRE_USER_MAX || pl > WIRE_USER_MAX || cap < n)
		return -1;
	buf[0] = SOCKS5_AUTH_VERSION;
	buf[1] = (uint8_t)ul;
	memcpy(buf + 2, a->user, ul);
	buf[2 + ul] = (uint8_t)pl;
	memcpy(buf + 3 + ul, a->pass, pl);
	return (ssize_t)n;
}

int
wire_dec_socks5_auth(const uint8_t *buf, size_t len, struct socks5_auth *a,
    size_t *used, const char **why)
{
	size_t ul, pl;

	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS5_AUTH_VERSION)
		WIRE_FAIL(why, "not username/password version 1");
	if (len < 2)
		return WIRE_NEED_MORE;
	ul = buf[1];
	if (ul == 0)
		WIRE_FAIL(why, "empty user name");
	if (len < 3 + ul)
		return WIRE_NEED_MORE;
	pl = buf[2 + ul];
	if (len < 3 + ul + pl)
		return WIRE_NEED_MORE;
	if (memchr(buf + 2, '\0', ul) != NULL || memchr(buf + 3 + ul, '\0', pl) != NULL)
		WIRE_FAIL(why, "NUL byte inside user name or password");
	memcpy(a->user, buf + 2, ul);
	a->user[ul] = '\0';
	memcpy(a->pass, buf + 3 + ul, pl);
	a->pass[pl] = '\0';
	*used = 3 + ul + pl;
	return WIRE_OK;
}

ssize_t
wire_enc_socks5_auth_rep(uint8_t *buf, size_t cap, uint8_t status)
{
	if (cap < 2)
		return -1;
	buf[0] = SOCKS5_AUTH_VERSION;
	buf[1] = status;
	return 2;
}

int
wire_dec_socks5_auth_rep(const uint8_t *buf, size_t len, uint8_t *status,
    size_t *used, const char **why)
{
	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS5_AUTH_VERSION)
		WIRE_FAIL(why, "auth reply is not version 1");
	if (len < 2)
		return WIRE_NEED_MORE;
	*status = buf[1];
	*used = 2;
	return WIRE_OK;
}

static ssize_t
enc_msg(uint8_t *buf, size_t cap, const struct socks5_msg *m)
{
	ssize_t al = wire_addr5_len(&m->addr);

	if (al < 0 || cap < 3 + (size_t)al)
		return -1;
	buf[0] = SOCKS5_VERSION;
	buf[1] = m->code;
	buf[2] = 0;
	return 3 + (ssize_t)wire_put_addr5(buf + 3, &m->addr);
}

static int
dec_msg(const uint8_t *buf, size_t len, struct socks5_msg *m, size_t *used,
    const char **why, const char *badver)
{
	size_t al;
	int rc;

	if (len < 1)
		return WIRE_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		WIRE_FAIL(why, badver);
	if (len < 3)
		return WIRE_NEED_MORE;
	if (buf[2] != 0)
		WIRE_FAIL(why, "reserved byte is not zero");
	rc = wire_get_addr5(buf + 3, len - 3, &m->addr, &al, why);
	if (rc != WIRE_OK)
		return rc;
	m->code = buf[1];
	*used = 3 + al;
	return WIRE_OK;
}

ssize_t
wire_enc_socks5_req(uint8_t *buf, size_t cap, const struct socks5_msg *req)
{
	return enc_msg(buf, cap, req);
}

int
wire_dec_socks5_req(const uint8_t *buf, size_t len, struct socks5_msg *req,
    size_t *used, const char **why)
{
	return dec_msg(buf, len, req, used, why, "request is not SOCKS version 5");
}

ssize_t
wire_enc_socks5_rep(uint8_t *buf, size_t cap, const struct socks5_msg *rep)
{
	return enc_msg(buf, cap, rep);
}

int
wire_dec_socks5_rep(const uint8_t *buf, size_t len, struct socks5_msg *rep,
    size_t *used, const char **why)
{
	return dec_msg(buf, len, rep, used, why, "reply is not SOCKS version 5");
}

ssize_t
wire_enc_socks5_udp(uint8_t *buf, size_t cap, const struct socks5_udp *h)
{
	ssize_t al = wire_addr5_len(&h->addr);

	if (al < 0 || cap < 3 + (size_t)al)
		return -1;
	buf[0] = 0;
	buf[1] = 0;
	buf[2] = h->frag;
	return 3 + (ssize_t)wire_put_addr5(buf + 3, &h->addr);
}

int
wire_dec_socks5_udp(const uint8_t *buf, size_t len, struct socks5_udp *h,
    size_t *used, const char **why)
{
	size_t al;
	int rc;

	/* A datagram is whole: anything short is broken, never "more to come". */
	if (len < 4)
		WIRE_FAIL(why, "datagram shorter than the UDP header");
	if (buf[0] != 0 || buf[1] != 0)
		WIRE_FAIL(why, "reserved bytes are not zero");
	rc = wire_get_addr5(buf + 3, len - 3, &h->addr, &al, why);
	if (rc == WIRE_NEED_MORE)
		WIRE_FAIL(why, "datagram shorter than its address");
	if (rc != WIRE_OK)
		return rc;
	h->frag = buf[2];
	*used = 3 + al;
	return WIRE_OK;
}
