/* cmd.c: option parsing and usage/help printing shared by every subcommand, so that all
 * of them accept options the same way. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/graph.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ntflow/store.h"

#define MAX_LONGOPTS 64

nf_cmd_opts nf_cmd_opt;

enum { OPT_HELP = 0x7fff, OPT_STATE = 0x7ffe, OPT_JSON = 0x7ffd };

/* Whether arg is a -N RUN operand: a dash and digits only. */
static bool
is_run_back(const char *arg)
{
	if (arg[0] != '-' || !arg[1])
		return false;
	for (const char *p = arg + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Whether the option word arg takes the next word as its value. */
static bool
takes_next(const char *arg, const char *shortopts, const struct option *longopts)
{
	if (arg[1] == '-') {
		size_t n = strcspn(arg + 2, "=");

		if (arg[2 + n] == '=')
			return false;
		for (size_t i = 0; longopts[i].name; i++)   /* getopt_long takes unique prefixes */
			if (strncmp(longopts[i].name, arg + 2, n) == 0 && longopts[i].has_arg == required_argument)
				return true;
		return false;
	}
	for (const char *p = arg + 1; *p; p++) {
		const char *o = *p == ':' ? NULL : strchr(shortopts, *p);

		if (o && o[1] == ':')
			return p[1] == '\0';   /* -jN carries its value, -j takes the next word */
	}
	return false;
}

/* The -N RUN operands of a command that takes a RUN are moved to the end of argv, where
 * getopt does not look (the returned count excludes them), so that it does not read them
 * as options; the words after "--" and option values are left alone. */
static int
set_aside_run_back(int argc, char **argv, const char *shortopts, const struct option *longopts,
		   int *nback)
{
	int n = 0;

	for (int i = 1; i < argc - n; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (is_run_back(argv[i])) {
			char *a = argv[i];

			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
			argv[argc - 1] = a;
			n++;
			i--;
		} else if (argv[i][0] == '-' && argv[i][1] && takes_next(argv[i], shortopts, longopts)) {
			i++;
		}
	}
	*nback = n;
	return argc - n;
}

/* "unknown option '--jsn'; did you mean '--json'?": the nearest of the command's long
 * options (getopt's own message names no alternative). */
static void
unknown_long(const nf_cmd *cmd, const char *arg, const struct option *all, size_t n)
{
	const char *names[MAX_LONGOPTS + 4];
	char word[64];
	const char *hint;
	size_t len = strcspn(arg + 2, "=");

	for (size_t i = 0; i < n; i++)
		names[i] = all[i].name;
	snprintf(word, sizeof(word), "%.*s", (int)(len < sizeof(word) ? len : sizeof(word) - 1), arg + 2);
	if (arg[0] == '-' && arg[1] == '-' && (hint = nf_suggest(word, names, n)))
		nf_cmd_eprintf("ntflow %s: unknown option '%s'; did you mean '--%s'?\n", cmd->name, arg, hint);
	else
		nf_cmd_eprintf("ntflow %s: unknown option '%s'\n", cmd->name, arg);
}

int
nf_cmd_getopt(const nf_cmd *cmd, int argc, char **argv, const char *shortopts,
	      const struct option *longopts)
{
	static int scan_argc, nback;
	struct option all[MAX_LONGOPTS + 4];
	size_t n = 0;
	char sopts[128];
	int c;

	/* A leading ':' makes getopt report a missing argument as ':' so we can word it. */
	snprintf(sopts, sizeof(sopts), ":%s", shortopts ? shortopts : "");
	for (; longopts && longopts[n].name && n < MAX_LONGOPTS; n++)
		all[n] = longopts[n];
	if (cmd->shared & NF_CMD_SHARED_STATE)
		all[n++] = (struct option){ "state", required_argument, NULL, OPT_STATE };
	if (cmd->shared & NF_CMD_SHARED_JSON)
		all[n++] = (struct option){ "json", no_argument, NULL, OPT_JSON };
	all[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	all[n] = (struct option){ NULL, 0, NULL, 0 };

	if (optind == 0) {   /* the first call for this command (main resets optind) */
		nback = 0;
		scan_argc = argc;
		if (cmd->shared & NF_CMD_SHARED_RUN)
			scan_argc = set_aside_run_back(argc, argv, sopts + 1, all, &nback);
	}
	opterr = 0;
	for (;;) {
		c = getopt_long(scan_argc, argv, sopts, all, NULL);
		if (c == OPT_STATE)
			nf_cmd_opt.state = optarg;
		else if (c == OPT_JSON)
			nf_cmd_opt.json = true;
		else
			break;
	}
	switch (c) {
	case -1:
		/* The -N set aside go first among the operands, where a RUN is. */
		for (int k = 0; k < nback; k++) {
			char *a = argv[scan_argc + k];

			memmove(&argv[optind + k + 1], &argv[optind + k],
				(size_t)(scan_argc - optind) * sizeof(*argv));
			argv[optind + k] = a;
		}
		scan_argc = argc;
		nback = 0;
		return NF_CMD_DONE;
	case OPT_HELP:
		nf_cmd_help(cmd, stdout);
		return NF_CMD_HELP;
	case ':':
		/* A long option names itself as written: its optopt is its short letter, which
		 * may be another option's ("--force" is not "-f"). */
		if (optopt && !(optind > 0 && strncmp(argv[optind - 1], "--", 2) == 0))
			nf_cmd_eprintf("ntflow %s: option '-%c' needs a value\n", cmd->name, optopt);
		else
			nf_cmd_eprintf("ntflow %s: option '%s' needs a value\n", cmd->name, argv[optind - 1]);
		nf_cmd_usage(cmd, stderr);
		return NF_CMD_BAD;
	case '?':
		if (!optopt)
			unknown_long(cmd, argv[optind - 1], all, n);
		else if (optind > 0 && strncmp(argv[optind - 1], "--", 2) == 0)   /* --flag=value */
			nf_cmd_eprintf("ntflow %s: option '%s' takes no value\n", cmd->name, argv[optind - 1]);
		else
			nf_cmd_eprintf("ntflow %s: unknown option '-%c'\n", cmd->name, optopt);
		nf_cmd_usage(cmd, stderr);
		return NF_CMD_BAD;
	default:
		return c;
	}
}

void
nf_cmd_deprecated_short(const nf_cmd *cmd, char letter, const char *instead)
{
	nf_cmd_eprintf("ntflow %s: -%c is deprecated and goes in the next release (-n means --dry-run "
		"and -f --follow in every command); use %s\n", cmd->name, letter, instead);
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
	if (cmd->shared & NF_CMD_SHARED_RUN)
		fputs("\nRUN is a run id, last (the last run), or -N: the Nth run counting back from\n"
		      "the last (-1 the last run, -2 the one before).\n", f);
}

/* fmt's text into f, its control characters other than line breaks and tabs as \xNN. */
static void
put_visible(FILE *f, const char *fmt, va_list ap)
{
	char *text = xvasprintf(fmt, ap);
	nf_buf b = NF_BUF_INIT;

	nf_buf_add_visible(&b, text, true);
	fwrite(b.buf ? b.buf : "", 1, b.len, f);
	nf_buf_release(&b);
	free(text);
}

void
nf_cmd_error(const char *fmt, ...)
{
	va_list ap;

	/* A message quotes what it was given (a -p NAME=VALUE, a path, a run's reason): its
	 * control characters are shown as \xNN, never sent to the terminal. */
	fputs("ntflow: ", stderr);
	va_start(ap, fmt);
	put_visible(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
nf_cmd_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_visible(stdout, fmt, ap);
	va_end(ap);
}

void
nf_cmd_eprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	put_visible(stderr, fmt, ap);
	va_end(ap);
}

char *
nf_cmd_object_line(const char *json)
{
	cJSON *o = cJSON_Parse(json ? json : "{}");
	nf_buf b = NF_BUF_INIT;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		nf_buf_add_visible(&b, json ? json : "", false);
		return nf_buf_detach(&b);
	}
	for (cJSON *it = o->child; it; it = it->next) {
		if (b.len)
			nf_buf_putc(&b, ' ');
		/* a key's or a value's escape sequences and line breaks shown, not played */
		nf_buf_add_visible(&b, it->string ? it->string : "", false);
		nf_buf_putc(&b, '=');
		if (cJSON_IsString(it)) {
			nf_buf_add_visible(&b, it->valuestring, false);
		} else {
			char *v = cJSON_PrintUnformatted(it);

			nf_buf_add_visible(&b, v ? v : "", false);
			cJSON_free(v);
		}
	}
	cJSON_Delete(o);
	if (!b.len)
		nf_buf_puts(&b, "-");
	return nf_buf_detach(&b);
}

char *
nf_cmd_visible(const char *s)
{
	nf_buf b = NF_BUF_INIT;

	nf_buf_add_visible(&b, s ? s : "", false);
	return nf_buf_detach(&b);
}

/* The columns a listing may take: $COLUMNS when set (a number), else the terminal's width
 * when standard output is one, else 0: no limit, so a pipe or a file gets whole lines. */
static size_t
table_max_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long v;

	if (env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (!errno && !*end && v > 0 && v < 100000)
			return (size_t)v;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

void
nf_cmd_print_table(const nf_table *t)
{
	nf_buf b = NF_BUF_INIT;

	nf_table_format_fit(&b, t, table_max_width());
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

char *
nf_cmd_project_root(const char *state_dir)
{
	char *abs = nf_state_dir_canon(state_dir), *slash;

	if ((slash = strrchr(abs, '/')) && slash != abs)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
	return abs;
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

bool
nf_cmd_parse_count(const nf_cmd *cmd, long *out, const char *opt, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 1000000000L) {
		nf_cmd_eprintf("ntflow %s: %s needs a number (0 or more), not '%s'\n", cmd->name, opt, arg);
		return false;
	}
	*out = v;
	return true;
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
			nf_cmd_eprintf("ntflow %s: --wait-timeout '%s': expected a duration such as 30s, 10m or 2h\n",
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

/* The RUN forms the store does not know, `last` and -N (the Nth run back from the last),
 * and the run ids it does. */
int
nf_cmd_run_lookup(nf_store *st, const char *arg, int64_t *id)
{
	nf_run_info *runs = NULL;
	size_t n = 0;
	long long back;
	char *end;
	int err;

	if (arg && strcmp(arg, "last") == 0)
		arg = NULL;
	if (!arg || !is_run_back(arg))
		return nf_store_run_resolve(st, arg, id);
	errno = 0;
	back = strtoll(arg + 1, &end, 10);
	if (errno || *end || back < 1 || back > INT_MAX)
		return nf_error_set(NF_EINVALID, "'%s' is not a run id (a number, last, or -N: -1 the last run, -2 the one before)", arg);
	if ((err = nf_store_run_list(st, (int)back, &runs, &n)) < 0)
		return err;
	if (n == 0)
		err = nf_error_set(NF_ENOTFOUND, "no runs yet");
	else if (n < (size_t)back)
		err = nf_error_set(NF_ENOTFOUND, "no run %s: there %s only %zu run%s", arg,
				   n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
	else
		*id = runs[back - 1].id;
	nf_run_info_list_free(runs, n);
	return err;
}

int
nf_cmd_run_resolve(int64_t *id, const nf_cmd *cmd, nf_store *st, const char *dir, const char *arg)
{
	int err;

	*id = 0;
	if ((err = nf_cmd_run_lookup(st, arg, id)) < 0) {
		if (err == NF_EINVALID)
			nf_cmd_eprintf("ntflow %s: %s\n", cmd->name, nf_error_last());
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

int
nf_cmd_load_dag(nf_dag **dag, const char *path)
{
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	int err = nf_dag_load(dag, path, &diags);

	nf_diag_print(&diags, stderr);
	if (err < 0 && !diags.nerrors)
		nf_cmd_error("%s", nf_error_last());
	nf_diag_list_release(&diags);
	return err;
}
