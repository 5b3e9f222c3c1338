/* diag.c: collecting compiler-style diagnostics and printing them in the order they arose. */
#include "config.h"
#include "ntflow/diag.h"

#include <stdlib.h>
#include <string.h>

static void
diag_vadd(nf_diag_list *l, nf_diag_level level, nf_loc loc, const char *fmt, va_list ap)
{
	nf_diag d;

	if (l->full)
		return;
	if (level == NF_DIAG_ERROR && l->nerrors >= NF_DIAG_MAX_ERRORS) {
		d.level = NF_DIAG_ERROR;
		d.file = loc.file ? xstrdup(loc.file) : NULL;
		d.line = loc.line;
		d.col = loc.col;
		d.msg = xasprintf("too many errors (%d); giving up on this file", NF_DIAG_MAX_ERRORS);
		NF_PUSH(l->items, l->n, l->cap, d);
		l->full = true;
		return;
	}
	d.level = level;
	d.file = loc.file ? xstrdup(loc.file) : NULL;
	d.line = loc.line;
	d.col = loc.col;
	d.msg = xvasprintf(fmt, ap);
	NF_PUSH(l->items, l->n, l->cap, d);
	if (level == NF_DIAG_ERROR)
		l->nerrors++;
}

void
nf_diag_add(nf_diag_list *l, nf_diag_level level, nf_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(l, level, loc, fmt, ap);
	va_end(ap);
}

void
nf_diag_error(nf_diag_list *l, nf_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(l, NF_DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void
nf_diag_note(nf_diag_list *l, nf_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(l, NF_DIAG_NOTE, loc, fmt, ap);
	va_end(ap);
}

void
nf_diag_print(const nf_diag_list *l, FILE *f)
{
	static const char *const level_names[] = { "error", "warning", "note" };

	for (size_t i = 0; i < l->n; i++) {
		const nf_diag *d = &l->items[i];

		if (d->file && d->line > 0)
			fprintf(f, "%s:%d:%d: %s: %s\n", d->file, d->line, d->col, level_names[d->level], d->msg);
		else if (d->file)
			fprintf(f, "%s: %s: %s\n", d->file, level_names[d->level], d->msg);
		else
			fprintf(f, "ntflow: %s: %s\n", level_names[d->level], d->msg);
	}
}

void
nf_diag_list_release(nf_diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].file);
		free(l->items[i].msg);
	}
	free(l->items);
	*l = (nf_diag_list)NF_DIAG_LIST_INIT;
}
