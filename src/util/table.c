/* table.c: the aligned text tables of the listing commands (runs, show, registry, alerts,
 * metrics, cache ls), so every listing pads, aligns and spaces its columns the same way,
 * and fits them to a width by cutting the widest column with an ellipsis. libsmartcols does
 * that too, but would be one more library at run time for the forty lines of fit() and
 * put_cell(), and would replace this table in every listing whose exact layout tests and
 * scripts read; the tree view it offers for graph is not needed (graph's text is a tree). */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>

struct nf_table {
	size_t ncols;
	const char *const *head;   /* ncols names, borrowed */
	bool *right;               /* ncols flags: right-aligned */
	char **cells;              /* nrows * ncols, owned; a NULL cell prints as "" */
	size_t nrows, cap;         /* cap in cells */
};

nf_table *
nf_table_new(size_t ncols, const char *const *head)
{
	nf_table *t = xcalloc(1, sizeof(*t));

	t->ncols = ncols;
	t->head = head;
	t->right = xcalloc(ncols ? ncols : 1, sizeof(*t->right));
	return t;
}

void
nf_table_free(nf_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t);
}

void
nf_table_align_right(nf_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = true;
}

char **
nf_table_add_row(nf_table *t)
{
	char **row;

	t->cells = xgrow(t->cells, sizeof(*t->cells), (t->nrows + 1) * t->ncols + 1, &t->cap);
	row = &t->cells[t->nrows * t->ncols];
	memset(row, 0, t->ncols * sizeof(*row));
	t->nrows++;
	return row;
}

static const char *
cell_text(const nf_table *t, size_t row, size_t col)
{
	const char *s = row == 0 ? t->head[col] : t->cells[(row - 1) * t->ncols + col];

	return s ? s : "";
}

/* The columns a text takes on a terminal: its UTF-8 code points (the tables hold no wide
 * or combining characters: names, numbers, times and paths). */
static size_t
text_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The table's cells as a terminal shows them, header row first: each cell itself, or, when
 * it holds a character that is not visible, a copy with that character as \xNN
 * (nf_buf_add_visible). visible_free frees the copies, known by not being the cell. */
static const char **
visible_cells(const nf_table *t)
{
	size_t n = (t->nrows + 1) * t->ncols;
	const char **v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		const char *s = cell_text(t, i / t->ncols, i % t->ncols);

		/* a cell may hold what a person or a stage wrote (a parameter, a reason, a tag) */
		if (!nf_str_visible(s)) {
			nf_buf b = NF_BUF_INIT;

			nf_buf_add_visible(&b, s, false);
			s = nf_buf_detach(&b);
		}
		v[i] = s;
	}
	return v;
}

static void
visible_free(const nf_table *t, const char **vis)
{
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
		if (vis[i] != cell_text(t, i / t->ncols, i % t->ncols))
			free((char *)vis[i]);
	free(vis);
}

/* The bytes of s's first cols code points. */
static size_t
prefix_bytes(const char *s, size_t cols)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cols-- == 0)
			break;
	return i;
}

/* The widest of column col's cells, vis holding them as visible_cells gives them. */
static size_t
width_of(const nf_table *t, const char **vis, size_t col)
{
	size_t w = 0;

	for (size_t i = 0; col < t->ncols && i <= t->nrows; i++)
		if (text_cols(vis[i * t->ncols + col]) > w)
			w = text_cols(vis[i * t->ncols + col]);
	return w;
}

size_t
nf_table_width(const nf_table *t, size_t col)
{
	const char **vis = visible_cells(t);
	size_t w = width_of(t, vis, col);

	visible_free(t, vis);
	return w;
}

/* The narrowest a cut column gets: 3 characters and the ellipsis, or its heading as shown
 * (vis: visible_cells, whose first row is the headings). */
static size_t
min_width(const char **vis, size_t c)
{
	size_t h = text_cols(vis[c]);

	return h > 4 ? h : 4;
}

/* Narrows the widest columns, one at a time, until the line fits max columns or none can
 * be narrowed further (then the lines stay wider than max). */
static void
fit(const nf_table *t, const char **vis, size_t *width, size_t max)
{
	for (;;) {
		size_t total = t->ncols ? 2 * (t->ncols - 1) : 0, widest = t->ncols;

		for (size_t c = 0; c < t->ncols; c++) {
			total += width[c];
			if (width[c] > min_width(vis, c) && (widest == t->ncols || width[c] > width[widest]))
				widest = c;
		}
		if (total <= max || widest == t->ncols)
			return;
		if (width[widest] - min_width(vis, widest) >= total - max)
			width[widest] -= total - max;
		else
			width[widest] = min_width(vis, widest);
	}
}

/* Appends cell s in w columns: padded on the left (right-aligned) or the right (unless
 * last), or cut to w - 1 characters and an ellipsis when longer. */
static void
put_cell(nf_buf *out, const char *s, size_t w, bool right, bool last)
{
	size_t n = text_cols(s);

	if (n > w) {
		nf_buf_printf(out, "%.*s\u2026", (int)prefix_bytes(s, w - 1), s);
		return;
	}
	for (size_t k = n; right && k < w; k++)
		nf_buf_putc(out, ' ');
	nf_buf_puts(out, s);
	for (size_t k = n; !right && !last && k < w; k++)
		nf_buf_putc(out, ' ');
}

void
nf_table_format(nf_buf *out, const nf_table *t)
{
	nf_table_format_fit(out, t, 0);
}

void
nf_table_format_fit(nf_buf *out, const nf_table *t, size_t max)
{
	size_t *width = xcalloc(t->ncols ? t->ncols : 1, sizeof(*width));
	const char **vis = visible_cells(t);

	for (size_t c = 0; c < t->ncols; c++)
		width[c] = width_of(t, vis, c);
	if (max)
		fit(t, vis, width, max);
	for (size_t i = 0; i <= t->nrows; i++) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c)
				nf_buf_puts(out, "  ");
			/* The last column is not padded: no blanks at the ends of lines. */
			put_cell(out, vis[i * t->ncols + c], width[c], t->right[c], c == t->ncols - 1);
		}
		nf_buf_putc(out, '\n');
	}
	visible_free(t, vis);
	free(width);
}
