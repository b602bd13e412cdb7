/*
 * jwks_int.h - private to jwks/: the layout of keys and key sets shared by jwk.c and cache.c.
 */
#ifndef JWKS_INT_H
#define JWKS_INT_H

#include "jwks/jwks.h"

#include <stdatomic.h>

/* GH_ERR whose value is visibly the status, so static analysis (which cannot see into
 * gh_err_set) knows an error path never returns GH_OK. */
#define JWKS_ERR(err, st, ...) (GH_ERR((err), (st), __VA_ARGS__), (st))

struct jwks_key {
    char kid[JWKS_KID_MAX + 1];
    size_t kid_len;
    enum jwks_kty kty;
    int curve_nid;  /* EC only */
    char *alg;      /* owned, or NULL */
    char *issuer;   /* owned, or NULL */
    EVP_PKEY *pkey; /* owned */
    /* verify-initialised templates per digest (owned; NULL when not applicable), duplicated per
     * use: contexts are not shareable between threads, templates are only read */
    EVP_PKEY_CTX *vctx[JWKS_HASH_COUNT];
};

struct jwks_set {
    atomic_uint refs;
    struct jwks_key *keys; /* owned array */
    size_t count;
    char *issuer; /* owned, or NULL */
    int64_t loaded_at;
    uint64_t generation;
};

/* Stamp a freshly parsed set (cache.c) before it is published. */
void jwks_set_stamp(struct jwks_set *set, int64_t loaded_at, uint64_t generation);

#endif
