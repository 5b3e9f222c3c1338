/* aside.h: a stage's declared outputs moved out of the way for one attempt, so that what
 * the attempt leaves behind is what it wrote, and put back when the attempt fails. The
 * state lives on disk in one folder per attempt (a manifest and the moved files), so a
 * crashed run's attempt can be put back by the next run. */
#ifndef NTFLOW_ASIDE_H
#define NTFLOW_ASIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The manifest of an attempt whose outputs are aside, and of one that succeeded. */
#define NF_ASIDE_MANIFEST "manifest.json"
#define NF_ASIDE_DROPPED  "dropped.json"

/* Moves each of paths (relative to root, as declared: "out/b", "build/prep/") that exists
 * out of the way, a folder whole. dir is created (with its parents) and gets the manifest
 * first: every path, and where it went or that it did not exist. Paths go into dir by
 * rename(2); one on another file system than dir goes beside itself instead
 * (".NAME.ntflow-aside"). NF_EINVALID when a path is absolute, climbs out of root or is
 * root itself, or holds keep (the state directory; may be NULL); NF_EIO when a move fails
 * (what was moved is put back first). Nothing is moved on error. */
int nf_aside_begin(const char *dir, const char *root, const char *const *paths, size_t n,
		   const char *keep);
/* The attempt failed or never ended: each path as it was before nf_aside_begin (what the
 * attempt wrote is removed, the moved file or folder put back; a path that did not exist
 * is removed), then dir deleted. A dir with no readable manifest had nothing moved; one
 * marked dropped only has its moved files deleted. Restores what it can when one path
 * fails (NF_EIO, naming it) and then keeps dir for another try. */
int nf_aside_restore(const char *dir);
/* The attempt succeeded: dir is marked dropped (one rename), then deleted with what was
 * moved. NF_EIO when it cannot be marked. */
int nf_aside_drop(const char *dir);

/* A relative path with "." and empty components dropped and ".." applied ("./a//b/../c/"
 * -> "a/c"; caller frees). NF_EINVALID naming it ("output '...' is outside the
 * workspace") when it is absolute, climbs above its start or is the start itself. */
int nf_aside_normalize(char **out, const char *path);
/* True when inner is outer or lies below it (both normalized the same way). */
bool nf_aside_holds(const char *outer, const char *inner);

/* Crash recovery over trash/RUN/ATTEMPT/ folders: every attempt folder of a run for which
 * live(ctx, RUN) is false is restored (or, when dropped, deleted), and report(ctx, line)
 * says what was put back ("run 3 had crashed: b (attempt 1): out/b put back as it was
 * before"). Folders of live runs are left alone. Returns 0, or the first error (the
 * others are still tried). */
int nf_aside_recover(const char *trash, bool (*live)(void *ctx, int64_t run),
		     void (*report)(void *ctx, const char *line), void *ctx);

#endif
