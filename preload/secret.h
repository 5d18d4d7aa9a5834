/* secret.h: proxy credentials handed from the launcher to the library
 * without putting them in the environment.
 *
 * The launcher writes the chain given with -p into a sealed memfd that
 * every descendant inherits; SOCKSIFY_CHAIN_FD names its number.  The
 * library finds it at start-up (even if a program moved it) and treats it
 * as an internal fd the program cannot close.
 */
#ifndef SOCKSIFY_PRELOAD_SECRET_H
#define SOCKSIFY_PRELOAD_SECRET_H

#include <fcntl.h>
#include <stddef.h>

/* What both sides agree on: the variable, the memfd's name (readlink of
 * /proc/self/fd/N shows "/memfd:NAME (deleted)") and the seals the
 * launcher sets once the chain is written. */
#define SECRET_ENV "SOCKSIFY_CHAIN_FD"
#define SECRET_MEMFD_NAME "socksify-chain"
#define SECRET_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* The inherited chain memfd, or -1 when there is none.  Called once, from
 * the constructor; reads SOCKSIFY_CHAIN_FD and checks that the fd really is
 * the launcher's memfd.  When that number holds something else (a program
 * moved the memfd and closed the original), /proc/self/fd is searched.
 * errno is left alone on success; on -1 it says why: ENOENT, the variable
 * is unset or empty; EINVAL, it is not an fd number; EBADF, no such memfd
 * is open; ENOTUNIQ, the number is wrong and several different chain
 * memfds are open, so which one is meant cannot be told. */
int secret_find(void);

/* Reads the chain (proxy URLs, space separated) from the memfd fd into
 * buf, NUL terminated.  0, or -1 with errno (E2BIG when it does not fit). */
int secret_read(int fd, char *buf, size_t cap);

#endif
