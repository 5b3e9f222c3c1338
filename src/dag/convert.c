/* convert.c: the typed half of the parser: turns a parsed value into the field its schema
 * row names. Each attribute type has a converter (checks the value, reports what is wrong,
 * produces the typed value) and the row's offsets say where it is stored; irregular
 * attributes have named setters. params { }, env { } and matrix { } keys are here too. */
#include "config.h"
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/cron.h"
#include "ntflow/expr.h"

/* A matrix axis may hold this many values (duplicates are looked for pairwise). */
#define MAX_AXIS_VALUES 1000

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

/* Who a message is about: "attribute 'retries'" or "each item of 'retry_on'"; put into words
 * only when there is something to say. */
typedef struct subj {
	const char *name;
	bool item;
} subj;
#define SUBJ "%s '%s'"
#define SUBJ_ARGS(w) ((w).item ? "each item of" : "attribute"), (w).name

/* ---- checks shared by the converters ---- */

/* A string value without ${...}: its text, or NULL after reporting. */
static const char *
want_literal(nf_parser *p, nf_value *v, const nf_token *t, subj w, const char *expects)
{
	const nf_seg *ref;
	const char *body;
	size_t blen;

	if (v->kind != NF_V_STRING) {
		nf_parse_error(p, v->loc, SUBJ " expects %s, found %s", SUBJ_ARGS(w), expects, found_kind(v));
		return NULL;
	}
	body = nf_lex_string_body(t, &blen);
	if (!v->str.loc.file && !memchr(body, '\\', blen) && !memchr(body, '$', blen))
		return nf_arena_strndup(p->a, body, blen);   /* no escapes, no references */
	if ((ref = nf_tmpl_first_ref(nf_parse_str(p, v, t))) != NULL) {
		nf_parse_error(p, ref->loc, SUBJ " cannot contain ${...} references", SUBJ_ARGS(w));
		return NULL;
	}
	return nf_tmpl_literal(&v->str);
}

static bool
want_int(nf_parser *p, const nf_value *v, subj w, long min, long max, long *out)
{
	const char *t;
	char *end;
	long n;

	if (v->kind != NF_V_NUMBER) {
		nf_parse_error(p, v->loc, SUBJ " expects an integer, found %s", SUBJ_ARGS(w), found_kind(v));
		return false;
	}
	t = v->num_text;
	if (t[strspn(t, "-0123456789")] != '\0') {
		nf_parse_error(p, v->loc, SUBJ " expects an integer, found %s", SUBJ_ARGS(w), t);
		return false;
	}
	n = strtol(t, &end, 10);
	if (n < min || n > max || strlen(t) > 18) {
		nf_parse_error(p, v->loc, SUBJ " must be between %ld and %ld, found %s", SUBJ_ARGS(w), min, max, t);
		return false;
	}
	*out = n;
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
check_schedule(nf_parser *p, const char *s, const nf_token *t)
{
	nf_loc at = nf_parse_loc(p, t);
	nf_cron_error e;
	nf_cron c;

	if (nf_cron_parse(&c, s, &e) == 0)
		return;
	if (e.offset >= 0)
		at.col = nf_lex_string_col(t, (size_t)e.offset);
	nf_parse_error(p, at, "%s", nf_error_last());
}

/* A gate criterion may write a param as ${params.NAME} as well as bare params.NAME: both read
 * the param's value (gov-step.c). When the string holds ${params.*} (and no escapes), its
 * text as written, with *parsed the same text where each "${" is two blanks and its "}"
 * one, so that the expression reads params.NAME at the very column it was written; a
 * reference to another namespace is reported (*reported). NULL when the string holds no ${
 * or was reported. */
static const char *
gate_params_text(nf_parser *p, nf_value *v, const nf_token *t, subj w, const char **parsed, bool *reported)
{
	size_t blen;
	const char *body = nf_lex_string_body(t, &blen);
	const nf_tmpl *tm;
	char *pad;

	*parsed = NULL;
	if (memchr(body, '\\', blen) || !memmem(body, blen, "${", 2) || memmem(body, blen, "$${", 3))
		return NULL;
	tm = nf_parse_str(p, v, t);
	for (size_t i = 0; i < tm->nsegs; i++) {
		if (tm->segs[i].is_ref && strncmp(tm->segs[i].text, "params.", 7) != 0) {
			nf_parse_error(p, tm->segs[i].loc, SUBJ " can reference only ${params.NAME}, not ${%s}",
				       SUBJ_ARGS(w), tm->segs[i].text);
			*reported = true;
			return NULL;
		}
	}
	pad = nf_arena_strndup(p->a, body, blen);
	for (char *q = pad; (q = strstr(q, "${")) != NULL;) {
		char *close = strchr(q, '}');

		q[0] = q[1] = ' ';
		if (!close)
			break;
		*close = ' ';
		q = close + 1;
	}
	*parsed = pad;
	return nf_arena_strndup(p->a, body, blen);
}

/* Parses an expression string into a criterion; reports a syntax error at its column. */
static bool
want_expr(nf_parser *p, nf_value *v, const nf_token *t, subj w, const char *kind, nf_criterion *out)
{
	const char *text = NULL, *parsed;
	bool reported = false;
	int col = 0;

	if ((strcmp(kind, "gate expression") == 0 || strcmp(kind, "risk score") == 0) && v->kind == NF_V_STRING)
		text = gate_params_text(p, v, t, w, &parsed, &reported);
	if (reported || (!text && !(text = parsed = want_literal(p, v, t, w, "an expression in quotes"))))
		return false;
	out->text = text;
	out->loc = nf_loc_at(p->path, t->line, t->col + 1);
	if (nf_expr_parse(&out->expr, p->a, parsed, &col) < 0) {
		nf_loc at = out->loc;

		at.col = nf_lex_string_col(t, col > 0 ? (size_t)col - 1 : 0);
		nf_parse_error(p, at, "%s: %s", kind, nf_error_last());
		out->expr = NULL;
		return false;
	}
	return true;
}

static bool
want_enum(nf_parser *p, nf_value *v, const nf_token *t, const nf_attr_spec *a, subj w, int *index)
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
		nf_parse_error(p, v->loc, SUBJ " must be one of %s, found \"%s\"; did you mean \"%s\"?",
			       SUBJ_ARGS(w), choices, s, near);
	else
		nf_parse_error(p, v->loc, SUBJ " must be one of %s, found \"%s\"", SUBJ_ARGS(w), choices, s);
	return false;
}

/* Reports a name that appears twice in a list (needs); a map once the list is long. */
static bool
list_has_dup(nf_parser *p, const nf_name_ref *names, size_t n, nf_strmap **seen)
{
	const nf_name_ref *cur = &names[n];

	if (n < 16) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(names[i].name, cur->name) == 0) {
				nf_parse_error(p, cur->loc, "\"%s\" is listed twice", cur->name);
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
		nf_parse_error(p, cur->loc, "\"%s\" is listed twice", cur->name);
		return true;
	}
	nf_strmap_put(*seen, cur->name, (void *)cur);
	return false;
}

/* ---- the converters, one per type ---- */

/* A converted value: the member of u its type stores, a list's length, the choice of an
 * enum, and where it was written. */
typedef struct conv {
	union {
		const char *s;
		nf_tmpl *tmpl;
		nf_name_ref *names;
		int i;
		int *ints;
		bool b;
		int64_t ms;
		uint64_t size;
		nf_criterion crit;
		nf_criterion *crits;
		double num;
	} u;
	size_t n;
	int choice;
	nf_loc loc;
} conv;

/* The arguments of every converter: the value, its token, the row and the subjects. */
typedef struct cv_in {
	nf_parser *p;
	nf_value *v;
	const nf_token *vt;
	const nf_attr_spec *a;
	subj what, items;
} cv_in;

typedef bool converter(const cv_in *in, conv *out);

static bool
cv_string(const cv_in *in, conv *out)
{
	return (out->u.s = want_literal(in->p, in->v, in->vt, in->what, "a string")) != NULL;
}

static bool
cv_name(const cv_in *in, conv *out)
{
	return (out->u.s = want_literal(in->p, in->v, in->vt, in->what, "a name in quotes")) != NULL;
}

static bool
cv_template(const cv_in *in, conv *out)
{
	if (in->v->kind != NF_V_STRING) {
		nf_parse_error(in->p, in->v->loc, SUBJ " expects a string, found %s", SUBJ_ARGS(in->what),
			       found_kind(in->v));
		return false;
	}
	out->u.tmpl = nf_arena_memdup(in->p->a, nf_parse_str(in->p, in->v, in->vt), sizeof(nf_tmpl));
	return true;
}

static bool
cv_int(const cv_in *in, conv *out)
{
	long n;

	if (!want_int(in->p, in->v, in->what, in->a->min, in->a->max, &n))
		return false;
	out->u.i = (int)n;
	return true;
}

static bool
cv_bool(const cv_in *in, conv *out)
{
	nf_value *v = in->v;

	if (v->kind != NF_V_BOOL) {
		const char *lit = v->kind == NF_V_STRING ? nf_tmpl_literal(nf_parse_str(in->p, v, in->vt)) : NULL;

		if (lit && (strcmp(lit, "true") == 0 || strcmp(lit, "false") == 0))
			nf_parse_error(in->p, v->loc, SUBJ " expects true or false, found a string; write %s without quotes",
				       SUBJ_ARGS(in->what), lit);
		else
			nf_parse_error(in->p, v->loc, SUBJ " expects true or false, found %s", SUBJ_ARGS(in->what),
				       found_kind(v));
		return false;
	}
	out->u.b = v->boolean;
	return true;
}

static bool
cv_duration(const cv_in *in, conv *out)
{
	const char *s = want_literal(in->p, in->v, in->vt, in->what, "a duration like \"30s\"");

	if (!s)
		return false;
	if (nf_parse_duration(&out->u.ms, s) < 0) {
		nf_parse_error(in->p, in->v->loc, "%s", nf_error_last());
		return false;
	}
	return true;
}

static bool
cv_size(const cv_in *in, conv *out)
{
	const char *s = want_literal(in->p, in->v, in->vt, in->what, "a size like \"100MB\"");

	if (!s)
		return false;
	if (nf_parse_size(&out->u.size, s) < 0) {
		nf_parse_error(in->p, in->v->loc, "%s", nf_error_last());
		return false;
	}
	return true;
}

static bool
cv_enum(const cv_in *in, conv *out)
{
	if (!want_enum(in->p, in->v, in->vt, in->a, in->what, &out->choice))
		return false;
	out->u.i = (int)in->a->min + out->choice;
	return true;
}

static bool
cv_schedule(const cv_in *in, conv *out)
{
	if (!(out->u.s = want_literal(in->p, in->v, in->vt, in->what, "a string")))
		return false;
	check_schedule(in->p, out->u.s, in->vt);   /* reported; the value is kept all the same */
	return true;
}

static bool
cv_select(const cv_in *in, conv *out)
{
	return (out->u.s = want_literal(in->p, in->v, in->vt, in->what, "a string")) != NULL;
}

/* An alert condition is kept even when it does not parse (expr NULL): it was reported. */
static bool
cv_expr(const cv_in *in, conv *out)
{
	nf_criterion c = { NULL, in->v->loc, NULL };

	want_expr(in->p, in->v, in->vt, in->what, "alert condition", &c);
	out->u.crit = c;
	return true;
}

static bool
cv_number(const cv_in *in, conv *out)
{
	if (in->v->kind != NF_V_NUMBER) {
		nf_parse_error(in->p, in->v->loc, SUBJ " expects a number, found %s", SUBJ_ARGS(in->what),
			       found_kind(in->v));
		return false;
	}
	out->u.num = in->v->num;
	return true;
}

/* Lists: the shape first. */
static bool
want_list(const cv_in *in)
{
	if (in->v->kind != NF_V_LIST) {
		nf_parse_error(in->p, in->v->loc, SUBJ " expects %s, found %s", SUBJ_ARGS(in->what),
			       nf_schema_type_name(in->a->type), found_kind(in->v));
		return false;
	}
	return true;
}

static bool
cv_template_list(const cv_in *in, conv *out)
{
	nf_value *v = in->v;
	nf_tmpl *ts;

	if (!want_list(in))
		return false;
	ts = nf_arena_alloc(in->p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_tmpl));
	for (size_t i = 0; i < v->nitems; i++) {
		if (v->items[i].kind != NF_V_STRING) {
			nf_parse_error(in->p, v->items[i].loc, SUBJ " expects a string, found %s", SUBJ_ARGS(in->items),
				       found_kind(&v->items[i]));
			continue;
		}
		ts[out->n++] = *nf_parse_str(in->p, &v->items[i], nf_parse_item_tok(in->p, v, i));
	}
	out->u.tmpl = ts;
	return true;
}

/* The name of a stage already read when v (token t) is a plain string naming one: its
 * needs then share the stage's copy of the name instead of each holding their own
 * (a stage is usually needed by several). NULL otherwise. */
static const char *
stage_name(nf_parser *p, const nf_value *v, const nf_token *t)
{
	char key[128];
	const nf_stage *s;
	const char *body;
	size_t blen;

	if (v->kind != NF_V_STRING || v->str.loc.file)
		return NULL;
	body = nf_lex_string_body(t, &blen);
	if (blen >= sizeof(key) || memchr(body, '\\', blen) || memchr(body, '$', blen))
		return NULL;
	memcpy(key, body, blen);
	key[blen] = '\0';
	s = nf_dag_find_stage(p->dag, key);
	return s ? s->name : NULL;
}

/* Names in quotes, each listed once; env_names: each a valid environment variable name. */
static bool
name_list(const cv_in *in, conv *out, bool env_names)
{
	nf_value *v = in->v;
	nf_name_ref *ns;
	nf_strmap *seen = NULL;
	size_t k = 0;

	if (!want_list(in))
		return false;
	/* needs apart, so that a run can drop them once its graph holds the edges */
	ns = nf_arena_alloc(!env_names && in->p->dag->needs_arena && strcmp(in->a->name, "needs") == 0
			    ? in->p->dag->needs_arena : in->p->a,
			    (v->nitems ? v->nitems : 1) * sizeof(nf_name_ref));
	for (size_t i = 0; i < v->nitems; i++) {
		const nf_token *t = nf_parse_item_tok(in->p, v, i);
		const char *name = env_names ? NULL : stage_name(in->p, &v->items[i], t);

		if (!name)
			name = want_literal(in->p, &v->items[i], t, in->items, "a name in quotes");

		if (!name)
			continue;
		if (env_names && !env_name_ok(name)) {
			nf_parse_error(in->p, v->items[i].loc, "invalid environment variable name \"%s\" in %s:"
				       " use letters, digits and '_', not starting with a digit", name, in->a->name);
			continue;
		}
		ns[k].name = name;
		ns[k].loc = v->items[i].loc;
		if (!list_has_dup(in->p, ns, k, &seen))
			k++;
	}
	nf_strmap_free(seen);
	out->u.names = ns;
	out->n = k;
	return true;
}

static bool
cv_name_list(const cv_in *in, conv *out)
{
	return name_list(in, out, false);
}

static bool
cv_int_list(const cv_in *in, conv *out)
{
	nf_value *v = in->v;
	int *codes;
	long n;

	if (!want_list(in))
		return false;
	codes = nf_arena_alloc(in->p->a, (v->nitems ? v->nitems : 1) * sizeof(int));
	for (size_t i = 0; i < v->nitems; i++)
		if (want_int(in->p, &v->items[i], in->items, in->a->min, in->a->max, &n))
			codes[out->n++] = (int)n;
	out->u.ints = codes;
	return true;
}

/* Criteria are kept even when they do not parse (expr NULL): they were reported. */
static bool
cv_expr_list(const cv_in *in, conv *out)
{
	nf_value *v = in->v;
	nf_criterion *cs;

	if (!want_list(in))
		return false;
	cs = nf_arena_alloc(in->p->a, (v->nitems ? v->nitems : 1) * sizeof(nf_criterion));
	for (size_t i = 0; i < v->nitems; i++)
		want_expr(in->p, &v->items[i], nf_parse_item_tok(in->p, v, i), in->items, "gate expression", &cs[i]);
	out->u.crits = cs;
	out->n = v->nitems;
	return true;
}

static converter *const converters[] = {
	[NF_AT_STRING] = cv_string,
	[NF_AT_TEMPLATE] = cv_template,
	[NF_AT_TEMPLATE_LIST] = cv_template_list,
	[NF_AT_NAME] = cv_name,
	[NF_AT_NAME_LIST] = cv_name_list,
	[NF_AT_INT] = cv_int,
	[NF_AT_INT_LIST] = cv_int_list,
	[NF_AT_BOOL] = cv_bool,
	[NF_AT_DURATION] = cv_duration,
	[NF_AT_SIZE] = cv_size,
	[NF_AT_ENUM] = cv_enum,
	[NF_AT_SCHEDULE] = cv_schedule,
	[NF_AT_SELECT] = cv_select,
	[NF_AT_EXPR] = cv_expr,
	[NF_AT_EXPR_LIST] = cv_expr_list,
	[NF_AT_NUMBER] = cv_number,
};

/* Converts v by the type of a; false after reporting. */
static bool
convert(nf_parser *p, const nf_attr_spec *a, nf_value *v, const nf_token *vt, conv *out)
{
	cv_in in = { p, v, vt, a, { a->name, false }, { a->name, true } };

	memset(out, 0, sizeof(*out));
	out->loc = v->loc;
	return converters[a->type](&in, out);
}

/* Notes where the value was written and that it was, as row a says (setters call it too). */
static void
mark(void *target, const nf_attr_spec *a, const conv *c)
{
	if (a->has_loc)
		memcpy((char *)target + a->loc_off, &c->loc, sizeof(nf_loc));
	if (a->set_bit)
		((nf_run_opts *)target)->set |= a->set_bit;
}

/* Stores a converted value where row a says. */
static void
store(void *target, const nf_attr_spec *a, const conv *c)
{
	char *base = target;

	memcpy(base + a->off, &c->u, a->size);
	if (nf_schema_is_list(a->type))
	{
		if (a->count_size == sizeof(uint32_t)) {
			uint32_t n = (uint32_t)c->n;   /* bounded by the file's size */

			memcpy(base + a->count_off, &n, sizeof(n));
		} else {
			memcpy(base + a->count_off, &c->n, sizeof(size_t));
		}
	}
	mark(target, a, c);
}

void
nf_parse_store_attr(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	conv c;

	if (a->setter) {
		a->setter(p, target, a, v, vt);
		return;
	}
	if (convert(p, a, v, vt, &c))
		store(target, a, &c);
}

/* ---- the named setters ---- */

void
nf_set_timezone(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_tz tz;
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	if (nf_tz_open(&tz, c.u.s) < 0) {
		nf_parse_error(p, v->loc, "%s", nf_error_last());
		return;
	}
	store(target, a, &c);
}

void
nf_set_overlap(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	((nf_pipeline *)target)->overlap_skip = strcmp(a->choices[c.choice], "skip") == 0;
	mark(target, a, &c);
}

void
nf_set_alert_cooldown(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	store(target, a, &c);
	((nf_pipeline *)target)->alert_cooldown_set = true;
}

void
nf_set_select(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_stage_more *st = target;
	nf_select_kind k;
	const char *metric;
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	if (!parse_select(c.u.s, &k, &metric, p->a)) {
		nf_parse_error(p, v->loc, "invalid select \"%s\": expected max(METRIC) or min(METRIC)", c.u.s);
		return;
	}
	st->select.kind = k;
	st->select.metric = metric;
	st->select.loc = v->loc;
	mark(target, a, &c);
}

void
nf_set_executor(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_run_opts *o = target;
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	o->executor = a->choices[c.choice];
	mark(target, a, &c);
}

void
nf_set_secret_env(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	cv_in in = { p, v, vt, a, { a->name, false }, { a->name, true } };
	conv c;

	memset(&c, 0, sizeof(c));
	c.loc = v->loc;
	if (name_list(&in, &c, true))
		store(target, a, &c);
}

/* A phase is named as stages are: it is a key of show --perf's table and of the budgets. */
void
nf_set_phase(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_stage_more *m = target;
	conv c;

	if (!convert(p, a, v, vt, &c))
		return;
	if (!nf_parse_valid_name(c.u.s)) {
		nf_parse_error(p, v->loc, "invalid phase name \"%s\": use letters, digits, '_' and '-'", c.u.s);
		return;
	}
	m->phase = c.u.s;
	m->phase_loc = v->loc;
}

/* The most runs "median:N" may take. */
#define MAX_BASELINE_RUNS 100

/* cpu_baseline = 12 (a run id) or "median:N" (the median of the last N runs, 1..100). */
void
nf_set_cpu_baseline(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_pipeline *pl = target;
	subj w = { a->name, false };
	const char *s;
	char *end;
	long n;

	/* Written, even when invalid: validate.c then does not add "cpu_target_reduction
	 * needs a cpu_baseline" to the error already reported here. */
	pl->cpu_baseline.loc = v->loc;
	if (v->kind == NF_V_NUMBER) {
		if (!want_int(p, v, w, 1, 2147483647L, &n))
			return;
		pl->cpu_baseline.run = n;
		return;
	}
	if (v->kind != NF_V_STRING) {
		nf_parse_error(p, v->loc, SUBJ " expects a run id or \"median:N\", found %s", SUBJ_ARGS(w),
			       found_kind(v));
		return;
	}
	if (!(s = want_literal(p, v, vt, w, "a run id or \"median:N\"")))
		return;
	if (strncmp(s, "median:", 7) != 0 || s[7] < '0' || s[7] > '9' ||
	    (n = strtol(s + 7, &end, 10), *end != '\0') || strlen(s + 7) > 4) {
		nf_parse_error(p, v->loc, "invalid cpu_baseline \"%s\": expected a run id (cpu_baseline = 12)"
			       " or \"median:N\", the median of the last N runs", s);
		return;
	}
	if (n < 1 || n > MAX_BASELINE_RUNS) {
		nf_parse_error(p, v->loc, "cpu_baseline \"%s\": N must be between 1 and %d", s, MAX_BASELINE_RUNS);
		return;
	}
	pl->cpu_baseline.median = (int)n;
}

/* cpu_target_reduction = "30%": a percentage above 0 and at most 100. */
void
nf_set_cpu_target(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_pipeline *pl = target;
	conv c;
	char *end;
	double pct;
	size_t n;

	pl->cpu_target_loc = v->loc;   /* written, even when invalid: no cascading error */
	if (!convert(p, a, v, vt, &c))
		return;
	n = strlen(c.u.s);
	if (n < 2 || c.u.s[n - 1] != '%' || !((c.u.s[0] >= '0' && c.u.s[0] <= '9') || c.u.s[0] == '.') ||
	    (pct = strtod(c.u.s, &end), end != c.u.s + n - 1)) {
		nf_parse_error(p, v->loc, "invalid cpu_target_reduction \"%s\": expected a percentage like \"30%%\"",
			       c.u.s);
		return;
	}
	if (!(pct > 0 && pct <= 100)) {
		nf_parse_error(p, v->loc, "cpu_target_reduction \"%s\" must be above 0%% and at most 100%%", c.u.s);
		return;
	}
	pl->cpu_target_pct = pct;
}

/* A criterion { }'s require and severe_when and the risk score read a gate's metrics as
 * its require list does, ${params.NAME} included; kept even when it does not parse (the
 * error is reported), as an alert condition is. */
void
nf_set_gate_expr(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	subj w = { a->name, false };
	nf_criterion c = { NULL, v->loc, NULL };
	conv cv;

	want_expr(p, v, vt, w, strcmp(a->name, "score") == 0 ? "risk score" : "gate expression", &c);
	memset(&cv, 0, sizeof(cv));
	cv.u.crit = c;
	cv.loc = v->loc;
	store(target, a, &cv);
}

void
nf_set_violation(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	conv c;
	const char *t;

	if (!convert(p, a, v, vt, &c))
		return;
	for (t = c.u.s; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '_' ||
		      *t == '-'))
			break;
	if (!*c.u.s || *t || strlen(c.u.s) > 64) {
		nf_parse_error(p, v->loc, "invalid violation type \"%s\": use letters, digits, '_' and '-' (at most 64)",
			       c.u.s);
		return;
	}
	store(target, a, &c);
}

/* ---- params { }, env { }, matrix { } ---- */

/* Whether s (may be NULL) holds a line break or another control character but tab (a tab,
 * as a separator, is fine in a name). */
static bool
has_control(const char *s)
{
	const char *end = s ? s + strlen(s) : NULL;

	for (size_t n; s && s < end; s += n ? n : 1)
		if ((n = nf_visible_len(s, end)) == 0 && *s != '\t')
			return true;
	return false;
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
void
nf_parse_store_key(nf_parser *p, nf_pblock *b, const nf_token *key, nf_value *v, const nf_token *vt)
{
	nf_block_id id = b->spec->id;
	const char *what = id == NF_BK_PARAMS ? "param" : id == NF_BK_ENV ? "environment variable" :
		id == NF_BK_INSTANCE ? "foreach field" : id == NF_BK_TOLERANCE ? "tolerance" : "matrix axis";
	char *name;
	nf_loc kloc = nf_parse_loc(p, key);
	size_t prev;

	if (key->kind == NF_TK_STRING) {
		/* Only in tolerance { } (parse.c): the metric's name as written, any characters
		 * but those that no metric name holds. */
		size_t blen;
		const char *body = nf_lex_string_body(key, &blen);
		bool bad;

		if (key->unterminated)
			return;   /* reported by the lexer */
		bad = blen == 0 || memchr(body, '\\', blen) || memchr(body, '$', blen);

		for (size_t i = 0; i < blen && !bad; i++)
			bad = (unsigned char)body[i] < 0x20 || body[i] == 0x7f;
		if (bad) {
			nf_parse_error(p, kloc, "invalid %s name %.*s: the metric's name in quotes, not empty, "
				       "without '\\', '$' or control characters", what, (int)key->len, key->text);
			return;
		}
		name = nf_arena_strndup(p->a, body, blen);
	} else if (!valid_key(key->text, key->len)) {
		nf_parse_error(p, kloc, "invalid %s name '%.*s': use letters, digits and '_'%s", what, (int)key->len,
			       key->text, id == NF_BK_TOLERANCE ? ", or the metric's name in quotes" : "");
		return;
	} else {
		name = nf_arena_strndup(p->a, key->text, key->len);
	}
	if (!b->keys)
		b->keys = nf_strmap_new(8);
	if ((prev = (size_t)(uintptr_t)nf_strmap_get(b->keys, name)) != 0) {
		nf_parse_error(p, kloc, "duplicate %s '%s'", what, name);
		nf_diag_note(p->diags, id == NF_BK_MATRIX ? b->axes[prev - 1].loc : b->kvs[prev - 1].loc,
			     "first set here");
		return;
	}
	if (id == NF_BK_MATRIX) {
		nf_axis ax = { name, kloc, NULL, 0 };

		if (strcmp(name, "id") == 0) {
			nf_parse_error(p, kloc, "a matrix axis cannot be named 'id': ${matrix.id} names the combination");
			return;
		}
		if (v->kind != NF_V_LIST) {
			nf_parse_error(p, v->loc, "matrix axis '%s' expects a list of values, found %s", name, found_kind(v));
			return;
		}
		if (v->nitems == 0) {
			nf_parse_error(p, v->loc, "matrix axis '%s' has no values", name);
			return;
		}
		if (v->nitems > MAX_AXIS_VALUES) {
			nf_parse_error(p, v->loc, "matrix axis '%s' has %zu values; at most %d are allowed", name,
				 v->nitems, MAX_AXIS_VALUES);
			return;
		}
		for (size_t i = 0; i < v->nitems; i++) {
			nf_value *it = &v->items[i];

			if (it->kind == NF_V_LIST) {
				nf_parse_error(p, it->loc, "matrix values must be strings, numbers or booleans, found a list");
				return;
			}
			if (it->kind == NF_V_STRING && nf_tmpl_first_ref(nf_parse_str(p, it, nf_parse_item_tok(p, v, i)))) {
				nf_parse_error(p, nf_tmpl_first_ref(&it->str)->loc, "matrix values cannot contain ${...} references");
				return;
			}
			if (it->kind == NF_V_STRING && has_control(nf_tmpl_literal(&it->str))) {
				/* It names the node (train[lr=...]) in every line that says how it went. */
				nf_parse_error(p, it->loc, "matrix values cannot hold a line break or another control character "
					       "(a tab is fine): the value names its instance in every line about it");
				return;
			}
			for (size_t j = 0; j < i; j++) {
				if (same_scalar(&v->items[j], it)) {
					nf_parse_error(p, it->loc, "duplicate value in matrix axis '%s'", name);
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
		nf_parse_error(p, v->loc, "%s '%s' expects a string, number or boolean, found a list", what, name);
		return;
	}
	if (id == NF_BK_TOLERANCE && (v->kind != NF_V_NUMBER || !(v->num >= 0))) {
		/* a cohort mean moving by more than this is drift: a distance, so never negative */
		nf_parse_error(p, v->loc, "tolerance '%s' expects a number >= 0, found %s", name,
			       v->kind == NF_V_NUMBER ? "a negative number" : found_kind(v));
		return;
	}
	if (v->kind == NF_V_STRING)
		nf_parse_str(p, v, vt);
	if ((id == NF_BK_PARAMS || id == NF_BK_INSTANCE) && v->kind == NF_V_STRING && nf_tmpl_first_ref(&v->str)) {
		nf_parse_error(p, nf_tmpl_first_ref(&v->str)->loc, "%s '%s' cannot contain ${...} references", what, name);
		return;
	}
	NF_PUSH(b->kvs, b->nkvs, b->capkvs, ((nf_kv){ name, kloc, *v }));
	nf_strmap_put(b->keys, name, (void *)(uintptr_t)b->nkvs);
}

/* run = "..." as any template; run = ["prog", "arg", ...] one template per word, the words
 * also joined by blanks into run for what reads only their references. */
void
nf_set_run(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_stage *st = target;
	nf_attr_spec list = *a;
	nf_tmpl *joined;
	size_t nsegs = 0;
	conv c;

	if (v->kind != NF_V_LIST) {
		if (v->kind != NF_V_STRING) {
			nf_parse_error(p, v->loc, "attribute '%s' expects a string or a list of strings, found %s", a->name,
				       found_kind(v));
			return;
		}
		if (convert(p, a, v, vt, &c))
			store(target, a, &c);
		return;
	}
	list.type = NF_AT_TEMPLATE_LIST;
	if (!convert(p, &list, v, vt, &c))
		return;
	if (v->nitems == 0) {
		nf_parse_error(p, v->loc, "%s = [] has no words: the first is the program to run", a->name);
		return;
	}
	if (c.n < v->nitems)
		return;   /* an item that is no string was reported */
	for (size_t i = 0; i < c.n; i++)
		nsegs += c.u.tmpl[i].nsegs + 1;
	joined = nf_arena_alloc(p->a, sizeof(*joined));
	joined->segs = nf_arena_alloc(p->a, nsegs * sizeof(nf_seg));
	joined->nsegs = 0;
	joined->loc = c.u.tmpl[0].loc;
	for (size_t i = 0; i < c.n; i++) {
		if (i > 0)
			joined->segs[joined->nsegs++] = (nf_seg){ " ", false, c.u.tmpl[i].loc };
		for (size_t k = 0; k < c.u.tmpl[i].nsegs; k++)
			joined->segs[joined->nsegs++] = c.u.tmpl[i].segs[k];
	}
	st->run = joined;
	nf_stage_more_mut(st, p->a)->run_words = c.u.tmpl;
	nf_stage_more_mut(st, p->a)->nrun_words = (uint32_t)c.n;
	st->run_list = true;
	mark(target, a, &c);
}

/* The text a foreach element stands for as ${key}: a number as written, a string, true or
 * false. */
static const char *
scalar_text(nf_arena *a, const nf_value *v)
{
	if (v->kind == NF_V_NUMBER)
		return v->num_text ? v->num_text : nf_arena_printf(a, "%g", v->num);
	if (v->kind == NF_V_BOOL)
		return v->boolean ? "true" : "false";
	return nf_tmpl_literal(&v->str);
}

bool
nf_foreach_key_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n > 0 && n <= 64 && s[0] != '.' && s[0] != '-';
}

/* foreach = ["us", "eu"]: one instance per element, each a string without ${...}, a number
 * or a boolean whose text names the instance (STAGE@TEXT), listed once. */
void
nf_set_foreach(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	nf_stage_more *st = target;
	nf_foreach_item *items;
	nf_strmap *seen;
	size_t n = 0;

	(void)vt;
	if (st->foreach) {
		nf_parse_error(p, v->loc, "foreach is written twice (a block and a list)");
		return;
	}
	if (v->kind != NF_V_LIST) {
		nf_parse_error(p, v->loc, "attribute '%s' expects a list of values, found %s", a->name, found_kind(v));
		return;
	}
	if (v->nitems == 0) {
		nf_parse_error(p, v->loc, "foreach = [] has no elements");
		return;
	}
	if (v->nitems > MAX_AXIS_VALUES) {
		nf_parse_error(p, v->loc, "foreach has %zu elements; at most %d are allowed", v->nitems, MAX_AXIS_VALUES);
		return;
	}
	items = nf_arena_alloc(p->a, v->nitems * sizeof(*items));
	seen = nf_strmap_new(v->nitems);
	for (size_t i = 0; i < v->nitems; i++) {
		nf_value *it = &v->items[i];
		const nf_foreach_item *first;
		const char *key;

		if (it->kind == NF_V_LIST) {
			nf_parse_error(p, it->loc, "foreach elements must be strings, numbers or booleans, found a list");
			continue;
		}
		if (it->kind == NF_V_STRING && nf_tmpl_first_ref(nf_parse_str(p, it, nf_parse_item_tok(p, v, i)))) {
			nf_parse_error(p, nf_tmpl_first_ref(&it->str)->loc, "foreach elements cannot contain ${...} references");
			continue;
		}
		key = scalar_text(p->a, it);
		if (!nf_foreach_key_ok(key)) {
			nf_parse_error(p, it->loc, "foreach element \"%s\" cannot name an instance: use letters, digits,"
				       " '_', '-' and '.', starting with a letter, digit or '_' (at most 64)", key);
			continue;
		}
		if ((first = nf_strmap_get(seen, key))) {
			nf_parse_error(p, it->loc, "duplicate foreach element \"%s\"", key);
			nf_diag_note(p->diags, first->loc, "first listed here");
			continue;
		}
		items[n] = (nf_foreach_item){ key, it->loc, *it, NULL, 0 };
		nf_strmap_put(seen, key, &items[n]);
		n++;
	}
	nf_strmap_free(seen);
	if (n < v->nitems)
		return;
	st->foreach = items;
	st->nforeach = (uint32_t)n;
	st->foreach_loc = v->loc;
}

/* y = "col" or y = ["a", "b"]: one column name or several. */
void
nf_set_plot_y(nf_parser *p, void *target, const nf_attr_spec *a, nf_value *v, const nf_token *vt)
{
	cv_in in = { p, v, vt, a, { a->name, false }, { a->name, true } };
	conv c;

	memset(&c, 0, sizeof(c));
	c.loc = v->loc;
	if (v->kind == NF_V_STRING) {
		const char *s = want_literal(p, v, vt, in.what, "a string");

		if (!s)
			return;
		c.u.names = nf_arena_alloc(p->a, sizeof(nf_name_ref));
		c.u.names[0].name = s;
		c.u.names[0].loc = v->loc;
		c.n = 1;
		store(target, a, &c);
		return;
	}
	if (v->kind != NF_V_LIST) {
		nf_parse_error(p, v->loc, "attribute '%s' expects a string or a list of strings, found %s", a->name,
			       found_kind(v));
		return;
	}
	if (name_list(&in, &c, false) && c.n > 0)
		store(target, a, &c);
	else if (c.n == 0 && v->nitems == 0)
		nf_parse_error(p, v->loc, "%s = [] names no column", a->name);
}
