/* audit.c: the tamper-evident audit log. Records are appended to a hash chain (each
 * record's hash covers its contents and the previous record's hash), each finished run gets
 * a Merkle root over its records, and verify walks both to find the first record that was
 * edited, deleted or inserted. With NTFLOW_AUDIT_KEY the hashes are HMACs, so whoever can
 * write the database but not read the key cannot forge a consistent chain. */
#include "config.h"
#include "ntflow/gov.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Key files are small; a large one is a mistake (a data file named by accident). */
#define AUDIT_KEY_MAX (64 * 1024)

static const char zero_hash[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct nf_audit {
	nf_store *st;
	sqlite3_stmt *head, *insert;
	unsigned char *key;         /* NULL: plain SHA-256 */
	size_t keylen;
};

/* ---- canonical JSON ---- */

static int
cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

static void
canon_number(nf_buf *b, double v)
{
	/* Integers (the common case: ids, times, counts) without a fraction; anything else
	 * with enough digits to round-trip. Non-finite numbers are not JSON: null. */
	if (v != v || v > 1e308 || v < -1e308)
		nf_buf_puts(b, "null");
	else if (v == (double)(int64_t)v && v > -9007199254740992.0 && v < 9007199254740992.0)
		nf_buf_printf(b, "%" PRId64, (int64_t)v);
	else {
		/* The shortest form that reads back as the same double: 0.1, not 0.10000000000000001. */
		char tmp[32];

		for (int prec = 15; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		nf_buf_puts(b, tmp);
	}
}

static void
canon(nf_buf *b, const cJSON *j)
{
	if (cJSON_IsObject(j)) {
		const cJSON **kids = NULL;
		size_t n = 0, cap = 0;

		for (const cJSON *it = j->child; it; it = it->next)
			NF_PUSH(kids, n, cap, it);
		if (n > 1)
			qsort(kids, n, sizeof(*kids), cmp_keys);
		nf_buf_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			if (i)
				nf_buf_putc(b, ',');
			nf_buf_add_json_string(b, kids[i]->string);
			nf_buf_putc(b, ':');
			canon(b, kids[i]);
		}
		nf_buf_putc(b, '}');
		free(kids);
	} else if (cJSON_IsArray(j)) {
		nf_buf_putc(b, '[');
		for (const cJSON *it = j->child; it; it = it->next) {
			if (it != j->child)
				nf_buf_putc(b, ',');
			canon(b, it);
		}
		nf_buf_putc(b, ']');
	} else if (cJSON_IsString(j)) {
		nf_buf_add_json_string(b, j->valuestring ? j->valuestring : "");
	} else if (cJSON_IsNumber(j)) {
		canon_number(b, j->valuedouble);
	} else if (cJSON_IsTrue(j)) {
		nf_buf_puts(b, "true");
	} else if (cJSON_IsFalse(j)) {
		nf_buf_puts(b, "false");
	} else {
		nf_buf_puts(b, "null");
	}
}

char *
nf_audit_canonical_json(const cJSON *j)
{
	nf_buf b = NF_BUF_INIT;

	canon(&b, j);
	return nf_buf_detach(&b);
}

/* ---- hashing ---- */

static void
to_hex(char out[65], const unsigned char md[32])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static bool
from_hex(unsigned char md[32], const char *s)
{
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		if (i % 2 == 0)
			md[i / 2] = (unsigned char)(v << 4);
		else
			md[i / 2] |= (unsigned char)v;
	}
	return s[64] == '\0';
}

int
nf_audit_record_hash(char out[65], int64_t seq, int64_t time_ms, int64_t run_id, const char *kind,
		     const char *payload, const char *prev_hash, const unsigned char *key, size_t keylen)
{
	nf_buf msg = NF_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok;

	nf_buf_printf(&msg, "%" PRId64 "|%" PRId64 "|%" PRId64 "|%s|%s|%s", seq, time_ms, run_id, kind,
		      payload, prev_hash);
	if (key)
		ok = HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)nf_buf_cstr(&msg), msg.len,
			  md, &mdlen) != NULL;
	else
		ok = EVP_Digest(nf_buf_cstr(&msg), msg.len, md, &mdlen, EVP_sha256(), NULL) == 1;
	nf_buf_release(&msg);
	if (!ok || mdlen != 32)
		return nf_error_set(NF_ERROR, "cannot compute the audit record's %s", key ? "HMAC-SHA256" : "SHA-256");
	to_hex(out, md);
	return 0;
}

int
nf_audit_merkle_root(char out[65], const char *const *hashes, size_t n)
{
	unsigned char (*level)[32];
	size_t m = n;

	if (n == 0) {
		unsigned char md[32];
		unsigned int mdlen = 0;

		EVP_Digest("", 0, md, &mdlen, EVP_sha256(), NULL);
		to_hex(out, md);
		return 0;
	}
	level = xcalloc(n, sizeof(*level));
	for (size_t i = 0; i < n; i++) {
		if (!hashes[i] || !from_hex(level[i], hashes[i])) {
			free(level);
			return nf_error_set(NF_ECORRUPT, "audit record hash '%s' is not 64 hex digits",
					    hashes[i] ? hashes[i] : "(null)");
		}
	}
	/* Pairs are hashed left to right; an odd last node moves up unchanged (never paired
	 * with itself, so two different lists never share a root). */
	while (m > 1) {
		size_t k = 0;

		for (size_t i = 0; i < m; i += 2) {
			if (i + 1 < m) {
				unsigned char pair[64];
				unsigned int mdlen = 0;

				memcpy(pair, level[i], 32);
				memcpy(pair + 32, level[i + 1], 32);
				EVP_Digest(pair, 64, level[k], &mdlen, EVP_sha256(), NULL);
			} else {
				memmove(level[k], level[i], 32);
			}
			k++;
		}
		m = k;
	}
	to_hex(out, level[0]);
	free(level);
	return 0;
}

/* ---- the key ---- */

static int
load_key(unsigned char **key, size_t *keylen)
{
	const char *path = getenv("NTFLOW_AUDIT_KEY");
	char *data = NULL;
	size_t len = 0;
	struct stat sb;
	int err;

	*key = NULL;
	*keylen = 0;
	if (!path || !*path)
		return 0;
	/* A key others can read lets them forge the chain; one they can write, replace it. */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
		return nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: the key file '%s' is open to other users (mode %04o);"
				    " make it private: chmod 600 '%s'", path, (unsigned)(sb.st_mode & 07777), path);
	if ((err = nf_read_file(&data, &len, path, AUDIT_KEY_MAX)) < 0) {
		char *why = xstrdup(nf_error_last());   /* the message buffer is about to be rewritten */

		nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: cannot read the key file '%s': %s", path, why);
		free(why);
		return NF_EIO;
	}
	if (len == 0) {
		free(data);
		return nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: the key file '%s' is empty", path);
	}
	*key = (unsigned char *)data;
	*keylen = len;
	return 0;
}

/* ---- appending ---- */

static int
db_error(sqlite3 *db, const char *what)
{
	return nf_error_set(NF_ERROR, "%s: %s", what, sqlite3_errmsg(db));
}

int
nf_audit_open(nf_audit **out, nf_store *st)
{
	sqlite3 *db = nf_store_db(st);
	nf_audit *a = xcalloc(1, sizeof(*a));
	int err;

	*out = NULL;
	a->st = st;
	if ((err = load_key(&a->key, &a->keylen)) < 0)
		goto fail;
	if (sqlite3_prepare_v3(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
			       SQLITE_PREPARE_PERSISTENT, &a->head, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "INSERT INTO audit (seq, time_ms, run_id, kind, payload, prev_hash, hash,"
			       " mac_kind) VALUES (?,?,?,?,?,?,?,?)", -1, SQLITE_PREPARE_PERSISTENT,
			       &a->insert, NULL) != SQLITE_OK) {
		err = db_error(db, "cannot prepare the audit log");
		goto fail;
	}
	*out = a;
	return 0;
fail:
	nf_audit_free(a);
	return err;
}

void
nf_audit_free(nf_audit *a)
{
	if (!a)
		return;
	sqlite3_finalize(a->head);
	sqlite3_finalize(a->insert);
	if (a->key)
		memset(a->key, 0, a->keylen);
	free(a->key);
	free(a);
}

bool
nf_audit_keyed(const nf_audit *a)
{
	return a->key != NULL;
}

int
nf_audit_record_matches(const nf_audit *a, const nf_audit_record *r)
{
	bool hmac = strcmp(r->mac_kind, "hmac") == 0;
	char h[65];
	int err;

	if (hmac && !a->key)
		return nf_error_set(NF_EINVALID, "record %" PRId64 " carries an HMAC: set NTFLOW_AUDIT_KEY to the key"
				    " file to check it", r->seq);
	if (!hmac && strcmp(r->mac_kind, "plain") != 0)
		return 0;
	if ((err = nf_audit_record_hash(h, r->seq, r->time_ms, r->run_id, r->kind, r->payload, r->prev_hash,
					hmac ? a->key : NULL, a->keylen)) < 0)
		return err;
	return strcmp(h, r->hash) == 0;
}

int
nf_audit_add(nf_audit *a, int64_t run_id, const char *kind, const cJSON *payload)
{
	sqlite3 *db = nf_store_db(a->st);
	char *text = NULL, prev[65], hash[65];
	int64_t seq = 1, now = nf_now_realtime_ms();
	int rc, err;

	/* The head is read inside the batch's write transaction, so no other process can
	 * append between this read and our insert. */
	if ((err = nf_store_batch(a->st)) < 0)
		return err;
	memcpy(prev, zero_hash, sizeof(prev));
	sqlite3_reset(a->head);
	if ((rc = sqlite3_step(a->head)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(a->head, 1);

		seq = sqlite3_column_int64(a->head, 0) + 1;
		snprintf(prev, sizeof(prev), "%s", h ? (const char *)h : "");
	} else if (rc != SQLITE_DONE) {
		err = db_error(db, "cannot read the audit log");
		sqlite3_reset(a->head);
		return err;
	}
	sqlite3_reset(a->head);
	text = payload ? nf_audit_canonical_json(payload) : xstrdup("{}");
	if ((err = nf_audit_record_hash(hash, seq, now, run_id, kind, text, prev, a->key, a->keylen)) < 0)
		goto done;
	sqlite3_reset(a->insert);
	sqlite3_bind_int64(a->insert, 1, seq);
	sqlite3_bind_int64(a->insert, 2, now);
	if (run_id > 0)
		sqlite3_bind_int64(a->insert, 3, run_id);
	else
		sqlite3_bind_null(a->insert, 3);
	sqlite3_bind_text(a->insert, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 5, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 6, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 7, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(a->insert, 8, a->key ? "hmac" : "plain", -1, SQLITE_STATIC);
	if (sqlite3_step(a->insert) != SQLITE_DONE)
		err = db_error(db, "cannot append to the audit log");
	sqlite3_reset(a->insert);
	sqlite3_clear_bindings(a->insert);
done:
	free(text);
	return err;
}

int
nf_audit_append(nf_store *st, int64_t run_id, const char *kind, const cJSON *payload)
{
	nf_audit *a = NULL;
	int err;

	if ((err = nf_audit_open(&a, st)) == 0)
		err = nf_audit_add(a, run_id, kind, payload);
	nf_audit_free(a);
	return err;
}

/* The hashes of a run's records up to last_seq (all when last_seq <= 0), in order. */
static int
run_hashes(nf_store *st, int64_t run_id, int64_t last_seq, char ***out, size_t *n, int64_t *max_seq)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	char **hs = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (max_seq)
		*max_seq = 0;
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit WHERE run_id = ?1 AND (?2 <= 0 OR seq <= ?2)"
			       " ORDER BY seq", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_int64(q, 2, last_seq);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(q, 1);

		NF_PUSH(hs, *n, cap, xstrdup(h ? (const char *)h : ""));
		if (max_seq)
			*max_seq = sqlite3_column_int64(q, 0);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(db, "cannot read the audit log");
		for (size_t i = 0; i < *n; i++)
			free(hs[i]);
		free(hs);
		hs = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = hs;
	return err;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int
nf_audit_close_run(nf_audit *a, int64_t run_id, const char *status, char root_out[65])
{
	sqlite3 *db = nf_store_db(a->st);
	sqlite3_stmt *q = NULL;
	char **hs = NULL, root[65];
	size_t n = 0;
	int64_t last_seq = 0;
	cJSON *p = NULL;
	int err;

	if ((err = nf_store_batch(a->st)) < 0)
		return err;
	if ((err = run_hashes(a->st, run_id, 0, &hs, &n, &last_seq)) < 0 ||
	    (err = nf_audit_merkle_root(root, (const char *const *)hs, n)) < 0)
		goto done;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO audit_roots (run_id, root, count, last_seq, created_ms)"
			       " VALUES (?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK) {
		err = db_error(db, "cannot record the run's Merkle root");
		goto done;
	}
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)n);
	sqlite3_bind_int64(q, 4, last_seq);
	sqlite3_bind_int64(q, 5, nf_now_realtime_ms());
	if (sqlite3_step(q) != SQLITE_DONE) {
		err = db_error(db, "cannot record the run's Merkle root");
		goto done;
	}
	/* The run-end record carries the root, so the chain protects it too. */
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "status", status);
	cJSON_AddStringToObject(p, "merkle_root", root);
	cJSON_AddNumberToObject(p, "records", (double)n);
	err = nf_audit_add(a, run_id, NF_AUDIT_RUN_END, p);
	if (err == 0 && root_out)
		memcpy(root_out, root, 65);
done:
	cJSON_Delete(p);
	sqlite3_finalize(q);
	free_strv(hs, n);
	return err;
}

/* ---- reading ---- */

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
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_audit_record *rs = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT " RECORD_COLS " FROM audit WHERE ?1 <= 0 OR run_id = ?1 ORDER BY seq",
			       -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read the audit log");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rs = xgrow(rs, sizeof(*rs), *n + 1, &cap);
		memset(&rs[*n], 0, sizeof(*rs));
		read_record(q, &rs[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(db, "cannot read the audit log");
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
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_audit_root *rs = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT run_id, root, count, last_seq, created_ms FROM audit_roots"
			       " WHERE ?1 <= 0 OR run_id = ?1 ORDER BY run_id", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read the audit log");
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
		err = db_error(db, "cannot read the audit log");
		free(rs);
		rs = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = rs;
	return err;
}

/* ---- verification ---- */

/* The state of the walk: the last two records accepted, and the one being judged. */
typedef struct walk {
	unsigned char *key;
	size_t keylen;
	int64_t prev_seq;
	char prev_hash[65], prevprev_hash[65];
	bool have_prevprev;
	nf_audit_report *rep;
} walk;

static int
report(walk *w, int64_t seq, const char *fmt, ...) NF_PRINTF(3, 4);

static int
report(walk *w, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	w->rep->bad_seq = seq;
	w->rep->problem = xvasprintf(fmt, ap);
	va_end(ap);
	return 1;
}

static bool
content_matches(walk *w, const nf_audit_record *r, int64_t seq)
{
	char h[65];
	bool hmac = strcmp(r->mac_kind, "hmac") == 0;

	if (nf_audit_record_hash(h, seq, r->time_ms, r->run_id, r->kind, r->payload, r->prev_hash,
				 hmac ? w->key : NULL, w->keylen) < 0)
		return false;
	return strcmp(h, r->hash) == 0;
}

/* Judges cur, knowing the record after it (next, NULL at the end). Returns 1 when a problem
 * was reported, 0 when cur is accepted, negative on an error. */
static int
judge(walk *w, const nf_audit_record *cur, const nf_audit_record *next)
{
	bool hmac = strcmp(cur->mac_kind, "hmac") == 0;

	if (cur->seq > w->prev_seq + 1) {
		if (cur->seq == w->prev_seq + 2)
			return report(w, w->prev_seq + 1, "record %" PRId64 " was deleted (the chain goes from %" PRId64
				      " to %" PRId64 ")", w->prev_seq + 1, w->prev_seq, cur->seq);
		return report(w, w->prev_seq + 1, "records %" PRId64 " to %" PRId64 " were deleted (the chain goes"
			      " from %" PRId64 " to %" PRId64 ")", w->prev_seq + 1, cur->seq - 1, w->prev_seq, cur->seq);
	}
	if (!hmac && strcmp(cur->mac_kind, "plain") != 0)
		return report(w, cur->seq, "record %" PRId64 " was edited (unknown mac_kind '%s')", cur->seq, cur->mac_kind);
	if (hmac && !w->key)
		return nf_error_set(NF_EINVALID, "record %" PRId64 " carries an HMAC: set NTFLOW_AUDIT_KEY to the key"
				    " file to verify the audit log", cur->seq);
	if (!hmac && w->key)
		return report(w, cur->seq, "record %" PRId64 " is not authenticated: it has a plain SHA-256 although"
			      " NTFLOW_AUDIT_KEY is set (written without the key, or forged)", cur->seq);
	if (!content_matches(w, cur, cur->seq)) {
		if (next && strcmp(next->prev_hash, w->prev_hash) == 0)
			return report(w, cur->seq, "record %" PRId64 " was inserted (record %" PRId64 " follows record %"
				      PRId64 ")", cur->seq, next->seq, w->prev_seq);
		if (strcmp(cur->prev_hash, w->prev_hash) != 0) {
			/* Renumbered after a deletion: the record hashes right under its old number. */
			for (int64_t k = 1; k <= 16; k++) {
				if (content_matches(w, cur, cur->seq + k))
					return report(w, cur->seq, "%s deleted before record %" PRId64 " (it was record %"
						      PRId64 "; the records after it were renumbered)",
						      k == 1 ? "a record was" : "records were", cur->seq, cur->seq + k);
				/* Renumbered the other way: records were slipped in before it. */
				if (cur->seq - k >= 1 && content_matches(w, cur, cur->seq - k))
					return report(w, cur->seq - k, "record %" PRId64 " was inserted (record %" PRId64
						      " was record %" PRId64 " before the records after it were renumbered)",
						      cur->seq - k, cur->seq, cur->seq - k);
			}
		}
		return report(w, cur->seq, "record %" PRId64 " was edited (its %s does not match its contents)",
			      cur->seq, hmac ? "HMAC" : "hash");
	}
	if (strcmp(cur->prev_hash, w->prev_hash) != 0) {
		if (w->have_prevprev && strcmp(cur->prev_hash, w->prevprev_hash) == 0)
			return report(w, w->prev_seq, "record %" PRId64 " was inserted (record %" PRId64
				      " follows record %" PRId64 ")", w->prev_seq, cur->seq, w->prev_seq - 1);
		if (w->prev_seq == 0)
			return report(w, cur->seq, "record %" PRId64 " does not start the chain (records before it"
				      " were deleted)", cur->seq);
		return report(w, w->prev_seq, "record %" PRId64 " was edited or replaced (record %" PRId64
			      " does not follow it)", w->prev_seq, cur->seq);
	}
	memcpy(w->prevprev_hash, w->prev_hash, sizeof(w->prev_hash));
	w->have_prevprev = w->prev_seq > 0;
	snprintf(w->prev_hash, sizeof(w->prev_hash), "%s", cur->hash);
	w->prev_seq = cur->seq;
	w->rep->nrecords++;
	return 0;
}

/* The Merkle roots: each against the run's records, and against its run-end record. */
static int
verify_roots(nf_store *st, walk *w)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL, *endq = NULL;
	int rc, err = 0;

	if (sqlite3_prepare_v2(db, "SELECT run_id, root, count, last_seq FROM audit_roots ORDER BY run_id",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT seq, payload FROM audit WHERE run_id = ? AND kind = '" NF_AUDIT_RUN_END
			       "' ORDER BY seq", -1, &endq, NULL) != SQLITE_OK) {
		err = db_error(db, "cannot read the audit log");
		goto done;
	}
	while (err == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t run = sqlite3_column_int64(q, 0), count = sqlite3_column_int64(q, 2);
		int64_t last = sqlite3_column_int64(q, 3);
		const unsigned char *stored = sqlite3_column_text(q, 1);
		char **hs = NULL, root[65];
		size_t n = 0;

		if ((err = run_hashes(st, run, last, &hs, &n, NULL)) < 0 ||
		    (err = nf_audit_merkle_root(root, (const char *const *)hs, n)) < 0) {
			free_strv(hs, n);
			break;
		}
		free_strv(hs, n);
		if ((int64_t)n < count)
			err = report(w, 0, "run %" PRId64 ": %" PRId64 " of its records were deleted (its Merkle root covers"
				     " %" PRId64 ", %zu remain)", run, count - (int64_t)n, count, n);
		else if ((int64_t)n > count)
			err = report(w, 0, "run %" PRId64 ": %zu records were inserted (its Merkle root covers %" PRId64
				     ", there are %zu)", run, n - (size_t)count, count, n);
		else if (!stored || strcmp((const char *)stored, root) != 0)
			err = report(w, 0, "run %" PRId64 ": its Merkle root does not match its %zu records (a record or"
				     " the root was edited)", run, n);
		if (err)
			break;
		/* The run-end record holds the same root inside the chain. */
		sqlite3_reset(endq);
		sqlite3_bind_int64(endq, 1, run);
		if (sqlite3_step(endq) == SQLITE_ROW) {
			const char *payload = (const char *)sqlite3_column_text(endq, 1);
			int64_t seq = sqlite3_column_int64(endq, 0);
			cJSON *p = cJSON_Parse(payload ? payload : "");
			const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "merkle_root"));

			if (!r || strcmp(r, root) != 0)
				err = report(w, seq, "run %" PRId64 ": the Merkle root in its run-end record %" PRId64
					     " does not match its records", run, seq);
			cJSON_Delete(p);
		} else {
			err = report(w, 0, "run %" PRId64 ": it has a Merkle root but no run-end record", run);
		}
		w->rep->nroots++;
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = db_error(db, "cannot read the audit log");
	if (err == 0) {
		/* A run-end record whose root row was deleted. */
		sqlite3_finalize(q);
		q = NULL;
		if (sqlite3_prepare_v2(db, "SELECT a.seq, a.run_id FROM audit a LEFT JOIN audit_roots r"
				       " ON r.run_id = a.run_id WHERE a.kind = '" NF_AUDIT_RUN_END "'"
				       " AND r.run_id IS NULL ORDER BY a.seq LIMIT 1", -1, &q, NULL) != SQLITE_OK) {
			err = db_error(db, "cannot read the audit log");
			goto done;
		}
		if (sqlite3_step(q) == SQLITE_ROW)
			err = report(w, sqlite3_column_int64(q, 0), "run %" PRId64 ": its Merkle root (table audit_roots)"
				     " was deleted", (int64_t)sqlite3_column_int64(q, 1));
	}
done:
	sqlite3_finalize(q);
	sqlite3_finalize(endq);
	return err < 0 ? err : 0;
}

void
nf_audit_report_release(nf_audit_report *r)
{
	free(r->problem);
	memset(r, 0, sizeof(*r));
}

int
nf_audit_verify(nf_store *st, nf_audit_report *out)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_audit_record cur = { 0 }, next = { 0 };
	bool have_cur = false;
	walk w;
	int rc, err;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.rep = out;
	memcpy(w.prev_hash, zero_hash, sizeof(w.prev_hash));
	if ((err = load_key(&w.key, &w.keylen)) < 0 || (err = nf_store_flush(st)) < 0)
		return err;
	/* One transaction, so a run appending meanwhile does not look like an insertion. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		err = db_error(db, "cannot read the audit log");
		goto done;
	}
	if (sqlite3_prepare_v2(db, "SELECT " RECORD_COLS " FROM audit ORDER BY seq", -1, &q, NULL) != SQLITE_OK) {
		err = db_error(db, "cannot read the audit log");
		goto done;
	}
	/* Each record is judged once the one after it is known (an insertion shows in the
	 * next record's prev_hash). */
	for (;;) {
		rc = sqlite3_step(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			err = db_error(db, "cannot read the audit log");
			goto done;
		}
		if (rc == SQLITE_ROW)
			read_record(q, &next);
		if (have_cur) {
			if ((err = judge(&w, &cur, rc == SQLITE_ROW ? &next : NULL)) != 0)
				break;
			nf_audit_record_release(&cur);
		}
		if (rc == SQLITE_DONE)
			break;
		cur = next;
		memset(&next, 0, sizeof(next));
		have_cur = true;
	}
	if (err == 0)
		err = verify_roots(st, &w);
	if (err > 0)
		err = 0;
done:
	sqlite3_finalize(q);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	nf_audit_record_release(&cur);
	nf_audit_record_release(&next);
	if (w.key)
		memset(w.key, 0, w.keylen);
	free(w.key);
	return err;
}
