/* params-file.c: the pipeline's params_files (params.yaml, conf/train.json), read into the
 * same list as params { }, their nested keys flattened with dots (train: {n_est: 100} is
 * params.train.n_est), so that interpolation, -p, validation and cache keys treat a file's
 * value as any other param. YAML goes through libyaml, JSON through cJSON; every error
 * names the params file's line and column, or the .dag attribute's for a missing file. */
#include "config.h"
#include "ntflow/dag.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Params files are configuration: larger ones are refused before parsing. */
#define PARAMS_FILE_MAX (16u << 20)

typedef struct pf_reader {
	nf_arena *a;
	const char *file;          /* as named in params_files; borrowed from the arena */
	nf_diag_list *diags;
	nf_kv *kvs;
	size_t n, cap;
	nf_strmap *seen;           /* key -> index + 1 in kvs, for a key given twice in one file */
	int depth;
	bool failed;
	/* JSON: where the scan for the next key's place resumes (cJSON keeps no positions). */
	const char *src, *cursor;
} pf_reader;

static nf_loc
loc_at(const pf_reader *r, size_t line0, size_t col0)
{
	return nf_loc_at(r->file, (int)line0 + 1, (int)col0 + 1);
}

static void
error_at(pf_reader *r, nf_loc at, const char *fmt, ...) NF_PRINTF(3, 4);

static void
error_at(pf_reader *r, nf_loc at, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	nf_diag_error(r->diags, at, "%s", msg);
	free(msg);
	r->failed = true;
}

static const char *
join_key(pf_reader *r, const char *prefix, const char *name, size_t len)
{
	return prefix ? nf_arena_printf(r->a, "%s.%.*s", prefix, (int)len, name) : nf_arena_strndup(r->a, name, len);
}

/* Adds one flattened key; a key given twice in the file is an error at the second. */
static void
add_kv(pf_reader *r, const char *key, nf_loc at, nf_value v)
{
	size_t prev = (size_t)(uintptr_t)nf_strmap_get(r->seen, key);

	if (prev) {
		error_at(r, at, "duplicate param '%s'", key);
		nf_diag_note(r->diags, r->kvs[prev - 1].loc, "first set here");
		return;
	}
	NF_PUSH(r->kvs, r->n, r->cap, ((nf_kv){ key, at, v }));
	nf_strmap_put(r->seen, key, (void *)(uintptr_t)r->n);
}

static nf_value
string_value(pf_reader *r, const char *s, size_t len, nf_loc at)
{
	nf_value v = { .kind = NF_V_STRING, .loc = at };

	v.str.loc = at;
	if (len) {
		/* One literal segment: a "${" in a params file is data, never a reference. */
		v.str.segs = nf_arena_alloc(r->a, sizeof(nf_seg));
		v.str.segs[0] = (nf_seg){ nf_arena_strndup(r->a, s, len), false, at };
		v.str.nsegs = 1;
	}
	return v;
}

/* A number as YAML's core schema and JSON write one: [-+]digits[.digits][e[-+]digits]. */
static bool
number_text(const char *s, size_t len, double *out)
{
	size_t i = 0, digits = 0;
	char buf[64], *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (s[i] == '-' || s[i] == '+')
		i++;
	while (i < len && isdigit((unsigned char)s[i]))
		i++, digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (!digits)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;

		if (++i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		for (e0 = i; i < len && isdigit((unsigned char)s[i]); i++)
			;
		if (i == e0)
			return false;
	}
	if (i != len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out);
}

static bool
word_in(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && memcmp(*words, s, len) == 0)
			return true;
	return false;
}

static const char *const yaml_true[] = { "true", "True", "TRUE", NULL };
static const char *const yaml_false[] = { "false", "False", "FALSE", NULL };
static const char *const yaml_null[] = { "null", "Null", "NULL", "~", "", NULL };

/* A scalar's value: plain scalars are typed as YAML's core schema does (numbers, booleans,
 * null as the empty string), quoted ones are strings. */
static nf_value
yaml_scalar_value(pf_reader *r, const yaml_event_t *ev, nf_loc at)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	nf_value v = { .loc = at };

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return string_value(r, s, len, at);
	if (number_text(s, len, &v.num)) {
		v.kind = NF_V_NUMBER;
		v.num_text = nf_arena_strndup(r->a, s, len);
		return v;
	}
	if (word_in(s, len, yaml_true) || word_in(s, len, yaml_false)) {
		v.kind = NF_V_BOOL;
		v.boolean = word_in(s, len, yaml_true);
		return v;
	}
	if (word_in(s, len, yaml_null))
		return string_value(r, "", 0, at);
	return string_value(r, s, len, at);
}

/* ---- YAML ---- */

static bool
yaml_next(pf_reader *r, yaml_parser_t *ps, yaml_event_t *ev)
{
	if (yaml_parser_parse(ps, ev)) {
		/* "\0" in a double-quoted scalar: no key or value holds one (C strings, argv). */
		if (ev->type != YAML_SCALAR_EVENT || !memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
			return true;
		error_at(r, loc_at(r, ev->start_mark.line, ev->start_mark.column), "a NUL byte (\\0) cannot be a param's text");
		yaml_event_delete(ev);
		return false;
	}
	/* libyaml's marks count from 0; the problem's mark is where it noticed. */
	error_at(r, loc_at(r, ps->problem_mark.line, ps->problem_mark.column), "%s%s%s",
		 ps->problem ? ps->problem : "invalid YAML", ps->context ? " " : "", ps->context ? ps->context : "");
	return false;
}

static cJSON *yaml_json(pf_reader *r, yaml_parser_t *ps, yaml_event_t *ev);

/* The node starting with ev (consumed) as JSON, for a list's items: lists are kept as
 * their JSON text. NULL after an error. */
static cJSON *
yaml_json(pf_reader *r, yaml_parser_t *ps, yaml_event_t *ev)
{
	nf_loc at = loc_at(r, ev->start_mark.line, ev->start_mark.column);
	yaml_event_type_t end;
	cJSON *out;

	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		nf_value v = yaml_scalar_value(r, ev, at);

		if (v.kind == NF_V_NUMBER)
			return cJSON_CreateNumber(v.num);
		if (v.kind == NF_V_BOOL)
			return cJSON_CreateBool(v.boolean);
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && word_in((const char *)ev->data.scalar.value,
										  ev->data.scalar.length, yaml_null))
			return cJSON_CreateNull();
		return cJSON_CreateString(nf_tmpl_literal(&v.str));
	}
	case YAML_SEQUENCE_START_EVENT:
		out = cJSON_CreateArray();
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		out = cJSON_CreateObject();
		end = YAML_MAPPING_END_EVENT;
		break;
	case YAML_ALIAS_EVENT:
		error_at(r, at, "YAML aliases (*name) are not supported in params files");
		return NULL;
	default:
		error_at(r, at, "unexpected YAML event");
		return NULL;
	}
	if (++r->depth > NF_DAG_MAX_DEPTH) {
		error_at(r, at, "nested deeper than %d levels", NF_DAG_MAX_DEPTH);
		cJSON_Delete(out);
		return NULL;
	}
	for (;;) {
		yaml_event_t item;
		char *key = NULL;
		cJSON *child;

		if (!yaml_next(r, ps, &item))
			goto fail;
		if (item.type == end) {
			yaml_event_delete(&item);
			break;
		}
		if (end == YAML_MAPPING_END_EVENT) {
			if (item.type != YAML_SCALAR_EVENT) {
				error_at(r, loc_at(r, item.start_mark.line, item.start_mark.column),
					 "a key in a params file must be a plain name");
				yaml_event_delete(&item);
				goto fail;
			}
			key = xstrdup((const char *)item.data.scalar.value);
			yaml_event_delete(&item);
			if (!yaml_next(r, ps, &item)) {
				free(key);
				goto fail;
			}
		}
		child = yaml_json(r, ps, &item);
		yaml_event_delete(&item);
		if (!child) {
			free(key);
			goto fail;
		}
		if (key)
			cJSON_AddItemToObject(out, key, child);
		else
			cJSON_AddItemToArray(out, child);
		free(key);
	}
	r->depth--;
	return out;
fail:
	r->depth--;
	cJSON_Delete(out);
	return NULL;
}

/* The value of key (a flattened name) starting with ev: a mapping is flattened further, a
 * list kept as JSON text, a scalar typed. false after an error. */
static bool
yaml_value(pf_reader *r, yaml_parser_t *ps, yaml_event_t *ev, const char *key)
{
	nf_loc at = loc_at(r, ev->start_mark.line, ev->start_mark.column);

	if (ev->type == YAML_SCALAR_EVENT) {
		add_kv(r, key, at, yaml_scalar_value(r, ev, at));
		return true;
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		cJSON *j = yaml_json(r, ps, ev);
		char *text;

		if (!j)
			return false;
		text = cJSON_PrintUnformatted(j);
		add_kv(r, key, at, string_value(r, text, strlen(text), at));
		cJSON_free(text);
		cJSON_Delete(j);
		return true;
	}
	if (ev->type == YAML_MAPPING_START_EVENT) {
		bool ok = true;

		if (++r->depth > NF_DAG_MAX_DEPTH) {
			error_at(r, at, "nested deeper than %d levels", NF_DAG_MAX_DEPTH);
			return false;
		}
		for (;;) {
			yaml_event_t k, v;
			const char *name;

			if (!yaml_next(r, ps, &k)) {
				ok = false;
				break;
			}
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			if (k.type != YAML_SCALAR_EVENT || k.data.scalar.length == 0) {
				error_at(r, loc_at(r, k.start_mark.line, k.start_mark.column),
					 "a key in a params file must be a non-empty name");
				yaml_event_delete(&k);
				ok = false;
				break;
			}
			name = join_key(r, key, (const char *)k.data.scalar.value, k.data.scalar.length);
			yaml_event_delete(&k);
			if (!yaml_next(r, ps, &v)) {
				ok = false;
				break;
			}
			ok = yaml_value(r, ps, &v, name);
			yaml_event_delete(&v);
			if (!ok)
				break;
		}
		r->depth--;
		return ok;
	}
	if (ev->type == YAML_ALIAS_EVENT)
		error_at(r, at, "YAML aliases (*name) are not supported in params files");
	else
		error_at(r, at, "unexpected YAML event");
	return false;
}

static void
read_yaml(pf_reader *r, const char *src, size_t len)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	bool ok = true, top = false;

	if (!yaml_parser_initialize(&ps)) {
		error_at(r, loc_at(r, 0, 0), "cannot start the YAML parser");
		return;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)src, len);
	while (ok && yaml_next(r, &ps, &ev)) {
		yaml_event_type_t t = ev.type;

		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_SCALAR_EVENT ||
		    t == YAML_ALIAS_EVENT) {
			if (top) {
				error_at(r, loc_at(r, ev.start_mark.line, ev.start_mark.column),
					 "a params file holds one document");
				ok = false;
			} else if (t == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 &&
				   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
				top = true;   /* an empty document: no params */
			} else if (t != YAML_MAPPING_START_EVENT) {
				error_at(r, loc_at(r, ev.start_mark.line, ev.start_mark.column),
					 "a params file must hold a mapping of names to values at its top");
				ok = false;
			} else {
				top = true;
				ok = yaml_value(r, &ps, &ev, NULL);
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
}

/* ---- JSON ---- */

/* 0-based line and column of p in src. */
static nf_loc
json_loc(const pf_reader *r, const char *p)
{
	size_t line = 0, col = 0;

	for (const char *q = r->src; q < p; q++) {
		if (*q == '\n') {
			line++;
			col = 0;
		} else {
			col++;
		}
	}
	return loc_at(r, line, col);
}

/* Finds "name" followed by ':' from the cursor on (cJSON walks members in the order of the
 * text), so that a key's messages point at it; the value's text is then at *value. */
static const char *
json_find_key(pf_reader *r, const char *name, const char **value)
{
	size_t n = strlen(name);
	const char *p = r->cursor;

	*value = NULL;
	while ((p = strchr(p, '"'))) {
		const char *q = p + 1 + n;

		if (strncmp(p + 1, name, n) == 0 && *q == '"') {
			q++;
			while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
				q++;
			if (*q == ':') {
				for (q++; *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'; q++)
					;
				r->cursor = q;
				*value = q;
				return p;
			}
		}
		p++;
	}
	return NULL;
}

static void
json_members(pf_reader *r, const cJSON *obj, const char *prefix)
{
	if (++r->depth > NF_DAG_MAX_DEPTH) {
		error_at(r, json_loc(r, r->cursor), "nested deeper than %d levels", NF_DAG_MAX_DEPTH);
		return;
	}
	for (const cJSON *it = obj->child; it && !r->failed; it = it->next) {
		const char *vtext, *kp = json_find_key(r, it->string, &vtext);
		nf_loc at = json_loc(r, kp ? kp : r->cursor);
		const char *key;
		nf_value v = { .loc = at };

		if (!it->string[0]) {
			error_at(r, at, "a key in a params file must be a non-empty name");
			break;
		}
		key = join_key(r, prefix, it->string, strlen(it->string));
		if (cJSON_IsObject(it)) {
			json_members(r, it, key);
			continue;
		}
		if (cJSON_IsNumber(it)) {
			size_t len = 0;

			v.kind = NF_V_NUMBER;
			v.num = it->valuedouble;
			/* The number as written ("0.10", "1e-3"), as params { } keeps it. */
			while (vtext && vtext[len] && strchr("+-.0123456789eE", vtext[len]))
				len++;
			v.num_text = len ? nf_arena_strndup(r->a, vtext, len) : NULL;
			/* The scan found another place (a key spelled with escapes): cJSON's value. */
			if (!v.num_text || strtod(v.num_text, NULL) != it->valuedouble)
				v.num_text = nf_arena_printf(r->a, "%.17g", it->valuedouble);
		} else if (cJSON_IsBool(it)) {
			v.kind = NF_V_BOOL;
			v.boolean = cJSON_IsTrue(it);
		} else if (cJSON_IsString(it)) {
			v = string_value(r, it->valuestring, strlen(it->valuestring), at);
		} else if (cJSON_IsArray(it)) {
			char *text = cJSON_PrintUnformatted(it);

			v = string_value(r, text, strlen(text), at);
			cJSON_free(text);
		} else {
			v = string_value(r, "", 0, at);   /* null */
		}
		add_kv(r, key, at, v);
	}
	r->depth--;
}

static void
read_json(pf_reader *r, const char *src, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(src, len, &end, false);

	if (root && end) {
		/* One value, then only blanks (cJSON's own check wants a NUL within len). */
		while (end < src + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
			end++;
		if (end < src + len) {
			error_at(r, json_loc(r, end), "invalid JSON: text after the top-level value");
			cJSON_Delete(root);
			return;
		}
	}
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		if (!at || at < src || at > src + len)
			at = src;
		error_at(r, json_loc(r, at), "invalid JSON");
		return;
	}
	if (!cJSON_IsObject(root))
		error_at(r, json_loc(r, src), "a params file must hold an object of names to values at its top");
	else
		json_members(r, root, NULL);
	cJSON_Delete(root);
}

bool
nf_params_file_kind(const char *path, bool *json)
{
	size_t n = strlen(path);

#define ENDS(s) (n > strlen(s) && strcmp(path + n - strlen(s), s) == 0)
	if (ENDS(".json")) {
		*json = true;
		return true;
	}
	*json = false;
	return ENDS(".yaml") || ENDS(".yml");
#undef ENDS
}

/* Where a JSON text's string holds the escape \u0000, or NULL: cJSON decodes it to a NUL
 * inside the string, and the text after it would be lost without a word (YAML's \0 is
 * refused: the same here). Escapes are followed, so "\\u0000" (a backslash, then
 * "u0000") is no NUL. */
static const char *
json_nul_escape(const char *text, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"') {
			in_string = !in_string;
		} else if (in_string && text[i] == '\\') {
			if (i + 5 < len && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4))
				return text + i;
			i++;   /* the escaped character */
		}
	}
	return NULL;
}

int
nf_params_file_parse(nf_kv **out, size_t *n, nf_arena *a, const char *file, const char *src, size_t len,
		     nf_diag_list *diags)
{
	/* A copy that ends in a NUL: the JSON key scan reads C strings (src need not end so). */
	char *text = xmalloc(len + 1);
	pf_reader r = { .a = a, .file = file, .diags = diags, .src = text, .cursor = text };
	const char *nul;
	bool json;

	*out = NULL;
	*n = 0;
	if (len)
		memcpy(text, src, len);
	text[len] = '\0';
	r.seen = nf_strmap_new(16);
	nf_params_file_kind(file, &json);
	if ((nul = memchr(text, '\0', len)))
		error_at(&r, json_loc(&r, nul), "a params file is text: it holds a NUL byte");
	else if (json && (nul = json_nul_escape(text, len)))
		error_at(&r, json_loc(&r, nul), "a NUL byte (\\u0000) cannot be a param's text");
	else if (json)
		read_json(&r, text, len);
	else
		read_yaml(&r, text, len);
	free(text);
	nf_strmap_free(r.seen);
	if (r.failed) {
		free(r.kvs);
		return NF_EINVALID;
	}
	*out = r.n ? nf_arena_memdup(a, r.kvs, r.n * sizeof(nf_kv)) : NULL;
	*n = r.n;
	free(r.kvs);
	return 0;
}

int
nf_dag_read_params_files(nf_dag *dag, const char *root, nf_diag_list *diags)
{
	nf_pipeline *pl = &dag->pipeline;
	nf_kv *all = NULL;
	size_t n = 0, cap = 0, nerrors = diags->nerrors;
	nf_strmap *where;

	if (pl->nparams_files == 0)
		return 0;
	where = nf_strmap_new(pl->nparams + 16);
	for (size_t i = 0; i < pl->nparams; i++) {
		NF_PUSH(all, n, cap, pl->params[i]);
		nf_strmap_put(where, pl->params[i].key, (void *)(uintptr_t)n);
	}
	for (size_t f = 0; f < pl->nparams_files; f++) {
		const nf_name_ref *ref = &pl->params_files[f];
		char *real = NULL, *abs = NULL, *src = NULL;
		nf_kv *kvs = NULL;
		size_t len, nkvs = 0;
		bool json;
		int err;

		if (!nf_params_file_kind(ref->name, &json)) {
			nf_diag_error(diags, ref->loc, "params file '%s' must end in .yaml, .yml or .json", ref->name);
			continue;
		}
		if (!root) {
			nf_diag_error(diags, ref->loc, "params file '%s': the project's root is unknown", ref->name);
			continue;
		}
		/* Relative to the project root and inside it, also through links. */
		if ((err = nf_path_resolve(&real, NULL, root, ref->name, "params file")) < 0) {
			nf_diag_error(diags, ref->loc, "%s", nf_error_last());
			continue;
		}
		free(real);
		abs = xasprintf("%s/%s", root, ref->name);
		err = nf_read_file(&src, &len, abs, PARAMS_FILE_MAX);
		free(abs);
		if (err < 0) {
			if (err == NF_ENOTFOUND)
				nf_diag_error(diags, ref->loc, "params file '%s' does not exist", ref->name);
			else
				nf_diag_error(diags, ref->loc, "params file '%s': %s", ref->name, nf_error_last());
			continue;
		}
		err = nf_params_file_parse(&kvs, &nkvs, dag->arena, ref->name, src, len, diags);
		free(src);
		if (err < 0)
			continue;
		/* One namespace: a key of two files, or of a file and params { }, is an error. */
		for (size_t i = 0; i < nkvs; i++) {
			size_t prev = (size_t)(uintptr_t)nf_strmap_get(where, kvs[i].key);

			if (prev) {
				nf_diag_error(diags, kvs[i].loc, "param '%s' is set twice: here and at %s:%d:%d",
					      kvs[i].key, nf_loc_file(all[prev - 1].loc), all[prev - 1].loc.line, all[prev - 1].loc.col);
				nf_diag_note(diags, all[prev - 1].loc, "first set here");
				continue;
			}
			NF_PUSH(all, n, cap, kvs[i]);
			nf_strmap_put(where, kvs[i].key, (void *)(uintptr_t)n);
		}
	}
	nf_strmap_free(where);
	pl->params = n ? nf_arena_memdup(dag->arena, all, n * sizeof(nf_kv)) : NULL;
	pl->nparams = n;
	free(all);
	return diags->nerrors > nerrors ? NF_EINVALID : 0;
}
