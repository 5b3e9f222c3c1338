/* check_validate.c: unit tests of the cross-reference checks (nf_dag_validate) and of
 * nf_dag_load: one test per message, each on a small pipeline parsed from a string. */
#include "config.h"
#include "ntflow/dag.h"
#include "ntflow/graph.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Parses src (which must parse cleanly), validates it and returns the messages ("" when
 * none) after checking the return value agrees with them. */
static char *
check(const char *src)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char *text;
	int err;

	err = nf_dag_parse(&dag, "t.dag", src, strlen(src), &diags);
	text = diag_text(&diags);
	ck_assert_msg(err == 0 && dag, "parse failed:\n%s", text);
	free(text);
	err = nf_dag_validate(dag, &diags);
	ck_assert_int_eq(err, diags.nerrors ? NF_EINVALID : 0);
	text = diag_text(&diags);
	nf_diag_list_release(&diags);
	nf_dag_free(dag);
	return text;
}

#define ck_valid(src) do { \
	char *got_ = check(src); \
	ck_assert_str_eq(got_, ""); \
	free(got_); \
} while (0)

#define ck_messages(src, expect) do { \
	char *got_ = check(src); \
	ck_assert_str_eq(got_, expect); \
	free(got_); \
} while (0)

/* Writes src to a temporary file and loads it: the status, and the messages in *msgs. */
static int
load(const char *src, char **msgs)
{
	char path[] = "/tmp/check_validate.XXXXXX";
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = (nf_dag *)1;
	int fd = mkstemp(path), err;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	err = nf_dag_load(&dag, path, &diags);
	ck_assert(err == 0 ? dag != NULL : dag == NULL);
	*msgs = diag_text(&diags);
	nf_diag_list_release(&diags);
	nf_dag_free(dag);
	unlink(path);
	return err;
}

START_TEST(test_valid_pipeline)
{
	ck_valid("pipeline \"p\" {\n"
		 "  params {\n"
		 "    seed = 42\n"
		 "  }\n"
		 "}\n"
		 "stage \"prep\" {\n"
		 "  run     = \"prep --seed ${params.seed} --week ${run.week} --dir ${dag.dir} ${env.HOME}\"\n"
		 "  outputs = [\"build/prep/\"]\n"
		 "}\n"
		 "stage \"tune\" {\n"
		 "  needs   = [\"prep\"]\n"
		 "  matrix {\n"
		 "    lr = [0.1, 0.2]\n"
		 "  }\n"
		 "  run     = \"train --lr ${matrix.lr} --out build/tune/${matrix.id} ${run.id} ${run.date} ${run.trigger}\"\n"
		 "  outputs = [\"build/tune/${matrix.id}/\"]\n"
		 "  metrics = \"build/tune/${matrix.id}/m.json\"\n"
		 "  select  = \"max(auc)\"\n"
		 "}\n"
		 "stage \"train\" {\n"
		 "  needs   = [\"tune\"]\n"
		 "  run     = \"train --lr ${stages.tune.best.lr} --id ${stages.tune.best.id}\"\n"
		 "  outputs = [\"build/model/\", \"build/a/../b\"]\n"
		 "}\n"
		 "stage \"report\" {\n"
		 "  needs = [\"train\"]\n"
		 "  run   = \"echo ${stages.tune.best.lr}\"\n"   /* an indirect dependency is enough */
		 "}\n"
		 "gate \"promote\" {\n"
		 "  needs   = [\"train\"]\n"
		 "  require = [\"auc > 0.5\"]\n"
		 "}\n"
		 "model \"m\" {\n"
		 "  artifact = \"build/model/${params.seed}.json\"\n"
		 "  gate     = \"promote\"\n"
		 "}\n");
}
END_TEST

START_TEST(test_needs_unknown)
{
	ck_messages("stage \"tune\" { run = \"true\" }\n"
		    "stage \"train\" {\n"
		    "  needs = [\"tume\", \"zzzzzz\"]\n"
		    "  run   = \"true\"\n"
		    "}\n",
		    "3:12: error: stage \"train\" needs unknown stage \"tume\"; did you mean \"tune\"?\n"
		    "3:20: error: stage \"train\" needs unknown stage \"zzzzzz\"\n");
}
END_TEST

START_TEST(test_needs_model)
{
	ck_messages("model \"clf\" { artifact = \"m.json\" }\n"
		    "gate \"g\" {\n"
		    "  needs   = [\"clf\"]\n"
		    "  require = [\"auc > 1\"]\n"
		    "}\n",
		    "3:14: error: gate \"g\" needs \"clf\", which is a model, not a stage\n");
}
END_TEST

START_TEST(test_model_gate)
{
	ck_messages("gate \"promote\" { require = [\"auc > 1\"] }\n"
		    "stage \"train\" { run = \"true\" }\n"
		    "model \"a\" {\n"
		    "  artifact = \"m.json\"\n"
		    "  gate     = \"promte\"\n"
		    "}\n"
		    "model \"b\" {\n"
		    "  artifact = \"m.json\"\n"
		    "  gate     = \"train\"\n"
		    "}\n",
		    "5:14: error: model \"a\" names unknown gate \"promte\"; did you mean \"promote\"?\n"
		    "9:14: error: model \"b\" names \"train\" as its gate, but it is a stage\n");
}
END_TEST

START_TEST(test_params_refs)
{
	ck_messages("pipeline \"p\" {\n"
		    "  params {\n"
		    "    seed = 42\n"
		    "  }\n"
		    "}\n"
		    "stage \"a\" { run = \"x ${params.sed} ${params.nothing_alike} ${params}\" }\n",
		    "6:22: error: unknown parameter \"sed\" in ${params.sed}; did you mean \"seed\"?\n"
		    "6:36: error: unknown parameter \"nothing_alike\" in ${params.nothing_alike}\n"
		    "6:60: error: expected ${params.NAME}, found ${params}\n");
}
END_TEST

START_TEST(test_matrix_refs)
{
	ck_messages("stage \"plain\" { run = \"x ${matrix.lr}\" }\n"
		    "stage \"m\" {\n"
		    "  matrix {\n"
		    "    lr = [1, 2]\n"
		    "  }\n"
		    "  run = \"x ${matrix.lrr} ${matrix.id} ${matrix}\"\n"
		    "}\n",
		    "1:26: error: ${matrix.lr} in stage \"plain\", which has no matrix\n"
		    "6:12: error: unknown matrix key \"lrr\" in ${matrix.lrr}; did you mean \"lr\"?\n"
		    "6:39: error: expected ${matrix.KEY}, found ${matrix}\n");
}
END_TEST

START_TEST(test_other_namespaces)
{
	ck_messages("stage \"a\" { run = \"${run.weak} ${dag.path} ${env} ${parms.x} ${zzz.y}\" }\n",
		    "1:20: error: unknown run value in ${run.weak} (run.id, run.date, run.week, run.month, run.quarter, run.trigger, run.interval_start, run.interval_end)\n"
		    "1:32: error: unknown value in ${dag.path} (dag.dir)\n"
		    "1:44: error: expected ${env.NAME}, found ${env}\n"
		    "1:51: error: unknown namespace \"parms\" in ${parms.x} (params, matrix, run, env, dag, stages); did you mean \"params\"?\n"
		    "1:62: error: unknown namespace \"zzz\" in ${zzz.y} (params, matrix, run, env, dag, stages)\n");
}
END_TEST

START_TEST(test_refs_everywhere)
{
	/* pipeline path, params and env; stage inputs, outputs, metrics and env; model files */
	ck_messages("pipeline \"p\" {\n"
		    "  path = [\"${x.a}\"]\n"
		    "  env {\n"
		    "    A = \"${x.b}\"\n"
		    "  }\n"
		    "}\n"
		    "stage \"s\" {\n"
		    "  run     = \"true\"\n"
		    "  inputs  = [\"${x.c}\"]\n"
		    "  outputs = [\"o/${x.d}\"]\n"
		    "  metrics = \"${x.e}\"\n"
		    "  env {\n"
		    "    B = \"${x.f}\"\n"
		    "  }\n"
		    "}\n"
		    "model \"m\" {\n"
		    "  artifact = \"${x.g}\"\n"
		    "  metrics  = \"${x.h}\"\n"
		    "}\n",
		    "2:12: error: unknown namespace \"x\" in ${x.a} (params, matrix, run, env, dag, stages)\n"
		    "4:10: error: unknown namespace \"x\" in ${x.b} (params, matrix, run, env, dag, stages)\n"
		    "9:15: error: unknown namespace \"x\" in ${x.c} (params, matrix, run, env, dag, stages)\n"
		    "10:17: error: unknown namespace \"x\" in ${x.d} (params, matrix, run, env, dag, stages)\n"
		    "11:14: error: unknown namespace \"x\" in ${x.e} (params, matrix, run, env, dag, stages)\n"
		    "13:10: error: unknown namespace \"x\" in ${x.f} (params, matrix, run, env, dag, stages)\n"
		    "17:15: error: unknown namespace \"x\" in ${x.g} (params, matrix, run, env, dag, stages)\n"
		    "18:15: error: unknown namespace \"x\" in ${x.h} (params, matrix, run, env, dag, stages)\n");
}
END_TEST

/* tune has a matrix and select; prep has neither; sel has a matrix without select */
#define BEST_PRELUDE \
	"stage \"prep\" { run = \"true\" }\n" \
	"stage \"tune\" {\n" \
	"  needs   = [\"prep\"]\n" \
	"  matrix {\n" \
	"    lr = [1, 2]\n" \
	"  }\n" \
	"  run     = \"true\"\n" \
	"  metrics = \"m/${matrix.id}.json\"\n" \
	"  select  = \"max(auc)\"\n" \
	"}\n" \
	"stage \"sel\" {\n" \
	"  matrix {\n" \
	"    lr = [1, 2]\n" \
	"  }\n" \
	"  run = \"true\"\n" \
	"}\n"

START_TEST(test_stages_refs)
{
	ck_messages(BEST_PRELUDE
		    "stage \"t\" {\n"
		    "  needs = [\"tune\", \"prep\", \"sel\"]\n"
		    "  run   = \"${stages.tune} ${stages.tume.best.lr} ${stages.prep.best.lr}\"\n"
		    "  inputs = [\"${stages.sel.best.lr}\", \"${stages.tune.best.l}\", \"${stages.tune.x.lr}\"]\n"
		    "}\n",
		    "19:12: error: expected ${stages.STAGE.best.KEY}, found ${stages.tune}\n"
		    "19:27: error: unknown stage \"tume\" in ${stages.tume.best.lr}; did you mean \"tune\"?\n"
		    "19:50: error: ${stages.prep.best.lr} needs a best instance, but stage \"prep\" has no matrix\n"
		    "20:14: error: ${stages.sel.best.lr} needs a best instance, but stage \"sel\" has no select\n"
		    "20:39: error: unknown matrix key \"l\" of stage \"tune\" in ${stages.tune.best.l}; did you mean \"lr\"?\n"
		    "20:64: error: expected ${stages.STAGE.best.KEY}, found ${stages.tune.x.lr}\n");
}
END_TEST

START_TEST(test_stages_ref_dependency)
{
	ck_messages(BEST_PRELUDE
		    "stage \"t\" {\n"
		    "  needs = [\"prep\"]\n"
		    "  run   = \"${stages.tune.best.lr}\"\n"
		    "}\n",
		    "19:12: error: stage \"t\" uses ${stages.tune.best.lr} but does not depend on \"tune\" (add it to needs)\n");
	/* nor may a matrix stage read its own winner */
	ck_messages("stage \"tune\" {\n"
		    "  matrix {\n"
		    "    lr = [1, 2]\n"
		    "  }\n"
		    "  run     = \"x ${stages.tune.best.lr}\"\n"
		    "  metrics = \"m/${matrix.id}.json\"\n"
		    "  select  = \"min(loss)\"\n"
		    "}\n",
		    "5:16: error: stage \"tune\" uses ${stages.tune.best.lr} but does not depend on \"tune\" (add it to needs)\n");
}
END_TEST

START_TEST(test_duplicate_outputs)
{
	ck_messages("stage \"a\" {\n"
		    "  run     = \"true\"\n"
		    "  outputs = [\"build/x/\", \"data/${run.week}.csv\"]\n"
		    "}\n"
		    "stage \"b\" {\n"
		    "  run     = \"true\"\n"
		    "  outputs = [\"./build//x\", \"data/${run.week}.csv\", \"data/${run.date}.csv\"]\n"
		    "}\n",
		    "7:14: error: stage \"b\" declares output \"./build//x\", already declared by stage \"a\"\n"
		    "3:14: note: stage \"a\" declares it here\n"
		    "7:28: error: stage \"b\" declares output \"data/${run.week}.csv\", already declared by stage \"a\"\n"
		    "3:26: note: stage \"a\" declares it here\n");
}
END_TEST

START_TEST(test_outputs_outside)
{
	ck_messages("stage \"a\" {\n"
		    "  run     = \"true\"\n"
		    "  outputs = [\"../x\", \"a/../../x\", \"/tmp/x\", \"./\", \"a/../b\"]\n"
		    "}\n",
		    "3:14: error: output \"../x\" of stage \"a\" is outside the workspace\n"
		    "3:22: error: output \"a/../../x\" of stage \"a\" is outside the workspace\n"
		    "3:35: error: output \"/tmp/x\" of stage \"a\" is an absolute path; outputs are relative to the project root\n"
		    "3:45: error: output \"./\" of stage \"a\" is the whole workspace\n");
}
END_TEST

START_TEST(test_select)
{
	ck_messages("stage \"a\" {\n"
		    "  run    = \"true\"\n"
		    "  select = \"max(auc)\"\n"
		    "}\n"
		    "stage \"b\" {\n"
		    "  matrix {\n"
		    "    k = [1, 2]\n"
		    "  }\n"
		    "  run    = \"true\"\n"
		    "  select = \"min(loss)\"\n"
		    "}\n",
		    "3:12: error: stage \"a\" has select but no matrix to select from\n"
		    "10:12: error: stage \"b\" has select but no metrics file to compare instances by\n");
}
END_TEST

START_TEST(test_load_cycle_and_all_errors)
{
	char *msgs;

	ck_assert_int_eq(load("stage \"a\" {\n"
			      "  needs = [\"c\"]\n"
			      "  run   = \"${params.x}\"\n"
			      "}\n"
			      "stage \"b\" {\n"
			      "  needs = [\"a\", \"nope\"]\n"
			      "  run   = \"true\"\n"
			      "}\n"
			      "stage \"c\" {\n"
			      "  needs = [\"b\"]\n"
			      "  run   = \"true\"\n"
			      "}\n", &msgs), NF_EINVALID);
	ck_assert_str_eq(msgs,
			 "3:12: error: unknown parameter \"x\" in ${params.x}\n"
			 "6:17: error: stage \"b\" needs unknown stage \"nope\"\n"
			 "1:1: error: dependency cycle: a -> c -> b -> a\n");
	free(msgs);
	ck_assert_int_eq(load("stage \"a\" { run = \"true\" }\n", &msgs), 0);
	ck_assert_str_eq(msgs, "");
	free(msgs);
}
END_TEST

START_TEST(test_load_unreadable)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = (nf_dag *)1;
	char path[] = "/tmp/check_validate.XXXXXX";
	int fd;

	ck_assert_int_eq(nf_dag_load(&dag, "/nonexistent/x.dag", &diags), NF_ENOTFOUND);
	ck_assert_ptr_null(dag);
	ck_assert_uint_eq(diags.n, 0);
	ck_assert_str_eq(nf_error_last(), "cannot open '/nonexistent/x.dag': No such file or directory");

	/* a file over the limit is refused before it is read (sparse: costs no disk) */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)NF_DAG_MAX_FILE_SIZE + 1), 0);
	close(fd);
	ck_assert_int_eq(nf_dag_load(&dag, path, &diags), NF_EINVALID);
	ck_assert_uint_eq(diags.n, 1);
	ck_assert_int_eq(diags.items[0].line, 0);
	ck_assert_str_eq(diags.items[0].msg, "file too large (67108865 bytes; the limit is 64 MiB)");
	nf_diag_list_release(&diags);
	unlink(path);
}
END_TEST

/* foreach references, needs of one instance, persist and uncached, matrix with foreach, dir. */
START_TEST(test_language_17)
{
	ck_valid("stage \"t\" {\n"
		 "  foreach  = [\"us\", \"eu\"]\n"
		 "  dir      = \"sub/${item}\"\n"
		 "  run      = \"x ${item} ${key}\"\n"
		 "  outputs  = [\"o/${key}\", \"s/\"]\n"
		 "  persist  = [\"s/\"]\n"
		 "  uncached = [\"o/${key}\"]\n"
		 "}\n"
		 "stage \"u\" {\n"
		 "  needs = [\"t@eu\", \"t\"]\n"
		 "  foreach {\n"
		 "    instance \"a\" { f = 1 }\n"
		 "  }\n"
		 "  run   = \"x ${item.f} ${key}\"\n"
		 "}\n");
	ck_messages("stage \"t\" {\n"
		    "  foreach = [\"us\"]\n"
		    "  run     = \"x ${item.f} ${key.x}\"\n"
		    "  outputs = [\"o\"]\n"
		    "  persist = [\"o/\", \"p\"]\n"
		    "  uncached = [\"q\"]\n"
		    "  dir     = \"../up\"\n"
		    "  matrix {\n"
		    "    lr = [1]\n"
		    "  }\n"
		    "}\n",
		    "2:13: error: stage \"t\" has both matrix and foreach; use one of them\n"
		    "3:16: error: ${item.f}: the foreach of stage \"t\" is a list of plain values; write ${item}\n"
		    "3:26: error: expected ${key}, found ${key.x}\n"
		    "5:14: error: persist \"o/\" of stage \"t\" is not one of its outputs (write it in outputs too, the same way)\n"
		    "5:20: error: persist \"p\" of stage \"t\" is not one of its outputs (write it in outputs too, the same way)\n"
		    "6:15: error: uncached \"q\" of stage \"t\" is not one of its outputs (write it in outputs too, the same way)\n"
		    "7:13: error: dir \"../up\" of stage \"t\" is outside the workspace\n");
	ck_messages("stage \"t\" {\n"
		    "  foreach = [\"us\"]\n"
		    "  run     = \"x\"\n"
		    "}\n"
		    "stage \"u\" {\n"
		    "  needs = [\"t@xx\", \"v@us\", \"nope@us\"]\n"
		    "  run   = \"x\"\n"
		    "}\n"
		    "stage \"v\" { run = \"${key}\" }\n",
		    "6:12: error: stage \"u\" needs \"t@xx\": stage \"t\" has no instance \"xx\"\n"
		    "6:20: error: stage \"u\" needs \"v@us\", but stage \"v\" has no foreach instances\n"
		    "6:28: error: stage \"u\" needs unknown stage \"nope\"\n"
		    "9:20: error: ${key} in stage \"v\", which has no foreach\n");
	ck_messages("stage \"u\" {\n"
		    "  foreach {\n"
		    "    instance \"a\" { f = 1 }\n"
		    "    instance \"b\" { g = 1 }\n"
		    "  }\n"
		    "  run   = \"x ${item} ${item.f}\"\n"
		    "}\n",
		    "6:14: error: the instances of stage \"u\" have fields: write ${item.FIELD} (or ${key} for the instance's name)\n"
		    "6:22: error: ${item.f}: instance \"b\" of stage \"u\" has no field \"f\"\n"
		    "4:5: note: instance \"b\" is here\n");
}
END_TEST

/* Inputs that nothing makes and that are not on disk; what counts as made. */
START_TEST(test_missing_inputs)
{
	const char *src =
		"stage \"a\" {\n"
		"  run     = \"x\"\n"
		"  outputs = [\"build/prep/\", \"build/tune/${matrix.id}/\", \"data/${run.week}.csv\"]\n"
		"  matrix {\n"
		"    lr = [1]\n"
		"  }\n"
		"}\n"
		"stage \"b\" {\n"
		"  run    = \"y\"\n"
		"  inputs = [\"build/prep/train.csv\", \"build/tune/lr-1/m.json\", \"build\", \"t.dag\",\n"
		"            \"data/2026-W01.csv\", \"nothing/here\", \"data/${run.week}.csv\", \"build/x\"]\n"
		"}\n";
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	char dir[] = "/tmp/check_validate.XXXXXX", *path, *text;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/t.dag", dir);
	ck_assert_int_eq(nf_write_file_atomic(path, src, strlen(src)), 0);
	ck_assert_int_eq(nf_dag_load(&dag, path, &diags), 0);
	ck_assert_int_eq(nf_graph_check_inputs(dag, dir, &diags), NF_EINVALID);
	text = diag_text(&diags);
	ck_assert_str_eq(text,
			 "11:34: error: input \"nothing/here\" of stage \"b\" does not exist and no stage declares it as an output\n"
			 "11:74: error: input \"build/x\" of stage \"b\" does not exist and no stage declares it as an output\n");
	free(text);
	nf_diag_list_release(&diags);
	nf_dag_free(dag);
	unlink(path);
	rmdir(dir);
	free(path);
}
END_TEST

static Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_valid_pipeline);
	tcase_add_test(tc, test_needs_unknown);
	tcase_add_test(tc, test_needs_model);
	tcase_add_test(tc, test_model_gate);
	tcase_add_test(tc, test_params_refs);
	tcase_add_test(tc, test_matrix_refs);
	tcase_add_test(tc, test_other_namespaces);
	tcase_add_test(tc, test_refs_everywhere);
	tcase_add_test(tc, test_stages_refs);
	tcase_add_test(tc, test_stages_ref_dependency);
	tcase_add_test(tc, test_duplicate_outputs);
	tcase_add_test(tc, test_outputs_outside);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_load_cycle_and_all_errors);
	tcase_add_test(tc, test_load_unreadable);
	tcase_add_test(tc, test_language_17);
	tcase_add_test(tc, test_missing_inputs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
