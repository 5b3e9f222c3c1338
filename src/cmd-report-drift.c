/* cmd-report-drift.c: `ntflow report drift --from DATE --to DATE [--pipeline P] [--json |
 * --html FILE]`, the cohort drift report of a window of logical dates: the store's runs and
 * violations (src/store), the tolerances the pipeline's file declares (drift_report {
 * tolerance { } }, read as the file is now, as the run report reads its alert thresholds),
 * the model and its rules (src/report/drift.c), then text, JSON or an HTML page. */
#include "config.h"
#include "ntflow/cmd.h"
#include "cmd-report-drift.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/dag.h"
#include "ntflow/report.h"
#include "ntflow/store.h"

extern const nf_cmd nf_cmd_report;

/* The tolerances the pipeline file of run_id declares, as the file is now: *tol (borrowing
 * from *dag). Returns false when they cannot be read (no file recorded, the file missing or
 * unreadable, a file that does not parse, or one that declares another pipeline than the
 * report's): the report then has no verdict, and stderr says why (the errno text, the
 * parser's file:line:col diagnostics). */
static bool
read_tolerances(nf_dag **dag, nf_drift_tolerance **tol, size_t *ntol, nf_store *st, int64_t run_id,
		const char *pipeline, const char *root)
{
	nf_run_info run = { 0 };
	char *path = NULL, *src = NULL;
	size_t len;
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	bool ok = false;

	*dag = NULL;
	*tol = NULL;
	*ntol = 0;
	if (nf_store_run_get(st, run_id, &run) < 0) {
		nf_cmd_eprintf("ntflow report drift: cannot read the tolerances: %s\n", nf_error_last());
		goto done;
	}
	if (!run.file || !*run.file) {
		nf_cmd_eprintf("ntflow report drift: cannot read the tolerances of pipeline '%s': run %lld recorded no"
			" pipeline file\n", run.pipeline, (long long)run_id);
		goto done;
	}
	path = run.file[0] == '/' ? xstrdup(run.file) : xasprintf("%s/%s", root, run.file);
	if (nf_read_file(&src, &len, path, NF_DAG_MAX_FILE_SIZE) < 0) {
		nf_cmd_eprintf("ntflow report drift: cannot read the tolerances of pipeline '%s': %s\n", run.pipeline,
			nf_error_last());
		goto done;
	}
	if (nf_dag_parse(dag, path, src, len, &diags) < 0) {
		nf_diag_print(&diags, stderr);
		nf_cmd_eprintf("ntflow report drift: cannot read the tolerances of pipeline '%s': %s does not parse\n",
			run.pipeline, run.file);
		nf_dag_free(*dag);
		*dag = NULL;
		goto done;
	}
	/* the newest run's file may since have been turned into another pipeline's */
	if (!(*dag)->pipeline.name || strcmp((*dag)->pipeline.name, pipeline) != 0) {
		nf_cmd_eprintf("ntflow report drift: %s:%d:%d: the file declares pipeline '%s', not '%s': its tolerances"
			" do not apply\n", path, (*dag)->pipeline.loc.line, (*dag)->pipeline.loc.col,
			(*dag)->pipeline.name ? (*dag)->pipeline.name : "", pipeline);
		nf_dag_free(*dag);
		*dag = NULL;
		goto done;
	}
	*tol = xcalloc((*dag)->pipeline.ndrift_tolerance + 1, sizeof(nf_drift_tolerance));
	for (size_t i = 0; i < (*dag)->pipeline.ndrift_tolerance; i++) {
		const nf_kv *kv = &(*dag)->pipeline.drift_tolerance[i];

		(*tol)[(*ntol)++] = (nf_drift_tolerance){ kv->key, kv->value.num };
	}
	ok = true;
done:
	nf_diag_list_release(&diags);
	nf_run_info_release(&run);
	free(path);
	free(src);
	return ok;
}

/* A tolerance naming a metric that no run of the window has (a typo such as "accurcy")
 * would silently track nothing: a warning names it and where it is written. */
static void
warn_unknown_metrics(const nf_dag *dag, const nf_drift_run *runs, size_t nruns, const char *from, const char *to)
{
	for (size_t i = 0; dag && i < dag->pipeline.ndrift_tolerance; i++) {
		const nf_kv *kv = &dag->pipeline.drift_tolerance[i];
		bool seen = false;

		for (size_t r = 0; r < nruns && !seen; r++)
			for (size_t k = 0; k < runs[r].nmetrics && !seen; k++)
				seen = strcmp(runs[r].metric_names[k], kv->key) == 0;
		if (!seen)
			nf_cmd_eprintf("%s:%d:%d: warning: tolerance '%s': no run from %s to %s has a metric of that"
				" name\n", nf_loc_file(kv->loc) ? nf_loc_file(kv->loc) : "?", kv->loc.line, kv->loc.col, kv->key, from, to);
	}
}

static int
usage_error(const char *fmt, const char *arg)
{
	fputs("ntflow report drift: ", stderr);
	nf_cmd_eprintf(fmt, arg);
	fputc('\n', stderr);
	nf_cmd_usage(&nf_cmd_report, stderr);
	return NF_EXIT_USAGE;
}

int
nf_cmd_report_drift(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from",     required_argument, NULL, 'f' },
		{ "to",       required_argument, NULL, 't' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "json",     no_argument,       NULL, 'j' },
		{ "html",     required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL, *pipeline = NULL, *html = NULL;
	bool json = false, unknown = false;
	nf_store *st = NULL;
	char *dir = NULL, *root = NULL;
	nf_drift_run *runs = NULL;
	size_t nruns = 0, nv = 0, ntol = 0;
	nf_violation *v = NULL;
	nf_drift_tolerance *tol = NULL;
	nf_dag *dag = NULL;
	nf_drift_report *rep = NULL;
	nf_buf out = NF_BUF_INIT;
	int c, err, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_report, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case NF_CMD_HELP: return NF_EXIT_OK;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'p': pipeline = optarg; break;
		case 'j': json = true; break;
		case 'H': html = optarg; break;
		default: return NF_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!from || !to)
		return usage_error("%s", "say which logical dates: --from DATE --to DATE (YYYY-MM-DD)");
	if (!nf_date_ok(from))
		return usage_error("--from wants a date YYYY-MM-DD, not '%s'", from);
	if (!nf_date_ok(to))
		return usage_error("--to wants a date YYYY-MM-DD, not '%s'", to);
	if (strcmp(from, to) > 0) {
		nf_cmd_eprintf("ntflow report drift: the window ends (%s) before it begins (%s)\n", to, from);
		return NF_EXIT_USAGE;
	}
	if (json && html)
		return usage_error("%s", "--json or --html FILE, not both");
	if ((err = nf_cmd_open_store(&st, &dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	root = nf_cmd_project_root(dir);
	if ((err = nf_store_drift_runs(st, pipeline, from, to, &runs, &nruns)) < 0 ||
	    (err = nf_store_violation_list(st, &(nf_violation_filter){ .pipeline = pipeline, .from = from, .to = to },
					   &v, &nv)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	for (size_t i = 1; !pipeline && i < nruns; i++) {
		if (strcmp(runs[i].pipeline, runs[0].pipeline) != 0) {
			nf_cmd_eprintf("ntflow report drift: the window holds runs of pipelines '%s' and '%s': name one"
				" with --pipeline\n", runs[0].pipeline, runs[i].pipeline);
			rc = NF_EXIT_USAGE;
			goto done;
		}
	}
	if (nruns) {
		unknown = !read_tolerances(&dag, &tol, &ntol, st, runs[nruns - 1].id, runs[0].pipeline, root);
		warn_unknown_metrics(dag, runs, nruns, from, to);
	}
	if ((err = nf_drift_build(&rep, pipeline ? pipeline : nruns ? runs[0].pipeline : NULL, from, to, runs, nruns, v,
				  nv, tol, ntol)) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	rep->unknown = unknown;
	if (unknown)
		nf_cmd_eprintf("ntflow report drift: no metric gets a verdict: has drift is unknown\n");
	if (html) {
		nf_report_opts ro = { .state_dir = dir, .root = root, .now_ms = nf_now_realtime_ms() };

		nf_drift_html(&out, rep, &ro);
		if (strcmp(html, "-") != 0) {
			if (nf_write_file_atomic(html, out.buf, out.len) < 0) {
				nf_cmd_error("%s", nf_error_last());
				goto done;
			}
			printf("wrote %s: %zu cohort%s from %s to %s (%zu KB)\n", html, rep->ncohorts,
			       rep->ncohorts == 1 ? "" : "s", from, to, (out.len + 1023) / 1024);
			rc = unknown ? NF_EXIT_FAILED : NF_EXIT_OK;
			goto done;
		}
	} else if (json) {
		nf_drift_json(&out, rep);
	} else {
		nf_drift_text(&out, rep);
	}
	if (fwrite(nf_buf_cstr(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		nf_cmd_error("cannot write the report to standard output");
		goto done;
	}
	rc = unknown ? NF_EXIT_FAILED : NF_EXIT_OK;   /* the report is out, its verdict is not */
done:
	nf_buf_release(&out);
	nf_drift_report_free(rep);
	free(tol);
	nf_dag_free(dag);
	nf_violation_list_free(v, nv);
	nf_drift_run_list_free(runs, nruns);
	nf_store_close(st);
	free(dir);
	free(root);
	return rc;
}
