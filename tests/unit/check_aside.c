/* check_aside.c: unit tests of src/run/aside.c, declared outputs moved aside around an
 * attempt: paths checked (never through a symbolic link), files and folders moved and put back as they
 * were, nothing written when nothing existed, nested outputs, a success dropping the trash,
 * every state a crash can leave (manifest cut short, half the moves done, dropped but not
 * deleted), recovery over a trash of several runs, and an output on another file system. */
#include "config.h"
#include "aside.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/util.h"

static char *base;   /* the workspace's root */
static char *trash;  /* base/.ntflow/trash */

/* Runs a shell command in base; fails the test when it fails. */
static void
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && { %s ; }", base, cmd);
	ck_assert_msg(system(full) == 0, "command failed: %s", cmd);
	free(full);
	free(cmd);
}

/* The first line of a file under base, or "<missing>". */
static char *
line_of(const char *rel)
{
	char *p = xasprintf("%s/%s", base, rel), buf[256] = "<missing>";
	FILE *f = fopen(p, "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	free(p);
	return xstrdup(buf);
}

#define ck_line(rel, want) do { \
	char *got_ = line_of(rel); \
	ck_assert_msg(strcmp(got_, (want)) == 0, "%s: '%s', expected '%s'", (rel), got_, (want)); \
	free(got_); \
} while (0)

static bool
exists(const char *rel)
{
	char *p = xasprintf("%s/%s", base, rel);
	struct stat sb;
	bool e = lstat(p, &sb) == 0;

	free(p);
	return e;
}

/* The stem of an attempt: trash/RUN/NAME. */
static char *
stem_of(int run, const char *name)
{
	return xasprintf("%s/%d/%s", trash, run, name);
}

static void
setup(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/nf-aside.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");

	ck_assert(mkdtemp(tmpl) != NULL);
	base = tmpl;
	trash = xasprintf("%s/.ntflow/trash", base);
	sh("mkdir -p .ntflow");
}

static void
teardown(void)
{
	sh("cd / && rm -rf '%s'", base);
	free(base);
	free(trash);
}

/* A failed attempt: every output that existed is back, whatever the attempt did to it. */
START_TEST(test_restore_after_failure)
{
	const char *paths[] = { "out/f", "d/", "new.txt", "gone" };
	char *stem = stem_of(1, "s.1");
	nf_aside_moves moves;

	sh("mkdir -p out d/sub && echo old >out/f && echo x >d/sub/x && echo gone >gone");
	ck_assert_msg(nf_aside_begin(&moves, stem, base, paths, 4, NULL) == 0, "%s", nf_error_last());
	ck_assert_uint_eq(moves.moved, 3);
	ck_assert_uint_eq(moves.beside, 0);
	/* Out of sight while the attempt runs; the manifest says where everything went. */
	ck_assert(!exists("out/f"));
	ck_assert(!exists("d"));
	ck_assert(!exists("gone"));
	ck_assert(exists("out"));   /* the parent of an output stays */
	ck_assert(exists(".ntflow/trash/1/s.1.json"));
	ck_line(".ntflow/trash/1/s.1.0", "old");
	ck_line(".ntflow/trash/1/s.1.1/sub/x", "x");

	/* The attempt writes half of things, then fails. */
	sh("echo partial >out/f && mkdir -p d && echo partial >d/half && echo partial >new.txt");
	ck_assert_msg(nf_aside_restore(stem) == 0, "%s", nf_error_last());
	ck_line("out/f", "old");
	ck_line("d/sub/x", "x");
	ck_assert(!exists("d/half"));
	ck_line("gone", "gone");
	ck_line("new.txt", "partial");   /* nothing was there: what the attempt wrote stays */
	sh("test -z \"$(ls .ntflow/trash/1)\"");
	free(stem);
}
END_TEST

/* Nothing there before (a first run): nothing moves, nothing is written. */
START_TEST(test_nothing_to_move)
{
	const char *paths[] = { "out/f", "d/" };
	char *stem = stem_of(2, "s.1");
	nf_aside_moves moves = { 9, 9 };

	ck_assert_int_eq(nf_aside_begin(&moves, stem, base, paths, 2, NULL), 0);
	ck_assert_uint_eq(moves.moved, 0);
	ck_assert_uint_eq(moves.beside, 0);
	ck_assert(!exists(".ntflow/trash"));
	ck_assert_int_eq(nf_aside_drop(stem, &moves), 0);
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	free(stem);
}
END_TEST

/* A successful attempt: its outputs stay, what was moved is deleted. */
START_TEST(test_drop_after_success)
{
	const char *paths[] = { "out/f", "d/" };
	char *stem = stem_of(2, "s@ab12.3");
	nf_aside_moves moves;

	sh("mkdir -p out d && echo old >out/f && echo old >d/x");
	ck_assert_int_eq(nf_aside_begin(&moves, stem, base, paths, 2, NULL), 0);
	sh("echo new >out/f && mkdir -p d && echo new >d/y");
	ck_assert_msg(nf_aside_drop(stem, &moves) == 0, "%s", nf_error_last());
	ck_line("out/f", "new");
	ck_line("d/y", "new");
	ck_assert(!exists("d/x"));
	sh("test -z \"$(ls .ntflow/trash/2)\"");
	/* Restoring what was dropped is a no-op. */
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	ck_line("out/f", "new");

	/* The same with what happened unknown: the manifest is read. */
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, paths, 2, NULL), 0);
	sh("echo newer >out/f");
	ck_assert_int_eq(nf_aside_drop(stem, NULL), 0);
	ck_line("out/f", "newer");
	sh("test -z \"$(ls .ntflow/trash/2)\"");
	free(stem);
}
END_TEST

/* An output inside another one, in either order, comes back where it was. */
START_TEST(test_nested_outputs)
{
	const char *outer_first[] = { "d/", "d/x" };
	const char *inner_first[] = { "d/x", "d/" };
	char *stem = stem_of(3, "n.1");

	for (int round = 0; round < 2; round++) {
		nf_aside_moves moves;

		sh("rm -rf d && mkdir -p d && echo x >d/x && echo y >d/y");
		ck_assert_msg(nf_aside_begin(&moves, stem, base, round ? inner_first : outer_first, 2, NULL) == 0,
			      "%s", nf_error_last());
		ck_assert(!exists("d"));
		sh("mkdir -p d && echo partial >d/x && echo partial >d/z");
		ck_assert_msg(nf_aside_restore(stem) == 0, "%s", nf_error_last());
		ck_line("d/x", "x");
		ck_line("d/y", "y");
		ck_assert(!exists("d/z"));
		/* And dropped after a success: nothing of it is left. */
		ck_assert_int_eq(nf_aside_begin(&moves, stem, base, round ? inner_first : outer_first, 2, NULL), 0);
		sh("mkdir -p d && echo new >d/x");
		ck_assert_int_eq(nf_aside_drop(stem, &moves), 0);
		ck_line("d/x", "new");
		sh("test -z \"$(ls .ntflow/trash/3)\"");
	}
	free(stem);
}
END_TEST

/* Each state a crash can leave behind is put right. */
START_TEST(test_crash_states)
{
	const char *paths[] = { "a", "b" };
	char *stem = stem_of(4, "c.1");

	/* The manifest was cut short: nothing had moved; the workspace is left as it is. */
	sh("echo a >a && echo b >b && mkdir -p .ntflow/trash/4 && printf '{\"root\": \"' >.ntflow/trash/4/c.1.json");
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	ck_line("a", "a");
	ck_assert(!exists(".ntflow/trash/4/c.1.json"));

	/* The manifest was written, b had not moved yet: b is the original and stays. */
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, paths, 2, NULL), 0);
	sh("mv .ntflow/trash/4/c.1.1 b && echo half >a");
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	ck_line("a", "a");
	ck_line("b", "b");

	/* Dropped, the moved files not yet deleted: the attempt's outputs stay. */
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, paths, 2, NULL), 0);
	sh("echo new >a && echo new >b && mv .ntflow/trash/4/c.1.json .ntflow/trash/4/c.1.dropped");
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	ck_line("a", "new");
	ck_line("b", "new");
	sh("test -z \"$(ls .ntflow/trash/4)\"");
	free(stem);
}
END_TEST

/* Refused before anything moves: outside the root, the root, the state directory. */
START_TEST(test_refusals)
{
	const char *outside[] = { "a", "../x" };
	const char *state[] = { "a", ".ntflow" };
	char *stem = stem_of(5, "r.1"), *keep = xasprintf("%s/.ntflow", base);

	sh("echo a >a");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, outside, 2, keep), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output '../x' is outside the workspace");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, state, 2, keep), NF_EINVALID);
	ck_assert(strstr(nf_error_last(), "output '.ntflow' holds the state directory") != NULL);
	ck_line("a", "a");
	ck_assert(!exists(".ntflow/trash"));
	free(keep);
	free(stem);
}
END_TEST

/* Symbolic links: an output that is one, or one on the way to an output (also undone by a
 * ".."), is refused before anything moves, and nothing outside the root is touched. */
START_TEST(test_symlinks_refused)
{
	const char *end[] = { "a", "out/link" };
	const char *middle[] = { "a", "sub/link/dirA" };
	const char *dotdot[] = { "a", "sub/link/../x" };
	const char *folder[] = { "dlink/" };
	char *stem = stem_of(9, "l.1");

	sh("echo a >a && mkdir -p outside/dirA sub out && echo keep >outside/dirA/precious && "
	   "ln -s ../outside/dirA/precious out/link && ln -s ../outside sub/link && ln -s outside dlink && echo x >x");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, end, 2, NULL), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'out/link' is a symbolic link; ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, middle, 2, NULL), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'sub/link/dirA' goes through the symbolic link 'sub/link'; "
			 "ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, dotdot, 2, NULL), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'sub/link/../x' goes through the symbolic link 'sub/link'; "
			 "ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, folder, 1, NULL), NF_EINVALID);
	ck_line("a", "a");
	ck_line("x", "x");
	ck_line("outside/dirA/precious", "keep");
	ck_assert(!exists(".ntflow/trash"));
	free(stem);
}
END_TEST

/* A failed attempt that left a link where a folder on the way was: putting back refuses to
 * write through it, and keeps the manifest for another try once it is fixed. */
START_TEST(test_restore_refuses_links)
{
	const char *paths[] = { "d/sub/f" };
	char *stem = stem_of(10, "r.1");

	sh("mkdir -p d/sub elsewhere && echo old >d/sub/f");
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, paths, 1, NULL), 0);
	ck_assert(!exists("d/sub/f"));
	sh("rm -r d/sub && ln -s ../elsewhere d/sub");
	ck_assert_int_eq(nf_aside_restore(stem), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'd/sub/f' goes through the symbolic link 'd/sub'; "
			 "ntflow does not follow links in outputs");
	ck_assert(!exists("elsewhere/f"));
	ck_assert(exists(".ntflow/trash/10/r.1.json"));
	/* The link gone, the next try puts it back. */
	sh("rm d/sub");
	ck_assert_msg(nf_aside_restore(stem) == 0, "%s", nf_error_last());
	ck_line("d/sub/f", "old");
	/* An output the attempt replaced with a link is itself replaced, not written through. */
	ck_assert_int_eq(nf_aside_begin(NULL, stem, base, paths, 1, NULL), 0);
	sh("echo theirs >elsewhere/f && ln -s ../../elsewhere/f d/sub/f");
	ck_assert_msg(nf_aside_restore(stem) == 0, "%s", nf_error_last());
	ck_line("d/sub/f", "old");
	ck_line("elsewhere/f", "theirs");
	sh("test ! -L d/sub/f");
	free(stem);
}
END_TEST

static bool
live_six(void *ctx, int64_t run)
{
	(void)ctx;
	return run == 6;
}

static void
collect(void *ctx, const char *line)
{
	nf_buf *b = ctx;

	nf_buf_printf(b, "%s\n", line);
}

/* Recovery puts back the attempts of dead runs, finishes drops, sweeps waste, and leaves
 * live runs alone. */
START_TEST(test_recover)
{
	const char *p5[] = { "five" }, *p6[] = { "six" }, *p7[] = { "seven" };
	char *s5 = stem_of(5, "train@x1.2"), *s6 = stem_of(6, "b.1"), *s7 = stem_of(7, "c.1");
	nf_buf lines = NF_BUF_INIT;

	sh("echo five >five && echo six >six && echo seven >seven");
	ck_assert_int_eq(nf_aside_begin(NULL, s5, base, p5, 1, NULL), 0);
	ck_assert_int_eq(nf_aside_begin(NULL, s6, base, p6, 1, NULL), 0);
	ck_assert_int_eq(nf_aside_begin(NULL, s7, base, p7, 1, NULL), 0);
	/* 5 crashed mid-attempt; 6 is running; 7 succeeded and crashed before deleting; 8 had
	 * unlinked its manifest (a drop) and left a moved file behind. */
	sh("echo half >five && echo half >six && echo new >seven && "
	   "mv .ntflow/trash/7/c.1.json .ntflow/trash/7/c.1.dropped && "
	   "mkdir -p .ntflow/trash/8 .ntflow/trash/notarun && echo waste >.ntflow/trash/8/d.1.0");
	ck_assert_int_eq(nf_aside_recover(trash, live_six, collect, &lines), 0);
	ck_assert_str_eq(nf_buf_cstr(&lines),
			 "run 5 had crashed: the outputs of train@x1 (attempt 2) are back as they were before it\n");
	ck_line("five", "five");
	ck_line("six", "half");   /* run 6 is still going: its trash is its own */
	ck_assert(exists(".ntflow/trash/6/b.1.json"));
	ck_line("seven", "new");
	ck_assert(!exists(".ntflow/trash/5"));
	ck_assert(!exists(".ntflow/trash/7"));
	ck_assert(!exists(".ntflow/trash/8"));
	/* No trash at all is nothing to do. */
	sh("rm -rf .ntflow/trash");
	ck_assert_int_eq(nf_aside_recover(trash, NULL, collect, &lines), 0);
	nf_buf_release(&lines);
	free(s5);
	free(s6);
	free(s7);
}
END_TEST

/* An output on another file system than the trash goes aside beside itself. */
START_TEST(test_other_file_system)
{
	struct stat a, b;
	nf_aside_moves moves;
	char *shm, *stem = stem_of(8, "x.1");
	const char *paths[] = { "out/f", "d/" };
	char *saved = base;

	if (stat("/dev/shm", &a) < 0 || stat(base, &b) < 0 || a.st_dev == b.st_dev || access("/dev/shm", W_OK) < 0)
		return;   /* no second file system to try */
	shm = xstrdup("/dev/shm/nf-aside.XXXXXX");
	ck_assert(mkdtemp(shm) != NULL);
	base = shm;
	sh("mkdir -p out d && echo old >out/f && echo old >d/x");
	ck_assert_msg(nf_aside_begin(&moves, stem, shm, paths, 2, NULL) == 0, "%s", nf_error_last());
	ck_assert_uint_eq(moves.moved, 2);
	ck_assert_uint_eq(moves.beside, 2);
	ck_assert(!exists("out/f"));
	ck_line("out/.f.ntflow-aside", "old");
	ck_line(".d.ntflow-aside/x", "old");
	sh("echo half >out/f");
	ck_assert_int_eq(nf_aside_restore(stem), 0);
	ck_line("out/f", "old");
	ck_line("d/x", "old");
	ck_assert(!exists("out/.f.ntflow-aside"));

	ck_assert_int_eq(nf_aside_begin(&moves, stem, shm, paths, 2, NULL), 0);
	sh("echo new >out/f && mkdir d && echo new >d/y");
	ck_assert_int_eq(nf_aside_drop(stem, &moves), 0);
	ck_line("out/f", "new");
	ck_assert(!exists("out/.f.ntflow-aside"));
	ck_assert(!exists(".d.ntflow-aside"));
	sh("cd / && rm -rf '%s'", shm);
	base = saved;
	free(shm);
	free(stem);
}
END_TEST

static Suite *
aside_suite(void)
{
	Suite *s = suite_create("aside");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_restore_after_failure);
	tcase_add_test(tc, test_nothing_to_move);
	tcase_add_test(tc, test_drop_after_success);
	tcase_add_test(tc, test_nested_outputs);
	tcase_add_test(tc, test_crash_states);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_symlinks_refused);
	tcase_add_test(tc, test_restore_refuses_links);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_other_file_system);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(aside_suite());
	int failed;

	setenv("LC_ALL", "C", 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
