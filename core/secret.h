/*
 * secret.h - bearer secrets (the SCIM and admin tokens) as the daemon keeps them: SHA-256
 * digests only, compared in constant time. The config (sidecar/config.c) fills a set at load.
 */
#ifndef GH_SECRET_H
#define GH_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* A set of bearer secrets, kept only as SHA-256 digests. Up to two are active so a secret can
 * be rotated without downtime. A value "sha256:<64 hex>" is taken as a digest. */
#define GH_SECRET_MAX 2
struct gh_secret_set {
    unsigned char digest[GH_SECRET_MAX][32];
    int count;
    /* digest[i] was configured as "sha256:<hex>" (the clear text never was in the config), for
     * the admin page's settings view; never the secret itself */
    bool given_as_digest[GH_SECRET_MAX];
};

/* True when tok hashes to one of the set's digests (constant time over every digest). */
bool gh_secret_set_matches(const struct gh_secret_set *set, const char *tok, size_t tok_len);

#endif
