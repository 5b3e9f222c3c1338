/* registry-internal.h: what the gate and registry files of src/gov share: the artifact
 * files (copy, hash, place in the workspace, remove). */
#ifndef NTFLOW_REGISTRY_INTERNAL_H
#define NTFLOW_REGISTRY_INTERNAL_H

#include <stdint.h>
#include "ntflow/cache.h"
#include "ntflow/store.h"
#include "ntflow/util.h"

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
/* The same, reading files through the stat cache (see nf_hash_file). */
int nf_artifact_hash_cached(nf_artifact_id *out, const char *path, nf_statcache *statcache);
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
/* The two halves of nf_artifact_place: the copy built beside dir (*staged: its folder, which
 * a process that dies leaves to nf_artifact_sweep), and the swap, which takes no space, so a
 * change recorded between the two cannot be left half done by a full disk. install takes
 * staged (freed, and its folder removed when it fails); dir may differ from the one staged
 * for when both are in the same folder. */
int nf_artifact_stage(char **staged, const char *dir, const char *src, const char *base);
int nf_artifact_install(const char *dir, char *staged);

/* The test-only crash: the process kills itself with SIGKILL when NTFLOW_FAULT names point
 * (a no-op in a build without NF_TEST_HOOKS). The points of a promotion, in order:
 * place-after-copy (the workspace copy built beside its place, nothing recorded yet),
 * registry-after-archive (inside the transaction), registry-after-commit (the database
 * changed, the files not yet), place-after-aside, place-after-swap (inside
 * nf_artifact_install), registry-after-place (before a promoted candidate's copy under
 * candidates/ is removed). */
void nf_gov__crash(const char *point);

/* Shared by registry.c and reconcile.c. */
typedef struct nf_model_version nf_model_version;
/* The workspace folder of a recorded models_dir (absolute, or relative to the parent of the
 * state directory). Caller frees. */
char *nf_registry__models_dir(const char *state_dir, const char *recorded);
/* The base name of v's artifact ("model.json", "model"). Borrowed from v. */
const char *nf_registry__base(const nf_model_version *v);
/* Re-hashes v's registry copy: 0 when it matches; NF_ECORRUPT with the problem otherwise
 * (NF_ENOTFOUND, with the message, when the copy is missing). */
int nf_registry__check_copy(const char *state_dir, const nf_model_version *v);
/* The workspace copy of v: MODELS_DIR/current/MODEL (current) or
 * MODELS_DIR/candidates/MODEL/vN, with the artifact's base name unless folder; *rel as
 * recorded (relative to the workspace), *abs absolute. Caller frees both. */
void nf_registry__workspace_path(char **rel, char **abs, const char *state_dir, const nf_model_version *v,
				 bool current, bool folder);
/* Places v's registry copy at MODELS_DIR/current/MODEL/ (current) or at
 * MODELS_DIR/candidates/MODEL/vN/. */
int nf_registry__place(const char *state_dir, const nf_model_version *v, bool current);
/* Appends to payload's "rows" array (made when missing) the rows of the versions of model
 * (numbers <= 0 are skipped), whole, as registry-chain.c records them: inside the change's
 * transaction, after the change. */
typedef struct cJSON cJSON;
int nf_registry__add_rows(cJSON *payload, nf_store *st, const char *model, const int *versions, size_t n);
/* Marks v corrupt (with an event and an audit record) unless it is already. */
int nf_registry__mark_corrupt(nf_store *st, const nf_model_version *v, const char *problem);

#endif
