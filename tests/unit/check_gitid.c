/* check_gitid.c: unit tests of input identities: the OIDs ntflow computes through libgit2 must
 * equal what the git command line reports (hash-object, rev-parse HEAD:path, write-tree), and
 * content hashes must equal sha256sum and come from the stat cache when the file is unchanged. */
#include "config.h"
#include "ntflow/cache.h"
#include "ntflow/store.h"

#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/cache/cache-internal.h"

/* Runs a shell command in dir; the test fails when it does. */
static void
sh(const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && { %s ; } >/dev/null 2>&1", dir, cmd);
	rc = system(full);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
	free(full);
	free(cmd);
}

/* The first line a shell command prints in dir (without its newline). */
static char *
sh_out(const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full, line[4096] = "";
	FILE *p;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && { %s ; } 2>/dev/null", dir, cmd);
	ck_assert((p = popen(full, "r")) != NULL);
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	ck_assert_msg(pclose(p) == 0, "command failed: %s", cmd);
	line[strcspn(line, "\n")] = '\0';
	free(full);
	free(cmd);
	return xstrdup(line);
}

static char *
scratch(void)
{
	char tmpl[] = "/tmp/nf-gitid.XXXXXX";

	ck_assert(mkdtemp(tmpl) != NULL);
	return xstrdup(tmpl);
}

/* A repository on branch main with a few committed files and folders. */
static char *
new_repo(void)
{
	char *d = scratch();

	sh(d, "git init -q -b main");
	sh(d, "printf 'hello\\n' > a.txt && mkdir -p src/sub src/clean && "
	      "printf 'x = 1\\n' > src/x.py && printf 'y = 2\\n' > src/sub/y.py && "
	      "printf 'c\\n' > src/clean/c.py && printf '#!/bin/sh\\n' > src/tool.sh && "
	      "chmod +x src/tool.sh && ln -s x.py src/xlink && printf '*.bin\\nbig/\\n' > .gitignore");
	sh(d, "git add -A && git commit -qm first");
	return d;
}

static void
rm_rf(char *d)
{
	sh("/", "rm -rf '%s'", d);
	free(d);
}

static void
ck_id(nf_gitrepo *r, const char *path, nf_id_kind kind, const char *expect)
{
	nf_path_id id;

	ck_assert_msg(nf_gitrepo_identify(r, path, &id) == 0, "%s: %s", path, nf_error_last());
	ck_assert_msg(id.kind == kind, "%s: kind %d, expected %d (%s)", path, id.kind, kind, id.id);
	ck_assert_msg(!strcmp(id.id, expect), "%s: %s, expected %s", path, id.id, expect);
}

static void
ck_git(nf_gitrepo *r, const char *dir, const char *path, nf_id_kind kind, const char *scheme,
       const char *gitcmd)
{
	char *oid = sh_out(dir, "%s", gitcmd), *file = xasprintf("%s/%s", dir, path);
	struct stat sb;
	/* an executable file's id says so (the blob has no mode) */
	bool exec = stat(file, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & S_IXUSR);
	char *expect = xasprintf("%s:%s%s", scheme, oid, exec ? "+x" : "");

	free(file);
	ck_assert_int_eq(strlen(oid), 40);
	ck_id(r, path, kind, expect);
	free(expect);
	free(oid);
}

/* The tree git would record for folder P of the work tree after `git add -A P`, computed in
 * a copy of the index (the repository's stays as the snapshot read it). The copy keeps the
 * index's time: git takes an entry written in the index's clock tick as racy and reads the
 * file again, and a copy stamped now would make git trust the stat of a file rewritten, to
 * the same size, in the tick it was committed in (the expected tree then HEAD's: a test
 * failed so, now and then, when the machine was fast). */
#define WORKTREE_TREE(P)                                                                      \
	"t=$(mktemp) && cp -p .git/index $t && GIT_INDEX_FILE=$t git add -A " P " && "         \
	"git rev-parse \"$(GIT_INDEX_FILE=$t git write-tree)\":" P " && rm -f $t"

/* path's id in repository d as a run opening it now sees it. */
static void
fresh_id(const char *d, const char *path, nf_path_id *out)
{
	nf_gitrepo *r;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_msg(nf_gitrepo_identify(r, path, out) == 0, "%s: %s", path, nf_error_last());
	nf_gitrepo_free(r);
}

static bool
has_dirty(nf_gitrepo *r, const char *path)
{
	for (const char *const *p = nf_gitrepo_dirty_paths(r); *p; p++)
		if (!strcmp(*p, path))
			return true;
	return false;
}

static size_t
count_dirty(nf_gitrepo *r)
{
	size_t n = 0;

	for (const char *const *p = nf_gitrepo_dirty_paths(r); *p; p++)
		n++;
	return n;
}

START_TEST(test_clean)
{
	char *d = new_repo(), *head = sh_out(d, "git rev-parse HEAD");
	nf_gitrepo *r;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert(nf_gitrepo_present(r));
	ck_assert_str_eq(nf_gitrepo_head(r), head);
	ck_assert_str_eq(nf_gitrepo_branch(r), "main");
	ck_git(r, d, "a.txt", NF_ID_CLEAN, "blob", "git hash-object a.txt");
	ck_git(r, d, "a.txt", NF_ID_CLEAN, "blob", "git rev-parse HEAD:a.txt");
	ck_git(r, d, "src/sub/y.py", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/sub/y.py");
	ck_git(r, d, "src/tool.sh", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/tool.sh");
	/* A tracked link is identified by what it leads to, not by its text. */
	ck_git(r, d, "src/xlink", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
	ck_git(r, d, "src", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src");
	ck_git(r, d, "src/", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src");
	ck_git(r, d, "./src//sub/", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src/sub");
	ck_git(r, d, "src/sub/../clean", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src/clean");
	ck_git(r, d, ".", NF_ID_CLEAN, "tree", "git rev-parse 'HEAD^{tree}'");
	ck_assert_int_eq(count_dirty(r), 0);
	/* An absolute path inside the work tree is the same path. */
	{
		char *abs = xasprintf("%s/src/x.py", d);

		ck_git(r, d, abs, NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
		free(abs);
	}
	nf_gitrepo_free(r);
	free(head);
	rm_rf(d);
}
END_TEST

START_TEST(test_dirty_files)
{
	char *d = new_repo();
	nf_gitrepo *r;

	sh(d, "printf 'changed\\n' > a.txt && printf 'new\\n' > new.txt && "
	      "printf 'y = 3\\n' > src/sub/y.py && git add src/sub/y.py && "
	      "printf 'x = 9\\n' > src/x.py && git add src/x.py && printf 'x = 1\\n' > src/x.py && "
	      "printf 'run\\n' > run.sh && chmod +x run.sh && ln -s a.txt alink");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "a.txt", NF_ID_DIRTY, "blob", "git hash-object a.txt");
	ck_git(r, d, "new.txt", NF_ID_DIRTY, "blob", "git hash-object new.txt");
	ck_git(r, d, "src/sub/y.py", NF_ID_DIRTY, "blob", "git hash-object src/sub/y.py");
	ck_git(r, d, "run.sh", NF_ID_DIRTY, "blob", "git hash-object run.sh");
	/* A link is identified by what it leads to (here a modified file). */
	ck_git(r, d, "alink", NF_ID_DIRTY, "blob", "git hash-object a.txt");
	/* Staged then reverted in the work tree: the content is HEAD's again. */
	ck_git(r, d, "src/x.py", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
	ck_assert(has_dirty(r, "a.txt"));
	ck_assert(has_dirty(r, "new.txt"));
	ck_assert(has_dirty(r, "src/sub/y.py"));
	ck_assert(has_dirty(r, "alink"));
	ck_assert(!has_dirty(r, "src/x.py"));
	ck_assert_int_eq(count_dirty(r), 5);
	/* Sorted, NULL-terminated. */
	ck_assert_str_eq(nf_gitrepo_dirty_paths(r)[0], "a.txt");
	ck_assert_ptr_null(nf_gitrepo_dirty_paths(r)[5]);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* Everything git add -A records in a folder: modified, staged, deleted, untracked, nested
 * untracked, executable, symlink; ignored files and empty folders left out; a clean
 * subfolder taken from HEAD. */
START_TEST(test_dirty_folder)
{
	char *d = new_repo();
	nf_gitrepo *r;
	nf_path_id id, again;

	sh(d, "printf 'y = 3\\n' > src/sub/y.py && rm src/x.py && printf 'n\\n' > src/new.txt && "
	      "mkdir -p src/newdir/deep src/empty src/onlyignored && printf 'd\\n' > src/newdir/deep/d.txt && "
	      "printf 'r\\n' > src/run.sh && chmod +x src/run.sh && ln -s new.txt src/link && "
	      "printf 'junk' > src/junk.bin && printf 'junk' > src/onlyignored/j.bin && "
	      "chmod -x src/tool.sh && printf 'a' > src/a-b && printf 'b' > src/a.b && "
	      /* git sorts a folder as if its name ended in '/': foo.txt < foo/ < foo0 */
	      "mkdir src/foo && printf f > src/foo/f && printf t > src/foo.txt && printf 0 > src/foo0");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &id), 0);
	ck_assert_int_eq(id.kind, NF_ID_DIRTY);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src/", &again), 0);
	ck_assert_str_eq(id.id, again.id);
	/* The unchanged subfolder is still clean; the whole work tree is dirty. */
	ck_git(r, d, "src/clean", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src/clean");
	ck_assert_int_eq(nf_gitrepo_identify(r, ".", &again), 0);
	ck_assert_int_eq(again.kind, NF_ID_DIRTY);
	ck_assert(has_dirty(r, "src/sub/y.py"));
	ck_assert(has_dirty(r, "src/x.py"));
	ck_assert(has_dirty(r, "src/new.txt"));
	ck_assert(has_dirty(r, "src/newdir/deep/d.txt"));
	ck_assert(has_dirty(r, "src/run.sh"));
	ck_assert(has_dirty(r, "src/link"));
	ck_assert(has_dirty(r, "src/tool.sh"));
	ck_assert(!has_dirty(r, "src/junk.bin"));
	ck_assert(!has_dirty(r, "src/clean/c.py"));
	/* The ignored files the folder holds are part of it as an input (folded in: a SHA-256,
	 * dirty as git sees the folder); without them it is the tree git add -A records. */
	ck_assert(!strncmp(id.id, "sha256:", 7));
	sh(d, "printf 'other junk' > src/junk.bin");
	nf_gitrepo_free(r);
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &again), 0);
	ck_assert_int_eq(again.kind, NF_ID_DIRTY);
	ck_assert_str_ne(id.id, again.id);
	sh(d, "rm -r src/junk.bin src/onlyignored");
	nf_gitrepo_free(r);
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &id), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, ".", &again), 0);
	{
		char *tree = sh_out(d, "git add -A src && git rev-parse $(git write-tree):src");
		char *root = sh_out(d, "git add -A && git write-tree");
		char *expect = xasprintf("tree:%s", tree);

		ck_assert_str_eq(id.id, expect);
		free(expect);
		expect = xasprintf("tree:%s", root);
		ck_assert_str_eq(again.id, expect);
		free(expect);
		free(tree);
		free(root);
	}
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A file made executable, or no longer, is another input, though its content is the same
 * (a blob id has no mode): committed or not. */
START_TEST(test_exec_bit)
{
	char *d = new_repo();
	nf_gitrepo *r;
	nf_path_id a, b, c;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "a.txt", &a), 0);
	nf_gitrepo_free(r);
	sh(d, "chmod +x a.txt");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "a.txt", &b), 0);
	nf_gitrepo_free(r);
	sh(d, "git commit -q -am exec");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "a.txt", &c), 0);
	ck_assert_str_ne(a.id, b.id);
	ck_assert_str_eq(b.id, c.id);
	ck_assert_int_eq(c.kind, NF_ID_CLEAN);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A folder with paths left out (what an upstream stage writes into it): identified as if
 * git ignored them, whatever they hold, untracked or tracked and changed, and not dirty
 * for them; a real change to another file still shows. */
START_TEST(test_identify_except)
{
	char *d = new_repo(), *src_tree = sh_out(d, "git rev-parse HEAD:src");
	const char *gen[] = { "src/gen.h" }, *genf[] = { "src/sub/" };
	nf_gitrepo *r;
	nf_path_id a, b;

	/* untracked, written before the snapshot */
	sh(d, "printf 'one\n' > src/gen.h");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src/", gen, 1, &a), 0);
	ck_assert_int_eq(a.kind, NF_ID_CLEAN);
	ck_assert_str_eq(a.id + 5, src_tree);   /* "tree:" and HEAD's tree: gen.h left out */
	ck_assert_int_eq(count_dirty(r), 0);
	/* and rewritten since: the same */
	sh(d, "printf 'two\n' > src/gen.h");
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src", gen, 1, &b), 0);
	ck_assert_str_eq(b.id, a.id);
	nf_gitrepo_free(r);
	/* tracked, and changed: still the tree without it, clean */
	sh(d, "git add src/gen.h && git commit -qm gen && printf 'three\n' > src/gen.h");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src/", gen, 1, &b), 0);
	ck_assert_int_eq(b.kind, NF_ID_CLEAN);
	ck_assert_str_eq(b.id, a.id);
	/* a folder left out; and without the exception the folder is dirty */
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src/", genf, 1, &b), 0);
	ck_assert_int_eq(b.kind, NF_ID_DIRTY);   /* gen.h counts again */
	ck_assert_str_ne(b.id, a.id);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src/", &b), 0);
	ck_assert_int_eq(b.kind, NF_ID_DIRTY);
	nf_gitrepo_free(r);
	/* another file changed: that shows */
	sh(d, "printf 'x = 9\n' > src/x.py");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src/", gen, 1, &b), 0);
	ck_assert_int_eq(b.kind, NF_ID_DIRTY);
	ck_assert_str_ne(b.id, a.id);
	nf_gitrepo_free(r);
	free(src_tree);
	rm_rf(d);
}
END_TEST

START_TEST(test_untracked_folder)
{
	char *d = new_repo();
	nf_gitrepo *r;
	nf_path_id id;
	char *expect, *tree;

	sh(d, "mkdir -p fresh/a && printf 1 > fresh/a/one && printf 2 > fresh/two && chmod +x fresh/two");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "fresh", &id), 0);
	ck_assert_int_eq(id.kind, NF_ID_DIRTY);
	ck_assert(has_dirty(r, "fresh/a/one"));
	ck_assert(has_dirty(r, "fresh/two"));
	tree = sh_out(d, "git add -A fresh && git rev-parse $(git write-tree):fresh");
	expect = xasprintf("tree:%s", tree);
	ck_assert_str_eq(id.id, expect);
	free(expect);
	free(tree);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

START_TEST(test_ignored)
{
	char *d = new_repo();
	nf_gitrepo *r;
	nf_path_id id1, id2;
	char *sum, *expect;

	sh(d, "printf 'weights' > model.bin && mkdir -p big/part && printf 'row\\n' > big/part/a.csv && "
	      "printf 'x' > big/b.csv && mkdir -p src/out && printf 'o' > src/out/o.bin");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	sum = sh_out(d, "sha256sum model.bin | cut -d' ' -f1");
	expect = xasprintf("sha256:%s", sum);
	ck_id(r, "model.bin", NF_ID_CONTENT, expect);
	free(expect);
	free(sum);
	sum = sh_out(d, "sha256sum big/part/a.csv | cut -d' ' -f1");
	expect = xasprintf("sha256:%s", sum);
	ck_id(r, "big/part/a.csv", NF_ID_CONTENT, expect);
	free(expect);
	free(sum);
	/* An ignored folder: the SHA-256 of its manifest (format in manifest.c). */
	sum = sh_out(d, "printf 'ntflow-manifest 1\\n100644 1 %%s b.csv\\n100644 4 %%s part/a.csv\\n' "
		     "$(sha256sum big/b.csv | cut -d' ' -f1) $(sha256sum big/part/a.csv | cut -d' ' -f1) "
		     "| sha256sum | cut -d' ' -f1");
	expect = xasprintf("sha256:%s", sum);
	ck_id(r, "big", NF_ID_CONTENT, expect);
	ck_id(r, "big/", NF_ID_CONTENT, expect);
	free(expect);
	free(sum);
	/* A folder in which git sees nothing is content-hashed too. */
	ck_assert_int_eq(nf_gitrepo_identify(r, "src/out", &id1), 0);
	ck_assert_int_eq(id1.kind, NF_ID_CONTENT);
	sh(d, "printf 'p' > src/out/o.bin");
	ck_assert_int_eq(nf_gitrepo_identify(r, "src/out", &id2), 0);
	ck_assert_str_ne(id1.id, id2.id);
	/* A folder's identity changes with any file in it. */
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &id1), 0);
	sh(d, "printf 'y' > big/b.csv");
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &id2), 0);
	ck_assert_str_ne(id1.id, id2.id);
	ck_assert_int_eq(count_dirty(r), 0);
	/* Ignored files are not part of a folder's git tree (as in git), but they are part of
	 * the folder as an input: src holds src/out/o.bin, folded in (clean: nothing git sees
	 * changed); without it, HEAD's tree. */
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &id1), 0);
	ck_assert_int_eq(id1.kind, NF_ID_CLEAN);
	ck_assert(!strncmp(id1.id, "sha256:", 7));
	sh(d, "rm -r src/out");
	nf_gitrepo_free(r);
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "src", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src");
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* With the memo on (a run before anything has written the work tree), a folder named again
 * with the same paths left out is answered from the first reading: a matrix of 300 instances
 * over a folder of 3 000 ignored files read them once, not 300 times. A file is read again;
 * another exception is another folder; off, or a refresh, forgets. */
START_TEST(test_memo)
{
	char *d = new_repo();
	const char *gen[] = { "src/gen.h" };
	nf_gitrepo *r;
	nf_path_id a, b, c, e1, e2;

	sh(d, "mkdir -p big && printf 'x' > big/b.csv && printf 'o' > src/o.bin && printf 'p' > model.bin");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	nf_gitrepo_memo(r, true);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &a), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src", gen, 1, &e1), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "model.bin", &c), 0);
	sh(d, "printf 'y' > big/b.csv && printf 'q' > src/o.bin && printf 'q' > model.bin && printf 'g' > src/gen.h");
	/* kept: the folders as first read */
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &e2), 0);
	ck_assert_str_eq(e2.id, a.id);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &e2), 0);
	ck_assert_str_eq(e2.id, b.id);
	ck_assert_int_eq(nf_gitrepo_identify_except(r, "src", gen, 1, &e2), 0);
	ck_assert_str_eq(e2.id, e1.id);
	/* a file is read again; the folder named otherwise ("big/") is a reading of its own */
	ck_assert_int_eq(nf_gitrepo_identify(r, "model.bin", &e2), 0);
	ck_assert_str_ne(e2.id, c.id);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big/", &e2), 0);
	ck_assert_str_ne(e2.id, a.id);
	/* off: read again */
	nf_gitrepo_memo(r, false);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &e2), 0);
	ck_assert_str_ne(e2.id, a.id);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &e2), 0);
	ck_assert_str_ne(e2.id, b.id);
	/* on again, and a refresh: what was kept is gone */
	nf_gitrepo_memo(r, true);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &a), 0);
	sh(d, "printf 'z' > big/b.csv");
	ck_assert_int_eq(nf_gitrepo_refresh(r), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &e2), 0);
	ck_assert_str_ne(e2.id, a.id);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A folder symlinked out of the work tree (data -> /mnt/big) is refused, on the way or at the
 * end; a link that stays inside is identified by what it leads to, and retargeting it (a
 * commit that changes only the link) changes the identity. */
START_TEST(test_symlinked_folder)
{
	char *d = new_repo(), *other = scratch(), *msg;
	nf_gitrepo *r;
	nf_path_id id;

	sh(other, "printf 'data' > x.csv");
	sh(d, "ln -s '%s' data && mkdir -p models/v1 models/v2 && printf one > models/v1/w && printf two > models/v2/w && "
	      "ln -s v1 models/current && ln -s '%s/models/v2' models/abs && ln -s ../a.txt models/alink && "
	      "git add -A && git commit -qm link", other, d);
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "data/x.csv", &id), NF_EINVALID);
	msg = xasprintf("input 'data/x.csv' leads to '%s/x.csv', outside the project, through a symbolic link", other);
	ck_assert_str_eq(nf_error_last(), msg);
	free(msg);
	ck_assert_int_eq(nf_gitrepo_identify(r, "data", &id), NF_EINVALID);
	ck_assert_int_eq(nf_gitrepo_identify(r, "data/not-yet.csv", &id), NF_EINVALID);
	ck_git(r, d, "models/current", NF_ID_CLEAN, "tree", "git rev-parse HEAD:models/v1");
	ck_git(r, d, "models/current/w", NF_ID_CLEAN, "blob", "git rev-parse HEAD:models/v1/w");
	ck_git(r, d, "models/abs", NF_ID_CLEAN, "tree", "git rev-parse HEAD:models/v2");
	ck_git(r, d, "models/alink", NF_ID_CLEAN, "blob", "git rev-parse HEAD:a.txt");
	nf_gitrepo_free(r);
	/* Retargeted, not committed: the other folder's identity, and the run is dirty. */
	sh(d, "ln -sfn v2 models/current");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "models/current", NF_ID_DIRTY, "tree", "git rev-parse HEAD:models/v2");
	ck_assert(has_dirty(r, "models/current"));
	nf_gitrepo_free(r);
	/* Committed: clean again, still the target's identity. */
	sh(d, "git add -A && git commit -qm retarget");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "models/current", NF_ID_CLEAN, "tree", "git rev-parse HEAD:models/v2");
	/* A link leading nowhere: nothing to read. */
	sh(d, "ln -s nowhere dangling");
	ck_id(r, "dangling", NF_ID_MISSING, "missing");
	nf_gitrepo_free(r);
	rm_rf(d);
	rm_rf(other);
}
END_TEST

START_TEST(test_no_repo)
{
	char *d = scratch(), *sum, *expect;
	nf_gitrepo *r;

	sh(d, "mkdir -p f/g && printf 'abc' > f/a && printf 'def' > f/g/b && chmod +x f/g/b && "
	      "ln -s a f/l && mkdir f/empty && mkdir -p f/.ntflow && printf z > f/.ntflow/skip");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert(!nf_gitrepo_present(r));
	ck_assert_ptr_null(nf_gitrepo_head(r));
	ck_assert_ptr_null(nf_gitrepo_branch(r));
	sum = sh_out(d, "sha256sum f/a | cut -d' ' -f1");
	expect = xasprintf("sha256:%s", sum);
	ck_id(r, "f/a", NF_ID_CONTENT, expect);
	free(expect);
	free(sum);
	sum = sh_out(d, "printf 'ntflow-manifest 1\\n100644 3 %%s a\\n040000 0 - empty\\n100755 3 %%s g/b\\n"
		     "120000 1 %%s l\\n' $(sha256sum f/a | cut -d' ' -f1) $(sha256sum f/g/b | cut -d' ' -f1) "
		     "$(printf a | sha256sum | cut -d' ' -f1) | sha256sum | cut -d' ' -f1");
	expect = xasprintf("sha256:%s", sum);
	ck_id(r, "f", NF_ID_CONTENT, expect);
	free(expect);
	free(sum);
	ck_id(r, "nothing/here", NF_ID_MISSING, "missing");
	ck_assert_int_eq(count_dirty(r), 0);
	ck_assert_int_eq(nf_gitrepo_refresh(r), 0);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A linked worktree, whose .git is a file naming the repository's folder, opened at a
 * subfolder: found (libgit2 is started only when a .git is at or above the root). */
START_TEST(test_linked_worktree)
{
	char *d = new_repo(), *sub = xasprintf("%s/wt/src", d);
	nf_gitrepo *r;

	sh(d, "git worktree add -q wt && test -f wt/.git");
	ck_assert_int_eq(nf_gitrepo_open(&r, sub, NULL), 0);
	ck_assert(nf_gitrepo_present(r));
	ck_assert_ptr_nonnull(nf_gitrepo_head(r));
	ck_git(r, d, "x.py", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
	nf_gitrepo_free(r);
	free(sub);
	rm_rf(d);
}
END_TEST

/* No commit yet: no HEAD, a branch name, everything dirty with working-tree OIDs. */
START_TEST(test_empty_repo)
{
	char *d = scratch(), *tree, *expect;
	nf_gitrepo *r;
	nf_path_id id;

	sh(d, "git init -q -b trunk && mkdir s && printf 1 > s/staged && git add s/staged && printf 2 > s/new");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert(nf_gitrepo_present(r));
	ck_assert_ptr_null(nf_gitrepo_head(r));
	ck_assert_str_eq(nf_gitrepo_branch(r), "trunk");
	ck_git(r, d, "s/staged", NF_ID_DIRTY, "blob", "git hash-object s/staged");
	ck_git(r, d, "s/new", NF_ID_DIRTY, "blob", "git hash-object s/new");
	ck_assert_int_eq(nf_gitrepo_identify(r, "s", &id), 0);
	ck_assert_int_eq(id.kind, NF_ID_DIRTY);
	ck_assert(has_dirty(r, "s/staged"));
	ck_assert(has_dirty(r, "s/new"));
	tree = sh_out(d, "git add -A && git rev-parse $(git write-tree):s");
	expect = xasprintf("tree:%s", tree);
	ck_assert_str_eq(id.id, expect);
	free(expect);
	free(tree);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

START_TEST(test_missing_and_detached)
{
	char *d = new_repo();
	nf_gitrepo *r;

	sh(d, "rm a.txt && git checkout -q --detach");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_assert_ptr_nonnull(nf_gitrepo_head(r));
	ck_assert_ptr_null(nf_gitrepo_branch(r));
	ck_id(r, "a.txt", NF_ID_MISSING, "missing");
	ck_id(r, "no/such/file", NF_ID_MISSING, "missing");
	ck_id(r, "a.txt/below", NF_ID_MISSING, "missing");
	ck_assert(has_dirty(r, "a.txt"));
	ck_assert_int_eq(count_dirty(r), 1);
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* Opened on a subfolder: paths and dirty paths are relative to it. */
START_TEST(test_subfolder_root)
{
	char *d = new_repo(), *sub = xasprintf("%s/src", d);
	nf_gitrepo *r;

	sh(d, "printf 'z' > src/sub/z.py");
	ck_assert_int_eq(nf_gitrepo_open(&r, sub, NULL), 0);
	ck_git(r, d, "x.py", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
	ck_git(r, d, "clean", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src/clean");
	ck_git(r, d, "sub/z.py", NF_ID_DIRTY, "blob", "git hash-object src/sub/z.py");
	/* In the repository but outside the project (its root is src): refused. */
	{
		nf_path_id id;

		ck_assert_int_eq(nf_gitrepo_identify(r, "../a.txt", &id), NF_EINVALID);
		ck_assert_str_eq(nf_error_last(), "input '../a.txt' is outside the workspace");
	}
	ck_assert(has_dirty(r, "sub/z.py"));
	nf_gitrepo_free(r);
	free(sub);
	rm_rf(d);
}
END_TEST

/* The snapshot is taken at open; refresh sees what changed since. */
START_TEST(test_refresh)
{
	char *d = new_repo();
	nf_gitrepo *r;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "src", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src");
	sh(d, "printf 'w' > src/sub/y.py");
	ck_git(r, d, "src", NF_ID_DIRTY, "tree", WORKTREE_TREE("src"));   /* test_folder_changed_after_open */
	ck_assert_int_eq(nf_gitrepo_refresh(r), 0);
	ck_git(r, d, "src/sub/y.py", NF_ID_DIRTY, "blob", "git hash-object src/sub/y.py");
	sh(d, "git commit -qam second");
	ck_assert_int_eq(nf_gitrepo_refresh(r), 0);
	ck_git(r, d, "src", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src");
	{
		char *head = sh_out(d, "git rev-parse HEAD");

		ck_assert_str_eq(nf_gitrepo_head(r), head);
		free(head);
	}
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A tracked file written after the snapshot (a person's edit during a run, an input mended
 * before a retry) is identified as it is now, not as the snapshot saw it; one touched
 * without a change is still HEAD's blob. */
START_TEST(test_file_changed_after_open)
{
	char *d = new_repo();
	nf_gitrepo *r;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	ck_git(r, d, "a.txt", NF_ID_CLEAN, "blob", "git rev-parse HEAD:a.txt");
	sh(d, "printf 'edited\\n' > a.txt && touch src/x.py");
	ck_git(r, d, "a.txt", NF_ID_DIRTY, "blob", "git hash-object a.txt");
	ck_assert(has_dirty(r, "a.txt"));
	ck_git(r, d, "src/x.py", NF_ID_CLEAN, "blob", "git rev-parse HEAD:src/x.py");
	ck_assert(!has_dirty(r, "src/x.py"));
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A folder dirty in the snapshot (src/x.py) whose other subfolder changed after it
 * (src/sub/y.py): its tree is built, and that subfolder is not taken as HEAD's. */
START_TEST(test_folder_dirty_and_changed)
{
	char *d = new_repo();
	nf_gitrepo *r;

	sh(d, "printf 'x = 2\\n' > src/x.py");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	sh(d, "printf 'y = 3\\n' > src/sub/y.py");
	ck_git(r, d, "src", NF_ID_DIRTY, "tree", WORKTREE_TREE("src"));
	ck_assert(has_dirty(r, "src/x.py"));
	ck_assert(has_dirty(r, "src/sub/y.py"));
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* An ignored link inside a folder input counts by its text, as git records a tracked one:
 * what it leads to, here outside the project, is never read (a link to /usr was hashed whole
 * at each run). Pointing it elsewhere changes the folder's id. */
START_TEST(test_ignored_link_by_text)
{
	char *d = new_repo(), *out = xasprintf("%s.outside", d);
	nf_path_id a, b, c;

	sh(d, "mkdir -p '%s' && printf 'one' > '%s/f' && ln -s '%s/f' src/ext.bin", out, out, out);
	fresh_id(d, "src", &a);
	sh(d, "printf 'two' > '%s/f'", out);
	fresh_id(d, "src", &b);
	ck_assert_str_eq(a.id, b.id);   /* the outside file's content is not in it */
	sh(d, "printf 'two' > '%s/g' && ln -sfn '%s/g' src/ext.bin", out, out);
	fresh_id(d, "src", &c);
	ck_assert_str_ne(b.id, c.id);   /* the link's text is */
	sh("/", "rm -rf '%s'", out);
	free(out);
	rm_rf(d);
}
END_TEST

/* A tracked folder's file edited after the snapshot, as a person may during a long run: the
 * folder is what is there now, not HEAD's tree the snapshot vouched for; a file only
 * touched keeps its folder clean. */
START_TEST(test_folder_changed_after_open)
{
	char *d = new_repo();
	nf_gitrepo *r;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	sh(d, "printf 'y = 3\\n' > src/sub/y.py && touch src/clean/c.py");
	ck_git(r, d, "src", NF_ID_DIRTY, "tree", WORKTREE_TREE("src"));
	ck_assert(has_dirty(r, "src/sub/y.py"));
	ck_git(r, d, "src/clean", NF_ID_CLEAN, "tree", "git rev-parse HEAD:src/clean");
	ck_assert(!has_dirty(r, "src/clean/c.py"));
	ck_assert(!has_dirty(r, "src/x.py"));
	nf_gitrepo_free(r);
	rm_rf(d);
}
END_TEST

/* A tracked file hashed from the work tree (modified, or changed since the snapshot) is
 * hashed once a run while its stat holds: seen here by a filter that would hash it to
 * another blob once .gitattributes says so. A new stat hashes it again. */
START_TEST(test_blob_memo)
{
	char *d = new_repo();
	nf_gitrepo *r;
	char *before;

	ck_assert_int_eq(nf_gitrepo_open(&r, d, NULL), 0);
	sh(d, "printf 'x\\r\\ny\\r\\n' > a.txt && touch -d '2020-01-01 00:00:00' a.txt");
	before = sh_out(d, "git hash-object a.txt");
	ck_git(r, d, "a.txt", NF_ID_DIRTY, "blob", "git hash-object a.txt");
	sh(d, "printf 'a.txt text eol=lf\\n' > .gitattributes");
	{
		char *now = sh_out(d, "git hash-object a.txt"), *expect = xasprintf("blob:%s", before);

		ck_assert_str_ne(now, before);              /* what a new hash would give */
		ck_id(r, "a.txt", NF_ID_DIRTY, expect);   /* the stat holds: remembered */
		free(expect);
		free(now);
	}
	sh(d, "touch -d '2020-01-02 00:00:00' a.txt");
	ck_git(r, d, "a.txt", NF_ID_DIRTY, "blob", "git hash-object a.txt");
	nf_gitrepo_free(r);
	free(before);
	rm_rf(d);
}
END_TEST

/* A checkout of an older commit (ntflow run --at) is the commit's tree: a file tracked
 * there is its blob, even untracked and ignored in the repository since and written just
 * now (no snapshot to doubt), and still after a refresh (a retry's). */
START_TEST(test_open_at_tracked_then)
{
	char *d = new_repo(), *co = xasprintf("%s.co", d), *old;
	nf_gitrepo *r;

	sh(d, "printf '1,2\\n' > data.csv && git add data.csv && git commit -qm data");
	old = sh_out(d, "git rev-parse HEAD");
	sh(d, "git rm -q --cached data.csv && printf 'data.csv\\n' >> .gitignore && git add .gitignore && "
	      "git commit -qm untrack && git worktree add -q --detach '%s' %s", co, old);
	ck_assert_int_eq(nf_gitrepo_open_at(&r, d, co, old, NULL), 0);
	ck_git(r, d, "data.csv", NF_ID_CLEAN, "blob", "git rev-parse HEAD~1:data.csv");
	/* a retry's new look (nf_gitrepo_refresh) is still at the commit, not at the
	 * repository's HEAD and status */
	ck_assert_int_eq(nf_gitrepo_refresh(r), 0);
	ck_assert_str_eq(nf_gitrepo_head(r), old);
	ck_git(r, d, "data.csv", NF_ID_CLEAN, "blob", "git rev-parse HEAD~1:data.csv");
	nf_gitrepo_free(r);
	sh(d, "git worktree remove --force '%s'", co);
	free(old);
	free(co);
	rm_rf(d);
}
END_TEST

START_TEST(test_open_errors)
{
	nf_gitrepo *r = (nf_gitrepo *)1;

	ck_assert_int_eq(nf_gitrepo_open(&r, "/nonexistent/ntflow-root", NULL), NF_ENOTFOUND);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(nf_error_last(), "cannot open '/nonexistent/ntflow-root': No such file or directory");
	nf_gitrepo_free(NULL);
}
END_TEST

static int64_t
count_rows(const char *dbpath)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t n;

	/* A second connection to the store's file: the store keeps the table (migration 12). */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM statcache", -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void
raw_exec(const char *dbpath, const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* The stat cache answers without reading while (size, mtime, inode, ctime) are unchanged. */
START_TEST(test_statcache)
{
	char *d = scratch(), *path = xasprintf("%s/data.csv", d), *real;
	char *dbpath = xasprintf("%s/state.db", d);
	static const char fake[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char out[65];
	nf_store *st;
	nf_statcache *db;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	db = nf_store_statcache(st);
	/* A file written just now may change again within the same tick: hashed, not cached
	 * (written again until no clock tick passed between the write and the hash's end; on
	 * a filesystem with coarse times the 2 s margin holds it anyway). */
	for (int tries = 0;; tries++) {
		struct stat fst;
		int64_t changed;

		ck_assert_int_lt(tries, 1000);
		sh(d, "printf 'a,b\\n1,2\\n' > data.csv");
		ck_assert_int_eq(stat(path, &fst), 0);
		changed = (int64_t)fst.st_ctim.tv_sec * 1000000000LL + fst.st_ctim.tv_nsec;
		ck_assert_int_eq(nf_hash_file(out, path, db), 0);
		if (nf_coarse_now_ns() <= changed || fst.st_mtim.tv_nsec % 1000000 == 0)
			break;
		raw_exec(dbpath, "DELETE FROM statcache");
	}
	real = sh_out(d, "sha256sum data.csv | cut -d' ' -f1");
	ck_assert_str_eq(out, real);
	ck_assert_int_eq(count_rows(dbpath), 0);
	/* An older file is cached; a fake sha256 put in its row is what comes back. */
	sh(d, "touch -d '2020-01-01 00:00:00' data.csv");
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, real);
	ck_assert_int_eq(count_rows(dbpath), 1);
	raw_exec(dbpath, "UPDATE statcache SET sha256 = "
		 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, fake);
	/* A row whose hash is not 64 hex digits is a miss. */
	raw_exec(dbpath, "UPDATE statcache SET sha256 = 'short'");
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, real);
	/* Touched: the stat data differs, the file is read again. */
	sh(d, "touch data.csv");
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, real);
	/* Without a cache every call reads. */
	ck_assert_int_eq(nf_hash_file(out, path, NULL), 0);
	ck_assert_str_eq(out, real);
	nf_store_close(st);
	free(real);
	free(dbpath);
	free(path);
	rm_rf(d);
}
END_TEST

/* A file folded into its folder's identity (ignored, in a folder git sees) and vouched for
 * by the stat cache is remembered by the repository: looked at again (the next instance of
 * a matrix), its stat alone answers, without a query; a new stat reads it again. */
START_TEST(test_fold_file_memo)
{
	char *d = new_repo(), *dbpath = xasprintf("%s/state.db", d);
	nf_store *st;
	nf_statcache *db;
	nf_gitrepo *r;
	nf_path_id a, b;

	sh(d, "printf 'w' > src/w.bin && touch -d '2020-01-01 00:00:00' src/w.bin");
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	db = nf_store_statcache(st);
	ck_assert_int_eq(nf_gitrepo_open(&r, d, db), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &a), 0);   /* read, and kept by the stat cache */
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);   /* vouched for by it: remembered */
	ck_assert_str_eq(b.id, a.id);
	raw_exec(dbpath, "UPDATE statcache SET sha256 = "
		 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);   /* the stat: no query */
	ck_assert_str_eq(b.id, a.id);
	nf_gitrepo_free(r);
	/* another repository (another run) asks the database, which says what it was told */
	ck_assert_int_eq(nf_gitrepo_open(&r, d, db), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);
	ck_assert_str_ne(b.id, a.id);
	/* a new stat (same size): read again */
	sh(d, "printf 'v' > src/w.bin && touch -d '2020-01-02 00:00:00' src/w.bin");
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);
	ck_assert_str_ne(b.id, a.id);
	sh(d, "printf 'w' > src/w.bin && touch -d '2020-01-03 00:00:00' src/w.bin");
	ck_assert_int_eq(nf_gitrepo_identify(r, "src", &b), 0);
	ck_assert_str_eq(b.id, a.id);
	nf_gitrepo_free(r);
	nf_store_close(st);
	free(dbpath);
	rm_rf(d);
}
END_TEST

/* Writes data.csv in d with text and hashes it through db until the hash was racy (no
 * clock tick between the write and the read): not put, noted. The file's change time. */
static int64_t
write_racy(const char *d, const char *dbpath, nf_statcache *db, const char *text)
{
	char *path = xasprintf("%s/data.csv", d), *cmd = xasprintf("printf '%s' > data.csv", text);
	int64_t changed;
	char out[65];

	for (int tries = 0;; tries++) {
		struct stat fst;

		ck_assert_int_lt(tries, 1000);
		raw_exec(dbpath, "DELETE FROM statcache");
		sh(d, cmd);
		ck_assert_int_eq(stat(path, &fst), 0);
		changed = (int64_t)fst.st_ctim.tv_sec * 1000000000LL + fst.st_ctim.tv_nsec;
		ck_assert_int_eq(nf_hash_file(out, path, db), 0);
		if (nf_coarse_now_ns() <= changed && count_rows(dbpath) == 0)
			break;
	}
	free(cmd);
	free(path);
	return changed;
}

/* A file hashed in the tick it was written in (an output, as its stage ends) is hashed
 * again by nf_hash_settle once that tick is past, and put: the next run finds it by its
 * stat. One changed since is not put. */
START_TEST(test_statcache_settle)
{
	char *d = scratch(), *path = xasprintf("%s/data.csv", d), *real;
	char *dbpath = xasprintf("%s/state.db", d);
	char out[65];
	int64_t changed;
	nf_store *st;
	nf_statcache *db;
	struct stat fst;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	db = nf_store_statcache(st);
	ck_assert_uint_eq(nf_hash_settle(db, 0), 0);   /* nothing noted yet */
	changed = write_racy(d, dbpath, db, "a,b\\n1,2\\n");
	ck_assert_int_eq(stat(path, &fst), 0);
	if (fst.st_mtim.tv_nsec % 1000000 == 0) {
		/* a filesystem of coarse times: its 2 s margin, not the tick, would hold it */
		nf_store_close(st);
		rm_rf(d);
		free(dbpath);
		free(path);
		return;
	}
	while (nf_coarse_now_ns() <= changed)
		usleep(1000);
	real = sh_out(d, "sha256sum data.csv | cut -d' ' -f1");
	ck_assert_uint_eq(nf_hash_settle(db, 0), 1);
	ck_assert_int_eq(count_rows(dbpath), 1);
	ck_assert_uint_eq(nf_hash_settle(db, 0), 0);   /* done with */
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, real);
	/* Found by its stat now: a fake hash put in its row is what comes back. */
	raw_exec(dbpath, "UPDATE statcache SET sha256 = "
		 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	ck_assert_int_eq(nf_hash_file(out, path, db), 0);
	ck_assert_str_eq(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	/* Waited for, as at the end of a run: put at once. */
	write_racy(d, dbpath, db, "b\\n");
	ck_assert_uint_eq(nf_hash_settle(db, 100), 1);
	ck_assert_int_eq(count_rows(dbpath), 1);
	/* Noted, then written again: its stat differs from the one noted, nothing is put. */
	changed = write_racy(d, dbpath, db, "a,b\\n3,4,5\\n");
	sh(d, "printf 'x\\n' > data.csv");
	ck_assert_int_eq(stat(path, &fst), 0);
	changed = (int64_t)fst.st_ctim.tv_sec * 1000000000LL + fst.st_ctim.tv_nsec;
	while (nf_coarse_now_ns() <= changed)
		usleep(1000);
	ck_assert_uint_eq(nf_hash_settle(db, 0), 0);
	ck_assert_int_eq(count_rows(dbpath), 0);
	/* Noted, then gone: nothing put, no error. */
	changed = write_racy(d, dbpath, db, "y\\n");
	sh(d, "rm data.csv");
	while (nf_coarse_now_ns() <= changed)
		usleep(1000);
	ck_assert_uint_eq(nf_hash_settle(db, 0), 0);
	ck_assert_int_eq(count_rows(dbpath), 0);
	nf_store_close(st);   /* frees what is still noted */
	free(real);
	free(dbpath);
	free(path);
	rm_rf(d);
}
END_TEST

/* Identities of ignored files go through the cache given to open. */
START_TEST(test_statcache_via_repo)
{
	char *d = new_repo();
	char *dbpath = xasprintf("%s/.git/state.db", d);
	nf_gitrepo *r;
	nf_path_id id;
	nf_store *st;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	sh(d, "mkdir -p big && printf 1 > big/a && printf 2 > big/b && touch -d '2020-01-01' big/a big/b");
	ck_assert_int_eq(nf_gitrepo_open(&r, d, nf_store_statcache(st)), 0);
	ck_assert_int_eq(count_rows(dbpath), 0);
	ck_assert_int_eq(nf_gitrepo_identify(r, "big", &id), 0);
	ck_assert_int_eq(id.kind, NF_ID_CONTENT);
	ck_assert_int_eq(count_rows(dbpath), 2);
	nf_gitrepo_free(r);
	nf_store_close(st);
	free(dbpath);
	rm_rf(d);
}
END_TEST

START_TEST(test_hash_errors)
{
	char out[65];

	ck_assert_int_eq(nf_hash_file(out, "/nonexistent/x", NULL), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "cannot stat '/nonexistent/x': No such file or directory");
	ck_assert_int_eq(nf_hash_file(out, "/", NULL), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "cannot hash '/': not a regular file");
}
END_TEST

static Suite *
gitid_suite(void)
{
	Suite *s = suite_create("gitid");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_dirty_files);
	tcase_add_test(tc, test_dirty_folder);
	tcase_add_test(tc, test_identify_except);
	tcase_add_test(tc, test_untracked_folder);
	tcase_add_test(tc, test_ignored);
	tcase_add_test(tc, test_memo);
	tcase_add_test(tc, test_exec_bit);
	tcase_add_test(tc, test_symlinked_folder);
	tcase_add_test(tc, test_no_repo);
	tcase_add_test(tc, test_linked_worktree);
	tcase_add_test(tc, test_empty_repo);
	tcase_add_test(tc, test_missing_and_detached);
	tcase_add_test(tc, test_subfolder_root);
	tcase_add_test(tc, test_refresh);
	tcase_add_test(tc, test_file_changed_after_open);
	tcase_add_test(tc, test_folder_changed_after_open);
	tcase_add_test(tc, test_ignored_link_by_text);
	tcase_add_test(tc, test_folder_dirty_and_changed);
	tcase_add_test(tc, test_blob_memo);
	tcase_add_test(tc, test_open_at_tracked_then);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_statcache);
	tcase_add_test(tc, test_fold_file_memo);
	tcase_add_test(tc, test_statcache_via_repo);
	tcase_add_test(tc, test_statcache_settle);
	tcase_add_test(tc, test_hash_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gitid_suite());
	char home[] = "/tmp/nf-gitid-home.XXXXXX";
	int failed;

	/* A hermetic git: no system or user configuration, a fixed identity. */
	if (!mkdtemp(home))
		return EXIT_FAILURE;
	setenv("HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
	setenv("LC_ALL", "C", 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rmdir(home);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
