/* cmd-complete.c: `ntflow complete CWORD WORD...`, the candidates the bash and zsh completion
 * scripts offer. The commands, options and operand kinds are read from the command table's
 * usage lines, so completion follows every command without a list of its own to keep in
 * step; the names (stages, runs, models, params) come from the DAG file on the line and
 * the workspace's store. */
#include "config.h"
#include "ntflow/cmd.h"
#include "ntflow/dag.h"
#include "ntflow/diag.h"
#include "ntflow/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* What an operand or an option's argument takes. */
typedef enum {
	ARG_NONE,        /* a value nothing can suggest: N, TIME, TEXT... */
	ARG_DAG,         /* a pipeline file */
	ARG_FILE,        /* any file */
	ARG_DIR,         /* a folder */
	ARG_PATH,        /* a pipeline file or a folder of them */
	ARG_RUN,
	ARG_STAGE,
	ARG_MODEL,
	ARG_MODEL_AT,    /* MODEL or MODEL@VERSION */
	ARG_VERSION,
	ARG_COMMAND,
	ARG_PARAM,       /* NAME=VALUE of -p */
	ARG_WORDS,       /* one of the words written in the usage: text|dot|json */
} arg_kind;

#define MAX_ITEMS 48

typedef struct opt_item {
	char name[40];          /* "--state", "-j" */
	arg_kind arg;           /* ARG_NONE without an argument too: see has_arg */
	bool has_arg;
	char words[64];         /* ARG_WORDS: "text|dot|json" */
} opt_item;

typedef struct operand_item {
	arg_kind kind[2];       /* [RUN | FILE]: two kinds at one place */
	int nkind;
	bool optional, repeats;
} operand_item;

/* One form of a command's usage: "registry promote MODEL VERSION [--force]". */
typedef struct usage_form {
	char sub[24];           /* the subcommand word, "" when none */
	opt_item opts[MAX_ITEMS];
	int nopts;
	operand_item operands[8];
	int noperands;
} usage_form;

typedef struct usage {
	usage_form forms[8];
	int nforms;
} usage;

static arg_kind
placeholder_kind(const char *w, bool option_arg)
{
	static const struct { const char *word; arg_kind kind; } table[] = {
		{ "FILE", ARG_DAG }, { "PATH", ARG_PATH }, { "DIR", ARG_DIR }, { "RUN", ARG_RUN },
		{ "STAGE", ARG_STAGE }, { "NODE", ARG_STAGE }, { "MODEL", ARG_MODEL },
		{ "MODEL[@VERSION]", ARG_MODEL_AT }, { "VERSION", ARG_VERSION },
		{ "COMMAND", ARG_COMMAND }, { "NAME=VALUE", ARG_PARAM },
	};
	size_t n = strcspn(w, ".");   /* FILE... and FILE.jsonl */

	if (strncmp(w, "FILE.", 5) == 0 && strcmp(w, "FILE...") != 0)
		return ARG_FILE;
	for (size_t i = 0; i < NF_ARRAY_SIZE(table); i++)
		if (strlen(table[i].word) == n && strncmp(w, table[i].word, n) == 0)
			return option_arg && table[i].kind == ARG_DAG ? ARG_FILE : table[i].kind;
	return ARG_NONE;
}

static bool
is_placeholder(const char *w)
{
	return isupper((unsigned char)w[0]);
}

static bool
is_subcommand_word(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!islower((unsigned char)*w))
			return false;
	return true;
}

static usage_form *
new_form(usage *u)
{
	if (u->nforms == (int)NF_ARRAY_SIZE(u->forms))
		return &u->forms[u->nforms - 1];
	memset(&u->forms[u->nforms], 0, sizeof(u->forms[0]));
	return &u->forms[u->nforms++];
}

static void
add_opt(usage_form *f, const char *name, size_t len)
{
	if (f->nopts == MAX_ITEMS || len >= sizeof(f->opts[0].name))
		return;
	for (int i = 0; i < f->nopts; i++)
		if (strlen(f->opts[i].name) == len && strncmp(f->opts[i].name, name, len) == 0)
			return;
	memset(&f->opts[f->nopts], 0, sizeof(f->opts[0]));
	memcpy(f->opts[f->nopts].name, name, len);
	f->nopts++;
}

static const opt_item *
find_opt(const usage_form *f, const char *w)
{
	size_t len = strcspn(w, "=");

	for (int i = 0; i < f->nopts; i++)
		if (strlen(f->opts[i].name) == len && strncmp(f->opts[i].name, w, len) == 0)
			return &f->opts[i];
	return NULL;
}

/* Reads a command's usage line into its forms: "cache ls ... or: ntflow cache gc ..." and
 * "registry list ... | show ..." are forms; a word after an option that is a placeholder
 * (DIR) or a list of words (text|dot|json) is that option's argument. */
static void
parse_usage(usage *u, const nf_cmd *cmd)
{
	char *text = xstrdup(cmd->usage), *save = NULL;
	usage_form *f = NULL;
	int depth = 0;
	opt_item *last_opt = NULL;      /* the option the next word may be the argument of */
	bool merge = false;             /* a "|" between two placeholders in one group */

	memset(u, 0, sizeof(*u));
	for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		int opens = 0, closes = 0;
		char word[80];
		size_t wl = 0;

		for (char *p = tok; *p; p++) {
			if (*p == '[')
				opens++;
			else if (*p == ']')
				closes++;
		}
		/* The word without its brackets and dots ("[--format" -> "--format", "STAGE]..." ->
		 * "STAGE"), but "MODEL[@VERSION]" whole. */
		{
			const char *s = tok, *e = tok + strlen(tok);

			while (*s == '[')
				s++;
			while (e > s && (e[-1] == ']' || e[-1] == '.'))
				e--;
			wl = (size_t)(e - s) < sizeof(word) - 2 ? (size_t)(e - s) : sizeof(word) - 2;
			memcpy(word, s, wl);
			word[wl] = '\0';
			if (strstr(word, "[@"))
				strcat(word, "]");
		}
		if (strcmp(word, "or:") == 0 || strcmp(word, "ntflow") == 0 || strcmp(word, "usage:") == 0) {
			last_opt = NULL;
		} else if (depth == 0 && (strcmp(word, cmd->name) == 0 || strcmp(word, "|") == 0)) {
			f = new_form(u);
			last_opt = NULL;
		} else if (!f) {
			f = new_form(u);
		}
		if (!f || strcmp(word, cmd->name) == 0 || strcmp(word, "or:") == 0 || strcmp(word, "ntflow") == 0) {
			depth += opens - closes;
			continue;
		}
		if (strcmp(word, "|") == 0) {
			merge = depth > 0 && f->noperands > 0 && !last_opt;
			depth += opens - closes;
			continue;
		}
		if (word[0] == '-' && word[1]) {
			/* "-f|--follow", "--check", "-w" */
			char *p = word;

			while (*p) {
				size_t len = strcspn(p, "|");

				add_opt(f, p, len);
				p += len;
				if (*p == '|')
					p++;
			}
			/* An argument stands in the option's brackets: "[-v] FILE" has none. */
			last_opt = f->nopts && !strchr(word, '|') && closes == 0 ? &f->opts[f->nopts - 1] : NULL;
		} else if (last_opt && (is_placeholder(word) || strchr(word, '|'))) {
			last_opt->has_arg = true;
			if (is_placeholder(word)) {
				last_opt->arg = placeholder_kind(word, true);
			} else {
				last_opt->arg = ARG_WORDS;
				snprintf(last_opt->words, sizeof(last_opt->words), "%s", word);
			}
			last_opt = NULL;
		} else if (is_placeholder(word)) {
			arg_kind k = placeholder_kind(word, false);

			if (merge && f->noperands > 0 && f->operands[f->noperands - 1].nkind < 2) {
				operand_item *o = &f->operands[f->noperands - 1];

				o->kind[o->nkind++] = k;
			} else if (f->noperands < (int)NF_ARRAY_SIZE(f->operands)) {
				operand_item *o = &f->operands[f->noperands++];

				memset(o, 0, sizeof(*o));
				o->kind[0] = k;
				o->nkind = 1;
				o->optional = depth + opens > 0;
				o->repeats = strstr(tok, "...") != NULL;
			}
			last_opt = NULL;
		} else if (depth == 0 && f->noperands == 0 && !f->sub[0] && is_subcommand_word(word)) {
			snprintf(f->sub, sizeof(f->sub), "%s", word);
			last_opt = NULL;
		} else {
			last_opt = NULL;
		}
		merge = false;
		depth += opens - closes;
		if (depth < 0)
			depth = 0;
	}
	free(text);
	/* "schedule FILE ... / schedule --status [FILE]": forms of one subcommand (or of none)
	 * share their options; the first one's operands stand. */
	for (int i = 1; i < u->nforms; i++) {
		for (int j = 0; j < i; j++) {
			if (strcmp(u->forms[i].sub, u->forms[j].sub) != 0)
				continue;
			for (int k = 0; k < u->forms[i].nopts; k++) {
				opt_item *o = &u->forms[i].opts[k];

				if (!find_opt(&u->forms[j], o->name) && u->forms[j].nopts < MAX_ITEMS)
					u->forms[j].opts[u->forms[j].nopts++] = *o;
			}
			memmove(&u->forms[i], &u->forms[i + 1], sizeof(u->forms[0]) * (size_t)(u->nforms - i - 1));
			u->nforms--;
			i--;
			break;
		}
	}
	/* Every command takes --help; those that share them, --state and --json. */
	for (int i = 0; i < u->nforms; i++) {
		add_opt(&u->forms[i], "--help", 6);
		if (cmd->shared & NF_CMD_SHARED_STATE) {
			add_opt(&u->forms[i], "--state", 7);
			for (int j = 0; j < u->forms[i].nopts; j++)
				if (strcmp(u->forms[i].opts[j].name, "--state") == 0) {
					u->forms[i].opts[j].has_arg = true;
					u->forms[i].opts[j].arg = ARG_DIR;
				}
		}
		if (cmd->shared & NF_CMD_SHARED_JSON)
			add_opt(&u->forms[i], "--json", 6);
	}
}

/* The names the completion draws from, loaded once on first need. */
typedef struct names {
	const char *dag_path;   /* the first word of the line ending in .dag */
	nf_dag *dag;
	bool dag_tried;
	nf_store *st;
	bool st_tried;
	const char *state;      /* --state on the line */
} names;

static nf_dag *
names_dag(names *n)
{
	char *src = NULL;
	size_t len = 0;
	nf_diag_list diags = { 0 };

	if (n->dag_tried || !n->dag_path)
		return n->dag;
	n->dag_tried = true;
	if (nf_read_file(&src, &len, n->dag_path, 64u << 20) == 0)
		(void)nf_dag_parse(&n->dag, n->dag_path, src, len, &diags);
	nf_diag_list_release(&diags);
	free(src);
	return n->dag;
}

static nf_store *
names_store(names *n)
{
	char *dir = NULL;

	if (n->st_tried)
		return n->st;
	n->st_tried = true;
	if (nf_store_open_workspace_read(&n->st, &dir, n->dag_path, n->state) < 0)
		n->st = NULL;
	free(dir);
	return n->st;
}

static void
print_stages(names *n)
{
	nf_dag *dag = names_dag(n);
	nf_store *st;
	nf_node_info *nodes = NULL;
	size_t nn = 0;
	int64_t run;

	if (dag) {
		for (size_t i = 0; i < dag->nstages; i++)
			printf("%s\n", dag->stages[i].name);
		return;
	}
	/* No DAG file on the line (why, logs): the stages of the last run. */
	if (!(st = names_store(n)) || nf_store_run_last(st, &run) < 0 ||
	    nf_store_node_list(st, run, &nodes, &nn) < 0)
		return;
	for (size_t i = 0; i < nn; i++)
		if (i == 0 || strcmp(nodes[i].stage, nodes[i - 1].stage) != 0)
			printf("%s\n", nodes[i].stage);
	nf_node_info_list_free(nodes, nn);
}

static void
print_runs(names *n)
{
	nf_store *st = names_store(n);
	nf_run_info *runs = NULL;
	size_t nr = 0;

	printf("last\n");
	if (!st || nf_store_run_list(st, 50, &runs, &nr) < 0)
		return;
	for (size_t i = 0; i < nr; i++)
		printf("%lld\n", (long long)runs[i].id);
	nf_run_info_list_free(runs, nr);
}

/* Model names, or with versions: MODEL@VERSION of every version (ARG_MODEL_AT after a '@'),
 * or the versions of one model. */
static void
print_models(names *n, arg_kind kind, const char *cur, const char *model)
{
	nf_store *st = names_store(n);
	nf_model_version *v = NULL;
	size_t nv = 0;

	if (!st || nf_registry_list(st, kind == ARG_VERSION ? model : NULL, &v, &nv) < 0)
		return;
	for (size_t i = 0; i < nv; i++) {
		if (kind == ARG_VERSION)
			printf("%d\n", v[i].version);
		else if (kind == ARG_MODEL_AT && strchr(cur, '@'))
			printf("%s@%d\n", v[i].model, v[i].version);
		else if (i == 0 || strcmp(v[i].model, v[i - 1].model) != 0)
			printf("%s\n", v[i].model);
	}
	nf_model_version_list_free(v, nv);
}

static void
print_kind(names *n, arg_kind kind, const char *cur, const char *prev_operand, const char *words)
{
	switch (kind) {
	case ARG_NONE:
		break;
	case ARG_DAG:
		printf("@dag\n");
		break;
	case ARG_FILE:
		printf("@files\n");
		break;
	case ARG_DIR:
		printf("@dirs\n");
		break;
	case ARG_PATH:
		printf("@dag\n@dirs\n");
		break;
	case ARG_RUN:
		print_runs(n);
		break;
	case ARG_STAGE:
		print_stages(n);
		break;
	case ARG_MODEL:
	case ARG_MODEL_AT:
	case ARG_VERSION:
		print_models(n, kind, cur, prev_operand);
		break;
	case ARG_COMMAND:
		for (size_t i = 0; i < nf_ncommands; i++)
			printf("%s\n", nf_commands[i]->name);
		break;
	case ARG_PARAM: {
		nf_dag *dag = names_dag(n);

		for (size_t i = 0; dag && i < dag->pipeline.nparams; i++)
			printf("%s=\n", dag->pipeline.params[i].key);
		break;
	}
	case ARG_WORDS:
		for (const char *p = words; *p;) {
			size_t len = strcspn(p, "|");

			printf("%.*s\n", (int)len, p);
			p += len;
			if (*p)
				p++;
		}
		break;
	}
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Completes words[cword] of the line words[0..nwords-1] (words[0] is "ntflow"). */
static void
complete(char **words, int nwords, int cword)
{
	const char *cur = cword < nwords ? words[cword] : "";
	const nf_cmd *cmd = NULL;
	usage u;
	usage_form *f = NULL;
	names n = { 0 };
	int first = 2, noperands = 0;
	const char *operands[16];
	bool options_done = false;

	if (nwords < 1 || cword > nwords)
		return;
	if (cword <= 1) {
		print_kind(&n, ARG_COMMAND, cur, NULL, NULL);
		printf("--help\n--version\n");
		return;
	}
	for (size_t i = 0; nwords > 1 && i < nf_ncommands; i++)
		if (strcmp(nf_commands[i]->name, words[1]) == 0)
			cmd = nf_commands[i];
	if (!cmd)
		return;
	for (int i = 2; i < nwords; i++) {
		if (i != cword && ends_with(words[i], ".dag") && !n.dag_path)
			n.dag_path = words[i];
		if (i + 1 < nwords && i + 1 != cword + 1 && strcmp(words[i], "--state") == 0)
			n.state = words[i + 1];
		else if (strncmp(words[i], "--state=", 8) == 0)
			n.state = words[i] + 8;
	}
	parse_usage(&u, cmd);
	/* The form: the one whose subcommand is the first operand, else the one without. */
	for (int i = 0; i < u.nforms; i++)
		if (!u.forms[i].sub[0] && !f)
			f = &u.forms[i];
	bool has_subs = false;

	for (int i = 0; i < u.nforms; i++)
		has_subs |= u.forms[i].sub[0] != '\0';
	if (has_subs) {
		if (cword == 2) {
			for (int i = 0; i < u.nforms; i++)
				if (u.forms[i].sub[0] && (i == 0 || strcmp(u.forms[i].sub, u.forms[i - 1].sub) != 0))
					printf("%s\n", u.forms[i].sub);
			if (cur[0] == '-' && f)
				goto options;
			if (!f)
				goto done;
		} else {
			for (int i = 0; i < u.nforms; i++)
				if (strcmp(u.forms[i].sub, words[2]) == 0) {
					f = &u.forms[i];
					first = 3;
					break;
				}
		}
	}
	if (!f)
		return;
	/* The words before the cursor: options (and their arguments), then operands. */
	for (int i = first; i < cword && i < nwords; i++) {
		const opt_item *o;

		if (!options_done && strcmp(words[i], "--") == 0) {
			options_done = true;
		} else if (!options_done && words[i][0] == '-' && words[i][1] && !isdigit((unsigned char)words[i][1])) {
			if ((o = find_opt(f, words[i])) && o->has_arg && !strchr(words[i], '=') && i + 1 == cword) {
				print_kind(&n, o->arg, cur, NULL, o->words);
				goto done;
			}
			if (o && o->has_arg && !strchr(words[i], '='))
				i++;
		} else if (noperands < (int)NF_ARRAY_SIZE(operands)) {
			operands[noperands++] = words[i];
		}
	}
	if (cur[0] == '-' && !options_done && !isdigit((unsigned char)cur[1]))
		goto options;
	{
		/* Which operand places the count can be at: an optional one may be skipped. */
		bool at[9] = { true }, next[9];

		for (int k = 0; k <= noperands; k++) {
			for (int i = 0; i < f->noperands; i++)   /* skipping optional places */
				if (at[i] && f->operands[i].optional)
					at[i + 1] = true;
			if (k == noperands)
				break;
			memset(next, 0, sizeof(next));
			for (int i = 0; i < f->noperands; i++)
				if (at[i]) {
					next[i + 1] = true;
					if (f->operands[i].repeats)
						next[i] = true;
				}
			memcpy(at, next, sizeof(at));
		}
		for (int i = 0; i < f->noperands; i++)
			if (at[i])
				for (int k = 0; k < f->operands[i].nkind; k++)
					print_kind(&n, f->operands[i].kind[k], cur,
						   noperands ? operands[noperands - 1] : NULL, NULL);
	}
	goto done;
options:
	for (int i = 0; i < f->nopts; i++)
		printf("%s\n", f->opts[i].name);
done:
	if (n.dag)
		nf_dag_free(n.dag);
	if (n.st)
		nf_store_close(n.st);
}

static int
cmd_complete_exec(int argc, char **argv)
{
	extern const nf_cmd nf_cmd_complete;
	char *end;
	long cword;

	/* No option parsing: every word after CWORD is a word of the line being completed,
	 * options included. */
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		nf_cmd_help(&nf_cmd_complete, stdout);
		return NF_EXIT_OK;
	}
	if (argc < 3) {
		nf_cmd_usage(&nf_cmd_complete, stderr);
		return NF_EXIT_USAGE;
	}
	cword = strtol(argv[1], &end, 10);
	if (*end || cword < 0 || cword > 4096) {
		nf_cmd_error("'%s' is not a word index", argv[1]);
		return NF_EXIT_USAGE;
	}
	complete(argv + 2, argc - 2, (int)cword);
	return NF_EXIT_OK;
}

const nf_cmd nf_cmd_complete = {
	.name = "complete",
	.usage = "complete CWORD WORD...",
	.summary = "Print the completions of a command line (for the shell completion scripts).",
	.help = "Prints, one per line, what may stand at position CWORD of the command line\n"
		"WORD... (WORD 0 being ntflow): commands, subcommands, options, stage names of the\n"
		"DAG file on the line (or of the last run), run ids, model names and versions,\n"
		"-p NAME= of the pipeline's params. A line @dag, @files or @dirs asks the shell to\n"
		"add pipeline files, files or folders. The bash and zsh completion scripts that make\n"
		"install puts in place call it; it never fails on a line it cannot complete.\n",
	.exec = cmd_complete_exec,
};
