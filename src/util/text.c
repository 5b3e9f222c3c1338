/* text.c: "did you mean" suggestions and durations, the small text helpers of messages, and
 * hex digests written out and read back. */
#include "config.h"
#include "ntflow/util.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Optimal string alignment distance: insertions, deletions, substitutions and swaps of
 * two adjacent characters each count 1, since "tuen" for "tune" is one slip of the hand. */
size_t
nf_edit_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *mem, *prev2, *prev, *cur, result;

	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	mem = prev2 = xmalloc(3 * (lb + 1) * sizeof(size_t));
	prev = prev2 + lb + 1;
	cur = prev + lb + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t best;
		size_t *t;

		cur[0] = i;
		best = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max) {
			free(mem);
			return max + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	result = prev[lb];
	free(mem);
	return result > max ? max + 1 : result;
}

const char *
nf_suggest(const char *word, const char *const *cands, size_t n)
{
	/* A typo is plausible within a third of the word's length (at least 1, at most 3). */
	size_t len = strlen(word), max = len / 3;
	const char *best = NULL;
	size_t best_d;

	if (max < 1)
		max = 1;
	if (max > 3)
		max = 3;
	best_d = max + 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = nf_edit_distance(word, cands[i], max);

		if (d < best_d && strcmp(word, cands[i]) != 0) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

int
nf_parse_duration(int64_t *ms, const char *s)
{
	const char *p = s;
	double total = 0;
	bool any = false;

	*ms = 0;
	while (*p) {
		size_t digits = strspn(p, "0123456789"), n = digits;
		double v, unit;

		/* Decimal digits with an optional fraction, nothing else: strtod would also take
		 * hex ("0x10"), exponents and "inf", and read ',' as the point in some locales. */
		if (p[n] == '.') {
			size_t frac = strspn(p + n + 1, "0123456789");

			digits += frac;
			n += 1 + frac;
		}
		if (!digits)
			return nf_error_set(NF_EINVALID, "invalid duration \"%s\": expected a number followed by ms, s, m, h or d", s);
		v = nf_number_value(p, n);
		p += n;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60000;
			p++;
		} else if (*p == 'h') {
			unit = 3600000;
			p++;
		} else if (*p == 'd') {
			unit = 86400000;
			p++;
		} else {
			return nf_error_set(NF_EINVALID, "invalid duration \"%s\": expected a number followed by ms, s, m, h or d", s);
		}
		total += v * unit;
		any = true;
	}
	if (!any)
		return nf_error_set(NF_EINVALID, "invalid duration \"%s\": expected a number followed by ms, s, m, h or d", s);
	if (total > 365.0 * 86400000 * 100)
		return nf_error_set(NF_EINVALID, "invalid duration \"%s\": longer than 100 years", s);
	*ms = (int64_t)llround(total);
	return 0;
}

void
nf_format_duration(char *out, size_t size, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(out, size, "%lldms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, size, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, size, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(out, size, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

/* strtod on a copy, with '.' swapped for the locale's decimal point, so that a program that
 * called setlocale() still reads "0.5" as one half. */
double
nf_number_value(const char *s, size_t n)
{
	char small[64], *copy = n < sizeof(small) ? small : xmalloc(n + 1);
	const char *dp = localeconv()->decimal_point;
	double v;

	memcpy(copy, s, n);
	copy[n] = '\0';
	if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
		char *dot = strchr(copy, '.');

		if (dot)
			*dot = dp[0];
	}
	v = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	return v;
}

/* Each byte's two digits, and each digit's value plus one (0: not a lower-case hex
 * digit): a table read per byte and per digit instead of a branch per digit, as every
 * cached stage encodes and decodes a few digests (issue 15: 1.5 percent of a no-op run). */
static const char hex_pairs[513] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const unsigned char hex_value1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

void
nf_hex_encode(char *out, const unsigned char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
	out[2 * n] = '\0';
}

int
nf_hex_decode(unsigned char *out, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++) {
		unsigned hi = hex_value1[(unsigned char)hex[2 * i]], lo;

		/* hi first: the NUL of a short string ends it before the byte past it is read */
		if (!hi || !(lo = hex_value1[(unsigned char)hex[2 * i + 1]]))
			return -1;
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return 0;
}
