/* hash.c: SHA-256 of file contents behind a stat cache (the store keeps it in SQLite), so an
 * unchanged 1 GB data file is read once and afterwards costs one stat and one lookup.
 *
 * The cache row is trusted only when size, mtime_ns, inode and ctime_ns all match. A file
 * changed too recently for its stat to show a later change (nf_stat_settled: in the clock
 * tick its read began in, or within a margin) is hashed but not cached: it may still be
 * written within the same timestamp tick without its stat data changing ("racy git"). */
#include "config.h"
#include "ntflow/cache.h"
#include "cache-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
nf_sha256_hex(char out[65], const unsigned char md[32])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* One SHA-256 implementation fetched, one context and one block buffer for the whole
 * process, instead of an implicit fetch, a context and a 64 KiB buffer per file: ntflow
 * hashes from one thread, and no hash is ever interrupted by another (each runs to its end
 * before the next starts). */
static EVP_MD_CTX *sha256_ctx;
static unsigned char *sha256_block;

/* The process's context, initialised for a new SHA-256. */
static EVP_MD_CTX *
sha256_begin(void)
{
	if (!sha256_ctx && !(sha256_ctx = EVP_MD_CTX_new()))
		return NULL;
	if (!EVP_DigestInit_ex(sha256_ctx, nf_sha256_md(), NULL))
		return NULL;
	return sha256_ctx;
}

unsigned char *
nf_hash_block(void)
{
	if (!sha256_block)
		sha256_block = xmalloc(NF_HASH_BLOCK);
	return sha256_block;
}

/* Through the process's context too: EVP_Digest would make, initialise and free one per
 * call (a key, an output list, a manifest: several per stage). */
void
nf_sha256_buf(char out[65], const void *p, size_t n)
{
	EVP_MD_CTX *ctx = sha256_begin();
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!ctx || !EVP_DigestUpdate(ctx, p, n) || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		abort();   /* as nf_sha256_md: no SHA-256, nothing sensible to go on with */
	nf_sha256_hex(out, md);
}

int
nf_sha256_fd(char out[65], int fd, const char *what)
{
	EVP_MD_CTX *ctx = sha256_begin();
	unsigned char *block = nf_hash_block(), md[32];
	unsigned int mdlen = 0;

	if (!ctx)
		return nf_error_set(NF_ERROR, "cannot hash '%s': SHA-256 is not available", what);
	for (;;) {
		ssize_t n = read(fd, block, NF_HASH_BLOCK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return nf_error_set_errno(NF_EIO, "cannot read '%s'", what);
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, block, (size_t)n);
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)
		return nf_error_set(NF_ERROR, "cannot hash '%s'", what);
	nf_sha256_hex(out, md);
	return 0;
}

bool
nf_is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

void
nf_stat_key(nf_statkey *k, const struct stat *st)
{
	k->size = (int64_t)st->st_size;
	k->mtime_ns = nf_ts_ns(&st->st_mtim);
	k->inode = (int64_t)st->st_ino;
	k->ctime_ns = nf_ts_ns(&st->st_ctim);
}

/* True (and out filled) when the cache has a row for path matching st. Any failure, a
 * missing table included, is a miss: the cache only ever saves work. */
static bool
cache_lookup(nf_statcache *sc, const char *path, const struct stat *st, char out[65])
{
	nf_statkey got;

	return sc->get(sc, path, &got, out) && nf_statkey_is(&got, st) && nf_is_sha256_hex(out);
}

bool
nf_statkey_is(const nf_statkey *k, const struct stat *st)
{
	nf_statkey now;

	nf_stat_key(&now, st);
	return k->size == now.size && k->mtime_ns == now.mtime_ns && k->inode == now.inode &&
	       k->ctime_ns == now.ctime_ns;
}

bool
nf_hash_cached(nf_statcache *sc, const char *path, const struct stat *st, char out[65])
{
	return sc && S_ISREG(st->st_mode) && cache_lookup(sc, path, st, out);
}

/* Best effort: a locked or read-only database costs a re-read next time, nothing more. */
static void
cache_store(nf_statcache *sc, const char *path, const struct stat *st, const char *sha)
{
	nf_statkey k;

	nf_stat_key(&k, st);
	sc->put(sc, path, &k, sha);
}

/* Hashes the open file fd (st: its stat before reading), through the cache of db under key;
 * *vouched, when given, says whether the cache answered. */
static int
hash_open_v(char out[65], int fd, const struct stat *st, const char *key, nf_statcache *db, bool *vouched)
{
	struct stat after;
	int64_t began;
	int err;

	if (vouched)
		*vouched = false;
	if (db && cache_lookup(db, key, st, out)) {
		if (vouched)
			*vouched = true;
		return 0;
	}
	began = nf_coarse_now_ns();
	if ((err = nf_sha256_fd(out, fd, key)) < 0)
		return err;
	if (fstat(fd, &after) < 0)
		return nf_error_set_errno(NF_EIO, "cannot stat '%s'", key);
	nf_hash_remember(db, key, fd, st, &after, began, out);
	return 0;
}

static int
hash_open(char out[65], int fd, const struct stat *st, const char *key, nf_statcache *db)
{
	return hash_open_v(out, fd, st, key, db, NULL);
}

/* The files nf_hash_remember found racy, to be hashed again by nf_hash_settle. */
typedef struct racy_file {
	char *path;
	nf_statkey key;   /* its stat when it was hashed */
} racy_file;
struct nf_racy_list {
	racy_file *v;
	size_t n, cap;
};

static void
racy_note(nf_statcache *sc, const char *path, const struct stat *st)
{
	struct nf_racy_list *l = sc->racy;
	racy_file f;

	if (!l)
		l = sc->racy = xcalloc(1, sizeof(*l));
	if (l->n >= NF_RACY_MAX)
		return;   /* read again next time, as before there was a list */
	f.path = xstrdup(path);
	nf_stat_key(&f.key, st);
	NF_PUSH(l->v, l->n, l->cap, f);
}

void
nf_hash_remember(nf_statcache *sc, const char *path, int fd, const struct stat *before, const struct stat *after,
		 int64_t began_ns, const char *sha)
{
	struct timespec now;

	/* Only what was stable while read and settled before the read began. */
	if (!sc || !S_ISREG(after->st_mode) || !nf_same_stat(before, after))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (nf_stat_settled(after, nf_local_clock_fs(fd), began_ns, nf_ts_ns(&now)))
		cache_store(sc, path, after, sha);
	else
		racy_note(sc, path, after);
}

/* Whether f may be settled by now: its tick past (the fine rule), or its margin (the
 * coarse one, which nf_stat_settled applies to a time without digits below the ms). */
static bool
racy_due(const racy_file *f, int64_t coarse_now, int64_t now)
{
	int64_t changed = f->key.mtime_ns > f->key.ctime_ns ? f->key.mtime_ns : f->key.ctime_ns;

	if (f->key.mtime_ns % 1000000 == 0)
		return changed + 2000000000LL < now;
	return changed < coarse_now;
}

/* Hashes f again when its stat is still the one noted (else it changed: whoever asks next
 * hashes it anyway) and puts it when settled now, or notes it again. Whether it was put. */
static bool
racy_settle(nf_statcache *sc, const racy_file *f)
{
	struct stat before, after;
	struct timespec now;
	nf_statkey k;
	char sha[65];
	int64_t began;
	bool put = false;
	int fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &before) == 0 && S_ISREG(before.st_mode) && (nf_stat_key(&k, &before), !memcmp(&k, &f->key, sizeof(k)))) {
		began = nf_coarse_now_ns();
		if (nf_sha256_fd(sha, fd, f->path) < 0 || fstat(fd, &after) < 0) {
			nf_error_clear();
		} else if (nf_same_stat(&before, &after)) {
			clock_gettime(CLOCK_REALTIME, &now);
			if ((put = nf_stat_settled(&after, nf_local_clock_fs(fd), began, nf_ts_ns(&now))))
				cache_store(sc, f->path, &after, sha);
			else
				racy_note(sc, f->path, &after);
		}
	}
	close(fd);
	return put;
}

/* Waits, up to wait_ms, for the tick of the file of l changed last (of those the tick
 * rule settles) to be past. */
static void
racy_wait(const struct nf_racy_list *l, int64_t wait_ms)
{
	int64_t last = 0;
	struct timespec nap = { 0, 1000000 };

	for (size_t i = 0; i < l->n; i++) {
		const nf_statkey *k = &l->v[i].key;

		if (k->mtime_ns % 1000000 != 0 && k->mtime_ns > last)
			last = k->mtime_ns;
	}
	for (int64_t waited = 0; waited < wait_ms && nf_coarse_now_ns() <= last; waited++)
		nanosleep(&nap, NULL);
}

size_t
nf_hash_settle(nf_statcache *sc, int64_t wait_ms)
{
	struct nf_racy_list *l = sc ? sc->racy : NULL, due;
	struct timespec now;
	int64_t coarse;
	size_t put = 0, kept = 0;

	if (!l || !l->n)
		return 0;
	if (wait_ms > 0)
		racy_wait(l, wait_ms);
	coarse = nf_coarse_now_ns();
	clock_gettime(CLOCK_REALTIME, &now);
	/* The list is taken whole: a file still racy when hashed again is noted anew. */
	due = *l;
	memset(l, 0, sizeof(*l));
	if (sc->begin)
		sc->begin(sc);
	for (size_t i = 0; i < due.n; i++) {
		if (!racy_due(&due.v[i], coarse, nf_ts_ns(&now))) {
			due.v[kept++] = due.v[i];   /* its tick is not past: later */
			continue;
		}
		put += racy_settle(sc, &due.v[i]);
		free(due.v[i].path);
	}
	if (sc->end)
		sc->end(sc);
	for (size_t i = 0; i < kept; i++)
		if (l->n < NF_RACY_MAX)
			NF_PUSH(l->v, l->n, l->cap, due.v[i]);
		else
			free(due.v[i].path);
	free(due.v);
	return put;
}

void
nf_hash_racy_free(nf_statcache *sc)
{
	if (!sc || !sc->racy)
		return;
	for (size_t i = 0; i < sc->racy->n; i++)
		free(sc->racy->v[i].path);
	free(sc->racy->v);
	free(sc->racy);
	sc->racy = NULL;
}

int
nf_hash_file(char out[65], const char *abs_path, nf_statcache *db)
{
	return nf_hash_file_vouched(out, abs_path, db, NULL, NULL);
}

int
nf_hash_file_vouched(char out[65], const char *abs_path, nf_statcache *db, bool *vouched, struct stat *opened)
{
	struct stat st, before;
	int fd = -1, err = 0;

	if (stat(abs_path, &st) < 0)
		return nf_error_set_errno(errno == ENOENT || errno == ENOTDIR ? NF_ENOTFOUND : NF_EIO,
					  "cannot stat '%s'", abs_path);
	if (!S_ISREG(st.st_mode))
		return nf_error_set(NF_EINVALID, "cannot hash '%s': not a regular file", abs_path);
	/* Not blocking, and checked again once open: a FIFO put in its place after the stat
	 * would otherwise hold the open until something writes to it. */
	if ((fd = open(abs_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO,
					  "cannot open '%s'", abs_path);
	if (fstat(fd, &before) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs_path);
	else if (!S_ISREG(before.st_mode))
		err = nf_error_set(NF_EINVALID, "cannot hash '%s': not a regular file", abs_path);
	else if ((err = hash_open_v(out, fd, &before, abs_path, db, vouched)) == 0 && opened)
		*opened = before;
	close(fd);
	return err;
}

int
nf_hash_at(char out[65], int dirfd, const char *name, const char *path, nf_statcache *db)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a FIFO put there must not hang the run; a file reads the same. */
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ELOOP)
			return nf_error_set(NF_EINVALID, "cannot hash '%s': it is a symbolic link", path);
		return nf_error_set_errno(errno == ENOENT || errno == ENOTDIR ? NF_ENOTFOUND : NF_EIO,
					  "cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", path);
	else if (!S_ISREG(st.st_mode))
		err = nf_error_set(NF_EINVALID, "cannot hash '%s': not a regular file", path);
	else
		err = hash_open(out, fd, &st, path, db);
	close(fd);
	return err;
}
