/* schedules.c: the scheduler's tables: per pipeline the last interval decided, the log of
 * decisions, the runs of a pipeline still going, and the alert triggers waiting for it. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
nf_schedule_row_release(nf_schedule_row *r)
{
	if (!r)
		return;
	free(r->pipeline);
	free(r->file);
	free(r->cron);
	free(r->timezone);
	free(r->policy);
	*r = (nf_schedule_row){ 0 };
}

void
nf_schedule_row_list_free(nf_schedule_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nf_schedule_row_release(&rows[i]);
	free(rows);
}

void
nf_schedule_event_release(nf_schedule_event *e)
{
	if (!e)
		return;
	free(e->pipeline);
	free(e->decision);
	free(e->detail);
	*e = (nf_schedule_event){ 0 };
}

void
nf_schedule_event_list_free(nf_schedule_event *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nf_schedule_event_release(&e[i]);
	free(e);
}

void
nf_trigger_list_free(nf_trigger *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].severity);
	free(t);
}

static int
prepare(nf_store *st, const char *sql, sqlite3_stmt **q, const char *what)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, q, NULL);

	return rc == SQLITE_OK ? 0 : nf_store__error(st, rc, what);
}

/* Steps q to its end, handing each row to fn; finalizes q. */
static int
each_row(nf_store *st, sqlite3_stmt *q, void (*fn)(void *ctx, sqlite3_stmt *q), void *ctx, const char *what)
{
	int rc, err = 0;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, q);
	if (rc != SQLITE_DONE)
		err = nf_store__error(st, rc, what);
	sqlite3_finalize(q);
	return err;
}

#define ROW_COLS "pipeline, file, cron, timezone, policy, last_end, registered_s, updated_s"

static void
row_from(nf_schedule_row *r, sqlite3_stmt *q)
{
	r->pipeline = nf_store__col_strdup(q, 0);
	r->file = nf_store__col_strdup(q, 1);
	r->cron = nf_store__col_strdup(q, 2);
	r->timezone = nf_store__col_strdup(q, 3);
	r->policy = nf_store__col_strdup(q, 4);
	r->last_end = sqlite3_column_int64(q, 5);
	r->registered = sqlite3_column_int64(q, 6);
	r->updated = sqlite3_column_int64(q, 7);
}

int
nf_store_schedule_get(nf_store *st, const char *pipeline, nf_schedule_row *out)
{
	sqlite3_stmt *q;
	int rc, err;

	*out = (nf_schedule_row){ 0 };
	if ((err = prepare(st, "SELECT " ROW_COLS " FROM schedules WHERE pipeline = ?1", &q,
			   "cannot read the schedule")) < 0)
		return err;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		row_from(out, q);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "pipeline '%s' has never been scheduled here", pipeline);
	else
		err = nf_store__error(st, rc, "cannot read the schedule");
	sqlite3_finalize(q);
	return err;
}

typedef struct rows_acc {
	nf_schedule_row *rows;
	size_t n, cap;
} rows_acc;

static void
add_row(void *ctx, sqlite3_stmt *q)
{
	rows_acc *a = ctx;

	a->rows = xgrow(a->rows, sizeof(*a->rows), a->n + 1, &a->cap);
	row_from(&a->rows[a->n++], q);
}

int
nf_store_schedule_list(nf_store *st, nf_schedule_row **out, size_t *n)
{
	rows_acc a = { 0 };
	sqlite3_stmt *q;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = prepare(st, "SELECT " ROW_COLS " FROM schedules ORDER BY pipeline", &q,
			   "cannot read the schedules")) < 0)
		return err;
	if ((err = each_row(st, q, add_row, &a, "cannot read the schedules")) < 0) {
		nf_schedule_row_list_free(a.rows, a.n);
		return err;
	}
	*out = a.rows;
	*n = a.n;
	return 0;
}

int
nf_store_schedule_put(nf_store *st, const nf_schedule_row *r)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0 ||
	    (err = prepare(st, "INSERT OR REPLACE INTO schedules (" ROW_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			   &q, "cannot record the schedule")) < 0)
		return err;
	sqlite3_bind_text(q, 1, r->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, r->file ? r->file : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, r->cron ? r->cron : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, r->timezone ? r->timezone : "UTC", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, r->policy ? r->policy : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, r->last_end);
	sqlite3_bind_int64(q, 7, r->registered);
	sqlite3_bind_int64(q, 8, r->updated);
	err = nf_store__step_done(st, q, "cannot record the schedule");
	sqlite3_finalize(q);
	return err;
}

#define EVENT_COLS "id, time_s, pipeline, decision, detail, interval_start, interval_end, run_id, pid, " \
	"alert_id, exit_status"

int
nf_store_schedule_event_add(nf_store *st, nf_schedule_event *ev)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0 ||
	    (err = prepare(st, "INSERT INTO schedule_events (time_s, pipeline, decision, detail, interval_start,"
			   " interval_end, run_id, pid, alert_id, exit_status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			   &q, "cannot record the scheduler's decision")) < 0)
		return err;
	sqlite3_bind_int64(q, 1, ev->time);
	sqlite3_bind_text(q, 2, ev->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, ev->decision, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, ev->detail ? ev->detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, ev->interval_start);
	sqlite3_bind_int64(q, 6, ev->interval_end);
	sqlite3_bind_int64(q, 7, ev->run_id);
	sqlite3_bind_int64(q, 8, ev->pid);
	sqlite3_bind_int64(q, 9, ev->alert_id);
	sqlite3_bind_int(q, 10, ev->exit_status);
	if ((err = nf_store__step_done(st, q, "cannot record the scheduler's decision")) == 0)
		ev->id = sqlite3_last_insert_rowid(st->db);
	sqlite3_finalize(q);
	return err;
}

int
nf_store_schedule_event_update(nf_store *st, int64_t id, pid_t pid, int64_t run_id, int exit_status)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0 ||
	    (err = prepare(st, "UPDATE schedule_events SET pid = CASE WHEN ?2 > 0 THEN ?2 ELSE pid END,"
			   " run_id = CASE WHEN ?3 > 0 THEN ?3 ELSE run_id END,"
			   " exit_status = CASE WHEN ?4 >= 0 THEN ?4 ELSE exit_status END WHERE id = ?1",
			   &q, "cannot record the scheduler's run")) < 0)
		return err;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_int64(q, 3, run_id);
	sqlite3_bind_int(q, 4, exit_status);
	err = nf_store__step_done(st, q, "cannot record the scheduler's run");
	sqlite3_finalize(q);
	return err < 0 ? err : nf_store_flush(st);
}

int
nf_store_schedule_event_decide(nf_store *st, int64_t id, const char *decision, const char *detail)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0 ||
	    (err = prepare(st, "UPDATE schedule_events SET decision = ?2, detail = ?3 WHERE id = ?1", &q,
			   "cannot record the scheduler's decision")) < 0)
		return err;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, decision, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, detail, -1, SQLITE_STATIC);
	err = nf_store__step_done(st, q, "cannot record the scheduler's decision");
	sqlite3_finalize(q);
	return err < 0 ? err : nf_store_flush(st);
}

typedef struct events_acc {
	nf_schedule_event *ev;
	size_t n, cap;
} events_acc;

static void
add_event(void *ctx, sqlite3_stmt *q)
{
	events_acc *a = ctx;
	nf_schedule_event *e;

	a->ev = xgrow(a->ev, sizeof(*a->ev), a->n + 1, &a->cap);
	e = &a->ev[a->n++];
	e->id = sqlite3_column_int64(q, 0);
	e->time = sqlite3_column_int64(q, 1);
	e->pipeline = nf_store__col_strdup(q, 2);
	e->decision = nf_store__col_strdup(q, 3);
	e->detail = nf_store__col_strdup(q, 4);
	e->interval_start = sqlite3_column_int64(q, 5);
	e->interval_end = sqlite3_column_int64(q, 6);
	e->run_id = sqlite3_column_int64(q, 7);
	e->pid = (pid_t)sqlite3_column_int64(q, 8);
	e->alert_id = sqlite3_column_int64(q, 9);
	e->exit_status = sqlite3_column_int(q, 10);
}

int
nf_store_schedule_events(nf_store *st, const char *pipeline, const char *decision, int limit,
			 nf_schedule_event **out, size_t *n)
{
	events_acc a = { 0 };
	sqlite3_stmt *q;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = prepare(st, "SELECT " EVENT_COLS " FROM schedule_events WHERE (?1 IS NULL OR pipeline = ?1)"
			   " AND (?2 IS NULL OR decision = ?2) ORDER BY id DESC LIMIT ?3",
			   &q, "cannot read the scheduler's decisions")) < 0)
		return err;
	if (pipeline)
		sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	if (decision)
		sqlite3_bind_text(q, 2, decision, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, limit > 0 ? limit : -1);
	if ((err = each_row(st, q, add_event, &a, "cannot read the scheduler's decisions")) < 0) {
		nf_schedule_event_list_free(a.ev, a.n);
		return err;
	}
	*out = a.ev;
	*n = a.n;
	return 0;
}

int
nf_store_runs_active(nf_store *st, const char *pipeline, nf_active_run *out, size_t max, size_t *n)
{
	sqlite3_stmt *q;
	int rc, err, others = -2;   /* nf_store__lock_others, once asked */

	*n = 0;
	if ((err = prepare(st, "SELECT id, pid, pid_start, boot_id, host FROM runs WHERE status = 'running'"
			   " AND pipeline = ?1 ORDER BY id", &q, "cannot read the runs")) < 0)
		return err;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *boot = (const char *)sqlite3_column_text(q, 3);
		const char *host = (const char *)sqlite3_column_text(q, 4);
		bool here = !host || !*host || strcmp(host, nf_store__host()) == 0;

		if (here && !nf_store__run_alive((pid_t)sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
						 boot ? boot : ""))
			continue;
		/* A run of another host: its pid says nothing here, the workspace's lock does. Held
		 * by nobody else, the run is gone (recovery marks it crashed at the next run's
		 * start); a scheduler that counted it would wait on it for as long as it stays up. */
		if (!here && (others == -2 ? (others = nf_store__lock_others(st)) : others) == 0)
			continue;
		if (out && *n < max)
			out[*n] = (nf_active_run){ sqlite3_column_int64(q, 0), (pid_t)sqlite3_column_int64(q, 1) };
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_run_of_pid(nf_store *st, const char *pipeline, pid_t pid, int64_t not_before_ms, int64_t *id)
{
	sqlite3_stmt *q;
	int rc, err;

	if ((err = prepare(st, "SELECT max(id) FROM runs WHERE pipeline = ?1 AND pid = ?2 AND started_ms >= ?3", &q,
			   "cannot read the runs")) < 0)
		return err;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, pid);
	sqlite3_bind_int64(q, 3, not_before_ms);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_ROW)
		err = nf_error_set(NF_ENOTFOUND, "no run of %s by process %ld", pipeline, (long)pid);
	else
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_run_of_event(nf_store *st, const nf_schedule_event *ev, int64_t *id)
{
	sqlite3_stmt *q;
	int rc, err;
	bool alert = strcmp(ev->decision, "alert") == 0;

	*id = 0;
	/* The newest run of that process that is the one the decision asked for: its trigger,
	 * and for an interval its start, as a run records it (the pid may have been reused
	 * since, by any run). */
	if ((err = prepare(st, "SELECT max(id) FROM runs WHERE pipeline = ?1 AND pid = ?2 AND trigger = ?3"
			   " AND (?4 IS NULL OR interval_start = strftime('%Y-%m-%dT%H:%M:%SZ', ?4, 'unixepoch'))",
			   &q, "cannot read the runs")) < 0)
		return err;
	sqlite3_bind_text(q, 1, ev->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, ev->pid);
	sqlite3_bind_text(q, 3, alert ? "alert" : "schedule", -1, SQLITE_STATIC);
	if (alert)
		sqlite3_bind_null(q, 4);
	else
		sqlite3_bind_int64(q, 4, ev->interval_start);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_ROW)
		err = nf_error_set(NF_ENOTFOUND, "no run of %s by process %ld", ev->pipeline, (long)ev->pid);
	else
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	return err;
}

/* sql, an UPDATE of the row whose id is ?1, stepped in the batch (what: the error's words). */
static int
update_by_id(nf_store *st, const char *sql, int64_t id, const char *what)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0 || (err = prepare(st, sql, &q, what)) < 0)
		return err;
	sqlite3_bind_int64(q, 1, id);
	err = nf_store__step_done(st, q, what);
	sqlite3_finalize(q);
	return err;
}

int
nf_store_schedule_event_settle(nf_store *st, int64_t id)
{
	int err = update_by_id(st, "UPDATE schedule_events SET exit_status = -2 WHERE id = ?1 AND exit_status = -1",
			       id, "cannot record the scheduler's run");

	return err < 0 ? err : nf_store_flush(st);
}

int
nf_store_triggers_pending(nf_store *st, const char *pipeline, nf_trigger **out, size_t *n)
{
	sqlite3_stmt *q;
	size_t cap = 0;
	int rc, err;

	*out = NULL;
	*n = 0;
	if ((err = prepare(st, "SELECT id, run_id, alert_id, created_ms, severity FROM triggers"
			   " WHERE consumed = 0 AND pipeline = ?1 ORDER BY id", &q, "cannot read the alert triggers")) < 0)
		return err;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_trigger *t;

		*out = xgrow(*out, sizeof(**out), *n + 1, &cap);
		t = &(*out)[(*n)++];
		t->id = sqlite3_column_int64(q, 0);
		t->run_id = sqlite3_column_int64(q, 1);
		t->alert_id = sqlite3_column_int64(q, 2);
		t->created_ms = sqlite3_column_int64(q, 3);
		t->severity = nf_store__col_strdup(q, 4);
	}
	if (rc != SQLITE_DONE)
		err = nf_store__error(st, rc, "cannot read the alert triggers");
	sqlite3_finalize(q);
	if (err < 0) {
		nf_trigger_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int
nf_store_trigger_consume(nf_store *st, int64_t id)
{
	return update_by_id(st, "UPDATE triggers SET consumed = 1 WHERE id = ?1", id, "cannot record the alert trigger");
}
