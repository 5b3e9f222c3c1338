/* table.c: the aligned text tables of the listing commands (runs, show, registry, alerts,
 * metrics, cache ls), so every listing pads, aligns and spaces its columns the same way. */
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

size_t
nf_table_width(const nf_table *t, size_t col)
{
	size_t w = 0;

	for (size_t i = 0; col < t->ncols && i <= t->nrows; i++)
		if (strlen(cell_text(t, i, col)) > w)
			w = strlen(cell_text(t, i, col));
	return w;
}

void
nf_table_format(nf_buf *out, const nf_table *t)
{
	size_t *width = xcalloc(t->ncols ? t->ncols : 1, sizeof(*width));

	for (size_t c = 0; c < t->ncols; c++)
		width[c] = nf_table_width(t, c);
	for (size_t i = 0; i <= t->nrows; i++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *sep = c ? "  " : "";

			/* The last column is not padded: no blanks at the ends of lines. */
			if (t->right[c])
				nf_buf_printf(out, "%s%*s", sep, (int)width[c], cell_text(t, i, c));
			else if (c == t->ncols - 1)
				nf_buf_printf(out, "%s%s", sep, cell_text(t, i, c));
			else
				nf_buf_printf(out, "%s%-*s", sep, (int)width[c], cell_text(t, i, c));
		}
		nf_buf_putc(out, '\n');
	}
	free(width);
}
