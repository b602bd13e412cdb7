/*
 * jwk.c - JWKS documents (RFC 7517) -> immutable key sets of ready-to-use OpenSSL EVP_PKEYs,
 * and the strict base64url codec (RFC 7515 §2) the whole tree uses for JOSE data.
 *
 * Each key is converted once, at load (OSSL_PARAM_BLD + EVP_PKEY_fromdata), so verifying a token
 * costs one signature check and no key parsing. RSA keys come from n/e (RFC 7518 §6.3.1), EC
 * keys from crv/x/y (§6.2.1; P-256, P-384, P-521). Keys whose "use" is not "sig" are skipped;
 * Entra's keys carry no "alg", so the algorithm family is enforced by kty at verification time.
 */
#include "core/core.h"
#include "jwks/jwks_int.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* Largest RSA modulus accepted (bytes): verification cost grows with the square of its size, so
 * a huge modulus in a hostile document would slow every request. */
#define JWKS_RSA_MAX_BYTES (8192 / 8)
/* Largest public exponent accepted (bytes); real keys use 65537. */
#define JWKS_RSA_E_MAX_BYTES 8

/* One plus the value of each byte in the base64url alphabet, 0 outside it: a table because
 * this runs over every byte of every token. */
static const unsigned char jwks_b64url_table[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

/* -1 for characters outside the base64url alphabet. */
static int jwks_b64url_value(unsigned char ch)
{
    return (int)jwks_b64url_table[ch] - 1;
}

/* Upper bound of the decoded size of len base64url characters. */
size_t jwks_b64url_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

/*
 * Decode unpadded base64url. out must hold jwks_b64url_decoded_max(len) + 1 bytes; the result is
 * NUL-terminated for the JSON parser. Fails (GH_E_INVALID) on '=', whitespace, '+', '/', any
 * other byte outside the alphabet, a length of 1 mod 4, or non-zero unused trailing bits: each of
 * those would let the same token be spelled several ways (libjwt #197/#284, jjwt #518), which
 * breaks caching by hash and hides tampering. Thread-safe.
 */
enum gh_status jwks_b64url_decode(const char *src, size_t len, unsigned char *out, size_t *out_len,
                                  struct gh_err *err)
{
    size_t o = 0, i = 0;
    uint32_t acc;
    int v[4];

    if (len % 4 == 1)
        return JWKS_ERR(err, GH_E_INVALID, "base64url length is impossible");
    for (; i + 4 <= len; i += 4) {
        v[0] = jwks_b64url_value((unsigned char)src[i]);
        v[1] = jwks_b64url_value((unsigned char)src[i + 1]);
        v[2] = jwks_b64url_value((unsigned char)src[i + 2]);
        v[3] = jwks_b64url_value((unsigned char)src[i + 3]);
        if ((v[0] | v[1] | v[2] | v[3]) < 0)
            return JWKS_ERR(err, GH_E_INVALID, "character outside base64url near offset %zu", i);
        acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(acc >> 16);
        out[o++] = (unsigned char)(acc >> 8);
        out[o++] = (unsigned char)acc;
    }
    if (i < len) {
        size_t rest = len - i; /* 2 or 3 */
        v[2] = 0;
        for (size_t k = 0; k < rest; k++) {
            v[k] = jwks_b64url_value((unsigned char)src[i + k]);
            if (v[k] < 0)
                return JWKS_ERR(err, GH_E_INVALID, "character outside base64url at offset %zu",
                                i + k);
        }
        /* Canonical form: the bits that do not make a whole byte must be zero. */
        if ((rest == 2 && (v[1] & 0x0f) != 0) || (rest == 3 && (v[2] & 0x03) != 0))
            return JWKS_ERR(err, GH_E_INVALID, "non-canonical base64url (trailing bits set)");
        acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6;
        out[o++] = (unsigned char)(acc >> 16);
        if (rest == 3)
            out[o++] = (unsigned char)(acc >> 8);
    }
    out[o] = '\0';
    *out_len = o;
    return GH_OK;
}

/* Decode a JWK member that must be a base64url string of 1..max bytes into a malloc'd buffer. */
static enum gh_status jwks_jwk_bytes(const cJSON *jwk, const char *name, size_t max,
                                     unsigned char **out, size_t *out_len, struct gh_err *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(jwk, name);
    size_t slen;
    unsigned char *buf;
    enum gh_status st;

    if (!cJSON_IsString(m))
        return JWKS_ERR(err, GH_E_INVALID, "member %s missing or not a string", name);
    slen = strlen(m->valuestring);
    if (slen == 0 || jwks_b64url_decoded_max(slen) > max + 3)
        return JWKS_ERR(err, GH_E_INVALID, "member %s has a bad length", name);
    buf = gh_xmalloc(jwks_b64url_decoded_max(slen) + 1);
    st = jwks_b64url_decode(m->valuestring, slen, buf, out_len, err);
    if (st == GH_OK && (*out_len == 0 || *out_len > max))
        st = JWKS_ERR(err, GH_E_INVALID, "member %s has a bad length", name);
    if (st != GH_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return GH_OK;
}

/* Build an EVP_PKEY of type `type` from a finished parameter builder. */
static enum gh_status jwks_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out,
                                         struct gh_err *err)
{
    enum gh_status st = GH_OK;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);

    *out = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0 || *out == NULL)
        st = JWKS_ERR(err, GH_E_INVALID, "OpenSSL rejected the %s key", type);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return st;
}

/* RSA public key from n and e. */
static enum gh_status jwks_jwk_rsa(const cJSON *jwk, EVP_PKEY **out, struct gh_err *err)
{
    unsigned char *n = NULL, *e = NULL;
    size_t n_len = 0, e_len = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    enum gh_status st;

    st = jwks_jwk_bytes(jwk, "n", JWKS_RSA_MAX_BYTES, &n, &n_len, err);
    if (st)
        goto out;
    st = jwks_jwk_bytes(jwk, "e", JWKS_RSA_E_MAX_BYTES, &e, &e_len, err);
    if (st)
        goto out;
    bn_n = BN_bin2bn(n, (int)n_len, NULL);
    bn_e = BN_bin2bn(e, (int)e_len, NULL);
    if (bn_n == NULL || bn_e == NULL) {
        st = JWKS_ERR(err, GH_E_INTERNAL, "BN_bin2bn failed");
        goto out;
    }
    /* Short moduli are factorable; RFC 7518 §3.3 demands 2048 bits for RS*. */
    if (BN_num_bits(bn_n) < JWKS_RSA_MIN_BITS) {
        st = JWKS_ERR(err, GH_E_INVALID, "RSA modulus of %d bits is below %d", BN_num_bits(bn_n),
                      JWKS_RSA_MIN_BITS);
        goto out;
    }
    /* An even or tiny exponent is not a valid RSA public key. */
    if (!BN_is_odd(bn_e) || BN_is_one(bn_e)) {
        st = JWKS_ERR(err, GH_E_INVALID, "RSA exponent is invalid");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        st = JWKS_ERR(err, GH_E_INTERNAL, "OSSL_PARAM_BLD failed");
        goto out;
    }
    st = jwks_pkey_fromdata("RSA", bld, out, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return st;
}

/* EC public key from crv, x, y; *out_nid is the curve. OpenSSL checks the point is on the curve. */
static enum gh_status jwks_jwk_ec(const cJSON *jwk, EVP_PKEY **out, int *out_nid,
                                  struct gh_err *err)
{
    static const struct {
        const char *crv, *group;
        int nid;
        size_t len;
    } curves[] = {
        {"P-256", "prime256v1", NID_X9_62_prime256v1, 32},
        {"P-384", "secp384r1", NID_secp384r1, 48},
        {"P-521", "secp521r1", NID_secp521r1, 66},
    };
    const cJSON *crv = cJSON_GetObjectItemCaseSensitive(jwk, "crv");
    unsigned char *x = NULL, *y = NULL, pub[1 + 2 * 66];
    size_t x_len = 0, y_len = 0, ci;
    OSSL_PARAM_BLD *bld = NULL;
    enum gh_status st;

    if (!cJSON_IsString(crv))
        return JWKS_ERR(err, GH_E_INVALID, "EC key without crv");
    for (ci = 0; ci < sizeof(curves) / sizeof(curves[0]); ci++)
        if (strcmp(crv->valuestring, curves[ci].crv) == 0)
            break;
    if (ci == sizeof(curves) / sizeof(curves[0]))
        return JWKS_ERR(err, GH_E_INVALID, "unsupported curve");
    st = jwks_jwk_bytes(jwk, "x", curves[ci].len, &x, &x_len, err);
    if (st)
        goto out;
    st = jwks_jwk_bytes(jwk, "y", curves[ci].len, &y, &y_len, err);
    if (st)
        goto out;
    /* RFC 7518 §6.2.1.2: coordinates are exactly the field size, no shortening. */
    if (x_len != curves[ci].len || y_len != curves[ci].len) {
        st = JWKS_ERR(err, GH_E_INVALID, "EC coordinate length does not match %s", curves[ci].crv);
        goto out;
    }
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x, x_len);
    memcpy(pub + 1 + x_len, y, y_len);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[ci].group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + x_len + y_len)) {
        st = JWKS_ERR(err, GH_E_INTERNAL, "OSSL_PARAM_BLD failed");
        goto out;
    }
    st = jwks_pkey_fromdata("EC", bld, out, err);
    *out_nid = curves[ci].nid;
out:
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return st;
}

static void jwks_key_clear(struct jwks_key *k)
{
    for (int h = 0; h < JWKS_HASH_COUNT; h++)
        EVP_PKEY_CTX_free(k->vctx[h]);
    free(k->alg);
    free(k->issuer);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

/* The digest an EC key's curve is used with (RFC 7518 §3.4: ES256 = P-256 + SHA-256, ...). */
static enum jwks_hash jwks_ec_hash(int nid)
{
    return nid == NID_secp384r1   ? JWKS_HASH_SHA384
           : nid == NID_secp521r1 ? JWKS_HASH_SHA512
                                  : JWKS_HASH_SHA256;
}

/* Verify-initialised context templates, so a verification costs a dup instead of a fetch and
 * an init (about 2 us of 16 per RS256 token with OpenSSL 3). */
static enum gh_status jwks_key_templates(struct jwks_key *k, struct gh_err *err)
{
    static const char *const mds[JWKS_HASH_COUNT] = {"SHA256", "SHA384", "SHA512"};

    for (int h = 0; h < JWKS_HASH_COUNT; h++) {
        EVP_PKEY_CTX *ctx;
        EVP_MD *md;
        bool ok;

        if (k->kty == JWKS_KTY_EC && (enum jwks_hash)h != jwks_ec_hash(k->curve_nid))
            continue;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        md = EVP_MD_fetch(NULL, mds[h], NULL);
        ok =
            ctx != NULL && md != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
            (k->kty != JWKS_KTY_RSA || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
            EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
        EVP_MD_free(md);
        if (!ok) {
            EVP_PKEY_CTX_free(ctx);
            return JWKS_ERR(err, GH_E_INTERNAL, "cannot prepare a verify context (%s)", mds[h]);
        }
        k->vctx[h] = ctx;
    }
    return GH_OK;
}

/* One JWK into k. GH_E_NOT_FOUND: skip it quietly (not a signing key we can use). */
static enum gh_status jwks_jwk_load(const cJSON *jwk, struct jwks_key *k, struct gh_err *err)
{
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(jwk, "issuer");
    enum gh_status st;

    memset(k, 0, sizeof(*k));
    if (!cJSON_IsObject(jwk) || !cJSON_IsString(kty))
        return JWKS_ERR(err, GH_E_INVALID, "JWK without kty");
    /* Keys are chosen by kid only; a key without one could never be selected safely. */
    if (!cJSON_IsString(kid) || kid->valuestring[0] == '\0' ||
        strlen(kid->valuestring) > JWKS_KID_MAX)
        return JWKS_ERR(err, GH_E_INVALID, "JWK without a usable kid");
    /* RFC 7517 §4.2: an encryption key must never verify signatures. */
    if (use != NULL && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0))
        return GH_E_NOT_FOUND;
    if (alg != NULL && !cJSON_IsString(alg))
        return JWKS_ERR(err, GH_E_INVALID, "JWK alg is not a string");
    if (iss != NULL && !cJSON_IsString(iss))
        return JWKS_ERR(err, GH_E_INVALID, "JWK issuer is not a string");
    k->kid_len = strlen(kid->valuestring);
    memcpy(k->kid, kid->valuestring, k->kid_len + 1);
    if (strcmp(kty->valuestring, "RSA") == 0) {
        k->kty = JWKS_KTY_RSA;
        st = jwks_jwk_rsa(jwk, &k->pkey, err);
    } else if (strcmp(kty->valuestring, "EC") == 0) {
        k->kty = JWKS_KTY_EC;
        st = jwks_jwk_ec(jwk, &k->pkey, &k->curve_nid, err);
    } else {
        return GH_E_NOT_FOUND; /* oct (HMAC) and OKP are never used to verify */
    }
    if (st == GH_OK)
        st = jwks_key_templates(k, err);
    if (st != GH_OK) {
        jwks_key_clear(k);
        return st;
    }
    k->alg = alg ? gh_xstrdup(alg->valuestring) : NULL;
    k->issuer = iss ? gh_xstrdup(iss->valuestring) : NULL;
    return GH_OK;
}

/*
 * Parse a JWKS document (see jwks.h). Bad individual keys are logged by kid and skipped so that
 * one odd key does not take the good ones down; an unusable document as a whole is an error.
 * The new set has refcount 1 and is owned by the caller. Thread-safe.
 */
enum gh_status jwks_set_parse(const char *doc, size_t len, const char *issuer,
                              struct jwks_set **out_set, struct gh_err *err)
{
    cJSON *root = NULL;
    const cJSON *keys, *jwk;
    struct jwks_set *set = NULL;
    enum gh_status st = GH_OK;
    int n;

    *out_set = NULL;
    if (len > (size_t)GH_CAP_JWKS)
        return JWKS_ERR(err, GH_E_TOO_LARGE, "JWKS document larger than %zu bytes",
                        (size_t)GH_CAP_JWKS);
    root = cJSON_ParseWithLength(doc, len);
    if (root == NULL) {
        st = JWKS_ERR(err, GH_E_INVALID, "JWKS document is not JSON");
        goto out;
    }
    keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
    if (!cJSON_IsArray(keys)) {
        st = JWKS_ERR(err, GH_E_INVALID, "JWKS document has no keys array");
        goto out;
    }
    n = cJSON_GetArraySize(keys);
    set = gh_xcalloc(1, sizeof(*set));
    atomic_init(&set->refs, 1);
    set->keys = gh_xcalloc((size_t)(n < JWKS_KEYS_MAX ? n : JWKS_KEYS_MAX) + 1, sizeof(*set->keys));
    set->issuer = issuer ? gh_xstrdup(issuer) : NULL;
    cJSON_ArrayForEach(jwk, keys)
    {
        struct gh_err kerr = {0};
        struct jwks_key *k;
        enum gh_status kst;

        /* A hostile or broken document cannot make the set grow without bound. */
        if (set->count == JWKS_KEYS_MAX) {
            gh_log(GH_LOG_WARN, "jwks", "\"too many keys, rest ignored\" max=%d", JWKS_KEYS_MAX);
            break;
        }
        k = &set->keys[set->count];
        kst = jwks_jwk_load(jwk, k, &kerr);
        if (kst == GH_E_NOT_FOUND)
            continue;
        if (kst != GH_OK) {
            char q[160];
            const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
            gh_log(GH_LOG_WARN, "jwks", "\"key skipped\" kid=%s err=%s",
                   gh_log_q(q, 80, cJSON_IsString(kid) ? kid->valuestring : ""),
                   gh_log_q(q + 80, 80, kerr.msg));
            continue;
        }
        /* Two keys under one kid would make the choice ambiguous: keep the first. */
        if (jwks_set_key_find(set, k->kid, k->kid_len) != NULL) {
            jwks_key_clear(k);
            continue;
        }
        set->count++;
    }
    if (set->count == 0) {
        st = JWKS_ERR(err, GH_E_INVALID, "JWKS document has no usable signing key");
        goto out;
    }
    *out_set = set;
    set = NULL;
out:
    jwks_set_release(set);
    cJSON_Delete(root);
    return st;
}

/* Record when and as which generation a set was loaded; cache.c only, before publishing. */
void jwks_set_stamp(struct jwks_set *set, int64_t loaded_at, uint64_t generation)
{
    set->loaded_at = loaded_at;
    set->generation = generation;
}

/* Take another reference on set. Thread-safe. */
void jwks_set_retain(struct jwks_set *set)
{
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
}

/* Drop a reference; the last one frees the set and its keys. NULL is a no-op. Thread-safe. */
void jwks_set_release(struct jwks_set *set)
{
    if (set == NULL || atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < set->count; i++)
        jwks_key_clear(&set->keys[i]);
    free(set->keys);
    free(set->issuer);
    free(set);
}

/* Accessors of an immutable set or key: safe from any thread while a reference is held;
 * returned pointers are borrowed for as long as that reference. */
size_t jwks_set_key_count(const struct jwks_set *set)
{
    return set->count;
}

const char *jwks_set_issuer(const struct jwks_set *set)
{
    return set->issuer;
}

int64_t jwks_set_loaded_at(const struct jwks_set *set)
{
    return set->loaded_at;
}

uint64_t jwks_set_generation(const struct jwks_set *set)
{
    return set->generation;
}

/* Exact, length-checked kid lookup: the kid is compared, never interpreted (no paths, no URLs). */
const struct jwks_key *jwks_set_key_find(const struct jwks_set *set, const char *kid,
                                         size_t kid_len)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->keys[i].kid_len == kid_len && memcmp(set->keys[i].kid, kid, kid_len) == 0)
            return &set->keys[i];
    return NULL;
}

const char *jwks_key_kid(const struct jwks_key *k)
{
    return k->kid;
}

enum jwks_kty jwks_key_kty(const struct jwks_key *k)
{
    return k->kty;
}

int jwks_key_curve_nid(const struct jwks_key *k)
{
    return k->curve_nid;
}

const char *jwks_key_alg(const struct jwks_key *k)
{
    return k->alg;
}

const char *jwks_key_issuer(const struct jwks_key *k)
{
    return k->issuer;
}

EVP_PKEY *jwks_key_pkey(const struct jwks_key *k)
{
    return k->pkey;
}

/* A duplicate of the template for h (see jwks.h). Duplicating only reads the template and takes
 * atomic references, so any number of threads may do it at once. */
EVP_PKEY_CTX *jwks_key_verify_ctx(const struct jwks_key *k, enum jwks_hash h)
{
    if ((unsigned)h >= JWKS_HASH_COUNT || k->vctx[h] == NULL)
        return NULL;
    return EVP_PKEY_CTX_dup(k->vctx[h]);
}
