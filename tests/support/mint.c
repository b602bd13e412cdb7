/*
 * mint.c - test-only token minting (see mint.h). Keys are PEM files under tests/data/keys/;
 * tokens are signed at run time so their times are relative to now. This file is the only place
 * that signs; it exists to produce both valid tokens and precisely broken ones.
 */
#include "tests/support/mint.h"

#include <check.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gh_mint_key {
    EVP_PKEY *pkey;
    char kid[128];
    int is_ec;
    size_t ec_len;
    char crv[8];
};

static FILE *gh_mint_open_key(const char *name)
{
    const char *src = getenv("GH_SRCDIR");
    const char *dirs[] = {src, ".", "..", "../.."};
    char path[1024];

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        FILE *f;
        if (dirs[i] == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/tests/data/keys/%s.pem", dirs[i], name);
        f = fopen(path, "r");
        if (f != NULL)
            return f;
    }
    ck_abort_msg("test key %s.pem not found (set GH_SRCDIR)", name);
    return NULL;
}

struct gh_mint_key *gh_mint_key_load(const char *name, const char *kid)
{
    struct gh_mint_key *k = calloc(1, sizeof(*k));
    FILE *f = gh_mint_open_key(name);

    ck_assert_ptr_nonnull(k);
    k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_msg(k->pkey != NULL, "cannot read key %s", name);
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    if (EVP_PKEY_is_a(k->pkey, "EC")) {
        char group[64];
        size_t gl = 0;
        k->is_ec = 1;
        ck_assert(EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                 sizeof(group), &gl));
        if (strcmp(group, "prime256v1") == 0) {
            k->ec_len = 32;
            snprintf(k->crv, sizeof(k->crv), "P-256");
        } else if (strcmp(group, "secp384r1") == 0) {
            k->ec_len = 48;
            snprintf(k->crv, sizeof(k->crv), "P-384");
        } else {
            k->ec_len = 66;
            snprintf(k->crv, sizeof(k->crv), "P-521");
        }
    }
    return k;
}

void gh_mint_key_free(struct gh_mint_key *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *gh_mint_key_kid(const struct gh_mint_key *k)
{
    return k->kid;
}

char *gh_mint_b64url(const void *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = p;
    char *out = malloc(n / 3 * 4 + 5), *o = out;
    size_t i = 0;

    ck_assert_ptr_nonnull(out);
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        *o++ = al[v >> 18 & 63];
        *o++ = al[v >> 12 & 63];
        *o++ = al[v >> 6 & 63];
        *o++ = al[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        *o++ = al[v >> 18 & 63];
        *o++ = al[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        *o++ = al[v >> 18 & 63];
        *o++ = al[v >> 12 & 63];
        *o++ = al[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

static char *gh_mint_bn_b64(const BIGNUM *bn, size_t pad)
{
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *buf = malloc(n + 1);
    char *s;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(BN_bn2binpad(bn, buf, (int)n), (int)n);
    s = gh_mint_b64url(buf, n);
    free(buf);
    return s;
}

static void gh_mint_add_bn(cJSON *o, const char *name, const EVP_PKEY *pkey, const char *param,
                           size_t pad)
{
    BIGNUM *bn = NULL;
    char *s;

    ck_assert(EVP_PKEY_get_bn_param(pkey, param, &bn));
    s = gh_mint_bn_b64(bn, pad);
    cJSON_AddStringToObject(o, name, s);
    free(s);
    BN_free(bn);
}

cJSON *gh_mint_key_jwk(const struct gh_mint_key *k)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "kty", k->is_ec ? "EC" : "RSA");
    cJSON_AddStringToObject(o, "use", "sig");
    cJSON_AddStringToObject(o, "kid", k->kid);
    if (k->is_ec) {
        cJSON_AddStringToObject(o, "crv", k->crv);
        gh_mint_add_bn(o, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->ec_len);
        gh_mint_add_bn(o, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->ec_len);
    } else {
        gh_mint_add_bn(o, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        gh_mint_add_bn(o, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    }
    return o;
}

char *gh_mint_jwks(struct gh_mint_key *const *keys, size_t n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "keys");
    char *s;

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, gh_mint_key_jwk(keys[i]));
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

char *gh_mint_key_public_pem(const struct gh_mint_key *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *s;
    long n;

    ck_assert(PEM_write_bio_PUBKEY(b, k->pkey));
    n = BIO_get_mem_data(b, &data);
    s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

/* "b64(header).b64(payload)" */
static char *gh_mint_input(const char *header_json, const char *payload_json)
{
    char *h = gh_mint_b64url(header_json, strlen(header_json));
    char *p = gh_mint_b64url(payload_json, strlen(payload_json));
    size_t n = strlen(h) + strlen(p) + 2;
    char *in = malloc(n);

    snprintf(in, n, "%s.%s", h, p);
    free(h);
    free(p);
    return in;
}

static char *gh_mint_join(char *input, const unsigned char *sig, size_t sig_len)
{
    char *s = gh_mint_b64url(sig, sig_len);
    size_t n = strlen(input) + strlen(s) + 2;
    char *tok = malloc(n);

    snprintf(tok, n, "%s.%s", input, s);
    free(s);
    free(input);
    return tok;
}

char *gh_mint_sign(const struct gh_mint_key *k, const char *alg, const char *header_json,
                   const char *payload_json)
{
    char *input = gh_mint_input(header_json, payload_json);
    const char *md = strstr(alg, "384") ? "SHA384" : strstr(alg, "512") ? "SHA512" : "SHA256";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024], jose[200];
    size_t sig_len = sizeof(sig);

    ck_assert(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, k->pkey, NULL) == 1);
    ck_assert(EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)input, strlen(input)) == 1);
    EVP_MD_CTX_free(ctx);
    if (k->is_ec) {
        /* DER -> JOSE r||s, each left-padded to the field size (RFC 7518 §3.4). */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        ck_assert_ptr_nonnull(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), jose, (int)k->ec_len);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), jose + k->ec_len, (int)k->ec_len);
        ECDSA_SIG_free(es);
        return gh_mint_join(input, jose, 2 * k->ec_len);
    }
    return gh_mint_join(input, sig, sig_len);
}

char *gh_mint_sign_hmac(const void *secret, size_t secret_len, const char *header_json,
                        const char *payload_json)
{
    char *input = gh_mint_input(header_json, payload_json);
    unsigned char mac[64];
    unsigned mac_len = 0;

    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)input,
                               strlen(input), mac, &mac_len));
    return gh_mint_join(input, mac, mac_len);
}

void gh_mint_claims_time(cJSON *claims, const char *name, long delta)
{
    double v = (double)(time(NULL) + delta);
    cJSON_DeleteItemFromObjectCaseSensitive(claims, name);
    cJSON_AddNumberToObject(claims, name, v);
}

cJSON *gh_mint_claims(const char *iss, const char *aud, const char *tid)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "aud", aud);
    cJSON_AddStringToObject(c, "iss", iss);
    gh_mint_claims_time(c, "iat", -60);
    gh_mint_claims_time(c, "nbf", -60);
    gh_mint_claims_time(c, "exp", 3600);
    cJSON_AddStringToObject(c, "name", "Alice Example");
    cJSON_AddStringToObject(c, "oid", "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b");
    cJSON_AddStringToObject(c, "preferred_username", "alice@contoso.example");
    cJSON_AddStringToObject(c, "scp", "Custom.Read User.Read");
    cJSON_AddStringToObject(c, "sub", "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ");
    cJSON_AddStringToObject(c, "tid", tid);
    cJSON_AddStringToObject(c, "ver", "2.0");
    return c;
}

char *gh_mint_jwt(const struct gh_mint_key *k, const char *alg, const cJSON *claims)
{
    cJSON *h = cJSON_CreateObject();
    char *hs, *ps, *tok;

    cJSON_AddStringToObject(h, "typ", "JWT");
    cJSON_AddStringToObject(h, "alg", alg);
    cJSON_AddStringToObject(h, "kid", k->kid);
    hs = cJSON_PrintUnformatted(h);
    ps = cJSON_PrintUnformatted(claims);
    tok = gh_mint_sign(k, alg, hs, ps);
    free(hs);
    free(ps);
    cJSON_Delete(h);
    return tok;
}
