/* ntml.c: the entry point of ntml, the stage program of ntflow's example ML pipelines;
 * it dispatches to one subcommand (gen, prep, train, predict, eval, drift). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ntml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char help_intro[] =
	"usage: ntml COMMAND [OPTIONS]\n"
	"       ntml COMMAND --help\n"
	"\n"
	"ntml is the stage program of ntflow's example retraining pipeline (dags/retrain.dag):\n"
	"synthetic fraud-like data, a seeded stratified split, logistic regression, its\n"
	"metrics and data drift statistics. It is plain C (libc, libm, cJSON), independent of\n"
	"ntflow, and every result depends only on its inputs and seeds.\n"
	"\n"
	"Commands:\n"
	"  gen      write one ISO week of synthetic transactions (CSV)\n"
	"  prep     drop bad rows, split stratified into train/val/test, standardise\n"
	"  train    fit L2-regularised logistic regression with early stopping\n"
	"  predict  write one probability per row (CSV with the header 'p')\n"
	"  eval     accuracy, precision, recall, f1, auc, logloss, brier, ece (JSON)\n"
	"  drift    PSI and Kolmogorov-Smirnov per feature between two files (JSON)\n"
	"\n"
	"Data files are CSV: a header line of unique column names, then comma-separated\n"
	"numbers (no quoting); the column 'label' holds the class, 0 or 1. train, predict,\n"
	"eval and drift stop at the first bad cell with FILE:LINE: column 'NAME': ...;\n"
	"prep drops such rows and counts them.\n"
	"\n"
	"Exit status: 0 done; 1 a data error (missing, empty or malformed file, no 'label'\n"
	"column, a single class where both are needed); 2 a usage error. Messages go to\n"
	"stderr and start with 'ntml'.\n"
	"\n"
	"One week by hand, stage by stage (dags/retrain.dag runs the same commands):\n"
	"  ntml gen --week 2026-W40 --rows 20000 --seed 42 --out data/weekly/2026-W40.csv\n"
	"  ntml prep --in data/weekly/2026-W40.csv --out build/prep --seed 42\n"
	"  ntml train --train build/prep/train.csv --val build/prep/val.csv \\\n"
	"             --lr 0.2 --l2 0.001 --out build/model\n"
	"  ntml eval --model build/model/model.json --test build/prep/test.csv \\\n"
	"            --out build/eval/metrics.json\n"
	"  ntml drift --ref data/reference.csv --cur data/weekly/2026-W40.csv \\\n"
	"             --out build/drift.json\n"
	"\n";

typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
	{ "gen", ntml_cmd_gen },
	{ "prep", ntml_cmd_prep },
	{ "train", ntml_cmd_train },
	{ "predict", ntml_cmd_predict },
	{ "eval", ntml_cmd_eval },
	{ "drift", ntml_cmd_drift },
};

int
ntml_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ntml %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'ntml %s --help')\n", cmd);
	return NTML_EXIT_USAGE;
}

int
ntml_data_error(void)
{
	fprintf(stderr, "ntml: %s\n", ntml_error());
	return NTML_EXIT_DATA;
}

static void
print_help(FILE *f)
{
	fputs(help_intro, f);
	fputs(ntml_schedule, f);
}

int
main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		print_help(stderr);
		return NTML_EXIT_USAGE;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		/* `ntml help CMD` is `ntml CMD --help`. */
		if (argc > 2 && strcmp(name, "help") == 0) {
			for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
				if (!strcmp(argv[2], commands[i].name)) {
					char *args[] = { argv[2], "--help", NULL };
					return commands[i].run(2, args);
				}
			fprintf(stderr, "ntml: unknown command '%s' (see 'ntml --help')\n", argv[2]);
			return NTML_EXIT_USAGE;
		}
		print_help(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ntml: unknown command '%s' (see 'ntml --help')\n", name);
	return NTML_EXIT_USAGE;
}
