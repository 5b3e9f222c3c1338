/* fmt.c: nf_dag_format, the canonical layout of a .dag file. It works on tokens, not on the
 * model, so comments survive: the file is read into a small tree of blocks, attributes,
 * lists, comments and blank lines, which is printed with fixed rules (see man/ntflow-dag.5,
 * FORMATTING). The rules only look at what the printer itself produces, so fmt(fmt(x)) is
 * fmt(x). */
#include "config.h"
#include "ntflow/dag.h"

#include <stdlib.h>
#include <string.h>

#include "lex.h"

#define FMT_WIDTH 100          /* a list or one-line block longer than this is broken up */
#define FMT_COMMENT_COL 38     /* trailing comments start here (1-based), or 2 spaces after code */

typedef enum { FE_BLANK, FE_COMMENT, FE_VALUE, FE_ATTR, FE_BLOCK } fe_kind;

typedef struct fmt_entry fmt_entry;

typedef struct fmt_value {
	const nf_token *tok;            /* a scalar, or the '[' of a list */
	fmt_entry *items;               /* a list's entries: values, comments, blank lines */
	size_t nitems;
	bool multiline;                 /* '[' and ']' were on different lines */
	const nf_token *open_comment;   /* a comment after '[' on its line */
} fmt_value;

struct fmt_entry {
	fe_kind kind;
	const nf_token *tok;            /* COMMENT: the comment; ATTR: the key; BLOCK: the keyword */
	const nf_token *comment;        /* a comment ending the entry's (last) line */
	fmt_value val;                  /* VALUE, ATTR */
	const nf_token *label;          /* BLOCK: its name, or NULL */
	const nf_token *open_comment;   /* BLOCK: a comment after '{' */
	fmt_entry *kids;                /* BLOCK: its body */
	size_t nkids;
	bool one_line;                  /* BLOCK: '{' and '}' were on one line */
};

typedef struct fmt {
	nf_token *tk;
	size_t ntk, cap, i;
	nf_arena *a;
	const char *path;
	nf_buf *out;
	size_t line_start;              /* offset in out of the line being written */
} fmt;

/* ---- reading the tree ---- */

static const nf_token *
cur(const fmt *f)
{
	return &f->tk[f->i];
}

static void
adv(fmt *f)
{
	if (f->tk[f->i].kind != NF_TK_EOF)
		f->i++;
}

static void
push(fmt_entry **v, size_t *n, size_t *cap, const fmt_entry *e)
{
	*v = xgrow(*v, sizeof(**v), *n + 1, cap);
	(*v)[(*n)++] = *e;
}

static fmt_entry *
to_arena(fmt *f, fmt_entry *v, size_t n)
{
	fmt_entry *copy = nf_arena_memdup(f->a, v, n * sizeof(*v));

	free(v);
	return copy;
}

static void read_value(fmt *f, fmt_value *v);

static void
read_list(fmt *f, fmt_value *v)
{
	fmt_entry *items = NULL;
	size_t n = 0, cap = 0;
	int nl = 0;
	bool seen = false;
	const nf_token *open = cur(f);

	adv(f);
	if (cur(f)->kind == NF_TK_COMMENT) {
		v->open_comment = cur(f);
		adv(f);
	}
	for (;;) {
		const nf_token *t = cur(f);
		fmt_entry e;

		memset(&e, 0, sizeof(e));
		if (t->kind == NF_TK_NEWLINE) {
			nl++;
			adv(f);
			continue;
		}
		if (t->kind == NF_TK_COMMA) {
			adv(f);
			continue;
		}
		if (t->kind == NF_TK_RBRACKET || t->kind == NF_TK_EOF) {
			v->multiline = t->line != open->line;
			adv(f);
			break;
		}
		if (t->kind == NF_TK_COMMENT && nl == 0 && n > 0 && items[n - 1].kind == FE_VALUE) {
			items[n - 1].comment = t;   /* after an item on its line */
			adv(f);
			continue;
		}
		if (nl >= 2 && seen) {
			e.kind = FE_BLANK;
			push(&items, &n, &cap, &e);
		}
		nl = 0;
		seen = true;
		if (t->kind == NF_TK_COMMENT) {
			e.kind = FE_COMMENT;
			e.tok = t;
			adv(f);
		} else {
			e.kind = FE_VALUE;
			read_value(f, &e.val);
		}
		push(&items, &n, &cap, &e);
	}
	v->items = to_arena(f, items, n);
	v->nitems = n;
}

static void
read_value(fmt *f, fmt_value *v)
{
	memset(v, 0, sizeof(*v));
	v->tok = cur(f);
	if (cur(f)->kind == NF_TK_LBRACKET)
		read_list(f, v);
	else
		adv(f);
}

static void read_body(fmt *f, fmt_entry **kids, size_t *nkids);

static void
read_item(fmt *f, fmt_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->tok = cur(f);
	adv(f);
	if (cur(f)->kind == NF_TK_EQUALS) {
		e->kind = FE_ATTR;
		adv(f);
		read_value(f, &e->val);
	} else {
		const nf_token *open;

		e->kind = FE_BLOCK;
		if (cur(f)->kind == NF_TK_STRING) {
			e->label = cur(f);
			adv(f);
		}
		open = cur(f);
		adv(f);   /* '{' */
		if (cur(f)->kind == NF_TK_COMMENT) {
			e->open_comment = cur(f);
			adv(f);
		}
		read_body(f, &e->kids, &e->nkids);
		e->one_line = cur(f)->line == open->line;
		adv(f);   /* '}' */
	}
	if (cur(f)->kind == NF_TK_COMMENT) {
		e->comment = cur(f);
		adv(f);
	}
}

/* Entries up to a '}' (left for the caller) or the end of the file. */
static void
read_body(fmt *f, fmt_entry **kids, size_t *nkids)
{
	fmt_entry *v = NULL;
	size_t n = 0, cap = 0;
	int nl = 0;
	bool seen = false;

	for (;;) {
		const nf_token *t = cur(f);
		fmt_entry e;

		if (t->kind == NF_TK_NEWLINE) {
			nl++;
			adv(f);
			continue;
		}
		if (t->kind == NF_TK_RBRACE || t->kind == NF_TK_EOF)
			break;
		memset(&e, 0, sizeof(e));
		if (nl >= 2 && seen) {
			e.kind = FE_BLANK;
			push(&v, &n, &cap, &e);
		}
		nl = 0;
		seen = true;
		if (t->kind == NF_TK_COMMENT) {
			e.kind = FE_COMMENT;
			e.tok = t;
			adv(f);
		} else {
			read_item(f, &e);
		}
		push(&v, &n, &cap, &e);
	}
	*kids = to_arena(f, v, n);
	*nkids = n;
}

/* ---- printing ---- */

/* Columns taken by s[0..n): UTF-8 continuation bytes take none. */
static size_t
width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

static size_t
line_width(const fmt *f)
{
	return width(f->out->buf + f->line_start, f->out->len - f->line_start);
}

static void
newline(fmt *f)
{
	nf_buf_putc(f->out, '\n');
	f->line_start = f->out->len;
}

static void
indent(fmt *f, int level)
{
	for (int i = 0; i < level; i++)
		nf_buf_puts(f->out, "  ");
}

/* A comment's text without trailing blanks. */
static void
put_comment(fmt *f, const nf_token *c)
{
	size_t n = c->len;

	while (n > 0 && (c->text[n - 1] == ' ' || c->text[n - 1] == '\t' || c->text[n - 1] == '\r'))
		n--;
	nf_buf_add(f->out, c->text, n);
}

static void
trailing(fmt *f, const nf_token *c)
{
	size_t w;

	if (!c)
		return;
	w = line_width(f);
	for (size_t pad = w + 2 < FMT_COMMENT_COL - 1 ? FMT_COMMENT_COL - 1 - w : 2; pad > 0; pad--)
		nf_buf_putc(f->out, ' ');
	put_comment(f, c);
}

static void
put_token(fmt *f, nf_buf *out, const nf_token *t)
{
	if (t->kind == NF_TK_STRING) {
		nf_tmpl tm;

		nf_lex_string_decode(&tm, f->a, t, f->path);
		nf_lex_quote(out, &tm);
	} else {
		nf_buf_add(out, t->text, t->len);
	}
}

/* The value on one line: [a, b] for a list. */
static void
flat(fmt *f, nf_buf *out, const fmt_value *v)
{
	bool first = true;

	if (v->tok->kind != NF_TK_LBRACKET) {
		put_token(f, out, v->tok);
		return;
	}
	nf_buf_putc(out, '[');
	for (size_t i = 0; i < v->nitems; i++) {
		if (v->items[i].kind != FE_VALUE)
			continue;
		if (!first)
			nf_buf_puts(out, ", ");
		flat(f, out, &v->items[i].val);
		first = false;
	}
	nf_buf_putc(out, ']');
}

static bool
has_comments(const fmt_value *v)
{
	if (v->open_comment)
		return true;
	for (size_t i = 0; i < v->nitems; i++)
		if (v->items[i].kind == FE_COMMENT || v->items[i].comment ||
		    (v->items[i].kind == FE_VALUE && has_comments(&v->items[i].val)))
			return true;
	return false;
}

/* Whether v stays on one line when it starts at column col (0-based). Depends only on the
 * value and the unpadded key, so the decision is the same when the output is read again. */
static bool
fits_flat(fmt *f, const fmt_value *v, size_t col)
{
	nf_buf tmp = NF_BUF_INIT;
	bool ok;

	if (v->tok->kind != NF_TK_LBRACKET)
		return true;
	if (has_comments(v))
		return false;
	if (v->nitems == 0)
		return true;
	if (v->multiline)
		return false;
	flat(f, &tmp, v);
	ok = col + width(tmp.buf, tmp.len) <= FMT_WIDTH;
	nf_buf_release(&tmp);
	return ok;
}

/* Prints v, on one line when it fits from column col (see fits_flat). */
static void
put_value(fmt *f, const fmt_value *v, int level, size_t col)
{
	if (fits_flat(f, v, col)) {
		flat(f, f->out, v);
		return;
	}
	nf_buf_putc(f->out, '[');
	trailing(f, v->open_comment);
	newline(f);
	for (size_t i = 0; i < v->nitems; i++) {
		const fmt_entry *e = &v->items[i];

		switch (e->kind) {
		case FE_BLANK:
			newline(f);
			break;
		case FE_COMMENT:
			indent(f, level + 1);
			put_comment(f, e->tok);
			newline(f);
			break;
		default:
			indent(f, level + 1);
			put_value(f, &e->val, level + 1, (size_t)(level + 1) * 2);
			nf_buf_putc(f->out, ',');
			trailing(f, e->comment);
			newline(f);
			break;
		}
	}
	indent(f, level);
	nf_buf_putc(f->out, ']');
}

static void put_entries(fmt *f, const fmt_entry *kids, size_t n, int level);

static void
put_attr(fmt *f, const fmt_entry *e, int level, size_t keywidth)
{
	indent(f, level);
	nf_buf_add(f->out, e->tok->text, e->tok->len);
	for (size_t w = e->tok->len; w < keywidth; w++)
		nf_buf_putc(f->out, ' ');
	nf_buf_puts(f->out, " = ");
	put_value(f, &e->val, level, (size_t)level * 2 + e->tok->len + 3);
	trailing(f, e->comment);
	newline(f);
}

/* True when the attribute's value is printed over several lines (which ends an '=' run). */
static bool
attr_multiline(fmt *f, const fmt_entry *e, int level)
{
	return !fits_flat(f, &e->val, (size_t)level * 2 + e->tok->len + 3);
}

static void
put_block(fmt *f, const fmt_entry *e, int level)
{
	indent(f, level);
	nf_buf_add(f->out, e->tok->text, e->tok->len);
	if (e->label) {
		nf_buf_putc(f->out, ' ');
		put_token(f, f->out, e->label);
	}
	nf_buf_puts(f->out, " {");
	if (e->nkids == 0 && !e->open_comment) {
		nf_buf_putc(f->out, '}');
		trailing(f, e->comment);
		newline(f);
		return;
	}
	if (e->one_line && e->nkids == 1 && e->kids[0].kind == FE_ATTR && !e->kids[0].comment &&
	    !e->open_comment) {
		const fmt_entry *a = &e->kids[0];
		size_t mark = f->out->len;

		if (fits_flat(f, &a->val, line_width(f) + 1 + a->tok->len + 3)) {
			nf_buf_putc(f->out, ' ');
			nf_buf_add(f->out, a->tok->text, a->tok->len);
			nf_buf_puts(f->out, " = ");
			flat(f, f->out, &a->val);
			nf_buf_puts(f->out, " }");
			if (line_width(f) <= FMT_WIDTH) {
				trailing(f, e->comment);
				newline(f);
				return;
			}
			f->out->len = mark;   /* too long for one line after all */
			f->out->buf[mark] = '\0';
		}
	}
	trailing(f, e->open_comment);
	newline(f);
	put_entries(f, e->kids, e->nkids, level + 1);
	indent(f, level);
	nf_buf_putc(f->out, '}');
	trailing(f, e->comment);
	newline(f);
}

/* A block's body: runs of attributes get their '=' aligned. */
static void
put_entries(fmt *f, const fmt_entry *kids, size_t n, int level)
{
	for (size_t i = 0; i < n;) {
		const fmt_entry *e = &kids[i];

		if (e->kind == FE_ATTR) {
			size_t j = i, keywidth = 0;

			/* The run: consecutive attributes, ended by one printed over several lines. */
			while (j < n && kids[j].kind == FE_ATTR) {
				if (kids[j].tok->len > keywidth)
					keywidth = kids[j].tok->len;
				if (attr_multiline(f, &kids[j++], level))
					break;
			}
			for (; i < j; i++)
				put_attr(f, &kids[i], level, keywidth);
			continue;
		}
		switch (e->kind) {
		case FE_BLANK:
			newline(f);
			break;
		case FE_COMMENT:
			indent(f, level);
			put_comment(f, e->tok);
			newline(f);
			break;
		case FE_BLOCK:
			put_block(f, e, level);
			break;
		default:
			break;
		}
		i++;
	}
}

/* The top level: one blank line between blocks, and before a comment that follows a block. */
static void
put_top(fmt *f, const fmt_entry *kids, size_t n)
{
	bool after_block = false;

	for (size_t i = 0; i < n; i++) {
		const fmt_entry *e = &kids[i];

		if (e->kind == FE_BLANK) {
			if (i + 1 < n)
				newline(f);
			after_block = false;
			continue;
		}
		if (after_block)
			newline(f);
		if (e->kind == FE_COMMENT) {
			put_comment(f, e->tok);
			newline(f);
			after_block = false;
		} else {
			put_block(f, e, 0);
			after_block = true;
		}
	}
}

int
nf_dag_format(nf_buf *out, const char *path, const char *src, size_t len, nf_diag_list *diags)
{
	nf_dag *dag = NULL;
	nf_lexer lx;
	fmt f;
	fmt_entry *top;
	size_t ntop;
	int err;

	/* Only a file that parses is formatted; the schema is not needed for that. */
	err = nf_dag_parse_opts(&dag, path, src, len, diags, true);
	nf_dag_free(dag);
	if (err < 0)
		return err;
	memset(&f, 0, sizeof(f));
	f.a = nf_arena_new();
	f.path = path;
	f.out = out;
	f.line_start = out->len;
	nf_lex_init(&lx, path, src, len, diags, true);
	do {
		f.tk = xgrow(f.tk, sizeof(nf_token), f.ntk + 1, &f.cap);
		nf_lex_next(&lx, &f.tk[f.ntk]);
	} while (f.tk[f.ntk++].kind != NF_TK_EOF);
	read_body(&f, &top, &ntop);
	put_top(&f, top, ntop);
	free(f.tk);
	nf_arena_free(f.a);
	return 0;
}
