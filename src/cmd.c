/* cmd.c: option parsing and usage/help printing shared by every subcommand, so that all
 * of them accept options the same way. */
#include "config.h"
#include "ntflow/cmd.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/store.h"

#define MAX_LONGOPTS 64

int
nf_cmd_getopt(const nf_cmd *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts)
{
	struct option all[MAX_LONGOPTS + 2];
	size_t n = 0;
	char sopts[128];
	int c;

	/* A leading ':' makes getopt report a missing argument as ':' so we can word it. */
	snprintf(sopts, sizeof(sopts), ":%s", shortopts ? shortopts : "");
	for (; longopts && longopts[n].name && n < MAX_LONGOPTS; n++)
		all[n] = longopts[n];
	all[n++] = (struct option){ "help", no_argument, NULL, 0x7fff };
	all[n] = (struct option){ NULL, 0, NULL, 0 };

	opterr = 0;
	c = getopt_long(argc, argv, sopts, all, NULL);
	switch (c) {
	case -1:
		return NF_CMD_DONE;
	case 0x7fff:
		nf_cmd_help(cmd, stdout);
		return NF_CMD_HELP;
	case ':':
		if (optopt)
			fprintf(stderr, "ntflow %s: option '-%c' needs a value\n", cmd->name, optopt);
		else
			fprintf(stderr, "ntflow %s: option '%s' needs a value\n", cmd->name, argv[optind - 1]);
		nf_cmd_usage(cmd, stderr);
		return NF_CMD_BAD;
	case '?':
		if (optopt)
			fprintf(stderr, "ntflow %s: unknown option '-%c'\n", cmd->name, optopt);
		else
			fprintf(stderr, "ntflow %s: unknown option '%s'\n", cmd->name, argv[optind - 1]);
		nf_cmd_usage(cmd, stderr);
		return NF_CMD_BAD;
	default:
		return c;
	}
}

void
nf_cmd_usage(const nf_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: ntflow %s\n", cmd->usage);
}

void
nf_cmd_help(const nf_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: ntflow %s\n\n%s\n", cmd->usage, cmd->summary);
	if (cmd->help && *cmd->help)
		fprintf(f, "\n%s", cmd->help);
	if (cmd->help && *cmd->help && cmd->help[strlen(cmd->help) - 1] != '\n')
		fputc('\n', f);
}

void
nf_cmd_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ntflow: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
nf_cmd_print_table(const nf_table *t)
{
	nf_buf b = NF_BUF_INIT;

	nf_table_format(&b, t);
	fputs(nf_buf_cstr(&b), stdout);
	nf_buf_release(&b);
}

static int
open_store(nf_store **st, char **dir, const char *state, bool write)
{
	int err;

	err = write ? nf_store_open_workspace(st, dir, NULL, state, false)
		    : nf_store_open_workspace_read(st, dir, NULL, state);
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		return err;
	}
	for (const char *const *line = nf_store_recovered(*st); *line; line++)
		nf_cmd_error("%s", *line);
	return 0;
}

int
nf_cmd_open_store(nf_store **st, char **dir, const char *state)
{
	return open_store(st, dir, state, false);
}

int
nf_cmd_open_store_rw(nf_store **st, char **dir, const char *state)
{
	return open_store(st, dir, state, true);
}

int
nf_cmd_lock_option(const nf_cmd *cmd, nf_wslock_opts *o, int c, const char *arg)
{
	int64_t ms;

	switch (c) {
	case NF_CMD_OPT_WAIT:
		o->no_wait = false;
		break;
	case NF_CMD_OPT_NO_WAIT:
		o->no_wait = true;
		break;
	case NF_CMD_OPT_WAIT_TIMEOUT:
		if (nf_parse_duration(&ms, arg) < 0 || ms <= 0) {
			fprintf(stderr, "ntflow %s: --wait-timeout '%s': expected a duration such as 30s, 10m or 2h\n",
				cmd->name, arg);
			nf_cmd_usage(cmd, stderr);
			return -1;
		}
		o->no_wait = false;
		o->timeout_ms = ms;
		break;
	default:
		return 0;
	}
	o->on_wait = nf_cmd_lock_wait_message;
	return 1;
}

void
nf_cmd_lock_wait_message(void *ctx, const nf_wslock_holder *holder, const char *message)
{
	(void)ctx;
	(void)holder;
	nf_cmd_error("%s", message);
}

int
nf_cmd_open_store_locked(nf_store **st, char **dir, nf_wslock **lock, const char *state,
			 const nf_wslock_opts *o)
{
	nf_wslock_opts opts = *o;
	char *ws = NULL;
	int err;

	*st = NULL;
	*lock = NULL;
	*dir = NULL;
	if (!opts.on_wait)
		opts.on_wait = nf_cmd_lock_wait_message;
	if ((err = nf_workspace_resolve(&ws, NULL, state)) == 0)
		err = nf_workspace_lock(lock, ws, &opts);
	free(ws);
	/* No workspace: the store says so as every command does ("no runs yet in DIR"). */
	if (err == NF_ENOTFOUND)
		return open_store(st, dir, state, true);
	if (err < 0) {
		nf_cmd_error("%s", nf_error_last());
		return err;
	}
	if ((err = open_store(st, dir, state, true)) < 0) {
		nf_workspace_unlock(*lock);
		*lock = NULL;
	}
	return err;
}

int
nf_cmd_exit_status(int err)
{
	switch (err) {
	case NF_EBUSY:
		return NF_EXIT_BUSY;
	case NF_EINTR:
		return NF_EXIT_INTERRUPTED;
	case NF_EDAMAGED:
		return NF_EXIT_DAMAGED;
	default:
		return NF_EXIT_FAILED;
	}
}

int
nf_cmd_run_resolve(int64_t *id, const nf_cmd *cmd, nf_store *st, const char *dir, const char *arg)
{
	int err;

	if ((err = nf_store_run_resolve(st, arg, id)) < 0) {
		if (err == NF_EINVALID)
			fprintf(stderr, "ntflow %s: %s\n", cmd->name, nf_error_last());
		else
			nf_cmd_error("%s in %s", nf_error_last(), dir);
	}
	return err;
}

void
nf_cmd_json_time(cJSON *o, const char *key, int64_t ms)
{
	char buf[40];

	if (ms <= 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	nf_store_fmt_iso_utc(buf, sizeof(buf), ms);
	cJSON_AddStringToObject(o, key, buf);
}
