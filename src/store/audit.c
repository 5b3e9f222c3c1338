/* audit.c: the audit chain's rows (gov/audit.c hashes and judges them): appending a
 * record, the chain's last record, a run's record hashes and its Merkle root, listing
 * records and roots, and the reads the verification walks through. */
#include "config.h"
#include "ntflow/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static int
db_error(nf_store *st, const char *what)
{
	return nf_store__table_error(st, sqlite3_errcode(st->db), what);
}

/* Whether the head kept in the store is the chain's: read or written in the batch still
 * open (one SQLite did not roll back on an error). */
static bool
head_known(nf_store *st)
{
	return st->in_batch && st->audit_head_gen == st->batch_gen && st->audit_head_gen != 0 &&
	       !sqlite3_get_autocommit(st->db);
}

static void
head_set(nf_store *st, int64_t seq, const char *hash)
{
	if (!st->in_batch || sqlite3_get_autocommit(st->db) || strlen(hash) != 64) {
		st->audit_head_gen = 0;
		return;
	}
	st->audit_head_gen = st->batch_gen;
	st->audit_head_seq = seq;
	memcpy(st->audit_head_hash, hash, 65);
}

int
nf_store_audit_last(nf_store *st, int64_t *seq, char hash[65])
{
	sqlite3_stmt *q;
	int rc;

	*seq = 0;
	if (head_known(st)) {
		*seq = st->audit_head_seq;
		memcpy(hash, st->audit_head_hash, 65);
		return 0;
	}
	if (!(q = nf_store__stmt(st, SQL_AUDIT_LAST)))
		return NF_ERROR;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(q, 1);

		*seq = sqlite3_column_int64(q, 0);
		snprintf(hash, 65, "%s", h ? (const char *)h : "");
		head_set(st, *seq, hash);
	} else if (rc != SQLITE_DONE) {
		sqlite3_reset(q);
		return db_error(st, "cannot read the audit log");
	}
	sqlite3_reset(q);
	return 0;
}

int
nf_store_audit_insert(nf_store *st, const nf_audit_record *r)
{
	sqlite3_stmt *q = nf_store__stmt(st, SQL_AUDIT_INSERT);
	int err = 0;

	if (!q)
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, r->seq);
	sqlite3_bind_int64(q, 2, r->time_ms);
	if (r->run_id > 0)
		sqlite3_bind_int64(q, 3, r->run_id);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_text(q, 4, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, r->payload, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, r->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, r->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, r->mac_kind, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot append to the audit log");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (err == 0)
		head_set(st, r->seq, r->hash);
	else
		st->audit_head_gen = 0;
	return err;
}

/* Collects the hashes nf_store_audit_run_hashes_each streams. */
struct hash_list {
	char **hs;
	size_t n, cap;
};

static int
push_hash(void *ctx, const char *hash)
{
	struct hash_list *l = ctx;

	NF_PUSH(l->hs, l->n, l->cap, xstrdup(hash));
	return 0;
}

/* The hashes of a run's records up to last_seq (all when last_seq <= 0), in order. */
int
nf_store_audit_run_hashes(nf_store *st, int64_t run_id, int64_t last_seq, char ***out, size_t *n, int64_t *max_seq)
{
	struct hash_list l = { 0 };
	size_t seen;
	int err = nf_store_audit_run_hashes_each(st, run_id, last_seq, push_hash, &l, &seen, max_seq);

	if (err < 0) {
		for (size_t i = 0; i < l.n; i++)
			free(l.hs[i]);
		free(l.hs);
		l.hs = NULL;
		l.n = 0;
	}
	*out = l.hs;
	*n = l.n;
	return err;
}

int
nf_store_audit_run_hashes_each(nf_store *st, int64_t run_id, int64_t last_seq,
			       int (*fn)(void *ctx, const char *hash), void *ctx, size_t *n, int64_t *max_seq)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*n = 0;
	if (max_seq)
		*max_seq = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT seq, hash FROM audit WHERE run_id = ?1 AND (?2 <= 0 OR seq <= ?2)"
			       " ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_int64(q, 2, last_seq);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(q, 1);

		if ((err = fn(ctx, h ? (const char *)h : "")) != 0)
			break;
		++*n;
		if (max_seq)
			*max_seq = sqlite3_column_int64(q, 0);
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = db_error(st, "cannot read the audit log");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_audit_emptied_each(nf_store *st, int64_t run_id,
			    int (*fn)(void *ctx, int64_t seq, int64_t time_ms, const char *kind, const char *hash),
			    void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT seq, time_ms, kind, hash FROM audit WHERE run_id = ?1 AND payload = ''"
			       " ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(q, 2), *hash = (const char *)sqlite3_column_text(q, 3);

		if ((err = fn(ctx, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), kind ? kind : "",
			      hash ? hash : "")) != 0)
			break;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = db_error(st, "cannot read the audit log");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_audit_root_put(nf_store *st, int64_t run_id, const char *root, int64_t count, int64_t last_seq,
			int64_t created_ms)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO audit_roots (run_id, root, count, last_seq, created_ms)"
			       " VALUES (?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot record the run's Merkle root");
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, count);
	sqlite3_bind_int64(q, 4, last_seq);
	sqlite3_bind_int64(q, 5, created_ms);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot record the run's Merkle root");
	sqlite3_finalize(q);
	return err;
}

void
nf_audit_record_release(nf_audit_record *r)
{
	free(r->kind);
	free(r->payload);
	free(r->prev_hash);
	free(r->hash);
	free(r->mac_kind);
	memset(r, 0, sizeof(*r));
}

void
nf_audit_record_list_free(nf_audit_record *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		nf_audit_record_release(&r[i]);
	free(r);
}

static char *
col_dup(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	return xstrdup(s ? (const char *)s : "");
}

static void
read_record(sqlite3_stmt *q, nf_audit_record *r)
{
	r->seq = sqlite3_column_int64(q, 0);
	r->time_ms = sqlite3_column_int64(q, 1);
	r->run_id = sqlite3_column_type(q, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 2);
	r->kind = col_dup(q, 3);
	r->payload = col_dup(q, 4);
	r->prev_hash = col_dup(q, 5);
	r->hash = col_dup(q, 6);
	r->mac_kind = col_dup(q, 7);
}

#define RECORD_COLS "seq, time_ms, run_id, kind, payload, prev_hash, hash, mac_kind"

int
nf_audit_list(nf_store *st, int64_t run_id, nf_audit_record **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_audit_record *rs = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	/* A run's records, and the prune records about it: those carry no run id (a run's Merkle
	 * root covers what it wrote itself) but name it in their payload (gov/prune.c). */
	if (sqlite3_prepare_v2(st->db, "SELECT " RECORD_COLS " FROM audit WHERE ?1 <= 0 OR run_id = ?1"
			       " OR (kind = 'prune' AND run_id IS NULL AND json_valid(payload)"
			       " AND json_extract(payload, '$.run') = ?1) ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rs = xgrow(rs, sizeof(*rs), *n + 1, &cap);
		memset(&rs[*n], 0, sizeof(*rs));
		read_record(q, &rs[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(st, "cannot read the audit log");
		nf_audit_record_list_free(rs, *n);
		rs = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = rs;
	return err;
}

int
nf_audit_roots(nf_store *st, int64_t run_id, nf_audit_root **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_audit_root *rs = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT run_id, root, count, last_seq, created_ms FROM audit_roots"
			       " WHERE ?1 <= 0 OR run_id = ?1 ORDER BY run_id", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_audit_root *r;
		const unsigned char *root = sqlite3_column_text(q, 1);

		rs = xgrow(rs, sizeof(*rs), *n + 1, &cap);
		r = &rs[(*n)++];
		memset(r, 0, sizeof(*r));
		r->run_id = sqlite3_column_int64(q, 0);
		snprintf(r->root, sizeof(r->root), "%s", root ? (const char *)root : "");
		r->count = sqlite3_column_int64(q, 2);
		r->last_seq = sqlite3_column_int64(q, 3);
		r->created_ms = sqlite3_column_int64(q, 4);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(st, "cannot read the audit log");
		free(rs);
		rs = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = rs;
	return err;
}

int
nf_store_audit_scan(nf_store *st, int (*fn)(void *ctx, nf_audit_record *r), void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT " RECORD_COLS " FROM audit ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	for (;;) {
		nf_audit_record r = { 0 };

		rc = sqlite3_step(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			err = db_error(st, "cannot read the audit log");
			break;
		}
		if (rc == SQLITE_DONE) {
			err = fn(ctx, NULL);
			break;
		}
		read_record(q, &r);
		err = fn(ctx, &r);
		nf_audit_record_release(&r);
		if (err)
			break;
	}
	sqlite3_finalize(q);
	return err;
}

int
nf_store_audit_run_end(nf_store *st, int64_t run_id, int64_t *seq, char **payload)
{
	sqlite3_stmt *q = NULL;
	int found = 0;

	*seq = 0;
	*payload = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT seq, payload FROM audit WHERE run_id = ? AND kind = 'run-end'"
			       " ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_step(q) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(q, 0);
		*payload = nf_store__col_strdup(q, 1);
		found = 1;
	}
	sqlite3_finalize(q);
	return found;
}

int
nf_store_audit_orphan_end(nf_store *st, int64_t *seq, int64_t *run_id)
{
	sqlite3_stmt *q = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT a.seq, a.run_id FROM audit a LEFT JOIN audit_roots r"
			       " ON r.run_id = a.run_id WHERE a.kind = 'run-end'"
			       " AND r.run_id IS NULL ORDER BY a.seq LIMIT 1", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the audit log");
	if (sqlite3_step(q) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(q, 0);
		*run_id = sqlite3_column_int64(q, 1);
		found = 1;
	}
	sqlite3_finalize(q);
	return found;
}
