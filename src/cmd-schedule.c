/* cmd-schedule.c: `ntflow schedule`, the next fire times of a pipeline's schedule in its
 * time zone, one UTC ISO 8601 time per line: a way to check a cron expression before the
 * scheduler acts on it. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/cron.h"
#include "ntflow/dag.h"
#include "ntflow/graph.h"

#include <stdlib.h>

static const struct option schedule_options[] = {
	{ "next", required_argument, NULL, 'N' },
	{ "from", required_argument, NULL, 'F' },
	{ "crontab", no_argument, NULL, 'C' },
	{ "status", no_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

/* The most --next accepts: enough for years of a minutely schedule's checks. */
#define MAX_NEXT 100000

static int
cmd_schedule_exec(int argc, char **argv)
{
	const nf_pipeline *pl;
	nf_dag *dag = NULL;
	int64_t from = nf_now_realtime_ms() / 1000, t;
	long count = 5;
	int c, rc = NF_EXIT_USAGE;
	bool crontab = false, times = false, status = false;
	nf_cron cron;
	nf_tz tz;
	char *end;

	while ((c = nf_cmd_getopt(&nf_cmd_schedule, argc, argv, "n:f:", schedule_options)) != NF_CMD_DONE) {
		switch (c) {
		case 'n':
		case 'N':
			if (c == 'n')
				nf_cmd_deprecated_short(&nf_cmd_schedule, 'n', "--next");
			count = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || count < 1 || count > MAX_NEXT) {
				nf_cmd_eprintf("ntflow schedule: --next '%s': expected a number from 1 to %d\n", optarg,
					MAX_NEXT);
				return NF_EXIT_USAGE;
			}
			times = true;
			break;
		case 'f':
		case 'F':
			if (c == 'f')
				nf_cmd_deprecated_short(&nf_cmd_schedule, 'f', "--from");
			if (nf_time_parse_utc(&from, optarg) < 0) {
				nf_cmd_eprintf("ntflow schedule: --from: %s\n", nf_error_last());
				return NF_EXIT_USAGE;
			}
			times = true;
			break;
		case 'C':
			crontab = true;
			break;
		case 's':
			status = true;
			break;
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		default:
			return NF_EXIT_USAGE;
		}
	}
	/* the scheduler's view: what `ntflow scheduler --status` prints */
	if (status && !crontab && !times && argc - optind <= 1)
		return nf_scheduler_status(optind < argc ? argv[optind] : NULL, nf_cmd_opt.state, nf_cmd_opt.json);
	if (argc - optind != 1 || status || nf_cmd_opt.state || nf_cmd_opt.json) {
		nf_cmd_usage(&nf_cmd_schedule, stderr);
		return NF_EXIT_USAGE;
	}
	if (crontab && times) {
		nf_cmd_eprintf("ntflow schedule: --crontab prints no fire times: it takes no --next or --from\n");
		return NF_EXIT_USAGE;
	}
	if (nf_cmd_load_dag(&dag, argv[optind]) < 0)
		goto done;
	pl = &dag->pipeline;
	if (!dag->has_pipeline || !pl->schedule) {
		nf_cmd_error("%s: no schedule (a pipeline block with schedule = \"...\")%s", argv[optind],
			     crontab ? ": there is nothing for cron to run" : "");
		rc = crontab ? NF_EXIT_USAGE : NF_EXIT_FAILED;
		goto done;
	}
	/* validated by the load: these do not fail */
	if (nf_cron_parse(&cron, pl->schedule, NULL) < 0 || nf_tz_open(&tz, pl->timezone) < 0) {
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (crontab) {
		rc = nf_schedule_crontab(argv[optind], pl, &cron);
		goto done;
	}
	for (long i = 0; i < count; i++) {
		char buf[32];

		if (nf_cron_next(&cron, &tz, from, &t) < 0) {
			nf_cmd_error("%s", nf_error_last());
			rc = NF_EXIT_FAILED;
			goto done;
		}
		nf_time_format_utc(buf, t);
		puts(buf);
		from = t;
	}
	rc = fflush(stdout) == 0 ? NF_EXIT_OK : NF_EXIT_FAILED;
done:
	nf_dag_free(dag);
	return rc;
}

const nf_cmd nf_cmd_schedule = {
	.name = "schedule",
	.shared = NF_CMD_SHARED_STATE | NF_CMD_SHARED_JSON,
	.usage = "schedule FILE [--next N] [--from TIME] [--crontab]\n"
		 "       ntflow schedule --status [FILE] [--json] [--state DIR]",
	.summary = "Print the next fire times of a pipeline's schedule.",
	.help = "Reads the pipeline's schedule (a cron expression or @hourly ... @yearly) and\n"
		"timezone (default UTC) and prints the next N times it fires after TIME, one per\n"
		"line, in UTC as ISO 8601: 2026-11-23T03:00:00Z. Daylight saving time is applied as\n"
		"ntflow-dag(5) describes: a skipped time fires at the end of the gap, a repeated\n"
		"time fires once.\n"
		"\n"
		"      --next N      how many times to print (default 5, at most 100000)\n"
		"      --from TIME   start after TIME: 2026-11-23T03:00:00Z, 2026-11-23T03:00Z or\n"
		"                    2026-11-23 (midnight), UTC; default now\n"
		"      --crontab     print instead crontab lines running the pipeline from cron\n"
		"                    rather than `ntflow scheduler`: CRON_TZ=ZONE (the pipeline's\n"
		"                    timezone; UTC too, else cron uses the system's), then the\n"
		"                    schedule in numbers and the command\n"
		"                      cd ROOT && NTFLOW run FILE --trigger schedule --no-tui\n"
		"                        >>STATE/cron.log 2>&1\n"
		"                    with absolute paths (NTFLOW this program, ROOT the project\n"
		"                    root, STATE its state directory, made if missing; --state\n"
		"                    STATE is added when $NTFLOW_STATE moves it), quoted for cron\n"
		"                    and sh (a % is written \\%). CRON_TZ holds for the lines\n"
		"                    after it; a cron that lacks it reads the system's zone.\n"
		"                    To install: (crontab -l 2>/dev/null;\n"
		"                      ntflow schedule FILE --crontab) | crontab -\n"
		"\n"
		"      --status      what `ntflow scheduler --status` prints: each scheduled\n"
		"                    pipeline's last and next run, what it does on a miss, and\n"
		"                    whether a scheduler runs (with FILE: that file's workspace)\n"
		"\n"
		"Exit status: 0; 1 when the pipeline has no schedule (2 with --crontab) or a path\n"
		"cannot be written on a crontab line; 2 when the file has errors or an option is\n"
		"bad.\n",
	.exec = cmd_schedule_exec,
};
