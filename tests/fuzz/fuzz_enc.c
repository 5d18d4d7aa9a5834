/* fuzz_enc.c: the encoders, fed arbitrary names, user ids, passwords and
 * reason phrases.  Whatever an encoder agrees to write must decode back to
 * the same fields: an encoder that writes what the other side reads
 * differently (a NUL that cuts a name, a CR LF that starts a new header, a
 * ':' inside a Basic user id) must refuse instead.
 */
#include "fuzz_util.h"

static uint8_t out[2 * WIRE_HTTP_HEAD_MAX];

/* A name field: the input bytes as they are (name_len = size, so a NUL
 * inside is kept for the encoder to notice). */
static bool make_name(struct wire_addr *a, const uint8_t *data, size_t size)
{
	memset(a, 0, sizeof(*a));
	if (size < 1 || size > WIRE_NAME_MAX)
		return false;
	a->type = WIRE_ATYP_NAME;
	a->name_len = (uint8_t)size;
	a->port = 443;
	memcpy(a->u.name, data, size);
	return true;
}

static void enc_socks4(const struct wire_addr *name, const char *str)
{
	struct socks4_req r, r2;
	size_t used = 0;
	const char *why = NULL;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.cmd = SOCKS4_CMD_CONNECT;
	r.dst = *name;
	strcpy(r.user, str);
	n = wire_enc_socks4_req(out, sizeof(out), &r);
	if (n <= 0)
		return;
	FUZZ_ASSERT(wire_dec_socks4_req(out, (size_t)n, &r2, &used, &why) == WIRE_OK);
	FUZZ_ASSERT(used == (size_t)n);
	FUZZ_ASSERT(fuzz_wa_eq(&r2.dst, &r.dst));
	FUZZ_ASSERT(strcmp(r2.user, r.user) == 0);
}

static void enc_socks5(const struct wire_addr *name, const char *str)
{
	struct socks5_msg m, m2;
	struct socks5_auth a, a2;
	struct socks5_udp u, u2;
	size_t used = 0;
	const char *why = NULL;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.code = SOCKS5_CMD_CONNECT;
	m.addr = *name;
	n = wire_enc_socks5_req(out, sizeof(out), &m);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_socks5_req(out, (size_t)n, &m2, &used, &why) == WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n && fuzz_wa_eq(&m2.addr, &m.addr));
	}

	memset(&u, 0, sizeof(u));
	u.addr = *name;
	n = wire_enc_socks5_udp(out, sizeof(out), &u);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_socks5_udp(out, (size_t)n, &u2, &used, &why) == WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n && fuzz_wa_eq(&u2.addr, &u.addr));
	}

	memset(&a, 0, sizeof(a));
	strcpy(a.user, str);
	strcpy(a.pass, str);
	n = wire_enc_socks5_auth(out, sizeof(out), &a);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_socks5_auth(out, (size_t)n, &a2, &used, &why) == WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n);
		FUZZ_ASSERT(strcmp(a2.user, a.user) == 0 && strcmp(a2.pass, a.pass) == 0);
	}
}

static void enc_http(const struct wire_addr *name, const char *str)
{
	struct http_connect_req r, r2;
	size_t used = 0;
	const char *why = NULL;
	int status = 0;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.dst = *name;
	n = wire_enc_http_connect(out, sizeof(out), &r);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_http_connect(out, (size_t)n, &r2, &used, &why) == WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n && fuzz_wa_eq(&r2.dst, &r.dst));
		FUZZ_ASSERT(r2.user[0] == '\0');
	}

	memset(&r, 0, sizeof(r));
	r.dst.type = WIRE_ATYP_NAME;
	r.dst.name_len = 1;
	r.dst.port = 80;
	r.dst.u.name[0] = 'h';
	strcpy(r.user, str);
	strcpy(r.pass, str);
	n = wire_enc_http_connect(out, sizeof(out), &r);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_http_connect(out, (size_t)n, &r2, &used, &why) == WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n);
		FUZZ_ASSERT(strcmp(r2.user, r.user) == 0 && strcmp(r2.pass, r.pass) == 0);
	}

	n = wire_enc_http_response(out, sizeof(out), 200, str);
	if (n > 0) {
		FUZZ_ASSERT(wire_dec_http_response(out, (size_t)n, &status, &used, &why) ==
		    WIRE_OK);
		FUZZ_ASSERT(used == (size_t)n && status == 200);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_addr name;
	char str[WIRE_USER_MAX + 1];
	size_t slen = size < WIRE_USER_MAX ? size : WIRE_USER_MAX;

	/* The same bytes as a C string field (cut at a NUL, as a caller's
	 * strcpy would). */
	memcpy(str, data, slen);
	str[slen] = '\0';
	if (make_name(&name, data, size)) {
		enc_socks4(&name, str);
		enc_socks5(&name, str);
		enc_http(&name, str);
	}
	return 0;
}
