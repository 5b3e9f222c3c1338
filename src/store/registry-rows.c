/* registry-rows.c: the model registry's rows as whole JSON objects, column by column, for
 * gov/registry-chain.c, which records them in the audit chain, compares the table with
 * the chain and puts rows back from it: reading rows, the records that change them, the
 * table's columns, and writing or deleting a row. */
#include "config.h"
#include "ntflow/store.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* Whether the n bytes at s are UTF-8 without a NUL: text that any JSON writer and reader
 * carry unchanged. */
static bool
plain_text(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		unsigned cp;

		if (c == 0 || len == 0 || i + len > n)
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/* {"KEY": "hex of the bytes"}. */
static cJSON *
hex_json(const char *key, const unsigned char *b, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *h = xmalloc(len * 2 + 1);
	cJSON *o = cJSON_CreateObject();

	for (size_t k = 0; k < len; k++) {
		h[2 * k] = hex[b[k] >> 4];
		h[2 * k + 1] = hex[b[k] & 15];
	}
	h[2 * len] = '\0';
	cJSON_AddStringToObject(o, key, h);
	free(h);
	return o;
}

static cJSON *
column_json(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER:
		return cJSON_CreateNumber((double)sqlite3_column_int64(s, i));
	case SQLITE_FLOAT:
		return cJSON_CreateNumber(sqlite3_column_double(s, i));
	case SQLITE_TEXT: {
		const unsigned char *t = sqlite3_column_text(s, i);
		size_t len = (size_t)sqlite3_column_bytes(s, i);

		/* Text that is not plain UTF-8 (a -p value, a --reason) as its bytes, so that
		 * neither the JSON writer's escaping nor a NUL changes what is compared. */
		return plain_text(t, len) ? cJSON_CreateString((const char *)t) : hex_json("text", t, len);
	}
	case SQLITE_BLOB:
		/* ntflow never writes one: a blob can only be an edit, and must not compare equal
		 * to the text it holds. */
		return hex_json("blob", sqlite3_column_blob(s, i), (size_t)sqlite3_column_bytes(s, i));
	default:
		return cJSON_CreateNull();
	}
}

static cJSON *
row_json(sqlite3_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < sqlite3_column_count(s); i++)
		cJSON_AddItemToObject(o, sqlite3_column_name(s, i), column_json(s, i));
	return o;
}

int
nf_store_model_rows_of(cJSON *rows, nf_store *st, const char *model, const int *versions, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_DONE;

	if ((rc = sqlite3_prepare_v2(st->db, "SELECT * FROM model_versions WHERE model = ? AND version = ?", -1, &s,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	for (size_t i = 0; i < n; i++) {
		if (versions[i] <= 0)
			continue;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, versions[i]);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			cJSON_AddItemToArray(rows, row_json(s));
		else if (rc != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	return 0;
}

int
nf_store_model_rows(cJSON **out, nf_store *st, const char *model)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = cJSON_CreateArray();
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT * FROM model_versions WHERE ?1 IS NULL OR model = ?1"
				     " ORDER BY model, version", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	if (model)
		sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		cJSON_AddItemToArray(*out, row_json(q));
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	return 0;
}

int
nf_store_audit_scan_kinds(nf_store *st, const char *const *kinds, size_t nkinds,
			  void (*fn)(void *ctx, const nf_audit_record *r, const char *next_prev_hash), void *ctx)
{
	nf_buf sql = NF_BUF_INIT;
	sqlite3_stmt *q = NULL;
	int rc;

	nf_buf_puts(&sql, "SELECT seq, time_ms, run_id, kind, payload, prev_hash, hash, mac_kind,"
		    " (SELECT b.prev_hash FROM audit b WHERE b.seq = audit.seq + 1)"
		    " FROM audit WHERE kind IN (");
	for (size_t k = 0; k < nkinds; k++)
		nf_buf_printf(&sql, "%s?", k ? "," : "");
	nf_buf_puts(&sql, ") ORDER BY seq");
	rc = sqlite3_prepare_v2(st->db, nf_buf_cstr(&sql), -1, &q, NULL);
	nf_buf_release(&sql);
	if (rc != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the audit log");
	for (size_t k = 0; k < nkinds; k++)
		sqlite3_bind_text(q, (int)k + 1, kinds[k], -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_audit_record r;
		const unsigned char *next = sqlite3_column_text(q, 8);

		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(q, 0);
		r.time_ms = sqlite3_column_int64(q, 1);
		r.run_id = sqlite3_column_type(q, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 2);
		r.kind = xstrdup((const char *)sqlite3_column_text(q, 3));
		r.payload = xstrdup(sqlite3_column_text(q, 4) ? (const char *)sqlite3_column_text(q, 4) : "");
		r.prev_hash = xstrdup(sqlite3_column_text(q, 5) ? (const char *)sqlite3_column_text(q, 5) : "");
		r.hash = xstrdup(sqlite3_column_text(q, 6) ? (const char *)sqlite3_column_text(q, 6) : "");
		r.mac_kind = xstrdup(sqlite3_column_text(q, 7) ? (const char *)sqlite3_column_text(q, 7) : "");
		fn(ctx, &r, (const char *)next);
		nf_audit_record_release(&r);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot read the audit log");
}

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

static void
bind_json(sqlite3_stmt *s, int k, const cJSON *v)
{
	const char *hex = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "text"));

	if (cJSON_IsObject(v) && hex) {
		size_t len = strlen(hex) / 2;
		char *b = xmalloc(len + 1);

		for (size_t i = 0; i < len; i++)
			b[i] = (char)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
		sqlite3_bind_text(s, k, b, (int)len, free);
	} else if (cJSON_IsNumber(v) && v->valuedouble == (double)(int64_t)v->valuedouble)
		sqlite3_bind_int64(s, k, (int64_t)v->valuedouble);
	else if (cJSON_IsNumber(v))
		sqlite3_bind_double(s, k, v->valuedouble);
	else if (cJSON_IsString(v))
		sqlite3_bind_text(s, k, v->valuestring, -1, SQLITE_TRANSIENT);
	else if (cJSON_IsBool(v))
		sqlite3_bind_int(s, k, cJSON_IsTrue(v));
	else
		sqlite3_bind_null(s, k);
}

int
nf_store_model_row_write(nf_store *st, bool full, const char *model, int version, const struct cJSON *row,
			 const struct cJSON *cols)
{
	nf_buf sql = NF_BUF_INIT, vals = NF_BUF_INIT;
	const cJSON **bound = NULL;
	size_t nb = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	const cJSON *col;
	int rc, err = 0;

	nf_buf_puts(&sql, full ? "INSERT INTO model_versions (" : "UPDATE model_versions SET ");
	cJSON_ArrayForEach(col, cols) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, col->valuestring);

		if (!v)
			continue;
		if (full) {
			nf_buf_printf(&sql, "%s\"%s\"", nb ? ", " : "", col->valuestring);
			nf_buf_printf(&vals, "%s?", nb ? ", " : "");
		} else {
			nf_buf_printf(&sql, "%s\"%s\" = ?", nb ? ", " : "", col->valuestring);
		}
		NF_PUSH(bound, nb, cap, v);
	}
	if (full)
		nf_buf_printf(&sql, ") VALUES (%s)", nf_buf_cstr(&vals));
	else
		nf_buf_printf(&sql, " WHERE model = ?%zu AND version = ?%zu", nb + 1, nb + 2);
	if ((rc = sqlite3_prepare_v2(st->db, nf_buf_cstr(&sql), -1, &s, NULL)) != SQLITE_OK) {
		err = nf_store__table_error(st, rc, "cannot restore the model registry");
		goto done;
	}
	for (size_t k = 0; k < nb; k++)
		bind_json(s, (int)k + 1, bound[k]);
	if (!full) {
		sqlite3_bind_text(s, (int)nb + 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, (int)nb + 2, version);
	}
	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot restore the model registry");
done:
	sqlite3_finalize(s);
	nf_buf_release(&sql);
	nf_buf_release(&vals);
	free(bound);
	return err;
}

int
nf_store_model_row_delete(nf_store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, "DELETE FROM model_versions WHERE id = ?", -1, &s, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot restore the model registry");
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot restore the model registry");
}

int
nf_store_model_columns(cJSON **out, nf_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = cJSON_CreateArray();
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT name FROM pragma_table_info('model_versions') ORDER BY cid", -1, &s,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the model registry");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cJSON_AddItemToArray(*out, cJSON_CreateString((const char *)sqlite3_column_text(s, 0)));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot read the model registry");
}

