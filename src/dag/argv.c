/* argv.c: whether a `run` command can be exec'd without /bin/sh, and its words. As GNU make
 * does, a command written with no shell syntax is split on blanks and exec'd directly, which
 * saves a shell per stage; anything the shell would read differently keeps /bin/sh -c.
 *
 * The decision is made on the template, each ${...} a hole: a value never makes a command
 * need the shell, and a value stays inside the word its reference stands in (blanks and
 * metacharacters in it are data), exactly as the shell-quoted value does in the sh -c
 * path (src/dag/shell.c). man/ntflow-dag.5 (RUN) is the user's version of these rules. */
#include "config.h"
#include "ntflow/dag.h"

#include <stdlib.h>
#include <string.h>

/* Bytes that mean something to sh anywhere in a word: operators, quotes, expansions, globs,
 * braces (bash run as sh expands a{b,c}) and the line break. */
static const char shell_bytes[] = "|&;<>()$`\\\"'*?[{}\n";

/* First words the shell reads as its own: reserved words, POSIX special built-ins, the
 * built-ins that act on the shell itself, and the utilities whose built-in differs from the
 * program of the same name (echo: dash's interprets backslashes and takes no -e; printf
 * has no %q; test and [ take no ==; kill -l takes a status; true and false take no --help;
 * chdir is cd). When in doubt a name is here: the shell path is never wrong, only slower,
 * and for a built-in not even that (the shell runs it without another exec). */
static const char *const shell_words[] = {
	"!", "{", "}", "[[", "]]", "case", "do", "done", "elif", "else", "esac", "fi", "for",
	"function", "if", "in", "select", "then", "time", "until", "while", "coproc",
	"break", ":", ".", "continue", "eval", "exec", "exit", "export", "readonly", "return",
	"set", "shift", "times", "trap", "unset",
	"alias", "bg", "builtin", "cd", "command", "declare", "dirs", "disown", "echo", "enable",
	"fc", "fg", "getopts", "hash", "history", "jobs", "let", "local", "logout", "popd",
	"pushd", "pwd", "read", "shopt", "source", "suspend", "type", "typeset", "ulimit",
	"umask", "unalias", "wait",
	"[", "chdir", "false", "kill", "printf", "test", "true",
};

static bool
shell_word(const char *w)
{
	for (size_t i = 0; i < NF_ARRAY_SIZE(shell_words); i++)
		if (strcmp(w, shell_words[i]) == 0)
			return true;
	return false;
}

bool
nf_argv_is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* The walk over a command's literal text, a reference a hole that belongs to a word. */
typedef struct walk {
	bool in_word;
	size_t words;                /* words begun so far */
	bool first_ref;              /* the first word holds a reference */
	nf_buf first;                /* the first word's text */
	bool shell;                  /* something needs the shell */
} walk;

static void
walk_text(walk *w, const char *p)
{
	for (; *p && !w->shell; p++) {
		unsigned char c = (unsigned char)*p;
		bool start = !w->in_word;

		if (nf_argv_is_blank(c)) {
			w->in_word = false;
			continue;
		}
		if (start) {
			w->in_word = true;
			w->words++;
		}
		/* '#' starts a comment and '~' a tilde expansion only at a word's start. */
		if (strchr(shell_bytes, c) || (start && (c == '#' || c == '~')))
			w->shell = true;
		else if (w->words == 1 && c == '=')
			w->shell = true;   /* NAME=VALUE before the command: an assignment */
		else if (w->words == 1)
			nf_buf_putc(&w->first, (char)c);
	}
}

static void
walk_ref(walk *w)
{
	if (!w->in_word) {
		w->in_word = true;
		w->words++;
	}
	/* A program named by a value could be a built-in (cd): the shell decides. */
	if (w->words == 1)
		w->first_ref = true;
}

static bool
walk_end(walk *w)
{
	bool direct = !w->shell && w->words > 0 && !w->first_ref && !shell_word(nf_buf_cstr(&w->first));

	nf_buf_release(&w->first);
	return direct;
}

bool
nf_argv_direct(const nf_tmpl *t)
{
	walk w = { .first = NF_BUF_INIT };

	for (size_t i = 0; i < t->nsegs && !w.shell; i++) {
		if (t->segs[i].is_ref)
			walk_ref(&w);
		else
			walk_text(&w, t->segs[i].text);
	}
	return walk_end(&w);
}

bool
nf_argv_direct_text(const char *cmd)
{
	walk w = { .first = NF_BUF_INIT };

	walk_text(&w, cmd);
	return walk_end(&w);
}
