/* cache.c: the cache tables of the state database: entries (key -> outputs), each node's
 * key and miss reason, and what a run ran on (commit, branch, dirty paths). */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/cachekey.h"
#include "store-internal.h"

void
nf_cache_entry_release(nf_cache_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->node);
	free(e->outputs_json);
	free(e->out_digest);
	free(e->metrics_json);
	free(e->components);
	free(e->commit);
	memset(e, 0, sizeof(*e));
}

void
nf_cache_entry_list_free(nf_cache_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nf_cache_entry_release(&e[i]);
	free(e);
}

static void
entry_from_row(nf_cache_entry *e, sqlite3_stmt *q)
{
	e->key = nf_store__col_strdup(q, 0);
	e->node = nf_store__col_strdup(q, 1);
	e->outputs_json = nf_store__col_strdup(q, 2);
	e->out_digest = nf_store__col_strdup(q, 3);
	e->metrics_json = nf_store__col_strdup(q, 4);
	e->components = nf_store__col_strdup(q, 5);
	e->run_id = sqlite3_column_int64(q, 6);
	e->commit = nf_store__col_strdup(q, 7);
	e->created_ms = sqlite3_column_int64(q, 8);
}

/* The entry of key: every column (full), or those nf_store_cache_hit gives. */
static int
cache_read(nf_store *st, const char *key, nf_cache_entry *out, bool full)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (!full && st->ahead && nf_store__ahead_take(st, key, out))
		return 0;
	if (!(q = nf_store__stmt(st, full ? SQL_CACHE_GET : SQL_CACHE_HIT)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && full) {
		entry_from_row(out, q);
	} else if (rc == SQLITE_ROW) {
		out->outputs_json = nf_store__col_strdup(q, 0);
		out->out_digest = nf_store__col_strdup(q, 1);
		out->metrics_json = nf_store__col_strdup(q, 2);
		out->run_id = sqlite3_column_int64(q, 3);
	} else if (rc == SQLITE_DONE) {
		err = nf_error_set(NF_ENOTFOUND, "no cache entry %.12s", key);
	} else {
		err = nf_store__error(st, rc, "cannot read the cache");
	}
	sqlite3_reset(q);
	return err;
}

int
nf_store_cache_get(nf_store *st, const char *key, nf_cache_entry *out)
{
	return cache_read(st, key, out, true);
}

int
nf_store_cache_hit(nf_store *st, const char *key, nf_cache_entry *out)
{
	return cache_read(st, key, out, false);
}

int
nf_store_cache_put(nf_store *st, const char *pipeline, const nf_cache_entry *e)
{
	sqlite3_stmt *q;
	int err;

	/* Refused whole, as when the components were a NOT NULL column of the entry. */
	if (!e->key || (!e->components && !e->components_in_node))
		return nf_error_set(NF_EINVALID, "cannot record a cache entry: no %s", e->key ? "components" : "key");
	if ((err = nf_store__batch(st)) < 0)
		return err;
	/* The components of an entry this one replaces go with it (a trigger: schema step 24). */
	if (!(q = nf_store__stmt(st, SQL_CACHE_PUT)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, e->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, e->node, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, e->outputs_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, e->out_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, e->metrics_json ? e->metrics_json : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, e->run_id);
	if (e->commit)
		sqlite3_bind_text(q, 8, e->commit, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, e->created_ms);
	if ((err = nf_store__step_done(st, q, "cannot record a cache entry")) < 0 || e->components_in_node)
		return err;
	/* Keyed by the entry's rowid, just given: appended, where a key would land anywhere. */
	if (!(q = nf_store__stmt(st, SQL_CACHE_COMPONENTS_PUT)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, e->components, -1, SQLITE_STATIC);
	return nf_store__step_done(st, q, "cannot record a cache entry");
}

int
nf_store_cache_any(nf_store *st)
{
	sqlite3_stmt *q;
	int rc, any;

	if (!(q = nf_store__stmt(st, SQL_CACHE_ANY)))
		return NF_ERROR;
	rc = sqlite3_step(q);
	any = rc == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return nf_store__error(st, rc, "cannot read the cache");
	return any;
}

int
nf_store_cache_list(nf_store *st, nf_cache_entry **out, size_t *n)
{
	sqlite3_stmt *q;
	nf_cache_entry *items = NULL;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!(q = nf_store__stmt(st, SQL_CACHE_LIST)))
		return NF_ERROR;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_cache_entry e;

		entry_from_row(&e, q);
		NF_PUSH(items, count, cap, e);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		nf_cache_entry_list_free(items, count);
		return nf_store__error(st, rc, "cannot list the cache");
	}
	*out = items;
	*n = count;
	return 0;
}

int
nf_store_cache_each(nf_store *st, int (*fn)(void *ctx, const nf_cache_entry *e), void *ctx)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	if (!(q = nf_store__stmt(st, SQL_CACHE_EACH)))
		return NF_ERROR;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_cache_entry e = {
			.key = (char *)sqlite3_column_text(q, 0),
			.node = (char *)sqlite3_column_text(q, 1),
			.outputs_json = (char *)sqlite3_column_text(q, 2),
			.run_id = sqlite3_column_int64(q, 3),
			.created_ms = sqlite3_column_int64(q, 4),
		};

		if ((err = fn(ctx, &e)) < 0)
			break;
	}
	sqlite3_reset(q);
	if (err < 0)
		return err;
	return rc == SQLITE_DONE ? 0 : nf_store__error(st, rc, "cannot read the cache");
}

int
nf_store_cache_delete(nf_store *st, const char *key)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0)
		return err;
	/* Its components row, if any, goes with it (a trigger: schema step 24). */
	if (!(q = nf_store__stmt(st, SQL_CACHE_DELETE)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	return nf_store__step_done(st, q, "cannot drop a cache entry");
}

static void
bind_opt(sqlite3_stmt *q, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, col);
}

int
nf_store_node_cache(nf_store *st, int64_t run_id, const char *node, const char *key,
		    const char *components, bool cached, int64_t reused_run, const char *miss_reason)
{
	sqlite3_stmt *q;
	int64_t id;
	int err;

	if ((err = nf_store__batch(st)) < 0 || (err = nf_store__node_id(st, run_id, node, &id)) < 0)
		return err;
	nf_store__note_cached(st, run_id, id, cached);
	/* A hit: written with the node's state at the sync, one row write instead of two
	 * (a cached rerun writes nothing else per stage). */
	if (cached && key && !components && !miss_reason) {
		nf_store__node_hit(st, id, key, reused_run);
		return 0;
	}
	nf_store__node_hit_forget(st, id);
	if (!(q = nf_store__stmt(st, SQL_NODE_CACHE)))
		return NF_ERROR;
	bind_opt(q, 1, key);
	bind_opt(q, 2, components);
	sqlite3_bind_int(q, 3, cached);
	if (reused_run > 0)
		sqlite3_bind_int64(q, 4, reused_run);
	bind_opt(q, 5, miss_reason);
	sqlite3_bind_int64(q, 6, id);
	st->state_writes++;
	if ((err = nf_store__step_done(st, q, "cannot record the stage's cache key")) < 0 || cached || !key)
		return err;
	return nf_store__node_first_keyed(st, id);
}

int
nf_store_node_cache_miss(nf_store *st, int64_t run_id, const char *node, const char *key,
			 const char *components, const char *pipeline)
{
	int64_t id;
	int err;

	if ((err = nf_store__batch(st)) < 0 || (err = nf_store__node_id(st, run_id, node, &id)) < 0)
		return err;
	nf_store__note_cached(st, run_id, id, false);
	/* Written with the node's state at the sync, like a hit: one row write instead of two
	 * (a stage that runs writes its state in the same batch, most of the time). */
	nf_store__node_miss(st, id, key, components, pipeline, node);
	return 0;
}

int
nf_store_run_cache_keys(nf_store *st, int64_t run_id, void (*fn)(void *ctx, const char *key), void *ctx)
{
	sqlite3_stmt *q;
	int rc;

	if (!(q = nf_store__stmt(st, SQL_RUN_CACHE_KEYS)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return nf_store__error(st, rc, "cannot read the run's cache keys");
	return 0;
}

int
nf_store_node_cache_get(nf_store *st, int64_t run_id, const char *node, nf_node_cache_info *out)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (!(q = nf_store__stmt(st, SQL_NODE_CACHE_GET)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->key = nf_store__col_strdup(q, 0);
		out->cached = sqlite3_column_int(q, 1) != 0;
		out->reused_run = sqlite3_column_int64(q, 2);
		out->miss_reason = nf_store__col_strdup(q, 3);
		out->components = nf_store__col_strdup(q, 4);
		/* Recorded lazily: explained now from the components the key was compared with. */
		if (!out->miss_reason && sqlite3_column_type(q, 5) != SQLITE_NULL) {
			const char *prev = sqlite3_column_int64(q, 5) > 0 ? (const char *)sqlite3_column_text(q, 6) : NULL;

			out->miss_reason = nf_key_explain(prev, out->components);
		}
	} else if (rc == SQLITE_DONE) {
		err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'", (long long)run_id, node);
	} else {
		err = nf_store__error(st, rc, "cannot read the stage");
	}
	sqlite3_reset(q);
	return err;
}

void
nf_node_cache_info_release(nf_node_cache_info *c)
{
	if (!c)
		return;
	free(c->key);
	free(c->miss_reason);
	free(c->components);
	memset(c, 0, sizeof(*c));
}

int
nf_store_run_repro(nf_store *st, int64_t run_id, const char *commit, const char *branch,
		   bool dirty, const char *dirty_paths_json, const char *dag_sha256, const char *version)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0)
		return err;
	if (!(q = nf_store__stmt(st, SQL_RUN_REPRO)))
		return NF_ERROR;
	bind_opt(q, 1, commit);
	bind_opt(q, 2, branch);
	sqlite3_bind_int(q, 3, dirty);
	sqlite3_bind_text(q, 4, dirty_paths_json ? dirty_paths_json : "[]", -1, SQLITE_STATIC);
	bind_opt(q, 5, dag_sha256);
	bind_opt(q, 6, version);
	sqlite3_bind_int64(q, 7, run_id);
	return nf_store__step_done(st, q, "cannot record what the run ran on");
}

int
nf_store_run_repro_get(nf_store *st, int64_t run_id, nf_run_repro *out)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (!(q = nf_store__stmt(st, SQL_RUN_REPRO_GET)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->branch = nf_store__col_strdup(q, 0);
		out->dirty_paths_json = nf_store__col_strdup(q, 1);
		out->dag_sha256 = nf_store__col_strdup(q, 2);
		out->version = nf_store__col_strdup(q, 3);
	} else if (rc == SQLITE_DONE) {
		err = nf_error_set(NF_ENOTFOUND, "no run %lld", (long long)run_id);
	} else {
		err = nf_store__error(st, rc, "cannot read the run");
	}
	sqlite3_reset(q);
	return err;
}

void
nf_run_repro_release(nf_run_repro *r)
{
	if (!r)
		return;
	free(r->branch);
	free(r->dirty_paths_json);
	free(r->dag_sha256);
	free(r->version);
	memset(r, 0, sizeof(*r));
}
