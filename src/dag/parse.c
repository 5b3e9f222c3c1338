/* parse.c: the .dag parser: recursive descent over the lexer's tokens that checks every
 * attribute against the schema as it goes and fills the typed model in the dag's arena.
 * After an error it skips to the end of the line or past the matching brace and carries on,
 * so one pass reports every problem; nesting is bounded, so no input can overflow the stack. */
#include "config.h"
#include "ntflow/dag.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ntflow/cron.h"
#include "ntflow/expr.h"
#include "lex.h"
#include "schema.h"

/* Names of stages, models and alerts end up in file names and messages: kept short. */
#define MAX_NAME 128
/* A matrix axis may hold this many values (duplicates are looked for pairwise). */
#define MAX_AXIS_VALUES 1000

typedef enum {
	PV_OK,
	PV_SYNC,   /* an error was reported; the caller skips to the end of the line */
	PV_HERE,   /* an error was reported; the current token starts something new */
} pv_result;

typedef struct parser {
	nf_lexer lx;
	nf_token tok;               /* the current token */
	nf_token la[2];             /* lookahead: la[0] follows tok */
	int nla;
	nf_dag *dag;
	nf_arena *a;
	const char *path;
	nf_diag_list *diags;
	bool syntax_only;
	int depth;                  /* blocks and lists open */
	bool eof_reported;          /* one "end of the file" error is enough */

	/* The items of the lists being parsed, a stack: values and the tokens they came from. */
	nf_value *sv;
	nf_token *st;
	size_t nsv, capsv, capst;

	/* Stages in file order, in the arena (by_name points into it); models, moved there
	 * at the end. */
	nf_stage *stages;
	size_t nstages, capstages;
	nf_model_decl *models;
	size_t nmodels, capmodels;
	nf_strmap *model_names;     /* name -> index + 1 */
	nf_loc pipeline_loc;
} parser;

/* The block being parsed: what it may hold, what was seen, and what it fills. */
typedef struct blk {
	const nf_block_spec *spec;  /* NULL: checked for syntax only */
	nf_loc loc;                 /* of the keyword */
	const char *name;           /* the label, or NULL */
	const char *kw;             /* the keyword as written (for blocks of unknown kinds) */
	int kwlen;
	struct blk *parent;
	uint64_t seen;              /* attributes written, by index in spec->attrs */
	uint64_t tried;             /* ... or attempted with a syntax error (no "missing" then) */
	nf_loc seen_loc[NF_SCHEMA_MAX_ATTRS];
	unsigned kids;              /* nested block kinds written, by nf_block_id */
	nf_loc kid_loc[NF_BK_COUNT];
	nf_strmap *keys;            /* params/env/matrix: key -> index + 1 */

	nf_pipeline *pl;
	nf_stage *stage;
	nf_model_decl *model;
	nf_run_opts *opts;
	nf_slurm *slurm;
	nf_alert_rule *alert;

	nf_kv *kvs;                 /* params, env */
	size_t nkvs, capkvs;
	nf_axis *axes;              /* matrix */
	size_t naxes, capaxes;
	nf_alert_rule *alerts;      /* a monitor's alert blocks */
	size_t nalerts, capalerts;
	nf_strmap *alert_names;
} blk;

/* ---- tokens and messages ---- */

static void
advance(parser *p)
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
peek(parser *p, int n)
{
	while (p->nla <= n)
		nf_lex_next(&p->lx, &p->la[p->nla++]);
	return &p->la[n];
}

static nf_loc
tok_loc(const parser *p, const nf_token *t)
{
	nf_loc l = { p->path, t->line, t->col };

	return l;
}

static void
error_at(parser *p, nf_loc loc, const char *fmt, ...) NF_PRINTF(3, 4);

static void
error_at(parser *p, nf_loc loc, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	nf_diag_error(p->diags, loc, "%s", msg);
	free(msg);
}

/* Reports a syntax error at token t, whose description is appended as "found X"; silent
 * when the lexer already reported t. */
static void
syntax_error(parser *p, const nf_token *t, const char *fmt, ...) NF_PRINTF(3, 4);

static void
syntax_error(parser *p, const nf_token *t, const char *fmt, ...)
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
	nf_diag_error(p->diags, tok_loc(p, t), "%s, found %s", msg, what);
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
blk_title(const blk *b, char *buf, size_t size)
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
sync_line(parser *p)
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
eof_in(parser *p, const char *closer, const char *what, nf_loc opened)
{
	if (p->eof_reported || p->diags->full)
		return;
	syntax_error(p, &p->tok, "expected '%s' to close %s", closer, what);
	nf_diag_note(p->diags, opened, "%s starts here", what);
}

/* Called at a '{' or '[' nested too deeply: skips to its match without recursing. */
static void
skip_balanced(parser *p)
{
	nf_token open = p->tok;
	long depth = 0;

	error_at(p, tok_loc(p, &open), "nesting too deep: more than %d levels of blocks and lists",
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
push_item(parser *p, const nf_value *v, const nf_token *t)
{
	if (p->nsv == p->capsv) {
		p->sv = xgrow(p->sv, sizeof(*p->sv), p->nsv + 1, &p->capsv);
		p->st = xgrow(p->st, sizeof(*p->st), p->nsv + 1, &p->capst);
	}
	p->sv[p->nsv] = *v;
	p->st[p->nsv] = *t;
	p->nsv++;
}

static pv_result parse_value(parser *p, nf_value *v, nf_token *vt);

/* Skips a bad list item up to the next ',' or ']' (or the end of the line or block). */
static void
sync_item(parser *p)
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
unclosed_list(parser *p, const nf_token *open)
{
	if (p->tok.kind == NF_TK_EOF && p->eof_reported)
		return;
	syntax_error(p, &p->tok, "expected ']' to close the list");
	if (p->tok.kind == NF_TK_EOF)
		p->eof_reported = true;
	nf_diag_note(p->diags, tok_loc(p, open), "the list starts here");
}

/* Parses [ item, ... ] with items left on the item stack from the stack height at entry;
 * v->items points at them until the caller pops them. Nested lists are copied to the arena. */
static pv_result
parse_list(parser *p, nf_value *v)
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
	/* Not p->sv + first for an empty list: sv is still NULL when no list had items yet. */
	v->items = p->nsv > first ? p->sv + first : NULL;
	v->nitems = p->nsv - first;
	if (r != PV_OK)
		p->nsv = first;
	return r;
}

static pv_result
parse_value(parser *p, nf_value *v, nf_token *vt)
{
	*vt = p->tok;
	memset(v, 0, sizeof(*v));
	v->loc = tok_loc(p, &p->tok);
	switch (p->tok.kind) {
	case NF_TK_STRING:
		v->kind = NF_V_STRING;   /* decoded when needed: str_of() */
		advance(p);
		return PV_OK;
	case NF_TK_NUMBER:
		v->kind = NF_V_NUMBER;
		v->num = nf_number_value(p->tok.text, p->tok.len);
		if (!isfinite(v->num)) {
			error_at(p, v->loc, "number '%.*s' is out of range", p->tok.len > 40 ? 40 : (int)p->tok.len,
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
			nf_diag_note(p->diags, tok_loc(p, &p->tok), "strings are written in quotes: \"%.*s\"",
				     (int)p->tok.len, p->tok.text);
		return PV_SYNC;
	default:
		syntax_error(p, &p->tok, "expected a value (string, number, boolean or list)");
		return PV_SYNC;
	}
}

/* ---- checking values against the schema ---- */

static const char *
found_kind(const nf_value *v)
{
	switch (v->kind) {
	case NF_V_STRING: return "a string";
	case NF_V_NUMBER: return "a number";
	case NF_V_BOOL: return "a boolean";
	case NF_V_LIST: return "a list";
	}
	return "a value";
}

static const nf_seg *
first_ref(const nf_tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++)
		if (t->segs[i].is_ref)
			return &t->segs[i];
	return NULL;
}

/* Who a message is about: "attribute 'retries'" or "each item of 'retry_on'"; put into words
 * only when there is something to say. */
typedef struct subj {
	const char *name;
	bool item;
} subj;
#define SUBJ "%s '%s'"
#define SUBJ_ARGS(w) ((w).item ? "each item of" : "attribute"), (w).name

/* A string value's segments, decoded into the arena on first use (parse_value only notes
 * the token). t is the token v came from. */
static nf_tmpl *
str_of(parser *p, nf_value *v, const nf_token *t)
{
	if (!v->str.loc.file)
		nf_lex_string_decode(&v->str, p->a, t, p->path);
	return &v->str;
}

/* The token of item i of a list value still on the item stack. */
static const nf_token *
item_tok(const parser *p, const nf_value *list, size_t i)
{
	return &p->st[(size_t)(list->items - p->sv) + i];
}

/* A string value without ${...}: its text, or NULL after reporting. */
static const char *
want_literal(parser *p, nf_value *v, const nf_token *t, subj w, const char *expects)
{
	const nf_seg *ref;
	const char *body;
	size_t blen;

	if (v->kind != NF_V_STRING) {
		error_at(p, v->loc, SUBJ " expects %s, found %s", SUBJ_ARGS(w), expects, found_kind(v));
		return NULL;
	}
	body = nf_lex_string_body(t, &blen);
	if (!v->str.loc.file && !memchr(body, '\\', blen) && !memchr(body, '$', blen))
		return nf_arena_strndup(p->a, body, blen);   /* no escapes, no references */
	if ((ref = first_ref(str_of(p, v, t))) != NULL) {
		error_at(p, ref->loc, SUBJ " cannot contain ${...} references", SUBJ_ARGS(w));
		return NULL;
	}
	return nf_tmpl_literal(&v->str);
}

static bool
want_int(parser *p, const nf_value *v, subj w, long min, long max, long *out)
{
	const char *t;
	char *end;
	long n;

	if (v->kind != NF_V_NUMBER) {
		error_at(p, v->loc, SUBJ " expects an integer, found %s", SUBJ_ARGS(w), found_kind(v));
		return false;
	}
	t = v->num_text;
	if (t[strspn(t, "-0123456789")] != '\0') {
		error_at(p, v->loc, SUBJ " expects an integer, found %s", SUBJ_ARGS(w), t);
		return false;
	}
	n = strtol(t, &end, 10);
	if (n < min || n > max || strlen(t) > 18) {
		error_at(p, v->loc, SUBJ " must be between %ld and %ld, found %s", SUBJ_ARGS(w), min, max, t);
		return false;
	}
	*out = n;
	return true;
}

static bool
valid_name(const char *s)
{
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

static bool
valid_key(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '-')
			return false;
	return true;
}

/* An environment variable's name as a shell takes it: [A-Za-z_][A-Za-z0-9_]*. */
static bool
env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* "max(val_auc)" -> NF_SELECT_MAX, "val_auc". */
static bool
parse_select(const char *s, nf_select_kind *kind, const char **metric, nf_arena *a)
{
	size_t n = strlen(s), i;

	if (n < 6 || s[3] != '(' || s[n - 1] != ')')
		return false;
	if (strncmp(s, "max", 3) == 0)
		*kind = NF_SELECT_MAX;
	else if (strncmp(s, "min", 3) == 0)
		*kind = NF_SELECT_MIN;
	else
		return false;
	if (!((s[4] >= 'a' && s[4] <= 'z') || (s[4] >= 'A' && s[4] <= 'Z') || s[4] == '_'))
		return false;
	for (i = 4; i < n - 1; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.'))
			return false;
	}
	*metric = nf_arena_strndup(a, s + 4, n - 5);
	return true;
}

/* A cron schedule, parsed by src/cron: an error there is reported at its column in the
 * string, or at the string when it concerns the expression as a whole. */
static void
check_schedule(parser *p, const char *s, const nf_token *t)
{
	nf_loc at = tok_loc(p, t);
	nf_cron_error e;
	nf_cron c;

	if (nf_cron_parse(&c, s, &e) == 0)
		return;
	if (e.offset >= 0)
		at.col = nf_lex_string_col(t, (size_t)e.offset);
	error_at(p, at, "%s", nf_error_last());
}

/* Parses an expression string into a criterion; reports a syntax error at its column. */
static bool
want_expr(parser *p, nf_value *v, const nf_token *t, subj w, const char *kind, nf_criterion *out)
{
	const char *text = want_literal(p, v, t, w, "an expression in quotes");
	int col = 0;

	if (!text)
		return false;
	out->text = text;
	out->loc = (nf_loc){ p->path, t->line, t->col + 1 };
	if (nf_expr_parse(&out->expr, p->a, text, &col) < 0) {
		nf_loc at = out->loc;

		at.col = nf_lex_string_col(t, col > 0 ? (size_t)col - 1 : 0);
		error_at(p, at, "%s: %s", kind, nf_error_last());
		out->expr = NULL;
		return false;
	}
	return true;
}

static bool
want_enum(parser *p, nf_value *v, const nf_token *t, const nf_attr_spec *a, subj w, int *index)
{
	const char *s = want_literal(p, v, t, w, "a string");
	const char *near;
	char choices[128];
	size_t n = 0;

	if (!s)
		return false;
	for (; a->choices[n]; n++) {
		if (strcmp(s, a->choices[n]) == 0) {
			*index = (int)n;
			return true;
		}
	}
	nf_schema_choices(choices, sizeof(choices), a);
	near = nf_suggest(s, a->choices, n);
	if (near)
		error_at(p, v->loc, SUBJ " must be one of %s, found \"%s\"; did you mean \"%s\"?", SUBJ_ARGS(w),
			 choices, s, near);
	else
		error_at(p, v->loc, SUBJ " must be one of %s, found \"%s\"", SUBJ_ARGS(w), choices, s);
	return false;
}

/* Reports a name that appears twice in a list (needs); a map once the list is long. */
static bool
list_has_dup(parser *p, const nf_name_ref *names, size_t n, nf_strmap **seen)
{
	const nf_name_ref *cur = &names[n];

	if (n < 16) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i].name, cur->name) == 0) {
				error_at(p, cur->loc, "\"%s\" is listed twice", cur->name);
				return true;
			}
		}
		return false;
	}
	if (!*seen) {
		*seen = nf_strmap_new(2 * n);
		for (size_t i = 0; i < n; i++)
			nf_strmap_put(*seen, names[i].name, (void *)&names[i]);
	}
	if (nf_strmap_get(*seen, cur->name)) {
		error_at(p, cur->loc, "\"%s\" is listed twice", cur->name);
		return true;
	}
	nf_strmap_put(*seen, cur->name, (void *)cur);
	return false;
}

static nf_severity
severity_of(int index)
{
	return (nf_severity)(NF_SEV_LOW + index);
}

/* Checks v against attribute a of block b and stores it. */
static void
store_attr(parser *p, blk *b, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	subj what = { a->name, false }, items = { a->name, true };
	nf_run_opts *o = b->opts;
	const char *s = NULL;
	long n = 0;
	int e = 0;
	int64_t ms = 0;
	uint64_t size = 0;

	/* Lists: the shape first. */
	switch (a->type) {
	case NF_AT_TEMPLATE_LIST:
	case NF_AT_NAME_LIST:
	case NF_AT_INT_LIST:
	case NF_AT_EXPR_LIST:
		if (v->kind != NF_V_LIST) {
			error_at(p, v->loc, SUBJ " expects %s, found %s", SUBJ_ARGS(what), nf_schema_type_name(a->type),
				 found_kind(v));
			return;
		}
		break;
	default:
		break;
	}

	switch (a->type) {
	case NF_AT_STRING:
		if (!(s = want_literal(p, v, vt, what, "a string")))
			return;
		break;
	case NF_AT_TEMPLATE:
		if (v->kind != NF_V_STRING) {
			error_at(p, v->loc, SUBJ " expects a string, found %s", SUBJ_ARGS(what), found_kind(v));
			return;
		}
		break;
	case NF_AT_INT:
		if (!want_int(p, v, what, a->min, a->max, &n))
			return;
		break;
	case NF_AT_BOOL:
		if (v->kind != NF_V_BOOL) {
			const char *lit = v->kind == NF_V_STRING ? nf_tmpl_literal(str_of(p, v, vt)) : NULL;

			if (lit && (strcmp(lit, "true") == 0 || strcmp(lit, "false") == 0))
				error_at(p, v->loc, SUBJ " expects true or false, found a string; write %s without quotes",
					 SUBJ_ARGS(what), lit);
			else
				error_at(p, v->loc, SUBJ " expects true or false, found %s", SUBJ_ARGS(what), found_kind(v));
			return;
		}
		break;
	case NF_AT_DURATION:
		if (!(s = want_literal(p, v, vt, what, "a duration like \"30s\"")))
			return;
		if (nf_parse_duration(&ms, s) < 0) {
			error_at(p, v->loc, "%s", nf_error_last());
			return;
		}
		break;
	case NF_AT_SIZE:
		if (!(s = want_literal(p, v, vt, what, "a size like \"100MB\"")))
			return;
		if (nf_parse_size(&size, s) < 0) {
			error_at(p, v->loc, "%s", nf_error_last());
			return;
		}
		break;
	case NF_AT_ENUM:
		if (!want_enum(p, v, vt, a, what, &e))
			return;
		break;
	case NF_AT_SCHEDULE:
		if (!(s = want_literal(p, v, vt, what, "a string")))
			return;
		check_schedule(p, s, vt);
		break;
	case NF_AT_SELECT: {
		nf_select_kind k;
		const char *metric;

		if (!(s = want_literal(p, v, vt, what, "a string")))
			return;
		if (!parse_select(s, &k, &metric, p->a)) {
			error_at(p, v->loc, "invalid select \"%s\": expected max(METRIC) or min(METRIC)", s);
			return;
		}
		b->stage->select.kind = k;
		b->stage->select.metric = metric;
		b->stage->select.loc = v->loc;
		return;
	}
	case NF_AT_NAME:
		if (!(s = want_literal(p, v, vt, what, "a name in quotes")))
			return;
		break;
	case NF_AT_EXPR: {
		nf_criterion c = { NULL, v->loc, NULL };

		if (want_expr(p, v, vt, what, "alert condition", &c))
			b->alert->when = c;
		else
			b->alert->when.text = c.text;
		return;
	}
	default:
		break;
	}

	switch (a->field) {
	case NF_FD_DESCRIPTION:
		if (b->stage)
			b->stage->description = s;
		else if (b->pl)
			b->pl->description = s;
		else if (b->model)
			b->model->description = s;
		break;
	case NF_FD_SCHEDULE:
		b->pl->schedule = s;
		b->pl->schedule_loc = v->loc;
		break;
	case NF_FD_TIMEZONE: {
		nf_tz tz;

		if (nf_tz_open(&tz, s) < 0) {
			error_at(p, v->loc, "%s", nf_error_last());
			return;
		}
		b->pl->timezone = s;
		b->pl->timezone_loc = v->loc;
		break;
	}
	case NF_FD_CATCHUP:
		b->pl->catchup = v->boolean;
		break;
	case NF_FD_MAX_ACTIVE_RUNS:
		b->pl->max_active_runs = (int)n;
		break;
	case NF_FD_OVERLAP:
		b->pl->overlap_skip = strcmp(a->choices[e], "skip") == 0;
		break;
	case NF_FD_START_DEADLINE:
		b->pl->start_deadline_ms = ms;
		break;
	case NF_FD_ALERT_COOLDOWN:
		b->pl->alert_cooldown_ms = ms;
		b->pl->alert_cooldown_set = true;
		break;
	case NF_FD_CONCURRENCY:
		b->pl->concurrency = (int)n;
		break;
	case NF_FD_MODELS_DIR:
		b->pl->models_dir = s;
		break;
	case NF_FD_RUN:
		b->stage->run = nf_arena_memdup(p->a, str_of(p, v, vt), sizeof(nf_tmpl));
		break;
	case NF_FD_METRICS:
	case NF_FD_ARTIFACT: {
		nf_tmpl *t = nf_arena_memdup(p->a, str_of(p, v, vt), sizeof(nf_tmpl));

		if (a->field == NF_FD_ARTIFACT)
			b->model->artifact = t;
		else if (b->model)
			b->model->metrics = t;
		else
			b->stage->metrics = t;
		break;
	}
	case NF_FD_PATH:
	case NF_FD_INPUTS:
	case NF_FD_OUTPUTS: {
		nf_tmpl *ts = nf_arena_alloc(p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_tmpl));
		size_t k = 0;

		for (size_t i = 0; i < v->nitems; i++) {
			if (v->items[i].kind != NF_V_STRING) {
				error_at(p, v->items[i].loc, SUBJ " expects a string, found %s", SUBJ_ARGS(items),
					 found_kind(&v->items[i]));
				continue;
			}
			ts[k++] = *str_of(p, &v->items[i], item_tok(p, v, i));
		}
		if (a->field == NF_FD_PATH) {
			b->pl->path = ts;
			b->pl->npath = k;
		} else if (a->field == NF_FD_INPUTS) {
			b->stage->inputs = ts;
			b->stage->ninputs = k;
		} else {
			b->stage->outputs = ts;
			b->stage->noutputs = k;
		}
		break;
	}
	case NF_FD_NEEDS: {
		nf_name_ref *ns = nf_arena_alloc(p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_name_ref));
		nf_strmap *seen = NULL;
		size_t k = 0;

		for (size_t i = 0; i < v->nitems; i++) {
			const char *name = want_literal(p, &v->items[i], item_tok(p, v, i), items, "a name in quotes");

			if (!name)
				continue;
			ns[k].name = name;
			ns[k].loc = v->items[i].loc;
			if (!list_has_dup(p, ns, k, &seen))
				k++;
		}
		nf_strmap_free(seen);
		b->stage->needs = ns;
		b->stage->nneeds = k;
		break;
	}
	case NF_FD_GATE:
		b->model->gate.name = s;
		b->model->gate.loc = v->loc;
		break;
	case NF_FD_SELECT:
	case NF_FD_WHEN:
		break;   /* stored above */
	case NF_FD_REQUIRE: {
		nf_criterion *cs = nf_arena_alloc(p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_criterion));

		for (size_t i = 0; i < v->nitems; i++)
			want_expr(p, &v->items[i], item_tok(p, v, i), items, "gate expression", &cs[i]);
		b->stage->require = cs;
		b->stage->nrequire = v->nitems;
		break;
	}
	case NF_FD_ON_ALERT:
		b->stage->on_alert = severity_of(e);
		break;
	case NF_FD_FAIL_ON:
		b->stage->fail_on = severity_of(e);
		break;
	case NF_FD_SEVERITY:
		b->alert->severity = severity_of(e);
		break;
	case NF_FD_RETRIES:
		o->retries = (int)n;
		o->set |= NF_OPT_RETRIES;
		break;
	case NF_FD_BACKOFF:
		o->backoff_ms = ms;
		o->set |= NF_OPT_BACKOFF;
		break;
	case NF_FD_BACKOFF_MAX:
		o->backoff_max_ms = ms;
		o->set |= NF_OPT_BACKOFF_MAX;
		break;
	case NF_FD_TIMEOUT:
		o->timeout_ms = ms;
		o->set |= NF_OPT_TIMEOUT;
		break;
	case NF_FD_GRACE:
		o->grace_ms = ms;
		o->set |= NF_OPT_GRACE;
		break;
	case NF_FD_RETRY_ON: {
		int *codes = nf_arena_alloc(p->a, (v->nitems ? v->nitems : 1) * sizeof(int));
		size_t k = 0;

		for (size_t i = 0; i < v->nitems; i++)
			if (want_int(p, &v->items[i], items, a->min, a->max, &n))
				codes[k++] = (int)n;
		o->retry_on = codes;
		o->nretry_on = k;
		o->set |= NF_OPT_RETRY_ON;
		break;
	}
	case NF_FD_CPUS:
		o->cpus = (int)n;
		o->set |= NF_OPT_CPUS;
		break;
	case NF_FD_CACHE:
		o->cache = v->boolean;
		o->set |= NF_OPT_CACHE;
		break;
	case NF_FD_LOG_LIMIT:
		o->log_limit = size;
		o->set |= NF_OPT_LOG_LIMIT;
		break;
	case NF_FD_EXECUTOR:
		o->executor = a->choices[e];
		o->executor_loc = v->loc;
		o->set |= NF_OPT_EXECUTOR;
		break;
	case NF_FD_SECRET_ENV: {
		nf_name_ref *ns = nf_arena_alloc(p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_name_ref));
		nf_strmap *seen = NULL;
		size_t k = 0;

		for (size_t i = 0; i < v->nitems; i++) {
			const char *name = want_literal(p, &v->items[i], item_tok(p, v, i), items, "a name in quotes");

			if (!name)
				continue;
			if (!env_name_ok(name)) {
				error_at(p, v->items[i].loc, "invalid environment variable name \"%s\" in secret_env:"
					 " use letters, digits and '_', not starting with a digit", name);
				continue;
			}
			ns[k].name = name;
			ns[k].loc = v->items[i].loc;
			if (!list_has_dup(p, ns, k, &seen))
				k++;
		}
		nf_strmap_free(seen);
		o->secret_env = ns;
		o->nsecret_env = k;
		o->set |= NF_OPT_SECRET_ENV;
		break;
	}
	case NF_FD_PARTITION: b->slurm->partition = s; break;
	case NF_FD_TIME: b->slurm->time = s; break;
	case NF_FD_MEM: b->slurm->mem = s; break;
	case NF_FD_GRES: b->slurm->gres = s; break;
	case NF_FD_ACCOUNT: b->slurm->account = s; break;
	case NF_FD_QOS: b->slurm->qos = s; break;
	case NF_FD_SLURM_CPUS: b->slurm->cpus = (int)n; break;
	}
}

static bool
same_scalar(const nf_value *x, const nf_value *y)
{
	if (x->kind != y->kind)
		return false;
	if (x->kind == NF_V_NUMBER)
		return x->num == y->num;
	if (x->kind == NF_V_BOOL)
		return x->boolean == y->boolean;
	return strcmp(nf_tmpl_literal(&x->str), nf_tmpl_literal(&y->str)) == 0;
}

/* A key = value line inside params { }, env { } or matrix { }. */
static void
store_key(parser *p, blk *b, const nf_token *key, nf_value *v, const nf_token *vt)
{
	nf_block_id id = b->spec->id;
	const char *what = id == NF_BK_PARAMS ? "param" : id == NF_BK_ENV ? "environment variable" : "matrix axis";
	char *name;
	nf_loc kloc = tok_loc(p, key);
	size_t prev;

	if (!valid_key(key->text, key->len)) {
		error_at(p, kloc, "invalid %s name '%.*s': use letters, digits and '_'", what, (int)key->len, key->text);
		return;
	}
	name = nf_arena_strndup(p->a, key->text, key->len);
	if (!b->keys)
		b->keys = nf_strmap_new(8);
	if ((prev = (size_t)(uintptr_t)nf_strmap_get(b->keys, name)) != 0) {
		error_at(p, kloc, "duplicate %s '%s'", what, name);
		nf_diag_note(p->diags, id == NF_BK_MATRIX ? b->axes[prev - 1].loc : b->kvs[prev - 1].loc,
			     "first set here");
		return;
	}
	if (id == NF_BK_MATRIX) {
		nf_axis ax = { name, kloc, NULL, 0 };

		if (strcmp(name, "id") == 0) {
			error_at(p, kloc, "a matrix axis cannot be named 'id': ${matrix.id} names the combination");
			return;
		}
		if (v->kind != NF_V_LIST) {
			error_at(p, v->loc, "matrix axis '%s' expects a list of values, found %s", name, found_kind(v));
			return;
		}
		if (v->nitems == 0) {
			error_at(p, v->loc, "matrix axis '%s' has no values", name);
			return;
		}
		if (v->nitems > MAX_AXIS_VALUES) {
			error_at(p, v->loc, "matrix axis '%s' has %zu values; at most %d are allowed", name,
				 v->nitems, MAX_AXIS_VALUES);
			return;
		}
		for (size_t i = 0; i < v->nitems; i++) {
			nf_value *it = &v->items[i];

			if (it->kind == NF_V_LIST) {
				error_at(p, it->loc, "matrix values must be strings, numbers or booleans, found a list");
				return;
			}
			if (it->kind == NF_V_STRING && first_ref(str_of(p, it, item_tok(p, v, i)))) {
				error_at(p, first_ref(&it->str)->loc, "matrix values cannot contain ${...} references");
				return;
			}
			for (size_t j = 0; j < i; j++) {
				if (same_scalar(&v->items[j], it)) {
					error_at(p, it->loc, "duplicate value in matrix axis '%s'", name);
					nf_diag_note(p->diags, v->items[j].loc, "first listed here");
					return;
				}
			}
		}
		ax.values = nf_arena_memdup(p->a, v->items, v->nitems * sizeof(nf_value));
		ax.nvalues = v->nitems;
		NF_PUSH(b->axes, b->naxes, b->capaxes, ax);
		nf_strmap_put(b->keys, name, (void *)(uintptr_t)b->naxes);
		return;
	}
	if (v->kind == NF_V_LIST) {
		error_at(p, v->loc, "%s '%s' expects a string, number or boolean, found a list", what, name);
		return;
	}
	if (v->kind == NF_V_STRING)
		str_of(p, v, vt);
	if (id == NF_BK_PARAMS && v->kind == NF_V_STRING && first_ref(&v->str)) {
		error_at(p, first_ref(&v->str)->loc, "param '%s' cannot contain ${...} references", name);
		return;
	}
	NF_PUSH(b->kvs, b->nkvs, b->capkvs, ((nf_kv){ name, kloc, *v }));
	nf_strmap_put(b->keys, name, (void *)(uintptr_t)b->nkvs);
}

/* ---- blocks ---- */

static bool parse_block(parser *p, blk *parent);

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
parse_attribute(parser *p, blk *b)
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
				error_at(p, tok_loc(p, &key), "'%s' is a block, not an attribute: write %s { ... }",
					 word, word);
			else if (near)
				error_at(p, tok_loc(p, &key), "unknown attribute '%s' in %s; did you mean '%s'?",
					 word, title, near);
			else
				error_at(p, tok_loc(p, &key), "unknown attribute '%s' in %s", word, title);
		} else if (b->seen & (1ull << idx)) {
			store = false;
			error_at(p, tok_loc(p, &key), "duplicate attribute '%s'", a->name);
			nf_diag_note(p->diags, b->seen_loc[idx], "first set here");
		} else {
			b->seen |= 1ull << idx;
			b->seen_loc[idx] = tok_loc(p, &key);
		}
	}
	r = parse_value(p, &v, &vt);
	if (r == PV_OK && store) {
		if (b->spec->free_keys)
			store_key(p, b, &key, &v, &vt);
		else
			store_attr(p, b, a, &v, &vt);
	}
	p->nsv = first;
	if (r == PV_SYNC)
		sync_line(p);
	return r == PV_OK;
}

/* Notes that key names an attribute of b that was written badly, so that its absence is
 * not reported as well. */
static void
mark_tried(blk *b, const nf_token *key)
{
	size_t idx;

	if (b && b->spec && !b->spec->free_keys && nf_schema_find_attr(b->spec, key->text, key->len, &idx))
		b->tried |= 1ull << idx;
}

/* A block's items up to its '}'. */
static void
parse_body(parser *p, blk *b)
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
block_label(parser *p, const nf_token *t, const char *kind)
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
		if (first_ref(&tm)) {
			error_at(p, first_ref(&tm)->loc, "the name of a %s cannot contain ${...} references", kind);
			return NULL;
		}
		name = nf_tmpl_literal(&tm);
	}
	if (!*name) {
		error_at(p, tok_loc(p, t), "the name of a %s cannot be empty", kind);
		return NULL;
	}
	if (strlen(name) > MAX_NAME) {
		error_at(p, tok_loc(p, t), "the name of a %s is longer than %d bytes", kind, MAX_NAME);
		return NULL;
	}
	if (!valid_name(name)) {
		error_at(p, tok_loc(p, t), "invalid %s name \"%s\": use letters, digits, '_' and '-'", kind, name);
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
new_stage(parser *p, nf_stage_kind kind, const char *name, nf_loc loc)
{
	nf_stage *s;

	if (p->nstages == p->capstages) {
		/* More than counted: a bigger array, and by_name pointed at the new one. */
		nf_stage *bigger = nf_arena_alloc(p->a, 2 * (p->capstages + 8) * sizeof(nf_stage));

		memcpy(bigger, p->stages, p->nstages * sizeof(nf_stage));
		p->stages = bigger;
		p->capstages = 2 * (p->capstages + 8);
		for (size_t i = 0; i < p->nstages; i++)
			nf_strmap_put(p->dag->by_name, p->stages[i].name, &p->stages[i]);
	}
	s = &p->stages[p->nstages];
	s->kind = kind;
	s->name = name;
	s->loc = loc;
	s->index = p->nstages++;
	nf_strmap_put(p->dag->by_name, name, s);
	return s;
}

/* Sets up b to fill the model for a block of kind spec (named name) inside parent; false
 * when the block is a duplicate that is only checked for syntax. */
static bool
open_block(parser *p, blk *b, blk *parent, const char *name)
{
	nf_dag *dag = p->dag;
	char title[160];
	const nf_stage *first;
	size_t prev;

	switch (b->spec->id) {
	case NF_BK_PIPELINE:
		if (dag->has_pipeline) {
			error_at(p, b->loc, "more than one pipeline block");
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
		if ((first = nf_strmap_get(dag->by_name, name)) != NULL) {
			error_at(p, b->loc, "duplicate stage name \"%s\"", name);
			nf_diag_note(p->diags, first->loc, "first defined here");
			return false;
		}
		b->stage = new_stage(p, b->spec->id == NF_BK_STAGE ? NF_STAGE :
				     b->spec->id == NF_BK_GATE ? NF_GATE : NF_MONITOR, name, b->loc);
		b->opts = &b->stage->opts;
		return true;
	case NF_BK_MODEL:
		if ((prev = (size_t)(uintptr_t)nf_strmap_get(p->model_names, name)) != 0) {
			error_at(p, b->loc, "duplicate model name \"%s\"", name);
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
			error_at(p, b->loc, "duplicate alert \"%s\" in %s", name, blk_title(parent, title, sizeof(title)));
			nf_diag_note(p->diags, parent->alerts[prev - 1].loc, "first defined here");
			return false;
		}
		b->alert = xcalloc(1, sizeof(nf_alert_rule));
		b->alert->name = name;
		b->alert->loc = b->loc;
		b->alert->severity = NF_SEV_MEDIUM;
		return true;
	default:
		break;
	}
	/* Unnamed nested blocks: at most one of each kind. */
	if (parent->kids & (1u << b->spec->id)) {
		error_at(p, b->loc, "duplicate block '%s' in %s", b->spec->kind, blk_title(parent, title, sizeof(title)));
		nf_diag_note(p->diags, parent->kid_loc[b->spec->id], "first here");
		return false;
	}
	parent->kids |= 1u << b->spec->id;
	parent->kid_loc[b->spec->id] = b->loc;
	switch (b->spec->id) {
	case NF_BK_DEFAULTS:
		b->opts = &parent->pl->defaults;
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
close_block(parser *p, blk *b, blk *parent)
{
	char title[160];

	for (size_t i = 0; i < b->spec->nattrs; i++) {
		if (b->spec->attrs[i].required && !((b->seen | b->tried) & (1ull << i)))
			error_at(p, b->loc, "missing attribute '%s' in %s", b->spec->attrs[i].name,
				 blk_title(b, title, sizeof(title)));
	}
	switch (b->spec->id) {
	case NF_BK_STAGE:
	case NF_BK_MONITOR:
		/* (select without a matrix is nf_dag_validate's to report) */
		b->stage->alerts = nf_arena_memdup(p->a, b->alerts, b->nalerts * sizeof(nf_alert_rule));
		b->stage->nalerts = b->nalerts;
		break;
	case NF_BK_PARAMS:
		parent->pl->params = nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv));
		parent->pl->nparams = b->nkvs;
		break;
	case NF_BK_ENV: {
		nf_kv *kvs = nf_arena_memdup(p->a, b->kvs, b->nkvs * sizeof(nf_kv));

		if (parent->pl) {
			parent->pl->env = kvs;
			parent->pl->nenv = b->nkvs;
		} else {
			parent->stage->env = kvs;
			parent->stage->nenv = b->nkvs;
		}
		break;
	}
	case NF_BK_MATRIX:
		parent->stage->matrix = nf_arena_memdup(p->a, b->axes, b->naxes * sizeof(nf_axis));
		parent->stage->nmatrix = b->naxes;
		break;
	case NF_BK_ALERT:
		NF_PUSH(parent->alerts, parent->nalerts, parent->capalerts, *b->alert);
		nf_strmap_put(parent->alert_names, b->alert->name, (void *)(uintptr_t)parent->nalerts);
		break;
	default:
		break;
	}
}

static void
release_block(blk *b)
{
	nf_strmap_free(b->keys);
	nf_strmap_free(b->alert_names);
	free(b->kvs);
	free(b->axes);
	free(b->alerts);
	free(b->alert);
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
parse_block(parser *p, blk *parent)
{
	static const char *const top_kinds[] = { "pipeline", "stage", "gate", "model", "monitor" };
	nf_token kw = p->tok, label;
	const nf_block_spec *spec = NULL;
	bool check = !p->syntax_only && (!parent || parent->spec);
	blk b;
	char word[64], title[160];
	const char *name = NULL;

	memset(&b, 0, sizeof(b));
	b.loc = tok_loc(p, &kw);
	b.parent = parent;
	b.kw = kw.text;
	b.kwlen = kw.len > 40 ? 40 : (int)kw.len;
	snprintf(word, sizeof(word), "%.*s", kw.len > 40 ? 40 : (int)kw.len, kw.text);
	if (check) {
		const char *near, *home;

		spec = nf_schema_find_block(kw.text, kw.len);
		if (!parent) {
			if (!spec) {
				near = nf_suggest(word, top_kinds, NF_ARRAY_SIZE(top_kinds));
				if (near)
					error_at(p, b.loc, "unknown block kind '%s'; did you mean '%s'?", word, near);
				else
					error_at(p, b.loc, "unknown block kind '%s' (expected pipeline, stage, gate, model or monitor)",
						 word);
			} else if (!spec->top) {
				error_at(p, b.loc, "block '%s' is not allowed at the top level; it goes inside %s",
					 word, home_of(spec->id));
				spec = NULL;
			}
		} else {
			size_t idx;

			blk_title(parent, title, sizeof(title));
			if (spec && nf_schema_allows(parent->spec, spec->id)) {
				;
			} else if (!spec && nf_schema_find_attr(parent->spec, kw.text, kw.len, &idx)) {
				error_at(p, b.loc, "'%s' is an attribute, not a block: write %s = ...", word, word);
				mark_tried(parent, &kw);
			} else if (spec && (home = home_of(spec->id)) != NULL) {
				error_at(p, b.loc, "block '%s' is not allowed in %s; it goes inside %s", word, title, home);
				spec = NULL;
			} else if (spec) {
				error_at(p, b.loc, "block '%s' is not allowed in %s", word, title);
				spec = NULL;
			} else {
				const char *cands[NF_BK_COUNT];

				for (size_t i = 0; i < parent->spec->nchildren; i++)
					cands[i] = nf_schema_block(parent->spec->children[i])->kind;
				near = nf_suggest(word, cands, parent->spec->nchildren);
				if (near)
					error_at(p, b.loc, "unknown block '%s' in %s; did you mean '%s'?", word, title, near);
				else if (parent->spec->nchildren == 0)
					error_at(p, b.loc, "unknown block '%s' in %s (it holds no blocks)", word, title);
				else
					error_at(p, b.loc, "unknown block '%s' in %s", word, title);
			}
		}
	}
	advance(p);

	/* The label. */
	label = p->tok;
	if (p->tok.kind == NF_TK_STRING) {
		if (spec && !spec->labeled)
			error_at(p, tok_loc(p, &p->tok), "block '%s' takes no name", spec->kind);
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
			error_at(p, tok_loc(p, &p->tok), "'{' must be on the same line as %s %.*s", word,
				 (int)label.len, label.text);
		else
			error_at(p, tok_loc(p, &p->tok), "'{' must be on the same line as '%s'", word);
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
	release_block(&b);
	return true;
}

static void
parse_file(parser *p)
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
			error_at(p, tok_loc(p, &p->tok), "unexpected '}': no block is open");
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
				error_at(p, tok_loc(p, &p->tok),
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

	if (!(own & NF_OPT_RETRIES))
		dst->retries = src->retries;
	if (!(own & NF_OPT_BACKOFF))
		dst->backoff_ms = src->backoff_ms;
	if (!(own & NF_OPT_BACKOFF_MAX))
		dst->backoff_max_ms = src->backoff_max_ms;
	if (!(own & NF_OPT_TIMEOUT))
		dst->timeout_ms = src->timeout_ms;
	if (!(own & NF_OPT_GRACE))
		dst->grace_ms = src->grace_ms;
	if (!(own & NF_OPT_RETRY_ON)) {
		dst->retry_on = src->retry_on;
		dst->nretry_on = src->nretry_on;
	}
	if (!(own & NF_OPT_CPUS))
		dst->cpus = src->cpus;
	if (!(own & NF_OPT_LOG_LIMIT))
		dst->log_limit = src->log_limit;
	if (!(own & NF_OPT_CACHE))
		dst->cache = src->cache;
	if (!(own & NF_OPT_EXECUTOR)) {
		dst->executor = src->executor;
		dst->executor_loc = src->executor_loc;
	}
	if (!(own & NF_OPT_SLURM))
		dst->slurm = src->slurm;
}

static void
finish(parser *p)
{
	nf_dag *dag = p->dag;

	if (!dag->pipeline.models_dir)
		dag->pipeline.models_dir = "models";
	if (!dag->pipeline.max_active_runs)
		dag->pipeline.max_active_runs = 1;
	if (!dag->pipeline.alert_cooldown_set)
		dag->pipeline.alert_cooldown_ms = 24 * 3600 * 1000LL;
	merge_opts(&dag->pipeline.defaults, &builtin_opts, p->a);
	dag->stages = p->nstages ? p->stages : NULL;
	dag->nstages = p->nstages;
	for (size_t i = 0; i < dag->nstages; i++)
		merge_opts(&dag->stages[i].opts, &dag->pipeline.defaults, p->a);
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
	parser p;
	nf_dag *dag = xcalloc(1, sizeof(nf_dag));
	size_t errors = diags->nerrors;

	dag->arena = nf_arena_new();
	dag->path = nf_arena_strdup(dag->arena, path);
	dag->dir = dir_of(dag->arena, dag->path);
	memset(&p, 0, sizeof(p));
	p.dag = dag;
	p.a = dag->arena;
	p.path = dag->path;
	p.diags = diags;
	p.syntax_only = syntax_only;
	p.model_names = nf_strmap_new(8);
	if (len > NF_DAG_MAX_FILE_SIZE) {
		dag->by_name = nf_strmap_new(1);
		nf_loc at = { dag->path, 0, 0 };

		nf_diag_error(diags, at, "file too large (%zu bytes; the limit is %u MiB)", len,
			      NF_DAG_MAX_FILE_SIZE >> 20);
	} else {
		p.capstages = count_stage_lines(src, len) + 1;
		p.stages = nf_arena_alloc(p.a, p.capstages * sizeof(nf_stage));
		dag->by_name = nf_strmap_new(p.capstages);
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
