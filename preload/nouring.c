/* nouring.c: io_uring kept out of a socksified process.
 *
 * io_uring submits connects and sends from the kernel's side, where no
 * hook sees them, and programs reach it with raw system calls (liburing
 * makes its own).  So at start-up the library installs a seccomp filter
 * under which io_uring_setup fails with ENOSYS, as on a kernel without it;
 * programs then fall back to epoll.  The filter is inherited by every
 * descendant, with or without the library.
 *
 * A filter needs no_new_privs unless the process may administer the
 * system: as root it is installed as it is; otherwise no_new_privs is set
 * first, and from then on a set-user-ID or file-capability program this
 * process or its descendants exec runs without the privileges it would
 * have gained (socksify(1) says so).  A process that already answers
 * ENOSYS (an inherited filter, or a kernel without io_uring) gets no
 * second filter.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "lib.h"

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#define X32_BIT 0x40000000

static int
install(void)
{
	/* io_uring_setup is 425 for x86_64, x32 (with its bit) and i386
	 * (int 0x80 from a 64-bit process). */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)X32_BIT),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (real_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0) == 0)
		return 0;
	if (errno != EACCES)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)real_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0);
}

void
nouring_init(void)
{
	int saved = errno;

	/* Zero entries: EINVAL where io_uring is open, ENOSYS where it is
	 * not (already filtered, or not in this kernel). */
	if (real_syscall(__NR_io_uring_setup, 0, 0, 0, 0, 0, 0) < 0 && errno == ENOSYS)
		goto out;
	if (install() != 0)
		log_msg(CFG_LOG_WARN, "cannot keep io_uring out of this process (seccomp: %s); "
		    "a program that uses it would go around the chain", strerror(errno));
out:
	errno = saved;
}
