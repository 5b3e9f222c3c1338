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

struct nf_keyb {
	cJSON *root;
};

/* In the order a miss is explained; identity last, as entries are compared within one
 * pipeline's stage, where it only changes with the scheme. */
static const char *const sections[] = { "params", "inputs", "upstream", "matrix", "env", "identity" };

nf_keyb *
nf_keyb_new(void)
{
	nf_keyb *k = xcalloc(1, sizeof(*k));

	k->root = cJSON_CreateObject();
	cJSON_AddStringToObject(k->root, "scheme", NF_CACHE_KEY_SCHEME);
	cJSON_AddStringToObject(k->root, "command", "");
	for (size_t i = 0; i < NF_ARRAY_SIZE(sections); i++)
		cJSON_AddItemToObject(k->root, sections[i], cJSON_CreateObject());
	return k;
}

void
nf_keyb_free(nf_keyb *k)
{
	if (!k)
		return;
	cJSON_Delete(k->root);
	free(k);
}

void
nf_keyb_command(nf_keyb *k, const char *command)
{
	cJSON_ReplaceItemInObjectCaseSensitive(k->root, "command", cJSON_CreateString(command));
}

static void
put(nf_keyb *k, const char *section, const char *name, const char *value)
{
	cJSON *sec = cJSON_GetObjectItemCaseSensitive(k->root, section);

	if (cJSON_GetObjectItemCaseSensitive(sec, name))
		cJSON_ReplaceItemInObjectCaseSensitive(sec, name, cJSON_CreateString(value));
	else
		cJSON_AddItemToObject(sec, name, cJSON_CreateString(value));
}

void nf_keyb_env(nf_keyb *k, const char *n, const char *v) { put(k, "env", n, v); }
void nf_keyb_matrix(nf_keyb *k, const char *n, const char *v) { put(k, "matrix", n, v); }
void nf_keyb_param(nf_keyb *k, const char *n, const char *v) { put(k, "params", n, v); }
void nf_keyb_input(nf_keyb *k, const char *p, const char *id) { put(k, "inputs", p, id); }
void nf_keyb_upstream(nf_keyb *k, const char *n, const char *d) { put(k, "upstream", n, d); }

void
nf_keyb_identity(nf_keyb *k, const char *pipeline, const char *stage, const char *instance)
{
	put(k, "identity", "pipeline", pipeline ? pipeline : "");
	put(k, "identity", "stage", stage ? stage : "");
	put(k, "identity", "instance", instance ? instance : "");
}

static int
cmp_items(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* Re-links every object's members in sorted order. */
static void
sort_object(cJSON *o)
{
	size_t n = 0, i = 0;
	cJSON **items;

	for (cJSON *it = o->child; it; it = it->next) {
		n++;
		if (cJSON_IsObject(it))
			sort_object(it);
	}
	if (n < 2)
		return;
	items = xmalloc(n * sizeof(*items));
	for (cJSON *it = o->child; it; it = it->next)
		items[i++] = it;
	qsort(items, n, sizeof(*items), cmp_items);
	for (i = 0; i < n; i++) {
		items[i]->prev = i ? items[i - 1] : items[n - 1];  /* cJSON: head's prev is the tail */
		items[i]->next = i + 1 < n ? items[i + 1] : NULL;
	}
	o->child = items[0];
	free(items);
}

void
nf_sha256_of(char out[65], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	nf_sha256_hex(out, md);
}

void
nf_keyb_finish(nf_keyb *k, char key[65], char **components_json)
{
	char *s;

	sort_object(k->root);
	s = cJSON_PrintUnformatted(k->root);
	nf_sha256_of(key, s, strlen(s));
	*components_json = xstrdup(s);
	cJSON_free(s);
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
