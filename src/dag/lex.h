/* lex.h: the tokens of a .dag file, shared by the parser and the formatter (private to
 * src/dag). The lexer reports what it alone can see (bad bytes, strings, numbers). */
#ifndef NTFLOW_DAG_LEX_H
#define NTFLOW_DAG_LEX_H

#include "ntflow/dag.h"

typedef enum nf_tok_kind {
	NF_TK_EOF,
	NF_TK_NEWLINE,
	NF_TK_COMMENT,    /* '#' to the end of the line, only when the lexer keeps comments */
	NF_TK_IDENT,      /* [A-Za-z_][A-Za-z0-9_-]*, true and false included */
	NF_TK_STRING,
	NF_TK_NUMBER,
	NF_TK_LBRACE,
	NF_TK_RBRACE,
	NF_TK_LBRACKET,
	NF_TK_RBRACKET,
	NF_TK_EQUALS,
	NF_TK_COMMA,
	NF_TK_ERROR,      /* bytes that start no token; `reported` says whether the lexer said so */
} nf_tok_kind;

typedef struct nf_token {
	nf_tok_kind kind;
	const char *text;     /* first byte in the source */
	size_t len;           /* bytes; a string's quotes included */
	int line, col;
	bool reported;        /* NF_TK_ERROR: the lexer already reported it */
	bool unterminated;    /* NF_TK_STRING: no closing quote on its line (reported) */
} nf_token;

typedef struct nf_lexer {
	const char *path;
	const char *src, *p, *end;
	const char *line_start;
	int line;
	nf_diag_list *diags;
	bool comments;        /* return comment tokens (formatter) instead of skipping them */
} nf_lexer;

/* Prepares to lex src. A NUL byte makes the file binary: it is reported once and the
 * lexer returns only NF_TK_EOF. */
void nf_lex_init(nf_lexer *lx, const char *path, const char *src, size_t len,
		 nf_diag_list *diags, bool comments);
/* The next token; after the end, NF_TK_EOF for ever. */
void nf_lex_next(nf_lexer *lx, nf_token *t);

/* The bytes between a string token's quotes. */
const char *nf_lex_string_body(const nf_token *t, size_t *len);
/* Decodes a string token (already checked by the lexer) into literal and ${ref} segments
 * allocated in a. */
void nf_lex_string_decode(nf_tmpl *out, nf_arena *a, const nf_token *t, const char *path);
/* The source column of byte `off` of the decoded text of a string token that holds no
 * reference (escapes count as the bytes they were written with). */
int nf_lex_string_col(const nf_token *t, size_t off);
/* Appends s as a canonical string literal: quotes, \" \\ \n \t \r escaped, a literal "${"
 * written "$${". */
void nf_lex_quote(nf_buf *out, const nf_tmpl *t);

/* How a token is named in "found ..." messages: "a string", "'}'", "the end of the file". */
void nf_lex_describe(char *out, size_t size, const nf_token *t);

/* The parser, with the formatter's option of checking syntax only (no schema). */
int nf_dag_parse_opts(nf_dag **out, const char *path, const char *src, size_t len,
		      nf_diag_list *diags, bool syntax_only);

#endif
