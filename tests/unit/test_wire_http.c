/* test_wire_http.c: HTTP CONNECT request and response heads (RFC 7231
 * section 4.3.6, RFC 7230 message syntax, RFC 7617 Basic credentials).
 */
#include "wire_util.h"


static const uint8_t v6_doc[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
};
static const uint8_t v6_lo[16] = { [15] = 1 };

static struct http_connect_req mk_req(struct wire_addr dst, const char *user,
    const char *pass)
{
	struct http_connect_req r;

	memset(&r, 0, sizeof(r));
	r.dst = dst;
	strcpy(r.user, user);
	strcpy(r.pass, pass);
	return r;
}

static bool has_prefix(const uint8_t *buf, size_t n, const char *p)
{
	return n >= strlen(p) && memcmp(buf, p, strlen(p)) == 0;
}

static bool has_suffix(const uint8_t *buf, size_t n, const char *p)
{
	return n >= strlen(p) && memcmp(buf + n - strlen(p), p, strlen(p)) == 0;
}

/* Case-insensitive search for a header line inside the head. */
static bool has_line(const uint8_t *buf, size_t n, const char *line)
{
	char tmp[20000];

	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, buf, n);
	tmp[n] = '\0';
	return strcasestr(tmp, line) != NULL;
}

/* Encodes r, checks every capacity, then decodes the result back. */
static ssize_t enc_and_back(const char *f, int l, const struct http_connect_req *r,
    uint8_t *out, size_t cap)
{
	struct http_connect_req back;
	ssize_t n = expect_enc_at(f, l, e_httpreq, r, NULL, 0, out, cap);

	if (n <= 0)
		return n;
	expect_ok_at(f, l, d_httpreq, out, (size_t)n, &back, sizeof(back));
	check_at(wa_eq(&back.dst, &r->dst), f, l, "decoded destination differs");
	CHECK_STR_AT(f, l, back.user, r->user);
	CHECK_STR_AT(f, l, back.pass, r->pass);
	check_at(has_suffix(out, (size_t)n, "\r\n\r\n"), f, l, "head ends with an empty line");
	expect_prefixes_at(f, l, d_httpreq, out, (size_t)n, sizeof(back), WIRE_NEED_MORE);
	return n;
}

static void encode_name(void)
{
	struct http_connect_req r = mk_req(wa_name("example.com", 443), "", "");
	uint8_t buf[1024];
	ssize_t n = enc_and_back(__FILE__, __LINE__, &r, buf, sizeof(buf));

	if (n <= 0)
		return;
	CHECK(has_prefix(buf, (size_t)n, "CONNECT example.com:443 HTTP/1."));
	/* HTTP/1.1 requests carry Host (RFC 7230 section 5.4). */
	CHECK(has_line(buf, (size_t)n, "\r\nHost: example.com:443\r\n"));
	CHECK(!has_line(buf, (size_t)n, "Proxy-Authorization"));
}

static void encode_ip4_and_ip6(void)
{
	struct http_connect_req r4 = mk_req(wa_ip4(192, 0, 2, 1, 80), "", "");
	struct http_connect_req r6 = mk_req(wa_ip6(v6_doc, 8443), "", "");
	uint8_t buf[1024];
	ssize_t n;

	n = enc_and_back(__FILE__, __LINE__, &r4, buf, sizeof(buf));
	if (n > 0)
		CHECK(has_prefix(buf, (size_t)n, "CONNECT 192.0.2.1:80 HTTP/1."));
	n = enc_and_back(__FILE__, __LINE__, &r6, buf, sizeof(buf));
	if (n > 0) {
		CHECK(has_prefix(buf, (size_t)n, "CONNECT [2001:db8::1]:8443 HTTP/1."));
		CHECK(has_line(buf, (size_t)n, "\r\nHost: [2001:db8::1]:8443\r\n"));
	}
}

/* RFC 7617's own example credentials. */
static void encode_basic_auth(void)
{
	struct http_connect_req r = mk_req(wa_name("example.com", 443), "Aladdin",
	    "open sesame");
	uint8_t buf[2048];
	ssize_t n = enc_and_back(__FILE__, __LINE__, &r, buf, sizeof(buf));

	if (n > 0)
		CHECK(has_line(buf, (size_t)n,
		    "\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
}

/* Every base64 padding length, an empty password and the longest fields. */
static void basic_auth_round_trips(void)
{
	static const char *const creds[][2] = {
		{ "a", "" }, { "ab", "c" }, { "abc", "de" }, { "u", "p:a:ss" },
		{ "\xc3\xa9", "\xff\x01" },
	};
	struct http_connect_req r;
	uint8_t buf[4096];
	size_t i;

	for (i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		r = mk_req(wa_ip4(10, 0, 0, 1, 1), creds[i][0], creds[i][1]);
		enc_and_back(__FILE__, __LINE__, &r, buf, sizeof(buf));
	}
	r = mk_req(wa_name("h", 1), "", "");
	memset(r.user, 'u', WIRE_USER_MAX);
	memset(r.pass, 'p', WIRE_USER_MAX);
	enc_and_back(__FILE__, __LINE__, &r, buf, sizeof(buf));
}

static void decode_curl_head(void)
{
	static const char head[] =
	    "CONNECT example.com:443 HTTP/1.1\r\n"
	    "Host: example.com:443\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Proxy-Connection: Keep-Alive\r\n"
	    "\r\n";
	struct http_connect_req r;
	struct wire_addr want = wa_name("example.com", 443);

	EXPECT_OK(d_httpreq, (const uint8_t *)head, sizeof(head) - 1, &r);
	CHECK_WA(&r.dst, &want);
	CHECK_STR(r.user, "");
	EXPECT_PREFIXES_NEED_MORE(d_httpreq, (const uint8_t *)head, sizeof(head) - 1, struct http_connect_req);
}

static void decode_auth_any_case(void)
{
	static const char head[] =
	    "CONNECT 127.0.0.1:8080 HTTP/1.0\r\n"
	    "proxy-authorization: Basic dXNlcjpwYXNz\r\n"
	    "\r\n";
	struct http_connect_req r;
	struct wire_addr want = wa_ip4(127, 0, 0, 1, 8080);

	EXPECT_OK(d_httpreq, (const uint8_t *)head, sizeof(head) - 1, &r);
	CHECK_WA(&r.dst, &want);
	CHECK_STR(r.user, "user");
	CHECK_STR(r.pass, "pass");
}

static void decode_ip6(void)
{
	static const char head[] = "CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n\r\n";
	struct http_connect_req r;
	struct wire_addr want = wa_ip6(v6_lo, 22);

	EXPECT_OK(d_httpreq, (const uint8_t *)head, sizeof(head) - 1, &r);
	CHECK_WA(&r.dst, &want);
	EXPECT_PREFIXES_NEED_MORE(d_httpreq, (const uint8_t *)head, sizeof(head) - 1, struct http_connect_req);
}

/* The TLS bytes a client pipelines after its head are not the head's. */
static void decode_pipelined(void)
{
	static const char msg[] = "CONNECT a.b:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x02\x00";
	struct http_connect_req r;
	size_t used = 0;
	const char *why = NULL;

	CHECK_EQ_INT(wire_dec_http_connect((const uint8_t *)msg, sizeof(msg) - 1, &r, &used,
	    &why), WIRE_OK);
	CHECK_EQ_INT(used, strlen("CONNECT a.b:443 HTTP/1.1\r\n\r\n"));
}

static void request_garbage(void)
{
	static const char *const bad[] = {
		"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"connect example.com:443 HTTP/1.1\r\n\r\n",
		"CONNECT example.com HTTP/1.1\r\n\r\n",
		"CONNECT example.com: HTTP/1.1\r\n\r\n",
		"CONNECT example.com:http HTTP/1.1\r\n\r\n",
		"CONNECT example.com:65536 HTTP/1.1\r\n\r\n",
		"CONNECT example.com:443\r\n\r\n",
		"CONNECT example.com:443 FTP/1.1\r\n\r\n",
		"CONNECT [::1:443 HTTP/1.1\r\n\r\n",
		"CONNECT :443 HTTP/1.1\r\n\r\n",
		"CONNECT  HTTP/1.1\r\n\r\n",
		"\r\n\r\n",
		"\x05\x01\x00\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!CHECK(bad[i] != NULL))
			continue;
		expect_malformed_at(__FILE__, __LINE__, d_httpreq, (const uint8_t *)bad[i],
		    strlen(bad[i]), sizeof(struct http_connect_req));
	}
}

/* Builds a head of exactly total bytes: the request line, one filler
 * header, the empty line.  Returns the length written. */
static size_t build_head(char *buf, size_t total, const char *first_line)
{
	size_t n = strlen(first_line), fill;

	memcpy(buf, first_line, n);
	fill = total - n - strlen("X: \r\n\r\n");
	memcpy(buf + n, "X: ", 3);
	memset(buf + n + 3, 'y', fill);
	memcpy(buf + n + 3 + fill, "\r\n\r\n", 4);
	return total;
}

static void head_size_limit(void)
{
	static char buf[WIRE_HTTP_HEAD_MAX + 1024];
	struct http_connect_req r;
	int status = 0;
	size_t n;

	n = build_head(buf, WIRE_HTTP_HEAD_MAX, "CONNECT a:1 HTTP/1.1\r\n");
	EXPECT_OK(d_httpreq, (const uint8_t *)buf, n, &r);
	n = build_head(buf, WIRE_HTTP_HEAD_MAX + 1, "CONNECT a:1 HTTP/1.1\r\n");
	EXPECT_MALFORMED(d_httpreq, (const uint8_t *)buf, n, struct http_connect_req);
	/* Not ended yet, already too long: no point waiting. */
	n = build_head(buf, sizeof(buf), "CONNECT a:1 HTTP/1.1\r\n");
	EXPECT_MALFORMED(d_httpreq, (const uint8_t *)buf, n - 4, struct http_connect_req);

	n = build_head(buf, WIRE_HTTP_HEAD_MAX, "HTTP/1.1 200 OK\r\n");
	EXPECT_OK(d_httprep, (const uint8_t *)buf, n, &status);
	CHECK_EQ_INT(status, 200);
	n = build_head(buf, WIRE_HTTP_HEAD_MAX + 1, "HTTP/1.1 200 OK\r\n");
	EXPECT_MALFORMED(d_httprep, (const uint8_t *)buf, n, int);
	n = build_head(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	EXPECT_MALFORMED(d_httprep, (const uint8_t *)buf, n - 4, int);
}

static void response_decode(void)
{
	static const struct {
		const char *head;
		int status;
	} cases[] = {
		{ "HTTP/1.1 200 Connection established\r\n\r\n", 200 },
		{ "HTTP/1.0 200 OK\r\nProxy-agent: Apache/2.4\r\n\r\n", 200 },
		{ "HTTP/1.1 407 Proxy Authentication Required\r\n"
		  "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n", 407 },
		{ "HTTP/1.1 403 Forbidden\r\n\r\n", 403 },
		{ "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n", 502 },
		{ "HTTP/1.1 504 Gateway Timeout\r\n\r\n", 504 },
		/* The reason phrase may be empty (RFC 7230 section 3.1.2);
		 * some proxies drop the space before it too. */
		{ "HTTP/1.1 200 \r\n\r\n", 200 },
		{ "HTTP/1.1 200\r\n\r\n", 200 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *b = (const uint8_t *)cases[i].head;
		size_t n = strlen(cases[i].head);
		int status = 0;

		expect_ok_at(__FILE__, __LINE__, d_httprep, b, n, &status, sizeof(status));
		CHECK_EQ_INT(status, cases[i].status);
		expect_prefixes_at(__FILE__, __LINE__, d_httprep, b, n, sizeof(int),
		    WIRE_NEED_MORE);
	}
}

static void response_encode(void)
{
	static const struct http_status_msg msgs[] = {
		{ 200, "Connection established" }, { 407, "Proxy Authentication Required" },
		{ 502, "Bad Gateway" }, { 100, "Continue" }, { 599, "x" },
	};
	size_t i;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		uint8_t buf[256];
		char line[128];
		int status = 0;
		ssize_t n = EXPECT_ENC_OUT(e_httprep, &msgs[i], buf);

		if (n <= 0)
			continue;
		snprintf(line, sizeof(line), " %d %s\r\n", msgs[i].status, msgs[i].reason);
		CHECK(has_prefix(buf, (size_t)n, "HTTP/1."));
		CHECK(has_line(buf, (size_t)n, line));
		CHECK(has_suffix(buf, (size_t)n, "\r\n\r\n"));
		EXPECT_OK(d_httprep, buf, (size_t)n, &status);
		CHECK_EQ_INT(status, msgs[i].status);
	}
}

static void response_encode_refusals(void)
{
	static const struct http_status_msg bad[] = {
		{ 99, "x" }, { 1000, "x" }, { -200, "x" }, { 200, "bad\r\nInjected: 1" },
		{ 200, "bad\nInjected: 1" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_ENC_FAILS(e_httprep, &bad[i]);
}

static void response_garbage(void)
{
	static const char *const bad[] = {
		"HTTX/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1200 OK\r\n\r\n",
		"HTTP/1.1 \r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n\r\n",
		"\r\n\r\n",
		"\x05\x00\r\n\r\n",
		"HTTP/1.1 -20 OK\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_malformed_at(__FILE__, __LINE__, d_httprep, (const uint8_t *)bad[i],
		    strlen(bad[i]), sizeof(int));
}

static void encoder_refusals(void)
{
	struct http_connect_req r = mk_req(wa_name("", 443), "", "");

	EXPECT_ENC_FAILS(e_httpreq, &r);
	/* A name that would break the request line or inject a header. */
	r = mk_req(wa_name("a b", 443), "", "");
	EXPECT_ENC_FAILS(e_httpreq, &r);
	r = mk_req(wa_name("a\r\nX-Evil: 1", 443), "", "");
	EXPECT_ENC_FAILS(e_httpreq, &r);
	/* A Basic user id cannot hold ':' (RFC 7617 section 2): the proxy
	 * would split "a:b:pw" as user "a", password "b:pw". */
	r = mk_req(wa_name("h", 443), "a:b", "pw");
	EXPECT_ENC_FAILS(e_httpreq, &r);
}

CHECK_MAIN(
	CHECK_TEST(encode_name),
	CHECK_TEST(encode_ip4_and_ip6),
	CHECK_TEST(encode_basic_auth),
	CHECK_TEST(basic_auth_round_trips),
	CHECK_TEST(decode_curl_head),
	CHECK_TEST(decode_auth_any_case),
	CHECK_TEST(decode_ip6),
	CHECK_TEST(decode_pipelined),
	CHECK_TEST(request_garbage),
	CHECK_TEST(head_size_limit),
	CHECK_TEST(response_decode),
	CHECK_TEST(response_encode),
	CHECK_TEST(response_encode_refusals),
	CHECK_TEST(response_garbage),
	CHECK_TEST(encoder_refusals),
)
