/* tui/page.c: a full-screen page of text lines: a reversed title line, the lines scrolled
 * to fit, a cursor on pickable lines when the page has them, and a footer of hints. */
#include "config.h"
#include "page.h"
#include "keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
nf_page_release(nf_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	free(p->roles);
	free(p->ids);
	free(p->title);
	free(p->node);
	free(p->log_path);
	free(p->log_title);
	memset(p, 0, sizeof(*p));
}

void
nf_page_begin(nf_page *p, int kind, const char *title)
{
	nf_page_release(p);
	p->kind = kind;
	p->title = xstrdup(title);
}

void
nf_page_add(nf_page *p, int role, int64_t id, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		p->lines = xrealloc(p->lines, p->cap * sizeof(*p->lines));
		p->roles = xrealloc(p->roles, p->cap * sizeof(*p->roles));
		p->ids = xrealloc(p->ids, p->cap * sizeof(*p->ids));
	}
	p->lines[p->n] = s;
	p->roles[p->n] = role;
	p->ids[p->n] = id;
	if (id > 0)
		p->pick = true;
	p->n++;
}

void
nf_page_select(nf_page *p, int64_t id)
{
	ssize_t first = -1;

	for (size_t i = 0; i < p->n; i++) {
		if (p->ids[i] <= 0)
			continue;
		if (first < 0)
			first = (ssize_t)i;
		if (p->ids[i] == id) {
			p->sel = i;
			return;
		}
	}
	p->sel = first < 0 ? 0 : (size_t)first;
}

int64_t
nf_page_picked(const nf_page *p)
{
	return p->pick && p->sel < p->n ? p->ids[p->sel] : 0;
}

/* Rows for the lines: the title and the footer take one each. */
static size_t
body_rows(int rows)
{
	return rows > 2 ? (size_t)(rows - 2) : 1;
}

void
nf_page_draw(nf_page *p, WINDOW *w, int rows, int cols, const char *footer)
{
	size_t body = body_rows(rows);

	if (p->pick) {   /* the cursor stays on the screen */
		if (p->sel < p->top)
			p->top = p->sel;
		if (p->sel >= p->top + body)
			p->top = p->sel - body + 1;
	}
	werase(w);
	wattrset(w, A_REVERSE | A_BOLD);
	mvwhline(w, 0, 0, ' ', cols);
	nf_draw_text(w, 0, 0, cols, p->title ? p->title : "");
	for (size_t r = 0; r < body && p->top + r < p->n; r++) {
		size_t i = p->top + r;

		wattrset(w, p->roles[i] ? nf_draw_attr(p->roles[i]) : A_NORMAL);
		nf_draw_text(w, (int)r + 1, 0, cols, p->lines[i]);
		if (p->pick && i == p->sel)
			mvwchgat(w, (int)r + 1, 0, cols, A_REVERSE, 0, NULL);
	}
	wattrset(w, nf_draw_attr(NF_C_DIM));
	if (p->n > body)
		nf_draw_printf(w, rows - 1, 0, cols, "%s  [%zu-%zu/%zu]", footer,
			       p->top + 1, p->top + body < p->n ? p->top + body : p->n, p->n);
	else
		nf_draw_text(w, rows - 1, 0, cols, footer);
	wattrset(w, A_NORMAL);
}

/* Moves the cursor by delta pickable lines (or the view, on a page without a cursor). */
static void
page_move(nf_page *p, long delta, size_t body)
{
	if (!p->pick) {
		long top = (long)p->top + delta, max = p->n > body ? (long)(p->n - body) : 0;

		p->top = (size_t)(top < 0 ? 0 : top > max ? max : top);
		return;
	}
	while (delta != 0) {
		size_t i = p->sel;

		do
			i = delta > 0 ? i + 1 : i - 1;
		while (i < p->n && p->ids[i] <= 0);
		if (i >= p->n)
			break;
		p->sel = i;
		delta += delta > 0 ? -1 : 1;
	}
}

int
nf_page_on_action(nf_page *p, int action, int rows)
{
	long body = (long)body_rows(rows);

	switch (action) {
	case NF_A_BACK:
		return NF_PAGE_CLOSE;
	case NF_A_DOWN:
		page_move(p, 1, (size_t)body);
		return NF_PAGE_OK;
	case NF_A_UP:
		page_move(p, -1, (size_t)body);
		return NF_PAGE_OK;
	case NF_A_PGDN:
		page_move(p, body - 1, (size_t)body);
		return NF_PAGE_OK;
	case NF_A_PGUP:
		page_move(p, -(body - 1), (size_t)body);
		return NF_PAGE_OK;
	case NF_A_TOP:
		page_move(p, -(long)p->n, (size_t)body);
		return NF_PAGE_OK;
	case NF_A_BOTTOM:
		page_move(p, (long)p->n, (size_t)body);
		return NF_PAGE_OK;
	case NF_A_OPEN:
		return nf_page_picked(p) > 0 ? NF_PAGE_PICK : NF_PAGE_UNUSED;
	default:
		return NF_PAGE_UNUSED;
	}
}
