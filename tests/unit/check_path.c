/* check_path.c: unit tests of src/util/path.c, paths beneath the project root: lexical
 * normalisation ("..", absolute paths, empty and "." components), the folder holding a path
 * opened without following a symbolic link (one in the middle, one at the end, one pointing
 * inside or outside the root), folders made on the way, paths longer than PATH_MAX, removal
 * that never follows a link, and inputs resolved through links that must stay inside. The
 * folder tests run twice: through openat2(2) where the kernel has it, and through the walk
 * of one openat(2) per component (NTFLOW_TEST_NO_OPENAT2, a test-only hook). The folder
 * cache (src/util/dircache.c): one walk per folder, the same refusals and messages, and a
 * walk anew once stopped. Stats taken ahead by a thread (src/util/statahead.c): what lstat
 * says for a file or folder beneath the root, nothing for a missing path, a link at the
 * end or on the way, a path other than the slot's; stopped at once when freed early. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/util.h"

static char *base;   /* holds root/ (the project) and outside/ */
static char *root;

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

static bool
exists(const char *rel)
{
	char *p = xasprintf("%s/%s", base, rel);
	struct stat sb;
	bool e = lstat(p, &sb) == 0;

	free(p);
	return e;
}

static void
setup(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/nf-path.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");

	ck_assert(mkdtemp(tmpl) != NULL);
	base = realpath(tmpl, NULL);
	free(tmpl);
	root = xasprintf("%s/root", base);
	sh("mkdir -p root outside && echo secret >outside/f");
}

static void
teardown(void)
{
	sh("cd / && rm -rf '%s'", base);
	free(base);
	free(root);
	unsetenv("NTFLOW_TEST_NO_OPENAT2");
}

/* Each folder test runs with openat2 (_i == 0) and with the walk (_i == 1). */
static void
pick_mode(int i)
{
	if (i)
		setenv("NTFLOW_TEST_NO_OPENAT2", "1", 1);
	else
		unsetenv("NTFLOW_TEST_NO_OPENAT2");
}

static void
ck_lexical(const char *path, const char *want, nf_path_why want_why)
{
	nf_path_why why = 99;
	char *got = nf_path_lexical(path, &why);

	ck_assert_msg(why == want_why, "'%s': why %d, expected %d", path, why, want_why);
	if (want)
		ck_assert_msg(got && !strcmp(got, want), "'%s' -> '%s', expected '%s'", path, got ? got : "(null)", want);
	else
		ck_assert_ptr_null(got);
	free(got);
}

START_TEST(test_lexical)
{
	char *out = NULL;

	ck_lexical("a", "a", NF_PATH_INSIDE);
	ck_lexical("./a//b/../c/", "a/c", NF_PATH_INSIDE);
	ck_lexical("a/b/", "a/b", NF_PATH_INSIDE);
	ck_lexical("a/./b//./c", "a/b/c", NF_PATH_INSIDE);
	ck_lexical("a/b/../../c", "c", NF_PATH_INSIDE);
	ck_lexical("..a/b..", "..a/b..", NF_PATH_INSIDE);   /* names that start with dots */
	ck_lexical("/etc/passwd", NULL, NF_PATH_ABSOLUTE);
	ck_lexical("//x", NULL, NF_PATH_ABSOLUTE);
	ck_lexical("..", NULL, NF_PATH_OUTSIDE);
	ck_lexical("../x", NULL, NF_PATH_OUTSIDE);
	ck_lexical("a/../../x", NULL, NF_PATH_OUTSIDE);
	ck_lexical("a/../b/../../outside/dirA", NULL, NF_PATH_OUTSIDE);
	ck_lexical("", NULL, NF_PATH_TOP);
	ck_lexical(".", NULL, NF_PATH_TOP);
	ck_lexical("./", NULL, NF_PATH_TOP);
	ck_lexical("a/..", NULL, NF_PATH_TOP);
	ck_lexical("//", NULL, NF_PATH_ABSOLUTE);
	/* paths already normal are returned as they are; one segment away from it, they are not */
	ck_lexical("out/s1_0", "out/s1_0", NF_PATH_INSIDE);
	ck_lexical("a/b.c/.d/..e/f..", "a/b.c/.d/..e/f..", NF_PATH_INSIDE);
	ck_lexical("a/b/.", "a/b", NF_PATH_INSIDE);
	ck_lexical("a/b/..", "a", NF_PATH_INSIDE);
	ck_lexical("a//b", "a/b", NF_PATH_INSIDE);
	ck_lexical("a/./b", "a/b", NF_PATH_INSIDE);
	ck_lexical("a/../..", NULL, NF_PATH_OUTSIDE);
	ck_lexical("../a", NULL, NF_PATH_OUTSIDE);

	ck_assert_int_eq(nf_path_normalize(&out, "x/../y/", "output"), 0);
	ck_assert_str_eq(out, "y");
	free(out);
	ck_assert_int_eq(nf_path_normalize(&out, "/tmp/x", "output"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output '/tmp/x' is an absolute path; outputs are relative to the project root");
	ck_assert_int_eq(nf_path_normalize(&out, "../../outside/dirA", "input"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "input '../../outside/dirA' is outside the workspace");
	ck_assert_int_eq(nf_path_normalize(&out, "a/..", "output"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'a/..' is the whole workspace");
	ck_assert_ptr_null(out);

	ck_assert(nf_path_holds("a", "a"));
	ck_assert(nf_path_holds("a", "a/b"));
	ck_assert(!nf_path_holds("a", "ab"));
	ck_assert(!nf_path_holds("a/b", "a"));
}
END_TEST

/* The folder fd is the one expected (same inode as rel under root). */
static void
ck_is(int fd, const char *rel)
{
	struct stat a, b;
	char *p = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);

	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(stat(p, &b), 0);
	ck_assert_msg(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "fd is not %s", p);
	free(p);
}

START_TEST(test_parent)
{
	const char *name;
	int fd;

	pick_mode(_i);
	sh("mkdir -p root/a/b && echo c >root/a/b/c && echo top >root/top");
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a/b/c", "output", 0), 0);
	ck_is(fd, "a/b");
	ck_assert_str_eq(name, "c");
	close(fd);
	/* One component: the root itself holds it. */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "top", "output", 0), 0);
	ck_is(fd, "");
	ck_assert_str_eq(name, "top");
	close(fd);
	/* What does not exist yet is fine as the last component. */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a/b/new", "output", 0), 0);
	ck_assert_str_eq(name, "new");
	close(fd);
	/* A missing folder on the way; created on request. */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "x/y/z", "output", 0), NF_ENOTFOUND);
	ck_assert_int_eq(fd, -1);
	ck_assert(!exists("root/x"));
	ck_assert_msg(nf_path_parent(&fd, &name, root, "x/y/z", "output", NF_PATH_MKDIR) == 0, "%s", nf_error_last());
	ck_is(fd, "x/y");
	close(fd);
	/* A file where a folder should be. */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "top/z", "output", 0), NF_ENOTFOUND);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "top/z", "output", NF_PATH_MKDIR), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "output 'top/z': 'top' is not a folder");
	/* Only normalized relative paths. */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a/../a/b", "output", 0), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "/etc/passwd", "output", 0), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a//b", "output", 0), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a/./b", "output", 0), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "a/b/", "output", 0), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "", "output", 0), NF_EINVALID);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_symlink_in_the_middle)
{
	const char *name;
	int fd;

	pick_mode(_i);
	/* Out of the root, absolute or relative; and one that stays inside: all refused. */
	sh("mkdir -p root/sub root/real && ln -s '%s/outside' root/sub/abs && ln -s ../../outside root/sub/rel && "
	   "ln -s ../real root/sub/in && ln -s sub root/top", base);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "sub/abs/dirA", "output", 0), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'sub/abs/dirA' goes through the symbolic link 'sub/abs'; "
			 "ntflow does not follow links in outputs");
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "sub/rel/x/y", "output", NF_PATH_MKDIR), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'sub/rel/x/y' goes through the symbolic link 'sub/rel'; "
			 "ntflow does not follow links in outputs");
	ck_assert(!exists("outside/x"));   /* nothing made through it */
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "sub/in/f", "output", NF_PATH_MKDIR), NF_EINVALID);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "top/in/f", "output", 0), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'top/in/f' goes through the symbolic link 'top'; "
			 "ntflow does not follow links in outputs");
	ck_assert(!exists("root/real/f"));
}
END_TEST

START_TEST(test_symlink_at_the_end)
{
	const char *name;
	struct stat st;
	int fd;

	pick_mode(_i);
	sh("mkdir -p root/out && ln -s '%s/outside/f' root/out/link && echo f >root/out/file && "
	   "ln -s ../outside root/dirlink", base);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "out/link", "output", 0), 0);
	ck_assert_int_eq(nf_path_stat_at(fd, name, "output", "out/link", &st), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'out/link' is a symbolic link; ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_path_stat_at(fd, "file", "output", "out/file", &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(nf_path_stat_at(fd, "none", "output", "out/none", &st), NF_ENOTFOUND);
	close(fd);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, "dirlink", "output", 0), 0);
	ck_assert_int_eq(nf_path_stat_at(fd, name, "output", "dirlink", &st), NF_EINVALID);
	close(fd);
}
END_TEST

/* Longer than PATH_MAX: the kernel refuses it in one call, the walk goes component by
 * component; 255-byte names are the longest a component may be. */
START_TEST(test_long_paths)
{
	nf_buf p = NF_BUF_INIT;
	char comp[256];
	const char *name;
	struct stat st;
	int fd;

	pick_mode(_i);
	memset(comp, 'n', 255);
	comp[255] = '\0';
	for (int i = 0; i < 24; i++) {
		comp[0] = (char)('a' + i);
		if (p.len)
			nf_buf_putc(&p, '/');
		nf_buf_puts(&p, comp);
	}
	nf_buf_puts(&p, "/leaf");
	ck_assert_uint_gt(p.len, PATH_MAX);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, p.buf, "output", 0), NF_ENOTFOUND);
	ck_assert_msg(nf_path_parent(&fd, &name, root, p.buf, "output", NF_PATH_MKDIR) == 0, "%s", nf_error_last());
	ck_assert_str_eq(name, "leaf");
	ck_assert_int_eq(mkdirat(fd, name, 0777), 0);
	close(fd);
	ck_assert_int_eq(nf_path_parent(&fd, &name, root, p.buf, "output", 0), 0);
	ck_assert_int_eq(nf_path_stat_at(fd, name, "output", p.buf, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	close(fd);
	/* A component over NAME_MAX is an error, not a crash. */
	nf_buf_reset(&p);
	for (int i = 0; i < 300; i++)
		nf_buf_putc(&p, 'x');
	nf_buf_puts(&p, "/f");
	ck_assert_int_lt(nf_path_parent(&fd, &name, root, p.buf, "output", NF_PATH_MKDIR), 0);
	ck_assert_int_eq(fd, -1);
	/* Removal copes with depth beyond PATH_MAX too. */
	ck_assert_int_ge(fd = open(root, O_RDONLY | O_DIRECTORY), 0);
	comp[0] = 'a';
	ck_assert_msg(nf_path_remove_at(fd, comp, "a...") == 0, "%s", nf_error_last());
	close(fd);
	ck_assert(!exists("root/annn"));
	nf_buf_release(&p);
}
END_TEST

/* rm -rf that removes a link and never what it points to. */
START_TEST(test_remove)
{
	int fd = -1;

	sh("mkdir -p root/d/e && echo x >root/d/e/x && ln -s '%s/outside' root/d/out && "
	   "ln -s ../../outside/f root/d/e/flink && chmod 444 root/d/e/x", base);
	ck_assert_int_ge(fd = open(root, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_msg(nf_path_remove_at(fd, "d", "d") == 0, "%s", nf_error_last());
	ck_assert(!exists("root/d"));
	ck_assert(exists("outside/f"));
	ck_assert_int_eq(nf_path_remove_at(fd, "d", "d"), 0);   /* nothing there: fine */
	sh("ln -s '%s/outside' root/l", base);
	ck_assert_int_eq(nf_path_remove_at(fd, "l", "l"), 0);
	ck_assert(!exists("root/l"));
	ck_assert(exists("outside/f"));
	close(fd);
}
END_TEST

static void
ck_resolve(const char *path, const char *want, bool want_linked)
{
	char *got = NULL;
	bool linked = !want_linked;

	ck_assert_msg(nf_path_resolve(&got, &linked, root, path, "input") == 0, "%s: %s", path, nf_error_last());
	ck_assert_msg(!strcmp(got, want), "'%s' -> '%s', expected '%s'", path, got, want);
	ck_assert_msg(linked == want_linked, "'%s': linked %d", path, linked);
	free(got);
}

/* Inputs: links followed, as long as they lead somewhere inside the root. */
START_TEST(test_resolve)
{
	char *got = NULL;

	sh("mkdir -p root/data/v1 root/data/v2 && echo 1 >root/data/v1/x && ln -s v1 root/data/current && "
	   "ln -s '%s/root/data/v2' root/data/abs && ln -s ../../outside root/data/big && "
	   "ln -s ../data/current/x root/data/xlink && ln -s ../../outside/f root/data/secret && "
	   "ln -s .. root/data/up && ln -s nowhere root/data/dangling", base);
	ck_resolve("data/v1/x", "data/v1/x", false);
	ck_resolve("./data//v1/", "data/v1", false);
	ck_resolve("data/current", "data/v1", true);
	ck_resolve("data/current/x", "data/v1/x", true);
	ck_resolve("data/abs", "data/v2", true);   /* absolute, but inside */
	ck_resolve("data/xlink", "data/v1/x", true);
	ck_resolve("data/new/file", "data/new/file", false);   /* not there yet */
	ck_resolve("data/current/new", "data/v1/new", true);
	ck_resolve(".", "", false);
	/* A dangling link leads nowhere yet: the caller finds the link itself there. */
	ck_resolve("data/dangling", "data/dangling", false);
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "data/big", "input"), NF_EINVALID);
	ck_assert_ptr_null(got);
	{
		char *want = xasprintf("input 'data/big' leads to '%s/outside', outside the project, through a symbolic link",
				       base);

		ck_assert_str_eq(nf_error_last(), want);
		free(want);
	}
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "data/big/f", "input"), NF_EINVALID);
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "data/big/missing/f", "input"), NF_EINVALID);
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "data/secret", "input"), NF_EINVALID);
	/* ".." after a link climbs from where the link leads, as the kernel reads it. */
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "data/up/../outside/f", "input"), NF_EINVALID);
	ck_resolve("data/current/../v2", "data/v2", false);   /* the same place either way */
	ck_resolve("data/up/data/v1", "data/v1", true);
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "../outside/f", "input"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "input '../outside/f' is outside the workspace");
	ck_assert_int_eq(nf_path_resolve(&got, NULL, root, "/etc/passwd", "input"), NF_EINVALID);
}
END_TEST

/* A ".." after a link would climb out of where the link leads: refused before use. */
START_TEST(test_beneath)
{
	char *out = NULL;

	sh("mkdir -p root/sub/real && ln -s '%s/outside' root/sub/link && ln -s real root/sub/in", base);
	ck_assert_int_eq(nf_path_beneath(&out, root, "sub/real/../x/", "output"), 0);
	ck_assert_str_eq(out, "sub/x");
	free(out);
	ck_assert_int_eq(nf_path_beneath(&out, root, "missing/../x", "output"), 0);
	ck_assert_str_eq(out, "x");
	free(out);
	ck_assert_int_eq(nf_path_beneath(&out, root, "sub/link/..", "output"), NF_EINVALID);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(nf_error_last(), "output 'sub/link/..' goes through the symbolic link 'sub/link'; "
			 "ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_path_beneath(&out, root, "sub/link/dirA/../../x", "output"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'sub/link/dirA/../../x' goes through the symbolic link 'sub/link'; "
			 "ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_path_beneath(&out, root, "sub/in/../x", "output"), NF_EINVALID);
	ck_assert_int_eq(nf_path_beneath(&out, root, "../../outside/dirA", "output"), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output '../../outside/dirA' is outside the workspace");
	ck_assert_int_eq(nf_path_beneath(&out, root, "/tmp/x", "output"), NF_EINVALID);
	ck_assert_int_eq(nf_path_beneath(&out, root, "sub/..", "output"), NF_EINVALID);
	ck_assert_ptr_null(out);
}
END_TEST

/* nf_path_open_at from the root's folder opened once: the same answers and words as
 * nf_path_open, for as many paths as asked. */
START_TEST(test_open_at)
{
	const char *name;
	char *norm = NULL;
	int rootfd, fd;

	pick_mode(_i);
	sh("mkdir -p root/sub/real && ln -s '%s/outside' root/sub/link && echo x >root/sub/real/f", base);
	ck_assert((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(nf_path_open_at(&fd, &name, &norm, rootfd, root, "sub/x/../real/f", "output", 0), 0);
		ck_assert_str_eq(norm, "sub/real/f");
		ck_assert_str_eq(name, "f");
		ck_assert_int_eq(faccessat(fd, name, F_OK, AT_SYMLINK_NOFOLLOW), 0);
		close(fd);
		free(norm);
		ck_assert_int_eq(nf_path_open_at(&fd, &name, &norm, rootfd, root, "sub/link/f", "output", 0), NF_EINVALID);
		ck_assert_str_eq(nf_error_last(), "output 'sub/link/f' goes through the symbolic link 'sub/link'; "
				 "ntflow does not follow links in outputs");
		ck_assert_ptr_null(norm);
		ck_assert_int_eq(nf_path_open_at(&fd, &name, &norm, rootfd, root, "../outside/f", "output", 0), NF_EINVALID);
		ck_assert_str_eq(nf_error_last(), "output '../outside/f' is outside the workspace");
		ck_assert_int_eq(nf_path_open_at(&fd, &name, &norm, rootfd, root, "new/dir/f", "output", NF_PATH_MKDIR), 0);
		ck_assert(exists("root/new/dir"));
		close(fd);
		free(norm);
		norm = NULL;
	}
	/* rootfd < 0: by the root's path, as nf_path_open. */
	ck_assert_int_eq(nf_path_open_at(&fd, &name, &norm, -1, root, "sub/real/f", "output", 0), 0);
	close(fd);
	free(norm);
	close(rootfd);
}
END_TEST

/* The folder cache answers a second output in a folder without a walk, refuses what
 * nf_path_open refuses with its words, and after nf_dircache_stop sees a folder replaced. */
START_TEST(test_dircache)
{
	nf_dircache *c;
	const char *name;
	char *norm = NULL;
	struct stat sb;
	int fd;

	pick_mode(_i);
	sh("mkdir -p root/out root/sub outside/out && touch root/out/a root/out/b root/top outside/out/only-outside && "
	   "ln -s '%s/outside' root/link", base);
	c = nf_dircache_new(root);
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/a", "output", 0), 0);
	ck_assert_str_eq(name, "a");
	ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	nf_dircache_release(c, fd);
	ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);   /* kept open */
	free(norm);
	ck_assert_uint_eq(nf_dircache_hits(c), 0);
	/* The same folder, written another way: no walk. */
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "./out//b", "output", 0), 0);
	ck_assert_str_eq(norm, "out/b");
	ck_assert_str_eq(name, "b");
	ck_assert_uint_eq(nf_dircache_hits(c), 1);
	nf_dircache_release(c, fd);
	free(norm);
	/* The root itself holds "top". */
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "top", "output", 0), 0);
	ck_assert_str_eq(name, "top");
	ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	nf_dircache_release(c, fd);
	free(norm);
	/* Refused as nf_path_open refuses, every time: nothing of it is kept. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "link/out/x", "output", 0), NF_EINVALID);
		ck_assert_str_eq(nf_error_last(), "output 'link/out/x' goes through the symbolic link 'link'; "
				 "ntflow does not follow links in outputs");
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "../x", "output", 0), NF_EINVALID);
		ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "missing/x", "output", 0), NF_ENOTFOUND);
		free(norm);
		norm = NULL;
	}
	/* Kept open, the folder is the one opened first even after out/ is replaced by a link
	 * (why a run stops the cache before anything may change the tree)... */
	sh("mv root/out root/old-out && ln -s '%s/outside/out' root/out", base);
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/a", "output", 0), 0);
	ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	nf_dircache_release(c, fd);
	free(norm);
	/* ...and once stopped, each open walks anew and refuses the link. */
	nf_dircache_stop(c);
	ck_assert(nf_dircache_stopped(c));
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/a", "output", 0), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'out/a' goes through the symbolic link 'out'; "
			 "ntflow does not follow links in outputs");
	free(norm);
	norm = NULL;
	sh("rm root/out && mkdir root/out && touch root/out/new");
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/new", "output", 0), 0);
	ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	nf_dircache_release(c, fd);   /* not kept: closed */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	free(norm);
	nf_dircache_free(c);
}
END_TEST

/* A cache from the root's open folder (nf_dircache_new_at, as a run makes it) keeps what
 * it opened until nf_dircache_clear, which closes it and leaves the cache on: the next
 * open walks again (and so sees a folder replaced since) and is kept again. */
START_TEST(test_dircache_clear_at)
{
	int rootfd, fd, kept;
	nf_dircache *c;
	const char *name;
	char *norm = NULL;
	struct stat sb;

	sh("mkdir -p root/out && touch root/out/a root/out/b");
	ck_assert_int_ge(rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	c = nf_dircache_new_at(root, rootfd);
	ck_assert_int_eq(nf_dircache_open(c, &kept, &name, &norm, "out/a", "output", 0), 0);
	nf_dircache_release(c, kept);
	free(norm);
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/b", "output", 0), 0);
	ck_assert_int_eq(fd, kept);
	ck_assert_uint_eq(nf_dircache_hits(c), 1);
	nf_dircache_release(c, fd);
	free(norm);
	sh("mv root/out root/old-out && mkdir root/out && touch root/out/new");
	nf_dircache_clear(c);
	ck_assert(!nf_dircache_stopped(c));
	ck_assert_int_eq(fcntl(kept, F_GETFD), -1);   /* closed */
	ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, "out/new", "output", 0), 0);
	ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(nf_dircache_hits(c), 1);   /* walked */
	nf_dircache_release(c, fd);
	ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC);   /* kept again */
	free(norm);
	nf_dircache_free(c);
	close(rootfd);
}
END_TEST

/* More folders than the cache keeps: it starts over, every open still right. */
START_TEST(test_dircache_many_folders)
{
	nf_dircache *c = nf_dircache_new(root);
	const char *name;
	char *norm = NULL, path[32];
	struct stat sb;
	int fd;

	sh("cd root && for i in $(seq 0 149); do mkdir d$i && touch d$i/f; done");
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 150; i++) {
			snprintf(path, sizeof(path), "d%d/f", i);
			ck_assert_int_eq(nf_dircache_open(c, &fd, &name, &norm, path, "output", 0), 0);
			ck_assert_int_eq(fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW), 0);
			nf_dircache_release(c, fd);
			free(norm);
		}
	}
	nf_dircache_free(c);
}
END_TEST

/* Waits (at most about 10 s) until the thread has taken all n paths. */
static void
statahead_wait(const nf_statahead *s, size_t n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000 && nf_statahead_taken(s) < n; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(nf_statahead_taken(s), n);
}

/* What the cache compares of two stats (src/cache/settled.c's nf_same_stat). */
static bool
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

START_TEST(test_statahead)
{
	const char *paths[] = {
		"top.txt", "out/a.txt", "out/b.txt", "out/gone.txt", "out/deep/c.txt", "out/link.txt",
		"via/a.txt", "out/deep", NULL, "", "outside-file/x", "out/a.txt",
	};
	size_t n = sizeof(paths) / sizeof(*paths);
	struct stat got, want;
	nf_statahead *s;
	int rootfd;
	char *p;

	sh("cd root && mkdir -p out/deep && echo t >top.txt && echo a >out/a.txt && echo bb >out/b.txt &&"
	   " echo c >out/deep/c.txt && ln -s a.txt out/link.txt && ln -s out via && echo f >outside-file");
	ck_assert_int_ge(rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	ck_assert_ptr_null(nf_statahead_start(rootfd, paths, 0));
	ck_assert_ptr_null(nf_statahead_start(-1, paths, n));
	ck_assert_ptr_nonnull(s = nf_statahead_start(rootfd, paths, n));
	statahead_wait(s, n);
	/* a file at the root, in a folder, in a folder below, and a folder */
	for (size_t i = 0; i < n; i++) {
		bool found = i == 0 || i == 1 || i == 2 || i == 4 || i == 7 || i == 11;

		ck_assert_msg(nf_statahead_get(s, i, paths[i] ? paths[i] : "", &got) == found, "path %zu (%s)", i,
			      paths[i] ? paths[i] : "NULL");
		if (!found)
			continue;
		p = xasprintf("%s/%s", root, paths[i]);
		ck_assert_int_eq(lstat(p, &want), 0);
		free(p);
		ck_assert_msg(same_stat(&got, &want), "path %zu: not the stat lstat gives", i);
		ck_assert_uint_eq(got.st_mode, want.st_mode);
	}
	ck_assert_int_eq(got.st_size, 2);   /* out/a.txt, the last one */
	/* the slot answers for its own path only, and nothing past the end */
	ck_assert(!nf_statahead_get(s, 1, "out/b.txt", &got));
	ck_assert(!nf_statahead_get(s, n, "out/a.txt", &got));
	ck_assert(!nf_statahead_get(NULL, 0, "top.txt", &got));
	/* what the thread took stays as it was: the caller stops using it once the tree
	 * may have changed */
	sh("cd root && echo longer >out/a.txt");
	ck_assert(nf_statahead_get(s, 1, "out/a.txt", &got));
	ck_assert_int_eq(got.st_size, 2);
	nf_statahead_free(s);
	nf_statahead_free(NULL);
	close(rootfd);
}
END_TEST

/* Paths kept front-coded (each the bytes it shares with the one before, at most 255, and
 * the rest): paths sharing more than 255 bytes, across the restarts every 16 paths, each
 * answered for itself only. */
START_TEST(test_statahead_shared_prefix)
{
	enum { N = 40 };
	const char *paths[N];
	char *dir = xasprintf("%0200d/%0100d", 0, 0), *cmd;
	nf_statahead *s;
	struct stat got;
	int rootfd;

	cmd = xasprintf("cd root && mkdir -p %s && for i in $(seq 0 %d); do printf %%${i}s >%s/f$i; done", dir, N - 1,
			dir);
	sh(cmd);
	free(cmd);
	for (int i = 0; i < N; i++)
		paths[i] = xasprintf(i % 3 == 2 ? "%s/f%d.none" : "%s/f%d", dir, i);
	ck_assert_int_ge(rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	ck_assert_ptr_nonnull(s = nf_statahead_start(rootfd, paths, N));
	statahead_wait(s, N);
	for (int i = 0; i < N; i++) {
		ck_assert_msg(nf_statahead_get(s, (size_t)i, paths[i], &got) == (i % 3 != 2), "path %d", i);
		if (i % 3 != 2)
			ck_assert_int_eq(got.st_size, i);
		if (i > 0)
			ck_assert(!nf_statahead_get(s, (size_t)i, paths[i - 1], &got));
	}
	nf_statahead_free(s);
	close(rootfd);
	for (int i = 0; i < N; i++)
		free((char *)paths[i]);
	free(dir);
}
END_TEST

/* Freed while the thread is still taking: it stops and is waited for (no leak, no hang, no
 * use after free under the sanitizers); what it took before holds. */
START_TEST(test_statahead_stopped)
{
	enum { N = 200000 };
	const char **paths = xmalloc(N * sizeof(*paths));
	nf_statahead *s;
	struct stat got;
	int rootfd;

	sh("cd root && mkdir -p out && echo a >out/a.txt");
	for (size_t i = 0; i < N; i++)
		paths[i] = i % 2 ? "out/a.txt" : "out/missing.txt";
	ck_assert_int_ge(rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	ck_assert_ptr_nonnull(s = nf_statahead_start(rootfd, paths, N));
	free(paths);   /* copied */
	close(rootfd); /* the thread has its own */
	ck_assert(!nf_statahead_get(s, 0, "out/missing.txt", &got));
	nf_statahead_free(s);
}
END_TEST

/* The thread keeps half a window ahead of the furthest path asked for, no further; asked in
 * order, every path of many windows is found with its own stat; a path more than half a
 * window behind the furthest asked is the caller's to look at again. */
START_TEST(test_statahead_window)
{
	enum { N = 2 * NF_STATAHEAD_WINDOW + 100 };
	const char **paths = xcalloc(N, sizeof(*paths));
	struct timespec ms = { 0, 1000000 };
	nf_statahead *s;
	struct stat got;
	char *dir;
	int rootfd;

	sh("cd root && mkdir -p out");
	dir = xasprintf("%s/out", root);
	for (size_t i = 0; i < N; i++) {
		char *p = xasprintf("%s/f%zu", dir, i);
		FILE *f = fopen(p, "w");

		ck_assert_ptr_nonnull(f);
		for (size_t k = 0; k < i % 13; k++)
			fputc('x', f);
		ck_assert_int_eq(fclose(f), 0);
		free(p);
		paths[i] = xasprintf("out/f%zu", i);
	}
	ck_assert_int_ge(rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	ck_assert_ptr_nonnull(s = nf_statahead_start(rootfd, paths, N));
	statahead_wait(s, NF_STATAHEAD_WINDOW / 2);
	for (int i = 0; i < 20; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(nf_statahead_taken(s), NF_STATAHEAD_WINDOW / 2);   /* it waits */
	for (size_t i = 0; i < N; i++) {
		bool found = false;

		for (int k = 0; k < 10000 && !(found = nf_statahead_get(s, i, paths[i], &got)); k++)
			nanosleep(&ms, NULL);
		ck_assert_msg(found, "path %zu never taken", i);
		ck_assert_int_eq(got.st_size, (off_t)(i % 13));
	}
	ck_assert_uint_eq(nf_statahead_taken(s), N);
	ck_assert(nf_statahead_get(s, N - NF_STATAHEAD_WINDOW / 2, paths[N - NF_STATAHEAD_WINDOW / 2], &got));
	ck_assert(!nf_statahead_get(s, N - NF_STATAHEAD_WINDOW / 2 - 2, paths[N - NF_STATAHEAD_WINDOW / 2 - 2], &got));
	ck_assert(!nf_statahead_get(s, 0, paths[0], &got));
	nf_statahead_free(s);
	close(rootfd);
	for (size_t i = 0; i < N; i++)
		free((char *)paths[i]);
	free(paths);
	free(dir);
}
END_TEST

/* A state folder's canonical path keeps the folder itself (a link to another disk) and
 * resolves what is above it. */
START_TEST(test_state_dir_canon)
{
	char *got, *want, *cwd = getcwd(NULL, 0);

	sh("mkdir -p proj disk/state && ln -s ../disk/state proj/.ntflow && ln -s proj plink");
	want = xasprintf("%s/proj/.ntflow", base);
	got = nf_state_dir_canon(want);
	ck_assert_str_eq(got, want);
	free(got);
	{
		char *p = xasprintf("%s/proj/.ntflow//", base), *c = nf_state_dir_canon(p);

		ck_assert_str_eq(c, want);
		free(c);
		free(p);
		p = xasprintf("%s/plink/.ntflow", base);
		c = nf_state_dir_canon(p);
		ck_assert_str_eq(c, want);   /* a link above it is resolved */
		free(c);
		free(p);
	}
	ck_assert_int_eq(chdir(base), 0);
	got = nf_state_dir_canon("proj/.ntflow");
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_int_eq(chdir(want), 0);
	got = nf_state_dir_canon(".");
	free(want);
	want = xasprintf("%s/disk/state", base);   /* no name of its own: resolved whole */
	ck_assert_str_eq(got, want);
	free(got);
	got = nf_state_dir_canon("/nonexistent-nf/x");
	ck_assert_str_eq(got, "/nonexistent-nf/x");
	free(got);
	ck_assert_int_eq(chdir(cwd), 0);
	free(cwd);
	free(want);
}
END_TEST

static Suite *
path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lexical);
	tcase_add_loop_test(tc, test_parent, 0, 2);
	tcase_add_loop_test(tc, test_symlink_in_the_middle, 0, 2);
	tcase_add_loop_test(tc, test_symlink_at_the_end, 0, 2);
	tcase_add_loop_test(tc, test_long_paths, 0, 2);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_beneath);
	tcase_add_loop_test(tc, test_open_at, 0, 2);
	tcase_add_test(tc, test_resolve);
	tcase_add_loop_test(tc, test_dircache, 0, 2);
	tcase_add_test(tc, test_dircache_clear_at);
	tcase_add_test(tc, test_dircache_many_folders);
	tcase_add_test(tc, test_statahead);
	tcase_add_test(tc, test_statahead_window);
	tcase_add_test(tc, test_statahead_shared_prefix);
	tcase_add_test(tc, test_statahead_stopped);
	tcase_add_test(tc, test_state_dir_canon);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(path_suite());
	int failed;

	setenv("LC_ALL", "C", 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
