/* main.c: the command table and dispatch; everything a command does lives in its cmd-*.c. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const nf_cmd nf_cmd_help_entry;

const nf_cmd *const nf_commands[] = {
	&nf_cmd_init,
	&nf_cmd_run,
	&nf_cmd_backfill,
	&nf_cmd_dash,
	&nf_cmd_runs,
	&nf_cmd_diff,
	&nf_cmd_show,
	&nf_cmd_registry,
	&nf_cmd_logs,
	&nf_cmd_why,
	&nf_cmd_cache,
	&nf_cmd_prune,
	&nf_cmd_metrics,
	&nf_cmd_report,
	&nf_cmd_alerts,
	&nf_cmd_violations,
	&nf_cmd_audit,
	&nf_cmd_doctor,
	&nf_cmd_export,
	&nf_cmd_validate,
	&nf_cmd_graph,
	&nf_cmd_fmt,
	&nf_cmd_import,
	&nf_cmd_schedule,
	&nf_cmd_scheduler,
	&nf_cmd_help_entry,
	&nf_cmd_complete,
};
const size_t nf_ncommands = NF_ARRAY_SIZE(nf_commands);

void nf_print_main_help(FILE *f);

void
nf_print_main_help(FILE *f)
{
	fprintf(f, "usage: ntflow [--version] [--help] COMMAND [ARGS]\n\n"
		   "ntflow runs machine-learning retraining pipelines written as .dag files.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < nf_ncommands; i++)
		fprintf(f, "  %-11s %s\n", nf_commands[i]->name, nf_commands[i]->summary);
	fprintf(f, "\nExit status: 0 success, 1 a stage failed, 2 usage or DAG error,\n"
		   "3 the gate rejected the model, 4 the state database is damaged, missing or\n"
		   "not the workspace's, 75 the workspace is locked (--no-wait), 130 interrupted.\n"
		   "'ntflow help COMMAND' shows a command's options; see ntflow(1) and ntflow-dag(5).\n");
}

static const nf_cmd *
find_command(const char *name)
{
	for (size_t i = 0; i < nf_ncommands; i++)
		if (strcmp(nf_commands[i]->name, name) == 0)
			return nf_commands[i];
	return NULL;
}

/* A closed standard descriptor would be handed to the next file opened, and printf would
 * then write into it (the state database, a log). Each closed one is held by /dev/null
 * opened read-only, so that writing to it still fails, as writing to a closed one does. */
static void
hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int held;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free descriptor: fd itself, as those below it are open. */
		if ((held = open("/dev/null", O_RDONLY)) >= 0 && held != fd) {
			dup2(held, fd);
			close(held);
		}
	}
}

/* The command's status, or NF_EXIT_FAILED when what it printed did not all reach stdout
 * (a full disk, a closed descriptor): as git does, a command whose output was lost must
 * not report success. A closed stdout that was never written to is no error. */
static int
finish_stdout(int rc)
{
	int failed, err;

	errno = 0;
	failed = fflush(stdout) != 0 || ferror(stdout);
	err = errno;

	if (fclose(stdout) != 0 && !failed && errno != EBADF) {
		failed = 1;
		err = errno;
	}
	if (!failed)
		return rc;
	/* A write that failed before the end set the stream's error, but errno is long gone. */
	if (err)
		nf_cmd_error("cannot write to standard output: %s", strerror(err));
	else
		nf_cmd_error("cannot write to standard output");
	return rc == NF_EXIT_OK ? NF_EXIT_FAILED : rc;
}

static int
dispatch(int argc, char **argv)
{
	const nf_cmd *cmd;

	setlocale(LC_ALL, "");
	if (argc < 2) {
		nf_print_main_help(stderr);
		return NF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		nf_print_main_help(stdout);
		return NF_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		nf_print_version(stdout);
		return NF_EXIT_OK;
	}
	if (argv[1][0] == '-') {
		nf_cmd_error("unknown option '%s'", argv[1]);
		nf_cmd_eprintf("usage: ntflow [--version] [--help] COMMAND [ARGS]\n");
		return NF_EXIT_USAGE;
	}
	if (!(cmd = find_command(argv[1]))) {
		const char *names[64];
		const char *hint;

		for (size_t i = 0; i < nf_ncommands && i < NF_ARRAY_SIZE(names); i++)
			names[i] = nf_commands[i]->name;
		hint = nf_suggest(argv[1], names, nf_ncommands < 64 ? nf_ncommands : 64);
		if (hint)
			nf_cmd_error("'%s' is not an ntflow command; did you mean '%s'?", argv[1], hint);
		else
			nf_cmd_error("'%s' is not an ntflow command; see 'ntflow --help'", argv[1]);
		return NF_EXIT_USAGE;
	}
	optind = 0;  /* GNU getopt: start afresh on the command's own arguments */
	nf_cmd_opt = (nf_cmd_opts){ 0 };
	return cmd->exec(argc - 1, argv + 1);
}

int
main(int argc, char **argv)
{
	hold_std_fds();
	return finish_stdout(dispatch(argc, argv));
}
