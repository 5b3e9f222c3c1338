/* aside.h: a stage's declared outputs moved out of the way for one attempt, so that what
 * the attempt leaves behind is what it wrote, and put back when the attempt fails. An
 * attempt is named by a stem, STATE/trash/RUN/STAGE[@ID].ATTEMPT: its manifest is
 * STEM.json and what it moved STEM.0, STEM.1, ..., so a crashed run's attempts can be put
 * back by the next run. */
#ifndef NTFLOW_ASIDE_H
#define NTFLOW_ASIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What nf_aside_begin moved: how many paths, and how many of those beside themselves. */
typedef struct nf_aside_moves {
	size_t moved;
	size_t beside;
} nf_aside_moves;

/* Moves each of paths (relative to root, as declared: "out/b", "build/prep/") that exists
 * out of the way, a folder whole; a path that does not exist is left alone. When one
 * exists, STEM.json is written first (the folder holding it is created if need be),
 * saying where each goes: STEM.N by rename(2), or beside itself (".NAME.ntflow-aside")
 * when it is on another file system than the stem. When none exists nothing is written.
 * *out (may be NULL) counts the moves. Each path is found beneath root without following a
 * symbolic link (nf_path_parent), and moved by renameat(2) from the folder so found.
 * NF_EINVALID when a path is absolute, climbs out of root or is root itself, holds keep (the
 * state directory; may be NULL), goes through a symbolic link or is one ("output 'o/l' is a
 * symbolic link; ntflow does not follow links in outputs"); NF_EIO when a move fails (what
 * had moved is put back first). Nothing stays moved on error. */
int nf_aside_begin(nf_aside_moves *out, const char *stem, const char *root, const char *const *paths,
		   size_t n, const char *keep);
/* The same with rootfd, root's folder opened by the caller (< 0: opened for each path). */
int nf_aside_begin_at(nf_aside_moves *out, const char *stem, int rootfd, const char *root,
		      const char *const *paths, size_t n, const char *keep);
/* The attempt failed or never ended: each moved path is put back where it was, replacing
 * what the attempt wrote there, and the manifest removed. A path that did not exist before
 * keeps what the attempt wrote (it is moved aside again before the next attempt). Each goes
 * back through folders found beneath the root without following a link: one the attempt
 * left on the way is an error (NF_EINVALID), never written through. No
 * readable manifest: nothing had moved (or the attempt was dropped: the drop is finished).
 * Puts back what it can when one path fails (NF_EIO, naming it) and then keeps the
 * manifest for another try. */
int nf_aside_restore(const char *stem);
/* The attempt succeeded: its manifest is removed (or renamed STEM.dropped when something
 * went beside its output and must be found again after a crash), then what was moved is
 * deleted. moves is what nf_aside_begin said (NULL: unknown; the manifest is read).
 * NF_EIO when it cannot be marked done. */
int nf_aside_drop(const char *stem, const nf_aside_moves *moves);

/* Crash recovery over trash/RUN/: in each run folder for which live(ctx, RUN) is false,
 * every STEM.json is restored and every STEM.dropped finished, report(ctx, line) saying
 * what was put back ("run 3 had crashed: the outputs of b (attempt 1) are back as they
 * were before it"), and what is left (waste of succeeded attempts) deleted. Folders of
 * live runs are left alone. Returns 0, or the first error (the others are still tried; a
 * run with a failure keeps its folder). */
int nf_aside_recover(const char *trash, bool (*live)(void *ctx, int64_t run),
		     void (*report)(void *ctx, const char *line), void *ctx);

#endif
