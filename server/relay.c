/* relay.c: moving bytes both ways between client and target.
 *
 * A direction starts with plain read()/write() through the loop's scratch
 * buffer, so short exchanges cost no allocation and no extra fds.  Once a
 * read fills the whole buffer the direction is bulk: it gets its own pipe
 * and moves data with splice(), which keeps the bytes in the kernel.
 * Bytes the destination will not take yet are held (heap copy or pipe) and
 * the source is not read again until they are gone.  EOF on one side is
 * passed on as shutdown(SHUT_WR) on the other; the session ends when both
 * directions are done, or when the open one has been quiet for the
 * half-close time.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srv.h"

/* Bytes one session may move per wake-up before others get their turn. */
#define RELAY_BUDGET (1u << 20)
#define RELAY_PIPE_SIZE (1 << 20)

/* The pipe size the system last granted; per thread, so loops never
 * share a written variable. */
static __thread size_t pipe_cap = 65536;

static void
dir_splice_on(struct srv_dir *x)
{
	int sz;

	if (pipe2(x->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		x->pipe[0] = x->pipe[1] = -1;
		x->no_splice = true;
		return;
	}
	/* A bigger pipe means fewer splice calls per byte; the default size
	 * is kept when the system limit says no. */
	sz = fcntl(x->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
	if (sz < 0)
		sz = fcntl(x->pipe[1], F_GETPIPE_SZ);
	if (sz > 0)
		pipe_cap = (size_t)sz;
}

/* Moves what direction d holds to its destination.  1: nothing is held
 * any more; 0: the destination is full; -1: error (errno). */
static int
dir_flush(struct srv_session *s, int d)
{
	struct srv_dir *x = &s->dir[d];
	int dst = s->fd[!d];
	ssize_t n;

	while (x->pend_len > 0) {
		if (!s->wr[!d])
			return 0;
		n = write(dst, x->pend + x->pend_off, x->pend_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->wr[!d] = false;
				return 0;
			}
			return -1;
		}
		x->pend_off += (uint32_t)n;
		x->pend_len -= (uint32_t)n;
		s->bytes[d] += (uint64_t)n;
	}
	if (x->pend != NULL) {
		if (x->pend_heap)
			free(x->pend);
		x->pend = NULL;
		x->pend_heap = false;
		x->pend_off = 0;
	}
	while (x->pipe_len > 0) {
		if (!s->wr[!d])
			return 0;
		n = splice(x->pipe[0], NULL, dst, NULL, x->pipe_len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->wr[!d] = false;
				return 0;
			}
			return -1;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		x->pipe_len -= (uint32_t)n;
		s->bytes[d] += (uint64_t)n;
	}
	return 1;
}

/* One read through the scratch buffer, written straight on; what the
 * destination refuses is copied aside.  Returns bytes read, 0 at EOF,
 * -1 with errno. */
static ssize_t
dir_copy(struct srv_session *s, int d)
{
	struct srv_dir *x = &s->dir[d];
	ssize_t n, w = 0;

	do
		n = read(s->fd[d], srv_w->scratch, SRV_SCRATCH);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	/* A short read emptied the socket: the next data brings a new edge.
	 * Not so for an EOF that came with the data: that edge is spent. */
	if (n < SRV_SCRATCH && !s->hup[d])
		s->rd[d] = false;
	while (w < n && s->wr[!d]) {
		ssize_t m = write(s->fd[!d], srv_w->scratch + w, (size_t)(n - w));
		if (m < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->wr[!d] = false;
				break;
			}
			return -1;
		}
		w += m;
	}
	s->bytes[d] += (uint64_t)w;
	if (w < n) {
		x->pend = malloc((size_t)(n - w));
		if (x->pend == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(x->pend, srv_w->scratch + w, (size_t)(n - w));
		x->pend_heap = true;
		x->pend_off = 0;
		x->pend_len = (uint32_t)(n - w);
	} else if (n == SRV_SCRATCH && !x->no_splice) {
		dir_splice_on(x);
	}
	return n;
}

static ssize_t
dir_splice_in(struct srv_session *s, int d)
{
	struct srv_dir *x = &s->dir[d];
	ssize_t n;

	do
		n = splice(s->fd[d], NULL, x->pipe[1], NULL, pipe_cap,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		x->pipe_len = (uint32_t)n;
	return n;
}

/* Runs direction d as far as it goes.  0, or -1 on error (errno). */
static int
dir_pump(struct srv_session *s, int d, size_t *budget)
{
	struct srv_dir *x = &s->dir[d];
	ssize_t n;

	while (!x->done) {
		int rc = dir_flush(s, d);
		if (rc <= 0)
			return rc;
		if (x->eof) {
			/* When the other way is done too, close() follows at once
			 * and says the same. */
			if (!s->dir[!d].done)
				shutdown(s->fd[!d], SHUT_WR);
			x->done = true;
			break;
		}
		if (!s->rd[d])
			break;
		if (*budget == 0) {
			srv_ready_again(s);
			break;
		}
		if (x->pipe[0] >= 0)
			n = dir_splice_in(s, d);
		else
			n = dir_copy(s, d);
		if (n == 0) {
			x->eof = true;
		} else if (n < 0) {
			if (errno != EAGAIN)
				return -1;
			s->rd[d] = false;
		} else {
			*budget = (size_t)n >= *budget ? 0 : *budget - (size_t)n;
		}
	}
	return 0;
}

void
srv_relay_pump(struct srv_session *s)
{
	size_t budget = RELAY_BUDGET;
	uint64_t before = s->bytes[0] + s->bytes[1];
	bool half = s->dir[0].eof || s->dir[1].eof;

	for (int d = 0; d < 2; d++) {
		if (dir_pump(s, d, &budget) != 0) {
			int err = errno;
			SRV_DEBUG("relay: %s", strerror(err));
			/* A peer that resets or stops reading ends a session that
			 * worked; anything else is the server's own trouble. */
			srv_session_end(s, (err == ECONNRESET || err == EPIPE) ?
			    SRV_R_OK : SRV_R_ERROR);
			return;
		}
	}
	if (s->bytes[0] + s->bytes[1] != before)
		s->last_ms = srv_w->loop.now;
	if (s->dir[0].done && s->dir[1].done) {
		srv_session_end(s, SRV_R_OK);
		return;
	}
	/* A BIND is its client's: once the client has closed its connection
	 * and what it sent has reached the peer, the peer is let go too rather
	 * than kept for a client that is most likely gone. */
	if (s->cmd == SRV_CMD_BIND && s->dir[0].done) {
		srv_session_end(s, SRV_R_OK);
		return;
	}
	/* The first EOF either way starts the half-close limit. */
	if (!half && (s->dir[0].eof || s->dir[1].eof))
		srv_arm_idle(s);
}

void
srv_relay_start(struct srv_session *s)
{
	s->state = SRV_ST_RELAY;
	s->last_ms = srv_w->loop.now;
	srv_arm_idle(s);
	/* Bytes that came after the request go to the target first. */
	if (s->in_len > 0) {
		s->dir[0].pend = s->in;
		s->dir[0].pend_heap = false;
		s->dir[0].pend_off = 0;
		s->dir[0].pend_len = s->in_len;
		s->in_len = 0;
	}
	srv_relay_pump(s);
}

void
srv_relay_free(struct srv_session *s)
{
	for (int d = 0; d < 2; d++) {
		struct srv_dir *x = &s->dir[d];
		if (x->pipe[0] >= 0) {
			close(x->pipe[0]);
			close(x->pipe[1]);
			x->pipe[0] = x->pipe[1] = -1;
		}
		if (x->pend_heap)
			free(x->pend);
		x->pend = NULL;
		x->pend_heap = false;
		x->pend_len = 0;
	}
}
