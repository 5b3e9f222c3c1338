/* tui.c: the dashboard's screen and loop. It owns the terminal (restored on every way
 * out), lays the panes out for the terminal's size, routes keys, and draws at most ten
 * frames a second, only the panes whose data changed, and nothing while nothing changes.
 * `ntflow dash` runs nf_tui_loop; `ntflow run` calls the nf_tui_run_* functions from its
 * callbacks (live.c), so the scheduler's loop stays the only loop. */
#include "config.h"
#include "screen.h"
#include "keys.h"
#include "ntflow/dag.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME_MS 100                 /* at most 10 frames a second */
#define POLL_MS 250                  /* data_version, the log's size */
#define WIDE_COLS 140

/* ---- the terminal, restored on every way out ---- */

static nf_tui *screen_owner;         /* the dashboard holding the terminal, for atexit/signals */
static volatile sig_atomic_t got_signal;

static void
restore_terminal(void)
{
	if (screen_owner && screen_owner->on && !isendwin()) {
		curs_set(1);
		endwin();
	}
}

static void
on_quit_signal(int sig)
{
	got_signal = sig;
}

static void
on_crash(int sig)
{
	/* Not async-signal-safe in theory; in practice what every curses program does, and
	 * better than leaving the user's terminal raw. */
	restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_handlers(bool own_interrupts)
{
	static bool once;
	struct sigaction sa;
	static const int crashes[] = {
#ifndef NF_SANITIZED   /* the sanitizers report these themselves */
		SIGSEGV, SIGBUS, SIGFPE, SIGILL,
#endif
		SIGABRT,
	};

	if (!once) {
		atexit(restore_terminal);
		once = true;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	sa.sa_flags = (int)SA_RESETHAND;
	for (size_t i = 0; i < NF_ARRAY_SIZE(crashes); i++)
		sigaction(crashes[i], &sa, NULL);
	if (own_interrupts) {
		/* Installed before curses starts, so it leaves them to us; no SA_RESTART, so the
		 * loop's poll() wakes up and leaves through the normal path. */
		sa.sa_handler = on_quit_signal;
		sa.sa_flags = 0;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
}

bool
nf_tui_wanted(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

int
nf_tui_parse_size(const char *s, int *cols, int *rows)
{
	char *end;
	long c = strtol(s, &end, 10), r;

	if (end != s && (*end == 'x' || *end == 'X')) {
		const char *rs = end + 1;

		r = strtol(rs, &end, 10);
		if (end != rs && !*end && c >= 20 && c <= 1000 && r >= 5 && r <= 1000) {
			*cols = (int)c;
			*rows = (int)r;
			return 0;
		}
	}
	return nf_error_set(NF_EINVALID, "--size '%s': expected COLSxROWS, like 100x30", s);
}

/* ---- layout ---- */

static void
pane_place(nf_pane *p, int y, int x, int h, int w, bool collapsed)
{
	if (p->win)
		delwin(p->win);
	p->win = NULL;
	p->y = y;
	p->x = x;
	p->h = h;
	p->w = w;
	p->collapsed = collapsed;
	p->dirty = true;
	if (h > 0 && w > 0)
		p->win = newwin(h, w, y, x);
	if (p->ops->on_resize)
		p->ops->on_resize(p, h, w);
}

static int
want(nf_tui *t, int i)
{
	nf_pane *p = &t->panes[i];
	int n = p->ops->want_rows ? p->ops->want_rows(p, &t->v) : p->ops->min_rows + 1;

	return n < 1 ? 1 : n;
}

/* Heights for a column of panes in rows. Each pane gets its title line (a summary when it
 * gets no more); the stages and the log a few rows; the focused pane what it wants; then
 * every pane grows towards its content one row in turn, so that panes that do not all fit
 * share the rows fairly and none is capped while rows stay blank; what is left after every
 * pane has its content goes to the log (or the column's last pane). */
static void
stack(nf_tui *t, const int *ids, size_t n, int y, int x, int w, int rows)
{
	int h[P__COUNT] = { 0 }, wants[P__COUNT] = { 0 }, left = rows;
	bool grew;

	for (size_t k = 0; k < n; k++) {
		h[ids[k]] = 1;
		wants[ids[k]] = want(t, ids[k]);
		left--;
	}
	/* a first look at the stages and the log */
	for (size_t k = 0; k < n && left > 0; k++) {
		int id = ids[k], give = id == P_STAGES ? (wants[id] < 6 ? wants[id] : 6) - 1 : id == P_LOG ? 2 : 0;

		give = give < left ? give : left;
		if (give > 0) {
			h[id] += give;
			left -= give;
		}
	}
	/* the focused pane, whole when it fits */
	for (size_t k = 0; k < n && left > 0; k++) {
		int id = ids[k], more = wants[id] - h[id];

		if ((size_t)id != t->focus || more <= 0)
			continue;
		more = more < left ? more : left;
		h[id] += more;
		left -= more;
	}
	/* everyone towards its content, a row at a time; the stages two for the others' one */
	do {
		grew = false;
		for (size_t k = 0; k < n && left > 0; k++) {
			int id = ids[k];

			for (int r = 0; r < (id == P_STAGES ? 2 : 1) && left > 0 && h[id] < wants[id]; r++) {
				h[id]++;
				left--;
				grew = true;
			}
		}
	} while (grew && left > 0);
	/* A pane the others crowd out opens fully or stays on its line (half a gate table says
	 * little); the stages, the log and the focused pane scroll, so they may get part. */
	for (size_t k = 0; k < n; k++) {
		int id = ids[k];

		if (id != P_STAGES && id != P_LOG && (size_t)id != t->focus && h[id] > 1 && h[id] < wants[id]) {
			left += h[id] - 1;
			h[id] = 1;
		}
	}
	for (size_t k = 0; k < n && left > 0; k++) {
		int id = ids[k], more = wants[id] - h[id];

		if ((id == P_STAGES || (size_t)id == t->focus) && more > 0) {
			more = more < left ? more : left;
			h[id] += more;
			left -= more;
		}
	}
	for (size_t k = 0; k < n && left > 0; k++) {
		if (ids[k] == P_LOG) {
			h[P_LOG] += left;
			left = 0;
		}
	}
	if (left > 0)
		h[ids[n - 1]] += left;
	for (size_t k = 0; k < n; k++) {
		int id = ids[k];

		pane_place(&t->panes[id], y, x, h[id], w, h[id] <= 1 && id != P_HEADER);
		y += h[id];
	}
}

static void
layout(nf_tui *t)
{
	int rows = LINES, cols = COLS, head = want(t, P_HEADER) > 1 && rows >= 8 ? 2 : 1, body = rows - 1 - head;

	t->relayout = false;
	t->wide = cols >= WIDE_COLS && body >= 16;
	pane_place(&t->panes[P_HEADER], 0, 0, head, cols, false);
	if (t->footer)
		delwin(t->footer);
	t->footer = newwin(1, cols, rows - 1, 0);
	t->footer_text[0] = '\1';   /* differs from anything: drawn next frame */
	if (body < 1)
		body = 1;
	if (t->wide) {
		int lw = cols * 3 / 5, log_h = body / 3 > 6 ? body / 3 : 6;
		static const int left[] = { P_STAGES, P_LOG };
		static const int right[] = { P_GATE, P_REGISTRY, P_ALERTS };

		(void)log_h;
		stack(t, left, 2, head, 0, lw, body);
		stack(t, right, 3, head, lw + 1, cols - lw - 1, body);
		/* the right column is not short of room: every pane open */
		for (int i = P_GATE; i <= P_ALERTS; i++)
			t->panes[i].collapsed = false;
	} else {
		static const int all[] = { P_STAGES, P_GATE, P_REGISTRY, P_ALERTS, P_LOG };

		stack(t, all, 5, head, 0, cols, body);
	}
	t->sep_dirty = t->wide;
	for (int i = 0; i < P__COUNT; i++)
		t->wants[i] = want(t, i);
}

/* A pane that wants more (or fewer) rows than when the layout was made: lay out again. */
static bool
wants_changed(nf_tui *t)
{
	for (int i = 0; i < P__COUNT; i++)
		if (want(t, i) != t->wants[i])
			return true;
	return false;
}

/* ---- drawing ---- */

static void
draw_pane(nf_tui *t, nf_pane *p)
{
	char buf[512];

	if (!p->win)
		return;
	werase(p->win);
	p->focused = (size_t)(p - t->panes) == t->focus && p->ops->focusable;
	if (p->collapsed && p->ops->summary) {
		p->ops->summary(p, &t->v, buf, sizeof(buf));
		nf_draw_title(p->win, 0, p->w, buf, p->focused);
	} else {
		p->ops->draw(p, &t->v, p->win);
	}
	wnoutrefresh(p->win);
	p->dirty = false;
}

/* The dashboard of `ntflow run`: in its process, or as the client of its executor. */
static bool
runs_it(const nf_tui *t)
{
	return t->opts.live || t->opts.executor > 0;
}

static bool run_going(const nf_tui *t);
static bool controllable(const nf_tui *t);
static nf_key_ctx focus_ctx(const nf_tui *t);

/* The footer's hints, from the key table: those of the main screen and the focused pane. */
static void
hints(nf_tui *t, char *out, size_t size, bool keep)
{
	nf_buf b = NF_BUF_INIT;

	if (runs_it(t) && t->finished && !t->interactive) {
		snprintf(out, size, " finished");
		return;
	}
	if (runs_it(t) && t->finished)
		nf_buf_puts(&b, " finished \xe2\x80\x94 q to exit ");
	nf_keys_hints(&b, t->mode == MODE_LOG ? NF_KC_LOGVIEW : t->mode == MODE_PAGE ? (nf_key_ctx)nf_tui__page_ctx(t) : focus_ctx(t),
		      controllable(t), keep);
	if (!runs_it(t) && !controllable(t) && t->mode == MODE_MAIN && !keep)
		nf_buf_puts(&b, "  (read-only)");
	/* one space before the first hint, as before every line of the footer */
	snprintf(out, size, "%s", nf_buf_cstr(&b) + (b.len > 1 && b.buf[0] == ' ' && b.buf[1] == ' '));
	nf_buf_release(&b);
}

static void
footer_text(nf_tui *t, char *out, size_t size)
{
	switch (t->prompt) {
	case PROMPT_QUIT:
		snprintf(out, size, " The run is still going: c cancel it, d detach (it goes on), any other key stays");
		return;
	case PROMPT_CANCEL:
		snprintf(out, size, " Cancel %s? (y/n)", t->prompt_node ? t->prompt_node : "");
		return;
	case PROMPT_ACK:
		snprintf(out, size, " Acknowledge %s? (y/n)", t->prompt_node ? t->prompt_node : "");
		return;
	case PROMPT_PROMOTE:
	case PROMPT_ROLLBACK:
		nf_tui__views_prompt_text(t, out, size);
		return;
	case PROMPT_FILTER:
		snprintf(out, size, " filter: %s_", t->input);
		return;
	case PROMPT_SEARCH:
		snprintf(out, size, " /%s_", t->input);
		return;
	default:
		break;
	}
	if (t->v.message[0] && nf_now_monotonic_ms() < t->v.message_until) {
		/* A message until it expires; the way out and the help stay in front of it. */
		char keep[96];

		nf_buf b = NF_BUF_INIT;

		hints(t, keep, sizeof(keep), true);
		nf_buf_printf(&b, "%s  \xe2\x94\x82 %s", keep, t->v.message);
		snprintf(out, size, "%s", nf_buf_cstr(&b));   /* the screen cuts it anyway */
		nf_buf_release(&b);
	} else {
		t->v.message[0] = '\0';
		hints(t, out, size, false);
	}
	/* ASCII terminals get a plain dash and bar. */
	if (!nf_draw_utf8()) {
		char *em;

		while ((em = strstr(out, "\xe2\x80\x94")) || (em = strstr(out, "\xe2\x94\x82"))) {
			em[0] = em[2] == '\x94' ? '-' : '|';
			memmove(em + 1, em + 3, strlen(em + 3) + 1);
		}
	}
}

static void
draw_footer(nf_tui *t, bool force)
{
	char buf[sizeof(t->footer_text)];

	if (!t->footer)
		return;
	footer_text(t, buf, sizeof(buf));
	if (!force && strcmp(buf, t->footer_text) == 0)
		return;
	snprintf(t->footer_text, sizeof(t->footer_text), "%s", buf);
	werase(t->footer);
	wattrset(t->footer, t->prompt ? A_BOLD : (runs_it(t) && t->finished) ? A_REVERSE | A_BOLD
		 : nf_draw_attr(NF_C_DIM));
	if (t->prompt || (runs_it(t) && t->finished))
		mvwhline(t->footer, 0, 0, ' ', COLS);
	nf_draw_text(t->footer, 0, 0, COLS, buf);
	wattrset(t->footer, A_NORMAL);
	wnoutrefresh(t->footer);
}

/* The ? overlay: every key of the table, wrapped at 80 columns (or the screen's width),
 * the state symbols, scrolled with the keys that move. */
static void
draw_help(nf_tui *t)
{
	WINDOW *w = t->full;
	nf_buf b = NF_BUF_INIT;
	int width = COLS - 2 < 80 ? COLS - 2 : 80, body = LINES - 2, y = 0, n = 0;
	const char *p;

	nf_buf_puts(&b, "ntflow dashboard keys\n\n");
	nf_keys_help(&b, width);
	nf_buf_puts(&b, "\nThe mouse: a click selects a row or focuses a pane; the wheel scrolls.\n");
	nf_buf_puts(&b, "\nStates:\n");
	for (int s = 0; s < NF_ST__COUNT; s++) {
		nf_buf_printf(&b, "  %s %s", nf_draw_state_symbol((nf_state)s), nf_state_name((nf_state)s));
		if (s % 6 == 5 || s == NF_ST__COUNT - 1)
			nf_buf_putc(&b, '\n');
	}
	for (p = nf_buf_cstr(&b); *p; p = strchr(p, '\n') + 1) {
		n++;
		if (!strchr(p, '\n'))
			break;
	}
	t->help_lines = n;
	if (t->help_top > n - body)
		t->help_top = n - body > 0 ? n - body : 0;
	werase(w);
	p = nf_buf_cstr(&b);
	for (int i = 0; *p && y < body; i++) {
		const char *nl = strchr(p, '\n');
		char line[256];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (i >= t->help_top) {
			snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
			wattrset(w, i == 0 || (len && line[len - 1] == ':' && line[0] != ' ') ? A_BOLD : A_NORMAL);
			nf_draw_text(w, y + 1, 1, COLS - 1, line);
			y++;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	wattrset(w, nf_draw_attr(NF_C_DIM));
	nf_draw_printf(w, LINES - 1, 1, COLS - 1, "%s", n > body ? "j/k PgUp/PgDn scroll; any other key goes back"
		       : "Any key goes back.");
	wattrset(w, A_NORMAL);
	wnoutrefresh(w);
	nf_buf_release(&b);
}

static void
frame(nf_tui *t)
{
	const char *crash;

	if (!t->on)
		return;
	if (t->relayout || (t->mode == MODE_MAIN && wants_changed(t)))
		layout(t);
	if (t->mode == MODE_MAIN) {
		for (int i = 0; i < P__COUNT; i++) {
			nf_pane *p = &t->panes[i];

			if (p->ops->deps & t->pending)
				p->dirty = true;
			if (p->dirty)
				draw_pane(t, p);
		}
		if (t->sep_dirty && t->wide) {
			/* the gutter between the two columns */
			int head = t->panes[P_HEADER].h, h = LINES - 1 - head;
			WINDOW *w = h > 0 ? newwin(h, 1, head, t->panes[P_GATE].x - 1) : NULL;

			if (w) {
				wattrset(w, nf_draw_attr(NF_C_DIM));
				for (int y = 0; y < h; y++)
					mvwaddstr(w, y, 0, nf_draw_sym("\xe2\x94\x82", "|"));
				wnoutrefresh(w);
				delwin(w);
			}
			t->sep_dirty = false;
		}
		draw_footer(t, false);
	} else {
		char foot[256];

		if (t->mode == MODE_PAGE) {
			/* the footer's prompt or message comes and goes: drawn when it changed */
			footer_text(t, foot, sizeof(foot));
			if (strcmp(foot, t->footer_text) != 0)
				t->full_dirty = true;
		}
		if (t->full_dirty) {
			if (t->mode == MODE_HELP)
				draw_help(t);
			else if (t->mode == MODE_PAGE) {
				snprintf(t->footer_text, sizeof(t->footer_text), "%s", foot);
				nf_page_draw(&t->page, t->full, LINES, COLS, foot);
				wnoutrefresh(t->full);
			} else {
				footer_text(t, foot, sizeof(foot));
				nf_logview_draw(&t->lv, t->full, LINES, COLS, foot);
				wnoutrefresh(t->full);
			}
			t->full_dirty = false;
		}
	}
	doupdate();
	untouchwin(stdscr);
	t->pending = 0;
	t->last_frame = nf_now_monotonic_ms();
	t->frames++;
	/* A crash while the screen is held: the tests check the terminal is given back. */
	if ((crash = nf_test_hook_value("NTFLOW_TEST_TUI_CRASH")) && t->frames == atoi(crash))
		abort();
}

static void
all_dirty(nf_tui *t)
{
	for (int i = 0; i < P__COUNT; i++)
		t->panes[i].dirty = true;
	t->sep_dirty = true;
	t->footer_text[0] = '\1';
	t->full_dirty = true;
}

/* ---- keys ---- */

void
nf_tui__set_mode(nf_tui *t, int mode)
{
	t->mode = mode;
	if (t->full)
		delwin(t->full);
	t->full = NULL;
	if (mode != MODE_MAIN)
		t->full = newwin(LINES, COLS, 0, 0);
	all_dirty(t);
}

/* Cancels the run ("cancel"), a node ("cancel-node") or retries one ("retry-node"): through
 * the run's ctl during a tick inside `ntflow run`, else through the control channel of the
 * run's executor process (a client, or `ntflow dash` on a run started that way). */
static int
act(nf_tui *t, const char *cmd, const char *node)
{
	int err;

	if (t->ctl) {
		if (strcmp(cmd, "cancel") == 0) {
			nf_run_ctl_cancel(t->ctl);
			return 0;
		}
		return strcmp(cmd, "cancel-node") == 0 ? nf_run_ctl_cancel_node(t->ctl, node)
			: nf_run_ctl_retry_node(t->ctl, node);
	}
	if (t->opts.live)
		return nf_error_set(NF_EINVALID, "the run has ended");
	if ((err = nf_run_control_send(t->v.state_dir, t->v.run_id, cmd, node)) == 0)
		return 0;
	/* The client of an executor without its channel can still cancel the whole run, as
	 * Ctrl-C does. */
	if (t->opts.executor > 0 && !t->exec_done && strcmp(cmd, "cancel") == 0 &&
	    kill(t->opts.executor, SIGTERM) == 0) {
		nf_error_clear();
		return 0;
	}
	return err;
}

static void
detach(nf_tui *t)
{
	t->detached = true;
	if (t->opts.executor > 0) {
		/* A client: leaving is all; `ntflow run` says how to come back. */
		t->quit = true;
		return;
	}
	if (t->ctl)
		nf_run_ctl_wake_fd(t->ctl, -1);
	nf_tui_end(t);
	/* The run goes on in this process: a closed terminal must not stop it. */
	signal(SIGHUP, SIG_IGN);
	printf("ntflow: detached; run %lld goes on (watch it with: ntflow dash %lld)\n", (long long)t->v.run_id,
	       (long long)t->v.run_id);
	fflush(stdout);
}

static void
prompt_key(nf_tui *t, int ch)
{
	int p = t->prompt;

	if (nf_tui__views_prompt(t, ch))
		return;
	if (p == PROMPT_QUIT) {
		t->prompt = PROMPT_NONE;
		if (ch == 'c') {
			if (act(t, "cancel", NULL) < 0) {
				nf_view_message(&t->v, "%s", nf_error_last());
			} else {
				t->cancel_asked = true;
				nf_view_message(&t->v, "cancelling the run");
			}
		} else if (ch == 'd') {
			detach(t);
		}
		return;
	}
	if (p == PROMPT_CANCEL) {
		t->prompt = PROMPT_NONE;
		if (ch != 'y' && ch != 'Y') {
			nf_view_message(&t->v, "%s not cancelled", t->prompt_node);
		} else if (act(t, "cancel-node", t->prompt_node) < 0) {
			nf_view_message(&t->v, "%s", nf_error_last());
		} else {
			nf_view_message(&t->v, "cancelling %s", t->prompt_node);
		}
		return;
	}
	if (p == PROMPT_ACK) {
		t->prompt = PROMPT_NONE;
		if (ch != 'y' && ch != 'Y') {
			nf_view_message(&t->v, "alert %lld not acknowledged", (long long)t->prompt_alert);
			return;
		}
		if (nf_view_ack_alert(&t->v, t->prompt_alert) < 0)
			nf_view_message(&t->v, "%s", nf_error_last());
		else
			nf_view_message(&t->v, "alert %lld acknowledged", (long long)t->prompt_alert);
		nf_view_reload_gov(&t->v);   /* look again at once */
		t->next_poll = 0;
		return;
	}
	/* A line of text: the filter applies as it is typed; a search when Enter is pressed. */
	if (ch == 27) {
		if (p == PROMPT_FILTER) {
			snprintf(t->v.filter, sizeof(t->v.filter), "%s", t->saved_filter);
			nf_view_rows(&t->v);
			t->pending |= NF_V_ROWS;
		}
		t->prompt = PROMPT_NONE;
		t->full_dirty = true;
		return;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		t->prompt = PROMPT_NONE;
		if (p == PROMPT_SEARCH && t->input[0] && !nf_logview_search(&t->lv, t->input, LINES))
			nf_view_message(&t->v, "not found: %s", t->input);
		t->full_dirty = true;
		return;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (t->ninput > 0)
			t->input[--t->ninput] = '\0';
	} else if (ch >= 0x20 && ch < 0x7f && t->ninput + 1 < sizeof(t->input)) {
		t->input[t->ninput++] = (char)ch;
		t->input[t->ninput] = '\0';
	} else {
		return;
	}
	if (p == PROMPT_FILTER) {
		snprintf(t->v.filter, sizeof(t->v.filter), "%s", t->input);
		nf_view_rows(&t->v);
		t->v.sel_auto = false;
		t->pending |= NF_V_ROWS;
	}
	t->full_dirty = true;
}

static void
start_prompt(nf_tui *t, int prompt, const char *initial)
{
	t->prompt = prompt;
	snprintf(t->input, sizeof(t->input), "%s", initial ? initial : "");
	t->ninput = strlen(t->input);
}

static void
focus_next(nf_tui *t, int dir)
{
	size_t n = P__COUNT, f = t->focus;

	do
		f = (f + n + (size_t)dir) % n;
	while (!t->panes[f].ops->focusable);
	t->focus = f;
	t->relayout = !t->wide;   /* stacked: the focused pane opens */
	all_dirty(t);
}

static bool
run_going(const nf_tui *t)
{
	return runs_it(t) && !t->finished;
}

/* c and r act: in `ntflow run`'s dashboard while the run goes on, and in `ntflow dash` on a
 * running run whose executor has a control channel (started on a terminal or --detach). */
static bool
controllable(const nf_tui *t)
{
	if (runs_it(t))
		return run_going(t);
	return t->v.have_run && t->v.run.status == NF_RUN_RUNNING &&
	       nf_run_control_available(t->v.state_dir, t->v.run_id);
}

static nf_key_ctx
focus_ctx(const nf_tui *t)
{
	switch (t->focus) {
	case P_STAGES: return NF_KC_STAGES;
	case P_REGISTRY: return NF_KC_REGISTRY;
	case P_ALERTS: return NF_KC_ALERTS;
	default: return NF_KC_PANE;
	}
}

/* `o` in the log view: the log in $PAGER (less when unset), the screen given back to it
 * meanwhile, as git and tig do. */
static void
open_pager(nf_tui *t)
{
	const char *pager = getenv("PAGER");
	char *cmd;
	int rc;

	if (!t->lv.path || t->lv.size < 0) {
		nf_view_message(&t->v, "no log file to page");
		return;
	}
	if (!t->interactive) {
		nf_view_message(&t->v, "no terminal for a pager");
		return;
	}
	if (!pager || !*pager)
		pager = "less";
	{
		nf_buf q = NF_BUF_INIT;

		nf_sh_quote(&q, NF_SH_BARE_QUOTED, t->lv.path);
		cmd = xasprintf("%s %s", pager, nf_buf_cstr(&q));
		nf_buf_release(&q);
	}
	def_prog_mode();
	endwin();
	rc = system(cmd);
	reset_prog_mode();
	clearok(curscr, TRUE);
	all_dirty(t);
	if (rc != 0)
		nf_view_message(&t->v, "%s exited with status %d", pager, WIFEXITED(rc) ? WEXITSTATUS(rc) : rc);
	free(cmd);
}

static void
main_action(nf_tui *t, const nf_key_binding *b)
{
	ssize_t sel = nf_view_sel_node(&t->v);

	switch (b->action) {
	case NF_A_QUIT:
		if (run_going(t))
			t->prompt = PROMPT_QUIT;
		else
			t->quit = true;
		return;
	case NF_A_HELP:
		t->help_top = 0;
		nf_tui__set_mode(t, MODE_HELP);
		return;
	case NF_A_FOCUS_NEXT:
		focus_next(t, 1);
		return;
	case NF_A_FOCUS_PREV:
		focus_next(t, -1);
		return;
	case NF_A_DETAIL:
	case NF_A_RUNS:
	case NF_A_LIVE:
	case NF_A_PROMOTE:
	case NF_A_ROLLBACK:
		nf_tui__views_action(t, b->action);
		return;
	case NF_A_CANCEL:
		if (!controllable(t))
			nf_view_message(&t->v, t->opts.live ? "the run has ended"
					: "read-only: cancel from the terminal running it (ntflow run)");
		else if (sel < 0)
			nf_view_message(&t->v, "no stage selected");
		else if (nf_state_is_final(t->v.nodes[sel].state))
			nf_view_message(&t->v, "%s has already ended (%s)", t->v.nodes[sel].name,
					nf_state_name(t->v.nodes[sel].state));
		else {
			free(t->prompt_node);
			t->prompt_node = xstrdup(t->v.nodes[sel].name);
			t->prompt = PROMPT_CANCEL;
		}
		return;
	case NF_A_RETRY:
		if (!controllable(t))
			nf_view_message(&t->v, t->opts.live ? "the run has ended; start a new one with ntflow run --from STAGE"
					: "read-only: retry from the terminal running it (ntflow run)");
		else if (sel < 0)
			nf_view_message(&t->v, "no stage selected");
		else if (act(t, "retry-node", t->v.nodes[sel].name) < 0)
			nf_view_message(&t->v, "%s", nf_error_last());
		else
			nf_view_message(&t->v, "retrying %s", t->v.nodes[sel].name);
		return;
	case NF_A_ACK:
		/* Only the alert the cursor is on, which only the focused alerts pane shows. */
		if (t->v.nalerts == 0) {
			nf_view_message(&t->v, "no open alert");
		} else if (t->focus != P_ALERTS) {
			nf_view_message(&t->v, "Tab to the alerts pane and put the cursor on the alert to acknowledge");
		} else {
			const nf_valert *a = &t->v.alerts[t->v.alert_sel];

			free(t->prompt_node);
			t->prompt_node = xasprintf("alert %lld (%s/%s %s)", (long long)a->id, a->monitor, a->rule,
						   a->severity);
			t->prompt_alert = a->id;
			t->prompt = PROMPT_ACK;
		}
		return;
	case NF_A_FILTER:
		snprintf(t->saved_filter, sizeof(t->saved_filter), "%s", t->v.filter);
		start_prompt(t, PROMPT_FILTER, t->v.filter);
		return;
	case NF_A_STATE_FILTER:
		t->v.state_filter = (t->v.state_filter + 1) % NF_SF__COUNT;
		t->v.sel_auto = false;
		nf_view_rows(&t->v);
		nf_view_message(&t->v, "showing %s stages", nf_view_state_filter_names[t->v.state_filter]);
		t->pending |= NF_V_ROWS;
		return;
	case NF_A_SORT:
		t->v.sort = (t->v.sort + 1) % NF_SORT__COUNT;
		nf_view_rows(&t->v);
		nf_view_message(&t->v, "stages by %s", nf_view_sort_names[t->v.sort]);
		t->pending |= NF_V_ROWS;
		return;
	case NF_A_CLEAR:
		if (t->v.filter[0] || t->v.state_filter) {
			t->v.filter[0] = '\0';
			t->v.state_filter = NF_SF_ALL;
			nf_view_rows(&t->v);
			t->pending |= NF_V_ROWS;
		}
		return;
	default:
		break;
	}
	{
		/* What moves acts on the focused pane, and only there. */
		nf_pane *p = &t->panes[t->focus];

		if (p->ops->on_action && p->ops->on_action(p, &t->v, b->action)) {
			t->pending |= NF_V_ROWS | NF_V_REG | NF_V_ALERTS;
			t->pending |= nf_view_log(&t->v, 400);
		}
	}
}

/* The pane at screen position (y, x), or -1. */
static int
pane_at(const nf_tui *t, int y, int x)
{
	for (int i = 0; i < P__COUNT; i++) {
		const nf_pane *p = &t->panes[i];

		if (p->win && y >= p->y && y < p->y + p->h && x >= p->x && x < p->x + p->w)
			return i;
	}
	return -1;
}

/* A click focuses the pane under it and selects the row; the wheel scrolls that pane (or
 * the log view, or the help). */
static void
handle_mouse(nf_tui *t)
{
	MEVENT me;
	int wheel = 0, i;
	nf_pane *p;

	if (getmouse(&me) != OK)
		return;
	if (me.bstate & BUTTON4_PRESSED)
		wheel = NF_A_UP;
#ifdef BUTTON5_PRESSED
	else if (me.bstate & BUTTON5_PRESSED)
		wheel = NF_A_DOWN;
#endif
	if (t->mode == MODE_LOG) {
		for (int k = 0; wheel && k < 3; k++)
			nf_logview_on_action(&t->lv, wheel, LINES);
		t->full_dirty = true;
		return;
	}
	if (t->mode == MODE_PAGE) {
		for (int k = 0; wheel && k < 3; k++)
			nf_page_on_action(&t->page, wheel, LINES);
		t->full_dirty = true;
		return;
	}
	if (t->mode == MODE_HELP) {
		if (wheel)
			t->help_top += wheel == NF_A_UP ? (t->help_top > 3 ? -3 : -t->help_top) : 3;
		t->full_dirty = true;
		return;
	}
	if (t->prompt || (i = pane_at(t, me.y, me.x)) < 0)
		return;
	p = &t->panes[i];
	if (!(me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)) && !wheel)
		return;
	if ((size_t)i != t->focus && p->ops->focusable) {
		t->focus = (size_t)i;
		t->relayout = !t->wide;
		all_dirty(t);
	}
	if (wheel) {
		for (int k = 0; k < 3 && p->ops->on_action; k++)
			p->ops->on_action(p, &t->v, wheel);
	} else if (p->ops->on_click) {
		/* the row the user saw: the pane's place before focusing lays the screen out again */
		p->ops->on_click(p, &t->v, me.y - p->y);
	}
	t->pending |= NF_V_ROWS | NF_V_REG | NF_V_ALERTS;
	t->pending |= nf_view_log(&t->v, 400);
}

static void
handle_key(nf_tui *t, int ch)
{
	const nf_key_binding *b;

	if (ch == KEY_RESIZE) {
		t->relayout = true;
		clearok(curscr, TRUE);
		if (t->mode != MODE_MAIN)
			nf_tui__set_mode(t, t->mode);
		all_dirty(t);
		return;
	}
	if (ch == KEY_MOUSE) {
		handle_mouse(t);
		return;
	}
	if (t->prompt) {
		prompt_key(t, ch);
		return;
	}
	if (t->mode == MODE_HELP) {
		/* the keys that move scroll the help; any other goes back */
		b = nf_keys_find(ch, NF_KC_LOGVIEW, false);
		if (b && b->action >= NF_A_UP && b->action <= NF_A_BOTTOM) {
			size_t top = (size_t)t->help_top;

			nf_view_list_move(&top, (size_t)(t->help_lines > LINES - 2 ? t->help_lines - (LINES - 2) + 1 : 1),
					  b->action, LINES - 3);
			t->help_top = (int)top;
			t->full_dirty = true;
			return;
		}
		nf_tui__set_mode(t, MODE_MAIN);
		return;
	}
	if (t->mode == MODE_PAGE) {
		nf_tui__page_key(t, ch);
		return;
	}
	if (t->mode == MODE_LOG) {
		if (!(b = nf_keys_find(ch, NF_KC_LOGVIEW, false)))
			return;
		if (b->action == NF_A_PAGER) {
			open_pager(t);
			return;
		}
		switch (nf_logview_on_action(&t->lv, b->action, LINES)) {
		case NF_LOGVIEW_CLOSE:
			if (!nf_tui__log_closed(t))
				nf_tui__set_mode(t, MODE_MAIN);
			return;
		case NF_LOGVIEW_SEARCH:
			start_prompt(t, PROMPT_SEARCH, NULL);
			break;
		case NF_LOGVIEW_NOMATCH:
			nf_view_message(&t->v, "no more matches for '%s'", t->lv.search);
			break;
		default:
			break;
		}
		t->full_dirty = true;
		return;
	}
	if ((b = nf_keys_find(ch, focus_ctx(t), t->panes[t->focus].ops->on_action != NULL)))
		main_action(t, b);
}

static void
read_keys(nf_tui *t)
{
	int ch;

	if (!t->interactive || !t->on)
		return;
	while (t->on && (ch = wgetch(stdscr)) != ERR)
		handle_key(t, ch);
}

/* ---- the work of one turn, shared by the dash loop and the run's ticks ---- */

static bool
anything_active(const nf_tui *t)
{
	if (t->v.have_run && t->v.run.status == NF_RUN_RUNNING && !t->finished)
		return true;
	return false;
}

static void
turn(nf_tui *t, int64_t now)
{
	if ((t->pending & NF_V_NODES) && (t->v.sort != NF_SORT_DAG || t->v.state_filter)) {
		nf_view_rows(&t->v);   /* states and times moved rows */
		t->pending |= NF_V_ROWS;
	}
	if ((t->pending & NF_V_NODES) && nf_view_autoselect(&t->v))
		t->pending |= NF_V_ROWS;
	if (now >= t->next_poll) {
		unsigned ch = nf_view_poll(&t->v);

		t->next_poll = now + POLL_MS;
		if ((ch & NF_V_NODES) && (t->v.sort != NF_SORT_DAG || t->v.state_filter))
			nf_view_rows(&t->v);
		if ((ch & (NF_V_NODES | NF_V_ROWS)) && nf_view_autoselect(&t->v))
			ch |= NF_V_ROWS;
		t->pending |= ch;
		t->pending |= nf_view_log(&t->v, 400);
		if (t->mode == MODE_LOG && nf_logview_poll(&t->lv, LINES))
			t->full_dirty = true;
	}
	{
		/* The clock: every second while the run goes on, every minute for the ages. */
		int64_t sec = nf_now_realtime_ms() / (anything_active(t) ? 1000 : 60000);

		if (sec != t->last_sec) {
			t->last_sec = sec;
			t->pending |= NF_V_CLOCK;
		}
		/* tenths of a second on the running stages: the stages pane alone, at the frame rate */
		if (anything_active(t) && t->mode == MODE_MAIN && now - t->last_frame >= FRAME_MS)
			t->pending |= NF_V_TENTH;
	}
	if (t->v.message[0] && now >= t->v.message_until)
		t->pending |= NF_V_CLOCK;   /* the footer goes back to the hints */
}

static bool
frame_due(nf_tui *t, int64_t now)
{
	if (now - t->last_frame < FRAME_MS)
		return false;
	if (t->pending || t->relayout || t->full_dirty)
		return true;
	if ((t->footer && t->mode == MODE_MAIN) || t->mode == MODE_PAGE) {
		char buf[sizeof(t->footer_text)];

		footer_text(t, buf, sizeof(buf));
		return strcmp(buf, t->footer_text) != 0;
	}
	return false;
}

/* ---- setup ---- */

int
nf_tui_new(nf_tui **out, const nf_tui_opts *opts)
{
	static const nf_pane_ops *const ops[P__COUNT] = {
		&nf_pane_header, &nf_pane_stages, &nf_pane_gate, &nf_pane_registry, &nf_pane_alerts, &nf_pane_log,
	};
	nf_tui *t;
	int err;

	*out = NULL;
	t = xcalloc(1, sizeof(*t));
	t->opts = *opts;
	if (!t->opts.cols || !t->opts.rows) {
		t->opts.cols = 100;
		t->opts.rows = 30;
	}
	for (int i = 0; i < P__COUNT; i++)
		t->panes[i].ops = ops[i];
	t->focus = P_STAGES;
	if ((err = nf_view_open(&t->v, opts->state_dir, opts->run_id, opts->live, opts->dag_path)) < 0) {
		nf_view_close(&t->v);
		free(t);
		return err;
	}
	t->v.run_dash = opts->live || opts->executor > 0;
	if (opts->screen) {
		const char *term = getenv("TERM");

		t->out = fopen(opts->screen, "w");
		t->in = fopen("/dev/null", "r");
		if (!t->out || !t->in) {
			err = nf_error_set_errno(NF_EIO, "cannot open '%s'", opts->screen);
			goto fail;
		}
		if (!term || !*term || strcmp(term, "dumb") == 0)
			term = "xterm-256color";
		install_handlers(!opts->live);
		if (!(t->scr = newterm(term, t->out, t->in))) {
			err = nf_error_set(NF_EIO, "cannot draw for terminal type '%s'", term);
			goto fail;
		}
		resizeterm(t->opts.rows, t->opts.cols);
	} else {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			err = nf_error_set(NF_EIO, "the dashboard needs a terminal (or --screen FILE)");
			goto fail;
		}
		install_handlers(!opts->live);
		if (!(t->scr = newterm(NULL, stdout, stdin))) {
			err = nf_error_set(NF_EIO, "cannot use terminal type '%s'", getenv("TERM") ? getenv("TERM") : "");
			goto fail;
		}
		t->interactive = true;
	}
	set_term(t->scr);
	t->on = true;
	screen_owner = t;
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	curs_set(0);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	leaveok(stdscr, TRUE);
	nf_draw_init(false, false);
	if (t->interactive) {
		/* clicks and the wheel; presses at once, not held back to tell a click */
		mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
			  | BUTTON5_PRESSED
#endif
			  , NULL);
		mouseinterval(0);
	}
	wnoutrefresh(stdscr);
	t->relayout = true;
	t->pending = NF_V_ALL;
	t->v.sel_auto = true;
	*out = t;
	return 0;
fail:
	nf_view_close(&t->v);
	if (t->out)
		fclose(t->out);
	if (t->in)
		fclose(t->in);
	free(t);
	return err;
}

void
nf_tui_end(nf_tui *t)
{
	if (!t || !t->on)
		return;
	for (int i = 0; i < P__COUNT; i++) {
		if (t->panes[i].win)
			delwin(t->panes[i].win);
		t->panes[i].win = NULL;
	}
	if (t->footer)
		delwin(t->footer);
	if (t->full)
		delwin(t->full);
	t->footer = t->full = NULL;
	curs_set(1);
	endwin();
	t->on = false;
	if (screen_owner == t)
		screen_owner = NULL;
	delscreen(t->scr);
	t->scr = NULL;
	if (t->out)
		fclose(t->out);
	if (t->in)
		fclose(t->in);
	t->out = t->in = NULL;
}

void
nf_tui_free(nf_tui *t)
{
	if (!t)
		return;
	nf_tui_end(t);
	nf_logview_release(&t->lv);
	nf_page_release(&t->page);
	nf_view_close(&t->v);
	nf_tui__free_warnings(t);
	free(t->prompt_node);
	free(t);
}

/* ---- ntflow dash ---- */

/* A key is waiting: the turn ends and the next one reads it. */
static void
on_terminal(nf_loop *l, int fd, void *ctx)
{
	(void)l;
	(void)fd;
	(void)ctx;
}

/* The client's executor has ended: the last picture from the store, then "finished — q to
 * exit", or the end at once when the run was cancelled from here or nobody reads keys.
 * True when the loop should end. */
static bool
reap_executor(nf_tui *t)
{
	int st;

	if (t->opts.executor <= 0 || t->exec_done || waitpid(t->opts.executor, &st, WNOHANG) != t->opts.executor)
		return false;
	t->exec_done = true;
	t->exec_status = st;
	t->finished = true;
	nf_view_reload_gov(&t->v);
	t->pending |= nf_view_poll(&t->v);
	t->final_status = t->v.run.status;
	t->next_poll = 0;
	if (!t->interactive || t->cancel_asked) {
		nf_tui__first_frame(t);
		return true;
	}
	return false;
}

bool
nf_tui_executor_status(const nf_tui *t, int *wstatus)
{
	if (t->exec_done)
		*wstatus = t->exec_status;
	return t->exec_done;
}

int
nf_tui_loop(nf_tui *t)
{
	nf_clock *clock;
	nf_loop *loop;
	int err = 0;

	nf_loop_new(&loop, NULL);
	clock = nf_loop_clock(loop);
	if (t->interactive && (err = nf_loop_add_file(loop, STDIN_FILENO, on_terminal, t)) < 0) {
		nf_loop_free(loop);
		return err;
	}
	while (!t->quit && t->on) {
		int64_t now = nf_now_monotonic_ms(), timeout;

		if (got_signal && t->opts.executor > 0 && !t->exec_done && got_signal != SIGHUP) {
			/* The client of a run started here: Ctrl-C cancels the run as it always did
			 * (a second one stops its stages at once), by passing it on. */
			kill(t->opts.executor, got_signal);
			got_signal = 0;
			t->cancel_asked = true;
			nf_view_message(&t->v, "cancelling the run (Ctrl-C again stops its stages at once)");
		} else if (got_signal) {
			/* `ntflow dash`: Ctrl-C only leaves; a run going on, in a process of its own,
			 * goes on. */
			t->detached = got_signal == SIGINT && !t->opts.live && anything_active(t);
			err = nf_error_set(NF_EINTR, "interrupted");
			break;
		}
		if (reap_executor(t))
			break;
		read_keys(t);
		if (t->quit || !t->on)
			break;
		turn(t, now);
		if (t->opts.max_frames > 0 && now - t->last_frame >= FRAME_MS)
			all_dirty(t);   /* headless: a frame every tick, changed or not */
		if (frame_due(t, now))
			frame(t);
		if (t->opts.max_frames > 0 && t->frames >= t->opts.max_frames)
			break;
		/* Sleep until a key, the next look at the database, the clock's next second, or
		 * the next allowed frame when one is waiting. */
		now = nf_now_monotonic_ms();
		timeout = t->next_poll - now;
		if (anything_active(t)) {
			int64_t to_sec = 1000 - nf_now_realtime_ms() % 1000;

			if (to_sec < timeout)
				timeout = to_sec;
		}
		if ((t->pending || t->relayout || t->opts.max_frames > 0) && t->last_frame + FRAME_MS - now < timeout)
			timeout = t->last_frame + FRAME_MS - now;
		if (t->v.message[0] && t->v.message_until - now < timeout)
			timeout = t->v.message_until - now;
		if (timeout < 0)
			timeout = 0;
		/* A signal ends the turn too (ppoll's EINTR), and got_signal is seen above. */
		if ((err = nf_loop_turn(loop, clock->now_ms(clock) + timeout)) < 0) {
			err = nf_error_set(NF_EIO, "%s", nf_error_last());
			break;
		}
		err = 0;
	}
	nf_loop_free(loop);
	return err;
}

/* ---- ntflow run (the parts that need the loop's internals) ---- */

void
nf_tui__tick(nf_tui *t, nf_run_ctl *ctl)
{
	int64_t now = nf_now_monotonic_ms();

	if (!t->on || t->detached)
		return;
	t->ctl = ctl;
	read_keys(t);
	if (t->on && !t->detached) {
		turn(t, now);
		if (frame_due(t, now))
			frame(t);
	}
	t->ctl = NULL;
}

void
nf_tui__first_frame(nf_tui *t)
{
	if (!t->on)
		return;
	all_dirty(t);
	clearok(curscr, TRUE);
	t->pending |= NF_V_ALL;
	t->last_frame = 0;
	t->pending |= nf_view_log(&t->v, 400);
	frame(t);
}

int
nf_tui__wait_quit(nf_tui *t)
{
	t->next_poll = 0;
	t->pending |= NF_V_ALL;
	return nf_tui_loop(t);
}
