/* check_argv.c: which `run` commands are exec'd without /bin/sh and which keep it
 * (src/dag/argv.c), and their words (nf_interp_words): for every command that goes direct,
 * the words are those /bin/sh itself makes of the shell-quoted command, values with blanks,
 * quotes and metacharacters included. */
#include "config.h"
#include "ntflow/run.h"
#include "tmpl-fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
direct(const char *cmd)
{
	nf_arena *a = nf_arena_new();
	nf_tmpl t = tmpl(a, cmd);
	bool d = nf_argv_direct(&t);

	nf_arena_free(a);
	return d;
}

START_TEST(test_direct_commands)
{
	static const char *const yes[] = {
		"/bin/true", "touch out/a", "python3 train.py --seed 42", "a#b", "x a#b", "a~b",
		"cmd --opt=value", "cmd a=b", "  lead and trail  ", "tab\tseparated\targs",
		"prog d\xc3\xa9j\xc3\xa0 \xe2\x82\xac", "./bin/tool -v", "/usr/bin/env FOO=1 prog",
		"cmd ]", "cmd a,b %x @y +z", "cmd ${params.x}", "cmd --lr=${matrix.lr}", "cmd pre${a}post",
		"/usr/bin/printf %s", "/bin/kill -0 1", "cmd !x", "cmd x!", "truex", "xtest",
	};
	static const char *const no[] = {
		"", "   ", "\t", "echo \"a b\"", "echo 'a b'", "a\\ b", "x=1 y", "X=1", "cd d && x",
		"a #b", "#comment", "~/x", "cmd ~/x", "ls *.c", "ls a?", "ls [ab]", "a;b", "a|b", "a&",
		"a>b", "a<b", "(a)", "a $HOME", "a `b`", "a $(b)", "a\nb", "{ a; }", "a {b,c}", "exec x",
		"exit 1", "cd dir", ". ./env.sh", ": nothing", "export X", "if", "for", "while", "!",
		"echo hi", "set -e", "ulimit -n", "umask 077", "${params.tool} x", "pre${a} x", "read x",
		"source f", "eval x", "trap x", "wait", "time cmd", "$${x}",
		/* built-ins that differ from the program of their name (dash's printf has no %q) */
		"true", "false", "true --help", "printf %q x", "kill -l 137", "test a == a", "chdir sub",
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(yes); i++)
		ck_assert_msg(direct(yes[i]), "should go direct: '%s'", yes[i]);
	for (size_t i = 0; i < NF_ARRAY_SIZE(no); i++)
		ck_assert_msg(!direct(no[i]), "should go through sh: '%s'", no[i]);
	/* the same rules without references */
	ck_assert(nf_argv_direct_text("touch out/a"));
	ck_assert(!nf_argv_direct_text("touch out/a;"));
	ck_assert(!nf_argv_direct_text(""));
}
END_TEST

/* params.NAME for the tests: the value after "NAME=" in the table. */
static const char *const values[] = {
	"plain=abc", "blank=a b", "empty=", "meta=a;b|c&d>e<f $(touch pwned) `x` *.c ~ #",
	"quotes=it's \"q\" \\n", "tabs=\tx\t", "nl=line1\nline2", "eq==",
};

static const char *
param(void *ctx, const char *name)
{
	size_t n = strlen(name);

	(void)ctx;
	for (size_t i = 0; i < NF_ARRAY_SIZE(values); i++)
		if (strncmp(values[i], name, n) == 0 && values[i][n] == '=')
			return values[i] + n + 1;
	return NULL;
}

/* The words /bin/sh makes of cmd, NUL-ended, as `set -- cmd` gives them. */
static void
sh_words(nf_buf *out, size_t *n, const char *cmd)
{
	char *script = xasprintf("set -- %s; for a; do printf '%%s\\0' \"$a\"; done", cmd);
	int p[2];
	pid_t pid;
	char buf[4096];
	ssize_t r;
	int status;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((r = read(p[0], buf, sizeof(buf))) > 0)
		nf_buf_add(out, buf, (size_t)r);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	*n = 0;
	for (size_t i = 0; i < out->len; i++)
		*n += out->buf[i] == '\0';
	free(script);
}

START_TEST(test_words_as_sh_makes_them)
{
	static const char *const cmds[] = {
		"prog a b", "prog ${params.plain}", "prog ${params.blank}", "prog x${params.blank}y z",
		"prog ${params.empty}", "prog a${params.empty}b", "prog ${params.meta}", "prog ${params.quotes}",
		"prog ${params.tabs} ${params.nl}", "prog --opt=${params.blank}", "prog ${params.eq}",
		"prog\t${params.blank}\t${params.empty}  end ", "prog ${params.blank}${params.meta}",
	};
	nf_interp ip = { .param = param };

	for (size_t i = 0; i < NF_ARRAY_SIZE(cmds); i++) {
		nf_arena *a = nf_arena_new();
		nf_tmpl t = tmpl(a, cmds[i]);
		nf_buf quoted = NF_BUF_INIT, words = NF_BUF_INIT, sh = NF_BUF_INIT;
		size_t n = 0, nsh = 0;

		ck_assert_msg(nf_argv_direct(&t), "%s", cmds[i]);
		ck_assert_int_eq(nf_interp_expand(&quoted, &t, &ip, true), 0);
		ck_assert_int_eq(nf_interp_words(&words, &n, &t, &ip), 0);
		sh_words(&sh, &nsh, nf_buf_cstr(&quoted));
		/* set -- adds no word of its own: "prog" is $1 */
		ck_assert_msg(n == nsh && words.len == sh.len && memcmp(words.buf, sh.buf, sh.len) == 0,
			      "'%s': %zu words, sh made %zu of '%s'", cmds[i], n, nsh, nf_buf_cstr(&quoted));
		nf_buf_release(&quoted);
		nf_buf_release(&words);
		nf_buf_release(&sh);
		nf_arena_free(a);
	}
	ck_assert_int_ne(access("pwned", F_OK), 0);
}
END_TEST

START_TEST(test_words_unknown_ref)
{
	nf_arena *a = nf_arena_new();
	nf_tmpl t = tmpl(a, "prog ${params.nosuch}");
	nf_interp ip = { .param = param };
	nf_buf words = NF_BUF_INIT;
	size_t n = 0;

	ck_assert_int_eq(nf_interp_words(&words, &n, &t, &ip), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "unknown parameter 'nosuch' in ${params.nosuch}");
	nf_buf_release(&words);
	nf_arena_free(a);
}
END_TEST

static Suite *
argv_suite(void)
{
	Suite *s = suite_create("argv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_direct_commands);
	tcase_add_test(tc, test_words_as_sh_makes_them);
	tcase_add_test(tc, test_words_unknown_ref);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(argv_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
