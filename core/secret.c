/*
 * secret.c - matching a presented bearer secret against a set of digests.
 */
#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

/*
 * True when tok hashes to one of the set's digests. Every digest is compared, in constant time
 * (CRYPTO_memcmp), so timing says nothing about which secret or how much of it matched.
 */
bool gh_secret_set_matches(const struct gh_secret_set *set, const char *tok, size_t tok_len)
{
    unsigned char d[32];
    int hit = 0;

    if (set->count == 0)
        return false;
    SHA256((const unsigned char *)tok, tok_len, d);
    for (int i = 0; i < set->count; i++)
        hit |= CRYPTO_memcmp(d, set->digest[i], sizeof(d)) == 0;
    return hit != 0;
}
