/* cmd-schedule-crontab.c: `ntflow schedule FILE --crontab`, the crontab lines that start the
 * pipeline's scheduled runs from cron instead of `ntflow scheduler`: CRON_TZ, then the
 * expression in numbers and a command with absolute paths, quoted for cron and /bin/sh. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/cron.h"
#include "ntflow/dag.h"
#include "ntflow/store.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends s as one /bin/sh word inside a crontab command: bare when it is plain, else in
 * '...', each ' written \' between quoted parts. cron cuts the command at a '%' (the rest
 * becomes the job's input) unless written \%, and takes that backslash away: every '%' is
 * written \% between quoted parts too, so the \ before it is never one of the word's own
 * backslashes and the shell reads a bare %. */
static void
put_word(nf_buf *out, const char *s)
{
	bool plain = *s != '\0', open = false;

	for (const char *p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("/._+-", *p);
	if (plain) {
		nf_buf_puts(out, s);
		return;
	}
	if (!*s)
		nf_buf_puts(out, "''");
	for (const char *p = s; *p; p++) {
		bool bare = *p == '\'' || *p == '%';

		if (bare == open) {
			nf_buf_putc(out, '\'');
			open = !open;
		}
		if (bare)
			nf_buf_putc(out, '\\');
		nf_buf_putc(out, *p);
	}
	if (open)
		nf_buf_putc(out, '\'');
}

/* A crontab entry is one line: a path holding a line break cannot be in one. */
static int
check_path(const char *what, const char *path)
{
	if (strpbrk(path, "\n\r"))
		return nf_error_set(NF_EINVALID, "%s '%s' holds a line break: it cannot be written on a crontab line",
				    what, path);
	return 0;
}

/* This program's absolute path, for cron to run: /proc/self/exe. */
static int
self_exe(char **out)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	*out = NULL;
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1)
		return nf_error_set_errno(NF_EIO, "cannot find the path of the ntflow program (/proc/self/exe)");
	buf[n] = '\0';
	*out = xstrdup(buf);
	return 0;
}

int
nf_schedule_crontab(const char *dag_path, const nf_pipeline *pl, const nf_cron *cron)
{
	char *exe = NULL, *dag = NULL, *root = NULL, *state = NULL, *state_abs = NULL, *dflt = NULL, *log = NULL;
	nf_buf line = NF_BUF_INIT;
	int err, rc = NF_EXIT_FAILED;

	if ((err = self_exe(&exe)) < 0)
		goto fail;
	if (!(dag = realpath(dag_path, NULL))) {
		err = nf_error_set_errno(NF_EIO, "cannot find the absolute path of '%s'", dag_path);
		goto fail;
	}
	/* The workspace the run will use: cron's environment has no NTFLOW_STATE, so a
	 * state directory other than the root's .ntflow/ is passed as --state. The line
	 * appends to STATE/cron.log: the directory is made now, as a run would make it. */
	if ((err = nf_workspace_root(&root, dag)) < 0 || (err = nf_workspace_resolve(&state, dag, NULL)) < 0 ||
	    (err = nf_workspace_make_private(state, true)) < 0)
		goto fail;
	if (!(state_abs = realpath(state, NULL))) {
		err = nf_error_set_errno(NF_EIO, "cannot find the absolute path of '%s'", state);
		goto fail;
	}
	dflt = xasprintf("%s/.ntflow", strcmp(root, "/") == 0 ? "" : root);
	log = xasprintf("%s/cron.log", state_abs);
	if ((err = check_path("the ntflow program", exe)) < 0 || (err = check_path("the DAG file", dag)) < 0 ||
	    (err = check_path("the project root", root)) < 0 || (err = check_path("the state directory", state_abs)) < 0)
		goto fail;

	/* cron reads the times in its own zone (the system's) unless told: always tell it. */
	nf_buf_printf(&line, "CRON_TZ=%s\n", pl->timezone && *pl->timezone ? pl->timezone : "UTC");
	nf_cron_format(&line, cron);
	nf_buf_puts(&line, " cd ");
	put_word(&line, root);
	nf_buf_puts(&line, " && ");
	put_word(&line, exe);
	nf_buf_puts(&line, " run ");
	put_word(&line, dag);
	nf_buf_puts(&line, " --trigger schedule --no-tui");
	if (strcmp(state_abs, dflt) != 0) {
		nf_buf_puts(&line, " --state ");
		put_word(&line, state_abs);
	}
	nf_buf_puts(&line, " >>");
	put_word(&line, log);
	nf_buf_puts(&line, " 2>&1\n");
	fputs(nf_buf_cstr(&line), stdout);
	rc = fflush(stdout) == 0 ? NF_EXIT_OK : NF_EXIT_FAILED;
	goto done;
fail:
	nf_cmd_error("%s", nf_error_last());
	rc = nf_cmd_exit_status(err);
done:
	nf_buf_release(&line);
	free(exe);
	free(dag);
	free(root);
	free(state);
	free(state_abs);
	free(dflt);
	free(log);
	return rc;
}
