/* auth.c: the user list (-u, --users FILE) and constant-time checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

static int
users_push(struct srv_cfg *cfg, const char *name, size_t nl, const char *pass,
    size_t pl, const char **why)
{
	struct srv_user *u;

	if (nl == 0) {
		*why = "empty user name";
		return -1;
	}
	if (nl > WIRE_USER_MAX || pl > WIRE_USER_MAX) {
		*why = "user name or password longer than 255 bytes";
		return -1;
	}
	if (memchr(name, '\0', nl) != NULL || memchr(pass, '\0', pl) != NULL) {
		*why = "NUL byte in user name or password";
		return -1;
	}
	u = realloc(cfg->users, (cfg->nusers + 1) * sizeof(*u));
	if (u == NULL) {
		*why = "out of memory";
		return -1;
	}
	cfg->users = u;
	u += cfg->nusers;
	u->name = strndup(name, nl);
	u->pass = strndup(pass, pl);
	if (u->name == NULL || u->pass == NULL) {
		free(u->name);
		free(u->pass);
		*why = "out of memory";
		return -1;
	}
	u->name_len = nl;
	u->pass_len = pl;
	cfg->nusers++;
	return 0;
}

int
srv_users_add(struct srv_cfg *cfg, const char *userpass, const char **why)
{
	const char *colon = strchr(userpass, ':');

	if (colon == NULL) {
		*why = "expected USER:PASS";
		return -1;
	}
	return users_push(cfg, userpass, (size_t)(colon - userpass), colon + 1,
	    strlen(colon + 1), why);
}

int
srv_users_load(struct srv_cfg *cfg, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = -1;

	if (f == NULL) {
		srv_fatal("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *why = NULL;
		char *p = line;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if ((size_t)len != strlen(line)) {
			srv_fatal("%s:%u: NUL byte in line", path, lineno);
			goto out;
		}
		if (srv_users_add(cfg, p, &why) != 0) {
			srv_fatal("%s:%u: %s", path, lineno, why);
			goto out;
		}
	}
	if (ferror(f)) {
		srv_fatal("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

/* Compares two strings of at most WIRE_USER_MAX bytes in a time that
 * depends on neither content nor lengths. */
static unsigned
ct_differs(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned diff = (unsigned)(al ^ bl);

	for (size_t i = 0; i < WIRE_USER_MAX; i++) {
		/* Masks instead of branches: read index 0 when past the end. */
		size_t ma = (size_t)0 - (size_t)(i < al);
		size_t mb = (size_t)0 - (size_t)(i < bl);
		unsigned char ca = (unsigned char)(a[i & ma] & (char)ma);
		unsigned char cb = (unsigned char)(b[i & mb] & (char)mb);
		diff |= (unsigned)(ca ^ cb);
	}
	return diff;
}

const struct srv_user *
srv_users_check(const struct srv_cfg *cfg, const char *name, const char *pass)
{
	const struct srv_user *found = NULL;
	size_t nl = strnlen(name, WIRE_USER_MAX), pl = strnlen(pass, WIRE_USER_MAX);

	/* Every entry is looked at, so the time says nothing about which one
	 * matched or how far a guess got. */
	for (size_t i = 0; i < cfg->nusers; i++) {
		const struct srv_user *u = &cfg->users[i];
		unsigned d = ct_differs(u->name, u->name_len, name, nl) |
		    ct_differs(u->pass, u->pass_len, pass, pl);
		if (d == 0 && found == NULL)
			found = u;
	}
	return found;
}

const struct srv_user *
srv_users_find(const struct srv_cfg *cfg, const char *name)
{
	const struct srv_user *found = NULL;
	size_t nl = strnlen(name, WIRE_USER_MAX);

	for (size_t i = 0; i < cfg->nusers; i++) {
		const struct srv_user *u = &cfg->users[i];
		if (ct_differs(u->name, u->name_len, name, nl) == 0 && found == NULL)
			found = u;
	}
	return found;
}

void
srv_users_free(struct srv_cfg *cfg)
{
	for (size_t i = 0; i < cfg->nusers; i++) {
		/* Passwords do not outlive the server in freed memory. */
		explicit_bzero(cfg->users[i].pass, cfg->users[i].pass_len);
		free(cfg->users[i].name);
		free(cfg->users[i].pass);
	}
	free(cfg->users);
	cfg->users = NULL;
	cfg->nusers = 0;
}
