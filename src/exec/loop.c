/* loop.c: the event loop, in the shape of redis's ae.c. Whoever owns an event source
 * registers it: file events (a descriptor becoming readable) and timers (a moment on the
 * loop's clock). A turn sleeps in ppoll() until a file is ready, the soonest timer is due or
 * the caller's deadline comes, then calls the handlers: files first, then due timers in
 * order of time and, for equal times, of registration. A handler may add or remove any
 * event, its own included; a removed one is never called after its removal. With a virtual
 * clock (nf_clock.skip_to set) the loop never sleeps: it looks at its files without
 * waiting and, when none is ready, moves the clock to the next wake-up. */
#include "config.h"
#include "ntflow/exec.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"

typedef struct file_ev {
	int fd;
	nf_loop_file_fn fn;
	void *ctx;
	bool live;
} file_ev;

typedef struct timer_slot {
	uint32_t gen;                /* odd: armed */
	nf_loop_timer_fn fn;
	void *ctx;
	size_t next_free;
} timer_slot;

typedef struct timer_ent {
	int64_t when;
	uint64_t seq;
	uint32_t slot, gen;
} timer_ent;

struct nf_loop {
	nf_clock *clock;
	file_ev *files;
	size_t nfiles, files_cap;
	struct pollfd *pfds;
	size_t pfds_cap;
	timer_slot *slots;
	size_t nslots, slots_cap, free_head;
	nf_heap timers;
	uint64_t seq;
	bool stop;
	int stop_err;
};

static int
timer_cmp(const void *a, const void *b, void *ctx)
{
	const timer_ent *x = a, *y = b;

	(void)ctx;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
nf_loop_new(nf_loop **out, nf_clock *clock)
{
	nf_loop *l = xcalloc(1, sizeof(*l));

	l->clock = clock ? clock : nf_clock_system();
	l->free_head = (size_t)-1;
	nf_heap_init(&l->timers, sizeof(timer_ent), timer_cmp, NULL);
	*out = l;
	return 0;
}

void
nf_loop_free(nf_loop *l)
{
	if (!l)
		return;
	free(l->files);
	free(l->pfds);
	free(l->slots);
	nf_heap_release(&l->timers);
	free(l);
}

nf_clock *
nf_loop_clock(nf_loop *l)
{
	return l->clock;
}

int
nf_loop_add_file(nf_loop *l, int fd, nf_loop_file_fn fn, void *ctx)
{
	if (fd < 0)
		return nf_error_set(NF_EINVALID, "cannot watch file descriptor %d", fd);
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].live && l->files[i].fd == fd)
			return nf_error_set(NF_EEXISTS, "file descriptor %d is already watched", fd);
	l->files = xgrow(l->files, sizeof(*l->files), l->nfiles + 1, &l->files_cap);
	l->files[l->nfiles++] = (file_ev){ fd, fn, ctx, true };
	return 0;
}

void
nf_loop_del_file(nf_loop *l, int fd)
{
	/* Marked dead, compacted at the start of the next turn: a turn going through the
	 * array keeps its indexes. */
	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].live && l->files[i].fd == fd)
			l->files[i].live = false;
}

int64_t
nf_loop_add_timer(nf_loop *l, int64_t when_ms, nf_loop_timer_fn fn, void *ctx)
{
	size_t slot;
	timer_ent e;

	if (l->free_head != (size_t)-1) {
		slot = l->free_head;
		l->free_head = l->slots[slot].next_free;
	} else {
		slot = l->nslots;
		l->slots = xgrow(l->slots, sizeof(*l->slots), ++l->nslots, &l->slots_cap);
		l->slots[slot].gen = 0;
	}
	l->slots[slot].gen++;   /* odd: armed */
	l->slots[slot].fn = fn;
	l->slots[slot].ctx = ctx;
	e = (timer_ent){ when_ms, l->seq++, (uint32_t)slot, l->slots[slot].gen };
	nf_heap_push(&l->timers, &e);
	return ((int64_t)e.gen << 32 | (int64_t)slot) + 1;
}

static void
release_slot(nf_loop *l, size_t slot)
{
	l->slots[slot].gen++;   /* even: free; queued entries of it are stale */
	l->slots[slot].next_free = l->free_head;
	l->free_head = slot;
}

void
nf_loop_del_timer(nf_loop *l, int64_t id)
{
	size_t slot;
	uint32_t gen;

	if (id <= 0)
		return;
	slot = (size_t)((id - 1) & 0xffffffff);
	gen = (uint32_t)((id - 1) >> 32);
	if (slot < l->nslots && l->slots[slot].gen == gen)
		release_slot(l, slot);
}

void
nf_loop_stop(nf_loop *l, int err)
{
	l->stop = true;
	if (err < 0 && l->stop_err == 0)
		l->stop_err = err;
}

/* The soonest armed timer's time, or -1; stale entries are dropped on the way. */
static int64_t
next_timer(nf_loop *l)
{
	const timer_ent *top;
	timer_ent e;

	while ((top = nf_heap_peek(&l->timers)) != NULL) {
		if (l->slots[top->slot].gen == top->gen)
			return top->when;
		nf_heap_pop(&l->timers, &e);
	}
	return -1;
}

static void
compact_files(nf_loop *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->nfiles; i++)
		if (l->files[i].live)
			l->files[k++] = l->files[i];
	l->nfiles = k;
}

/* Calls the due timers, soonest first; those a handler adds for now or earlier run in the
 * same turn, after the ones already due. Returns how many ran. */
static int
fire_timers(nf_loop *l)
{
	int64_t now = l->clock->now_ms(l->clock);
	int n = 0;

	while (!l->stop) {
		int64_t when = next_timer(l);
		timer_ent e;
		timer_slot *s;
		nf_loop_timer_fn fn;
		void *ctx;

		if (when < 0 || when > now)
			break;
		nf_heap_pop(&l->timers, &e);
		s = &l->slots[e.slot];
		fn = s->fn;
		ctx = s->ctx;
		release_slot(l, e.slot);   /* one-shot: the handler may arm it again */
		n++;
		if (fn)
			fn(l, ((int64_t)e.gen << 32 | (int64_t)e.slot) + 1, ctx);
	}
	return n;
}

int
nf_loop_turn(nf_loop *l, int64_t deadline_ms)
{
	bool virtual_clock = l->clock->skip_to != NULL;
	int64_t wake, now;
	size_t nf;
	int n = 0, rc;

	l->stop = false;
	l->stop_err = 0;
	compact_files(l);
	wake = next_timer(l);
	if (deadline_ms >= 0 && (wake < 0 || deadline_ms < wake))
		wake = deadline_ms;
	nf = l->nfiles;
	l->pfds = xgrow(l->pfds, sizeof(*l->pfds), nf ? nf : 1, &l->pfds_cap);
	for (size_t i = 0; i < nf; i++)
		l->pfds[i] = (struct pollfd){ l->files[i].fd, POLLIN, 0 };
	now = l->clock->now_ms(l->clock);
	if (virtual_clock) {
		rc = nf ? poll(l->pfds, nf, 0) : 0;
		if (rc == 0) {
			if (wake < 0)
				return nf_error_set(NF_EINVALID, "the event loop would wait for ever: "
						    "no timer, no deadline and nothing on a virtual clock");
			if (wake > now)
				l->clock->skip_to(l->clock, wake);
		}
	} else {
		struct timespec ts, *tsp = NULL;

		if (wake >= 0) {
			int64_t left = wake > now ? wake - now : 0;

			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			tsp = &ts;
		} else if (nf == 0) {
			return 0;   /* nothing could ever wake us */
		}
		rc = ppoll(l->pfds, nf, tsp, NULL);
		/* A signal ended the sleep: its handler wrote to a watched pipe before returning,
		 * so look again without waiting rather than report a turn where nothing ran. */
		if (rc < 0 && errno == EINTR)
			rc = poll(l->pfds, nf, 0);
	}
	if (rc < 0 && errno != EINTR)
		return nf_error_set_errno(NF_ERROR, "ppoll");
	for (size_t i = 0; rc > 0 && i < nf && !l->stop; i++) {
		file_ev *f = &l->files[i];

		/* Removed by an earlier handler of this turn: not called. */
		if (!f->live || !(l->pfds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n++;
		if (f->fn)
			f->fn(l, f->fd, f->ctx);
	}
	n += fire_timers(l);
	return l->stop_err < 0 ? l->stop_err : n;
}
