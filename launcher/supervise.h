/* supervise.h: the seccomp backend, for programs LD_PRELOAD cannot reach.
 *
 * The program runs as the launcher's child under a seccomp filter that
 * hands its connect, sendto (with an address), sendmsg and sendmmsg calls
 * to the launcher (SECCOMP_RET_USER_NOTIF) and fails io_uring_setup with
 * ENOSYS.  The launcher answers each call itself, on the program's own
 * socket (taken with pidfd_getfd), with the engine the library uses.
 */
#ifndef SOCKSIFY_SUPERVISE_H
#define SOCKSIFY_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socksify/config.h"

/* Checks that this kernel has what the supervisor needs (seccomp user
 * notification, pidfd_open, pidfd_getfd).  0, or -1 with the missing
 * feature named in why. */
int sup_check_kernel(char *why, size_t cap);

/* Runs exe (argv) under the supervisor and returns the status socksify
 * exits with: the program's own, or 128+N when it died by signal N and
 * the launcher could not die the same way.  Launcher errors before the
 * program runs exit 2 with a message. */
int sup_run(const struct cfg *cfg, const char *exe, char **argv);

/* ---- notify.c: answering one notification ---- */
struct sup_ctx {
	const struct cfg *cfg;
	int notify_fd;
	bool dns_remote;
	/* The supervisor's own DNS responders on loopback (dnsd.c). */
	struct sockaddr_in dns_udp, dns_tcp;
};
struct seccomp_notif;
/* Answers req (it is the caller's, and may be freed once this returns).
 * Never blocks the caller for long: a call that needs the chain or a
 * blocking connect is answered from a thread of its own. */
void sup_handle(struct sup_ctx *ctx, const struct seccomp_notif *req);

/* ---- dnsd.c: the DNS responders ---- */
/* Opens the UDP and TCP responders on 127.0.0.1 (ports picked by the
 * kernel) and starts the thread that answers them from the stand-in map.
 * 0, or -1 with errno. */
int dnsd_start(struct sup_ctx *ctx);

#endif
