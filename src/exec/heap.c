/* heap.c: a binary min-heap of fixed-size items with a caller's comparison; O(log n) push
 * and pop, no allocation once it has grown to its working size. */
#include "config.h"
#include "heap.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/util.h"

#define AT(h, i) ((h)->items + (i) * (h)->size)

void
nf_heap_init(nf_heap *h, size_t size, nf_heap_cmp cmp, void *ctx)
{
	memset(h, 0, sizeof(*h));
	h->size = size;
	h->cmp = cmp;
	h->ctx = ctx;
}

/* The hole technique: the moving item stays aside (never inside the range being shifted)
 * while the others move into the hole, one copy per level instead of a swap. */
static void
sift_up(nf_heap *h, size_t i, const void *item)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->cmp(item, AT(h, parent), h->ctx) >= 0)
			break;
		memcpy(AT(h, i), AT(h, parent), h->size);
		i = parent;
	}
	memcpy(AT(h, i), item, h->size);
}

static void
sift_down(nf_heap *h, size_t i, const void *item)
{
	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= h->n)
			break;
		if (child + 1 < h->n && h->cmp(AT(h, child + 1), AT(h, child), h->ctx) < 0)
			child++;
		if (h->cmp(AT(h, child), item, h->ctx) >= 0)
			break;
		memcpy(AT(h, i), AT(h, child), h->size);
		i = child;
	}
	memcpy(AT(h, i), item, h->size);
}

void
nf_heap_push(nf_heap *h, const void *item)
{
	/* One spare cell past the items holds a moving item during pop. */
	h->items = xgrow(h->items, h->size, h->n + 2, &h->cap);
	h->n++;
	sift_up(h, h->n - 1, item);
}

bool
nf_heap_pop(nf_heap *h, void *out)
{
	if (h->n == 0)
		return false;
	memcpy(out, AT(h, 0), h->size);
	h->n--;
	if (h->n > 0) {
		/* The last item moves to the spare cell so the hole can pass over its old place. */
		memcpy(AT(h, h->n + 1), AT(h, h->n), h->size);
		sift_down(h, 0, AT(h, h->n + 1));
	}
	return true;
}

const void *
nf_heap_peek(const nf_heap *h)
{
	return h->n ? AT(h, 0) : NULL;
}

void
nf_heap_clear(nf_heap *h)
{
	h->n = 0;
}

void
nf_heap_release(nf_heap *h)
{
	free(h->items);
	h->items = NULL;
	h->n = h->cap = 0;
}
