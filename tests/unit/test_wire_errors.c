/* test_wire_errors.c: what reply codes mean: strerror texts, the errno a
 * client reports for a failure, and the reply a server sends for an errno.
 */
#include <errno.h>

#include "wire_util.h"

static void socks5_strerror_every_code(void)
{
	const char *s[256];
	int i, j;

	for (i = 0; i < 256; i++) {
		s[i] = socks5_strerror((uint8_t)i);
		if (check_at(s[i] != NULL, __FILE__, __LINE__, "socks5_strerror(%#x) is NULL", i))
			check_at(s[i][0] != '\0', __FILE__, __LINE__,
			    "socks5_strerror(%#x) is empty", i);
	}
	/* The nine codes RFC 1928 defines each read differently. */
	for (i = 0; i <= 8; i++)
		for (j = i + 1; j <= 8; j++)
			check_at(s[i] && s[j] && strcmp(s[i], s[j]) != 0, __FILE__, __LINE__,
			    "socks5_strerror(%d) and (%d) both say \"%s\"", i, j,
			    s[i] ? s[i] : "(null)");
	/* An unknown code is not confused with a known one. */
	for (i = 0; i <= 8; i++)
		check_at(s[0x09] && s[i] && strcmp(s[0x09], s[i]) != 0, __FILE__, __LINE__,
		    "unknown code 0x09 reads like %d", i);
}

static void socks4_strerror_every_code(void)
{
	const char *s[256];
	int i, j;

	for (i = 0; i < 256; i++) {
		s[i] = socks4_strerror((uint8_t)i);
		if (check_at(s[i] != NULL, __FILE__, __LINE__, "socks4_strerror(%d) is NULL", i))
			check_at(s[i][0] != '\0', __FILE__, __LINE__,
			    "socks4_strerror(%d) is empty", i);
	}
	for (i = 90; i <= 93; i++)
		for (j = i + 1; j <= 93; j++)
			check_at(s[i] && s[j] && strcmp(s[i], s[j]) != 0, __FILE__, __LINE__,
			    "socks4_strerror(%d) and (%d) both say \"%s\"", i, j,
			    s[i] ? s[i] : "(null)");
}

/* The mapping DESIGN.md promises users (principle 1, "fail closed"). */
static void socks5_rep_errno_mapping(void)
{
	int e;

	CHECK_EQ_INT(socks5_rep_errno(SOCKS5_REP_NOT_ALLOWED), EACCES);
	CHECK_EQ_INT(socks5_rep_errno(SOCKS5_REP_NET_UNREACH), ENETUNREACH);
	CHECK_EQ_INT(socks5_rep_errno(SOCKS5_REP_HOST_UNREACH), EHOSTUNREACH);
	CHECK_EQ_INT(socks5_rep_errno(SOCKS5_REP_CONN_REFUSED), ECONNREFUSED);
	CHECK_EQ_INT(socks5_rep_errno(SOCKS5_REP_TTL_EXPIRED), ETIMEDOUT);
	e = socks5_rep_errno(SOCKS5_REP_CMD_UNSUPPORTED);
	CHECK(e == EOPNOTSUPP || e == ENOTSUP || e == EPROTONOSUPPORT);
	e = socks5_rep_errno(SOCKS5_REP_ATYP_UNSUPPORTED);
	CHECK(e == EAFNOSUPPORT || e == EOPNOTSUPP || e == EADDRNOTAVAIL);
	e = socks5_rep_errno(SOCKS5_REP_GENERAL_FAILURE);
	CHECK(e == ECONNREFUSED || e == EPROTO || e == ECONNABORTED || e == EIO);
}

/* Every failure code, known or not, gives a real errno (never 0: a
 * caller returning -1 with errno 0 looks like success to some programs). */
static void socks5_rep_errno_never_zero_for_failures(void)
{
	int i;

	for (i = 1; i < 256; i++)
		check_at(socks5_rep_errno((uint8_t)i) > 0, __FILE__, __LINE__,
		    "socks5_rep_errno(%#x) = %d", i, socks5_rep_errno((uint8_t)i));
}

static void socks4_rep_errno_mapping(void)
{
	int i, e;

	for (i = 0; i < 256; i++)
		if (i != SOCKS4_REP_GRANTED)
			check_at(socks4_rep_errno((uint8_t)i) > 0, __FILE__, __LINE__,
			    "socks4_rep_errno(%d) = %d", i, socks4_rep_errno((uint8_t)i));
	e = socks4_rep_errno(SOCKS4_REP_REJECTED);
	CHECK(e == ECONNREFUSED || e == EACCES);
	/* identd trouble is an authentication failure. */
	e = socks4_rep_errno(SOCKS4_REP_NO_IDENTD);
	CHECK(e == EACCES || e == EPERM);
	e = socks4_rep_errno(SOCKS4_REP_IDENT_MISMATCH);
	CHECK(e == EACCES || e == EPERM);
}

static void http_status_errno_mapping(void)
{
	static const int failures[] = { 400, 403, 404, 405, 407, 500, 501, 502, 503, 504, 599 };
	size_t i;
	int e;

	for (i = 0; i < sizeof(failures) / sizeof(failures[0]); i++)
		check_at(http_status_errno(failures[i]) > 0, __FILE__, __LINE__,
		    "http_status_errno(%d) = %d", failures[i], http_status_errno(failures[i]));
	e = http_status_errno(403);
	CHECK(e == EACCES || e == EPERM);
	e = http_status_errno(407);
	CHECK(e == EACCES || e == EPERM);
	CHECK_EQ_INT(http_status_errno(504), ETIMEDOUT);
	e = http_status_errno(502);
	CHECK(e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNABORTED);
}

/* A server maps its connect() errno to the reply the client will map back. */
static void socks5_rep_from_errno_is_the_inverse(void)
{
	static const struct {
		int err;
		uint8_t rep;
	} pairs[] = {
		{ EACCES, SOCKS5_REP_NOT_ALLOWED },
		{ ENETUNREACH, SOCKS5_REP_NET_UNREACH },
		{ EHOSTUNREACH, SOCKS5_REP_HOST_UNREACH },
		{ ECONNREFUSED, SOCKS5_REP_CONN_REFUSED },
		{ ETIMEDOUT, SOCKS5_REP_TTL_EXPIRED },
		{ EAFNOSUPPORT, SOCKS5_REP_ATYP_UNSUPPORTED },
	};
	uint8_t r;
	int code;
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		check_at(socks5_rep_from_errno(pairs[i].err) == pairs[i].rep, __FILE__, __LINE__,
		    "socks5_rep_from_errno(%s) = %#x, want %#x", strerror(pairs[i].err),
		    socks5_rep_from_errno(pairs[i].err), pairs[i].rep);
	/* Round trip for every specific failure the RFC names. */
	for (code = SOCKS5_REP_NOT_ALLOWED; code <= SOCKS5_REP_ATYP_UNSUPPORTED; code++) {
		r = socks5_rep_from_errno(socks5_rep_errno((uint8_t)code));
		check_at(r == code, __FILE__, __LINE__,
		    "rep %#x -> errno %d -> rep %#x", code, socks5_rep_errno((uint8_t)code), r);
	}
	/* Anything else is a general failure, and never "succeeded". */
	CHECK_EQ_INT(socks5_rep_from_errno(EIO), SOCKS5_REP_GENERAL_FAILURE);
	CHECK_EQ_INT(socks5_rep_from_errno(ENOMEM), SOCKS5_REP_GENERAL_FAILURE);
	/* Unreachable variants a kernel reports. */
	r = socks5_rep_from_errno(EPERM);
	CHECK(r == SOCKS5_REP_NOT_ALLOWED || r == SOCKS5_REP_GENERAL_FAILURE);
	r = socks5_rep_from_errno(ENETDOWN);
	CHECK(r == SOCKS5_REP_NET_UNREACH || r == SOCKS5_REP_GENERAL_FAILURE);
	r = socks5_rep_from_errno(EHOSTDOWN);
	CHECK(r == SOCKS5_REP_HOST_UNREACH || r == SOCKS5_REP_GENERAL_FAILURE);
}

CHECK_MAIN(
	CHECK_TEST(socks5_strerror_every_code),
	CHECK_TEST(socks4_strerror_every_code),
	CHECK_TEST(socks5_rep_errno_mapping),
	CHECK_TEST(socks5_rep_errno_never_zero_for_failures),
	CHECK_TEST(socks4_rep_errno_mapping),
	CHECK_TEST(http_status_errno_mapping),
	CHECK_TEST(socks5_rep_from_errno_is_the_inverse),
)
