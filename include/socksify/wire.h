/* wire.h: SOCKS4/4a/5, RFC 1929, SOCKS5 UDP header and HTTP CONNECT codecs.
 *
 * Pure code: no I/O, no allocation, no globals.  Encoders write into a
 * caller's buffer and return the length written, or -1 when the message
 * does not fit or a field is out of range.  Decoders are incremental: they
 * look at what has arrived so far and answer WIRE_NEED_MORE (nothing is
 * consumed, call again with more bytes), WIRE_OK (*used says how many
 * bytes the message took; anything after it belongs to the next message)
 * or WIRE_MALFORMED (*why says what was wrong).  No length on the wire is
 * trusted: every field is checked against what is left before it is read.
 */
#ifndef SOCKSIFY_WIRE_H
#define SOCKSIFY_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum wire_rc {
	WIRE_MALFORMED = -1,
	WIRE_NEED_MORE = 0,
	WIRE_OK = 1,
};

/* Address types, numbered as in RFC 1928. */
enum {
	WIRE_ATYP_IPV4 = 0x01,
	WIRE_ATYP_NAME = 0x03,
	WIRE_ATYP_IPV6 = 0x04,
};

#define WIRE_NAME_MAX 255
#define WIRE_USER_MAX 255
#define WIRE_HTTP_HEAD_MAX 8192

/* A destination as it travels on the wire.  Port in host byte order.
 * For WIRE_ATYP_NAME, name is NUL terminated and name_len is its length
 * (1..255). */
struct wire_addr {
	uint8_t type;
	uint8_t name_len;
	uint16_t port;
	union {
		uint8_t ip4[4];
		uint8_t ip6[16];
		char name[WIRE_NAME_MAX + 1];
	} u;
};

/* ---- SOCKS4 / SOCKS4a ---- */

enum {
	SOCKS4_VERSION = 0x04,
	SOCKS4_CMD_CONNECT = 0x01,
	SOCKS4_CMD_BIND = 0x02,
	SOCKS4_REP_GRANTED = 90,      /* 0x5a */
	SOCKS4_REP_REJECTED = 91,     /* 0x5b: rejected or failed */
	SOCKS4_REP_NO_IDENTD = 92,    /* 0x5c */
	SOCKS4_REP_IDENT_MISMATCH = 93, /* 0x5d */
};

/* A SOCKS4 request.  dst.type is WIRE_ATYP_IPV4, or WIRE_ATYP_NAME for
 * SOCKS4a (sent as 0.0.0.1 plus the name after the user id).  user is a
 * NUL terminated user id, possibly empty. */
struct socks4_req {
	uint8_t cmd;
	struct wire_addr dst;
	char user[WIRE_USER_MAX + 1];
};

/* A SOCKS4 reply: code is SOCKS4_REP_*, addr is always IPv4. */
struct socks4_rep {
	uint8_t code;
	struct wire_addr addr;
};

ssize_t wire_enc_socks4_req(uint8_t *buf, size_t cap, const struct socks4_req *req);
int wire_dec_socks4_req(const uint8_t *buf, size_t len, struct socks4_req *req,
    size_t *used, const char **why);
ssize_t wire_enc_socks4_rep(uint8_t *buf, size_t cap, const struct socks4_rep *rep);
int wire_dec_socks4_rep(const uint8_t *buf, size_t len, struct socks4_rep *rep,
    size_t *used, const char **why);

/* ---- SOCKS5 (RFC 1928) ---- */

enum {
	SOCKS5_VERSION = 0x05,
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_GSSAPI = 0x01,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_UNACCEPTABLE = 0xff,

	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_BIND = 0x02,
	SOCKS5_CMD_UDP_ASSOCIATE = 0x03,

	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACH = 0x03,
	SOCKS5_REP_HOST_UNREACH = 0x04,
	SOCKS5_REP_CONN_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_UNSUPPORTED = 0x07,
	SOCKS5_REP_ATYP_UNSUPPORTED = 0x08,
};

/* The client's greeting: the methods it offers (1..255 of them). */
struct socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

ssize_t wire_enc_socks5_greeting(uint8_t *buf, size_t cap, const struct socks5_greeting *g);
int wire_dec_socks5_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *g,
    size_t *used, const char **why);

/* The server's method choice: 05 METHOD. */
ssize_t wire_enc_socks5_choice(uint8_t *buf, size_t cap, uint8_t method);
int wire_dec_socks5_choice(const uint8_t *buf, size_t len, uint8_t *method,
    size_t *used, const char **why);

/* RFC 1929 username/password subnegotiation.  user and pass are NUL
 * terminated, 1..255 bytes each on the wire (an empty password is sent as
 * length 0, which RFC 1929 permits in practice and peers send). */
struct socks5_auth {
	char user[WIRE_USER_MAX + 1];
	char pass[WIRE_USER_MAX + 1];
};

enum { SOCKS5_AUTH_VERSION = 0x01, SOCKS5_AUTH_OK = 0x00, SOCKS5_AUTH_FAILED = 0x01 };

ssize_t wire_enc_socks5_auth(uint8_t *buf, size_t cap, const struct socks5_auth *a);
int wire_dec_socks5_auth(const uint8_t *buf, size_t len, struct socks5_auth *a,
    size_t *used, const char **why);
/* The reply: 01 STATUS (0 is success, anything else is failure). */
ssize_t wire_enc_socks5_auth_rep(uint8_t *buf, size_t cap, uint8_t status);
int wire_dec_socks5_auth_rep(const uint8_t *buf, size_t len, uint8_t *status,
    size_t *used, const char **why);

/* Request (code is SOCKS5_CMD_*) and reply (code is SOCKS5_REP_*) share
 * one layout: VER CODE RSV ATYP ADDR PORT. */
struct socks5_msg {
	uint8_t code;
	struct wire_addr addr;
};

ssize_t wire_enc_socks5_req(uint8_t *buf, size_t cap, const struct socks5_msg *req);
int wire_dec_socks5_req(const uint8_t *buf, size_t len, struct socks5_msg *req,
    size_t *used, const char **why);
ssize_t wire_enc_socks5_rep(uint8_t *buf, size_t cap, const struct socks5_msg *rep);
int wire_dec_socks5_rep(const uint8_t *buf, size_t len, struct socks5_msg *rep,
    size_t *used, const char **why);

/* The SOCKS5 UDP request header: RSV(2) FRAG ATYP ADDR PORT, then data.
 * The decoder never answers NEED_MORE (a datagram is whole): a short
 * datagram is MALFORMED.  *used is the header length; the payload is
 * buf + *used. */
struct socks5_udp {
	uint8_t frag;
	struct wire_addr addr;
};

ssize_t wire_enc_socks5_udp(uint8_t *buf, size_t cap, const struct socks5_udp *h);
int wire_dec_socks5_udp(const uint8_t *buf, size_t len, struct socks5_udp *h,
    size_t *used, const char **why);

/* ---- HTTP CONNECT ---- */

/* A CONNECT request head.  If user[0] or pass[0] is set, a Proxy-Authorization:
 * Basic header carries user:pass. */
struct http_connect_req {
	struct wire_addr dst;
	char user[WIRE_USER_MAX + 1];
	char pass[WIRE_USER_MAX + 1];
};

ssize_t wire_enc_http_connect(uint8_t *buf, size_t cap, const struct http_connect_req *req);
/* Decodes a whole request head, up to and including the empty line.  Only
 * the CONNECT method is accepted.  A head longer than WIRE_HTTP_HEAD_MAX
 * is MALFORMED. */
int wire_dec_http_connect(const uint8_t *buf, size_t len, struct http_connect_req *req,
    size_t *used, const char **why);

/* The response head: status code only (the rest is read and skipped). */
ssize_t wire_enc_http_response(uint8_t *buf, size_t cap, int status, const char *reason);
int wire_dec_http_response(const uint8_t *buf, size_t len, int *status,
    size_t *used, const char **why);

/* ---- meaning of codes ---- */

const char *socks4_strerror(uint8_t code);
const char *socks5_strerror(uint8_t code);
/* The errno a client reports for a failure reply. */
int socks4_rep_errno(uint8_t code);
int socks5_rep_errno(uint8_t code);
int http_status_errno(int status);
/* The SOCKS5 reply a server sends when its own connect failed with err. */
uint8_t socks5_rep_from_errno(int err);

#endif
