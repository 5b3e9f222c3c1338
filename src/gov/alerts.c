/* alerts.c: drift alerts. A monitor's rules are evaluated over its metrics; each rule that
 * fires becomes an alert with the values it read, the threshold it crossed, an audit record
 * and, when the monitor's on_alert asks, a trigger row for the scheduler. An alert is
 * identified by its monitor, rule, severity and the data it was computed on (the monitor's
 * cache key): a later run raising it again (a cached rerun) counts it, with an alert-repeat
 * audit record and no trigger; a retried monitor in one run counts once. Also listing and
 * acknowledging. */
#include "config.h"
#include "ntflow/gov.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
db_error(sqlite3 *db, const char *what)
{
	return nf_error_set(NF_ERROR, "%s: %s", what, sqlite3_errmsg(db));
}

static bool
is_comparison(nf_expr_op op)
{
	return op == NF_EX_LT || op == NF_EX_LE || op == NF_EX_GT || op == NF_EX_GE ||
	       op == NF_EX_EQ || op == NF_EX_NE;
}

static const char *
op_text(nf_expr_op op)
{
	switch (op) {
	case NF_EX_LT: return "<";
	case NF_EX_LE: return "<=";
	case NF_EX_GT: return ">";
	case NF_EX_GE: return ">=";
	case NF_EX_EQ: return "==";
	case NF_EX_NE: return "!=";
	default: return "?";
	}
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

/* The values a rule read, as a JSON object ("production.NAME" for production ones). */
typedef struct values_walk {
	const nf_alert_source *src;
	cJSON *obj;
	nf_buf list;                  /* "a=1, b=2" for the summary */
} values_walk;

static void
add_value(void *vctx, bool prod, const char *name, int col)
{
	values_walk *vw = vctx;
	char *key = prod ? xasprintf("production.%s", name) : xstrdup(name);
	double v;

	(void)col;
	if (!cJSON_GetObjectItemCaseSensitive(vw->obj, key) && vw->src->lookup(vw->src->ctx, prod, name, &v) == 0) {
		cJSON_AddNumberToObject(vw->obj, key, v);
		nf_buf_printf(&vw->list, "%s%s=%g", vw->list.len ? ", " : "", key, v);
	}
	free(key);
}

/* "max_psi 0.31 > 0.25" for NAME OP EXPR; otherwise the condition with the values read. */
static char *
summary_text(const nf_alert_rule *rule, const nf_alert *a, const values_walk *vw)
{
	const nf_expr *e = rule->when.expr;
	nf_buf b = NF_BUF_INIT;

	if (is_comparison(e->op) && (e->l->op == NF_EX_NAME || e->l->op == NF_EX_PROD) && a->has_value &&
	    a->has_threshold) {
		nf_buf_printf(&b, "%s%s %g %s ", e->l->op == NF_EX_PROD ? "production." : "", e->l->name, a->value,
			      op_text(e->op));
		nf_expr_format(&b, e->r);
		if (e->r->op != NF_EX_NUM)
			nf_buf_printf(&b, " (%g)", a->threshold);
	} else {
		nf_buf_puts(&b, rule->when.text);
		if (vw->list.len)
			nf_buf_printf(&b, " (%s)", nf_buf_cstr(&vw->list));
	}
	return nf_buf_detach(&b);
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
static int
find_alert(sqlite3 *db, const nf_alert *a, int64_t *id)
{
	static const char by_identity[] =
		"SELECT id FROM alerts WHERE pipeline = ? AND monitor = ? AND rule = ? AND severity = ?"
		" AND expr = ? AND data_key = ?";
	static const char by_run[] = "SELECT id FROM alerts WHERE run_id = ? AND monitor = ? AND rule = ?";
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*id = 0;
	if (a->data_key) {
		if (sqlite3_prepare_v2(db, by_identity, -1, &q, NULL) != SQLITE_OK)
			return db_error(db, "cannot read an alert");
		sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, a->monitor, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, a->rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, nf_severity_name(a->severity), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, a->expr, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, a->data_key, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			*id = sqlite3_column_int64(q, 0);
		else if (rc != SQLITE_DONE)
			err = db_error(db, "cannot read an alert");
		sqlite3_finalize(q);
		q = NULL;
		if (err < 0 || *id)
			return err;
	}
	/* An earlier attempt of this run raised it (on other data, if its metrics changed). */
	if (sqlite3_prepare_v2(db, by_run, -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read an alert");
	sqlite3_bind_int64(q, 1, a->run_id);
	sqlite3_bind_text(q, 2, a->monitor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, a->rule, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE)
		err = db_error(db, "cannot read an alert");
	sqlite3_finalize(q);
	return err;
}

static int
insert_alert(sqlite3 *db, nf_alert *a)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(db, "INSERT INTO alerts (pipeline, run_id, monitor, rule, severity, expr, vals, value,"
			       " threshold, summary, created_ms, data_key, seen_count, last_seen_ms, last_run_id)"
			       " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,1,?11,?2)", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot record an alert");
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
		err = db_error(db, "cannot record an alert");
	else
		a->id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(q);
	return err;
}

/* Notes that run_id raised alert id at ms. 1 when this run had not raised it yet, 0 when
 * it had (an earlier attempt), negative on an error. */
static int
add_sighting(sqlite3 *db, int64_t id, int64_t run_id, int64_t ms)
{
	sqlite3_stmt *q = NULL;
	int err;

	if (sqlite3_prepare_v2(db, "INSERT INTO alert_runs (alert_id, run_id, seen_ms) VALUES (?,?,?)"
			       " ON CONFLICT (alert_id, run_id) DO NOTHING", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot record an alert");
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, run_id);
	sqlite3_bind_int64(q, 3, ms);
	err = sqlite3_step(q) != SQLITE_DONE ? db_error(db, "cannot record an alert") : sqlite3_changes(db) == 1;
	sqlite3_finalize(q);
	return err;
}

/* One more run raised alert id: its count, last seen time and last run. */
static int
count_again(sqlite3 *db, int64_t id, int64_t run_id, int64_t ms)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(db, "UPDATE alerts SET seen_count = seen_count + 1, last_seen_ms = ?, last_run_id = ?"
			       " WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot record an alert");
	sqlite3_bind_int64(q, 1, ms);
	sqlite3_bind_int64(q, 2, run_id);
	sqlite3_bind_int64(q, 3, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(db, "cannot record an alert");
	sqlite3_finalize(q);
	return err;
}

static int
insert_trigger(sqlite3 *db, const nf_alert *a)
{
	sqlite3_stmt *q = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO triggers (pipeline, run_id, alert_id, severity, created_ms)"
			       " VALUES (?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot record a trigger");
	sqlite3_bind_text(q, 1, a->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, a->run_id);
	sqlite3_bind_int64(q, 3, a->id);
	sqlite3_bind_text(q, 4, nf_severity_name(a->severity), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, a->created_ms);
	if (sqlite3_step(q) != SQLITE_DONE)
		err = db_error(db, "cannot record a trigger");
	sqlite3_finalize(q);
	return err;
}

static int
audit_alert(nf_store *st, nf_audit *audit, const nf_alert *a)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddNumberToObject(p, "alert", (double)a->id);
	cJSON_AddStringToObject(p, "pipeline", a->pipeline);
	cJSON_AddStringToObject(p, "monitor", a->monitor);
	cJSON_AddStringToObject(p, "rule", a->rule);
	cJSON_AddStringToObject(p, "severity", nf_severity_name(a->severity));
	cJSON_AddStringToObject(p, "when", a->expr);
	cJSON_AddItemToObject(p, "values", cJSON_Parse(a->values_json));
	if (a->has_value)
		cJSON_AddNumberToObject(p, "value", a->value);
	if (a->has_threshold)
		cJSON_AddNumberToObject(p, "threshold", a->threshold);
	cJSON_AddBoolToObject(p, "trigger", a->triggered);
	if (a->data_key)
		cJSON_AddStringToObject(p, "data_key", a->data_key);
	err = audit ? nf_audit_add(audit, a->run_id, NF_AUDIT_ALERT, p)
		    : nf_audit_append(st, a->run_id, NF_AUDIT_ALERT, p);
	cJSON_Delete(p);
	return err;
}

/* The audit record of an alert raised again: which alert, by which run, how often now. */
static int
audit_repeat(nf_store *st, nf_audit *audit, const nf_alert *a, int64_t run_id)
{
	cJSON *p = cJSON_CreateObject();
	int err;

	cJSON_AddNumberToObject(p, "alert", (double)a->id);
	cJSON_AddStringToObject(p, "pipeline", a->pipeline);
	cJSON_AddStringToObject(p, "monitor", a->monitor);
	cJSON_AddStringToObject(p, "rule", a->rule);
	cJSON_AddStringToObject(p, "severity", nf_severity_name(a->severity));
	cJSON_AddNumberToObject(p, "count", (double)a->count);
	cJSON_AddNumberToObject(p, "first_run", (double)a->run_id);
	cJSON_AddBoolToObject(p, "open", a->acked_ms == 0);
	if (a->data_key)
		cJSON_AddStringToObject(p, "data_key", a->data_key);
	err = audit ? nf_audit_add(audit, run_id, NF_AUDIT_REPEAT, p) : nf_audit_append(st, run_id, NF_AUDIT_REPEAT, p);
	cJSON_Delete(p);
	return err;
}

/* Records a fired rule: a new alert (with its trigger when want_trigger and its audit
 * record), or one more count of the alert of the same identity an earlier run raised (an
 * alert-repeat record, no trigger), or nothing when this run raised it already. *a is then
 * replaced by the alert as stored (repeat set for the second case). */
static int
record_alert(nf_store *st, nf_audit *audit, nf_alert *a, bool want_trigger)
{
	sqlite3 *db = nf_store_db(st);
	int64_t id = 0, run_id = a->run_id, now = a->created_ms;
	nf_alert stored;
	int err, again = 0;

	if ((err = find_alert(db, a, &id)) < 0)
		return err;
	if (id == 0) {
		a->triggered = want_trigger;
		if ((err = insert_alert(db, a)) < 0 || (err = add_sighting(db, a->id, run_id, now)) < 0 ||
		    (want_trigger && (err = insert_trigger(db, a)) < 0) || (err = audit_alert(st, audit, a)) < 0)
			return err;
		id = a->id;
	} else if ((again = err = add_sighting(db, id, run_id, now)) < 0 ||
		   (again && (err = count_again(db, id, run_id, now)) < 0)) {
		return err;
	}
	if ((err = nf_alert_get(st, id, &stored)) < 0)
		return err;
	stored.repeat = stored.run_id != run_id;
	if (again && (err = audit_repeat(st, audit, &stored, run_id)) < 0) {
		nf_alert_release(&stored);
		return err;
	}
	nf_alert_release(a);
	*a = stored;
	return 0;
}

/* Evaluates one rule; *fires set when it did. */
static int
evaluate_rule(nf_alert *a, bool *fires, const nf_alert_source *src, const nf_alert_rule *rule)
{
	const nf_expr *e = rule->when.expr;
	values_walk vw = { src, NULL, NF_BUF_INIT };
	double v = 0;
	int err;

	*fires = false;
	if (!e)
		return nf_error_set(NF_EINVALID, "alert %s: the condition '%s' did not parse", rule->name, rule->when.text);
	err = nf_expr_eval(e, src->lookup, src->ctx, &v);
	if (err == NF_ENOPROD)
		return 0;   /* nothing in production to compare with: the rule cannot fire */
	if (err < 0) {
		char *why = xstrdup(nf_error_last());   /* the message buffer is about to be rewritten */

		nf_error_set(NF_EINVALID, "alert %s (%s): %s", rule->name, rule->when.text, why);
		free(why);
		return NF_EINVALID;
	}
	if (v == 0.0)
		return 0;
	*fires = true;
	memset(a, 0, sizeof(*a));
	a->pipeline = xstrdup(src->pipeline ? src->pipeline : "");
	a->run_id = src->run_id;
	a->monitor = xstrdup(src->monitor);
	a->rule = xstrdup(rule->name);
	a->severity = rule->severity;
	a->expr = xstrdup(rule->when.text);
	a->created_ms = nf_now_realtime_ms();
	if (is_comparison(e->op)) {
		a->has_value = nf_expr_eval(e->l, src->lookup, src->ctx, &a->value) == 0;
		a->has_threshold = nf_expr_eval(e->r, src->lookup, src->ctx, &a->threshold) == 0;
	}
	vw.obj = cJSON_CreateObject();
	nf_expr_walk_names(e, add_value, &vw);
	a->values_json = nf_audit_canonical_json(vw.obj);
	a->summary = summary_text(rule, a, &vw);
	cJSON_Delete(vw.obj);
	nf_buf_release(&vw.list);
	return 0;
}

int
nf_alerts_evaluate(nf_alert **fired, size_t *nfired, nf_store *st, nf_audit *audit, const nf_alert_source *src)
{
	const nf_stage *stage = src->stage;
	nf_alert *out = NULL;
	size_t n = 0, cap = 0;
	char *bad = NULL;           /* the first rule that could not be evaluated */
	int err = 0;

	*fired = NULL;
	*nfired = 0;
	for (size_t i = 0; i < stage->nalerts; i++) {
		const nf_alert_rule *rule = &stage->alerts[i];
		nf_alert a;
		bool fires;

		/* A rule that cannot be judged does not keep the others from firing. */
		if (evaluate_rule(&a, &fires, src, rule) < 0) {
			if (!bad)
				bad = xstrdup(nf_error_last());
			continue;
		}
		if (!fires)
			continue;
		a.data_key = src->data_key ? xstrdup(src->data_key) : NULL;
		if ((err = nf_store_batch(st)) < 0 ||
		    (err = record_alert(st, audit, &a, !src->no_triggers && stage->on_alert != NF_SEV_NONE &&
					a.severity >= stage->on_alert)) < 0) {
			nf_alert_release(&a);
			nf_alert_list_free(out, n);
			free(bad);
			return err;
		}
		err = 0;
		NF_PUSH(out, n, cap, a);
	}
	*fired = out;
	*nfired = n;
	if (bad) {
		err = nf_error_set(NF_EINVALID, "%s", bad);
		free(bad);
	}
	return err;
}

/* ---- reading and acknowledging ---- */

#define ALERT_COLS \
	"a.id, a.pipeline, a.run_id, a.monitor, a.rule, a.severity, a.expr, a.vals, a.value, a.threshold," \
	" a.summary, a.created_ms, a.acked_ms, a.ack_note, a.ack_by," \
	" EXISTS (SELECT 1 FROM triggers t WHERE t.alert_id = a.id)," \
	" a.data_key, a.seen_count, a.last_seen_ms, a.last_run_id"

static char *
col_dup(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	return s ? xstrdup((const char *)s) : NULL;
}

static void
read_alert(sqlite3_stmt *q, nf_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(q, 0);
	a->pipeline = col_dup(q, 1);
	a->run_id = sqlite3_column_int64(q, 2);
	a->monitor = col_dup(q, 3);
	a->rule = col_dup(q, 4);
	a->severity = severity_parse((const char *)sqlite3_column_text(q, 5));
	a->expr = col_dup(q, 6);
	a->values_json = col_dup(q, 7);
	a->has_value = sqlite3_column_type(q, 8) != SQLITE_NULL;
	a->value = sqlite3_column_double(q, 8);
	a->has_threshold = sqlite3_column_type(q, 9) != SQLITE_NULL;
	a->threshold = sqlite3_column_double(q, 9);
	a->summary = col_dup(q, 10);
	a->created_ms = sqlite3_column_int64(q, 11);
	a->acked_ms = sqlite3_column_int64(q, 12);
	a->ack_note = col_dup(q, 13);
	a->ack_by = col_dup(q, 14);
	a->triggered = sqlite3_column_int(q, 15) != 0;
	a->data_key = col_dup(q, 16);
	a->count = sqlite3_column_int64(q, 17);
	a->last_seen_ms = sqlite3_column_int64(q, 18);
	a->last_run_id = sqlite3_column_int64(q, 19);
}

/* Alerts oldest first: open ones only, of one run only (run_id > 0). */
static int
list_alerts(nf_store *st, bool open_only, int64_t run_id, nf_alert **out, size_t *n)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_alert *as = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT " ALERT_COLS " FROM alerts a WHERE (?1 = 0 OR a.acked_ms = 0)"
			       " AND (?2 <= 0 OR a.id IN (SELECT alert_id FROM alert_runs WHERE run_id = ?2))"
			       " ORDER BY a.id", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read the alerts");
	sqlite3_bind_int(q, 1, open_only);
	sqlite3_bind_int64(q, 2, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		as = xgrow(as, sizeof(*as), *n + 1, &cap);
		read_alert(q, &as[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		err = db_error(db, "cannot read the alerts");
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
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, "SELECT " ALERT_COLS " FROM alerts a WHERE a.id = ?", -1, &q, NULL) != SQLITE_OK)
		return db_error(db, "cannot read the alerts");
	sqlite3_bind_int64(q, 1, id);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		read_alert(q, out);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no alert %lld", (long long)id);
	else
		err = db_error(db, "cannot read the alerts");
	sqlite3_finalize(q);
	return err;
}

typedef struct ack_req {
	int64_t id;
	const char *note, *actor;
} ack_req;

static int
ack_fn(void *vctx, nf_store *st)
{
	ack_req *r = vctx;
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_alert a;
	cJSON *p = NULL;
	int64_t now = nf_now_realtime_ms();
	int err;

	if ((err = nf_alert_get(st, r->id, &a)) < 0)
		return err;
	if (a.acked_ms) {
		char t[32];

		nf_store_fmt_local_time(t, sizeof(t), a.acked_ms);
		err = nf_error_set(NF_EEXISTS, "alert %lld was acknowledged already (%s by %s)", (long long)r->id, t,
				   a.ack_by ? a.ack_by : "?");
		goto done;
	}
	if (sqlite3_prepare_v2(db, "UPDATE alerts SET acked_ms = ?, ack_note = ?, ack_by = ? WHERE id = ?", -1, &q,
			       NULL) != SQLITE_OK) {
		err = db_error(db, "cannot acknowledge the alert");
		goto done;
	}
	sqlite3_bind_int64(q, 1, now);
	if (r->note)
		sqlite3_bind_text(q, 2, r->note, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, r->actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, r->id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		err = db_error(db, "cannot acknowledge the alert");
		goto done;
	}
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "alert", (double)r->id);
	cJSON_AddNumberToObject(p, "run", (double)a.run_id);
	cJSON_AddStringToObject(p, "monitor", a.monitor);
	cJSON_AddStringToObject(p, "rule", a.rule);
	cJSON_AddStringToObject(p, "by", r->actor);
	if (r->note)
		cJSON_AddStringToObject(p, "note", r->note);
	err = nf_audit_append(st, 0, NF_AUDIT_ACK, p);
done:
	cJSON_Delete(p);
	sqlite3_finalize(q);
	nf_alert_release(&a);
	return err;
}

int
nf_alert_ack(nf_store *st, int64_t id, const char *note, const char *actor)
{
	ack_req r = { id, note, actor ? actor : "?" };

	return nf_store_atomic(st, ack_fn, &r);
}
