/* fuzz_socks5.c: SOCKS5 greeting, method choice, RFC 1929 request and
 * reply, request and reply decoders; each accepted message must encode
 * back to a message that decodes the same.
 */
#include "fuzz_util.h"

static void fuzz_greeting(const uint8_t *data, size_t size)
{
	struct socks5_greeting g, g2;
	uint8_t buf[300];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks5_greeting(data, size, &g, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(g.nmethods >= 1);
	FUZZ_ASSERT(used == 2u + g.nmethods);
	FUZZ_STREAM_PREFIXES(wire_dec_socks5_greeting, data, used, struct socks5_greeting);
	n = wire_enc_socks5_greeting(buf, sizeof(buf), &g);
	FUZZ_ASSERT(n > 0 && (size_t)n == used);
	FUZZ_ASSERT(memcmp(buf, data, used) == 0);
	rc = wire_dec_socks5_greeting(buf, (size_t)n, &g2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n);
	FUZZ_ASSERT(g2.nmethods == g.nmethods);
	FUZZ_ASSERT(memcmp(g2.methods, g.methods, g.nmethods) == 0);
}

static void fuzz_choice(const uint8_t *data, size_t size)
{
	uint8_t m = 0, m2 = 0, buf[8];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks5_choice(data, size, &m, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(used == 2);
	n = wire_enc_socks5_choice(buf, sizeof(buf), m);
	FUZZ_ASSERT(n == 2);
	rc = wire_dec_socks5_choice(buf, 2, &m2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == 2 && m2 == m);
}

static void fuzz_auth(const uint8_t *data, size_t size)
{
	struct socks5_auth a, a2;
	uint8_t buf[600];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks5_auth(data, size, &a, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(strlen(a.user) >= 1 && strlen(a.user) <= WIRE_USER_MAX);
	FUZZ_ASSERT(strlen(a.pass) <= WIRE_USER_MAX);
	/* Nothing on the wire may be lost: no NUL hidden inside a field. */
	FUZZ_ASSERT(used == 3 + strlen(a.user) + strlen(a.pass));
	FUZZ_STREAM_PREFIXES(wire_dec_socks5_auth, data, used, struct socks5_auth);
	n = wire_enc_socks5_auth(buf, sizeof(buf), &a);
	FUZZ_ASSERT(n > 0 && (size_t)n == used);
	rc = wire_dec_socks5_auth(buf, (size_t)n, &a2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n);
	FUZZ_ASSERT(strcmp(a.user, a2.user) == 0 && strcmp(a.pass, a2.pass) == 0);
}

static void fuzz_auth_rep(const uint8_t *data, size_t size)
{
	uint8_t st = 0, st2 = 0, buf[8];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks5_auth_rep(data, size, &st, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(used == 2);
	n = wire_enc_socks5_auth_rep(buf, sizeof(buf), st);
	FUZZ_ASSERT(n == 2);
	rc = wire_dec_socks5_auth_rep(buf, 2, &st2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == 2 && st2 == st);
}

typedef int (*msg_dec)(const uint8_t *, size_t, struct socks5_msg *, size_t *,
    const char **);
typedef ssize_t (*msg_enc)(uint8_t *, size_t, const struct socks5_msg *);

static void fuzz_msg(const uint8_t *data, size_t size, msg_dec dec, msg_enc enc)
{
	struct socks5_msg m, m2;
	uint8_t buf[300];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = dec(data, size, &m, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	fuzz_wa_valid(&m.addr);
	FUZZ_STREAM_PREFIXES(dec, data, used, struct socks5_msg);
	n = enc(buf, sizeof(buf), &m);
	FUZZ_ASSERT(n > 0 && (size_t)n == used);
	rc = dec(buf, (size_t)n, &m2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n);
	FUZZ_ASSERT(m2.code == m.code);
	FUZZ_ASSERT(fuzz_wa_eq(&m2.addr, &m.addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_greeting(data, size);
	fuzz_choice(data, size);
	fuzz_auth(data, size);
	fuzz_auth_rep(data, size);
	fuzz_msg(data, size, wire_dec_socks5_req, wire_enc_socks5_req);
	fuzz_msg(data, size, wire_dec_socks5_rep, wire_enc_socks5_rep);
	return 0;
}
