/* alerts.c: the alerts' rows (gov/alerts.c decides what fires): an alert, the runs that
 * raised it (alert_runs), the trigger it asked the scheduler for, reading and
 * acknowledging them. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

static int
db_error(nf_store *st, const char *what)
{
	return nf_store__table_error(st, sqlite3_errcode(st->db), what);
}

static nf_severity
severity_parse(const char *s)
{
	if (!s)
		return NF_SEV_NONE;
	if (strcmp(s, "low") == 0)
		return NF_SEV_LOW;
	if (strcmp(s, "medium") == 0)
		return NF_SEV_MEDIUM;
	if (strcmp(s, "high") == 0)
		return NF_SEV_HIGH;
	return NF_SEV_NONE;
}

void
nf_alert_release(nf_alert *a)
{
	if (!a)
		return;
	free(a->pipeline);
	free(a->monitor);
	free(a->rule);
	free(a->expr);
	free(a->values_json);
	free(a->summary);
	free(a->ack_note);
	free(a->ack_by);
	free(a->data_key);
	memset(a, 0, sizeof(*a));
}

void
nf_alert_list_free(nf_alert *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		nf_alert_release(&a[i]);
	free(a);
}

/* The id of the alert a fired rule is: the one of the same identity (pipeline, monitor,
 * rule, severity, condition, data key) when it has a data key, else the one this run's
 * monitor raised for the rule (an earlier attempt); 0 when there is none. */
int
nf_store_alert_find(nf_store *st, const nf_alert *a, int64_t *id)
{
	static const char by_identity[] =
		"SELECT id FROM alerts WHERE pipeline = ? AND monitor = ? AND rule = ? AND severity = ?"
		" AND expr = ? AND data_key = ?";
	static const char by_run[] = "SELECT id FROM alerts WHERE run_id = ? AND monitor = ? AND rule = ?";
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*id = 0;
	if (a->data_key) {
		if (sqlite3_prepare_v2(st->db, by_identity, -1, &q, NULL) != SQLITE_OK)
			return db_error(st, "cannot read an alert");
		sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, a->monitor, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, a->rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, nf_severity_name(a->severity), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, a->expr, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, a->data_key, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			*id = sqlite3_column_int64(q, 0);
		else if (rc != SQLITE_DONE)
			err = db_error(st, "cannot read an alert");
		sqlite3_finalize(q);
		q = NULL;
		if (err < 0 || *id)
			return err;
	}
	/* An earlier attempt of this run raised it (on other data, if its metrics changed). */
	if (sqlite3_prepare_v2(st->db, by_run, -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read an alert");
	sqlite3_bind_int64(q, 1, a->run_id);
	sqlite3_bind_text(q, 2, a->monitor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, a->rule, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		err = db_error(st, "cannot read an alert");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_alert_insert(nf_store *st, nf_alert *a)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO alerts (pipeline, run_id, monitor, rule, severity, expr, vals, value,"
			       " threshold, summary, created_ms, data_key, seen_count, last_seen_ms, last_run_id)"
			       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,1,?11,?2)", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot record an alert");
	sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, a->run_id);
	sqlite3_bind_text(q, 3, a->monitor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, a->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, nf_severity_name(a->severity), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, a->expr, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, a->values_json, -1, SQLITE_STATIC);
	if (a->has_value)
		sqlite3_bind_double(q, 8, a->value);
	if (a->has_threshold)
		sqlite3_bind_double(q, 9, a->threshold);
	sqlite3_bind_text(q, 10, a->summary, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 11, a->created_ms);
	if (a->data_key)
		sqlite3_bind_text(q, 12, a->data_key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot record an alert");
	else
		a->id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(q);
	return err;
}

/* Notes that run_id raised alert id at ms. 1 when this run had not raised it yet, 0 when
 * it had (an earlier attempt), negative on an error. */
int
nf_store_alert_sighting(nf_store *st, int64_t id, int64_t run_id, int64_t ms)
{
	sqlite3_stmt *q = NULL;
	int err;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO alert_runs (alert_id, run_id, seen_ms) VALUES (?,?,?)"
			       " ON CONFLICT (alert_id, run_id) DO NOTHING", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot record an alert");
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, run_id);
	sqlite3_bind_int64(q, 3, ms);
	err = sqlite3_step(q) != SQLITE_DONE ? db_error(st, "cannot record an alert") : sqlite3_changes(st->db) == 1;
	sqlite3_finalize(q);
	return err;
}

/* One more run raised alert id: its count, last seen time and last run. */
int
nf_store_alert_count_again(nf_store *st, int64_t id, int64_t run_id, int64_t ms)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "UPDATE alerts SET seen_count = seen_count + 1, last_seen_ms = ?, last_run_id = ?"
			       " WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot record an alert");
	sqlite3_bind_int64(q, 1, ms);
	sqlite3_bind_int64(q, 2, run_id);
	sqlite3_bind_int64(q, 3, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot record an alert");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_alert_trigger(nf_store *st, const nf_alert *a)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO triggers (pipeline, run_id, alert_id, severity, created_ms)"
			       " VALUES (?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot record a trigger");
	sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, a->run_id);
	sqlite3_bind_int64(q, 3, a->id);
	sqlite3_bind_text(q, 4, nf_severity_name(a->severity), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, a->created_ms);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot record a trigger");
	sqlite3_finalize(q);
	return err;
}

#define ALERT_COLS \
	"a.id, a.pipeline, a.run_id, a.monitor, a.rule, a.severity, a.expr, a.vals, a.value, a.threshold," \
	" a.summary, a.created_ms, a.acked_ms, a.ack_note, a.ack_by," \
	" EXISTS (SELECT 1 FROM triggers t WHERE t.alert_id = a.id)," \
	" a.data_key, a.seen_count, a.last_seen_ms, a.last_run_id"

static void
read_alert(sqlite3_stmt *q, nf_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(q, 0);
	a->pipeline = nf_store__col_strdup(q, 1);
	a->run_id = sqlite3_column_int64(q, 2);
	a->monitor = nf_store__col_strdup(q, 3);
	a->rule = nf_store__col_strdup(q, 4);
	a->severity = severity_parse((const char *)sqlite3_column_text(q, 5));
	a->expr = nf_store__col_strdup(q, 6);
	a->values_json = nf_store__col_strdup(q, 7);
	a->has_value = sqlite3_column_type(q, 8) != SQLITE_NULL;
	a->value = sqlite3_column_double(q, 8);
	a->has_threshold = sqlite3_column_type(q, 9) != SQLITE_NULL;
	a->threshold = sqlite3_column_double(q, 9);
	a->summary = nf_store__col_strdup(q, 10);
	a->created_ms = sqlite3_column_int64(q, 11);
	a->acked_ms = sqlite3_column_int64(q, 12);
	a->ack_note = nf_store__col_strdup(q, 13);
	a->ack_by = nf_store__col_strdup(q, 14);
	a->triggered = sqlite3_column_int(q, 15) != 0;
	a->data_key = nf_store__col_strdup(q, 16);
	a->count = sqlite3_column_int64(q, 17);
	a->last_seen_ms = sqlite3_column_int64(q, 18);
	a->last_run_id = sqlite3_column_int64(q, 19);
}

/* Alerts oldest first: open ones only, of one run only (run_id > 0). */
static int
list_alerts(nf_store *st, bool open_only, int64_t run_id, nf_alert **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_alert *as = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT " ALERT_COLS " FROM alerts a WHERE (?1 = 0 OR a.acked_ms = 0)"
			       " AND (?2 <= 0 OR a.id IN (SELECT alert_id FROM alert_runs WHERE run_id = ?2))"
			       " ORDER BY a.id", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the alerts");
	sqlite3_bind_int(q, 1, open_only);
	sqlite3_bind_int64(q, 2, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		as = xgrow(as, sizeof(*as), *n + 1, &cap);
		read_alert(q, &as[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(st, "cannot read the alerts");
		nf_alert_list_free(as, *n);
		as = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = as;
	return err;
}

int
nf_alert_list(nf_store *st, bool open_only, nf_alert **out, size_t *n)
{
	return list_alerts(st, open_only, 0, out, n);
}

int
nf_alert_list_run(nf_store *st, int64_t run_id, nf_alert **out, size_t *n)
{
	return list_alerts(st, false, run_id, out, n);
}

int
nf_alert_get(nf_store *st, int64_t id, nf_alert *out)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT " ALERT_COLS " FROM alerts a WHERE a.id = ?", -1, &q, NULL) != SQLITE_OK)
		return db_error(st, "cannot read the alerts");
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		read_alert(q, out);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no alert %lld", (long long)id);
	else
		err = db_error(st, "cannot read the alerts");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_alert_ack(nf_store *st, int64_t id, int64_t now_ms, const char *note, const char *actor)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(st->db, "UPDATE alerts SET acked_ms = ?, ack_note = ?, ack_by = ? WHERE id = ?", -1, &q,
			       NULL) != SQLITE_OK)
		return db_error(st, "cannot acknowledge the alert");
	sqlite3_bind_int64(q, 1, now_ms);
	if (note)
		sqlite3_bind_text(q, 2, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(st, "cannot acknowledge the alert");
	sqlite3_finalize(q);
	return err;
}
