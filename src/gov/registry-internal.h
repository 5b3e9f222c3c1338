/* registry-internal.h: what the gate and registry files of src/gov share: SQLite error
 * mapping, and the artifact files (copy, hash, place in the workspace, remove). */
#ifndef NTFLOW_REGISTRY_INTERNAL_H
#define NTFLOW_REGISTRY_INTERNAL_H

#include <stdint.h>
#include "ntflow/util.h"

typedef struct sqlite3 sqlite3;

/* Sets the message "WHAT: sqlite's message" and returns NF_ELOCKED for a busy database,
 * NF_ECORRUPT for a damaged one, NF_ERROR otherwise. */
int nf_gov__sql_error(sqlite3 *db, int rc, const char *what);

/* An artifact's identity: a file's SHA-256, or for a folder the SHA-256 of its manifest
 * (one line per entry, sorted by path: type, executable bit, size, content hash or link
 * target, path), with the total size of its files. kind is "file" or "dir". */
typedef struct nf_artifact_id {
	char sha256[65];
	int64_t size;
	const char *kind;
} nf_artifact_id;
/* NF_ENOTFOUND when path does not exist; NF_EINVALID for a socket, device or fifo. */
int nf_artifact_hash(nf_artifact_id *out, const char *path);
/* Copies a file or folder (modes kept, symlinks as symlinks) to dst, which must not exist. */
int nf_artifact_copy(const char *src, const char *dst);
/* Removes the temporary copies in dir that processes which died (a crash, a kill) left
 * behind; those of live processes are left alone. */
void nf_artifact_sweep(const char *dir);
/* rm -rf; a missing path is fine. */
int nf_artifact_remove(const char *path);
/* Makes dir hold exactly a copy of src named base: built beside dir under a temporary name,
 * then swapped in with renames, so a reader sees the old or the new content. */
int nf_artifact_place(const char *dir, const char *src, const char *base);

#endif
