/* tui/keys.c: the dashboard's key table (as tmux's key bindings: one const array) and what
 * is made from it: the lookup the handler uses, the footer's hints, the ? overlay and the
 * man page's list of keys. To add a key: a line here and its action in tui.c; then
 * `NTFLOW_UPDATE_MAN=1 tests/unit/check_tui` writes the man page's list again. */
#include "config.h"
#include "keys.h"

#include <curses.h>
#include <string.h>

#define H_QUIT "Quit; while a run goes on in ntflow run, q asks first: c cancels the run, d detaches " \
	"(the prompt comes back, the run goes on in its executor, and ntflow dash attaches again)."
#define H_FOCUS "Move the focus to the next or previous pane; a folded pane opens. Keys that move " \
	"act on the focused pane only."
#define H_DETAIL "The selected stage's detail: its expanded command, why it ran or whose result it " \
	"reused (as ntflow why says), its cache key's components, inputs with their git ids, " \
	"outputs with their sizes, metrics and each attempt (start, wall, CPU, peak RSS, exit " \
	"status or signal, the retry's reason); in the registry pane, the version under the " \
	"cursor: why it has its status, metrics, gate criteria, run, commit and params."
#define H_RUNS "The runs list: every run of the workspace, newest first, with its status, " \
	"trigger, logical date, duration, gate and model version."
#define H_LIVE "Back to the live run (in ntflow dash: the latest, followed again) after an " \
	"older one was opened from the runs list; the header says when one is."
#define H_PROMOTE "Promote the version under the cursor to production, after y, as ntflow registry " \
	"promote does and under the workspace lock, never waiting for it: while a run holds it " \
	"the footer says who and nothing changes."
#define H_ROLLBACK "Roll the model back to its previous production version, after y, as ntflow " \
	"registry rollback does (the same lock)."
#define H_PMOVE "Move in the page (the cursor, in the runs list)."
#define H_OPEN "Open the run under the cursor (the runs list)."
#define H_PLOG "The stage's whole log, in the log view (a cached stage's: the log of the run " \
	"whose result it reused); q comes back here."
#define H_PBACK "Back to the main screen."
#define H_CANCEL "Cancel the selected stage, after y: a running one gets SIGTERM, then SIGKILL " \
	"after its grace period (ntflow run, and ntflow dash on a run started on a terminal or with --detach)."
#define H_RETRY "Run a failed, timed-out or cancelled stage again within the same run, with " \
	"fresh retries, and what its failure held up (while the run goes on; where c works)."
#define H_ACK "Acknowledge the alert under the cursor of the alerts pane, after y (Tab to the " \
	"pane first; elsewhere a only says so)."
#define H_FILTER "Filter the stages by name as it is typed; Enter keeps it, Esc restores the old one."
#define H_STATE "Show all stages, then only the failed ones, then only the running ones."
#define H_SORT "Sort the stages by start order, then name, state or duration (longest first)."
#define H_CLEAR "Clear the name and state filters."
#define H_MOVE "Move the cursor one row in the focused pane."
#define H_PAGE "Move a page in the focused pane."
#define H_ENDS "Go to the first or last row of the focused pane."
#define H_FOLD "Open, fold, or open-or-fold a matrix stage."
#define H_LSCROLL "Scroll a line."
#define H_LPAGE "Scroll a page."
#define H_LENDS "Go to the start or the end; at the end the view follows the growing log."
#define H_SEARCH "Search the log (matches are highlighted); n and N find the next and previous match."
#define H_WRAP "Wrap long lines, or cut them at the screen's edge."
#define H_PAGER "Open the log in $PAGER (less by default); the dashboard comes back when it exits."
#define H_BACK "Back to the main screen."

const nf_key_binding nf_keys[] = {
	{ 'q', "q", NF_KC_MAIN, NF_A_QUIT, NF_KF_KEEP, "quit", H_QUIT },
	{ '?', "?", NF_KC_MAIN, NF_A_HELP, NF_KF_KEEP, "help", "This help." },
	{ '\t', "Tab", NF_KC_MAIN, NF_A_FOCUS_NEXT, 0, "pane", H_FOCUS },
	{ KEY_BTAB, "Shift-Tab", NF_KC_MAIN, NF_A_FOCUS_PREV, 0, NULL, H_FOCUS },
	{ '\r', "Enter", NF_KC_MAIN, NF_A_DETAIL, 0, "detail", H_DETAIL },
	{ '\n', "Enter", NF_KC_MAIN, NF_A_DETAIL, 0, NULL, H_DETAIL },
	{ KEY_ENTER, "Enter", NF_KC_MAIN, NF_A_DETAIL, 0, NULL, H_DETAIL },
	{ 'd', "d", NF_KC_MAIN, NF_A_DETAIL, 0, NULL, H_DETAIL },
	{ 'c', "c", NF_KC_MAIN, NF_A_CANCEL, NF_KF_LIVE, "cancel", H_CANCEL },
	{ 'r', "r", NF_KC_MAIN, NF_A_RETRY, NF_KF_LIVE, "retry", H_RETRY },
	{ 'a', "a", NF_KC_MAIN, NF_A_ACK, 0, "ack", H_ACK },
	{ 'f', "f", NF_KC_MAIN, NF_A_FILTER, 0, "filter", H_FILTER },
	{ '/', "/", NF_KC_MAIN, NF_A_FILTER, 0, NULL, H_FILTER },
	{ 'F', "F", NF_KC_MAIN, NF_A_STATE_FILTER, 0, "failed", H_STATE },
	{ 's', "s", NF_KC_MAIN, NF_A_SORT, 0, "sort", H_SORT },
	{ 27, "Esc", NF_KC_MAIN, NF_A_CLEAR, 0, NULL, H_CLEAR },
	{ 'R', "R", NF_KC_MAIN, NF_A_RUNS, 0, "runs", H_RUNS },
	{ 'L', "L", NF_KC_MAIN, NF_A_LIVE, 0, NULL, H_LIVE },

	{ 'j', "j", NF_KC_PANE, NF_A_DOWN, 0, "move", H_MOVE },
	{ 'k', "k", NF_KC_PANE, NF_A_UP, 0, "move", H_MOVE },
	{ KEY_DOWN, "Down", NF_KC_PANE, NF_A_DOWN, 0, NULL, H_MOVE },
	{ KEY_UP, "Up", NF_KC_PANE, NF_A_UP, 0, NULL, H_MOVE },
	{ KEY_NPAGE, "PgDn", NF_KC_PANE, NF_A_PGDN, 0, NULL, H_PAGE },
	{ KEY_PPAGE, "PgUp", NF_KC_PANE, NF_A_PGUP, 0, NULL, H_PAGE },
	{ 'g', "g", NF_KC_PANE, NF_A_TOP, 0, NULL, H_ENDS },
	{ 'G', "G", NF_KC_PANE, NF_A_BOTTOM, 0, NULL, H_ENDS },
	{ KEY_HOME, "Home", NF_KC_PANE, NF_A_TOP, 0, NULL, H_ENDS },
	{ KEY_END, "End", NF_KC_PANE, NF_A_BOTTOM, 0, NULL, H_ENDS },

	{ 'l', "l", NF_KC_STAGES, NF_A_UNFOLD, 0, NULL, H_FOLD },
	{ KEY_RIGHT, "Right", NF_KC_STAGES, NF_A_UNFOLD, 0, NULL, H_FOLD },
	{ 'h', "h", NF_KC_STAGES, NF_A_FOLD, 0, NULL, H_FOLD },
	{ KEY_LEFT, "Left", NF_KC_STAGES, NF_A_FOLD, 0, NULL, H_FOLD },
	{ ' ', "Space", NF_KC_STAGES, NF_A_FOLD_TOGGLE, 0, NULL, H_FOLD },

	{ 'P', "P", NF_KC_REGISTRY, NF_A_PROMOTE, 0, "promote", H_PROMOTE },
	{ 'B', "B", NF_KC_REGISTRY, NF_A_ROLLBACK, 0, "rollback", H_ROLLBACK },

	{ 'j', "j", NF_KC_LOGVIEW, NF_A_DOWN, 0, "scroll", H_LSCROLL },
	{ 'k', "k", NF_KC_LOGVIEW, NF_A_UP, 0, "scroll", H_LSCROLL },
	{ KEY_DOWN, "Down", NF_KC_LOGVIEW, NF_A_DOWN, 0, NULL, H_LSCROLL },
	{ KEY_UP, "Up", NF_KC_LOGVIEW, NF_A_UP, 0, NULL, H_LSCROLL },
	{ KEY_NPAGE, "PgDn", NF_KC_LOGVIEW, NF_A_PGDN, 0, NULL, H_LPAGE },
	{ ' ', "Space", NF_KC_LOGVIEW, NF_A_PGDN, 0, NULL, H_LPAGE },
	{ KEY_PPAGE, "PgUp", NF_KC_LOGVIEW, NF_A_PGUP, 0, NULL, H_LPAGE },
	{ 'b', "b", NF_KC_LOGVIEW, NF_A_PGUP, 0, NULL, H_LPAGE },
	{ 'g', "g", NF_KC_LOGVIEW, NF_A_TOP, 0, "top", H_LENDS },
	{ 'G', "G", NF_KC_LOGVIEW, NF_A_BOTTOM, 0, "end", H_LENDS },
	{ KEY_HOME, "Home", NF_KC_LOGVIEW, NF_A_TOP, 0, NULL, H_LENDS },
	{ KEY_END, "End", NF_KC_LOGVIEW, NF_A_BOTTOM, 0, NULL, H_LENDS },
	{ '/', "/", NF_KC_LOGVIEW, NF_A_SEARCH, 0, "search", H_SEARCH },
	{ 'n', "n", NF_KC_LOGVIEW, NF_A_NEXT, 0, "next", H_SEARCH },
	{ 'N', "N", NF_KC_LOGVIEW, NF_A_PREV, 0, NULL, H_SEARCH },
	{ 'w', "w", NF_KC_LOGVIEW, NF_A_WRAP, 0, "wrap", H_WRAP },
	{ 'o', "o", NF_KC_LOGVIEW, NF_A_PAGER, 0, "pager", H_PAGER },
	{ 'q', "q", NF_KC_LOGVIEW, NF_A_BACK, NF_KF_KEEP, "back", H_BACK },
	{ 27, "Esc", NF_KC_LOGVIEW, NF_A_BACK, 0, NULL, H_BACK },
	{ KEY_LEFT, "Left", NF_KC_LOGVIEW, NF_A_BACK, 0, NULL, H_BACK },

	{ 'j', "j", NF_KC_PAGE, NF_A_DOWN, 0, "move", H_PMOVE },
	{ 'k', "k", NF_KC_PAGE, NF_A_UP, 0, "move", H_PMOVE },
	{ KEY_DOWN, "Down", NF_KC_PAGE, NF_A_DOWN, 0, NULL, H_PMOVE },
	{ KEY_UP, "Up", NF_KC_PAGE, NF_A_UP, 0, NULL, H_PMOVE },
	{ KEY_NPAGE, "PgDn", NF_KC_PAGE, NF_A_PGDN, 0, NULL, H_PMOVE },
	{ ' ', "Space", NF_KC_PAGE, NF_A_PGDN, 0, NULL, H_PMOVE },
	{ KEY_PPAGE, "PgUp", NF_KC_PAGE, NF_A_PGUP, 0, NULL, H_PMOVE },
	{ 'g', "g", NF_KC_PAGE, NF_A_TOP, 0, NULL, H_PMOVE },
	{ 'G', "G", NF_KC_PAGE, NF_A_BOTTOM, 0, NULL, H_PMOVE },
	{ KEY_HOME, "Home", NF_KC_PAGE, NF_A_TOP, 0, NULL, H_PMOVE },
	{ KEY_END, "End", NF_KC_PAGE, NF_A_BOTTOM, 0, NULL, H_PMOVE },
	{ 'q', "q", NF_KC_PAGE, NF_A_BACK, NF_KF_KEEP, "back", H_PBACK },
	{ 27, "Esc", NF_KC_PAGE, NF_A_BACK, 0, NULL, H_PBACK },
	{ KEY_LEFT, "Left", NF_KC_PAGE, NF_A_BACK, 0, NULL, H_PBACK },

	{ 'l', "l", NF_KC_PAGE_STAGE, NF_A_PAGE_LOG, 0, "log", H_PLOG },

	{ 'P', "P", NF_KC_PAGE_VERSION, NF_A_PROMOTE, 0, "promote", H_PROMOTE },
	{ 'B', "B", NF_KC_PAGE_VERSION, NF_A_ROLLBACK, 0, "rollback", H_ROLLBACK },

	{ '\r', "Enter", NF_KC_PAGE_RUNS, NF_A_OPEN, 0, "open", H_OPEN },
	{ '\n', "Enter", NF_KC_PAGE_RUNS, NF_A_OPEN, 0, NULL, H_OPEN },
	{ KEY_ENTER, "Enter", NF_KC_PAGE_RUNS, NF_A_OPEN, 0, NULL, H_OPEN },
	{ 'L', "L", NF_KC_PAGE_RUNS, NF_A_LIVE, 0, "live", H_LIVE },
};
const size_t nf_nkeys = NF_ARRAY_SIZE(nf_keys);

static const char *const ctx_titles[NF_KC__COUNT] = {
	[NF_KC_MAIN] = "Everywhere on the main screen",
	[NF_KC_PANE] = "In the focused pane (stages, gate, registry, alerts or log)",
	[NF_KC_STAGES] = "In the stages pane",
	[NF_KC_REGISTRY] = "In the registry pane",
	[NF_KC_ALERTS] = "In the alerts pane",
	[NF_KC_LOGVIEW] = "In the log view",
	[NF_KC_PAGE] = "In a detail page or the runs list",
	[NF_KC_PAGE_STAGE] = "In a stage's detail",
	[NF_KC_PAGE_VERSION] = "In a model version's detail",
	[NF_KC_PAGE_RUNS] = "In the runs list",
};

const char *
nf_keys_ctx_title(nf_key_ctx ctx)
{
	return ctx < NF_KC__COUNT ? ctx_titles[ctx] : "";
}

static const nf_key_binding *
find_in(int key, nf_key_ctx ctx)
{
	for (size_t i = 0; i < nf_nkeys; i++)
		if (nf_keys[i].key == key && nf_keys[i].ctx == ctx)
			return &nf_keys[i];
	return NULL;
}

const nf_key_binding *
nf_keys_find(int key, nf_key_ctx ctx, bool pane)
{
	const nf_key_binding *b = find_in(key, ctx);

	if (b || ctx == NF_KC_LOGVIEW || ctx == NF_KC_PAGE)
		return b;
	if (ctx >= NF_KC_PAGE_STAGE && ctx <= NF_KC_PAGE_RUNS)
		return find_in(key, NF_KC_PAGE);
	if (pane && (b = find_in(key, NF_KC_PANE)))
		return b;
	return find_in(key, NF_KC_MAIN);
}

/* Bindings [i, end) are one item: the same context and help text. */
static size_t
item_end(size_t i)
{
	size_t e = i + 1;

	while (e < nf_nkeys && nf_keys[e].ctx == nf_keys[i].ctx && strcmp(nf_keys[e].help, nf_keys[i].help) == 0)
		e++;
	return e;
}

/* Whether binding k's name already appeared in [i, k) (Enter is three codes, one name). */
static bool
named_before(size_t i, size_t k)
{
	for (size_t j = i; j < k; j++)
		if (strcmp(nf_keys[j].name, nf_keys[k].name) == 0)
			return true;
	return false;
}

enum { ALL_HINTS, KEEP_HINTS, OTHER_HINTS };

static bool
hinted(size_t k, bool live, int which)
{
	bool kept = (nf_keys[k].flags & NF_KF_KEEP) != 0;

	return nf_keys[k].hint && (live || !(nf_keys[k].flags & NF_KF_LIVE)) &&
		(which == ALL_HINTS || kept == (which == KEEP_HINTS));
}

/* "  j/k move  g top  G end": per item, the keys with a hint, those sharing one joined by '/' */
static void
hints_of(nf_buf *out, nf_key_ctx ctx, bool live, int keep)
{
	for (size_t i = 0; i < nf_nkeys; i = item_end(i)) {
		size_t e = item_end(i);

		if (nf_keys[i].ctx != ctx)
			continue;
		for (size_t k = i; k < e; k++) {
			bool seen = false;

			if (!hinted(k, live, keep))
				continue;
			for (size_t j = i; j < k && !seen; j++)
				seen = hinted(j, live, keep) && strcmp(nf_keys[j].hint, nf_keys[k].hint) == 0;
			if (seen)
				continue;
			nf_buf_puts(out, "  ");
			for (size_t j = k, n = 0; j < e; j++)
				if (hinted(j, live, keep) && strcmp(nf_keys[j].hint, nf_keys[k].hint) == 0)
					nf_buf_printf(out, "%s%s", n++ ? "/" : "", nf_keys[j].name);
			nf_buf_printf(out, " %s", nf_keys[k].hint);
		}
	}
}

void
nf_keys_hints(nf_buf *out, nf_key_ctx ctx, bool live, bool keep)
{
	if (ctx == NF_KC_LOGVIEW || ctx == NF_KC_PAGE) {
		hints_of(out, ctx, live, keep ? KEEP_HINTS : ALL_HINTS);
		return;
	}
	if (ctx >= NF_KC_PAGE_STAGE && ctx <= NF_KC_PAGE_RUNS) {
		/* the way out first, then what the page does */
		hints_of(out, NF_KC_PAGE, live, keep ? KEEP_HINTS : ALL_HINTS);
		if (!keep)
			hints_of(out, ctx, live, ALL_HINTS);
		return;
	}
	/* the way out and the help first, then how to move: they must fit on any terminal */
	hints_of(out, NF_KC_MAIN, live, KEEP_HINTS);
	if (keep)
		return;
	hints_of(out, NF_KC_PANE, live, ALL_HINTS);
	if (ctx != NF_KC_MAIN && ctx != NF_KC_PANE)
		hints_of(out, ctx, live, ALL_HINTS);
	hints_of(out, NF_KC_MAIN, live, OTHER_HINTS);
}

/* The keys of an item as the overlay writes them: "j k Down Up". */
static void
item_keys(nf_buf *out, size_t i, size_t e, const char *sep)
{
	for (size_t k = i; k < e; k++)
		if (!named_before(i, k))
			nf_buf_printf(out, "%s%s", k > i ? sep : "", nf_keys[k].name);
}

/* text wrapped into lines of width columns after a first column of col columns */
static void
wrap(nf_buf *out, const char *first, int col, const char *text, int width)
{
	int used = 0, avail = width - col;
	const char *p = text;

	if (avail < 20)
		avail = 20;
	nf_buf_printf(out, "%-*s", col, first);
	if ((int)strlen(first) >= col) {
		nf_buf_printf(out, "\n%*s", col, "");
	}
	while (*p) {
		const char *sp = strchr(p, ' ');
		int wl = sp ? (int)(sp - p) : (int)strlen(p);

		if (used > 0 && used + 1 + wl > avail) {
			nf_buf_printf(out, "\n%*s", col, "");
			used = 0;
		}
		if (used > 0) {
			nf_buf_putc(out, ' ');
			used++;
		}
		nf_buf_add(out, p, (size_t)wl);
		used += wl;
		p += wl;
		while (*p == ' ')
			p++;
	}
	nf_buf_putc(out, '\n');
}

void
nf_keys_help(nf_buf *out, int width)
{
	bool first = true;

	if (width > 80)
		width = 80;
	for (int c = 0; c < NF_KC__COUNT; c++) {
		bool any = false;

		for (size_t i = 0; i < nf_nkeys; i = item_end(i)) {
			nf_buf keys = NF_BUF_INIT;

			if (nf_keys[i].ctx != (nf_key_ctx)c)
				continue;
			if (!any)
				nf_buf_printf(out, "%s%s:\n", first ? "" : "\n", ctx_titles[c]);
			any = true;
			first = false;
			nf_buf_puts(&keys, "  ");
			item_keys(&keys, i, item_end(i), " ");
			wrap(out, nf_buf_cstr(&keys), 18, nf_keys[i].help, width);
			nf_buf_release(&keys);
		}
	}
}

/* roff text: a backslash doubled, a hyphen or minus escaped, a leading dot guarded */
static void
roff(nf_buf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		nf_buf_puts(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			nf_buf_puts(out, "\\e");
		else if (*s == '-')
			nf_buf_puts(out, "\\-");
		else
			nf_buf_putc(out, *s);
	}
}

void
nf_keys_man(nf_buf *out)
{
	for (int c = 0; c < NF_KC__COUNT; c++) {
		bool any = false;

		for (size_t i = 0; i < nf_nkeys; i = item_end(i)) {
			size_t e = item_end(i), n = 0;

			if (nf_keys[i].ctx != (nf_key_ctx)c)
				continue;
			if (!any) {
				nf_buf_puts(out, ".PP\n");
				roff(out, ctx_titles[c]);
				nf_buf_puts(out, ":\n");
			}
			any = true;
			for (size_t k = i; k < e; k++)
				n += !named_before(i, k);
			nf_buf_puts(out, n > 1 ? ".TP\n.BR " : ".TP\n.B ");
			for (size_t k = i, m = 0; k < e; k++) {
				if (named_before(i, k))
					continue;
				if (m++)
					nf_buf_puts(out, " \", \" ");
				/* a key name alone on its word; the quotes keep "?" and "/" as they are */
				nf_buf_putc(out, '"');
				roff(out, nf_keys[k].name);
				nf_buf_putc(out, '"');
			}
			nf_buf_putc(out, '\n');
			roff(out, nf_keys[i].help);
			nf_buf_putc(out, '\n');
		}
	}
}
