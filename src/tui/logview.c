/* tui/logview.c: a whole log in a scrollable screen (PgUp/PgDn, g/G, / search with every
 * match highlighted, n/N, w wrap), that follows the file's end while it grows and the view
 * is at the bottom, like `less +F`. */
#include "config.h"
#include "logview.h"
#include "keys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGVIEW_MAX_BYTES (8 << 20)   /* the last 8 MiB of a huge log */

void
nf_logview_release(nf_logview *lv)
{
	for (size_t i = 0; i < lv->nlines; i++)
		free(lv->lines[i]);
	free(lv->lines);
	free(lv->path);
	free(lv->title);
	memset(lv, 0, sizeof(*lv));
}

static void
lines_clear(nf_logview *lv)
{
	for (size_t i = 0; i < lv->nlines; i++)
		free(lv->lines[i]);
	lv->nlines = 0;
}

/* Reads the file again when it changed; true when it did. */
static bool
reload(nf_logview *lv)
{
	struct stat sb;
	char *buf;
	off_t from;
	ssize_t got;
	int fd;

	if (!lv->path || stat(lv->path, &sb) < 0) {
		if (lv->size != -1) {
			lines_clear(lv);
			lv->size = -1;
			return true;
		}
		return false;
	}
	if (sb.st_size == lv->size && sb.st_mtim.tv_sec == lv->mtime.tv_sec && sb.st_mtim.tv_nsec == lv->mtime.tv_nsec)
		return false;
	lv->size = sb.st_size;
	lv->mtime = sb.st_mtim;
	lines_clear(lv);
	if ((fd = open(lv->path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	from = sb.st_size > LOGVIEW_MAX_BYTES ? sb.st_size - LOGVIEW_MAX_BYTES : 0;
	lv->truncated = from > 0;
	buf = xmalloc((size_t)(sb.st_size - from) + 1);
	got = pread(fd, buf, (size_t)(sb.st_size - from), from);
	close(fd);
	if (got > 0) {
		char *p = buf, *end = buf + got;

		*end = '\0';
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			char *e = nl ? nl : end, *cr;

			*e = '\0';
			if ((cr = strrchr(p, '\r')) && cr[1])
				p = cr + 1;
			else if (cr)
				*cr = '\0';
			NF_PUSH(lv->lines, lv->nlines, lv->cap, xstrdup(p));
			p = e + 1;
		}
	}
	free(buf);
	return true;
}

void
nf_logview_open(nf_logview *lv, const char *path, const char *title, int rows)
{
	nf_logview_release(lv);
	lv->path = path ? xstrdup(path) : NULL;
	lv->title = xstrdup(title);
	lv->size = -2;
	lv->follow = true;
	lv->match = -1;
	reload(lv);
	rows -= 2;   /* the title and the footer */
	lv->top = rows > 0 && lv->nlines > (size_t)rows ? lv->nlines - (size_t)rows : 0;
}

bool
nf_logview_poll(nf_logview *lv, int rows)
{
	if (!reload(lv))
		return false;
	rows -= 2;
	if (lv->follow)
		lv->top = rows > 0 && lv->nlines > (size_t)rows ? lv->nlines - (size_t)rows : 0;
	if (lv->top > lv->nlines)
		lv->top = lv->nlines;
	return true;
}

/* code points in the first n bytes of s */
static int
cols_of(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n && s[i]; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Reverses every match of the search in line (drawn from row y, cols wide, wrapped or
 * not); the current match's line is underlined as well, so n and N show where they are. */
static void
highlight(const nf_logview *lv, WINDOW *w, const char *line, int y, int rows_used, int cols)
{
	size_t len = strlen(lv->search);
	const char *p = line, *m;

	if (!len)
		return;
	while ((m = strcasestr(p, lv->search))) {
		int c0 = cols_of(line, (size_t)(m - line)), n = cols_of(m, len);

		for (int c = c0; c < c0 + n; c++) {
			int r = lv->wrap ? c / cols : 0, x = lv->wrap ? c % cols : c;

			if (r < rows_used && x < cols)
				mvwchgat(w, y + r, x, 1, A_REVERSE | A_BOLD, 0, NULL);
		}
		p = m + len;
	}
}

void
nf_logview_draw(nf_logview *lv, WINDOW *w, int rows, int cols, const char *footer)
{
	int body = rows - 2, y = 1;
	size_t last = lv->top;

	werase(w);
	if (lv->size == -1)
		nf_draw_text(w, 1, 1, cols - 1, "(no log file: nothing printed)");
	for (size_t i = lv->top; y <= body && i < lv->nlines; i++) {
		const char *line = lv->lines[i];
		int width = nf_draw_width(line), used = 1;

		if (lv->wrap && cols > 0 && width > cols) {
			/* a long line over as many rows as it needs (as many as are left) */
			const char *p = line;

			used = 0;
			while (*p && y + used <= body) {
				int n = nf_draw_text(w, y + used, 0, cols, p);
				size_t skip = 0;

				for (int c = 0; c < n && p[skip]; c++) {
					skip++;
					while (((unsigned char)p[skip] & 0xc0) == 0x80)
						skip++;
				}
				p += skip;
				used++;
			}
		} else {
			nf_draw_text(w, y, 0, cols, line);
		}
		if ((ssize_t)i == lv->match)
			for (int r = 0; r < used; r++)
				mvwchgat(w, y + r, 0, cols, A_UNDERLINE, 0, NULL);
		highlight(lv, w, line, y, used, cols);
		y += used;
		last = i + 1;
	}
	lv->shown = last - lv->top;
	wattrset(w, A_REVERSE);
	mvwhline(w, 0, 0, ' ', cols);
	nf_draw_printf(w, 0, 0, cols, " %s  lines %zu-%zu of %zu%s%s%s", lv->title, lv->nlines ? lv->top + 1 : 0,
		       last, lv->nlines, lv->follow ? "  [following]" : "", lv->wrap ? "  [wrap]" : "",
		       lv->truncated ? "  (start cut)" : "");
	wattrset(w, nf_draw_attr(NF_C_DIM));
	mvwhline(w, rows - 1, 0, ' ', cols);
	nf_draw_text(w, rows - 1, 0, cols, footer);
	wattrset(w, A_NORMAL);
}

/* Looks for lv->search from line `from` in direction dir; true when found. */
static bool
find(nf_logview *lv, ssize_t from, int dir, int rows)
{
	for (ssize_t i = from; lv->search[0] && i >= 0 && (size_t)i < lv->nlines; i += dir) {
		if (strcasestr(lv->lines[i], lv->search)) {
			lv->match = i;
			if ((size_t)i < lv->top || (size_t)i >= lv->top + (size_t)(rows - 2))
				lv->top = (size_t)i > (size_t)(rows - 2) / 2 ? (size_t)i - (size_t)(rows - 2) / 2 : 0;
			lv->follow = false;
			return true;
		}
	}
	return false;
}

bool
nf_logview_search(nf_logview *lv, const char *text, int rows)
{
	snprintf(lv->search, sizeof(lv->search), "%s", text);
	return find(lv, lv->match >= 0 ? lv->match : (ssize_t)lv->top, 1, rows);
}

int
nf_logview_on_action(nf_logview *lv, int action, int rows)
{
	size_t body = rows > 2 ? (size_t)rows - 2 : 1;
	size_t max_top = lv->nlines > body ? lv->nlines - body : 0;

	switch (action) {
	case NF_A_BACK:
		return NF_LOGVIEW_CLOSE;
	case NF_A_SEARCH:
		return NF_LOGVIEW_SEARCH;
	case NF_A_NEXT:
	case NF_A_PREV:
		if (!lv->search[0] || !find(lv, lv->match + (action == NF_A_NEXT ? 1 : -1), action == NF_A_NEXT ? 1 : -1,
					    rows))
			return NF_LOGVIEW_NOMATCH;
		return NF_LOGVIEW_OK;
	case NF_A_WRAP:
		lv->wrap = !lv->wrap;
		return NF_LOGVIEW_OK;
	case NF_A_DOWN:
		if (lv->top < max_top)
			lv->top++;
		break;
	case NF_A_UP:
		if (lv->top > 0)
			lv->top--;
		break;
	case NF_A_PGDN:
		/* wrapped: a page is what the screen showed */
		if (lv->wrap && lv->shown > 0)
			body = lv->shown;
		lv->top = lv->top + body < max_top ? lv->top + body : max_top;
		break;
	case NF_A_PGUP:
		lv->top = lv->top > body ? lv->top - body : 0;
		break;
	case NF_A_TOP:
		lv->top = 0;
		break;
	case NF_A_BOTTOM:
		lv->top = max_top;
		break;
	default:
		return NF_LOGVIEW_UNUSED;
	}
	/* At the bottom it follows the file again; anywhere else it stays put. */
	lv->follow = lv->top >= max_top;
	return NF_LOGVIEW_OK;
}
