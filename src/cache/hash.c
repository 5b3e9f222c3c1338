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

static void
stat_key(nf_statkey *k, const struct stat *st)
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
	nf_statkey want, got;

	stat_key(&want, st);
	if (!sc->get(sc, path, &got, out))
		return false;
	return got.size == want.size && got.mtime_ns == want.mtime_ns && got.inode == want.inode &&
	       got.ctime_ns == want.ctime_ns && nf_is_sha256_hex(out);
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

	stat_key(&k, st);
	sc->put(sc, path, &k, sha);
}

/* Hashes the open file fd (st: its stat before reading), through the cache of db under key. */
static int
hash_open(char out[65], int fd, const struct stat *st, const char *key, nf_statcache *db)
{
	struct stat after;
	int64_t began;
	int err;

	if (db && cache_lookup(db, key, st, out))
		return 0;
	began = nf_coarse_now_ns();
	if ((err = nf_sha256_fd(out, fd, key)) < 0)
		return err;
	if (fstat(fd, &after) < 0)
		return nf_error_set_errno(NF_EIO, "cannot stat '%s'", key);
	nf_hash_remember(db, key, fd, st, &after, began, out);
	return 0;
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
}

int
nf_hash_file(char out[65], const char *abs_path, nf_statcache *db)
{
	struct stat st, before;
	int fd = -1, err = 0;

	if (stat(abs_path, &st) < 0)
		return nf_error_set_errno(errno == ENOENT || errno == ENOTDIR ? NF_ENOTFOUND : NF_EIO,
					  "cannot stat '%s'", abs_path);
	if (!S_ISREG(st.st_mode))
		return nf_error_set(NF_EINVALID, "cannot hash '%s': not a regular file", abs_path);
	if ((fd = open(abs_path, O_RDONLY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO,
					  "cannot open '%s'", abs_path);
	if (fstat(fd, &before) < 0)
		err = nf_error_set_errno(NF_EIO, "cannot stat '%s'", abs_path);
	else
		err = hash_open(out, fd, &before, abs_path, db);
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
