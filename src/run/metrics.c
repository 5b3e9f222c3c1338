/* metrics.c: reading a stage's metrics file (JSON) into named numbers; nested objects
 * become dotted names, the per-slice metrics under "slices" become METRIC[SLICE], and
 * anything unreadable is an error that names the file and place. */
#include "config.h"
#include "ntflow/run.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Metrics files are small; a larger one is a mistake (a data file named by accident). */
#define METRICS_MAX_SIZE (16u << 20)

void
nf_metrics_add(nf_metric_set *m, const char *name, double v)
{
	uintptr_t at;

	if (!m->index)
		m->index = nf_strmap_new(16);
	if ((at = (uintptr_t)nf_strmap_get(m->index, name)) != 0) {
		m->values[at - 1] = v;
		return;
	}
	if (m->n == m->cap) {   /* both arrays grow together, and only when full */
		m->names = xgrow(m->names, sizeof(*m->names), m->n + 1, &m->cap);
		m->values = xrealloc(m->values, m->cap * sizeof(*m->values));
	}
	m->names[m->n] = xstrdup(name);
	m->values[m->n] = v;
	m->n++;
	nf_strmap_put(m->index, m->names[m->n - 1], (void *)(uintptr_t)m->n);
}

static void
add_warning(nf_metric_set *m, char *msg)
{
	NF_PUSH(m->warnings, m->nwarnings, m->wcap, msg);
}

/* A name with a control character (a newline, a tab, an escape, a C1 control such as
 * U+009B) or a byte that is not valid UTF-8 would break or play in the lines of the gate
 * table and of every listing that shows it: refused under "slices", where names come from
 * code that builds them from data values (a region read from the data set). */
static bool
has_control(const char *s)
{
	return !nf_str_visible(s);
}

/* s for an error message, its control characters escaped as JSON escapes them: the
 * message must not break the line it is printed on either. Caller frees. */
static char *
shown(const char *s)
{
	nf_buf b = NF_BUF_INIT;
	char *q;
	size_t n;

	nf_buf_add_json_string(&b, s);
	q = nf_buf_detach(&b);
	n = strlen(q);   /* at least the two quotes */
	memmove(q, q + 1, n - 2);
	q[n - 2] = '\0';
	return q;
}

/* One slice's metrics (the object under "slices" -> slice), named METRIC[slice]. Unlike
 * the top level, where a string beside the numbers is a note worth a warning, a slice
 * holds only metrics: anything else is an error, so a gate on the slices never reads a
 * slice that silently lost its value. */
static int
flatten_slice(nf_metric_set *m, const cJSON *obj, const char *prefix, const char *slice, const char *path,
	      int depth)
{
	if (depth > 32)
		return nf_error_set(NF_EINVALID, "%s: metrics nested deeper than 32 levels", path);
	for (const cJSON *it = obj->child; it; it = it->next) {
		char *name = prefix ? xasprintf("%s.%s", prefix, it->string) : xstrdup(it->string);
		int err = 0;

		if (has_control(it->string)) {
			char *a = shown(name), *b = shown(slice);

			err = nf_error_set(NF_EINVALID, "%s: metric name '%s' of slice '%s' must be without control "
					   "characters", path, a, b);
			free(a);
			free(b);
		} else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
			char *full = xasprintf("%s[%s]", name, slice);

			nf_metrics_add(m, full, it->valuedouble);
			free(full);
		} else if (cJSON_IsBool(it)) {
			char *full = xasprintf("%s[%s]", name, slice);

			nf_metrics_add(m, full, cJSON_IsTrue(it) ? 1.0 : 0.0);
			free(full);
		} else if (cJSON_IsObject(it)) {
			err = flatten_slice(m, it, name, slice, path, depth + 1);
		} else {
			err = nf_error_set(NF_EINVALID, "%s: metric '%s' of slice '%s' is %s, not a number", path, name,
					   slice, cJSON_IsNumber(it) ? "not finite" : cJSON_IsString(it) ? "a string" :
					   cJSON_IsNull(it) ? "null" : "an array");
		}
		free(name);
		if (err < 0)
			return err;
	}
	return 0;
}

static const char *
json_kind(const cJSON *it)
{
	return cJSON_IsNumber(it) ? "a number" : cJSON_IsString(it) ? "a string" : cJSON_IsArray(it) ? "an array" :
	       cJSON_IsBool(it) ? "a boolean" : cJSON_IsNull(it) ? "null" : "an object";
}

/* "slices": {"region=EU": {...}, ...}: an object of objects, each slice named by a
 * non-empty key without brackets (they delimit it in METRIC[SLICE]). */
static int
read_slices(nf_metric_set *m, const cJSON *slices, const char *path)
{
	if (!cJSON_IsObject(slices))
		return nf_error_set(NF_EINVALID, "%s: 'slices' must be an object of slices, each an object of metrics "
				    "(\"slices\": {\"region=EU\": {\"accuracy\": 0.91}}), not %s", path,
				    json_kind(slices));
	for (const cJSON *s = slices->child; s; s = s->next) {
		int err;

		if (!*s->string || strpbrk(s->string, "[]") || has_control(s->string)) {
			char *a = shown(s->string);

			err = nf_error_set(NF_EINVALID, "%s: slice name '%s' must be non-empty and without '[', ']' "
					   "or control characters", path, a);
			free(a);
			return err;
		}
		if (!cJSON_IsObject(s))
			return nf_error_set(NF_EINVALID, "%s: slice '%s' must be an object of metrics, not %s", path,
					    s->string, json_kind(s));
		if ((err = flatten_slice(m, s, NULL, s->string, path, 0)) < 0)
			return err;
	}
	return 0;
}

static int
flatten(nf_metric_set *m, const cJSON *obj, const char *prefix, const char *path, int depth)
{
	if (depth > 32)
		return nf_error_set(NF_EINVALID, "%s: metrics nested deeper than 32 levels", path);
	for (const cJSON *it = obj->child; it; it = it->next) {
		char *name = prefix ? xasprintf("%s.%s", prefix, it->string) : xstrdup(it->string);
		int err = 0;

		if (!prefix && strncmp(it->string, "slices", 7) == 0) {
			err = read_slices(m, it, path);
		} else if (cJSON_IsNumber(it)) {
			if (!isfinite(it->valuedouble))
				err = nf_error_set(NF_EINVALID, "%s: metric '%s' is not a finite number", path, name);
			else
				nf_metrics_add(m, name, it->valuedouble);
		} else if (cJSON_IsBool(it)) {
			nf_metrics_add(m, name, cJSON_IsTrue(it) ? 1.0 : 0.0);
		} else if (cJSON_IsObject(it)) {
			err = flatten(m, it, name, path, depth + 1);
		} else if (cJSON_IsNull(it)) {
			add_warning(m, xasprintf("%s: metric '%s' is null; ignored", path, name));
		} else {
			add_warning(m, xasprintf("%s: metric '%s' is %s, not a number; ignored", path, name,
						 cJSON_IsString(it) ? "a string" : "an array"));
		}
		free(name);
		if (err < 0)
			return err;
	}
	return 0;
}

/* cJSON does not accept NaN or Infinity literals (Python's json writes them), so say so
 * plainly when the parse stopped at one; the same word inside a string is no error. */
static bool
non_finite_literal_at(const char *p)
{
	if (*p == '-' || *p == '+')
		p++;
	return strncmp(p, "NaN", 3) == 0 || strncmp(p, "Infinity", 8) == 0;
}

int
nf_metrics_read(nf_metric_set *out, const char *path)
{
	char *data = NULL;
	size_t len;
	const char *end = NULL;
	cJSON *root = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = nf_read_file(&data, &len, path, METRICS_MAX_SIZE)) < 0) {
		if (err == NF_ENOTFOUND)
			nf_error_set(NF_ENOTFOUND, "metrics file '%s' does not exist", path);
		goto done;
	}
	if (len == 0 || strspn(data, " \t\r\n") == len) {
		err = nf_error_set(NF_EINVALID, "metrics file '%s' is empty", path);
		goto done;
	}
	if (memchr(data, '\0', len)) {
		err = nf_error_set(NF_EINVALID, "metrics file '%s' is not JSON (it contains a NUL byte)", path);
		goto done;
	}
	/* len + 1: cJSON's require_null_terminated looks for the NUL inside the length, and
	 * with it an input that ends early fails at data + len (reported as truncated). */
	root = cJSON_ParseWithLengthOpts(data, len + 1, &end, true);
	if (!root) {
		int line = 1, col = 1;
		const char *at = end ? end : cJSON_GetErrorPtr();

		if (!at || at < data || at > data + len)
			at = data + len;
		for (const char *p = data; p < at; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (at < data + len && non_finite_literal_at(at))
			err = nf_error_set(NF_EINVALID, "metrics file '%s':%d:%d: NaN and Infinity are not valid metric values",
					   path, line, col);
		else if (at >= data + len)
			err = nf_error_set(NF_EINVALID, "metrics file '%s':%d:%d: invalid JSON: unexpected end of file (truncated?)",
					   path, line, col);
		else
			err = nf_error_set(NF_EINVALID, "metrics file '%s':%d:%d: invalid JSON", path, line, col);
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		err = nf_error_set(NF_EINVALID, "metrics file '%s' must hold a JSON object of numbers", path);
		goto done;
	}
	err = flatten(out, root, NULL, path, 0);
done:
	if (err < 0)
		nf_metric_set_release(out);
	cJSON_Delete(root);
	free(data);
	return err;
}

int
nf_metrics_get(const nf_metric_set *m, const char *name, double *value)
{
	uintptr_t at = (uintptr_t)nf_strmap_get(m->index, name);

	if (!at)
		return NF_ENOTFOUND;
	*value = m->values[at - 1];
	return 0;
}

void
nf_metrics_slices(const nf_metric_set *m, const char *metric, nf_expr_slice **out, size_t *n)
{
	size_t ml = strlen(metric), cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *name = m->names[i];
		size_t len = strlen(name);

		if (len > ml + 2 && strncmp(name, metric, ml) == 0 && name[ml] == '[' && name[len - 1] == ']') {
			nf_expr_slice s = { xstrndup(name + ml + 1, len - ml - 2), m->values[i] };

			NF_PUSH(*out, *n, cap, s);
		}
	}
}

void
nf_metrics_slices_free(nf_expr_slice *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)s[i].slice);
	free(s);
}

void
nf_metric_set_release(nf_metric_set *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i]);
	free(m->names);
	free(m->values);
	free(m->warnings);
	nf_strmap_free(m->index);
	memset(m, 0, sizeof(*m));
}
