/* check_import_dvc.c: the translation of dvc.yaml into .dag text (src/dag/import-dvc.c):
 * each construct's mapping, commands that reach the shell exactly as DVC meant them, paths
 * made root-relative, names mapped, and a note for what has no equivalent. */
#include "config.h"
#include "ntflow/dag.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The .dag text of yaml (prefix: the dvc.yaml's folder; root: where files are read). */
static char *
import(const char *yaml, const char *prefix, const char *root, char **notes)
{
	nf_buf out = NF_BUF_INIT, nb = NF_BUF_INIT;
	nf_dvc_import o = { .path = "dvc.yaml", .prefix = prefix, .root = root, .name = "t" };
	int err = nf_dvc_import_text(&out, &nb, &o, yaml, strlen(yaml));

	ck_assert_msg(err == 0, "import failed: %s", nf_error_last());
	if (notes)
		*notes = nf_buf_detach(&nb);
	nf_buf_release(&nb);
	return nf_buf_detach(&out);
}

#define HAS(text, line) ck_assert_msg(strstr((text), (line)) != NULL, "missing <%s> in:\n%s", (line), (text))
#define HASNT(text, line) ck_assert_msg(strstr((text), (line)) == NULL, "unexpected <%s> in:\n%s", (line), (text))

/* The literal `run` of the one stage of dag text (it parses on its own). */
static char *
parsed_run(const char *text)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;
	const char *lit;
	char *r;

	ck_assert_int_eq(nf_dag_parse(&dag, "t.dag", text, strlen(text), &diags), 0);
	ck_assert_int_eq(dag->nstages, 1);
	lit = nf_tmpl_literal(dag->stages[0].run);
	ck_assert_ptr_nonnull(lit);
	r = strdup(lit);
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
	return r;
}

/* What /bin/sh -c cmd prints, run in dir. */
static char *
sh_output(const char *cmd, const char *dir)
{
	char tmpl[] = "/tmp/check_import.XXXXXX";
	int fd = mkstemp(tmpl);
	char *shcmd, *out = NULL;
	size_t len;
	pid_t pid;
	int st;

	ck_assert_int_ge(fd, 0);
	close(fd);
	shcmd = xasprintf("cd '%s' && { %s\n} >'%s' 2>&1", dir, cmd, tmpl);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", shcmd, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	ck_assert_int_eq(nf_read_file(&out, &len, tmpl, 0), 0);
	unlink(tmpl);
	free(shcmd);
	return out;
}

START_TEST(test_cmd_string_kept_as_dvc_meant)
{
	/* quotes, $(...), a backslash, and DVC's escaped \${ reach the shell unchanged */
	const char *yaml = "stages:\n"
			   "  s:\n"
			   "    cmd: >-\n"
			   "      printf '%s|' \"a  b\" \"$(echo sub)\" 'q\"q' back\\\\slash \\${HOME} $((1+2)) `echo bq`\n";
	char *text = import(yaml, "", NULL, NULL), *run = parsed_run(text);
	char *want = sh_output("printf '%s|' \"a  b\" \"$(echo sub)\" 'q\"q' back\\\\slash ${HOME} $((1+2)) `echo bq`", "/");
	char *got = sh_output(run, "/");

	ck_assert_str_eq(run, "printf '%s|' \"a  b\" \"$(echo sub)\" 'q\"q' back\\\\slash ${HOME} $((1+2)) `echo bq`");
	ck_assert_str_eq(got, want);
	free(text);
	free(run);
	free(want);
	free(got);
}
END_TEST

START_TEST(test_cmd_list_each_its_own_shell)
{
	/* DVC runs each element with a shell of its own: a cd, a variable or a trailing comment
	 * of one does not reach the next; the first failure stops the rest. */
	const char *yaml = "stages:\n"
			   "  s:\n"
			   "    cmd:\n"
			   "    - cd /\n"
			   "    - X=1; echo one # a comment\n"
			   "    - pwd\n"
			   "    - echo \"x=$X\"\n"
			   "    - printf '%s\\n' done\n";
	char *text = import(yaml, "", NULL, NULL), *run = parsed_run(text), *out;
	char dir[] = "/tmp/check_import_dir.XXXXXX", *want;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	out = sh_output(run, dir);
	want = xasprintf("one\n%s\nx=\ndone\n", dir);
	ck_assert_str_eq(out, want);
	HAS(run, "(cd /) && ");
	rmdir(dir);
	free(out);
	free(want);
	free(text);
	free(run);

	/* a failing element stops the list (echo and false are shell built-ins: in a subshell) */
	text = import("stages:\n  s:\n    cmd: [echo a, 'false', echo b]\n", "", NULL, NULL);
	run = parsed_run(text);
	ck_assert_str_eq(run, "(echo a) && (false) && (echo b)");
	free(text);
	free(run);
	/* one element: the command itself */
	text = import("stages:\n  s:\n    cmd: [python train.py]\n", "", NULL, NULL);
	HAS(text, "run = \"python train.py\"\n");
	free(text);
}
END_TEST

START_TEST(test_deps_outs_metrics_plots)
{
	const char *yaml = "stages:\n"
			   "  evaluate:\n"
			   "    cmd: ./eval\n"
			   "    deps: [model.pkl, src/eval.py]\n"
			   "    outs:\n"
			   "    - eval/report.html:\n"
			   "        cache: false\n"
			   "    - eval/state:\n"
			   "        persist: true\n"
			   "    - eval/plain.bin\n"
			   "    metrics:\n"
			   "    - eval/scores.json:\n"
			   "        cache: false\n"
			   "    - eval/extra.json\n"
			   "    plots:\n"
			   "    - eval/roc.csv:\n"
			   "        x: fpr\n"
			   "        y: tpr\n"
			   "        template: scatter\n"
			   "        title: ROC\n"
			   "    - eval/cm.png\n"
			   "    frozen: true\n"
			   "    always_changed: true\n"
			   "    desc: Evaluates\n";
	char *notes, *text = import(yaml, "", NULL, &notes);

	HAS(text, "stage \"evaluate\" {\n");
	HAS(text, "description = \"Evaluates\"\n");
	HAS(text, "inputs = [\"model.pkl\", \"src/eval.py\"]\n");
	HAS(text, "outputs = [\"eval/report.html\", \"eval/state\", \"eval/plain.bin\", \"eval/extra.json\", \"eval/roc.csv\", \"eval/cm.png\"]\n");
	HAS(text, "persist = [\"eval/state\"]\n");
	HAS(text, "uncached = [\"eval/report.html\"]\n");
	HAS(text, "metrics = \"eval/scores.json\"\n");
	HAS(text, "frozen = true\n");
	HAS(text, "cache = false");
	HAS(text, "plot \"roc\" {\ndata = \"eval/roc.csv\"\nx = \"fpr\"\ny = \"tpr\"\ntemplate = \"scatter\"\ntitle = \"ROC\"\n}\n");
	HAS(text, "plot \"cm\" {\nimage = \"eval/cm.png\"\n}\n");
	HAS(text, "# ntflow import: metrics 'eval/extra.json' is kept as an output");
	HAS(notes, "dvc.yaml:14:7: metrics 'eval/extra.json' is kept as an output");
	free(text);
	free(notes);
}
END_TEST

START_TEST(test_params_and_files)
{
	const char *yaml = "stages:\n"
			   "  train:\n"
			   "    cmd: ./train\n"
			   "    params:\n"
			   "    - train.n_est\n"
			   "    - featurize\n"
			   "    - conf/custom.yaml: [lr, seed]\n";
	char *text = import(yaml, "", NULL, NULL);

	HAS(text, "params_files = [\"params.yaml\", \"conf/custom.yaml\"]\n");
	HAS(text, "params = [\"train.n_est\", \"featurize\", \"lr\", \"seed\"]\n");
	free(text);
	/* no stage reads params: no params_files */
	text = import("stages:\n  a:\n    cmd: ./a\n", "", NULL, NULL);
	HASNT(text, "params_files");
	free(text);
}
END_TEST

START_TEST(test_wdir_and_prefix)
{
	/* DVC's paths are relative to the stage's wdir below the dvc.yaml's folder; the .dag's
	 * to the project root. */
	const char *yaml = "stages:\n"
			   "  train:\n"
			   "    wdir: sub\n"
			   "    cmd: python ../src/train.py\n"
			   "    deps: [../data/features, ./x/../y.csv]\n"
			   "    outs: [model.pkl]\n"
			   "    params: [train.lr]\n"
			   "  bad:\n"
			   "    cmd: 'true'\n"
			   "    deps: [../../../outside, s3://bucket/x]\n";
	char *notes, *text = import(yaml, "proj", NULL, &notes);

	HAS(text, "dir = \"proj/sub\"\n");
	HAS(text, "inputs = [\"proj/data/features\", \"proj/sub/y.csv\"]\n");
	HAS(text, "outputs = [\"proj/sub/model.pkl\"]\n");
	HAS(text, "params_files = [\"proj/sub/params.yaml\"]\n");
	HAS(text, "pipeline \"t\" {\n");
	HAS(notes, "dvc.yaml:10:12: '../../../outside' is outside the project");
	HAS(notes, "dvc.yaml:10:30: 's3://bucket/x' is a remote or external location");
	free(text);
	free(notes);
}
END_TEST

START_TEST(test_foreach_and_vars)
{
	const char *yaml = "vars:\n"
			   "  - regions: [us, eu]\n"
			   "  - model: {lr: 0.1}\n"
			   "stages:\n"
			   "  list:\n"
			   "    foreach: ${regions}\n"
			   "    do:\n"
			   "      cmd: echo ${item} ${model.lr} > out/${item}.txt\n"
			   "      outs: [\"out/${item}.txt\"]\n"
			   "  named:\n"
			   "    foreach:\n"
			   "      us: {rows: 10}\n"
			   "      eu west: {rows: 5}\n"
			   "    do:\n"
			   "      cmd: echo ${key} ${item.rows}\n"
			   "  values:\n"
			   "    foreach: {a: 1, b: 2}\n"
			   "    do:\n"
			   "      cmd: echo ${key}=${item}\n"
			   "  mx:\n"
			   "    matrix: {lr: [0.1, 0.2]}\n"
			   "    cmd: echo ${item.lr}\n";
	char *notes, *text = import(yaml, "", NULL, &notes);

	HAS(text, "foreach = [\"us\", \"eu\"]\nrun = \"echo ${item} ${params.model_lr} > out/${item}.txt\"\n");
	HAS(text, "outputs = [\"out/${item}.txt\"]\n");
	HAS(text, "params {\nregions = \"[\\\"us\\\", \\\"eu\\\"]\"\n");
	HAS(text, "model_lr = 0.1\n");
	HAS(text, "foreach {\ninstance \"us\" {\nrows = 10\n}\n");
	HAS(text, "instance \"eu_west\" {\nrows = 5\n}\n");
	HAS(text, "run = \"echo ${key} ${item.rows}\"\n");
	HAS(text, "instance \"a\" {\nvalue = 1\n}\n");
	HAS(text, "run = \"echo ${key}=${item.value}\"\n");
	HAS(text, "matrix {\nlr = [0.1, 0.2]\n}\n");
	HAS(text, "run = \"echo ${matrix.lr}\"\n");
	HAS(notes, "instance \"eu west\" is \"eu_west\" here");
	HAS(notes, "foreach ${regions} is the value it had when imported");
	free(text);
	free(notes);
}
END_TEST

START_TEST(test_names_and_notes)
{
	const char *yaml = "stages:\n"
			   "  train.model:\n"
			   "    cmd: ./t\n"
			   "    meta: {owner: me}\n"
			   "    checkpoint: true\n"
			   "  train_model:\n"
			   "    cmd: ./u\n"
			   "artifacts:\n"
			   "  m: {path: model.pkl}\n"
			   "plots:\n"
			   "  - nowhere.csv\n";
	char *notes, *text = import(yaml, "", NULL, &notes);

	/* "train.model" would map onto "train_model", which another stage has: that one keeps
	 * its name, the mapped one gets a number */
	HAS(text, "# ntflow import: DVC stage \"train.model\" is \"train_model_2\" here");
	HAS(text, "stage \"train_model_2\" {\nrun = \"./t\"\n");
	HAS(text, "stage \"train_model\" {\nrun = \"./u\"\n");
	HAS(notes, "dvc.yaml:2:3: DVC stage \"train.model\" is \"train_model_2\" here");
	HAS(notes, "dvc.yaml:5:5: 'checkpoint' has no equivalent in ntflow");
	HAS(notes, "dvc.yaml:4:5: meta");
	HAS(notes, "dvc.yaml:8:1: top-level 'artifacts' has no equivalent");
	HAS(notes, "dvc.yaml:11:5: plot 'nowhere.csv': 'nowhere.csv' is written by no stage");
	HAS(text, "# ntflow import: 'checkpoint' has no equivalent in ntflow\n");
	free(text);
	free(notes);
}
END_TEST

/* A name or value with an escape sequence reaches the terminal and the .dag's comments as
 * \xNN: the notes wrote "\033[31m" raw to standard error and into dvc.dag. */
START_TEST(test_notes_escape_controls)
{
	const char *yaml = "vars:\n"
			   "  - evil: \"a\\e[2Jb\"\n"
			   "stages:\n"
			   "  \"n\\e[31m\":\n"
			   "    cmd: echo ${evil}\n";
	char *notes, *text = import(yaml, "", NULL, &notes);

	HASNT(notes, "\033");
	HASNT(text, "\033");
	HAS(notes, "\\x1b[31m");
	free(text);
	free(notes);
}
END_TEST

/* Aliases that repeat a mapping of vars: a 634-byte file made 10^5 vars (minutes; 737
 * bytes, 4 GB). The vars are cut at 1 024, with a note. */
START_TEST(test_vars_alias_bomb)
{
	nf_buf y = NF_BUF_INIT;
	char *notes, *text;

	nf_buf_puts(&y, "vars:\n  - a0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}\n");
	for (int i = 1; i <= 8; i++) {
		nf_buf_printf(&y, "    a%d: &a%d {", i, i);
		for (int j = 0; j < 10; j++)
			nf_buf_printf(&y, "%sk%d: *a%d", j ? ", " : "", j, i - 1);
		nf_buf_puts(&y, "}\n");
	}
	nf_buf_puts(&y, "stages:\n  s:\n    cmd: echo hi\n");
	text = import(nf_buf_cstr(&y), "", NULL, &notes);
	HAS(notes, "more than 1024 vars: the rest are not carried over");
	HAS(text, "run = \"echo hi\"");
	free(text);
	free(notes);
	nf_buf_release(&y);
}
END_TEST

START_TEST(test_top_level_plots_attach)
{
	const char *yaml = "stages:\n"
			   "  train:\n"
			   "    cmd: ./t\n"
			   "    outs: [logs]\n"
			   "plots:\n"
			   "  - Loss:\n"
			   "      x: step\n"
			   "      y:\n"
			   "        logs/loss.tsv: [train, val]\n"
			   "      template: linear\n";
	char *text = import(yaml, "", NULL, NULL);

	HAS(text, "plot \"Loss\" {\ndata = \"logs/loss.tsv\"\nx = \"step\"\ny = [\"train\", \"val\"]\ntemplate = \"linear\"\n}\n}\n");
	free(text);
}
END_TEST

START_TEST(test_reads_files_from_root)
{
	/* params.yaml beside dvc.yaml serves ${...}; a folder on disk gets its trailing '/';
	 * params: [FILE:] with no keys lists the file's sections */
	char dir[] = "/tmp/check_import_root.XXXXXX";
	char *p, *notes, *text;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	p = xasprintf("%s/params.yaml", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs("train:\n  seed: 7\n  name: two words\nprep: {n: 1}\n", f);
	fclose(f);
	free(p);
	p = xasprintf("%s/data", dir);
	ck_assert_int_eq(mkdir(p, 0777), 0);
	free(p);
	text = import("stages:\n"
		      "  s:\n"
		      "    cmd: ./t --seed ${train.seed} --name ${train.name}\n"
		      "    deps: [data]\n"
		      "    params:\n"
		      "    - params.yaml:\n",
		      "", dir, &notes);
	HAS(text, "run = \"./t --seed ${params.train.seed} --name ${params.train.name}\"\n");
	HAS(text, "inputs = [\"data/\"]\n");
	HAS(text, "params = [\"train\", \"prep\"]\n");
	HAS(text, "params_files = [\"params.yaml\"]\n");
	HAS(notes, "${train.name} is \"two words\": ntflow passes it as one quoted word");
	free(text);
	free(notes);
	p = xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(p), 0);
	free(p);
}
END_TEST

START_TEST(test_odd_references_and_keys)
{
	/* what a .dag cannot hold as a reference or a name stays text, and the text parses
	 * (both found by fuzz_import: a tab in ${...}, a quote in a params key) */
	const char *yaml = "stages:\n"
			   "  s:\n"
			   "    cmd: \"echo ${a\\tb} ${x\\\"y} ${list[0]}\"\n"
			   "    params: [\"k\\\"ey\"]\n";
	char *notes, *text = import(yaml, "", NULL, &notes), *run;
	nf_buf f = NF_BUF_INIT;
	nf_diag_list diags = NF_DIAG_LIST_INIT;

	ck_assert_int_eq(nf_dag_format(&f, "t.dag", text, strlen(text), &diags), 0);
	HAS(text, "params = [\"k\\\"ey\"]\n");
	HAS(notes, "is no name a .dag reference can hold");
	HAS(notes, "${list[0]}: an index into a list has no equivalent");
	run = strstr(text, "run = ");
	ck_assert_ptr_nonnull(run);
	HAS(run, "run = \"echo $${a\\tb} $${x\\\"y} $${list[0]}\"\n");
	nf_buf_release(&f);
	nf_diag_list_release(&diags);
	free(text);
	free(notes);
}
END_TEST

START_TEST(test_needs_through_foreach)
{
	/* paths linked through ${item}/${key}: inference cannot expand them, the importer can;
	 * literal paths are left to the inference */
	const char *yaml = "stages:\n"
			   "  feat:\n"
			   "    foreach: [a, b]\n"
			   "    do:\n"
			   "      cmd: ./f ${item}\n"
			   "      outs: [\"features/${item}.txt\"]\n"
			   "  named:\n"
			   "    foreach: {us: {f: x}, eu: {f: y}}\n"
			   "    do:\n"
			   "      cmd: ./n\n"
			   "      outs: [\"out/${key}/${item.f}\"]\n"
			   "  only_a:\n"
			   "    cmd: ./o\n"
			   "    deps: [features/a.txt, out/eu/y/part]\n"
			   "  all:\n"
			   "    cmd: ./all\n"
			   "    deps: [features]\n"
			   "    outs: [all.txt]\n"
			   "  literal:\n"
			   "    cmd: ./l\n"
			   "    deps: [all.txt]\n";
	char *text = import(yaml, "", NULL, NULL);

	HAS(text, "stage \"only_a\" {\n# ntflow import: stage \"only_a\": needs written out");
	HAS(text, "needs = [\"feat@a\", \"named@eu\"]\nrun = \"./o\"\n");
	HAS(text, "needs = [\"feat\"]\nrun = \"./all\"\n");
	HAS(text, "stage \"literal\" {\nrun = \"./l\"\n");
	free(text);
}
END_TEST

START_TEST(test_not_a_pipeline)
{
	nf_buf out = NF_BUF_INIT, notes = NF_BUF_INIT;
	nf_dvc_import o = { .path = "dvc.yaml", .prefix = "" };

	ck_assert_int_eq(nf_dvc_import_text(&out, &notes, &o, "a: [1\n", 6), NF_EINVALID);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "dvc.yaml:"));
	ck_assert_int_eq(nf_dvc_import_text(&out, &notes, &o, "- 1\n", 4), NF_EINVALID);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "no 'stages' mapping"));
	nf_buf_release(&out);
	nf_buf_release(&notes);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("import_dvc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cmd_string_kept_as_dvc_meant);
	tcase_add_test(tc, test_cmd_list_each_its_own_shell);
	tcase_add_test(tc, test_deps_outs_metrics_plots);
	tcase_add_test(tc, test_params_and_files);
	tcase_add_test(tc, test_wdir_and_prefix);
	tcase_add_test(tc, test_foreach_and_vars);
	tcase_add_test(tc, test_names_and_notes);
	tcase_add_test(tc, test_top_level_plots_attach);
	tcase_add_test(tc, test_reads_files_from_root);
	tcase_add_test(tc, test_odd_references_and_keys);
	tcase_add_test(tc, test_needs_through_foreach);
	tcase_add_test(tc, test_not_a_pipeline);
	tcase_add_test(tc, test_notes_escape_controls);
	tcase_add_test(tc, test_vars_alias_bomb);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(import_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
