/* check_parse.c: unit tests of the .dag parser: the model it builds from the design's
 * pipeline, defaults and inheritance, every message it reports (a table: source and exact
 * diagnostics), recovery, limits on hostile input, and the schema against the man page. */
#include "config.h"
#include "ntflow/dag.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/expr.h"
#include "schema.h"

/* The pipeline sketched in DESIGN.md ("The pipeline file"), as dags/retrain.dag has it. */
static const char retrain[] =
	"# dags/retrain.dag: weekly retraining of the fraud classifier\n"
	"pipeline \"retrain\" {\n"
	"  description = \"Weekly retraining of the fraud classifier\"\n"
	"  schedule    = \"@weekly\"            # 5-field cron or @hourly/@daily/@weekly/@monthly\n"
	"  catchup     = false\n"
	"  concurrency = 2\n"
	"  path        = [\"examples/ml\"]\n"
	"\n"
	"  params {\n"
	"    seed = 42\n"
	"    rows = 20000\n"
	"  }\n"
	"\n"
	"  defaults {\n"
	"    retries = 2\n"
	"    backoff = \"2s\"\n"
	"    timeout = \"10m\"\n"
	"  }\n"
	"}\n"
	"\n"
	"stage \"ingest\" {\n"
	"  run     = \"ntml gen --week ${run.week} --rows ${params.rows} --seed ${params.seed} --out data/weekly/${run.week}.csv\"\n"
	"  outputs = [\"data/weekly/${run.week}.csv\"]\n"
	"}\n"
	"\n"
	"stage \"preprocess\" {\n"
	"  needs   = [\"ingest\"]\n"
	"  run     = \"ntml prep --in data/weekly/${run.week}.csv --out build/prep --seed ${params.seed}\"\n"
	"  inputs  = [\"examples/ml/\"]\n"
	"  outputs = [\"build/prep/\"]\n"
	"}\n"
	"\n"
	"stage \"tune\" {\n"
	"  needs = [\"preprocess\"]\n"
	"  matrix {\n"
	"    lr = [0.01, 0.05, 0.2]\n"
	"    l2 = [0.0, 0.001]\n"
	"  }\n"
	"  run     = \"ntml train --lr ${matrix.lr} --l2 ${matrix.l2} --out build/tune/${matrix.id}\"\n"
	"  outputs = [\"build/tune/${matrix.id}/\"]\n"
	"  metrics = \"build/tune/${matrix.id}/metrics.json\"\n"
	"  select  = \"max(val_auc)\"\n"
	"}\n"
	"\n"
	"stage \"train\" {\n"
	"  needs   = [\"tune\"]\n"
	"  run     = \"ntml train --lr ${stages.tune.best.lr} --l2 ${stages.tune.best.l2} --out build/model\"\n"
	"  outputs = [\"build/model/\"]\n"
	"}\n"
	"\n"
	"stage \"evaluate\" {\n"
	"  needs   = [\"train\"]\n"
	"  run     = \"ntml eval --model build/model/model.json --out build/eval/metrics.json\"\n"
	"  outputs = [\"build/eval/\"]\n"
	"  metrics = \"build/eval/metrics.json\"\n"
	"}\n"
	"\n"
	"gate \"promote\" {\n"
	"  needs   = [\"evaluate\"]\n"
	"  require = [\n"
	"    \"accuracy >= 0.85\",\n"
	"    \"ece <= 0.08\",\n"
	"    \"auc >= production.auc - 0.02\",  # champion/challenger\n"
	"  ]\n"
	"}\n"
	"\n"
	"model \"fraud-clf\" {                  # the registry entry this pipeline produces\n"
	"  artifact = \"build/model/model.json\"\n"
	"  metrics  = \"build/eval/metrics.json\"\n"
	"  gate     = \"promote\"\n"
	"}\n"
	"\n"
	"stage \"deploy\" {\n"
	"  needs = [\"promote\"]\n"
	"  run   = \"cp build/model/model.json models/current/fraud-clf.json\"\n"
	"  cache = false                      # a side effect: never skipped\n"
	"}\n"
	"\n"
	"monitor \"drift\" {\n"
	"  needs   = [\"ingest\"]\n"
	"  run     = \"ntml drift --cur data/weekly/${run.week}.csv --out build/drift.json\"\n"
	"  metrics = \"build/drift.json\"\n"
	"  alert \"feature-shift\" {\n"
	"    when     = \"max_psi > 0.25\"\n"
	"    severity = \"high\"\n"
	"  }\n"
	"  alert \"feature-wobble\" {\n"
	"    when     = \"max_psi > 0.10\"\n"
	"  }\n"
	"  on_alert = \"high\"\n"
	"}\n";

/* The diagnostics as "line:col: level: message" lines. */
static char *
diag_text(const nf_diag_list *diags)
{
	static const char *const levels[] = { "error", "warning", "note" };
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < diags->n; i++) {
		const nf_diag *d = &diags->items[i];

		nf_buf_printf(&b, "%d:%d: %s: %s\n", d->line, d->col, levels[d->level], d->msg);
	}
	return nf_buf_detach(&b);
}

/* Parses src; checks the status agrees with the messages, which are returned. */
static char *
parse(const char *src, size_t len, nf_dag **out)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char *text;
	int err;

	err = nf_dag_parse(&dag, "t.dag", src, len, &diags);
	ck_assert_ptr_nonnull(dag);
	ck_assert_int_eq(err, diags.nerrors ? NF_EINVALID : 0);
	text = diag_text(&diags);
	nf_diag_list_release(&diags);
	if (out)
		*out = dag;
	else
		nf_dag_free(dag);
	return text;
}

/* Parses src, which must parse without a message. */
static nf_dag *
parse_ok(const char *src)
{
	nf_dag *dag;
	char *msgs = parse(src, strlen(src), &dag);

	ck_assert_msg(msgs[0] == '\0', "unexpected messages:\n%s", msgs);
	free(msgs);
	return dag;
}

/* A template back as text, references as ${...}. */
static char *
tmpl_text(const nf_tmpl *t)
{
	nf_buf b = NF_BUF_INIT;

	for (size_t i = 0; i < t->nsegs; i++) {
		if (t->segs[i].is_ref)
			nf_buf_printf(&b, "${%s}", t->segs[i].text);
		else
			nf_buf_puts(&b, t->segs[i].text);
	}
	return nf_buf_detach(&b);
}

#define ck_tmpl(t, expect) do { \
	char *got_ = tmpl_text(t); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

START_TEST(test_retrain_pipeline)
{
	nf_dag *dag = parse_ok(retrain);
	const nf_pipeline *pl = &dag->pipeline;

	ck_assert(dag->has_pipeline);
	ck_assert_str_eq(dag->path, "t.dag");
	ck_assert_str_eq(dag->dir, ".");
	ck_assert_str_eq(pl->name, "retrain");
	ck_assert_int_eq(pl->loc.line, 2);
	ck_assert_int_eq(pl->loc.col, 1);
	ck_assert_str_eq(pl->description, "Weekly retraining of the fraud classifier");
	ck_assert_str_eq(pl->schedule, "@weekly");
	ck_assert_int_eq(pl->schedule_loc.line, 4);
	ck_assert_int_eq(pl->schedule_loc.col, 17);
	ck_assert(!pl->catchup);
	ck_assert_int_eq(pl->concurrency, 2);
	ck_assert_uint_eq(pl->npath, 1);
	ck_assert_str_eq(nf_tmpl_literal(&pl->path[0]), "examples/ml");
	ck_assert_str_eq(pl->models_dir, "models");
	ck_assert_uint_eq(pl->nparams, 2);
	ck_assert_str_eq(pl->params[0].key, "seed");
	ck_assert_int_eq(pl->params[0].value.kind, NF_V_NUMBER);
	ck_assert_str_eq(pl->params[0].value.num_text, "42");
	ck_assert(pl->params[0].value.num == 42);
	ck_assert_int_eq(pl->params[0].loc.line, 10);
	ck_assert_int_eq(pl->params[0].loc.col, 5);
	ck_assert_str_eq(pl->params[1].key, "rows");
	ck_assert(pl->params[1].value.num == 20000);
	ck_assert_uint_eq(pl->nenv, 0);
	ck_assert_uint_eq(pl->defaults.set, NF_OPT_RETRIES | NF_OPT_BACKOFF | NF_OPT_TIMEOUT);
	ck_assert_int_eq(pl->defaults.retries, 2);
	ck_assert_int_eq(pl->defaults.backoff_ms, 2000);
	ck_assert_int_eq(pl->defaults.timeout_ms, 600000);
	ck_assert_int_eq(pl->defaults.backoff_max_ms, 300000);
	ck_assert_int_eq(pl->defaults.grace_ms, 10000);
	nf_dag_free(dag);
}
END_TEST

/* run as a list of words: one template per word, the words also joined for their references;
 * a string stays a string. */
START_TEST(test_run_list)
{
	nf_dag *dag = parse_ok("stage \"a\" {\n  run = [\"python3\", \"t.py\", \"--seed\", \"${params.seed}\", \"a b\"]\n}\n"
			       "stage \"b\" {\n  run = \"touch x\"\n}\n");
	const nf_stage *a = &dag->stages[0], *b = &dag->stages[1];
	char *t;

	ck_assert(a->run_list);
	ck_assert_uint_eq(nf_more(a)->nrun_words, 5);
	t = tmpl_text(&nf_more(a)->run_words[3]);
	ck_assert_str_eq(t, "${params.seed}");
	free(t);
	t = tmpl_text(&nf_more(a)->run_words[4]);
	ck_assert_str_eq(t, "a b");
	free(t);
	t = tmpl_text(a->run);
	ck_assert_str_eq(t, "python3 t.py --seed ${params.seed} a b");
	free(t);
	ck_assert(!b->run_list);
	ck_assert_uint_eq(nf_more(b)->nrun_words, 0);
	t = tmpl_text(b->run);
	ck_assert_str_eq(t, "touch x");
	free(t);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_retrain_stages)
{
	static const char *const names[] = { "ingest", "preprocess", "tune", "train", "evaluate",
					     "promote", "deploy", "drift" };
	nf_dag *dag = parse_ok(retrain);
	const nf_stage *s;

	ck_assert_uint_eq(dag->nstages, NF_ARRAY_SIZE(names));
	for (size_t i = 0; i < dag->nstages; i++) {
		ck_assert_str_eq(dag->stages[i].name, names[i]);
		ck_assert_uint_eq(dag->stages[i].index, i);
		ck_assert_ptr_eq(nf_dag_find_stage(dag, names[i]), &dag->stages[i]);
	}
	ck_assert_ptr_null(nf_dag_find_stage(dag, "nope"));
	ck_assert_ptr_null(nf_dag_find_stage(dag, "fraud-clf"));

	s = nf_dag_find_stage(dag, "ingest");
	ck_assert_int_eq(s->kind, NF_STAGE);
	ck_assert_int_eq(s->loc.line, 21);
	ck_assert_uint_eq(s->nneeds, 0);
	ck_tmpl(s->run, "ntml gen --week ${run.week} --rows ${params.rows} --seed ${params.seed} "
		"--out data/weekly/${run.week}.csv");
	ck_assert_uint_eq(s->run->nsegs, 9);
	ck_assert(s->run->segs[1].is_ref);
	ck_assert_str_eq(s->run->segs[1].text, "run.week");
	ck_assert_int_eq(s->run->segs[1].loc.line, 22);
	ck_assert_int_eq(s->run->segs[1].loc.col, 30);
	ck_assert_int_eq(s->run->loc.col, 13);
	ck_assert_ptr_null(nf_tmpl_literal(s->run));
	ck_assert_uint_eq(s->noutputs, 1);
	ck_tmpl(&s->outputs[0], "data/weekly/${run.week}.csv");
	ck_assert_ptr_null(nf_more(s)->metrics);

	s = nf_dag_find_stage(dag, "preprocess");
	ck_assert_uint_eq(s->nneeds, 1);
	ck_assert_str_eq(s->needs[0].name, "ingest");
	ck_assert_int_eq(s->needs[0].loc.line, 27);
	ck_assert_int_eq(s->needs[0].loc.col, 14);
	ck_assert_uint_eq(s->ninputs, 1);
	ck_assert_str_eq(nf_tmpl_literal(&s->inputs[0]), "examples/ml/");

	s = nf_dag_find_stage(dag, "tune");
	ck_assert_uint_eq(nf_more(s)->nmatrix, 2);
	ck_assert_str_eq(nf_more(s)->matrix[0].name, "lr");
	ck_assert_uint_eq(nf_more(s)->matrix[0].nvalues, 3);
	ck_assert_str_eq(nf_more(s)->matrix[0].values[1].num_text, "0.05");
	ck_assert(nf_more(s)->matrix[0].values[1].num == 0.05);
	ck_assert_str_eq(nf_more(s)->matrix[1].name, "l2");
	ck_assert_uint_eq(nf_more(s)->matrix[1].nvalues, 2);
	ck_assert_str_eq(nf_more(s)->matrix[1].values[0].num_text, "0.0");
	ck_assert_int_eq(nf_more(s)->select.kind, NF_SELECT_MAX);
	ck_assert_str_eq(nf_more(s)->select.metric, "val_auc");
	ck_assert_int_eq(nf_more(s)->select.loc.line, 42);
	ck_tmpl(nf_more(s)->metrics, "build/tune/${matrix.id}/metrics.json");

	s = nf_dag_find_stage(dag, "promote");
	ck_assert_int_eq(s->kind, NF_GATE);
	ck_assert_ptr_null(s->run);
	ck_assert_uint_eq(nf_more(s)->nrequire, 3);
	ck_assert_str_eq(nf_more(s)->require[0].text, "accuracy >= 0.85");
	ck_assert_int_eq(nf_more(s)->require[0].loc.line, 61);
	ck_assert_int_eq(nf_more(s)->require[0].loc.col, 6);
	ck_assert_ptr_nonnull(nf_more(s)->require[0].expr);
	ck_assert_int_eq(nf_more(s)->require[0].expr->op, NF_EX_GE);
	ck_assert_int_eq(nf_more(s)->require[2].expr->op, NF_EX_GE);
	ck_assert_int_eq(nf_more(s)->require[2].expr->r->op, NF_EX_SUB);
	ck_assert_int_eq(nf_more(s)->require[2].expr->r->l->op, NF_EX_PROD);

	s = nf_dag_find_stage(dag, "deploy");
	ck_assert_uint_eq(s->opts->set, NF_OPT_CACHE);
	ck_assert(!s->opts->cache);
	ck_assert_int_eq(s->opts->retries, 2);            /* the pipeline's defaults */
	ck_assert_int_eq(s->opts->backoff_ms, 2000);
	ck_assert_int_eq(s->opts->timeout_ms, 600000);
	ck_assert_int_eq(s->opts->backoff_max_ms, 300000);  /* built in */
	ck_assert_int_eq(s->opts->cpus, 1);
	ck_assert_str_eq(s->opts->executor, "local");
	ck_assert(!s->opts->slurm.present);

	s = nf_dag_find_stage(dag, "drift");
	ck_assert_int_eq(s->kind, NF_MONITOR);
	ck_assert_uint_eq(nf_more(s)->nalerts, 2);
	ck_assert_str_eq(nf_more(s)->alerts[0].name, "feature-shift");
	ck_assert_str_eq(nf_more(s)->alerts[0].when.text, "max_psi > 0.25");
	ck_assert_int_eq(nf_more(s)->alerts[0].when.expr->op, NF_EX_GT);
	ck_assert_int_eq(nf_more(s)->alerts[0].severity, NF_SEV_HIGH);
	ck_assert_int_eq(nf_more(s)->alerts[1].severity, NF_SEV_MEDIUM);   /* the default */
	ck_assert_int_eq(nf_more(s)->on_alert, NF_SEV_HIGH);
	ck_assert_int_eq(nf_more(s)->fail_on, NF_SEV_NONE);
	ck_assert(s->opts->cache);

	ck_assert_uint_eq(dag->nmodels, 1);
	ck_assert_str_eq(dag->models[0].name, "fraud-clf");
	ck_assert_str_eq(nf_tmpl_literal(dag->models[0].artifact), "build/model/model.json");
	ck_assert_str_eq(nf_tmpl_literal(dag->models[0].metrics), "build/eval/metrics.json");
	ck_assert_str_eq(dag->models[0].gate.name, "promote");
	ck_assert_int_eq(dag->models[0].gate.loc.line, 70);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_builtin_defaults)
{
	nf_dag *dag = parse_ok("stage \"a\" { run = \"true\" }\n");
	const nf_run_opts *o = dag->stages[0].opts;

	ck_assert(!dag->has_pipeline);
	ck_assert_ptr_null(dag->pipeline.name);
	ck_assert_str_eq(dag->pipeline.models_dir, "models");
	ck_assert_int_eq(dag->pipeline.concurrency, 0);
	ck_assert_uint_eq(o->set, 0);
	ck_assert_int_eq(o->retries, 0);
	ck_assert_int_eq(o->backoff_ms, 1000);
	ck_assert_int_eq(o->backoff_max_ms, 300000);
	ck_assert_int_eq(o->timeout_ms, 0);
	ck_assert_int_eq(o->grace_ms, 10000);
	ck_assert_uint_eq(o->nretry_on, 0);
	ck_assert_int_eq(o->cpus, 1);
	ck_assert(o->cache);
	ck_assert_str_eq(o->executor, "local");
	ck_assert_str_eq(nf_tmpl_literal(dag->stages[0].run), "true");
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_run_options)
{
	nf_dag *dag = parse_ok(
		"pipeline \"p\" {\n"
		"  models_dir = \"registry\"\n"
		"  env {\n"
		"    PYTHONHASHSEED = 0\n"
		"    MODE = \"fast\"\n"
		"  }\n"
		"  defaults {\n"
		"    executor = \"slurm\"\n"
		"    retry_on = [75]\n"
		"    slurm {\n"
		"      partition = \"cpu\"\n"
		"    }\n"
		"  }\n"
		"}\n"
		"stage \"a\" {\n"
		"  run         = \"x\"\n"
		"  retries     = 3\n"
		"  backoff     = \"500ms\"\n"
		"  backoff_max = \"1h30m\"\n"
		"  timeout     = \"2h\"\n"
		"  grace       = \"1d\"\n"
		"  retry_on    = [1, 2, 255]\n"
		"  cpus        = 4\n"
		"  cache       = false\n"
		"  executor    = \"local\"\n"
		"  env {\n"
		"    OUT = \"build/${params.x}\"\n"
		"  }\n"
		"  slurm {\n"
		"    partition = \"gpu\"\n"
		"    time      = \"1:00:00\"\n"
		"    cpus      = 8\n"
		"    mem       = \"16G\"\n"
		"    gres      = \"gpu:1\"\n"
		"    account   = \"ml\"\n"
		"    qos       = \"high\"\n"
		"  }\n"
		"}\n"
		"stage \"b\" {\n"
		"  run = \"y\"\n"
		"}\n");
	const nf_stage *a = &dag->stages[0], *b = &dag->stages[1];

	ck_assert_str_eq(dag->pipeline.models_dir, "registry");
	ck_assert_uint_eq(dag->pipeline.nenv, 2);
	ck_assert_str_eq(dag->pipeline.env[0].key, "PYTHONHASHSEED");
	ck_assert_int_eq(dag->pipeline.env[0].value.kind, NF_V_NUMBER);
	ck_assert_str_eq(nf_tmpl_literal(&dag->pipeline.env[1].value.str), "fast");
	ck_assert_int_eq(a->opts->retries, 3);
	ck_assert_int_eq(a->opts->backoff_ms, 500);
	ck_assert_int_eq(a->opts->backoff_max_ms, 5400000);
	ck_assert_int_eq(a->opts->timeout_ms, 7200000);
	ck_assert_int_eq(a->opts->grace_ms, 86400000);
	ck_assert_uint_eq(a->opts->nretry_on, 3);
	ck_assert_int_eq(a->opts->retry_on[2], 255);
	ck_assert_int_eq(a->opts->cpus, 4);
	ck_assert(!a->opts->cache);
	ck_assert_str_eq(a->opts->executor, "local");
	ck_assert(a->opts->slurm.present);
	ck_assert_int_eq(a->opts->slurm.loc.line, 29);
	ck_assert_str_eq(a->opts->slurm.partition, "gpu");
	ck_assert_str_eq(a->opts->slurm.time, "1:00:00");
	ck_assert_int_eq(a->opts->slurm.cpus, 8);
	ck_assert_str_eq(a->opts->slurm.mem, "16G");
	ck_assert_str_eq(a->opts->slurm.gres, "gpu:1");
	ck_assert_str_eq(a->opts->slurm.account, "ml");
	ck_assert_str_eq(a->opts->slurm.qos, "high");
	ck_assert_uint_eq(a->opts->set, 0x3ff);
	ck_assert_uint_eq(nf_more(a)->nenv, 1);
	ck_tmpl(&nf_more(a)->env[0].value.str, "build/${params.x}");
	/* b inherits the pipeline's defaults, slurm block included. */
	ck_assert_uint_eq(b->opts->set, 0);
	ck_assert_str_eq(b->opts->executor, "slurm");
	ck_assert_uint_eq(b->opts->nretry_on, 1);
	ck_assert_int_eq(b->opts->retry_on[0], 75);
	ck_assert_str_eq(b->opts->slurm.partition, "cpu");
	ck_assert(b->opts->slurm.present);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_syntax_forms)
{
	/* One-line blocks, empty blocks and lists, trailing commas, lists over lines, a file
	 * without a final newline, comments everywhere, CRLF. */
	nf_dag *dag = parse_ok(
		"# comment\r\n"
		"pipeline \"p\" {}\r\n"
		"stage \"a\" { run = \"true\" }  # one line\n"
		"stage \"b\" {\n"
		"  needs = [\n"
		"    \"a\",   # why\n"
		"\n"
		"    # more\n"
		"  ]\n"
		"  outputs = []\n"
		"  inputs = [\"x\", \"y\",]\n"
		"  run = \"echo \\\"$1\\\" $${HOME} \\\\\"\n"
		"  matrix { n = [1, -2.5e3, true, \"s\"] }\n"
		"  env {}\n"
		"}\n"
		"stage \"c\" { run = \"true\" }");
	const nf_stage *b = &dag->stages[1];

	ck_assert_uint_eq(dag->nstages, 3);
	ck_assert_uint_eq(b->nneeds, 1);
	ck_assert_uint_eq(b->noutputs, 0);
	ck_assert_uint_eq(b->ninputs, 2);
	ck_assert_str_eq(nf_tmpl_literal(b->run), "echo \"$1\" ${HOME} \\");
	ck_assert_uint_eq(nf_more(b)->nmatrix, 1);
	ck_assert_uint_eq(nf_more(b)->matrix[0].nvalues, 4);
	ck_assert(nf_more(b)->matrix[0].values[1].num == -2500);
	ck_assert_int_eq(nf_more(b)->matrix[0].values[2].kind, NF_V_BOOL);
	ck_assert(nf_more(b)->matrix[0].values[2].boolean);
	ck_assert_int_eq(nf_more(b)->matrix[0].values[3].kind, NF_V_STRING);
	ck_assert_str_eq(nf_tmpl_literal(&nf_more(b)->matrix[0].values[3].str), "s");
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_empty_file)
{
	nf_dag *dag = parse_ok("");

	ck_assert_uint_eq(dag->nstages, 0);
	ck_assert_ptr_null(dag->stages);
	nf_dag_free(dag);
	dag = parse_ok("\n# nothing\n\n");
	nf_dag_free(dag);
}
END_TEST

/* The file's first list is empty: its items pointer was NULL + 0 while the item stack had
 * never grown (undefined behaviour that only clang's UBSan reports; this test fails in a
 * clang --enable-sanitizers build without the fix, and passes everywhere with it). */
START_TEST(test_empty_first_list)
{
	nf_dag *dag = parse_ok("pipeline \"p\" {\n  path = []\n}\n\nstage \"a\" {\n  run     = \"true\"\n"
			       "  needs   = []\n  inputs  = []\n  outputs = []\n}\n");

	ck_assert_uint_eq(dag->pipeline.npath, 0);
	ck_assert_uint_eq(dag->nstages, 1);
	ck_assert_uint_eq(dag->stages[0].nneeds, 0);
	ck_assert_uint_eq(dag->stages[0].ninputs, 0);
	nf_dag_free(dag);
	dag = parse_ok("stage \"a\" {\n  run   = \"true\"\n  needs = []\n}\n");
	ck_assert_uint_eq(dag->stages[0].nneeds, 0);
	nf_dag_free(dag);
}
END_TEST

/* secret_env: the defaults' list and a stage's add up; any name listed is a secret of the
 * pipeline (its values are masked where ntflow records them). */
START_TEST(test_secret_env)
{
	nf_dag *dag = parse_ok(
		"pipeline \"p\" {\n"
		"  defaults {\n"
		"    secret_env = [\"API_TOKEN\"]\n"
		"  }\n"
		"}\n"
		"stage \"a\" {\n"
		"  run        = \"x\"\n"
		"  secret_env = [\"DB_PASS\", \"API_TOKEN\"]\n"
		"}\n"
		"stage \"b\" {\n"
		"  run = \"y\"\n"
		"}\n");
	const nf_stage *a = &dag->stages[0], *b = &dag->stages[1];

	ck_assert_uint_eq(a->opts->nsecret_env, 2);
	ck_assert_str_eq(a->opts->secret_env[0].name, "DB_PASS");
	ck_assert_str_eq(a->opts->secret_env[1].name, "API_TOKEN");
	ck_assert_uint_eq(b->opts->nsecret_env, 1);
	ck_assert_str_eq(b->opts->secret_env[0].name, "API_TOKEN");
	ck_assert(nf_dag_is_secret(dag, "DB_PASS"));
	ck_assert(nf_dag_is_secret(dag, "API_TOKEN"));
	ck_assert(!nf_dag_is_secret(dag, "HOME"));
	nf_dag_free(dag);
}
END_TEST

/* drift_report { tolerance { } }: a metric named in quotes, a dotted one or a slice's
 * METRIC[SLICE], beside bare names, in the order written. */
START_TEST(test_tolerance_quoted)
{
	nf_dag *dag = parse_ok("pipeline \"p\" {\n  drift_report {\n    tolerance {\n      accuracy = 0.02\n"
			       "      \"eval.auc\" = 0.1\n      \"accuracy[region=EU]\" = 0.05\n    }\n  }\n}\n"
			       "stage \"a\" { run = \"true\" }\n");

	ck_assert_uint_eq(dag->pipeline.ndrift_tolerance, 3);
	ck_assert_str_eq(dag->pipeline.drift_tolerance[0].key, "accuracy");
	ck_assert_str_eq(dag->pipeline.drift_tolerance[1].key, "eval.auc");
	ck_assert_double_eq(dag->pipeline.drift_tolerance[1].value.num, 0.1);
	ck_assert_str_eq(dag->pipeline.drift_tolerance[2].key, "accuracy[region=EU]");
	ck_assert_double_eq(dag->pipeline.drift_tolerance[2].value.num, 0.05);
	ck_assert_uint_eq(dag->pipeline.drift_tolerance[1].loc.line, 5);
	nf_dag_free(dag);
}
END_TEST

/* One message table: a small file and the exact diagnostics of nf_dag_parse. */
static const struct {
	const char *name;
	const char *src;
	const char *expect;
} messages[] = {
	{ "secret_env_name", "stage \"a\" {\n  run = \"x\"\n  secret_env = [\"OK_1\", \"a-b\", \"OK_1\"]\n}\n",
	  "3:25: error: invalid environment variable name \"a-b\" in secret_env: use letters, digits and '_',"
	  " not starting with a digit\n"
	  "3:32: error: \"OK_1\" is listed twice\n" },
	{ "missing_equals", "stage \"a\" {\n  run \"x\"\n}\n",
	  "2:7: error: expected '=' after attribute name 'run', found a string\n" },
	/* tolerance { } takes a metric's name in quotes (dots, a slice's brackets); nowhere else */
	{ "tolerance_quoted_bad", "pipeline \"p\" {\n  drift_report {\n    tolerance {\n      \"\" = 1\n"
	  "      \"a$b\" = 1\n      \"x.y\" = 1\n      \"x.y\" = 2\n    }\n  }\n}\n",
	  "4:7: error: invalid tolerance name \"\": the metric's name in quotes, not empty, without '\\', '$' or"
	  " control characters\n"
	  "5:7: error: invalid tolerance name \"a$b\": the metric's name in quotes, not empty, without '\\', '$' or"
	  " control characters\n"
	  "7:7: error: duplicate tolerance 'x.y'\n"
	  "6:7: note: first set here\n" },
	{ "tolerance_bare_bad", "pipeline \"p\" {\n  drift_report {\n    tolerance {\n      a-b = 1\n    }\n  }\n}\n",
	  "4:7: error: invalid tolerance name 'a-b': use letters, digits and '_', or the metric's name in quotes\n" },
	{ "quoted_key_in_params", "pipeline \"p\" {\n  params {\n    \"a.b\" = 1\n  }\n}\n",
	  "3:5: error: expected an attribute or a block in params, found a string\n" },
	{ "missing_value_brace", "stage \"a\" { run = }\n",
	  "1:19: error: expected a value (string, number, boolean or list), found '}'\n" },
	{ "missing_value_eol", "stage \"a\" {\n  run =\n}\n",
	  "2:8: error: expected a value (string, number, boolean or list), found the end of the line\n" },
	{ "bare_word", "stage \"a\" {\n  run = x\n}\n",
	  "2:9: error: expected a value (string, number, boolean or list), found 'x'\n"
	  "2:9: note: strings are written in quotes: \"x\"\n" },
	{ "value_brace", "stage \"a\" {\n  run = {\n  }\n}\n",
	  "2:9: error: expected a value (string, number, boolean or list), found '{'\n" },
	{ "one_per_line", "stage \"a\" { run = \"x\" cache = false }\n",
	  "1:23: error: expected the end of the line after 'run = ...' (one attribute per line), found 'cache'\n" },
	{ "after_block", "stage \"a\" {\n  run = \"x\"\n  slurm { cpus = 1 } cache = false\n}\n",
	  "3:22: error: expected the end of the line after '}', found 'cache'\n" },
	{ "after_top_block", "pipeline \"p\" {} x\n",
	  "1:17: error: expected the end of the line after '}', found 'x'\n" },
	{ "unterminated", "stage \"a\" {\n  run = \"x\n}\n",
	  "2:9: error: unterminated string\n" },
	{ "unclosed_block", "stage \"a\" {\n  run = \"x\"\n",
	  "3:1: error: expected '}' to close stage \"a\", found the end of the file\n"
	  "1:1: note: stage \"a\" starts here\n" },
	{ "unclosed_nested", "stage \"a\" {\n  run = \"x\"\n  env {\n    A = \"1\"\n",
	  "5:1: error: expected '}' to close env, found the end of the file\n"
	  "3:3: note: env starts here\n" },
	{ "unclosed_list_attr", "stage \"a\" {\n  needs = [\"b\",\n  run = \"x\"\n}\n",
	  "3:3: error: expected ']' to close the list, found 'run'\n"
	  "2:11: note: the list starts here\n" },
	{ "unclosed_list_brace", "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\" }\n",
	  "3:16: error: expected ']' to close the list, found '}'\n"
	  "3:11: note: the list starts here\n" },
	{ "unclosed_list_eof", "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\",\n",
	  "4:1: error: expected ']' to close the list, found the end of the file\n"
	  "3:11: note: the list starts here\n" },
	{ "missing_comma", "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\" \"c\"]\n}\n",
	  "3:16: error: expected ',' between list items, found a string\n" },
	{ "list_junk", "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\" = \"c\"]\n}\n",
	  "3:16: error: expected ',' or ']' in the list, found '='\n" },
	{ "list_bad_item", "stage \"a\" {\n  run = \"x\"\n  needs = [=, \"c\"]\n}\n",
	  "3:12: error: expected a value (string, number, boolean or list), found '='\n" },
	{ "item_in_body", "stage \"a\" {\n  run = \"x\"\n  \"y\"\n}\n",
	  "3:3: error: expected an attribute or a block in stage \"a\", found a string\n" },
	{ "top_attr", "run = \"x\"\n",
	  "1:1: error: attribute 'run' outside any block (expected pipeline, stage, gate, model or monitor)\n" },
	{ "top_string", "\"x\" {}\n",
	  "1:1: error: expected a block (pipeline, stage, gate, model or monitor), found a string\n" },
	{ "top_brace", "}\n",
	  "1:1: error: unexpected '}': no block is open\n" },
	{ "top_word", "hello world\n",
	  "1:1: error: expected a block (pipeline, stage, gate, model or monitor), found 'hello'\n" },
	{ "no_label", "stage {\n  run = \"x\"\n}\n",
	  "1:7: error: expected a name in quotes after 'stage', found '{'\n" },
	{ "unquoted_label", "stage a {\n  run = \"x\"\n}\n",
	  "1:7: error: expected the name of the stage in quotes, found 'a'\n" },
	{ "label_on_unlabeled", "pipeline \"p\" {\n  params \"x\" {\n    a = 1\n  }\n}\n",
	  "2:10: error: block 'params' takes no name\n" },
	{ "no_brace", "stage \"a\"\n{\n}\n",
	  "2:1: error: '{' must be on the same line as stage \"a\"\n"
	  "1:1: error: missing attribute 'run' in stage \"a\"\n" },
	{ "no_brace_nested", "monitor \"m\" {\n  run = \"x\"\n  alert \"x\"\n}\n",
	  "3:12: error: expected '{' after alert \"x\", found the end of the line\n" },
	{ "block_no_brace_word", "stage \"a\" {\n  run = \"x\"\n  matrix\n}\n",
	  "3:9: error: expected '{' after 'matrix', found the end of the line\n" },
	{ "colon", "stage \"a\" {\n  run: \"x\"\n}\n",
	  "2:6: error: expected '=' after attribute name 'run', found ':'\n" },
	{ "number_range", "stage \"a\" {\n  run = \"x\"\n  retries = 1e999\n}\n",
	  "3:13: error: number '1e999' is out of range\n" },
	{ "unknown_kind", "stagee \"a\" {\n  run = \"x\"\n}\n",
	  "1:1: error: unknown block kind 'stagee'; did you mean 'stage'?\n" },
	{ "unknown_kind_far", "workflow \"a\" {\n}\n",
	  "1:1: error: unknown block kind 'workflow' (expected pipeline, stage, gate, model or monitor)\n" },
	{ "unknown_attr", "stage \"a\" {\n  run = \"x\"\n  nedds = []\n}\n",
	  "3:3: error: unknown attribute 'nedds' in stage \"a\"; did you mean 'needs'?\n" },
	{ "unknown_attr_far", "stage \"a\" {\n  run = \"x\"\n  colour = \"blue\"\n}\n",
	  "3:3: error: unknown attribute 'colour' in stage \"a\"\n" },
	{ "unknown_attr_pipeline", "pipeline \"p\" {\n  schedul = \"@daily\"\n}\n",
	  "2:3: error: unknown attribute 'schedul' in pipeline \"p\"; did you mean 'schedule'?\n" },
	{ "unknown_attr_defaults", "pipeline \"p\" {\n  defaults {\n    retires = 1\n  }\n}\n",
	  "3:5: error: unknown attribute 'retires' in defaults; did you mean 'retries'?\n" },
	{ "unknown_block_nested", "stage \"a\" {\n  run = \"x\"\n  matrx {\n  }\n}\n",
	  "3:3: error: unknown block 'matrx' in stage \"a\"; did you mean 'matrix'?\n" },
	{ "unknown_block_far", "stage \"a\" {\n  run = \"x\"\n  foo {\n  }\n}\n",
	  "3:3: error: unknown block 'foo' in stage \"a\"\n" },
	{ "unknown_block_leaf", "model \"m\" {\n  artifact = \"a\"\n  foo {\n  }\n}\n",
	  "3:3: error: unknown block 'foo' in model \"m\" (it holds no blocks)\n" },
	{ "unknown_block_gate", "gate \"g\" {\n  foo {\n  }\n}\n",
	  "2:3: error: unknown block 'foo' in gate \"g\"\n" },
	{ "block_top_only_nested", "params {\n}\n",
	  "1:1: error: block 'params' is not allowed at the top level; it goes inside pipeline\n" },
	{ "block_elsewhere", "stage \"a\" {\n  run = \"x\"\n  params {\n  }\n}\n",
	  "3:3: error: block 'params' is not allowed in stage \"a\"; it goes inside pipeline\n" },
	{ "block_nowhere", "stage \"a\" {\n  run = \"x\"\n  stage \"b\" {\n  }\n}\n",
	  "3:3: error: block 'stage' is not allowed in stage \"a\"\n" },
	{ "attr_as_block", "stage \"a\" {\n  run {\n  }\n}\n",
	  "2:3: error: 'run' is an attribute, not a block: write run = ...\n" },
	{ "block_as_attr", "stage \"a\" {\n  run = \"x\"\n  matrix = []\n}\n",
	  "3:3: error: 'matrix' is a block, not an attribute: write matrix { ... }\n" },
	{ "duplicate_attr", "stage \"a\" {\n  run = \"x\"\n  run = \"y\"\n}\n",
	  "3:3: error: duplicate attribute 'run'\n"
	  "2:3: note: first set here\n" },
	{ "duplicate_block", "stage \"a\" {\n  run = \"x\"\n  env {\n  }\n  env {\n  }\n}\n",
	  "5:3: error: duplicate block 'env' in stage \"a\"\n"
	  "3:3: note: first here\n" },
	{ "duplicate_stage", "stage \"a\" {\n  run = \"x\"\n}\nmonitor \"a\" {\n  run = \"y\"\n}\n",
	  "4:1: error: duplicate stage name \"a\"\n"
	  "1:1: note: first defined here\n" },
	{ "duplicate_model", "model \"m\" {\n  artifact = \"a\"\n}\nmodel \"m\" {\n  artifact = \"b\"\n}\n",
	  "4:1: error: duplicate model name \"m\"\n"
	  "1:1: note: first defined here\n" },
	{ "duplicate_alert", "monitor \"m\" {\n  run = \"x\"\n  alert \"a\" {\n    when = \"x > 1\"\n  }\n  alert \"a\" {\n    when = \"x > 2\"\n  }\n}\n",
	  "6:3: error: duplicate alert \"a\" in monitor \"m\"\n"
	  "3:3: note: first defined here\n" },
	{ "two_pipelines", "pipeline \"a\" {}\npipeline \"b\" {}\n",
	  "2:1: error: more than one pipeline block\n"
	  "1:1: note: the first pipeline block is here\n" },
	{ "missing_run", "stage \"a\" {\n}\n",
	  "1:1: error: missing attribute 'run' in stage \"a\"\n" },
	{ "missing_run_monitor", "monitor \"m\" {\n}\n",
	  "1:1: error: missing attribute 'run' in monitor \"m\"\n" },
	{ "missing_artifact", "model \"m\" {\n}\n",
	  "1:1: error: missing attribute 'artifact' in model \"m\"\n" },
	{ "missing_when", "monitor \"m\" {\n  run = \"x\"\n  alert \"a\" {\n  }\n}\n",
	  "3:3: error: missing attribute 'when' in alert \"a\"\n" },
	{ "invalid_name", "stage \"a b\" {\n  run = \"x\"\n}\n",
	  "1:7: error: invalid stage name \"a b\": use letters, digits, '_' and '-'\n" },
	{ "invalid_name_dash", "stage \"-a\" {\n  run = \"x\"\n}\n",
	  "1:7: error: invalid stage name \"-a\": use letters, digits, '_' and '-'\n" },
	{ "empty_name", "model \"\" {\n  artifact = \"x\"\n}\n",
	  "1:7: error: the name of a model cannot be empty\n" },
	{ "name_ref", "stage \"a${params.x}\" {\n  run = \"x\"\n}\n",
	  "1:9: error: the name of a stage cannot contain ${...} references\n" },
	{ "type_string", "stage \"a\" {\n  run = 1\n}\n",
	  "2:9: error: attribute 'run' expects a string or a list of strings, found a number\n" },
	{ "type_literal_ref", "stage \"a\" {\n  run = \"x\"\n  description = \"${params.x}\"\n}\n",
	  "3:18: error: attribute 'description' cannot contain ${...} references\n" },
	{ "type_literal_number", "stage \"a\" {\n  run = \"x\"\n  description = 1\n}\n",
	  "3:17: error: attribute 'description' expects a string, found a number\n" },
	{ "type_int_string", "stage \"a\" {\n  run = \"x\"\n  retries = \"2\"\n}\n",
	  "3:13: error: attribute 'retries' expects an integer, found a string\n" },
	{ "type_int_decimal", "stage \"a\" {\n  run = \"x\"\n  cpus = 1.5\n}\n",
	  "3:10: error: attribute 'cpus' expects an integer, found 1.5\n" },
	{ "type_int_exp", "stage \"a\" {\n  run = \"x\"\n  cpus = 1e3\n}\n",
	  "3:10: error: attribute 'cpus' expects an integer, found 1e3\n" },
	{ "type_int_range", "stage \"a\" {\n  run = \"x\"\n  retries = 101\n}\n",
	  "3:13: error: attribute 'retries' must be between 0 and 100, found 101\n" },
	{ "type_int_huge", "stage \"a\" {\n  run = \"x\"\n  retries = 99999999999999999999\n}\n",
	  "3:13: error: attribute 'retries' must be between 0 and 100, found 99999999999999999999\n" },
	{ "type_concurrency", "pipeline \"p\" {\n  concurrency = 0\n}\n",
	  "2:17: error: attribute 'concurrency' must be between 1 and 4096, found 0\n" },
	{ "type_bool", "stage \"a\" {\n  run = \"x\"\n  cache = 1\n}\n",
	  "3:11: error: attribute 'cache' expects true or false, found a number\n" },
	{ "type_bool_quoted", "stage \"a\" {\n  run = \"x\"\n  cache = \"true\"\n}\n",
	  "3:11: error: attribute 'cache' expects true or false, found a string; write true without quotes\n" },
	{ "type_duration", "stage \"a\" {\n  run = \"x\"\n  timeout = \"10x\"\n}\n",
	  "3:13: error: invalid duration \"10x\": expected a number followed by ms, s, m, h or d\n" },
	/* decimal digits only: strtod would have read hex, exponents and inf */
	{ "type_duration_hex", "stage \"a\" {\n  run = \"x\"\n  timeout = \"0x10s\"\n}\n",
	  "3:13: error: invalid duration \"0x10s\": expected a number followed by ms, s, m, h or d\n" },
	{ "type_duration_hex_float", "stage \"a\" {\n  run = \"x\"\n  backoff = \"0x1p3s\"\n}\n",
	  "3:13: error: invalid duration \"0x1p3s\": expected a number followed by ms, s, m, h or d\n" },
	{ "type_duration_exponent", "stage \"a\" {\n  run = \"x\"\n  grace = \"1e3s\"\n}\n",
	  "3:11: error: invalid duration \"1e3s\": expected a number followed by ms, s, m, h or d\n" },
	{ "type_duration_dot", "stage \"a\" {\n  run = \"x\"\n  grace = \".s\"\n}\n",
	  "3:11: error: invalid duration \".s\": expected a number followed by ms, s, m, h or d\n" },
	{ "type_duration_sign", "stage \"a\" {\n  run = \"x\"\n  grace = \"1s-2s\"\n}\n",
	  "3:11: error: invalid duration \"1s-2s\": expected a number followed by ms, s, m, h or d\n" },
	{ "type_duration_number", "stage \"a\" {\n  run = \"x\"\n  grace = 30\n}\n",
	  "3:11: error: attribute 'grace' expects a duration like \"30s\", found a number\n" },
	{ "type_duration_bare", "stage \"a\" {\n  run = \"x\"\n  grace = 30s\n}\n",
	  "3:11: error: invalid number '30s'; a duration is a string: \"30s\"\n" },
	{ "type_enum", "stage \"a\" {\n  run = \"x\"\n  executor = \"locl\"\n}\n",
	  "3:14: error: attribute 'executor' must be one of \"local\" or \"slurm\", found \"locl\"; did you mean \"local\"?\n" },
	{ "type_enum_far", "stage \"a\" {\n  run = \"x\"\n  executor = \"kubernetes\"\n}\n",
	  "3:14: error: attribute 'executor' must be one of \"local\" or \"slurm\", found \"kubernetes\"\n" },
	{ "type_enum_severity", "monitor \"m\" {\n  run = \"x\"\n  fail_on = \"hgh\"\n  alert \"a\" {\n    when = \"x > 1\"\n    severity = \"critical\"\n  }\n}\n",
	  "3:13: error: attribute 'fail_on' must be one of \"low\", \"medium\" or \"high\", found \"hgh\"; did you mean \"high\"?\n"
	  "6:16: error: attribute 'severity' must be one of \"low\", \"medium\" or \"high\", found \"critical\"\n" },
	{ "type_list", "stage \"a\" {\n  run = \"x\"\n  needs = \"b\"\n}\n",
	  "3:11: error: attribute 'needs' expects a list of names in quotes, found a string\n" },
	{ "type_list_items", "stage \"a\" {\n  run = \"x\"\n  outputs = [\"a\", 1, true, []]\n}\n",
	  "3:19: error: each item of 'outputs' expects a string, found a number\n"
	  "3:22: error: each item of 'outputs' expects a string, found a boolean\n"
	  "3:28: error: each item of 'outputs' expects a string, found a list\n" },
	{ "type_needs_items", "stage \"a\" {\n  run = \"x\"\n  needs = [1, \"${params.x}\"]\n}\n",
	  "3:12: error: each item of 'needs' expects a name in quotes, found a number\n"
	  "3:16: error: each item of 'needs' cannot contain ${...} references\n" },
	{ "type_int_list", "stage \"a\" {\n  run = \"x\"\n  retry_on = [1, \"2\", 256, -1]\n}\n",
	  "3:18: error: each item of 'retry_on' expects an integer, found a string\n"
	  "3:23: error: each item of 'retry_on' must be between 0 and 255, found 256\n"
	  "3:28: error: each item of 'retry_on' must be between 0 and 255, found -1\n" },
	{ "run_list_empty", "stage \"a\" {\n  run = []\n}\n",
	  "2:9: error: run = [] has no words: the first is the program to run\n" },
	{ "run_number", "stage \"a\" {\n  run = 3\n}\n",
	  "2:9: error: attribute 'run' expects a string or a list of strings, found a number\n" },
	{ "run_list_number", "stage \"a\" {\n  run = [\"a\", 3]\n}\n",
	  "2:15: error: each item of 'run' expects a string, found a number\n" },
	{ "needs_twice", "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\", \"c\", \"b\"]\n}\n",
	  "3:22: error: \"b\" is listed twice\n" },
	{ "select_bad", "stage \"a\" {\n  run = \"x\"\n  select = \"best(auc)\"\n}\n",
	  "3:12: error: invalid select \"best(auc)\": expected max(METRIC) or min(METRIC)\n" },
	{ "select_bad_metric", "stage \"a\" {\n  run = \"x\"\n  select = \"max(1x)\"\n}\n",
	  "3:12: error: invalid select \"max(1x)\": expected max(METRIC) or min(METRIC)\n" },
	{ "schedule_fields", "pipeline \"p\" {\n  schedule = \"* * *\"\n}\n",
	  "2:14: error: invalid schedule \"* * *\": expected 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; found 3\n" },
	{ "schedule_too_many", "pipeline \"p\" {\n  schedule = \"0 3 * * 1 2026\"\n}\n",
	  "2:25: error: invalid schedule \"0 3 * * 1 2026\": expected 5 fields (minute hour day-of-month month day-of-week), found more\n" },
	{ "schedule_char", "pipeline \"p\" {\n  schedule = \"0 3 ? * *\"\n}\n",
	  "2:19: error: invalid character '?' in schedule field 3 (day-of-month)\n" },
	{ "schedule_letter", "pipeline \"p\" {\n  schedule = \"0 x * * *\"\n}\n",
	  "2:17: error: invalid character 'x' in schedule field 2 (hour)\n" },
	{ "schedule_month_name", "pipeline \"p\" {\n  schedule = \"0 3 1 FOO *\"\n}\n",
	  "2:21: error: invalid name 'FOO' in schedule field 4 (month); expected JAN to DEC\n" },
	{ "schedule_day_name", "pipeline \"p\" {\n  schedule = \"0 3 * * MONDAY\"\n}\n",
	  "2:23: error: invalid name 'MONDAY' in schedule field 5 (day-of-week); expected SUN to SAT\n" },
	{ "schedule_macro", "pipeline \"p\" {\n  schedule = \"@weekley\"\n}\n",
	  "2:14: error: unknown schedule \"@weekley\"; did you mean \"@weekly\"?\n" },
	{ "schedule_macro_far", "pipeline \"p\" {\n  schedule = \"@fortnightly\"\n}\n",
	  "2:14: error: unknown schedule \"@fortnightly\": expected @hourly, @daily, @weekly, @monthly or @yearly\n" },
	{ "schedule_escaped", "pipeline \"p\" {\n  schedule = \"0\\t3 * * ?\"\n}\n",
	  "2:24: error: invalid character '?' in schedule field 5 (day-of-week)\n" },
	{ "gate_expr", "gate \"g\" {\n  require = [\"auc >= \", \"x > (1\"]\n}\n",
	  "2:22: error: gate expression: expected a number, a metric name or '('\n"
	  "2:32: error: gate expression: expected ')'\n" },
	{ "gate_expr_escape", "gate \"g\" {\n  require = [\"\\\"auc\\\" > 1\"]\n}\n",
	  "2:15: error: gate expression: expected a number, a metric name or '('\n" },
	/* ${params.NAME} reads as params.NAME (validate checks the key); nothing else. */
	{ "gate_expr_ref", "gate \"g\" {\n  require = [\"${run.id} > 1\"]\n}\n",
	  "2:15: error: each item of 'require' can reference only ${params.NAME}, not ${run.id}\n" },
	{ "gate_expr_param_ref", "gate \"g\" {\n  require = [\"auc > ${params.x} +\"]\n}\n",
	  "2:34: error: gate expression: expected a number, a metric name or '('\n" },
	{ "alert_expr_ref", "monitor \"m\" {\n  run = \"true\"\n  alert \"a\" {\n    when = \"${params.x} > 1\"\n  }\n}\n",
	  "4:13: error: attribute 'when' cannot contain ${...} references\n" },
	{ "gate_expr_type", "gate \"g\" {\n  require = [1]\n}\n",
	  "2:14: error: each item of 'require' expects an expression in quotes, found a number\n" },
	{ "alert_expr", "monitor \"m\" {\n  run = \"x\"\n  alert \"a\" {\n    when = \"psi >\"\n  }\n}\n",
	  "4:18: error: alert condition: expected a number, a metric name or '('\n" },
	{ "matrix_empty", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = []\n  }\n}\n",
	  "4:10: error: matrix axis 'lr' has no values\n" },
	{ "matrix_scalar", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = 0.1\n  }\n}\n",
	  "4:10: error: matrix axis 'lr' expects a list of values, found a number\n" },
	{ "matrix_id", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    id = [1]\n  }\n}\n",
	  "4:5: error: a matrix axis cannot be named 'id': ${matrix.id} names the combination\n" },
	{ "matrix_dup_value", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = [0.1, 0.10]\n    opt = [\"a\", \"b\", \"a\"]\n    on = [true, false, true]\n  }\n}\n",
	  "4:16: error: duplicate value in matrix axis 'lr'\n"
	  "4:11: note: first listed here\n"
	  "5:22: error: duplicate value in matrix axis 'opt'\n"
	  "5:12: note: first listed here\n"
	  "6:24: error: duplicate value in matrix axis 'on'\n"
	  "6:11: note: first listed here\n" },
	{ "matrix_nested", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = [[1]]\n  }\n}\n",
	  "4:11: error: matrix values must be strings, numbers or booleans, found a list\n" },
	{ "matrix_ref", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = [\"${params.x}\"]\n  }\n}\n",
	  "4:12: error: matrix values cannot contain ${...} references\n" },
	{ "matrix_dup_axis", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    lr = [1]\n    lr = [2]\n  }\n}\n",
	  "5:5: error: duplicate matrix axis 'lr'\n"
	  "4:5: note: first set here\n" },
	{ "matrix_key", "stage \"a\" {\n  run = \"x\"\n  matrix {\n    learning-rate = [1]\n  }\n}\n",
	  "4:5: error: invalid matrix axis name 'learning-rate': use letters, digits and '_'\n" },
	{ "params_list", "pipeline \"p\" {\n  params {\n    x = [1]\n  }\n}\n",
	  "3:9: error: param 'x' expects a string, number or boolean, found a list\n" },
	{ "params_ref", "pipeline \"p\" {\n  params {\n    x = \"${env.HOME}\"\n  }\n}\n",
	  "3:10: error: param 'x' cannot contain ${...} references\n" },
	{ "params_dup", "pipeline \"p\" {\n  params {\n    x = 1\n    x = 2\n  }\n}\n",
	  "4:5: error: duplicate param 'x'\n"
	  "3:5: note: first set here\n" },
	{ "env_key", "stage \"a\" {\n  run = \"x\"\n  env {\n    MY-VAR = \"1\"\n    9X = \"2\"\n  }\n}\n",
	  "4:5: error: invalid environment variable name 'MY-VAR': use letters, digits and '_'\n"
	  "5:5: error: invalid number '9X'\n" },
	{ "env_list", "stage \"a\" {\n  run = \"x\"\n  env {\n    A = [\"1\"]\n  }\n}\n",
	  "4:9: error: environment variable 'A' expects a string, number or boolean, found a list\n" },
	{ "env_dup", "stage \"a\" {\n  run = \"x\"\n  env {\n    A = \"1\"\n    A = \"2\"\n  }\n}\n",
	  "5:5: error: duplicate environment variable 'A'\n"
	  "4:5: note: first set here\n" },
	{ "brace_next_line", "stage \"a\"\n{\n  run = \"x\"\n}\n",
	  "2:1: error: '{' must be on the same line as stage \"a\"\n" },
	{ "brace_next_line_unlabeled", "stage \"a\" {\n  run = \"x\"\n  env\n  {\n    A = \"1\"\n  }\n}\n",
	  "4:3: error: '{' must be on the same line as 'env'\n" },
	{ "schedule_byte", "pipeline \"p\" {\n  schedule = \"0 3 * * \xc3\xa9" "\"\n}\n",
	  "2:23: error: invalid byte 0xc3 in schedule field 5 (day-of-week)\n" },
	{ "name_too_long", "stage \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" {\n  run = \"x\"\n}\n",
	  "1:7: error: the name of a stage is longer than 128 bytes\n" },
	{ "unterminated_crlf", "stage \"a\" {\r\n  run = \"x\r\n}\r\n",
	  "2:9: error: unterminated string\n" },
	/* foreach (issue 17) */
	{ "foreach_dup", "stage \"a\" {\n  run = \"x\"\n  foreach = [\"us\", 1, \"us\"]\n}\n",
	  "3:23: error: duplicate foreach element \"us\"\n"
	  "3:14: note: first listed here\n" },
	{ "foreach_bad_key", "stage \"a\" {\n  run = \"x\"\n  foreach = [\"a b\", [1]]\n}\n",
	  "3:14: error: foreach element \"a b\" cannot name an instance: use letters, digits, '_', '-' and '.', starting with a letter, digit or '_' (at most 64)\n"
	  "3:21: error: foreach elements must be strings, numbers or booleans, found a list\n" },
	{ "foreach_ref", "stage \"a\" {\n  run = \"x\"\n  foreach = [\"${params.x}\"]\n}\n",
	  "3:15: error: foreach elements cannot contain ${...} references\n" },
	{ "foreach_empty", "stage \"a\" {\n  run = \"x\"\n  foreach = []\n}\n",
	  "3:13: error: foreach = [] has no elements\n" },
	{ "foreach_not_list", "stage \"a\" {\n  run = \"x\"\n  foreach = \"us\"\n}\n",
	  "3:13: error: attribute 'foreach' expects a list of values, found a string\n" },
	{ "foreach_twice", "stage \"a\" {\n  run = \"x\"\n  foreach {\n    instance \"us\" { r = 1 }\n  }\n"
	  "  foreach = [\"eu\"]\n}\n",
	  "6:13: error: foreach is written twice (a block and a list)\n" },
	{ "foreach_block_empty", "stage \"a\" {\n  run = \"x\"\n  foreach {\n  }\n}\n",
	  "3:3: error: foreach { } holds no instance \"NAME\" { ... } block\n" },
	{ "foreach_instance_dup", "stage \"a\" {\n  run = \"x\"\n  foreach {\n    instance \"us\" { r = 1 }\n"
	  "    instance \"us\" { r = 2 }\n  }\n}\n",
	  "5:5: error: duplicate instance \"us\" in foreach\n"
	  "4:5: note: first defined here\n" },
	{ "foreach_field_ref", "stage \"a\" {\n  run = \"x\"\n  foreach {\n    instance \"us\" { r = \"${run.id}\" }\n  }\n}\n",
	  "4:26: error: foreach field 'r' cannot contain ${...} references\n" },
	{ "instance_outside", "stage \"a\" {\n  run = \"x\"\n  instance \"us\" { r = 1 }\n}\n",
	  "3:3: error: block 'instance' is not allowed in stage \"a\"; it goes inside foreach\n" },
};

/* foreach in both forms, dir, persist, uncached and frozen reach the model. */
START_TEST(test_language_17)
{
	nf_dag *dag = parse_ok(
		"stage \"a\" {\n"
		"  foreach  = [\"us\", 2, true]\n"
		"  run      = \"x ${item}\"\n"
		"  dir      = \"sub/${key}\"\n"
		"  outputs  = [\"o/${key}\", \"s/\"]\n"
		"  persist  = [\"s/\"]\n"
		"  uncached = [\"o/${key}\"]\n"
		"  frozen   = true\n"
		"}\n"
		"stage \"b\" {\n"
		"  foreach {\n"
		"    instance \"us\" {\n"
		"      region = \"us\"\n"
		"      rows   = 100\n"
		"    }\n"
		"    instance \"eu\" { region = \"eu\" }\n"
		"  }\n"
		"  run = \"y\"\n"
		"}\n");
	const nf_stage *a = &dag->stages[0], *b = &dag->stages[1];

	ck_assert_uint_eq(nf_more(a)->nforeach, 3);
	ck_assert(!nf_more(a)->foreach_named);
	ck_assert_str_eq(nf_more(a)->foreach[0].key, "us");
	ck_assert_str_eq(nf_more(a)->foreach[1].key, "2");
	ck_assert_str_eq(nf_more(a)->foreach[2].key, "true");
	ck_assert_int_eq(nf_more(a)->foreach[1].value.kind, NF_V_NUMBER);
	ck_tmpl(nf_more(a)->dir, "sub/${key}");
	ck_assert_uint_eq(nf_more(a)->npersist, 1);
	ck_tmpl(&nf_more(a)->persist[0], "s/");
	ck_assert_uint_eq(nf_more(a)->nuncached, 1);
	ck_assert(a->frozen);
	ck_assert(nf_stage_output_in(a, 1, nf_more(a)->persist, nf_more(a)->npersist));
	ck_assert(!nf_stage_output_in(a, 0, nf_more(a)->persist, nf_more(a)->npersist));
	ck_assert(nf_stage_output_in(a, 0, nf_more(a)->uncached, nf_more(a)->nuncached));
	ck_assert_uint_eq(nf_more(b)->nforeach, 2);
	ck_assert(nf_more(b)->foreach_named);
	ck_assert_str_eq(nf_more(b)->foreach[0].key, "us");
	ck_assert_uint_eq(nf_more(b)->foreach[0].nfields, 2);
	ck_assert_str_eq(nf_more(b)->foreach[0].fields[1].key, "rows");
	ck_assert_str_eq(nf_more(b)->foreach[0].fields[1].value.num_text, "100");
	ck_assert_str_eq(nf_more(b)->foreach[1].key, "eu");
	ck_assert(!b->frozen && !nf_more(b)->dir && !nf_more(b)->npersist);
	nf_dag_free(dag);
}
END_TEST

/* What durations mean; the refused forms are in the message table above. */
START_TEST(test_duration_values)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "10m", 600000 }, { "2h", 7200000 }, { "1d", 86400000 },
		{ "1h30m", 5400000 }, { "1.5s", 1500 }, { ".5s", 500 }, { "0s", 0 }, { "010s", 10000 },
	};
	static const char *const bad[] = { "0x10s", "0X10s", "1e3s", "inf", "infs", "nans", "-1s", "+1s", " 1s",
					   "1 s", "1,5s", "s", "", "1", "1.2.3s", "1sx", "0x1p3s" };
	int64_t ms;

	for (size_t i = 0; i < NF_ARRAY_SIZE(ok); i++) {
		ck_assert_msg(nf_parse_duration(&ms, ok[i].text) == 0, "%s: %s", ok[i].text, nf_error_last());
		ck_assert_msg(ms == ok[i].ms, "%s: %lld ms", ok[i].text, (long long)ms);
	}
	for (size_t i = 0; i < NF_ARRAY_SIZE(bad); i++)
		ck_assert_msg(nf_parse_duration(&ms, bad[i]) == NF_EINVALID, "\"%s\" was accepted (%lld ms)", bad[i],
			      (long long)ms);
}
END_TEST

START_TEST(test_messages)
{
	char *got = parse(messages[_i].src, strlen(messages[_i].src), NULL);

	ck_assert_msg(strcmp(got, messages[_i].expect) == 0, "%s:\n--- expected\n%s--- got\n%s",
		      messages[_i].name, messages[_i].expect, got);
	free(got);
}
END_TEST

START_TEST(test_partial_model)
{
	/* Errors leave a model of what did parse, so that later checks can still run. */
	nf_dag *dag;
	static const char src[] = "stage \"a\" {\n  run = \"x\"\n  retries = \"2\"\n}\nstage \"b\" {\n  run = 1\n}\n";
	char *msgs = parse(src, sizeof(src) - 1, &dag);

	ck_assert_str_eq(msgs, "3:13: error: attribute 'retries' expects an integer, found a string\n"
			       "6:9: error: attribute 'run' expects a string or a list of strings, found a number\n");
	ck_assert_uint_eq(dag->nstages, 2);
	ck_assert_str_eq(nf_tmpl_literal(dag->stages[0].run), "x");
	ck_assert_ptr_null(dag->stages[1].run);
	ck_assert_ptr_eq(nf_dag_find_stage(dag, "b"), &dag->stages[1]);
	free(msgs);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_one_pass)
{
	static const char src[] =
		"pipeline \"p\" {\n"
		"  schedul = \"@weekly\"\n"
		"  concurrency = \"2\"\n"
		"}\n"
		"stage \"ingest\" {\n"
		"  run = \"gen --out data.csv\n"
		"  outputs = [\"data.csv\"]\n"
		"}\n"
		"stagee \"x\" {\n"
		"  run = \"y\" \"z\"\n"
		"}\n"
		"stage \"train\" {\n"
		"  needs   = [\"ingest\"\n"
		"  run     = \"train\"\n"
		"  timeout = \"10x\"\n"
		"  retries = 2\n"
		"  retries = 3\n"
		"}\n"
		"gate \"promote\" {\n"
		"  require = [\"auc >=\"]\n"
		"}\n";
	char *got = parse(src, sizeof(src) - 1, NULL);

	ck_assert_str_eq(got,
			 "2:3: error: unknown attribute 'schedul' in pipeline \"p\"; did you mean 'schedule'?\n"
			 "3:17: error: attribute 'concurrency' expects an integer, found a string\n"
			 "6:9: error: unterminated string\n"
			 "9:1: error: unknown block kind 'stagee'; did you mean 'stage'?\n"
			 "10:13: error: expected the end of the line after 'run = ...' (one attribute per line), found a string\n"
			 "14:3: error: expected ']' to close the list, found 'run'\n"
			 "13:13: note: the list starts here\n"
			 "15:13: error: invalid duration \"10x\": expected a number followed by ms, s, m, h or d\n"
			 "17:3: error: duplicate attribute 'retries'\n"
			 "16:3: note: first set here\n"
			 "20:21: error: gate expression: expected a number, a metric name or '('\n");
	free(got);
}
END_TEST

START_TEST(test_too_many_errors)
{
	nf_buf src = NF_BUF_INIT;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;

	for (int i = 0; i < 200; i++)
		nf_buf_printf(&src, "stage \"s%d\" {\n  run = 1\n}\n", i);
	ck_assert_int_eq(nf_dag_parse(&dag, "t.dag", src.buf, src.len, &diags), NF_EINVALID);
	ck_assert(diags.full);
	ck_assert_uint_eq(diags.nerrors, NF_DIAG_MAX_ERRORS);
	ck_assert_str_eq(diags.items[diags.n - 1].msg, "too many errors (50); giving up on this file");
	ck_assert_ptr_nonnull(dag);
	nf_diag_list_release(&diags);
	nf_dag_free(dag);
	nf_buf_release(&src);
}
END_TEST

/* A file of n copies of unit between head and tail. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail, size_t *len)
{
	nf_buf b = NF_BUF_INIT;

	nf_buf_puts(&b, head);
	for (size_t i = 0; i < n; i++)
		nf_buf_puts(&b, unit);
	nf_buf_puts(&b, tail);
	*len = b.len;
	return nf_buf_detach(&b);
}

#define ck_parse_msgs(src, len, expect) do { \
	char *got_ = parse(src, len, NULL); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

/* A list of more items than NF_DAG_MAX_LIST_ITEMS is an error at its '[' (a 60 MB file of
 * one list took 4 GB to check); what follows it is read on. */
START_TEST(test_list_too_long)
{
	size_t len;
	char *src = repeat("stage \"a\" {\n  run = \"x\"\n  retry_on = [", "1, ", NF_DAG_MAX_LIST_ITEMS + 1,
			   "1]\n}\nstage \"b\" { run = [] }\n", &len);

	ck_parse_msgs(src, len, "3:14: error: a list of more than 1048576 items (those of the lists in it counted)\n"
				"5:19: error: run = [] has no words: the first is the program to run\n");
	free(src);
	/* lists inside it count: they are kept whole */
	{
		nf_buf b = NF_BUF_INIT;

		nf_buf_puts(&b, "stage \"a\" {\n  run = \"x\"\n  retry_on = [");
		for (int k = 0; k < 3; k++) {
			nf_buf_puts(&b, "[");
			for (int i = 0; i < NF_DAG_MAX_LIST_ITEMS / 2; i++)
				nf_buf_puts(&b, "1, ");
			nf_buf_puts(&b, "1], ");
		}
		nf_buf_puts(&b, "1]\n}\n");
		len = b.len;
		src = nf_buf_detach(&b);
	}
	ck_parse_msgs(src, len, "3:14: error: a list of more than 1048576 items (those of the lists in it counted)\n");
	free(src);
	src = repeat("stage \"a\" {\n  run = \"x\"\n  retry_on = [", "1, ", NF_DAG_MAX_LIST_ITEMS - 1, "1]\n}\n", &len);
	ck_parse_msgs(src, len, "");   /* exactly the limit */
	free(src);
}
END_TEST

START_TEST(test_deep_nesting)
{
	size_t len;
	char *src;

	src = repeat("stage \"a\" {\n  run = \"x\"\n  needs = ", "[", 10000, "", &len);
	ck_parse_msgs(src, len, "3:74: error: nesting too deep: more than 64 levels of blocks and lists\n");
	free(src);
	{
		nf_buf b = NF_BUF_INIT;

		nf_buf_puts(&b, "stage \"a\" {\n  run = \"x\"\n  needs = ");
		for (int i = 0; i < 10000; i++)
			nf_buf_putc(&b, '[');
		for (int i = 0; i < 10000; i++)
			nf_buf_putc(&b, ']');
		nf_buf_puts(&b, "\n}\nstage \"b\" { run = [] }\n");
		len = b.len;
		src = nf_buf_detach(&b);
	}
	ck_parse_msgs(src, len, "3:74: error: nesting too deep: more than 64 levels of blocks and lists\n"
				    "5:19: error: run = [] has no words: the first is the program to run\n");
	free(src);
	src = repeat("stage \"a\" {\n  run = \"x\"\n", "y {\n", 10000, "", &len);
	ck_parse_msgs(src, len, "3:1: error: unknown block 'y' in stage \"a\"\n"
				"66:3: error: nesting too deep: more than 64 levels of blocks and lists\n");
	free(src);
	src = repeat("", "{", 10000, "", &len);
	ck_parse_msgs(src, len, "1:1: error: expected a block (pipeline, stage, gate, model or monitor), found '{'\n");
	free(src);
	src = repeat("", "}", 10000, "", &len);
	{
		char *got = parse(src, len, NULL);

		ck_assert(strncmp(got, "1:1: error: unexpected '}': no block is open\n", 45) == 0);
		free(got);
	}
	free(src);
}
END_TEST

START_TEST(test_long_string)
{
	size_t len;
	char *src = repeat("stage \"a\" {\n  run = \"", "0123456789abcdef", 1 << 16, "\"\n}\n", &len);
	nf_dag *dag;
	char *msgs = parse(src, len, &dag);

	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(strlen(nf_tmpl_literal(dag->stages[0].run)), 1u << 20);
	free(msgs);
	nf_dag_free(dag);
	free(src);
}
END_TEST

START_TEST(test_binary)
{
	static const char nul[] = "stage \"a\" {\n  run = \"x\"\n}\n\0\x01\x02";
	static const char bad[] = "stage \"a\" {\n  run = \"x\xff\"\n}\n";
	size_t n = 1 << 20;
	char *garbage = xmalloc(n);
	unsigned x = 12345;

	ck_parse_msgs(nul, sizeof(nul) - 1, "4:1: error: file contains a NUL byte\n");
	ck_parse_msgs(bad, sizeof(bad) - 1, "2:11: error: invalid UTF-8 byte 0xff\n");
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		garbage[i] = (char)((x >> 16) | 1);   /* no NUL: every byte is lexed */
	}
	{
		nf_diag_list diags = NF_DIAG_LIST_INIT;
		nf_dag *dag = NULL;

		ck_assert_int_eq(nf_dag_parse(&dag, "t.dag", garbage, n, &diags), NF_EINVALID);
		ck_assert_uint_le(diags.nerrors, NF_DIAG_MAX_ERRORS);
		ck_assert_uint_ge(diags.nerrors, 1);
		nf_diag_list_release(&diags);
		nf_dag_free(dag);
	}
	free(garbage);
}
END_TEST

START_TEST(test_too_large)
{
	/* The size is checked before a byte is read. */
	static const char small[] = "x";

	ck_parse_msgs(small, (size_t)NF_DAG_MAX_FILE_SIZE + 1,
		      "0:0: error: file too large (67108865 bytes; the limit is 64 MiB)\n");
}
END_TEST

START_TEST(test_many_stages)
{
	/* Layered, three parents each: stage lookups stay O(1) and the array is sized once. */
	nf_buf src = NF_BUF_INIT;
	nf_dag *dag;
	char *msgs;
	const size_t n = 20000;

	for (size_t i = 0; i < n; i++) {
		nf_buf_printf(&src, "stage \"s%zu\" {\n", i);
		if (i >= 100)
			nf_buf_printf(&src, "  needs = [\"s%zu\", \"s%zu\", \"s%zu\"]\n", i - 100, i - 99, i - 98);
		nf_buf_printf(&src, "  run   = \"true\"\n}\n\n");
	}
	nf_buf_puts(&src, "gate \"g\" { require = [\"a > 1\"] }\nmonitor \"m\" { run = \"x\" }\n");
	msgs = parse(src.buf, src.len, &dag);
	ck_assert_str_eq(msgs, "");
	ck_assert_uint_eq(dag->nstages, n + 2);
	for (size_t i = 0; i < dag->nstages; i++)
		ck_assert_ptr_eq(nf_dag_find_stage(dag, dag->stages[i].name), &dag->stages[i]);
	ck_assert_uint_eq(dag->stages[n - 1].nneeds, 3);
	free(msgs);
	nf_dag_free(dag);
	nf_buf_release(&src);
}
END_TEST

START_TEST(test_more_stages_than_counted)
{
	/* Stage blocks that do not start a line (after an error) outgrow the counted array. */
	nf_buf src = NF_BUF_INIT;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;

	for (int i = 0; i < 30; i++)
		nf_buf_printf(&src, "x stage \"s%d\" { run = \"x\" }\n", i);
	nf_buf_puts(&src, "stage \"last\" { run = \"x\" }\n");
	nf_dag_parse(&dag, "t.dag", src.buf, src.len, &diags);
	ck_assert_ptr_nonnull(dag);
	for (size_t i = 0; i < dag->nstages; i++)
		ck_assert_ptr_eq(nf_dag_find_stage(dag, dag->stages[i].name), &dag->stages[i]);
	nf_diag_list_release(&diags);
	nf_dag_free(dag);
	nf_buf_release(&src);
}
END_TEST

START_TEST(test_matrix_limit)
{
	nf_buf src = NF_BUF_INIT;
	char *got;

	nf_buf_puts(&src, "stage \"a\" {\n  run = \"x\"\n  matrix {\n    n = [");
	for (int i = 0; i < 1001; i++)
		nf_buf_printf(&src, "%d, ", i);
	nf_buf_puts(&src, "]\n  }\n}\n");
	got = parse(src.buf, src.len, NULL);
	ck_assert_str_eq(got, "4:9: error: matrix axis 'n' has 1001 values; at most 1000 are allowed\n");
	free(got);
	nf_buf_release(&src);
}
END_TEST

/* Run options are held once for every stage that writes none (issue 15, memory per node):
 * those stages share one struct with the defaults merged in and no bit of their own set; a
 * stage that writes one gets its own, merged, and a slurm block alone makes it its own too.
 * A needs entry naming a stage already read shares that stage's name string. */
START_TEST(test_shared_options)
{
	nf_dag *dag = parse_ok("pipeline \"p\" {\n  defaults {\n    retries = 2\n    secret_env = [\"TOKEN\"]\n  }\n}\n"
			       "stage \"a\" { run = \"true\" }\n"
			       "stage \"b\" {\n  needs = [\"a\"]\n  run = \"true\"\n}\n"
			       "stage \"c\" {\n  needs = [\"a\", \"b\", \"later\"]\n  run = \"true\"\n  cpus = 3\n}\n"
			       "gate \"g\" {\n  needs = [\"c\"]\n  require = [\"x > 1\"]\n}\n"
			       "stage \"later\" { run = \"true\" }\n");
	const nf_stage *a = &dag->stages[0], *b = &dag->stages[1], *c = &dag->stages[2], *g = &dag->stages[3];

	ck_assert_ptr_nonnull(a->opts);
	ck_assert_ptr_eq(a->opts, b->opts);
	ck_assert_ptr_eq(a->opts, g->opts);
	ck_assert_ptr_ne(a->opts, &dag->pipeline.defaults);
	ck_assert_uint_eq(a->opts->set, 0);
	ck_assert_int_eq(a->opts->retries, 2);
	ck_assert_int_eq(a->opts->cpus, 1);
	ck_assert_int_eq(a->opts->grace_ms, 10000);
	ck_assert_str_eq(a->opts->executor, "local");
	ck_assert_uint_eq(a->opts->nsecret_env, 1);
	ck_assert(nf_dag_is_secret(dag, "TOKEN"));

	ck_assert_ptr_ne(c->opts, a->opts);
	ck_assert_uint_eq(c->opts->set, NF_OPT_CPUS);
	ck_assert_int_eq(c->opts->cpus, 3);
	ck_assert_int_eq(c->opts->retries, 2);
	ck_assert_uint_eq(c->opts->nsecret_env, 1);

	ck_assert_ptr_eq(b->needs[0].name, a->name);
	ck_assert_ptr_eq(c->needs[0].name, a->name);
	ck_assert_ptr_eq(c->needs[1].name, b->name);
	ck_assert_str_eq(c->needs[2].name, "later");   /* not read yet: its own copy */
	ck_assert_int_eq(c->needs[1].loc.line, 13);
	nf_dag_free(dag);

	dag = parse_ok("stage \"s\" {\n  run = \"true\"\n  slurm {\n    partition = \"gpu\"\n  }\n}\n"
		       "stage \"t\" { run = \"true\" }\n");
	ck_assert_ptr_ne(dag->stages[0].opts, dag->stages[1].opts);
	ck_assert(dag->stages[0].opts->slurm.present);
	ck_assert_str_eq(dag->stages[0].opts->slurm.partition, "gpu");
	ck_assert(!dag->stages[1].opts->slurm.present);
	nf_dag_free(dag);
}
END_TEST

START_TEST(test_accessors)
{
	nf_tmpl empty = { NULL, 0, { 0, 0, 0 } };
	nf_dag *dag;

	ck_assert_str_eq(nf_tmpl_literal(&empty), "");
	ck_assert_str_eq(nf_stage_kind_name(NF_STAGE), "stage");
	ck_assert_str_eq(nf_stage_kind_name(NF_GATE), "gate");
	ck_assert_str_eq(nf_stage_kind_name(NF_MONITOR), "monitor");
	ck_assert_str_eq(nf_severity_name(NF_SEV_NONE), "none");
	ck_assert_str_eq(nf_severity_name(NF_SEV_LOW), "low");
	ck_assert_str_eq(nf_severity_name(NF_SEV_MEDIUM), "medium");
	ck_assert_str_eq(nf_severity_name(NF_SEV_HIGH), "high");
	ck_assert_ptr_null(nf_dag_find_stage(NULL, "x"));
	nf_dag_free(NULL);
	dag = parse_ok("stage \"a\" { run = \"\" }\n");
	ck_assert_str_eq(nf_tmpl_literal(dag->stages[0].run), "");
	nf_dag_free(dag);
	{
		nf_diag_list diags = NF_DIAG_LIST_INIT;

		ck_assert_int_eq(nf_dag_parse(&dag, "dags/sub/p.dag", "", 0, &diags), 0);
		ck_assert_str_eq(dag->dir, "dags/sub");
		nf_dag_free(dag);
		ck_assert_int_eq(nf_dag_parse(&dag, "/p.dag", "", 0, &diags), 0);
		ck_assert_str_eq(dag->dir, "/");
		nf_dag_free(dag);
	}
}
END_TEST

/* The man page names every block kind and attribute of the schema, and the schema is
 * consistent: defaults for optional values, choices for enums. */
START_TEST(test_schema_and_man_page)
{
	const char *srcdir = getenv("NTFLOW_SRC_DIR");
	char *path, *man = NULL;
	size_t len;

	for (int k = 0; k < NF_BK_COUNT; k++) {
		const nf_block_spec *b = nf_schema_block((nf_block_id)k);

		ck_assert_int_eq(b->id, k);
		ck_assert_ptr_eq(nf_schema_find_block(b->kind, strlen(b->kind)), b);
		ck_assert_uint_le(b->nattrs, NF_SCHEMA_MAX_ATTRS);
		for (size_t i = 0; i < b->nattrs; i++) {
			size_t idx;

			ck_assert_ptr_eq(nf_schema_find_attr(b, b->attrs[i].name, strlen(b->attrs[i].name), &idx),
					 &b->attrs[i]);
			ck_assert_uint_eq(idx, i);
			ck_assert_ptr_nonnull(b->attrs[i].doc);
			if (b->attrs[i].type == NF_AT_ENUM)
				ck_assert_ptr_nonnull(b->attrs[i].choices);
		}
	}
	if (!srcdir) {
		fprintf(stderr, "check_parse: NTFLOW_SRC_DIR unset; man page not compared\n");
		return;
	}
	path = xasprintf("%s/man/ntflow-dag.5", srcdir);
	ck_assert_int_eq(nf_read_file(&man, &len, path, 0), 0);
	for (int k = 0; k < NF_BK_COUNT; k++) {
		const nf_block_spec *b = nf_schema_block((nf_block_id)k);
		char *want = xasprintf(".SS %s\n", b->kind);

		ck_assert_msg(strstr(man, want), "man page lacks \"%s\"", want);
		free(want);
		for (size_t i = 0; i < b->nattrs; i++) {
			/* Each attribute is an item: .TP then \fBname\fR in its block's section; the run
			 * options of stage and monitor are described once, under defaults. */
			const nf_block_spec *defaults = nf_schema_block(NF_BK_DEFAULTS);
			const char *const *name = &b->attrs[i].name;
			size_t idx;
			bool run_option = b->id != NF_BK_SLURM &&
				nf_schema_find_attr(defaults, *name, strlen(*name), &idx) != NULL;
			char *head = xasprintf(".SS %s\n", run_option ? "defaults" : b->kind);
			const char *sec = strstr(man, head);
			const char *next = sec ? strstr(sec + 4, "\n.SS ") : NULL;
			char *item = xasprintf(".TP\n\\fB%s\\fR", b->attrs[i].name);
			const char *at = sec ? strstr(sec, item) : NULL;

			ck_assert_msg(at && (!next || at < next), "man page section %s lacks attribute %s",
				      b->kind, b->attrs[i].name);
			free(item);
			free(head);
		}
	}
	free(man);
	free(path);
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_retrain_pipeline);
	tcase_add_test(tc, test_retrain_stages);
	tcase_add_test(tc, test_run_list);
	tcase_add_test(tc, test_builtin_defaults);
	tcase_add_test(tc, test_run_options);
	tcase_add_test(tc, test_secret_env);
	tcase_add_test(tc, test_syntax_forms);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_duration_values);
	tcase_add_test(tc, test_language_17);
	tcase_add_test(tc, test_empty_first_list);
	tcase_add_loop_test(tc, test_messages, 0, NF_ARRAY_SIZE(messages));
	tcase_add_test(tc, test_partial_model);
	tcase_add_test(tc, test_one_pass);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_list_too_long);
	tcase_add_test(tc, test_long_string);
	tcase_add_test(tc, test_binary);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_many_stages);
	tcase_add_test(tc, test_more_stages_than_counted);
	tcase_add_test(tc, test_matrix_limit);
	tcase_add_test(tc, test_accessors);
	tcase_add_test(tc, test_shared_options);
	tcase_add_test(tc, test_schema_and_man_page);
	tcase_add_test(tc, test_tolerance_quoted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
