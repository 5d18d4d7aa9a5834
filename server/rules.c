/* rules.c: the users and address rules in force, replaced whole on SIGHUP.
 *
 * A set of rules is a copy of the configuration with its own users,
 * --allow and --deny-dest arrays, and a count of who holds it: the set in
 * force, each event loop (it takes the newest once per batch of events, so
 * nothing it checks can be freed under it), and each session (its user
 * points into the set it logged in with).  The last one to let go frees
 * it.  Only taking a reference to the set in force needs the lock. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "srv.h"

struct rules_box {
	struct srv_cfg cfg;          /* first: a cfg pointer is a box pointer */
	atomic_uint refs;
	bool owned;                  /* the arrays are this box's to free */
};

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rules_box *rules_cur;
static atomic_uint rules_gen;

static struct rules_box *
box_of(const struct srv_cfg *c)
{
	return (struct rules_box *)((char *)c - offsetof(struct rules_box, cfg));
}

int
srv_rules_init(const struct srv_cfg *cfg)
{
	struct rules_box *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	/* The first set shares the start-up configuration's arrays, which
	 * main.c frees at exit. */
	b->cfg = *cfg;
	atomic_init(&b->refs, 1);
	rules_cur = b;
	return 0;
}

const struct srv_cfg *
srv_rules_get(void)
{
	struct rules_box *b;

	pthread_mutex_lock(&rules_lock);
	b = rules_cur;
	if (b != NULL)
		atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&rules_lock);
	return b != NULL ? &b->cfg : NULL;
}

const struct srv_cfg *
srv_rules_ref(const struct srv_cfg *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&box_of(c)->refs, 1, memory_order_relaxed);
	return c;
}

void
srv_rules_put(const struct srv_cfg *c)
{
	struct rules_box *b;

	if (c == NULL)
		return;
	b = box_of(c);
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (b->owned) {
		srv_users_free(&b->cfg);
		free(b->cfg.allow);
		free(b->cfg.deny);
	}
	free(b);
}

void
srv_rules_refresh(const struct srv_cfg **held, unsigned *gen)
{
	unsigned g = atomic_load_explicit(&rules_gen, memory_order_acquire);

	if (g == *gen)
		return;
	*gen = g;
	srv_rules_put(*held);
	*held = srv_rules_get();
}

int
srv_rules_replace(struct srv_cfg *fresh)
{
	struct rules_box *b = calloc(1, sizeof(*b)), *old;

	if (b == NULL)
		return -1;
	/* Everything else stays as it started: only these are re-read. */
	b->cfg = srv_g.cfg;
	b->cfg.users = fresh->users;
	b->cfg.nusers = fresh->nusers;
	b->cfg.allow = fresh->allow;
	b->cfg.nallow = fresh->nallow;
	b->cfg.deny = fresh->deny;
	b->cfg.ndeny = fresh->ndeny;
	b->owned = true;
	atomic_init(&b->refs, 1);
	fresh->users = NULL;
	fresh->nusers = 0;
	fresh->allow = fresh->deny = NULL;
	fresh->nallow = fresh->ndeny = 0;
	pthread_mutex_lock(&rules_lock);
	old = rules_cur;
	rules_cur = b;
	pthread_mutex_unlock(&rules_lock);
	atomic_fetch_add_explicit(&rules_gen, 1, memory_order_release);
	srv_rules_put(old != NULL ? &old->cfg : NULL);
	return 0;
}

void
srv_rules_fini(void)
{
	struct rules_box *b = rules_cur;

	rules_cur = NULL;
	srv_rules_put(b != NULL ? &b->cfg : NULL);
}
