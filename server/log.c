/* log.c: socksifyd's stderr log: one line per session, debug and errors.
 *
 * Once srv_log_start() ran, lines go into a bounded queue that a thread of
 * its own writes out, so an event loop never waits on stderr: a reader
 * that is slow or stopped (a full pipe, a terminal on hold) costs lines,
 * not service.  Lines that do not fit are dropped and counted, and the
 * count is written as soon as there is room again. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

int srv_verbosity;

/* 256 KiB: some 1,500 session lines, a few seconds of a busy server. */
#define LOG_QUEUE_CAP (256 * 1024)
/* How long exit waits for the queue to drain into a blocked stderr. */
#define LOG_DRAIN_MS 2000

static struct {
	pthread_mutex_t mu;
	pthread_cond_t more;      /* the queue got bytes, or stop */
	pthread_cond_t drained;   /* the queue is empty */
	char *buf;
	size_t head, len;         /* bytes queued: buf[head .. head+len) mod cap */
	unsigned long long dropped;
	bool running, stop;
	pthread_t th;
} lq = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER,
};

static const char *const result_words[] = {
	[SRV_R_OK] = "ok",
	[SRV_R_REFUSED] = "refused",
	[SRV_R_UNREACHABLE] = "unreachable",
	[SRV_R_NOT_ALLOWED] = "not-allowed",
	[SRV_R_LOOP] = "loop",
	[SRV_R_AUTH_FAILED] = "auth-failed",
	[SRV_R_AUTH_REQUIRED] = "auth-required",
	[SRV_R_BAD_COMMAND] = "bad-command",
	[SRV_R_BAD_ATYP] = "bad-atyp",
	[SRV_R_BAD_VERSION] = "bad-version",
	[SRV_R_MALFORMED] = "malformed",
	[SRV_R_TIMEOUT] = "timeout",
	[SRV_R_CLOSED] = "closed",
	[SRV_R_AUTH_BANNED] = "auth-banned",
	[SRV_R_CLIENT_LIMIT] = "client-limit",
	[SRV_R_RESOLVER_BUSY] = "resolver-busy",
	[SRV_R_ERROR] = "error",
};

const char *
srv_result_word(enum srv_result r)
{
	if ((size_t)r >= sizeof(result_words) / sizeof(result_words[0]))
		return "error";
	return result_words[r];
}

static void
write_all(const char *buf, size_t len)
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

/* Queues one whole line, or drops it whole.  Before the writer runs (and
 * after it stopped) the line is written at once: start-up errors must be
 * seen even if the process is about to exit. */
static void
put_line(const char *line, size_t len)
{
	size_t tail, first;

	pthread_mutex_lock(&lq.mu);
	if (!lq.running) {
		pthread_mutex_unlock(&lq.mu);
		write_all(line, len);
		return;
	}
	if (LOG_QUEUE_CAP - lq.len < len) {
		lq.dropped++;
		pthread_mutex_unlock(&lq.mu);
		return;
	}
	tail = (lq.head + lq.len) % LOG_QUEUE_CAP;
	first = len < LOG_QUEUE_CAP - tail ? len : LOG_QUEUE_CAP - tail;
	memcpy(lq.buf + tail, line, first);
	memcpy(lq.buf, line + first, len - first);
	lq.len += len;
	pthread_cond_signal(&lq.more);
	pthread_mutex_unlock(&lq.mu);
}

/* The writer: blocks on stderr as long as it must, never holding the
 * lock while it does, one contiguous run of the queue at a time (lines
 * stay whole: only this thread writes once it runs). */
static void *
log_writer(void *arg)
{
	char note[96];

	(void)arg;
	pthread_mutex_lock(&lq.mu);
	for (;;) {
		size_t run;
		const char *p;
		unsigned long long lost;

		while (lq.len == 0 && lq.dropped == 0 && !lq.stop)
			pthread_cond_wait(&lq.more, &lq.mu);
		if (lq.len == 0 && lq.dropped == 0)
			break;   /* stop, and nothing left */
		lost = lq.dropped;
		lq.dropped = 0;
		run = lq.len < LOG_QUEUE_CAP - lq.head ? lq.len : LOG_QUEUE_CAP - lq.head;
		p = lq.buf + lq.head;
		pthread_mutex_unlock(&lq.mu);
		/* The bytes stay queued (so nobody overwrites them) until
		 * written; the count of lost lines goes after what was queued
		 * before them. */
		write_all(p, run);
		/* Only between lines: a run that ends where the queue wraps
		 * may end inside one. */
		if (lost > 0 && (run == 0 || p[run - 1] == '\n')) {
			int n = snprintf(note, sizeof(note),
			    "socksifyd: %llu log lines dropped: stderr was not read fast enough\n",
			    lost);
			if (n > 0)
				write_all(note, (size_t)n < sizeof(note) ? (size_t)n : sizeof(note) - 1);
			lost = 0;
		}
		pthread_mutex_lock(&lq.mu);
		lq.head = (lq.head + run) % LOG_QUEUE_CAP;
		lq.len -= run;
		lq.dropped += lost;   /* not told yet: at the next line's end */
		if (lq.len == 0)
			pthread_cond_broadcast(&lq.drained);
	}
	pthread_cond_broadcast(&lq.drained);
	pthread_mutex_unlock(&lq.mu);
	return NULL;
}

int
srv_log_start(void)
{
	sigset_t all, old;
	int err;

	lq.buf = malloc(LOG_QUEUE_CAP);
	if (lq.buf == NULL)
		return -1;
	/* The writer takes no signal: signals are the event loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&lq.th, NULL, log_writer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		free(lq.buf);
		lq.buf = NULL;
		errno = err;
		return -1;
	}
	pthread_mutex_lock(&lq.mu);
	lq.running = true;
	pthread_mutex_unlock(&lq.mu);
	return 0;
}

void
srv_log_stop(void)
{
	struct timespec dl;
	bool done;

	if (lq.buf == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += LOG_DRAIN_MS / 1000;
	dl.tv_nsec += (long)(LOG_DRAIN_MS % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lq.mu);
	lq.stop = true;
	pthread_cond_signal(&lq.more);
	while ((lq.len > 0 || lq.dropped > 0) &&
	    pthread_cond_timedwait(&lq.drained, &lq.mu, &dl) == 0)
		;
	done = lq.len == 0 && lq.dropped == 0;
	pthread_mutex_unlock(&lq.mu);
	/* A reader that never comes back must not keep the process: the
	 * writer may be blocked in write() for good, and exit ends it. */
	if (!done)
		return;
	pthread_join(lq.th, NULL);
	pthread_mutex_lock(&lq.mu);
	lq.running = false;
	pthread_mutex_unlock(&lq.mu);
	free(lq.buf);
	lq.buf = NULL;
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
	char line[1024], udp[64] = "";
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
	if (s->udp != NULL) {
		unsigned long lookups, dropped;
		srv_udp_stats(s, &lookups, &dropped);
		snprintf(udp, sizeof(udp), " lookups=%lu dropped=%lu", lookups, dropped);
	}
	n = snprintf(line, sizeof(line),
	    "socksifyd: session client=%s user=%s cmd=%s proto=%s target=%s "
	    "up=%llu down=%llu ms=%llu%s result=%s\n",
	    client, user, cmd_name(s->cmd), proto_name(s->proto), target,
	    (unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
	    (unsigned long long)(now - s->start_ms), udp, srv_result_word(s->result));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	put_line(line, (size_t)n);
}
