/* plot-check.c: the checks of a stage's plot blocks that need the rest of the stage: a data
 * or image file must lie in one of the stage's outputs (or be its metrics file), so that the
 * run keeps it, and the columns a template needs must be named. Called by nf_dag_validate. */
#include "config.h"
#include "schema.h"

#include <stdlib.h>
#include <string.h>

/* A template as written, ${...} kept as text, normalized (nf_path_lexical); NULL when it is
 * not a path below the project (the caller reports). The caller frees. */
static char *
norm_text(const nf_tmpl *t)
{
	nf_buf text = NF_BUF_INIT;
	nf_path_why why;
	char *norm;

	for (size_t i = 0; i < t->nsegs; i++)
		nf_buf_printf(&text, t->segs[i].is_ref ? "${%s}" : "%s", t->segs[i].text);
	norm = nf_path_lexical(nf_buf_cstr(&text), &why);
	nf_buf_release(&text);
	return norm;
}

/* Whether path is one of s's outputs, lies inside one, or is its metrics file. */
static bool
kept_by_stage(const nf_stage *s, const char *path)
{
	bool found = false;
	char *o;

	for (size_t k = 0; k < s->noutputs && !found; k++) {
		size_t n;

		if (!(o = norm_text(&s->outputs[k])))
			continue;
		n = strlen(o);
		found = strcmp(o, path) == 0 || (strncmp(o, path, n) == 0 && path[n] == '/');
		free(o);
	}
	if (!found && nf_more(s)->metrics && (o = norm_text(nf_more(s)->metrics))) {
		found = strcmp(o, path) == 0;
		free(o);
	}
	return found;
}

void
nf_plot_check(const nf_stage *s, nf_diag_list *diags)
{
	for (size_t i = 0; i < nf_more(s)->nplots; i++) {
		const nf_plot *pl = &nf_more(s)->plots[i];
		const nf_tmpl *file = pl->data ? pl->data : pl->image;
		const char *attr = pl->data ? "data" : "image";
		char *path;

		if (!pl->data == !pl->image) {
			nf_diag_error(diags, pl->loc, "plot \"%s\" needs exactly one of 'data' and 'image'", pl->name);
			continue;
		}
		if (!(path = norm_text(file))) {
			nf_diag_error(diags, file->loc, "%s of plot \"%s\" in stage \"%s\" is not a path inside the project",
				      attr, pl->name, s->name);
			continue;
		}
		if (!kept_by_stage(s, path))
			nf_diag_error(diags, file->loc, "%s \"%s\" of plot \"%s\" is not in the outputs of stage \"%s\""
				      " (nor its metrics file): list it, or the folder holding it, in outputs", attr, path,
				      pl->name, s->name);
		free(path);
		if (pl->image) {
			if (pl->x || pl->ny)
				nf_diag_error(diags, pl->loc, "plot \"%s\" shows an image: 'x' and 'y' are for data", pl->name);
			continue;
		}
		/* roc reads fpr and tpr unless told otherwise; the others need their columns. */
		if (pl->template_ != NF_PLOT_ROC && (!pl->x || pl->ny == 0))
			nf_diag_error(diags, pl->loc, "plot \"%s\" (template \"%s\") needs %s", pl->name,
				      nf_plot_template_name(pl->template_),
				      !pl->x && pl->ny == 0 ? "'x' and 'y'" : !pl->x ? "'x'" : "'y'");
		if (pl->template_ == NF_PLOT_CONFUSION && pl->ny > 1)
			nf_diag_error(diags, pl->y[1].loc, "plot \"%s\" (template \"confusion\") takes one 'y' column,"
				      " the predicted class", pl->name);
	}
}
