/* strmap.c: open-addressing hash map from strings to pointers (FNV-1a, linear probing),
 * so that name lookups in a 100 000-stage DAG stay O(1), and its keyless form for names
 * held elsewhere (nf_nameidx); and the search of an array sorted by a string, for lookups
 * by prefix. */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>
#include <string.h>

/* 16 bytes, and one byte of the key's hash beside (tags[i]): a map of 100 000 names is
 * mostly its slots. The whole hash is not kept: a grow recomputes it for the keys it moves,
 * and the tag spares a probe the strcmp of all but one in 256 different keys. */
typedef struct slot {
	const char *key;
	void *value;
} slot;

struct nf_strmap {
	slot *slots;
	uint8_t *tags;
	size_t cap;   /* a power of two */
	size_t count;
};

#define TAG(h) ((uint8_t)((h) >> 56))

uint64_t
nf_str_hash(const char *s)
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
	while (m->cap * 4 < hint * 5)   /* hint keys fit without a grow */
		m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(slot));
	m->tags = xcalloc(m->cap, 1);
	return m;
}

void
nf_strmap_free(nf_strmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->tags);
	free(m);
}

/* The index of key's slot, or of the empty one where it would go. */
static size_t
find_slot(const slot *slots, const uint8_t *tags, size_t cap, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i].key && (tags[i] != TAG(h) || strcmp(slots[i].key, key) != 0))
		i = (i + 1) & (cap - 1);
	return i;
}

static void
grow(nf_strmap *m)
{
	size_t ncap = m->cap * 2;
	slot *ns = xcalloc(ncap, sizeof(slot));
	uint8_t *nt = xcalloc(ncap, 1);

	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key) {
			uint64_t h = nf_str_hash(m->slots[i].key);
			size_t at = find_slot(ns, nt, ncap, m->slots[i].key, h);

			ns[at] = m->slots[i];
			nt[at] = TAG(h);
		}
	}
	free(m->slots);
	free(m->tags);
	m->slots = ns;
	m->tags = nt;
	m->cap = ncap;
}

void *
nf_strmap_put(nf_strmap *m, const char *key, void *value)
{
	uint64_t h = nf_str_hash(key);
	size_t at;
	slot *s;
	void *old;

	/* Up to 4/5 full: with the tags, a probe past a full slot is one byte compared, and
	 * at 100 000 keys the slots are most of a map (issue 15: the next power of two). */
	if ((m->count + 1) * 5 > m->cap * 4)
		grow(m);
	at = find_slot(m->slots, m->tags, m->cap, key, h);
	s = &m->slots[at];
	if (!s->key) {
		s->key = key;
		s->value = value;
		m->tags[at] = TAG(h);
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
	s = &m->slots[find_slot(m->slots, m->tags, m->cap, key, nf_str_hash(key))];
	return s->key ? s->value : NULL;
}

size_t
nf_strmap_count(const nf_strmap *m)
{
	return m ? m->count : 0;
}

size_t
nf_lower_bound_str(const void *base, size_t n, size_t size, size_t offset, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = *(const char *const *)((const char *)base + mid * size + offset);

		if (strcmp(s, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
nameidx_place(nf_nameidx *x, uint32_t h, uint32_t i)
{
	size_t at = h & (x->cap - 1);

	while (x->slots[2 * at + 1])
		at = (at + 1) & (x->cap - 1);
	x->slots[2 * at] = h;
	x->slots[2 * at + 1] = i + 1;
}

void
nf_nameidx_init(nf_nameidx *x, size_t hint, nf_nameidx_name *name, const void *ctx)
{
	x->cap = 16;
	while (x->cap * 4 < hint * 5)   /* hint names fit without a grow */
		x->cap *= 2;
	x->slots = xcalloc(x->cap * 2, sizeof(uint32_t));
	x->count = 0;
	x->name = name;
	x->ctx = ctx;
}

void
nf_nameidx_free(nf_nameidx *x)
{
	free(x->slots);
	x->slots = NULL;
	x->cap = x->count = 0;
}

void
nf_nameidx_add(nf_nameidx *x, uint32_t i)
{
	if (!x->cap)   /* freed, or never made: made again, as small as made */
		nf_nameidx_init(x, 1, x->name, x->ctx);
	if ((x->count + 1) * 5 > x->cap * 4) {
		uint32_t *old = x->slots;
		size_t cap = x->cap;

		x->cap *= 2;
		x->slots = xcalloc(x->cap * 2, sizeof(uint32_t));
		for (size_t k = 0; k < cap; k++)
			if (old[2 * k + 1])
				nameidx_place(x, old[2 * k], old[2 * k + 1] - 1);
		free(old);
	}
	nameidx_place(x, (uint32_t)nf_str_hash(x->name(x->ctx, i)), i);
	x->count++;
}

uint32_t
nf_nameidx_find(const nf_nameidx *x, const char *name)
{
	uint32_t h;

	if (!x->cap)
		return 0;
	h = (uint32_t)nf_str_hash(name);
	for (size_t at = h & (x->cap - 1); x->slots[2 * at + 1]; at = (at + 1) & (x->cap - 1))
		if (x->slots[2 * at] == h && strcmp(x->name(x->ctx, x->slots[2 * at + 1] - 1), name) == 0)
			return x->slots[2 * at + 1];
	return 0;
}
