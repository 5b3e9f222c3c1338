/* check_audit.c: unit tests of the audit log: canonical JSON, the record hash and its HMAC
 * against values computed independently, the Merkle root of small lists worked out by
 * hand, and verification catching an edited, deleted or inserted record, a recomputed
 * plain chain under a key, and tampered run roots. */
#include "config.h"
#include "ntflow/gov.h"
#include "ntflow/cachekey.h"

#include <check.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* The store's internals: these tests reach the raw database, to tamper with it as someone
 * editing state.db would, or to look at what no typed function shows. */
#include "../../src/store/store-internal.h"

static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* SHA-256 of "a", "b", "c", "d", "e" (sha256sum of each one-letter file without newline). */
static const char *const leaf[5] = {
	"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
	"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
	"2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
	"18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4",
	"3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea",
};

static void
hex(char out[65], const unsigned char md[32])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static void
unhex(unsigned char md[32], const char *s)
{
	for (int i = 0; i < 32; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		md[i] = (unsigned char)v;
	}
}

/* SHA-256(left || right) of two hex hashes: one inner node of the tree, by hand. */
static void
pair(char out[65], const char *l, const char *r)
{
	unsigned char buf[64], md[32];
	unsigned int len = 0;

	unhex(buf, l);
	unhex(buf + 32, r);
	ck_assert_int_eq(EVP_Digest(buf, 64, md, &len, EVP_sha256(), NULL), 1);
	hex(out, md);
}

START_TEST(test_merkle_by_hand)
{
	char root[65], ab[65], cd[65], abcd[65], abc[65], want[65];

	/* One leaf: the root is the leaf. None: SHA-256 of nothing. */
	ck_assert_int_eq(nf_audit_merkle_root(root, leaf, 1), 0);
	ck_assert_str_eq(root, leaf[0]);
	ck_assert_int_eq(nf_audit_merkle_root(root, NULL, 0), 0);
	ck_assert_str_eq(root, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	/* Two: H(a||b). */
	pair(ab, leaf[0], leaf[1]);
	ck_assert_str_eq(ab, "e5a01fee14e0ed5c48714f22180f25ad8365b53f9779f79dc4a3d7e93963f94a");
	ck_assert_int_eq(nf_audit_merkle_root(root, leaf, 2), 0);
	ck_assert_str_eq(root, ab);

	/* Three: c has no partner and moves up unchanged: H(H(a||b) || c). */
	pair(abc, ab, leaf[2]);
	ck_assert_str_eq(abc, "7075152d03a5cd92104887b476862778ec0c87be5c2fa1c0a90f87c49fad6eff");
	ck_assert_int_eq(nf_audit_merkle_root(root, leaf, 3), 0);
	ck_assert_str_eq(root, abc);

	/* Five: H(H(H(a||b) || H(c||d)) || e). */
	pair(cd, leaf[2], leaf[3]);
	pair(abcd, ab, cd);
	pair(want, abcd, leaf[4]);
	ck_assert_str_eq(want, "d71f8983ad4ee170f8129f1ebcdd7440be7798d8e1c80420bf11f1eced610dba");
	ck_assert_int_eq(nf_audit_merkle_root(root, leaf, 5), 0);
	ck_assert_str_eq(root, want);

	/* Duplicating the odd leaf would give another root: the lists [a,b,c] and [a,b,c,c]
	 * must not collide. */
	{
		const char *four[4] = { leaf[0], leaf[1], leaf[2], leaf[2] };

		ck_assert_int_eq(nf_audit_merkle_root(root, four, 4), 0);
		ck_assert_str_ne(root, abc);
	}
	{
		const char *bad[2] = { leaf[0], "xyz" };

		ck_assert_int_eq(nf_audit_merkle_root(root, bad, 2), NF_ECORRUPT);
		ck_assert_str_eq(nf_error_last(), "audit record hash 'xyz' is not 64 hex digits");
	}
}
END_TEST

START_TEST(test_record_hash)
{
	char h[65];

	/* printf '1|1000|7|node|{"a":1}|%064d' 0 | sha256sum */
	ck_assert_int_eq(nf_audit_record_hash(h, 1, 1000, 7, "node", "{\"a\":1}", zeros, NULL, 0), 0);
	ck_assert_str_eq(h, "5c689a3568be4f3e917297819d4e27ebc4238017674b3901db1553e4f111b75b");
	/* ... | openssl dgst -sha256 -hmac secret */
	ck_assert_int_eq(nf_audit_record_hash(h, 1, 1000, 7, "node", "{\"a\":1}", zeros,
					      (const unsigned char *)"secret", 6), 0);
	ck_assert_str_eq(h, "df9de434a5f243c3326e5d8e48d83f4272f9a764064328922c754b1fab9eb11b");
	/* The numbers as printf("%" PRId64) writes them (they are formatted without it): zero,
	 * negative, the extremes. */
	{
		const int64_t nums[][3] = { { 0, 0, 0 }, { -1, -1000, 9 }, { INT64_MAX, INT64_MIN, 1234567890123 } };

		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			char want[65], *msg = xasprintf("%" PRId64 "|%" PRId64 "|%" PRId64 "|node|{}|%s", nums[i][0],
						       nums[i][1], nums[i][2], zeros);

			nf_sha256_of(want, msg, strlen(msg));
			ck_assert_int_eq(nf_audit_record_hash(h, nums[i][0], nums[i][1], nums[i][2], "node", "{}", zeros,
							      NULL, 0), 0);
			ck_assert_str_eq(h, want);
			free(msg);
		}
	}
}
END_TEST

START_TEST(test_canonical_json)
{
	cJSON *o = cJSON_Parse("{\"b\": [3, 1.5, \"x\\ny\"], \"a\": {\"z\": true, \"c\": null},"
			       " \"B\": 0.1, \"n\": -42, \"big\": 12345678901234, \"t\": \"q\\\"\\t\\u0001\"}");
	char *s;

	ck_assert_ptr_nonnull(o);
	s = nf_audit_canonical_json(o);
	ck_assert_str_eq(s, "{\"B\":0.1,\"a\":{\"c\":null,\"z\":true},\"b\":[3,1.5,\"x\\ny\"],"
			    "\"big\":12345678901234,\"n\":-42,\"t\":\"q\\\"\\t\\u0001\"}");
	free(s);
	cJSON_Delete(o);
}
END_TEST

/* A node record's payload written without cJSON is the canonical JSON of the same object,
 * byte for byte, whichever members are present. */
START_TEST(test_node_payload)
{
	static const char *const names[] = { "train", "tune[lr=0.1]", "q\"uo\\te\n\x01", "caf\xc3\xa9 \xff" };

	for (int mask = 0; mask < 32; mask++) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			nf_audit_node n = { .node = names[i], .kind = "stage", .state = "cached", .attempt = mask };
			cJSON *o = cJSON_CreateObject();
			char *want, *got;

			if (mask & 1)
				n.cache_key = "83758e6137040d63477c1d93c7954ee5d5158c5d2023f70898375afb1ba84644";
			if (mask & 2)
				n.reused_run = 4096 + mask;
			if (mask & 4) {
				n.has_exit = true;
				n.exit_code = mask & 8 ? -1 : 3;
			} else if (mask & 8) {
				n.has_signal = true;
				n.signal = 9;
			}
			if (mask & 16)
				n.reason = names[(i + 2) % 4];
			cJSON_AddStringToObject(o, "node", n.node);
			cJSON_AddStringToObject(o, "kind", n.kind);
			cJSON_AddStringToObject(o, "state", n.state);
			cJSON_AddNumberToObject(o, "attempt", n.attempt);
			if (n.cache_key)
				cJSON_AddStringToObject(o, "cache_key", n.cache_key);
			else
				cJSON_AddNullToObject(o, "cache_key");
			if (n.reused_run)
				cJSON_AddNumberToObject(o, "reused_run", (double)n.reused_run);
			if (n.has_exit)
				cJSON_AddNumberToObject(o, "exit_code", n.exit_code);
			if (n.has_signal)
				cJSON_AddNumberToObject(o, "signal", n.signal);
			if (n.reason)
				cJSON_AddStringToObject(o, "reason", n.reason);
			want = nf_audit_canonical_json(o);
			got = nf_audit_node_payload(&n);
			ck_assert_str_eq(got, want);
			free(want);
			free(got);
			cJSON_Delete(o);
		}
	}
}
END_TEST

/* Bytes that are not UTF-8 (in keys and values) are \u00XX escapes, so the canonical text,
 * which is hashed and exported, is always UTF-8; valid characters stay as they are. */
START_TEST(test_canonical_json_not_utf8)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ "a\xff\xfe" "b", "a\\u00ff\\u00fe" "b" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82" },
		{ "\xc0\x80", "\\u00c0\\u0080" },             /* overlong NUL */
		{ "\xed\xa0\x80", "\\u00ed\\u00a0\\u0080" },   /* a surrogate */
		{ "\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080" },   /* past U+10FFFF */
		{ "x\xe2\x82", "x\\u00e2\\u0082" },           /* cut short */
		{ "\x80\xc3\xa9", "\\u0080\xc3\xa9" },       /* a stray continuation byte */
	};

	for (size_t i = 0; i < NF_ARRAY_SIZE(cases); i++) {
		cJSON *o = cJSON_CreateObject();
		char *s, *want;

		cJSON_AddStringToObject(o, "k", cases[i].value);
		cJSON_AddStringToObject(o, cases[i].value, "v");
		want = xasprintf("{\"%s\":\"v\",\"k\":\"%s\"}", cases[i].want, cases[i].want);
		s = nf_audit_canonical_json(o);
		if (strcmp(cases[i].value, "k") > 0) {   /* keys sort bytewise, as stored */
			free(want);
			want = xasprintf("{\"k\":\"%s\",\"%s\":\"v\"}", cases[i].want, cases[i].want);
		}
		ck_assert_msg(strcmp(s, want) == 0, "case %zu: %s, expected %s", i, s, want);
		free(s);
		/* what every JSON output prints goes through the same rule */
		s = nf_json_print(o, false);
		ck_assert_msg(strstr(s, cases[i].want) != NULL, "case %zu: printed %s", i, s);
		free(s);
		free(want);
		cJSON_Delete(o);
	}
}
END_TEST

/* ---- chains in a real database ---- */

static char tmpdir[64], dbpath[128], keypath[128];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/check_audit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	snprintf(keypath, sizeof(keypath), "%s/audit.key", tmpdir);
	unsetenv("NTFLOW_AUDIT_KEY");
}

static void
teardown(void)
{
	char cmd[128];

	unsetenv("NTFLOW_AUDIT_KEY");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void
raw_exec(nf_store *st, const char *sql)
{
	sqlite3 *db = st->db;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
}

/* n records: run 1 (start, nodes, end with its root) then records of no run. */
static nf_store *
make_chain(int n)
{
	nf_store *st;
	nf_audit *a;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_audit_open(&a, st), 0);
	for (int i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddNumberToObject(p, "i", i);
		cJSON_AddStringToObject(p, "node", "train");
		ck_assert_int_eq(nf_audit_add(a, i < 4 ? 1 : 0, i == 0 ? NF_AUDIT_RUN_START : NF_AUDIT_NODE, p), 0);
		cJSON_Delete(p);
		if (i == 3)
			ck_assert_int_eq(nf_audit_close_run(a, 1, "succeeded", NULL), 0);
	}
	nf_audit_free(a);
	ck_assert_int_eq(nf_store_flush(st), 0);
	return st;
}

/* Verifies; returns the problem's record (0: sound, -1 a run's root) and checks the text. */
static int64_t
verify(nf_store *st, const char *want)
{
	nf_audit_report rep;
	int64_t bad;

	ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
	if (!want)
		ck_assert_msg(rep.problem == NULL, "unexpected problem: %s", rep.problem);
	else
		ck_assert_msg(rep.problem && strstr(rep.problem, want), "problem '%s' lacks '%s'",
			      rep.problem ? rep.problem : "(none)", want);
	bad = rep.problem ? (rep.bad_seq ? rep.bad_seq : -1) : 0;
	nf_audit_report_release(&rep);
	return bad;
}

static void
add_node(nf_audit *a, int64_t run, int i)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "i", i);
	ck_assert_int_eq(nf_audit_add(a, run, NF_AUDIT_NODE, p), 0);
	cJSON_Delete(p);
}

/* Statements that read the chain's head (SQL_AUDIT_LAST), counted through the trace hook. */
static int head_reads;

static int
count_head_reads(unsigned kind, void *ctx, void *stmt, void *x)
{
	const char *sql = sqlite3_sql((sqlite3_stmt *)stmt);

	(void)kind;
	(void)ctx;
	(void)x;
	if (sql && strstr(sql, "FROM audit ORDER BY seq DESC LIMIT 1"))
		head_reads++;
	return 0;
}

/* The head of the chain is read once per batch, not once per record; the chain stays
 * sound when two chain handles of one store append in turn within a batch, when another
 * connection (another process) appends between two batches, and after a batch that was
 * rolled back. */
START_TEST(test_head_once_per_batch)
{
	nf_store *st = NULL, *other = NULL;
	nf_audit *a = NULL, *b = NULL, *o = NULL;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_audit_open(&a, st), 0);
	ck_assert_int_eq(nf_audit_open(&b, st), 0);
	sqlite3_trace_v2(st->db, SQLITE_TRACE_STMT, count_head_reads, NULL);
	for (int i = 0; i < 10; i++)
		add_node(a, 1, i);
	ck_assert_int_eq(head_reads, 1);
	add_node(b, 0, 10);   /* a registry change during the run appends through its own handle */
	add_node(a, 1, 11);
	ck_assert_int_eq(head_reads, 1);
	ck_assert_int_eq(nf_store_flush(st), 0);

	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_audit_open(&o, other), 0);
	add_node(o, 0, 12);
	ck_assert_int_eq(nf_store_flush(other), 0);
	add_node(a, 1, 13);   /* a new batch reads the head again: record 13 follows 12 */
	ck_assert_int_eq(head_reads, 2);
	ck_assert_int_eq(nf_store_flush(st), 0);

	add_node(a, 1, 14);
	nf_store_abort(st);   /* the batch and its record dropped */
	add_node(a, 1, 15);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_audit_close_run(a, 1, "succeeded", NULL), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	sqlite3_trace_v2(st->db, 0, NULL, NULL);
	ck_assert_int_eq(verify(st, NULL), 0);
	{
		nf_audit_report rep;

		ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
		ck_assert_uint_eq(rep.nrecords, 16);   /* 0..13, 15 and the run's end; 14 rolled back */
		nf_audit_report_release(&rep);
	}
	nf_audit_free(o);
	nf_audit_free(b);
	nf_audit_free(a);
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

/* Cached nodes deferred: a "nodes" record per NF_AUDIT_NODES_MAX, written when full, before
 * any other record of the log (the order of events kept), at nf_audit_flush and when the run
 * is closed; its payload lists each node's record payload; the chain and root verify; a
 * queue nobody flushed is dropped by nf_audit_free. */
START_TEST(test_deferred_nodes)
{
	nf_store *st = NULL;
	nf_audit *a = NULL;
	nf_audit_record *rs = NULL;
	size_t n = 0;
	nf_audit_node node = { .node = "a", .kind = "task", .state = "cached", .attempt = 0,
			       .cache_key = "k", .reused_run = 1 };
	char *one = nf_audit_node_payload(&node), *want;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_audit_open(&a, st), 0);
	ck_assert_int_eq(nf_audit_add_text(a, 2, NF_AUDIT_RUN_START, "{}"), 0);
	for (int i = 0; i < NF_AUDIT_NODES_MAX + 2; i++)
		ck_assert_int_eq(nf_audit_defer_node(a, 2, &node), 0);
	ck_assert_int_eq(nf_audit_list(st, 2, &rs, &n), 0);
	ck_assert_uint_eq(n, 2);   /* the start and the first full "nodes" record */
	ck_assert_str_eq(rs[1].kind, NF_AUDIT_NODES);
	ck_assert_int_eq(strncmp(rs[1].payload, "{\"nodes\":[{", 11), 0);
	nf_audit_record_list_free(rs, n);
	ck_assert_int_eq(nf_audit_add_text(a, 2, NF_AUDIT_NODE, "{}"), 0);   /* the two queued first */
	ck_assert_int_eq(nf_audit_defer_node(a, 2, &node), 0);
	ck_assert_int_eq(nf_audit_flush(a), 0);
	ck_assert_int_eq(nf_audit_flush(a), 0);   /* nothing queued: nothing written */
	ck_assert_int_eq(nf_audit_defer_node(a, 2, &node), 0);
	ck_assert_int_eq(nf_audit_close_run(a, 2, "succeeded", NULL), 0);
	ck_assert_int_eq(nf_audit_defer_node(a, 3, &node), 0);   /* dropped by nf_audit_free */
	nf_audit_free(a);
	ck_assert_int_eq(nf_store_flush(st), 0);

	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(rs[2].kind, NF_AUDIT_NODES);
	want = xasprintf("{\"nodes\":[%s,%s]}", one, one);
	ck_assert_str_eq(rs[2].payload, want);
	free(want);
	ck_assert_str_eq(rs[3].kind, NF_AUDIT_NODE);
	want = xasprintf("{\"nodes\":[%s]}", one);
	ck_assert_str_eq(rs[4].kind, NF_AUDIT_NODES);
	ck_assert_str_eq(rs[4].payload, want);
	ck_assert_str_eq(rs[5].payload, want);   /* the one close_run wrote */
	ck_assert_str_eq(rs[6].kind, NF_AUDIT_RUN_END);
	ck_assert_ptr_nonnull(strstr(rs[6].payload, "\"records\":6"));
	free(want);
	{
		/* The payload is canonical JSON as the writer of a cJSON tree makes it. */
		cJSON *j = cJSON_Parse(rs[1].payload);
		char *c = nf_audit_canonical_json(j);

		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "nodes")), NF_AUDIT_NODES_MAX);
		ck_assert_str_eq(c, rs[1].payload);
		free(c);
		cJSON_Delete(j);
	}
	nf_audit_record_list_free(rs, n);
	ck_assert_int_eq(verify(st, NULL), 0);
	/* One node inside a "nodes" record changed: the record is named. */
	raw_exec(st, "UPDATE audit SET payload = replace(payload, '\"node\":\"a\",', '\"node\":\"b\",')"
		     " WHERE seq = 3");
	ck_assert_int_eq(verify(st, "record 3 was edited"), 3);
	free(one);
	nf_store_close(st);
}
END_TEST

START_TEST(test_chain_sound)
{
	nf_store *st = make_chain(8);
	nf_audit_report rep;
	nf_audit_record *rs;
	nf_audit_root *roots;
	size_t n, nroots;

	ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
	ck_assert_ptr_null(rep.problem);
	ck_assert_uint_eq(rep.nrecords, 9);     /* 8 and the run-end record */
	ck_assert_uint_eq(rep.nroots, 1);
	nf_audit_report_release(&rep);

	ck_assert_int_eq(nf_audit_list(st, 1, &rs, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(rs[0].prev_hash, zeros);
	ck_assert_str_eq(rs[0].kind, "run-start");
	ck_assert_str_eq(rs[4].kind, "run-end");
	ck_assert_str_eq(rs[0].mac_kind, "plain");
	ck_assert_str_eq(rs[1].prev_hash, rs[0].hash);
	ck_assert_int_eq(nf_audit_roots(st, 1, &roots, &nroots), 0);
	ck_assert_uint_eq(nroots, 1);
	ck_assert_int_eq(roots[0].count, 4);
	ck_assert_int_eq(roots[0].last_seq, 4);
	{
		/* The root is the Merkle root of the run's four records before its end. */
		const char *hs[4] = { rs[0].hash, rs[1].hash, rs[2].hash, rs[3].hash };
		char want[65];

		ck_assert_int_eq(nf_audit_merkle_root(want, hs, 4), 0);
		ck_assert_str_eq(roots[0].root, want);
		ck_assert_ptr_nonnull(strstr(rs[4].payload, want));
	}
	free(roots);
	nf_audit_record_list_free(rs, n);
	nf_store_close(st);
}
END_TEST

/* prune --redact-audit: an empty payload is accepted only on a node or nodes record of a run
 * a prune record in the chain says it emptied; the run's Merkle root still holds. */
START_TEST(test_emptied_by_prune)
{
	nf_store *st = make_chain(8);
	nf_audit_report rep;
	char sha[65];
	int64_t count;
	cJSON *p;

	raw_exec(st, "UPDATE audit SET payload = '' WHERE seq = 2");
	ck_assert_int_eq(verify(st, "record 2 was emptied (its payload is gone, and no prune of its run says it"
				" emptied it)"), 2);
	/* A prune record that did not empty (no digest) does not cover it. */
	p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "run", 1);
	cJSON_AddNumberToObject(p, "nodes_removed", 3);
	cJSON_AddNumberToObject(p, "records_emptied", 1);
	ck_assert_int_eq(nf_audit_append(st, 0, NF_AUDIT_PRUNE, p), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(verify(st, "record 2 was emptied"), 2);
	/* Emptied as prune does: the digest of the run's emptied records in its record. */
	raw_exec(st, "UPDATE audit SET payload = '' WHERE seq IN (3, 4)");
	ck_assert_int_eq(nf_audit_emptied_digest(st, 1, sha, &count), 0);
	ck_assert_int_eq(count, 3);
	cJSON_ReplaceItemInObject(p, "records_emptied", cJSON_CreateNumber(3));
	cJSON_AddStringToObject(p, "emptied_sha256", sha);
	ck_assert_int_eq(nf_audit_append(st, 0, NF_AUDIT_PRUNE, p), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	cJSON_Delete(p);
	ck_assert_int_eq(nf_audit_verify(st, &rep), 0);
	ck_assert_msg(rep.problem == NULL, "%s", rep.problem);
	ck_assert_uint_eq(rep.nrecords, 11);   /* 8, the run's end and the two prune records */
	ck_assert_uint_eq(rep.nemptied, 3);
	ck_assert_uint_eq(rep.nroots, 1);
	nf_audit_report_release(&rep);
	/* Its run-start relabelled an emptied node record: one more than the prune emptied. */
	raw_exec(st, "CREATE TABLE saved AS SELECT payload FROM audit WHERE seq = 1;"
		     "UPDATE audit SET payload = '', kind = 'node' WHERE seq = 1");
	ck_assert_int_eq(verify(st, "run 1: its emptied records are not those its prune emptied (3 recorded, 4 found"),
			 -1);
	raw_exec(st, "UPDATE audit SET payload = (SELECT payload FROM saved), kind = 'run-start' WHERE seq = 1");
	ck_assert_int_eq(verify(st, NULL), 0);
	/* An emptied record retimed: the count holds, the digest does not. */
	raw_exec(st, "UPDATE audit SET time_ms = time_ms + 1 WHERE seq = 3");
	ck_assert_int_eq(verify(st, "(3 recorded, 3 found, or one's seq, time or kind changed)"), -1);
	raw_exec(st, "UPDATE audit SET time_ms = time_ms - 1 WHERE seq = 3");
	/* A record of no run, or of a later one, moved into the run: the same. */
	raw_exec(st, "UPDATE audit SET payload = '', run_id = 1 WHERE seq = 7");
	ck_assert_int_eq(verify(st, "its emptied records are not those its prune emptied"), -1);
	raw_exec(st, "UPDATE audit SET run_id = NULL WHERE seq = 7");
	ck_assert_int_eq(verify(st, "record 7 was emptied"), 7);
	nf_store_close(st);
}
END_TEST

START_TEST(test_edit_detected)
{
	nf_store *st = make_chain(8);

	raw_exec(st, "UPDATE audit SET payload = replace(payload, 'train', 'tram') WHERE seq = 6");
	ck_assert_int_eq(verify(st, "record 6 was edited"), 6);
	nf_store_close(st);
}
END_TEST

START_TEST(test_delete_detected)
{
	nf_store *st = make_chain(8);

	raw_exec(st, "DELETE FROM audit WHERE seq = 7");
	ck_assert_int_eq(verify(st, "record 7 was deleted"), 7);
	/* Several, then renumbering the rest to close the gap. */
	raw_exec(st, "DELETE FROM audit WHERE seq = 8; UPDATE audit SET seq = seq - 2 WHERE seq = 9");
	ck_assert_int_eq(verify(st, "records were deleted before record 7"), 7);
	nf_store_close(st);
}
END_TEST

START_TEST(test_delete_run_record_detected)
{
	nf_store *st = make_chain(6);

	/* The first record: nothing before the second one. */
	raw_exec(st, "DELETE FROM audit WHERE seq = 1");
	ck_assert_int_eq(verify(st, "record 1 was deleted"), 1);
	nf_store_close(st);
}
END_TEST

START_TEST(test_insert_detected)
{
	nf_store *st = make_chain(8);
	char sql[512];
	nf_audit_record *rs;
	size_t n;
	char h[65];

	/* Room at 6, then a record there that links to 5 and even hashes right. */
	raw_exec(st, "UPDATE audit SET seq = -seq WHERE seq >= 6; UPDATE audit SET seq = 1 - seq WHERE seq < 0");
	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	ck_assert_int_eq(rs[4].seq, 5);
	ck_assert_int_eq(nf_audit_record_hash(h, 6, 1, 0, "node", "{}", rs[4].hash, NULL, 0), 0);
	snprintf(sql, sizeof(sql), "INSERT INTO audit VALUES (6, 1, NULL, 'node', '{}', '%s', '%s', 'plain')",
		 rs[4].hash, h);
	nf_audit_record_list_free(rs, n);
	raw_exec(st, sql);
	ck_assert_int_eq(verify(st, "record 6 was inserted"), 6);
	nf_store_close(st);
}
END_TEST

START_TEST(test_insert_badly_detected)
{
	nf_store *st = make_chain(8);

	/* An inserted record whose hash is garbage: the next one still links past it. */
	raw_exec(st, "UPDATE audit SET seq = -seq WHERE seq >= 6; UPDATE audit SET seq = 1 - seq WHERE seq < 0;"
		     "INSERT INTO audit VALUES (6, 1, NULL, 'node', '{}', 'x', 'y', 'plain')");
	ck_assert_int_eq(verify(st, "record 6 was inserted"), 6);
	nf_store_close(st);
}
END_TEST

START_TEST(test_recomputed_record_detected)
{
	nf_store *st = make_chain(8);
	nf_audit_record *rs;
	size_t n;
	char h[65], sql[512];

	/* Edited with its own hash recomputed: the next record still names the old hash. */
	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	ck_assert_int_eq(nf_audit_record_hash(h, rs[6].seq, rs[6].time_ms, rs[6].run_id, rs[6].kind, "{\"i\":99}",
					      rs[6].prev_hash, NULL, 0), 0);
	snprintf(sql, sizeof(sql), "UPDATE audit SET payload = '{\"i\":99}', hash = '%s' WHERE seq = 7", h);
	nf_audit_record_list_free(rs, n);
	raw_exec(st, sql);
	ck_assert_int_eq(verify(st, "record 7 was edited or replaced"), 7);
	nf_store_close(st);
}
END_TEST

START_TEST(test_roots_detected)
{
	nf_store *st = make_chain(6);

	raw_exec(st, "UPDATE audit_roots SET root = '" "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
		     "' WHERE run_id = 1");
	ck_assert_int_eq(verify(st, "run 1: its Merkle root does not match"), -1);
	raw_exec(st, "DELETE FROM audit_roots");
	ck_assert_int_eq(verify(st, "run 1: its Merkle root (table audit_roots) was deleted"), 5);
	nf_store_close(st);
}
END_TEST

/* Writes a key file, private to its owner, and points NTFLOW_AUDIT_KEY at it. */
static void
use_key(const char *key)
{
	FILE *f = fopen(keypath, "w");

	ck_assert_ptr_nonnull(f);
	fputs(key, f);
	fclose(f);
	ck_assert_int_eq(chmod(keypath, 0600), 0);
	setenv("NTFLOW_AUDIT_KEY", keypath, 1);
}

START_TEST(test_hmac)
{
	nf_store *st;
	nf_audit_record *rs;
	nf_audit_report rep;
	size_t n;
	char h[65];

	use_key("a secret key\n");
	st = make_chain(6);
	verify(st, NULL);
	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	ck_assert_str_eq(rs[0].mac_kind, "hmac");
	ck_assert_int_eq(nf_audit_record_hash(h, rs[0].seq, rs[0].time_ms, rs[0].run_id, rs[0].kind, rs[0].payload,
					      rs[0].prev_hash, (const unsigned char *)"a secret key\n", 13), 0);
	ck_assert_str_eq(rs[0].hash, h);
	nf_audit_record_list_free(rs, n);

	/* Without the key the HMACs cannot be checked: said so, not "ok". */
	unsetenv("NTFLOW_AUDIT_KEY");
	ck_assert_int_eq(nf_audit_verify(st, &rep), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "record 1 carries an HMAC: set NTFLOW_AUDIT_KEY to the key file to verify"
			 " the audit log");
	nf_audit_report_release(&rep);
	/* With another key: the first record fails. */
	use_key("another key");
	ck_assert_int_eq(verify(st, "record 1 was edited (its HMAC does not match its contents)"), 1);
	/* An unreadable key is an error, not a verdict. */
	setenv("NTFLOW_AUDIT_KEY", "/nonexistent/key", 1);
	ck_assert_int_eq(nf_audit_verify(st, &rep), NF_EIO);
	ck_assert_str_eq(nf_error_last(), "NTFLOW_AUDIT_KEY: cannot read the key file '/nonexistent/key': "
			 "cannot open '/nonexistent/key': No such file or directory");
	ck_assert_int_eq(nf_audit_append(st, 0, "x", NULL), NF_EIO);
	nf_store_close(st);
	use_key("");
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_audit_append(st, 0, "x", NULL), NF_EIO);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "is empty"));
	nf_store_close(st);
}
END_TEST

/* One record checked on its own: its hash against its contents, with the key for an HMAC. */
START_TEST(test_record_matches)
{
	nf_audit_record *rs;
	nf_audit *a;
	nf_store *st;
	size_t n;

	use_key("k1");
	st = make_chain(3);
	ck_assert_int_eq(nf_audit_open(&a, st), 0);
	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	ck_assert_int_eq(nf_audit_record_matches(a, &rs[1]), 1);
	free(rs[1].payload);
	rs[1].payload = xstrdup("{\"i\":7}");
	ck_assert_int_eq(nf_audit_record_matches(a, &rs[1]), 0);
	nf_audit_free(a);
	/* without the key an HMAC cannot be told */
	unsetenv("NTFLOW_AUDIT_KEY");
	ck_assert_int_eq(nf_audit_open(&a, st), 0);
	ck_assert_int_eq(nf_audit_record_matches(a, &rs[0]), NF_EINVALID);
	nf_audit_free(a);
	nf_audit_record_list_free(rs, n);
	nf_store_close(st);
}
END_TEST

/* A key file others can read (or write) is refused, naming the file and its mode. */
START_TEST(test_key_mode)
{
	nf_audit_report rep;
	nf_audit *a = NULL;
	nf_store *st;
	char want[512];

	use_key("a secret key\n");
	st = make_chain(2);
	for (int i = 0; i < 3; i++) {
		static const mode_t modes[] = { 0640, 0604, 0620 };

		ck_assert_int_eq(chmod(keypath, modes[i]), 0);
		ck_assert_int_eq(nf_audit_open(&a, st), NF_EIO);
		ck_assert_ptr_null(a);
		snprintf(want, sizeof(want), "NTFLOW_AUDIT_KEY: the key file '%s' is open to other users (mode %04o);"
			 " make it private: chmod 600 '%s'", keypath, (unsigned)modes[i], keypath);
		ck_assert_str_eq(nf_error_last(), want);
		ck_assert_int_eq(nf_audit_verify(st, &rep), NF_EIO);
		ck_assert_int_eq(nf_audit_append(st, 0, "x", NULL), NF_EIO);
	}
	ck_assert_int_eq(chmod(keypath, 0400), 0);
	verify(st, NULL);
	nf_store_close(st);
}
END_TEST

START_TEST(test_hmac_forged_plain_chain)
{
	nf_store *st;
	nf_audit_record *rs;
	size_t n;
	char prev[65];

	use_key("k");
	st = make_chain(6);
	/* Someone who can write the database edits record 3 and recomputes every hash from
	 * there as plain SHA-256 (the key they cannot read). */
	raw_exec(st, "UPDATE audit SET payload = '{\"i\":2,\"node\":\"forged\"}' WHERE seq = 3");
	ck_assert_int_eq(nf_audit_list(st, 0, &rs, &n), 0);
	strcpy(prev, rs[1].hash);
	for (size_t i = 2; i < n; i++) {
		char h[65], sql[512];

		ck_assert_int_eq(nf_audit_record_hash(h, rs[i].seq, rs[i].time_ms, rs[i].run_id, rs[i].kind, rs[i].payload,
						      prev, NULL, 0), 0);
		snprintf(sql, sizeof(sql), "UPDATE audit SET prev_hash = '%s', hash = '%s' WHERE seq = %lld", prev, h,
			 (long long)rs[i].seq);
		raw_exec(st, sql);
		strcpy(prev, h);
	}
	nf_audit_record_list_free(rs, n);
	ck_assert_int_eq(verify(st, "record 3 was edited"), 3);
	/* Marking the forged records plain does not help while the key is set. */
	raw_exec(st, "UPDATE audit SET mac_kind = 'plain' WHERE seq >= 3");
	ck_assert_int_eq(verify(st, "record 3 is not authenticated"), 3);
	nf_store_close(st);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, test_merkle_by_hand);
	tcase_add_test(tc, test_record_hash);
	tcase_add_test(tc, test_canonical_json);
	tcase_add_test(tc, test_node_payload);
	tcase_add_test(tc, test_canonical_json_not_utf8);
	suite_add_tcase(s, tc);
	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chain_sound);
	tcase_add_test(tc, test_head_once_per_batch);
	tcase_add_test(tc, test_deferred_nodes);
	tcase_add_test(tc, test_edit_detected);
	tcase_add_test(tc, test_emptied_by_prune);
	tcase_add_test(tc, test_delete_detected);
	tcase_add_test(tc, test_delete_run_record_detected);
	tcase_add_test(tc, test_insert_detected);
	tcase_add_test(tc, test_insert_badly_detected);
	tcase_add_test(tc, test_recomputed_record_detected);
	tcase_add_test(tc, test_roots_detected);
	tcase_add_test(tc, test_hmac);
	tcase_add_test(tc, test_hmac_forged_plain_chain);
	tcase_add_test(tc, test_key_mode);
	tcase_add_test(tc, test_record_matches);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
