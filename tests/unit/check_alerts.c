/* check_alerts.c: unit tests of drift alerts: rules that fire and do not, the values and
 * thresholds recorded, de-duplication per (run, monitor, rule) and, across runs, by the
 * identity of the data (a count, no new trigger), triggers for on_alert,
 * rules that cannot be evaluated, production references, acknowledgement, and the metric
 * series and performance record read back from the database. */
#include "config.h"
#include "ntflow/gov.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* The store's internals: these tests reach the raw database, to tamper with it as someone
 * editing state.db would, or to look at what no typed function shows. */
#include "../../src/store/store-internal.h"

static const char dag_text[] =
	"monitor \"drift\" {\n"
	"  run     = \"true\"\n"
	"  metrics = \"d.json\"\n"
	"  alert \"feature-shift\" {\n"
	"    when     = \"max_psi > 0.25\"\n"
	"    severity = \"high\"\n"
	"  }\n"
	"  alert \"feature-wobble\" {\n"
	"    when     = \"max_psi > 0.10\"\n"
	"    severity = \"medium\"\n"
	"  }\n"
	"  alert \"both\" {\n"
	"    when     = \"max_psi > 0.2 and rows < 100\"\n"
	"    severity = \"low\"\n"
	"  }\n"
	"  alert \"vs-prod\" {\n"
	"    when     = \"auc < production.auc - 0.05\"\n"
	"    severity = \"high\"\n"
	"  }\n"
	"  on_alert = \"high\"\n"
	"}\n";

static nf_dag *dag;
static nf_store *st;

/* The monitor's metrics: max_psi and rows; auc only when have_auc. */
typedef struct metrics_env {
	double max_psi, rows, auc, prod_auc;
	bool have_auc, have_prod;
} metrics_env;

static int
lookup(void *vctx, bool prod, const char *name, double *out)
{
	metrics_env *m = vctx;

	if (prod) {
		if (!m->have_prod)
			return NF_ENOPROD;
		if (strcmp(name, "auc") == 0) {
			*out = m->prod_auc;
			return 0;
		}
		return NF_ENOTFOUND;
	}
	if (strcmp(name, "max_psi") == 0)
		*out = m->max_psi;
	else if (strcmp(name, "rows") == 0)
		*out = m->rows;
	else if (strcmp(name, "auc") == 0 && m->have_auc)
		*out = m->auc;
	else
		return NF_ENOTFOUND;
	return 0;
}

static void
setup(void)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;

	ck_assert_int_eq(nf_dag_parse(&dag, "t.dag", dag_text, strlen(dag_text), &diags), 0);
	nf_diag_list_release(&diags);
	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	unsetenv("NTFLOW_AUDIT_KEY");
}

static void
teardown(void)
{
	nf_store_close(st);
	nf_dag_free(dag);
}

static int64_t
count(const char *sql)
{
	sqlite3_stmt *q;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

static int
evaluate_key(nf_alert **fired, size_t *n, int64_t run, metrics_env *m, bool no_triggers, const char *key)
{
	nf_alert_source src = { "p", run, "drift", nf_dag_find_stage(dag, "drift"), lookup, m, no_triggers, key };

	return nf_alerts_evaluate(fired, n, st, NULL, &src);
}

/* Without a data key: an alert per run. */
static int
evaluate(nf_alert **fired, size_t *n, int64_t run, metrics_env *m, bool no_triggers)
{
	return evaluate_key(fired, n, run, m, no_triggers, NULL);
}

/* A value %g would round (a timestamp, a count) is written whole: two alerts on different
 * data must not read the same. */
START_TEST(test_summary_exact_values)
{
	metrics_env m = { .max_psi = 1796428800.5, .rows = 1000, .auc = 0.9, .have_auc = true };
	nf_alert *fired;
	size_t n;

	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, false), 0);
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(fired[0].summary, "max_psi 1796428800.5 > 0.25");
	nf_alert_list_free(fired, n);
}
END_TEST

START_TEST(test_fire_and_dedup)
{
	metrics_env m = { .max_psi = 0.31, .rows = 1000, .auc = 0.9, .have_auc = true };
	nf_alert *fired, *again, *all;
	size_t n, n2, nall;

	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, false), 0);
	ck_assert_uint_eq(n, 2);   /* both thresholds crossed; rows is not < 100; nothing in production */
	ck_assert_str_eq(fired[0].rule, "feature-shift");
	ck_assert_int_eq(fired[0].severity, NF_SEV_HIGH);
	ck_assert(fired[0].has_value && fired[0].has_threshold);
	ck_assert_double_eq(fired[0].value, 0.31);
	ck_assert_double_eq(fired[0].threshold, 0.25);
	ck_assert_str_eq(fired[0].values_json, "{\"max_psi\":0.31}");
	ck_assert_str_eq(fired[0].summary, "max_psi 0.31 > 0.25");
	ck_assert(fired[0].triggered);
	ck_assert_str_eq(fired[1].rule, "feature-wobble");
	ck_assert(!fired[1].triggered);   /* medium: below on_alert = high */
	ck_assert_str_eq(fired[1].summary, "max_psi 0.31 > 0.1");

	/* A retried monitor fires again: the same alerts, no new rows, one trigger. */
	ck_assert_int_eq(evaluate(&again, &n2, 1, &m, false), 0);
	ck_assert_uint_eq(n2, 2);
	ck_assert_int_eq(again[0].id, fired[0].id);
	ck_assert_int_eq(again[1].id, fired[1].id);
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM triggers"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM triggers WHERE pipeline = 'p' AND run_id = 1 AND consumed = 0"
			       " AND severity = 'high'"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE kind = 'alert'"), 2);
	nf_alert_list_free(again, n2);

	/* Another run: alerts of its own. */
	ck_assert_int_eq(evaluate(&again, &n2, 2, &m, false), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 4);
	nf_alert_list_free(again, n2);

	ck_assert_int_eq(nf_alert_list(st, false, &all, &nall), 0);
	ck_assert_uint_eq(nall, 4);
	ck_assert_int_eq(all[0].run_id, 1);
	ck_assert_str_eq(all[0].monitor, "drift");
	ck_assert_str_eq(all[0].expr, "max_psi > 0.25");
	ck_assert(all[0].triggered && !all[1].triggered);
	nf_alert_list_free(all, nall);
	nf_alert_list_free(fired, n);
}
END_TEST

START_TEST(test_compound_and_quiet)
{
	metrics_env m = { .max_psi = 0.22, .rows = 50, .auc = 0.9, .have_auc = true };
	nf_alert *fired;
	size_t n;

	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, false), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fired[0].rule, "feature-wobble");
	ck_assert_str_eq(fired[1].rule, "both");
	ck_assert(!fired[1].has_value && !fired[1].has_threshold);   /* not a comparison at the top */
	ck_assert_str_eq(fired[1].values_json, "{\"max_psi\":0.22,\"rows\":50}");
	ck_assert_str_eq(fired[1].summary, "max_psi > 0.2 and rows < 100 (max_psi=0.22, rows=50)");
	nf_alert_list_free(fired, n);

	m.max_psi = 0.01;
	ck_assert_int_eq(evaluate(&fired, &n, 2, &m, false), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(fired);
}
END_TEST

START_TEST(test_production)
{
	metrics_env m = { .max_psi = 0, .rows = 1000, .auc = 0.8, .have_auc = true, .prod_auc = 0.9, .have_prod = true };
	nf_alert *fired;
	size_t n;

	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, true), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fired[0].rule, "vs-prod");
	ck_assert_str_eq(fired[0].values_json, "{\"auc\":0.8,\"production.auc\":0.9}");
	ck_assert_str_eq(fired[0].summary, "auc 0.8 < production.auc - 0.05 (0.85)");
	ck_assert(!fired[0].triggered);   /* a run an alert started asks for no other */
	ck_assert_int_eq(count("SELECT count(*) FROM triggers"), 0);
	nf_alert_list_free(fired, n);
}
END_TEST

START_TEST(test_unevaluable)
{
	metrics_env m = { .max_psi = 0.5, .rows = 1000 };
	nf_alert *fired;
	size_t n;

	/* auc is missing: the rule that reads it cannot be judged, and says which. */
	m.have_prod = true;
	m.prod_auc = 0.9;
	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, false), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "alert vs-prod (auc < production.auc - 0.05): metric 'auc' is missing");
	/* The other rules were still judged and recorded. */
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fired[0].rule, "feature-shift");
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 2);
	nf_alert_list_free(fired, n);
}
END_TEST

START_TEST(test_ack)
{
	metrics_env m = { .max_psi = 0.31, .rows = 1000, .auc = 0.9, .have_auc = true };
	nf_alert *fired, a;
	size_t n;

	ck_assert_int_eq(evaluate(&fired, &n, 1, &m, false), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_alert_ack(st, fired[0].id, "retrained", "alice"), 0);
	ck_assert_int_eq(nf_alert_get(st, fired[0].id, &a), 0);
	ck_assert_int_gt(a.acked_ms, 0);
	ck_assert_str_eq(a.ack_note, "retrained");
	ck_assert_str_eq(a.ack_by, "alice");
	nf_alert_release(&a);
	ck_assert_int_eq(nf_alert_ack(st, fired[0].id, NULL, "bob"), NF_EEXISTS);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "was acknowledged already"));
	ck_assert_int_eq(nf_alert_ack(st, 99, NULL, "bob"), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "no alert 99");
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE kind = 'alert-ack'"), 1);
	{
		nf_alert *open;
		size_t nopen;

		ck_assert_int_eq(nf_alert_list(st, true, &open, &nopen), 0);
		ck_assert_uint_eq(nopen, 1);
		ck_assert_int_eq(open[0].id, fired[1].id);
		nf_alert_list_free(open, nopen);
	}
	nf_alert_list_free(fired, n);
	{
		nf_audit_report rep;

		ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
		ck_assert_ptr_null(rep.problem);
		ck_assert_uint_eq(rep.nrecords, 3);
		nf_audit_report_release(&rep);
	}
}
END_TEST

/* A cached rerun raises the same alerts on the same data: counted on the first alert, no
 * new row, no new trigger, an alert-repeat audit record; acknowledged stays acknowledged;
 * new data is a new alert. */
START_TEST(test_dedup_by_data)
{
	metrics_env m = { .max_psi = 0.31, .rows = 1000, .auc = 0.9, .have_auc = true };
	nf_alert *first, *again, *run_list;
	size_t n, n2, nrun;

	ck_assert_int_eq(evaluate_key(&first, &n, 1, &m, false, "K1"), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(!first[0].repeat && first[0].count == 1 && first[0].triggered);
	ck_assert_str_eq(first[0].data_key, "K1");
	ck_assert_int_eq(first[0].last_run_id, 1);
	ck_assert_int_eq(first[0].last_seen_ms, first[0].created_ms);

	/* run 2 on the same data (a cached rerun) */
	ck_assert_int_eq(evaluate_key(&again, &n2, 2, &m, false, "K1"), 0);
	ck_assert_uint_eq(n2, 2);
	ck_assert_int_eq(again[0].id, first[0].id);
	ck_assert_int_eq(again[1].id, first[1].id);
	ck_assert(again[0].repeat && again[1].repeat);
	ck_assert_int_eq(again[0].count, 2);
	ck_assert_int_eq(again[0].run_id, 1);        /* the run that raised it first */
	ck_assert_int_eq(again[0].last_run_id, 2);
	ck_assert_int_ge(again[0].last_seen_ms, first[0].created_ms);
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM triggers"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE kind = 'alert'"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE kind = 'alert-repeat' AND run_id = 2"), 2);
	nf_alert_list_free(again, n2);

	/* run 2's monitor retried: once per run */
	ck_assert_int_eq(evaluate_key(&again, &n2, 2, &m, false, "K1"), 0);
	ck_assert_int_eq(again[0].count, 2);
	ck_assert(again[0].repeat);
	ck_assert_int_eq(count("SELECT count(*) FROM audit WHERE kind = 'alert-repeat'"), 2);
	nf_alert_list_free(again, n2);

	/* show's list for run 2: the alerts it raised again */
	ck_assert_int_eq(nf_alert_list_run(st, 2, &run_list, &nrun), 0);
	ck_assert_uint_eq(nrun, 2);
	ck_assert_int_eq(run_list[0].id, first[0].id);
	nf_alert_list_free(run_list, nrun);

	/* acknowledged, then raised again on the same data: still acknowledged, counted */
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_alert_ack(st, first[0].id, NULL, "alice"), 0);
	ck_assert_int_eq(evaluate_key(&again, &n2, 3, &m, false, "K1"), 0);
	ck_assert(again[0].repeat && again[0].acked_ms > 0);
	ck_assert_int_eq(again[0].count, 3);
	ck_assert_int_eq(count("SELECT count(*) FROM triggers"), 1);
	nf_alert_list_free(again, n2);

	/* new data: new alerts, a new trigger */
	ck_assert_int_eq(evaluate_key(&again, &n2, 4, &m, false, "K2"), 0);
	ck_assert_uint_eq(n2, 2);
	ck_assert(!again[0].repeat && again[0].count == 1);
	ck_assert_int_gt(again[0].id, first[1].id);
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 4);
	ck_assert_int_eq(count("SELECT count(*) FROM triggers"), 2);
	nf_alert_list_free(again, n2);

	/* same data, another threshold crossed at another severity: an alert of its own */
	m.max_psi = 0.15;
	ck_assert_int_eq(evaluate_key(&again, &n2, 5, &m, false, "K3"), 0);
	ck_assert_uint_eq(n2, 1);
	ck_assert_str_eq(again[0].rule, "feature-wobble");
	nf_alert_list_free(again, n2);
	ck_assert_int_eq(count("SELECT count(*) FROM alerts"), 5);
	{
		nf_audit_report rep;

		ck_assert_int_eq(nf_store_flush(st), 0);
		ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
		ck_assert_ptr_null(rep.problem);
		nf_audit_report_release(&rep);
	}
	nf_alert_list_free(first, n);
}
END_TEST

#ifdef NF_TEST_HOOKS
/* Alerts recorded before alerts had an identity: migrated with a count of 1, seen when
 * created, by the run that raised them; they never merge with new ones. */
START_TEST(test_migrate_alerts)
{
	char dir[] = "/tmp/check_alerts.XXXXXX", *path;
	metrics_env m = { .max_psi = 0.31, .rows = 1000, .auc = 0.9, .have_auc = true };
	nf_store *old;
	nf_alert *all, *fired;
	size_t n, nf;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/state.db", dir);
	setenv("NTFLOW_TEST_SCHEMA_VERSION", "5", 1);   /* as the release before identities left it */
	ck_assert_int_eq(nf_store_open(&old, path, true), 0);
	unsetenv("NTFLOW_TEST_SCHEMA_VERSION");
	ck_assert_int_eq(sqlite3_exec(old->db,
				      "INSERT INTO alerts (pipeline, run_id, monitor, rule, severity, expr, created_ms)"
				      " VALUES ('p', 7, 'drift', 'feature-shift', 'high', 'max_psi > 0.25', 1234)",
				      NULL, NULL, NULL), SQLITE_OK);
	nf_store_close(old);

	nf_store_close(st);   /* the fixture's in-memory store: this test uses the file */
	ck_assert_int_eq(nf_store_open(&st, path, false), 0);
	ck_assert_int_eq(nf_alert_list(st, false, &all, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(all[0].count, 1);
	ck_assert_int_eq(all[0].last_seen_ms, 1234);
	ck_assert_int_eq(all[0].last_run_id, 7);
	ck_assert_ptr_null(all[0].data_key);
	nf_alert_list_free(all, n);
	ck_assert_int_eq(count("SELECT count(*) FROM alert_runs WHERE alert_id = 1 AND run_id = 7"), 1);
	ck_assert_int_eq(evaluate_key(&fired, &nf, 8, &m, false, "K1"), 0);
	ck_assert(!fired[0].repeat);
	ck_assert_int_eq(fired[0].id, 2);
	nf_alert_list_free(fired, nf);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		int rc = system(cmd);

		(void)rc;
		free(cmd);
	}
	free(path);
}
END_TEST
#endif

/* ---- metric series and the performance record, from rows a run would write ---- */

static void
exec_sql(const char *sql)
{
	ck_assert_msg(sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(st->db));
}

/* Run id with one node "train" that took wall/cpu/rss, in state (cached when cached). */
static void
add_run(int id, const char *pipeline, const char *state, bool cached, int wall, int cpu, int rss, double auc)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, pipeline, logical_date, started_ms, status) VALUES (%d, '%s', '2026-11-%02d', %d, 'succeeded');"
		 "INSERT INTO nodes (id, run_id, seq, name, stage, kind, state, attempts, cached)"
		 " VALUES (%d, %d, 0, 'train', 'train', 'stage', '%s', 1, %d);"
		 "INSERT INTO attempts (node_id, attempt, state, wall_ms, user_ms, sys_ms, max_rss_kb)"
		 " VALUES (%d, 1, '%s', %d, %d, 0, %d);"
		 "INSERT INTO metrics (node_id, name, value) VALUES (%d, 'auc', %g);",
		 id, pipeline, id, id * 1000, id, id, state, cached, id, state, wall, cpu, rss, id, auc);
	exec_sql(sql);
}

START_TEST(test_series_and_perf)
{
	nf_metric_point *p;
	nf_perf_row *rows;
	size_t n;

	add_run(1, "p", "succeeded", false, 1000, 900, 100, 0.81);
	add_run(2, "p", "succeeded", false, 3000, 1100, 300, 0.82);
	add_run(3, "q", "succeeded", false, 9000, 9000, 900, 0.5);
	add_run(4, "p", "cached", true, 0, 0, 0, 0.82);
	add_run(5, "p", "failed", false, 7000, 7000, 700, 0.1);
	add_run(6, "p", "succeeded", false, 2000, 1000, 200, 0.84);
	add_run(7, "p", "succeeded", false, 1500, 680, 150, 0.85);

	ck_assert_int_eq(nf_metric_series(st, "p", NULL, "auc", &p, &n), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(p[0].run_id, 1);
	ck_assert_int_eq(p[5].run_id, 7);
	ck_assert_double_eq(p[5].value, 0.85);
	ck_assert_str_eq(p[5].logical_date, "2026-11-07");
	nf_metric_point_list_free(p, n);
	ck_assert_int_eq(nf_metric_series(st, NULL, "train", NULL, &p, &n), 0);
	ck_assert_uint_eq(n, 7);
	nf_metric_point_list_free(p, n);
	ck_assert_int_eq(nf_metric_series(st, "p", NULL, "nope", &p, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* Run 7 against runs 1, 2 and 6 (4 was cached, 5 failed, 3 is another pipeline). */
	ck_assert_int_eq(nf_perf_record(st, 7, 5, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].node, "train");
	ck_assert(rows[0].measured);
	ck_assert_uint_eq(rows[0].nhist, 3);
	ck_assert_double_eq(rows[0].med_wall_ms, 2000);
	ck_assert_double_eq(rows[0].med_cpu_ms, 1000);
	ck_assert_double_eq(rows[0].med_rss_kb, 200);
	ck_assert_int_eq(rows[0].cpu_ms, 680);
	nf_perf_row_list_free(rows, n);
	/* A window of 2: runs 6 and 2, the newest; an even count takes the middle mean. */
	ck_assert_int_eq(nf_perf_record(st, 7, 2, &rows, &n), 0);
	ck_assert_uint_eq(rows[0].nhist, 2);
	ck_assert_double_eq(rows[0].med_wall_ms, 2500);
	nf_perf_row_list_free(rows, n);
	/* The first run has no history; the cached one measured nothing. */
	ck_assert_int_eq(nf_perf_record(st, 1, 5, &rows, &n), 0);
	ck_assert_uint_eq(rows[0].nhist, 0);
	nf_perf_row_list_free(rows, n);
	ck_assert_int_eq(nf_perf_record(st, 4, 5, &rows, &n), 0);
	ck_assert(!rows[0].measured);
	ck_assert_uint_eq(rows[0].nhist, 2);
	nf_perf_row_list_free(rows, n);
}
END_TEST

static Suite *
alerts_suite(void)
{
	Suite *s = suite_create("alerts");
	TCase *tc = tcase_create("alerts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fire_and_dedup);
	tcase_add_test(tc, test_summary_exact_values);
	tcase_add_test(tc, test_compound_and_quiet);
	tcase_add_test(tc, test_production);
	tcase_add_test(tc, test_unevaluable);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_dedup_by_data);
#ifdef NF_TEST_HOOKS
	tcase_add_test(tc, test_migrate_alerts);
#endif
	tcase_add_test(tc, test_series_and_perf);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(alerts_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
