/* check_shell.c: where a ${...} stands in a `run` command as /bin/sh reads it (src/dag/shell.c),
 * the places refused, and a property test: random byte strings put into bare, "...", '...',
 * here-document and nested positions reach the shell byte for byte, and nothing in them runs.
 * The seed is printed; NTFLOW_SHELL_SEED=N repeats a run. */
#include "config.h"
#include "ntflow/run.h"
#include "tmpl-fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SEED UINT64_C(20261123)
#define ITERATIONS 300

/* The contexts of t's references, in order, as letters: b (bare), q (bare, always quoted),
 * d ("..."), s ('...'), h (here-document), x (refused). */
static char *
contexts(const char *text, int *err)
{
	static const char letters[] = { [NF_SH_BARE] = 'b', [NF_SH_BARE_QUOTED] = 'q', [NF_SH_DQUOTE] = 'd',
					[NF_SH_SQUOTE] = 's', [NF_SH_HEREDOC] = 'h', [NF_SH_REFUSED] = 'x' };
	nf_arena *a = nf_arena_new();
	nf_tmpl t = tmpl(a, text);
	nf_sh_pos *pos = xcalloc(t.nsegs + 1, sizeof(*pos));
	nf_buf b = NF_BUF_INIT;

	nf_error_clear();
	*err = nf_sh_scan(pos, &t);
	for (size_t i = 0; i < t.nsegs; i++)
		if (t.segs[i].is_ref)
			nf_buf_putc(&b, letters[pos[i].ctx]);
	free(pos);
	nf_arena_free(a);
	return nf_buf_detach(&b);
}

#define ck_contexts(text, want) do { \
	int err_; \
	char *got_ = contexts((text), &err_); \
	ck_assert_msg(strcmp(got_, (want)) == 0, "%s: contexts '%s', expected '%s'", (text), got_, (want)); \
	ck_assert_int_eq(err_, strchr((want), 'x') ? NF_EINVALID : 0); \
	free(got_); \
} while (0)

/* The first refused reference's message holds why. */
#define ck_refused(text, why) do { \
	int err_; \
	char *got_ = contexts((text), &err_); \
	ck_assert_msg(err_ == NF_EINVALID, "%s: not refused (contexts '%s')", (text), got_); \
	ck_assert_msg(strstr(nf_error_last(), (why)), "%s: message '%s' lacks '%s'", (text), nf_error_last(), (why)); \
	free(got_); \
} while (0)

START_TEST(test_contexts)
{
	ck_contexts("echo ${a}", "b");
	ck_contexts("echo \"msg: ${a}\" '${a}' x${a}y", "dsb");
	ck_contexts("echo \"it's ${a}\" 'say \"${a}\"'", "ds");
	ck_contexts("echo ~${a} ~/${a}", "qb");
	ck_contexts("${a}=1 x${a}=2 y=${a} cmd", "qqb");
	ck_contexts("echo \\\" ${a} \\' ${a}", "bb");
	ck_contexts("echo \"\\\"${a}\\\\\" ${a}", "db");
	ck_contexts("echo \"$(echo ${a} \"${a}\" '${a}')\" ${a}", "bdsb");
	ck_contexts("echo $(echo \")\" ${a}) ${a}", "bb");
	ck_contexts("echo $(echo ')' \"(\" ${a}) '${a}'", "bs");
	ck_contexts("echo $( (cd x && ls) ${a}) \"${a}\"", "bd");
	ck_contexts("echo $$ $? ${a} \"$1${a}\" \"${HOME}${a}\"", "bdd");
	ck_contexts("echo $((1 + 2)) ${a} \"$((3))${a}\"", "bd");
	ck_contexts("a=${a}; b=\"${a}\"", "bd");
	ck_contexts("echo a#b ${a} # comment\necho ${a}", "bb");
	ck_contexts("cat <<EOF\nx ${a} \"${a}\" '${a}'\nEOF\necho ${a}", "hhhb");
	ck_contexts("cat <<-\"EOF\" ; echo ${a}\n\tbody\n\tEOF\necho \"${a}\"", "bd");
	ck_contexts("cat <<A <<'B'\n${a}\nA\nb\nB\n${a}", "hb");
	ck_contexts("cat << EOF\n${a}\n EOF\nEOF\n${a}", "hb");
	ck_contexts("cat <<EOF\n$(date) ${HOME} `date` ${a}\nEOF", "h");
	ck_contexts("cat <<<${a}", "b");
	ck_contexts("echo 'unterminated ${a}", "s");
	ck_contexts("echo \"\n${a}\n\"", "d");
	ck_contexts("printf \"%s\\n\" \"$$\" ${a}", "b");
	ck_contexts("echo \\\n${a} ${a}", "bb");
	ck_contexts("echo $\"${a}\"", "d");
	ck_contexts("echo \"$'${a}'\"", "d");
}
END_TEST

START_TEST(test_refused)
{
	ck_contexts("echo `echo ${a}` ${a}", "xb");
	ck_contexts("echo \"`echo ${a}`\" \"${a}\"", "xd");
	ck_contexts("echo # ${a}\n${a}", "xb");
	ck_contexts("echo ${HOME:-${a}} \"${x:+\"${a}\"}\" ${a}", "xxb");
	/* "((": arithmetic to bash, two subshells to dash: what follows is refused */
	ck_contexts("echo $((${a} + 1)) $((1 + $(echo ${a}))) ((${a})) ${a}", "xxxx");
	ck_refused("((cat <<EOF))\n${a}\nEOF", "which bash reads as arithmetic and dash as two subshells");
	/* A line continuation is taken out before the shell reads a token: "<\<newline><" is a
	 * here-document, "$\<newline>(" a $(...), "ca\<newline>se" the word case (each let a -p
	 * value run as code, quoted for the place the model saw) */
	ck_contexts("cat <\\\n<EOF\n${a}\nEOF\n", "h");
	ck_contexts("printf %s \"$\\\n(echo ${a})\"", "b");
	ck_contexts("printf %s \"$(ca\\\nse x in x) echo ${a};; esac)\"", "x");
	ck_contexts("printf %s \"$(case\\\n x in x) echo ${a};; esac)\"", "x");
	ck_contexts("echo a\\\n#b ${a}", "b");          /* "a#b": no comment */
	ck_contexts("echo '\\\n' ${a} \"\\\n\" ${a}", "bb");   /* in '...' it stays */
	ck_contexts("cat <<E\\\nOF\n${a}\nEOF\n", "h");   /* the delimiter EOF, unquoted */
	ck_contexts("echo \\${a} \"\\${a}\" ${a}", "xxb");
	ck_contexts("echo $${a} \"$${a}\" '$${a}'", "xxs");
	ck_contexts("echo $HOME${a} \"$HOME${a}\" \"$HOME-${a}\"", "xxd");
	ck_contexts("cat <<'EOF'\n${a}\nEOF\n${a}", "xb");
	ck_contexts("cat <<E\\OF\n${a}\nEOF\n${a}", "xb");
	ck_contexts("cat <<\"EOF\"\n${a}\nEOF\n${a}", "xb");
	ck_contexts("cat <<${a}\nx\n", "x");
	ck_contexts("cat <<EOF${a}\nx\nEOF\n${a}", "xx");
	ck_contexts("cat <<E\\${a}\nx\nE\n${a}", "xx");
	ck_contexts("cat <<EOF\n$(echo ${a})\nEOF\n${a}", "xb");
	ck_contexts("x=$(case a in a) echo;; esac) ${a}", "x");
	ck_contexts("echo $(echo case x) ${a}", "x");   /* not a case statement, but refused all the same */
	ck_contexts("echo $(echo case) ${a}", "b");     /* "case)" cannot start one */
	ck_contexts("echo $'a' ${a}", "x");
	ck_contexts("echo $((1 ) ${a}", "x");
	ck_contexts("echo $((\"1\")) ${a}", "x");
	ck_contexts("echo \"${x:-'}'}\" ${a}", "x");

	ck_refused("echo `${a}`", "inside backquotes");
	ck_refused("echo #${a}", "inside a shell comment");
	ck_refused("echo ${x%${a}}", "inside a shell parameter expansion");
	ck_refused("echo $((${a}))", "inside arithmetic");
	ck_refused("echo \\${a}", "right after a backslash");
	ck_refused("echo $${a}", "right after a '$'");
	ck_refused("echo \"$x${a}\"", "write ${NAME}");
	ck_refused("cat <<'E'\n${a}\nE", "quoted here-document");
	ck_refused("cat <<${a}", "here-document delimiter");
	ck_refused("f=$(case x in x) :;; esac)\n${a}", "after `case` inside $(...)");
	ck_refused("echo $'\\'' ${a}", "bash and dash read differently");
	ck_refused("cat <<${NTFLOW_+}E\n${a}\n", "whose delimiter starts with");
	ck_refused("cat <<'${NTFLOW_+}E'\n${a}\n${NTFLOW_+}E\n", "quoted here-document");
	/* A line continuation in an unquoted body: "x \" and "EOF" are one line to the shell,
	 * so the body goes on past that "EOF" (a value there ran as code). */
	ck_refused("cat >o <<EOF\nx \\\nEOF\ny ${a}\nEOF\n", "ends in a backslash");
	ck_refused("cat >o <<EOF\n\\\nEOF\n${a}\nEOF\n", "ends in a backslash");
	ck_contexts("cat >o <<EOF\nx \\\\\nEOF\n${a}", "b");   /* "\\\\": a backslash, no continuation */
	ck_contexts("cat >o <<'EOF'\nx \\\nEOF\n${a}", "b");       /* quoted: the line is kept as it is */
}
END_TEST

START_TEST(test_deep_nesting)
{
	nf_buf b = NF_BUF_INIT;
	int err;
	char *got;

	/* nesting past the limit is refused, never a stack overflow */
	for (int i = 0; i < 100000; i++)
		nf_buf_puts(&b, "\"$(");
	nf_buf_puts(&b, "${a}");
	got = contexts(nf_buf_cstr(&b), &err);
	ck_assert_str_eq(got, "x");
	ck_assert_msg(strstr(nf_error_last(), "nested too deeply"), "%s", nf_error_last());
	free(got);
	nf_buf_reset(&b);
	for (int i = 0; i < 100000; i++)
		nf_buf_puts(&b, "$((");
	nf_buf_puts(&b, "${a}");
	got = contexts(nf_buf_cstr(&b), &err);
	ck_assert_str_eq(got, "x");
	free(got);
	nf_buf_release(&b);
}
END_TEST

START_TEST(test_quote)
{
	static const struct {
		nf_sh_ctx ctx;
		const char *v, *want;
	} cases[] = {
		{ NF_SH_BARE, "0.05", "0.05" },
		{ NF_SH_BARE, "build/tune/lr-0.05_l2-0", "build/tune/lr-0.05_l2-0" },
		{ NF_SH_BARE, "", "''" },
		{ NF_SH_BARE, "a b", "'a b'" },
		{ NF_SH_BARE, "a=b", "'a=b'" },
		{ NF_SH_BARE, "if", "'if'" },
		{ NF_SH_BARE, "it's", "'it'\\''s'" },
		{ NF_SH_BARE_QUOTED, "root", "'root'" },
		{ NF_SH_DQUOTE, "a $x `y` \"z\" \\ 'w'", "a \\$x \\`y\\` \\\"z\\\" \\\\ 'w'" },
		{ NF_SH_SQUOTE, "it's \"$x\"", "it'\\''s \"$x\"" },
		{ NF_SH_HEREDOC, "EOF\n$x \"\\\n", "${NTFLOW_+}EOF\n${NTFLOW_+}\\$x \"\\\\\n${NTFLOW_+}" },
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(cases); i++) {
		nf_buf b = NF_BUF_INIT;

		nf_sh_quote(&b, cases[i].ctx, cases[i].v);
		ck_assert_msg(strcmp(nf_buf_cstr(&b), cases[i].want) == 0, "case %zu: '%s', expected '%s'", i,
			      nf_buf_cstr(&b), cases[i].want);
		nf_buf_release(&b);
	}
}
END_TEST

/* ---- the property test ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* A random value: bytes 1..255, rich in what the shell treats specially, with whole
 * attacks and here-document delimiters mixed in. */
static char *
random_value(void)
{
	static const char special[] = "'\"\\$`\n\t ;&|<>(){}[]*?~#!=%-";
	static const char *const pieces[] = {
		"$(touch canary)", "`touch canary`", "'; touch canary; '", "\"; touch canary; \"",
		"\\\"; touch canary; \\\"", "\nEOF\n", "EOF", "\n\tEOF\n", "\tEOF", "${NTFLOW_+}", "\\\n",
		"'\\''", "$((1+1))", "${HOME}", "$HOME", "\n; touch canary\n", ")", "\")\"; touch canary; \"",
	};
	nf_buf b = NF_BUF_INIT;
	size_t len = (size_t)(rng() % 40);

	for (size_t i = 0; i < len; i++) {
		uint64_t r = rng() % 8;

		if (r == 0)
			nf_buf_puts(&b, pieces[rng() % NF_ARRAY_SIZE(pieces)]);
		else if (r < 4)
			nf_buf_putc(&b, special[rng() % (sizeof(special) - 1)]);
		else
			nf_buf_putc(&b, (char)(1 + rng() % 255));
	}
	nf_buf_putc(&b, '\0');   /* an empty value is a value too */
	return nf_buf_detach(&b);
}

static const char *current_value;

static const char *
value_param(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "v") == 0 ? current_value : NULL;
}

/* A position: the run template (writing to the file "out") and what out must then hold,
 * with %V for the value. */
typedef struct position {
	const char *name, *run, *want;
} position;

static const position positions[] = {
	{ "bare", "printf '%s' ${params.v} >out", "%V" },
	{ "bare in a word", "printf '%s' \"a\"${params.v}'b' >out", "a%Vb" },
	{ "double quotes", "printf '%s' \"<${params.v}>\" >out", "<%V>" },
	{ "single quotes", "printf '%s' '<${params.v}>' >out", "<%V>" },
	{ "here-document", "cat >out <<EOF\n<${params.v}>\nEOF", "<%V>\n" },
	{ "here-document, line start", "cat >out <<EOF\n${params.v}\nEOF\n", "%V\n" },
	{ "here-document <<-", "cat >out <<-EOF\n\t${params.v}\n\tEOF", "%V\n" },
	{ "here-document in $(...)", "printf '%s' \"$(cat <<EOF\n<${params.v}>\nEOF\n)\" >out", "<%V>" },
	{ "$(...) in double quotes", "printf '%s' \"$(printf '%s' \"<${params.v}>\" '<${params.v}>')\" >out", "<%V><%V>" },
	{ "line continuations", "printf '%s' \"$\\\n(printf '%s' \"<${params.v}>\")\" >o\\\nut", "<%V>" },
	{ "continued here-document", "cat >out <\\\n<EOF\n<${params.v}>\nEOF", "<%V>\n" },
};

/* want with %V replaced by v. */
static char *
expected(const char *want, const char *v)
{
	nf_buf b = NF_BUF_INIT;

	for (const char *p = want; *p; p++) {
		if (p[0] == '%' && p[1] == 'V') {
			nf_buf_puts(&b, v);
			p++;
		} else {
			nf_buf_putc(&b, *p);
		}
	}
	nf_buf_putc(&b, '\0');
	return nf_buf_detach(&b);
}

/* Runs shell -c cmd in dir with nothing on stdin; returns the exit status. */
static int
run_shell(const char *shell, const char *dir, const char *cmd)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		if (chdir(dir) < 0)
			_exit(126);
		execl(shell, shell, "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	return status;
}

static char *
slurp(const char *path)
{
	char *data = NULL;
	size_t len;

	if (nf_read_file(&data, &len, path, 0) < 0)
		return NULL;
	return data;
}

/* Shows a value with its bytes escaped, for failure messages. */
static char *
visible(const char *v)
{
	nf_buf b = NF_BUF_INIT;

	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			nf_buf_putc(&b, (char)*p);
		else
			nf_buf_printf(&b, "\\x%02x", *p);
	nf_buf_putc(&b, '\0');
	return nf_buf_detach(&b);
}

/* Expands pos with value v, runs it through shell in dir and checks out and the canary. */
static void
check_position(const char *shell, const char *dir, const position *pos, const char *v, uint64_t seed, int iter)
{
	nf_arena *a = nf_arena_new();
	nf_tmpl t = tmpl(a, pos->run);
	nf_interp ip = { .param = value_param };
	nf_buf cmd = NF_BUF_INIT;
	char *out_path = xasprintf("%s/out", dir), *canary = xasprintf("%s/canary", dir);
	char *want = expected(pos->want, v), *got, *shown = visible(v);
	int err, status;

	current_value = v;
	err = nf_interp_expand(&cmd, &t, &ip, true);
	ck_assert_msg(err == 0, "seed %" PRIu64 " iteration %d, %s: %s", seed, iter, pos->name, nf_error_last());
	unlink(out_path);
	status = run_shell(shell, dir, nf_buf_cstr(&cmd));
	got = slurp(out_path);
	ck_assert_msg(access(canary, F_OK) != 0, "seed %" PRIu64 " iteration %d, %s (%s): the value ran as code\n"
		      "value: %s\ncommand: %s", seed, iter, pos->name, shell, shown, nf_buf_cstr(&cmd));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && got && strcmp(got, want) == 0,
		      "seed %" PRIu64 " iteration %d, %s (%s): status %d\nvalue: %s\ncommand: %s\ngot: %s",
		      seed, iter, pos->name, shell, status, shown, nf_buf_cstr(&cmd), got ? got : "(no file)");
	free(got);
	free(shown);
	free(want);
	free(canary);
	free(out_path);
	nf_buf_release(&cmd);
	nf_arena_free(a);
}

START_TEST(test_random_values_reach_the_shell_intact)
{
	const char *env = getenv("NTFLOW_SHELL_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 10) : DEFAULT_SEED;
	char dir[] = "/tmp/check_shell.XXXXXX";
	bool have_bash = access("/bin/bash", X_OK) == 0;

	printf("check_shell: seed %" PRIu64 ", %d values (NTFLOW_SHELL_SEED=%" PRIu64 " repeats this run)\n",
	       seed, ITERATIONS, seed);
	fflush(stdout);
	rng_state = seed ? seed : 1;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (int iter = 0; iter < ITERATIONS; iter++) {
		char *v = random_value();

		for (size_t p = 0; p < NF_ARRAY_SIZE(positions); p++) {
			check_position("/bin/sh", dir, &positions[p], v, seed, iter);
			/* bash as /bin/sh elsewhere: every fourth value through it too */
			if (have_bash && iter % 4 == 0)
				check_position("/bin/bash", dir, &positions[p], v, seed, iter);
		}
		free(v);
	}
	{
		char *out_path = xasprintf("%s/out", dir);

		unlink(out_path);
		free(out_path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Every namespace goes through the same quoting: a refused place is refused whatever the
 * reference, and the message names it. */
START_TEST(test_expand_refuses)
{
	nf_arena *a = nf_arena_new();
	nf_interp ip = { .param = value_param, .run_date = "2026-11-23" };
	static const char *const runs[] = {
		"echo `echo ${params.v}`", "echo `${run.date}`", "echo # ${env.HOME}", "echo `${matrix.lr}`",
		"echo `${stages.tune.best.lr}`", "echo `${dag.dir}`",
	};

	current_value = "x";
	for (size_t i = 0; i < NF_ARRAY_SIZE(runs); i++) {
		nf_tmpl t = tmpl(a, runs[i]);
		nf_buf b = NF_BUF_INIT;
		const char *ref = strstr(runs[i], "${");

		nf_error_clear();
		ck_assert_msg(nf_interp_expand(&b, &t, &ip, true) == NF_EINVALID, "%s expanded to %s", runs[i], nf_buf_cstr(&b));
		ck_assert_msg(strncmp(nf_error_last(), ref, (size_t)(strchr(ref, '}') - ref + 1)) == 0 &&
			      strstr(nf_error_last(), " stands "), "%s: %s", runs[i], nf_error_last());
		nf_buf_release(&b);
	}
	nf_arena_free(a);
}
END_TEST

static Suite *
shell_suite(void)
{
	Suite *s = suite_create("shell");
	TCase *tc = tcase_create("scan");
	TCase *tp = tcase_create("property");

	tcase_add_test(tc, test_contexts);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_expand_refuses);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tp, 300);
	tcase_add_test(tp, test_random_values_reach_the_shell_intact);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(shell_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
