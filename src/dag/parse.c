/* parse.c: the .dag parser's syntax half: recursive descent over the lexer's tokens that
 * checks blocks and attribute names against the schema as it goes; each value is handed with
 * the struct its block fills to convert.c, which checks its type and stores it there.
 * After an error it skips to the end of the line or past the matching brace and carries on,
 * so one pass reports every problem; nesting is bounded, so no input can overflow the stack. */
#include "config.h"
#include "parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names of stages, models and alerts end up in file names and messages: kept short. */
#define MAX_NAME 128

typedef enum {
	PV_OK,
	PV_SYNC,   /* an error was reported; the caller skips to the end of the line */
	PV_HERE,   /* an error was reported; the current token starts something new */
} pv_result;

/* ---- tokens and messages ---- */

static void
advance(nf_parser *p)
{
	if (p->nla > 0) {
		p->tok = p->la[0];
		p->la[0] = p->la[1];
		p->nla--;
	} else {
		nf_lex_next(&p->lx, &p->tok);
	}
}

/* The token n + 1 places after the current one (n is 0 or 1); valid until advance(). */
static const nf_token *
peek(nf_parser *p, int n)
{
	while (p->nla <= n)
		nf_lex_next(&p->lx, &p->la[p->nla++]);
	return &p->la[n];
}

/* Reports a syntax error at token t, whose description is appended as "found X"; silent
 * when the lexer already reported t. */
static void
syntax_error(nf_parser *p, const nf_token *t, const char *fmt, ...) NF_PRINTF(3, 4);

static void
syntax_error(nf_parser *p, const nf_token *t, const char *fmt, ...)
{
	va_list ap;
	char *msg, what[80];

	if (t->kind == NF_TK_ERROR && t->reported)
		return;
	if (t->kind == NF_TK_EOF) {
		if (p->eof_reported)
			return;
		p->eof_reported = true;
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	nf_lex_describe(what, sizeof(what), t);
	nf_diag_error(p->diags, nf_parse_loc(p, t), "%s, found %s", msg, what);
	free(msg);
}

static bool
tok_is(const nf_token *t, const char *word)
{
	size_t n = strlen(word);

	return t->kind == NF_TK_IDENT && t->len == n && memcmp(t->text, word, n) == 0;
}

/* "stage \"train\"", "defaults", "alert \"shift\"": how messages name a block. */
static const char *
blk_title(const nf_pblock *b, char *buf, size_t size)
{
	if (b->name)
		snprintf(buf, size, "%.*s \"%s\"", b->kwlen, b->kw, b->name);
	else
		snprintf(buf, size, "%.*s", b->kwlen, b->kw);
	return buf;
}

/* Skips to the end of the line, past whatever braces open on the way, or to a '}' that
 * closes the enclosing block (left for the caller). */
static void
sync_line(nf_parser *p)
{
	int braces = 0, brackets = 0;

	for (;;) {
		switch (p->tok.kind) {
		case NF_TK_EOF:
			return;
		case NF_TK_NEWLINE:
			if (braces == 0)
				return;
			break;
		case NF_TK_LBRACE:
			braces++;
			break;
		case NF_TK_RBRACE:
			if (braces == 0)
				return;
			braces--;
			break;
		case NF_TK_LBRACKET:
			brackets++;
			break;
		case NF_TK_RBRACKET:
			if (brackets > 0)
				brackets--;
			break;
		default:
			break;
		}
		advance(p);
	}
}

static void
eof_in(nf_parser *p, const char *closer, const char *what, nf_loc opened)
{
	if (p->eof_reported || p->diags->full)
		return;
	syntax_error(p, &p->tok, "expected '%s' to close %s", closer, what);
	nf_diag_note(p->diags, opened, "%s starts here", what);
}

/* Called at a '{' or '[' nested too deeply: skips to its match without recursing. */
static void
skip_balanced(nf_parser *p)
{
	nf_token open = p->tok;
	long depth = 0;

	nf_parse_error(p, nf_parse_loc(p, &open), "nesting too deep: more than %d levels of blocks and lists",
		 NF_DAG_MAX_DEPTH);
	for (;;) {
		switch (p->tok.kind) {
		case NF_TK_EOF:
			p->eof_reported = true;   /* the cause is already reported */
			return;
		case NF_TK_LBRACE:
		case NF_TK_LBRACKET:
			depth++;
			break;
		case NF_TK_RBRACE:
		case NF_TK_RBRACKET:
			if (--depth == 0) {
				advance(p);
				return;
			}
			break;
		default:
			break;
		}
		advance(p);
	}
}

/* ---- values ---- */

static void
push_item(nf_parser *p, const nf_value *v, const nf_token *t)
{
	if (p->nsv == p->capsv) {
		p->sv = xgrow(p->sv, sizeof(*p->sv), p->nsv + 1, &p->capsv);
		p->st = xgrow(p->st, sizeof(*p->st), p->nsv + 1, &p->capst);
	}
	p->sv[p->nsv] = *v;
	p->st[p->nsv] = *t;
	p->nsv++;
}

static pv_result parse_value(nf_parser *p, nf_value *v, nf_token *vt);

/* Skips a bad list item up to the next ',' or ']' (or the end of the line or block). */
static void
sync_item(nf_parser *p)
{
	int depth = 0;

	for (;;) {
		switch (p->tok.kind) {
		case NF_TK_EOF:
			return;
		case NF_TK_COMMA:
		case NF_TK_NEWLINE:
			if (depth == 0)
				return;
			break;
		case NF_TK_LBRACE:
		case NF_TK_LBRACKET:
			depth++;
			break;
		case NF_TK_RBRACE:
		case NF_TK_RBRACKET:
			if (depth == 0)
				return;
			depth--;
			break;
		default:
			break;
		}
		advance(p);
	}
}

static bool
starts_value(const nf_token *t)
{
	return t->kind == NF_TK_STRING || t->kind == NF_TK_NUMBER || t->kind == NF_TK_LBRACKET ||
	       tok_is(t, "true") || tok_is(t, "false");
}

/* True when the list cannot go on: the next attribute, the block's end or the file's. */
static bool
ends_list(const nf_token *t)
{
	return t->kind == NF_TK_EOF || t->kind == NF_TK_RBRACE ||
	       (t->kind == NF_TK_IDENT && !tok_is(t, "true") && !tok_is(t, "false"));
}

static void
unclosed_list(nf_parser *p, const nf_token *open)
{
	if (p->tok.kind == NF_TK_EOF && p->eof_reported)
		return;
	syntax_error(p, &p->tok, "expected ']' to close the list");
	if (p->tok.kind == NF_TK_EOF)
		p->eof_reported = true;
	nf_diag_note(p->diags, nf_parse_loc(p, open), "the list starts here");
}

/* Parses [ item, ... ] with items left on the item stack from the stack height at entry;
 * v->items points at them until the caller pops them. Nested lists are copied to the arena. */
static pv_result
parse_list(nf_parser *p, nf_value *v)
{
	nf_token open = p->tok;
	size_t first = p->nsv;
	pv_result r = PV_OK;

	v->kind = NF_V_LIST;
	if (p->depth >= NF_DAG_MAX_DEPTH) {
		skip_balanced(p);
		return PV_HERE;
	}
	p->depth++;
	if (p->list_depth++ == 0) {
		p->value_items = 0;
		p->value_loc = nf_parse_loc(p, &open);
		p->value_refused = false;
	}
	advance(p);
	for (;;) {
		nf_value item;
		nf_token it;
		pv_result ir;

		while (p->tok.kind == NF_TK_NEWLINE)
			advance(p);
		if (p->tok.kind == NF_TK_RBRACKET) {
			advance(p);
			break;
		}
		if (ends_list(&p->tok) || p->diags->full) {
			unclosed_list(p, &open);
			r = PV_HERE;
			break;
		}
		if (p->value_items >= NF_DAG_MAX_LIST_ITEMS) {
			/* Each item held costs about a hundred bytes: a 60 MB file of one list took
			 * 4 GB to check (and aborted under a smaller limit). Counted over the lists
			 * inside the outermost one too, which are kept whole. The rest is skipped. */
			long depth = 1;

			if (!p->value_refused)
				nf_parse_error(p, p->value_loc, "a list of more than %d items (those of the lists in it "
					       "counted)", NF_DAG_MAX_LIST_ITEMS);
			p->value_refused = true;
			while (p->tok.kind != NF_TK_EOF && depth > 0) {
				if (p->tok.kind == NF_TK_LBRACKET)
					depth++;
				else if (p->tok.kind == NF_TK_RBRACKET)
					depth--;
				advance(p);
			}
			r = PV_HERE;
			break;
		}
		p->value_items++;
		ir = parse_value(p, &item, &it);
		if (ir == PV_OK) {
			if (item.kind == NF_V_LIST && item.nitems > 0) {
				/* A nested list's items sit just above this item on the stack. */
				item.items = nf_arena_memdup(p->a, item.items, item.nitems * sizeof(nf_value));
				p->nsv -= item.nitems;
			}
			push_item(p, &item, &it);
		} else {
			r = PV_HERE;
			if (ir == PV_SYNC)
				sync_item(p);
		}
		while (p->tok.kind == NF_TK_NEWLINE)
			advance(p);
		if (p->tok.kind == NF_TK_COMMA) {
			advance(p);
			continue;
		}
		if (p->tok.kind == NF_TK_RBRACKET) {
			advance(p);
			break;
		}
		if (ends_list(&p->tok)) {
			unclosed_list(p, &open);
			r = PV_HERE;
			break;
		}
		if (starts_value(&p->tok)) {
			/* A forgotten comma: say so and read on as if it were there. */
			if (ir == PV_OK)
				syntax_error(p, &p->tok, "expected ',' between list items");
			r = PV_HERE;
			continue;
		}
		syntax_error(p, &p->tok, "expected ',' or ']' in the list");
		r = PV_HERE;
		advance(p);
		sync_item(p);
	}
	p->depth--;
	p->list_depth--;
	/* Not p->sv + first for an empty list: sv is still NULL when no list had items yet. */
	v->items = p->nsv > first ? p->sv + first : NULL;
	v->nitems = p->nsv - first;
	if (r != PV_OK)
		p->nsv = first;
	return r;
}

static pv_result
parse_value(nf_parser *p, nf_value *v, nf_token *vt)
{
	*vt = p->tok;
	memset(v, 0, sizeof(*v));
	v->loc = nf_parse_loc(p, &p->tok);
	switch (p->tok.kind) {
	case NF_TK_STRING:
		v->kind = NF_V_STRING;   /* decoded when needed: nf_parse_str() */
		advance(p);
		return PV_OK;
	case NF_TK_NUMBER:
		v->kind = NF_V_NUMBER;
		v->num = nf_number_value(p->tok.text, p->tok.len);
		if (!isfinite(v->num)) {
			nf_parse_error(p, v->loc, "number '%.*s' is out of range", p->tok.len > 40 ? 40 : (int)p->tok.len,
				 p->tok.text);
			advance(p);
			return PV_HERE;
		}
		if (!p->syntax_only)
			v->num_text = nf_arena_strndup(p->a, p->tok.text, p->tok.len);
		advance(p);
		return PV_OK;
	case NF_TK_LBRACKET:
		return parse_list(p, v);
	case NF_TK_IDENT:
		if (tok_is(&p->tok, "true") || tok_is(&p->tok, "false")) {
			v->kind = NF_V_BOOL;
			v->boolean = p->tok.text[0] == 't';
			advance(p);
			return PV_OK;
		}
		syntax_error(p, &p->tok, "expected a value (string, number, boolean or list)");
		if (p->tok.len <= 40)
			nf_diag_note(p->diags, nf_parse_loc(p, &p->tok), "strings are written in quotes: \"%.*s\"",
				     (int)p->tok.len, p->tok.text);
		return PV_SYNC;
	default:
		syntax_error(p, &p->tok, "expected a value (string, number, boolean or list)");
		return PV_SYNC;
	}
}

/* ---- what the typed half (convert.c) borrows ---- */

nf_loc
nf_parse_loc(const nf_parser *p, const nf_token *t)
{
	nf_loc l = nf_loc_at(p->path, t->line, t->col);

	return l;
}

void
nf_parse_error(nf_parser *p, nf_loc loc, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	nf_diag_error(p->diags, loc, "%s", msg);
	free(msg);
}

const nf_seg *
nf_tmpl_first_ref(const nf_tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		if (t->segs[i].is_ref)
			return &t->segs[i];
	return NULL;
}

nf_tmpl *
nf_parse_str(nf_parser *p, nf_value *v, const nf_token *t)
{
	if (!v->str.loc.file)
		nf_lex_string_decode(&v->str, p->a, t, p->path);
	return &v->str;
}

const nf_token *
nf_parse_item_tok(const nf_parser *p, const nf_value *list, size_t i)
{
	return &p->st[(size_t)(list->items - p->sv) + i];
}

bool
nf_parse_valid_name(const char *s)
{
	if (strlen(s) > MAX_NAME)
		return false;
	if (!*s)
		return false;
	for (const char *q = s; *q; q++) {
		char c = *q;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return s[0] != '-';
}

/* ---- blocks ---- */

/* The struct of kind t that block b fills (open_block set it up). */
static void *
target_of(nf_parser *p, nf_pblock *b, nf_target t)
{
	switch (t) {
	case NF_TG_MORE: return nf_stage_more_mut(b->stage, p->a);
	case NF_TG_PIPELINE: return b->pl;
	case NF_TG_STAGE: return b->stage;
	case NF_TG_MODEL: return b->model;
	case NF_TG_OPTS: return b->opts;
	case NF_TG_SLURM: return b->slurm;
	case NF_TG_ALERT: return b->alert;
	case NF_TG_PLOT: return b->plot;
	case NF_TG_CHECK: return b->check;
	case NF_TG_NONE:
	case NF_TG_COUNT: break;
	}
	return NULL;
}

static bool parse_block(nf_parser *p, nf_pblock *parent);

/* Suggestions for a misspelt attribute: the block's attribute names. */
static const char *
suggest_attr(const nf_block_spec *spec, const char *word)
{
	const char *cands[NF_SCHEMA_MAX_ATTRS];

	for (size_t i = 0; i < spec->nattrs; i++)
		cands[i] = spec->attrs[i].name;
	return nf_suggest(word, cands, spec->nattrs);
}

static bool
parse_attribute(nf_parser *p, nf_pblock *b)
{
	nf_token key = p->tok;
	const nf_attr_spec *a = NULL;
	size_t idx = 0, first = p->nsv;
	bool check = b->spec && !p->syntax_only;
	bool store = check;
	nf_value v;
	nf_token vt;
	pv_result r;
	char title[160];

	advance(p);   /* the key */
	advance(p);   /* '=' */
	if (check && !b->spec->free_keys) {
		char word[48];

		a = nf_schema_find_attr(b->spec, key.text, key.len, &idx);
		if (!a) {
			const nf_block_spec *as_block = nf_schema_find_block(key.text, key.len);
			const char *near;

			snprintf(word, sizeof(word), "%.*s", key.len > 40 ? 40 : (int)key.len, key.text);
			near = suggest_attr(b->spec, word);
			store = false;
			blk_title(b, title, sizeof(title));
			if (as_block && nf_schema_allows(b->spec, as_block->id))
				nf_parse_error(p, nf_parse_loc(p, &key), "'%s' is a block, not an attribute: write %s { ... }",
					 word, word);
			else if (near)
				nf_parse_error(p, nf_parse_loc(p, &key), "unknown attribute '%s' in %s; did you mean '%s'?",
					 word, title, near);
			else
				nf_parse_error(p, nf_parse_loc(p, &key), "unknown attribute '%s' in %s", word, title);
		} else if (b->seen & (1ull << idx)) {
			store = false;
			nf_parse_error(p, nf_parse_loc(p, &key), "duplicate attribute '%s'", a->name);
			nf_diag_note(p->diags, b->seen_loc[idx], "first set here");
		} else {
			b->seen |= 1ull << idx;
			b->seen_loc[idx] = nf_parse_loc(p, &key);
		}
	}
	r = parse_value(p, &v, &vt);
	if (r == PV_OK && store) {
		if (b->spec->free_keys)
			nf_parse_store_key(p, b, &key, &v, &vt);
		else
			nf_parse_store_attr(p, target_of(p, b, a->target), a, &v, &vt);
	}
	p->nsv = first;
	if (r == PV_SYNC)
		sync_line(p);
	return r == PV_OK;
}

/* Notes that key names an attribute of b that was written badly, so that its absence is
 * not reported as well. */
static void
mark_tried(nf_pblock *b, const nf_token *key)
{
	size_t idx;

	if (b && b->spec && !b->spec->free_keys && nf_schema_find_attr(b->spec, key->text, key->len, &idx))
		b->tried |= 1ull << idx;
}

/* A block's items up to its '}'. */
static void
parse_body(nf_parser *p, nf_pblock *b)
{
	char title[160];

	for (;;) {
		nf_token key;
		const nf_token *nx;
		bool ok, is_attr;

		if (p->diags->full)
			return;
		switch (p->tok.kind) {
		case NF_TK_NEWLINE:
			advance(p);
			continue;
		case NF_TK_RBRACE:
			advance(p);
			return;
		case NF_TK_EOF:
			blk_title(b, title, sizeof(title));
			eof_in(p, "}", title, b->loc);
			return;
		case NF_TK_IDENT:
			break;
		case NF_TK_STRING:
			/* tolerance { "eval.auc" = 0.1 }: a metric's name may hold dots and brackets
			 * (a slice's METRIC[SLICE]) that no bare key can; only there (convert.c). */
			if (b->kwlen == 9 && memcmp(b->kw, "tolerance", 9) == 0 && peek(p, 0)->kind == NF_TK_EQUALS)
				break;
			/* fall through */
		default:
			syntax_error(p, &p->tok, "expected an attribute or a block in %s", blk_title(b, title, sizeof(title)));
			sync_line(p);
			continue;
		}
		key = p->tok;
		nx = peek(p, 0);
		is_attr = nx->kind == NF_TK_EQUALS;
		if (is_attr) {
			ok = parse_attribute(p, b);
		} else if (nx->kind == NF_TK_LBRACE ||
			   (nx->kind == NF_TK_STRING && (peek(p, 1)->kind == NF_TK_LBRACE ||
							  nf_schema_find_block(key.text, key.len))) ||
			   (nx->kind == NF_TK_IDENT && peek(p, 1)->kind == NF_TK_LBRACE) ||
			   (nx->kind == NF_TK_NEWLINE && peek(p, 1)->kind == NF_TK_LBRACE &&
			    nf_schema_find_block(key.text, key.len))) {
			ok = parse_block(p, b);
		} else {
			const nf_block_spec *bs = nf_schema_find_block(key.text, key.len);

			mark_tried(b, &key);
			advance(p);
			if (bs && b->spec && nf_schema_allows(b->spec, bs->id))
				syntax_error(p, &p->tok, "expected '{' after '%.*s'", (int)key.len, key.text);
			else
				syntax_error(p, &p->tok, "expected '=' after attribute name '%.*s'", (int)key.len, key.text);
			sync_line(p);
			continue;
		}
		if (!ok)
			continue;
		if (p->tok.kind == NF_TK_NEWLINE || p->tok.kind == NF_TK_RBRACE || p->tok.kind == NF_TK_EOF)
			continue;
		if (is_attr)
			syntax_error(p, &p->tok, "expected the end of the line after '%.*s = ...' (one attribute per line)",
				     (int)key.len, key.text);
		else
			syntax_error(p, &p->tok, "expected the end of the line after '}'");
		sync_line(p);
	}
}

/* The name in quotes after a block keyword: checked, decoded into the arena. */
static const char *
block_label(nf_parser *p, const nf_token *t, const char *kind)
{
	nf_tmpl tm;
	const char *name, *body;
	size_t blen;

	if (t->kind == NF_TK_IDENT) {
		name = nf_arena_strndup(p->a, t->text, t->len);
	} else if (body = nf_lex_string_body(t, &blen), !memchr(body, '\\', blen) && !memchr(body, '$', blen)) {
		name = nf_arena_strndup(p->a, body, blen);
	} else {
		nf_lex_string_decode(&tm, p->a, t, p->path);
		if (nf_tmpl_first_ref(&tm)) {
			nf_parse_error(p, nf_tmpl_first_ref(&tm)->loc, "the name of a %s cannot contain ${...} references", kind);
			return NULL;
		}
		name = nf_tmpl_literal(&tm);
	}
	if (!*name) {
		nf_parse_error(p, nf_parse_loc(p, t), "the name of a %s cannot be empty", kind);
		return NULL;
	}
	if (strlen(name) > MAX_NAME) {
		nf_parse_error(p, nf_parse_loc(p, t), "the name of a %s is longer than %d bytes", kind, MAX_NAME);
		return NULL;
	}
	/* An instance's name has rules of its own (a '.' allowed: "v1.2"), checked with the
	 * block (nf_foreach_key_ok), as a foreach element's are. */
	if (strcmp(kind, "instance") != 0 && !nf_parse_valid_name(name)) {
		nf_parse_error(p, nf_parse_loc(p, t), "invalid %s name \"%s\": use letters, digits, '_' and '-'", kind, name);
		return NULL;
	}
	return name;
}

/* Top-level blocks start lines, so counting the lines that start with stage, gate or
 * monitor sizes the stage array once (a miscount only costs a copy). */
static size_t
count_stage_lines(const char *src, size_t len)
{
	const char *p = src, *end = src + len;
	size_t n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t left;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		left = (size_t)(end - p);
		if ((left > 5 && memcmp(p, "stage", 5) == 0) || (left > 4 && memcmp(p, "gate", 4) == 0) ||
		    (left > 7 && memcmp(p, "monitor", 7) == 0))
			n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

static nf_stage *
new_stage(nf_parser *p, nf_stage_kind kind, const char *name, nf_loc loc)
{
	nf_stage *s;

	if (p->nstages == p->capstages) {
		/* More than counted: a bigger array (by_name holds indices). */
		nf_stage *bigger = nf_arena_alloc(p->a, 2 * (p->capstages + 8) * sizeof(nf_stage));

		memcpy(bigger, p->stages, p->nstages * sizeof(nf_stage));
		p->stages = bigger;
		p->capstages = 2 * (p->capstages + 8);
	}
	s = &p->stages[p->nstages];
	s->kind = kind;
	s->name = name;
	s->loc = loc;
	s->index = (uint32_t)p->nstages++;
	/* The index reads the names from dag->stages: the array as it grows. */
	p->dag->stages = p->stages;
	p->dag->nstages = p->nstages;
	nf_nameidx_add(&p->dag->by_name, s->index);
	return s;
}

/* A stage's run options as its block wrote them: a copy in the arena when it wrote any;
 * NULL (the shared defaults, set by finish) when it wrote none, as almost every stage. */
static void
keep_stage_opts(nf_parser *p, nf_stage *s)
{
	static const nf_run_opts none;

	s->opts = memcmp(&p->stage_opts, &none, sizeof(none)) == 0 ? NULL :
		nf_arena_memdup(p->a, &p->stage_opts, sizeof(p->stage_opts));
}

/* Sets up b to fill the model for a block of kind spec (named name) inside parent; false
 * when the block is a duplicate that is only checked for syntax. */
static bool
open_block(nf_parser *p, nf_pblock *b, nf_pblock *parent, const char *name)
{
	nf_dag *dag = p->dag;
	char title[160];
	const nf_stage *first;
	size_t prev;

	switch (b->spec->id) {
	case NF_BK_PIPELINE:
		if (dag->has_pipeline) {
			nf_parse_error(p, b->loc, "more than one pipeline block");
			nf_diag_note(p->diags, p->pipeline_loc, "the first pipeline block is here");
			return false;
		}
		dag->has_pipeline = true;
		p->pipeline_loc = b->loc;
		b->pl = &dag->pipeline;
		b->pl->name = name;
		b->pl->loc = b->loc;
		b->opts = &b->pl->defaults;
		return true;
	case NF_BK_STAGE:
	case NF_BK_GATE:
	case NF_BK_MONITOR:
		if ((first = nf_dag_find_stage(dag, name)) != NULL) {
			nf_parse_error(p, b->loc, "duplicate stage name \"%s\"", name);
			nf_diag_note(p->diags, first->loc, "first defined here");
			return false;
		}
		b->stage = new_stage(p, b->spec->id == NF_BK_STAGE ? NF_STAGE :
				     b->spec->id == NF_BK_GATE ? NF_GATE : NF_MONITOR, name, b->loc);
		/* Written into the parser's scratch struct; kept only if the stage writes any. */
		memset(&p->stage_opts, 0, sizeof(p->stage_opts));
		b->opts = &p->stage_opts;
		return true;
	case NF_BK_MODEL:
		if ((prev = (size_t)(uintptr_t)nf_strmap_get(p->model_names, name)) != 0) {
			nf_parse_error(p, b->loc, "duplicate model name \"%s\"", name);
			nf_diag_note(p->diags, p->models[prev - 1].loc, "first defined here");
			return false;
		}
		p->models = xgrow(p->models, sizeof(nf_model_decl), p->nmodels + 1, &p->capmodels);
		b->model = &p->models[p->nmodels++];
		memset(b->model, 0, sizeof(*b->model));
		b->model->name = name;
		b->model->loc = b->loc;
		nf_strmap_put(p->model_names, name, (void *)(uintptr_t)p->nmodels);
		return true;
	case NF_BK_ALERT:
		if (!parent->alert_names)
			parent->alert_names = nf_strmap_new(4);
		if ((prev = (size_t)(uintptr_t)nf_strmap_get(parent->alert_names, name)) != 0) {
			nf_parse_error(p, b->loc, "duplicate alert \"%s\" in %s", name, blk_title(parent, title, sizeof(title)));
			nf_diag_note(p->diags, parent->alerts[prev - 1].loc, "first defined here");
			return false;
		}
		b->alert = xcalloc(1, sizeof(nf_alert_rule));
		b->alert->name = name;
		b->alert->loc = b->loc;
		b->alert->severity = NF_SEV_MEDIUM;
		return true;
	case NF_BK_INSTANCE:
		if (!nf_foreach_key_ok(name)) {
			nf_parse_error(p, b->loc, "instance \"%s\" cannot be named so: use letters, digits, '_', '-' and '.', starting"
				       " with a letter, digit or '_' (at most 64)", name);
			return false;
		}
		if (!parent->item_names)
			parent->item_names = nf_strmap_new(8);
		if ((prev = (size_t)(uintptr_t)nf_strmap_get(parent->item_names, name)) != 0) {
			nf_parse_error(p, b->loc, "duplicate instance \"%s\" in foreach", name);
			nf_diag_note(p->diags, parent->items[prev - 1].loc, "first defined here");
			return false;
		}
		return true;
	case NF_BK_PLOT:
		if (!parent->plot_names)
			parent->plot_names = nf_strmap_new(4);
		if ((prev = (size_t)(uintptr_t)nf_strmap_get(parent->plot_names, name)) != 0) {
			nf_parse_error(p, b->loc, "duplicate plot \"%s\" in %s", name, blk_title(parent, title, sizeof(title)));
			nf_diag_note(p->diags, parent->plots[prev - 1].loc, "first defined here");
			return false;
		}
		b->plot = xcalloc(1, sizeof(nf_plot));
		b->plot->name = name;
		b->plot->loc = b->loc;
		return true;
	case NF_BK_CRITERION:
		/* Unnamed, and as many as the gate has criteria. */
		b->check = xcalloc(1, sizeof(nf_gate_check));
		b->check->loc = b->loc;
		return true;
	default:
		break;
	}
	/* Unnamed nested blocks: at most one of each kind. */
	if (parent->kids & (1u << b->spec->id)) {
		nf_parse_error(p, b->loc, "duplicate block '%s' in %s", b->spec->kind, blk_title(parent, title, sizeof(title)));
		nf_diag_note(p->diags, parent->kid_loc[b->spec->id], "first here");
		return false;
	}
	parent->kids |= 1u << b->spec->id;
	parent->kid_loc[b->spec->id] = b->loc;
	switch (b->spec->id) {
	case NF_BK_DEFAULTS:
		b->opts = &parent->pl->defaults;
		break;
	case NF_BK_LINEAGE:
		b->pl = parent->pl;
		b->pl->lineage.present = true;
		break;
	case NF_BK_RISK:
		b->pl = parent->pl;
		b->pl->risk.present = true;
		b->pl->risk.loc = b->loc;
		break;
	case NF_BK_TIERS:
		b->pl = parent->pl;
		break;
	case NF_BK_DRIFT_REPORT:
		b->pl = parent->pl;
		break;
	case NF_BK_SLURM:
		b->opts = parent->opts;
		b->slurm = &parent->opts->slurm;
		b->slurm->present = true;
		b->slurm->loc = b->loc;
		parent->opts->set |= NF_OPT_SLURM;
		break;
	default:
		break;
	}
	return true;
}

/* The end of a block: required attributes, and the collected items moved into the model. */
static void
close_block(nf_parser *p, nf_pblock *b, nf_pblock *parent)
{
	char title[160];
	nf_stage_more *more;

	for (size_t i = 0; i < b->spec->nattrs; i++) {
		if (b->spec->attrs[i].required && !((b->seen | b->tried) & (1ull << i)))
			nf_parse_error(p, b->loc, "missing attribute '%s' in %s", b->spec->attrs[i].name,
				 blk_title(b, title, sizeof(title)));
	}
	switch (b->spec->id) {
	case NF_BK_STAGE:
	case NF_BK_MONITOR:
		/* (select without a matrix is nf_dag_validate's to report) */
		if (b->nalerts) {
			more = nf_stage_more_mut(b->stage, p->a);
			more->alerts = nf_arena_memdup(p->a, b->alerts, b->nalerts * sizeof(nf_alert_rule));
			more->nalerts = (uint32_t)b->nalerts;
		}
		if (b->nplots) {
			more = nf_stage_more_mut(b->stage, p->a);
			more->plots = nf_arena_memdup(p->a, b->plots, b->nplots * sizeof(nf_plot));
			more->nplots = (uint32_t)b->nplots;
		}
		break;
	case NF_BK_GATE:
		if (b->nchecks) {
			more = nf_stage_more_mut(b->stage, p->a);
			more->checks = nf_arena_memdup(p->a, b->checks, b->nchecks * sizeof(nf_gate_check));
			more->nchecks = (uint32_t)b->nchecks;
		}
		break;
	case NF_BK_CRITERION:
		NF_PUSH(parent->checks, parent->nchecks, parent->capchecks, *b->check);
		break;
	case NF_BK_PARAMS:
		parent->pl->params = nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv));
		parent->pl->nparams = b->nkvs;
		break;
	case NF_BK_TOLERANCE:
		parent->pl->drift_tolerance = nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv));
		parent->pl->ndrift_tolerance = b->nkvs;
		break;
	case NF_BK_ENV: {
		nf_kv *kvs = nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv));

		if (parent->pl) {
			parent->pl->env = kvs;
			parent->pl->nenv = b->nkvs;
		} else {
			more = nf_stage_more_mut(parent->stage, p->a);
			more->env = kvs;
			more->nenv = (uint32_t)b->nkvs;
		}
		break;
	}
	case NF_BK_MATRIX:
		more = nf_stage_more_mut(parent->stage, p->a);
		more->matrix = nf_arena_memdup(p->a, b->axes, b->naxes * sizeof(nf_axis));
		more->nmatrix = (uint32_t)b->naxes;
		break;
	case NF_BK_INSTANCE: {
		nf_foreach_item it = { b->name, b->loc, { 0 }, nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv)),
				       b->nkvs };

		NF_PUSH(parent->items, parent->nitems, parent->capitems, it);
		nf_strmap_put(parent->item_names, b->name, (void *)(uintptr_t)parent->nitems);
		break;
	}
	case NF_BK_FOREACH:
		if (nf_more(parent->stage)->foreach) {
			nf_parse_error(p, b->loc, "foreach is written twice in %s (a list and a block)",
				       blk_title(parent, title, sizeof(title)));
			break;
		}
		if (!b->nitems) {
			nf_parse_error(p, b->loc, "foreach { } holds no instance \"NAME\" { ... } block");
			break;
		}
		more = nf_stage_more_mut(parent->stage, p->a);
		more->foreach = nf_arena_memdup(p->a, b->items, b->nitems * sizeof(nf_foreach_item));
		more->nforeach = (uint32_t)b->nitems;
		more->foreach_named = true;
		more->foreach_loc = b->loc;
		break;
	case NF_BK_ALERT:
		NF_PUSH(parent->alerts, parent->nalerts, parent->capalerts, *b->alert);
		nf_strmap_put(parent->alert_names, b->alert->name, (void *)(uintptr_t)parent->nalerts);
		break;
	case NF_BK_PLOT:
		/* data or image, the columns: checked by nf_dag_validate (plot-check.c) */
		NF_PUSH(parent->plots, parent->nplots, parent->capplots, *b->plot);
		nf_strmap_put(parent->plot_names, b->plot->name, (void *)(uintptr_t)parent->nplots);
		break;
	default:
		break;
	}
}

static void
release_block(nf_pblock *b)
{
	nf_strmap_free(b->keys);
	nf_strmap_free(b->alert_names);
	free(b->kvs);
	free(b->axes);
	free(b->alerts);
	free(b->alert);
	free(b->items);
	nf_strmap_free(b->item_names);
	nf_strmap_free(b->plot_names);
	free(b->plots);
	free(b->plot);
	free(b->checks);
	free(b->check);
}

/* Where a block kind may appear, for "not allowed here" messages. */
static const char *
home_of(nf_block_id id)
{
	for (int k = 0; k < NF_BK_COUNT; k++)
		if (nf_schema_allows(nf_schema_block((nf_block_id)k), id))
			return nf_schema_block((nf_block_id)k)->kind;
	return NULL;
}

/* kind ["name"] { body }, at the top level (parent NULL) or nested. Returns false when the
 * header was bad (reported, line skipped). */
static bool
parse_block(nf_parser *p, nf_pblock *parent)
{
	static const char *const top_kinds[] = { "pipeline", "stage", "gate", "model", "monitor" };
	nf_token kw = p->tok, label;
	const nf_block_spec *spec = NULL;
	bool check = !p->syntax_only && (!parent || parent->spec);
	nf_pblock b;
	char word[64], title[160];
	const char *name = NULL;

	memset(&b, 0, sizeof(b));
	b.loc = nf_parse_loc(p, &kw);
	b.parent = parent;
	b.kw = kw.text;
	b.kwlen = kw.len > 40 ? 40 : (int)kw.len;
	/* The keyword for messages, at most 40 bytes (a copy, not snprintf: once per block). */
	memcpy(word, kw.text, (size_t)b.kwlen);
	word[b.kwlen] = '\0';
	if (check) {
		const char *near, *home;

		spec = nf_schema_find_block(kw.text, kw.len);
		if (!parent) {
			if (!spec) {
				near = nf_suggest(word, top_kinds, NF_ARRAY_SIZE(top_kinds));
				if (near)
					nf_parse_error(p, b.loc, "unknown block kind '%s'; did you mean '%s'?", word, near);
				else
					nf_parse_error(p, b.loc, "unknown block kind '%s' (expected pipeline, stage, gate, model or monitor)",
						 word);
			} else if (!spec->top) {
				nf_parse_error(p, b.loc, "block '%s' is not allowed at the top level; it goes inside %s",
					 word, home_of(spec->id));
				spec = NULL;
			}
		} else {
			size_t idx;

			blk_title(parent, title, sizeof(title));
			if (spec && nf_schema_allows(parent->spec, spec->id)) {
				;
			} else if (!spec && nf_schema_find_attr(parent->spec, kw.text, kw.len, &idx)) {
				nf_parse_error(p, b.loc, "'%s' is an attribute, not a block: write %s = ...", word, word);
				mark_tried(parent, &kw);
			} else if (spec && (home = home_of(spec->id)) != NULL) {
				nf_parse_error(p, b.loc, "block '%s' is not allowed in %s; it goes inside %s", word, title, home);
				spec = NULL;
			} else if (spec) {
				nf_parse_error(p, b.loc, "block '%s' is not allowed in %s", word, title);
				spec = NULL;
			} else {
				const char *cands[NF_BK_COUNT];

				for (size_t i = 0; i < parent->spec->nchildren; i++)
					cands[i] = nf_schema_block(parent->spec->children[i])->kind;
				near = nf_suggest(word, cands, parent->spec->nchildren);
				if (near)
					nf_parse_error(p, b.loc, "unknown block '%s' in %s; did you mean '%s'?", word, title, near);
				else if (parent->spec->nchildren == 0)
					nf_parse_error(p, b.loc, "unknown block '%s' in %s (it holds no blocks)", word, title);
				else
					nf_parse_error(p, b.loc, "unknown block '%s' in %s", word, title);
			}
		}
	}
	advance(p);

	/* The label. */
	label = p->tok;
	if (p->tok.kind == NF_TK_STRING) {
		if (spec && !spec->labeled)
			nf_parse_error(p, nf_parse_loc(p, &p->tok), "block '%s' takes no name", spec->kind);
		else if (spec)
			name = block_label(p, &p->tok, spec->kind);
		advance(p);
	} else if (spec && spec->labeled) {
		if (p->tok.kind == NF_TK_IDENT && peek(p, 0)->kind == NF_TK_LBRACE) {
			syntax_error(p, &p->tok, "expected the name of the %s in quotes", spec->kind);
			name = block_label(p, &p->tok, spec->kind);
			advance(p);
		} else {
			syntax_error(p, &p->tok, "expected a name in quotes after '%s'", spec->kind);
			sync_line(p);
			return false;
		}
	}
	if (p->tok.kind == NF_TK_NEWLINE && peek(p, 0)->kind == NF_TK_LBRACE) {
		/* The brace on the next line: say so, and read the block all the same. */
		advance(p);
		if (label.kind == NF_TK_STRING)
			nf_parse_error(p, nf_parse_loc(p, &p->tok), "'{' must be on the same line as %s %.*s", word,
				 (int)label.len, label.text);
		else
			nf_parse_error(p, nf_parse_loc(p, &p->tok), "'{' must be on the same line as '%s'", word);
	}
	if (p->tok.kind != NF_TK_LBRACE) {
		if (label.kind == NF_TK_STRING)
			syntax_error(p, &p->tok, "expected '{' after %s %.*s", word, (int)label.len, label.text);
		else
			syntax_error(p, &p->tok, "expected '{' after '%s'", word);
		sync_line(p);
		return false;
	}
	if (p->depth >= NF_DAG_MAX_DEPTH) {
		skip_balanced(p);
		return true;
	}
	if (spec && spec->labeled && !name)
		spec = NULL;   /* a bad name: the body is still read, for syntax */
	b.spec = spec;
	b.name = name;
	if (spec && !open_block(p, &b, parent, name))
		b.spec = NULL;
	p->depth++;
	advance(p);
	parse_body(p, &b);
	p->depth--;
	if (b.spec && !p->diags->full)
		close_block(p, &b, parent);
	if (b.stage)
		keep_stage_opts(p, b.stage);
	release_block(&b);
	return true;
}

static void
parse_file(nf_parser *p)
{
	advance(p);
	for (;;) {
		const nf_token *nx;

		if (p->diags->full)
			return;
		switch (p->tok.kind) {
		case NF_TK_EOF:
			return;
		case NF_TK_NEWLINE:
			advance(p);
			continue;
		case NF_TK_RBRACE:
			nf_parse_error(p, nf_parse_loc(p, &p->tok), "unexpected '}': no block is open");
			advance(p);
			continue;
		case NF_TK_IDENT:
			nx = peek(p, 0);
			if (nx->kind == NF_TK_STRING || nx->kind == NF_TK_LBRACE ||
			    (nx->kind == NF_TK_IDENT && peek(p, 1)->kind == NF_TK_LBRACE)) {
				if (!parse_block(p, NULL))
					continue;
				if (p->tok.kind == NF_TK_NEWLINE || p->tok.kind == NF_TK_EOF || p->tok.kind == NF_TK_RBRACE)
					continue;
				syntax_error(p, &p->tok, "expected the end of the line after '}'");
				sync_line(p);
				continue;
			}
			if (nx->kind == NF_TK_EQUALS) {
				nf_parse_error(p, nf_parse_loc(p, &p->tok),
					 "attribute '%.*s' outside any block (expected pipeline, stage, gate, model or monitor)",
					 p->tok.len > 40 ? 40 : (int)p->tok.len, p->tok.text);
				sync_line(p);
				continue;
			}
			/* fall through */
		default:
			syntax_error(p, &p->tok, "expected a block (pipeline, stage, gate, model or monitor)");
			sync_line(p);
			continue;
		}
	}
}

/* ---- the finished model ---- */

static const nf_run_opts builtin_opts = {
	.retries = 0,
	.backoff_ms = 1000,
	.backoff_max_ms = 5 * 60 * 1000,
	.timeout_ms = 0,
	.grace_ms = 10 * 1000,
	.cpus = 1,
	.log_limit = 100 * 1024 * 1024,
	.cache = true,
	.executor = "local",
};

/* Fills what dst did not set from src (dst->set keeps only what dst wrote); secret_env
 * lists add up instead (a stage cannot make a secret of the defaults public again). */
static void
merge_opts(nf_run_opts *dst, const nf_run_opts *src, nf_arena *a)
{
	const nf_block_spec *spec = nf_schema_block(NF_BK_DEFAULTS);
	unsigned own = dst->set;

	if (src->nsecret_env) {
		nf_name_ref *all = nf_arena_alloc(a, (dst->nsecret_env + src->nsecret_env) * sizeof(nf_name_ref));
		size_t n = dst->nsecret_env;

		if (n)
			memcpy(all, dst->secret_env, n * sizeof(nf_name_ref));
		for (size_t i = 0; i < src->nsecret_env; i++) {
			bool dup = false;

			for (size_t k = 0; k < dst->nsecret_env && !dup; k++)
				dup = strcmp(dst->secret_env[k].name, src->secret_env[i].name) == 0;
			if (!dup)
				all[n++] = src->secret_env[i];
		}
		dst->secret_env = all;
		dst->nsecret_env = n;
	}

	/* The run options are the rows of defaults { }: each one dst did not write is src's
	 * (its value, a list's length, where it was written). */
	for (size_t i = 0; i < spec->nattrs; i++) {
		const nf_attr_spec *r = &spec->attrs[i];

		if ((own & r->set_bit) || r->set_bit == NF_OPT_SECRET_ENV)
			continue;
		memcpy((char *)dst + r->off, (const char *)src + r->off, r->size);
		if (nf_schema_is_list(r->type))
			memcpy((char *)dst + r->count_off, (const char *)src + r->count_off, r->count_size);
		if (r->has_loc)
			memcpy((char *)dst + r->loc_off, (const char *)src + r->loc_off, sizeof(nf_loc));
	}
	if (!(own & NF_OPT_SLURM))
		dst->slurm = src->slurm;
}

static void
finish(nf_parser *p)
{
	nf_dag *dag = p->dag;
	nf_run_opts *shared;

	if (!dag->pipeline.models_dir)
		dag->pipeline.models_dir = "models";
	if (!dag->pipeline.hook_timeout_ms)
		dag->pipeline.hook_timeout_ms = 60 * 1000;
	if (!dag->pipeline.max_active_runs)
		dag->pipeline.max_active_runs = 1;
	if (!dag->pipeline.lineage.ns)
		dag->pipeline.lineage.ns = "ntflow";
	if (dag->pipeline.lineage.timeout_ms <= 0)
		dag->pipeline.lineage.timeout_ms = 5000;
	if (!dag->pipeline.alert_cooldown_set)
		dag->pipeline.alert_cooldown_ms = 24 * 3600 * 1000LL;
	merge_opts(&dag->pipeline.defaults, &builtin_opts, p->a);
	dag->stages = p->nstages ? p->stages : NULL;
	dag->nstages = p->nstages;
	/* What a stage that writes no option runs with: the defaults, none of them its own. */
	shared = nf_arena_alloc(p->a, sizeof(nf_run_opts));
	merge_opts(shared, &dag->pipeline.defaults, p->a);
	for (size_t i = 0; i < dag->nstages; i++) {
		nf_stage *s = &dag->stages[i];

		if (s->opts)
			merge_opts(s->opts, &dag->pipeline.defaults, p->a);
		else
			s->opts = shared;
	}
	dag->models = nf_arena_memdup(p->a, p->models, p->nmodels * sizeof(nf_model_decl));
	dag->nmodels = p->nmodels;
}

static const char *
dir_of(nf_arena *a, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return ".";
	if (slash == path)
		return "/";
	return nf_arena_strndup(a, path, (size_t)(slash - path));
}

int
nf_dag_parse_opts(nf_dag **out, const char *path, const char *src, size_t len,
		  nf_diag_list *diags, bool syntax_only)
{
	nf_parser p;
	nf_dag *dag = xcalloc(1, sizeof(nf_dag));
	size_t errors = diags->nerrors;

	dag->arena = nf_arena_new();
	dag->path = nf_arena_strdup(dag->arena, path);
	dag->dir = dir_of(dag->arena, dag->path);
	memset(&p, 0, sizeof(p));
	p.dag = dag;
	p.a = dag->arena;
	dag->needs_arena = nf_arena_new();
	p.path = dag->path;
	p.diags = diags;
	p.syntax_only = syntax_only;
	p.model_names = nf_strmap_new(8);
	if (len > NF_DAG_MAX_FILE_SIZE) {
		nf_nameidx_init(&dag->by_name, 1, nf_dag_stage_name, dag);
		nf_loc at = nf_loc_at(dag->path, 0, 0);

		nf_diag_error(diags, at, "file too large (%zu bytes; the limit is %u MiB)", len,
			      NF_DAG_MAX_FILE_SIZE >> 20);
	} else {
		p.capstages = count_stage_lines(src, len) + 1;
		p.stages = nf_arena_alloc(p.a, p.capstages * sizeof(nf_stage));
		nf_nameidx_init(&dag->by_name, p.capstages, nf_dag_stage_name, dag);
		nf_lex_init(&p.lx, dag->path, src, len, diags, false);
		parse_file(&p);
	}
	finish(&p);
	free(p.sv);
	free(p.st);
	free(p.models);
	nf_strmap_free(p.model_names);
	*out = dag;
	return diags->nerrors > errors ? NF_EINVALID : 0;
}

int
nf_dag_parse(nf_dag **out, const char *path, const char *src, size_t len, nf_diag_list *diags)
{
	return nf_dag_parse_opts(out, path, src, len, diags, false);
}
