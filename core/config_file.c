/* config_file.c: finding and reading config files (the I/O side of config).
 *
 * Used by the launcher and, lazily, by the library.  Plain open/read and
 * no stdio, so it works the same inside any program and keeps no fd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socksify/config.h"

int
cfg_load_file(const char *path, struct cfg *out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = -1, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		goto out;
	}
	if (st.st_size > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: file too big for a config", path);
		goto out;
	}
	/* Read to EOF rather than trusting st_size (a pipe or /proc file). */
	buf = malloc(CFG_FILE_MAX + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, CFG_FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > CFG_FILE_MAX) {
			snprintf(err, errlen, "%s: file too big for a config", path);
			goto out;
		}
	}
	rc = cfg_parse_buffer(buf, got, path, out, err, errlen);
out:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return rc;
}

static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

int
cfg_find_file(bool use_env, char *out, size_t cap, char *err, size_t errlen)
{
	const char *env = use_env ? getenv("SOCKSIFY_CONF") : NULL;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char p[CFG_PATH_MAX];

	if (env != NULL && env[0] != '\0') {
		if (access(env, R_OK) != 0) {
			snprintf(err, errlen, "%s (from SOCKSIFY_CONF): %s", env, strerror(errno));
			return -1;
		}
		snprintf(out, cap, "%s", env);
		return 1;
	}
	if (exists("socksify.conf")) {
		snprintf(out, cap, "socksify.conf");
		return 1;
	}
	p[0] = '\0';
	if (xdg != NULL && xdg[0] == '/')
		snprintf(p, sizeof(p), "%s/socksify/socksify.conf", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(p, sizeof(p), "%s/.config/socksify/socksify.conf", home);
	if (p[0] != '\0' && exists(p)) {
		snprintf(out, cap, "%s", p);
		return 1;
	}
	if (exists("/etc/socksify.conf")) {
		snprintf(out, cap, "/etc/socksify.conf");
		return 1;
	}
	return 0;
}
