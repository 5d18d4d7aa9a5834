/* fuzz_http.c: HTTP CONNECT request and response head decoders; an
 * accepted head must encode back to one that decodes the same.
 */
#include "fuzz_util.h"

#define HEAD_BUF (2 * WIRE_HTTP_HEAD_MAX)

static void fuzz_req(const uint8_t *data, size_t size, uint8_t *buf)
{
	struct http_connect_req r, r2;
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	uint8_t *copy;
	ssize_t n;
	int rc;

	rc = wire_dec_http_connect(data, size, &r, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(used <= WIRE_HTTP_HEAD_MAX);
	fuzz_wa_valid(&r.dst);
	FUZZ_ASSERT(strlen(r.user) <= WIRE_USER_MAX && strlen(r.pass) <= WIRE_USER_MAX);
	FUZZ_STREAM_PREFIXES(wire_dec_http_connect, data, used, struct http_connect_req);

	n = wire_enc_http_connect(buf, HEAD_BUF, &r);
	FUZZ_ASSERT(n > 0);
	copy = fuzz_dup(buf, (size_t)n);
	rc = wire_dec_http_connect(copy, (size_t)n, &r2, &used2, &why);
	free(copy);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n);
	FUZZ_ASSERT(fuzz_wa_eq(&r2.dst, &r.dst));
	FUZZ_ASSERT(strcmp(r2.user, r.user) == 0);
	FUZZ_ASSERT(strcmp(r2.pass, r.pass) == 0);
}

static void fuzz_rep(const uint8_t *data, size_t size, uint8_t *buf)
{
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	int status = -1, status2 = -1;
	ssize_t n;
	int rc;

	rc = wire_dec_http_response(data, size, &status, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	if (rc != WIRE_OK)
		return;
	FUZZ_ASSERT(used <= WIRE_HTTP_HEAD_MAX);
	FUZZ_ASSERT(status >= 100 && status <= 999);
	FUZZ_STREAM_PREFIXES(wire_dec_http_response, data, used, int);

	n = wire_enc_http_response(buf, HEAD_BUF, status, "Reason");
	FUZZ_ASSERT(n > 0);
	rc = wire_dec_http_response(buf, (size_t)n, &status2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n && status2 == status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[HEAD_BUF];

	fuzz_req(data, size, buf);
	fuzz_rep(data, size, buf);
	return 0;
}
