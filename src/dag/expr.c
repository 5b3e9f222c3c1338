/* expr.c: gate criteria and alert conditions: a recursive-descent parser with bounded
 * depth (hostile input gets an error, never a stack overflow), evaluation and printing;
 * the slice functions (max_gap, min, max) read a metric's values over the data's slices. */
#include "config.h"
#include "ntflow/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parentheses, unary minus and `not` may nest this deep; deeper is a syntax error. */
#define EXPR_MAX_NEST 64
/* Trees taller than this (long operator chains) are refused so that evaluation, which
 * recurses, stays shallow whatever the input. */
#define EXPR_MAX_HEIGHT 256

typedef enum {
	T_END, T_NUM, T_NAME, T_LP, T_RP, T_PLUS, T_MINUS, T_STAR, T_SLASH,
	T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE, T_AND, T_OR, T_NOT, T_COMMA, T_BAD,
} tok_kind;

typedef struct {
	tok_kind kind;
	const char *start;
	size_t len;
	int col;
	double num;
} token;

typedef struct {
	nf_arena *arena;
	const char *text;
	const char *p;          /* next byte to lex */
	token tok;              /* current token */
	int nest;
	int err;                /* 0 until the first error */
	int err_col;
} parser;

static int
fail(parser *ps, int col, const char *fmt, ...) NF_PRINTF(3, 4);

static int
fail(parser *ps, int col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ps->err)
		return ps->err;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	ps->err = nf_error_set(NF_EINVALID, "%s", msg);
	ps->err_col = col;
	free(msg);
	return ps->err;
}

static bool
is_ident_start(int c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
is_ident_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int
col_of(const parser *ps, const char *at)
{
	return (int)(at - ps->text) + 1;
}

/* Scans a number: digits [. digits] [e [+-] digits], or . digits. */
static void
lex_number(parser *ps, token *t)
{
	const char *s = ps->p, *q = s;

	while (isdigit((unsigned char)*q))
		q++;
	if (*q == '.' && isdigit((unsigned char)q[1])) {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	} else if (*q == '.' && q > s) {
		q++;   /* "1." */
	}
	if ((*q == 'e' || *q == 'E') &&
	    (isdigit((unsigned char)q[1]) ||
	     ((q[1] == '+' || q[1] == '-') && isdigit((unsigned char)q[2])))) {
		q += 2;
		while (isdigit((unsigned char)*q))
			q++;
	}
	t->kind = T_NUM;
	t->len = (size_t)(q - s);
	t->num = nf_number_value(s, t->len);
	if (!isfinite(t->num))
		fail(ps, t->col, "number '%.*s' is out of range", (int)t->len, s);
	ps->p = q;
}

/* Scans a name: identifiers joined by dots (eval.auc), or a keyword. */
static void
lex_name(parser *ps, token *t)
{
	const char *s = ps->p, *q = s;

	for (;;) {
		while (is_ident_char(*q))
			q++;
		if (*q != '.')
			break;
		if (!is_ident_start(q[1])) {
			fail(ps, col_of(ps, q + 1), "expected a name after '.'");
			break;
		}
		q++;
	}
	t->len = (size_t)(q - s);
	t->kind = T_NAME;
	if (t->len == 3 && !memcmp(s, "and", 3))
		t->kind = T_AND;
	else if (t->len == 2 && !memcmp(s, "or", 2))
		t->kind = T_OR;
	else if (t->len == 3 && !memcmp(s, "not", 3))
		t->kind = T_NOT;
	ps->p = q;
}

static void
next(parser *ps)
{
	token *t = &ps->tok;
	const char *s;

	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
	s = ps->p;
	memset(t, 0, sizeof(*t));
	t->start = s;
	t->col = col_of(ps, s);
	t->len = 1;
	if (!*s) {
		t->kind = T_END;
		t->len = 0;
		return;
	}
	if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
		lex_number(ps, t);
		return;
	}
	if (is_ident_start(*s)) {
		lex_name(ps, t);
		return;
	}
	switch (*s) {
	case '(': t->kind = T_LP; break;
	case ')': t->kind = T_RP; break;
	case ',': t->kind = T_COMMA; break;
	case '+': t->kind = T_PLUS; break;
	case '-': t->kind = T_MINUS; break;
	case '*': t->kind = T_STAR; break;
	case '/': t->kind = T_SLASH; break;
	case '<': t->kind = T_LT; break;
	case '>': t->kind = T_GT; break;
	default: t->kind = T_BAD; break;
	}
	if ((s[0] == '<' || s[0] == '>' || s[0] == '=' || s[0] == '!') && s[1] == '=') {
		t->len = 2;
		t->kind = s[0] == '<' ? T_LE : s[0] == '>' ? T_GE : s[0] == '=' ? T_EQ : T_NE;
	} else if ((s[0] == '&' && s[1] == '&') || (s[0] == '|' && s[1] == '|')) {
		t->len = 2;   /* T_BAD, named in the error */
	} else if (t->kind == T_BAD && ((unsigned char)*s >= 0x80)) {
		/* a whole UTF-8 sequence, so the message quotes a character, not a byte */
		while ((unsigned char)s[t->len] >= 0x80 && (unsigned char)s[t->len] < 0xc0 && t->len < 4)
			t->len++;
	}
	ps->p = s + t->len;
}

/* A hint for operators people bring from other languages. */
static const char *
bad_token_hint(const token *t)
{
	if (t->len == 2 && !memcmp(t->start, "&&", 2))
		return "; use 'and'";
	if (t->len == 2 && !memcmp(t->start, "||", 2))
		return "; use 'or'";
	if (t->len == 1 && *t->start == '=')
		return "; use '==' to compare";
	if (t->len == 1 && *t->start == '!')
		return "; use 'not'";
	return "";
}

static nf_expr *
node(parser *ps, nf_expr_op op, int col, nf_expr *l, nf_expr *r)
{
	nf_expr *e = nf_arena_alloc(ps->arena, sizeof(*e));

	e->op = op;
	e->col = col;
	e->l = l;
	e->r = r;
	return e;
}

/* Each parse function returns the subtree (NULL after an error) and its height in *h. */
static nf_expr *parse_or(parser *ps, int *h);

static bool
enter(parser *ps, int col)
{
	if (++ps->nest > EXPR_MAX_NEST) {
		fail(ps, col, "expression nested too deeply (more than %d levels)", EXPR_MAX_NEST);
		return false;
	}
	return true;
}

static nf_expr *
binary(parser *ps, nf_expr_op op, nf_expr *l, int hl, nf_expr *r, int hr, int *h)
{
	*h = (hl > hr ? hl : hr) + 1;
	if (*h > EXPR_MAX_HEIGHT) {
		fail(ps, l->col, "expression too complex (more than %d operators deep)", EXPR_MAX_HEIGHT);
		return NULL;
	}
	return node(ps, op, l->col, l, r);
}

static const struct {
	const char *name;
	nf_expr_fn fn;
} functions[] = {
	{ "max_gap", NF_FN_MAX_GAP },
	{ "min", NF_FN_MIN },
	{ "max", NF_FN_MAX },
};

const char *
nf_expr_fn_name(nf_expr_fn fn)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (functions[i].fn == fn)
			return functions[i].name;
	return "?";
}

/* NAME(METRIC), the current token being the '(' after the name t: a slice function. Its
 * one argument is a metric name, not an expression: the function reads that metric in
 * each slice, which an arbitrary expression has no meaning for. */
static nf_expr *
parse_call(parser *ps, const token *t)
{
	const char *fname = NULL;
	nf_expr *e;
	token arg;

	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]) && !fname; i++)
		if (strlen(functions[i].name) == t->len && !memcmp(functions[i].name, t->start, t->len))
			fname = functions[i].name;
	if (!fname) {
		fail(ps, t->col, "unknown function '%.*s'; the functions are max_gap(METRIC), min(METRIC) and "
		     "max(METRIC) over the metric's slices", (int)t->len, t->start);
		return NULL;
	}
	next(ps);
	arg = ps->tok;
	if (arg.kind == T_RP) {
		fail(ps, arg.col, "%s() takes one metric name, got none", fname);
		return NULL;
	}
	if (arg.kind != T_NAME || (arg.len > 11 && !memcmp(arg.start, "production.", 11))) {
		fail(ps, arg.col, "%s() takes a metric name of this run (the metric it reads in each slice)",
		     fname);
		return NULL;
	}
	next(ps);
	if (ps->tok.kind == T_COMMA) {
		fail(ps, ps->tok.col, "%s() takes one metric name, got more", fname);
		return NULL;
	}
	if (ps->tok.kind != T_RP) {
		fail(ps, ps->tok.col, "expected ')' after %s()'s metric name (its argument is a name, not an "
		     "expression)", fname);
		return NULL;
	}
	next(ps);
	e = node(ps, NF_EX_CALL, t->col, NULL, NULL);
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (functions[i].name == fname)
			e->fn = functions[i].fn;
	e->name = nf_arena_strndup(ps->arena, arg.start, arg.len);
	return e;
}

static nf_expr *
parse_primary(parser *ps, int *h)
{
	token t = ps->tok;
	nf_expr *e = NULL;

	*h = 1;
	if (ps->err)
		return NULL;
	switch (t.kind) {
	case T_NUM:
		e = node(ps, NF_EX_NUM, t.col, NULL, NULL);
		e->num = t.num;
		next(ps);
		return e;
	case T_NAME:
		if (ps->p[strspn(ps->p, " \t\r\n")] == '(') {
			next(ps);
			return parse_call(ps, &t);
		}
		if (t.len > 11 && !memcmp(t.start, "production.", 11)) {
			e = node(ps, NF_EX_PROD, t.col, NULL, NULL);
			e->name = nf_arena_strndup(ps->arena, t.start + 11, t.len - 11);
		} else if (t.len == 10 && !memcmp(t.start, "production", 10)) {
			fail(ps, t.col, "expected 'production.NAME', the production model's metric NAME");
			return NULL;
		} else {
			e = node(ps, NF_EX_NAME, t.col, NULL, NULL);
			e->name = nf_arena_strndup(ps->arena, t.start, t.len);
		}
		next(ps);
		return e;
	case T_LP:
		if (!enter(ps, t.col))
			return NULL;
		next(ps);
		e = parse_or(ps, h);
		ps->nest--;
		if (!e)
			return NULL;
		if (ps->tok.kind != T_RP) {
			fail(ps, ps->tok.col, "expected ')'");
			return NULL;
		}
		next(ps);
		return e;
	case T_BAD:
		fail(ps, t.col, "expected a number, a metric name or '('%s", bad_token_hint(&t));
		return NULL;
	default:
		fail(ps, t.col, "expected a number, a metric name or '('");
		return NULL;
	}
}

static nf_expr *
parse_unary(parser *ps, int *h)
{
	token t = ps->tok;
	nf_expr *e;

	if (t.kind != T_MINUS)
		return parse_primary(ps, h);
	if (!enter(ps, t.col))
		return NULL;
	next(ps);
	e = parse_unary(ps, h);
	ps->nest--;
	if (!e)
		return NULL;
	++*h;
	return node(ps, NF_EX_NEG, t.col, e, NULL);
}

static nf_expr *
parse_mul(parser *ps, int *h)
{
	nf_expr *l = parse_unary(ps, h), *r;
	int hr;

	while (l && (ps->tok.kind == T_STAR || ps->tok.kind == T_SLASH)) {
		nf_expr_op op = ps->tok.kind == T_STAR ? NF_EX_MUL : NF_EX_DIV;
		next(ps);
		if (!(r = parse_unary(ps, &hr)))
			return NULL;
		l = binary(ps, op, l, *h, r, hr, h);
	}
	return l;
}

static nf_expr *
parse_add(parser *ps, int *h)
{
	nf_expr *l = parse_mul(ps, h), *r;
	int hr;

	while (l && (ps->tok.kind == T_PLUS || ps->tok.kind == T_MINUS)) {
		nf_expr_op op = ps->tok.kind == T_PLUS ? NF_EX_ADD : NF_EX_SUB;
		next(ps);
		if (!(r = parse_mul(ps, &hr)))
			return NULL;
		l = binary(ps, op, l, *h, r, hr, h);
	}
	return l;
}

/* Comparisons do not chain: `a < b < c` is an error rather than ((a < b) < c). */
static nf_expr *
parse_cmp(parser *ps, int *h)
{
	nf_expr *l = parse_add(ps, h), *r;
	nf_expr_op op;
	int hr;

	if (!l)
		return NULL;
	switch (ps->tok.kind) {
	case T_LT: op = NF_EX_LT; break;
	case T_LE: op = NF_EX_LE; break;
	case T_GT: op = NF_EX_GT; break;
	case T_GE: op = NF_EX_GE; break;
	case T_EQ: op = NF_EX_EQ; break;
	case T_NE: op = NF_EX_NE; break;
	default: return l;
	}
	next(ps);
	if (!(r = parse_add(ps, &hr)))
		return NULL;
	return binary(ps, op, l, *h, r, hr, h);
}

static nf_expr *
parse_not(parser *ps, int *h)
{
	token t = ps->tok;
	nf_expr *e;

	if (t.kind != T_NOT)
		return parse_cmp(ps, h);
	if (!enter(ps, t.col))
		return NULL;
	next(ps);
	e = parse_not(ps, h);
	ps->nest--;
	if (!e)
		return NULL;
	++*h;
	return node(ps, NF_EX_NOT, t.col, e, NULL);
}

static nf_expr *
parse_and(parser *ps, int *h)
{
	nf_expr *l = parse_not(ps, h), *r;
	int hr;

	while (l && ps->tok.kind == T_AND) {
		next(ps);
		if (!(r = parse_not(ps, &hr)))
			return NULL;
		l = binary(ps, NF_EX_AND, l, *h, r, hr, h);
	}
	return l;
}

static nf_expr *
parse_or(parser *ps, int *h)
{
	nf_expr *l = parse_and(ps, h), *r;
	int hr;

	while (l && ps->tok.kind == T_OR) {
		next(ps);
		if (!(r = parse_and(ps, &hr)))
			return NULL;
		l = binary(ps, NF_EX_OR, l, *h, r, hr, h);
	}
	return l;
}

int
nf_expr_parse(nf_expr **out, nf_arena *a, const char *text, int *err_col)
{
	parser ps = { .arena = a, .text = text, .p = text };
	nf_expr *e;
	int h = 0;

	*out = NULL;
	if (err_col)
		*err_col = 0;
	next(&ps);
	e = parse_or(&ps, &h);
	if (e && !ps.err && ps.tok.kind != T_END) {
		token t = ps.tok;
		fail(&ps, t.col, "unexpected '%.*s' after expression%s", (int)t.len, t.start,
		     t.kind == T_BAD ? bad_token_hint(&t) : "");
	}
	if (ps.err) {
		if (err_col)
			*err_col = ps.err_col;
		return ps.err;
	}
	*out = e;
	return 0;
}

/* Equality within a relative 1e-9, so that a metric computed as 0.1 + 0.2 meets `== 0.3`
 * and `>= 0.3`: metrics come from floating-point code and JSON round trips. */
static bool
nearly_equal(double a, double b)
{
	double scale = fmax(1.0, fmax(fabs(a), fabs(b)));

	return fabs(a - b) <= 1e-9 * scale;
}

static int
lookup_name(const nf_expr *e, nf_expr_lookup_fn lookup, void *ctx, double *out)
{
	bool prod = e->op == NF_EX_PROD;
	const char *what = prod ? "production metric" : "metric";
	int err = lookup(ctx, prod, e->name, out);

	if (err == NF_ENOTFOUND)
		return nf_error_set(err, "%s '%s' is missing", what, e->name);
	if (err == NF_ENOPROD)
		return nf_error_set(err, "no model version is in production (needed for production.%s)",
				    e->name);
	if (err < 0)
		return err;
	if (!isfinite(*out))
		return nf_error_set(NF_EINVALID, "%s '%s' is not a finite number", what, e->name);
	return 0;
}

int
nf_expr_call(const nf_expr *call, nf_expr_slices_fn slices, void *ctx, double *out,
	     const nf_expr_slice **all, size_t *lo, size_t *hi)
{
	const nf_expr_slice *s = NULL;
	size_t n = 0, a = 0, b = 0;
	int err;

	*out = 0;
	if (slices && (err = slices(ctx, call->name, &s, &n)) < 0)
		return err;
	if (n == 0)
		return nf_error_set(NF_ENOTFOUND, "%s(%s): the metrics have no slices with metric '%s'",
				    nf_expr_fn_name(call->fn), call->name, call->name);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(s[i].value))
			return nf_error_set(NF_EINVALID, "metric '%s' of slice '%s' is not a finite number",
					    call->name, s[i].slice);
		if (s[i].value < s[a].value)
			a = i;
		if (s[i].value > s[b].value)
			b = i;
	}
	*out = call->fn == NF_FN_MIN ? s[a].value : call->fn == NF_FN_MAX ? s[b].value : s[b].value - s[a].value;
	if (all)
		*all = s;
	if (lo)
		*lo = a;
	if (hi)
		*hi = b;
	return 0;
}

int
nf_expr_eval(const nf_expr *e, nf_expr_lookup_fn lookup, void *ctx, double *out)
{
	return nf_expr_eval_slices(e, lookup, NULL, ctx, out);
}

int
nf_expr_eval_slices(const nf_expr *e, nf_expr_lookup_fn lookup, nf_expr_slices_fn slices, void *ctx,
		    double *out)
{
	double l = 0, r = 0, v = 0;
	int err;

	*out = 0;
	switch (e->op) {
	case NF_EX_NUM:
		*out = e->num;
		return 0;
	case NF_EX_NAME:
	case NF_EX_PROD:
		return lookup_name(e, lookup, ctx, out);
	case NF_EX_CALL:
		return nf_expr_call(e, slices, ctx, out, NULL, NULL, NULL);
	case NF_EX_NEG:
	case NF_EX_NOT:
		if ((err = nf_expr_eval_slices(e->l, lookup, slices, ctx, &l)) < 0)
			return err;
		*out = e->op == NF_EX_NEG ? -l : (l == 0.0);
		return 0;
	case NF_EX_AND:
	case NF_EX_OR:
		/* short-circuit, so `n > 0 and errors / n < 0.1` is safe */
		if ((err = nf_expr_eval_slices(e->l, lookup, slices, ctx, &l)) < 0)
			return err;
		if ((e->op == NF_EX_AND) == (l == 0.0)) {
			*out = e->op == NF_EX_OR;
			return 0;
		}
		if ((err = nf_expr_eval_slices(e->r, lookup, slices, ctx, &r)) < 0)
			return err;
		*out = r != 0.0;
		return 0;
	default:
		break;
	}
	if ((err = nf_expr_eval_slices(e->l, lookup, slices, ctx, &l)) < 0 ||
	    (err = nf_expr_eval_slices(e->r, lookup, slices, ctx, &r)) < 0)
		return err;
	switch (e->op) {
	case NF_EX_ADD: v = l + r; break;
	case NF_EX_SUB: v = l - r; break;
	case NF_EX_MUL: v = l * r; break;
	case NF_EX_DIV:
		if (r == 0.0)
			return nf_error_set(NF_EINVALID, "division by zero");
		v = l / r;
		break;
	case NF_EX_LT: v = l < r && !nearly_equal(l, r); break;
	case NF_EX_LE: v = l < r || nearly_equal(l, r); break;
	case NF_EX_GT: v = l > r && !nearly_equal(l, r); break;
	case NF_EX_GE: v = l > r || nearly_equal(l, r); break;
	case NF_EX_EQ: v = nearly_equal(l, r); break;
	case NF_EX_NE: v = !nearly_equal(l, r); break;
	default: break;
	}
	if (!isfinite(v))
		return nf_error_set(NF_EINVALID, "the result is not a finite number (overflow)");
	*out = v;
	return 0;
}

void
nf_expr_walk_names(const nf_expr *e, void (*fn)(void *ctx, bool prod, const char *name, int col),
		   void *ctx)
{
	if (!e)
		return;
	if (e->op == NF_EX_NAME || e->op == NF_EX_PROD) {
		fn(ctx, e->op == NF_EX_PROD, e->name, e->col);
		return;
	}
	nf_expr_walk_names(e->l, fn, ctx);
	nf_expr_walk_names(e->r, fn, ctx);
}

void
nf_expr_walk_calls(const nf_expr *e, void (*fn)(void *ctx, const nf_expr *call), void *ctx)
{
	if (!e)
		return;
	if (e->op == NF_EX_CALL) {
		fn(ctx, e);
		return;
	}
	nf_expr_walk_calls(e->l, fn, ctx);
	nf_expr_walk_calls(e->r, fn, ctx);
}

/* Binding strength, weakest first; printing adds parentheses where a child binds weaker. */
static int
prec(nf_expr_op op)
{
	switch (op) {
	case NF_EX_OR: return 1;
	case NF_EX_AND: return 2;
	case NF_EX_NOT: return 3;
	case NF_EX_LT: case NF_EX_LE: case NF_EX_GT: case NF_EX_GE: case NF_EX_EQ: case NF_EX_NE:
		return 4;
	case NF_EX_ADD: case NF_EX_SUB: return 5;
	case NF_EX_MUL: case NF_EX_DIV: return 6;
	case NF_EX_NEG: return 7;
	default: return 8;
	}
}

static const char *
op_text(nf_expr_op op)
{
	switch (op) {
	case NF_EX_ADD: return "+";
	case NF_EX_SUB: return "-";
	case NF_EX_MUL: return "*";
	case NF_EX_DIV: return "/";
	case NF_EX_LT: return "<";
	case NF_EX_LE: return "<=";
	case NF_EX_GT: return ">";
	case NF_EX_GE: return ">=";
	case NF_EX_EQ: return "==";
	case NF_EX_NE: return "!=";
	case NF_EX_AND: return "and";
	case NF_EX_OR: return "or";
	default: return "?";
	}
}

/* The shortest decimal form that reads back as the same double, always with '.' */
static void
format_number(nf_buf *out, double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%.15g", v);
	if (nf_number_value(s, strlen(s)) != v)
		snprintf(s, sizeof(s), "%.17g", v);
	for (char *c = s; *c; c++)
		if (*c == ',')   /* a locale's decimal comma */
			*c = '.';
	nf_buf_puts(out, s);
}

static void
format_sub(nf_buf *out, const nf_expr *e, bool parens)
{
	if (parens)
		nf_buf_putc(out, '(');
	nf_expr_format(out, e);
	if (parens)
		nf_buf_putc(out, ')');
}

void
nf_expr_format(nf_buf *out, const nf_expr *e)
{
	int p = prec(e->op);

	switch (e->op) {
	case NF_EX_NUM:
		format_number(out, e->num);
		return;
	case NF_EX_NAME:
		nf_buf_puts(out, e->name);
		return;
	case NF_EX_PROD:
		nf_buf_printf(out, "production.%s", e->name);
		return;
	case NF_EX_CALL:
		nf_buf_printf(out, "%s(%s)", nf_expr_fn_name(e->fn), e->name);
		return;
	case NF_EX_NEG:
		/* "- -x" rather than "--x", which reads like a typo; never "-(-x)": each '(' is a
		 * level of nesting, and 33 minus signs printed so would be 66, past what
		 * nf_expr_parse reads back (EXPR_MAX_NEST). */
		nf_buf_putc(out, '-');
		if (e->l->op == NF_EX_NEG)
			nf_buf_putc(out, ' ');
		format_sub(out, e->l, prec(e->l->op) < p);
		return;
	case NF_EX_NOT:
		nf_buf_puts(out, "not ");
		format_sub(out, e->l, prec(e->l->op) < p);
		return;
	default:
		break;
	}
	/* Left-associative: the left child may bind equally (except comparisons, which do not
	 * chain), the right one must bind tighter. This keeps parse(format(e)) == e. */
	format_sub(out, e->l, prec(e->l->op) < p || (p == 4 && prec(e->l->op) == 4));
	nf_buf_printf(out, " %s ", op_text(e->op));
	format_sub(out, e->r, prec(e->r->op) <= p);
}
