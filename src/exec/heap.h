/* heap.h: a binary min-heap of fixed-size items, private to the executor (the ready queue
 * and the timer queue of the scheduler). */
#ifndef NTFLOW_EXEC_HEAP_H
#define NTFLOW_EXEC_HEAP_H

#include <stdbool.h>
#include <stddef.h>

/* Negative when a must come out before b. */
typedef int (*nf_heap_cmp)(const void *a, const void *b, void *ctx);

typedef struct nf_heap {
	unsigned char *items;
	size_t n, cap;
	size_t size;                 /* of one item */
	nf_heap_cmp cmp;
	void *ctx;
} nf_heap;

void nf_heap_init(nf_heap *h, size_t size, nf_heap_cmp cmp, void *ctx);
void nf_heap_push(nf_heap *h, const void *item);
/* Copies the first item to out and removes it; false when empty. */
bool nf_heap_pop(nf_heap *h, void *out);
/* The first item (borrowed until the next change), or NULL when empty. */
const void *nf_heap_peek(const nf_heap *h);
void nf_heap_clear(nf_heap *h);
void nf_heap_release(nf_heap *h);

#endif
