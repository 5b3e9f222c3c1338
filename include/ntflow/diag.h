/* diag.h: compiler-style diagnostics (file:line:col: error: ...) collected in one pass
 * and printed by the command that asked for them. */
#ifndef NTFLOW_DIAG_H
#define NTFLOW_DIAG_H

#include <stdio.h>
#include "ntflow/util.h"

/* A position in a source file; line and col count from 1 (col in bytes). 8 bytes, as a
 * large pipeline holds about ten a stage: the file is a number in a process-wide table of
 * the paths named (nf_loc_at adds a path once; nf_loc_file reads it; 0: no file), and a
 * column past 65535 is held as 65535. */
typedef struct nf_loc {
	int line;
	uint16_t col;
	uint16_t file;
} nf_loc;
/* The loc of line and col in file (NULL: none). */
nf_loc nf_loc_at(const char *file, int line, int col);
/* loc's file, or NULL when it has none (an unset loc). Lives as long as the process. */
const char *nf_loc_file(nf_loc loc);

typedef enum { NF_DIAG_ERROR, NF_DIAG_WARNING, NF_DIAG_NOTE } nf_diag_level;

typedef struct nf_diag {
	nf_diag_level level;
	char *file;  /* owned copy; NULL for a message with no place */
	int line, col;
	char *msg;
} nf_diag;

/* Past this many errors a file is abandoned with one last "too many errors" line,
 * so that hundreds of megabytes of garbage cost little. */
#define NF_DIAG_MAX_ERRORS 50

typedef struct nf_diag_list {
	nf_diag *items;
	size_t n, cap;
	size_t nerrors;
	bool full;   /* NF_DIAG_MAX_ERRORS reached: callers should stop */
} nf_diag_list;
#define NF_DIAG_LIST_INIT { NULL, 0, 0, 0, false }

/* Adds a diagnostic; a NOTE attaches to the error before it. Ignored once full. */
void nf_diag_add(nf_diag_list *l, nf_diag_level level, nf_loc loc, const char *fmt, ...) NF_PRINTF(4, 5);
void nf_diag_error(nf_diag_list *l, nf_loc loc, const char *fmt, ...) NF_PRINTF(3, 4);
void nf_diag_note(nf_diag_list *l, nf_loc loc, const char *fmt, ...) NF_PRINTF(3, 4);
/* Prints "file:line:col: error: msg" lines in the order they were added. */
void nf_diag_print(const nf_diag_list *l, FILE *f);
void nf_diag_list_release(nf_diag_list *l);

#endif
