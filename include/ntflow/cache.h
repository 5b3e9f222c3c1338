/* cache.h: what makes a rerun do only what changed: the git identity of a stage's inputs
 * (libgit2), content hashes of files git does not track (behind a stat cache), and the
 * content-addressed store of stage outputs under .ntflow/cache/objects/. */
#ifndef NTFLOW_CACHE_H
#define NTFLOW_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "ntflow/util.h"

/* A record of files' content hashes keyed on their stat data, so an unchanged big file is
 * read once (the store keeps one in its database: nf_store_statcache). A row is trusted
 * only when size, mtime, inode and ctime all match (hash.c decides). Best effort: a failed
 * lookup is a miss, a failed put costs a re-read next time. */
typedef struct nf_statkey {
	int64_t size, mtime_ns, inode, ctime_ns;
} nf_statkey;
typedef struct nf_statcache nf_statcache;
struct nf_statcache {
	/* The row of path: true with its stat data and hash (64 hex + NUL) when there is one. */
	bool (*get)(nf_statcache *sc, const char *path, nf_statkey *key, char sha[65]);
	void (*put)(nf_statcache *sc, const char *path, const nf_statkey *key, const char *sha);
	/* Around the puts of one folder: one transaction instead of one per file. */
	void (*begin)(nf_statcache *sc);
	void (*end)(nf_statcache *sc);
	/* The files hashed through it while racy (hash.c): NULL in a new one, kept by the
	 * cache module, freed by nf_hash_racy_free. */
	struct nf_racy_list *racy;
};

/* A file hashed in the clock tick it last changed in cannot be vouched for by its stat
 * then ("racy git"), so its hash is not put: an output hashed as its stage ends is such a
 * file nine times in ten, and the next run would read it again. The cache module notes
 * these files on sc; nf_hash_settle hashes again those whose tick is past and whose stat
 * has not changed, and puts what it finds (reading them again is what makes it safe: a
 * write in the same tick after the first read may have left the stat as it was). Call it
 * before a commit; it returns how many it put. With wait_ms, it first waits up to that
 * long for the last tick noted to pass (the end of a run: a clock tick is at most 10 ms).
 * Up to NF_RACY_MAX files wait, the others are read again next time. */
#define NF_RACY_MAX 65536
size_t nf_hash_settle(nf_statcache *sc, int64_t wait_ms);
void nf_hash_racy_free(nf_statcache *sc);

/* How a path's identity was obtained. */
typedef enum {
	NF_ID_CLEAN,     /* tracked and unmodified: the blob or tree OID in HEAD's tree */
	NF_ID_DIRTY,     /* modified, staged or untracked: the OID of the working-tree content */
	NF_ID_CONTENT,   /* ignored by git or outside any repository: SHA-256 of the content */
	NF_ID_MISSING,   /* does not exist */
} nf_id_kind;

typedef struct nf_path_id {
	nf_id_kind kind;
	/* "blob:<40 hex>", "tree:<40 hex>", "sha256:<64 hex>" (for a folder outside git: the
	 * SHA-256 of its manifest), or "missing". */
	char id[80];
} nf_path_id;

typedef struct nf_gitrepo nf_gitrepo;

/* Opens the repository whose work tree is root (or holds it). statcache, when not NULL,
 * is where content hashes are cached, keyed on (path, size, mtime_ns, inode, ctime_ns). With no repository at all *out is still set:
 * every path is then content-hashed and head is NULL. */
int nf_gitrepo_open(nf_gitrepo **out, const char *root, nf_statcache *statcache);
void nf_gitrepo_free(nf_gitrepo *r);
bool nf_gitrepo_present(const nf_gitrepo *r);
/* HEAD's full OID in hex, or NULL (no repository, or no commit yet). Borrowed. */
const char *nf_gitrepo_head(const nf_gitrepo *r);
/* The current branch name ("main"), or NULL when detached or no repository. Borrowed. */
const char *nf_gitrepo_branch(const nf_gitrepo *r);

/* The identity of relpath (relative to the work tree root; a trailing '/' allowed).
 * A clean tracked folder costs one tree lookup; the index's stat data is used so that a
 * clean file's content is not read. Uses a status snapshot taken at open (refresh with
 * nf_gitrepo_refresh after stages changed the tree). */
int nf_gitrepo_identify(nf_gitrepo *r, const char *relpath, nf_path_id *out);
/* The same for a folder, with the paths except[0..n) (relative to the root, normalized)
 * left out of its tree, as if git ignored them, and not counted as dirty: what an upstream
 * stage writes into a folder another reads whole, which its output digest covers (the
 * snapshot taken at open knows nothing of what it wrote since). */
int nf_gitrepo_identify_except(nf_gitrepo *r, const char *relpath, const char *const *except, size_t n,
			       nf_path_id *out);
/* Takes a new status snapshot (the working tree changed). */
int nf_gitrepo_refresh(nf_gitrepo *r);
/* on: the identities of folders are kept, and a folder named again (with the same paths
 * left out) is answered without reading it, until off: for while the caller knows nothing
 * writes the work tree (a run before any stage has run or any output was restored). Off
 * (the default) forgets them. */
void nf_gitrepo_memo(nf_gitrepo *r, bool on);
/* Modified, staged or untracked paths under the given inputs seen so far ("dirty paths"),
 * NULL-terminated, borrowed. */
const char *const *nf_gitrepo_dirty_paths(const nf_gitrepo *r);

/* Checks rev (a commit, branch or tag) of the repository holding repo_root out into dir,
 * leaving the repository's index and HEAD alone; *oid_hex receives the commit. */
int nf_git_checkout_to(char oid_hex[41], const char *repo_root, const char *rev, const char *dir);
/* Identities for a checkout of commit oid_hex made by nf_git_checkout_to: every path of the
 * commit's tree is clean with its blob or tree OID there, as in a run at that commit. */
int nf_gitrepo_open_at(nf_gitrepo **out, const char *repo_root, const char *checkout,
		       const char *oid_hex, nf_statcache *statcache);

/* SHA-256 of a file's content in hex (64 chars + NUL), through the stat cache when set. */
int nf_hash_file(char out[65], const char *abs_path, nf_statcache *statcache);

/* The content-addressed object store. */
typedef struct nf_objstore nf_objstore;
int nf_objstore_open(nf_objstore **out, const char *cache_dir);
/* Lets restore compare big workspace files through the stat cache sc (see nf_hash_file)
 * instead of reading them. sc must outlive s; NULL turns it off. */
void nf_objstore_set_statcache(nf_objstore *s, nf_statcache *sc);
void nf_objstore_free(nf_objstore *s);
/* Calls fn(ctx, sha256) each time a put wrote again an object that was stored but corrupt
 * (its content no longer matched its name): a stage that reproduced it repairs the store. */
void nf_objstore_on_repair(nf_objstore *s, void (*fn)(void *ctx, const char *sha256), void *ctx);
/* Stores a file, or a folder recursively (each file an object, plus a manifest object
 * listing relative path, mode, size and SHA-256, sorted by path). *digest is
 * "file:<sha256>" or "dir:<sha256 of the manifest>". Writes go to a temporary name and
 * are renamed into place, so a crash never leaves an object that looks complete. An object
 * already stored is re-hashed, and written again when it is corrupt (see on_repair).
 * The path is name in the open folder dirfd (or AT_FDCWD and a path), path names it in
 * messages and the stat cache; it is not followed when it is a symbolic link (NF_EINVALID:
 * "output '...' is a symbolic link; ntflow does not follow links in outputs"), nor is any
 * link below it (stored as a link). *perm (may be NULL) gets a file's permission bits
 * (-1 for a folder, whose manifest holds its files' bits). */
int nf_objstore_put_at(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80], int *perm);
/* The digest it would have, without storing anything. */
int nf_objstore_digest_at(nf_objstore *s, int dirfd, const char *name, const char *path, char digest[80]);
/* Makes name in dirfd equal to digest's content, touching only what differs (a stat check
 * first, then reflinks where the filesystem has them, else copies; never hard links, which
 * a stage rewriting its output in place would corrupt). A file gets the permission bits
 * perm (-1: those of the file it replaces, else the umask's default); files in a folder get
 * those their manifest records. Never writes through a link: a link where the output should
 * be is refused (NF_EINVALID), files are created beside their place with O_EXCL |
 * O_NOFOLLOW and renamed there. *restored counts the files written. */
int nf_objstore_restore_at(nf_objstore *s, const char *digest, int perm, int dirfd, const char *name,
			   const char *path, size_t *restored);
/* What a store did, for tests and benchmarks: objects written and those found already
 * stored (no write), objects renamed into place and not yet synced, syncs of a batch and
 * the fsync and syncfs calls they made. */
typedef struct nf_objstore_stats {
	uint64_t written, skipped, pending, syncs, fsyncs, syncfs;
	uint64_t verified;   /* stored objects a put re-hashed (not trusted by their stat) */
} nf_objstore_stats;
void nf_objstore_get_stats(const nf_objstore *s, nf_objstore_stats *out);
/* With defer, puts leave what they wrote pending and the caller calls nf_objstore_sync
 * before it commits anything that names those objects (the run: before each commit of its
 * batch); without (the default), each put syncs before it returns. */
void nf_objstore_defer_sync(nf_objstore *s, bool defer);
/* Makes every pending object durable, once for the whole batch: with one syncfs of their
 * file system (Linux; a batch of two objects or more and at most 64 MB), else each fsync'ed,
 * then each folder that received one (and objects/ when a fan-out folder was made). On
 * failure the objects stay pending and the error is returned (NF_EIO). */
int nf_objstore_sync(nf_objstore *s);
/* True when the file path, whose lstat is st, already is what restoring the file digest with
 * perm (-1: any) would make it, known from the stat cache alone (its row matches st's size,
 * mtime, inode and ctime): the cached path's check, with no further stat and nothing read.
 * False means "not known": restore then decides. */
struct stat;
bool nf_objstore_matches(const nf_objstore *s, const char *digest, int perm, const char *path,
			 const struct stat *st);
/* The same three for an absolute path (the folders on the way trusted and followed; restore
 * makes missing ones), e.g. the registry's copies in the state directory. */
int nf_objstore_put(nf_objstore *s, const char *abs_path, char digest[80]);
int nf_objstore_digest(nf_objstore *s, const char *abs_path, char digest[80]);
int nf_objstore_restore(nf_objstore *s, const char *digest, const char *abs_path, size_t *restored);
/* True when every object digest needs is present (and, with deep, re-hashes them). */
bool nf_objstore_has(nf_objstore *s, const char *digest, bool deep);
/* Re-hashes every object; calls bad for each corrupt one (and removes it). Returns the
 * number checked or a negative error. */
int64_t nf_objstore_verify(nf_objstore *s, void (*bad)(void *ctx, const char *sha256), void *ctx);
/* Total bytes of the objects reachable from digest (for gc). */
int nf_objstore_size(nf_objstore *s, const char *digest, uint64_t *bytes);

/* Garbage collection (gc.c): mark the objects the remaining cache entries use, then sweep
 * the rest. */
typedef struct nf_objstore_marks nf_objstore_marks;
nf_objstore_marks *nf_objstore_marks_new(void);
void nf_objstore_marks_free(nf_objstore_marks *m);
/* Marks digest's objects: a file's, or a folder's manifest and every file and link target
 * it lists. NF_EINVALID (not a digest), NF_ENOTFOUND or NF_ECORRUPT (the manifest cannot be
 * read: only the manifest itself is then marked). */
int nf_objstore_mark(nf_objstore *s, nf_objstore_marks *m, const char *digest);
size_t nf_objstore_marks_count(const nf_objstore_marks *m);
/* Removes every object that is not marked and was last modified before keep_from_ms (real
 * time; objects written since may belong to a run storing its outputs right now), and what
 * killed puts left in objects/tmp before then. Counts what it removed in *objects (objects
 * only) and *bytes. */
int nf_objstore_sweep(nf_objstore *s, const nf_objstore_marks *m, int64_t keep_from_ms,
		      uint64_t *objects, uint64_t *bytes);

#endif
