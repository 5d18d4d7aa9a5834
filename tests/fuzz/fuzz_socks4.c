/* fuzz_socks4.c: SOCKS4/4a request and reply decoders, with the round trip
 * decode -> encode -> decode giving the same message.
 */
#include "fuzz_util.h"

static void fuzz_req(const uint8_t *data, size_t size)
{
	struct socks4_req r, r2;
	uint8_t *buf;
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks4_req(data, size, &r, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(r.dst.type == WIRE_ATYP_IPV4 || r.dst.type == WIRE_ATYP_NAME);
	fuzz_wa_valid(&r.dst);
	FUZZ_ASSERT(strlen(r.user) <= WIRE_USER_MAX);
	FUZZ_STREAM_PREFIXES(wire_dec_socks4_req, data, used, struct socks4_req);

	buf = malloc(1024);
	FUZZ_ASSERT(buf != NULL);
	n = wire_enc_socks4_req(buf, 1024, &r);
	FUZZ_ASSERT(n > 0);
	rc = wire_dec_socks4_req(buf, (size_t)n, &r2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK);
	FUZZ_ASSERT(used2 == (size_t)n);
	FUZZ_ASSERT(r2.cmd == r.cmd);
	FUZZ_ASSERT(fuzz_wa_eq(&r2.dst, &r.dst));
	FUZZ_ASSERT(strcmp(r2.user, r.user) == 0);
	free(buf);
}

static void fuzz_rep(const uint8_t *data, size_t size)
{
	struct socks4_rep r, r2;
	uint8_t buf[64];
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks4_rep(data, size, &r, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(used == 8);
	FUZZ_ASSERT(r.addr.type == WIRE_ATYP_IPV4);
	FUZZ_STREAM_PREFIXES(wire_dec_socks4_rep, data, used, struct socks4_rep);

	n = wire_enc_socks4_rep(buf, sizeof(buf), &r);
	FUZZ_ASSERT(n == 8);
	rc = wire_dec_socks4_rep(buf, (size_t)n, &r2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == 8);
	FUZZ_ASSERT(r2.code == r.code);
	FUZZ_ASSERT(fuzz_wa_eq(&r2.addr, &r.addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_req(data, size);
	fuzz_rep(data, size);
	return 0;
}
