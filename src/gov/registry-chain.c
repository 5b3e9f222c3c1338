/* registry-chain.c: the model registry as its audit chain tells it. Every change of a
 * model_versions row is recorded, whole, in the audit record of the change (its payload's
 * "rows"), in the transaction that makes it; replaying the chain gives what each row must
 * hold, so an edit made outside ntflow (a production version swapped, an artifact and its
 * hash replaced, metrics changed) shows as a difference naming the version and the field.
 * Whatever changes the registry checks first and refuses a registry that disagrees;
 * `registry verify --repair` puts back the rows the chain records.
 *
 * Records written before rows were recorded tell a row's status (a registration also its
 * artifact's SHA-256, a promotion its forced flag, reason and actor) and nothing else; the
 * first check that finds the rest agreeing records the rows whole as a baseline. */
#include "config.h"
#include "ntflow/gov.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry-internal.h"

/* What the chain says of one version. */
typedef struct expect {
	char *key;                  /* "MODEL\nVERSION": the index's key */
	char *model;
	int version;
	cJSON *row;                 /* the columns the chain records, by name */
	bool full;                  /* every column (a row recorded whole) */
	bool gone;                  /* removed by a restore */
	bool seen;                  /* the table has it (compare) */
} expect;

typedef struct chain {
	expect *v;
	size_t n, cap;
	nf_strmap *index;           /* key -> index + 1 */
	bool any_rows;              /* some record holds whole rows: a row it never named was added */
	char **lines;               /* problems with the records themselves */
	size_t nlines, lines_cap;
} chain;

/* One difference or one repair. */
static void NF_PRINTF(2, 3)
add_line(nf_registry_chain_report *r, const char *fmt, ...)
{
	size_t cap = r->n;
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	r->lines = xgrow(r->lines, sizeof(*r->lines), r->n + 1, &cap);
	r->lines[r->n++] = line;
}

void
nf_registry_chain_report_release(nf_registry_chain_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i]);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

static void
chain_release(chain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].model);
		cJSON_Delete(c->v[i].row);
	}
	free(c->v);
	for (size_t i = 0; i < c->nlines; i++)
		free(c->lines[i]);
	free(c->lines);
	nf_strmap_free(c->index);
	memset(c, 0, sizeof(*c));
}

static expect *
find(chain *c, const char *model, int version, bool create)
{
	char *key = xasprintf("%s\n%d", model, version);
	uintptr_t at = (uintptr_t)nf_strmap_get(c->index, key);
	expect *e;

	if (at || !create) {
		free(key);
		return at ? &c->v[at - 1] : NULL;
	}
	c->v = xgrow(c->v, sizeof(*c->v), c->n + 1, &c->cap);
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->model = xstrdup(model);
	e->version = version;
	e->row = cJSON_CreateObject();
	/* The key lives in its own allocation (the array may move, it does not); the index
	 * holds positions, not pointers. */
	nf_strmap_put(c->index, e->key, (void *)(uintptr_t)c->n);
	return e;
}

/* ---- rows as JSON ---- */

int
nf_registry__add_rows(cJSON *payload, nf_store *st, const char *model, const int *versions, size_t n)
{
	cJSON *rows = cJSON_GetObjectItemCaseSensitive(payload, "rows");

	if (!rows)
		rows = cJSON_AddArrayToObject(payload, "rows");
	return nf_store_model_rows_of(rows, st, model, versions, n);
}

/* ---- replaying the chain ---- */

static const char *
str_of(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int
int_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 2147483647.0 ? (int)v->valuedouble : 0;
}

static void
set_field(cJSON *row, const char *name, cJSON *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(row, name);
	cJSON_AddItemToObject(row, name, value);
}

/* An older record changes a few columns of a version and others it does not tell (the
 * times): what the chain knows of the row shrinks to the columns it told. */
static expect *
legacy_touch(chain *c, const char *model, int version, const char *status)
{
	expect *e = find(c, model, version, true);

	if (e->full) {
		cJSON_DeleteItemFromObjectCaseSensitive(e->row, "promoted_ms");
		cJSON_DeleteItemFromObjectCaseSensitive(e->row, "archived_ms");
		e->full = false;
	}
	e->gone = false;
	set_field(e->row, "model", cJSON_CreateString(model));
	set_field(e->row, "version", cJSON_CreateNumber(version));
	set_field(e->row, "status", cJSON_CreateString(status));
	return e;
}

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A record from before rows were recorded: what its payload tells of the rows. */
static void
replay_legacy(chain *c, const char *kind, const cJSON *p)
{
	const char *model = str_of(p, "model");
	int version = int_of(p, "version"), other;
	expect *e;

	if (!model || !version)
		return;
	if (strcmp(kind, NF_AUDIT_REGISTER) == 0) {
		const char *status = str_of(p, "status"), *sha = str_of(p, "sha256");

		if ((other = int_of(p, "archived")))
			legacy_touch(c, model, other, "archived");
		if (!status)
			return;
		e = legacy_touch(c, model, version, status);
		if (sha)
			set_field(e->row, "artifact_sha256", cJSON_CreateString(sha));
	} else if (strcmp(kind, NF_AUDIT_PROMOTE) == 0 || strcmp(kind, NF_AUDIT_ROLLBACK) == 0) {
		bool rollback = strcmp(kind, NF_AUDIT_ROLLBACK) == 0;

		if ((other = int_of(p, "previous")))
			legacy_touch(c, model, other, rollback ? "rolled-back" : "archived");
		e = legacy_touch(c, model, version, "production");
		set_field(e->row, "forced", cJSON_CreateNumber(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "forced"))));
		set_field(e->row, "reason", str_or_null(str_of(p, "reason")));
		set_field(e->row, "actor", str_or_null(str_of(p, "actor")));
	} else if (strcmp(kind, NF_AUDIT_CORRUPT) == 0) {
		legacy_touch(c, model, version, "corrupt");
	}
}

static void
replay_record(chain *c, const char *kind, const cJSON *p)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(p, "rows");
	const cJSON *removed = cJSON_GetObjectItemCaseSensitive(p, "removed");
	const cJSON *it;

	if (!cJSON_IsArray(rows)) {
		replay_legacy(c, kind, p);
		return;
	}
	c->any_rows = true;
	cJSON_ArrayForEach(it, removed) {
		const char *model = str_of(it, "model");
		expect *e = model ? find(c, model, int_of(it, "version"), false) : NULL;

		if (e)
			e->gone = true;
	}
	cJSON_ArrayForEach(it, rows) {
		const char *model = str_of(it, "model");
		int version = int_of(it, "version");
		expect *e;

		if (!model || !version)
			continue;
		e = find(c, model, version, true);
		cJSON_Delete(e->row);
		e->row = cJSON_Duplicate(it, true);
		e->full = true;
		e->gone = false;
	}
}

static void NF_PRINTF(2, 3)
chain_problem(chain *c, const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	NF_PUSH(c->lines, c->nlines, c->lines_cap, line);
}

/* One record that changes rows, with the prev_hash of the record after it (NULL: last). */
typedef struct replay_scan {
	chain *c;
	nf_audit *a;
} replay_scan;

static void
replay_one(void *ctx, const nf_audit_record *r, const char *next)
{
	replay_scan *s = ctx;
	chain *c = s->c;
	cJSON *p;
	int ok;

	ok = nf_audit_record_matches(s->a, r);
	if (ok == 0)
		chain_problem(c, "audit record %" PRId64 " (%s) was edited: its %s does not match its contents",
			      r->seq, r->kind, strcmp(r->mac_kind, "hmac") == 0 ? "HMAC" : "hash");
	else if (ok < 0)
		nf_error_clear();   /* an HMAC without the key: the rows are still compared */
	if (next && strcmp(next, r->hash) != 0)
		chain_problem(c, "audit record %" PRId64 " (%s) was replaced: record %" PRId64 " does not follow it",
			      r->seq, r->kind, r->seq + 1);
	if ((p = cJSON_Parse(r->payload)) && cJSON_IsObject(p))
		replay_record(c, r->kind, p);
	else
		chain_problem(c, "audit record %" PRId64 " (%s) was edited: its payload is not JSON", r->seq, r->kind);
	cJSON_Delete(p);
}

/* Replays every record that changes rows, oldest first. Each is checked on the way: its
 * hash against its contents (an HMAC only with the key), and that the next record follows
 * it, so that an edit of a record's payload alone does not pass for the truth. */
static int
replay(chain *c, nf_store *st)
{
	static const char *const kinds[] = { NF_AUDIT_REGISTER, NF_AUDIT_PROMOTE, NF_AUDIT_ROLLBACK, NF_AUDIT_CORRUPT,
					     NF_AUDIT_BASELINE, NF_AUDIT_RESTORE };
	replay_scan r = { c, NULL };
	int err;

	memset(c, 0, sizeof(*c));
	c->index = nf_strmap_new(64);
	if ((err = nf_audit_open(&r.a, st)) < 0)
		return err;
	err = nf_store_audit_scan_kinds(st, kinds, sizeof(kinds) / sizeof(kinds[0]), replay_one, &r);
	nf_audit_free(r.a);
	return err;
}

/* ---- comparing ---- */

/* A value for a message: 'text' (long ones cut), numbers as they are, null. */
static char *
show_value(const cJSON *v)
{
	char *canon, *r;

	if (!v)
		return xstrdup("nothing");
	if (cJSON_IsString(v)) {
		size_t len = strlen(v->valuestring);

		return len > 72 ? xasprintf("'%.60s...' (%zu bytes)", v->valuestring, len)
				: xasprintf("'%s'", v->valuestring);
	}
	canon = nf_audit_canonical_json(v);
	r = strlen(canon) > 72 ? xasprintf("%.60s...", canon) : xstrdup(canon);
	free(canon);
	return r;
}

static bool
same(const cJSON *a, const cJSON *b)
{
	char *x = nf_audit_canonical_json(a), *y = nf_audit_canonical_json(b);
	bool eq = strcmp(x, y) == 0;

	free(x);
	free(y);
	return eq;
}

/* Compares one table row with what the chain says; each differing column is a line.
 * Returns whether they differ. */
static bool
compare_row(nf_registry_chain_report *out, const expect *e, const cJSON *row)
{
	bool differ = false;
	const cJSON *col;

	cJSON_ArrayForEach(col, row) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(e->row, col->string);
		char *is, *says;

		if (!want || same(col, want))
			continue;   /* a column the chain does not tell (an older record) */
		is = show_value(col);
		says = show_value(want);
		add_line(out, "%s v%d: %s is %s in the registry, the audit chain says %s", e->model, e->version,
			 col->string, is, says);
		free(is);
		free(says);
		differ = true;
	}
	return differ;
}

/* The state of a comparison, kept for a restore or a baseline. */
typedef struct cmp {
	chain c;
	cJSON *rows;                /* the table's */
	bool *differs;              /* per table row: it differs, or the chain never named it */
	bool *unknown;              /* per table row: the chain never named it (it has rows) */
	bool *legacy;               /* per table row: the chain holds it only in part */
} cmp;

static void
cmp_release(cmp *m)
{
	chain_release(&m->c);
	cJSON_Delete(m->rows);
	free(m->differs);
	free(m->unknown);
	free(m->legacy);
	memset(m, 0, sizeof(*m));
}

typedef struct cmp_read {
	cmp *m;
	const char *model;
} cmp_read;

static int
cmp_read_fn(void *ctx, nf_store *st)
{
	cmp_read *r = ctx;
	int err = replay(&r->m->c, st);

	if (err == 0)
		err = nf_store_model_rows(&r->m->rows, st, r->model);
	return err;
}

static int
compare(cmp *m, nf_registry_chain_report *out, nf_store *st, const char *model)
{
	cmp_read r = { m, model };
	const cJSON *row;
	size_t i = 0, nrows;
	int err;

	memset(m, 0, sizeof(*m));
	memset(out, 0, sizeof(*out));
	if ((err = nf_store_flush(st)) < 0)
		return err;
	/* The chain and the table read in one transaction: a run registering a version
	 * meanwhile (audit verify takes no lock) must not look like an edit. */
	if ((err = nf_store_read_txn(st, cmp_read_fn, &r)) < 0)
		return err;
	for (size_t k = 0; k < m->c.nlines; k++)
		add_line(out, "%s", m->c.lines[k]);
	nrows = (size_t)cJSON_GetArraySize(m->rows);
	m->differs = xcalloc(nrows + 1, sizeof(bool));
	m->unknown = xcalloc(nrows + 1, sizeof(bool));
	m->legacy = xcalloc(nrows + 1, sizeof(bool));
	cJSON_ArrayForEach(row, m->rows) {
		const char *name = str_of(row, "model");
		int version = int_of(row, "version");
		expect *e = name && version ? find(&m->c, name, version, false) : NULL;

		out->nversions++;
		if (e && !e->gone) {
			e->seen = true;
			m->differs[i] = compare_row(out, e, row);
			m->legacy[i] = !e->full;
		} else if (m->c.any_rows) {
			add_line(out, "%s v%d: in the registry, but the audit chain never recorded it (added outside ntflow)",
				 name ? name : "?", version);
			m->differs[i] = m->unknown[i] = true;
		} else {
			m->legacy[i] = true;   /* registered before the audit chain recorded registrations */
		}
		if (m->legacy[i] && !m->differs[i])
			out->nlegacy++;
		i++;
	}
	for (size_t k = 0; k < m->c.n; k++) {
		const expect *e = &m->c.v[k];

		if (e->seen || e->gone || (model && strcmp(model, e->model) != 0))
			continue;
		out->nversions++;
		add_line(out, "%s v%d: the audit chain records it, but the registry has no row for it (deleted outside ntflow)",
			 e->model, e->version);
	}
	return 0;
}

int
nf_registry_chain_compare(nf_registry_chain_report *out, nf_store *st, const char *model)
{
	cmp m;
	int err = compare(&m, out, st, model);

	if (err < 0)
		nf_registry_chain_report_release(out);
	cmp_release(&m);
	return err;
}

/* ---- the baseline ---- */

typedef struct baseline_txn {
	cmp *m;
	size_t n;                   /* out: versions recorded */
} baseline_txn;

static int
baseline_fn(void *vctx, nf_store *st)
{
	baseline_txn *t = vctx;
	cJSON *p = cJSON_CreateObject(), *row;
	size_t i = 0;
	int err = 0;

	cJSON_AddArrayToObject(p, "rows");
	cJSON_AddStringToObject(p, "reason", "rows registered before the audit chain recorded them whole");
	cJSON_ArrayForEach(row, t->m->rows) {
		if (t->m->legacy[i++]) {
			int version = int_of(row, "version");

			if ((err = nf_registry__add_rows(p, st, str_of(row, "model"), &version, 1)) < 0)
				break;
			t->n++;
		}
	}
	if (err == 0)
		err = nf_audit_append(st, 0, NF_AUDIT_BASELINE, p);
	cJSON_Delete(p);
	return err;
}

int
nf_registry_chain_check(nf_store *st, size_t *nbaseline)
{
	nf_registry_chain_report rep;
	cmp m;
	int err;

	if (nbaseline)
		*nbaseline = 0;
	if ((err = compare(&m, &rep, st, NULL)) < 0)
		goto done;
	if (rep.n) {
		char more[64] = "";

		if (rep.n > 1)
			snprintf(more, sizeof(more), " (and %zu more difference%s)", rep.n - 1, rep.n == 2 ? "" : "s");
		err = nf_error_set(NF_ECORRUPT, "the model registry was changed outside ntflow: %s%s; nothing was"
				   " changed: `ntflow registry verify` lists every difference, `ntflow registry verify"
				   " --repair` puts back what the audit chain records", rep.lines[0], more);
		goto done;
	}
	if (rep.nlegacy) {
		baseline_txn t = { &m, 0 };

		if ((err = nf_store_atomic(st, baseline_fn, &t)) == 0 && nbaseline)
			*nbaseline = t.n;
	}
done:
	nf_registry_chain_report_release(&rep);
	cmp_release(&m);
	return err;
}

/* ---- putting the rows back ---- */

typedef struct restore_txn {
	cmp *m;
	nf_registry_chain_report *out;
} restore_txn;

/* Deletes the table's row (by its id, whatever else was edited). */
static int
delete_row(nf_store *st, const cJSON *row)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");

	return cJSON_IsNumber(id) ? nf_store_model_row_delete(st, (int64_t)id->valuedouble) : 0;
}

static bool
is_production(const cJSON *row)
{
	const char *s = str_of(row, "status");

	return s && strcmp(s, "production") == 0;
}

/* The position of e's row in the table's rows, or -1. */
static long
row_of(const cmp *m, const expect *e)
{
	const cJSON *row;
	long at = 0;

	cJSON_ArrayForEach(row, m->rows) {
		const char *model = str_of(row, "model");

		if (model && strcmp(model, e->model) == 0 && int_of(row, "version") == e->version)
			return at;
		at++;
	}
	return -1;
}

/* "status, metrics": the columns of the table's row that differ from what e tells. */
static char *
changed_columns(const cJSON *now, const expect *e)
{
	nf_buf b = NF_BUF_INIT;
	const cJSON *col;

	cJSON_ArrayForEach(col, now) {
		const cJSON *want = cJSON_GetObjectItemCaseSensitive(e->row, col->string);

		if (want && !same(col, want))
			nf_buf_printf(&b, "%s%s", b.len ? ", " : "", col->string);
	}
	return nf_buf_detach(&b);
}

static int
restore_fn(void *vctx, nf_store *st)
{
	restore_txn *t = vctx;
	cmp *m = t->m;
	cJSON *p = cJSON_CreateObject(), *removed = cJSON_AddArrayToObject(p, "removed"), *cols = NULL;
	const cJSON *row;
	size_t i = 0;
	int err;

	cJSON_AddArrayToObject(p, "rows");
	if ((err = nf_store_model_columns(&cols, st)) < 0)
		goto done;
	/* First every row that goes: those the chain never named, and those the chain holds
	 * whole that differ (inserted again below), so that no id or production version of
	 * theirs stands in the way. */
	cJSON_ArrayForEach(row, m->rows) {
		const char *model = str_of(row, "model");
		int version = int_of(row, "version");
		const expect *e = model && version ? find(&m->c, model, version, false) : NULL;

		if (m->unknown[i]) {
			cJSON *r = cJSON_CreateObject();

			cJSON_AddStringToObject(r, "model", model ? model : "");
			cJSON_AddNumberToObject(r, "version", version);
			cJSON_AddItemToArray(removed, r);
			add_line(t->out, "removed %s v%d: the audit chain never recorded it", model ? model : "?", version);
		}
		if ((m->unknown[i] || (m->differs[i] && e && e->full)) && (err = delete_row(st, row)) < 0)
			goto done;
		i++;
	}
	/* Then the rows the chain tells, production last (one per model). */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < m->c.n; k++) {
			expect *e = &m->c.v[k];
			long at;
			const cJSON *now;
			char *what;

			if (e->gone || is_production(e->row) != (pass == 1))
				continue;
			at = row_of(m, e);
			now = at >= 0 ? cJSON_GetArrayItem(m->rows, (int)at) : NULL;
			if (now && !m->differs[at])
				continue;
			if (!now && !e->full) {
				add_line(t->out, "cannot restore %s v%d: the audit chain holds only part of it (recorded"
					 " before rows were recorded whole)", e->model, e->version);
				continue;
			}
			if ((err = nf_store_model_row_write(st, e->full, e->model, e->version, e->row, cols)) < 0 ||
			    (err = nf_registry__add_rows(p, st, e->model, &e->version, 1)) < 0)
				goto done;
			what = now ? changed_columns(now, e) : xstrdup("its row had been deleted");
			add_line(t->out, "restored %s v%d from the audit chain: %s", e->model, e->version, what);
			free(what);
		}
	}
	/* The older rows that agreed are recorded whole as well, as a baseline would: after a
	 * restore every row is in the chain, and a row it never named is an addition. */
	i = 0;
	cJSON_ArrayForEach(row, m->rows) {
		if (m->legacy[i] && !m->differs[i]) {
			int version = int_of(row, "version");

			if ((err = nf_registry__add_rows(p, st, str_of(row, "model"), &version, 1)) < 0)
				goto done;
		}
		i++;
	}
	err = nf_audit_append(st, 0, NF_AUDIT_RESTORE, p);
done:
	cJSON_Delete(cols);
	cJSON_Delete(p);
	return err;
}

int
nf_registry_chain_restore(nf_registry_chain_report *out, nf_store *st)
{
	nf_registry_chain_report diff;
	cmp m;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = compare(&m, &diff, st, NULL)) == 0 && diff.n) {
		restore_txn t = { &m, out };

		if (m.c.nlines) {
			/* The records themselves were edited: nothing in them can be trusted. */
			err = nf_error_set(NF_ECORRUPT, "cannot restore the registry from its audit chain: %s", m.c.lines[0]);
		} else if ((err = nf_store_atomic(st, restore_fn, &t)) < 0) {
			nf_registry_chain_report_release(out);
		}
	}
	nf_registry_chain_report_release(&diff);
	cmp_release(&m);
	return err;
}
