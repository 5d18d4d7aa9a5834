/* wire_int.h: helpers private to the core codecs. */
#ifndef SOCKSIFY_WIRE_INT_H
#define SOCKSIFY_WIRE_INT_H

#include <string.h>

#include "socksify/wire.h"

#define WIRE_FAIL(w, msg) do { if (why) *why = (msg); return WIRE_MALFORMED; } while (0)

static inline void
wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t
wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Length of the SOCKS5 ATYP+ADDR+PORT encoding of a, or -1 if a is not
 * encodable. */
ssize_t wire_addr5_len(const struct wire_addr *a);
/* Writes ATYP ADDR PORT; the caller has checked the room. */
size_t wire_put_addr5(uint8_t *p, const struct wire_addr *a);
/* Reads ATYP ADDR PORT from buf (len bytes available). */
int wire_get_addr5(const uint8_t *buf, size_t len, struct wire_addr *a,
    size_t *used, const char **why);
/* Checks a name: 1..255 bytes, no NUL. */
int wire_name_ok(const char *name, size_t len);

#endif
