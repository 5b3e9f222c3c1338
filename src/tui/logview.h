/* tui/logview.h: the full-screen log viewer the dashboard opens with Enter. */
#ifndef NTFLOW_TUI_LOGVIEW_H
#define NTFLOW_TUI_LOGVIEW_H

#include <sys/stat.h>
#include "tui-internal.h"

typedef struct nf_logview {
	char *path, *title;
	char **lines;
	size_t nlines, cap;
	size_t top;                  /* first line shown */
	bool follow;                 /* at the bottom: keep showing the end as the file grows */
	bool truncated;              /* only the end of a huge file was read */
	off_t size;                  /* -1: no file; -2: not read yet */
	struct timespec mtime;
	char search[64];
	ssize_t match;               /* line of the last match, -1 */
	bool wrap;                   /* long lines over several rows (w) */
	size_t shown;                /* lines the last frame showed */
} nf_logview;

/* What a key did. */
enum {
	NF_LOGVIEW_OK, NF_LOGVIEW_UNUSED, NF_LOGVIEW_CLOSE, NF_LOGVIEW_SEARCH, NF_LOGVIEW_NOMATCH,
};

/* Reads path (NULL: a node without a log) and shows its end; rows is the screen height. */
void nf_logview_open(nf_logview *lv, const char *path, const char *title, int rows);
/* Re-reads a grown file; true when the screen must be drawn again. */
bool nf_logview_poll(nf_logview *lv, int rows);
void nf_logview_draw(nf_logview *lv, WINDOW *w, int rows, int cols, const char *footer);
/* An action of the key table (NF_A_*, keys.h) in the log view: NF_LOGVIEW_*. */
int nf_logview_on_action(nf_logview *lv, int action, int rows);
/* Finds text from the current match (or the top) on; true when found. */
bool nf_logview_search(nf_logview *lv, const char *text, int rows);
void nf_logview_release(nf_logview *lv);

#endif
