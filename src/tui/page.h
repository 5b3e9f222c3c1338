/* tui/page.h: a full-screen page of text lines, scrolled, optionally with a cursor on the
 * lines that can be picked: the stage detail, a model version's detail and the runs list. */
#ifndef NTFLOW_TUI_PAGE_H
#define NTFLOW_TUI_PAGE_H

#include "tui-internal.h"

enum { NF_PAGE_STAGE = 1, NF_PAGE_VERSION, NF_PAGE_RUNS };

typedef struct nf_page {
	int kind;                    /* NF_PAGE_*; 0: none open */
	char *title;                 /* the first line, reversed */
	char **lines;
	int *roles;                  /* NF_C_* colour of each line; 0: plain */
	int64_t *ids;                /* what picking the line opens (a run id); 0: not pickable */
	size_t n, cap;
	size_t top;                  /* first line shown */
	size_t sel;                  /* the cursor, on a pickable line (pages that have them) */
	bool pick;                   /* the page has a cursor */
	/* what the page is about, for its actions */
	char *node;                  /* NF_PAGE_STAGE: the node; NF_PAGE_VERSION: the model */
	int version;
	int64_t run_id;              /* NF_PAGE_STAGE: the run whose log it opens */
	char *log_path;              /* NF_PAGE_STAGE: that log (absolute), NULL: none */
	char *log_title;
} nf_page;

/* What a key did. */
enum { NF_PAGE_OK, NF_PAGE_UNUSED, NF_PAGE_CLOSE, NF_PAGE_PICK };

void nf_page_release(nf_page *p);
/* Empties p for a new page of this kind and title. */
void nf_page_begin(nf_page *p, int kind, const char *title);
/* Appends a line (id > 0 makes it pickable). */
void nf_page_add(nf_page *p, int role, int64_t id, const char *fmt, ...) NF_PRINTF(4, 5);
/* Puts the cursor on the pickable line with this id (else the first pickable one). */
void nf_page_select(nf_page *p, int64_t id);
void nf_page_draw(nf_page *p, WINDOW *w, int rows, int cols, const char *footer);
/* An action of the key table's NF_KC_PAGE bindings (keys.h): the moves, NF_A_BACK (closes),
 * NF_A_OPEN (picks the line under the cursor, when pickable). */
int nf_page_on_action(nf_page *p, int action, int rows);
/* The id of the line under the cursor; 0 when none. */
int64_t nf_page_picked(const nf_page *p);

/* ---- the pages (detail.c, runs.c) ---- */

/* The detail of one node of the view's run: its command, why it ran or whose result it
 * reused, its cache key's components, inputs, outputs with sizes, metrics and attempts. */
int nf_detail_stage(nf_page *p, nf_view *v, const char *node);
/* A model version: status (why it is the champion), metrics, gate criteria, run, commit, params. */
int nf_detail_version(nf_page *p, nf_view *v, const char *model, int version);
/* The workspace's runs, newest first: status, trigger, logical date, duration, gate, model. */
int nf_runs_page(nf_page *p, nf_view *v);

#endif
