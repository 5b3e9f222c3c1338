/* tui.c: the dashboard's screen and loop. It owns the terminal (restored on every way
 * out), lays the panes out for the terminal's size, routes keys, and draws at most ten
 * frames a second, only the panes whose data changed, and nothing while nothing changes.
 * `ntflow dash` runs nf_tui_loop; `ntflow run` calls the nf_tui_run_* functions from its
 * callbacks (live.c), so the scheduler's loop stays the only loop. */
#include "config.h"
#include "screen.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Heights for a column of panes in rows: each gets at least one (its title with a summary),
 * the focused one first its wish, the stages as much as they can use, the log the rest. */
static void
stack(nf_tui *t, const int *ids, size_t n, int y, int x, int w, int rows)
{
	int h[P__COUNT] = { 0 }, left = rows;
	int stages_want = 0, log_min = 3;

	for (size_t k = 0; k < n; k++) {
		h[ids[k]] = 1;
		left--;
	}
	/* The stages and the log before the rest. */
	for (size_t k = 0; k < n; k++) {
		if (ids[k] == P_STAGES) {
			stages_want = want(t, P_STAGES);
			int give = stages_want < 6 ? stages_want : 6;

			give = give - 1 < left ? give - 1 : left;
			h[P_STAGES] += give > 0 ? give : 0;
			left -= give > 0 ? give : 0;
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (ids[k] == P_LOG && left > 0) {
			int give = log_min - 1 < left ? log_min - 1 : left;

			h[P_LOG] += give;
			left -= give;
		}
	}
	/* The focused pane, then the stages up to half the column, then the others in order. */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t k = 0; k < n && left > 0; k++) {
			int id = ids[k], more;

			if (id == P_LOG || (pass == 0 && (size_t)id != t->focus) ||
			    (pass == 1 && id != P_STAGES) || (pass == 2 && id == P_STAGES))
				continue;
			more = want(t, id) - h[id];
			if (id == P_STAGES && pass == 1 && h[id] + more > rows / 2)
				more = rows / 2 - h[id];
			if (id != P_STAGES && more > 8)
				more = 8;
			if (more <= 0)
				continue;
			/* A pane opens fully or stays on its line (the stages may get part). */
			if (more > left && id != P_STAGES)
				continue;
			if (more > left)
				more = left;
			h[id] += more;
			left -= more;
		}
	}
	if (left > 0 && stages_want > h[P_STAGES]) {
		int more = stages_want - h[P_STAGES] < left ? stages_want - h[P_STAGES] : left;

		h[P_STAGES] += more;
		left -= more;
	}
	for (size_t k = 0; k < n && left > 0; k++) {
		if (ids[k] == P_LOG) {
			h[P_LOG] += left;
			left = 0;
		}
	}
	/* A column without the log: the panes take what they still want, the last the rest. */
	for (size_t k = 0; k < n && left > 0; k++) {
		int more = want(t, ids[k]) - h[ids[k]];

		if (more > 0) {
			more = more < left ? more : left;
			h[ids[k]] += more;
			left -= more;
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

static const char *
hints(nf_tui *t)
{
	if (t->mode == MODE_PAGE)
		return t->page.keys ? t->page.keys : " q back";
	if (t->mode == MODE_LOG)
		return " j/k PgUp/PgDn scroll  g/G top/end  / search  n/N next/prev  q back";
	if (t->opts.live && t->finished && !t->interactive)
		return " finished";
	if (t->opts.live && t->finished)
		return " finished \xe2\x80\x94 q to exit   j/k select  Enter detail  Tab pane  R runs  ? help";
	if (t->opts.live)
		return " q quit  ? help  j/k move  Enter detail  Tab pane  c cancel  r retry  a ack  f filter  R runs";
	return " q quit  ? help  j/k move  Enter detail  Tab pane  a ack  f filter  R runs  (read-only)";
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
		snprintf(out, size, " %s", t->v.message);
		return;
	}
	t->v.message[0] = '\0';
	snprintf(out, size, "%s", hints(t));
	/* ASCII terminals get a plain dash. */
	if (!nf_draw_utf8()) {
		char *em = strstr(out, "\xe2\x80\x94");

		if (em) {
			em[0] = '-';
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
	wattrset(t->footer, t->prompt ? A_BOLD : (t->opts.live && t->finished) ? A_REVERSE | A_BOLD
		 : nf_draw_attr(NF_C_DIM));
	if (t->prompt || (t->opts.live && t->finished))
		mvwhline(t->footer, 0, 0, ' ', COLS);
	nf_draw_text(t->footer, 0, 0, COLS, buf);
	wattrset(t->footer, A_NORMAL);
	wnoutrefresh(t->footer);
}

static void
draw_help(nf_tui *t)
{
	static const char *const lines[] = {
		"ntflow dashboard keys",
		"",
		"  j k  Up Down     select a stage (a row of the focused pane)",
		"  PgUp PgDn g G    page, first, last",
		"  Space h l        fold or open a matrix stage",
		"  Enter  d         the selected stage's detail (l its log, q back); in the registry: the version's",
		"  R  L             the runs list (Enter opens a run); back to the live (latest) run",
		"  P  B             registry pane: promote the version under the cursor, roll back; after y/n",
		"  Tab  Shift-Tab   move the focus between panes (a folded pane opens)",
		"  c                cancel the selected stage, after y/n (ntflow run only)",
		"  r                retry a failed or cancelled stage and what it holds up (ntflow run only)",
		"  a                acknowledge the alert under the cursor, after y/n",
		"  f  /             filter stages by name; Esc clears the filter",
		"  ?                this help",
		"  q                quit (while a run goes on in ntflow run: cancel it or detach)",
		"",
		"States: . waiting  o ready  * running  ~ retrying  + succeeded  = cached",
		"        x failed  T timed-out  - skipped  / cancelled  ! rejected",
		"",
		"Any key goes back.",
	};
	WINDOW *w = t->full;

	werase(w);
	for (size_t i = 0; i < NF_ARRAY_SIZE(lines) && (int)i < LINES; i++) {
		wattrset(w, i == 0 ? A_BOLD : A_NORMAL);
		nf_draw_text(w, (int)i + 1, 2, COLS - 2, lines[i]);
	}
	if (nf_draw_utf8()) {
		/* the symbols this terminal shows */
		char buf[256];
		int x = 10;

		wattrset(w, A_NORMAL);
		mvwhline(w, 17, 0, ' ', COLS);
		mvwhline(w, 18, 0, ' ', COLS);
		nf_draw_text(w, 17, 2, 8, "States:");
		for (int s = 0; s < NF_ST__COUNT; s++) {
			int y = s < 6 ? 17 : 18;

			if (s == 6)
				x = 10;
			snprintf(buf, sizeof(buf), "%s %s", nf_draw_state_symbol((nf_state)s), nf_state_name((nf_state)s));
			wattrset(w, nf_draw_state_attr((nf_state)s));
			x += nf_draw_text(w, y, x, COLS - x, buf) + 2;
		}
		wattrset(w, A_NORMAL);
	}
	wnoutrefresh(w);
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
			}
			else {
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

static void
detach(nf_tui *t)
{
	t->detached = true;
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
		if (ch == 'c' && t->ctl) {
			nf_run_ctl_cancel(t->ctl);
			t->cancel_asked = true;
			nf_view_message(&t->v, "cancelling the run");
		} else if (ch == 'd') {
			detach(t);
		}
		return;
	}
	if (p == PROMPT_CANCEL) {
		t->prompt = PROMPT_NONE;
		if (ch != 'y' && ch != 'Y') {
			nf_view_message(&t->v, "%s not cancelled", t->prompt_node);
		} else if (!t->ctl) {
			nf_view_message(&t->v, "the run has ended");
		} else if (nf_run_ctl_cancel_node(t->ctl, t->prompt_node) < 0) {
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
	return t->opts.live && !t->finished;
}

static void
handle_key(nf_tui *t, int ch)
{
	ssize_t sel;

	if (ch == KEY_RESIZE) {
		t->relayout = true;
		clearok(curscr, TRUE);
		if (t->mode != MODE_MAIN)
			nf_tui__set_mode(t, t->mode);
		all_dirty(t);
		return;
	}
	if (t->prompt) {
		prompt_key(t, ch);
		return;
	}
	if (t->mode == MODE_HELP) {
		nf_tui__set_mode(t, MODE_MAIN);
		return;
	}
	if (t->mode == MODE_PAGE) {
		nf_tui__page_key(t, ch);
		return;
	}
	if (t->mode == MODE_LOG) {
		switch (nf_logview_on_key(&t->lv, ch, LINES)) {
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
	sel = nf_view_sel_node(&t->v);
	switch (ch) {
	case 'q':
		if (run_going(t))
			t->prompt = PROMPT_QUIT;
		else
			t->quit = true;
		return;
	case '?':
		nf_tui__set_mode(t, MODE_HELP);
		return;
	case '\t':
		focus_next(t, 1);
		return;
	case KEY_BTAB:
		focus_next(t, -1);
		return;
	case '\n':
	case '\r':
	case KEY_ENTER:
	case 'd':
	case 'R':
	case 'L':
	case 'P':
	case 'B':
		nf_tui__views_key(t, ch);
		return;
	case 'c':
		if (!run_going(t))
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
	case 'r':
		if (!run_going(t))
			nf_view_message(&t->v, t->opts.live ? "the run has ended; start a new one with ntflow run --from STAGE"
					: "read-only: retry from the terminal running it (ntflow run)");
		else if (sel < 0)
			nf_view_message(&t->v, "no stage selected");
		else if (!t->ctl || nf_run_ctl_retry_node(t->ctl, t->v.nodes[sel].name) < 0)
			nf_view_message(&t->v, "%s", t->ctl ? nf_error_last() : "the run has ended");
		else
			nf_view_message(&t->v, "retrying %s", t->v.nodes[sel].name);
		return;
	case 'a':
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
	case 'f':
	case '/':
		snprintf(t->saved_filter, sizeof(t->saved_filter), "%s", t->v.filter);
		start_prompt(t, PROMPT_FILTER, t->v.filter);
		return;
	case 27:
		if (t->v.filter[0]) {
			t->v.filter[0] = '\0';
			nf_view_rows(&t->v);
			t->pending |= NF_V_ROWS;
		}
		return;
	default:
		break;
	}
	{
		nf_pane *p = &t->panes[t->focus];
		bool used = p->ops->on_key && p->ops->on_key(p, &t->v, ch);

		if (!used && t->focus != P_STAGES)
			used = nf_pane_stages.on_key(&t->panes[P_STAGES], &t->v, ch);
		if (used) {
			t->pending |= NF_V_ROWS | NF_V_REG | NF_V_ALERTS;
			t->pending |= nf_view_log(&t->v, 400);
		}
	}
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
	if ((t->pending & NF_V_NODES) && nf_view_autoselect(&t->v))
		t->pending |= NF_V_ROWS;
	if (now >= t->next_poll) {
		unsigned ch = nf_view_poll(&t->v);

		t->next_poll = now + POLL_MS;
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

		if (got_signal) {
			err = nf_error_set(NF_EINTR, "interrupted");
			break;
		}
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
