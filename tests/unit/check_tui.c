/* check_tui.c: unit tests of the dashboard's parts that do not need a terminal: the view
 * model read from a real state database (nodes, matrix groups, filter, selection, polling
 * by data_version, events of a live run, the log tail, the ETA), the log viewer, and the
 * text helpers (durations, ages, sparklines, --size). */
#include "config.h"
#include "tui-internal.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "logview.h"
#include "ntflow/graph.h"

static char tmpdir[64];
static char state_dir[128];

static void
tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_tui.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(state_dir, sizeof(state_dir), "%s/.ntflow", tmpdir);
	ck_assert_int_eq(mkdir(state_dir, 0755), 0);
	unsetenv("NO_COLOR");
}

static void
tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* A key in the log view, through the key table as the dashboard reads it. */
static int
lv_key(nf_logview *lv, int key, int rows)
{
	const nf_key_binding *b = nf_keys_find(key, NF_KC_LOGVIEW, false);

	return b ? nf_logview_on_action(lv, b->action, rows) : NF_LOGVIEW_UNUSED;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A run of a pipeline with a plain stage, a matrix of three and a stage needing both,
 * recorded the way ntflow run records it; returns the run id. */
static int64_t
make_run(nf_store *st, const char *dag_text, const char *file)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	nf_graph *g = NULL;
	nf_run_info info;
	char *path = xasprintf("%s/%s", tmpdir, file);

	write_file(path, dag_text);
	ck_assert_int_eq(nf_dag_load(&dag, path, &diags), 0);
	ck_assert_int_eq(nf_graph_build(&g, dag, &diags), 0);
	memset(&info, 0, sizeof(info));
	info.pipeline = xstrdup("p");
	info.file = xstrdup(file);
	info.logical_date = xstrdup("2026-11-23");
	info.trigger = xstrdup("manual");
	info.params_json = xstrdup("{}");
	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, info.id, g), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	nf_store_nodes_forget(st);   /* the graph goes: its names are asked of SQL from now on */
	nf_graph_free(g);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	free(path);
	{
		int64_t id = info.id;

		nf_run_info_release(&info);
		return id;
	}
}

static const char dag_text[] =
	"pipeline \"p\" {}\n"
	"stage \"prep\" {\n  retries = 2\n  run = \"true\"\n}\n"
	"stage \"tune\" {\n  needs = [\"prep\"]\n  matrix {\n    lr = [1, 2, 3]\n  }\n  run = \"true\"\n}\n"
	"stage \"report\" {\n  needs = [\"tune\"]\n  run = \"true\"\n}\n";

static nf_store *
open_store(void)
{
	nf_store *st = NULL;
	char *path = xasprintf("%s/state.db", state_dir);

	ck_assert_int_eq(nf_store_open(&st, path, true), 0);
	free(path);
	return st;
}

static void
set_state(nf_store *st, int64_t run, const char *node, nf_state s, int attempt, int64_t wall)
{
	nf_job_result res;

	memset(&res, 0, sizeof(res));
	res.exited = true;
	res.attempt = attempt;
	res.wall_ms = wall;
	ck_assert_int_eq(nf_store_node_state(st, run, node, s, attempt, nf_state_is_final(s) ? &res : NULL,
					     s == NF_ST_FAILED ? "exit 1" : NULL, 0,
					     s == NF_ST_RUNNING ? "logs/x.log" : NULL, nf_now_realtime_ms()), 0);
}

/* ---- the view model ---- */

START_TEST(test_view_nodes_groups_rows)
{
	nf_store *st = open_store();
	int64_t run = make_run(st, dag_text, "p.dag");
	nf_view v;

	nf_store_close(st);
	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, false, NULL), 0);
	ck_assert(v.have_run);
	ck_assert_int_eq(v.run_id, run);
	ck_assert_uint_eq(v.nnodes, 5);
	ck_assert_str_eq(v.nodes[0].name, "prep");
	ck_assert_int_eq(v.nodes[0].max_attempts, 3);   /* from the DAG file: retries + 1 */
	ck_assert_uint_eq(v.ngroups, 3);
	ck_assert_uint_eq(v.groups[1].count, 3);
	ck_assert(v.groups[1].expanded);
	/* prep, the tune group, its three instances, report */
	ck_assert_uint_eq(v.nrows, 6);
	ck_assert_int_eq(v.rows[1].node, -1);
	ck_assert_int_eq(v.rows[2].node, 1);
	/* folded, the group is one row; its node is its most interesting instance */
	v.groups[1].expanded = false;
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 3);
	v.sel = 1;
	ck_assert_int_eq(nf_view_sel_node(&v), 1);
	/* a filter shows the matching nodes under their group, whatever the folding */
	snprintf(v.filter, sizeof(v.filter), "LR=2");
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 2);
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "tune[lr=2]");
	snprintf(v.filter, sizeof(v.filter), "nothing");
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 0);
	ck_assert_int_eq(nf_view_sel_node(&v), -1);
	nf_view_close(&v);
}
END_TEST

START_TEST(test_view_poll)
{
	nf_store *st = open_store();
	int64_t run = make_run(st, dag_text, "p.dag");
	nf_view v;
	unsigned ch;

	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, false, NULL), 0);
	/* nothing committed since: nothing to do */
	ck_assert_uint_eq(nf_view_poll(&v), 0);
	set_state(st, run, "prep", NF_ST_RUNNING, 1, 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ch = nf_view_poll(&v);
	ck_assert(ch & NF_V_NODES);
	ck_assert_int_eq(v.nodes[0].state, NF_ST_RUNNING);
	ck_assert_int_eq(v.nodes[0].attempt, 1);
	ck_assert_str_eq(v.nodes[0].log_path, "logs/x.log");
	/* the selection follows what runs, then a failure */
	ck_assert(nf_view_autoselect(&v) || v.sel == 0);
	ck_assert_int_eq(nf_view_sel_node(&v), 0);
	set_state(st, run, "tune[lr=2]", NF_ST_RUNNING, 1, 0);
	set_state(st, run, "prep", NF_ST_SUCCEEDED, 1, 50);
	set_state(st, run, "tune[lr=2]", NF_ST_FAILED, 1, 10);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert(nf_view_poll(&v) & NF_V_NODES);
	ck_assert_uint_eq(v.ndone, 2);
	nf_view_autoselect(&v);
	ck_assert_str_eq(v.nodes[nf_view_sel_node(&v)].name, "tune[lr=2]");
	ck_assert_str_eq(v.nodes[2].reason, "exit 1");
	/* once the user moved, the selection stays */
	v.sel_auto = false;
	v.sel = 0;
	ck_assert(!nf_view_autoselect(&v));
	ck_assert_uint_eq(v.sel, 0);
	/* a newer run is followed when none was named */
	make_run(st, dag_text, "p.dag");
	ch = nf_view_poll(&v);
	ck_assert(ch & NF_V_ROWS);
	ck_assert_int_eq(v.run_id, run + 1);
	ck_assert_uint_eq(v.ndone, 0);
	nf_view_close(&v);
	nf_store_close(st);
}
END_TEST

START_TEST(test_view_live_events)
{
	nf_store *st = open_store();
	int64_t run = make_run(st, dag_text, "p.dag");
	nf_run_event ev;
	nf_view v;

	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, true, NULL), 0);
	ck_assert(!v.have_run);   /* live: it waits for the run's start */
	nf_view_load_run(&v, run);
	ck_assert_uint_eq(v.nnodes, 5);
	memset(&ev, 0, sizeof(ev));
	ev.run_id = run;
	ev.node = "prep";
	ev.state = NF_ST_RUNNING;
	ev.attempt = 1;
	ev.max_attempts = 3;
	ev.log_path = "logs/prep.1.log";
	ck_assert(nf_view_event(&v, &ev) & NF_V_NODES);
	ck_assert_int_eq(v.nodes[0].state, NF_ST_RUNNING);
	ck_assert(v.nodes[0].started_ms > 0);
	ev.state = NF_ST_RETRYING;
	ev.backoff_ms = 2000;
	ev.reason = "exit 1";
	nf_view_event(&v, &ev);
	ck_assert(v.nodes[0].retry_at_ms >= nf_now_realtime_ms() + 1000);
	/* a retry from the dashboard takes the attempts past the budget: 4/6 */
	ev.state = NF_ST_SUCCEEDED;
	ev.attempt = 4;
	ev.reason = NULL;
	ev.backoff_ms = 0;
	ev.wall_ms = 1500;
	nf_view_event(&v, &ev);
	ck_assert_int_eq(v.nodes[0].max_attempts, 6);
	ck_assert_uint_eq(v.ndone, 1);
	ck_assert_int_eq(v.nodes[0].wall_ms, 1500);
	/* a cached node says which run it reused: the event's value, not its text */
	ev.node = "tune[lr=1]";
	ev.state = NF_ST_CACHED;
	ev.reason = "reused run 41";
	ev.reused_run = 41;
	nf_view_event(&v, &ev);
	ck_assert_int_eq(v.nodes[1].reused_run, 41);
	/* unknown nodes change nothing */
	ev.node = "nope";
	ck_assert_uint_eq(nf_view_event(&v, &ev), 0);
	nf_view_close(&v);
	nf_store_close(st);
}
END_TEST

START_TEST(test_view_log_tail)
{
	nf_store *st = open_store();
	int64_t run = make_run(st, dag_text, "p.dag");
	char *log = xasprintf("%s/logs/x.log", tmpdir);
	char *dir = xasprintf("%s/logs", tmpdir);
	nf_view v;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	set_state(st, run, "prep", NF_ST_RUNNING, 1, 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, false, NULL), 0);
	v.sel = 0;
	/* no file yet */
	ck_assert_uint_eq(nf_view_log(&v, 3), NF_V_LOG);
	ck_assert_uint_eq(v.nlog_lines, 0);
	ck_assert_int_eq(v.log_size, -2);
	write_file(log, "one\ntwo\nprogress 10%\rprogress 100%\nfour\nfive");
	ck_assert_uint_eq(nf_view_log(&v, 3), NF_V_LOG);
	ck_assert_uint_eq(v.nlog_lines, 3);
	ck_assert_str_eq(v.log_lines[0], "progress 100%");
	ck_assert_str_eq(v.log_lines[2], "five");
	/* unchanged: nothing to redraw */
	ck_assert_uint_eq(nf_view_log(&v, 3), 0);
	ck_assert_str_eq(v.log_node, "prep");
	ck_assert_int_eq(v.log_attempt, 1);
	nf_view_close(&v);
	nf_store_close(st);
	free(log);
	free(dir);
}
END_TEST

START_TEST(test_view_eta)
{
	nf_view v;
	nf_vnode nodes[3];
	int64_t now = 1000000;

	memset(&v, 0, sizeof(v));
	memset(nodes, 0, sizeof(nodes));
	v.have_run = true;
	v.run.started_ms = now - 10000;
	v.nodes = nodes;
	v.nnodes = 3;
	/* no history: unknown */
	for (int i = 0; i < 3; i++)
		nodes[i].median_ms = -1;
	ck_assert_int_eq(nf_view_eta(&v, now), 0);
	/* one done (10 s of work in 10 s: one at a time), one running 2 s of its usual 5 s,
	 * one waiting for its usual 4 s: 7 s to go */
	nodes[0].state = NF_ST_SUCCEEDED;
	nodes[0].wall_ms = 10000;
	nodes[0].median_ms = 9000;
	nodes[1].state = NF_ST_RUNNING;
	nodes[1].attempt_ms = now - 2000;
	nodes[1].median_ms = 5000;
	nodes[2].state = NF_ST_WAITING;
	nodes[2].median_ms = 4000;
	ck_assert_int_eq(nf_view_eta(&v, now), now + 7000);
	/* twice as much work as time so far: half as long */
	nodes[0].wall_ms = 20000;
	ck_assert_int_eq(nf_view_eta(&v, now), now + 3500);
	v.run.finished_ms = now;
	ck_assert_int_eq(nf_view_eta(&v, now), 0);
}
END_TEST

START_TEST(test_view_errors)
{
	nf_view v;
	nf_store *st;
	char *missing = xasprintf("%s/none", tmpdir);

	/* no database: a run named is not found; without one the view waits for the first */
	ck_assert_int_eq(nf_view_open(&v, missing, 1, false, NULL), NF_ENOTFOUND);
	nf_view_close(&v);
	ck_assert_int_eq(nf_view_open(&v, missing, 0, false, NULL), 0);
	ck_assert_ptr_null(v.st);
	ck_assert(!v.have_run);
	ck_assert_uint_eq(nf_view_poll(&v), 0);
	nf_view_close(&v);
	st = open_store();
	make_run(st, dag_text, "p.dag");
	nf_store_close(st);
	ck_assert_int_eq(nf_view_open(&v, state_dir, 99, false, NULL), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "no run 99");
	nf_view_close(&v);
	free(missing);
}
END_TEST

/* Without state.db the view waits (no error) with the schedule of the file it was given;
 * it opens the store once the workspace marker says a run began, and follows that run,
 * whose own DAG file then says whether there is a schedule. */
START_TEST(test_view_waits_for_first_run)
{
	static const char sched_dag[] = "pipeline \"w\" {\n  schedule = \"0 3 * * MON\"\n"
					"  timezone = \"Europe/Berlin\"\n}\nstage \"a\" {\n  run = \"true\"\n}\n";
	char *dag = xasprintf("%s/w.dag", tmpdir);
	int64_t next, t, want, run;
	nf_store *st;
	nf_view v;

	write_file(dag, sched_dag);
	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, false, dag), 0);
	ck_assert_ptr_null(v.st);
	ck_assert(!v.have_run);
	ck_assert_str_eq(v.pipeline, "w");
	ck_assert_str_eq(v.schedule, "0 3 * * MON");
	ck_assert_str_eq(v.tz.name, "Europe/Berlin");
	ck_assert_int_eq(nf_time_parse_utc(&t, "2026-11-20T00:00:00Z"), 0);
	ck_assert(nf_view_next_fire(&v, t, &next));
	ck_assert_int_eq(nf_time_parse_utc(&want, "2026-11-23T02:00:00Z"), 0);
	ck_assert_int_eq(next, want);
	ck_assert_uint_eq(nf_view_poll(&v), 0);
	/* a run's database before its marker: still waiting */
	st = open_store();
	run = make_run(st, dag_text, "p.dag");
	ck_assert_uint_eq(nf_view_poll(&v), 0);
	ck_assert_ptr_null(v.st);
	ck_assert_int_eq(nf_store_mark_workspace(st), 0);
	ck_assert_uint_ne(nf_view_poll(&v), 0);
	ck_assert_ptr_nonnull(v.st);
	ck_assert(v.have_run);
	ck_assert_int_eq(v.run_id, run);
	ck_assert_str_eq(v.run.pipeline, "p");
	ck_assert_ptr_null(v.schedule);
	ck_assert(!nf_view_next_fire(&v, t, &next));
	nf_store_close(st);
	nf_view_close(&v);
	free(dag);
}
END_TEST

/* ---- the log viewer ---- */

START_TEST(test_logview)
{
	char *path = xasprintf("%s/big.log", tmpdir);
	nf_buf b = NF_BUF_INIT;
	nf_logview lv;

	for (int i = 1; i <= 100; i++)
		nf_buf_printf(&b, "line %d%s\n", i, i == 42 ? " the answer" : "");
	write_file(path, nf_buf_cstr(&b));
	memset(&lv, 0, sizeof(lv));
	nf_logview_open(&lv, path, "log", 12);   /* 10 lines of text */
	ck_assert_uint_eq(lv.nlines, 100);
	ck_assert_uint_eq(lv.top, 90);
	ck_assert(lv.follow);
	ck_assert_int_eq(lv_key(&lv, 'g', 12), NF_LOGVIEW_OK);
	ck_assert_uint_eq(lv.top, 0);
	ck_assert(!lv.follow);
	ck_assert_int_eq(lv_key(&lv, KEY_NPAGE, 12), NF_LOGVIEW_OK);
	ck_assert_uint_eq(lv.top, 10);
	ck_assert_int_eq(lv_key(&lv, KEY_PPAGE, 12), NF_LOGVIEW_OK);
	ck_assert_uint_eq(lv.top, 0);
	ck_assert(nf_logview_search(&lv, "ANSWER", 12));
	ck_assert_int_eq(lv.match, 41);
	ck_assert_int_eq(lv_key(&lv, 'n', 12), NF_LOGVIEW_NOMATCH);
	ck_assert(!nf_logview_search(&lv, "absent", 12));
	ck_assert_int_eq(lv_key(&lv, '/', 12), NF_LOGVIEW_SEARCH);
	ck_assert_int_eq(lv_key(&lv, 'G', 12), NF_LOGVIEW_OK);
	ck_assert(lv.follow);
	/* at the end it follows the file as it grows */
	nf_buf_puts(&b, "line 101\n");
	usleep(10000);
	write_file(path, nf_buf_cstr(&b));
	ck_assert(nf_logview_poll(&lv, 12));
	ck_assert_uint_eq(lv.nlines, 101);
	ck_assert_uint_eq(lv.top, 91);
	ck_assert(!nf_logview_poll(&lv, 12));
	ck_assert_int_eq(lv_key(&lv, 'q', 12), NF_LOGVIEW_CLOSE);
	ck_assert_int_eq(lv_key(&lv, 'Z', 12), NF_LOGVIEW_UNUSED);
	/* a node without a log */
	nf_logview_open(&lv, NULL, "log", 12);
	ck_assert_uint_eq(lv.nlines, 0);
	nf_logview_release(&lv);
	nf_buf_release(&b);
	free(path);
}
END_TEST

/* ---- text ---- */

START_TEST(test_text_helpers)
{
	char buf[128];
	double series[] = { 0.0, 0.1, 0.2, 0.4 };
	int c = 0, r = 0;

	nf_draw_duration(buf, sizeof(buf), 850);
	ck_assert_str_eq(buf, "850ms");
	nf_draw_duration(buf, sizeof(buf), 185000);
	ck_assert_str_eq(buf, "3m05s");
	nf_draw_duration(buf, sizeof(buf), -1);
	ck_assert_str_eq(buf, "-");
	nf_draw_age(buf, sizeof(buf), 59000);
	ck_assert_str_eq(buf, "59s ago");
	nf_draw_age(buf, sizeof(buf), 7200000);
	ck_assert_str_eq(buf, "2h ago");
	nf_draw_age(buf, sizeof(buf), 3 * 86400000LL);
	ck_assert_str_eq(buf, "3d ago");
	/* without a UTF-8 locale: ASCII, from low to high */
	nf_draw_sparkline(buf, sizeof(buf), series, 4, 10);
	ck_assert_str_eq(buf, "_-=#");
	nf_draw_sparkline(buf, sizeof(buf), series, 4, 2);
	ck_assert_str_eq(buf, "=#");
	ck_assert_int_eq(nf_draw_width("a\xe2\x9c\x93" "b"), 3);
	ck_assert_str_eq(nf_draw_state_symbol(NF_ST_FAILED), "x");
	ck_assert_int_eq(nf_tui_parse_size("100x30", &c, &r), 0);
	ck_assert_int_eq(c, 100);
	ck_assert_int_eq(r, 30);
	ck_assert_int_eq(nf_tui_parse_size("10x2", &c, &r), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "--size '10x2': expected COLSxROWS, like 100x30");
	ck_assert_int_eq(nf_tui_parse_size("100x", &c, &r), NF_EINVALID);
	ck_assert_int_eq(nf_tui_parse_size("wide", &c, &r), NF_EINVALID);
}
END_TEST


/* Sorting the stage rows (s) and the state filter (F): groups move as a whole, their
 * instances sort among themselves, and the failed-only filter opens a folded group. */
START_TEST(test_view_sort_and_state_filter)
{
	nf_store *st = open_store();
	int64_t run = make_run(st, dag_text, "p.dag");
	nf_view v;

	set_state(st, run, "prep", NF_ST_SUCCEEDED, 1, 50);
	set_state(st, run, "tune[lr=1]", NF_ST_SUCCEEDED, 1, 300);
	set_state(st, run, "tune[lr=2]", NF_ST_FAILED, 1, 10);
	set_state(st, run, "tune[lr=3]", NF_ST_RUNNING, 1, 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	nf_store_close(st);
	ck_assert_int_eq(nf_view_open(&v, state_dir, 0, false, NULL), 0);
	/* by name: prep, report, then the tune group */
	v.sort = NF_SORT_NAME;
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 6);
	ck_assert_str_eq(v.nodes[v.rows[0].node].name, "prep");
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "report");
	ck_assert_int_eq(v.rows[2].node, -1);
	/* by state: the failed instance's group first, and in it the failure first */
	v.sort = NF_SORT_STATE;
	nf_view_rows(&v);
	ck_assert_int_eq(v.rows[0].node, -1);
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "tune[lr=2]");
	ck_assert_str_eq(v.nodes[v.rows[2].node].name, "tune[lr=3]");
	ck_assert_str_eq(v.nodes[v.rows[4].node].name, "report");   /* waiting before succeeded */
	ck_assert_str_eq(v.nodes[v.rows[5].node].name, "prep");
	/* by duration, longest first: lr=1's 300 ms before prep's 50 */
	v.sort = NF_SORT_DURATION;
	v.groups[1].expanded = true;
	nf_view_rows(&v);
	ck_assert_int_eq(v.rows[0].node, -1);
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "tune[lr=1]");
	ck_assert_str_eq(v.nodes[v.rows[4].node].name, "prep");
	ck_assert_str_eq(v.nodes[v.rows[5].node].name, "report");
	/* the order of the DAG again */
	v.sort = NF_SORT_DAG;
	nf_view_rows(&v);
	ck_assert_str_eq(v.nodes[v.rows[0].node].name, "prep");
	/* failed only: the group with the one failed instance, even folded */
	v.groups[1].expanded = false;
	v.state_filter = NF_SF_FAILED;
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 2);
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "tune[lr=2]");
	v.state_filter = NF_SF_RUNNING;
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 2);
	ck_assert_str_eq(v.nodes[v.rows[1].node].name, "tune[lr=3]");
	/* with the name filter too */
	snprintf(v.filter, sizeof(v.filter), "prep");
	nf_view_rows(&v);
	ck_assert_uint_eq(v.nrows, 0);
	nf_view_close(&v);
}
END_TEST

/* The key table: one binding per key and context, every action bound, the pane's own
 * binding before the focused pane's and the main screen's. */
START_TEST(test_keys_table)
{
	bool bound[NF_A__COUNT] = { false };
	nf_buf b = NF_BUF_INIT;
	const char *p;

	for (size_t i = 0; i < nf_nkeys; i++) {
		ck_assert_ptr_nonnull(nf_keys[i].name);
		ck_assert_ptr_nonnull(nf_keys[i].help);
		ck_assert_int_lt(nf_keys[i].ctx, NF_KC__COUNT);
		bound[nf_keys[i].action] = true;
		for (size_t j = i + 1; j < nf_nkeys; j++)
			ck_assert_msg(nf_keys[i].key != nf_keys[j].key || nf_keys[i].ctx != nf_keys[j].ctx,
				      "%s is bound twice in one context", nf_keys[i].name);
	}
	for (int a = NF_A_NONE + 1; a < NF_A__COUNT; a++)
		ck_assert_msg(bound[a], "action %d has no key", a);
	/* g moves the focused pane, wherever it is; in the log view it is the log's */
	ck_assert_int_eq(nf_keys_find('g', NF_KC_REGISTRY, true)->ctx, NF_KC_PANE);
	ck_assert_int_eq(nf_keys_find('g', NF_KC_LOGVIEW, false)->ctx, NF_KC_LOGVIEW);
	ck_assert_ptr_null(nf_keys_find('g', NF_KC_ALERTS, false));   /* a pane that does not move */
	ck_assert_int_eq(nf_keys_find(' ', NF_KC_STAGES, true)->action, NF_A_FOLD_TOGGLE);
	ck_assert_ptr_null(nf_keys_find(' ', NF_KC_ALERTS, true));
	ck_assert_int_eq(nf_keys_find('q', NF_KC_ALERTS, true)->action, NF_A_QUIT);
	ck_assert_ptr_null(nf_keys_find('Z', NF_KC_STAGES, true));
	/* the footer: the run's own keys only while it runs here; the way out always first */
	nf_keys_hints(&b, NF_KC_STAGES, false, false);
	ck_assert_msg(strncmp(nf_buf_cstr(&b), "  q quit  ? help  j/k move  Tab pane  Enter detail", 50) == 0, "%s",
		      nf_buf_cstr(&b));
	ck_assert_ptr_null(strstr(nf_buf_cstr(&b), "cancel"));
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "j/k move"));
	b.len = 0;
	nf_keys_hints(&b, NF_KC_STAGES, true, false);
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "c cancel  r retry"));
	b.len = 0;
	nf_keys_hints(&b, NF_KC_STAGES, true, true);
	ck_assert_str_eq(nf_buf_cstr(&b), "  q quit  ? help");
	/* the views: P and B in the registry pane only; a page's keys are its own */
	ck_assert_int_eq(nf_keys_find('P', NF_KC_REGISTRY, true)->action, NF_A_PROMOTE);
	ck_assert_int_eq(nf_keys_find('B', NF_KC_REGISTRY, true)->action, NF_A_ROLLBACK);
	ck_assert_ptr_null(nf_keys_find('P', NF_KC_STAGES, true));
	ck_assert_int_eq(nf_keys_find('d', NF_KC_STAGES, true)->action, NF_A_DETAIL);
	ck_assert_int_eq(nf_keys_find('R', NF_KC_ALERTS, true)->action, NF_A_RUNS);
	ck_assert_int_eq(nf_keys_find('l', NF_KC_PAGE_STAGE, false)->action, NF_A_PAGE_LOG);
	ck_assert_int_eq(nf_keys_find('q', NF_KC_PAGE_STAGE, false)->action, NF_A_BACK);
	ck_assert_ptr_null(nf_keys_find('l', NF_KC_PAGE_RUNS, false));
	ck_assert_ptr_null(nf_keys_find('c', NF_KC_PAGE_STAGE, false));
	ck_assert_int_eq(nf_keys_find('P', NF_KC_PAGE_VERSION, false)->action, NF_A_PROMOTE);
	b.len = 0;
	nf_keys_hints(&b, NF_KC_PAGE_RUNS, false, false);
	ck_assert_str_eq(nf_buf_cstr(&b), "  j/k move  q back  Enter open  L live");
	b.len = 0;
	nf_keys_hints(&b, NF_KC_LOGVIEW, false, false);
	ck_assert_str_eq(nf_buf_cstr(&b), "  j/k scroll  g top  G end  / search  n next  w wrap  o pager  q back");
	/* the overlay: no line wider than 80 columns on a wide screen, nor than 60 on a narrow one */
	for (int width = 60; width <= 200; width += 140) {
		b.len = 0;
		nf_keys_help(&b, width);
		for (p = nf_buf_cstr(&b); *p;) {
			const char *nl = strchr(p, '\n');

			ck_assert_ptr_nonnull(nl);
			ck_assert_msg(nl - p <= (width > 80 ? 80 : width), "too wide at %d: %.*s", width, (int)(nl - p), p);
			p = nl + 1;
		}
	}
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "  j k Down Up     Move the cursor one row in the focused pane."));
	ck_assert_ptr_nonnull(strstr(nf_buf_cstr(&b), "In the log view:\n"));
	nf_buf_release(&b);
}
END_TEST

#define MAN_BEGIN ".\\\" BEGIN KEYS"
#define MAN_END ".\\\" END KEYS\n"

/* The man page's list of keys is the table's: generated from it, never written by hand.
 * NTFLOW_UPDATE_MAN=1 writes the table's list into man/ntflow.1 (then the test passes). */
START_TEST(test_keys_man_page)
{
	const char *srcdir = getenv("NTFLOW_SRC_DIR");
	char *path, *man = NULL;
	const char *begin, *body, *end;
	nf_buf want = NF_BUF_INIT;
	size_t len;

	if (!srcdir || !*srcdir)
		srcdir = NF_TOP_SRCDIR;
	path = xasprintf("%s/man/ntflow.1", srcdir);
	ck_assert_int_eq(nf_read_file(&man, &len, path, 0), 0);
	nf_keys_man(&want);
	begin = strstr(man, MAN_BEGIN);
	ck_assert_msg(begin, "man/ntflow.1 has no '%s' line", MAN_BEGIN);
	body = strchr(begin, '\n') + 1;
	end = strstr(body, MAN_END);
	ck_assert_msg(end, "man/ntflow.1 has no '%s' line", MAN_END);
	if (getenv("NTFLOW_UPDATE_MAN") && *getenv("NTFLOW_UPDATE_MAN")) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fwrite(man, 1, (size_t)(body - man), f);
		fputs(nf_buf_cstr(&want), f);
		fputs(end, f);
		ck_assert_int_eq(fclose(f), 0);
	} else {
		ck_assert_msg((size_t)(end - body) == want.len && memcmp(body, nf_buf_cstr(&want), want.len) == 0,
			      "man/ntflow.1's keys differ from src/tui/keys.c's table; "
			      "NTFLOW_UPDATE_MAN=1 tests/unit/check_tui writes them");
	}
	nf_buf_release(&want);
	free(man);
	free(path);
}
END_TEST

/* Names cut with an ellipsis (~ without UTF-8), an instance's bracket kept whole or left out. */
START_TEST(test_draw_fit)
{
	char buf[64];

	nf_draw_fit(buf, sizeof(buf), "prep", 10);
	ck_assert_str_eq(buf, "prep");
	nf_draw_fit(buf, sizeof(buf), "a_very_long_stage_name", 10);
	ck_assert_str_eq(buf, "a_very_lo~");
	/* the stage's name gives way to the whole bracket */
	nf_draw_fit(buf, sizeof(buf), "train[lr=0.05,seed=2]", 18);
	ck_assert_str_eq(buf, "t~[lr=0.05,seed=2]");
	/* then the bracket loses whole values, never half of one, and keeps its ']' */
	nf_draw_fit(buf, sizeof(buf), "train[lr=0.05,seed=2]", 16);
	ck_assert_str_eq(buf, "train[lr=0.05,~]");
	nf_draw_fit(buf, sizeof(buf), "[lr=0.01,l2=0.001]", 17);
	ck_assert_str_eq(buf, "[lr=0.01,~]");
	nf_draw_fit(buf, sizeof(buf), "[lr=0.01,l2=0.001]", 8);
	ck_assert_str_eq(buf, "[~]");
	nf_draw_fit(buf, sizeof(buf), "train[lr=0.05,seed=2]", 8);
	ck_assert_str_eq(buf, "train[~]");
	nf_draw_fit(buf, sizeof(buf), "train[lr=0.05,seed=2]", 5);
	ck_assert_str_eq(buf, "trai~");
}
END_TEST

static Suite *
tui_suite(void)
{
	Suite *s = suite_create("tui");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_view_nodes_groups_rows);
	tcase_add_test(tc, test_view_poll);
	tcase_add_test(tc, test_view_live_events);
	tcase_add_test(tc, test_view_log_tail);
	tcase_add_test(tc, test_view_eta);
	tcase_add_test(tc, test_view_errors);
	tcase_add_test(tc, test_view_waits_for_first_run);
	tcase_add_test(tc, test_logview);
	tcase_add_test(tc, test_text_helpers);
	tcase_add_test(tc, test_view_sort_and_state_filter);
	tcase_add_test(tc, test_keys_table);
	tcase_add_test(tc, test_keys_man_page);
	tcase_add_test(tc, test_draw_fit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tui_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
