/* check_run.c: unit tests of the run module's pure parts: ${...} expansion (every namespace,
 * every error, shell quoting proven by /bin/sh itself), ISO weeks, the metrics reader. */
#include "config.h"
#include "ntflow/run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- building templates by hand ---- */

/* Splits s into literal and ${ref} segments the way the parser would (no escapes). */
static nf_tmpl
tmpl(nf_arena *a, const char *s)
{
	nf_tmpl t = { 0 };
	nf_seg segs[32];
	size_t n = 0;

	while (*s) {
		const char *open = strstr(s, "${");

		if (open == s) {
			const char *close = strchr(s, '}');

			ck_assert_ptr_nonnull(close);
			segs[n].text = nf_arena_strndup(a, s + 2, (size_t)(close - s - 2));
			segs[n].is_ref = true;
			s = close + 1;
		} else {
			size_t len = open ? (size_t)(open - s) : strlen(s);

			segs[n].text = nf_arena_strndup(a, s, len);
			segs[n].is_ref = false;
			s += len;
		}
		segs[n].loc.line = 1;
		n++;
		ck_assert_uint_lt(n, NF_ARRAY_SIZE(segs));
	}
	t.segs = nf_arena_memdup(a, segs, n * sizeof(*segs));
	t.nsegs = n;
	return t;
}

static const char *
fake_param(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "seed") == 0)
		return "42";
	if (strcmp(name, "rows") == 0)
		return "20000";
	if (strcmp(name, "nasty") == 0)
		return "a;b $(touch pwned) \"q\" 'x'\nline two";
	if (strcmp(name, "empty") == 0)
		return "";
	return NULL;
}

static int
fake_best(void *ctx, const char *stage, const char *key, const char **out)
{
	(void)ctx;
	if (strcmp(stage, "tune") == 0 && strcmp(key, "lr") == 0) {
		*out = "0.2";
		return 0;
	}
	if (strcmp(stage, "tune") == 0 && strcmp(key, "opt") == 0) {
		*out = "adam w";
		return 0;
	}
	return nf_error_set(NF_EINVALID, "fake: no best '%s' of stage '%s'", key, stage);
}

/* A matrix stage "tune" with axes lr (numbers) and opt (strings), and its node for
 * lr=0.05, opt=adam. */
typedef struct fixture {
	nf_arena *a;
	nf_stage stage;
	nf_stage_more more;
	nf_axis axes[2];
	nf_value lr, opt;
	const nf_value *vals[2];
	nf_node node;
	nf_node_more node_more;
	nf_interp ip;
} fixture;

static void
fixture_init(fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->a = nf_arena_new();
	f->lr.kind = NF_V_NUMBER;
	f->lr.num = 0.05;
	f->lr.num_text = "0.05";
	f->opt.kind = NF_V_STRING;
	f->opt.str = tmpl(f->a, "adam");
	f->axes[0].name = "lr";
	f->axes[0].values = &f->lr;
	f->axes[0].nvalues = 1;
	f->axes[1].name = "opt";
	f->axes[1].values = &f->opt;
	f->axes[1].nvalues = 1;
	f->stage.kind = NF_STAGE;
	f->stage.name = "tune";
	f->stage.more = &f->more;
	f->more.matrix = f->axes;
	f->more.nmatrix = 2;
	f->vals[0] = &f->lr;
	f->vals[1] = &f->opt;
	f->node.stage = &f->stage;
	f->node.name = "tune[lr=0.05,opt=adam]";
	f->node.more = &f->node_more;
	f->node_more.instance = "lr-0.05_opt-adam";
	f->node_more.matrix = f->vals;
	f->ip.node = &f->node;
	f->ip.run_id = 17;
	f->ip.run_date = "2026-11-23";
	f->ip.run_week = "2026-W48";
	f->ip.run_trigger = "manual";
	f->ip.run_interval_start = "2026-11-22T23:00:00Z";
	f->ip.run_interval_end = "2026-11-29T23:00:00Z";
	f->ip.dag_dir = "/srv/proj/dags";
	f->ip.param = fake_param;
	f->ip.best = fake_best;
}

static void
fixture_release(fixture *f)
{
	nf_arena_free(f->a);
}

/* Expands text; returns the result (caller frees) or NULL with the error in nf_error_last(). */
static char *
expand(fixture *f, const char *text, bool quote, int *err)
{
	nf_tmpl t = tmpl(f->a, text);
	nf_buf b = NF_BUF_INIT;

	nf_error_clear();
	*err = nf_interp_expand(&b, &t, &f->ip, quote);
	if (*err < 0) {
		nf_buf_release(&b);
		return NULL;
	}
	return nf_buf_detach(&b);
}

#define ck_expand(f, text, quote, expect) do { \
	int err_; \
	char *got_ = expand((f), (text), (quote), &err_); \
	ck_assert_msg(err_ == 0, "%s: %s", (text), nf_error_last()); \
	ck_assert_str_eq(got_, (expect)); \
	free(got_); \
} while (0)

/* The expansion fails with NF_EINVALID and a message containing each of the strings. */
#define ck_expand_error(f, text, ...) do { \
	int err_; \
	char *got_ = expand((f), (text), true, &err_); \
	const char *want_[] = { __VA_ARGS__ }; \
	ck_assert_msg(got_ == NULL, "%s expanded to '%s'", (text), got_ ? got_ : ""); \
	ck_assert_int_eq(err_, NF_EINVALID); \
	for (size_t i_ = 0; i_ < NF_ARRAY_SIZE(want_); i_++) \
		ck_assert_msg(strstr(nf_error_last(), want_[i_]), "%s: message '%s' lacks '%s'", \
			      (text), nf_error_last(), want_[i_]); \
} while (0)

/* ---- expansion ---- */

START_TEST(test_expand_literal_only)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "echo hello; ls", true, "echo hello; ls");
	ck_expand(&f, "", true, "");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_params)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "gen --rows ${params.rows} --seed ${params.seed}", true, "gen --rows 20000 --seed 42");
	ck_expand(&f, "${params.seed}${params.rows}", false, "4220000");
	/* an empty value is still one (empty) word in a command */
	ck_expand(&f, "x ${params.empty} y", true, "x '' y");
	ck_expand(&f, "x${params.empty}y", false, "xy");
	ck_expand_error(&f, "echo ${params.sede}", "unknown parameter 'sede'", "${params.sede}");
	ck_expand_error(&f, "echo ${params.}", "unknown parameter ''");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_matrix)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "train --lr ${matrix.lr} --opt ${matrix.opt}", true, "train --lr 0.05 --opt adam");
	ck_expand(&f, "build/tune/${matrix.id}/m.json", false, "build/tune/lr-0.05_opt-adam/m.json");
	ck_expand_error(&f, "${matrix.l2}", "unknown matrix key 'l2'", "${matrix.l2}");
	/* a node without a matrix, and no node at all (the pipeline's own strings) */
	f.node.more = NULL;
	ck_expand_error(&f, "${matrix.lr}", "unknown matrix key 'lr'");
	ck_expand_error(&f, "${matrix.id}", "unknown matrix key 'id'");
	f.ip.node = NULL;
	ck_expand_error(&f, "${matrix.lr}", "unknown matrix key 'lr'");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_run_values)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "${run.id}/${run.date}/${run.week}/${run.trigger}", false, "17/2026-11-23/2026-W48/manual");
	ck_expand(&f, "${run.interval_start}..${run.interval_end}", false, "2026-11-22T23:00:00Z..2026-11-29T23:00:00Z");
	f.ip.run_id = 1234567890123LL;
	ck_expand(&f, "id=${run.id}", true, "id=1234567890123");
	/* the month and quarter of the logical date (cohorts: ${run.month}, ${run.quarter}) */
	ck_expand(&f, "${run.month} ${run.quarter}", false, "2026-11 2026-Q4");
	ck_expand_error(&f, "${run.commit}", "unknown run value 'commit'",
			"run.id, run.date, run.week, run.month, run.quarter, run.trigger");
	ck_expand_error(&f, "${run}", "unknown run value ''");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_env)
{
	fixture f;

	fixture_init(&f);
	ck_assert_int_eq(setenv("NF_CHECK_RUN_VAR", "some value", 1), 0);
	ck_assert_int_eq(unsetenv("NF_CHECK_RUN_UNSET"), 0);
	ck_expand(&f, "${env.NF_CHECK_RUN_VAR}", false, "some value");
	ck_expand(&f, "echo ${env.NF_CHECK_RUN_VAR}", true, "echo 'some value'");
	ck_assert_int_eq(setenv("NF_CHECK_RUN_VAR", "", 1), 0);
	ck_expand(&f, "[${env.NF_CHECK_RUN_VAR}]", false, "[]");
	ck_expand_error(&f, "${env.NF_CHECK_RUN_UNSET}", "environment variable 'NF_CHECK_RUN_UNSET' is not set",
			"${env.NF_CHECK_RUN_UNSET}");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_dag_dir)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "${dag.dir}/x", false, "/srv/proj/dags/x");
	f.ip.dag_dir = "/srv/my proj";
	ck_expand(&f, "cd ${dag.dir}", true, "cd '/srv/my proj'");
	ck_expand_error(&f, "${dag.file}", "unknown value 'file'", "(dag.dir)");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_stages_best)
{
	fixture f;

	fixture_init(&f);
	ck_expand(&f, "train --lr ${stages.tune.best.lr}", true, "train --lr 0.2");
	ck_expand(&f, "--opt ${stages.tune.best.opt}", true, "--opt 'adam w'");
	ck_expand(&f, "--opt ${stages.tune.best.opt}", false, "--opt adam w");
	/* the callback's own error is passed up */
	ck_expand_error(&f, "${stages.tune.best.l2}", "fake: no best 'l2' of stage 'tune'");
	ck_expand_error(&f, "${stages.tnue.best.lr}", "fake: no best 'lr' of stage 'tnue'");
	/* malformed references never reach the callback */
	ck_expand_error(&f, "${stages.tune}", "expected ${stages.STAGE.best.KEY}", "found ${stages.tune}");
	ck_expand_error(&f, "${stages.tune.best.}", "expected ${stages.STAGE.best.KEY}");
	ck_expand_error(&f, "${stages..best.lr}", "expected ${stages.STAGE.best.KEY}");
	ck_expand_error(&f, "${stages.tune.worst.lr}", "expected ${stages.STAGE.best.KEY}");
	fixture_release(&f);
}
END_TEST

START_TEST(test_expand_unknown_namespace)
{
	fixture f;

	fixture_init(&f);
	ck_expand_error(&f, "${param.seed}", "unknown namespace", "${param.seed}");
	ck_expand_error(&f, "${foo}", "unknown namespace", "${foo}");
	ck_expand_error(&f, "${}", "unknown namespace");
	ck_expand_error(&f, "${paramsx.seed}", "unknown namespace");
	/* the first bad reference stops the expansion even after good ones */
	ck_expand_error(&f, "${params.seed} ${nope.x} ${params.rows}", "${nope.x}");
	fixture_release(&f);
}
END_TEST

/* ---- shell quoting, proven by the shell ---- */

/* Runs /bin/sh -c cmd in dir; returns its stdout (caller frees) and *status. */
static char *
sh_output(const char *dir, const char *cmd, int *status)
{
	int fds[2];
	pid_t pid;
	nf_buf b = NF_BUF_INIT;
	char chunk[4096];
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (chdir(dir) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(n, 0);
		nf_buf_add(&b, chunk, (size_t)n);
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, status, 0), pid);
	return nf_buf_detach(&b);
}

/* The value, interpolated into a command, reaches printf as exactly one word, unchanged,
 * and nothing in it runs. */
static void
check_one_word(const char *value)
{
	fixture f;
	char dir[] = "/tmp/check_run.XXXXXX";
	char *cmd, *out, *want, *pwned;
	int err, status;

	fixture_init(&f);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(setenv("NF_CHECK_RUN_QUOTE", value, 1), 0);
	/* '<%s>' repeats per word: two words would print "<a><b>" */
	cmd = expand(&f, "printf '<%s>' ${env.NF_CHECK_RUN_QUOTE}", true, &err);
	ck_assert_msg(err == 0, "%s", nf_error_last());
	out = sh_output(dir, cmd, &status);
	want = xasprintf("<%s>", value);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sh -c \"%s\" failed", cmd);
	ck_assert_msg(strcmp(out, want) == 0, "value:\n%s\ncommand:\n%s\noutput:\n%s", value, cmd, out);
	pwned = xasprintf("%s/pwned", dir);
	ck_assert_msg(access(pwned, F_OK) != 0, "the value ran as code: %s", cmd);
	unlink(pwned);
	rmdir(dir);
	free(pwned);
	free(want);
	free(out);
	free(cmd);
	fixture_release(&f);
}

START_TEST(test_shell_quoting)
{
	static const char *const values[] = {
		"a;b $(touch pwned) \"q\" 'x'\nline two",
		"plain",
		"two words",
		"",
		"'",
		"''",
		"\"",
		"\\",
		"ends with backslash\\",
		"$(touch pwned)",
		"`touch pwned`",
		"; touch pwned",
		"&& touch pwned ||",
		"| touch pwned",
		"> pwned",
		"$HOME ${HOME} $1 $@ $*",
		"*",
		"?",
		"[a-z]*",
		"~",
		"~root",
		"a\tb\nc\r\n",
		"\n",
		"  leading and trailing  ",
		"it's a 'quoted' \"thing\"",
		"'; touch pwned; echo '",
		"\"; touch pwned; echo \"",
		"#not a comment",
		"a=b",
		"-n",
		"--",
		"%s%d%%",
		"caf\xc3\xa9 \xe2\x82\xac",
		"{a,b}",
		"!",
		"(subshell)",
		"<(process)",
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(values); i++)
		check_one_word(values[i]);
}
END_TEST

START_TEST(test_shell_quoting_param)
{
	fixture f;
	char dir[] = "/tmp/check_run.XXXXXX";
	char *cmd, *out, *pwned;
	int err, status;

	fixture_init(&f);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	cmd = expand(&f, "printf %s ${params.nasty}", true, &err);
	ck_assert_msg(err == 0, "%s", nf_error_last());
	out = sh_output(dir, cmd, &status);
	ck_assert_str_eq(out, "a;b $(touch pwned) \"q\" 'x'\nline two");
	pwned = xasprintf("%s/pwned", dir);
	ck_assert_msg(access(pwned, F_OK) != 0, "the parameter ran as code: %s", cmd);
	unlink(pwned);
	rmdir(dir);
	free(pwned);
	free(out);
	free(cmd);
	/* without quoting (paths, env values) the text is verbatim */
	ck_expand(&f, "${params.nasty}", false, "a;b $(touch pwned) \"q\" 'x'\nline two");
	fixture_release(&f);
}
END_TEST

/* ---- nf_value_text ---- */

START_TEST(test_value_text)
{
	nf_arena *a = nf_arena_new();
	nf_value v;
	nf_value items[2];

	memset(&v, 0, sizeof(v));
	v.kind = NF_V_NUMBER;
	v.num = 0.001;
	v.num_text = "1e-3";
	ck_assert_str_eq(nf_value_text(&v), "1e-3");   /* as written, not reformatted */
	v.num_text = "42";
	v.num = 42;
	ck_assert_str_eq(nf_value_text(&v), "42");

	memset(&v, 0, sizeof(v));
	v.kind = NF_V_BOOL;
	v.boolean = true;
	ck_assert_str_eq(nf_value_text(&v), "true");
	v.boolean = false;
	ck_assert_str_eq(nf_value_text(&v), "false");

	memset(&v, 0, sizeof(v));
	v.kind = NF_V_STRING;
	v.str = tmpl(a, "hello world");
	ck_assert_str_eq(nf_value_text(&v), "hello world");
	v.str = tmpl(a, "");
	ck_assert_str_eq(nf_value_text(&v), "");
	/* a string with a reference has no text of its own */
	v.str = tmpl(a, "a ${params.x}");
	ck_assert_str_eq(nf_value_text(&v), "");

	memset(&v, 0, sizeof(v));
	memset(items, 0, sizeof(items));
	items[0].kind = NF_V_NUMBER;
	items[0].num_text = "1";
	items[1].kind = NF_V_NUMBER;
	items[1].num_text = "2";
	v.kind = NF_V_LIST;
	v.items = items;
	v.nitems = 2;
	ck_assert_str_eq(nf_value_text(&v), "");
	nf_arena_free(a);
}
END_TEST

/* ---- ISO weeks ---- */

#define ck_week(date, expect) do { \
	char w_[16]; \
	memset(w_, 'x', sizeof(w_)); \
	ck_assert_msg(nf_iso_week(w_, (date)) == 0, "%s: %s", (date), nf_error_last()); \
	ck_assert_str_eq(w_, (expect)); \
} while (0)

#define ck_bad_date(date, msg) do { \
	char w_[16]; \
	ck_assert_msg(nf_iso_week(w_, (date)) == NF_EINVALID, "'%s' accepted", (date)); \
	ck_assert_msg(strstr(nf_error_last(), (msg)), "'%s': message '%s' lacks '%s'", (date), \
		      nf_error_last(), (msg)); \
} while (0)

START_TEST(test_iso_week)
{
	ck_week("2026-11-23", "2026-W48");
	ck_week("2021-01-03", "2020-W53");   /* a Sunday: still the last week of 2020 */
	ck_week("2021-01-04", "2021-W01");
	ck_week("2026-01-01", "2026-W01");   /* a Thursday: week 1 */
	ck_week("2024-12-30", "2025-W01");   /* a Monday in December: next year's week 1 */
	ck_week("2027-01-03", "2026-W53");
	ck_week("2024-02-29", "2024-W09");
	ck_week("2000-02-29", "2000-W09");
	ck_week("1999-12-31", "1999-W52");
}
END_TEST

START_TEST(test_iso_week_bad_dates)
{
	ck_bad_date("", "expected YYYY-MM-DD");
	ck_bad_date("yesterday", "expected YYYY-MM-DD");
	ck_bad_date("2026-11", "expected YYYY-MM-DD");
	ck_bad_date("2026-1-23", "expected YYYY-MM-DD");
	ck_bad_date("2026-11-2", "expected YYYY-MM-DD");
	ck_bad_date("2026-11-233", "expected YYYY-MM-DD");
	ck_bad_date("2026-11-23x", "expected YYYY-MM-DD");
	ck_bad_date("2026/11/23", "expected YYYY-MM-DD");
	ck_bad_date("23-11-2026", "expected YYYY-MM-DD");
	ck_bad_date("+026-11-23", "expected YYYY-MM-DD");
	ck_bad_date(" 026-11-23", "expected YYYY-MM-DD");
	ck_bad_date("2026-+1-23", "expected YYYY-MM-DD");
	ck_bad_date("2026-13-01", "2026-13-01");
	ck_bad_date("2026-00-10", "2026-00-10");
	ck_bad_date("2026-11-00", "2026-11-00");
	ck_bad_date("2026-11-32", "2026-11-32");
	ck_bad_date("2026-02-30", "no such day");
	ck_bad_date("2025-02-29", "no such day");
	ck_bad_date("2100-02-29", "no such day");
	ck_bad_date("2026-04-31", "no such day");
}
END_TEST

/* ---- metrics ---- */

typedef struct mfile {
	char dir[32];
	char *path;
} mfile;

static void
mfile_write(mfile *m, const char *data, size_t len)
{
	FILE *fp;

	snprintf(m->dir, sizeof(m->dir), "/tmp/check_run.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(m->dir));
	m->path = xasprintf("%s/metrics.json", m->dir);
	if (!data)
		return;
	fp = fopen(m->path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
mfile_release(mfile *m)
{
	unlink(m->path);
	rmdir(m->dir);
	free(m->path);
}

/* Reads data as a metrics file; returns the code, the set in *set. */
static int
read_metrics(nf_metric_set *set, const char *data, char **path_out)
{
	mfile m;
	int err;

	mfile_write(&m, data, data ? strlen(data) : 0);
	nf_error_clear();
	err = nf_metrics_read(set, m.path);
	if (path_out)
		*path_out = xstrdup(m.path);
	mfile_release(&m);
	return err;
}

static double
metric(const nf_metric_set *set, const char *name)
{
	double v = -12345;

	ck_assert_msg(nf_metrics_get(set, name, &v) == 0, "no metric '%s'", name);
	return v;
}

/* The file is refused with NF_EINVALID and a message naming it and containing want. */
static void
check_bad_metrics(const char *data, size_t len, const char *want, const char *want2)
{
	nf_metric_set set;
	mfile m;
	int err;

	mfile_write(&m, data, len);
	memset(&set, 0xff, sizeof(set));
	nf_error_clear();
	err = nf_metrics_read(&set, m.path);
	ck_assert_msg(err == NF_EINVALID, "'%s': got %d (%s)", data, err, nf_error_last());
	ck_assert_msg(strstr(nf_error_last(), m.path), "message '%s' does not name %s", nf_error_last(), m.path);
	ck_assert_msg(strstr(nf_error_last(), want), "'%s': message '%s' lacks '%s'", data, nf_error_last(), want);
	if (want2)
		ck_assert_msg(strstr(nf_error_last(), want2), "'%s': message '%s' lacks '%s'", data, nf_error_last(), want2);
	/* nothing is left to free after an error */
	ck_assert_uint_eq(set.n, 0);
	ck_assert_uint_eq(set.nwarnings, 0);
	ck_assert_ptr_null(set.names);
	nf_metric_set_release(&set);
	mfile_release(&m);
}

START_TEST(test_metrics_flat)
{
	nf_metric_set set;

	ck_assert_int_eq(read_metrics(&set, "{\"accuracy\": 0.91, \"auc\": 0.875, \"n\": 20000, \"neg\": -1.5e-3}\n", NULL), 0);
	ck_assert_uint_eq(set.n, 4);
	ck_assert_uint_eq(set.nwarnings, 0);
	ck_assert_double_eq(metric(&set, "accuracy"), 0.91);
	ck_assert_double_eq(metric(&set, "auc"), 0.875);
	ck_assert_double_eq(metric(&set, "n"), 20000);
	ck_assert_double_eq(metric(&set, "neg"), -1.5e-3);
	nf_metric_set_release(&set);
	ck_assert_uint_eq(set.n, 0);
	nf_metric_set_release(&set);   /* twice is harmless */
}
END_TEST

START_TEST(test_metrics_get_missing)
{
	nf_metric_set set;
	double v = 7;

	ck_assert_int_eq(read_metrics(&set, "{\"a\": 1}", NULL), 0);
	ck_assert_int_eq(nf_metrics_get(&set, "b", &v), NF_ENOTFOUND);
	ck_assert_int_eq(nf_metrics_get(&set, "", &v), NF_ENOTFOUND);
	ck_assert_double_eq(v, 7);
	nf_metric_set_release(&set);
}
END_TEST

START_TEST(test_metrics_nested)
{
	nf_metric_set set;

	ck_assert_int_eq(read_metrics(&set,
		"{\"eval\": {\"acc\": 0.9, \"per_class\": {\"fraud\": {\"recall\": 0.7}}},\n"
		" \"loss\": 0.3, \"ok\": true, \"bad\": false, \"empty\": {}}", NULL), 0);
	ck_assert_uint_eq(set.n, 5);
	ck_assert_double_eq(metric(&set, "eval.acc"), 0.9);
	ck_assert_double_eq(metric(&set, "eval.per_class.fraud.recall"), 0.7);
	ck_assert_double_eq(metric(&set, "loss"), 0.3);
	ck_assert_double_eq(metric(&set, "ok"), 1);
	ck_assert_double_eq(metric(&set, "bad"), 0);
	ck_assert_int_eq(nf_metrics_get(&set, "eval", &(double){ 0 }), NF_ENOTFOUND);
	nf_metric_set_release(&set);
}
END_TEST

START_TEST(test_metrics_ignored_with_warnings)
{
	nf_metric_set set;
	char *path = NULL;
	bool saw_string = false, saw_array = false, saw_null = false;

	ck_assert_int_eq(read_metrics(&set,
		"{\"auc\": 0.8, \"model\": \"gbm\", \"curve\": [0.1, 0.2], \"nothing\": null,"
		" \"sub\": {\"name\": \"x\", \"v\": 2}}", &path), 0);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_double_eq(metric(&set, "auc"), 0.8);
	ck_assert_double_eq(metric(&set, "sub.v"), 2);
	ck_assert_uint_eq(set.nwarnings, 4);
	for (size_t i = 0; i < set.nwarnings; i++) {
		const char *w = set.warnings[i];

		ck_assert_msg(strstr(w, path), "warning '%s' does not name the file", w);
		ck_assert_msg(strstr(w, "ignored"), "warning '%s' does not say it was ignored", w);
		if (strstr(w, "'model'"))
			saw_string = strstr(w, "string") != NULL;
		if (strstr(w, "'curve'"))
			saw_array = strstr(w, "array") != NULL;
		if (strstr(w, "'nothing'"))
			saw_null = strstr(w, "null") != NULL;
	}
	ck_assert(saw_string);
	ck_assert(saw_array);
	ck_assert(saw_null);
	ck_assert_int_eq(nf_metrics_get(&set, "model", &(double){ 0 }), NF_ENOTFOUND);
	nf_metric_set_release(&set);
	ck_assert_uint_eq(set.nwarnings, 0);
	free(path);
}
END_TEST

START_TEST(test_metrics_empty_object)
{
	nf_metric_set set;

	ck_assert_int_eq(read_metrics(&set, "{}", NULL), 0);
	ck_assert_uint_eq(set.n, 0);
	nf_metric_set_release(&set);
}
END_TEST

START_TEST(test_metrics_missing_file)
{
	nf_metric_set set;
	char *path = NULL;

	ck_assert_int_eq(read_metrics(&set, NULL, &path), NF_ENOTFOUND);
	ck_assert_msg(strstr(nf_error_last(), path), "message '%s' does not name the file", nf_error_last());
	ck_assert_msg(strstr(nf_error_last(), "does not exist"), "message: %s", nf_error_last());
	ck_assert_uint_eq(set.n, 0);
	free(path);
}
END_TEST

START_TEST(test_metrics_empty_file)
{
	check_bad_metrics("", 0, "is empty", NULL);
	check_bad_metrics(" \n\t\r\n", 5, "is empty", NULL);
}
END_TEST

START_TEST(test_metrics_truncated)
{
	/* cut inside the second value: the error is at the end, line 2, column 7 */
	check_bad_metrics("{\"a\": 1,\n \"b\": ", 15, ":2:7:", "truncated");
	check_bad_metrics("{\"a\": 1", 7, ":1:", "truncated");
	check_bad_metrics("{\"a\": 1,", 8, ":1:", "truncated");
	check_bad_metrics("{\"a\": {\"b\": 1}\n", 15, ":2:", "truncated");
	/* (an unterminated string is reported where it starts: cJSON gives no better place) */
	check_bad_metrics("{\"a\": \"unterminated", 19, ":1:8:", "invalid JSON");
	check_bad_metrics("{", 1, ":1:", "truncated");
}
END_TEST

START_TEST(test_metrics_not_json)
{
	check_bad_metrics("hello", 5, ":1:1:", "invalid JSON");
	check_bad_metrics("auc=0.9\n", 8, ":1:1:", "invalid JSON");
	/* a syntax error in the middle is not called truncated */
	check_bad_metrics("{\"a\": 1,\n \"b\" 2}\n", 17, ":2:", "invalid JSON");
	check_bad_metrics("{\"a\": 1x}", 9, ":1:", "invalid JSON");
	check_bad_metrics("{\"a\": 1} trailing", 17, ":1:", "invalid JSON");
	check_bad_metrics("{\"a\": 1}\n{\"b\": 2}\n", 18, ":2:", "invalid JSON");
	check_bad_metrics("{\"a\": 1\0}", 9, "NUL", NULL);
}
END_TEST

START_TEST(test_metrics_syntax_error_not_truncated)
{
	nf_metric_set set;
	mfile m;

	mfile_write(&m, "{\"a\": 1x}", 9);
	ck_assert_int_eq(nf_metrics_read(&set, m.path), NF_EINVALID);
	ck_assert_msg(!strstr(nf_error_last(), "truncated"), "message: %s", nf_error_last());
	mfile_release(&m);
	mfile_write(&m, "{\"a\": 1,\n \"b\" 2}\n", 17);
	ck_assert_int_eq(nf_metrics_read(&set, m.path), NF_EINVALID);
	ck_assert_msg(!strstr(nf_error_last(), "truncated"), "message: %s", nf_error_last());
	mfile_release(&m);
}
END_TEST

START_TEST(test_metrics_non_finite)
{
	check_bad_metrics("{\"a\": NaN}", 10, "NaN and Infinity", NULL);
	check_bad_metrics("{\"a\": Infinity}", 15, "NaN and Infinity", NULL);
	check_bad_metrics("{\"a\": -Infinity}", 16, "NaN and Infinity", NULL);
	check_bad_metrics("{\"a\": {\"b\": nan}}", 17, "invalid JSON", NULL);
	/* a number too big for a double overflows to infinity: refused, naming the metric */
	check_bad_metrics("{\"x\": {\"big\": 1e999}}", 21, "'x.big'", "not a finite number");
	check_bad_metrics("{\"small\": -1e999}", 17, "'small'", "not a finite number");
}
END_TEST

START_TEST(test_metrics_not_an_object)
{
	check_bad_metrics("[1, 2, 3]", 9, "must hold a JSON object", NULL);
	check_bad_metrics("[{\"a\": 1}]", 10, "must hold a JSON object", NULL);
	check_bad_metrics("0.93", 4, "must hold a JSON object", NULL);
	check_bad_metrics("\"auc\"", 5, "must hold a JSON object", NULL);
	check_bad_metrics("null", 4, "must hold a JSON object", NULL);
}
END_TEST

START_TEST(test_metrics_too_deep)
{
	nf_buf b = NF_BUF_INIT;

	for (int i = 0; i < 40; i++)
		nf_buf_puts(&b, "{\"a\": ");
	nf_buf_puts(&b, "1");
	for (int i = 0; i < 40; i++)
		nf_buf_putc(&b, '}');
	check_bad_metrics(nf_buf_cstr(&b), b.len, "nested deeper than", NULL);
	nf_buf_release(&b);
}
END_TEST

static Suite *
run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("interp");
	TCase *tw = tcase_create("week");
	TCase *tm = tcase_create("metrics");

	tcase_add_test(tc, test_expand_literal_only);
	tcase_add_test(tc, test_expand_params);
	tcase_add_test(tc, test_expand_matrix);
	tcase_add_test(tc, test_expand_run_values);
	tcase_add_test(tc, test_expand_env);
	tcase_add_test(tc, test_expand_dag_dir);
	tcase_add_test(tc, test_expand_stages_best);
	tcase_add_test(tc, test_expand_unknown_namespace);
	tcase_add_test(tc, test_shell_quoting);
	tcase_add_test(tc, test_shell_quoting_param);
	tcase_add_test(tc, test_value_text);
	suite_add_tcase(s, tc);

	tcase_add_test(tw, test_iso_week);
	tcase_add_test(tw, test_iso_week_bad_dates);
	suite_add_tcase(s, tw);

	tcase_add_test(tm, test_metrics_flat);
	tcase_add_test(tm, test_metrics_get_missing);
	tcase_add_test(tm, test_metrics_nested);
	tcase_add_test(tm, test_metrics_ignored_with_warnings);
	tcase_add_test(tm, test_metrics_empty_object);
	tcase_add_test(tm, test_metrics_missing_file);
	tcase_add_test(tm, test_metrics_empty_file);
	tcase_add_test(tm, test_metrics_truncated);
	tcase_add_test(tm, test_metrics_not_json);
	tcase_add_test(tm, test_metrics_syntax_error_not_truncated);
	tcase_add_test(tm, test_metrics_non_finite);
	tcase_add_test(tm, test_metrics_not_an_object);
	tcase_add_test(tm, test_metrics_too_deep);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(run_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
