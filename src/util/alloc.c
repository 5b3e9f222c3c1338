/* alloc.c: allocation that aborts with a message instead of returning NULL, so that no
 * caller has an out-of-memory path it never tests. */
#include "config.h"
#include "ntflow/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

static NF_NORETURN void
out_of_memory(size_t n)
{
	fprintf(stderr, "ntflow: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

void *
xgrow(void *items, size_t elem, size_t need, size_t *cap)
{
	size_t c = *cap;

	if (need <= c)
		return items;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			out_of_memory(SIZE_MAX);
		c *= 2;
	}
	items = xrealloc(items, c * elem);
	*cap = c;
	return items;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	char *p;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		out_of_memory(0);
	p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
nf_memory_trim(void)
{
#ifdef HAVE_MALLOC_TRIM
	/* glibc returns only the top of its heap on free(); the pages of free chunks below
	 * live data stay resident until malloc_trim hands them back (MADV_DONTNEED). */
	malloc_trim(0);
#endif
}
