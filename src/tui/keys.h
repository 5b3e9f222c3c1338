/* tui/keys.h: the dashboard's one key table. Each binding says where a key works (the main
 * screen, the focused pane, one pane, the log view), what it does, its help text and its
 * footer hint; the key handler, the ? overlay, the footer and the man page's list of keys
 * (checked against the table by check_tui) all read it, so a key is defined once. */
#ifndef NTFLOW_TUI_KEYS_H
#define NTFLOW_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include "ntflow/util.h"

/* Where a binding works. A pane's own bindings come before the focused-pane ones, which come
 * before the main screen's. */
typedef enum nf_key_ctx {
	NF_KC_MAIN,                  /* the main screen, whichever pane has the focus */
	NF_KC_PANE,                  /* moves in the focused pane (stages, gate, registry, alerts, log) */
	NF_KC_STAGES,                /* the stages pane has the focus */
	NF_KC_REGISTRY,
	NF_KC_ALERTS,
	NF_KC_LOGVIEW,               /* the full-screen log (l in a stage's detail) */
	NF_KC_PAGE,                  /* any full-screen page: moving, going back */
	NF_KC_PAGE_STAGE,            /* a stage's detail */
	NF_KC_PAGE_VERSION,          /* a model version's detail */
	NF_KC_PAGE_RUNS,             /* the runs list */
	NF_KC__COUNT
} nf_key_ctx;

typedef enum nf_key_action {
	NF_A_NONE,
	/* the main screen */
	NF_A_QUIT, NF_A_HELP, NF_A_FOCUS_NEXT, NF_A_FOCUS_PREV, NF_A_CANCEL, NF_A_RETRY,
	NF_A_ACK, NF_A_FILTER, NF_A_STATE_FILTER, NF_A_SORT, NF_A_CLEAR,
	/* moving in a list (a pane or the log view) */
	NF_A_UP, NF_A_DOWN, NF_A_PGUP, NF_A_PGDN, NF_A_TOP, NF_A_BOTTOM,
	/* the stages pane */
	NF_A_FOLD, NF_A_UNFOLD, NF_A_FOLD_TOGGLE,
	/* the log view */
	NF_A_BACK, NF_A_SEARCH, NF_A_NEXT, NF_A_PREV, NF_A_WRAP, NF_A_PAGER,
	/* the pages (views.c): a detail, the runs list, back to the live run; the registry's
	 * decisions; in a page: open the run under the cursor, the stage's log */
	NF_A_DETAIL, NF_A_RUNS, NF_A_LIVE, NF_A_PROMOTE, NF_A_ROLLBACK, NF_A_OPEN, NF_A_PAGE_LOG,
	NF_A__COUNT
} nf_key_action;

enum {
	NF_KF_LIVE = 1u << 0,        /* only while `ntflow run` runs the run: hidden elsewhere */
	NF_KF_KEEP = 1u << 1,        /* its hint stays in the footer beside a message (the way out, help) */
};

typedef struct nf_key_binding {
	int key;                     /* a character or a curses KEY_* code */
	const char *name;            /* as the help writes it: "j", "PgDn", "Shift-Tab" */
	nf_key_ctx ctx;
	nf_key_action action;
	unsigned flags;              /* NF_KF_* */
	const char *hint;            /* the footer's word for it ("move"); NULL: not in the footer */
	const char *help;            /* one line; consecutive bindings with the same text are one item */
} nf_key_binding;

extern const nf_key_binding nf_keys[];
extern const size_t nf_nkeys;

/* The binding of key where ctx has the focus (NF_KC_LOGVIEW alone; a page's context with
 * NF_KC_PAGE after it; or a pane's context, with
 * NF_KC_PANE and NF_KC_MAIN after it; pane false: a pane that does not scroll); NULL. */
const nf_key_binding *nf_keys_find(int key, nf_key_ctx ctx, bool pane);
/* The footer's hints for ctx ("  q quit  ? help  j/k move ..."); live: the NF_KF_LIVE ones
 * too; keep: only the NF_KF_KEEP ones. */
void nf_keys_hints(nf_buf *out, nf_key_ctx ctx, bool live, bool keep);
/* The ? overlay's lines, wrapped at width columns, one '\n' after each. */
void nf_keys_help(nf_buf *out, int width);
/* The man page's list of keys (roff), as man/ntflow.1 holds it between its markers. */
void nf_keys_man(nf_buf *out);
/* The titles of the contexts, for the overlay and the man page ("In the log view"). */
const char *nf_keys_ctx_title(nf_key_ctx ctx);

#endif
