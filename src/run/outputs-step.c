/* outputs-step.c: a node's declared outputs around each attempt. Before it, those that
 * exist are moved aside to .ntflow/trash/RUN/STAGE[@ID].ATTEMPT.N (aside.c); after it,
 * each must exist again, written by the attempt, or the attempt fails naming it. A
 * successful attempt drops what was moved; any other end (failed, timed out, cancelled,
 * not started) puts it back, so a failed retry never destroys the last good output and a
 * stale one is never taken for new. A run that crashed left its trash behind: the next
 * run puts it back first. */
#include "config.h"
#include "run-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aside.h"

int
nf_run__stage_error(int err, const nf_node *node)
{
	char *msg = xstrdup(nf_error_last());

	err = nf_error_set(err, "%s \"%s\": %s", nf_stage_kind_name(node->stage->kind), node->name, msg);
	free(msg);
	return err;
}

/* Whether the normalized path m lies in, or holds, one of node's declared outputs. */
static bool
overlaps_outputs(run_ctx *ctx, const nf_node *node, const char *m)
{
	nf_buf b = NF_BUF_INIT;
	bool hit = false;

	for (size_t i = 0; i < node->stage->noutputs && !hit; i++) {
		char *o = NULL;

		if (nf_run__expand_buf(&b, ctx, node, &node->stage->outputs[i]) == 0 &&
		    nf_path_normalize(&o, nf_buf_cstr(&b), "output") == 0)
			hit = nf_path_holds(o, m) || nf_path_holds(m, o);
		free(o);
	}
	nf_buf_release(&b);
	nf_error_clear();
	return hit;
}

/* The nodes declaring a path of the index: at it (exact), or beneath it (within); each a
 * node id, OWNER_NONE or OWNER_SEVERAL. */
typedef struct out_owners {
	int64_t exact, within;
} out_owners;
#define OWNER_NONE (-1)
#define OWNER_SEVERAL (-2)

static void
own(int64_t *owner, size_t node)
{
	if (*owner == OWNER_NONE)
		*owner = (int64_t)node;
	else if (*owner != (int64_t)node)
		*owner = OWNER_SEVERAL;
}

/* The owners of path in the index, entered when missing. */
static out_owners *
index_entry(run_ctx *ctx, const char *path)
{
	out_owners *e = nf_strmap_get(ctx->out_index, path);

	if (!e) {
		e = nf_arena_alloc(ctx->out_index_arena, sizeof(*e));
		e->exact = e->within = OWNER_NONE;
		nf_strmap_put(ctx->out_index, nf_arena_strdup(ctx->out_index_arena, path), e);
	}
	return e;
}

/* Every node's declared outputs, each under its path and its folders' (within), once: the
 * question below was asked of every node of the graph at every attempt of every stage
 * with a metrics file, O(nodes²) expansions in a large pipeline of monitors. */
static void
outputs_index(run_ctx *ctx)
{
	nf_buf b = NF_BUF_INIT;
	size_t late_cap = 0;

	ctx->out_index = nf_strmap_new(ctx->graph->nnodes);
	ctx->out_index_arena = nf_arena_new();
	for (size_t i = 0; i < ctx->graph->nnodes; i++) {
		const nf_node *node = &ctx->graph->nodes[i];
		bool late = false;

		for (size_t k = 0; k < node->stage->noutputs; k++) {
			char *o = NULL, *slash;

			if (nf_run__late_ref(&node->stage->outputs[k])) {
				late = true;
				continue;
			}
			if (nf_run__expand_buf(&b, ctx, node, &node->stage->outputs[k]) < 0 ||
			    nf_path_normalize(&o, nf_buf_cstr(&b), "output") < 0)
				continue;   /* as overlaps_outputs: no path, no overlap */
			own(&index_entry(ctx, o)->exact, i);
			while ((slash = strrchr(o, '/'))) {
				*slash = '\0';
				own(&index_entry(ctx, o)->within, i);
			}
			free(o);
		}
		if (late)
			NF_PUSH(ctx->out_late, ctx->nout_late, late_cap, (uint32_t)i);
	}
	nf_buf_release(&b);
	nf_error_clear();
}

/* Whether owner names a node other than self. */
static bool
other(int64_t owner, size_t self)
{
	return owner == OWNER_SEVERAL || (owner >= 0 && owner != (int64_t)self);
}

/* Whether a node other than self declares an output that the normalized path m lies in,
 * or that lies in m (overlaps_outputs for every other node, through the index). */
static bool
others_overlap(run_ctx *ctx, const nf_node *self, const char *m)
{
	char *p = xstrdup(m), *slash;
	const out_owners *e;
	bool theirs = false;

	if (!ctx->out_index)
		outputs_index(ctx);
	if ((e = nf_strmap_get(ctx->out_index, m)) && other(e->within, self->id))
		theirs = true;   /* an output beneath m */
	/* m itself or a folder holding it declared */
	for (bool more = true; more && !theirs;) {
		if ((e = nf_strmap_get(ctx->out_index, p)) && other(e->exact, self->id))
			theirs = true;
		if ((more = (slash = strrchr(p, '/')) != NULL))
			*slash = '\0';
	}
	free(p);
	for (size_t i = 0; i < ctx->nout_late && !theirs; i++)
		if (ctx->out_late[i] != self->id)
			theirs = overlaps_outputs(ctx, &ctx->graph->nodes[ctx->out_late[i]], m);
	return theirs;
}

/* The metrics file counts as an output when it is in the workspace and in no declared
 * output: a monitor's product is its metrics, and reading last week's file would raise
 * last week's alerts. Not when another node declares it (or a folder holding it) as its
 * output: then it is that node's product, read here. */
const char *
nf_run__metrics_output(run_ctx *ctx, const nf_node *node)
{
	char *path = NULL, *norm = NULL;
	bool theirs;

	if (!nf_more(node->stage)->metrics || nf_run__expand(&path, ctx, node, nf_more(node->stage)->metrics) < 0 ||
	    nf_path_normalize(&norm, path, "metrics file") < 0) {
		nf_error_clear();
		return NULL;   /* outside the workspace: not ours to move */
	}
	if (overlaps_outputs(ctx, node, norm)) {
		free(norm);
		return NULL;   /* moved with the output holding it */
	}
	theirs = others_overlap(ctx, node, norm);
	free(norm);
	return theirs ? NULL : path;
}

int
nf_run__outputs_aside(run_ctx *ctx, const nf_node *node, int attempt)
{
	const nf_stage *st = node->stage;
	const char **paths = xcalloc(st->noutputs + 2, sizeof(*paths));
	nf_aside_moves moves;
	nf_run_flight *fl;
	size_t n = 0, owned;
	char *stem = NULL;
	nf_buf b = NF_BUF_INIT;
	int err = 0;

	/* Expanded apart, not in the run's arena, and freed here: the moves keep no path, and
	 * 100 000 stages would keep 1 MB of them to the run's end. */
	for (size_t i = 0; i < st->noutputs; i++) {
		/* persist: the command builds on what is there (a checkpoint, a state folder) */
		if (nf_stage_output_in(st, i, nf_more(st)->persist, nf_more(st)->npersist))
			continue;
		if ((err = nf_run__expand_buf(&b, ctx, node, &st->outputs[i])) < 0)
			break;
		paths[n++] = nf_buf_detach(&b);
	}
	owned = n;
	if (err < 0)
		goto done;
	if ((paths[n] = nf_run__metrics_output(ctx, node)) != NULL)
		n++;
	if (n == 0)
		goto done;
	stem = xasprintf("%s/%lld/%s%s%s.%d", ctx->trash, (long long)ctx->run_id, st->name,
			 nf_node_instance(node) ? "@" : "", nf_node_instance(node) ? nf_node_instance(node) : "", attempt);
	if ((err = nf_aside_begin_at(&moves, stem, nf_run__root_fd(ctx), ctx->root, paths, n, ctx->state_dir)) < 0) {
		err = nf_run__stage_error(err, node);
		goto done;
	}
	if (moves.moved == 0)
		goto done;   /* nothing there before: nothing to put back */
	fl = nf_run__flight(ctx, node->id);
	free(fl->aside.stem);
	fl->aside.stem = stem;
	fl->aside.moves = moves;
	stem = NULL;
done:
	free(stem);
	for (size_t i = 0; i < owned; i++)
		free((char *)paths[i]);
	free(paths);
	nf_buf_release(&b);
	return err;
}

int
nf_run__outputs_check(run_ctx *ctx, const nf_node *node)
{
	const nf_stage *st = node->stage;
	const char *kind = nf_stage_kind_name(st->kind);
	nf_buf ob = NF_BUF_INIT;
	int err = 0;

	for (size_t i = 0; i < st->noutputs && err == 0; i++) {
		char *norm = NULL;
		const char *name, *out;
		struct stat sb;
		size_t len;
		int dirfd = -1;

		if ((err = nf_run__expand_buf(&ob, ctx, node, &st->outputs[i])) < 0)
			break;
		out = nf_buf_cstr(&ob);
		len = strlen(out);
		/* Looked at without following a link, on the way or at the end: what the cache
		 * stores and restores is the output itself, in the project. */
		if ((err = nf_run__output_open(ctx, out, &norm, &dirfd, &name)) == 0)
			err = nf_path_stat_at(dirfd, name, "output", out, &sb);
		if (err == NF_ENOTFOUND)
			err = nf_error_set(NF_EINVALID, "%s \"%s\" did not write its output '%s'", kind, node->name, out);
		else if (err < 0)
			err = nf_run__stage_error(err, node);
		else if (len && out[len - 1] == '/' && !S_ISDIR(sb.st_mode))
			err = nf_error_set(NF_EINVALID, "%s \"%s\": declared output '%s' is not a folder", kind, node->name, out);
		nf_run__output_close(ctx, dirfd);
		free(norm);
	}
	nf_buf_release(&ob);
	return err;
}

static void
warn(run_ctx *ctx, const char *fmt, const char *a, const char *b)
{
	char *msg;

	if (!ctx->req->on_warning)
		return;
	msg = xasprintf(fmt, a, b);
	ctx->req->on_warning(ctx->req->ctx, msg);
	free(msg);
}

void
nf_run__outputs_settle(run_ctx *ctx, const nf_node *node, bool succeeded)
{
	nf_run_flight *fl = ctx->nodes[node->id].flight;
	char *stem = fl ? fl->aside.stem : NULL;
	nf_aside_moves moves;

	if (!stem)
		return;
	moves = fl->aside.moves;
	fl->aside.stem = NULL;
	if (succeeded ? nf_aside_drop(stem, &moves) < 0 : nf_aside_restore(stem) < 0) {
		/* What could not be put back stays in the trash; the next run tries again. */
		if (succeeded)
			warn(ctx, "%s: %s", node->name, nf_error_last());
		else
			warn(ctx, "%s: its earlier outputs could not all be put back: %s", node->name, nf_error_last());
	}
	free(stem);
}

void
nf_run__outputs_settle_all(run_ctx *ctx)
{
	for (size_t i = 0; ctx->nodes && i < ctx->total; i++)
		if (ctx->nodes[i].flight && ctx->nodes[i].flight->aside.stem)
			nf_run__outputs_settle(ctx, &ctx->graph->nodes[i], false);
	nf_strmap_free(ctx->out_index);
	nf_arena_free(ctx->out_index_arena);
	free(ctx->out_late);
	ctx->out_index = NULL;
	ctx->out_index_arena = NULL;
	ctx->out_late = NULL;
	ctx->nout_late = 0;
	if (ctx->trash && ctx->run_id > 0) {
		char *rdir = xasprintf("%s/%lld", ctx->trash, (long long)ctx->run_id);

		(void)rmdir(rdir);
		free(rdir);
		(void)rmdir(ctx->trash);
	}
}

static bool
run_live(void *vctx, int64_t run)
{
	run_ctx *ctx = vctx;
	nf_run_info info;
	bool live;

	memset(&info, 0, sizeof(info));
	live = nf_store_run_get(ctx->store, run, &info) == 0 && info.status == NF_RUN_RUNNING;
	nf_run_info_release(&info);
	nf_error_clear();
	return live;
}

static void
report(void *vctx, const char *line)
{
	run_ctx *ctx = vctx;

	if (ctx->req->on_warning)
		ctx->req->on_warning(ctx->req->ctx, line);
}

void
nf_run__outputs_recover(run_ctx *ctx)
{
	/* A failure to put something back is reported and left for the next run. */
	(void)nf_aside_recover(ctx->trash, run_live, report, ctx);
	nf_error_clear();
}
