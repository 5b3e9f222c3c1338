/* diag.c: collecting compiler-style diagnostics and printing them in the order they arose,
 * and the table of the files source locations name. */
#include "config.h"
#include "ntflow/diag.h"

#include <stdlib.h>
#include <string.h>

/* The paths locations name, each once; a loc's file is its index + 1. A process reads
 * few files (a pipeline, its params files), so a scan, after the last one found, will do;
 * the copies live as long as the process (reachable, not leaked). */
static char **loc_files;
static size_t nloc_files, loc_files_cap;
static size_t loc_last;   /* index + 1 of the last path found */

nf_loc
nf_loc_at(const char *file, int line, int col)
{
	nf_loc loc = { line, (uint16_t)(col < 0 ? 0 : col > UINT16_MAX ? UINT16_MAX : col), 0 };
	size_t i;

	if (!file)
		return loc;
	if (loc_last && strcmp(loc_files[loc_last - 1], file) == 0) {
		loc.file = (uint16_t)loc_last;
		return loc;
	}
	for (i = 0; i < nloc_files && strcmp(loc_files[i], file) != 0; i++)
		;
	if (i == nloc_files) {
		if (nloc_files == UINT16_MAX)
			i = nloc_files - 1;   /* full: the last one stands for the rest (never in practice) */
		else
			NF_PUSH(loc_files, nloc_files, loc_files_cap, xstrdup(file));
	}
	loc_last = i + 1;
	loc.file = (uint16_t)loc_last;
	return loc;
}

const char *
nf_loc_file(nf_loc loc)
{
	return loc.file && loc.file <= nloc_files ? loc_files[loc.file - 1] : NULL;
}

static void
diag_vadd(nf_diag_list *l, nf_diag_level level, nf_loc loc, const char *fmt, va_list ap)
{
	nf_diag d;

	if (l->full)
		return;
	if (level == NF_DIAG_ERROR && l->nerrors >= NF_DIAG_MAX_ERRORS) {
		d.level = NF_DIAG_ERROR;
		d.file = nf_loc_file(loc) ? xstrdup(nf_loc_file(loc)) : NULL;
		d.line = loc.line;
		d.col = loc.col;
		d.msg = xasprintf("too many errors (%d); giving up on this file", NF_DIAG_MAX_ERRORS);
		NF_PUSH(l->items, l->n, l->cap, d);
		l->full = true;
		return;
	}
	d.level = level;
	d.file = nf_loc_file(loc) ? xstrdup(nf_loc_file(loc)) : NULL;
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
		nf_buf line = NF_BUF_INIT, shown = NF_BUF_INIT;

		if (d->file && d->line > 0)
			nf_buf_printf(&line, "%s:%d:%d: %s: %s\n", d->file, d->line, d->col, level_names[d->level], d->msg);
		else if (d->file)
			nf_buf_printf(&line, "%s: %s: %s\n", d->file, level_names[d->level], d->msg);
		else
			nf_buf_printf(&line, "ntflow: %s: %s\n", level_names[d->level], d->msg);
		/* a message quotes the file's text (a name, a value): shown, never played */
		nf_buf_add_visible(&shown, nf_buf_cstr(&line), true);
		fputs(nf_buf_cstr(&shown), f);
		nf_buf_release(&line);
		nf_buf_release(&shown);
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
