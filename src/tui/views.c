/* tui/views.c: the dashboard's pages and what leads to them: Enter (or d) on a stage opens
 * its detail, on a registry version that version's; l the selected stage's log (a cached
 * stage's is the reused run's); R the runs list, Enter there opening a run and L going back
 * to the live (latest) one; P and B in the registry pane (or a version's page) promote the
 * version under the cursor or roll the model back, after y/n. tui.c routes the keys here. */
#include "config.h"
#include "screen.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
open_page_log(nf_tui *t)
{
	nf_page *p = &t->page;

	nf_tui__set_mode(t, MODE_LOG);
	t->log_from_page = true;
	nf_logview_open(&t->lv, p->log_path, p->log_title ? p->log_title : p->node, LINES);
}

static void
open_detail(nf_tui *t)
{
	int err;

	if (t->focus == P_REGISTRY && t->v.nversions > 0) {
		const nf_vversion *m = &t->v.versions[t->v.reg_sel];

		err = nf_detail_version(&t->page, &t->v, m->model, m->version);
	} else {
		ssize_t n = nf_view_sel_node(&t->v);

		if (n < 0) {
			nf_view_message(&t->v, "no stage selected");
			return;
		}
		err = nf_detail_stage(&t->page, &t->v, t->v.nodes[n].name);
	}
	if (err < 0) {
		nf_view_message(&t->v, "%s", nf_error_last());
		return;
	}
	nf_tui__set_mode(t, MODE_PAGE);
}

static void
open_runs(nf_tui *t)
{
	if (nf_runs_page(&t->page, &t->v) < 0) {
		nf_view_message(&t->v, "%s", nf_error_last());
		return;
	}
	nf_tui__set_mode(t, MODE_PAGE);
}

static void
show_run(nf_tui *t, int64_t id)
{
	int64_t last = 0;

	if (t->v.st)
		nf_store_run_last(t->v.st, &last);
	if (t->opts.live && t->opts.run_id <= 0 && t->live_run > 0)
		last = t->live_run;
	t->v.picked_run = id == last ? 0 : id;
	/* A dash that follows goes on following only from the latest run. */
	t->v.follow = !t->opts.live && t->opts.run_id <= 0 && !t->v.picked_run;
	t->pending |= nf_view_load_run(&t->v, id);
	t->pending |= nf_view_log(&t->v, 400);
}

/* L: back to the run the dashboard was made for (the live one, else the latest). */
static void
back_to_live(nf_tui *t)
{
	int64_t id = t->opts.run_id > 0 ? t->opts.run_id : t->live_run;

	if (id <= 0 && (!t->v.st || nf_store_run_last(t->v.st, &id) < 0)) {
		nf_view_message(&t->v, "no runs yet");
		return;
	}
	if (!t->v.picked_run && id == t->v.run_id) {
		nf_view_message(&t->v, "already showing run %lld", (long long)id);
		return;
	}
	show_run(t, id);
	t->v.picked_run = 0;
	t->v.follow = !t->opts.live && t->opts.run_id <= 0;
	nf_view_message(&t->v, "back to run %lld", (long long)id);
}

/* P or B: asks first; the model and version are those of the page or the pane's cursor. */
static void
ask_registry(nf_tui *t, bool promote)
{
	const char *model = NULL;
	int version = 0;

	if (t->mode == MODE_PAGE && t->page.kind == NF_PAGE_VERSION) {
		model = t->page.node;
		version = t->page.version;
	} else if (t->focus == P_REGISTRY && t->v.nversions > 0) {
		model = t->v.versions[t->v.reg_sel].model;
		version = t->v.versions[t->v.reg_sel].version;
	}
	if (!model) {
		nf_view_message(&t->v, "Tab to the registry pane and put the cursor on a version to %s",
				promote ? "promote" : "roll back");
		return;
	}
	free(t->prompt_node);
	t->prompt_node = xstrdup(model);
	t->prompt_version = version;
	t->prompt = promote ? PROMPT_PROMOTE : PROMPT_ROLLBACK;
	t->full_dirty = true;
}

bool
nf_tui__views_action(nf_tui *t, int action)
{
	switch (action) {
	case NF_A_DETAIL:
		open_detail(t);
		return true;
	case NF_A_RUNS:
		open_runs(t);
		return true;
	case NF_A_LIVE:
		back_to_live(t);
		return true;
	case NF_A_PROMOTE:
	case NF_A_ROLLBACK:
		ask_registry(t, action == NF_A_PROMOTE);
		return true;
	default:
		return false;
	}
}

int
nf_tui__page_ctx(const nf_tui *t)
{
	switch (t->page.kind) {
	case NF_PAGE_STAGE: return NF_KC_PAGE_STAGE;
	case NF_PAGE_VERSION: return NF_KC_PAGE_VERSION;
	case NF_PAGE_RUNS: return NF_KC_PAGE_RUNS;
	default: return NF_KC_PAGE;
	}
}

void
nf_tui__page_key(nf_tui *t, int ch)
{
	const nf_key_binding *b = nf_keys_find(ch, (nf_key_ctx)nf_tui__page_ctx(t), false);
	int r;

	if (!b)
		return;
	switch (b->action) {
	case NF_A_PAGE_LOG:
		if (t->page.log_path)
			open_page_log(t);
		else
			nf_view_message(&t->v, "%s has no log", t->page.node);
		t->full_dirty = true;
		return;
	case NF_A_PROMOTE:
	case NF_A_ROLLBACK:
		ask_registry(t, b->action == NF_A_PROMOTE);
		return;
	case NF_A_LIVE:
		nf_tui__set_mode(t, MODE_MAIN);
		back_to_live(t);
		return;
	default:
		break;
	}
	r = nf_page_on_action(&t->page, b->action, LINES);
	if (r == NF_PAGE_CLOSE) {
		nf_tui__set_mode(t, MODE_MAIN);
		return;
	}
	if (r == NF_PAGE_PICK && t->page.kind == NF_PAGE_RUNS) {
		int64_t id = nf_page_picked(&t->page);

		nf_tui__set_mode(t, MODE_MAIN);
		show_run(t, id);
		nf_view_message(&t->v, "run %lld%s%s", (long long)id, t->v.picked_run ? ": L goes back to the " : "",
				t->v.picked_run ? (t->v.run_dash ? "live run" : "latest run") : "");
		return;
	}
	t->full_dirty = true;
}

/* The log was opened from the stage detail: its q goes back there. */
bool
nf_tui__log_closed(nf_tui *t)
{
	if (!t->log_from_page || !t->page.kind)
		return false;
	t->log_from_page = false;
	nf_tui__set_mode(t, MODE_PAGE);
	return true;
}

bool
nf_tui__views_prompt(nf_tui *t, int ch)
{
	bool promote = t->prompt == PROMPT_PROMOTE;
	char *done = NULL;

	if (t->prompt != PROMPT_PROMOTE && t->prompt != PROMPT_ROLLBACK)
		return false;
	t->prompt = PROMPT_NONE;
	t->full_dirty = true;
	if (ch != 'y' && ch != 'Y') {
		nf_view_message(&t->v, "%s: nothing changed", t->prompt_node);
		return true;
	}
	if (nf_view_registry_act(&t->v, &done, t->prompt_node, promote ? t->prompt_version : 0) < 0)
		nf_view_message(&t->v, "%s", nf_error_last());
	else
		nf_view_message(&t->v, "%s", done);
	free(done);
	t->next_poll = 0;
	if (t->mode == MODE_PAGE && t->page.kind == NF_PAGE_VERSION) {
		char *model = xstrdup(t->page.node);
		int version = t->page.version;

		nf_detail_version(&t->page, &t->v, model, version);
		free(model);
	}
	return true;
}

void
nf_tui__views_prompt_text(nf_tui *t, char *out, size_t size)
{
	if (t->prompt == PROMPT_PROMOTE)
		snprintf(out, size, " Promote %s v%d to production? (y/n)", t->prompt_node, t->prompt_version);
	else
		snprintf(out, size, " Roll %s back to its previous production version? (y/n)", t->prompt_node);
}
