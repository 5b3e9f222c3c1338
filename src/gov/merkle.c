/* merkle.c: the audit Merkle root computed streaming, one leaf at a time, holding one node
 * per level (64 x 32 bytes) instead of every record hash of a run; the same root as
 * nf_audit_merkle_root (tests/unit/check_memsize.c compares them). */
#include "config.h"
#include "ntflow/gov.h"

#include <string.h>

#include <openssl/evp.h>

#include "ntflow/util.h"

static void
hash_pair(unsigned char out[32], const unsigned char left[32], const unsigned char right[32])
{
	unsigned char pair[64];
	unsigned int mdlen = 0;

	memcpy(pair, left, 32);
	memcpy(pair + 32, right, 32);
	EVP_Digest(pair, 64, out, &mdlen, nf_sha256_md(), NULL);
}

void
nf_merkle_init(nf_merkle *m)
{
	memset(m, 0, sizeof(*m));
}

/* A binary counter: a leaf goes in at level 0; where a level already holds a node, the two
 * are a pair, whose parent carries to the next level. Pairs are so formed left to right,
 * level by level, as nf_audit_merkle_root forms them. */
void
nf_merkle_add(nf_merkle *m, const unsigned char leaf[32])
{
	unsigned char carry[32];
	unsigned level = 0;

	memcpy(carry, leaf, 32);
	while (m->have & (UINT64_C(1) << level)) {
		hash_pair(carry, m->node[level], carry);
		m->have &= ~(UINT64_C(1) << level);
		level++;
	}
	memcpy(m->node[level], carry, 32);
	m->have |= UINT64_C(1) << level;
	m->n++;
}

int
nf_merkle_add_hex(nf_merkle *m, const char *hex)
{
	unsigned char leaf[32];

	if (!hex || nf_hex_decode(leaf, sizeof(leaf), hex) < 0 || hex[64] != '\0')
		return nf_error_set(NF_ECORRUPT, "audit record hash '%s' is not 64 hex digits", hex ? hex : "(null)");
	nf_merkle_add(m, leaf);
	return 0;
}

/* The nodes left, lowest level first: at each level the node held there (left) and the one
 * carried from below (right, the level's last) are a pair; a node alone at the end of its
 * level moves up unchanged. */
void
nf_merkle_root(const nf_merkle *m, char out[65])
{
	unsigned char carry[32], md[32];
	bool have_carry = false;

	if (m->n == 0) {
		unsigned int mdlen = 0;

		EVP_Digest("", 0, md, &mdlen, nf_sha256_md(), NULL);
	} else {
		for (unsigned level = 0; level < NF_MERKLE_LEVELS; level++) {
			if (!(m->have & (UINT64_C(1) << level)))
				continue;
			if (have_carry)
				hash_pair(carry, m->node[level], carry);
			else
				memcpy(carry, m->node[level], 32);
			have_carry = true;
		}
		memcpy(md, carry, 32);
	}
	nf_hex_encode(out, md, sizeof(md));
}
