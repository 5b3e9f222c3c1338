/* plots-step.c: a node's plot blocks recorded with the run once it ended well (ran or was
 * restored from the cache): each file's path and SHA-256, so that `ntflow report` later
 * draws that run's data even after a newer run rewrote the file (the bytes are then found in
 * the object store, where the node's outputs went). */
#include "config.h"
#include "run-internal.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int
nf_run__plots(run_ctx *ctx, const nf_node *node)
{
	const nf_stage *st = node->stage;
	int err = 0;

	for (size_t i = 0; i < nf_more(st)->nplots && err == 0; i++) {
		const nf_plot *pl = &nf_more(st)->plots[i];
		char *path, *norm = NULL, *abs, *real = NULL, sha[65] = "";
		cJSON *y = cJSON_CreateArray();
		nf_plot_row row = { 0 };

		if ((err = nf_run__expand(&path, ctx, node, pl->data ? pl->data : pl->image)) < 0 ||
		    (err = nf_path_normalize(&norm, path, "plot file")) < 0) {
			cJSON_Delete(y);
			return nf_run__stage_error(err, node);
		}
		/* A file the stage did not write is recorded without a digest: the report says
		 * so in place of the plot, and the run goes on (a plot is no output). Nor one that
		 * leads out of the project through a link: its bytes are not the project's to put
		 * in a report (said as a warning). */
		if (nf_path_resolve(&real, NULL, ctx->root, norm, "plot file") < 0) {
			if (ctx->req->on_warning) {
				char *msg = xasprintf("%s: %s; not recorded", node->name, nf_error_last());

				ctx->req->on_warning(ctx->req->ctx, msg);
				free(msg);
			}
			nf_error_clear();
		} else {
			/* The path the check resolved, links followed: not the links again. */
			abs = nf_run__abs(ctx, real);
			if (nf_hash_file(sha, abs, nf_store_statcache(ctx->store)) < 0)
				sha[0] = '\0';
			free(abs);
		}
		free(real);
		real = NULL;
		for (size_t k = 0; k < pl->ny; k++)
			cJSON_AddItemToArray(y, cJSON_CreateString(pl->y[k].name));
		if (pl->template_ == NF_PLOT_ROC && pl->ny == 0)
			cJSON_AddItemToArray(y, cJSON_CreateString("tpr"));
		row.node = (char *)node->name;
		row.name = (char *)pl->name;
		row.idx = (int)i;
		row.kind = pl->data ? "data" : "image";
		row.path = norm;
		row.digest = sha;
		row.template_ = (char *)nf_plot_template_name(pl->template_);
		row.x = (char *)(pl->x ? pl->x : pl->template_ == NF_PLOT_ROC ? "fpr" : "");
		row.y_json = cJSON_PrintUnformatted(y);
		row.title = (char *)(pl->title ? pl->title : "");
		err = nf_store_plot_put(ctx->store, ctx->run_id, &row);
		free(row.y_json);
		cJSON_Delete(y);
		free(norm);
	}
	return err;
}
