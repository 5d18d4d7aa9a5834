/* conf.c: socksifyd's config file: the long options, one per line.
 *
 *     # a comment (whole lines only: passwords may hold '#')
 *     listen 127.0.0.1:1080
 *     allow = 10.0.0.0/8
 *     no-bind
 *     socks4-userid yes
 *
 * A line is a key, an optional '=', and the value: the rest of the line,
 * blanks around it removed.  The keys are the long options without their
 * dashes; an option that takes no value may say yes/true/on (set) or
 * no/false/off (left as it is).  The file becomes an argument vector that
 * main.c parses with the command line's own code, so the two cannot
 * disagree; each element remembers its line for the error messages. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#define CONF_LINE_MAX 4096

static int
push(struct srv_conf_args *a, const char *text, unsigned line)
{
	char **argv = realloc(a->argv, (size_t)(a->argc + 2) * sizeof(*argv));
	unsigned *lines;

	if (argv == NULL)
		return -1;
	a->argv = argv;
	lines = realloc(a->line, (size_t)(a->argc + 1) * sizeof(*lines));
	if (lines == NULL)
		return -1;
	a->line = lines;
	a->argv[a->argc] = strdup(text);
	if (a->argv[a->argc] == NULL)
		return -1;
	a->line[a->argc] = line;
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct option *
find_key(const struct option *opts, const char *key)
{
	for (; opts->name != NULL; opts++)
		if (strcmp(opts->name, key) == 0)
			return opts;
	return NULL;
}

static int
flag_value(const char *v)
{
	if (*v == '\0' || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0)
		return 1;
	if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0)
		return 0;
	return -1;
}

int
srv_conf_read(const char *path, const struct option *opts, const char *const *refused,
    struct srv_conf_args *a)
{
	char buf[CONF_LINE_MAX + 2], opt[CONF_LINE_MAX + 3];
	unsigned line = 0;
	int rc = -1;
	FILE *f;

	memset(a, 0, sizeof(*a));
	if (push(a, "socksifyd", 0) != 0)
		goto oom;
	f = fopen(path, "re");
	if (f == NULL) {
		srv_fatal("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		const struct option *o;
		char *key, *val, *p;
		size_t klen;

		line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			srv_fatal("%s:%u: line longer than %d bytes", path, line, CONF_LINE_MAX);
			goto out;
		}
		key = trim(buf);
		if (*key == '\0' || *key == '#')
			continue;
		klen = strcspn(key, " \t=");
		p = key + klen;
		val = p + strspn(p, " \t");
		if (*val == '=')
			val++;
		val = trim(val);
		key[klen] = '\0';
		o = find_key(opts, key);
		if (o == NULL) {
			srv_fatal("%s:%u: unknown key '%s'", path, line, key);
			goto out;
		}
		for (const char *const *r = refused; *r != NULL; r++) {
			if (strcmp(*r, key) == 0) {
				srv_fatal("%s:%u: '%s' has no place in a config file", path,
				    line, key);
				goto out;
			}
		}
		snprintf(opt, sizeof(opt), "--%s", key);
		if (o->has_arg == no_argument) {
			int on = flag_value(val);

			if (on < 0) {
				srv_fatal("%s:%u: '%s' takes no value, or yes or no", path, line, key);
				goto out;
			}
			if (on && push(a, opt, line) != 0)
				goto oom_close;
			continue;
		}
		if (*val == '\0') {
			srv_fatal("%s:%u: '%s' needs a value", path, line, key);
			goto out;
		}
		if (push(a, opt, line) != 0 || push(a, val, line) != 0)
			goto oom_close;
	}
	if (ferror(f)) {
		srv_fatal("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
oom_close:
	srv_fatal("%s: out of memory", path);
out:
	fclose(f);
	if (rc != 0)
		srv_conf_free(a);
	return rc;
oom:
	srv_fatal("%s: out of memory", path);
	srv_conf_free(a);
	return -1;
}

void
srv_conf_free(struct srv_conf_args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->line);
	memset(a, 0, sizeof(*a));
}
