/* cache-internal.h: what the files of src/cache share and nobody else sees: streamed
 * SHA-256 and the folder manifest used both by content identities and by the object store. */
#ifndef NTFLOW_CACHE_INTERNAL_H
#define NTFLOW_CACHE_INTERNAL_H

#include <stdint.h>
#include <sys/stat.h>
#include "ntflow/cache.h"

/* Files are read in blocks of this size, so a 1 GB data file never sits in memory. */
#define NF_HASH_BLOCK (64 * 1024)

/* Lowercase hex of a SHA-256 digest (32 bytes -> 64 chars + NUL). */
void nf_sha256_hex(char out[65], const unsigned char md[32]);
/* SHA-256 of a buffer. */
void nf_sha256_buf(char out[65], const void *p, size_t n);
/* SHA-256 of what remains to be read from fd; what names the file in error messages. */
int nf_sha256_fd(char out[65], int fd, const char *what);
/* The process's NF_HASH_BLOCK buffer for reading files to hash; valid until the next call of a
 * function of src/cache that hashes a file. */
unsigned char *nf_hash_block(void);
/* How long after its last change (st: its stat) a file's stat data cannot be trusted to
 * tell a later change ("racy git"): 100 ms on a filesystem with fine times, else 2 s. */
int64_t nf_racy_ns(const struct stat *st);
/* The coarse clock the kernel stamps files with (CLOCK_REALTIME_COARSE), in ns. */
int64_t nf_coarse_now_ns(void);
/* Whether the filesystem of fd stamps its files with this machine's clock (a local one). */
bool nf_local_clock_fs(int fd);
/* A time in ns since the epoch. */
int64_t nf_ts_ns(const struct timespec *ts);
/* Whether a and b show the same file unchanged: size, inode, device, mtime and ctime. */
bool nf_same_stat(const struct stat *a, const struct stat *b);
/* Whether a file's stat st, taken when its read had begun at the coarse clock began_ns
 * (nf_coarse_now_ns, read before the read), will show any later change of its content: at
 * once when its mtime and ctime differ (a write sets both to one time); else, on a local
 * filesystem with fine times, once its last change lies before the tick it was read in;
 * elsewhere nf_racy_ns after its last change (now_ns: the time now). */
bool nf_stat_settled(const struct stat *st, bool local_clock, int64_t began_ns, int64_t now_ns);
/* Records sha as the hash of path in sc (NULL: none) when the file, open as fd, kept its
 * stat while it was read (before, after) and is settled (the read began at began_ns). */
void nf_hash_remember(nf_statcache *sc, const char *path, int fd, const struct stat *before, const struct stat *after,
		      int64_t began_ns, const char *sha);
/* True when s is exactly 64 lowercase hex digits. */
bool nf_is_sha256_hex(const char *s);

/* Manifest modes: the ones git uses, so the text reads like `git ls-tree`. */
#define NF_MODE_FILE 0100644u
#define NF_MODE_EXEC 0100755u
#define NF_MODE_LINK 0120000u
#define NF_MODE_DIR  0040000u

/* One line of a folder manifest: a file, an executable, a symlink (sha256 and size are
 * those of the link's target text) or an empty folder (no sha256, size 0). */
typedef struct nf_manifest_entry {
	char *path;          /* relative, '/'-separated, no "." or ".." components */
	unsigned mode;       /* NF_MODE_FILE, _EXEC (the owner may execute it), _LINK or _DIR */
	int perm;            /* a file's permission bits (0777), or -1: not recorded (version 1) */
	uint64_t size;
	char sha256[65];     /* "" for an empty folder */
} nf_manifest_entry;

typedef struct nf_manifest {
	nf_manifest_entry *entries;
	size_t n, cap;
} nf_manifest;

/* The manifest formats: 1 records only a file's executable bit (git's modes); 2 its
 * permission bits exactly. Content identities of inputs use 1, the object store 2. */
#define NF_MANIFEST_V1 1
#define NF_MANIFEST_V2 2

/* What a scan does with what it finds. file fills sha for the regular file name in the
 * folder dirfd (st from fstatat, not following links; path names it in messages and the
 * stat cache); link, when set, is given each symbolic link's target text and its SHA-256. */
typedef struct nf_manifest_ops {
	int (*file)(void *ctx, char sha[65], int dirfd, const char *name, const char *path, const struct stat *st);
	int (*link)(void *ctx, const char *sha, const char *target, size_t len);
	void *ctx;
} nf_manifest_ops;

/* Lists the open folder dirfd (path names it) recursively, sorted by path, never following
 * a symbolic link: each folder is opened with O_NOFOLLOW from its parent's descriptor, each
 * link recorded as a link. Entries named in skip (NULL-terminated, may be NULL) are left
 * out at every depth. Anything else than a file, folder or link (a FIFO, a socket, a
 * device) is refused with NF_EINVALID. dirfd stays open. */
int nf_manifest_scan_at(nf_manifest *m, int dirfd, const char *path, const char *const *skip,
			const nf_manifest_ops *ops);
/* The canonical text of m in the given format version (see manifest.c). */
void nf_manifest_format(nf_buf *out, const nf_manifest *m, int version);
/* Parses the canonical text of either version; NF_ECORRUPT when it is not one. */
int nf_manifest_parse(nf_manifest *m, const char *text, size_t len);
void nf_manifest_release(nf_manifest *m);

/* hash.c: SHA-256 of the regular file name in the folder dirfd, opened without following a
 * link (NF_EINVALID for one, or for anything not a regular file), through the stat cache of
 * sc under the key path when sc is set. */
int nf_hash_at(char out[65], int dirfd, const char *name, const char *path, nf_statcache *sc);

/* The hash the stat cache sc holds for the regular file path whose lstat is st, without
 * opening it: true (out filled) when its row matches st's size, mtime, inode and ctime. */
bool nf_hash_cached(nf_statcache *sc, const char *path, const struct stat *st, char out[65]);
/* The stat cache's key of a stat (size, mtime, inode, ctime), and whether st still has it. */
void nf_stat_key(nf_statkey *k, const struct stat *st);
bool nf_statkey_is(const nf_statkey *k, const struct stat *st);
/* nf_hash_file, saying whether the stat cache answered (*vouched) and the stat of the file
 * as opened (*opened), each when given. */
int nf_hash_file_vouched(char out[65], const char *abs_path, nf_statcache *db, bool *vouched,
			 struct stat *opened);
/* Whether the file system holding path keeps times this machine's kernel stamps and
 * attributes a stat of the path reads fresh (a local disk or memory: see settled.c), not a
 * network one, whose client may answer a stat from attributes it cached. */
bool nf_local_fs_path(const char *path);

/* objstore.c, for gc.c: the objects folder, and a folder digest's manifest, read and
 * checked against its name (NF_ENOTFOUND, NF_ECORRUPT). */
const char *nf_objstore__objects(const nf_objstore *s);
int nf_objstore__manifest(const nf_objstore *s, const char *sha, nf_manifest *m);

#endif
