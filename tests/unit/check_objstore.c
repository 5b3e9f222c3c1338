/* check_objstore.c: unit tests of the object store: byte-for-byte round trips of files and
 * folders with their permission bits, manifests of version 1 still restored, restores that
 * touch only what differs, symbolic links never followed (refused where an output should
 * be, replaced inside one), corruption found by verify, a stored object re-hashed by a put
 * until its stat can be trusted, and crash leftovers never taken for objects. */
#include "config.h"
#include "ntflow/cache.h"

#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/cache/cache-internal.h"

static char *base;     /* scratch folder of the test */
static char *cache;    /* base/.ntflow/cache */

static void
sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && { %s ; } >/dev/null 2>&1", base, cmd);
	rc = system(full);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
	free(full);
	free(cmd);
}

static char *
sh_out(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full, line[4096] = "";
	FILE *p;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && { %s ; } 2>/dev/null", base, cmd);
	ck_assert((p = popen(full, "r")) != NULL);
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	ck_assert_msg(pclose(p) == 0, "command failed: %s", cmd);
	line[strcspn(line, "\n")] = '\0';
	free(full);
	free(cmd);
	return xstrdup(line);
}

static void
setup(void)
{
	/* TMPDIR chooses the filesystem: one with reflinks (btrfs, XFS) takes the FICLONE path. */
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/nf-objstore.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");

	ck_assert(mkdtemp(tmpl) != NULL);
	base = tmpl;
	cache = xasprintf("%s/.ntflow/cache", base);
}

static void
teardown(void)
{
	sh("chmod -R u+w . && cd / && rm -rf '%s'", base);
	free(base);
	free(cache);
}

static char *
at(const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static char *
object_of(const char *sha)
{
	return xasprintf("%s/objects/%.2s/%s", cache, sha, sha + 2);
}

static void
ck_put(nf_objstore *s, const char *rel, char digest[80])
{
	char *p = at(rel), again[80];

	ck_assert_msg(nf_objstore_put(s, p, digest) == 0, "%s: %s", rel, nf_error_last());
	ck_assert_int_eq(nf_objstore_digest(s, p, again), 0);
	ck_assert_str_eq(digest, again);
	free(p);
}

static size_t
ck_restore(nf_objstore *s, const char *digest, const char *rel)
{
	char *p = at(rel);
	size_t n = 99;

	ck_assert_msg(nf_objstore_restore(s, digest, p, &n) == 0, "%s: %s", rel, nf_error_last());
	free(p);
	return n;
}

/* A folder with nested files, an executable, duplicate contents, a binary file over the
 * 64 KiB block size, symlinks to a file and to a folder, and empty folders. */
static void
make_tree(const char *rel)
{
	sh("mkdir -p %s/sub/deep %s/empty %s/sub/empty2 && printf 'alpha\\n' > %s/a.txt && "
	   "printf 'alpha\\n' > %s/sub/same.txt && head -c 150000 /dev/urandom > %s/sub/b.bin && "
	   "printf '#!/bin/sh\\necho hi\\n' > %s/sub/deep/run && chmod 755 %s/sub/deep/run && "
	   "ln -s a.txt %s/link && ln -s deep %s/sub/dirlink && printf 'name with space' > '%s/sp ace'",
	   rel, rel, rel, rel, rel, rel, rel, rel, rel, rel, rel);
}

/* Same files, bytes, modes (executable bit), links and empty folders. */
static void
ck_same_tree(const char *a, const char *b)
{
	sh("diff -r --no-dereference %s %s", a, b);
	sh("cd %s && find . -printf '%%y %%p %%l\\n' | sort > ../.la && "
	   "find . -type f -perm -u+x | sort > ../.xa && cd ../%s && "
	   "find . -printf '%%y %%p %%l\\n' | sort > ../.lb && find . -type f -perm -u+x | sort > ../.xb && "
	   "cd .. && cmp .la .lb && cmp .xa .xb", a, b);
}

/* Deferred sync: new objects are written once, never when already stored (no temporary
 * file either), and made durable in one round for the whole batch. */
START_TEST(test_sync_batch)
{
	nf_objstore *s;
	nf_objstore_stats st;
	char d1[80], d2[80], d3[80], again[80], *tmpdir, *out;
	size_t fanouts;
	uint64_t before;

	sh("printf one >f1 && printf two >f2 && printf three >f3 && printf one >dup");
	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	nf_objstore_defer_sync(s, true);
	ck_put(s, "f1", d1);
	ck_put(s, "f2", d2);
	ck_put(s, "f3", d3);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 3);
	ck_assert_int_eq(st.pending, 3);
	ck_assert_int_eq(st.fsyncs, 0);
	ck_assert_int_eq(st.syncs, 0);
	/* Stored already (the same file, the same bytes elsewhere): not written again. */
	ck_put(s, "f1", again);
	ck_put(s, "dup", again);
	ck_assert_str_eq(again, d1);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 3);
	ck_assert_int_eq(st.skipped, 2);
	ck_assert_int_eq(st.pending, 3);
	tmpdir = xasprintf("%s/objects/tmp", cache);
	out = sh_out("ls -A '%s' | wc -l", tmpdir);
	ck_assert_str_eq(out, "0");   /* no temporary file left */
	free(out);
	free(tmpdir);
	/* One sync for the batch: on Linux one syncfs; elsewhere each object, each fan-out
	 * folder once, and objects/. */
	fanouts = 1 + (strncmp(d1 + 5, d2 + 5, 2) != 0) +
		  (strncmp(d3 + 5, d1 + 5, 2) != 0 && strncmp(d3 + 5, d2 + 5, 2) != 0);
	ck_assert_int_eq(nf_objstore_sync(s), 0);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.syncs, 1);
	ck_assert_int_eq(st.pending, 0);
#ifdef __linux__
	ck_assert_int_eq(st.syncfs, 1);
	ck_assert_int_eq(st.fsyncs, 0);
	(void)fanouts;
#else
	ck_assert_int_eq(st.fsyncs, 3 + fanouts + 1);
#endif
	/* Nothing pending: nothing to do. */
	ck_assert_int_eq(nf_objstore_sync(s), 0);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.syncs, 1);
	ck_assert_int_le(st.fsyncs + st.syncfs, 3 + fanouts + 1);
	ck_assert(nf_objstore_has(s, d1, true) && nf_objstore_has(s, d2, true) && nf_objstore_has(s, d3, true));
	/* Not deferred: a put syncs what it wrote before it returns; one object alone is
	 * fsync'ed with its folder (syncfs would wait for the whole file system). */
	nf_objstore_defer_sync(s, false);
	sh("printf four >f4");
	before = st.fsyncs;
	ck_put(s, "f4", again);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 4);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(st.syncs, 2);
	ck_assert_uint_ge(st.fsyncs, before + 2);
	nf_objstore_free(s);
}
END_TEST

/* A folder: its files and manifest are pending objects of the batch; stored again, nothing
 * is written. */
START_TEST(test_sync_folder_skip)
{
	nf_objstore *s;
	nf_objstore_stats st;
	char d[80], again[80];

	make_tree("out");
	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	nf_objstore_defer_sync(s, true);
	ck_put(s, "out", d);
	nf_objstore_get_stats(s, &st);
	/* a.txt and sub/same.txt share one object; two link targets; the manifest. */
	ck_assert_int_eq(st.written, 7);
	ck_assert_int_eq(st.pending, 7);
	ck_assert_int_eq(nf_objstore_sync(s), 0);
	ck_put(s, "out", again);
	ck_assert_str_eq(again, d);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 7);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(nf_objstore_sync(s), 0);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.syncs, 1);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_file_roundtrip)
{
	nf_objstore *s;
	char digest[80], *sum, *expect, *obj;
	struct stat st;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("head -c 200000 /dev/urandom > model.pt");
	ck_put(s, "model.pt", digest);
	sum = sh_out("sha256sum model.pt | cut -d' ' -f1");
	expect = xasprintf("file:%s", sum);
	ck_assert_str_eq(digest, expect);
	obj = object_of(sum);
	ck_assert_int_eq(stat(obj, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0400);   /* readable by its owner only */
	ck_assert(nf_objstore_has(s, digest, false));
	ck_assert(nf_objstore_has(s, digest, true));
	sh("cp model.pt orig && rm model.pt");
	ck_assert_int_eq(ck_restore(s, digest, "model.pt"), 1);
	sh("cmp orig model.pt");
	ck_assert_int_eq(ck_restore(s, digest, "model.pt"), 0);
	/* Into a folder that does not exist yet. */
	ck_assert_int_eq(ck_restore(s, digest, "new/dir/model.pt"), 1);
	sh("cmp orig new/dir/model.pt");
	/* Storing again leaves the object alone. */
	ck_put(s, "model.pt", digest);
	ck_assert_str_eq(digest, expect);
	{
		uint64_t bytes = 0;

		ck_assert_int_eq(nf_objstore_size(s, digest, &bytes), 0);
		ck_assert_int_eq(bytes, 200000);
	}
	free(obj);
	free(expect);
	free(sum);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_folder_roundtrip)
{
	nf_objstore *s;
	char digest[80];

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	make_tree("out");
	ck_put(s, "out", digest);
	ck_assert_int_eq(strncmp(digest, "dir:", 4), 0);
	ck_assert(nf_objstore_has(s, digest, true));
	sh("mv out orig");
	/* 5 files (one content twice) and 2 links written. */
	ck_assert_int_eq(ck_restore(s, digest, "out"), 7);
	ck_same_tree("orig", "out");
	ck_assert_int_eq(ck_restore(s, digest, "out"), 0);
	/* Restored files are ordinary writable files, not the read-only objects. */
	sh("test -w out/a.txt && test ! -x out/a.txt && test -x out/sub/deep/run");
	/* The same tree elsewhere has the same digest. */
	{
		char again[80];

		ck_put(s, "orig", again);
		ck_assert_str_eq(digest, again);
	}
	nf_objstore_free(s);
}
END_TEST

/* The manifest is the documented line format, and its object is the digest's hash. */
START_TEST(test_manifest_format)
{
	nf_objstore *s;
	char digest[80], *expect, *got;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("mkdir -p m/e m/d && printf abc > m/d/f && printf xy > m/x && chmod 640 m/d/f && chmod 755 m/x && "
	   "ln -s d/f m/l");
	ck_put(s, "m", digest);
	expect = sh_out("printf 'ntflow-manifest 2\\n100640 3 %%s d/f\\n040000 0 - e\\n120000 3 %%s l\\n"
			"100755 2 %%s x\\n' $(printf abc | sha256sum | cut -c1-64) $(printf d/f | sha256sum | cut -c1-64) "
			"$(printf xy | sha256sum | cut -c1-64) | sha256sum | cut -c1-64");
	got = xasprintf("dir:%s", expect);
	ck_assert_str_eq(digest, got);
	free(got);
	free(expect);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_restore_only_what_differs)
{
	nf_objstore *s;
	char digest[80], *before, *after;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	make_tree("out");
	ck_put(s, "out", digest);
	sh("cp -a out orig");
	before = sh_out("stat -c %%i out/sub/b.bin");
	/* Same size, other bytes; another size; deleted; a file where a folder was; a folder
	 * where a file was; a link retargeted; extras added. */
	sh("printf 'ALPHA\\n' > out/a.txt && printf 'longer now\\n' > out/sub/same.txt && "
	   "rm 'out/sp ace' && rm -r out/empty && printf x > out/empty && "
	   "rm out/sub/deep/run && mkdir -p out/sub/deep/run/inner && "
	   "ln -sfn b.bin out/sub/dirlink && printf extra > out/extra && mkdir -p out/more/deeper && "
	   "printf x > out/more/deeper/f && printf y > out/sub/deep/extra");
	ck_assert_int_eq(ck_restore(s, digest, "out"), 5);
	ck_same_tree("orig", "out");
	after = sh_out("stat -c %%i out/sub/b.bin");
	ck_assert_str_eq(before, after);    /* untouched */
	free(before);
	free(after);
	/* Only the mode differs: fixed, not rewritten. */
	sh("chmod -x out/sub/deep/run");
	ck_assert_int_eq(ck_restore(s, digest, "out"), 0);
	sh("test -x out/sub/deep/run");
	/* A file where the folder should be. */
	sh("rm -rf out && printf x > out");
	ck_assert_int_eq(ck_restore(s, digest, "out"), 7);
	ck_same_tree("orig", "out");
	nf_objstore_free(s);
}
END_TEST

/* A single-file restore keeps the replaced file's mode; rewriting it in place afterwards
 * (as stages do) cannot reach the object, because it is a copy and not a hard link. */
START_TEST(test_file_restore_is_a_copy)
{
	nf_objstore *s;
	char digest[80];

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("printf 'v1 data' > bin.sh && chmod 755 bin.sh");
	ck_put(s, "bin.sh", digest);
	sh("printf 'v2 data' > bin.sh");
	ck_assert_int_eq(ck_restore(s, digest, "bin.sh"), 1);
	sh("test -x bin.sh && test \"$(cat bin.sh)\" = 'v1 data'");
	sh("test $(stat -c %%h bin.sh) = 1");
	sh("printf 'XX' | dd of=bin.sh conv=notrunc status=none");
	ck_assert(nf_objstore_has(s, digest, true));
	nf_objstore_free(s);
}
END_TEST

static void
collect(void *ctx, const char *sha)
{
	nf_buf *b = ctx;

	nf_buf_puts(b, sha);
	nf_buf_putc(b, '\n');
}

/* Changes byte 1000 of the object file obj, keeping its size. The files are random, so the
 * new byte is chosen against the old one (a fixed one would be the same one time in 256). */
static void
change_byte(const char *obj)
{
	sh("chmod u+w '%s' && b=$(od -An -tu1 -j1000 -N1 '%s' | tr -d ' ') && "
	   "if [ \"$b\" = 90 ]; then c=Y; else c=Z; fi && "
	   "printf $c | dd of='%s' bs=1 seek=1000 conv=notrunc status=none", obj, obj, obj);
}

START_TEST(test_verify_corrupt)
{
	nf_objstore *s;
	char digest[80], *sum, *obj, *expect;
	nf_buf bad = NF_BUF_INIT;
	int64_t n;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	make_tree("out");
	ck_put(s, "out", digest);
	ck_assert_int_eq(nf_objstore_verify(s, collect, &bad), 7);  /* 4 contents, 2 targets, manifest */
	ck_assert_uint_eq(bad.len, 0);
	sum = sh_out("sha256sum out/sub/b.bin | cut -d' ' -f1");
	obj = object_of(sum);
	/* Same size, one byte changed: only a deep check or verify sees it. */
	change_byte(obj);
	ck_assert(nf_objstore_has(s, digest, false));
	ck_assert(!nf_objstore_has(s, digest, true));
	/* restore refuses to copy a corrupt object into the workspace. */
	{
		char *p = at("copy");
		size_t restored;

		ck_assert_int_eq(nf_objstore_restore(s, digest, p, &restored), NF_ECORRUPT);
		expect = xasprintf("object %s is corrupt (run `ntflow cache verify`)", sum);
		ck_assert_str_eq(nf_error_last(), expect);
		free(expect);
		free(p);
	}
	n = nf_objstore_verify(s, collect, &bad);
	ck_assert_int_eq(n, 7);
	expect = xasprintf("%s\n", sum);
	ck_assert_str_eq(nf_buf_cstr(&bad), expect);
	ck_assert_int_eq(access(obj, F_OK), -1);
	ck_assert(!nf_objstore_has(s, digest, false));
	/* Storing the folder again repairs the store. */
	ck_put(s, "out", digest);
	ck_assert(nf_objstore_has(s, digest, true));
	nf_buf_reset(&bad);
	ck_assert_int_eq(nf_objstore_verify(s, collect, &bad), 7);
	ck_assert_uint_eq(bad.len, 0);
	nf_buf_release(&bad);
	free(expect);
	free(obj);
	free(sum);
	nf_objstore_free(s);
}
END_TEST

/* A stat cache of one row, counting its puts. */
typedef struct one_row {
	nf_statcache ops;
	bool have;
	nf_statkey key;
	char sha[65];
	int puts;
} one_row;

static bool
one_get(nf_statcache *sc, const char *path, nf_statkey *key, char sha[65])
{
	one_row *r = (one_row *)sc;

	(void)path;
	if (!r->have)
		return false;
	*key = r->key;
	memcpy(sha, r->sha, 65);
	return true;
}

static void
one_put(nf_statcache *sc, const char *path, const nf_statkey *key, const char *sha)
{
	one_row *r = (one_row *)sc;

	(void)path;
	r->have = true;
	r->key = *key;
	memcpy(r->sha, sha, 65);
	r->puts++;
}

static void one_edge(nf_statcache *sc) { (void)sc; }

/* The racy margin follows the filesystem's times: 100 ms where they have digits below the
 * millisecond, 2 s where they do not. */
START_TEST(test_racy_margin)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_nsec = 123456789;
	ck_assert_int_eq(nf_racy_ns(&st), 100LL * 1000000);
	st.st_mtim.tv_nsec = 0;
	ck_assert_int_eq(nf_racy_ns(&st), 2LL * 1000000000);
	st.st_mtim.tv_nsec = 500000000;   /* half a second: a coarse filesystem's too */
	ck_assert_int_eq(nf_racy_ns(&st), 2LL * 1000000000);
}
END_TEST

#define SEC 1000000000LL

/* A stat with mtime m and ctime c (ns since the epoch). */
static struct stat
stat_at(int64_t m, int64_t c)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mtim.tv_sec = m / SEC;
	st.st_mtim.tv_nsec = m % SEC;
	st.st_ctim.tv_sec = c / SEC;
	st.st_ctim.tv_nsec = c % SEC;
	return st;
}

/* When a stat is trusted to show a later change: at once when mtime and ctime differ; else
 * on a local filesystem with fine times as soon as its last change lies before the clock
 * tick its read began in, however recent; on another (a network filesystem, whose server
 * stamps from its own clock) or with coarse times, only the margin after the last change. */
START_TEST(test_stat_settled)
{
	int64_t t = 1700000000LL * SEC + 123456789;   /* a fine time: digits below the ms */
	struct stat st = stat_at(t, t);

	/* local, fine: the tick the read began in decides, not the margin */
	ck_assert(nf_stat_settled(&st, true, t + 1, t + 2));
	ck_assert(!nf_stat_settled(&st, true, t, t + 2 * SEC));        /* read in its tick */
	ck_assert(!nf_stat_settled(&st, true, t - 4000000, t + SEC));  /* began before it */
	/* mtime apart from ctime (set back, or a chmod since): a write would set both to one
	 * time, so the stat shows it at once, local or not */
	st = stat_at(t - 10 * SEC, t);
	ck_assert(nf_stat_settled(&st, true, t, t));
	ck_assert(nf_stat_settled(&st, false, t, t));
	/* not local: the margin (100 ms) after the last change, whatever the tick */
	st = stat_at(t, t);
	ck_assert(!nf_stat_settled(&st, false, t + 1, t + 50000000));
	ck_assert(!nf_stat_settled(&st, false, t + 1, t + 100000000));
	ck_assert(nf_stat_settled(&st, false, t + 1, t + 100000001));
	/* coarse times (whole seconds), even local: the 2 s margin */
	st = stat_at(1700000000LL * SEC, 1700000000LL * SEC);
	ck_assert(!nf_stat_settled(&st, true, 1700000000LL * SEC + 1, 1700000001LL * SEC));
	ck_assert(nf_stat_settled(&st, true, 1700000000LL * SEC + 1, 1700000002LL * SEC + 1));
}
END_TEST

/* A real file: hashed in the clock tick of its last write, it is not cached; hashed once
 * that tick is past (on a local filesystem with fine times), or the margin (elsewhere), it
 * is, though only milliseconds old. */
START_TEST(test_hash_settles)
{
	struct stat st;
	one_row r = { .ops = { .get = one_get, .put = one_put, .begin = one_edge, .end = one_edge } };
	char out[65], *path = xasprintf("%s/g", base);
	int fd, tries = 0;
	bool local, fine;

	/* Written and hashed within one tick: retried until no tick boundary fell between
	 * the write and the check after the hash (almost always the first time). */
	for (;;) {
		int64_t before;

		ck_assert_int_lt(tries++, 1000);
		r.puts = 0;
		sh("printf fresh%d >g", tries);
		ck_assert_int_eq(stat(path, &st), 0);
		before = (int64_t)st.st_ctim.tv_sec * SEC + st.st_ctim.tv_nsec;
		ck_assert_int_eq(nf_hash_file(out, path, &r.ops), 0);
		if (nf_coarse_now_ns() <= before)
			break;
	}
	ck_assert_int_eq(r.puts, 0);   /* just written: its stat cannot tell yet */

	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	local = nf_local_clock_fs(fd);
	close(fd);
	fine = st.st_mtim.tv_nsec % 1000000 != 0 && st.st_ctim.tv_nsec % 1000000 != 0;
	if (local && fine) {
		/* The next tick: settled without waiting out the 100 ms margin. */
		int64_t changed = (int64_t)st.st_ctim.tv_sec * SEC + st.st_ctim.tv_nsec;

		while (nf_coarse_now_ns() <= changed)
			usleep(1000);
		ck_assert_int_eq(nf_hash_file(out, path, &r.ops), 0);
		ck_assert_int_eq(r.puts, 1);
		ck_assert_str_eq(r.sha, out);
	} else if (fine) {
		usleep(150 * 1000);
		ck_assert_int_eq(nf_hash_file(out, path, &r.ops), 0);
		ck_assert_int_eq(r.puts, 1);
	}
	nf_hash_racy_free(&r.ops);   /* the racy hashes it noted */
	free(path);
}
END_TEST

/* A stage that produces again an object the store holds corrupt repairs it: the put
 * re-hashes what is there, writes it anew and says so once per object. */
/* A put of bytes already stored re-hashes the object the first time, then trusts its stat;
 * an object changed too recently for its stat to tell (the racy margin: nf_racy_ns, or
 * what NTFLOW_TEST_OBJECT_RACY_NS says) is re-hashed every time, and one changed
 * behind the store's back (its stat differs) is re-hashed, found corrupt and written anew. */
START_TEST(test_put_trusts_stat)
{
	nf_objstore *s;
	nf_objstore_stats st;
	char digest[80], *sum, *obj, *got;

	sh("printf abc >f");
	/* Fresh objects (a margin of 2 s, a coarse filesystem's): re-hashed at each put. */
	setenv("NTFLOW_TEST_OBJECT_RACY_NS", "2000000000", 1);
	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	ck_put(s, "f", digest);
	ck_put(s, "f", digest);
	ck_put(s, "f", digest);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 1);
	ck_assert_int_eq(st.verified, 2);
	nf_objstore_free(s);

	/* No margin: re-hashed once by this handle, then trusted while its stat holds. */
	setenv("NTFLOW_TEST_OBJECT_RACY_NS", "0", 1);
	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	ck_put(s, "f", digest);
	ck_put(s, "f", digest);
	ck_put(s, "f", digest);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.written, 0);
	ck_assert_int_eq(st.verified, 1);

	/* Changed behind its back (same size): the stat differs, so it is re-hashed and
	 * rewritten. The pause puts the change in a later timestamp tick than the trust. */
	sum = sh_out("sha256sum f | cut -d' ' -f1");
	obj = object_of(sum);
	usleep(50 * 1000);
	sh("chmod u+w '%s' && printf xyz > '%s'", obj, obj);
	ck_put(s, "f", digest);
	nf_objstore_get_stats(s, &st);
	ck_assert_int_eq(st.verified, 2);
	ck_assert_int_eq(st.written, 1);
	got = sh_out("cat '%s'", obj);
	ck_assert_str_eq(got, "abc");
	ck_assert(nf_objstore_has(s, digest, true));
	unsetenv("NTFLOW_TEST_OBJECT_RACY_NS");
	free(got);
	free(obj);
	free(sum);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_put_rewrites_corrupt)
{
	nf_objstore *s;
	char digest[80], *sum, *obj, *manifest_obj, *want;
	nf_buf repaired = NF_BUF_INIT;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	nf_objstore_on_repair(s, collect, &repaired);
	make_tree("out");
	ck_put(s, "out", digest);
	ck_put(s, "out", digest);   /* sound objects: nothing to say */
	ck_assert_uint_eq(repaired.len, 0);
	sum = sh_out("sha256sum out/sub/b.bin | cut -d' ' -f1");
	obj = object_of(sum);
	manifest_obj = object_of(digest + 4);
	/* One object with a byte changed (same size), the manifest cut short. */
	change_byte(obj);
	sh("chmod u+w '%s' && truncate -s 10 '%s'", manifest_obj, manifest_obj);
	ck_assert(!nf_objstore_has(s, digest, true));
	ck_put(s, "out", digest);
	ck_assert(nf_objstore_has(s, digest, true));
	want = xasprintf("%s\n%s\n", sum, digest + 4);
	ck_assert_str_eq(nf_buf_cstr(&repaired), want);
	/* A lone file, too. */
	nf_buf_reset(&repaired);
	sh("chmod u+w '%s' && printf 'not what it was' > '%s'", obj, obj);
	ck_put(s, "out/sub/b.bin", digest);
	ck_assert_str_eq(digest + 5, sum);
	ck_assert(nf_objstore_has(s, digest, true));
	free(want);
	want = xasprintf("%s\n", sum);
	ck_assert_str_eq(nf_buf_cstr(&repaired), want);
	free(want);
	free(manifest_obj);
	free(obj);
	free(sum);
	nf_buf_release(&repaired);
	nf_objstore_free(s);
}
END_TEST

/* What a crash leaves in objects/tmp is not an object; verify deletes it once it is old. */
START_TEST(test_crash_leftovers)
{
	nf_objstore *s;
	char digest[80], *sum, *expect;
	nf_buf bad = NF_BUF_INIT;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("head -c 100000 /dev/urandom > big && mkdir -p .ntflow/cache/objects/tmp && "
	   "head -c 5000 big > .ntflow/cache/objects/tmp/old && head -c 5000 big > .ntflow/cache/objects/tmp/young && "
	   "touch -d '2 hours ago' .ntflow/cache/objects/tmp/old");
	sum = sh_out("sha256sum big | cut -d' ' -f1");
	expect = xasprintf("file:%s", sum);
	ck_assert(!nf_objstore_has(s, expect, false));
	{
		char *p = at("big");

		ck_assert_int_eq(nf_objstore_digest(s, p, digest), 0);
		free(p);
	}
	ck_assert_str_eq(digest, expect);
	ck_assert(!nf_objstore_has(s, digest, false));   /* digest stores nothing */
	ck_assert_int_eq(nf_objstore_verify(s, collect, &bad), 0);
	ck_assert_uint_eq(bad.len, 0);
	sh("test ! -e .ntflow/cache/objects/tmp/old && test -e .ntflow/cache/objects/tmp/young");
	ck_put(s, "big", digest);
	ck_assert(nf_objstore_has(s, digest, true));
	/* A put leaves nothing of its own behind in tmp. */
	sh("test \"$(ls .ntflow/cache/objects/tmp)\" = young");
	/* A stray file among the objects is reported by name and removed. */
	sh("mkdir -p .ntflow/cache/objects/ab && printf x > .ntflow/cache/objects/ab/junk");
	ck_assert_int_eq(nf_objstore_verify(s, collect, &bad), 1);
	ck_assert_str_eq(nf_buf_cstr(&bad), "ab/junk\n");
	nf_buf_release(&bad);
	free(expect);
	free(sum);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_missing_objects)
{
	nf_objstore *s;
	char digest[80], *sum, *obj, *expect, *p = at("copy");
	size_t restored;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	make_tree("out");
	ck_put(s, "out", digest);
	sum = sh_out("sha256sum out/a.txt | cut -d' ' -f1");
	obj = object_of(sum);
	ck_assert_int_eq(unlink(obj), 0);
	ck_assert(!nf_objstore_has(s, digest, false));
	ck_assert(!nf_objstore_has(s, digest, true));
	ck_assert_int_eq(nf_objstore_restore(s, digest, p, &restored), NF_ENOTFOUND);
	expect = xasprintf("object %s is missing from the store", sum);
	ck_assert_str_eq(nf_error_last(), expect);
	free(expect);
	{
		uint64_t bytes;

		ck_assert_int_eq(nf_objstore_size(s, digest, &bytes), NF_ENOTFOUND);
	}
	/* The manifest itself missing. */
	ck_assert(!nf_objstore_has(s, "dir:0000000000000000000000000000000000000000000000000000000000000000", false));
	ck_assert_int_eq(nf_objstore_restore(s, "dir:0000000000000000000000000000000000000000000000000000000000000000",
					     p, &restored), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "object 0000000000000000000000000000000000000000000000000000000000000000 "
			 "is missing from the store");
	ck_assert(!nf_objstore_has(s, "file:0000000000000000000000000000000000000000000000000000000000000000", false));
	free(p);
	free(obj);
	free(sum);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_size)
{
	nf_objstore *s;
	char digest[80];
	uint64_t bytes = 0;
	char *expect;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	make_tree("out");
	ck_put(s, "out", digest);
	ck_assert_int_eq(nf_objstore_size(s, digest, &bytes), 0);
	/* Every object once: the du of the objects folder (apparent sizes). */
	expect = sh_out("find .ntflow/cache/objects -type f -printf '%%s\\n' | awk '{ s += $1 } END { print s }'");
	ck_assert_uint_eq(bytes, strtoull(expect, NULL, 10));
	free(expect);
	nf_objstore_free(s);
}
END_TEST

START_TEST(test_errors)
{
	nf_objstore *s;
	char digest[80], *p;
	size_t restored;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	p = at("nope");
	ck_assert_int_eq(nf_objstore_put(s, p, digest), NF_ENOTFOUND);
	{
		char *expect = xasprintf("cannot store '%s': No such file or directory", p);

		ck_assert_str_eq(nf_error_last(), expect);
		free(expect);
	}
	ck_assert_int_eq(nf_objstore_digest(s, p, digest), NF_ENOTFOUND);
	free(p);
	sh("mkfifo fifo && mkdir d && mkfifo d/fifo");
	p = at("fifo");
	ck_assert_int_eq(nf_objstore_put(s, p, digest), NF_EINVALID);
	{
		char *expect = xasprintf("cannot store '%s': not a file or folder", p);

		ck_assert_str_eq(nf_error_last(), expect);
		free(expect);
	}
	free(p);
	p = at("d");
	ck_assert_int_eq(nf_objstore_put(s, p, digest), NF_EINVALID);
	ck_assert_int_eq(nf_objstore_restore(s, "bogus", p, &restored), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "invalid digest 'bogus'");
	ck_assert_int_eq(nf_objstore_restore(s, "file:abc", p, &restored), NF_EINVALID);
	ck_assert(!nf_objstore_has(s, "bogus", false));
	free(p);
	/* A manifest object that is not one. */
	sh("printf 'not a manifest' > nm");
	p = at("nm");
	ck_assert_int_eq(nf_objstore_put(s, p, digest), 0);
	ck_assert_int_eq(strncmp(digest, "file:", 5), 0);
	memcpy(digest, "dir: ", 5);
	memmove(digest + 4, digest + 5, strlen(digest + 5) + 1);
	free(p);
	p = at("x");
	ck_assert_int_eq(nf_objstore_restore(s, digest, p, &restored), NF_ECORRUPT);
	ck_assert_msg(strstr(nf_error_last(), "is not a manifest: not an ntflow manifest") != NULL, "%s",
		      nf_error_last());
	free(p);
	nf_objstore_free(s);
	nf_objstore_free(NULL);
}
END_TEST

/* Permission bits go through the cache exactly: a private file stays private, an
 * executable stays executable, for a file output (the caller keeps its bits) and in a
 * folder (the manifest keeps them). */
START_TEST(test_modes)
{
	nf_objstore *s;
	char digest[80], fdigest[80];
	size_t restored;
	int perm = -9, root;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("mkdir -p m/sub && printf secret > m/key && chmod 600 m/key && printf run > m/sub/run && chmod 755 m/sub/run && "
	   "printf group > m/g && chmod 640 m/g && printf ro > m/ro && chmod 444 m/ro && printf own > m/own && chmod 700 m/own && "
	   "printf secret > single && chmod 600 single");
	ck_assert_int_ge(root = open(base, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_msg(nf_objstore_put_at(s, root, "m", "m", digest, &perm) == 0, "%s", nf_error_last());
	ck_assert_int_eq(perm, -1);   /* a folder: its manifest holds the bits */
	ck_assert_msg(nf_objstore_put_at(s, root, "single", "single", fdigest, &perm) == 0, "%s", nf_error_last());
	ck_assert_int_eq(perm, 0600);
	sh("rm -rf m single");
	ck_assert_int_eq(nf_objstore_restore_at(s, digest, -1, root, "m", "m", &restored), 0);
	ck_assert_uint_eq(restored, 5);
	ck_assert_int_eq(nf_objstore_restore_at(s, fdigest, perm, root, "single", "single", &restored), 0);
	{
		char *modes = sh_out("stat -c '%%a' m/key m/sub/run m/g m/ro m/own single | tr '\\n' ' '");

		ck_assert_str_eq(modes, "600 755 640 444 700 600 ");
		free(modes);
	}
	/* Only the bits differ: fixed without writing. */
	sh("chmod 644 m/key single");
	ck_assert_int_eq(nf_objstore_restore_at(s, digest, -1, root, "m", "m", &restored), 0);
	ck_assert_uint_eq(restored, 0);
	ck_assert_int_eq(nf_objstore_restore_at(s, fdigest, 0600, root, "single", "single", &restored), 0);
	ck_assert_uint_eq(restored, 0);
	sh("test $(stat -c %%a m/key) = 600 && test $(stat -c %%a single) = 600");
	/* Not recorded (a cache entry from before): the replaced file's bits stay. */
	sh("chmod 640 single && printf other > single");
	ck_assert_int_eq(nf_objstore_restore_at(s, fdigest, -1, root, "single", "single", &restored), 0);
	ck_assert_uint_eq(restored, 1);
	sh("test $(stat -c %%a single) = 640 && test \"$(cat single)\" = secret");
	close(root);
	nf_objstore_free(s);
}
END_TEST

/* A manifest of version 1 (written before modes were kept) is still restored: the umask's
 * default bits, executable where it says 100755. */
START_TEST(test_manifest_v1)
{
	nf_objstore *s;
	char *sha, *digest, *p = at("old");
	size_t restored;
	mode_t u = umask(022);

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("printf abc > f && printf xy > x && mkdir -p .ntflow/cache && chmod 600 f");
	{
		char d1[80], d2[80], *fp = at("f"), *xp = at("x");

		ck_assert_int_eq(nf_objstore_put(s, fp, d1), 0);   /* the contents, as objects */
		ck_assert_int_eq(nf_objstore_put(s, xp, d2), 0);
		free(fp);
		free(xp);
	}
	sh("printf 'ntflow-manifest 1\\n100644 3 %%s a\\n100755 2 %%s sub/x\\n' $(printf abc | sha256sum | cut -c1-64) "
	   "$(printf xy | sha256sum | cut -c1-64) > v1 && sum=$(sha256sum v1 | cut -c1-64) && "
	   "mkdir -p .ntflow/cache/objects/$(echo $sum | cut -c1-2) && "
	   "cp v1 .ntflow/cache/objects/$(echo $sum | cut -c1-2)/$(echo $sum | cut -c3-)");
	sha = sh_out("sha256sum v1 | cut -c1-64");
	digest = xasprintf("dir:%s", sha);
	ck_assert(nf_objstore_has(s, digest, true));
	ck_assert_msg(nf_objstore_restore(s, digest, p, &restored) == 0, "%s", nf_error_last());
	ck_assert_uint_eq(restored, 2);
	sh("test \"$(cat old/a)\" = abc && test $(stat -c %%a old/a) = 644 && test $(stat -c %%a old/sub/x) = 755");
	umask(u);
	free(digest);
	free(sha);
	free(p);
	nf_objstore_free(s);
}
END_TEST

/* Links: an output that is one is neither stored nor restored through; inside an output
 * folder a link where a folder or file should be is replaced, never written through. */
START_TEST(test_links_never_followed)
{
	nf_objstore *s;
	char digest[80], fdigest[80];
	size_t restored;
	int root;

	ck_assert_int_eq(nf_objstore_open(&s, cache), 0);
	sh("mkdir -p elsewhere out/sub && printf mine > elsewhere/f && printf secret > elsewhere/key && chmod 600 elsewhere/key && "
	   "printf a > out/sub/a && printf b > out/b && printf v > file && ln -s elsewhere/key keylink && ln -s elsewhere dirlink");
	ck_assert_int_ge(root = open(base, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_int_eq(nf_objstore_put_at(s, root, "keylink", "keylink", digest, NULL), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'keylink' is a symbolic link; ntflow does not follow links in outputs");
	ck_assert_int_eq(nf_objstore_digest_at(s, root, "dirlink", "dirlink", digest), NF_EINVALID);
	ck_assert_int_eq(nf_objstore_put_at(s, root, "out", "out", digest, NULL), 0);
	ck_assert_int_eq(nf_objstore_put_at(s, root, "file", "file", fdigest, NULL), 0);
	/* Restoring onto a link: refused, what it points to untouched. */
	ck_assert_int_eq(nf_objstore_restore_at(s, fdigest, 0644, root, "keylink", "keylink", &restored), NF_EINVALID);
	ck_assert_int_eq(nf_objstore_restore_at(s, digest, -1, root, "dirlink", "dirlink", &restored), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "output 'dirlink' is a symbolic link; ntflow does not follow links in outputs");
	sh("test \"$(cat elsewhere/key)\" = secret && test $(stat -c %%a elsewhere/key) = 600 && test ! -e elsewhere/sub && "
	   "test ! -e elsewhere/b");
	/* Inside the output: links put where a folder and a file were are replaced. */
	sh("rm -r out/sub out/b && ln -s ../elsewhere out/sub && ln -s ../elsewhere/f out/b");
	ck_assert_msg(nf_objstore_restore_at(s, digest, -1, root, "out", "out", &restored) == 0, "%s", nf_error_last());
	sh("test ! -L out/sub && test \"$(cat out/sub/a)\" = a && test ! -L out/b && test \"$(cat out/b)\" = b && "
	   "test \"$(cat elsewhere/f)\" = mine && test ! -e elsewhere/a");
	close(root);
	nf_objstore_free(s);
}
END_TEST

static Suite *
objstore_suite(void)
{
	Suite *s = suite_create("objstore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file_roundtrip);
	tcase_add_test(tc, test_sync_batch);
	tcase_add_test(tc, test_sync_folder_skip);
	tcase_add_test(tc, test_folder_roundtrip);
	tcase_add_test(tc, test_manifest_format);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_manifest_v1);
	tcase_add_test(tc, test_links_never_followed);
	tcase_add_test(tc, test_restore_only_what_differs);
	tcase_add_test(tc, test_file_restore_is_a_copy);
	tcase_add_test(tc, test_verify_corrupt);
	tcase_add_test(tc, test_put_rewrites_corrupt);
	tcase_add_test(tc, test_put_trusts_stat);
	tcase_add_test(tc, test_racy_margin);
	tcase_add_test(tc, test_stat_settled);
	tcase_add_test(tc, test_hash_settles);
	tcase_add_test(tc, test_crash_leftovers);
	tcase_add_test(tc, test_missing_objects);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(objstore_suite());
	int failed;

	setenv("LC_ALL", "C", 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
