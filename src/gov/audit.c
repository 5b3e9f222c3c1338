/* audit.c: the tamper-evident audit log. Records are appended to a hash chain (each
 * record's hash covers its contents and the previous record's hash), each finished run gets
 * a Merkle root over its records, and verify walks both to find the first record that was
 * edited, deleted or inserted. With NTFLOW_AUDIT_KEY the hashes are HMACs, so whoever can
 * write the database but not read the key cannot forge a consistent chain. */
#include "config.h"
#include "ntflow/gov.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Key files are small; a large one is a mistake (a data file named by accident). */
#define AUDIT_KEY_MAX (64 * 1024)

static const char zero_hash[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct nf_audit {
	nf_store *st;
	unsigned char *key;         /* NULL: plain SHA-256 */
	size_t keylen;
	/* Node records deferred (nf_audit_defer_node): the payload of the "nodes" record so
	 * far, without its closing "]}", how many nodes it lists, and their run. */
	nf_buf pend;
	size_t npend;
	int64_t pend_run;
};

/* ---- canonical JSON ---- */

static int
cmp_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* n in decimal as "%" PRId64 gives, then end (when not NUL), without a printf per number:
 * printf cost more than the rest of a node record's canonical JSON. */
static void
put_int(nf_buf *b, int64_t n, char end)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	if (end)
		*--p = end;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	nf_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
canon_number(nf_buf *b, double v)
{
	/* Integers (the common case: ids, times, counts) without a fraction; anything else
	 * with enough digits to round-trip. Non-finite numbers are not JSON: null. */
	if (v != v || v > 1e308 || v < -1e308)
		nf_buf_puts(b, "null");
	else if (v == (double)(int64_t)v && v > -9007199254740992.0 && v < 9007199254740992.0)
		put_int(b, (int64_t)v, '\0');
	else {
		/* The shortest form that reads back as the same double: 0.1, not 0.10000000000000001. */
		char tmp[32];

		for (int prec = 15; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		nf_buf_puts(b, tmp);
	}
}

static void
canon(nf_buf *b, const cJSON *j)
{
	if (cJSON_IsObject(j)) {
		const cJSON **kids = NULL;
		size_t n = 0, cap = 0;

		for (const cJSON *it = j->child; it; it = it->next)
			NF_PUSH(kids, n, cap, it);
		if (n > 1)
			qsort(kids, n, sizeof(*kids), cmp_keys);
		nf_buf_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			if (i)
				nf_buf_putc(b, ',');
			nf_buf_add_json_string(b, kids[i]->string);
			nf_buf_putc(b, ':');
			canon(b, kids[i]);
		}
		nf_buf_putc(b, '}');
		free(kids);
	} else if (cJSON_IsArray(j)) {
		nf_buf_putc(b, '[');
		for (const cJSON *it = j->child; it; it = it->next) {
			if (it != j->child)
				nf_buf_putc(b, ',');
			canon(b, it);
		}
		nf_buf_putc(b, ']');
	} else if (cJSON_IsString(j)) {
		nf_buf_add_json_string(b, j->valuestring ? j->valuestring : "");
	} else if (cJSON_IsNumber(j)) {
		canon_number(b, j->valuedouble);
	} else if (cJSON_IsTrue(j)) {
		nf_buf_puts(b, "true");
	} else if (cJSON_IsFalse(j)) {
		nf_buf_puts(b, "false");
	} else {
		nf_buf_puts(b, "null");
	}
}

char *
nf_audit_canonical_json(const cJSON *j)
{
	nf_buf b = NF_BUF_INIT;

	canon(&b, j);
	return nf_buf_detach(&b);
}

/* ---- hashing ---- */

static void
to_hex(char out[65], const unsigned char md[32])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static bool
from_hex(unsigned char md[32], const char *s)
{
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		if (i % 2 == 0)
			md[i / 2] = (unsigned char)(v << 4);
		else
			md[i / 2] |= (unsigned char)v;
	}
	return s[64] == '\0';
}

int
nf_audit_record_hash(char out[65], int64_t seq, int64_t time_ms, int64_t run_id, const char *kind,
		     const char *payload, const char *prev_hash, const unsigned char *key, size_t keylen)
{
	nf_buf msg = NF_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok;

	/* The numbers formatted, the strings copied: printf through a payload of a few hundred
	 * bytes cost more than its hash, and printf for the numbers alone a third of it. */
	put_int(&msg, seq, '|');
	put_int(&msg, time_ms, '|');
	put_int(&msg, run_id, '|');
	nf_buf_puts(&msg, kind);
	nf_buf_putc(&msg, '|');
	nf_buf_puts(&msg, payload);
	nf_buf_putc(&msg, '|');
	nf_buf_puts(&msg, prev_hash);
	if (key)
		ok = HMAC(nf_sha256_md(), key, (int)keylen, (const unsigned char *)nf_buf_cstr(&msg), msg.len,
			  md, &mdlen) != NULL;
	else
		ok = EVP_Digest(nf_buf_cstr(&msg), msg.len, md, &mdlen, nf_sha256_md(), NULL) == 1;
	nf_buf_release(&msg);
	if (!ok || mdlen != 32)
		return nf_error_set(NF_ERROR, "cannot compute the audit record's %s", key ? "HMAC-SHA256" : "SHA-256");
	to_hex(out, md);
	return 0;
}

static int
emptied_line(void *ctx, int64_t seq, int64_t time_ms, const char *kind, const char *hash)
{
	struct { EVP_MD_CTX *md; int64_t n; } *e = ctx;
	nf_buf line = NF_BUF_INIT;
	int ok;

	put_int(&line, seq, '|');
	put_int(&line, time_ms, '|');
	nf_buf_puts(&line, kind);
	nf_buf_putc(&line, '|');
	nf_buf_puts(&line, hash);
	nf_buf_putc(&line, '\n');
	ok = EVP_DigestUpdate(e->md, nf_buf_cstr(&line), line.len);
	nf_buf_release(&line);
	e->n++;
	return ok == 1 ? 0 : nf_error_set(NF_ERROR, "cannot compute a SHA-256");
}

int
nf_audit_emptied_digest(nf_store *st, int64_t run_id, char out[65], int64_t *count)
{
	struct { EVP_MD_CTX *md; int64_t n; } e = { EVP_MD_CTX_new(), 0 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int err;

	*count = 0;
	if (!e.md || EVP_DigestInit_ex(e.md, nf_sha256_md(), NULL) != 1) {
		EVP_MD_CTX_free(e.md);
		return nf_error_set(NF_ERROR, "cannot compute a SHA-256");
	}
	if ((err = nf_store_audit_emptied_each(st, run_id, emptied_line, &e)) == 0 &&
	    (EVP_DigestFinal_ex(e.md, md, &mdlen) != 1 || mdlen != 32))
		err = nf_error_set(NF_ERROR, "cannot compute a SHA-256");
	EVP_MD_CTX_free(e.md);
	if (err < 0)
		return err;
	to_hex(out, md);
	*count = e.n;
	return 0;
}

int
nf_audit_merkle_root(char out[65], const char *const *hashes, size_t n)
{
	unsigned char (*level)[32];
	size_t m = n;

	if (n == 0) {
		unsigned char md[32];
		unsigned int mdlen = 0;

		EVP_Digest("", 0, md, &mdlen, nf_sha256_md(), NULL);
		to_hex(out, md);
		return 0;
	}
	level = xcalloc(n, sizeof(*level));
	for (size_t i = 0; i < n; i++) {
		if (!hashes[i] || !from_hex(level[i], hashes[i])) {
			free(level);
			return nf_error_set(NF_ECORRUPT, "audit record hash '%s' is not 64 hex digits",
					    hashes[i] ? hashes[i] : "(null)");
		}
	}
	/* Pairs are hashed left to right; an odd last node moves up unchanged (never paired
	 * with itself, so two different lists never share a root). */
	while (m > 1) {
		size_t k = 0;

		for (size_t i = 0; i < m; i += 2) {
			if (i + 1 < m) {
				unsigned char pair[64];
				unsigned int mdlen = 0;

				memcpy(pair, level[i], 32);
				memcpy(pair + 32, level[i + 1], 32);
				EVP_Digest(pair, 64, level[k], &mdlen, nf_sha256_md(), NULL);
			} else {
				memmove(level[k], level[i], 32);
			}
			k++;
		}
		m = k;
	}
	to_hex(out, level[0]);
	free(level);
	return 0;
}

/* ---- the key ---- */

static int
load_key(unsigned char **key, size_t *keylen)
{
	const char *path = getenv("NTFLOW_AUDIT_KEY");
	char *data = NULL;
	size_t len = 0;
	struct stat sb;
	int err;

	*key = NULL;
	*keylen = 0;
	if (!path || !*path)
		return 0;
	/* A key others can read lets them forge the chain; one they can write, replace it. */
	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
		return nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: the key file '%s' is open to other users (mode %04o);"
				    " make it private: chmod 600 '%s'", path, (unsigned)(sb.st_mode & 07777), path);
	if ((err = nf_read_file(&data, &len, path, AUDIT_KEY_MAX)) < 0) {
		char *why = xstrdup(nf_error_last());   /* the message buffer is about to be rewritten */

		nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: cannot read the key file '%s': %s", path, why);
		free(why);
		return NF_EIO;
	}
	if (len == 0) {
		free(data);
		return nf_error_set(NF_EIO, "NTFLOW_AUDIT_KEY: the key file '%s' is empty", path);
	}
	*key = (unsigned char *)data;
	*keylen = len;
	return 0;
}

/* ---- appending ---- */

int
nf_audit_open(nf_audit **out, nf_store *st)
{
	nf_audit *a = xcalloc(1, sizeof(*a));
	int err;

	*out = NULL;
	a->st = st;
	if ((err = load_key(&a->key, &a->keylen)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	nf_audit_free(a);
	return err;
}

void
nf_audit_free(nf_audit *a)
{
	if (!a)
		return;
	if (a->key)
		memset(a->key, 0, a->keylen);
	free(a->key);
	nf_buf_release(&a->pend);   /* deferred nodes not flushed are dropped, as a rollback would */
	free(a);
}

bool
nf_audit_keyed(const nf_audit *a)
{
	return a->key != NULL;
}

int
nf_audit_record_matches(const nf_audit *a, const nf_audit_record *r)
{
	bool hmac = strcmp(r->mac_kind, "hmac") == 0;
	char h[65];
	int err;

	if (hmac && !a->key)
		return nf_error_set(NF_EINVALID, "record %" PRId64 " carries an HMAC: set NTFLOW_AUDIT_KEY to the key"
				    " file to check it", r->seq);
	if (!hmac && strcmp(r->mac_kind, "plain") != 0)
		return 0;
	if ((err = nf_audit_record_hash(h, r->seq, r->time_ms, r->run_id, r->kind, r->payload, r->prev_hash,
					hmac ? a->key : NULL, a->keylen)) < 0)
		return err;
	return strcmp(h, r->hash) == 0;
}

int
nf_audit_check_emptiable(nf_store *st, int64_t run_id)
{
	nf_audit *a = NULL;
	nf_audit_record *rs = NULL;
	const nf_audit_record *pinned = NULL;
	size_t n = 0;
	char sha[65];
	int64_t count;
	int err, ok;

	if ((err = nf_audit_open(&a, st)) < 0 || (err = nf_audit_list(st, run_id, &rs, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const nf_audit_record *r = &rs[i];

		if (r->run_id != run_id) {   /* a prune record naming the run: the last one counts */
			if (!strcmp(r->kind, NF_AUDIT_PRUNE) && strstr(r->payload, "\"emptied_sha256\""))
				pinned = r;
			continue;
		}
		if (!*r->payload || (strcmp(r->kind, NF_AUDIT_NODE) && strcmp(r->kind, NF_AUDIT_NODES)))
			continue;
		/* What is emptied cannot be checked again: a record edited (or relabelled a
		 * stage's) before would be hidden for good. */
		if ((ok = nf_audit_record_matches(a, r)) <= 0) {
			err = ok < 0 ? ok : nf_error_set(NF_ECORRUPT, "audit record %" PRId64 " of run %" PRId64 " does not"
							 " match its hash: its payloads are not emptied (see ntflow audit"
							 " verify)", r->seq, run_id);
			goto done;
		}
	}
	/* Records already empty: exactly those the last prune of the run pinned, or none. */
	if ((err = nf_audit_emptied_digest(st, run_id, sha, &count)) < 0 || count == 0)
		goto done;
	ok = pinned ? nf_audit_record_matches(a, pinned) : 0;
	if (ok > 0) {
		cJSON *p = cJSON_Parse(pinned->payload);
		const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "emptied_sha256"));
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "records_emptied");

		ok = h && !strcmp(h, sha) && cJSON_IsNumber(c) && (int64_t)c->valuedouble == count;
		cJSON_Delete(p);
	}
	if (ok <= 0)
		err = ok < 0 ? ok : nf_error_set(NF_ECORRUPT, "run %" PRId64 " has emptied audit records no prune of it"
						 " accounts for: its payloads are not emptied (see ntflow audit verify)",
						 run_id);
done:
	nf_audit_record_list_free(rs, n);
	nf_audit_free(a);
	return err;
}

/* One record appended at the chain's head. */
static int
add_one(nf_audit *a, int64_t run_id, const char *kind, const char *text)
{
	char prev[65], hash[65];
	int64_t seq = 1, now = nf_now_realtime_ms();
	nf_audit_record r;
	int err;

	/* The head is read inside the batch's write transaction, so no other process can
	 * append between this read and our insert. */
	if ((err = nf_store_batch(a->st)) < 0)
		return err;
	memcpy(prev, zero_hash, sizeof(prev));
	if ((err = nf_store_audit_last(a->st, &seq, prev)) < 0)
		return err;
	seq++;
	if ((err = nf_audit_record_hash(hash, seq, now, run_id, kind, text, prev, a->key, a->keylen)) < 0)
		return err;
	r = (nf_audit_record){ .seq = seq, .time_ms = now, .run_id = run_id, .kind = (char *)kind,
			       .payload = (char *)text, .prev_hash = prev, .hash = hash,
			       .mac_kind = a->key ? "hmac" : "plain" };
	return nf_store_audit_insert(a->st, &r);
}

int
nf_audit_add_text(nf_audit *a, int64_t run_id, const char *kind, const char *text)
{
	int err;

	/* The deferred nodes first, so that the chain keeps the order things happened in. */
	if ((err = nf_audit_flush(a)) < 0)
		return err;
	return add_one(a, run_id, kind, text);
}

int
nf_audit_add(nf_audit *a, int64_t run_id, const char *kind, const cJSON *payload)
{
	char *text = payload ? nf_audit_canonical_json(payload) : xstrdup("{}");
	int err = nf_audit_add_text(a, run_id, kind, text);

	free(text);
	return err;
}

/* "name": with the comma before it when it is not the first member of the object that
 * starts at *first (set to false by the first member) */
static void
member(nf_buf *b, bool *first, const char *name)
{
	if (!*first)
		nf_buf_putc(b, ',');
	*first = false;
	nf_buf_add_json_string(b, name);
	nf_buf_putc(b, ':');
}

/* A node record's payload object appended to b: the members in canonical (bytewise) order,
 * the values as canon() writes them. */
static void
node_object(nf_buf *b, const nf_audit_node *n)
{
	bool first = true;

	nf_buf_putc(b, '{');
	member(b, &first, "attempt");
	put_int(b, n->attempt, '\0');
	member(b, &first, "cache_key");
	if (n->cache_key)
		nf_buf_add_json_string(b, n->cache_key);
	else
		nf_buf_puts(b, "null");
	if (n->has_exit) {
		member(b, &first, "exit_code");
		put_int(b, n->exit_code, '\0');
	}
	member(b, &first, "kind");
	nf_buf_add_json_string(b, n->kind);
	member(b, &first, "node");
	nf_buf_add_json_string(b, n->node);
	if (n->reason) {
		member(b, &first, "reason");
		nf_buf_add_json_string(b, n->reason);
	}
	if (n->reused_run) {
		member(b, &first, "reused_run");
		put_int(b, n->reused_run, '\0');
	}
	if (n->has_signal) {
		member(b, &first, "signal");
		put_int(b, n->signal, '\0');
	}
	member(b, &first, "state");
	nf_buf_add_json_string(b, n->state);
	nf_buf_putc(b, '}');
}

char *
nf_audit_node_payload(const nf_audit_node *n)
{
	nf_buf b = NF_BUF_INIT;

	node_object(&b, n);
	return nf_buf_detach(&b);
}

int
nf_audit_defer_node(nf_audit *a, int64_t run_id, const nf_audit_node *n)
{
	int err;

	if (a->npend && a->pend_run != run_id && (err = nf_audit_flush(a)) < 0)
		return err;
	/* {"nodes":[...]} is canonical as it stands: one key, the objects canonical. */
	nf_buf_puts(&a->pend, a->npend ? "," : "{\"nodes\":[");
	node_object(&a->pend, n);
	a->pend_run = run_id;
	if (++a->npend == NF_AUDIT_NODES_MAX)
		return nf_audit_flush(a);
	return 0;
}

int
nf_audit_flush(nf_audit *a)
{
	int err;

	if (!a || !a->npend)
		return 0;
	nf_buf_puts(&a->pend, "]}");
	err = add_one(a, a->pend_run, NF_AUDIT_NODES, nf_buf_cstr(&a->pend));
	/* Written or not, the nodes are not written again: a failed append fails the batch
	 * (its commit is refused), and a retry would put them twice in the chain. */
	nf_buf_reset(&a->pend);
	a->npend = 0;
	return err;
}

int
nf_audit_append(nf_store *st, int64_t run_id, const char *kind, const cJSON *payload)
{
	nf_audit *a = NULL;
	int err;

	if ((err = nf_audit_open(&a, st)) == 0)
		err = nf_audit_add(a, run_id, kind, payload);
	nf_audit_free(a);
	return err;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int
merkle_leaf(void *ctx, const char *hash)
{
	return nf_merkle_add_hex(ctx, hash);
}

int
nf_audit_close_run(nf_audit *a, int64_t run_id, const char *status, char root_out[65])
{
	char root[65];
	nf_merkle m;
	size_t n = 0;
	int64_t last_seq = 0;
	cJSON *p = NULL;
	int err;

	if ((err = nf_audit_flush(a)) < 0 || (err = nf_store_batch(a->st)) < 0)
		return err;
	/* streaming (merkle.c): a run's record hashes are never all held */
	nf_merkle_init(&m);
	if ((err = nf_store_audit_run_hashes_each(a->st, run_id, 0, merkle_leaf, &m, &n, &last_seq)) < 0)
		goto done;
	nf_merkle_root(&m, root);
	if ((err = nf_store_audit_root_put(a->st, run_id, root, (int64_t)n, last_seq, nf_now_realtime_ms())) < 0)
		goto done;
	/* The run-end record carries the root, so the chain protects it too. */
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "status", status);
	cJSON_AddStringToObject(p, "merkle_root", root);
	cJSON_AddNumberToObject(p, "records", (double)n);
	err = nf_audit_add(a, run_id, NF_AUDIT_RUN_END, p);
	if (err == 0 && root_out)
		memcpy(root_out, root, 65);
done:
	cJSON_Delete(p);
	return err;
}

/* ---- verification ---- */

/* The state of the walk: the last two records accepted, and the one being judged. */
typedef struct walk {
	unsigned char *key;
	size_t keylen;
	int64_t prev_seq;
	char prev_hash[65], prevprev_hash[65];
	bool have_prevprev;
	nf_audit_report *rep;
	/* The runs whose per-stage records a prune emptied, as the last prune record naming
	 * each says (the walk judges those records too, so a forged one shows), sorted by run. */
	struct emptied_run {
		int64_t run, count;
		size_t order;     /* its prune record's place in the chain */
		char sha[65];
	} *emptied;
	size_t nemptied, emptied_cap;
} walk;

static int
report(walk *w, int64_t seq, const char *fmt, ...) NF_PRINTF(3, 4);

static int
report(walk *w, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	w->rep->bad_seq = seq;
	w->rep->problem = xvasprintf(fmt, ap);
	va_end(ap);
	return 1;
}

static bool
content_matches(walk *w, const nf_audit_record *r, int64_t seq)
{
	char h[65];
	bool hmac = strcmp(r->mac_kind, "hmac") == 0;

	if (nf_audit_record_hash(h, seq, r->time_ms, r->run_id, r->kind, r->payload, r->prev_hash,
				 hmac ? w->key : NULL, w->keylen) < 0)
		return false;
	return strcmp(h, r->hash) == 0;
}

static int
by_run(const void *a, const void *b)
{
	int64_t x = ((const struct emptied_run *)a)->run, y = ((const struct emptied_run *)b)->run;

	return (x > y) - (x < y);
}

static int
by_run_order(const void *a, const void *b)
{
	const struct emptied_run *x = a, *y = b;

	if (x->run != y->run)
		return (x->run > y->run) - (x->run < y->run);
	return (x->order > y->order) - (x->order < y->order);
}

static bool
run_emptied(const walk *w, int64_t run_id)
{
	struct emptied_run key = { .run = run_id };

	return w->nemptied && bsearch(&key, w->emptied, w->nemptied, sizeof(key), by_run);
}

/* A record whose payload `prune --redact-audit` emptied: only a node or nodes record of a
 * run a prune record says it emptied. Its hash cannot be recomputed; the next record's
 * prev_hash and the run's Merkle root still hold the hash, and the prune record's
 * emptied_sha256 (checked after the walk, verify_emptied) its seq, time and kind, and which
 * records of the run are emptied. */
static bool
emptied_by_prune(const walk *w, const nf_audit_record *r)
{
	return r->payload && !*r->payload && (!strcmp(r->kind, NF_AUDIT_NODE) || !strcmp(r->kind, NF_AUDIT_NODES)) &&
	       r->run_id > 0 && run_emptied(w, r->run_id);
}

/* Judges cur, knowing the record after it (next, NULL at the end). Returns 1 when a problem
 * was reported, 0 when cur is accepted, negative on an error. */
static int
judge(walk *w, const nf_audit_record *cur, const nf_audit_record *next)
{
	bool hmac = strcmp(cur->mac_kind, "hmac") == 0, emptied = emptied_by_prune(w, cur);

	if (cur->seq > w->prev_seq + 1) {
		if (cur->seq == w->prev_seq + 2)
			return report(w, w->prev_seq + 1, "record %" PRId64 " was deleted (the chain goes from %" PRId64
				      " to %" PRId64 ")", w->prev_seq + 1, w->prev_seq, cur->seq);
		return report(w, w->prev_seq + 1, "records %" PRId64 " to %" PRId64 " were deleted (the chain goes"
			      " from %" PRId64 " to %" PRId64 ")", w->prev_seq + 1, cur->seq - 1, w->prev_seq, cur->seq);
	}
	if (!hmac && strcmp(cur->mac_kind, "plain") != 0)
		return report(w, cur->seq, "record %" PRId64 " was edited (unknown mac_kind '%s')", cur->seq, cur->mac_kind);
	if (hmac && !w->key)
		return nf_error_set(NF_EINVALID, "record %" PRId64 " carries an HMAC: set NTFLOW_AUDIT_KEY to the key"
				    " file to verify the audit log", cur->seq);
	if (!hmac && w->key)
		return report(w, cur->seq, "record %" PRId64 " is not authenticated: it has a plain SHA-256 although"
			      " NTFLOW_AUDIT_KEY is set (written without the key, or forged)", cur->seq);
	if (!emptied && !content_matches(w, cur, cur->seq)) {
		if (cur->payload && !*cur->payload)
			return report(w, cur->seq, "record %" PRId64 " was emptied (its payload is gone, and no prune"
				      " of its run says it emptied it)", cur->seq);
		if (next && strcmp(next->prev_hash, w->prev_hash) == 0)
			return report(w, cur->seq, "record %" PRId64 " was inserted (record %" PRId64 " follows record %"
				      PRId64 ")", cur->seq, next->seq, w->prev_seq);
		if (strcmp(cur->prev_hash, w->prev_hash) != 0) {
			/* Renumbered after a deletion: the record hashes right under its old number. */
			for (int64_t k = 1; k <= 16; k++) {
				if (content_matches(w, cur, cur->seq + k))
					return report(w, cur->seq, "%s deleted before record %" PRId64 " (it was record %"
						      PRId64 "; the records after it were renumbered)",
						      k == 1 ? "a record was" : "records were", cur->seq, cur->seq + k);
				/* Renumbered the other way: records were slipped in before it. */
				if (cur->seq - k >= 1 && content_matches(w, cur, cur->seq - k))
					return report(w, cur->seq - k, "record %" PRId64 " was inserted (record %" PRId64
						      " was record %" PRId64 " before the records after it were renumbered)",
						      cur->seq - k, cur->seq, cur->seq - k);
			}
		}
		return report(w, cur->seq, "record %" PRId64 " was edited (its %s does not match its contents)",
			      cur->seq, hmac ? "HMAC" : "hash");
	}
	if (strcmp(cur->prev_hash, w->prev_hash) != 0) {
		if (w->have_prevprev && strcmp(cur->prev_hash, w->prevprev_hash) == 0)
			return report(w, w->prev_seq, "record %" PRId64 " was inserted (record %" PRId64
				      " follows record %" PRId64 ")", w->prev_seq, cur->seq, w->prev_seq - 1);
		if (w->prev_seq == 0)
			return report(w, cur->seq, "record %" PRId64 " does not start the chain (records before it"
				      " were deleted)", cur->seq);
		return report(w, w->prev_seq, "record %" PRId64 " was edited or replaced (record %" PRId64
			      " does not follow it)", w->prev_seq, cur->seq);
	}
	memcpy(w->prevprev_hash, w->prev_hash, sizeof(w->prev_hash));
	w->have_prevprev = w->prev_seq > 0;
	snprintf(w->prev_hash, sizeof(w->prev_hash), "%s", cur->hash);
	w->prev_seq = cur->seq;
	w->rep->nrecords++;
	if (emptied)
		w->rep->nemptied++;
	return 0;
}

/* The Merkle roots: each against the run's records, and against its run-end record. */
static int
verify_roots(nf_store *st, walk *w)
{
	nf_audit_root *roots = NULL;
	size_t nroots = 0;
	int64_t orphan_seq = 0, orphan_run = 0;
	int err;

	if ((err = nf_audit_roots(st, 0, &roots, &nroots)) < 0)
		return err;
	for (size_t i = 0; err == 0 && i < nroots; i++) {
		int64_t run = roots[i].run_id, count = roots[i].count, last = roots[i].last_seq, seq;
		char **hs = NULL, root[65], *payload = NULL;
		size_t n = 0;
		int found;

		if ((err = nf_store_audit_run_hashes(st, run, last, &hs, &n, NULL)) < 0 ||
		    (err = nf_audit_merkle_root(root, (const char *const *)hs, n)) < 0) {
			free_strv(hs, n);
			break;
		}
		free_strv(hs, n);
		if ((int64_t)n < count)
			err = report(w, 0, "run %" PRId64 ": %" PRId64 " of its records were deleted (its Merkle root covers"
				     " %" PRId64 ", %zu remain)", run, count - (int64_t)n, count, n);
		else if ((int64_t)n > count)
			err = report(w, 0, "run %" PRId64 ": %zu records were inserted (its Merkle root covers %" PRId64
				     ", there are %zu)", run, n - (size_t)count, count, n);
		else if (strcmp(roots[i].root, root) != 0)
			err = report(w, 0, "run %" PRId64 ": its Merkle root does not match its %zu records (a record or"
				     " the root was edited)", run, n);
		if (err)
			break;
		/* The run-end record holds the same root inside the chain. */
		if ((found = nf_store_audit_run_end(st, run, &seq, &payload)) < 0) {
			err = found;
			break;
		} else if (found > 0) {
			cJSON *p = cJSON_Parse(payload ? payload : "");
			const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "merkle_root"));

			if (!r || strcmp(r, root) != 0)
				err = report(w, seq, "run %" PRId64 ": the Merkle root in its run-end record %" PRId64
					     " does not match its records", run, seq);
			cJSON_Delete(p);
			free(payload);
		} else {
			err = report(w, 0, "run %" PRId64 ": it has a Merkle root but no run-end record", run);
		}
		w->rep->nroots++;
	}
	free(roots);
	/* A run-end record whose root row was deleted. */
	if (err == 0 && (err = nf_store_audit_orphan_end(st, &orphan_seq, &orphan_run)) > 0)
		err = report(w, orphan_seq, "run %" PRId64 ": its Merkle root (table audit_roots)"
			     " was deleted", orphan_run);
	return err < 0 ? err : 0;
}

void
nf_audit_report_release(nf_audit_report *r)
{
	free(r->problem);
	memset(r, 0, sizeof(*r));
}

/* The chain as the store reads it: each record is judged once the one after it is known
 * (an insertion shows in the next record's prev_hash). */
typedef struct verify_scan {
	walk *w;
	nf_audit_record cur;
	bool have_cur;
} verify_scan;

static int
on_record(void *ctx, nf_audit_record *next)
{
	verify_scan *v = ctx;
	int err;

	if (v->have_cur) {
		if ((err = judge(v->w, &v->cur, next)) != 0)
			return err;
		nf_audit_record_release(&v->cur);
		v->have_cur = false;
	}
	if (!next)
		return 0;
	v->cur = *next;           /* taken over */
	memset(next, 0, sizeof(*next));
	v->have_cur = true;
	return 0;
}

/* A prune record that emptied its run's per-stage records: {"emptied_sha256": H,
 * "records_emptied": N, "run": R}; a later one for the same run replaces an earlier. */
static void
on_prune(void *ctx, const nf_audit_record *r, const char *next_prev_hash)
{
	walk *w = ctx;
	cJSON *p = cJSON_Parse(r->payload ? r->payload : "");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(p, "run");
	const cJSON *count = cJSON_GetObjectItemCaseSensitive(p, "records_emptied");
	const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "emptied_sha256"));

	(void)next_prev_hash;
	if (cJSON_IsNumber(run) && cJSON_IsNumber(count) && sha && strlen(sha) == 64 &&
	    strspn(sha, "0123456789abcdef") == 64) {
		struct emptied_run *e;

		/* All kept, in chain order; verify_txn keeps the last of each run. */
		w->emptied = xgrow(w->emptied, sizeof(*w->emptied), w->nemptied + 1, &w->emptied_cap);
		e = &w->emptied[w->nemptied++];
		e->run = (int64_t)run->valuedouble;
		e->count = (int64_t)count->valuedouble;
		e->order = w->nemptied;
		snprintf(e->sha, sizeof(e->sha), "%s", sha);
	}
	cJSON_Delete(p);
}

/* Each run's emptied records against its last prune record: the same records (seq), with
 * the same time, kind and hash, none more, none less. */
static int
verify_emptied(nf_store *st, walk *w)
{
	for (size_t i = 0; i < w->nemptied; i++) {
		const struct emptied_run *e = &w->emptied[i];
		char sha[65];
		int64_t n;
		int err;

		if ((err = nf_audit_emptied_digest(st, e->run, sha, &n)) < 0)
			return err;
		if (n != e->count || strcmp(sha, e->sha) != 0)
			return report(w, 0, "run %" PRId64 ": its emptied records are not those its prune emptied (%" PRId64
				      " recorded, %" PRId64 " found, or one's seq, time or kind changed)", e->run,
				      e->count, n);
	}
	return 0;
}

/* Inside one read transaction, so a run appending meanwhile does not look like an insertion. */
static int
verify_txn(void *ctx, nf_store *st)
{
	static const char *const prune_kind[] = { NF_AUDIT_PRUNE };
	verify_scan *v = ctx;
	int err;

	if ((err = nf_store_audit_scan_kinds(st, prune_kind, 1, on_prune, v->w)) != 0)
		return err > 0 ? 0 : err;
	if (v->w->nemptied > 1) {   /* by run, the last prune record of each kept */
		size_t k = 0;

		qsort(v->w->emptied, v->w->nemptied, sizeof(*v->w->emptied), by_run_order);
		for (size_t i = 0; i < v->w->nemptied; i++) {
			if (k && v->w->emptied[k - 1].run == v->w->emptied[i].run)
				k--;
			v->w->emptied[k++] = v->w->emptied[i];
		}
		v->w->nemptied = k;
	}
	if ((err = nf_store_audit_scan(st, on_record, v)) == 0 && (err = verify_roots(st, v->w)) == 0)
		err = verify_emptied(st, v->w);
	return err > 0 ? 0 : err;
}

int
nf_audit_verify(nf_store *st, nf_audit_report *out)
{
	verify_scan v = { 0 };
	walk w;
	int err;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.rep = out;
	memcpy(w.prev_hash, zero_hash, sizeof(w.prev_hash));
	if ((err = load_key(&w.key, &w.keylen)) < 0 || (err = nf_store_flush(st)) < 0)
		return err;
	v.w = &w;
	err = nf_store_read_txn(st, verify_txn, &v);
	if (v.have_cur)
		nf_audit_record_release(&v.cur);
	if (w.key)
		memset(w.key, 0, w.keylen);
	free(w.key);
	free(w.emptied);
	return err;
}
