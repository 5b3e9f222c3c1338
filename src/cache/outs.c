/* outs.c: a cache entry's outputs read from its outputs_json, [{"path","digest",
 * "uncached","mode"}], into a list. The run writes that text itself (cache-step.c,
 * hash_outputs), byte for byte as cJSON prints it; reading it back through cJSON cost a
 * tree, a dozen allocations and three searches by name per output, 6% of a fully cached
 * rerun's instructions at 10 000 stages (issue 15). So the form the run writes is read
 * here in place, and anything else (an escape in a string, white space, another member, an
 * older writer's layout) goes to cJSON as before: both give the same list. */
#include "config.h"
#include "ntflow/cachekey.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Takes a string at *p ('"' first, nothing escaped before its closing '"'), NUL-ends it
 * in place and moves *p past it. NULL when it is not such a string. */
static char *
plain_string(char **p)
{
	char *s = *p, *end;

	if (*s != '"')
		return NULL;
	/* The bytes JSON writes as they are (util's table): the run stops at '"', '\\', a
	 * control character or the NUL, and only '"' ends a string read in place. */
	for (end = s + 1; nf_json_plain[(unsigned char)*end]; end++)
		;
	if (*end != '"')
		return NULL;
	*end = '\0';
	*p = end + 1;
	return s + 1;
}

static nf_cache_out *
next_out(nf_cache_outs *o)
{
	o->v = xgrow(o->v, sizeof(*o->v), o->n + 1, &o->cap);
	memset(&o->v[o->n], 0, sizeof(o->v[o->n]));
	return &o->v[o->n++];
}

/* The fast path: o->text holds a copy of the JSON, read in place. false: not the form the
 * run writes (o->n is then meaningless). */
static bool
read_plain(nf_cache_outs *o)
{
	char *p = o->text;

	if (*p++ != '[')
		return false;
	if (*p == ']')
		return p[1] == '\0';
	for (;;) {
		nf_cache_out *out = next_out(o);
		bool seen_uncached = false;

		if (*p++ != '{')
			return false;
		for (;;) {
			char *name = plain_string(&p), *value = NULL;
			bool truth = false;

			if (!name || *p++ != ':')
				return false;
			if (strncmp(p, "true", 4) == 0) {
				truth = true;
				p += 4;
			} else if (strncmp(p, "false", 5) == 0) {
				p += 5;
			} else if (!(value = plain_string(&p))) {
				return false;
			}
			/* A member the run does not write, or one given twice: cJSON decides. */
			if (strcmp(name, "path") == 0 && value && !out->path)
				out->path = value;
			else if (strcmp(name, "digest") == 0 && value && !out->digest)
				out->digest = value;
			else if (strcmp(name, "mode") == 0 && value && !out->mode)
				out->mode = value;
			else if (strcmp(name, "uncached") == 0 && !value && !seen_uncached)
				out->uncached = truth, seen_uncached = true;
			else
				return false;
			if (*p == '}')
				break;
			if (*p++ != ',')
				return false;
		}
		p++;
		if (*p == ']')
			return p[1] == '\0';
		if (*p++ != ',')
			return false;
	}
}

/* The member's string, as cJSON_GetStringValue of cJSON_GetObjectItemCaseSensitive gives it. */
static const char *
member_string(const cJSON *item, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, name));
}

int
nf_cache_outs_read(nf_cache_outs *o, const char *json)
{
	size_t len;
	const cJSON *it;
	cJSON *tree;

	o->n = 0;
	cJSON_Delete(o->tree);
	o->tree = NULL;
	if (!json)   /* a column the store could not read (out of memory): as cJSON_Parse(NULL) */
		return nf_error_set(NF_ECORRUPT, "not a JSON array of outputs");
	len = strlen(json);
	o->text = xgrow(o->text, 1, len + 1, &o->text_cap);
	memcpy(o->text, json, len + 1);
	if (read_plain(o))
		return 0;
	o->n = 0;
	o->tree = tree = cJSON_Parse(json);
	if (!cJSON_IsArray(tree))
		return nf_error_set(NF_ECORRUPT, "not a JSON array of outputs");
	cJSON_ArrayForEach(it, tree) {
		nf_cache_out *out = next_out(o);

		out->path = member_string(it, "path");
		out->digest = member_string(it, "digest");
		out->mode = member_string(it, "mode");
		out->uncached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "uncached"));
	}
	return 0;
}

void
nf_cache_outs_release(nf_cache_outs *o)
{
	cJSON_Delete(o->tree);
	free(o->text);
	free(o->v);
	memset(o, 0, sizeof(*o));
}
