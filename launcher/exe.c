/* exe.c: can LD_PRELOAD reach this command?
 *
 * The dynamic loader is what reads LD_PRELOAD, so a statically linked
 * program (no PT_INTERP program header) never loads the library, and the
 * loader ignores LD_PRELOAD for setuid and setgid programs.  Running such
 * a program "socksified" would send its traffic direct: refuse instead.
 */
#include <sys/stat.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

static int
find_in_path(const char *cmd, char *out, size_t cap)
{
	const char *path = getenv("PATH"), *p;
	struct stat st;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		/* An empty PATH element means the current directory. */
		if (snprintf(out, cap, "%.*s%s%s", (int)n, n ? p : ".", "/", cmd) < (int)cap &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (end == NULL)
			return -1;
		p = end;
	}
}

/* 1 when the ELF file whose first n bytes are in head (the rest read from
 * fd when the program headers lie further) has a PT_INTERP header, 0 when
 * it has none, -1 when it is not an ELF file.  One read covers the header
 * and the program headers of every ordinary executable. */
static int
elf_has_interp(int fd, const unsigned char *head, size_t n)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	uint64_t phoff;
	unsigned phnum, phentsize;

	if (n < EI_NIDENT || memcmp(head, ELFMAG, SELFMAG) != 0)
		return -1;
	if (head[EI_CLASS] == ELFCLASS64 && n >= sizeof(e64)) {
		memcpy(&e64, head, sizeof(e64));
		phoff = e64.e_phoff;
		phnum = e64.e_phnum;
		phentsize = e64.e_phentsize;
	} else if (head[EI_CLASS] == ELFCLASS32 && n >= sizeof(e32)) {
		memcpy(&e32, head, sizeof(e32));
		phoff = e32.e_phoff;
		phnum = e32.e_phnum;
		phentsize = e32.e_phentsize;
	} else {
		return -1;
	}
	/* Only the p_type word is read: it is the first field in both
	 * classes. */
	for (unsigned i = 0; i < phnum && i < 4096; i++) {
		uint64_t off = phoff + (uint64_t)i * phentsize;
		uint32_t type;

		if (off + sizeof(type) <= n)
			memcpy(&type, head + off, sizeof(type));
		else if (pread(fd, &type, sizeof(type), (off_t)off) != (ssize_t)sizeof(type))
			return -1;
		if (type == PT_INTERP)
			return 1;
	}
	return 0;
}

static int
check_file(const char *path, int depth, char *why, size_t whylen)
{
	struct stat st;
	char head[1024], interp[256];
	ssize_t n;
	int fd, rc = -1, dyn;

	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & S_ISUID || (st.st_mode & S_ISGID && st.st_mode & S_IXGRP)) {
		snprintf(why, whylen, "%s is set%sid: the dynamic loader ignores LD_PRELOAD "
		    "for it, so its connections would not go through the proxy", path,
		    st.st_mode & S_ISUID ? "u" : "g");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Execute-only files cannot be inspected; exec will tell. */
		return errno == EACCES ? 0 : (snprintf(why, whylen, "%s: %s", path,
		    strerror(errno)), -1);
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		char *s = head + 2, *e;

		head[n < 256 ? n : 255] = '\0'; /* the #! line is read from 255 bytes */
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strcspn(s, " \t\r\n");
		*e = '\0';
		snprintf(interp, sizeof(interp), "%.255s", s);
		if (interp[0] == '\0' || depth >= 4)
			rc = 0; /* exec will report a broken #! line itself */
		else
			rc = check_file(interp, depth + 1, why, whylen);
		goto out;
	}
	dyn = elf_has_interp(fd, (const unsigned char *)head, n > 0 ? (size_t)n : 0);
	if (dyn == 0) {
		snprintf(why, whylen, "%s is statically linked: LD_PRELOAD cannot reach it, "
		    "so its connections would not go through the proxy", path);
		goto out;
	}
	rc = 0; /* dynamic ELF, or something exec will judge */
out:
	close(fd);
	return rc;
}

int
exe_check(const char *cmd, char *out, size_t cap, char *why, size_t whylen)
{
	if (strchr(cmd, '/') != NULL) {
		snprintf(out, cap, "%s", cmd);
	} else if (cmd[0] == '\0' || find_in_path(cmd, out, cap) != 0) {
		snprintf(why, whylen, "%s: command not found", cmd);
		return -1;
	}
	return check_file(out, 0, why, whylen);
}
