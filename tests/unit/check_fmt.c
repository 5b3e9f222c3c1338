/* check_fmt.c: unit tests of nf_dag_format: each layout rule on a small input with its exact
 * output, idempotence (fmt(fmt(x)) == fmt(x)) and meaning (parse(fmt(x)) equals parse(x),
 * compared through a dump of the model), comments kept, syntax errors refused. */
#include "config.h"
#include "ntflow/dag.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a dump of the model, locations left out ---- */

static void
dump_tmpl(nf_buf *b, const nf_tmpl *t)
{
	if (!t) {
		nf_buf_puts(b, "(none)");
		return;
	}
	nf_buf_putc(b, '<');
	for (size_t i = 0; i < t->nsegs; i++)
		nf_buf_printf(b, t->segs[i].is_ref ? "{%s}" : "%s", t->segs[i].text);
	nf_buf_putc(b, '>');
}

static void
dump_value(nf_buf *b, const nf_value *v)
{
	switch (v->kind) {
	case NF_V_STRING:
		dump_tmpl(b, &v->str);
		break;
	case NF_V_NUMBER:
		nf_buf_printf(b, "%s=%.17g", v->num_text, v->num);
		break;
	case NF_V_BOOL:
		nf_buf_puts(b, v->boolean ? "true" : "false");
		break;
	case NF_V_LIST:
		nf_buf_putc(b, '[');
		for (size_t i = 0; i < v->nitems; i++) {
			dump_value(b, &v->items[i]);
			nf_buf_putc(b, ',');
		}
		nf_buf_putc(b, ']');
		break;
	}
}

static void
dump_kvs(nf_buf *b, const char *what, const nf_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		nf_buf_printf(b, " %s %s=", what, kv[i].key);
		dump_value(b, &kv[i].value);
	}
}

static void
dump_opts(nf_buf *b, const nf_run_opts *o)
{
	nf_buf_printf(b, " opts set=%x retries=%d backoff=%lld max=%lld timeout=%lld grace=%lld cpus=%d cache=%d exec=%s",
		      o->set, o->retries, (long long)o->backoff_ms, (long long)o->backoff_max_ms,
		      (long long)o->timeout_ms, (long long)o->grace_ms, o->cpus, o->cache, o->executor);
	for (size_t i = 0; i < o->nretry_on; i++)
		nf_buf_printf(b, " on=%d", o->retry_on[i]);
	if (o->slurm.present)
		nf_buf_printf(b, " slurm=%s/%s/%s/%s/%s/%s/%d", o->slurm.partition ? o->slurm.partition : "-",
			      o->slurm.time ? o->slurm.time : "-", o->slurm.mem ? o->slurm.mem : "-",
			      o->slurm.gres ? o->slurm.gres : "-", o->slurm.account ? o->slurm.account : "-",
			      o->slurm.qos ? o->slurm.qos : "-", o->slurm.cpus);
}

static char *
dump(const nf_dag *dag)
{
	const nf_pipeline *pl = &dag->pipeline;
	nf_buf b = NF_BUF_INIT;

	nf_buf_printf(&b, "pipeline %d %s desc=%s sched=%s catchup=%d conc=%d models=%s\n", dag->has_pipeline,
		      pl->name ? pl->name : "-", pl->description ? pl->description : "-",
		      pl->schedule ? pl->schedule : "-", pl->catchup, pl->concurrency, pl->models_dir);
	for (size_t i = 0; i < pl->npath; i++)
		dump_tmpl(&b, &pl->path[i]);
	dump_kvs(&b, "param", pl->params, pl->nparams);
	dump_kvs(&b, "env", pl->env, pl->nenv);
	dump_opts(&b, &pl->defaults);
	nf_buf_putc(&b, '\n');
	for (size_t i = 0; i < dag->nstages; i++) {
		const nf_stage *s = &dag->stages[i];

		nf_buf_printf(&b, "%s %s desc=%s run=", nf_stage_kind_name(s->kind), s->name,
			      nf_more(s)->description ? nf_more(s)->description : "-");
		dump_tmpl(&b, s->run);
		for (size_t k = 0; k < s->nneeds; k++)
			nf_buf_printf(&b, " needs=%s", s->needs[k].name);
		for (size_t k = 0; k < s->ninputs; k++) {
			nf_buf_puts(&b, " in=");
			dump_tmpl(&b, &s->inputs[k]);
		}
		for (size_t k = 0; k < s->noutputs; k++) {
			nf_buf_puts(&b, " out=");
			dump_tmpl(&b, &s->outputs[k]);
		}
		nf_buf_puts(&b, " metrics=");
		dump_tmpl(&b, nf_more(s)->metrics);
		for (size_t k = 0; k < nf_more(s)->nmatrix; k++) {
			nf_buf_printf(&b, " axis %s=", nf_more(s)->matrix[k].name);
			for (size_t j = 0; j < nf_more(s)->matrix[k].nvalues; j++)
				dump_value(&b, &nf_more(s)->matrix[k].values[j]);
		}
		nf_buf_printf(&b, " select=%d/%s", nf_more(s)->select.kind, nf_more(s)->select.metric ? nf_more(s)->select.metric : "-");
		dump_kvs(&b, "env", nf_more(s)->env, nf_more(s)->nenv);
		dump_opts(&b, s->opts);
		for (size_t k = 0; k < nf_more(s)->nrequire; k++)
			nf_buf_printf(&b, " require=%s", nf_more(s)->require[k].text);
		for (size_t k = 0; k < nf_more(s)->nalerts; k++)
			nf_buf_printf(&b, " alert %s when=%s sev=%s", nf_more(s)->alerts[k].name, nf_more(s)->alerts[k].when.text,
				      nf_severity_name(nf_more(s)->alerts[k].severity));
		nf_buf_printf(&b, " on_alert=%s fail_on=%s\n", nf_severity_name(nf_more(s)->on_alert),
			      nf_severity_name(nf_more(s)->fail_on));
	}
	for (size_t i = 0; i < dag->nmodels; i++) {
		const nf_model_decl *m = &dag->models[i];

		nf_buf_printf(&b, "model %s desc=%s art=", m->name, m->description ? m->description : "-");
		dump_tmpl(&b, m->artifact);
		nf_buf_puts(&b, " metrics=");
		dump_tmpl(&b, m->metrics);
		nf_buf_printf(&b, " gate=%s\n", m->gate.name ? m->gate.name : "-");
	}
	return nf_buf_detach(&b);
}

/* ---- helpers ---- */

/* Formats src, which must parse; returns the text. */
static char *
fmt(const char *src, size_t len)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_buf out = NF_BUF_INIT;
	int err = nf_dag_format(&out, "t.dag", src, len, &diags);

	ck_assert_msg(err == 0, "fmt failed: %s", diags.n ? diags.items[0].msg : "?");
	ck_assert_uint_eq(diags.n, 0);
	nf_diag_list_release(&diags);
	if (!out.buf)
		nf_buf_puts(&out, "");
	return nf_buf_detach(&out);
}

/* The model dump of src, or NULL when it does not parse cleanly. */
static char *
model_of(const char *src, size_t len)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char *text = NULL;

	if (nf_dag_parse(&dag, "t.dag", src, len, &diags) == 0)
		text = dump(dag);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	return text;
}

/* fmt(src) == expect, fmt(expect) == expect, and the model is unchanged. */
static void
check_layout(const char *src, const char *expect)
{
	char *once = fmt(src, strlen(src));
	char *twice = fmt(once, strlen(once));
	char *m1 = model_of(src, strlen(src)), *m2 = model_of(once, strlen(once));

	ck_assert_str_eq(once, expect);
	ck_assert_str_eq(twice, once);
	ck_assert_msg((m1 == NULL) == (m2 == NULL), "fmt changed whether the file is valid");
	if (m1)
		ck_assert_str_eq(m1, m2);
	free(once);
	free(twice);
	free(m1);
	free(m2);
}

/* ---- the layout rules ---- */

static const struct {
	const char *name;
	const char *src;
	const char *expect;
} layouts[] = {
	{ "indent and spacing",
	  "stage \"a\"{\nrun=\"x\"\n      cache   =   false\n}\n",
	  "stage \"a\" {\n  run   = \"x\"\n  cache = false\n}\n" },
	{ "alignment runs",
	  "stage \"a\" {\n  needs = []\n  run = \"x\"\n\n  outputs = []\n  # c\n  metrics = \"m\"\n  cpus = 1\n"
	  "  env {\n    A = \"1\"\n    LONGER = \"2\"\n  }\n  inputs = []\n}\n",
	  "stage \"a\" {\n  needs = []\n  run   = \"x\"\n\n  outputs = []\n  # c\n  metrics = \"m\"\n  cpus    = 1\n"
	  "  env {\n    A      = \"1\"\n    LONGER = \"2\"\n  }\n  inputs = []\n}\n" },
	{ "a multi-line value ends a run",
	  "gate \"g\" {\n  needs = [\"a\"]\n  require = [\n\"x > 1\",\n]\n  description = \"d\"\n}\n",
	  "gate \"g\" {\n  needs   = [\"a\"]\n  require = [\n    \"x > 1\",\n  ]\n  description = \"d\"\n}\n" },
	{ "blank lines",
	  "\n\n# top\n\n\n\nstage \"a\" {\n\n\n  run = \"x\"\n\n\n\n  cache = false\n\n}\n\n\n\nstage \"b\" {\n  run = \"y\"\n}\n\n\n",
	  "# top\n\nstage \"a\" {\n  run = \"x\"\n\n  cache = false\n}\n\nstage \"b\" {\n  run = \"y\"\n}\n" },
	{ "one blank line between top-level blocks",
	  "pipeline \"p\" {}\nstage \"a\" { run = \"x\" }\n# about b\nstage \"b\" { run = \"y\" }\n",
	  "pipeline \"p\" {}\n\nstage \"a\" { run = \"x\" }\n\n# about b\nstage \"b\" { run = \"y\" }\n" },
	{ "empty blocks",
	  "pipeline \"p\" { }\nstage \"a\" {\n  run = \"x\"\n  env {\n\n  }\n}\n",
	  "pipeline \"p\" {}\n\nstage \"a\" {\n  run = \"x\"\n  env {}\n}\n" },
	{ "one-line blocks",
	  "stage \"a\" {   run=\"x\"   }\nstage \"b\" {\n  run = \"y\" }\nstage \"c\" { run = \"y\" } # c\n",
	  "stage \"a\" { run = \"x\" }\n\nstage \"b\" {\n  run = \"y\"\n}\n\nstage \"c\" { run = \"y\" }              # c\n" },
	{ "a one-line block too long for a line",
	  "stage \"a\" { run = \"0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123\" }\n",
	  "stage \"a\" {\n  run = \"0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123456789 0123\"\n}\n" },
	{ "lists",
	  "stage \"a\" {\n  run = \"x\"\n  needs = [ \"b\" , \"c\" , ]\n  outputs = [\n  ]\n  inputs = [\"i\",\n\"j\"]\n}\n",
	  "stage \"a\" {\n  run     = \"x\"\n  needs   = [\"b\", \"c\"]\n  outputs = []\n  inputs  = [\n    \"i\",\n    \"j\",\n  ]\n}\n" },
	{ "a list too long for a line",
	  "stage \"a\" {\n  run = \"x\"\n  outputs = [\"0123456789012345678901234567890123456789\", \"01234567890123456789012345678901234567890\"]\n}\n",
	  "stage \"a\" {\n  run     = \"x\"\n  outputs = [\n    \"0123456789012345678901234567890123456789\",\n"
	  "    \"01234567890123456789012345678901234567890\",\n  ]\n}\n" },
	{ "a list that just fits: 100 columns",
	  "stage \"a\" {\n  outputs = [\"0123456789012345678901234567890123456789\", \"0123456789012345678901234567890123456789\"]\n}\n",
	  "stage \"a\" {\n  outputs = [\"0123456789012345678901234567890123456789\", \"0123456789012345678901234567890123456789\"]\n}\n" },
	{ "nested lists",
	  "stage \"a\" {\n  x = [[1, 2], [\n3]]\n}\n",
	  "stage \"a\" {\n  x = [\n    [1, 2],\n    [\n      3,\n    ],\n  ]\n}\n" },
	{ "comments in lists",
	  "gate \"g\" {\n  require = [ # why\n    \"a > 1\", # one\n\n\n    # two\n    \"b > 1\"  # last\n  ]  # after\n}\n",
	  "gate \"g\" {\n  require = [                        # why\n    \"a > 1\",                         # one\n\n"
	  "    # two\n    \"b > 1\",                         # last\n  ]                                  # after\n}\n" },
	{ "comments",
	  "#!top   \n  # indented\nstage \"a\" {    # after brace\n     # inside\n  run = \"x\" #t\n  # before close\n}\n",
	  "#!top\n# indented\nstage \"a\" {                          # after brace\n  # inside\n  run = \"x\"                          #t\n"
	  "  # before close\n}\n" },
	{ "a comment after long code",
	  "stage \"a\" {\n  run = \"a command long enough to pass the comment column\" # c\n}\n",
	  "stage \"a\" {\n  run = \"a command long enough to pass the comment column\"  # c\n}\n" },
	{ "strings",
	  "stage \"a\" {\n  run = \"tab\there \\$x \\${y} $${z} ${params.p} \\\\ \\\"q\\\" \\r\\n caf\xc3\xa9\"\n}\n",
	  "stage \"a\" {\n  run = \"tab\\there $x $${y} $${z} ${params.p} \\\\ \\\"q\\\" \\r\\n caf\xc3\xa9\"\n}\n" },
	{ "a dollar before a reference",
	  "stage \"a\" {\n  run = \"\\$${params.p}\"\n}\n",
	  "stage \"a\" {\n  run = \"\\$${params.p}\"\n}\n" },
	{ "numbers and booleans as written",
	  "pipeline \"p\" {\n  params {\n    a = 007\n    b = 1e-3\n    c = -0.10\n    d = 2E+5\n    e = true\n  }\n}\n",
	  "pipeline \"p\" {\n  params {\n    a = 007\n    b = 1e-3\n    c = -0.10\n    d = 2E+5\n    e = true\n  }\n}\n" },
	{ "line ends, tabs, a byte-order mark",
	  "\xef\xbb\xbfstage \"a\" {\r\n\trun = \"x\"\r\n}\r\n",
	  "stage \"a\" {\n  run = \"x\"\n}\n" },
	{ "no final line end",
	  "stage \"a\" { run = \"x\" }",
	  "stage \"a\" { run = \"x\" }\n" },
	{ "unknown names are kept",
	  "stagee \"a\" {\n  ru = 1\n  thing {\n    x = \"y\"\n  }\n}\n",
	  "stagee \"a\" {\n  ru = 1\n  thing {\n    x = \"y\"\n  }\n}\n" },
	{ "empty", "", "" },
	{ "only comments", "\n# a\n\n\n# b\n\n", "# a\n\n# b\n" },
};

START_TEST(test_layout)
{
	check_layout(layouts[_i].src, layouts[_i].expect);
}
END_TEST

START_TEST(test_retrain_is_canonical)
{
	const char *srcdir = getenv("NTFLOW_SRC_DIR");
	char *path, *src, *out, *m1, *m2;
	size_t len;

	if (!srcdir) {
		fprintf(stderr, "check_fmt: NTFLOW_SRC_DIR unset; dags/retrain.dag not checked\n");
		return;
	}
	path = xasprintf("%s/dags/retrain.dag", srcdir);
	ck_assert_int_eq(nf_read_file(&src, &len, path, 0), 0);
	out = fmt(src, len);
	if (strcmp(out, src) != 0) {
		/* Name the first line that differs: the whole file is too long for a message. */
		int line = 1;

		for (size_t i = 0; out[i] && out[i] == src[i]; i++)
			line += out[i] == '\n';
		ck_abort_msg("dags/retrain.dag is not canonical from line %d on (ntflow fmt -w fixes it)", line);
	}
	m1 = model_of(src, len);
	m2 = model_of(out, strlen(out));
	ck_assert_ptr_nonnull(m1);
	ck_assert_str_eq(m1, m2);
	free(m1);
	free(m2);
	free(out);
	free(src);
	free(path);
}
END_TEST

START_TEST(test_meaning_kept)
{
	/* A valid file written badly in every way: the same model after formatting. */
	static const char src[] =
		"pipeline \"p\"{description=\"d\"}\n"
		"stage \"a\" {\n"
		"run=\"echo \\\"${params.x}\\\" \\$HOME $${lit}\"\n"
		"needs=[\n\"b\",\n]\n"
		"retries=2\ntimeout=\"1m\"\nretry_on=[1,2]\n"
		"matrix{\nlr=[0.10,1e-2]\nopt=[\"x\",true]\n}\n"
		"select=\"min(loss)\"\nmetrics=\"m.json\"\n"
		"env{A=\"${env.HOME}\"}\n"
		"slurm{\npartition=\"p\"\ncpus=2\n}\n"
		"}\n"
		"stage \"b\"{run=\"y\"}\n"
		"gate \"g\"{require=[\"x>1\",\n\"not (y < 2)\"]}\n"
		"monitor \"m\"{\nrun=\"z\"\nalert \"al\"{when=\"p > 0.2\"}\nfail_on=\"low\"\n}\n"
		"model \"mm\"{artifact=\"a\"\ngate=\"g\"}\n";
	char *once = fmt(src, sizeof(src) - 1);
	char *m1 = model_of(src, sizeof(src) - 1), *m2 = model_of(once, strlen(once));
	char *twice = fmt(once, strlen(once));

	ck_assert_ptr_nonnull(m1);
	ck_assert_ptr_nonnull(m2);
	ck_assert_str_eq(m1, m2);
	ck_assert_str_eq(once, twice);
	free(once);
	free(twice);
	free(m1);
	free(m2);
}
END_TEST

START_TEST(test_syntax_error)
{
	static const char src[] = "stage \"a\" {\n  run = \"x\n}\n";
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_buf out = NF_BUF_INIT;

	ck_assert_int_eq(nf_dag_format(&out, "t.dag", src, sizeof(src) - 1, &diags), NF_EINVALID);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(diags.nerrors, 1);
	ck_assert_str_eq(diags.items[0].msg, "unterminated string");
	ck_assert_int_eq(diags.items[0].line, 2);
	nf_diag_list_release(&diags);
	nf_buf_release(&out);
}
END_TEST

START_TEST(test_appends)
{
	/* The output is appended to what the buffer holds. */
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_buf out = NF_BUF_INIT;

	nf_buf_puts(&out, "# before\n");
	ck_assert_int_eq(nf_dag_format(&out, "t.dag", "stage \"a\" {run=\"x\"}  # c", 24, &diags), 0);
	ck_assert_str_eq(nf_buf_cstr(&out), "# before\nstage \"a\" { run = \"x\" }              # c\n");
	nf_diag_list_release(&diags);
	nf_buf_release(&out);
}
END_TEST

START_TEST(test_big)
{
	/* 5000 stages: formatting stays linear and gives back the canonical input. */
	nf_buf src = NF_BUF_INIT;
	char *out;

	for (int i = 0; i < 5000; i++)
		nf_buf_printf(&src, "%sstage \"s%d\" {\n  needs = [\"s%d\"]\n  run   = \"true\"\n}\n", i ? "\n" : "", i,
			      i > 0 ? i - 1 : 0);
	out = fmt(src.buf, src.len);
	ck_assert_str_eq(out, src.buf);
	free(out);
	nf_buf_release(&src);
}
END_TEST

static Suite *
fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_layout, 0, NF_ARRAY_SIZE(layouts));
	tcase_add_test(tc, test_retrain_is_canonical);
	tcase_add_test(tc, test_meaning_kept);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_appends);
	tcase_add_test(tc, test_big);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
