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
/* Creates the statcache table if missing (see hash.c). */
int nf_statcache_init(sqlite3 *db);
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
	unsigned mode;
	uint64_t size;
	char sha256[65];     /* "" for an empty folder */
} nf_manifest_entry;

typedef struct nf_manifest {
	nf_manifest_entry *entries;
	size_t n, cap;
} nf_manifest;

/* Called for each regular file (st from lstat) to fill sha256; the object store stores the
 * file here, a content identity only hashes it. */
typedef int (*nf_manifest_hash_fn)(void *ctx, char sha256[65], const char *abs_path,
				   const struct stat *st);

/* Lists the folder abs_dir recursively (not following symlinks), sorted by path. Entries
 * named in skip (NULL-terminated, may be NULL) are left out at every depth. Symlink targets
 * are hashed here; hash_file hashes regular files. Anything else (a FIFO, a socket, a
 * device) is refused with NF_EINVALID. */
int nf_manifest_scan(nf_manifest *m, const char *abs_dir, const char *const *skip,
		     nf_manifest_hash_fn hash_file, void *ctx);
/* The canonical text of m (see hash.c for the format). */
void nf_manifest_format(nf_buf *out, const nf_manifest *m);
/* Parses the canonical text; NF_ECORRUPT when it is not one. */
int nf_manifest_parse(nf_manifest *m, const char *text, size_t len);
void nf_manifest_release(nf_manifest *m);

/* objstore.c, for gc.c: the objects folder, and a folder digest's manifest, read and
 * checked against its name (NF_ENOTFOUND, NF_ECORRUPT). */
const char *nf_objstore__objects(const nf_objstore *s);
int nf_objstore__manifest(const nf_objstore *s, const char *sha, nf_manifest *m);

#endif
