/* cmd-logs.c: `ntflow logs`, the log of a stage's latest (or a given) attempt, printed or
 * followed while the run goes on: inotify wakes us when the file grows, and the database
 * is asked about once a second whether the node has finished or moved to a new attempt. */
#include "config.h"
#include "ntflow/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ntflow/store.h"

typedef struct logs_ctx {
	nf_store *st;
	char *dir;            /* the state directory */
	int64_t run;
	const char *node;     /* the node's full name */
	int attempt;          /* 0: follow the latest */
	int silent;           /* > 0: this attempt printed nothing, so it has no log file */
	nf_state state;       /* the node's, when silent is set */
	int64_t reused_by;    /* > 0: the node was cached in this run, and run is the one
	                       * whose result (and log) it reused */
} logs_ctx;

/* A cached node has no log of its own: its log is that of the run whose result it reused
 * (that run's node may itself have been cached: follow the chain a few steps). */
static void
use_reused_run(logs_ctx *c)
{
	for (int hop = 0; hop < 8; hop++) {
		nf_node_info node;
		nf_node_cache_info ci;
		int64_t reused = 0;

		if (nf_store_node_get(c->st, c->run, c->node, &node) < 0)
			return;
		if (node.state == NF_ST_CACHED && nf_store_node_cache_get(c->st, c->run, c->node, &ci) == 0) {
			reused = ci.reused_run;
			nf_node_cache_info_release(&ci);
		}
		nf_node_info_release(&node);
		if (reused <= 0 || reused == c->run)
			return;
		if (nf_store_node_get(c->st, reused, c->node, &node) < 0) {
			nf_run_info r;

			if (nf_store_run_get(c->st, reused, &r) == 0) {
				if (r.pruned_ms) {   /* followed, so that the message names the prune */
					if (!c->reused_by)
						c->reused_by = c->run;
					c->run = reused;
				}
				nf_run_info_release(&r);
			}
			return;
		}
		nf_node_info_release(&node);
		if (!c->reused_by)
			c->reused_by = c->run;
		c->run = reused;
	}
}

/* Finds the node STAGE names: a node's full name, or a stage with a single node. */
static int
find_node(char **out, nf_store *st, int64_t run, const char *stage)
{
	nf_node_info *nodes = NULL;
	const char **names = NULL;
	const nf_node_info *hit = NULL;
	size_t n = 0, nhits = 0;
	nf_buf list = NF_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = nf_store_node_list(st, run, &nodes, &n)) < 0)
		return err;
	for (size_t i = 0; i < n && !hit; i++)
		if (strcmp(nodes[i].name, stage) == 0)
			hit = &nodes[i];
	for (size_t i = 0; i < n && !hit; i++) {
		if (strcmp(nodes[i].stage, stage) != 0)
			continue;
		if (nhits++)
			nf_buf_puts(&list, ", ");
		nf_buf_puts(&list, nodes[i].name);
	}
	if (!hit && nhits == 1) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(nodes[i].stage, stage) == 0)
				hit = &nodes[i];
	}
	if (hit) {
		*out = xstrdup(hit->name);
	} else if (nhits > 1) {
		err = nf_error_set(NF_EINVALID, "stage '%s' has %zu instances; name one of: %s",
				   stage, nhits, nf_buf_cstr(&list));
	} else {
		const char *hint;

		names = xcalloc(n + 1, sizeof(*names));
		for (size_t i = 0; i < n; i++)
			names[i] = nodes[i].name;
		hint = nf_suggest(stage, names, n);
		if (hint)
			err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'; did you mean '%s'?",
					   (long long)run, stage, hint);
		else
			err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'", (long long)run, stage);
	}
	free(names);
	nf_buf_release(&list);
	nf_node_info_list_free(nodes, n);
	return err;
}

/* The log of one attempt (attempt 0: the latest) as a path to open; NULL in *path when
 * the node has no such attempt yet. *state is the node's state. */
static int
attempt_log(char **path, int *which, nf_state *state, logs_ctx *c)
{
	nf_node_info node, *att = NULL;
	size_t n = 0;
	const char *log = NULL;
	int err;

	*path = NULL;
	*which = 0;
	if ((err = nf_store_node_get(c->st, c->run, c->node, &node)) < 0)
		return err;
	*state = node.state;
	if (c->attempt == 0) {
		log = node.log_path;
		*which = node.attempts;
	} else if ((err = nf_store_attempt_list(c->st, c->run, c->node, &att, &n)) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (att[i].attempts == c->attempt) {
				log = att[i].log_path;
				*which = c->attempt;
			}
		}
	}
	if (log) {
		*path = nf_store_log_path(c->dir, log);
		/* Paths are stored relative to the project root; with --state elsewhere the
		 * state directory's parent is not that root, but the current repository is. */
		if (access(*path, F_OK) < 0 && log[0] != '/') {
			char *dflt = NULL;

			if (nf_workspace_resolve(&dflt, NULL, "") == 0) {
				char *alt = nf_store_log_path(dflt, log);

				if (access(alt, F_OK) == 0) {
					free(*path);
					*path = alt;
				} else {
					free(alt);
				}
			}
			free(dflt);
		}
	}
	nf_node_info_list_free(att, n);
	nf_node_info_release(&node);
	return err;
}

/* The folder of run's logs in the state directory dir (its fan-out folders beneath). Caller
 * frees. */
static char *
run_log_folder(const logs_ctx *c)
{
	return xasprintf("%s/logs/%lld", c->dir, (long long)c->run);
}

/* Whether the run's log folder is not there (or not a folder): a prune that removed the
 * run's logs and was stopped (or failed on a full disk) before it recorded the run as
 * pruned, or a person. Looked for in the state directory itself, not where a log's stored
 * path leads (with --state elsewhere that is another place). */
static bool
log_gone(const logs_ctx *c)
{
	char *dir = run_log_folder(c);
	struct stat st;
	bool gone = stat(dir, &st) < 0 ? errno == ENOENT || errno == ENOTDIR : !S_ISDIR(st.st_mode);

	free(dir);
	return gone;
}

/* A log is created at its attempt's first byte, in the run's log folder, made at its start:
 * an attempt that started and has no file printed nothing (yet), while that folder is there. */
static bool
printed_nothing(const logs_ctx *c, const char *path, int which)
{
	return which > 0 && access(path, F_OK) < 0 && errno == ENOENT && !log_gone(c);
}

/* The error for an attempt whose log is gone with its run's folder. */
static int
gone_error(const logs_ctx *c, int which)
{
	char *dir = run_log_folder(c);
	int err = nf_error_set(NF_ENOTFOUND, "the log of attempt %d of %s in run %lld is gone: its folder %s was "
			       "removed (by a prune that did not finish, or by hand)", which, c->node,
			       (long long)c->run, dir);

	free(dir);
	return err;
}

/* Copies what fd has beyond its offset to stdout. */
static int
copy_new(int fd, const char *path)
{
	char buf[65536];
	struct stat st;
	off_t at;
	ssize_t r;

	/* A log cut back to its log_limit: read on from the cut, as tail -f does. */
	if ((at = lseek(fd, 0, SEEK_CUR)) > 0 && fstat(fd, &st) == 0 && st.st_size < at)
		lseek(fd, st.st_size, SEEK_SET);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return nf_error_set_errno(NF_EIO, "cannot read '%s'", path);
		}
		if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
			return nf_error_set_errno(NF_EIO, "cannot write the log");
	}
	fflush(stdout);
	return 0;
}

static int
open_log(int *fd, const char *path)
{
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return nf_error_set_errno(errno == ENOENT ? NF_ENOTFOUND : NF_EIO, "cannot open log '%s'", path);
	return 0;
}

/* Whether the run is still going (so a follower should keep waiting). */
static bool
run_going(logs_ctx *c)
{
	nf_run_info r;
	bool going;

	if (nf_store_run_get(c->st, c->run, &r) < 0)
		return false;
	going = r.status == NF_RUN_RUNNING;
	nf_run_info_release(&r);
	return going;
}

/* Follows the node's log until the node reaches a final state or the run ends; when
 * following the latest attempt and a retry starts, moves on to the new attempt's log. */
static int
follow(logs_ctx *c)
{
	char *path = NULL;
	int fd = -1, ino = -1, wd = -1, which = 0, err = 0;
	nf_state state = NF_ST_WAITING;
	int64_t next_check = 0;

	if ((ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		err = nf_error_set_errno(NF_EIO, "cannot watch the log");
		goto done;
	}
	for (;;) {
		int64_t now = nf_now_monotonic_ms();
		struct pollfd pfd = { .fd = ino, .events = POLLIN };
		bool final = false;

		if (now >= next_check || fd < 0) {
			char *latest = NULL;
			int latest_which = 0;

			next_check = now + 1000;
			if ((err = attempt_log(&latest, &latest_which, &state, c)) < 0)
				goto done;
			final = nf_state_is_final(state) || !run_going(c);
			if (latest && !path && printed_nothing(c, latest, latest_which)) {
				c->silent = latest_which;
				c->state = state;
			} else if (latest && !path && final && latest_which > 0 && access(latest, F_OK) < 0 &&
				   log_gone(c)) {
				err = gone_error(c, latest_which);
				free(latest);
				goto done;
			}
			/* A new attempt (or the first): finish the old file, switch to the new one. */
			if (latest && (!path || latest_which != which) && access(latest, R_OK) == 0) {
				if (fd >= 0) {
					if ((err = copy_new(fd, path)) < 0)
						goto done;
					close(fd);
					fd = -1;
					nf_cmd_eprintf("ntflow: attempt %d of %s\n", latest_which, c->node);
				}
				if (wd >= 0)
					inotify_rm_watch(ino, wd);
				free(path);
				path = latest;
				latest = NULL;
				which = latest_which;
				c->silent = 0;
				if ((err = open_log(&fd, path)) < 0)
					goto done;
				wd = inotify_add_watch(ino, path, IN_MODIFY | IN_CLOSE_WRITE);
			}
			free(latest);
		}
		if (fd >= 0 && (err = copy_new(fd, path)) < 0)
			goto done;
		if (final && !path && c->silent)
			break;
		if (final && !path) {
			err = nf_error_set(NF_ENOTFOUND, "%s in run %lld has no log (it is %s)", c->node,
					   (long long)c->run, nf_state_name(state));
			goto done;
		}
		if (final)
			break;
		/* The file may grow without inotify (NFS): the once-a-second check reads it too. */
		if (poll(&pfd, 1, fd >= 0 ? 1000 : 250) > 0) {
			char buf[4096];

			while (read(ino, buf, sizeof(buf)) > 0)
				;
		}
	}
done:
	if (fd >= 0)
		close(fd);
	if (ino >= 0)
		close(ino);
	free(path);
	return err;
}

static int
print_once(logs_ctx *c)
{
	char *path = NULL;
	int fd = -1, which, err;
	nf_state state;

	if ((err = attempt_log(&path, &which, &state, c)) < 0)
		goto done;
	if (!path) {
		if (c->attempt && which)   /* the attempt is there, its log is not */
			err = nf_error_set(NF_ENOTFOUND, "attempt %d of %s in run %lld has no log", c->attempt, c->node,
					   (long long)c->run);
		else if (c->attempt)
			err = nf_error_set(NF_ENOTFOUND, "%s in run %lld has no attempt %d", c->node,
					   (long long)c->run, c->attempt);
		else
			err = nf_error_set(NF_ENOTFOUND, "%s in run %lld has no log (it is %s)", c->node,
					   (long long)c->run, nf_state_name(state));
		goto done;
	}
	if (printed_nothing(c, path, which)) {
		c->silent = which;
		c->state = state;
		goto done;
	}
	if (which > 0 && access(path, F_OK) < 0 && log_gone(c)) {
		err = gone_error(c, which);
		goto done;
	}
	if ((err = open_log(&fd, path)) < 0)
		goto done;
	err = copy_new(fd, path);
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return err;
}

static int
cmd_logs_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "attempt", required_argument, NULL, 'a' },
		{ "follow",  no_argument,       NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	logs_ctx c = { 0 };
	const char *run_arg = NULL, *stage;
	char *node = NULL, *end;
	bool follow_it = false;
	long v;
	int opt, err, rc = NF_EXIT_FAILED;

	while ((opt = nf_cmd_getopt(&nf_cmd_logs, argc, argv, "f", longopts)) != NF_CMD_DONE) {
		switch (opt) {
		case NF_CMD_HELP:
			return NF_EXIT_OK;
		case 'a':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 1000000) {
				nf_cmd_eprintf("ntflow logs: --attempt needs a positive number, not '%s'\n", optarg);
				return NF_EXIT_USAGE;
			}
			c.attempt = (int)v;
			break;
		case 'f':
			follow_it = true;
			break;
		default:
			return NF_EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		nf_cmd_eprintf("ntflow logs: %s\n", argc - optind < 1 ? "which stage?" : "too many arguments");
		nf_cmd_usage(&nf_cmd_logs, stderr);
		return NF_EXIT_USAGE;
	}
	if (argc - optind == 2)
		run_arg = argv[optind++];
	stage = argv[optind];

	if ((err = nf_cmd_open_store(&c.st, &c.dir, nf_cmd_opt.state)) < 0) {
		rc = nf_cmd_exit_status(err);
		goto done;
	}
	if ((err = nf_cmd_run_resolve(&c.run, &nf_cmd_logs, c.st, c.dir, run_arg)) < 0) {
		rc = err == NF_EINVALID ? NF_EXIT_USAGE : NF_EXIT_FAILED;
		goto done;
	}
	if ((err = find_node(&node, c.st, c.run, stage)) < 0) {
		nf_store_pruned_error(c.st, c.run, err);
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	c.node = node;
	use_reused_run(&c);
	if (c.reused_by)
		nf_cmd_eprintf("ntflow: %s was cached in run %lld: log of run %lld, whose result it reused\n", node,
			(long long)c.reused_by, (long long)c.run);
	if ((err = follow_it ? follow(&c) : print_once(&c)) < 0) {
		nf_store_pruned_error(c.st, c.run, err);
		nf_cmd_error("%s", nf_error_last());
		goto done;
	}
	if (c.silent)
		nf_cmd_eprintf("ntflow: %s printed nothing in attempt %d of run %lld%s (no log)\n", node, c.silent,
			(long long)c.run, nf_state_is_final(c.state) ? "" : " so far");
	rc = NF_EXIT_OK;
done:
	nf_store_close(c.st);
	free(c.dir);
	free(node);
	return rc;
}

const nf_cmd nf_cmd_logs = {
	.name    = "logs",
	.shared  = NF_CMD_SHARED_STATE | NF_CMD_SHARED_RUN,
	.usage   = "logs [RUN] STAGE [--attempt N] [-f|--follow] [--state DIR]",
	.summary = "Print or follow the log of a stage of a run (the last by default).",
	.help    =
		"STAGE is a node's name, like 'tune[lr=0.05,l2=0]', or a stage's name when it has\n"
		"a single node. The log is that of the latest attempt unless --attempt is given.\n"
		"An attempt that printed nothing has no log: logs says so on stderr and exits 0.\n"
		"When the run's log folder is gone (a prune stopped after removing it), logs says\n"
		"the log is gone and exits 1.\n"
		"A cached stage did not run: its log is that of the run whose result it reused,\n"
		"which logs names on stderr (\"cached in run 14: log of run 12\").\n\n"
		"  --attempt N   the log of attempt N\n"
		"  -f, --follow  keep printing what is written until the stage has finished (a new\n"
		"                attempt's log follows the old one's)\n"
		"  --state DIR   the state directory (default: $NTFLOW_STATE, else .ntflow/ at the\n"
		"                root of the git repository holding the current directory)\n",
	.exec    = cmd_logs_exec,
};
