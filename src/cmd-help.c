/* cmd-help.c: `ntflow help [CMD]`, the full help of one command or the list of all. */
#include "config.h"
#include "ntflow/cmd.h"

#include <string.h>

void nf_print_main_help(FILE *f);

static int
cmd_help_exec(int argc, char **argv)
{
	extern const nf_cmd nf_cmd_help_entry;
	int c;

	while ((c = nf_cmd_getopt(&nf_cmd_help_entry, argc, argv, "", NULL)) != NF_CMD_DONE) {
		if (c == NF_CMD_HELP)
			return NF_EXIT_OK;
		return NF_EXIT_USAGE;
	}
	if (optind >= argc) {
		nf_print_main_help(stdout);
		return NF_EXIT_OK;
	}
	for (size_t i = 0; i < nf_ncommands; i++) {
		if (strcmp(nf_commands[i]->name, argv[optind]) == 0) {
			nf_cmd_help(nf_commands[i], stdout);
			return NF_EXIT_OK;
		}
	}
	{
		const char *names[64];
		size_t n = 0;
		const char *hint;

		for (; n < nf_ncommands && n < NF_ARRAY_SIZE(names); n++)
			names[n] = nf_commands[n]->name;
		if ((hint = nf_suggest(argv[optind], names, n)))
			nf_cmd_error("no help for '%s': not an ntflow command; did you mean '%s'?", argv[optind], hint);
		else
			nf_cmd_error("no help for '%s': not an ntflow command (see 'ntflow --help')", argv[optind]);
	}
	return NF_EXIT_USAGE;
}

const nf_cmd nf_cmd_help_entry = {
	.name = "help",
	.usage = "help [COMMAND]",
	.summary = "Show the help of a command, or the list of commands.",
	.help = "The same text as `ntflow COMMAND --help`; the manual is ntflow(1) and the\n"
		"pipeline file format ntflow-dag(5).\n",
	.exec = cmd_help_exec,
};
