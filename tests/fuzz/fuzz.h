/* fuzz.h: what every fuzz target in tests/fuzz/ defines and may use. Each fuzz_*.c is built
 * twice: with clang and libFuzzer by `make fuzz` (libFuzzer's main explores inputs), and by
 * `make check` with the ordinary build and driver.c, whose main feeds it every file of its
 * committed corpus (tests/fuzz/corpus/NAME/) so that each crash once found stays fixed. */
#ifndef NTFLOW_FUZZ_H
#define NTFLOW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry point libFuzzer calls with one input; 0 always (a bug aborts). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test must keep: a broken one is a crash, like a sanitizer's. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif
