/* cachekey.h: a stage's cache key — SHA-256 over its identity (pipeline, stage, matrix
 * instance), expanded command, env, matrix values, the params it names, its inputs'
 * identities and its upstream nodes' output digests —
 * kept with its components so that a miss can be explained in words. */
#ifndef NTFLOW_CACHEKEY_H
#define NTFLOW_CACHEKEY_H

#include "ntflow/util.h"

/* Bumped whenever what enters the key changes, so old entries simply stop matching.
 * v2: the stage's identity entered the key (two stages never share an entry). */
#define NF_CACHE_KEY_SCHEME "ntflow-cache-key-v2"

typedef struct nf_keyb nf_keyb;
nf_keyb *nf_keyb_new(void);
void nf_keyb_free(nf_keyb *k);
void nf_keyb_command(nf_keyb *k, const char *command);
void nf_keyb_env(nf_keyb *k, const char *name, const char *value);
void nf_keyb_matrix(nf_keyb *k, const char *name, const char *value);
void nf_keyb_param(nf_keyb *k, const char *name, const char *value);
void nf_keyb_input(nf_keyb *k, const char *path, const char *identity);
void nf_keyb_upstream(nf_keyb *k, const char *node, const char *digest);
/* Whose key it is: the pipeline's name, the stage's name and its matrix instance id (NULL:
 * none), so that stages doing the same thing still have keys of their own. */
void nf_keyb_identity(nf_keyb *k, const char *pipeline, const char *stage, const char *instance);
/* Empties k for the next key, keeping its memory. */
void nf_keyb_reset(nf_keyb *k);
/* The key (64 hex) and the components as canonical JSON (sorted keys); caller frees both. */
void nf_keyb_finish(nf_keyb *k, char key[65], char **components_json);
/* The same, the components borrowed: valid until k is reset, finished again or freed. */
const char *nf_keyb_finish_borrow(nf_keyb *k, char key[65]);

/* Why new differs from old (both components JSON): the first reason in words, such as
 * "input data/train.csv changed (blob 3e4f1a2 → 9a1b7c0)", "param lr changed 0.01 → 0.05",
 * "upstream preprocess produced different outputs", "command changed". old NULL:
 * "no earlier run". Caller frees. */
char *nf_key_explain(const char *old_json, const char *new_json);

/* SHA-256 of data as 64 hex characters. */
void nf_sha256_of(char out[65], const void *data, size_t len);

/* Appends s as a JSON string literal exactly as cJSON prints it ('"', '\\' and the control
 * characters escaped, every other byte as it is), for JSON that cJSON reads back and that
 * must not depend on which of the two wrote it (keys, an entry's outputs). */
void nf_cachekey_json_string(nf_buf *b, const char *s);

/* A cache entry's outputs (its outputs_json: [{"path","digest","uncached","mode"}]) as a
 * list (outs.c). Each field is NULL when the output has none (or not as a string), as
 * cJSON's lookups give it; uncached is true only for "uncached":true. The strings are the
 * list's, valid until it is read again or released. */
typedef struct nf_cache_out {
	const char *path, *digest, *mode;
	bool uncached;
} nf_cache_out;
typedef struct nf_cache_outs {
	nf_cache_out *v;
	size_t n, cap;
	char *text;                  /* a copy of the JSON, its strings ended in place */
	size_t text_cap;
	void *tree;                  /* the cJSON tree, when the text was not the run's own form */
} nf_cache_outs;
#define NF_CACHE_OUTS_INIT { NULL, 0, 0, NULL, 0, NULL }
/* Reads json into o, reusing its memory: 0, or NF_ECORRUPT when it is not a JSON array. */
int nf_cache_outs_read(nf_cache_outs *o, const char *json);
void nf_cache_outs_release(nf_cache_outs *o);

#endif
