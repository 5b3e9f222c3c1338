/* ahead.c: a second connection, in a thread, for the settled pass of a rerun (while every
 * node so far was cached). It does two jobs the run's own thread otherwise does in turn.
 *
 * First it reads ahead the cache entries the run is about to look up. A fully cached rerun
 * looks up one entry per node, by its key: 10 000 seeks in the key index and the table, a
 * seventh of its time. The keys are only known as the run computes them (each takes its
 * upstream's outputs), but a rerun's keys are mostly its last run's: the thread reads, in
 * the order of the nodes, the entry each node of the pipeline's last run used (its row's
 * cache_key), and nf_store_cache_hit takes an entry from here when its key was read, else
 * reads as before. The thread fills a table of AHEAD_SLOTS slots (open addressing, a key
 * kept within AHEAD_PROBES slots of its home or not at all); the caller probes and never
 * waits. An entry is taken once, by whoever swaps its slot to TAKEN, and freed then (its
 * fingerprint kept beside for the probes): a second lookup of the key reads the database.
 * Only the thread fills a slot, an empty one or a TAKEN one (which it owns): a slot once
 * filled is never empty again, so a probe still ends at the first empty slot, and the table
 * holds a few thousand entries whatever the pipeline's size (it held a slot and a
 * fingerprint for every node, 4 MB at 100 000). An entry left more than two windows behind
 * the lookups will not be taken (a key of the last run this one does not have: a parameter
 * changed back, a stage removed): the thread takes it back when it probes its slot, as a
 * lookup would, so that such entries do not fill the table. Each lookup first
 * marks its key as looked up (two bits of a filter), and the thread neither publishes an
 * entry whose key is marked nor keeps one marked after it published it: on a busy machine,
 * or with the scheduler's order unlike the last run's, the thread would otherwise publish
 * entries whose lookups had passed, held till the end and never taken. (The mark comes
 * before the probe and the check after the publish, all sequentially consistent, so at
 * least one of the two sees the other.) An entry read ahead is the one in the
 * database: a run replaces or deletes an entry only at the node that looked it up (a key
 * names its node), and the workspace lock keeps other runs out. The thread publishes at
 * most AHEAD_WINDOW entries beyond the lookups made, so that 100 000 nodes do not hold 25 MB.
 *
 * Then, until stopped, it copies what the run commits from the WAL into the database every
 * CHECKPOINT_EVERY_NS (a passive checkpoint, which the writer never waits for and which
 * copies only committed frames), so that the close, which checkpoints what is left, has
 * little left: that was a tenth of a cached rerun.
 *
 * The run stops it when a stage is about to run: lookups come at the pace of stages then,
 * and neither job is worth a core a stage could use. */
#include "config.h"
#include "ntflow/store.h"
#include "store-internal.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AHEAD_WINDOW 1024
#define AHEAD_SLOTS (8 * AHEAD_WINDOW)   /* a power of two */
#define AHEAD_PROBES 64
#define CHECKPOINT_EVERY_NS 2000000

/* Owned by whoever swaps its slot from it to TAKEN: the caller that takes it, or the thread
 * taking back one whose key was looked up meanwhile. Nobody reads an entry before owning it:
 * a slot's fingerprint is in fps. */
typedef struct ahead_entry {
	char *key;
	char *outputs_json, *out_digest, *metrics_json;
	int64_t run_id;
} ahead_entry;

static char taken_mark;
#define TAKEN ((ahead_entry *)(void *)&taken_mark)

struct nf_store_ahead {
	char *path, *pipeline;
	int64_t run_id;              /* the run about to look up: its last run is the one before */
	_Atomic(ahead_entry *) *slots;
	_Atomic uint32_t *fps;       /* the high half of key_hash of each slot's key (the low
	                              * half places it): written before its entry is published,
	                              * read by the caller after it sees the entry */
	size_t max_rows;             /* the entries it places at most: the run's nodes */
	uint32_t *nums;              /* the thread's own: how many rows it had handled when it
	                              * published each slot's entry (its place in the reading) */
	_Atomic uint64_t *looked;    /* the filter of the keys looked up: two bits a key */
	size_t looked_mask;          /* its bits - 1 */
	atomic_size_t lookups;       /* the caller's, for the window */
	atomic_size_t read;          /* entries published so far, less those taken back */
	atomic_bool finished;        /* the reading is over (for tests) */
	atomic_bool stop;
	pthread_mutex_t lock;        /* with wake: the stop, heard at once while it waits */
	pthread_cond_t wake;
	pthread_t thread;
};

static uint64_t
key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* Marks fp as looked up (mark) or tells whether it may have been. */
static bool
looked(nf_store_ahead *a, uint64_t fp, bool mark)
{
	size_t b1 = (size_t)(fp >> 7) & a->looked_mask, b2 = (size_t)(fp >> 35) & a->looked_mask;
	uint64_t m1 = UINT64_C(1) << (b1 % 64), m2 = UINT64_C(1) << (b2 % 64);

	if (mark) {
		atomic_fetch_or(&a->looked[b1 / 64], m1);
		atomic_fetch_or(&a->looked[b2 / 64], m2);
		return true;
	}
	return (atomic_load(&a->looked[b1 / 64]) & m1) && (atomic_load(&a->looked[b2 / 64]) & m2);
}

static char *
col_dup(sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	return t ? xstrdup((const char *)t) : NULL;
}

static void
entry_free(ahead_entry *e)
{
	if (!e || e == TAKEN)
		return;
	free(e->key);
	free(e->outputs_json);
	free(e->out_digest);
	free(e->metrics_json);
	free(e);
}

/* The fingerprint a slot keeps of hash fp. */
static uint32_t
slot_fp(uint64_t fp)
{
	return (uint32_t)(fp >> 32);
}

typedef enum { PUB_KEPT, PUB_DROPPED, PUB_TAKEN_BACK } pub_result;

/* Publishes e, of fingerprint fp and place num, in the first empty or TAKEN slot of its
 * probe (taking back on the way the entries two windows behind the lookups), unless an
 * entry of the same fingerprint is there: two nodes of the last run with one key (read
 * once), or two keys of one slot fingerprint (the second is left to the database); or
 * unless the probe has no room (the database answers). Then takes it back if its key was
 * looked up meanwhile (*placed counts the entries placed). e is freed unless kept. */
static pub_result
publish(nf_store_ahead *a, ahead_entry *e, uint64_t fp, uint32_t num, size_t *placed)
{
	size_t home = (size_t)fp & (AHEAD_SLOTS - 1), at = SIZE_MAX;
	size_t lookups = atomic_load_explicit(&a->lookups, memory_order_relaxed);
	ahead_entry *was = e;

	/* Only this thread fills slots, and only it changes a TAKEN one: what it sees empty
	 * or TAKEN here stays so until it fills it. */
	for (size_t d = 0; d < AHEAD_PROBES; d++) {
		size_t i = (home + d) & (AHEAD_SLOTS - 1);
		ahead_entry *in = atomic_load_explicit(&a->slots[i], memory_order_relaxed);

		/* Taken back as a lookup takes it (or taken by one meanwhile: TAKEN either way). */
		if (in && in != TAKEN && (size_t)a->nums[i] + 2 * AHEAD_WINDOW < lookups &&
		    atomic_compare_exchange_strong(&a->slots[i], &in, TAKEN)) {
			entry_free(in);
			in = TAKEN;
		}
		if (!in || in == TAKEN) {
			if (at == SIZE_MAX)
				at = i;
			if (!in)
				break;   /* nothing of this home beyond an empty slot */
		} else if (atomic_load_explicit(&a->fps[i], memory_order_relaxed) == slot_fp(fp)) {
			at = SIZE_MAX;
			break;
		}
	}
	if (at == SIZE_MAX) {
		entry_free(e);
		return PUB_DROPPED;
	}
	a->nums[at] = num;
	atomic_store_explicit(&a->fps[at], slot_fp(fp), memory_order_relaxed);
	atomic_store(&a->slots[at], e);
	(*placed)++;
	if (looked(a, fp, false) && atomic_compare_exchange_strong(&a->slots[at], &was, TAKEN)) {
		entry_free(e);
		return PUB_TAKEN_BACK;
	}
	return PUB_KEPT;
}

static void *
read_ahead(void *arg)
{
	nf_store_ahead *a = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	size_t handled = 0, kept = 0, placed = 0;   /* handled: kept, or dropped for want of room */
	const char *lag;
	const struct timespec pause = { 0, 100000 };

	/* No busy wait: an entry not read here is read by the lookup itself, a checkpoint not
	 * made here by the close. Read and write, for the checkpoint; it writes no row. */
	if (sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA cache_size = -512", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT c.key, c.outputs, c.out_digest, c.metrics, c.run_id"
			       " FROM nodes n JOIN cache_entries c ON c.key = n.cache_key"
			       " WHERE n.run_id = (SELECT max(id) FROM runs WHERE pipeline = ?1 AND id < ?2)"
			       " ORDER BY n.seq",
			       -1, &q, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, a->run_id);
	/* A test's thread that falls behind: it reads nothing until that many lookups. */
	if ((lag = nf_test_hook_value("NTFLOW_TEST_AHEAD_LAG")))
		while (atomic_load_explicit(&a->lookups, memory_order_relaxed) < strtoul(lag, NULL, 10) &&
		       !atomic_load_explicit(&a->stop, memory_order_relaxed))
			nanosleep(&pause, NULL);
	while (placed < a->max_rows && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		struct timespec wait = { 0, 50000 };
		ahead_entry *e;
		uint64_t fp;

		/* Polled, more slowly the longer it waits: lookups that stop (a pass that is
		 * over but not yet stopped) must not cost a core. */
		while (handled >= atomic_load_explicit(&a->lookups, memory_order_relaxed) + AHEAD_WINDOW &&
		       !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
			nanosleep(&wait, NULL);
			if (wait.tv_nsec < 5000000)
				wait.tv_nsec *= 2;
		}
		if (atomic_load_explicit(&a->stop, memory_order_relaxed) || sqlite3_step(q) != SQLITE_ROW)
			break;
		if (!sqlite3_column_text(q, 0) || !sqlite3_column_text(q, 1) || !sqlite3_column_text(q, 2) ||
		    looked(a, fp = key_hash((const char *)sqlite3_column_text(q, 0)), false))
			continue;   /* its lookup has passed: read from the database then */
		e = xcalloc(1, sizeof(*e));
		e->key = col_dup(q, 0);
		e->outputs_json = col_dup(q, 1);
		e->out_digest = col_dup(q, 2);
		e->metrics_json = col_dup(q, 3);
		e->run_id = sqlite3_column_int64(q, 4);
		switch (publish(a, e, fp, (uint32_t)handled, &placed)) {
		case PUB_KEPT:
			atomic_store_explicit(&a->read, ++kept, memory_order_release);
			handled++;
			break;
		case PUB_DROPPED:
			handled++;
			break;
		case PUB_TAKEN_BACK:
			break;
		}
	}
	atomic_store(&a->finished, true);
	sqlite3_finalize(q);
	q = NULL;
	/* Then what the run commits, copied from the WAL into the database here rather than
	 * by the close (the read above has ended: no snapshot of this connection holds the
	 * checkpoint back). */
	pthread_mutex_lock(&a->lock);
	while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += CHECKPOINT_EVERY_NS;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&a->wake, &a->lock, &until);
		if (atomic_load_explicit(&a->stop, memory_order_relaxed))
			break;
		pthread_mutex_unlock(&a->lock);
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
done:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return NULL;
}

void
nf_store_ahead_start(nf_store *st, const char *pipeline, int64_t run_id, size_t nodes)
{
	nf_store_ahead *a;
	size_t cap;

	if (!st || st->ahead || !st->path || !pipeline || nodes == 0 || !strcmp(st->path, ":memory:"))
		return;
	a = xcalloc(1, sizeof(*a));
	a->path = xstrdup(st->path);
	a->pipeline = xstrdup(pipeline);
	a->run_id = run_id;
	a->slots = xcalloc(AHEAD_SLOTS, sizeof(*a->slots));
	a->fps = xcalloc(AHEAD_SLOTS, sizeof(*a->fps));
	a->nums = xcalloc(AHEAD_SLOTS, sizeof(*a->nums));
	for (size_t i = 0; i < AHEAD_SLOTS; i++) {
		atomic_init(&a->slots[i], NULL);
		atomic_init(&a->fps[i], 0);
	}
	a->max_rows = nodes;
	/* 16 bits a node, two of them a key: under 2% of the keys not looked up seem so (and are
	 * read from the database). */
	cap = 4096;
	while (cap < 16 * nodes)
		cap *= 2;
	a->looked = xcalloc(cap / 64, sizeof(*a->looked));
	for (size_t i = 0; i < cap / 64; i++)
		atomic_init(&a->looked[i], 0);
	a->looked_mask = cap - 1;
	atomic_init(&a->finished, false);
	atomic_init(&a->lookups, 0);
	atomic_init(&a->read, 0);
	atomic_init(&a->stop, false);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	if (nf_thread_start(&a->thread, read_ahead, a) < 0) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->wake);
		free(a->slots);
		free(a->fps);
		free(a->nums);
		free(a->looked);
		free(a->pipeline);
		free(a->path);
		free(a);
		return;
	}
	st->ahead = a;
}

void
nf_store_ahead_stop(nf_store *st)
{
	nf_store_ahead *a = st ? st->ahead : NULL;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	atomic_store_explicit(&a->stop, true, memory_order_relaxed);
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
	for (size_t i = 0; i < AHEAD_SLOTS; i++)
		entry_free(atomic_load_explicit(&a->slots[i], memory_order_relaxed));
	free(a->slots);
	free(a->fps);
	free(a->nums);
	free(a->looked);
	free(a->pipeline);
	free(a->path);
	free(a);
	st->ahead = NULL;
}

size_t
nf_store_ahead_read(const nf_store *st)
{
	return st && st->ahead ? atomic_load_explicit(&st->ahead->read, memory_order_acquire) : 0;
}

bool
nf_store_ahead_finished(const nf_store *st)
{
	return st && st->ahead && atomic_load(&st->ahead->finished);
}

bool
nf_store__ahead_take(nf_store *st, const char *key, nf_cache_entry *out)
{
	nf_store_ahead *a = st->ahead;
	uint64_t fp = key_hash(key);
	ahead_entry *e;

	atomic_fetch_add_explicit(&a->lookups, 1, memory_order_relaxed);
	looked(a, fp, true);   /* before the probe: see the top of this file */
	for (size_t d = 0; d < AHEAD_PROBES; d++) {
		size_t i = ((size_t)fp + d) & (AHEAD_SLOTS - 1);

		if (!(e = atomic_load(&a->slots[i])))
			break;
		/* A TAKEN slot's fingerprint may be of whatever it held: the probe goes on. */
		if (e == TAKEN || atomic_load_explicit(&a->fps[i], memory_order_relaxed) != slot_fp(fp))
			continue;
		/* The one live entry of this fingerprint: ours now (which may still be another
		 * key's), or taken meanwhile (by the thread taking it back). The fingerprint read
		 * is the entry's or a later one's: the thread changes it only in a TAKEN slot, and
		 * then the swap fails. */
		if (!atomic_compare_exchange_strong(&a->slots[i], &e, TAKEN))
			return false;
		if (strcmp(e->key, key) != 0) {
			entry_free(e);
			return false;
		}
		memset(out, 0, sizeof(*out));
		out->outputs_json = e->outputs_json;
		out->out_digest = e->out_digest;
		out->metrics_json = e->metrics_json;
		out->run_id = e->run_id;
		free(e->key);
		free(e);
		return true;
	}
	return false;
}
