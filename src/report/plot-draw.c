/* plot-draw.c: a recorded plot drawn for the page. The file is read back as it was when its
 * node ended: from the workspace when its SHA-256 still matches, else from the object store
 * (where the node's outputs went), else the figure says it is gone. Data files become charts
 * by template (linear, scatter, roc, bar; confusion as a heat table); images are inlined as
 * data: URIs so the page stays one file. Two runs compared draw into one chart, the second
 * dashed. */
#include "config.h"
#include "report-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/cache.h"

/* Files bigger than this are not put into a page. */
#define MAX_PLOT_FILE (16u << 20)
#define MAX_CLASSES 64

/* The bytes of p's file as recorded. NF_ENOTFOUND with *why when they cannot be had. */
static int
load_bytes(char **text, size_t *len, const nf_report_opts *o, const nf_plot_row *p, char **why)
{
	char *abs, *real, sha[65], *cache_dir, dir[] = "/tmp/ntflow-report-XXXXXX", *tmp;
	nf_objstore *objs = NULL;
	size_t restored;
	int err;

	*text = NULL;
	*why = NULL;
	if (!p->digest || !*p->digest) {
		*why = xasprintf("the stage did not write %s", p->path);
		return NF_ENOTFOUND;
	}
	/* Only where the file leads inside the project: a link out of it is not read. */
	if (nf_path_resolve(&real, NULL, o->root, p->path, "plot file") < 0) {
		*why = xstrdup(nf_error_last());
		return NF_ENOTFOUND;
	}
	abs = xasprintf("%s/%s", o->root, real);   /* where the check led, links not followed again */
	free(real);
	if (nf_hash_file(sha, abs, NULL) == 0 && strcmp(sha, p->digest) == 0) {
		err = nf_read_file(text, len, abs, MAX_PLOT_FILE);
		free(abs);
		if (err < 0)
			*why = xstrdup(nf_error_last());
		return err;
	}
	free(abs);
	/* a newer run rewrote it: the object store holds the run's bytes */
	cache_dir = xasprintf("%s/cache", o->state_dir);
	err = nf_objstore_open(&objs, cache_dir);
	free(cache_dir);
	if (err == 0 && !mkdtemp(dir))
		err = nf_error_set_errno(NF_EIO, "cannot make a temporary folder");
	if (err < 0) {
		nf_objstore_free(objs);
		*why = xstrdup(nf_error_last());
		return err;
	}
	tmp = xasprintf("%s/data", dir);
	{
		char *digest = xasprintf("file:%s", p->digest);

		err = nf_objstore_has(objs, digest, false) ? nf_objstore_restore(objs, digest, tmp, &restored)
							   : NF_ENOTFOUND;
		free(digest);
	}
	if (err == 0)
		err = nf_read_file(text, len, tmp, MAX_PLOT_FILE);
	else
		*why = xasprintf("%s has changed since and its bytes are no longer in the cache", p->path);
	if (err < 0 && !*why)
		*why = xstrdup(nf_error_last());
	unlink(tmp);
	rmdir(dir);
	free(tmp);
	nf_objstore_free(objs);
	return err < 0 ? NF_ENOTFOUND : 0;
}

static const char *
image_mime(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcasecmp(dot, ".png"))
		return "image/png";
	if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
		return "image/jpeg";
	if (!strcasecmp(dot, ".gif"))
		return "image/gif";
	if (!strcasecmp(dot, ".svg"))
		return "image/svg+xml";
	if (!strcasecmp(dot, ".webp"))
		return "image/webp";
	return "application/octet-stream";
}

static void
base64(nf_buf *out, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);

		nf_buf_putc(out, tab[v >> 18 & 63]);
		nf_buf_putc(out, tab[v >> 12 & 63]);
		nf_buf_putc(out, i + 1 < n ? tab[v >> 6 & 63] : '=');
		nf_buf_putc(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* One run's side of a plot: its table (data) or bytes (image), or why there is none. */
typedef struct side {
	const nf_plot_row *row;
	int64_t run;
	bool ok;
	nf_datatab tab;
	char *bytes;
	size_t len;
	char *why;
} side;

static void
side_load(side *s, const nf_report_opts *o, const nf_plot_row *row, int64_t run)
{
	memset(s, 0, sizeof(*s));
	s->row = row;
	s->run = run;
	if (!row)
		return;
	if (load_bytes(&s->bytes, &s->len, o, row, &s->why) < 0)
		return;
	if (strcmp(row->kind, "data") == 0) {
		if (nf_datatab_parse(&s->tab, row->path, s->bytes, s->len) < 0) {
			s->why = xasprintf("%s: %s", row->path, nf_error_last());
			return;
		}
	}
	s->ok = true;
}

static void
side_release(side *s)
{
	nf_datatab_release(&s->tab);
	free(s->bytes);
	free(s->why);
}

/* The y columns of a row: its JSON array. */
static size_t
y_columns(const nf_plot_row *row, char ***out)
{
	cJSON *arr = cJSON_Parse(row->y_json ? row->y_json : "[]"), *v;
	size_t n = 0;

	*out = NULL;
	cJSON_ArrayForEach(v, arr) {
		if (cJSON_IsString(v)) {
			*out = realloc(*out, (n + 1) * sizeof(char *));
			(*out)[n++] = xstrdup(v->valuestring);
		}
	}
	cJSON_Delete(arr);
	return n;
}

static void
free_strs(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

/* The area under a curve by the trapezoid rule, its points sorted by x. */
static double
auc(const double *x, const double *y, size_t n)
{
	double *idx = xmalloc((n ? n : 1) * 2 * sizeof(double)), a = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]) && isfinite(y[i])) {
			idx[2 * m] = x[i];
			idx[2 * m + 1] = y[i];
			m++;
		}
	/* insertion sort: ROC files are short and mostly sorted already */
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && idx[2 * (j - 1)] > idx[2 * j]; j--) {
			double tx = idx[2 * j], ty = idx[2 * j + 1];

			idx[2 * j] = idx[2 * (j - 1)];
			idx[2 * j + 1] = idx[2 * (j - 1) + 1];
			idx[2 * (j - 1)] = tx;
			idx[2 * (j - 1) + 1] = ty;
		}
	for (size_t i = 1; i < m; i++)
		a += (idx[2 * i] - idx[2 * (i - 1)]) * (idx[2 * i + 1] + idx[2 * (i - 1) + 1]) / 2;
	free(idx);
	return a;
}

/* Charts of the sides' data: every y column of every side a series. */
typedef struct chart_data {
	nf_series *series;
	size_t nseries;
	double **bufs;             /* x and y arrays to free */
	size_t nbufs;
	char **names;              /* series names to free */
	size_t nnames;
	char **cats;               /* bar categories */
	size_t ncats;
	nf_buf note;               /* AUCs, missing columns */
} chart_data;

static double *
cd_buf(chart_data *cd, size_t n)
{
	double *b = xmalloc((n ? n : 1) * sizeof(double));

	cd->bufs = realloc(cd->bufs, (cd->nbufs + 1) * sizeof(double *));
	cd->bufs[cd->nbufs++] = b;
	return b;
}

static char *
cd_name(chart_data *cd, char *s)
{
	cd->names = realloc(cd->names, (cd->nnames + 1) * sizeof(char *));
	cd->names[cd->nnames++] = s;
	return s;
}

static size_t
cd_cat(chart_data *cd, const char *c)
{
	for (size_t i = 0; i < cd->ncats; i++)
		if (strcmp(cd->cats[i], c) == 0)
			return i;
	cd->cats = realloc(cd->cats, (cd->ncats + 1) * sizeof(char *));
	cd->cats[cd->ncats] = xstrdup(c);
	return cd->ncats++;
}

static void
cd_release(chart_data *cd)
{
	for (size_t i = 0; i < cd->nbufs; i++)
		free(cd->bufs[i]);
	free(cd->bufs);
	free_strs(cd->names, cd->nnames);
	free_strs(cd->cats, cd->ncats);
	free(cd->series);
	nf_buf_release(&cd->note);
}

static void
add_side(chart_data *cd, const side *s, bool compare, bool bars, bool roc)
{
	const nf_datatab *t = &s->tab;
	long xc = nf_datatab_col(t, s->row->x);
	char **ys;
	size_t ny = y_columns(s->row, &ys);
	bool numeric_x = xc >= 0;

	if (xc < 0)
		nf_buf_printf(&cd->note, "run %lld: no column \"%s\" in %s; rows are numbered instead. ", (long long)s->run,
			      s->row->x, s->row->path);
	for (size_t r = 0; numeric_x && r < t->nrows; r++) {
		double v;

		if (!nf_datatab_num(t, r, xc, &v))
			numeric_x = false;
	}
	for (size_t k = 0; k < ny; k++) {
		long yc = nf_datatab_col(t, ys[k]);
		double *x = cd_buf(cd, t->nrows), *y = cd_buf(cd, t->nrows);
		nf_series *se;

		if (yc < 0) {
			nf_buf_printf(&cd->note, "run %lld: no column \"%s\" in %s. ", (long long)s->run, ys[k], s->row->path);
			continue;
		}
		for (size_t r = 0; r < t->nrows; r++) {
			const char *cell = xc >= 0 ? t->cells[r * t->ncols + (size_t)xc] : NULL;

			if (bars)
				x[r] = (double)cd_cat(cd, cell ? cell : "");
			else if (!numeric_x || !nf_datatab_num(t, r, xc, &x[r]))
				x[r] = (double)r;
			if (!nf_datatab_num(t, r, yc, &y[r]))
				y[r] = NAN;
		}
		cd->series = realloc(cd->series, (cd->nseries + 1) * sizeof(nf_series));
		se = &cd->series[cd->nseries++];
		/* the name is cd's to free; ys[k] is handed over when used as it is */
		if (compare) {
			se->name = cd_name(cd, xasprintf("%s (run %lld)", ys[k], (long long)s->run));
		} else {
			se->name = cd_name(cd, ys[k]);
			ys[k] = NULL;
		}
		se->x = x;
		se->y = y;
		se->n = t->nrows;
		se->dashed = false;   /* set for the second run by the caller */
		if (roc) {
			char b[32];

			nf_html_num(b, sizeof(b), auc(x, y, t->nrows));
			nf_buf_printf(&cd->note, "AUC %s%s%s. ", b, compare ? " for " : "", compare ? se->name : "");
		}
	}
	free_strs(ys, ny);
}

/* A confusion matrix of one side: rows the actual class (x), columns the predicted (y). */
static void
confusion(nf_buf *out, const side *s, bool compare)
{
	const nf_datatab *t = &s->tab;
	long ac = nf_datatab_col(t, s->row->x), pc;
	char **ys, *classes[MAX_CLASSES];
	size_t ny = y_columns(s->row, &ys), nc = 0, counts[MAX_CLASSES][MAX_CLASSES] = { { 0 } }, max = 0, total = 0,
	       right = 0;

	pc = ny ? nf_datatab_col(t, ys[0]) : -1;
	if (ac < 0 || pc < 0) {
		nf_buf_puts(out, "<p class=\"note\">");
		nf_html_escapef(out, "run %lld: %s lacks the column \"%s\"", (long long)s->run, s->row->path,
				ac < 0 ? s->row->x : ny ? ys[0] : "");
		nf_buf_puts(out, "</p>\n");
		free_strs(ys, ny);
		return;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		const char *cell[2] = { t->cells[r * t->ncols + (size_t)ac], t->cells[r * t->ncols + (size_t)pc] };
		size_t ix[2];

		for (int k = 0; k < 2; k++) {
			size_t i;

			for (i = 0; i < nc && strcmp(classes[i], cell[k] ? cell[k] : "") != 0; i++)
				;
			if (i == nc && nc < MAX_CLASSES)
				classes[nc++] = (char *)(cell[k] ? cell[k] : "");
			ix[k] = i;
		}
		if (ix[0] < nc && ix[1] < nc) {
			counts[ix[0]][ix[1]]++;
			total++;
			right += ix[0] == ix[1];
			if (counts[ix[0]][ix[1]] > max)
				max = counts[ix[0]][ix[1]];
		}
	}
	/* classes in order: numbers by value, else as text */
	for (size_t i = 1; i < nc; i++)
		for (size_t j = i; j > 0; j--) {
			char *a = classes[j - 1], *b = classes[j];
			double va, vb;
			char *ea, *eb;
			bool swap;

			va = strtod(a, &ea);
			vb = strtod(b, &eb);
			swap = *a && *b && !*ea && !*eb ? va > vb : strcmp(a, b) > 0;
			if (!swap)
				break;
			classes[j - 1] = b;
			classes[j] = a;
			for (size_t k = 0; k < MAX_CLASSES; k++) {   /* keep counts in step: swap rows and columns */
				size_t tmp = counts[j - 1][k];

				counts[j - 1][k] = counts[j][k];
				counts[j][k] = tmp;
			}
			for (size_t k = 0; k < MAX_CLASSES; k++) {
				size_t tmp = counts[k][j - 1];

				counts[k][j - 1] = counts[k][j];
				counts[k][j] = tmp;
			}
		}
	nf_buf_puts(out, "<table class=\"confusion\">");
	if (compare)
		nf_buf_printf(out, "<caption>run %lld</caption>", (long long)s->run);
	nf_buf_puts(out, "<thead><tr><th class=\"corner\">");
	nf_html_escapef(out, "%s \xe2\x86\x93 / %s \xe2\x86\x92", s->row->x, ys[0]);
	nf_buf_puts(out, "</th>");
	for (size_t j = 0; j < nc; j++) {
		nf_buf_puts(out, "<th>");
		nf_html_escape(out, classes[j]);
		nf_buf_puts(out, "</th>");
	}
	nf_buf_puts(out, "</tr></thead><tbody>");
	for (size_t i = 0; i < nc; i++) {
		nf_buf_puts(out, "<tr><th>");
		nf_html_escape(out, classes[i]);
		nf_buf_puts(out, "</th>");
		for (size_t j = 0; j < nc; j++) {
			/* blue for the diagonal, red off it, as strong as the count (an alpha in
			 * hundredths: integers, so no locale can put a comma in it) */
			double a = max ? (double)counts[i][j] / (double)max : 0;
			long alpha = counts[i][j] ? lround((0.08 + a * 0.85) * 100) : 0;

			nf_buf_printf(out, "<td class=\"cell%s\" style=\"background:rgba(%s,0.%02ld)%s\">%zu</td>",
				      i == j ? " diag" : "", i == j ? "78,121,167" : "225,87,89", alpha > 99 ? 99 : alpha,
				      a > 0.55 ? ";color:#fff" : "", counts[i][j]);
		}
		nf_buf_puts(out, "</tr>");
	}
	nf_buf_puts(out, "</tbody></table>\n");
	{
		char b[32];

		nf_html_num(b, sizeof(b), total ? (double)right / (double)total : 0);
		nf_buf_printf(out, "<p class=\"note\">%zu rows, accuracy %s</p>\n", total, b);
	}
	free_strs(ys, ny);
}

void
nf_rpt_plot(nf_buf *out, const nf_report_opts *o, const nf_plot_row *a, int64_t run_a, const nf_plot_row *b,
	    int64_t run_b)
{
	const nf_plot_row *row = a ? a : b;
	side sides[2];
	size_t nsides = 0;
	bool compare = b != NULL && a != NULL;
	nf_buf id = NF_BUF_INIT;
	const char *tmpl = row->template_;

	nf_rpt_id(&id, "plot", row->node, row->name);
	nf_buf_printf(out, "<figure class=\"plot plot-%s\" id=\"%s\">\n",
		      strcmp(row->kind, "image") == 0 ? "image" : strcmp(tmpl, "scatter") == 0 ? "scatter" :
		      strcmp(tmpl, "roc") == 0 ? "roc" : strcmp(tmpl, "bar") == 0 ? "bar" :
		      strcmp(tmpl, "confusion") == 0 ? "confusion" : "linear", nf_buf_cstr(&id));
	if (a)
		side_load(&sides[nsides++], o, a, run_a);
	if (b)
		side_load(&sides[nsides++], o, b, run_b);
	for (size_t i = 0; i < nsides; i++)
		if (!sides[i].ok) {
			nf_buf_puts(out, "<p class=\"note missing\">");
			nf_html_escapef(out, "run %lld: %s", (long long)sides[i].run, sides[i].why ? sides[i].why : "no data");
			nf_buf_puts(out, "</p>\n");
		}
	if (strcmp(row->kind, "image") == 0) {
		for (size_t i = 0; i < nsides; i++) {
			if (!sides[i].ok)
				continue;
			nf_buf_printf(out, "<img src=\"data:%s;base64,", image_mime(sides[i].row->path));
			base64(out, (const unsigned char *)sides[i].bytes, sides[i].len);
			nf_buf_puts(out, "\" alt=\"");
			nf_html_escapef(out, "%s (run %lld)", *row->title ? row->title : row->name, (long long)sides[i].run);
			nf_buf_puts(out, "\">\n");
		}
	} else if (strcmp(tmpl, "confusion") == 0) {
		nf_buf_puts(out, "<h3>");
		nf_html_escape(out, *row->title ? row->title : row->name);
		nf_buf_puts(out, "</h3>\n");
		for (size_t i = 0; i < nsides; i++)
			if (sides[i].ok)
				confusion(out, &sides[i], compare);
	} else {
		chart_data cd = { 0 };
		nf_chart c = { 0 };
		bool roc = strcmp(tmpl, "roc") == 0, bars = strcmp(tmpl, "bar") == 0;
		size_t first_b = 0;

		for (size_t i = 0; i < nsides; i++) {
			if (!sides[i].ok)
				continue;
			if (i == 1)
				first_b = cd.nseries;
			add_side(&cd, &sides[i], compare, bars, roc);
		}
		for (size_t k = 0; k < cd.nseries; k++)   /* the second run's series dashed */
			cd.series[k].dashed = compare && sides[0].ok && sides[1].ok && k >= first_b;
		c.id = NULL;
		c.cls = roc ? "roc" : bars ? "bars" : strcmp(tmpl, "scatter") == 0 ? "scatter" : "linear";
		c.title = *row->title ? row->title : row->name;
		c.xlabel = *row->x ? row->x : "row";
		c.ylabel = NULL;
		if (cd.nseries == 1)
			c.ylabel = cd.series[0].name;
		c.kind = bars ? NF_CHART_BAR : strcmp(tmpl, "scatter") == 0 ? NF_CHART_SCATTER : NF_CHART_LINE;
		c.series = cd.series;
		c.nseries = cd.nseries;
		c.xcats = (const char *const *)cd.cats;
		c.nxcats = cd.ncats;
		c.diagonal = c.unit_axes = roc;
		nf_svg_chart(out, &c);
		if (cd.note.len) {
			nf_buf_puts(out, "<p class=\"note\">");
			nf_html_escape(out, nf_buf_cstr(&cd.note));
			nf_buf_puts(out, "</p>\n");
		}
		cd_release(&cd);
	}
	nf_buf_puts(out, "<figcaption>");
	nf_html_escapef(out, "%s \xc2\xb7 stage %s \xc2\xb7 %s \xc2\xb7 %s", row->name, row->node, row->path, tmpl);
	for (size_t i = 0; i < nsides; i++)
		if (sides[i].row && *sides[i].row->digest)
			nf_html_escapef(out, " \xc2\xb7 run %lld sha256 %.12s", (long long)sides[i].run, sides[i].row->digest);
	nf_buf_puts(out, "</figcaption>\n</figure>\n");
	for (size_t i = 0; i < nsides; i++)
		side_release(&sides[i]);
	nf_buf_release(&id);
}
