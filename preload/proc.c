/* proc.c: which process the library's state belongs to.
 *
 * The owner's pid sits alone in a page marked MADV_WIPEONFORK.  A fork()
 * child gets a new address space in which that page reads as zero, so it
 * knows it has its own copy of everything and takes it over.  A vfork()
 * child or a clone(CLONE_VM) child shares the parent's memory, page and
 * all: it reads the parent's pid, not its own, and keeps its hands off.
 * This needs no fork handler, so it also holds for children made by raw
 * clone() or by _Fork(), which run none.
 */
#include <sys/mman.h>

#include <pthread.h>
#include <unistd.h>

#include "lib.h"

static pid_t *owner;          /* in the wipe-on-fork page */
static pid_t owner_fallback;  /* when the kernel has no such page */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
child_after_fork(void)
{
	/* Only needed for the fallback: the page wipes itself. */
	__atomic_store_n(&owner_fallback, getpid(), __ATOMIC_RELAXED);
}

static void
setup(void)
{
	void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED && madvise(p, (size_t)sysconf(_SC_PAGESIZE),
	    MADV_WIPEONFORK) == 0) {
		*(pid_t *)p = getpid();
		__atomic_store_n(&owner, (pid_t *)p, __ATOMIC_RELEASE);
		return;
	}
	if (p != MAP_FAILED)
		munmap(p, (size_t)sysconf(_SC_PAGESIZE));
	owner_fallback = getpid();
	pthread_atfork(NULL, NULL, child_after_fork);
}

void
proc_init(void)
{
	pthread_once(&once, setup);
}

bool
proc_owns_state(void)
{
	pid_t me = getpid(), o, zero = 0;
	pid_t *page;

	proc_init();
	page = __atomic_load_n(&owner, __ATOMIC_ACQUIRE);
	if (page == NULL)
		return __atomic_load_n(&owner_fallback, __ATOMIC_RELAXED) == me;
	o = __atomic_load_n(page, __ATOMIC_ACQUIRE);
	if (o == me)
		return true;
	/* Zero: a fresh address space (a fork child); the first to look
	 * claims it. */
	if (o == 0 && (__atomic_compare_exchange_n(page, &zero, me, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || zero == me))
		return true;
	return false;
}
