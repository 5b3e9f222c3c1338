/* objstore.c: the content-addressed store of stage outputs under .ntflow/cache/objects/, and
 * the restore that makes a workspace path equal to a stored digest, touching only what differs.
 *
 * Layout: objects/ab/<the other 62 hex digits of the SHA-256>, readable by their owner only
 * (0400: a file a stage kept private stays private in the cache); objects/tmp/ holds writes
 * in progress. An object is written to tmp and renamed into place; what a crash leaves in
 * tmp is never looked at and `verify` deletes it after an hour. An object already stored
 * (and sound) is never written again: no temporary file, no rename, no sync.
 *
 * Durability is per batch, not per object: a new object joins the pending list, and
 * nf_objstore_sync makes the whole list durable at once (one syncfs of the file system for a
 * batch of small objects, else each object fsync'ed, then each folder that received one, then
 * objects/ when a fan-out folder was made). The run calls it
 * before each commit of the state database (nf_store_before_commit), so a committed cache
 * entry never names an object that a crash could lose, and pays one round of syncs per
 * batch instead of two fsyncs per object (docs/reliability.md). An object renamed into place
 * but not yet synced may be torn by a crash: nothing committed names it, a later put finds
 * it corrupt and writes it anew, and restore and verify re-hash what they read. Without
 * nf_objstore_defer_sync, each put syncs what it wrote before it returns.
 *
 * Digests: "file:<sha256 of the content>" for a file; "dir:<sha256 of the manifest>" for a
 * folder, whose manifest (format in manifest.c, version 2: `mode size sha256 path` per line,
 * sorted by path, the mode holding each file's permission bits) is itself an object, and so
 * is each file and each symlink's target text. Empty folders are manifest lines. A file
 * digest carries no mode: the caller records the file's permission bits beside it
 * (nf_objstore_put_at) and hands them back to restore.
 *
 * Outputs are reached from the descriptor of the folder that holds them, which the caller
 * opened beneath the project root without following a link (nf_path_parent), and nothing
 * below is followed either: an output that is a symbolic link is refused, a link inside an
 * output folder is stored as a link, and restore creates every file with O_EXCL | O_NOFOLLOW
 * beside its place and renames it there, so it never writes through a link. Inside an output
 * folder, whatever has another type than its manifest entry (a link where a folder should
 * be included) is removed first and replaced.
 *
 * Restore copies (a reflink through FICLONE where the filesystem can, else bytes) and never
 * hard-links: a stage may rewrite its outputs in place, which would corrupt a linked object. */
#include "config.h"
#include "ntflow/cache.h"
#include "cache-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

/* Leftovers in objects/tmp younger than this may be a put in progress in another process. */
#define TMP_MAX_AGE_S 3600

/* An object changed too recently when a put re-hashes it (nf_stat_settled) is not trusted
 * by its stat afterwards: it may still be rewritten within the same timestamp tick without
 * its stat changing ("racy git"). NTFLOW_TEST_OBJECT_RACY_NS (test builds) sets a margin
 * after its last change (mtime or ctime) instead. */

/* An object a put found sound (re-hashed), with its stat then: while its stat is the same,
 * the process trusts it without reading it again. */
typedef struct obj_trust {
	char sha[65];
	struct stat st;
} obj_trust;

struct nf_objstore {
	char *objects;       /* <cache_dir>/objects */
	char *tmp;           /* <cache_dir>/objects/tmp */
	bool made;           /* the folders exist */
	mode_t umask;
	nf_statcache *statcache;  /* when set, big workspace files are compared through it */
	void (*on_repair)(void *ctx, const char *sha256);
	void *repair_ctx;
	bool defer;          /* the caller syncs (nf_objstore_sync) before it commits */
	char **pending;      /* objects renamed into place since the last sync */
	size_t npending, pending_cap;
	uint64_t pending_bytes;
	bool fanout_made;    /* a fan-out folder was created since the last sync */
	nf_objstore_stats stats;
	int objects_fd;      /* objects/, opened at the first put that needs it, or -1 */
	nf_strmap *trusted;  /* sha -> obj_trust (in arena) */
	nf_arena *arena;
	int64_t racy_ns;     /* the margin NTFLOW_TEST_OBJECT_RACY_NS sets, or -1: nf_racy_ns */
};

int
nf_objstore_open(nf_objstore **out, const char *cache_dir)
{
	nf_objstore *s = xcalloc(1, sizeof(*s));
	mode_t u = umask(0);
	const char *racy = nf_test_hook_value("NTFLOW_TEST_OBJECT_RACY_NS");

	umask(u);
	s->umask = u;
	s->objects = xasprintf("%s/objects", cache_dir);
	s->tmp = xasprintf("%s/objects/tmp", cache_dir);
	s->objects_fd = -1;
	s->racy_ns = racy ? strtoll(racy, NULL, 10) : -1;
	*out = s;
	return 0;
}

void
nf_objstore_set_statcache(nf_objstore *s, nf_statcache *db)
{
	s->statcache = db;
}

void
nf_objstore_on_repair(nf_objstore *s, void (*fn)(void *ctx, const char *sha256), void *ctx)
{
	s->on_repair = fn;
	s->repair_ctx = ctx;
}

void
nf_objstore_defer_sync(nf_objstore *s, bool defer)
{
	s->defer = defer;
}

void
nf_objstore_get_stats(const nf_objstore *s, nf_objstore_stats *out)
{
	*out = s->stats;
	out->pending = s->npending;
}

static int
fsync_path(nf_objstore *s, const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0)), err = 0;

	if (fd < 0)
		return nf_error_set_errno(NF_EIO, "cannot sync '%s'", path);
	s->stats.fsyncs++;
	if (fsync(fd) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot sync '%s'", path);
	close(fd);
	return err;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A batch of fewer objects than SYNCFS_MIN_OBJECTS, or of more bytes than SYNCFS_MAX_BYTES,
 * is synced object by object: syncfs would also wait for whatever else is dirty on the file
 * system (the stages' own outputs), which then costs more than one flush per object saves. */
#define SYNCFS_MIN_OBJECTS 2
#define SYNCFS_MAX_BYTES (64u * 1024 * 1024)

/* Each pending object fsync'ed, then each folder that received one (once), then objects/
 * when a fan-out folder was made. */
static int
sync_each(nf_objstore *s)
{
	int err = 0;

	/* Sorted, so the objects of one fan-out folder are next to each other and each folder
	 * is synced once, after its objects. */
	qsort(s->pending, s->npending, sizeof(*s->pending), cmp_str);
	for (size_t i = 0; i < s->npending && !err; i++)
		err = fsync_path(s, s->pending[i], false);
	for (size_t i = 0; i < s->npending && !err; i++) {
		size_t dl = (size_t)(strrchr(s->pending[i], '/') - s->pending[i]);

		if (i + 1 < s->npending && !strncmp(s->pending[i], s->pending[i + 1], dl + 1))
			continue;   /* the next one is in the same folder */
		s->pending[i][dl] = '\0';
		err = fsync_path(s, s->pending[i], true);
		s->pending[i][dl] = '/';
	}
	if (!err && s->fanout_made)
		err = fsync_path(s, s->objects, true);
	return err;
}

/* The whole file system holding the objects synced in one call: the data and names of every
 * pending object with one flush of the disk's cache, where fsync per object and folder pays
 * one each (on ext4 without a journal, or any file system that flushes per fsync). Linux
 * reports a write-back error here since 5.8. 1 when the call is not there: sync_each then. */
static int
sync_whole(nf_objstore *s)
{
#ifdef __linux__
	int fd = open(s->objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return nf_error_set_errno(NF_EIO, "cannot sync '%s'", s->objects);
	s->stats.syncfs++;
	rc = syncfs(fd);
	e = errno;
	close(fd);
	if (rc == 0)
		return 0;
	if (e == ENOSYS || e == EPERM) {
		s->stats.syncfs--;
		return 1;
	}
	errno = e;
	return nf_error_set_errno(NF_EIO, "cannot sync the file system of '%s'", s->objects);
#else
	(void)s;
	return 1;
#endif
}

int
nf_objstore_sync(nf_objstore *s)
{
	int err;

	if (s->npending == 0 && !s->fanout_made)
		return 0;
	err = s->npending >= SYNCFS_MIN_OBJECTS && s->pending_bytes <= SYNCFS_MAX_BYTES ? sync_whole(s) : 1;
	if (err == 1)
		err = sync_each(s);
	if (err < 0)
		return err;   /* kept pending: the store fails and commits none of it */
	for (size_t i = 0; i < s->npending; i++)
		free(s->pending[i]);
	s->npending = 0;
	s->pending_bytes = 0;
	s->fanout_made = false;
	s->stats.syncs++;
	return 0;
}

void
nf_objstore_free(nf_objstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npending; i++)
		free(s->pending[i]);
	free(s->pending);
	free(s->objects);
	free(s->tmp);
	if (s->objects_fd >= 0)
		close(s->objects_fd);
	nf_strmap_free(s->trusted);
	nf_arena_free(s->arena);
	free(s);
}

static char *
object_path(const nf_objstore *s, const char *sha)
{
	return xasprintf("%s/%.2s/%s", s->objects, sha, sha + 2);
}

static int
parse_digest(const char *digest, bool *is_dir, char sha[65])
{
	const char *hex = NULL;

	if (!strncmp(digest, "file:", 5)) {
		*is_dir = false;
		hex = digest + 5;
	} else if (!strncmp(digest, "dir:", 4)) {
		*is_dir = true;
		hex = digest + 4;
	}
	if (!hex || strlen(hex) != 64 || !nf_is_sha256_hex(hex))
		return nf_error_set(NF_EINVALID, "invalid digest '%s'", digest);
	memcpy(sha, hex, 65);
	return 0;
}

static int
write_all(int fd, const void *data, size_t len, const char *what)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return nf_error_set_io(NF_EIO, what, "cannot write '%s'", what);
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Makes dst's content src's: a reflink when the filesystem shares blocks, else a copy.
 * With sha set, the SHA-256 of what dst received (read back after a reflink only when
 * hash_clone). what names src in messages, dst_name dst. */
static int
clone_or_copy(int dst, int src, char *sha, bool hash_clone, bool *cloned, const char *what, const char *dst_name)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *block = NULL, md[32];
	unsigned int mdlen = 0;
	int err = 0;

	*cloned = false;
#ifdef FICLONE
	if (ioctl(dst, FICLONE, src) == 0) {
		*cloned = true;
		if (sha && hash_clone) {
			if (lseek(dst, 0, SEEK_SET) < 0)
				return nf_error_set_errno(NF_EIO, "cannot read back '%s'", what);
			return nf_sha256_fd(sha, dst, what);
		}
		if (sha)
			sha[0] = '\0';
		return 0;
	}
#endif
	if (sha && (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, nf_sha256_md(), NULL))) {
		err = nf_error_set(NF_ERROR, "cannot hash '%s': SHA-256 is not available", what);
		goto done;
	}
	block = nf_hash_block();   /* the process's: nothing else hashes while this copies */
	for (;;) {
		ssize_t n = read(src, block, NF_HASH_BLOCK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = nf_error_set_errno(NF_EIO, "cannot read '%s'", what);
			goto done;
		}
		if (n == 0)
			break;
		if (ctx)
			EVP_DigestUpdate(ctx, block, (size_t)n);
		if ((err = write_all(dst, block, (size_t)n, dst_name)) < 0)
			goto done;
	}
	if (ctx) {
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		nf_sha256_hex(sha, md);
	}
done:
	EVP_MD_CTX_free(ctx);
	return err;
}

static int
make_dirs(nf_objstore *s)
{
	int err;

	if (s->made)
		return 0;
	if ((err = nf_mkdir_p(s->tmp, 0777)) < 0)
		return err;
	s->made = true;
	return 0;
}

/* Moves a finished temporary file (fd open on it) to the object's name, read-only, and adds
 * it to the pending list: it is made durable with the batch (nf_objstore_sync). */
static int
commit_object(nf_objstore *s, int fd, const char *tmp, const char *sha, uint64_t size)
{
	char *path = object_path(s, sha), *dir = xasprintf("%s/%.2s", s->objects, sha);
	int err = 0;

	if (fchmod(fd, 0400) < 0) {
		err = nf_error_set_io(NF_EIO, tmp, "cannot write '%s'", tmp);
		goto done;
	}
	if (mkdir(dir, 0777) == 0)
		s->fanout_made = true;
	else if (errno != EEXIST) {
		err = nf_error_set_errno(NF_EIO, "cannot create directory '%s'", dir);
		goto done;
	}
	if (rename(tmp, path) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot rename '%s' to '%s'", tmp, path);
		goto done;
	}
	NF_PUSH(s->pending, s->npending, s->pending_cap, path);
	path = NULL;
	s->pending_bytes += size;
	s->stats.written++;
done:
	free(path);
	free(dir);
	return err;
}

/* What a put finds under an object's name. */
typedef enum { OBJ_MISSING, OBJ_SOUND, OBJ_CORRUPT } obj_state;

/* objects/, kept open for the puts of the process (their stat and reads go relative to
 * it), or -1 when it does not exist yet. */
static int
objects_dir(nf_objstore *s)
{
	if (s->objects_fd < 0)
		s->objects_fd = open(s->objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return s->objects_fd;
}

/* Whether an object re-hashed sound with stat st (taken before the read, which began at
 * the coarse clock began_ns; fd: the object open) will show a later change by its stat. */
static bool
settled(const nf_objstore *s, int fd, const struct stat *st, int64_t began_ns)
{
	struct timespec now;
	int64_t changed = nf_ts_ns(&st->st_mtim) > nf_ts_ns(&st->st_ctim) ? nf_ts_ns(&st->st_mtim) : nf_ts_ns(&st->st_ctim);

	clock_gettime(CLOCK_REALTIME, &now);
	if (s->racy_ns >= 0)
		return changed + s->racy_ns < nf_ts_ns(&now);
	return nf_stat_settled(st, nf_local_clock_fs(fd), began_ns, nf_ts_ns(&now));
}

/* Object sha, just re-hashed sound with stat st, trusted from now on while its stat stays
 * st. */
static void
trust(nf_objstore *s, const char *sha, const struct stat *st)
{
	obj_trust *t;

	if (!s->trusted) {
		s->trusted = nf_strmap_new(64);
		s->arena = nf_arena_new();
	}
	if (!(t = nf_strmap_get(s->trusted, sha))) {
		t = nf_arena_alloc(s->arena, sizeof(*t));
		memcpy(t->sha, sha, 65);
		nf_strmap_put(s->trusted, t->sha, t);
	}
	t->st = *st;
}

/* Whether object sha (of size bytes) is stored and sound: a put reaches here only when a
 * stage produced these bytes again, and a damaged object (a bad disk, an edit) must then be
 * written anew rather than trusted. It is re-hashed unless this process re-hashed it before
 * and its stat (size, times, inode) is unchanged since (trust). A corrupt one is removed. */
static obj_state
stored_object(nf_objstore *s, const char *sha, uint64_t size)
{
	char rel[68], got[65];
	struct stat st;
	const obj_trust *t;
	obj_state state = OBJ_CORRUPT;
	bool stable = false;
	int dfd = objects_dir(s), fd;

	snprintf(rel, sizeof(rel), "%.2s/%s", sha, sha + 2);
	if (dfd < 0 || fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return OBJ_MISSING;
	if ((uint64_t)st.st_size == size && s->trusted && (t = nf_strmap_get(s->trusted, sha)) &&
	    nf_same_stat(&t->st, &st))
		return OBJ_SOUND;
	if ((uint64_t)st.st_size == size && (fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		int64_t began = nf_coarse_now_ns();

		s->stats.verified++;
		if (fstat(fd, &st) == 0 && nf_sha256_fd(got, fd, rel) == 0 && !strcmp(got, sha)) {
			state = OBJ_SOUND;
			stable = settled(s, fd, &st, began);
		}
		close(fd);
	}
	if (state != OBJ_SOUND)
		unlinkat(dfd, rel, 0);
	else if (stable)
		trust(s, sha, &st);
	return state;
}

/* After a put wrote again an object that was corrupt. */
static void
repaired(const nf_objstore *s, const char *sha)
{
	if (s->on_repair)
		s->on_repair(s->repair_ctx, sha);
}

static int
new_tmp(nf_objstore *s, char **tmp, int *fd)
{
	int err;

	if ((err = make_dirs(s)) < 0)
		return err;
	*tmp = xasprintf("%s/XXXXXX", s->tmp);
	if ((*fd = mkostemp(*tmp, O_CLOEXEC)) < 0) {
		err = nf_error_set_io(NF_EIO, s->tmp, "cannot create a temporary file in '%s'", s->tmp);
		free(*tmp);
		*tmp = NULL;
		return err;
	}
	return 0;
}

/* Stores bytes (a manifest, a link's target) as an object; sha is their SHA-256. */
static int
put_bytes(nf_objstore *s, const void *data, size_t len, const char *sha)
{
	char *tmp = NULL;
	obj_state was = stored_object(s, sha, len);
	int fd = -1, err;

	if (was == OBJ_SOUND) {
		s->stats.skipped++;
		return 0;
	}
	if ((err = new_tmp(s, &tmp, &fd)) < 0)
		return err;
	if ((err = write_all(fd, data, len, tmp)) < 0 || (err = commit_object(s, fd, tmp, sha, len)) < 0)
		unlink(tmp);
	else if (was == OBJ_CORRUPT)
		repaired(s, sha);
	close(fd);
	free(tmp);
	return err;
}

/* Stores the file name in the folder dirfd (opened without following a link): hashed
 * first, so a file whose object exists is read once and not written; otherwise copied and
 * hashed again, refusing a file that changed in between. before: its stat as looked at
 * just before (fstatat, not following a link). */
static int
put_file(nf_objstore *s, char sha[65], int dirfd, const char *name, const char *path, const struct stat *before)
{
	char *tmp = NULL, copied[65];
	int src = -1, fd = -1, err;
	obj_state was = OBJ_MISSING;
	struct stat st;
	int64_t began;
	bool cloned, have_st;

	memset(&st, 0, sizeof(st));
	if ((src = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot open '%s'", path);
	began = nf_coarse_now_ns();
	if ((err = nf_sha256_fd(sha, src, path)) < 0)
		goto done;
	/* The hash is the output's too: remembered when settled, so that the next run checks
	 * the output by its stat instead of reading it again. before is the path's stat, taken
	 * before the open: the same file unchanged since (inode, size, times) is the one read. */
	if ((have_st = fstat(src, &st) == 0))
		nf_hash_remember(s->statcache, path, src, before, &st, began, sha);
	if (have_st && (was = stored_object(s, sha, (uint64_t)st.st_size)) == OBJ_SOUND) {
		s->stats.skipped++;
		goto done;
	}
	if (lseek(src, 0, SEEK_SET) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot read '%s'", path);
		goto done;
	}
	if ((err = new_tmp(s, &tmp, &fd)) < 0)
		goto done;
	if ((err = clone_or_copy(fd, src, copied, true, &cloned, path, tmp)) < 0)
		goto done;
	if (strcmp(copied, sha)) {
		err = nf_error_set(NF_EIO, "cannot store '%s': it changed while being stored", path);
		goto done;
	}
	if ((err = commit_object(s, fd, tmp, sha, (uint64_t)st.st_size)) == 0 && was == OBJ_CORRUPT)
		repaired(s, sha);
done:
	if (err < 0 && tmp)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	close(src);
	free(tmp);
	return err;
}

static int
put_cb(void *ctx, char sha[65], int dirfd, const char *name, const char *path, const struct stat *st)
{
	return put_file(ctx, sha, dirfd, name, path, st);
}

static int
digest_cb(void *ctx, char sha[65], int dirfd, const char *name, const char *path, const struct stat *st)
{
	(void)ctx;
	(void)st;
	return nf_hash_at(sha, dirfd, name, path, NULL);
}

/* Stores a symlink's target text as an object (the manifest names it by its hash). */
static int
put_link_cb(void *ctx, const char *sha, const char *target, size_t len)
{
	return put_bytes(ctx, target, len, sha);
}

static int
link_refused(const char *path)
{
	return nf_error_set(NF_EINVALID, "output '%s' is a symbolic link; ntflow does not follow links in outputs",
			    path);
}

static int
put_or_digest(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80], int *perm,
	      bool store)
{
	nf_manifest_ops ops = { store ? put_cb : digest_cb, store ? put_link_cb : NULL, s };
	nf_manifest m = { NULL, 0, 0 };
	nf_buf text = NF_BUF_INIT;
	struct stat st;
	char sha[65];
	int fd = -1, err = 0;

	digest[0] = '\0';
	if (perm)
		*perm = -1;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return nf_error_set_errno(errno == ENOENT || errno == ENOTDIR ? NF_ENOTFOUND : NF_EIO,
					  "cannot %s '%s'", store ? "store" : "hash", path);
	if (S_ISLNK(st.st_mode))
		return link_refused(path);
	if (S_ISREG(st.st_mode)) {
		if ((err = store ? put_file(s, sha, dirfd, name, path, &st) : nf_hash_at(sha, dirfd, name, path, NULL)) < 0)
			return err;
		snprintf(digest, 80, "file:%s", sha);
		if (perm)
			*perm = (int)(st.st_mode & 0777);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return nf_error_set(NF_EINVALID, "cannot %s '%s': not a file or folder",
				    store ? "store" : "hash", path);
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", path);
		goto done;
	}
	if ((err = nf_manifest_scan_at(&m, fd, path, NULL, &ops)) < 0)
		goto done;
	nf_manifest_format(&text, &m, NF_MANIFEST_V2);
	nf_sha256_buf(sha, text.buf, text.len);
	if (store && (err = put_bytes(s, text.buf, text.len, sha)) < 0)
		goto done;
	snprintf(digest, 80, "dir:%s", sha);
done:
	if (fd >= 0)
		close(fd);
	nf_manifest_release(&m);
	nf_buf_release(&text);
	return err;
}

/* A put: what it wrote synced before it returns unless the caller syncs the batch. */
static int
put(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80], int *perm)
{
	int err = put_or_digest(s, dirfd, name, path, digest, perm, true);

	if (err == 0 && !s->defer)
		err = nf_objstore_sync(s);
	return err;
}

int
nf_objstore_put_at(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80], int *perm)
{
	return put(s, dirfd, name, path, digest, perm);
}

int
nf_objstore_digest_at(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80])
{
	return put_or_digest(s, dirfd, name, path, digest, NULL, false);
}

int
nf_objstore_put(nf_objstore *s, const char *abs_path, char digest[80])
{
	return put(s, AT_FDCWD, abs_path, abs_path, digest, NULL);
}

int
nf_objstore_digest(nf_objstore *s, const char *abs_path, char digest[80])
{
	return put_or_digest(s, AT_FDCWD, abs_path, abs_path, digest, NULL, false);
}

/* Reads a small object (a manifest, a link target) and checks it against its name. */
static int
read_object(const nf_objstore *s, const char *sha, char **data, size_t *len)
{
	char *path = object_path(s, sha), got[65];
	int err;

	if ((err = nf_read_file(data, len, path, 0)) < 0) {
		if (err == NF_ENOTFOUND)
			err = nf_error_set(NF_ENOTFOUND, "object %s is missing from the store", sha);
		goto done;
	}
	nf_sha256_buf(got, *data, *len);
	if (strcmp(got, sha)) {
		free(*data);
		*data = NULL;
		err = nf_error_set(NF_ECORRUPT, "object %s is corrupt (run `ntflow cache verify`)", sha);
	}
done:
	free(path);
	return err;
}

static int
load_manifest(const nf_objstore *s, const char *sha, nf_manifest *m)
{
	char *text = NULL;
	size_t len;
	int err;

	if ((err = read_object(s, sha, &text, &len)) < 0)
		return err;
	if ((err = nf_manifest_parse(m, text, len)) < 0) {
		char *why = xstrdup(nf_error_last());   /* the message is rewritten in place */

		err = nf_error_set(NF_ECORRUPT, "object %s is not a manifest: %s", sha, why);
		free(why);
	}
	free(text);
	return err;
}

const char *
nf_objstore__objects(const nf_objstore *s)
{
	return s->objects;
}

int
nf_objstore__manifest(const nf_objstore *s, const char *sha, nf_manifest *m)
{
	return load_manifest(s, sha, m);
}

/* ---- restore ---- */

/* A temporary name beside name in dirfd (in the same folder, so the final rename stays within
 * one filesystem; name may be a path when dirfd is AT_FDCWD): ".NAME.ntflow-tmp". One fixed
 * name per path, removed before it is created: what a restore that a crash cut short left
 * there (a whole copy of a big file) is taken back by the next restore of that path, instead
 * of staying in the workspace for good under a name of its own. Restores are made under the
 * workspace lock, so no two use the name at once. path names it in messages. */
static char *
sibling_tmp(int dirfd, const char *name, const char *path)
{
	const char *slash = strrchr(name, '/');
	char *tmp = xasprintf("%.*s.%s.ntflow-tmp", slash ? (int)(slash - name + 1) : 0, name,
			      slash ? slash + 1 : name);

	if (unlinkat(dirfd, tmp, 0) < 0 && (errno == EISDIR || errno == EPERM))
		(void)nf_path_remove_at(dirfd, tmp, path);   /* the create that follows says if it stays */
	return tmp;
}

/* Whether the file name in dirfd (st: its lstat) holds sha's content. Through the stat cache
 * (when there is one) under its path: a file whose size, mtime, inode and ctime match its row
 * is not opened, so a fully cached run reads none of its outputs; a file without a row is
 * hashed, and gets one when it is old enough not to be racy (hash.c). */
static int
same_content(const nf_objstore *s, int dirfd, const char *name, const char *path, const struct stat *st,
	     const char *sha, bool *same)
{
	char got[65];
	int err;

	*same = false;
	if (!nf_hash_cached(s->statcache, path, st, got) &&
	    (err = nf_hash_at(got, dirfd, name, path, s->statcache)) < 0)
		return err == NF_ENOTFOUND ? 0 : err;
	*same = !strcmp(got, sha);
	return 0;
}

/* The permission bits a restored file gets: perm when recorded (>= 0); else, for an entry
 * of a version 1 manifest, the umask's default, executable for NF_MODE_EXEC; else (a file
 * digest from before modes were recorded) the replaced file's, or the umask's default. */
static mode_t
restored_perm(const nf_objstore *s, unsigned mode, int perm, bool have, const struct stat *st)
{
	if (perm >= 0)
		return (mode_t)perm;
	if (mode == NF_MODE_EXEC)
		return 0777 & ~s->umask;
	if (mode == NF_MODE_FILE || !have || !S_ISREG(st->st_mode))
		return 0666 & ~s->umask;
	return st->st_mode & 07777;
}

/* Makes name (in the folder dirfd; path names it) a regular file with object sha's content
 * and the permission bits restored_perm gives. Written to a new file created beside it with
 * O_EXCL | O_NOFOLLOW and renamed over it: whatever was there, a link included, is replaced,
 * never written through. */
static int
restore_file(nf_objstore *s, const char *sha, int dirfd, const char *name, const char *path, unsigned mode,
	     int perm_in, size_t *restored)
{
	char *obj = object_path(s, sha), *tmp = NULL, copied[65];
	struct stat ost, st;
	mode_t perm;
	int src = -1, fd = -1, err = 0;
	bool have, same = false, cloned;

	if (stat(obj, &ost) < 0) {
		err = errno == ENOENT ? nf_error_set(NF_ENOTFOUND, "object %s is missing from the store", sha)
			: nf_error_set_errno(NF_EIO, "cannot stat '%s'", obj);
		goto done;
	}
	have = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	perm = restored_perm(s, mode, perm_in, have, &st);
	/* The cheap check first: a different size needs no reading. */
	if (have && S_ISREG(st.st_mode) && st.st_size == ost.st_size &&
	    (err = same_content(s, dirfd, name, path, &st, sha, &same)) < 0)
		goto done;
	if (same) {
		if ((st.st_mode & 07777) != perm) {
			int cfd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

			if (cfd < 0 || fchmod(cfd, perm) < 0)
				err = nf_error_set_errno(NF_EIO, "cannot change the mode of '%s'", path);
			if (cfd >= 0)
				close(cfd);
		}
		goto done;
	}
	if (have && S_ISDIR(st.st_mode) && (err = nf_path_remove_at(dirfd, name, path)) < 0)
		goto done;
	/* Opened only now: the object is read only when the workspace differs. */
	if ((src = open(obj, O_RDONLY | O_CLOEXEC)) < 0) {
		err = errno == ENOENT ? nf_error_set(NF_ENOTFOUND, "object %s is missing from the store", sha)
			: nf_error_set_errno(NF_EIO, "cannot open '%s'", obj);
		goto done;
	}
	tmp = sibling_tmp(dirfd, name, path);
	if ((fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		err = nf_error_set_io(NF_EIO, path, "cannot create a file beside '%s'", path);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	/* Checked even after a reflink: a damaged object must not reach the workspace. */
	if ((err = clone_or_copy(fd, src, copied, true, &cloned, obj, tmp)) < 0)
		goto done;
	if (strcmp(copied, sha)) {
		err = nf_error_set(NF_ECORRUPT, "object %s is corrupt (run `ntflow cache verify`)", sha);
		goto done;
	}
	if (nf_test_hook("cache-restore-before-rename"))
		raise(SIGKILL);   /* the tests' crash with the copy made, not yet in place */
	if (fchmod(fd, perm) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot write '%s'", path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	(*restored)++;
done:
	if (tmp) {
		unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	if (fd >= 0)
		close(fd);
	if (src >= 0)
		close(src);
	free(obj);
	return err;
}

/* Makes name (in dirfd) the link e records, a new link renamed over whatever is there. */
static int
restore_link(nf_objstore *s, const nf_manifest_entry *e, int dirfd, const char *name, const char *path,
	     size_t *restored)
{
	char *target = NULL, *tmp = NULL, cur[4096];
	size_t len;
	ssize_t n;
	struct stat st;
	int err;

	if ((err = read_object(s, e->sha256, &target, &len)) < 0)
		return err;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode) && (n = readlinkat(dirfd, name, cur, sizeof(cur))) >= 0 &&
		    (size_t)n == len && !memcmp(cur, target, len))
			goto done;   /* already right */
		if (S_ISDIR(st.st_mode) && (err = nf_path_remove_at(dirfd, name, path)) < 0)
			goto done;
	}
	tmp = sibling_tmp(dirfd, name, path);
	if (symlinkat(target, dirfd, tmp) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot create the link '%s'", path);
		unlinkat(dirfd, tmp, 0);
		goto done;
	}
	(*restored)++;
done:
	free(tmp);
	free(target);
	return err;
}

static char restore_dir_mark;

/* Removes what is in the open folder fd (abs names it; rel is its path in the output) and
 * not in the manifest, and anything whose type differs from its entry, a link where a
 * folder should be included, so the writes that follow only create or replace. Nothing is
 * followed: a link is removed itself. */
static int
prune(nf_strmap *want, int fd, nf_buf *abs, nf_buf *rel)
{
	DIR *d;
	struct dirent *de;
	size_t abs_len = abs->len, rel_len = rel->len;
	int dfd, err = 0;

	if ((dfd = dup(fd)) < 0 || !(d = fdopendir(dfd))) {
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", abs->buf);
		if (dfd >= 0)
			close(dfd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		const nf_manifest_entry *e;
		void *v;
		struct stat st;
		bool keep;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		abs->len = abs_len;
		rel->len = rel_len;
		nf_buf_putc(abs, '/');
		nf_buf_puts(abs, de->d_name);
		if (rel_len)
			nf_buf_putc(rel, '/');
		nf_buf_puts(rel, de->d_name);
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v = nf_strmap_get(want, rel->buf);
		e = v == &restore_dir_mark ? NULL : v;
		if (!v)
			keep = false;
		else if (!e || e->mode == NF_MODE_DIR)
			keep = S_ISDIR(st.st_mode);
		else if (e->mode == NF_MODE_LINK)
			keep = S_ISLNK(st.st_mode);
		else
			keep = S_ISREG(st.st_mode);
		if (!keep) {
			err = nf_path_remove_at(fd, de->d_name, abs->buf);
		} else if (S_ISDIR(st.st_mode)) {
			int cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", abs->buf);
			} else {
				err = prune(want, cfd, abs, rel);
				close(cfd);
			}
		}
	}
	closedir(d);
	abs->len = abs_len;
	rel->len = rel_len;
	abs->buf[abs_len] = '\0';
	if (rel->buf)
		rel->buf[rel_len] = '\0';
	return err;
}

/* The folder holding entry path rel of an output folder (the open folder top), reused from
 * one entry to the next while they share it (entries come sorted by path). */
typedef struct parent_cache {
	char *dir;    /* rel's folder, "" for top itself */
	int fd;
} parent_cache;

static int
entry_parent(parent_cache *pc, int top, const char *rel, const char *out_path, const char **name)
{
	const char *slash = strrchr(rel, '/');
	size_t dlen = slash ? (size_t)(slash - rel) : 0;
	int err;

	*name = slash ? slash + 1 : rel;
	if (pc->fd >= 0 && strlen(pc->dir) == dlen && !strncmp(pc->dir, rel, dlen))
		return 0;
	if (pc->fd >= 0)
		close(pc->fd);
	free(pc->dir);
	pc->dir = NULL;
	pc->fd = -1;
	if ((err = nf_path_parent_at(&pc->fd, name, top, rel, "output", NF_PATH_MKDIR)) < 0) {
		char *msg = xstrdup(nf_error_last());

		err = nf_error_set(err, "cannot restore '%s/%s': %s", out_path, rel, msg);
		free(msg);
		return err;
	}
	pc->dir = xstrndup(rel, dlen);
	return 0;
}

/* Makes name (in dirfd; path names it) a folder equal to manifest sha's: a file there is
 * removed, the folder made, then everything below it reached from its descriptor. */
static int
restore_dir(nf_objstore *s, const char *sha, int dirfd, const char *name, const char *path, size_t *restored)
{
	nf_manifest m = { NULL, 0, 0 };
	nf_strmap *want = NULL;
	nf_arena *keys = NULL;
	nf_buf abs = NF_BUF_INIT, rel = NF_BUF_INIT;
	parent_cache pc = { NULL, -1 };
	struct stat st;
	int top = -1, err;

	if ((err = load_manifest(s, sha, &m)) < 0)
		return err;
	/* Every entry, and every folder implied by one, is wanted. */
	want = nf_strmap_new(m.n * 2 + 8);
	keys = nf_arena_new();
	for (size_t i = 0; i < m.n; i++) {
		char *p = m.entries[i].path;

		nf_strmap_put(want, p, &m.entries[i]);
		for (char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
			char *dir = nf_arena_strndup(keys, p, (size_t)(slash - p));

			if (!nf_strmap_get(want, dir))
				nf_strmap_put(want, dir, &restore_dir_mark);
		}
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
	    (err = nf_path_remove_at(dirfd, name, path)) < 0)
		goto done;
	if (mkdirat(dirfd, name, 0777) < 0 && errno != EEXIST) {
		err = nf_error_set_errno(NF_EIO, "cannot create directory '%s'", path);
		goto done;
	}
	if ((top = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", path);
		goto done;
	}
	nf_buf_puts(&abs, path);
	if ((err = prune(want, top, &abs, &rel)) < 0)
		goto done;
	for (size_t i = 0; i < m.n && !err; i++) {
		const nf_manifest_entry *e = &m.entries[i];
		char *dst = xasprintf("%s/%s", path, e->path);
		const char *base;

		if ((err = entry_parent(&pc, top, e->path, path, &base)) == 0) {
			if (e->mode == NF_MODE_DIR) {
				if (mkdirat(pc.fd, base, 0777) < 0 && errno != EEXIST)
					err = nf_error_set_errno(NF_EIO, "cannot create directory '%s'", dst);
			} else if (e->mode == NF_MODE_LINK) {
				err = restore_link(s, e, pc.fd, base, dst, restored);
			} else {
				err = restore_file(s, e->sha256, pc.fd, base, dst, e->mode, e->perm, restored);
			}
		}
		free(dst);
	}
done:
	if (pc.fd >= 0)
		close(pc.fd);
	free(pc.dir);
	if (top >= 0)
		close(top);
	nf_strmap_free(want);
	nf_arena_free(keys);
	nf_manifest_release(&m);
	nf_buf_release(&abs);
	nf_buf_release(&rel);
	return err;
}

int
nf_objstore_restore_at(nf_objstore *s, const char *digest, int perm, int dirfd, const char *name,
		       const char *path, size_t *restored)
{
	char sha[65];
	struct stat st;
	bool is_dir;
	int err;

	*restored = 0;
	if ((err = parse_digest(digest, &is_dir, sha)) < 0)
		return err;
	/* A link where the output should be: neither followed nor silently replaced. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return link_refused(path);
	if (is_dir)
		return restore_dir(s, sha, dirfd, name, path, restored);
	return restore_file(s, sha, dirfd, name, path, 0, perm, restored);
}

bool
nf_objstore_matches(const nf_objstore *s, const char *digest, int perm, const char *path, const struct stat *st)
{
	char sha[65], got[65];
	bool is_dir;

	if (!S_ISREG(st->st_mode) || parse_digest(digest, &is_dir, sha) < 0 || is_dir) {
		nf_error_clear();
		return false;
	}
	if (perm >= 0 && (st->st_mode & 07777) != (mode_t)perm)
		return false;
	return nf_hash_cached(s->statcache, path, st, got) && !strcmp(got, sha);
}

int
nf_objstore_restore(nf_objstore *s, const char *digest, const char *abs_path, size_t *restored)
{
	const char *slash;
	int err;

	*restored = 0;
	if ((slash = strrchr(abs_path, '/')) && slash != abs_path) {
		char *parent = xstrndup(abs_path, (size_t)(slash - abs_path));
		struct stat pst;

		/* One stat where the folder exists (the usual case), not a mkdir per component. */
		err = stat(parent, &pst) == 0 && S_ISDIR(pst.st_mode) ? 0 : nf_mkdir_p(parent, 0777);
		free(parent);
		if (err < 0)
			return err;
	}
	return nf_objstore_restore_at(s, digest, -1, AT_FDCWD, abs_path, abs_path, restored);
}

/* ---- checks ---- */

static bool
object_ok(const nf_objstore *s, const char *sha, bool deep)
{
	char *path = object_path(s, sha), got[65];
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);

	if (ok && deep)
		ok = nf_hash_file(got, path, NULL) == 0 && !strcmp(got, sha);
	free(path);
	return ok;
}

bool
nf_objstore_has(nf_objstore *s, const char *digest, bool deep)
{
	nf_manifest m = { NULL, 0, 0 };
	char sha[65];
	bool is_dir, ok;

	if (parse_digest(digest, &is_dir, sha) < 0)
		return false;
	if (!is_dir)
		return object_ok(s, sha, deep);
	/* Loading the manifest checks its hash, deep or not: it is small. */
	if (load_manifest(s, sha, &m) < 0)
		return false;
	ok = true;
	for (size_t i = 0; i < m.n && ok; i++)
		if (m.entries[i].mode != NF_MODE_DIR)
			ok = object_ok(s, m.entries[i].sha256, deep);
	nf_manifest_release(&m);
	return ok;
}

static bool
is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return p[n] == '\0';
}

/* Deletes what a crashed put left in tmp, once it is too old to be a put in progress. */
static void
sweep_tmp(const nf_objstore *s)
{
	DIR *d = opendir(s->tmp);
	struct dirent *de;
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *p;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", s->tmp, de->d_name);
		if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode) && now - st.st_mtime > TMP_MAX_AGE_S)
			unlink(p);
		free(p);
	}
	closedir(d);
}

/* Re-hashes the objects of one fan-out folder ("ab"); reports and removes corrupt ones. A
 * file whose name is not a SHA-256 is reported by its name ("ab/name") and removed too. */
static int64_t
verify_fanout(const nf_objstore *s, const char *fan, void (*bad)(void *, const char *), void *ctx)
{
	char *dir = xasprintf("%s/%s", s->objects, fan);
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t checked = 0;

	if (!d) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d))) {
		char sha[65], got[65], *path;
		struct stat st;
		bool good;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) < 0) {
			free(path);
			continue;
		}
		if (strlen(de->d_name) == 62 && is_hex(de->d_name, 62) && S_ISREG(st.st_mode)) {
			snprintf(sha, sizeof(sha), "%s%s", fan, de->d_name);
			good = nf_hash_file(got, path, NULL) == 0 && !strcmp(got, sha);
			checked++;
		} else {
			snprintf(sha, sizeof(sha), "%s/%.61s", fan, de->d_name);
			good = false;
		}
		if (!good) {
			if (bad)
				bad(ctx, sha);
			(void)nf_remove_tree(path);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	return checked;
}

int64_t
nf_objstore_verify(nf_objstore *s, void (*bad)(void *ctx, const char *sha256), void *ctx)
{
	DIR *d;
	struct dirent *de;
	int64_t checked = 0;

	if (!(d = opendir(s->objects))) {
		if (errno == ENOENT)
			return 0;   /* nothing stored yet */
		return nf_error_set_errno(NF_EIO, "cannot open the folder '%s'", s->objects);
	}
	while ((de = readdir(d))) {
		if (strlen(de->d_name) == 2 && is_hex(de->d_name, 2))
			checked += verify_fanout(s, de->d_name, bad, ctx);
	}
	closedir(d);
	sweep_tmp(s);
	return checked;
}

static int
object_size(const nf_objstore *s, const char *sha, uint64_t *bytes)
{
	char *path = object_path(s, sha);
	struct stat st;
	int err = 0;

	if (stat(path, &st) < 0)
		err = nf_error_set(NF_ENOTFOUND, "object %s is missing from the store", sha);
	else
		*bytes += (uint64_t)st.st_size;
	free(path);
	return err;
}

int
nf_objstore_size(nf_objstore *s, const char *digest, uint64_t *bytes)
{
	nf_manifest m = { NULL, 0, 0 };
	nf_strmap *seen = NULL;
	char sha[65];
	bool is_dir;
	int err;

	*bytes = 0;
	if ((err = parse_digest(digest, &is_dir, sha)) < 0)
		return err;
	if ((err = object_size(s, sha, bytes)) < 0 || !is_dir)
		return err;
	if ((err = load_manifest(s, sha, &m)) < 0)
		return err;
	/* An object listed twice (two identical files) is stored, and counted, once. */
	seen = nf_strmap_new(m.n + 8);
	for (size_t i = 0; i < m.n && !err; i++) {
		char *obj = m.entries[i].sha256;

		if (m.entries[i].mode == NF_MODE_DIR || nf_strmap_get(seen, obj))
			continue;
		nf_strmap_put(seen, obj, obj);
		err = object_size(s, obj, bytes);
	}
	nf_strmap_free(seen);
	nf_manifest_release(&m);
	return err;
}
