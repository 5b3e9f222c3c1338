/* statcache.c: the stat cache of content hashes (table statcache), behind the cache module's
 * nf_statcache interface: a row per path with the stat data it was hashed under. Best
 * effort throughout: a statement that fails is a miss or a lost put, never an error, and
 * never the store's failure (the cache only ever saves work). */
#include "config.h"
#include "ntflow/store.h"

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

static bool
sc_get(nf_statcache *sc, const char *path, nf_statkey *key, char sha[65])
{
	struct nf_store_statcache *c = (struct nf_store_statcache *)sc;
	sqlite3_stmt *q = prepared(c->st, &c->get, "SELECT size, mtime_ns, inode, ctime_ns, sha256"
				   " FROM statcache WHERE path = ?1");
	bool hit = false;

	if (!q)
		return false;
	sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
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
	sqlite3_stmt *q = prepared(c->st, &c->put, "INSERT OR REPLACE INTO statcache"
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
	st->statcache.get = st->statcache.put = NULL;
}
