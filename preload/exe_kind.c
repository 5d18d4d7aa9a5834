/* exe_kind.c: which programs libsocksify.so can follow into (exe_kind.h).
 *
 * Read once, from the start of the file: the #! line or the ELF header and
 * program headers.  Set-ID bits and file capabilities only count where the
 * kernel would honour them (not on a nosuid mount, not under
 * no_new_privs), because only then is the loader in secure mode.  A Go
 * program is recognised by its build information: the .go.buildinfo
 * section, found by its name in the section-name table, or, when the
 * section headers were stripped, the magic that starts it near the
 * beginning of the data segment (where Go's own tools look).
 */
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exe_kind.h"
#include "internal.h"

/* The ELF header of whatever this is linked into (the library or the
 * launcher, built alike): a program must match its class and machine for
 * the library to load into it. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

#define EXE_BUF 1024            /* the one read buffer, on the stack */
#define EXE_DEPTH 5             /* a script and 4 interpreters: the kernel's limit */
#define PHDRS_MAX 65536         /* bytes of program headers the kernel accepts */
#define SHSTRTAB_MAX (64 * 1024)
#define GO_SCAN_MAX (64 * 1024) /* data searched for the magic without sections */
#define GO_ALIGN 16             /* the build information is 16-byte aligned */

static const char go_section[] = ".go.buildinfo"; /* with its NUL: exact name */
static const char go_magic[] = "\xff Go buildinf:";
#define GO_MAGIC_LEN (sizeof(go_magic) - 1)

struct elf_facts {
	bool interp;          /* a PT_INTERP header: the loader runs */
	bool data;            /* the first writable, non-executable PT_LOAD */
	uint64_t data_off, data_len;
};

/* Set-ID bits and file capabilities do nothing on a nosuid mount or under
 * no_new_privs: no secure mode, and LD_PRELOAD works. */
static bool
privileges_honoured(int fd)
{
	struct statvfs sv;

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return false;
	return !(fd >= 0 && fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOSUID));
}

/* Set-ID (a setgid bit without group execute is mandatory locking, not
 * set-group-ID) or file capabilities; fd may be -1 (not readable). */
static enum exe_kind
privileges(int fd, const struct stat *st)
{
	enum exe_kind k = EXE_REACHABLE;

	if (st->st_mode & S_ISUID)
		k = EXE_SETUID;
	else if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP))
		k = EXE_SETGID;
	else if (fd >= 0 && fgetxattr(fd, "security.capability", NULL, 0) > 0)
		k = EXE_CAPS;
	if (k != EXE_REACHABLE && !privileges_honoured(fd))
		k = EXE_REACHABLE;
	return k;
}

/* The interpreter of a #! line as the kernel reads it: blanks, then the
 * name up to a blank or the end of the line, within the first
 * EXE_INTERP_MAX bytes.  False when there is none or it is cut short:
 * exec reports those itself. */
static bool
script_interp(const unsigned char *buf, size_t n, char *out)
{
	size_t i = 2, start;

	if (n > EXE_INTERP_MAX)
		n = EXE_INTERP_MAX;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	start = i;
	while (i < n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\0')
		i++;
	if (i == start || (i == n && n == EXE_INTERP_MAX))
		return false;
	memcpy(out, buf + start, i - start);
	out[i - start] = '\0';
	return true;
}

/* Walks the program headers (from buf while they lie in its first n
 * bytes, then in chunks read into it).  False when they cannot be read. */
static bool
read_phdrs(int fd, const ElfW(Ehdr) *eh, unsigned char *buf, size_t n,
    struct elf_facts *ef)
{
	size_t ent = eh->e_phentsize, per = EXE_BUF / (ent ? ent : 1);
	unsigned i = 0;

	if (ent < sizeof(ElfW(Phdr)) || eh->e_phnum == 0 ||
	    (size_t)eh->e_phnum * ent > PHDRS_MAX)
		return false;
	while (i < eh->e_phnum) {
		uint64_t at = eh->e_phoff + (uint64_t)i * ent;
		size_t want = eh->e_phnum - i < per ? eh->e_phnum - i : per, got;
		const unsigned char *p;

		if (at + want * ent <= n) {
			p = buf + at;
			got = want;
		} else {
			ssize_t r = pread(fd, buf, want * ent, (off_t)at);

			if (r < (ssize_t)ent)
				return false;
			n = 0; /* buf no longer holds the file's start */
			p = buf;
			got = (size_t)r / ent;
		}
		for (size_t j = 0; j < got; j++) {
			ElfW(Phdr) ph;

			memcpy(&ph, p + j * ent, sizeof(ph));
			if (ph.p_type == PT_INTERP)
				ef->interp = true;
			else if (ph.p_type == PT_LOAD && !ef->data &&
			    (ph.p_flags & (PF_W | PF_X)) == PF_W) {
				ef->data = true;
				ef->data_off = ph.p_offset;
				ef->data_len = ph.p_filesz;
			}
		}
		i += (unsigned)got;
	}
	return true;
}

/* True when len bytes of the file at off hold needle, read in chunks that
 * overlap by the needle's length so that no match falls between two. */
static bool
file_has(int fd, uint64_t off, uint64_t len, const void *needle, size_t nlen,
    unsigned char *buf)
{
	uint64_t done = 0;

	while (done < len && len - done >= nlen) {
		size_t want = len - done < EXE_BUF ? (size_t)(len - done) : EXE_BUF;
		ssize_t r = pread(fd, buf, want, (off_t)(off + done));

		if (r < (ssize_t)nlen)
			return false;
		if (memmem(buf, (size_t)r, needle, nlen) != NULL)
			return true;
		if ((size_t)r < want)
			return false;
		done += (uint64_t)r - (nlen - 1);
	}
	return false;
}

/* The magic at a GO_ALIGN boundary within len bytes of the file at off
 * (an offset congruent to the address, so alignment carries over). */
static bool
file_has_magic(int fd, uint64_t off, uint64_t len, unsigned char *buf)
{
	uint64_t at = (off + GO_ALIGN - 1) & ~(uint64_t)(GO_ALIGN - 1), end = off + len;

	while (at + GO_MAGIC_LEN <= end) {
		size_t want = end - at < EXE_BUF ? (size_t)(end - at) : EXE_BUF;
		ssize_t r = pread(fd, buf, want, (off_t)at);

		if (r < (ssize_t)GO_MAGIC_LEN)
			return false;
		/* EXE_BUF is a multiple of GO_ALIGN, so every candidate lies
		 * whole in one chunk. */
		for (size_t i = 0; i + GO_MAGIC_LEN <= (size_t)r; i += GO_ALIGN)
			if (memcmp(buf + i, go_magic, GO_MAGIC_LEN) == 0)
				return true;
		at += (uint64_t)r;
	}
	return false;
}

static bool
is_go(int fd, const ElfW(Ehdr) *eh, const struct elf_facts *ef, unsigned char *buf)
{
	ElfW(Shdr) sh;
	size_t ent = eh->e_shentsize;
	unsigned idx = eh->e_shstrndx;

	if (eh->e_shoff != 0 && ent >= sizeof(sh) && idx != SHN_UNDEF) {
		/* Extended numbering: the index is in section 0's sh_link. */
		if (idx == SHN_XINDEX) {
			if (pread(fd, &sh, sizeof(sh), (off_t)eh->e_shoff) != (ssize_t)sizeof(sh))
				return false;
			idx = sh.sh_link;
		}
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh->e_shoff + (uint64_t)idx * ent)) ==
		    (ssize_t)sizeof(sh) && sh.sh_type == SHT_STRTAB)
			return file_has(fd, sh.sh_offset,
			    sh.sh_size < SHSTRTAB_MAX ? sh.sh_size : SHSTRTAB_MAX,
			    go_section, sizeof(go_section), buf);
	}
	return ef->data && file_has_magic(fd, ef->data_off,
	    ef->data_len < GO_SCAN_MAX ? ef->data_len : GO_SCAN_MAX, buf);
}

/* The dynamic loader has no PT_INTERP either, yet run as a command
 * (ldd does) it reads LD_PRELOAD for the program it loads: it is the
 * file this process's own loader was mapped from. */
static bool
is_own_loader(const struct stat *st)
{
	unsigned long base = getauxval(AT_BASE);
	struct stat ls;
	Dl_info di;

	return base != 0 && dladdr((void *)base, &di) != 0 && di.dli_fname != NULL &&
	    stat(di.dli_fname, &ls) == 0 && ls.st_dev == st->st_dev && ls.st_ino == st->st_ino;
}

/* An ELF file (or not): the first n bytes of it are in buf. */
static enum exe_kind
judge_elf(int fd, const struct stat *st, unsigned char *buf, size_t n,
    struct exe_verdict *v)
{
	struct elf_facts ef = { 0 };
	ElfW(Ehdr) eh;
	enum exe_kind k;

	if (n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return EXE_REACHABLE; /* binfmt_misc, or ENOEXEC: exec's call */
	k = privileges(fd, st);
	if (k != EXE_REACHABLE)
		return k;
	v->elf_class = buf[EI_CLASS];
	if (buf[EI_CLASS] != __ehdr_start.e_ident[EI_CLASS] ||
	    buf[EI_DATA] != __ehdr_start.e_ident[EI_DATA])
		return EXE_CLASS;
	if (n < sizeof(eh))
		return EXE_REACHABLE; /* truncated: the kernel refuses it */
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_machine != __ehdr_start.e_machine)
		return EXE_CLASS;
	if ((eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || !read_phdrs(fd, &eh, buf, n, &ef))
		return EXE_REACHABLE;
	/* Before "static": a static Go program is above all a Go program,
	 * and linking it dynamically would not help. */
	if (is_go(fd, &eh, &ef, buf))
		return EXE_GO;
	if (ef.interp || (eh.e_type == ET_DYN && is_own_loader(st)))
		return EXE_REACHABLE;
	return EXE_STATIC;
}

/* The file to judge, opened for reading; *own says whether to close it.
 * With AT_EMPTY_PATH the file is dirfd itself, which may be an O_PATH
 * descriptor: /proc gives a readable one. */
static int
open_exe(int dirfd, const char *path, int flags, bool *own)
{
	*own = true;
	if ((flags & AT_EMPTY_PATH) && path[0] == '\0') {
		char proc[40];
		int fd;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
		*own = false;
		return dirfd;
	}
	return openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
}

void
exe_classify(int dirfd, const char *path, int flags, struct exe_verdict *v)
{
	unsigned char buf[EXE_BUF] __attribute__((aligned(16)));
	int saved = errno;

	v->kind = EXE_REACHABLE;
	v->interp[0] = '\0';
	v->elf_class = 0;
	for (int depth = 0; depth < EXE_DEPTH; depth++) {
		struct stat st;
		ssize_t n;
		bool own;
		int fd = open_exe(dirfd, path, flags, &own);

		if (fd < 0) {
			/* Execute-only: its contents are hidden, its mode is not. */
			if (errno == EACCES && fstatat(dirfd, path, &st,
			    flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) == 0 &&
			    S_ISREG(st.st_mode))
				v->kind = privileges(-1, &st);
			break;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (n = pread(fd, buf, sizeof(buf), 0)) < 0) {
			if (own)
				real_close(fd);
			break;
		}
		if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
			/* The kernel ignores a script's own set-ID bits and
			 * capabilities: what counts is its interpreter's. */
			bool next = script_interp(buf, (size_t)n, v->interp);

			if (own)
				real_close(fd);
			if (!next)
				break;
			dirfd = AT_FDCWD;
			path = v->interp;
			flags = 0;
			continue;
		}
		v->kind = judge_elf(fd, &st, buf, (size_t)n, v);
		if (own)
			real_close(fd);
		break;
	}
	errno = saved;
}

static const char *
reason(const struct exe_verdict *v, char *buf, size_t cap)
{
	switch (v->kind) {
	case EXE_STATIC:
		return "is statically linked, so the dynamic loader, which is what reads "
		    "LD_PRELOAD, never runs for it";
	case EXE_SETUID:
		return "is setuid, and the dynamic loader ignores LD_PRELOAD for set-ID programs";
	case EXE_SETGID:
		return "is setgid, and the dynamic loader ignores LD_PRELOAD for set-ID programs";
	case EXE_CAPS:
		return "has file capabilities (security.capability), and the dynamic loader "
		    "ignores LD_PRELOAD for such programs";
	case EXE_CLASS:
		if (v->elf_class != __ehdr_start.e_ident[EI_CLASS]) {
			snprintf(buf, cap, "is a %d-bit program, and libsocksify.so is %d-bit, "
			    "so it cannot be loaded into it",
			    v->elf_class == ELFCLASS32 ? 32 : 64,
			    __ehdr_start.e_ident[EI_CLASS] == ELFCLASS32 ? 32 : 64);
			return buf;
		}
		return "is built for another kind of machine, so libsocksify.so cannot be "
		    "loaded into it";
	case EXE_GO:
		return "is a Go program, and Go makes its socket system calls itself, "
		    "where LD_PRELOAD cannot reach them";
	case EXE_REACHABLE:
		break;
	}
	return "can be socksified";
}

char *
exe_describe(const struct exe_verdict *v, const char *path, char *buf, size_t cap)
{
	char tmp[128];
	const char *why = reason(v, tmp, sizeof(tmp));

	if (v->interp[0] != '\0')
		snprintf(buf, cap, "%s is a script run by %s, which %s", path, v->interp, why);
	else
		snprintf(buf, cap, "%s %s", path, why);
	return buf;
}

const char *
exe_advice(enum exe_kind kind)
{
	switch (kind) {
	case EXE_STATIC:
		return "Use a dynamically linked build of it instead.";
	case EXE_SETUID:
	case EXE_SETGID:
		return "Run a copy of it without the set-ID bit instead (cp, then chmod u-s,g-s "
		    "the copy).";
	case EXE_CAPS:
		return "Run a copy of it without them instead (cp does not copy file "
		    "capabilities).";
	case EXE_CLASS:
		return "Use a build of it for this machine instead.";
	case EXE_GO:
		return "Give it the proxy through its own settings instead (Go's net/http "
		    "reads HTTPS_PROXY and HTTP_PROXY, socks5:// URLs included).";
	case EXE_REACHABLE:
		break;
	}
	return "";
}

int
exe_search(const char *file, const char *search, char *out, size_t cap)
{
	const char *p = search;

	for (;;) {
		const char *end = strchr(p, ':');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		struct stat st;
		int w;

		/* An empty element is the current directory. */
		if (n == 0)
			w = snprintf(out, cap, "./%s", file);
		else
			w = snprintf(out, cap, "%.*s/%s", (int)n, p, file);
		if (w > 0 && (size_t)w < cap && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
			return 0;
		if (end == NULL)
			return -1;
		p = end + 1;
	}
}
