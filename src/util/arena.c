/* arena.c: bump allocation in large chunks; a parsed DAG and its graph are freed at once. */
#include "config.h"
#include "ntflow/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN 16

typedef struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
} chunk;

struct nf_arena {
	chunk *head;
};

nf_arena *
nf_arena_new(void)
{
	return xcalloc(1, sizeof(nf_arena));
}

void
nf_arena_free(nf_arena *a)
{
	if (!a)
		return;
	for (chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void
nf_arena_reset(nf_arena *a)
{
	chunk *keep = NULL;

	if (!a)
		return;
	for (chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		if (!keep && c->size == ARENA_CHUNK)
			keep = c;   /* one chunk of the usual size serves the next use */
		else
			free(c);
	}
	if (keep) {
		keep->used = 0;
		keep->next = NULL;
	}
	a->head = keep;
}

/* n bytes at a multiple of align (a power of two, at most ARENA_ALIGN): strings take
 * align 1, so a short name costs its length and not a 16-byte slot. Not zeroed. */
static void *
arena_get(nf_arena *a, size_t n, size_t align)
{
	chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	void *p;

	if (n == 0)
		n = 1;
	if (!c || at > c->size || c->size - at < n) {
		/* Large requests get a chunk of their own so the current one keeps its free space. */
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		chunk *nc = xmalloc(sizeof(chunk) + size);

		nc->used = 0;
		nc->size = size;
		if (c && size != ARENA_CHUNK) {
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
		at = 0;
	}
	p = c->data + at;
	c->used = at + n;
	return p;
}

void *
nf_arena_alloc(nf_arena *a, size_t n)
{
	/* A size that is no multiple of 16 holds no type aligned to 16 (a type's size is a
	 * multiple of its alignment), so 8 serves it: a 24-byte template, segment or name
	 * list, of which a large pipeline holds several a stage, then takes 24 bytes, not 32. */
	void *p = arena_get(a, n, n % ARENA_ALIGN == 0 ? ARENA_ALIGN : 8);

	memset(p, 0, n);
	return p;
}

uint32_t *
nf_arena_alloc_u32(nf_arena *a, size_t n)
{
	uint32_t *p = arena_get(a, n * sizeof(uint32_t), _Alignof(uint32_t));

	memset(p, 0, n * sizeof(uint32_t));
	return p;
}

void *
nf_arena_memdup(nf_arena *a, const void *p, size_t n)
{
	void *q;

	if (n == 0)
		return NULL;
	q = nf_arena_alloc(a, n);
	memcpy(q, p, n);
	return q;
}

char *
nf_arena_strndup(nf_arena *a, const char *s, size_t n)
{
	char *p = arena_get(a, n + 1, 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
nf_arena_strdup(nf_arena *a, const char *s)
{
	return nf_arena_strndup(a, s, strlen(s));
}

char *
nf_arena_printf(nf_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *tmp, *p;

	va_start(ap, fmt);
	tmp = xvasprintf(fmt, ap);
	va_end(ap);
	p = nf_arena_strdup(a, tmp);
	free(tmp);
	return p;
}
