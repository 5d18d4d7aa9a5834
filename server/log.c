/* log.c: socksifyd's stderr log: one line per session, debug and errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

int srv_verbosity;

static const char *const result_words[] = {
	[SRV_R_OK] = "ok",
	[SRV_R_REFUSED] = "refused",
	[SRV_R_UNREACHABLE] = "unreachable",
	[SRV_R_NOT_ALLOWED] = "not-allowed",
	[SRV_R_AUTH_FAILED] = "auth-failed",
	[SRV_R_BAD_COMMAND] = "bad-command",
	[SRV_R_BAD_ATYP] = "bad-atyp",
	[SRV_R_BAD_VERSION] = "bad-version",
	[SRV_R_MALFORMED] = "malformed",
	[SRV_R_TIMEOUT] = "timeout",
	[SRV_R_CLOSED] = "closed",
	[SRV_R_AUTH_BANNED] = "auth-banned",
	[SRV_R_CLIENT_LIMIT] = "client-limit",
	[SRV_R_ERROR] = "error",
};

const char *
srv_result_word(enum srv_result r)
{
	if ((size_t)r >= sizeof(result_words) / sizeof(result_words[0]))
		return "error";
	return result_words[r];
}

/* One write per line, so lines from a busy server never interleave. */
static void
put_line(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void __attribute__((format(printf, 2, 0)))
vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int saved = errno;
	int n = snprintf(buf, sizeof(buf), "socksifyd: %s", prefix);

	errno = saved;
	if (n < 0)
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	put_line(buf, (size_t)n);
	errno = saved;
}

void
srv_debug(const char *fmt, ...)
{
	va_list ap;

	if (srv_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

void
srv_warn(const char *fmt, ...)
{
	va_list ap;

	if (srv_verbosity < 0)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
srv_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

/* Copies text into the line, turning anything that could break the line's
 * format (spaces, controls, non-ASCII) into '?'. */
static size_t
put_clean(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < cap; src++, n++) {
		unsigned char c = (unsigned char)*src;
		dst[n] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
	return n;
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case SRV_P_SOCKS4:
		return "socks4";
	case SRV_P_SOCKS4A:
		return "socks4a";
	case SRV_P_SOCKS5:
		return "socks5";
	default:
		return "-";
	}
}

static const char *
cmd_name(uint8_t c)
{
	switch (c) {
	case SRV_CMD_CONNECT:
		return "connect";
	case SRV_CMD_BIND:
		return "bind";
	case SRV_CMD_UDP:
		return "udp";
	default:
		return "-";
	}
}

void
srv_log_session(const struct srv_session *s, uint64_t now)
{
	char client[ADDR_STRLEN], target[ADDR_STRLEN], user[WIRE_USER_MAX + 1];
	char line[1024];
	int n;

	if (srv_verbosity < 0)
		return;
	addr_format_sa(client, sizeof(client), &s->peer.sa);
	if (s->target.type != 0) {
		char raw[ADDR_STRLEN];
		addr_format(raw, sizeof(raw), &s->target);
		put_clean(target, sizeof(target), raw);
	} else {
		strcpy(target, "-");
	}
	if (s->user != NULL)
		put_clean(user, sizeof(user), s->user->name);
	else
		strcpy(user, "-");
	n = snprintf(line, sizeof(line),
	    "socksifyd: session client=%s user=%s cmd=%s proto=%s target=%s "
	    "up=%llu down=%llu ms=%llu result=%s\n",
	    client, user, cmd_name(s->cmd), proto_name(s->proto), target,
	    (unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
	    (unsigned long long)(now - s->start_ms), srv_result_word(s->result));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	put_line(line, (size_t)n);
}
