/* exe_kind.h: can libsocksify.so reach the program a file runs?
 *
 * One answer for the launcher (before it execs the command) and for the
 * library's exec hooks (before a socksified program execs another).  The
 * dynamic loader is what reads LD_PRELOAD, so a program it never runs, or
 * runs in secure mode, or cannot load a 64-bit library into, would have
 * its connections go out directly; and Go makes its socket system calls
 * itself, so the library never sees them even when the loader loads it.
 */
#ifndef SOCKSIFY_PRELOAD_EXE_KIND_H
#define SOCKSIFY_PRELOAD_EXE_KIND_H

#include <stddef.h>

enum exe_kind {
	EXE_REACHABLE = 0, /* dynamically linked, of our class and machine; or
	                    * not ELF, or not readable: exec judges those */
	EXE_STATIC,        /* no PT_INTERP: the loader never runs */
	EXE_SETUID,        /* the loader ignores LD_PRELOAD (secure mode) */
	EXE_SETGID,
	EXE_CAPS,          /* file capabilities: secure mode as well */
	EXE_CLASS,         /* another ELF class or machine (32-bit on 64-bit) */
	EXE_GO,            /* a Go program: raw system calls */
};

/* The longest #! interpreter path the kernel reads (BINPRM_BUF_SIZE). */
#define EXE_INTERP_MAX 256

struct exe_verdict {
	enum exe_kind kind;
	/* For a #! script: the interpreter that was judged in its place
	 * (the last one, when interpreters are scripts too); "" otherwise. */
	char interp[EXE_INTERP_MAX];
	unsigned char elf_class; /* EXE_CLASS: the file's ELFCLASS32 or 64 */
};

/* Judges the file exec would run for path, taken as execveat(2) takes it:
 * relative to dirfd, with AT_EMPTY_PATH (dirfd itself) and
 * AT_SYMLINK_NOFOLLOW honoured in flags.  Scripts are judged by their
 * interpreter.  Never fails: what cannot be opened or read, and what is
 * not ELF, is EXE_REACHABLE, for exec to accept or refuse.  Costs one
 * open, a fstat, a pread of the ELF and program headers, a getxattr and,
 * for ELF files of our class, one or two preads of the section names;
 * uses under 2 KiB of stack and no heap, so a vfork child may call it. */
void exe_classify(int dirfd, const char *path, int flags, struct exe_verdict *v);

/* "PATH is statically linked, so LD_PRELOAD cannot reach it", or for a
 * script "PATH is a script run by INTERP, which is ...": one sentence
 * without a final period, into buf.  Returns buf. */
char *exe_describe(const struct exe_verdict *v, const char *path, char *buf, size_t cap);

/* What a user can do instead, a sentence for the launcher's message (""
 * for EXE_REACHABLE). */
const char *exe_advice(enum exe_kind kind);

/* Finds file (no '/' in it) in search, a PATH-style list (an empty element
 * is the current directory), as execvp does: the first candidate that is a
 * regular file the caller may execute.  0 with the path in out, or -1. */
int exe_search(const char *file, const char *search, char *out, size_t cap);

#endif
