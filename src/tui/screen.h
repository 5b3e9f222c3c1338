/* tui/screen.h: the dashboard itself, shared by tui.c (the screen and the loop) and live.c
 * (the callbacks of `ntflow run` and the summary). */
#ifndef NTFLOW_TUI_SCREEN_H
#define NTFLOW_TUI_SCREEN_H

#include "logview.h"
#include "page.h"

enum { P_HEADER, P_STAGES, P_GATE, P_REGISTRY, P_ALERTS, P_LOG, P__COUNT };
enum { MODE_MAIN, MODE_LOG, MODE_HELP, MODE_PAGE };
enum { PROMPT_NONE, PROMPT_QUIT, PROMPT_CANCEL, PROMPT_FILTER, PROMPT_SEARCH, PROMPT_ACK,
       PROMPT_PROMOTE, PROMPT_ROLLBACK };

struct nf_tui {
	nf_tui_opts opts;
	nf_view v;
	SCREEN *scr;
	FILE *out, *in;              /* --screen: the file drawn into, /dev/null for keys */
	bool on;                     /* curses holds the terminal */
	bool interactive;            /* keys come from the terminal */
	nf_pane panes[P__COUNT];
	size_t focus;                /* index in panes */
	bool wide;                   /* two columns */
	int wants[P__COUNT];         /* rows each pane wanted when laid out */
	WINDOW *footer;
	char footer_text[256];       /* as last drawn */
	WINDOW *full;                /* the log view and the help */
	int mode;
	int help_top, help_lines;    /* the ? overlay's first line shown, and how many it has */
	bool full_dirty, sep_dirty, relayout;
	nf_logview lv;
	nf_page page;                /* MODE_PAGE: the stage detail, a version, the runs list */
	int64_t live_run;            /* ntflow run: the run going on; 0 */
	bool log_from_page;          /* the log was opened from the stage detail: q goes back there */
	int prompt_version;          /* PROMPT_PROMOTE: the version (prompt_node: the model) */
	int prompt;
	char input[64];
	size_t ninput;
	char saved_filter[64];
	char *prompt_node;           /* PROMPT_CANCEL: the node; PROMPT_ACK: "alert 3 (drift/x high)" */
	int64_t prompt_alert;        /* PROMPT_ACK: the alert that was under the cursor */
	unsigned pending;            /* NF_V_* not yet drawn */
	int64_t last_frame, next_poll, last_sec;
	int frames;
	bool quit, detached, finished;
	bool cancel_asked;           /* q, then c: the whole run */
	nf_run_status final_status;
	nf_run_ctl *ctl;             /* during a tick of the run */
	/* The dashboard of `ntflow run` as a client of its executor process (opts.executor):
	 * whether the executor has ended, and its wait status. */
	bool exec_done;
	int exec_status;
	char **warnings;
	size_t nwarnings, wcap;
};

/* tui.c, for live.c */
void nf_tui__tick(nf_tui *t, nf_run_ctl *ctl);
void nf_tui__first_frame(nf_tui *t);
int nf_tui__wait_quit(nf_tui *t);
void nf_tui__set_mode(nf_tui *t, int mode);
/* views.c, for tui.c: the actions that open pages (true when it was one), a page's keys, the log
 * closing (true: back to the page it came from), the registry prompts (true when it was
 * one) and their text. */
bool nf_tui__views_action(nf_tui *t, int action);
void nf_tui__page_key(nf_tui *t, int ch);
/* The key table's context (nf_key_ctx) of the page shown. */
int nf_tui__page_ctx(const nf_tui *t);
bool nf_tui__log_closed(nf_tui *t);
bool nf_tui__views_prompt(nf_tui *t, int ch);
void nf_tui__views_prompt_text(nf_tui *t, char *out, size_t size);
/* live.c, for nf_tui_free */
void nf_tui__free_warnings(nf_tui *t);

#endif
