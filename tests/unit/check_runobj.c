/* check_runobj.c: whole runs through the run object (nf_run_new, nf_run_exec) on small DAGs,
 * with a fake runner and a fake clock as check_sched's and an in-memory store passed in
 * through nf_run_deps: caching decisions, a gate passing and rejecting, registry updates,
 * alerts, retries, and recovery of a run that crashed. The fake runner does what a stage's
 * command says in a tiny language of its own ("write PATH TEXT; exit N; fail-once") in the
 * project folder, so no process is started. */
#include "config.h"
#include "ntflow/run.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ntflow/gov.h"

#include "fake-clock.h"

/* ---- fake clock and fake runner ---- */

typedef struct fjob {
	size_t node;
	int attempt;
	int64_t start, end;
	int code;
	int sig;
	int64_t timer;               /* the loop timer of its end */
} fjob;

typedef struct fake_runner {
	nf_runner base;
	fake_clock *clock;
	fjob *running;
	size_t nrunning, cap;
	size_t starts;               /* attempts started */
	nf_loop *loop;               /* attached to */
	nf_job_done_fn done;
	void *done_ctx;
} fake_runner;

static void fake_end(nf_loop *l, int64_t id, void *ctx);

static void
write_file(const char *cwd, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", cwd, rel), *slash;
	FILE *f;

	for (slash = strchr(path + strlen(cwd) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

/* Does what the command says: "write PATH TEXT" (TEXT to the end of the action), "exit N",
 * "fail-once" (exit 1 on the first attempt); actions separated by ';'. Returns the exit code. */
static int
perform(const nf_job *job)
{
	char *cmd = xstrdup(job->command), *save = NULL;
	int code = 0;

	for (char *a = strtok_r(cmd, ";", &save); a && code == 0; a = strtok_r(NULL, ";", &save)) {
		char path[256];
		int n = 0;

		while (*a == ' ')
			a++;
		if (sscanf(a, "write %255s %n", path, &n) == 1 && n > 0)
			write_file(job->cwd, path, a + n);
		else if (sscanf(a, "exit %d", &code) == 1)
			;
		else if (strcmp(a, "fail-once") == 0)
			code = job->attempt == 1 ? 1 : 0;
		else
			ck_abort_msg("fake runner: unknown action '%s'", a);
	}
	free(cmd);
	return code;
}

static int
fake_start(nf_runner *r, const nf_job *job, pid_t *pgid)
{
	fake_runner *f = (fake_runner *)r;
	fjob j = { job->node, job->attempt, f->clock->now, f->clock->now + 10, perform(job), 0, 0 };

	ck_assert_msg(f->loop != NULL, "start before attach");
	j.timer = nf_loop_add_timer(f->loop, j.end, fake_end, f);
	NF_PUSH(f->running, f->nrunning, f->cap, j);
	f->starts++;
	*pgid = (pid_t)(INT_MAX - (int)job->node);   /* no such process */
	return 0;
}

/* A job's end came: report it. */
static void
fake_end(nf_loop *l, int64_t id, void *ctx)
{
	fake_runner *f = ctx;

	(void)l;
	for (size_t i = 0; i < f->nrunning; i++) {
		fjob *j = &f->running[i];
		nf_job_result res;

		if (j->timer != id)
			continue;
		res = (nf_job_result){ .node = j->node, .attempt = j->attempt, .exited = j->sig == 0,
				       .exit_code = j->code, .term_signal = j->sig, .wall_ms = j->end - j->start };
		*j = f->running[--f->nrunning];
		f->done(f->done_ctx, &res);
		return;
	}
	ck_abort_msg("a job end fired for no job");
}

static int
fake_attach(nf_runner *r, nf_loop *loop, nf_job_done_fn done, void *ctx)
{
	fake_runner *f = (fake_runner *)r;

	f->loop = loop;
	f->done = done;
	f->done_ctx = ctx;
	return 0;
}

static void
fake_detach(nf_runner *r)
{
	((fake_runner *)r)->loop = NULL;
}

static int
fake_signal(nf_runner *r, size_t node, int sig)
{
	fake_runner *f = (fake_runner *)r;

	for (size_t i = 0; i < f->nrunning; i++) {
		fjob *j = &f->running[i];

		if (j->node != node)
			continue;
		j->end = f->clock->now;
		j->sig = sig;
		nf_loop_del_timer(f->loop, j->timer);
		j->timer = nf_loop_add_timer(f->loop, j->end, fake_end, f);
		return 0;
	}
	return nf_error_set(NF_ENOTFOUND, "node %zu is not running", node);
}

static void
fake_free(nf_runner *r)
{
	free(((fake_runner *)r)->running);
}

/* named "local": it stands in for the runner stages of executor "local" get */
static const nf_runner_ops fake_ops = { .name = "local", .start = fake_start, .attach = fake_attach,
				       .detach = fake_detach, .signal = fake_signal, .free = fake_free };

/* ---- a project, a store and what the run reported ---- */

#define MAX_EV 64

typedef struct seen {
	char node[64];
	nf_stage_kind kind;
	nf_state state;
	int attempt;
	int64_t reused_run;
	int64_t backoff_ms;
	char reason[160];
} seen;

typedef struct proj {
	char dir[64];
	char *dag, *state;
	nf_store *store;             /* in memory, shared by the project's runs */
	fake_clock clock;
	fake_runner fr;
	seen ev[MAX_EV];
	size_t nev;
	char registered[4][96];      /* "clf v1 production" */
	size_t nregistered;
	char alerts[4][96];          /* "drift/shift high repeat=0" */
	size_t nalerts;
	char warnings[8][200];
	size_t nwarnings;
} proj;

static void
on_event(void *vctx, const nf_run_event *e)
{
	proj *p = vctx;
	seen *s;

	ck_assert_uint_lt(p->nev, MAX_EV);
	s = &p->ev[p->nev++];
	snprintf(s->node, sizeof(s->node), "%s", e->node);
	s->kind = e->kind;
	s->state = e->state;
	s->attempt = e->attempt;
	s->reused_run = e->reused_run;
	s->backoff_ms = e->backoff_ms;
	snprintf(s->reason, sizeof(s->reason), "%s", e->reason ? e->reason : "");
}

static void
on_registered(void *vctx, const char *model, int version, const char *status, const char *note)
{
	proj *p = vctx;

	(void)note;
	ck_assert_uint_lt(p->nregistered, 4);
	snprintf(p->registered[p->nregistered++], 96, "%s v%d %s", model, version, status);
}

static void
on_alert(void *vctx, const nf_run_alert *a)
{
	proj *p = vctx;

	ck_assert_uint_lt(p->nalerts, 4);
	snprintf(p->alerts[p->nalerts++], 96, "%s/%s %s repeat=%d", a->monitor, a->rule, a->severity, a->repeat);
}

static void
on_warning(void *vctx, const char *msg)
{
	proj *p = vctx;

	if (p->nwarnings < 8)
		snprintf(p->warnings[p->nwarnings++], 200, "%s", msg);
}

static proj *
proj_new(const char *dag_text)
{
	proj *p = xcalloc(1, sizeof(*p));
	const char *tmp = getenv("TMPDIR");

	snprintf(p->dir, sizeof(p->dir), "%s/runobj.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	p->dag = xasprintf("%s/p.dag", p->dir);
	p->state = xasprintf("%s/.ntflow", p->dir);
	write_file(p->dir, "p.dag", dag_text);
	ck_assert_int_eq(nf_store_open(&p->store, ":memory:", true), 0);
	p->clock.base.now_ms = fake_now;
	p->clock.base.skip_to = fake_skip;
	p->clock.now = 1000;
	p->fr.base.ops = &fake_ops;
	p->fr.clock = &p->clock;
	return p;
}

static void
proj_free(proj *p)
{
	nf_store_close(p->store);
	p->fr.base.ops->free(&p->fr.base);
	(void)nf_remove_tree(p->dir);
	free(p->dag);
	free(p->state);
	free(p);
}

/* One run with the fake runner, clock and the project's store; returns nf_run_exec's code. */
static int
proj_run(proj *p, nf_run_status *status, int64_t *run_id, bool use_store)
{
	nf_run_request req;
	nf_run_deps deps = { &p->fr.base, &p->clock.base, use_store ? p->store : NULL, NULL };
	nf_run *run = NULL;
	int err;

	memset(&req, 0, sizeof(req));
	req.dag_path = p->dag;
	req.state_dir = p->state;
	req.jobs = 2;
	req.on_event = on_event;
	req.on_registered = on_registered;
	req.on_alert = on_alert;
	req.on_warning = on_warning;
	req.wake_fd = -1;
	req.ctx = p;
	p->nev = p->nregistered = p->nalerts = p->nwarnings = 0;
	ck_assert_int_eq(nf_run_new(&run, &req, &deps), 0);
	err = nf_run_exec(run, status);
	*run_id = nf_run_id(run);
	nf_run_free(run);
	return err;
}

/* The last event of node. */
static const seen *
last(const proj *p, const char *node)
{
	for (size_t i = p->nev; i-- > 0;)
		if (strcmp(p->ev[i].node, node) == 0)
			return &p->ev[i];
	ck_abort_msg("no event for %s", node);
	return NULL;
}

static bool
file_is(const proj *p, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", p->dir, rel), buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n = 0;

	free(path);
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strcmp(buf, text) == 0;
}

/* ---- caching ---- */

static const char *two_stages =
	"stage \"a\" {\n"
	"  run     = \"write out/a A1\"\n"
	"  outputs = [\"out/a\"]\n"
	"}\n"
	"stage \"b\" {\n"
	"  needs   = [\"a\"]\n"
	"  run     = \"write out/b B1\"\n"
	"  outputs = [\"out/b\"]\n"
	"}\n";

START_TEST(test_cache_hit_then_miss)
{
	proj *p = proj_new(two_stages);
	nf_run_status status;
	int64_t id;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(last(p, "a")->state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(last(p, "a")->kind, NF_STAGE);
	ck_assert_int_eq(last(p, "b")->state, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(p->fr.starts, 2);
	ck_assert(file_is(p, "out/b", "B1"));

	/* Nothing changed: both reused from run 1, their outputs restored, nothing started. */
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(id, 2);
	ck_assert_int_eq(last(p, "a")->state, NF_ST_CACHED);
	ck_assert_int_eq(last(p, "a")->reused_run, 1);
	ck_assert_str_eq(last(p, "a")->reason, "reused run 1");
	ck_assert_int_eq(last(p, "b")->state, NF_ST_CACHED);
	ck_assert_int_eq(last(p, "b")->reused_run, 1);
	ck_assert_uint_eq(p->fr.starts, 2);
	ck_assert(file_is(p, "out/b", "B1"));

	/* a's command changes: a runs, and b (whose input changed) with it. */
	write_file(p->dir, "p.dag", "stage \"a\" {\n  run = \"write out/a A2\"\n  outputs = [\"out/a\"]\n}\n"
		   "stage \"b\" {\n  needs = [\"a\"]\n  run = \"write out/b B1\"\n  outputs = [\"out/b\"]\n}\n");
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(last(p, "a")->state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(last(p, "a")->reused_run, 0);
	ck_assert_int_eq(last(p, "b")->state, NF_ST_SUCCEEDED);
	ck_assert_uint_eq(p->fr.starts, 4);
	ck_assert(file_is(p, "out/a", "A2"));
	proj_free(p);
}
END_TEST

START_TEST(test_cache_restores_deleted_outputs)
{
	proj *p = proj_new(two_stages);
	nf_run_status status;
	int64_t id;
	char *out;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	out = xasprintf("%s/out", p->dir);
	ck_assert_int_eq(nf_remove_tree(out), 0);
	free(out);
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(last(p, "b")->state, NF_ST_CACHED);
	ck_assert_uint_eq(p->fr.starts, 2);
	ck_assert(file_is(p, "out/a", "A1"));
	ck_assert(file_is(p, "out/b", "B1"));
	proj_free(p);
}
END_TEST

/* ---- retries ---- */

START_TEST(test_retry_then_success)
{
	proj *p = proj_new("stage \"flaky\" {\n  run = \"fail-once; write out/f F\"\n  outputs = [\"out/f\"]\n"
			   "  retries = 2\n  backoff = \"5s\"\n}\n");
	nf_run_status status;
	int64_t id, t0 = 0;
	size_t nretrying = 0;
	int64_t backoff = -1;

	t0 = p->clock.now;
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	for (size_t i = 0; i < p->nev; i++)
		if (p->ev[i].state == NF_ST_RETRYING) {
			nretrying++;
			ck_assert_int_eq(p->ev[i].attempt, 1);
			ck_assert_str_eq(p->ev[i].reason, "exit 1");
			backoff = p->ev[i].backoff_ms;
		}
	ck_assert_uint_eq(nretrying, 1);
	ck_assert_int_eq(last(p, "flaky")->state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(last(p, "flaky")->attempt, 2);
	ck_assert_uint_eq(p->fr.starts, 2);
	/* The back-off (full jitter up to 5 s) counted and waited on the fake clock: two
	 * attempts of 10 ms and the wait between them. */
	ck_assert_int_ge(backoff, 0);
	ck_assert_int_le(backoff, 5000);
	ck_assert_int_eq(p->clock.now - t0, 20 + backoff);
	proj_free(p);
}
END_TEST

START_TEST(test_retries_exhausted)
{
	proj *p = proj_new("stage \"bad\" {\n  run = \"exit 3\"\n  retries = 1\n}\n"
			   "stage \"after\" {\n  needs = [\"bad\"]\n  run = \"write x X\"\n}\n");
	nf_run_status status;
	int64_t id;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_FAILED);
	ck_assert_int_eq(last(p, "bad")->state, NF_ST_FAILED);
	ck_assert_int_eq(last(p, "bad")->attempt, 2);
	ck_assert_int_eq(last(p, "after")->state, NF_ST_SKIPPED);
	ck_assert_uint_eq(p->fr.starts, 2);
	proj_free(p);
}
END_TEST

/* ---- gates and the registry ---- */

static char *
gated_dag(const char *acc, const char *weights)
{
	return xasprintf("stage \"train\" {\n  run = \"write build/model.bin %s\"\n  outputs = [\"build/model.bin\"]\n}\n"
			 "stage \"evaluate\" {\n  needs = [\"train\"]\n"
			 "  run = \"write build/metrics.json {\\\"accuracy\\\": %s}\"\n"
			 "  outputs = [\"build/metrics.json\"]\n  metrics = \"build/metrics.json\"\n}\n"
			 "gate \"promote\" {\n  needs = [\"evaluate\"]\n  require = [\"accuracy >= 0.85\"]\n}\n"
			 "model \"clf\" {\n  artifact = \"build/model.bin\"\n  gate = \"promote\"\n}\n", weights, acc);
}

START_TEST(test_gate_pass_registers_production)
{
	char *dag = gated_dag("0.9", "W1");
	proj *p = proj_new(dag);
	nf_run_status status;
	int64_t id;
	nf_model_version *v = NULL;
	size_t n = 0;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(last(p, "promote")->state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(last(p, "promote")->kind, NF_GATE);
	ck_assert_uint_eq(p->nregistered, 1);
	ck_assert_str_eq(p->registered[0], "clf v1 production");
	ck_assert_int_eq(nf_registry_list(p->store, "clf", &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].status, "production");
	nf_model_version_list_free(v, n);

	/* The same artifact again (from the cache): nothing new registered. */
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_uint_eq(p->nregistered, 1);
	ck_assert_str_eq(p->registered[0], "clf v1 unchanged");
	free(dag);
	proj_free(p);
}
END_TEST

START_TEST(test_gate_reject_keeps_production)
{
	char *dag = gated_dag("0.9", "W1");
	proj *p = proj_new(dag);
	nf_run_status status;
	int64_t id;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_str_eq(p->registered[0], "clf v1 production");
	free(dag);
	dag = gated_dag("0.5", "W2");
	write_file(p->dir, "p.dag", dag);
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_GATED);
	ck_assert_int_eq(last(p, "promote")->state, NF_ST_REJECTED);
	/* The rejection's reason reaches the event as a value: the failed criterion. */
	ck_assert_ptr_nonnull(strstr(last(p, "promote")->reason, "accuracy >= 0.85"));
	ck_assert_uint_eq(p->nregistered, 1);
	ck_assert_str_eq(p->registered[0], "clf v2 candidate");
	free(dag);
	proj_free(p);
}
END_TEST

/* ---- alerts ---- */

static const char *drift_dag =
	"monitor \"drift\" {\n"
	"  run     = \"write drift.json {\\\"psi\\\": 0.3}\"\n"
	"  metrics = \"drift.json\"\n"
	"  alert \"shift\" {\n    when = \"psi > 0.25\"\n    severity = \"high\"\n  }\n"
	"  alert \"wobble\" {\n    when = \"psi > 0.5\"\n    severity = \"low\"\n  }\n"
	"}\n";

START_TEST(test_alert_fires_then_repeats_from_cache)
{
	proj *p = proj_new(drift_dag);
	nf_run_status status;
	int64_t id;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(last(p, "drift")->kind, NF_MONITOR);
	ck_assert_uint_eq(p->nalerts, 1);
	ck_assert_str_eq(p->alerts[0], "drift/shift high repeat=0");
	/* Cached, the monitor's metrics still raise the alert: counted again, not new. */
	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(last(p, "drift")->state, NF_ST_CACHED);
	ck_assert_uint_eq(p->nalerts, 1);
	ck_assert_str_eq(p->alerts[0], "drift/shift high repeat=1");
	proj_free(p);
}
END_TEST

START_TEST(test_alert_fail_on_fails_monitor)
{
	proj *p = proj_new("monitor \"drift\" {\n  run = \"write drift.json {\\\"psi\\\": 0.3}\"\n"
			   "  metrics = \"drift.json\"\n  fail_on = \"high\"\n"
			   "  alert \"shift\" {\n    when = \"psi > 0.25\"\n    severity = \"high\"\n  }\n}\n");
	nf_run_status status;
	int64_t id;

	ck_assert_int_eq(proj_run(p, &status, &id, true), 0);
	ck_assert_int_eq(status, NF_RUN_FAILED);
	ck_assert_int_eq(last(p, "drift")->state, NF_ST_FAILED);
	ck_assert_ptr_nonnull(strstr(last(p, "drift")->reason, "alert shift (high) fired"));
	proj_free(p);
}
END_TEST

/* ---- crash recovery ---- */

START_TEST(test_crashed_run_recovered)
{
	proj *p = proj_new(two_stages);
	nf_run_status status;
	int64_t id;
	nf_store *st = NULL;
	char *state_dir = NULL;
	nf_run_info info, got;

	/* A run that began and never ended, as a killed ntflow leaves it in the workspace: a
	 * child process starts it and exits without ending it. */
	pid_t pid = fork();
	int ws = 0;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int rc = 1;

		if (nf_store_open_workspace(&st, &state_dir, p->dag, p->state, true) == 0) {
			memset(&info, 0, sizeof(info));
			info.pipeline = "p.dag";
			info.file = "p.dag";
			info.trigger = "manual";
			info.logical_date = "2026-01-01";
			rc = nf_store_run_begin(st, &info) == 0 && info.id == 1 && nf_store_flush(st) == 0 ? 0 : 1;
		}
		_exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

	/* The next run (with the workspace's own store) finds it and says so. */
	ck_assert_int_eq(proj_run(p, &status, &id, false), 0);
	ck_assert_int_eq(status, NF_RUN_SUCCEEDED);
	ck_assert_int_eq(id, 2);
	ck_assert_uint_ge(p->nwarnings, 1);
	ck_assert_str_eq(p->warnings[0], "run 1 had crashed: its ntflow process is gone");
	ck_assert_int_eq(nf_store_open_workspace(&st, &state_dir, p->dag, p->state, false), 0);
	ck_assert_int_eq(nf_store_run_get(st, 1, &got), 0);
	ck_assert_int_eq(got.status, NF_RUN_CRASHED);
	nf_run_info_release(&got);
	nf_store_close(st);
	free(state_dir);
	proj_free(p);
}
END_TEST

static Suite *
runobj_suite(void)
{
	Suite *s = suite_create("runobj");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cache_hit_then_miss);
	tcase_add_test(tc, test_cache_restores_deleted_outputs);
	tcase_add_test(tc, test_retry_then_success);
	tcase_add_test(tc, test_retries_exhausted);
	tcase_add_test(tc, test_gate_pass_registers_production);
	tcase_add_test(tc, test_gate_reject_keeps_production);
	tcase_add_test(tc, test_alert_fires_then_repeats_from_cache);
	tcase_add_test(tc, test_alert_fail_on_fails_monitor);
	tcase_add_test(tc, test_crashed_run_recovered);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(runobj_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
