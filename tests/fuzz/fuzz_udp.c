/* fuzz_udp.c: the SOCKS5 UDP request header decoder.  A datagram is whole:
 * the decoder never asks for more, and the payload starts at *used.
 */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_udp h, h2;
	uint8_t *buf;
	size_t used = 0, used2 = 0;
	const char *why = NULL;
	ssize_t n;
	int rc;

	rc = wire_dec_socks5_udp(data, size, &h, &used, &why);
	fuzz_rc_valid(rc, used, size, why);
	FUZZ_ASSERT(rc != WIRE_NEED_MORE);
	if (rc != WIRE_OK)
		return 0;
	fuzz_wa_valid(&h.addr);

	/* Re-encode the header in front of the same payload. */
	buf = malloc(300 + (size - used));
	FUZZ_ASSERT(buf != NULL);
	n = wire_enc_socks5_udp(buf, 300, &h);
	FUZZ_ASSERT(n > 0 && (size_t)n == used);
	memcpy(buf + n, data + used, size - used);
	rc = wire_dec_socks5_udp(buf, (size_t)n + (size - used), &h2, &used2, &why);
	FUZZ_ASSERT(rc == WIRE_OK && used2 == (size_t)n);
	FUZZ_ASSERT(h2.frag == h.frag);
	FUZZ_ASSERT(fuzz_wa_eq(&h2.addr, &h.addr));
	FUZZ_ASSERT(memcmp(buf + used2, data + used, size - used) == 0);
	free(buf);
	return 0;
}
