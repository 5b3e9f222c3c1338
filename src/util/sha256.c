/* sha256.c: the one SHA-256 implementation of the process, fetched once and shared by the
 * cache's hashes and the audit chain's records and Merkle roots. */
#include "config.h"
#include "ntflow/util.h"

#include <stdlib.h>

#include <openssl/evp.h>

/* An explicit fetch, kept for the life of the process: EVP_sha256() in every digest call
 * makes OpenSSL 3 look the implementation up again each time. */
static EVP_MD *sha256_md;

const struct evp_md_st *
nf_sha256_md(void)
{
	if (!sha256_md && !(sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		abort();   /* an OpenSSL without SHA-256: nothing sensible to go on with */
	return sha256_md;
}
