/* statcache.c: the stat cache of content hashes (table statcache), behind the cache module's
 * nf_statcache interface: a row per path with the stat data it was hashed under. Best
 * effort throughout: a statement that fails is a miss or a lost put, never an error, and
 * never the store's failure (the cache only ever saves work). */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static sqlite3_stmt *
prepared(nf_store *st, sqlite3_stmt **q, const char *sql)
{
	if (!*q && sqlite3_prepare_v2(st->db, sql, -1, q, NULL) != SQLITE_OK) {
		sqlite3_finalize(*q);
		*q = NULL;
	}
	return *q;
}

/* A preloaded path's value in the map: SC_PENDING until the read that looked for it
 * completed (a failed read leaves the path to the queries), then SC_ABSENT, or its row.
 * An absent path costs its key and a slot, no row: a workspace's first run preloads
 * every output without finding one (issue 15: 100 000 outputs held 19 MB). */
struct sc_row {
	nf_statkey key;
	unsigned char sha[32];   /* the hash's bytes, not its 65 characters */
	uint32_t pos;            /* in a window: its place among the rows the window read */
};
static char sc_pending_mark, sc_absent_mark;
#define SC_PENDING ((void *)&sc_pending_mark)
#define SC_ABSENT ((void *)&sc_absent_mark)

/* A row for (key, sha) in arena a, sha being 64 hex digits (NULL when it is not). */
static struct sc_row *
new_row(nf_arena *a, const nf_statkey *key, const char *sha)
{
	struct sc_row *r = nf_arena_alloc(a, sizeof(*r));

	r->key = *key;
	if (nf_hex_decode(r->sha, 32, sha) < 0)
		return NULL;
	return r;
}

/* The Bloom filter of the paths put since a preload found the table empty: about 10 bits
 * a path and 7 probes, so that under 1% of the other paths' gets ask the table. */
#define SEEN_BITS_PER_PATH 10
#define SEEN_PROBES 7

/* Marks path as seen (add) or tells whether it may have been. */
static bool
seen(struct nf_store_statcache *c, const char *path, bool add)
{
	uint64_t h = nf_str_hash(path);
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;

	for (uint32_t i = 0; i < SEEN_PROBES; i++) {
		size_t bit = (size_t)(h1 + i * h2) & (c->seen_bits - 1);

		if (add)
			c->seen[bit / 64] |= UINT64_C(1) << (bit % 64);
		else if (!(c->seen[bit / 64] & (UINT64_C(1) << (bit % 64))))
			return false;
	}
	return true;
}

/* Paths a preload statement asks for at once: the IN list of batch_stmt's statement. */
#define SC_BATCH 64

/* The rows a window reads (store-internal.h: win, SC_WINDOWS of them). */
#define SC_WINDOW 1024

struct sc_window {
	nf_strmap *map;   /* path -> struct sc_row */
	nf_arena *arena;  /* the paths and rows */
	uint32_t n;       /* the rows read */
};

static void
window_free(struct sc_window *w)
{
	if (!w)
		return;
	nf_strmap_free(w->map);
	nf_arena_free(w->arena);
	free(w);
}

/* Reads the next SC_WINDOW rows of the table, in rowid order, as the newest window, and lets
 * go of the oldest. A failed read ends the windows (what was read stays): the gets left ask
 * the table. */
static void
window_read(struct nf_store_statcache *c)
{
	sqlite3_stmt *q;
	struct sc_window *w;
	uint32_t scanned = 0;
	int rc;

	c->win_misses = 0;
	if (c->win_end)
		return;
	q = prepared(c->st, &c->window, "SELECT rowid, path, size, mtime_ns, inode, ctime_ns, sha256"
				      " FROM statcache WHERE rowid > ?1 ORDER BY rowid LIMIT ?2");
	if (!q) {
		c->win_end = true;
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->map = nf_strmap_new(SC_WINDOW);
	w->arena = nf_arena_new();
	sqlite3_bind_int64(q, 1, c->win_after);
	sqlite3_bind_int(q, 2, SC_WINDOW);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(q, 1);
		nf_statkey key;
		struct sc_row *r;

		c->win_after = sqlite3_column_int64(q, 0);
		scanned++;
		if (!path || sqlite3_column_bytes(q, 6) != 64)
			continue;
		key.size = sqlite3_column_int64(q, 2);
		key.mtime_ns = sqlite3_column_int64(q, 3);
		key.inode = sqlite3_column_int64(q, 4);
		key.ctime_ns = sqlite3_column_int64(q, 5);
		if (!(r = new_row(w->arena, &key, (const char *)sqlite3_column_text(q, 6))))
			continue;
		r->pos = w->n++;
		nf_strmap_put(w->map, nf_arena_strdup(w->arena, path), r);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE || scanned < SC_WINDOW)
		c->win_end = true;
	if (!w->n) {
		window_free(w);
		return;
	}
	window_free(c->win[SC_WINDOWS - 1]);
	memmove(&c->win[1], &c->win[0], (SC_WINDOWS - 1) * sizeof(c->win[0]));
	c->win[0] = w;
}

/* The row of path in the windows, the newest first, copied out. A hit in the second half of
 * the newest reads the next window; so do SC_WINDOW gets in a row that none answered, so
 * that lookups in another order than the table's still move the windows along. */
static bool
window_get(struct nf_store_statcache *c, const char *path, nf_statkey *key, char sha[65])
{
	for (int i = 0; i < SC_WINDOWS && c->win[i]; i++) {
		const struct sc_row *r = nf_strmap_get(c->win[i]->map, path);

		if (!r)
			continue;
		*key = r->key;
		nf_hex_encode(sha, r->sha, 32);
		c->win_misses = 0;
		if (i == 0 && r->pos >= c->win[0]->n / 2)
			window_read(c);
		return true;
	}
	if (++c->win_misses >= SC_WINDOW)
		window_read(c);
	return false;
}

/* A put of path: the windows holding it follow the table. */
static void
window_put(struct nf_store_statcache *c, const char *path, const nf_statkey *key, const char *sha)
{
	static const nf_statkey never = { -1, -1, -1, -1 };

	for (int i = 0; i < SC_WINDOWS && c->win[i]; i++) {
		struct sc_row *r = nf_strmap_get(c->win[i]->map, path);

		if (r && nf_hex_decode(r->sha, 32, sha) == 0)
			r->key = *key;
		else if (r)
			r->key = never;   /* no file has that stat: a miss, and the file hashed again */
	}
}

static bool
sc_get(nf_statcache *sc, const char *path, nf_statkey *key, char sha[65])
{
	struct nf_store_statcache *c = (struct nf_store_statcache *)sc;
	void *v = c->rows ? nf_strmap_get(c->rows, path) : NULL;
	sqlite3_stmt *q;
	bool hit = false;

	if (v == SC_ABSENT || (!v && c->none_before && !seen(c, path, false)))
		return false;
	if (v && v != SC_PENDING) {
		const struct sc_row *r = v;

		*key = r->key;
		nf_hex_encode(sha, r->sha, 32);
		return true;
	}
	if (c->windowed && window_get(c, path, key, sha))
		return true;
	q = prepared(c->st, &c->get, "SELECT size, mtime_ns, inode, ctime_ns, sha256"
				   " FROM statcache WHERE path = ?1");
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	c->asked++;
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 4) == 64) {
		key->size = sqlite3_column_int64(q, 0);
		key->mtime_ns = sqlite3_column_int64(q, 1);
		key->inode = sqlite3_column_int64(q, 2);
		key->ctime_ns = sqlite3_column_int64(q, 3);
		memcpy(sha, sqlite3_column_text(q, 4), 64);
		sha[64] = '\0';
		hit = true;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return hit;
}

static void
sc_put(nf_statcache *sc, const char *path, const nf_statkey *key, const char *sha)
{
	struct nf_store_statcache *c = (struct nf_store_statcache *)sc;
	void *v = c->rows ? nf_strmap_get(c->rows, path) : NULL;
	sqlite3_stmt *q;

	/* The preloaded row follows the table's (even when the write below fails: what it
	 * says stays true of the file in this process). The map keeps its own key. */
	if (v && v != SC_PENDING && v != SC_ABSENT) {
		struct sc_row *r = v;

		r->key = *key;
		if (nf_hex_decode(r->sha, 32, sha) < 0)
			nf_strmap_put(c->rows, path, SC_PENDING);
	} else if (v) {
		struct sc_row *r = new_row(c->rows_arena, key, sha);

		nf_strmap_put(c->rows, path, r ? (void *)r : SC_PENDING);
	} else if (c->none_before) {
		seen(c, path, true);
	} else if (c->windowed) {
		window_put(c, path, key, sha);
	}
	q = prepared(c->st, &c->put, "INSERT OR REPLACE INTO statcache"
				   "(path, size, mtime_ns, inode, ctime_ns, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (!q)
		return;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, key->size);
	sqlite3_bind_int64(q, 3, key->mtime_ns);
	sqlite3_bind_int64(q, 4, key->inode);
	sqlite3_bind_int64(q, 5, key->ctime_ns);
	sqlite3_bind_text(q, 6, sha, 64, SQLITE_STATIC);
	sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

static void
sc_begin(nf_statcache *sc)
{
	sqlite3_exec(((struct nf_store_statcache *)sc)->st->db, "SAVEPOINT nf_statcache", NULL, NULL, NULL);
}

static void
sc_end(nf_statcache *sc)
{
	sqlite3_exec(((struct nf_store_statcache *)sc)->st->db, "RELEASE nf_statcache", NULL, NULL, NULL);
}

/* The statement reading the rows of up to SC_BATCH paths (unbound ones are NULL, which
 * matches no path). */
static sqlite3_stmt *
batch_stmt(nf_store *st)
{
	nf_buf sql = NF_BUF_INIT;

	if (!st->statcache.batch) {
		nf_buf_puts(&sql, "SELECT path, size, mtime_ns, inode, ctime_ns, sha256 FROM statcache WHERE path IN (");
		for (int i = 1; i <= SC_BATCH; i++)
			nf_buf_printf(&sql, i > 1 ? ", ?%d" : "?%d", i);
		nf_buf_putc(&sql, ')');
		prepared(st, &st->statcache.batch, nf_buf_cstr(&sql));
		nf_buf_release(&sql);
	}
	return st->statcache.batch;
}

/* The rows q returns (path, size, mtime_ns, inode, ctime_ns, sha256) put into the entries
 * of the map not yet known; the others are skipped. The last step's result. */
static int
fill(struct nf_store_statcache *c, sqlite3_stmt *q)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(q, 0);
		nf_statkey key;
		struct sc_row *r;

		if (!path || nf_strmap_get(c->rows, path) != SC_PENDING || sqlite3_column_bytes(q, 5) != 64)
			continue;
		key.size = sqlite3_column_int64(q, 1);
		key.mtime_ns = sqlite3_column_int64(q, 2);
		key.inode = sqlite3_column_int64(q, 3);
		key.ctime_ns = sqlite3_column_int64(q, 4);
		if ((r = new_row(c->rows_arena, &key, (const char *)sqlite3_column_text(q, 5))))
			nf_strmap_put(c->rows, path, r);   /* the key is there: only its value changes */
	}
	return rc;
}

/* The number of rows of the table (counted from its pages, without reading a row), or -1. */
static int64_t
row_count(nf_store *st)
{
	sqlite3_stmt *q = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM statcache", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* Sets up the preload of n paths the first time (the table empty: none_before; about as
 * many rows as paths: windows); whether the paths themselves are to be read (a map). */
static bool
preload_mode(nf_store *st, size_t n)
{
	struct nf_store_statcache *c = &st->statcache;
	int64_t rows = -1;

	if (c->none_before || c->windowed)
		return false;   /* still none but this process's, which rows holds; or read as it goes */
	if (!c->rows && (rows = row_count(st)) == 0) {
		/* Nothing to read, and no entry per path to hold: 100 000 outputs took 5 MB. */
		c->rows = nf_strmap_new(64);
		c->rows_arena = nf_arena_new();
		c->none_before = true;
		c->seen_bits = 4096;
		while (c->seen_bits < n * SEEN_BITS_PER_PATH)
			c->seen_bits *= 2;
		c->seen = xcalloc(c->seen_bits / 64, sizeof(uint64_t));
		return false;
	}
	if (!c->rows && rows > 0 && (uint64_t)rows <= 2 * (uint64_t)n + 1024) {
		/* Not many more rows than paths: the table read in its order costs less than a
		 * seek in the path index per path, and in windows it holds a few thousand rows
		 * at a time, not one per output. */
		c->windowed = true;
		window_read(c);
		return false;
	}
	if (!c->rows) {
		c->rows = nf_strmap_new(n);
		c->rows_arena = nf_arena_new();
	}
	return true;
}

bool
nf_store_statcache_preload_wants(nf_store *st, size_t n)
{
	return st && n && nf_store_statcache(st) && preload_mode(st, n);
}

void
nf_store_statcache_preload(nf_store *st, const char *const *paths, size_t n)
{
	struct nf_store_statcache *c = st ? &st->statcache : NULL;
	const char **fresh;
	size_t nfresh = 0;
	int64_t rows;
	sqlite3_stmt *q = NULL;
	int rc = SQLITE_DONE;

	if (!nf_store_statcache_preload_wants(st, n))
		return;
	/* Each path entered without a row (not known yet): what the reads find fills it. */
	fresh = xmalloc(n * sizeof(*fresh));
	for (size_t i = 0; i < n; i++) {
		char *p;

		if (nf_strmap_get(c->rows, paths[i]))
			continue;
		p = nf_arena_strdup(c->rows_arena, paths[i]);
		nf_strmap_put(c->rows, p, SC_PENDING);
		fresh[nfresh++] = p;
	}
	rows = nfresh ? row_count(st) : -1;
	if (rows >= 0 && (uint64_t)rows <= 2 * (uint64_t)nfresh + 1024) {
		/* Not many more rows than paths: the whole table read in its order costs less
		 * than a seek in the path index per path. */
		if (sqlite3_prepare_v2(st->db, "SELECT path, size, mtime_ns, inode, ctime_ns, sha256 FROM statcache",
				       -1, &q, NULL) == SQLITE_OK)
			rc = fill(c, q);
		else
			rc = SQLITE_ERROR;
		sqlite3_finalize(q);
	} else if (rows >= 0 && (q = batch_stmt(st))) {
		/* SC_BATCH paths a statement, looked up in the path index. */
		for (size_t i = 0; i < nfresh && rc == SQLITE_DONE; i += SC_BATCH) {
			for (size_t k = i; k < nfresh && k < i + SC_BATCH; k++)
				sqlite3_bind_text(q, (int)(k - i + 1), fresh[k], -1,
						  SQLITE_STATIC);
			rc = fill(c, q);
			sqlite3_reset(q);
			sqlite3_clear_bindings(q);
		}
	} else {
		rc = SQLITE_ERROR;
	}
	/* A failed read leaves these paths to the queries: their entries may lack a row. */
	for (size_t i = 0; i < nfresh && rc == SQLITE_DONE; i++)
		if (nf_strmap_get(c->rows, fresh[i]) == SC_PENDING)
			nf_strmap_put(c->rows, fresh[i], SC_ABSENT);
	free(fresh);
}

unsigned long
nf_store_statcache_asked(const nf_store *st)
{
	return st ? st->statcache.asked : 0;
}

size_t
nf_store_statcache_held(const nf_store *st)
{
	size_t n = 0;

	if (!st)
		return 0;
	for (int i = 0; i < SC_WINDOWS && st->statcache.win[i]; i++)
		n += st->statcache.win[i]->n;
	return n + (st->statcache.rows ? nf_strmap_count(st->statcache.rows) : 0);
}

nf_statcache *
nf_store_statcache(nf_store *st)
{
	if (!st)
		return NULL;
	if (!st->statcache.st) {
		st->statcache.ops.get = sc_get;
		st->statcache.ops.put = sc_put;
		st->statcache.ops.begin = sc_begin;
		st->statcache.ops.end = sc_end;
		st->statcache.st = st;
	}
	return &st->statcache.ops;
}

void
nf_store__statcache_close(nf_store *st)
{
	sqlite3_finalize(st->statcache.get);
	sqlite3_finalize(st->statcache.put);
	sqlite3_finalize(st->statcache.batch);
	sqlite3_finalize(st->statcache.window);
	st->statcache.get = st->statcache.put = st->statcache.batch = st->statcache.window = NULL;
	for (int i = 0; i < SC_WINDOWS; i++) {
		window_free(st->statcache.win[i]);
		st->statcache.win[i] = NULL;
	}
	st->statcache.windowed = st->statcache.win_end = false;
	st->statcache.win_after = 0;
	st->statcache.win_misses = 0;
	nf_strmap_free(st->statcache.rows);
	nf_arena_free(st->statcache.rows_arena);
	st->statcache.rows = NULL;
	st->statcache.rows_arena = NULL;
	st->statcache.none_before = false;
	free(st->statcache.seen);
	st->statcache.seen = NULL;
	st->statcache.seen_bits = 0;
	nf_hash_racy_free(&st->statcache.ops);
}
