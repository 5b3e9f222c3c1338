/* validate.c: the cross-reference checks of a parsed pipeline (needs, gates, ${...}, outputs,
 * select, paths that stay in the project). Reading a file through to its graph is
 * src/graph/load.c's (nf_dag_load). */
#include "config.h"
#include "ntflow/dag.h"
#include "ntflow/expr.h"
#include "schema.h"

#include <stdlib.h>
#include <string.h>

/* Checking that a ${stages.S.best.K} user depends on S walks its ancestors; past this many
 * steps in one file the check is skipped rather than let a hostile file cost minutes. */
#define ANCESTOR_BUDGET (8u << 20)

/* Where a template sits, for messages: `stage "train"`, and the stage when there is one. */
typedef struct where {
	const char *kind;
	const char *name;
	const nf_stage *stage;   /* NULL for the pipeline and models */
	bool secrets;            /* a secret_env value may go here: run and env { }, which ntflow
	                          * records with the value masked; not a path, param or metric */
} where;

/* An output as check_outputs first saw it: its normalized path (in scratch), whose it is. */
typedef struct out_at {
	const char *key;
	const nf_stage *stage;
	const nf_tmpl *t;
} out_at;

typedef struct vctx {
	nf_dag *dag;
	nf_diag_list diags;      /* this pass's messages, sorted by place before handing over */
	nf_arena *scratch;
	const char **stage_names;
	const char **param_names;
	const char **gate_names;
	size_t ngates;
	nf_strmap *models;       /* model name -> nf_model_decl* */
	size_t *seen;            /* ancestor walk: stage index -> walk number */
	size_t *queue;
	size_t walks;
	size_t budget;
	out_at *outs;            /* every output path, once (check_nested_outputs) */
	size_t nouts, outs_cap;
} vctx;

/* Adds an error whose message ends with `; did you mean "hint"?` when hint is not NULL. */
static void
error_hint(vctx *v, nf_loc loc, const char *hint, const char *fmt, ...) NF_PRINTF(4, 5);

static void
error_hint(vctx *v, nf_loc loc, const char *hint, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (hint)
		nf_diag_error(&v->diags, loc, "%s; did you mean \"%s\"?", msg, hint);
	else
		nf_diag_error(&v->diags, loc, "%s", msg);
	free(msg);
}

/* Is `anc` reachable from `s` through needs? A breadth-first walk; true when over budget. */
static bool
depends_on(vctx *v, const nf_stage *s, const nf_stage *anc)
{
	const nf_dag *dag = v->dag;
	size_t head = 0, tail = 0, walk = ++v->walks;

	if (!v->seen) {
		v->seen = xcalloc(dag->nstages, sizeof(size_t));
		v->queue = xmalloc(dag->nstages * sizeof(size_t));
	}
	v->queue[tail++] = s->index;
	v->seen[s->index] = walk;
	while (head < tail) {
		const nf_stage *cur = &dag->stages[v->queue[head++]];

		for (size_t k = 0; k < cur->nneeds; k++) {
			const nf_stage *d = nf_dag_find_stage(dag, cur->needs[k].name);

			if (v->budget == 0)
				return true;
			v->budget--;
			if (!d || v->seen[d->index] == walk)
				continue;
			if (d == anc)
				return true;
			v->seen[d->index] = walk;
			v->queue[tail++] = d->index;
		}
	}
	return false;
}

static bool
has_key(const nf_stage *s, const char *key, const char **cands)
{
	for (size_t k = 0; k < nf_more(s)->nmatrix; k++) {
		cands[k] = nf_more(s)->matrix[k].name;
		if (!strcmp(nf_more(s)->matrix[k].name, key))
			return true;
	}
	return false;
}

static void
check_stages_ref(vctx *v, const where *w, const nf_seg *seg, const char *rest)
{
	const char *p = strstr(rest, ".best."), *key;
	const char **cands;
	const nf_stage *s;
	char *name;

	if (!p || p == rest || !p[6]) {
		nf_diag_error(&v->diags, seg->loc, "expected ${stages.STAGE.best.KEY}, found ${%s}", seg->text);
		return;
	}
	name = nf_arena_strndup(v->scratch, rest, (size_t)(p - rest));
	key = p + 6;
	if (!(s = nf_dag_find_stage(v->dag, name))) {
		error_hint(v, seg->loc, nf_suggest(name, v->stage_names, v->dag->nstages),
			   "unknown stage \"%s\" in ${%s}", name, seg->text);
		return;
	}
	if (!nf_more(s)->nmatrix || nf_more(s)->select.kind == NF_SELECT_NONE) {
		nf_diag_error(&v->diags, seg->loc, "${%s} needs a best instance, but %s \"%s\" has no %s",
			      seg->text, nf_stage_kind_name(s->kind), s->name,
			      nf_more(s)->nmatrix ? "select" : "matrix");
		return;
	}
	cands = nf_arena_alloc(v->scratch, nf_more(s)->nmatrix * sizeof(char *));
	if (strcmp(key, "id") != 0 && !has_key(s, key, cands)) {
		error_hint(v, seg->loc, nf_suggest(key, cands, nf_more(s)->nmatrix),
			   "unknown matrix key \"%s\" of stage \"%s\" in ${%s}", key, s->name, seg->text);
		return;
	}
	if (w->stage && !depends_on(v, w->stage, s))
		nf_diag_error(&v->diags, seg->loc, "%s \"%s\" uses ${%s} but does not depend on \"%s\" (add it to needs)",
			      w->kind, w->name, seg->text, s->name);
}

/* ${key}, ${item} and ${item.F}: only in a stage with foreach; ${item} for a list's
 * elements, ${item.F} for named instances, each of which must have the field F. */
static void
check_item_ref(vctx *v, const where *w, const nf_seg *seg, const char *ns, const char *rest)
{
	const nf_stage *s = w->stage;

	if (!s || !nf_more(s)->nforeach) {
		nf_diag_error(&v->diags, seg->loc, "${%s} in %s \"%s\", which has no foreach", seg->text, w->kind, w->name);
		return;
	}
	if (!strcmp(ns, "key")) {
		if (rest)
			nf_diag_error(&v->diags, seg->loc, "expected ${key}, found ${%s}", seg->text);
		return;
	}
	if (!rest && nf_more(s)->foreach_named) {
		nf_diag_error(&v->diags, seg->loc, "the instances of %s \"%s\" have fields: write ${item.FIELD}"
			      " (or ${key} for the instance's name)", w->kind, w->name);
		return;
	}
	if (rest && !nf_more(s)->foreach_named) {
		nf_diag_error(&v->diags, seg->loc, "${%s}: the foreach of %s \"%s\" is a list of plain values; write ${item}",
			      seg->text, w->kind, w->name);
		return;
	}
	for (size_t i = 0; rest && i < nf_more(s)->nforeach; i++) {
		const nf_foreach_item *it = &nf_more(s)->foreach[i];
		bool found = false;

		for (size_t f = 0; f < it->nfields && !found; f++)
			found = !strcmp(it->fields[f].key, rest);
		if (!found) {
			nf_diag_error(&v->diags, seg->loc, "${%s}: instance \"%s\" of %s \"%s\" has no field \"%s\"",
				      seg->text, it->key, w->kind, w->name, rest);
			nf_diag_note(&v->diags, it->loc, "instance \"%s\" is here", it->key);
			return;
		}
	}
}

static void
check_ref(vctx *v, const where *w, const nf_seg *seg)
{
	static const char *const namespaces[] = { "params", "matrix", "run", "env", "dag", "stages", "item", "key" };
	static const char *const run_values[] = { "id", "date", "week", "month", "quarter", "trigger", "interval_start",
						  "interval_end" };
	const char *ref = seg->text, *dot = strchr(ref, '.');
	const char *rest = dot ? dot + 1 : NULL;
	const nf_pipeline *pl = &v->dag->pipeline;
	char *ns = nf_arena_strndup(v->scratch, ref, dot ? (size_t)(dot - ref) : strlen(ref));
	const char **cands;

	if (!*ref) {
		nf_diag_error(&v->diags, seg->loc, "empty reference ${}");
	} else if (!strcmp(ns, "params")) {
		bool found = false;

		for (size_t i = 0; rest && i < pl->nparams && !found; i++)
			found = !strcmp(pl->params[i].key, rest);
		if (!rest || !*rest)
			nf_diag_error(&v->diags, seg->loc, "expected ${params.NAME}, found ${%s}", ref);
		else if (!found)
			error_hint(v, seg->loc, nf_suggest(rest, v->param_names, pl->nparams),
				   "unknown parameter \"%s\" in ${%s}", rest, ref);
	} else if (!strcmp(ns, "matrix")) {
		if (!rest || !*rest) {
			nf_diag_error(&v->diags, seg->loc, "expected ${matrix.KEY}, found ${%s}", ref);
		} else if (!w->stage || !nf_more(w->stage)->nmatrix) {
			nf_diag_error(&v->diags, seg->loc, "${%s} in %s \"%s\", which has no matrix", ref, w->kind, w->name);
		} else if (strcmp(rest, "id") != 0) {
			cands = nf_arena_alloc(v->scratch, nf_more(w->stage)->nmatrix * sizeof(char *));
			if (!has_key(w->stage, rest, cands))
				error_hint(v, seg->loc, nf_suggest(rest, cands, nf_more(w->stage)->nmatrix),
					   "unknown matrix key \"%s\" in ${%s}", rest, ref);
		}
	} else if (!strcmp(ns, "run")) {
		bool found = false;

		for (size_t i = 0; rest && i < NF_ARRAY_SIZE(run_values) && !found; i++)
			found = !strcmp(run_values[i], rest);
		if (!found)
			nf_diag_error(&v->diags, seg->loc, "unknown run value in ${%s} (run.id, run.date, run.week, run.month,"
				      " run.quarter, run.trigger, run.interval_start, run.interval_end)", ref);
	} else if (!strcmp(ns, "env")) {
		if (!rest || !*rest)
			nf_diag_error(&v->diags, seg->loc, "expected ${env.NAME}, found ${%s}", ref);
		else if (!w->secrets && nf_dag_is_secret(v->dag, rest))
			nf_diag_error(&v->diags, seg->loc, "${%s} is a secret (secret_env): only run and env { } may use it,"
				      " since ntflow records the rest as written", ref);
	} else if (!strcmp(ns, "dag")) {
		if (!rest || strcmp(rest, "dir") != 0)
			nf_diag_error(&v->diags, seg->loc, "unknown value in ${%s} (dag.dir)", ref);
	} else if (!strcmp(ns, "stages")) {
		check_stages_ref(v, w, seg, rest ? rest : "");
	} else if (!strcmp(ns, "key") || !strcmp(ns, "item")) {
		check_item_ref(v, w, seg, ns, rest);
	} else {
		error_hint(v, seg->loc, nf_suggest(ns, namespaces, NF_ARRAY_SIZE(namespaces)),
			   "unknown namespace \"%s\" in ${%s} (params, matrix, run, env, dag, stages)", ns, ref);
	}
}

static void
check_tmpl(vctx *v, const where *w, const nf_tmpl *t)
{
	for (size_t i = 0; t && i < t->nsegs; i++)
		if (t->segs[i].is_ref)
			check_ref(v, w, &t->segs[i]);
}

/* A `run` command: each reference must stand where the shell can be given its value as data. */
static void
check_run_quoting(vctx *v, const where *w, const nf_tmpl *t)
{
	nf_sh_pos *pos;

	if (!t)
		return;
	pos = nf_arena_alloc(v->scratch, (t->nsegs + 1) * sizeof(*pos));
	if (nf_sh_scan(pos, t) == 0)
		return;
	for (size_t i = 0; i < t->nsegs; i++)
		if (t->segs[i].is_ref && pos[i].ctx == NF_SH_REFUSED)
			nf_diag_error(&v->diags, t->segs[i].loc, "${%s} in the run command of %s \"%s\" stands %s",
				      t->segs[i].text, w->kind, w->name, pos[i].why);
}

static void
check_value(vctx *v, const where *w, const nf_value *val)
{
	if (val->kind == NF_V_STRING)
		check_tmpl(v, w, &val->str);
	else if (val->kind == NF_V_LIST)
		for (size_t i = 0; i < val->nitems; i++)
			check_value(v, w, &val->items[i]);
}

static void
check_kvs(vctx *v, const where *w, const nf_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_value(v, w, &kv[i].value);
}

/* The template as written, ${...} kept, for messages and for comparing outputs. */
static void
tmpl_text(nf_buf *out, const nf_tmpl *t)
{
	for (size_t i = 0; i < t->nsegs; i++) {
		/* copied, not printf'd: once per path of every stage (12% of validate) */
		if (t->segs[i].is_ref)
			nf_buf_puts(out, "${");
		nf_buf_puts(out, t->segs[i].text);
		if (t->segs[i].is_ref)
			nf_buf_putc(out, '}');
	}
}

/* A path template as written, ${...} references counting as names: an error at its place
 * when it is absolute (unless absolute is allowed), climbs out of the project with "..", or
 * is the project itself (unless top is allowed). noun: "output", "input", "metrics file",
 * "path folder"; kind and name say whose it is ('stage "a"', 'pipeline "p"'), put together
 * only for a message (at 100 000 stages formatting it for every stage cost a quarter of
 * validate). Returns the normalized text (scratch), or
 * NULL when an error was reported (or the path is absolute and allowed). */
static const char *
check_path(vctx *v, const nf_tmpl *t, const char *noun, const char *kind, const char *name, bool absolute,
	   bool top)
{
	nf_buf text = NF_BUF_INIT;
	nf_path_why why;
	char *norm, *r = NULL;

	tmpl_text(&text, t);
	norm = nf_path_lexical(nf_buf_cstr(&text), &why);
	if (why == NF_PATH_ABSOLUTE && !absolute)
		nf_diag_error(&v->diags, t->loc, "%s \"%s\" of %s \"%s\" is an absolute path; %ss are relative to the project root",
			      noun, text.buf, kind, name, noun);
	else if (why == NF_PATH_OUTSIDE)
		nf_diag_error(&v->diags, t->loc, "%s \"%s\" of %s \"%s\" is outside the workspace", noun, text.buf, kind,
			      name);
	else if (why == NF_PATH_TOP && !top)
		nf_diag_error(&v->diags, t->loc, "%s \"%s\" of %s \"%s\" is the whole workspace", noun, nf_buf_cstr(&text),
			      kind, name);
	if (norm)
		r = nf_arena_strdup(v->scratch, norm);
	free(norm);
	nf_buf_release(&text);
	return r;
}

/* Inputs and a metrics file stay in the project; path folders too, unless written as
 * absolute paths. Outputs: check_outputs. */
static void
check_paths(vctx *v)
{
	const nf_pipeline *pl = &v->dag->pipeline;
	const char *plname = pl->name ? pl->name : "";

	for (size_t i = 0; i < pl->npath; i++)
		check_path(v, &pl->path[i], "path folder", "pipeline", plname, true, true);
	for (size_t i = 0; i < v->dag->nstages; i++) {
		const nf_stage *s = &v->dag->stages[i];
		const char *kind = nf_stage_kind_name(s->kind);

		for (size_t k = 0; k < s->ninputs; k++)
			check_path(v, &s->inputs[k], "input", kind, s->name, false, true);
		if (nf_more(s)->metrics) {
			const char *m = check_path(v, nf_more(s)->metrics, "metrics file", kind, s->name, false, false);
			const char *who = NULL, *place = m ? nf_path_private(m, &who) : NULL;

			if (place)
				nf_diag_error(&v->diags, nf_more(s)->metrics->loc, "metrics file of %s \"%s\" is inside %s,"
					      " which only %s writes", kind, s->name, place, who);
		}
	}
}

static void
check_outputs(vctx *v, nf_strmap *seen)
{
	nf_buf text = NF_BUF_INIT;

	for (size_t i = 0; i < v->dag->nstages; i++) {
		const nf_stage *s = &v->dag->stages[i];
		const char *kind = nf_stage_kind_name(s->kind);

		for (size_t k = 0; k < s->noutputs; k++) {
			const nf_tmpl *t = &s->outputs[k];
			const nf_stage *first;
			const char *key, *place, *who = NULL;

			if (!(key = check_path(v, t, "output", kind, s->name, false, false)))
				continue;
			nf_buf_reset(&text);
			tmpl_text(&text, t);
			if ((place = nf_path_private(key, &who)))
				nf_diag_error(&v->diags, t->loc, "output \"%s\" of %s \"%s\" is inside %s, which only %s writes",
					      nf_buf_cstr(&text), kind, s->name, place, who);
			first = nf_strmap_get(seen, key);
			if (!first) {
				nf_strmap_put(seen, key, (void *)s);
				NF_PUSH(v->outs, v->nouts, v->outs_cap, ((out_at){ key, s, t }));
			} else if (first != s) {
				nf_diag_error(&v->diags, t->loc, "%s \"%s\" declares output \"%s\", already declared by %s \"%s\"",
					      kind, s->name, text.buf, nf_stage_kind_name(first->kind), first->name);
				for (size_t j = 0; j < first->noutputs; j++) {
					nf_path_why why;
					char *norm;
					bool same;

					nf_buf_reset(&text);
					tmpl_text(&text, &first->outputs[j]);
					norm = nf_path_lexical(nf_buf_cstr(&text), &why);
					same = norm && !strcmp(norm, key);
					free(norm);
					if (same) {
						nf_diag_note(&v->diags, first->outputs[j].loc, "%s \"%s\" declares it here",
							     nf_stage_kind_name(first->kind), first->name);
						break;
					}
				}
			}
		}
	}
	nf_buf_release(&text);
}

/* Whether a path's text (as tmpl_text writes it) has a reference whose value differs
 * between instances (matrix, item, key, stages): it then stands for several paths, which
 * text alone cannot compare. */
static bool
text_varies(const char *p)
{
	for (; (p = strstr(p, "${")) != NULL; p += 2)
		if (strncmp(p + 2, "params.", 7) && strncmp(p + 2, "run.", 4) && strncmp(p + 2, "env.", 4) &&
		    strncmp(p + 2, "dag.dir}", 8))
			return true;
	return false;
}

/* The output of another stage that holds t's path (key, normalized), or NULL: the nearest
 * folder above it that some stage declares, among those its text says surely (not one
 * with a value per instance: data/${matrix.x}/ of one stage and data/${matrix.x}/sum.txt
 * of another need not meet). */
static const nf_stage *
holder_of(nf_strmap *seen, const char *key, const nf_stage *s, const char **folder, nf_buf *b)
{
	nf_buf_reset(b);
	nf_buf_puts(b, key);
	for (char *slash; (slash = strrchr(b->buf, '/')) != NULL;) {
		const nf_stage *owner;

		*slash = '\0';
		if (text_varies(b->buf))
			continue;
		if ((owner = nf_strmap_get(seen, b->buf)) != NULL && owner != s) {
			*folder = b->buf;
			return owner;
		}
	}
	return NULL;
}

/* An output inside another stage's output folder: restoring the folder from the cache would
 * write over the file the other stage restored or wrote (DVC refuses such outputs too). */
static void
check_nested_outputs(vctx *v, nf_strmap *seen)
{
	nf_buf b = NF_BUF_INIT, text = NF_BUF_INIT;

	for (size_t i = 0; i < v->nouts && !v->diags.full; i++) {
		const out_at *o = &v->outs[i];
		const char *folder = NULL;
		const nf_stage *owner = holder_of(seen, o->key, o->stage, &folder, &b);
		const out_at *held = NULL;
		nf_buf wrote = NF_BUF_INIT;

		if (!owner)
			continue;
		for (size_t k = 0; k < v->nouts && !held; k++)
			if (v->outs[k].stage == owner && !strcmp(v->outs[k].key, folder))
				held = &v->outs[k];
		nf_buf_reset(&text);
		tmpl_text(&text, o->t);
		if (held)
			tmpl_text(&wrote, held->t);
		else
			nf_buf_puts(&wrote, folder);
		nf_diag_error(&v->diags, o->t->loc, "%s \"%s\" declares output \"%s\" inside output \"%s\" of %s \"%s\";"
			      " the outputs of two stages must not overlap", nf_stage_kind_name(o->stage->kind),
			      o->stage->name, nf_buf_cstr(&text), nf_buf_cstr(&wrote), nf_stage_kind_name(owner->kind),
			      owner->name);
		if (held)
			nf_diag_note(&v->diags, held->t->loc, "%s \"%s\" declares it here", nf_stage_kind_name(owner->kind),
				     owner->name);
		nf_buf_release(&wrote);
	}
	nf_buf_release(&b);
	nf_buf_release(&text);
}

/* The parser checked the matrix itself (values, duplicates); select needs one, and metrics. */
static void
check_select(vctx *v, const nf_stage *s)
{
	if (nf_more(s)->select.kind != NF_SELECT_NONE && !nf_more(s)->nmatrix)
		nf_diag_error(&v->diags, nf_more(s)->select.loc, "%s \"%s\" has select but no matrix to select from",
			      nf_stage_kind_name(s->kind), s->name);
	else if (nf_more(s)->select.kind != NF_SELECT_NONE && !nf_more(s)->metrics)
		nf_diag_error(&v->diags, nf_more(s)->select.loc, "%s \"%s\" has select but no metrics file to compare instances by",
			      nf_stage_kind_name(s->kind), s->name);
}

/* The executors this build can run stages with: one the language knows but the build
 * cannot run is refused here rather than run locally in silence. */
static const char *const built_executors[] = { "local", "slurm" };

/* An executor set in o (once: a stage that inherits the defaults' is reported there). */
static void
check_executor(vctx *v, const nf_run_opts *o, const nf_run_opts *inherited)
{
	if (!o->executor || !(o->set & NF_OPT_EXECUTOR))
		return;
	if (inherited && inherited->executor_loc.line == o->executor_loc.line &&
	    inherited->executor_loc.col == o->executor_loc.col)
		return;
	for (size_t i = 0; i < NF_ARRAY_SIZE(built_executors); i++)
		if (strcmp(o->executor, built_executors[i]) == 0)
			return;
	nf_diag_error(&v->diags, o->executor_loc, "executor \"%s\" is not available in this build (not yet "
		      "implemented); only \"local\" and \"slurm\" run stages", o->executor);
}

/* needs = ["train@us"]: one instance of a foreach stage. */
static void
check_instance_need(vctx *v, const nf_stage *s, const nf_name_ref *n, const char *at)
{
	char *name = nf_arena_strndup(v->scratch, n->name, (size_t)(at - n->name));
	const nf_stage *d = nf_dag_find_stage(v->dag, name);

	if (!d) {
		error_hint(v, n->loc, nf_suggest(name, v->stage_names, v->dag->nstages),
			   "%s \"%s\" needs unknown stage \"%s\"", nf_stage_kind_name(s->kind), s->name, name);
		return;
	}
	if (!nf_more(d)->nforeach) {
		nf_diag_error(&v->diags, n->loc, "%s \"%s\" needs \"%s\", but %s \"%s\" has no foreach instances",
			      nf_stage_kind_name(s->kind), s->name, n->name, nf_stage_kind_name(d->kind), d->name);
		return;
	}
	for (size_t i = 0; i < nf_more(d)->nforeach; i++)
		if (!strcmp(nf_more(d)->foreach[i].key, at + 1))
			return;
	nf_diag_error(&v->diags, n->loc, "%s \"%s\" needs \"%s\": %s \"%s\" has no instance \"%s\"",
		      nf_stage_kind_name(s->kind), s->name, n->name, nf_stage_kind_name(d->kind), d->name, at + 1);
}

/* persist and uncached name outputs of the stage, as written there; at most one of matrix
 * and foreach; dir stays in the project. */
static void
check_stage_lang(vctx *v, const nf_stage *s)
{
	const char *kind = nf_stage_kind_name(s->kind);
	const struct { const nf_tmpl *list; size_t n; const char *name; } sub[] = {
		{ nf_more(s)->persist, nf_more(s)->npersist, "persist" }, { nf_more(s)->uncached, nf_more(s)->nuncached, "uncached" },
	};
	nf_buf a = NF_BUF_INIT, b = NF_BUF_INIT;

	if (nf_more(s)->nmatrix && nf_more(s)->nforeach)
		nf_diag_error(&v->diags, nf_more(s)->foreach_loc, "%s \"%s\" has both matrix and foreach; use one of them",
			      kind, s->name);
	if (nf_more(s)->dir)
		check_path(v, nf_more(s)->dir, "dir", kind, s->name, false, true);
	for (size_t j = 0; j < NF_ARRAY_SIZE(sub); j++) {
		for (size_t i = 0; i < sub[j].n; i++) {
			bool found = false;

			nf_buf_reset(&a);
			tmpl_text(&a, &sub[j].list[i]);
			for (size_t k = 0; k < s->noutputs && !found; k++) {
				nf_buf_reset(&b);
				tmpl_text(&b, &s->outputs[k]);
				found = !strcmp(nf_buf_cstr(&a), nf_buf_cstr(&b));
			}
			if (!found)
				nf_diag_error(&v->diags, sub[j].list[i].loc, "%s \"%s\" of %s \"%s\" is not one of its outputs"
					      " (write it in outputs too, the same way)", sub[j].name, nf_buf_cstr(&a), kind, s->name);
		}
	}
	nf_buf_release(&a);
	nf_buf_release(&b);
}

static void
check_needs(vctx *v, const nf_stage *s)
{
	for (size_t k = 0; k < s->nneeds; k++) {
		const nf_name_ref *n = &s->needs[k];

		const char *at = strchr(n->name, '@');

		if (nf_dag_find_stage(v->dag, n->name))
			continue;
		if (at) {
			check_instance_need(v, s, n, at);
			continue;
		}
		if (nf_strmap_get(v->models, n->name))
			nf_diag_error(&v->diags, n->loc, "%s \"%s\" needs \"%s\", which is a model, not a stage",
				      nf_stage_kind_name(s->kind), s->name, n->name);
		else
			error_hint(v, n->loc, nf_suggest(n->name, v->stage_names, v->dag->nstages),
				   "%s \"%s\" needs unknown stage \"%s\"", nf_stage_kind_name(s->kind), s->name, n->name);
	}
}

/* Whether key is a param, or a section (a prefix ending at a dot) of one. */
static bool
param_or_section(const nf_pipeline *pl, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < pl->nparams; i++) {
		const char *k = pl->params[i].key;

		if (strncmp(k, key, n) == 0 && (k[n] == '\0' || k[n] == '.'))
			return true;
	}
	return false;
}

/* params = [...]: each a key or a section of the pipeline's params. */
static void
check_param_keys(vctx *v, const nf_stage *s)
{
	const nf_pipeline *pl = &v->dag->pipeline;

	for (size_t k = 0; k < nf_more(s)->nparam_keys; k++) {
		const nf_name_ref *n = &nf_more(s)->param_keys[k];

		if (!param_or_section(pl, n->name))
			error_hint(v, n->loc, nf_suggest(n->name, v->param_names, pl->nparams),
				   "%s \"%s\" depends on unknown param \"%s\"", nf_stage_kind_name(s->kind), s->name, n->name);
	}
}

typedef struct gate_names {
	vctx *v;
	const nf_stage *gate;
	const nf_criterion *crit;
} gate_names;

/* A params.NAME a gate criterion reads must be a param whose value is a number. */
static void
check_gate_name(void *vctx_, bool prod, const char *name, int col)
{
	gate_names *gn = vctx_;
	const nf_pipeline *pl = &gn->v->dag->pipeline;
	nf_loc at = gn->crit->loc;
	const nf_kv *kv = NULL;

	if (prod || strncmp(name, "params.", 7) != 0)
		return;
	at.col += col - 1;
	for (size_t i = 0; i < pl->nparams && !kv; i++)
		if (strcmp(pl->params[i].key, name + 7) == 0)
			kv = &pl->params[i];
	if (!kv)
		error_hint(gn->v, at, nf_suggest(name + 7, gn->v->param_names, pl->nparams),
			   "gate \"%s\" reads unknown param \"%s\"", gn->gate->name, name + 7);
	else if (kv->value.kind != NF_V_NUMBER)
		nf_diag_error(&gn->v->diags, at, "gate \"%s\" compares with param \"%s\", which is not a number",
			      gn->gate->name, name + 7);
}

/* Alert conditions read one monitor's metrics without slices (gov/alerts.c), so a slice
 * function there could never be evaluated: said at validation, not at the first alert. */
typedef struct alert_calls {
	vctx *v;
	const nf_stage *s;
	const nf_alert_rule *rule;
} alert_calls;

static void
check_alert_call(void *vctx_, const nf_expr *call)
{
	alert_calls *ac = vctx_;
	nf_loc at = ac->rule->when.loc;

	at.col += call->col - 1;
	nf_diag_error(&ac->v->diags, at, "alert \"%s\" of monitor \"%s\": %s(%s) reads slices, which only a gate "
		      "criterion has", ac->rule->name, ac->s->name, nf_expr_fn_name(call->fn), call->name);
}

static void
check_alert_calls(vctx *v, const nf_stage *s)
{
	for (size_t k = 0; k < nf_more(s)->nalerts; k++) {
		alert_calls ac = { v, s, &nf_more(s)->alerts[k] };

		if (nf_more(s)->alerts[k].when.expr)
			nf_expr_walk_calls(nf_more(s)->alerts[k].when.expr, check_alert_call, &ac);
	}
}

static void
check_gate_params(vctx *v, const nf_stage *s)
{
	for (size_t k = 0; k < nf_more(s)->nrequire; k++) {
		gate_names gn = { v, s, &nf_more(s)->require[k] };

		if (nf_more(s)->require[k].expr)
			nf_expr_walk_names(nf_more(s)->require[k].expr, check_gate_name, &gn);
	}
	for (size_t k = 0; k < nf_more(s)->nchecks; k++) {
		gate_names gn = { v, s, &nf_more(s)->checks[k].require };
		gate_names gs = { v, s, &nf_more(s)->checks[k].severe_when };

		if (nf_more(s)->checks[k].require.expr)
			nf_expr_walk_names(nf_more(s)->checks[k].require.expr, check_gate_name, &gn);
		if (nf_more(s)->checks[k].severe_when.expr)
			nf_expr_walk_names(nf_more(s)->checks[k].severe_when.expr, check_gate_name, &gs);
	}
}

/* The metric names an expression reads (production ones as "production.NAME"), in scratch. */
typedef struct name_set {
	vctx *v;
	const char **names;
	size_t n, cap;
} name_set;

static void
collect_name(void *ctx, bool prod, const char *name, int col)
{
	name_set *ns = ctx;
	const char *full = prod ? nf_arena_printf(ns->v->scratch, "production.%s", name) : name;

	(void)col;
	if (ns->n == ns->cap) {
		const char **bigger = nf_arena_alloc(ns->v->scratch, (2 * ns->cap + 4) * sizeof(char *));

		if (ns->n)
			memcpy(bigger, ns->names, ns->n * sizeof(char *));
		ns->names = bigger;
		ns->cap = 2 * ns->cap + 4;
	}
	ns->names[ns->n++] = full;
}

typedef struct severe_names {
	name_set *req;
	vctx *v;
	const nf_stage *gate;
	const nf_gate_check *c;
} severe_names;

/* A metric severe_when reads that its criterion does not is known to be wrong: the two
 * judge the same measurement (a misspelt "acuracy" would never make a violation high). */
static void
check_severe_name(void *ctx, bool prod, const char *name, int col)
{
	severe_names *sn = ctx;
	const char *full = prod ? nf_arena_printf(sn->v->scratch, "production.%s", name) : name;
	nf_loc at = sn->c->severe_when.loc;

	if (!prod && strncmp(name, "params.", 7) == 0)
		return;
	for (size_t i = 0; i < sn->req->n; i++)
		if (strcmp(sn->req->names[i], full) == 0)
			return;
	at.col += col - 1;
	error_hint(sn->v, at, nf_suggest(full, sn->req->names, sn->req->n),
		   "severe_when of a criterion of gate \"%s\" reads \"%s\", which its require does not", sn->gate->name,
		   full);
}

static void
check_gate_checks(vctx *v, const nf_stage *s)
{
	for (size_t k = 0; k < nf_more(s)->nchecks; k++) {
		const nf_gate_check *c = &nf_more(s)->checks[k];
		name_set req = { v, NULL, 0, 0 };
		severe_names sn = { &req, v, s, c };

		if (!c->require.expr || !c->severe_when.expr)
			continue;
		nf_expr_walk_names(c->require.expr, collect_name, &req);
		nf_expr_walk_names(c->severe_when.expr, check_severe_name, &sn);
	}
}

/* risk { }: a gate to read, a score over names that can be, tiers that increase. */
static void
check_risk(vctx *v)
{
	const nf_risk *r = &v->dag->pipeline.risk;
	const nf_stage *g;
	const struct {
		const char *name;
		double bound;
		nf_loc loc;
	} tiers[] = { { "low", r->low, r->low_loc }, { "normal", r->normal, r->normal_loc }, { "high", r->high, r->high_loc } };
	int prev = -1;

	if (!r->present)
		return;
	if (r->gate) {
		g = nf_dag_find_stage(v->dag, r->gate);
		if (!g)
			error_hint(v, r->gate_loc, nf_suggest(r->gate, v->gate_names, v->ngates),
				   "risk reads unknown gate \"%s\"", r->gate);
		else if (g->kind != NF_GATE)
			nf_diag_error(&v->diags, r->gate_loc, "risk reads \"%s\" as its gate, but it is a %s", r->gate,
				      nf_stage_kind_name(g->kind));
	} else if (!nf_risk_gate(v->dag)) {
		nf_diag_error(&v->diags, r->loc, "risk needs a gate: its score reads the metrics a gate reads");
	}
	if (r->score.expr) {
		gate_names gn = { v, nf_risk_gate(v->dag), &r->score };

		if (gn.gate)
			nf_expr_walk_names(r->score.expr, check_gate_name, &gn);
	}
	for (int i = 0; i < 3; i++) {
		if (!tiers[i].loc.line)
			continue;
		if (prev >= 0 && !(tiers[i].bound > tiers[prev].bound))
			nf_diag_error(&v->diags, tiers[i].loc, "risk tiers must increase: %s (%g) is not above %s (%g)",
				      tiers[i].name, tiers[i].bound, tiers[prev].name, tiers[prev].bound);
		prev = i;
	}
}

static void
check_model(vctx *v, const nf_model_decl *m)
{
	where w = { "model", m->name, NULL, false };
	const nf_stage *g;

	check_tmpl(v, &w, m->artifact);
	check_tmpl(v, &w, m->metrics);
	/* In the project: what a run registers is a stage's output, never a file elsewhere,
	 * nor ntflow's or git's own. */
	for (int k = 0; k < 2; k++) {
		const nf_tmpl *t = k ? m->metrics : m->artifact;
		const char *noun = k ? "metrics file" : "artifact", *norm, *place, *who = NULL;

		if (t && (norm = check_path(v, t, noun, "model", m->name, false, false)) &&
		    (place = nf_path_private(norm, &who)))
			nf_diag_error(&v->diags, t->loc, "%s of model \"%s\" is inside %s, which only %s writes", noun,
				      m->name, place, who);
	}
	if (!m->gate.name)
		return;
	g = nf_dag_find_stage(v->dag, m->gate.name);
	if (!g)
		error_hint(v, m->gate.loc, nf_suggest(m->gate.name, v->gate_names, v->ngates),
			   "model \"%s\" names unknown gate \"%s\"", m->name, m->gate.name);
	else if (g->kind != NF_GATE)
		nf_diag_error(&v->diags, m->gate.loc, "model \"%s\" names \"%s\" as its gate, but it is a %s",
			      m->name, m->gate.name, nf_stage_kind_name(g->kind));
}

static int
cmp_loc(const nf_diag *a, const nf_diag *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

/* Hands this pass's diagnostics to the caller ordered by place, each error with its notes. */
static void
flush_sorted(nf_diag_list *dst, nf_diag_list *src)
{
	size_t *groups = xmalloc((src->n ? src->n : 1) * sizeof(size_t)), ng = 0;

	for (size_t i = 0; i < src->n; i++)
		if (src->items[i].level != NF_DIAG_NOTE || i == 0)
			groups[ng++] = i;
	/* insertion sort of group starts: stable, and nearly sorted already */
	for (size_t i = 1; i < ng; i++) {
		size_t g = groups[i], j = i;
		while (j > 0 && cmp_loc(&src->items[groups[j - 1]], &src->items[g]) > 0) {
			groups[j] = groups[j - 1];
			j--;
		}
		groups[j] = g;
	}
	for (size_t i = 0; i < ng; i++)
		for (size_t k = groups[i]; k < src->n && (k == groups[i] || src->items[k].level == NF_DIAG_NOTE); k++) {
			const nf_diag *d = &src->items[k];
			nf_diag_add(dst, d->level, nf_loc_at(d->file, d->line, d->col), "%s", d->msg);
		}
	free(groups);
}

/* A CPU budget is a baseline and a target together: either alone would record nothing
 * that says met or missed. */
static void
check_cpu_budget(vctx *v, const nf_pipeline *pl)
{
	if (pl->cpu_target_loc.file && !pl->cpu_baseline.loc.file)
		nf_diag_error(&v->diags, pl->cpu_target_loc,
			      "cpu_target_reduction needs a cpu_baseline to compare with (a run id or \"median:N\")");
	if (pl->cpu_baseline.loc.file && !pl->cpu_target_loc.file)
		nf_diag_error(&v->diags, pl->cpu_baseline.loc,
			      "cpu_baseline needs a cpu_target_reduction (e.g. \"30%%\") to say whether it is met");
}

/* redact_audit and cache_gc say what a prune does; without a rule nothing is pruned. */
static void
check_retention(vctx *v, const nf_pipeline *pl)
{
	if (pl->redact_audit && pl->redact_audit_loc.file && !pl->keep_runs && !pl->keep_days)
		nf_diag_error(&v->diags, pl->redact_audit_loc,
			      "redact_audit needs keep_runs or keep_days: it says what pruning old runs does");
	if (pl->cache_gc && pl->cache_gc_loc.file && !pl->keep_runs && !pl->keep_days)
		nf_diag_error(&v->diags, pl->cache_gc_loc,
			      "cache_gc needs keep_runs or keep_days: it says which runs' cache entries stay");
}

int
nf_dag_validate(nf_dag *dag, nf_diag_list *diags)
{
	vctx v = { .dag = dag, .diags = NF_DIAG_LIST_INIT, .budget = ANCESTOR_BUDGET };
	nf_strmap *outputs = nf_strmap_new(dag->nstages);
	const nf_pipeline *pl = &dag->pipeline;
	where w = { "pipeline", pl->name ? pl->name : "", NULL, false };
	int err;

	v.scratch = nf_arena_new();
	v.models = nf_strmap_new(dag->nmodels);
	v.stage_names = nf_arena_alloc(v.scratch, (dag->nstages + 1) * sizeof(char *));
	v.gate_names = nf_arena_alloc(v.scratch, (dag->nstages + 1) * sizeof(char *));
	v.param_names = nf_arena_alloc(v.scratch, (pl->nparams + 1) * sizeof(char *));
	for (size_t i = 0; i < dag->nstages; i++) {
		v.stage_names[i] = dag->stages[i].name;
		if (dag->stages[i].kind == NF_GATE)
			v.gate_names[v.ngates++] = dag->stages[i].name;
	}
	for (size_t i = 0; i < pl->nparams; i++)
		v.param_names[i] = pl->params[i].key;
	for (size_t i = 0; i < dag->nmodels; i++)
		nf_strmap_put(v.models, dag->models[i].name, &dag->models[i]);

	check_executor(&v, &pl->defaults, NULL);
	for (size_t i = 0; i < pl->npath; i++)
		check_tmpl(&v, &w, &pl->path[i]);
	check_kvs(&v, &w, pl->params, pl->nparams);
	check_tmpl(&v, &w, pl->cohort);
	for (size_t i = 0; pl->cohort && i < pl->cohort->nsegs; i++)
		if (pl->cohort->segs[i].is_ref && strcmp(pl->cohort->segs[i].text, "run.id") == 0)
			nf_diag_error(&v.diags, pl->cohort->segs[i].loc, "the cohort cannot use ${run.id}: a run's cohort"
				      " is decided before it has an id");
	check_risk(&v);
	w.secrets = true;
	check_kvs(&v, &w, pl->env, pl->nenv);
	check_cpu_budget(&v, pl);
	check_retention(&v, pl);
	for (size_t i = 0; i < dag->nstages && !v.diags.full; i++) {
		const nf_stage *s = &dag->stages[i];

		w = (where){ nf_stage_kind_name(s->kind), s->name, s, false };
		check_needs(&v, s);
		check_select(&v, s);
		check_param_keys(&v, s);
		check_gate_params(&v, s);
		check_alert_calls(&v, s);
		check_gate_checks(&v, s);
		check_stage_lang(&v, s);
		check_executor(&v, s->opts, &pl->defaults);
		w.secrets = true;
		check_tmpl(&v, &w, s->run);
		if (!s->run_list)   /* a list's words reach the program as they are: no shell */
			check_run_quoting(&v, &w, s->run);
		check_kvs(&v, &w, nf_more(s)->env, nf_more(s)->nenv);
		w.secrets = false;
		for (size_t k = 0; k < s->ninputs; k++)
			check_tmpl(&v, &w, &s->inputs[k]);
		for (size_t k = 0; k < s->noutputs; k++)
			check_tmpl(&v, &w, &s->outputs[k]);
		check_tmpl(&v, &w, nf_more(s)->metrics);
		check_tmpl(&v, &w, nf_more(s)->dir);
		for (size_t k = 0; k < nf_more(s)->nplots; k++) {
			check_tmpl(&v, &w, nf_more(s)->plots[k].data);
			check_tmpl(&v, &w, nf_more(s)->plots[k].image);
		}
		nf_plot_check(s, &v.diags);
	}
	for (size_t i = 0; i < dag->nmodels; i++)
		check_model(&v, &dag->models[i]);
	check_outputs(&v, outputs);
	check_nested_outputs(&v, outputs);
	check_paths(&v);

	err = v.diags.nerrors ? NF_EINVALID : 0;
	flush_sorted(diags, &v.diags);
	nf_diag_list_release(&v.diags);
	nf_strmap_free(outputs);
	nf_strmap_free(v.models);
	nf_arena_free(v.scratch);
	free(v.outs);
	free(v.seen);
	free(v.queue);
	return err;
}
