/* import-dvc.c: `ntflow import`'s translation of a DVC pipeline (dvc.yaml, read with libyaml)
 * into .dag text. It writes only what the language has (stages, run, dir, inputs, outputs,
 * persist, uncached, metrics, params, params_files, foreach, frozen, plot blocks) and leaves a
 * "# ntflow import: ..." comment where something of the dvc.yaml has no equivalent, so a
 * reader of the result sees every place a human must look at. The mapping is documented in
 * man/ntflow.1 (IMPORT); it works on text only: validating the result is the caller's. */
#include "config.h"
#include "ntflow/dag.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_DVC_FILE (16u << 20)
#define MAX_NAME_LEN 128
#define MAX_JSON_TEXT (1u << 20)   /* a vars list as JSON text, at most */
/* Inline vars carried over, at most: aliases repeating a mapping (a few hundred bytes of
 * YAML) made 10^4 keys in 5 s, 10^6 in 4 GB; a real pipeline has dozens. */
#define MAX_VARS 1024

/* A YAML file read whole (dvc.yaml, params.yaml, a vars file). */
typedef struct ydoc {
	const char *path;              /* as the importer names it (root-relative for params files) */
	yaml_document_t doc;
	bool loaded;
	bool used;                     /* a stage or a reference reads it: it goes in params_files */
	bool noted;                    /* its absence was noted */
} ydoc;

/* An inline var (vars: [{name: value}]), flattened: "model.lr" -> params "model_lr". */
typedef struct ivar {
	const char *key;               /* dotted, as DVC references it */
	const char *name;              /* the params { } key it becomes */
	yaml_document_t *doc;
	yaml_node_t *node;
} ivar;

typedef enum { FE_NONE, FE_LIST, FE_NAMED, FE_NAMED_VALUE, FE_MATRIX } fe_kind;

/* One translated stage: its text is assembled once the top-level plots are placed. */
typedef struct dstage {
	const char *dvc_name;
	const char *name;
	nf_buf pre;                    /* comments before the block */
	nf_buf body;                   /* its attributes and plot blocks */
	char **outs;                   /* root-relative, normalized: where plots may attach */
	size_t nouts, couts;
	const char *metrics;
	const char **plots;            /* plot names taken */
	size_t nplots, cplots;
	char **ins;                    /* deps, root-relative, DVC's ${...} as written */
	size_t nins, cins;
	int fe;                        /* its foreach (fe_kind), the items iterated */
	yaml_document_t *fe_doc;
	yaml_node_t *fe_items;
	nf_buf needs;                  /* a needs line when one is written */
} dstage;

typedef struct imp {
	const nf_dvc_import *o;
	nf_arena *a;
	nf_buf *notes;
	ydoc dvc;
	ydoc *files;                   /* params and vars files, in the order first met */
	size_t nfiles, cfiles;
	ivar *vars;
	size_t nvars, cvars;
	bool vars_cut;                 /* MAX_VARS met: the rest were not carried over */
	dstage *stages;
	size_t nstages;
	nf_strmap *names;              /* .dag names taken */
	/* the stage being translated */
	nf_buf *cur;                   /* where comments go: the stage's body, or pre */
	const char *stage_dir;         /* prefix + wdir: the folder DVC runs it in, root-relative */
	fe_kind fe;
	yaml_document_t *fe_doc;
	yaml_node_t *fe_items;         /* the list or mapping iterated */
	bool in_cmd;
} imp;

/* ---- YAML access ---- */

static yaml_node_t *
ynode(yaml_document_t *d, int i)
{
	return yaml_document_get_node(d, i);
}

static bool
is_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *
sval(const yaml_node_t *n)
{
	return is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

/* A plain scalar with no explicit tag: its type is read from its text. */
static bool
is_plain(const yaml_node_t *n)
{
	return is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!n->tag || strcmp((const char *)n->tag, YAML_DEFAULT_SCALAR_TAG) == 0);
}

static bool
is_null(const yaml_node_t *n)
{
	const char *s = sval(n);

	return !n || (is_plain(n) && (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
				      !strcmp(s, "NULL")));
}

/* 1 true, 0 false, -1 not a boolean (YAML 1.2, as DVC's ruamel reads it). */
static int
ybool(const yaml_node_t *n)
{
	const char *s = sval(n);

	if (!is_plain(n))
		return -1;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

/* Whether s is a number as the .dag writes one: -?D+(.D+)?([eE][+-]?D+)? */
static bool
dag_number(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

static bool
is_number(const yaml_node_t *n)
{
	/* the .dag also wants it finite in a double (1e999 is not) */
	return is_plain(n) && dag_number(sval(n)) && isfinite(strtod(sval(n), NULL));
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *
yget(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = sval(ynode(d, p->key));

		if (k && !strcmp(k, key))
			return ynode(d, p->value);
	}
	return NULL;
}

/* The node at a dotted path ("train.lr") below m, or NULL. */
static yaml_node_t *
ylookup(yaml_document_t *d, yaml_node_t *m, const char *path)
{
	char *copy = xstrdup(path), *part, *save = NULL;

	for (part = strtok_r(copy, ".", &save); part && m; part = strtok_r(NULL, ".", &save))
		m = yget(d, m, part);
	free(copy);
	return m;
}

static int
yload(yaml_document_t *doc, char *errbuf, size_t errsize, const char *src, size_t len)
{
	yaml_parser_t p;
	int ok;

	if (!yaml_parser_initialize(&p)) {
		snprintf(errbuf, errsize, "cannot start the YAML parser");
		return NF_ERROR;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)src, len);
	ok = yaml_parser_load(&p, doc);
	if (!ok)
		snprintf(errbuf, errsize, "%zu:%zu: %s%s%s", p.problem_mark.line + 1, p.problem_mark.column + 1,
			 p.problem ? p.problem : "not valid YAML", p.context ? " " : "", p.context ? p.context : "");
	yaml_parser_delete(&p);
	return ok ? 0 : NF_EINVALID;
}

/* ---- notes: a comment at the place, and a line for stderr ---- */

static void NF_PRINTF(3, 4)
note(imp *im, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	nf_buf shown = NF_BUF_INIT;
	char *msg, *raw;

	va_start(ap, fmt);
	raw = xvasprintf(fmt, ap);
	va_end(ap);
	/* a comment is one line: a message never holds a line break, but a quoted value might */
	for (char *q = raw; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	/* and it goes to a terminal: a name or value from the file with an escape sequence or
	 * another control character shows it as \xNN, in the comment as on standard error */
	nf_buf_add_visible(&shown, raw, false);
	free(raw);
	msg = nf_buf_detach(&shown);
	if (im->cur) {
		/* on a line of its own before the line being written, which may be half done */
		nf_buf *c = im->cur, tail = NF_BUF_INIT;
		size_t at_line = c->len;

		while (at_line > 0 && c->buf[at_line - 1] != '\n')
			at_line--;
		nf_buf_add(&tail, c->buf ? c->buf + at_line : "", c->len - at_line);
		c->len = at_line;
		if (c->buf)
			c->buf[at_line] = '\0';
		nf_buf_printf(c, "# ntflow import: %s\n", msg);
		nf_buf_add(c, nf_buf_cstr(&tail), tail.len);
		nf_buf_release(&tail);
	}
	if (at)
		nf_buf_printf(im->notes, "%s:%zu:%zu: %s\n", im->o->path, at->start_mark.line + 1,
			      at->start_mark.column + 1, msg);
	else
		nf_buf_printf(im->notes, "%s: %s\n", im->o->path, msg);
	free(msg);
}

/* ---- .dag text ---- */

/* Appends s escaped for inside a .dag string; "${" becomes "$${" (no reference). */
static void
esc(nf_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		switch (c) {
		case '"': nf_buf_puts(b, "\\\""); break;
		case '\\': nf_buf_puts(b, "\\\\"); break;
		case '\n': nf_buf_puts(b, "\\n"); break;
		case '\t': nf_buf_puts(b, "\\t"); break;
		case '\r': nf_buf_puts(b, "\\r"); break;
		case '$':
			nf_buf_puts(b, i + 1 < n && s[i + 1] == '{' ? "$$" : "$");
			break;
		default:
			if ((unsigned char)c < 0x20 || c == 0x7f)
				nf_buf_putc(b, '?');   /* a .dag string holds no control character */
			else
				nf_buf_putc(b, c);
		}
	}
}

static void
put_str(nf_buf *b, const char *s)
{
	nf_buf_putc(b, '"');
	esc(b, s, strlen(s));
	nf_buf_putc(b, '"');
}

/* A YAML scalar as a .dag value: a number or boolean as such, else a string. */
static void
put_scalar(nf_buf *b, const yaml_node_t *n)
{
	int bv = ybool(n);

	if (bv >= 0)
		nf_buf_puts(b, bv ? "true" : "false");
	else if (is_number(n))
		nf_buf_puts(b, sval(n));
	else
		put_str(b, sval(n));
}

/* A value as JSON text (how the language carries lists of params). */
static void
put_json(nf_buf *b, yaml_document_t *d, const yaml_node_t *n, int depth)
{
	if (depth > NF_DAG_MAX_DEPTH || b->len > MAX_JSON_TEXT) {
		/* absurd nesting, or aliases repeating a node till the text explodes: cut short */
		nf_buf_puts(b, "null");
	} else if (!n || is_null(n)) {
		nf_buf_puts(b, "null");
	} else if (n->type == YAML_SCALAR_NODE) {
		if (ybool(n) >= 0 || is_number(n))
			put_scalar(b, n);
		else
			nf_buf_add_json_string(b, sval(n));
	} else if (n->type == YAML_SEQUENCE_NODE) {
		nf_buf_putc(b, '[');
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			if (i > n->data.sequence.items.start)
				nf_buf_puts(b, ", ");
			put_json(b, d, ynode(d, *i), depth + 1);
		}
		nf_buf_putc(b, ']');
	} else {
		nf_buf_putc(b, '{');
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			if (p > n->data.mapping.pairs.start)
				nf_buf_puts(b, ", ");
			nf_buf_add_json_string(b, sval(ynode(d, p->key)) ? sval(ynode(d, p->key)) : "");
			nf_buf_puts(b, ": ");
			put_json(b, d, ynode(d, p->value), depth + 1);
		}
		nf_buf_putc(b, '}');
	}
}

/* A name the .dag allows ([A-Za-z0-9_-], not '-' first, at most 128 bytes) for s. */
static char *
dag_name(imp *im, const char *s, bool for_key)
{
	size_t n = strlen(s);
	char *r;

	if (n > MAX_NAME_LEN - 8)
		n = MAX_NAME_LEN - 8;
	r = nf_arena_alloc(im->a, n + 2);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		r[i] = isalnum((unsigned char)c) || c == '_' || (c == '-' && !for_key) ? c : '_';
	}
	if (n == 0 || r[0] == '-' || (for_key && isdigit((unsigned char)r[0]))) {
		memmove(r + 1, r, n + 1);
		r[0] = '_';
	}
	return r;
}

/* The text of a mapping key ("?" when it is no scalar: YAML allows any node as a key). */
static const char *
kval(yaml_document_t *d, int key)
{
	const char *k = sval(ynode(d, key));

	return k ? k : "?";
}

/* s as a quoted .dag string, in the arena. */
static char *
qstr(imp *im, const char *s)
{
	nf_buf b = NF_BUF_INIT;
	char *r;

	put_str(&b, s);
	r = nf_arena_strdup(im->a, nf_buf_cstr(&b));
	nf_buf_release(&b);
	return r;
}

/* ---- paths ---- */

/* dir/p, with "." and ".." applied lexically (a component holding ${...} is a name), a
 * trailing '/' kept. NULL when it climbs above the root or is absolute. */
static char *
join_path(imp *im, const char *dir, const char *p)
{
	char **parts = NULL;
	size_t n = 0, cap = 0, len = strlen(p);
	bool slash = len > 0 && p[len - 1] == '/';
	char *all, *save = NULL, *tok;
	nf_buf b = NF_BUF_INIT;
	char *r = NULL;

	if (p[0] == '/')
		return NULL;
	all = xasprintf("%s/%s", dir ? dir : "", p);
	for (tok = strtok_r(all, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (n == 0)
				goto done;
			n--;
			continue;
		}
		NF_PUSH(parts, n, cap, tok);
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			nf_buf_putc(&b, '/');
		nf_buf_puts(&b, parts[i]);
	}
	if (slash && n)
		nf_buf_putc(&b, '/');
	r = nf_arena_strdup(im->a, nf_buf_cstr(&b));
done:
	free(parts);
	free(all);
	nf_buf_release(&b);
	return r;
}

/* Where a root-relative path is on disk (NULL when the importer reads no files). */
static char *
disk_path(imp *im, const char *rel)
{
	return im->o->root ? nf_arena_printf(im->a, "%s/%s", im->o->root, rel) : NULL;
}

static bool
is_dir_on_disk(imp *im, const char *rel)
{
	char *d = disk_path(im, rel);
	struct stat st;

	return d && !strstr(rel, "${") && stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- params and vars ---- */

/* The params or vars file at root-relative path, loaded once (NULL when unreadable). */
static ydoc *
file_doc(imp *im, const char *rel)
{
	char *src = NULL, err[256];
	size_t len;
	char *d;
	ydoc *f;

	for (size_t i = 0; i < im->nfiles; i++)
		if (!strcmp(im->files[i].path, rel))
			return &im->files[i];
	im->files = xgrow(im->files, sizeof(*im->files), im->nfiles + 1, &im->cfiles);
	f = &im->files[im->nfiles++];
	memset(f, 0, sizeof(*f));
	f->path = nf_arena_strdup(im->a, rel);
	/* JSON params files are read as YAML, which holds JSON as DVC's files write it */
	if ((d = disk_path(im, rel)) && nf_read_file(&src, &len, d, MAX_DVC_FILE) == 0 &&
	    yload(&f->doc, err, sizeof(err), src, len) == 0) {
		f->loaded = ynode(&f->doc, 1) && ynode(&f->doc, 1)->type == YAML_MAPPING_NODE;
		if (!f->loaded)
			yaml_document_delete(&f->doc);
	}
	free(src);
	return f;
}

static void
flatten_vars(imp *im, yaml_document_t *d, yaml_node_t *m, const char *prefix, int depth)
{
	if (im->vars_cut)
		return;
	if (depth > NF_DAG_MAX_DEPTH) {
		note(im, m, "vars nested deeper than %d levels are not carried over", NF_DAG_MAX_DEPTH);
		return;
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = sval(ynode(d, p->key));
		yaml_node_t *v = ynode(d, p->value);
		char *key;
		ivar iv;

		if (!k)
			continue;
		key = *prefix ? nf_arena_printf(im->a, "%s.%s", prefix, k) : nf_arena_strdup(im->a, k);
		if (v && v->type == YAML_MAPPING_NODE) {
			flatten_vars(im, d, v, key, depth + 1);
			if (im->vars_cut)
				return;
			continue;
		}
		if (im->nvars >= MAX_VARS) {
			note(im, m, "more than %d vars: the rest are not carried over", MAX_VARS);
			im->vars_cut = true;
			return;
		}
		iv.key = key;
		iv.name = dag_name(im, key, true);
		iv.doc = d;
		iv.node = v;
		NF_PUSH(im->vars, im->nvars, im->cvars, iv);
	}
}

static const ivar *
find_var(const imp *im, const char *key)
{
	for (size_t i = 0; i < im->nvars; i++)
		if (!strcmp(im->vars[i].key, key))
			return &im->vars[i];
	return NULL;
}

/* The node a DVC reference (dotted, no foreach root) names: an inline var, else a key of a
 * loaded vars/params file (that file is then used). */
static yaml_node_t *
find_value(imp *im, const char *key, yaml_document_t **doc, const ivar **var, ydoc **file)
{
	const ivar *v = find_var(im, key);

	*var = v;
	*file = NULL;
	if (v) {
		*doc = v->doc;
		return v->node;
	}
	for (size_t i = 0; i < im->nfiles; i++) {
		ydoc *f = &im->files[i];
		yaml_node_t *n;

		if (f->loaded && (n = ylookup(&f->doc, ynode(&f->doc, 1), key))) {
			*doc = &f->doc;
			*file = f;
			return n;
		}
	}
	return NULL;
}

/* Whether the shell reads v's text as one plain word (so quoting it changes nothing). */
static bool
shell_plain(const char *v)
{
	if (!*v)
		return false;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-+./,:@%", *p))
			return false;
	return true;
}

/* ---- templates ---- */

/* A DVC reference ntflow cannot stand for, kept as the literal text ${ref}. */
static void
put_literal_ref(nf_buf *b, const char *ref)
{
	char *t = xasprintf("${%s}", ref);

	esc(b, t, strlen(t));
	free(t);
}

/* Whether ref is a reference the .dag can write: names of letters, digits, '_' and '-'
 * separated by single dots. */
static bool
dag_ref(const char *ref)
{
	bool name = false;

	for (const char *p = ref; *p; p++) {
		if (*p == '.') {
			if (!name)
				return false;
			name = false;
		} else if (isalnum((unsigned char)*p) || *p == '_' || *p == '-') {
			name = true;
		} else {
			return false;
		}
	}
	return name;
}

/* Translates the inside of a DVC ${...} into a .dag reference (or text), appended to b. */
static void
translate_ref(imp *im, nf_buf *b, const char *inner, const yaml_node_t *at, bool quoted)
{
	char *ref = nf_arena_strdup(im->a, inner);
	char *end, *dot;
	yaml_document_t *doc = NULL;
	yaml_node_t *n;
	const ivar *var;
	ydoc *file;

	while (*ref == ' ')
		ref++;
	end = ref + strlen(ref);
	while (end > ref && end[-1] == ' ')
		*--end = '\0';
	if (!dag_ref(ref)) {
		if (strchr(ref, '['))
			note(im, at, "${%s}: an index into a list has no equivalent; write the value or a params key", ref);
		else
			note(im, at, "${%s} is no name a .dag reference can hold; kept as text", ref);
		put_literal_ref(b, ref);
		return;
	}
	dot = strchr(ref, '.');
	if (im->fe != FE_NONE && (!strncmp(ref, "item", 4) && (ref[4] == '\0' || ref[4] == '.'))) {
		switch (im->fe) {
		case FE_MATRIX:
			if (dot)
				nf_buf_printf(b, "${matrix.%s}", dag_name(im, dot + 1, true));
			else
				nf_buf_puts(b, "${matrix.id}");
			return;
		case FE_NAMED_VALUE:
			if (!dot) {
				nf_buf_puts(b, "${item.value}");
				return;
			}
			break;
		case FE_NAMED:
			if (dot && !strchr(dot + 1, '.')) {
				nf_buf_printf(b, "${item.%s}", dag_name(im, dot + 1, true));
				return;
			}
			break;
		default:
			if (!dot) {
				nf_buf_puts(b, "${item}");
				return;
			}
		}
		note(im, at, "${%s} has no equivalent in this foreach", ref);
		put_literal_ref(b, ref);
		return;
	}
	if (im->fe != FE_NONE && !strcmp(ref, "key")) {
		nf_buf_puts(b, "${key}");
		return;
	}
	n = find_value(im, ref, &doc, &var, &file);
	if (n && n->type != YAML_SCALAR_NODE) {
		if (im->in_cmd && n->type == YAML_MAPPING_NODE)
			note(im, at, "${%s} is a dictionary, which DVC expands into --key value arguments; write them out",
			     ref);
		else
			note(im, at, "${%s} is not a single value", ref);
		put_literal_ref(b, ref);
		return;
	}
	if (var) {
		nf_buf_printf(b, "${params.%s}", var->name);
	} else {
		if (file)
			file->used = true;
		else
			note(im, at, "${%s} is in no vars file or inline vars the importer read", ref);
		nf_buf_printf(b, "${params.%s}", ref);
	}
	if (im->in_cmd && !quoted && n && !shell_plain(sval(n)))
		note(im, at, "${%s} is \"%s\": ntflow passes it as one quoted word where DVC pasted its text into the command",
		     ref, sval(n));
}

/* Whether the shell reads the end of s[0, n) inside quotes: a reference standing there
 * is one word in DVC too, so quoting it changes nothing. */
static bool
in_quotes(const char *s, size_t n)
{
	char q = 0;

	for (size_t i = 0; i < n; i++) {
		if (q == '\'')
			q = s[i] == '\'' ? 0 : q;
		else if (s[i] == '\\')
			i++;
		else if (q == '"')
			q = s[i] == '"' ? 0 : q;
		else if (s[i] == '"' || s[i] == '\'')
			q = s[i];
	}
	return q != 0;
}

/* A DVC string with ${...} templating as the inside of a .dag string (escaped). */
static void
put_tmpl_inner(imp *im, nf_buf *b, const char *s, const yaml_node_t *at)
{
	const char *p = s;

	while (*p) {
		const char *d = strstr(p, "${"), *close;

		if (!d) {
			esc(b, p, strlen(p));
			break;
		}
		if (d > p && d[-1] == '\\') {
			/* DVC's escape: \${ is a literal ${ */
			esc(b, p, (size_t)(d - 1 - p));
			nf_buf_puts(b, "$${");
			p = d + 2;
			continue;
		}
		esc(b, p, (size_t)(d - p));
		if (!(close = strchr(d + 2, '}'))) {
			esc(b, d, strlen(d));
			break;
		}
		translate_ref(im, b, nf_arena_strndup(im->a, d + 2, (size_t)(close - d - 2)), at, in_quotes(s, (size_t)(d - s)));
		p = close + 1;
	}
}

static void
put_tmpl(imp *im, nf_buf *b, const char *s, const yaml_node_t *at)
{
	nf_buf_putc(b, '"');
	put_tmpl_inner(im, b, s, at);
	nf_buf_putc(b, '"');
}

/* ---- the parts of a stage ---- */

/* A list attribute: `name = [...]` of the .dag strings in items. */
static void
put_list(nf_buf *b, const char *name, char **items, size_t n)
{
	if (!n)
		return;
	nf_buf_printf(b, "%s = [", name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			nf_buf_puts(b, ", ");
		nf_buf_puts(b, items[i]);
	}
	nf_buf_puts(b, "]\n");
}

/* A path of the dvc.yaml (relative to the stage's folder) as a quoted .dag template,
 * relative to the root; NULL (with a note) when it cannot be one. */
static char *
path_tmpl(imp *im, const char *p, const yaml_node_t *at, char **norm)
{
	char *j;
	nf_buf b = NF_BUF_INIT;
	char *r;

	if (strstr(p, "://") || (p[0] && p[1] == ':' && p[2] == '/')) {
		note(im, at, "'%s' is a remote or external location; ntflow reads and writes files in the project only", p);
		return NULL;
	}
	if (!(j = join_path(im, im->stage_dir, p))) {
		note(im, at, "'%s' is outside the project; paths in a .dag stay in it", p);
		return NULL;
	}
	if (!*j) {
		note(im, at, "'%s' is the whole project", p);
		return NULL;
	}
	if (j[strlen(j) - 1] != '/' && is_dir_on_disk(im, j))
		j = nf_arena_printf(im->a, "%s/", j);
	if (norm)
		*norm = j;
	put_tmpl(im, &b, j, at);
	r = nf_arena_strdup(im->a, nf_buf_cstr(&b));
	nf_buf_release(&b);
	return r;
}

/* The key of a one-key mapping ("- path: {opts}"), its value in *v. */
static const char *
single_key(yaml_document_t *d, yaml_node_t *m, yaml_node_t **v)
{
	if (!m || m->type != YAML_MAPPING_NODE || m->data.mapping.pairs.top - m->data.mapping.pairs.start != 1)
		return NULL;
	*v = ynode(d, m->data.mapping.pairs.start->value);
	return sval(ynode(d, m->data.mapping.pairs.start->key));
}

typedef struct outs_acc {
	char **outs, **persist, **uncached;
	size_t nouts, npersist, nuncached, couts, cpersist, cuncached;
} outs_acc;

static void
acc_free(outs_acc *o)
{
	free(o->outs);
	free(o->persist);
	free(o->uncached);
}

static bool
is_image(const char *p)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".svg", ".gif", ".webp" };
	size_t n = strlen(p);

	for (size_t i = 0; i < NF_ARRAY_SIZE(ext); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcasecmp(p + n - e, ext[i]))
			return true;
	}
	return false;
}

static bool
has_ext(const char *p, const char *ext)
{
	size_t n = strlen(p), e = strlen(ext);

	return n > e && !strcasecmp(p + n - e, ext);
}

/* Adds an output (q: its quoted template) with its cache/persist flags. */
static void
add_out(imp *im, dstage *st, outs_acc *acc, const char *q, const char *norm, bool cache, bool persist)
{
	for (size_t i = 0; i < acc->nouts; i++)
		if (!strcmp(acc->outs[i], q))
			return;
	NF_PUSH(acc->outs, acc->nouts, acc->couts, (char *)q);
	if (!cache)
		NF_PUSH(acc->uncached, acc->nuncached, acc->cuncached, (char *)q);
	if (persist)
		NF_PUSH(acc->persist, acc->npersist, acc->cpersist, (char *)q);
	{
		char *n = nf_arena_strdup(im->a, norm);
		size_t l = strlen(n);

		if (l && n[l - 1] == '/')
			n[l - 1] = '\0';
		NF_PUSH(st->outs, st->nouts, st->couts, n);
	}
}

/* Reads an entry's flags (cache, persist) and notes the others. */
static void
out_flags(imp *im, yaml_document_t *d, yaml_node_t *opts, const char *path, const char *what, bool *cache,
	  bool *persist)
{
	*cache = true;
	*persist = false;
	if (!opts || is_null(opts))
		return;
	if (opts->type != YAML_MAPPING_NODE) {
		note(im, opts, "the options of %s '%s' are not a mapping", what, path);
		return;
	}
	for (yaml_node_pair_t *p = opts->data.mapping.pairs.start; p < opts->data.mapping.pairs.top; p++) {
		const char *k = sval(ynode(d, p->key));
		yaml_node_t *v = ynode(d, p->value);

		if (!k)
			continue;
		if (!strcmp(k, "cache") && ybool(v) >= 0)
			*cache = ybool(v);
		else if (!strcmp(k, "persist") && ybool(v) >= 0)
			*persist = ybool(v);
		else if (!strcmp(k, "desc") || !strcmp(k, "type") || !strcmp(k, "labels") || !strcmp(k, "meta"))
			note(im, v, "%s '%s': '%s' (documentation for DVC Studio) is not carried over", what, path, k);
		else if (!strcmp(k, "x") || !strcmp(k, "y") || !strcmp(k, "template") || !strcmp(k, "title") ||
			 !strcmp(k, "x_label") || !strcmp(k, "y_label"))
			;   /* plot properties: read by the caller */
		else
			note(im, v, "%s '%s': '%s' has no equivalent in ntflow", what, path, k);
	}
}

static void
put_plot_field(imp *im, nf_buf *b, yaml_document_t *d, const char *name, yaml_node_t *v)
{
	if (!v)
		return;
	if (is_scalar(v)) {
		nf_buf_printf(b, "%s = ", name);
		put_str(b, sval(v));
		nf_buf_putc(b, '\n');
	} else if (v->type == YAML_SEQUENCE_NODE) {
		nf_buf_printf(b, "%s = [", name);
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
			if (i > v->data.sequence.items.start)
				nf_buf_puts(b, ", ");
			put_str(b, sval(ynode(d, *i)) ? sval(ynode(d, *i)) : "");
		}
		nf_buf_puts(b, "]\n");
	} else {
		note(im, v, "plot %s: a mapping of files to columns has no equivalent; one data file per plot", name);
	}
}

/* DVC's template name as one of ntflow's: linear, scatter, confusion, roc, bar. */
static const char *
plot_template(imp *im, const yaml_node_t *t)
{
	const char *s = sval(t);

	if (!s)
		return NULL;
	if (!strcmp(s, "linear") || !strcmp(s, "scatter") || !strcmp(s, "confusion") || !strcmp(s, "bar"))
		return s;
	if (!strcmp(s, "simple") || !strcmp(s, "smooth")) {
		note(im, t, "template '%s' is drawn as 'linear'", s);
		return "linear";
	}
	if (!strcmp(s, "confusion_normalized")) {
		note(im, t, "template 'confusion_normalized' is drawn as 'confusion' (counts)");
		return "confusion";
	}
	if (!strncmp(s, "bar_horizontal", 14)) {
		note(im, t, "template '%s' is drawn as 'bar'", s);
		return "bar";
	}
	note(im, t, "template '%s' has no equivalent (linear, scatter, confusion, roc, bar); drawn as 'linear'", s);
	return "linear";
}

static bool
plot_taken(const dstage *st, const char *n)
{
	for (size_t i = 0; i < st->nplots; i++)
		if (!strcmp(st->plots[i], n))
			return true;
	return false;
}

/* A unique plot name within st. */
static const char *
plot_name(imp *im, dstage *st, const char *base)
{
	const char *b = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	const char *dot = strrchr(b, '.');
	char *first = dag_name(im, dot && dot != b ? nf_arena_strndup(im->a, b, (size_t)(dot - b)) : b, false);
	char *n = first;

	for (int k = 2; plot_taken(st, n); k++)
		n = nf_arena_printf(im->a, "%s-%d", first, k);
	NF_PUSH(st->plots, st->nplots, st->cplots, n);
	return n;
}

/* A plot block for data file q (quoted .dag template; norm its root-relative path). */
static void
put_plot(imp *im, dstage *st, nf_buf *b, yaml_document_t *d, const char *name, const char *q, const char *norm,
	 yaml_node_t *opts, yaml_node_t *ynode_override)
{
	const char *tpl;

	nf_buf_printf(b, "plot \"%s\" {\n", plot_name(im, st, name));
	if (is_image(norm)) {
		nf_buf_printf(b, "image = %s\n", q);
		nf_buf_puts(b, "}\n");
		return;
	}
	nf_buf_printf(b, "data = %s\n", q);
	if (!has_ext(norm, ".csv") && !has_ext(norm, ".tsv") && !has_ext(norm, ".json"))
		note(im, opts, "plot data '%s' is neither CSV, TSV nor JSON, which ntflow plots read", norm);
	if (opts && opts->type == YAML_MAPPING_NODE) {
		yaml_node_t *x = yget(d, opts, "x"), *y = ynode_override ? ynode_override : yget(d, opts, "y");

		put_plot_field(im, b, d, "x", x);
		put_plot_field(im, b, d, "y", y);
		if ((tpl = plot_template(im, yget(d, opts, "template"))))
			nf_buf_printf(b, "template = \"%s\"\n", tpl);
		if (sval(yget(d, opts, "title"))) {
			nf_buf_puts(b, "title = ");
			put_str(b, sval(yget(d, opts, "title")));
			nf_buf_putc(b, '\n');
		}
		if (yget(d, opts, "x_label") || yget(d, opts, "y_label"))
			note(im, opts, "plot axis labels (x_label, y_label) are not carried over: the axes show the column names");
		if (!x || !y)
			note(im, opts, "DVC's default axes (x: the row number, y: the last column) are not carried over: set x and y");
	} else {
		note(im, opts, "DVC's default axes (x: the row number, y: the last column) are not carried over: set x and y");
	}
	nf_buf_puts(b, "}\n");
}

/* outs, metrics or plots of a stage (what: "outs", "metrics", "plots"). */
static void
stage_outs(imp *im, dstage *st, yaml_document_t *d, yaml_node_t *list, const char *what, outs_acc *acc,
	   nf_buf *plots)
{
	if (!list)
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		note(im, list, "%s is not a list", what);
		return;
	}
	for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
		yaml_node_t *e = ynode(d, *i), *opts = NULL;
		const char *p = is_scalar(e) ? sval(e) : single_key(d, e, &opts);
		bool cache, persist;
		char *q, *norm = NULL;
		nf_buf *save = im->cur;

		if (!p) {
			note(im, e, "an entry of %s is neither a path nor a path with options", what);
			continue;
		}
		out_flags(im, d, opts, p, what, &cache, &persist);
		if (!(q = path_tmpl(im, p, e, &norm)))
			continue;
		if (!strcmp(what, "metrics")) {
			if (!st->metrics && has_ext(norm, ".json")) {
				st->metrics = q;
				if (!cache)
					note(im, e, "metrics '%s' has cache: false; ntflow records metrics and keeps them in its cache", p);
				if (persist)
					note(im, e, "metrics '%s' has persist: true; a metrics file is written afresh by each run", p);
				continue;
			}
			note(im, e, "metrics '%s' is kept as an output: a stage has one metrics file, JSON", p);
		}
		add_out(im, st, acc, q, norm, cache, persist);
		if (!strcmp(what, "plots")) {
			if (norm[strlen(norm) - 1] == '/' || is_dir_on_disk(im, norm)) {
				note(im, e, "plots '%s' is a folder: declare a plot block for each file in it", p);
				continue;
			}
			im->cur = plots;
			put_plot(im, st, plots, d, norm, q, norm, opts, NULL);
			im->cur = save;
		}
	}
}

static void
stage_params(imp *im, yaml_document_t *d, yaml_node_t *list, nf_buf *body, char ***keys, size_t *nkeys,
	     size_t *ckeys, outs_acc *inputs)
{
	const char *deflt = join_path(im, im->stage_dir, "params.yaml");

	if (!list)
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		note(im, list, "params is not a list");
		return;
	}
	for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
		yaml_node_t *e = ynode(d, *i), *v = NULL;
		const char *file;
		char *rel;
		ydoc *f;

		if (is_scalar(e)) {
			f = file_doc(im, deflt);
			f->used = true;
			if (im->o->root && !f->loaded && !f->noted) {
				f->noted = true;
				note(im, e, "params file '%s' (DVC's default, in the stage's wdir) could not be read", deflt);
			}
			NF_PUSH(*keys, *nkeys, *ckeys, qstr(im, sval(e)));
			continue;
		}
		if (!(file = single_key(d, e, &v)) || !(rel = join_path(im, im->stage_dir, file))) {
			note(im, e, "an entry of params is neither a key nor FILE: [keys] in the project");
			continue;
		}
		if (!has_ext(rel, ".yaml") && !has_ext(rel, ".yml") && !has_ext(rel, ".json")) {
			char *q = NULL;

			note(im, e, "params file '%s' is neither YAML nor JSON: it is an input, the whole file", file);
			if ((q = path_tmpl(im, file, e, NULL)))
				NF_PUSH(inputs->outs, inputs->nouts, inputs->couts, q);
			continue;
		}
		f = file_doc(im, rel);
		f->used = true;
		if (v && v->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *k = v->data.sequence.items.start; k < v->data.sequence.items.top; k++)
				if (sval(ynode(d, *k)))
					NF_PUSH(*keys, *nkeys, *ckeys,
						qstr(im, sval(ynode(d, *k))));
			continue;
		}
		/* FILE: with no keys: every key of the file, its sections */
		if (!f->loaded) {
			char *q;

			note(im, e, "params file '%s' (all of it) could not be read: it is an input, the whole file", file);
			if ((q = path_tmpl(im, file, e, NULL)))
				NF_PUSH(inputs->outs, inputs->nouts, inputs->couts, q);
			continue;
		}
		{
			yaml_node_t *root = ynode(&f->doc, 1);

			for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++)
				if (sval(ynode(&f->doc, p->key)))
					NF_PUSH(*keys, *nkeys, *ckeys,
						qstr(im, sval(ynode(&f->doc, p->key))));
		}
	}
	(void)body;
}

/* The command: a string, or a list DVC runs one by one, each with a shell, stopping at
 * the first failure. A list becomes one /bin/sh command joined by " && ", each element
 * that is not plain words in a subshell "( ... )" so that what it does to its shell (cd,
 * exit, set, a trailing comment) stays its own, as in DVC. */
static void
stage_cmd(imp *im, yaml_document_t *d, yaml_node_t *cmd, const yaml_node_t *stage_key, nf_buf *b)
{
	size_t n;

	im->in_cmd = true;
	if (!cmd || is_null(cmd)) {
		note(im, cmd ? cmd : stage_key, "the stage has no cmd");
		goto done;
	}
	if (is_scalar(cmd)) {
		nf_buf_puts(b, "run = ");
		put_tmpl(im, b, sval(cmd), cmd);
		nf_buf_putc(b, '\n');
		goto done;
	}
	if (cmd->type != YAML_SEQUENCE_NODE ||
	    (n = (size_t)(cmd->data.sequence.items.top - cmd->data.sequence.items.start)) == 0) {
		note(im, cmd, "cmd is neither a string nor a list of strings");
		goto done;
	}
	nf_buf_puts(b, "run = \"");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *e = ynode(d, cmd->data.sequence.items.start[i]);
		const char *s = sval(e);
		bool wrap;

		if (!s) {
			note(im, e, "an element of cmd is not a string");
			continue;
		}
		wrap = n > 1 && !nf_argv_direct_text(s);
		if (i)
			nf_buf_puts(b, " && ");
		if (wrap)
			nf_buf_putc(b, '(');
		put_tmpl_inner(im, b, s, e);
		if (wrap)
			/* a comment, a line break or a trailing backslash would swallow the ')' */
			nf_buf_puts(b, strchr(s, '#') || strchr(s, '\n') || (*s && s[strlen(s) - 1] == '\\') ? "\\n)" : ")");
	}
	nf_buf_puts(b, "\"\n");
done:
	im->in_cmd = false;
}

/* foreach: a list, a mapping or a ${var} naming one; sets im->fe. */
static void
stage_foreach(imp *im, yaml_document_t *d, yaml_node_t *fe, nf_buf *b)
{
	yaml_node_t *items = fe;
	yaml_document_t *idoc = d;

	if (is_scalar(fe) && !strncmp(sval(fe), "${", 2)) {
		const char *s = sval(fe);
		size_t l = strlen(s);
		const ivar *var;
		ydoc *file;

		if (l > 3 && s[l - 1] == '}' && (items = find_value(im, nf_arena_strndup(im->a, s + 2, l - 3), &idoc, &var, &file)))
			note(im, fe, "foreach %s is the value it had when imported; edit the foreach here when it changes", s);
		else {
			note(im, fe, "foreach %s names no list or mapping the importer could read", s);
			items = NULL;
		}
	}
	if (!items || (items->type != YAML_SEQUENCE_NODE && items->type != YAML_MAPPING_NODE)) {
		if (items)
			note(im, fe, "foreach is neither a list nor a mapping");
		im->fe = FE_LIST;
		return;
	}
	im->fe_doc = idoc;
	im->fe_items = items;
	if (items->type == YAML_SEQUENCE_NODE) {
		bool scalars = true;

		for (yaml_node_item_t *i = items->data.sequence.items.start; i < items->data.sequence.items.top; i++)
			if (!is_scalar(ynode(idoc, *i)))
				scalars = false;
		if (scalars) {
			im->fe = FE_LIST;
			nf_buf_puts(b, "foreach = [");
			for (yaml_node_item_t *i = items->data.sequence.items.start; i < items->data.sequence.items.top; i++) {
				if (i > items->data.sequence.items.start)
					nf_buf_puts(b, ", ");
				put_str(b, sval(ynode(idoc, *i)));
			}
			nf_buf_puts(b, "]\n");
			return;
		}
		/* a list of mappings: DVC names the instances by their index */
		im->fe = FE_NAMED;
		nf_buf_puts(b, "foreach {\n");
		for (yaml_node_item_t *i = items->data.sequence.items.start; i < items->data.sequence.items.top; i++) {
			yaml_node_t *m = ynode(idoc, *i);

			nf_buf_printf(b, "instance \"%zu\" {\n", (size_t)(i - items->data.sequence.items.start));
			if (m->type != YAML_MAPPING_NODE) {
				note(im, m, "foreach mixes mappings with other items");
			} else {
				for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
					yaml_node_t *v = ynode(idoc, p->value);

					if (!is_scalar(v)) {
						note(im, v, "foreach field '%s' is not a single value", kval(idoc, p->key));
						continue;
					}
					nf_buf_printf(b, "%s = ", dag_name(im, kval(idoc, p->key), true));
					put_scalar(b, v);
					nf_buf_putc(b, '\n');
				}
			}
			nf_buf_puts(b, "}\n");
		}
		nf_buf_puts(b, "}\n");
		return;
	}
	/* a mapping: named instances; scalar values become the field "value" */
	{
		bool scalars = true;

		for (yaml_node_pair_t *p = items->data.mapping.pairs.start; p < items->data.mapping.pairs.top; p++)
			if (!is_scalar(ynode(idoc, p->value)))
				scalars = false;
		im->fe = scalars ? FE_NAMED_VALUE : FE_NAMED;
		if (scalars)
			note(im, fe, "foreach maps names to single values: ${item} is ${item.value} here");
		nf_buf_puts(b, "foreach {\n");
		for (yaml_node_pair_t *p = items->data.mapping.pairs.start; p < items->data.mapping.pairs.top; p++) {
			const char *k = sval(ynode(idoc, p->key));
			yaml_node_t *m = ynode(idoc, p->value);
			const char *kn = dag_name(im, k ? k : "", false);

			if (k && strcmp(kn, k))
				note(im, ynode(idoc, p->key), "instance \"%s\" is \"%s\" here (names are letters, digits, '_' and '-')", k, kn);
			nf_buf_printf(b, "instance \"%s\" {\n", kn);
			if (scalars) {
				nf_buf_puts(b, "value = ");
				put_scalar(b, m);
				nf_buf_putc(b, '\n');
			} else if (m->type == YAML_MAPPING_NODE) {
				for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top; q++) {
					yaml_node_t *v = ynode(idoc, q->value);

					if (!is_scalar(v)) {
						note(im, v, "foreach field '%s' is not a single value", kval(idoc, q->key));
						continue;
					}
					nf_buf_printf(b, "%s = ", dag_name(im, kval(idoc, q->key), true));
					put_scalar(b, v);
					nf_buf_putc(b, '\n');
				}
			} else {
				note(im, m, "foreach item '%s' is a list", k ? k : "");
			}
			nf_buf_puts(b, "}\n");
		}
		nf_buf_puts(b, "}\n");
	}
}

/* DVC 3's matrix: {axis: [values]} -> matrix { axis = [...] }, ${item.axis} -> ${matrix.axis}. */
static void
stage_matrix(imp *im, yaml_document_t *d, yaml_node_t *mx, nf_buf *b)
{
	im->fe = FE_MATRIX;
	if (mx->type != YAML_MAPPING_NODE) {
		note(im, mx, "matrix is not a mapping of lists");
		return;
	}
	nf_buf_puts(b, "matrix {\n");
	for (yaml_node_pair_t *p = mx->data.mapping.pairs.start; p < mx->data.mapping.pairs.top; p++) {
		yaml_node_t *v = ynode(d, p->value);

		if (!v || v->type != YAML_SEQUENCE_NODE) {
			note(im, v, "matrix axis '%s' is not a list of values", kval(d, p->key));
			continue;
		}
		nf_buf_printf(b, "%s = [", dag_name(im, kval(d, p->key), true));
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
			if (i > v->data.sequence.items.start)
				nf_buf_puts(b, ", ");
			if (is_scalar(ynode(d, *i)))
				put_scalar(b, ynode(d, *i));
			else
				nf_buf_puts(b, "\"?\"");
		}
		nf_buf_puts(b, "]\n");
	}
	nf_buf_puts(b, "}\n");
}

static void
stage_translate(imp *im, dstage *st, yaml_document_t *d, yaml_node_t *def, const yaml_node_t *key_node)
{
	yaml_node_t *body = def, *v;
	nf_buf *b = &st->body, plots = NF_BUF_INIT;
	outs_acc acc = { 0 }, ins = { 0 };
	char **keys = NULL;
	size_t nkeys = 0, ckeys = 0;
	const char *wdir = ".";

	im->cur = b;
	im->fe = FE_NONE;
	im->fe_doc = NULL;
	im->fe_items = NULL;
	if (!def || def->type != YAML_MAPPING_NODE) {
		note(im, key_node, "stage '%s' is not a mapping", st->dvc_name);
		return;
	}
	if ((v = yget(d, def, "foreach"))) {
		body = yget(d, def, "do");
		if (!body || body->type != YAML_MAPPING_NODE) {
			note(im, def, "foreach without a do mapping");
			return;
		}
	}
	if ((v = yget(d, body, "wdir")) && sval(v))
		wdir = sval(v);
	if (!(im->stage_dir = join_path(im, im->o->prefix, wdir))) {
		note(im, v, "wdir '%s' is outside the project", wdir);
		im->stage_dir = im->o->prefix;
	}
	for (yaml_node_pair_t *p = def->data.mapping.pairs.start; p < def->data.mapping.pairs.top; p++) {
		const char *k = sval(ynode(d, p->key));

		if (k && !strcmp(k, "foreach"))
			stage_foreach(im, d, ynode(d, p->value), b);
		else if (k && !strcmp(k, "matrix"))
			stage_matrix(im, d, ynode(d, p->value), b);
	}
	if ((v = yget(d, body, "desc")) && sval(v)) {
		nf_buf_puts(b, "description = ");
		put_str(b, sval(v));
		nf_buf_putc(b, '\n');
	}
	stage_cmd(im, d, yget(d, body, "cmd"), key_node, b);
	if (im->stage_dir && *im->stage_dir) {
		nf_buf_puts(b, "dir = ");
		put_tmpl(im, b, im->stage_dir, v);
		nf_buf_putc(b, '\n');
	}
	if ((v = yget(d, body, "deps"))) {
		if (v->type != YAML_SEQUENCE_NODE) {
			note(im, v, "deps is not a list");
		} else {
			for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
				yaml_node_t *e = ynode(d, *i), *o = NULL;
				const char *p = is_scalar(e) ? sval(e) : single_key(d, e, &o);
				char *q, *norm = NULL;

				if (!p) {
					note(im, e, "an entry of deps is not a path");
					continue;
				}
				if ((q = path_tmpl(im, p, e, &norm)))
					NF_PUSH(ins.outs, ins.nouts, ins.couts, q);
				if (q)
					NF_PUSH(st->ins, st->nins, st->cins, norm);
			}
		}
	}
	stage_params(im, d, yget(d, body, "params"), b, &keys, &nkeys, &ckeys, &ins);
	put_list(b, "inputs", ins.outs, ins.nouts);
	stage_outs(im, st, d, yget(d, body, "outs"), "outs", &acc, &plots);
	stage_outs(im, st, d, yget(d, body, "metrics"), "metrics", &acc, &plots);
	stage_outs(im, st, d, yget(d, body, "plots"), "plots", &acc, &plots);
	put_list(b, "outputs", acc.outs, acc.nouts);
	put_list(b, "persist", acc.persist, acc.npersist);
	put_list(b, "uncached", acc.uncached, acc.nuncached);
	if (st->metrics)
		nf_buf_printf(b, "metrics = %s\n", st->metrics);
	put_list(b, "params", keys, nkeys);
	if ((v = yget(d, body, "frozen")) && ybool(v) == 1)
		nf_buf_puts(b, "frozen = true\n");
	if ((v = yget(d, body, "always_changed")) && ybool(v) == 1)
		nf_buf_puts(b, "cache = false  # always_changed: true\n");
	for (yaml_node_pair_t *p = body->data.mapping.pairs.start; p < body->data.mapping.pairs.top; p++) {
		static const char *const known[] = { "cmd", "wdir", "deps", "outs", "metrics", "plots", "params",
						     "frozen", "always_changed", "desc", "foreach", "do", "matrix" };
		const char *k = sval(ynode(d, p->key));
		size_t j;

		for (j = 0; k && j < NF_ARRAY_SIZE(known); j++)
			if (!strcmp(k, known[j]))
				break;
		if (k && j < NF_ARRAY_SIZE(known))
			continue;
		if (k && !strcmp(k, "meta"))
			note(im, ynode(d, p->key), "meta (free-form data for DVC's users) is not carried over");
		else if (k && !strcmp(k, "vars"))
			note(im, ynode(d, p->key), "stage-level vars are not carried over: move them to the pipeline's params");
		else
			note(im, ynode(d, p->key), "'%s' has no equivalent in ntflow", k ? k : "?");
	}
	nf_buf_add(b, plots.buf ? plots.buf : "", plots.len);
	nf_buf_release(&plots);
	if ((im->fe == FE_LIST || im->fe == FE_NAMED || im->fe == FE_NAMED_VALUE) && im->fe_items) {
		st->fe = (int)im->fe;
		st->fe_doc = im->fe_doc;
		st->fe_items = im->fe_items;
	}
	acc_free(&acc);
	acc_free(&ins);
	free(keys);
}

/* ---- needs through foreach templates ---- */

/* The number of instances of st's foreach (1 without one). */
static size_t
instance_count(const dstage *st)
{
	const yaml_node_t *it = st->fe_items;

	if (!st->fe || !it)
		return 1;
	if (it->type == YAML_SEQUENCE_NODE)
		return (size_t)(it->data.sequence.items.top - it->data.sequence.items.start);
	return (size_t)(it->data.mapping.pairs.top - it->data.mapping.pairs.start);
}

/* Instance k's name (as the .dag names it) and the node of its item. */
static const char *
instance_of(imp *im, const dstage *st, size_t k, yaml_node_t **item)
{
	yaml_document_t *d = st->fe_doc;
	yaml_node_t *it = st->fe_items;

	if (it->type == YAML_SEQUENCE_NODE) {
		*item = ynode(d, it->data.sequence.items.start[k]);
		if (st->fe == FE_LIST)
			return sval(*item);
		return nf_arena_printf(im->a, "%zu", k);
	}
	*item = ynode(d, it->data.mapping.pairs.start[k].value);
	return dag_name(im, kval(d, it->data.mapping.pairs.start[k].key), false);
}

/* A DVC path with instance k's ${item}, ${key} and ${item.F} put in; NULL when a reference
 * stays that cannot be (the path then matches nothing). */
static char *
expand_path(imp *im, const dstage *st, size_t k, const char *path)
{
	nf_buf b = NF_BUF_INIT;
	yaml_node_t *item = NULL;
	const char *name = st->fe ? instance_of(im, st, k, &item) : NULL, *p = path;
	char *r = NULL;

	while (*p) {
		const char *d = strstr(p, "${"), *close, *val = NULL;
		char *ref;

		if (!d) {
			nf_buf_puts(&b, p);
			break;
		}
		nf_buf_add(&b, p, (size_t)(d - p));
		if (!(close = strchr(d, '}')) || !st->fe)
			goto done;
		ref = nf_arena_strndup(im->a, d + 2, (size_t)(close - d - 2));
		while (*ref == ' ')
			ref++;
		for (char *e = ref + strlen(ref); e > ref && e[-1] == ' ';)
			*--e = '\0';
		if (!strcmp(ref, "key"))
			val = name;
		else if (!strcmp(ref, "item") && is_scalar(item))
			val = sval(item);
		else if (!strncmp(ref, "item.", 5) && item && item->type == YAML_MAPPING_NODE)
			val = sval(yget(st->fe_doc, item, ref + 5));
		if (!val)
			goto done;
		nf_buf_puts(&b, val);
		p = close + 1;
	}
	r = nf_arena_strdup(im->a, nf_buf_cstr(&b));
	if (*r && r[strlen(r) - 1] == '/')
		r[strlen(r) - 1] = '\0';
done:
	nf_buf_release(&b);
	return r;
}

/* Writes st's needs on the stages whose outputs it reads through a foreach's ${item} or
 * ${key}, on either side: dependency inference matches the paths as written and cannot
 * expand those, the importer can (it knows the items). An edge between paths written
 * without ${...} is left to the inference. */
static void
write_needs(imp *im, dstage *st)
{
	nf_buf list = NF_BUF_INIT;
	size_t nneeds = 0;

	for (size_t a = 0; a < im->nstages; a++) {
		dstage *up = &im->stages[a];
		size_t nup = instance_count(up), hit = 0;
		bool *used;

		if (up == st || !up->nouts)
			continue;
		used = xcalloc(nup, sizeof(*used));
		for (size_t o = 0; o < up->nouts; o++)
			for (size_t i = 0; i < st->nins; i++) {
				if (!strstr(up->outs[o], "${") && !strstr(st->ins[i], "${"))
					continue;
				for (size_t ku = 0; ku < nup; ku++)
					for (size_t kc = 0; kc < instance_count(st) && !used[ku]; kc++) {
						char *out = expand_path(im, up, ku, up->outs[o]);
						char *in = expand_path(im, st, kc, st->ins[i]);

						if (out && in && (nf_path_holds(out, in) || nf_path_holds(in, out))) {
							used[ku] = true;
							hit++;
						}
					}
			}
		if (!up->fe || hit == nup) {
			if (hit)
				nf_buf_printf(&list, "%s\"%s\"", nneeds++ ? ", " : "", up->name);
		} else {
			for (size_t ku = 0; ku < nup; ku++) {
				yaml_node_t *item;

				if (used[ku])
					nf_buf_printf(&list, "%s\"%s@%s\"", nneeds++ ? ", " : "", up->name,
						      instance_of(im, up, ku, &item));
			}
		}
		free(used);
	}
	if (nneeds) {
		im->cur = &st->needs;
		note(im, NULL, "stage \"%s\": needs written out: the paths that link it to them go through a foreach's ${item} or ${key}, which the inference of dependencies does not expand",
		     st->name);
		nf_buf_printf(&st->needs, "needs = [%s]\n", nf_buf_cstr(&list));
	}
	nf_buf_release(&list);
}

/* ---- top-level plots ---- */

static dstage *
producer(imp *im, const char *norm)
{
	for (size_t i = 0; i < im->nstages; i++) {
		dstage *st = &im->stages[i];

		for (size_t k = 0; k < st->nouts; k++)
			if (nf_path_holds(st->outs[k], norm))
				return st;
	}
	return NULL;
}

static void
top_plots(imp *im, yaml_document_t *d, yaml_node_t *list, nf_buf *pre)
{
	if (list->type != YAML_SEQUENCE_NODE) {
		im->cur = pre;
		note(im, list, "plots is not a list");
		return;
	}
	im->stage_dir = im->o->prefix;
	im->fe = FE_NONE;
	for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
		yaml_node_t *e = ynode(d, *i), *opts = NULL, *y = NULL;
		const char *k = is_scalar(e) ? sval(e) : single_key(d, e, &opts);
		const char *file = k, *name = k;
		char *norm = NULL, *q;
		dstage *st;

		im->cur = pre;
		if (!k) {
			note(im, e, "an entry of plots is neither a file nor a named plot");
			continue;
		}
		/* "- name: {y: {file.csv: col}}": a named plot over one file */
		if (opts && (y = yget(d, opts, "y")) && y->type == YAML_MAPPING_NODE) {
			yaml_node_t *cols = NULL;

			if (!(file = single_key(d, y, &cols))) {
				note(im, e, "plot '%s' draws from several files; ntflow draws one data file per plot", k);
				continue;
			}
			y = cols;
			if (yget(d, opts, "x") && yget(d, opts, "x")->type == YAML_MAPPING_NODE) {
				note(im, e, "plot '%s': x is given per file; set x", k);
			}
		} else {
			y = NULL;
		}
		if (!(norm = join_path(im, im->stage_dir, file))) {
			note(im, e, "plot file '%s' is outside the project", file);
			continue;
		}
		if (!(st = producer(im, norm))) {
			note(im, e, "plot '%s': '%s' is written by no stage; plots are declared in the stage that writes their file",
			     k, file);
			continue;
		}
		im->cur = &st->body;
		q = path_tmpl(im, file, e, NULL);
		if (q)
			put_plot(im, st, &st->body, d, name, q, norm, opts, y);
	}
}

/* ---- the whole file ---- */

typedef struct note_line {
	size_t line, col, order;
	const char *text;
	size_t len;
} note_line;

static int
note_cmp(const void *pa, const void *pb)
{
	const note_line *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* The notes from start on in the order of dvc.yaml's lines (they are made in the order the
 * .dag is written, the pipeline block last); a note without a line stays first. */
static void
sort_notes(nf_buf *notes, size_t start, size_t plen)
{
	note_line *v = NULL;
	size_t n = 0, cap = 0;
	char *copy;
	nf_buf sorted = NF_BUF_INIT;

	if (notes->len <= start)
		return;
	copy = xstrndup(notes->buf + start, notes->len - start);
	for (char *p = copy; *p;) {
		char *nl = strchr(p, '\n');
		note_line l = { 0, 0, n, p, nl ? (size_t)(nl + 1 - p) : strlen(p) };

		/* "PATH:LINE:COL: ..." */
		if (l.len <= plen || sscanf(p + plen, ":%zu:%zu:", &l.line, &l.col) != 2)
			l.line = l.col = 0;
		NF_PUSH(v, n, cap, l);
		p += l.len;
	}
	qsort(v, n, sizeof(*v), note_cmp);
	for (size_t i = 0; i < n; i++)
		nf_buf_add(&sorted, v[i].text, v[i].len);
	notes->len = start;
	nf_buf_add(notes, sorted.buf, sorted.len);
	nf_buf_release(&sorted);
	free(v);
	free(copy);
}


static void
load_vars(imp *im, yaml_document_t *d, yaml_node_t *vars)
{
	if (vars->type != YAML_SEQUENCE_NODE) {
		note(im, vars, "vars is not a list");
		return;
	}
	for (yaml_node_item_t *i = vars->data.sequence.items.start; i < vars->data.sequence.items.top; i++) {
		yaml_node_t *e = ynode(d, *i);

		if (e->type == YAML_MAPPING_NODE) {
			flatten_vars(im, d, e, "", 0);
		} else if (is_scalar(e)) {
			char *f = nf_arena_strdup(im->a, sval(e)), *colon = strchr(f, ':'), *rel;
			ydoc *doc;

			if (colon) {
				*colon = '\0';
				note(im, e, "vars '%s': all of the file's keys are params here, not only %s", f, colon + 1);
			}
			if (!(rel = join_path(im, im->o->prefix, f))) {
				note(im, e, "vars file '%s' is outside the project", f);
				continue;
			}
			doc = file_doc(im, rel);
			if (!doc->loaded)
				note(im, e, "vars file '%s' could not be read", f);
			else
				doc->used = true;
		} else {
			note(im, e, "an entry of vars is neither a file nor a mapping");
		}
	}
}

int
nf_dvc_import_text(nf_buf *out, nf_buf *notes, const nf_dvc_import *o, const char *src, size_t len)
{
	imp im = { 0 };
	char err[512];
	yaml_node_t *root, *stages, *v;
	yaml_document_t *d = &im.dvc.doc;
	nf_buf pre = NF_BUF_INIT, pl = NF_BUF_INIT;
	size_t notes_start;
	int rc = 0;

	im.o = o;
	im.a = nf_arena_new();
	im.notes = notes;
	notes_start = notes->len;
	im.names = nf_strmap_new(16);
	if (yload(d, err, sizeof(err), src, len) < 0) {
		rc = nf_error_set(NF_EINVALID, "%s:%s", o->path, err);
		goto done;
	}
	im.dvc.loaded = true;
	root = yaml_document_get_root_node(d);
	if (!root || root->type != YAML_MAPPING_NODE || !(stages = yget(d, root, "stages")) ||
	    stages->type != YAML_MAPPING_NODE) {
		rc = nf_error_set(NF_EINVALID, "%s: not a DVC pipeline: no 'stages' mapping at the top", o->path);
		goto done;
	}
	im.cur = &pre;
	/* DVC reads params.yaml beside dvc.yaml for ${...} even when vars does not list it */
	file_doc(&im, join_path(&im, o->prefix, "params.yaml"));
	if ((v = yget(d, root, "vars")))
		load_vars(&im, d, v);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = sval(ynode(d, p->key));

		if (k && (!strcmp(k, "stages") || !strcmp(k, "vars") || !strcmp(k, "plots")))
			continue;
		if (k && (!strcmp(k, "params") || !strcmp(k, "metrics")))
			note(&im, ynode(d, p->key), "top-level %s (files DVC shows without a stage) are not carried over", k);
		else
			note(&im, ynode(d, p->key), "top-level '%s' has no equivalent in ntflow", k ? k : "?");
	}
	im.nstages = (size_t)(stages->data.mapping.pairs.top - stages->data.mapping.pairs.start);
	im.stages = xcalloc(im.nstages ? im.nstages : 1, sizeof(*im.stages));
	/* names the .dag allows stay; the others are mapped, never onto a name already taken */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < im.nstages; i++) {
			yaml_node_pair_t *p = &stages->data.mapping.pairs.start[i];
			dstage *st = &im.stages[i];
			const char *k = sval(ynode(d, p->key));
			char *n;

			st->dvc_name = k ? k : "";
			n = dag_name(&im, st->dvc_name, false);
			if ((pass == 0) != !strcmp(n, st->dvc_name) || (pass == 0 && nf_strmap_get(im.names, n)))
				continue;
			for (int s = 2; nf_strmap_get(im.names, n); s++)
				n = nf_arena_printf(im.a, "%s_%d", dag_name(&im, st->dvc_name, false), s);
			nf_strmap_put(im.names, n, st);
			st->name = n;
			im.cur = &st->pre;
			if (strcmp(n, st->dvc_name))
				note(&im, ynode(d, p->key),
				     "DVC stage \"%s\" is \"%s\" here (names are letters, digits, '_' and '-')",
				     st->dvc_name, n);
		}
	for (size_t i = 0; i < im.nstages; i++) {
		yaml_node_pair_t *p = &stages->data.mapping.pairs.start[i];

		stage_translate(&im, &im.stages[i], d, ynode(d, p->value), ynode(d, p->key));
	}
	if ((v = yget(d, root, "plots")))
		top_plots(&im, d, v, &pre);
	for (size_t i = 0; i < im.nstages; i++)
		write_needs(&im, &im.stages[i]);

	/* the pipeline block */
	nf_buf_printf(&pl, "pipeline \"%s\" {\n", o->name ? o->name : "dvc");
	{
		size_t nused = 0;

		for (size_t i = 0; i < im.nfiles; i++)
			if (im.files[i].used)
				nused++;
		if (nused) {
			size_t k = 0;

			nf_buf_puts(&pl, "params_files = [");
			for (size_t i = 0; i < im.nfiles; i++)
				if (im.files[i].used) {
					nf_buf_puts(&pl, k++ ? ", " : "");
					put_str(&pl, im.files[i].path);
				}
			nf_buf_puts(&pl, "]\n");
		}
	}
	if (im.nvars) {
		im.cur = &pl;
		nf_buf_puts(&pl, "params {\n");
		for (size_t i = 0; i < im.nvars; i++) {
			const ivar *iv = &im.vars[i];

			if (strcmp(iv->name, iv->key))
				note(&im, iv->node, "vars '%s' is params.%s here", iv->key, iv->name);
			nf_buf_printf(&pl, "%s = ", iv->name);
			if (!iv->node || is_null(iv->node)) {
				nf_buf_puts(&pl, "\"\"\n");
			} else if (is_scalar(iv->node)) {
				put_scalar(&pl, iv->node);
				nf_buf_putc(&pl, '\n');
			} else {
				nf_buf json = NF_BUF_INIT;

				put_json(&json, iv->doc, iv->node, 0);
				put_str(&pl, nf_buf_cstr(&json));
				nf_buf_putc(&pl, '\n');
				nf_buf_release(&json);
			}
		}
		nf_buf_puts(&pl, "}\n");
	}
	nf_buf_puts(&pl, "}\n");

	sort_notes(notes, notes_start, strlen(o->path));
	{
		/* a comment is one line, whatever the files are called */
		char *head = xasprintf("# %s: imported from %s by `ntflow import`; see \"ntflow help import\".",
				       o->out_name ? o->out_name : "pipeline", o->path);

		for (char *q = head; *q; q++)
			if (*q == '\n' || *q == '\r')
				*q = ' ';
		nf_buf_printf(out, "%s\n", head);
		free(head);
	}
	nf_buf_puts(out, "# Dependencies between stages are inferred from their inputs and outputs, as in DVC.\n\n");
	nf_buf_add(out, pre.buf ? pre.buf : "", pre.len);
	if (pre.len)
		nf_buf_putc(out, '\n');
	nf_buf_add(out, pl.buf, pl.len);
	for (size_t i = 0; i < im.nstages; i++) {
		dstage *st = &im.stages[i];

		nf_buf_putc(out, '\n');
		nf_buf_add(out, st->pre.buf ? st->pre.buf : "", st->pre.len);
		nf_buf_printf(out, "stage \"%s\" {\n", st->name);
		nf_buf_add(out, st->needs.buf ? st->needs.buf : "", st->needs.len);
		nf_buf_add(out, st->body.buf ? st->body.buf : "", st->body.len);
		nf_buf_puts(out, "}\n");
	}
done:
	for (size_t i = 0; i < im.nstages; i++) {
		nf_buf_release(&im.stages[i].pre);
		nf_buf_release(&im.stages[i].body);
		free(im.stages[i].outs);
		free(im.stages[i].plots);
		free(im.stages[i].ins);
		nf_buf_release(&im.stages[i].needs);
	}
	free(im.stages);
	for (size_t i = 0; i < im.nfiles; i++)
		if (im.files[i].loaded)
			yaml_document_delete(&im.files[i].doc);
	free(im.files);
	free(im.vars);
	if (im.dvc.loaded)
		yaml_document_delete(d);
	nf_buf_release(&pre);
	nf_buf_release(&pl);
	nf_strmap_free(im.names);
	nf_arena_free(im.a);
	return rc;
}
