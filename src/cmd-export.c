/* cmd-export.c: `ntflow export --prometheus [--textfile PATH]`, the workspace's health for
 * Prometheus: on stdout, or written atomically for node_exporter's textfile collector. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/gov.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
cmd_export_exec(int argc, char **argv)
{
	extern const nf_cmd nf_cmd_export;
	static const struct option longopts[] = {
		{ "prometheus", no_argument, NULL, 'P' },
		{ "textfile", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	bool prometheus = false;
	const char *textfile = NULL;
	char *path = NULL, *dir = NULL;
	nf_store *st = NULL;
	nf_buf b = NF_BUF_INIT;
	int c, err, rc = NF_EXIT_FAILED;

	while ((c = nf_cmd_getopt(&nf_cmd_export, argc, argv, "", longopts)) != NF_CMD_DONE) {
		switch (c) {
		case 'P': prometheus = true; break;
		case 't': textfile = optarg; break;
		case NF_CMD_HELP: return NF_EXIT_OK;
		default: return NF_EXIT_USAGE;
		}
	}
	if (!prometheus || optind < argc) {
		nf_cmd_error(optind < argc ? "export takes no operand" : "say what to export: --prometheus");
		nf_cmd_usage(&nf_cmd_export, stderr);
		return NF_EXIT_USAGE;
	}
	if (textfile && nf_prometheus_textfile_path(&path, textfile) < 0) {
		nf_cmd_error("%s", nf_error_last());
		return NF_EXIT_USAGE;
	}
	/* A workspace with no run yet is exported as such (no pipeline, no alert), not an
	 * error: the collector must not go stale because nothing ran yet. */
	if ((err = nf_store_open_workspace_read(&st, &dir, NULL, nf_cmd_opt.state)) < 0 && err != NF_ENOTFOUND) {
		nf_cmd_error("%s", nf_error_last());
		rc = nf_cmd_exit_status(err);
		goto out;
	}
	err = path ? nf_prometheus_write(path, st ? &st : NULL, NULL, st ? 1 : 0, now_ms())
		   : nf_prometheus_render(&b, st ? &st : NULL, NULL, st ? 1 : 0, now_ms());
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		rc = nf_cmd_exit_status(err);
		goto out;
	}
	if (!path)
		fwrite(b.buf, 1, b.len, stdout);
	rc = NF_EXIT_OK;
out:
	nf_buf_release(&b);
	if (st)
		nf_store_close(st);
	free(dir);
	free(path);
	return rc;
}

const nf_cmd nf_cmd_export = {
	.name = "export",
	.shared = NF_CMD_SHARED_STATE,
	.usage = "export --prometheus [--textfile PATH] [--state DIR]",
	.summary = "Export the workspace's health for Prometheus.",
	.help = "Prints the workspace's health in Prometheus' text format, or with --textfile\n"
		"writes it whole for node_exporter's textfile collector (a temporary file renamed\n"
		"into place, so the collector never reads half of it):\n"
		"  ntflow_last_run_status{pipeline,status}   1 for the newest run's status, 0 for the others\n"
		"  ntflow_last_run_id, ntflow_last_run_start_timestamp_seconds,\n"
		"  ntflow_last_run_duration_seconds{pipeline} (so far, while it runs)\n"
		"  ntflow_last_success_timestamp_seconds{pipeline}  the end of its newest successful run\n"
		"  ntflow_cache_hit_ratio{pipeline}          of the newest run's decided stages\n"
		"  ntflow_stage_duration_seconds{pipeline,stage,state}  the stages the newest run ran\n"
		"  ntflow_model_production_version{model}, ntflow_model_metric{model,version,metric}\n"
		"  ntflow_alerts_open{severity}, ntflow_export_timestamp_seconds\n"
		"`ntflow scheduler --textfile PATH` rewrites it after every run.\n"
		"\n"
		"      --prometheus     the Prometheus text format (the only format so far)\n"
		"      --textfile PATH  write it to PATH, or PATH/ntflow.prom when PATH is a folder\n"
		"      --state DIR      the workspace's state directory\n",
	.exec = cmd_export_exec,
};
