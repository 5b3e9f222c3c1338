/* shell.c: where each ${...} of a `run` command stands as /bin/sh will read it, and how a
 * value is written there so that the shell sees exactly its bytes, as data.
 *
 * A small model of the POSIX sh lexer walks the command's literal text with each reference
 * as a hole: quotes, backslashes, $(...), ${...}, $((...)), backticks, comments and
 * here-documents. A reference outside quotes, inside "...", inside '...' or in the body of
 * an unquoted here-document gets the quoting of that place (nf_sh_quote). A reference in a
 * place no quoting makes safe (backticks, a comment, ${...}, arithmetic, a here-document
 * delimiter or quoted body, right after $ or \), or after a construct the model cannot follow
 * exactly (`case` inside $(...), bash's $'...'), is refused: validate reports it and the
 * stage never starts. man/ntflow-dag.5 (QUOTING) is the user's version of these rules. */
#include "config.h"
#include "ntflow/dag.h"

#include <stdlib.h>
#include <string.h>

/* The text of the guard that starts a value in an unquoted here-document and follows each
 * of its line breaks: it expands to nothing, and a line holding it is never the delimiter. */
#define HEREDOC_GUARD "${NTFLOW_+}"

/* Nesting deeper than this ($( inside " inside $( ...) is not followed. */
#define MAX_NEST 64

/* A reference in the flattened command: literal text never holds a NUL byte. */
enum { HOLE = 0 };

typedef struct heredoc {
	nf_buf delim;
	bool quoted;          /* any part of the word quoted: the body is not expanded */
	bool strip_tabs;      /* <<- */
	int level;            /* the $(...) nesting where the operator stood */
} heredoc;

typedef struct scan {
	unsigned char *c;     /* the command, each reference a HOLE */
	size_t *holes;        /* the index in c of each HOLE, in order */
	size_t *hole_seg;     /* and its segment */
	size_t nholes;
	size_t n;             /* the end of what is being scanned (lowered for a here-doc body) */
	nf_sh_pos *pos;
	const char *refuse;   /* set inside a construct where every reference is refused */
	const char *lost;     /* set once the model cannot follow the shell: later references refused */
	heredoc *pending;     /* here-documents whose bodies start after the next line break */
	size_t npending, cap;
	int cmdsub;           /* $(...) frames we are inside */
	int depth;
	bool in_heredoc;
	size_t *joins;        /* the backslash of each line continuation passed outside quotes */
	size_t njoins, joins_cap;
} scan;

static size_t scan_cmd(scan *s, size_t i, bool sub);
static size_t scan_dq(scan *s, size_t i);
static size_t dollar(scan *s, size_t i, nf_sh_ctx ctx);
static size_t backquote(scan *s, size_t i);

static bool
at(const scan *s, size_t i, int ch)
{
	return i < s->n && s->c[i] == ch;
}

static bool
is_hole(const scan *s, size_t i)
{
	return i < s->n && s->c[i] == HOLE;
}

/* Records where the hole at i stands: ctx, or refused with why (NULL: not refused). */
static void
hole(scan *s, size_t i, nf_sh_ctx ctx, const char *why)
{
	size_t lo = 0, hi = s->nholes;
	nf_sh_pos *p;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->holes[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	p = &s->pos[s->hole_seg[lo]];

	if (!why)
		why = s->refuse ? s->refuse : s->lost;
	p->ctx = why ? NF_SH_REFUSED : ctx;
	p->why = why;
}

static void
lose(scan *s, const char *why)
{
	if (!s->lost)
		s->lost = why;
}

/* Enters a nested construct; false (and the model lost) when nesting is too deep. */
static bool
enter(scan *s)
{
	if (s->depth >= MAX_NEST) {
		lose(s, "after quoting nested too deeply to follow");
		return false;
	}
	s->depth++;
	return true;
}

/* A backslash at i: it quotes the next byte, which must not be a reference. Before a line
 * break it is a line continuation, which the shell removes before it reads any token (so
 * "ca\<newline>se" is `case`, "$\<newline>(" is "$(" and "<\<newline><" is "<<"): noted,
 * and the text read again without it (nf_sh_scan). In a here-document's body a line that
 * ends so is dealt with where its lines are cut (heredoc_bodies). */
static size_t
backslash(scan *s, size_t i)
{
	if (at(s, i + 1, '\n') && !s->in_heredoc) {
		s->joins = xgrow(s->joins, sizeof(*s->joins), s->njoins + 1, &s->joins_cap);
		s->joins[s->njoins++] = i;
	}
	if (is_hole(s, i + 1))
		hole(s, i + 1, NF_SH_REFUSED, "right after a backslash, which would apply to the value's first byte");
	return i + 2 < s->n ? i + 2 : s->n;
}

/* After '\'' in command context: up to and past the closing quote. */
static size_t
scan_sq(scan *s, size_t i)
{
	for (; i < s->n; i++) {
		if (s->c[i] == '\'')
			return i + 1;
		if (s->c[i] == HOLE)
			hole(s, i, NF_SH_SQUOTE, NULL);
	}
	return s->n;
}

/* After '`': up to and past the closing backquote. Its text is read again by the shell
 * after a round of backslash removal, so nothing in it can be quoted for sure. */
static size_t
backquote(scan *s, size_t i)
{
	const char *saved = s->refuse;

	if (!s->refuse)
		s->refuse = "inside backquotes `...`, where quoting is read twice; write $(...) instead";
	for (; i < s->n; i++) {
		if (s->c[i] == '`')
			break;
		if (s->c[i] == HOLE)
			hole(s, i, NF_SH_REFUSED, NULL);
		else if (s->c[i] == '\\' && i + 1 < s->n)
			i = backslash(s, i) - 1;
	}
	s->refuse = saved;
	return i < s->n ? i + 1 : s->n;
}

/* After "$((" or a command's "((": up to and past the closing "))". */
static size_t
scan_arith(scan *s, size_t i)
{
	const char *saved = s->refuse;
	int parens = 0;

	if (!s->refuse)
		s->refuse = "inside arithmetic $((...)), where a value would be evaluated";
	while (i < s->n) {
		int ch = s->c[i];

		if (ch == HOLE) {
			hole(s, i, NF_SH_REFUSED, NULL);
			i++;
		} else if (ch == '(') {
			parens++;
			i++;
		} else if (ch == ')') {
			if (parens > 0) {
				parens--;
				i++;
				continue;
			}
			if (!at(s, i + 1, ')'))
				lose(s, "after a $(( whose end ntflow cannot find; write $( ( for a subshell");
			i = at(s, i + 1, ')') ? i + 2 : i + 1;
			break;
		} else if (ch == '\\') {
			i = backslash(s, i);
		} else if (ch == '$') {
			i = dollar(s, i, NF_SH_DQUOTE);
		} else if (ch == '`') {
			i = backquote(s, i + 1);
		} else if (ch == '"' || ch == '\'') {
			lose(s, "after a quote inside arithmetic $((...)), which shells read differently");
			i++;
		} else {
			i++;
		}
	}
	s->refuse = saved;
	return i;
}

/* scan_arith one level deeper. */
static size_t
arith(scan *s, size_t i)
{
	if (!enter(s))
		return s->n;
	i = scan_arith(s, i);
	s->depth--;
	return i;
}

/* After "${": up to and past the closing brace. ctx is where the expansion stands. */
static size_t
scan_param(scan *s, size_t i, nf_sh_ctx ctx)
{
	const char *saved = s->refuse;

	if (!s->refuse)
		s->refuse = "inside a shell parameter expansion ${...}";
	while (i < s->n && s->c[i] != '}') {
		int ch = s->c[i];

		if (ch == HOLE) {
			hole(s, i, NF_SH_REFUSED, NULL);
			i++;
		} else if (ch == '\\') {
			i = backslash(s, i);
		} else if (ch == '"') {
			i = enter(s) ? scan_dq(s, i + 1) : s->n;
		} else if (ch == '\'') {
			if (ctx != NF_SH_BARE)
				lose(s, "after a ' inside ${...} within double quotes, which shells read differently");
			i = scan_sq(s, i + 1);
		} else if (ch == '$') {
			i = dollar(s, i, ctx);
		} else if (ch == '`') {
			i = backquote(s, i + 1);
		} else {
			i++;
		}
	}
	s->refuse = saved;
	return i < s->n ? i + 1 : s->n;
}

static bool
name_start(int ch)
{
	return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool
name_char(int ch)
{
	return name_start(ch) || (ch >= '0' && ch <= '9');
}

/* A '$' at i in context ctx (how a reference right after it would be quoted): an expansion
 * or a literal dollar sign. Returns the index after it. */
static size_t
dollar(scan *s, size_t i, nf_sh_ctx ctx)
{
	size_t j = i + 1;

	if (j >= s->n)
		return s->n;
	if (s->c[j] == HOLE) {
		hole(s, j, NF_SH_REFUSED, "right after a '$', which would make the value a shell expansion");
		return j + 1;
	}
	if (s->c[j] == '(') {
		if (at(s, j + 1, '('))
			return arith(s, j + 2);
		if (!enter(s))
			return s->n;
		if (s->in_heredoc) {
			/* The body's lines are cut at the delimiter before $(...) is parsed: a value
			 * holding a line break could end it early, whatever its quoting. */
			const char *saved = s->refuse;

			if (!s->refuse)
				s->refuse = "inside $(...) within a here-document, where a line of the value could end the here-document";
			s->cmdsub++;
			j = scan_cmd(s, j + 1, true);
			s->cmdsub--;
			s->refuse = saved;
		} else {
			s->cmdsub++;
			j = scan_cmd(s, j + 1, true);
			s->cmdsub--;
		}
		s->depth--;
		return j;
	}
	if (s->c[j] == '{') {
		if (!enter(s))
			return s->n;
		j = scan_param(s, j + 1, ctx);
		s->depth--;
		return j;
	}
	if (s->c[j] == '\'' && ctx == NF_SH_BARE) {
		lose(s, "after $'...', which bash and dash read differently");
		return j;
	}
	if (name_start(s->c[j])) {
		while (j < s->n && name_char(s->c[j]))
			j++;
		if (is_hole(s, j)) {
			hole(s, j, NF_SH_REFUSED, "right after a $NAME variable, whose name the value would extend; write ${NAME}");
			j++;
		}
		return j;
	}
	if (strchr("@*#?-$!0123456789", s->c[j]))
		return j + 1;
	return j;   /* a literal '$' */
}

/* Text where $, ` and \ keep their meaning but nothing else does, from i: the inside of
 * "..." (in NF_SH_DQUOTE: up to and past the closing quote) or the body of an unquoted
 * here-document (in NF_SH_HEREDOC: to the end, a '"' being an ordinary byte there). */
static size_t
scan_expanding(scan *s, size_t i, nf_sh_ctx in)
{
	while (i < s->n) {
		int ch = s->c[i];

		if (ch == '"' && in == NF_SH_DQUOTE)
			return i + 1;
		if (ch == HOLE) {
			hole(s, i, in, NULL);
			i++;
		} else if (ch == '\\') {
			i = backslash(s, i);
		} else if (ch == '$') {
			i = dollar(s, i, in);
		} else if (ch == '`') {
			i = backquote(s, i + 1);
		} else {
			i++;
		}
	}
	return i;
}

/* After '"': up to and past the closing quote. */
static size_t
scan_dq(scan *s, size_t i)
{
	i = scan_expanding(s, i, NF_SH_DQUOTE);
	s->depth--;
	return i;
}

/* The body of an unquoted here-document, [i, s->n). */
static void
scan_heredoc_body(scan *s, size_t i)
{
	bool saved = s->in_heredoc;

	s->in_heredoc = true;
	scan_expanding(s, i, NF_SH_HEREDOC);
	s->in_heredoc = saved;
}

static bool
is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

/* Ends a word outside quotes. */
static bool
is_meta(int ch)
{
	return is_blank(ch) || ch == '\n' || (ch != HOLE && strchr(";&|<>()", ch));
}

/* After "<<" or "<<-": reads the delimiter word and queues the here-document. */
static size_t
heredoc_op(scan *s, size_t i)
{
	heredoc h = { NF_BUF_INIT, false, false, s->cmdsub };

	if (at(s, i, '-')) {
		h.strip_tabs = true;
		i++;
	}
	while (i < s->n && is_blank(s->c[i]))
		i++;
	while (i < s->n && !is_meta(s->c[i])) {
		int ch = s->c[i];

		if (ch == HOLE) {
			hole(s, i, NF_SH_REFUSED, "in a here-document delimiter");
			lose(s, "after a here-document whose delimiter is a reference");
			i++;
		} else if (ch == '\\') {
			h.quoted = true;
			if (is_hole(s, i + 1))
				lose(s, "after a here-document whose delimiter is a reference");
			else if (i + 1 < s->n)
				nf_buf_putc(&h.delim, (char)s->c[i + 1]);
			i = backslash(s, i);
		} else if (ch == '\'' || ch == '"') {
			h.quoted = true;
			for (i++; i < s->n && s->c[i] != ch; i++) {
				if (s->c[i] == HOLE) {
					hole(s, i, NF_SH_REFUSED, "in a here-document delimiter");
					lose(s, "after a here-document whose delimiter is a reference");
				} else if (ch == '"' && s->c[i] == '\\' && i + 1 < s->n && s->c[i + 1] != HOLE &&
					   strchr("$`\"\\\n", s->c[i + 1])) {
					nf_buf_putc(&h.delim, (char)s->c[++i]);
				} else {
					nf_buf_putc(&h.delim, (char)s->c[i]);
				}
			}
			if (i < s->n)
				i++;
		} else {
			nf_buf_putc(&h.delim, (char)ch);
			i++;
		}
	}
	if (!h.delim.len && !h.quoted) {
		lose(s, "after a << without a delimiter");
		nf_buf_release(&h.delim);
		return i;
	}
	s->pending = xgrow(s->pending, sizeof(*s->pending), s->npending + 1, &s->cap);
	s->pending[s->npending++] = h;
	return i;
}

/* Is the line [i, e) the delimiter of h? */
static bool
is_delim_line(const scan *s, size_t i, size_t e, const heredoc *h)
{
	const char *d = nf_buf_cstr(&h->delim);

	if (h->strip_tabs)
		while (i < e && s->c[i] == '\t')
			i++;
	if (e - i != h->delim.len)
		return false;
	for (size_t k = 0; i < e; i++, k++)
		if (s->c[i] != (unsigned char)d[k])
			return false;
	return true;
}

/* At i, the start of the line after an unquoted line break: the bodies of the pending
 * here-documents, in order. Returns the index after the last one. */
static size_t
heredoc_bodies(scan *s, size_t i)
{
	/* Taken off the queue first: a body's $(...) may queue here-documents of its own. */
	heredoc *pending = s->pending;
	size_t npending = s->npending;

	s->pending = NULL;
	s->npending = s->cap = 0;
	for (size_t k = 0; k < npending; k++) {
		heredoc *h = &pending[k];
		size_t start = i, end = s->n, next = s->n, limit = s->n;

		if (h->level != s->cmdsub)
			lose(s, "after a here-document whose body starts inside another $(...)");
		while (i < s->n) {
			size_t e = i, bs = 0;

			while (e < s->n && s->c[e] != '\n')
				e++;
			if (is_delim_line(s, i, e, h)) {
				end = i;
				next = e < s->n ? e + 1 : s->n;
				break;
			}
			/* In an unquoted body a backslash before the line break joins the next
			 * line to this one, so that a delimiter there does not end the body (dash
			 * and bash), or does when the join makes one (bash): where the body ends
			 * is then not what the lines say, and a value on a line after it could
			 * stand in the body unescaped (a line "x \" then "EOF": the value after
			 * that "EOF" ran as code). */
			while (!h->quoted && bs < e - i && s->c[e - 1 - bs] == '\\')
				bs++;
			if (bs % 2 && e < s->n)
				lose(s, "after a line of a here-document's body that ends in a backslash (a line "
				     "continuation, which shells read differently)");
			i = e < s->n ? e + 1 : s->n;
		}
		if (h->quoted) {
			for (size_t j = start; j < end; j++)
				if (s->c[j] == HOLE)
					hole(s, j, NF_SH_REFUSED, "in the body of a quoted here-document (<<'EOF'), which the "
					     "shell copies unexpanded; write an unquoted delimiter (<<EOF) so ntflow can escape the value");
		} else {
			const char *saved = s->refuse;
			size_t guard = strlen(HEREDOC_GUARD);

			if (!s->refuse && h->delim.len >= guard && memcmp(h->delim.buf, HEREDOC_GUARD, guard) == 0)
				s->refuse = "in a here-document whose delimiter starts with " HEREDOC_GUARD;
			s->n = end;
			scan_heredoc_body(s, start);
			s->n = limit;
			s->refuse = saved;
		}
		i = next;
		nf_buf_release(&h->delim);
	}
	free(pending);
	return i;
}

/* "case" as a word at i? */
static bool
is_case(const scan *s, size_t i)
{
	return i + 4 <= s->n && s->c[i] == 'c' && s->c[i + 1] == 'a' && s->c[i + 2] == 's' && s->c[i + 3] == 'e' &&
	       (i + 4 == s->n || is_blank(s->c[i + 4]) || s->c[i + 4] == '\n');
}

/* Command context from i: the whole command, or (sub) the inside of $( up to and past its
 * closing parenthesis. */
static size_t
scan_cmd(scan *s, size_t i, bool sub)
{
	bool word_start = true;
	int parens = 0;

	while (i < s->n) {
		int ch = s->c[i];

		if (ch == HOLE) {
			/* After '~' an unquoted value would be a tilde-prefix, before '=' a name
			 * being assigned: quoted, it is neither. */
			bool quote = (i > 0 && s->c[i - 1] == '~') || at(s, i + 1, '=');

			hole(s, i, quote ? NF_SH_BARE_QUOTED : NF_SH_BARE, NULL);
			word_start = false;
			i++;
			continue;
		}
		switch (ch) {
		case ' ': case '\t':
			word_start = true;
			i++;
			break;
		case '\n':
			word_start = true;
			i = heredoc_bodies(s, i + 1);
			break;
		case '#':
			if (!word_start) {
				i++;
				break;
			}
			for (; i < s->n && s->c[i] != '\n'; i++)
				if (s->c[i] == HOLE)
					hole(s, i, NF_SH_REFUSED, "inside a shell comment, which a line break in the value would end");
			break;
		case '\'':
			i = scan_sq(s, i + 1);
			word_start = false;
			break;
		case '"':
			i = enter(s) ? scan_dq(s, i + 1) : s->n;
			word_start = false;
			break;
		case '\\':
			if (!at(s, i + 1, '\n'))
				word_start = false;
			i = backslash(s, i);
			break;
		case '`':
			i = backquote(s, i + 1);
			word_start = false;
			break;
		case '$':
			i = dollar(s, i, NF_SH_BARE);
			word_start = false;
			break;
		case '<':
			if (at(s, i + 1, '<') && at(s, i + 2, '<')) {
				i += 3;   /* bash's here-string: an ordinary word follows */
			} else if (at(s, i + 1, '<')) {
				i = heredoc_op(s, i + 2);
			} else {
				i++;
			}
			word_start = true;
			break;
		case '(':
			if (word_start && at(s, i + 1, '(')) {
				/* bash's ((...)) arithmetic command, and two subshells to dash: which
				 * one, and so where a later value stands, depends on the shell (a
				 * here-document in "((cat <<EOF))" was read by dash, its body taken
				 * for a command line) */
				i = arith(s, i + 2);
				lose(s, "after ((, which bash reads as arithmetic and dash as two subshells; write ( ( for "
				     "subshells");
				word_start = true;
				break;
			}
			parens++;
			word_start = true;
			i++;
			break;
		case ')':
			if (sub && parens == 0) {
				if (s->npending)
					lose(s, "after a here-document whose $(...) ends before its body");
				return i + 1;
			}
			if (parens > 0)
				parens--;
			word_start = true;
			i++;
			break;
		case ';': case '&': case '|': case '>':
			word_start = true;
			i++;
			break;
		default:
			if (word_start && s->cmdsub > 0 && is_case(s, i))
				lose(s, "after `case` inside $(...), whose patterns' ')' ntflow cannot follow");
			word_start = false;
			i++;
			break;
		}
	}
	return s->n;
}

/* Removes the bytes at the line continuations s->joins names (each a backslash and its line
 * break) from s->c, moving the holes with them. */
static void
remove_joins(scan *s)
{
	size_t k = 0, j = 0, h = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (j < s->njoins && s->joins[j] == i) {
			i++;   /* and its line break */
			j++;
			continue;
		}
		if (s->c[i] == HOLE)
			s->holes[h++] = k;
		s->c[k++] = s->c[i];
	}
	s->n = k;
	s->njoins = 0;
}

/* One walk of s->c from the start, its results in s->pos. */
static void
walk(scan *s, const nf_tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		s->pos[i] = (nf_sh_pos){ t->segs[i].is_ref ? NF_SH_REFUSED : NF_SH_BARE, NULL };
	for (size_t i = 0; i < s->npending; i++)
		nf_buf_release(&s->pending[i].delim);
	s->npending = 0;
	s->refuse = s->lost = NULL;
	s->cmdsub = s->depth = 0;
	s->in_heredoc = false;
	s->njoins = 0;
	scan_cmd(s, 0, false);
}

/* Line continuations are taken out and the text walked again until a walk passes none: one
 * taken out can make a construct that hid another (a '#' that was no comment). More than
 * this many walks: the model is lost. */
#define MAX_WALKS 8

int
nf_sh_scan(nf_sh_pos *pos, const nf_tmpl *t)
{
	scan s = { 0 };
	size_t n = 0, k = 0, h = 0;
	int err = 0, walks = 0;

	/* A reference the walk never reaches (past a nesting too deep) stays refused. */
	for (size_t i = 0; i < t->nsegs; i++) {
		pos[i] = (nf_sh_pos){ t->segs[i].is_ref ? NF_SH_REFUSED : NF_SH_BARE, NULL };
		n += t->segs[i].is_ref ? 1 : strlen(t->segs[i].text);
		s.nholes += t->segs[i].is_ref;
	}
	if (!s.nholes)
		return 0;   /* no reference to place: nothing the walk could refuse */
	s.c = xmalloc(n + 1);
	s.holes = xmalloc((s.nholes + 1) * sizeof(*s.holes));
	s.hole_seg = xmalloc((s.nholes + 1) * sizeof(*s.hole_seg));
	for (size_t i = 0; i < t->nsegs; i++) {
		size_t len;

		if (t->segs[i].is_ref) {
			s.holes[h] = k;
			s.hole_seg[h++] = i;
			s.c[k++] = HOLE;
			continue;
		}
		len = strlen(t->segs[i].text);
		memcpy(s.c + k, t->segs[i].text, len);
		k += len;
	}
	s.n = n;
	s.pos = pos;
	walk(&s, t);
	while (s.njoins && ++walks < MAX_WALKS) {
		remove_joins(&s);
		walk(&s, t);
	}
	if (s.njoins) {
		for (size_t i = 0; i < t->nsegs; i++)
			if (t->segs[i].is_ref)
				pos[i] = (nf_sh_pos){ NF_SH_REFUSED, "after line continuations ntflow cannot follow" };
	}
	for (size_t i = 0; i < t->nsegs; i++)
		if (t->segs[i].is_ref && pos[i].ctx == NF_SH_REFUSED && !pos[i].why)
			pos[i].why = s.lost ? s.lost : "where ntflow cannot follow the shell's quoting";
	for (size_t i = 0; i < s.npending; i++)
		nf_buf_release(&s.pending[i].delim);
	free(s.pending);
	free(s.joins);
	free(s.c);
	free(s.holes);
	free(s.hole_seg);
	for (size_t i = 0; i < t->nsegs && !err; i++)
		if (t->segs[i].is_ref && pos[i].ctx == NF_SH_REFUSED)
			err = nf_error_set(NF_EINVALID, "${%s} stands %s", t->segs[i].text, pos[i].why);
	return err;
}

/* Shell reserved words (POSIX and bash's): unquoted, a value equal to one could be read as
 * syntax in command position. */
static bool
reserved_word(const char *v)
{
	static const char *const words[] = { "if", "then", "else", "elif", "fi", "do", "done", "case", "esac",
					     "while", "until", "for", "in", "function", "select", "time", "coproc" };

	for (size_t i = 0; i < NF_ARRAY_SIZE(words); i++)
		if (strcmp(v, words[i]) == 0)
			return true;
	return false;
}

/* Appends v with each byte of set preceded by a backslash; with guard, HEREDOC_GUARD after
 * every line break. */
static void
add_escaped(nf_buf *out, const char *v, const char *set, bool guard)
{
	for (; *v; v++) {
		if (strchr(set, *v))
			nf_buf_putc(out, '\\');
		nf_buf_putc(out, *v);
		if (guard && *v == '\n')
			nf_buf_puts(out, HEREDOC_GUARD);
	}
}

void
nf_sh_quote(nf_buf *out, nf_sh_ctx ctx, const char *v)
{
	/* Words made only of these bytes need no quotes outside quotes ('=' is not among them:
	 * unquoted, "a=b" in command position would be an assignment). */
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-+./,:@%";

	switch (ctx) {
	case NF_SH_BARE:
		if (*v && strspn(v, plain) == strlen(v) && !reserved_word(v)) {
			nf_buf_puts(out, v);
			return;
		}
		/* fall through */
	case NF_SH_BARE_QUOTED:
		nf_buf_putc(out, '\'');
		for (; *v; v++)
			nf_buf_puts(out, *v == '\'' ? "'\\''" : (char[]){ *v, '\0' });
		nf_buf_putc(out, '\'');
		return;
	case NF_SH_SQUOTE:
		for (; *v; v++)
			nf_buf_puts(out, *v == '\'' ? "'\\''" : (char[]){ *v, '\0' });
		return;
	case NF_SH_DQUOTE:
		add_escaped(out, v, "$`\"\\", false);
		return;
	case NF_SH_HEREDOC:
		nf_buf_puts(out, HEREDOC_GUARD);
		add_escaped(out, v, "$`\\", true);
		return;
	case NF_SH_REFUSED:
		break;
	}
}
