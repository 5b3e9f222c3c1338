/* tui/regact.c: promote and rollback from the registry pane, after the y/n prompt. They do
 * what `ntflow registry promote` and `rollback` do, through the same functions and under the
 * same workspace lock: the registry checked against its audit chain, the models folder put
 * back to what the registry says, then the decision, recorded as the user's. The lock is
 * never waited for: while a run (or a registry command) holds it, the footer says who. */
#include "config.h"
#include "tui-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/gov.h"

int
nf_view_registry_act(nf_view *v, char **done, const char *model, int version)
{
	nf_wslock_opts lo = { .what = version ? "ntflow dash: registry promote" : "ntflow dash: registry rollback",
			      .no_wait = true };
	nf_model_version out;
	nf_reconcile_report rep;
	nf_wslock *lock = NULL;
	nf_store *st = NULL;
	char *dir = nf_state_dir_canon(v->state_dir), *path = NULL, *actor = NULL;   /* as the command */
	size_t nbaseline = 0;
	int previous = 0, err;

	*done = NULL;
	memset(&out, 0, sizeof(out));
	memset(&rep, 0, sizeof(rep));
	if ((err = nf_workspace_lock(&lock, dir, &lo)) < 0)
		goto done;
	path = xasprintf("%s/state.db", dir);
	if ((err = nf_store_open(&st, path, false)) < 0 || (err = nf_registry_chain_check(st, &nbaseline)) < 0)
		goto done;
	nf_registry_reconcile(&rep, st, dir, false);   /* as the command: go on either way */
	actor = nf_registry_actor();
	if (version)
		err = nf_registry_promote(&out, &previous, st, dir, model, version, false, NULL, actor);
	else
		err = nf_registry_rollback(&out, &previous, st, dir, model, NULL, actor);
	if (err < 0)
		goto done;
	{
		const char *arrow = nf_draw_sym("\xe2\x86\x92", "->");

		if (!previous)
			*done = xasprintf("%s v%d %s production", out.model, out.version, arrow);
		else
			*done = xasprintf("%s v%d %s production (v%d %s)", out.model, out.version, arrow, previous,
					  version ? "archived" : "rolled back");
	}
done:
	nf_reconcile_report_release(&rep);
	nf_model_version_release(&out);
	nf_store_close(st);
	nf_workspace_unlock(lock);
	free(actor);
	free(path);
	free(dir);
	nf_view_reload_gov(v);
	return err;
}
