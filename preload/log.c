/* log.c: the library's one log function.
 *
 * Lines go to stderr, or to the log file opened, appended to and closed
 * for every line: the library keeps no fd of its own, because programs
 * close every fd they did not open.  errno is preserved.  Never stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int log_level = CFG_LOG_WARN;
static char log_path[CFG_PATH_MAX];

void
log_configure(enum cfg_log level, const char *file)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
	snprintf(log_path, sizeof(log_path), "%s", file ? file : "");
}

bool
log_enabled(enum cfg_log level)
{
	return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED) &&
	    level != CFG_LOG_NONE;
}

static void
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void
log_msg(enum cfg_log level, const char *fmt, ...)
{
	char line[1024];
	int saved = errno, n, fd = 2;
	va_list ap;

	if (!log_enabled(level))
		return;
	memcpy(line, "socksify: ", 10);
	va_start(ap, fmt);
	n = vsnprintf(line + 10, sizeof(line) - 11, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out;
	n += 10;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (log_path[0] != '\0') {
		fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0)
			fd = 2;
	}
	/* One write per line, so lines from threads and processes sharing the
	 * file do not interleave. */
	write_all(fd, line, (size_t)n);
	if (fd != 2)
		real_close(fd);
out:
	errno = saved;
}

const char *
fail_stage_name(enum fail_stage s)
{
	switch (s) {
	case STAGE_TCP:
		return "tcp connect";
	case STAGE_GREET:
		return "greeting";
	case STAGE_LOGIN:
		return "login";
	case STAGE_REQUEST:
		return "request";
	case STAGE_REPLY:
		return "reply";
	case STAGE_REPLY2:
		return "second reply";
	case STAGE_NONE:
		break;
	}
	return "chain";
}

void
fail_format(const struct sfy_fail *f, const struct cfg *cfg, char *buf, size_t cap)
{
	char hop[ADDR_STRLEN + 16];

	if (f->hop > 0 && f->hop <= cfg->nproxies)
		snprintf(buf, cap, "hop %u (%s): %s", f->hop,
		    addr_format_proxy(hop, sizeof(hop), &cfg->proxies[f->hop - 1]), f->detail);
	else
		snprintf(buf, cap, "%s", f->detail);
}

void
log_failure(const struct cfg *cfg, const char *what, const struct sfy_fail *f)
{
	char why[ADDR_STRLEN + 16 + sizeof(f->detail) + 32];

	if (!log_enabled(CFG_LOG_ERROR))
		return;
	fail_format(f, cfg, why, sizeof(why));
	log_msg(CFG_LOG_ERROR, "%s failed: %s", what, why);
}
