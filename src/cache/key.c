/* key.c: cache keys and their explanation. Components are kept as canonical JSON (keys
 * sorted at every level) so that equal inputs give equal bytes, and two component sets can
 * be compared section by section to say why a stage ran. */
#include "config.h"
#include "ntflow/cachekey.h"
#include "cache-internal.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* A member of a section: its name and value as offsets into the builder's text (which
 * moves as it grows), sorted and de-duplicated at finish. */
typedef struct key_member {
	size_t name, value;
	size_t seq;          /* the order of puts: of two with one name the later wins */
} key_member;

/* In the order a miss is explained; identity last, as entries are compared within one
 * pipeline's stage, where it only changes with the scheme. */
static const char *const sections[] = { "params", "inputs", "upstream", "matrix", "env", "identity" };
enum { SEC_PARAMS, SEC_INPUTS, SEC_UPSTREAM, SEC_MATRIX, SEC_ENV, SEC_IDENTITY, NSEC };

/* The components are written straight as the canonical JSON text, without building a cJSON
 * tree per stage: the same bytes cJSON_PrintUnformatted gives for the object with its keys
 * sorted at every level (check_cachekey holds the two equal), so keys stay those of earlier
 * versions. The names and values put are copied into one buffer, not one allocation each,
 * and a builder is reset for the next key rather than made again (a stage's key was 14
 * allocations and as many frees). */
struct nf_keyb {
	nf_buf text;         /* the names and values put, each NUL-terminated */
	bool has_command;
	size_t command;      /* offset of the command in text */
	key_member *m[NSEC];
	size_t n[NSEC], cap[NSEC];
	size_t seq;
	nf_buf out;          /* the JSON being written by finish */
};

nf_keyb *
nf_keyb_new(void)
{
	return xcalloc(1, sizeof(nf_keyb));
}

void
nf_keyb_reset(nf_keyb *k)
{
	nf_buf_reset(&k->text);
	k->has_command = false;
	for (int s = 0; s < NSEC; s++)
		k->n[s] = 0;
	k->seq = 0;
}

void
nf_keyb_free(nf_keyb *k)
{
	if (!k)
		return;
	nf_buf_release(&k->text);
	nf_buf_release(&k->out);
	for (int s = 0; s < NSEC; s++)
		free(k->m[s]);
	free(k);
}

/* s copied into k's text, NUL-terminated: its offset. */
static size_t
text_add(nf_keyb *k, const char *s)
{
	size_t at = k->text.len;

	nf_buf_add(&k->text, s, strlen(s) + 1);   /* its NUL is the text's */
	return at;
}

static const char *
text_at(const nf_keyb *k, size_t off)
{
	return k->text.buf + off;
}

void
nf_keyb_command(nf_keyb *k, const char *command)
{
	k->command = text_add(k, command);
	k->has_command = true;
}

static void
put(nf_keyb *k, int sec, const char *name, const char *value)
{
	key_member m;

	m.name = text_add(k, name);
	m.value = text_add(k, value);
	m.seq = k->seq++;
	NF_PUSH(k->m[sec], k->n[sec], k->cap[sec], m);
}

void nf_keyb_env(nf_keyb *k, const char *n, const char *v) { put(k, SEC_ENV, n, v); }
void nf_keyb_matrix(nf_keyb *k, const char *n, const char *v) { put(k, SEC_MATRIX, n, v); }
void nf_keyb_param(nf_keyb *k, const char *n, const char *v) { put(k, SEC_PARAMS, n, v); }
void nf_keyb_input(nf_keyb *k, const char *p, const char *id) { put(k, SEC_INPUTS, p, id); }
void nf_keyb_upstream(nf_keyb *k, const char *n, const char *d) { put(k, SEC_UPSTREAM, n, d); }

void
nf_keyb_identity(nf_keyb *k, const char *pipeline, const char *stage, const char *instance)
{
	put(k, SEC_IDENTITY, "pipeline", pipeline ? pipeline : "");
	put(k, SEC_IDENTITY, "stage", stage ? stage : "");
	put(k, SEC_IDENTITY, "instance", instance ? instance : "");
}

static int
cmp_members(const nf_keyb *k, const key_member *x, const key_member *y)
{
	int c = strcmp(text_at(k, x->name), text_at(k, y->name));

	return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* qsort_r's comparison: the builder whose text the offsets are into. */
static int
cmp_members_r(const void *a, const void *b, void *k)
{
	return cmp_members(k, a, b);
}

/* A JSON string as cJSON prints it: '"', '\\' and the control characters escaped (\b \f \n
 * \r \t by name, the others as \u00xx), every other byte as it is. */
void
nf_cachekey_json_string(nf_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	nf_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const unsigned char *run = p;

		while (nf_json_plain[*p])
			p++;   /* a run that needs no escape, added at once */
		if (p > run)
			nf_buf_add(b, run, (size_t)(p - run));
		if (!*p)
			break;
		switch (*p) {
		case '"': nf_buf_puts(b, "\\\""); break;
		case '\\': nf_buf_puts(b, "\\\\"); break;
		case '\b': nf_buf_puts(b, "\\b"); break;
		case '\f': nf_buf_puts(b, "\\f"); break;
		case '\n': nf_buf_puts(b, "\\n"); break;
		case '\r': nf_buf_puts(b, "\\r"); break;
		case '\t': nf_buf_puts(b, "\\t"); break;
		default:
			if (*p < 32) {
				nf_buf_puts(b, "\\u00");
				nf_buf_putc(b, hex[*p >> 4]);
				nf_buf_putc(b, hex[*p & 15]);
			} else {
				nf_buf_putc(b, (char)*p);
			}
		}
	}
	nf_buf_putc(b, '"');
}

/* "name":{members sorted by name, the last put of a name kept} */
static void
json_section(nf_buf *b, nf_keyb *k, int sec)
{
	key_member *m = k->m[sec];
	size_t n = k->n[sec];
	bool first = true;

	if (n > 16) {   /* an empty section has no array: qsort's pointer must not be null */
		qsort_r(m, n, sizeof(*m), cmp_members_r, k);
	} else {
		/* A section holds a few members (three upstream digests, an input or two): an
		 * insertion sort, without qsort's buffer and calls through a pointer (1.2% of a
		 * cached rerun's instructions at 10 000 stages). */
		for (size_t i = 1; i < n; i++) {
			key_member x = m[i];
			size_t j = i;

			for (; j > 0 && cmp_members(k, &m[j - 1], &x) > 0; j--)
				m[j] = m[j - 1];
			m[j] = x;
		}
	}
	nf_cachekey_json_string(b, sections[sec]);
	nf_buf_puts(b, ":{");
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(text_at(k, m[i].name), text_at(k, m[i + 1].name)))
			continue;   /* replaced by a later put */
		if (!first)
			nf_buf_putc(b, ',');
		first = false;
		nf_cachekey_json_string(b, text_at(k, m[i].name));
		nf_buf_putc(b, ':');
		nf_cachekey_json_string(b, text_at(k, m[i].value));
	}
	nf_buf_putc(b, '}');
}

void
nf_sha256_of(char out[65], const void *data, size_t len)
{
	nf_sha256_buf(out, data, len);
}

/* The components in k->out. */
static void
write_components(nf_keyb *k)
{
	nf_buf *b = &k->out;

	nf_buf_reset(b);
	/* The top-level keys in strcmp order: command, env, identity, inputs, matrix, params,
	 * scheme, upstream. */
	nf_buf_puts(b, "{\"command\":");
	nf_cachekey_json_string(b, k->has_command ? text_at(k, k->command) : "");
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_ENV);
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_IDENTITY);
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_INPUTS);
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_MATRIX);
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_PARAMS);
	nf_buf_puts(b, ",\"scheme\":");
	nf_cachekey_json_string(b, NF_CACHE_KEY_SCHEME);
	nf_buf_putc(b, ',');
	json_section(b, k, SEC_UPSTREAM);
	nf_buf_putc(b, '}');
}

const char *
nf_keyb_finish_borrow(nf_keyb *k, char key[65])
{
	write_components(k);
	nf_sha256_of(key, k->out.buf, k->out.len);
	return k->out.buf;
}

void
nf_keyb_finish(nf_keyb *k, char key[65], char **components_json)
{
	*components_json = xstrdup(nf_keyb_finish_borrow(k, key));
}

static const char *
str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* "blob:3e4f1a2b..." -> "blob 3e4f1a2"; "sha256:ab12..." -> "sha256 ab12cd3". */
static void
short_id(char *out, size_t size, const char *id)
{
	const char *colon = id ? strchr(id, ':') : NULL;

	if (!id)
		snprintf(out, size, "none");
	else if (!colon)
		snprintf(out, size, "%s", id);
	else
		snprintf(out, size, "%.*s %.7s", (int)(colon - id), id, colon + 1);
}

static char *
explain_section(const char *section, const cJSON *o, const cJSON *n)
{
	/* A changed or added member first, then a removed one. */
	for (const cJSON *it = n ? n->child : NULL; it; it = it->next) {
		const char *was = str_of(o, it->string);
		char a[96], b[96];

		if (was && strcmp(was, it->valuestring) == 0)
			continue;
		if (strcmp(section, "params") == 0)
			return was ? xasprintf("param %s changed %s → %s", it->string, was, it->valuestring)
				   : xasprintf("param %s is new (%s)", it->string, it->valuestring);
		if (strcmp(section, "matrix") == 0)
			return was ? xasprintf("matrix value %s changed %s → %s", it->string, was, it->valuestring)
				   : xasprintf("matrix key %s is new", it->string);
		if (strcmp(section, "env") == 0)
			return xasprintf("env %s changed", it->string);
		if (strcmp(section, "upstream") == 0)
			return xasprintf("upstream %s produced different outputs", it->string);
		if (strcmp(section, "identity") == 0)
			return was ? xasprintf("the %s changed (%s → %s)", it->string, was, it->valuestring)
				   : xasprintf("the %s is new (%s)", it->string, it->valuestring);
		short_id(a, sizeof(a), was);
		short_id(b, sizeof(b), it->valuestring);
		if (!was)
			return xasprintf("input %s is new (%s)", it->string, b);
		if (strcmp(it->valuestring, "missing") == 0)
			return xasprintf("input %s was removed", it->string);
		/* "blob 3e4f1a2 → 9a1b7c0": the kind once when both ids are of the same kind. */
		if (strchr(a, ' ') && strchr(b, ' ') && strchr(a, ' ') - a == strchr(b, ' ') - b &&
		    strncmp(a, b, (size_t)(strchr(a, ' ') - a)) == 0)
			return xasprintf("input %s changed (%s → %s)", it->string, a, strchr(b, ' ') + 1);
		return xasprintf("input %s changed (%s → %s)", it->string, a, b);
	}
	for (const cJSON *it = o ? o->child : NULL; it; it = it->next) {
		if (cJSON_GetObjectItemCaseSensitive(n, it->string))
			continue;
		if (strcmp(section, "inputs") == 0)
			return xasprintf("input %s is no longer declared", it->string);
		if (strcmp(section, "upstream") == 0)
			return xasprintf("upstream %s is no longer needed", it->string);
		return xasprintf("%s %s was removed", strcmp(section, "params") == 0 ? "param" : section, it->string);
	}
	return NULL;
}

char *
nf_key_explain(const char *old_json, const char *new_json)
{
	cJSON *o = old_json ? cJSON_Parse(old_json) : NULL;
	cJSON *n = new_json ? cJSON_Parse(new_json) : NULL;
	char *why = NULL;

	if (!o) {
		why = xstrdup("no earlier run");
		goto done;
	}
	if (!n || !str_of(o, "scheme") || strcmp(str_of(o, "scheme"), str_of(n, "scheme") ? str_of(n, "scheme") : "") != 0) {
		why = xstrdup("the cache key scheme changed");
		goto done;
	}
	for (size_t i = 0; i < NF_ARRAY_SIZE(sections) && !why; i++) {
		why = explain_section(sections[i], cJSON_GetObjectItemCaseSensitive(o, sections[i]),
				      cJSON_GetObjectItemCaseSensitive(n, sections[i]));
		/* A param change also changes the command; the param is the better answer. */
		if (i == 0 && why)
			goto done;
	}
	if (!why && strcmp(str_of(o, "command") ? str_of(o, "command") : "", str_of(n, "command") ? str_of(n, "command") : "") != 0)
		why = xstrdup("command changed");
	if (!why)
		why = xstrdup("the last result with these inputs is no longer in the cache");
done:
	cJSON_Delete(o);
	cJSON_Delete(n);
	return why;
}
