/* strmap.c: open-addressing hash map from strings to pointers (FNV-1a, linear probing),
 * so that name lookups in a 100 000-stage DAG stay O(1). */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>

/* 16 bytes: a map of 100 000 names is mostly its slots. The hash is not kept: it is
 * recomputed for the few keys a grow moves, and a probe past a different key mostly ends
 * at strcmp's first byte. */
typedef struct slot {
	const char *key;
	void *value;
} slot;

struct nf_strmap {
	slot *slots;
	size_t cap;   /* a power of two */
	size_t count;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

nf_strmap *
nf_strmap_new(size_t hint)
{
	nf_strmap *m = xcalloc(1, sizeof(*m));

	m->cap = 16;
	while (m->cap < hint * 2)
		m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(slot));
	return m;
}

void
nf_strmap_free(nf_strmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static slot *
find_slot(slot *slots, size_t cap, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i].key && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void
grow(nf_strmap *m)
{
	size_t ncap = m->cap * 2;
	slot *ns = xcalloc(ncap, sizeof(slot));

	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*find_slot(ns, ncap, m->slots[i].key, hash_str(m->slots[i].key)) = m->slots[i];
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
}

void *
nf_strmap_put(nf_strmap *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	slot *s;
	void *old;

	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	s = find_slot(m->slots, m->cap, key, h);
	if (!s->key) {
		s->key = key;
		s->value = value;
		m->count++;
		return NULL;
	}
	old = s->value;
	s->value = value;
	return old;
}

void *
nf_strmap_get(const nf_strmap *m, const char *key)
{
	slot *s;

	if (!m)
		return NULL;
	s = find_slot(m->slots, m->cap, key, hash_str(key));
	return s->key ? s->value : NULL;
}

size_t
nf_strmap_count(const nf_strmap *m)
{
	return m ? m->count : 0;
}
