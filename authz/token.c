/*
 * token.c - bearer token -> verified Entra ID access-token claims (RFC 7515, 7519, 8725).
 *
 * Order of checks (STYLE 3.8), each failure a 401 with a precise error_description:
 *  1. size cap and strict compact form (three canonical base64url segments);
 *  2. header: JSON object, no duplicate members, alg from the configured allow-list (none and
 *     HS* refused before any library sees the token), kid required, crit refused; jku, x5u,
 *     jwk and x5c refused, so a token can never choose a key or trigger a fetch;
 *  3. key by kid only (one forced, rate-limited JWKS refresh on a miss), kty/curve matching alg;
 *  4. signature over exactly the "header.payload" bytes with the cached EVP_PKEY (ES*: JOSE
 *     r||s converted to DER, r = s = 0 refused);
 *  5. claims with types: exp required, nbf and iat with leeway, iss exact (with the {tenantid}
 *     template), aud string or array, tid allow-list; then scopes/roles (403).
 * libjwt is deliberately not used: it takes alg from the token, accepts anything with a NULL key
 * and re-parses a PEM key per call (ENTRA.md §4). The payload is parsed here with cJSON, with
 * duplicate members rejected. Verified tokens are cached by SHA-256 until exp (read-locked shards,
 * CLOCK eviction).
 */
#include "authz/token.h"
#include "core/core.h"

#include <ctype.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* JOSE header members that carry or point at key material (RFC 7515 §4.1.2-4.1.6); x5t and
 * x5t#S256 are only thumbprints and stay allowed (Entra's v1 tokens send x5t). */
static const char *const authz_key_members[] = {"jku", "x5u", "jwk", "x5c"};

/* Microsoft Graph's application id: the audience of tokens that were requested for Graph. */
#define AUTHZ_GRAPH_APP_ID "00000003-0000-0000-c000-000000000000"
#define AUTHZ_GRAPH_URL    "https://graph.microsoft.com"
#define AUTHZ_V1_ISSUER    "https://sts.windows.net/"
#define AUTHZ_V2_ISSUER    "https://login.microsoftonline.com/"
#define AUTHZ_TENANT_TMPL  "{tenantid}"
/* Cache shards: independent locks so worker threads rarely contend. Power of two. */
#define AUTHZ_CACHE_SHARDS 16
/* Values from the token quoted in error descriptions are cut to this many bytes. */
#define AUTHZ_QUOTE_MAX 80
/* Most audiences inspected in an aud array (Entra sends one). */
#define AUTHZ_AUD_MAX 16

static const struct authz_alg_info {
    const char *name;
    enum jwks_kty kty;
    int curve_nid;
    const char *md;
    enum jwks_hash hash;
    size_t ec_len; /* bytes of r (and of s) in a JOSE ECDSA signature */
} authz_algs[AUTHZ_ALG_COUNT] = {
    [AUTHZ_ALG_RS256] = {"RS256", JWKS_KTY_RSA, 0, "SHA256", JWKS_HASH_SHA256, 0},
    [AUTHZ_ALG_RS384] = {"RS384", JWKS_KTY_RSA, 0, "SHA384", JWKS_HASH_SHA384, 0},
    [AUTHZ_ALG_RS512] = {"RS512", JWKS_KTY_RSA, 0, "SHA512", JWKS_HASH_SHA512, 0},
    [AUTHZ_ALG_ES256] = {"ES256", JWKS_KTY_EC, NID_X9_62_prime256v1, "SHA256", JWKS_HASH_SHA256,
                         32},
    [AUTHZ_ALG_ES384] = {"ES384", JWKS_KTY_EC, NID_secp384r1, "SHA384", JWKS_HASH_SHA384, 48},
    [AUTHZ_ALG_ES512] = {"ES512", JWKS_KTY_EC, NID_secp521r1, "SHA512", JWKS_HASH_SHA512, 66},
};

struct authz_claims {
    atomic_uint refs;
    cJSON *json; /* the payload object; read-only once published */
    int64_t exp;
    char kid[JWKS_KID_MAX + 1];
    size_t kid_len;
    /* the newest key set seen to hold the signing key (relaxed: a stale value only costs the
     * look-up in the current set) */
    _Atomic uint64_t generation;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    /* looked up once (borrowed from json) */
    const char *tid, *token_id;
    int64_t iat;
    const char *identity[GH_IDENT_PAIRS_MAX];
    size_t nidentity;
};

struct authz_cache_entry {
    unsigned char hash[SHA256_DIGEST_LENGTH];
    struct authz_claims *claims; /* one reference held by the cache */
    struct authz_cache_entry *chain;
    struct authz_cache_entry *prev, *next; /* newest (or given a second chance) first */
    atomic_bool used;                      /* hit since it was inserted or last passed over */
};

/* A shard: readers (hits) share the lock and only set an entry's used bit, so two threads
 * hitting the same token do not wait for each other; insertions and evictions take it
 * exclusively. Eviction is CLOCK (second chance), an LRU approximation without a list update
 * on every hit. */
struct authz_cache_shard {
    pthread_rwlock_t mu;
    struct authz_cache_entry **buckets;
    size_t nbuckets; /* power of two */
    struct authz_cache_entry *head, *tail;
    size_t count, cap;
};

enum authz_token_result {
    AUTHZ_R_VALID,
    AUTHZ_R_CACHED,
    AUTHZ_R_INVALID,
    AUTHZ_R_FORBIDDEN,
    AUTHZ_R_UNAVAILABLE,
    AUTHZ_R_COUNT
};
static const char *const authz_token_result_names[AUTHZ_R_COUNT] = {"valid", "cached", "invalid",
                                                                    "forbidden", "unavailable"};

struct authz_verifier {
    const struct authz_verifier_opts *opts; /* borrowed */
    struct jwks_cache *jwks;                /* borrowed */
    unsigned allowed_algs;                  /* bit per enum authz_alg */
    char allowed_names[64];                 /* "RS256 ES256" for messages */
    EVP_MD *md[AUTHZ_ALG_COUNT]; /* fetched once: per-call fetches cost a provider lookup */
    char *scope_hint;
    /* the claim name of each GATEHOUSE_IDENTITY_CLAIMS pair ("" when it cannot be one) */
    char identity_claim[GH_IDENT_PAIRS_MAX][64];
    size_t nidentity;
    bool cache_on;
    struct authz_cache_shard shards[AUTHZ_CACHE_SHARDS];
    atomic_uint_fast64_t results[AUTHZ_R_COUNT];
};

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                              */

/* The JOSE name of alg ("RS256"), static. */
const char *authz_alg_name(enum authz_alg alg)
{
    return alg < AUTHZ_ALG_COUNT ? authz_algs[alg].name : "?";
}

/* Copy an untrusted value for an error description: printable ASCII only, without the quote and
 * backslash that would break out of the RFC 6750 quoted-string, cut at AUTHZ_QUOTE_MAX. */
static const char *authz_quote(char *dst, size_t cap, const char *src)
{
    size_t o = 0, max = cap - 1 < AUTHZ_QUOTE_MAX ? cap - 1 : AUTHZ_QUOTE_MAX;

    for (size_t i = 0; src[i] != '\0' && o < max; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[o++] = (char)((ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') ? '?' : ch);
    }
    dst[o] = '\0';
    if (strlen(src) > max && o >= 3)
        memcpy(dst + o - 3, "...", 3);
    return dst;
}

/* GH_E_UNAUTHORIZED with an error_description. */
#define AUTHZ_DENY(err, ...) AUTHZ_ERR((err), GH_E_UNAUTHORIZED, __VA_ARGS__)

/*
 * Parse json (len bytes) into an object. NULL when it is not exactly one strict JSON object
 * (core/json.h): trailing bytes, a NUL, \u0000, invalid UTF-8 or a member name repeated in
 * any object (parsers disagree on which copy wins). Caller owns the result.
 */
cJSON *authz_json_object_strict(const char *json, size_t len)
{
    cJSON *o = NULL;

    if (gh_json_parse(json, len, 0, "token JSON", &o, NULL) != GH_OK)
        return NULL;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------------------------------ */
/* 1. compact form                                                                            */

/*
 * Split tok into its three segments (see token.h). The cap comes first so no later step ever
 * works on an unbounded input (libjwt 1.10.2 alloca()s each segment: 12 MiB crashed it). Empty
 * segments are refused: an empty signature is how "alg":"none" tokens look.
 */
enum gh_status authz_token_split(const char *tok, size_t len, struct authz_jws *out,
                                 struct gh_err *err)
{
    const char *d1, *d2;

    if (len == 0)
        return AUTHZ_DENY(err, "empty bearer token");
    if (len > (size_t)GH_CAP_JWT)
        return AUTHZ_DENY(err, "token is larger than %d bytes", GH_CAP_JWT);
    d1 = memchr(tok, '.', len);
    d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
        return AUTHZ_DENY(err, "token is not a compact JWS (expected three dot-separated "
                               "segments; encrypted tokens are not accepted)");
    out->hdr = tok;
    out->hdr_len = (size_t)(d1 - tok);
    out->payload = d1 + 1;
    out->payload_len = (size_t)(d2 - out->payload);
    out->sig = d2 + 1;
    out->sig_len = len - (size_t)(out->sig - tok);
    out->signed_len = (size_t)(d2 - tok);
    if (out->hdr_len == 0 || out->payload_len == 0 || out->sig_len == 0)
        return AUTHZ_DENY(err, "token has an empty %s segment",
                          out->hdr_len == 0       ? "header"
                          : out->payload_len == 0 ? "payload"
                                                  : "signature");
    return GH_OK;
}

/* Decode a segment into a malloc'd, NUL-terminated buffer; the message names the segment. */
/* Decode into `local` (local_cap bytes, may be NULL) when it fits, else into a malloc'd buffer;
 * release with authz_segment_free(*out, local). */
static enum gh_status authz_segment_decode(const char *b64, size_t len, const char *what,
                                           unsigned char *local, size_t local_cap,
                                           unsigned char **out, size_t *out_len, struct gh_err *err)
{
    struct gh_err e = {0};
    size_t need = jwks_b64url_decoded_max(len) + 1;
    unsigned char *buf = local != NULL && need <= local_cap ? local : gh_xmalloc(need);

    if (jwks_b64url_decode(b64, len, buf, out_len, &e) != GH_OK) {
        if (buf != local)
            free(buf);
        return AUTHZ_DENY(err, "token %s is not strict base64url: %s", what, e.msg);
    }
    *out = buf;
    return GH_OK;
}

static void authz_segment_free(unsigned char *p, const unsigned char *local)
{
    if (p != local)
        free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* 2. header                                                                                  */

/*
 * Decode and check the JOSE header (see token.h). The alg comes from the header but is only a
 * claim: it must be one the operator allowed, and later must match the key's type, so a token
 * can never pick HMAC-with-the-public-key or "none" (auth0 alg confusion; libjwt #6/#33/#43).
 */
enum gh_status authz_token_header_parse(const char *b64, size_t len, unsigned allowed_algs,
                                        struct authz_header *out, struct gh_err *err)
{
    unsigned char local[512], *raw = NULL;
    size_t raw_len = 0;
    cJSON *h = NULL;
    const cJSON *alg, *kid, *typ;
    enum gh_status st;
    char q[AUTHZ_QUOTE_MAX + 1];
    int a;

    st = authz_segment_decode(b64, len, "header", local, sizeof(local), &raw, &raw_len, err);
    if (st)
        goto out;
    h = authz_json_object_strict((const char *)raw, raw_len);
    if (h == NULL) {
        st = AUTHZ_DENY(err, "token header is not a JSON object (or repeats a member)");
        goto out;
    }
    alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    if (!cJSON_IsString(alg)) {
        st = AUTHZ_DENY(err, "token header has no alg");
        goto out;
    }
    /* Unsigned tokens and shared-secret MACs can never prove the IdP signed the token. */
    if (strcasecmp(alg->valuestring, "none") == 0) {
        st = AUTHZ_DENY(err, "alg none (unsigned token) is never accepted");
        goto out;
    }
    if (strncasecmp(alg->valuestring, "HS", 2) == 0) {
        st = AUTHZ_DENY(err, "alg %s (HMAC) is never accepted",
                        authz_quote(q, sizeof(q), alg->valuestring));
        goto out;
    }
    for (a = 0; a < AUTHZ_ALG_COUNT; a++)
        if (strcmp(alg->valuestring, authz_algs[a].name) == 0)
            break;
    if (a == AUTHZ_ALG_COUNT || !(allowed_algs & (1u << a))) {
        st = AUTHZ_DENY(err, "alg %s is not accepted", authz_quote(q, sizeof(q), alg->valuestring));
        goto out;
    }
    /* RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject;
     * gatehouse implements none (e.g. RFC 7797 b64=false would change the signing input). */
    if (cJSON_GetObjectItemCaseSensitive(h, "crit") != NULL) {
        st = AUTHZ_DENY(err, "token header has crit extensions, which are not supported");
        goto out;
    }
    /* typ is optional; when present it must say this is a JWT access token. */
    typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
    if (typ != NULL && (!cJSON_IsString(typ) || (strcasecmp(typ->valuestring, "JWT") != 0 &&
                                                 strcasecmp(typ->valuestring, "at+jwt") != 0))) {
        st = AUTHZ_DENY(err, "token typ is not JWT");
        goto out;
    }
    /* The key is chosen by kid alone, from the configured JWKS. A header that offers a key of
     * its own (jwk, x5c) or a place to fetch one (jku, x5u) is refused rather than ignored:
     * Entra never sends them, and a token that does is an attempt at key substitution or SSRF
     * (CVE-2018-0114, PortSwigger "jku header injection") that the operator should see. */
    for (size_t i = 0; i < sizeof(authz_key_members) / sizeof(authz_key_members[0]); i++) {
        if (cJSON_GetObjectItemCaseSensitive(h, authz_key_members[i]) != NULL) {
            st = AUTHZ_DENY(err,
                            "token header has %s: embedded or remote keys (jku, x5u, jwk, x5c) "
                            "are not accepted",
                            authz_key_members[i]);
            goto out;
        }
    }
    kid = cJSON_GetObjectItemCaseSensitive(h, "kid");
    if (!cJSON_IsString(kid) || kid->valuestring[0] == '\0') {
        st = AUTHZ_DENY(err, "token header has no kid");
        goto out;
    }
    out->kid_len = strlen(kid->valuestring);
    if (out->kid_len > JWKS_KID_MAX) {
        st = AUTHZ_DENY(err, "token kid is longer than %d bytes", JWKS_KID_MAX);
        goto out;
    }
    memcpy(out->kid, kid->valuestring, out->kid_len + 1);
    out->alg = (enum authz_alg)a;
out:
    cJSON_Delete(h);
    authz_segment_free(raw, local);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* 3-4. key and signature                                                                     */

/* JOSE ECDSA signature (r||s, RFC 7518 §3.4) -> DER for OpenSSL. r or s zero is refused here
 * as well as by OpenSSL ("psychic signatures", CVE-2022-21449). */
static enum gh_status authz_ecdsa_der(const unsigned char *sig, size_t sig_len, size_t half,
                                      unsigned char **out_der, size_t *out_len, struct gh_err *err)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    enum gh_status st = GH_OK;
    int n;

    if (sig_len != 2 * half)
        return AUTHZ_DENY(err, "ECDSA signature has %zu bytes, expected %zu", sig_len, 2 * half);
    r = BN_bin2bn(sig, (int)half, NULL);
    s = BN_bin2bn(sig + half, (int)half, NULL);
    es = ECDSA_SIG_new();
    if (r == NULL || s == NULL || es == NULL) {
        st = AUTHZ_ERR(err, GH_E_INTERNAL, "out of memory converting ECDSA signature");
        goto out;
    }
    if (BN_is_zero(r) || BN_is_zero(s)) {
        st = AUTHZ_DENY(err, "signature verification failed");
        goto out;
    }
    ECDSA_SIG_set0(es, r, s); /* es owns r and s now */
    r = NULL;
    s = NULL;
    n = i2d_ECDSA_SIG(es, &der);
    if (n <= 0) {
        st = AUTHZ_ERR(err, GH_E_INTERNAL, "i2d_ECDSA_SIG failed");
        goto out;
    }
    *out_der = der;
    *out_len = (size_t)n;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return st;
}

/* Verify sig over exactly the JWS Signing Input with the cached key: hash the input with the
 * pre-fetched digest, then check the signature with a duplicate of the key's verify template. */
static enum gh_status authz_signature_check(const struct authz_verifier *v, enum authz_alg alg,
                                            const struct jwks_key *key, const char *input,
                                            size_t input_len, const unsigned char *input_sha256,
                                            const unsigned char *sig, size_t sig_len,
                                            struct gh_err *err)
{
    const struct authz_alg_info *ai = &authz_algs[alg];
    EVP_PKEY *pkey = jwks_key_pkey(key);
    unsigned char *der = NULL, dgst[EVP_MAX_MD_SIZE];
    unsigned dgst_len = 0;
    EVP_PKEY_CTX *pctx = NULL;
    enum gh_status st = GH_OK;

    if (ai->kty == JWKS_KTY_EC) {
        st = authz_ecdsa_der(sig, sig_len, ai->ec_len, &der, &sig_len, err);
        if (st)
            return st;
        sig = der;
    } else if (sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
        /* RFC 8017 §8.2.2: the signature is exactly as long as the modulus. */
        return AUTHZ_DENY(err, "signature verification failed (length)");
    }
    if (ai->hash == JWKS_HASH_SHA256 && input_sha256 != NULL) {
        memcpy(dgst, input_sha256, SHA256_DIGEST_LENGTH);
        dgst_len = SHA256_DIGEST_LENGTH;
    } else if (EVP_Digest(input, input_len, dgst, &dgst_len, v->md[alg], NULL) != 1) {
        st = AUTHZ_ERR(err, GH_E_INTERNAL, "digest failed");
        goto out;
    }
    pctx = jwks_key_verify_ctx(key, ai->hash);
    if (pctx == NULL) {
        st = AUTHZ_ERR(err, GH_E_INTERNAL, "no verify context for %s", ai->name);
        goto out;
    }
    if (EVP_PKEY_verify(pctx, sig, sig_len, dgst, dgst_len) != 1)
        st = AUTHZ_DENY(err, "signature verification failed");
out:
    EVP_PKEY_CTX_free(pctx);
    OPENSSL_free(der);
    return st;
}

/* The key for hdr: kid lookup, one forced refresh on a miss, then type checks.
 * *io_set may be replaced by a newer set (the caller releases whatever it holds at the end). */
static enum gh_status authz_key_find(struct authz_verifier *v, const struct authz_header *hdr,
                                     struct jwks_set **io_set, const struct jwks_key **out_key,
                                     struct gh_err *err)
{
    const struct authz_alg_info *ai = &authz_algs[hdr->alg];
    const struct jwks_key *k = jwks_set_key_find(*io_set, hdr->kid, hdr->kid_len);
    char q[AUTHZ_QUOTE_MAX + 1];

    if (k == NULL) {
        /* Keys roll over without notice: one refresh may find it. Rate-limited in the cache. */
        bool refreshed = jwks_cache_refresh_unknown_kid(v->jwks);
        struct jwks_set *fresh = jwks_cache_acquire(v->jwks);
        if (fresh != NULL) {
            jwks_set_release(*io_set);
            *io_set = fresh;
            k = jwks_set_key_find(fresh, hdr->kid, hdr->kid_len);
        }
        if (k == NULL)
            return AUTHZ_DENY(
                err, "unknown signing key kid=%s %s", authz_quote(q, sizeof(q), hdr->kid),
                refreshed ? "after refresh" : "(key set refreshed recently; not refetched)");
    }
    /* kty must fit alg, so an RSA key can never be used as an HMAC secret or an EC curve
     * swapped (CVE-2026-44699 class). A JWK that names its alg pins it. */
    if (jwks_key_kty(k) != ai->kty ||
        (ai->kty == JWKS_KTY_EC && jwks_key_curve_nid(k) != ai->curve_nid))
        return AUTHZ_DENY(err, "alg %s does not match the type of signing key kid=%s", ai->name,
                          authz_quote(q, sizeof(q), hdr->kid));
    if (jwks_key_alg(k) != NULL && strcmp(jwks_key_alg(k), ai->name) != 0)
        return AUTHZ_DENY(err, "alg %s does not match the alg of signing key kid=%s", ai->name,
                          authz_quote(q, sizeof(q), hdr->kid));
    *out_key = k;
    return GH_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* 5. claims                                                                                  */

/* A NumericDate claim (RFC 7519 §2) as whole seconds. GH_E_NOT_FOUND when absent. */
static enum gh_status authz_claim_time(const cJSON *p, const char *name, int64_t *out,
                                       struct gh_err *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, name);
    double d;

    if (c == NULL)
        return GH_E_NOT_FOUND;
    /* A string or boolean "exp" must not be read as 0 or as "no expiry" (RFC 8725 §3.10). */
    if (!cJSON_IsNumber(c))
        return AUTHZ_DENY(err, "%s claim is not a number", name);
    d = c->valuedouble;
    if (!isfinite(d) || d < 0 || d > 1e13)
        return AUTHZ_DENY(err, "%s claim is out of range", name);
    *out = (int64_t)d; /* d >= 0: truncation is floor */
    return GH_OK;
}

static enum gh_status authz_claims_time_check(const struct authz_verifier *v, const cJSON *p,
                                              int64_t now, int64_t *out_exp, struct gh_err *err)
{
    int64_t leeway = v->opts->leeway_s, t = 0;
    enum gh_status st;

    /* exp is required: a token that never expires cannot be revoked by time. */
    st = authz_claim_time(p, "exp", &t, err);
    if (st == GH_E_NOT_FOUND)
        return AUTHZ_DENY(err, "token has no exp claim");
    if (st)
        return st;
    if (now > t + leeway) {
        int64_t ago = now - t;
        if (ago >= 120)
            return AUTHZ_DENY(err, "expired %lld min ago", (long long)(ago / 60));
        return AUTHZ_DENY(err, "expired %lld s ago", (long long)ago);
    }
    *out_exp = t;
    st = authz_claim_time(p, "nbf", &t, err);
    if (st == GH_OK && t > now + leeway)
        return AUTHZ_DENY(err, "token not valid yet (nbf is %lld s in the future)",
                          (long long)(t - now));
    if (st != GH_OK && st != GH_E_NOT_FOUND)
        return st;
    /* A token "issued" in the future was minted by a broken or hostile clock. */
    st = authz_claim_time(p, "iat", &t, err);
    if (st == GH_OK && t > now + leeway)
        return AUTHZ_DENY(err, "token issued in the future (iat is %lld s ahead)",
                          (long long)(t - now));
    if (st != GH_OK && st != GH_E_NOT_FOUND)
        return st;
    return GH_OK;
}

/* 8-4-4-4-12 hex digits: the only shape a tid may have before it is put into an issuer. */
static bool authz_is_guid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, s++)
            if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
                return false;
        if (g < 4 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

/* Exact issuer match; a "{tenantid}" in the accepted value is replaced by the token's tid. */
static bool authz_issuer_matches(const char *accepted, const char *iss, const char *tid)
{
    const char *t = strstr(accepted, AUTHZ_TENANT_TMPL);
    size_t pre, tl;

    if (t == NULL)
        return strcmp(accepted, iss) == 0;
    if (tid == NULL || !authz_is_guid(tid))
        return false;
    pre = (size_t)(t - accepted);
    tl = strlen(tid);
    return strncmp(iss, accepted, pre) == 0 && strncmp(iss + pre, tid, tl) == 0 &&
           strcmp(iss + pre + tl, t + strlen(AUTHZ_TENANT_TMPL)) == 0;
}

static bool authz_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Entra's keys name the issuer they sign for (the v2 form, or the {tenantid} template in the
 * multi-tenant document); honour it ("Validate the signing key issuer"), so that one tenant's
 * key never vouches for another tenant's token. A key without one (v1 documents, other IdPs)
 * passes. The key's issuer, with {tenantid} replaced by the token's tid, must be the token's
 * iss; or, since Entra signs v1 tokens with the same v2-labelled keys, it may be the v2 issuer
 * https://login.microsoftonline.com/<tid>/v2.0 of the token's tenant when iss is exactly that
 * tenant's v1 issuer https://sts.windows.net/<tid>/ (Microsoft.IdentityModel's
 * ValidateIssuerSigningKey accepts the same pair). Both sides name the same tid, so the pairing
 * never crosses tenants; a tid that is not a GUID never completes a template.
 */
static bool authz_key_issuer_ok(const char *key_iss, const char *iss, const char *tid)
{
    char v1[sizeof(AUTHZ_V1_ISSUER) + 40], v2[sizeof(AUTHZ_V2_ISSUER) + 48];

    if (key_iss == NULL || authz_issuer_matches(key_iss, iss, tid))
        return true;
    if (tid == NULL || !authz_is_guid(tid))
        return false;
    snprintf(v1, sizeof(v1), "%s%s/", AUTHZ_V1_ISSUER, tid);
    snprintf(v2, sizeof(v2), "%s%s/v2.0", AUTHZ_V2_ISSUER, tid);
    return strcmp(iss, v1) == 0 && authz_issuer_matches(key_iss, v2, tid);
}

static enum gh_status authz_claims_issuer_check(const struct authz_verifier *v, const cJSON *p,
                                                const struct jwks_set *set,
                                                const struct jwks_key *key, struct gh_err *err)
{
    const struct gh_list *l = &v->opts->issuers;
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(p, "iss");
    const cJSON *tidj = cJSON_GetObjectItemCaseSensitive(p, "tid");
    const char *tid = cJSON_IsString(tidj) ? tidj->valuestring : NULL;
    const char *disc = jwks_set_issuer(set);
    bool ok = false, exact = false, v1_conf = false, v2_conf = false;
    char q[AUTHZ_QUOTE_MAX + 1];

    if (!cJSON_IsString(iss))
        return AUTHZ_DENY(err, "token has no iss claim");
    /* Configured issuers win; otherwise the discovery document's issuer is the only one. */
    for (size_t i = 0; i < l->count; i++) {
        bool m = authz_issuer_matches(l->items[i], iss->valuestring, tid);
        ok = ok || m;
        exact = exact || (m && strstr(l->items[i], AUTHZ_TENANT_TMPL) == NULL);
        v1_conf = v1_conf || authz_starts_with(l->items[i], AUTHZ_V1_ISSUER);
        v2_conf = v2_conf || authz_starts_with(l->items[i], AUTHZ_V2_ISSUER);
    }
    if (l->count == 0 && disc != NULL) {
        ok = authz_issuer_matches(disc, iss->valuestring, tid);
        exact = ok && strstr(disc, AUTHZ_TENANT_TMPL) == NULL;
        v1_conf = authz_starts_with(disc, AUTHZ_V1_ISSUER);
        v2_conf = authz_starts_with(disc, AUTHZ_V2_ISSUER);
    }
    if (!ok) {
        if (authz_starts_with(iss->valuestring, AUTHZ_V1_ISSUER) && v2_conf && !v1_conf)
            return AUTHZ_DENY(err, "token issued by v1 endpoint sts.windows.net but only v2 "
                                   "issuer configured (set accessTokenAcceptedVersion=2 in the "
                                   "app manifest, or add the v1 issuer)");
        if (authz_starts_with(iss->valuestring, AUTHZ_V2_ISSUER) && v1_conf && !v2_conf)
            return AUTHZ_DENY(err, "token issued by v2 endpoint login.microsoftonline.com but "
                                   "only v1 issuer configured");
        return AUTHZ_DENY(err, "issuer %s is not accepted",
                          authz_quote(q, sizeof(q), iss->valuestring));
    }
    /* The common/organizations template matches every tenant in the world: it is only safe
     * together with an allow-list of tenants (checked by authz_claims_tenant_check). */
    if (!exact && v->opts->tenants.count == 0)
        return AUTHZ_DENY(err,
                          "tenant %s: a multi-tenant ({tenantid}) issuer needs GATEHOUSE_TENANTS",
                          authz_quote(q, sizeof(q), tid ? tid : "?"));
    if (!authz_key_issuer_ok(jwks_key_issuer(key), iss->valuestring, tid))
        return AUTHZ_DENY(err, "signing key kid=%s is not valid for issuer %s", jwks_key_kid(key),
                          authz_quote(q, sizeof(q), iss->valuestring));
    return GH_OK;
}

static enum gh_status authz_claims_audience_check(const struct authz_verifier *v, const cJSON *p,
                                                  struct gh_err *err)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(p, "aud");
    const cJSON *first = NULL, *a;
    char q[AUTHZ_QUOTE_MAX + 1];
    int n = 0;

    if (cJSON_IsString(aud)) {
        first = aud;
        if (gh_list_contains(&v->opts->audiences, aud->valuestring))
            return GH_OK;
    } else if (cJSON_IsArray(aud)) {
        /* RFC 7519 §4.1.3: an array of StringOrURI; every member must be a string. */
        cJSON_ArrayForEach(a, aud)
        {
            if (!cJSON_IsString(a))
                return AUTHZ_DENY(err, "aud claim holds a non-string");
            if (++n > AUTHZ_AUD_MAX)
                return AUTHZ_DENY(err, "aud claim has more than %d values", AUTHZ_AUD_MAX);
            if (first == NULL)
                first = a;
            if (gh_list_contains(&v->opts->audiences, a->valuestring))
                return GH_OK;
        }
    } else {
        return AUTHZ_DENY(err, "token has no aud claim");
    }
    if (first == NULL)
        return AUTHZ_DENY(err, "aud claim is empty");
    if (strcmp(first->valuestring, AUTHZ_GRAPH_APP_ID) == 0 ||
        authz_starts_with(first->valuestring, AUTHZ_GRAPH_URL))
        return AUTHZ_DENY(err,
                          "audience is %s (a Microsoft Graph token): request a token for this "
                          "API's scope",
                          authz_quote(q, sizeof(q), first->valuestring));
    return AUTHZ_DENY(err, "audience %s is not this API (expected %s)",
                      authz_quote(q, sizeof(q), first->valuestring),
                      v->opts->audiences.count ? v->opts->audiences.items[0] : "?");
}

static enum gh_status authz_claims_tenant_check(const struct authz_verifier *v, const cJSON *p,
                                                struct gh_err *err)
{
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(p, "tid");
    char q[AUTHZ_QUOTE_MAX + 1];

    if (v->opts->tenants.count == 0)
        return GH_OK;
    if (!cJSON_IsString(tid))
        return AUTHZ_DENY(err, "token has no tid claim");
    if (!gh_list_contains(&v->opts->tenants, tid->valuestring))
        return AUTHZ_DENY(err, "tenant %s is not allowed",
                          authz_quote(q, sizeof(q), tid->valuestring));
    return GH_OK;
}

/* True when the space-separated list `words` holds one item of l. */
static bool authz_words_match(const char *words, const struct gh_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        size_t n = strlen(l->items[i]);
        for (const char *w = words; *w;) {
            size_t wl = strcspn(w, " ");
            if (wl == n && memcmp(w, l->items[i], n) == 0)
                return true;
            w += wl;
            w += strspn(w, " ");
        }
    }
    return false;
}

/*
 * Scopes and app roles (403, RFC 6750 §3.1 insufficient_scope: the token is valid, it just does
 * not grant this API). Delegated tokens carry scp; app-only tokens carry roles and no scp.
 * Reads p only; thread-safe.
 */
enum gh_status authz_claims_scope_check(const struct authz_verifier *v, const cJSON *p,
                                        struct gh_err *err)
{
    const struct authz_verifier_opts *o = v->opts;
    const cJSON *scp, *roles, *r;

    if (o->required_scopes.count == 0 && o->required_roles.count == 0)
        return GH_OK;
    scp = cJSON_GetObjectItemCaseSensitive(p, "scp");
    roles = cJSON_GetObjectItemCaseSensitive(p, "roles");
    if (scp != NULL) {
        if (cJSON_IsString(scp) && authz_words_match(scp->valuestring, &o->required_scopes))
            return GH_OK;
        return AUTHZ_ERR(err, GH_E_FORBIDDEN, "delegated token lacks a required scope (%s)",
                         v->scope_hint);
    }
    if (cJSON_IsArray(roles)) {
        cJSON_ArrayForEach(r, roles)
        {
            if (cJSON_IsString(r) && gh_list_contains(&o->required_roles, r->valuestring))
                return GH_OK;
        }
    }
    return AUTHZ_ERR(err, GH_E_FORBIDDEN, "app-only token lacks a required app role");
}

/*
 * Step 5 on a signature-checked payload (see token.h): a strict JSON object, then iss (against
 * the configured issuers or set's discovery issuer, and key's own issuer), aud, tid, and
 * exp/nbf/iat at now with the configured leeway, in that order. On GH_OK *out_payload is the
 * parsed payload (caller deletes) and *out_exp its exp; on failure err holds the RFC 6750
 * error_description. Thread-safe.
 */
enum gh_status authz_token_claims_check(const struct authz_verifier *v, const char *payload,
                                        size_t len, const struct jwks_set *set,
                                        const struct jwks_key *key, int64_t now,
                                        cJSON **out_payload, int64_t *out_exp, struct gh_err *err)
{
    cJSON *p = authz_json_object_strict(payload, len);
    enum gh_status st;

    *out_payload = NULL;
    if (p == NULL)
        return AUTHZ_DENY(err, "token payload is not a JSON object (or repeats a claim)");
    st = authz_claims_issuer_check(v, p, set, key, err);
    if (st == GH_OK)
        st = authz_claims_audience_check(v, p, err);
    if (st == GH_OK)
        st = authz_claims_tenant_check(v, p, err);
    if (st == GH_OK)
        st = authz_claims_time_check(v, p, now, out_exp, err);
    if (st) {
        cJSON_Delete(p);
        return st;
    }
    *out_payload = p;
    return GH_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* verified-token cache                                                                       */

static void authz_claims_free(struct authz_claims *c)
{
    cJSON_Delete(c->json);
    free(c);
}

/* Drop a reference to verified claims. NULL is a no-op. Thread-safe. */
void authz_claims_release(struct authz_claims *c)
{
    if (c != NULL && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        authz_claims_free(c);
}

/* The payload object, borrowed for the caller's reference. */
const cJSON *authz_claims_json(const struct authz_claims *c)
{
    return c->json;
}

static const char *authz_json_str(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

/* A string claim, or NULL when absent or not a string. Borrowed. */
const char *authz_claims_str(const struct authz_claims *c, const char *name)
{
    return authz_json_str(c->json, name);
}

/* Look up the claims every decision reads, once per verified token. */
static void authz_claims_index(const struct authz_verifier *v, struct authz_claims *c)
{
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(c->json, "iat");

    c->tid = authz_json_str(c->json, "tid");
    c->token_id = authz_json_str(c->json, "uti");
    if (c->token_id == NULL)
        c->token_id = authz_json_str(c->json, "jti");
    c->iat = cJSON_IsNumber(iat) ? (int64_t)iat->valuedouble : 0;
    for (size_t i = 0; i < v->nidentity; i++)
        c->identity[i] =
            v->identity_claim[i][0] ? authz_json_str(c->json, v->identity_claim[i]) : NULL;
    c->nidentity = v->nidentity;
}

/* See authz.h. */
const char *authz_claims_tid(const struct authz_claims *c)
{
    return c->tid;
}

/* See authz.h. */
const char *authz_claims_token_id(const struct authz_claims *c)
{
    return c->token_id;
}

/* See authz.h. */
int64_t authz_claims_iat(const struct authz_claims *c)
{
    return c->iat;
}

/* See authz.h. */
const char *authz_claims_identity(const struct authz_claims *c, size_t i)
{
    return i < c->nidentity ? c->identity[i] : NULL;
}

/* The token's exp (epoch seconds). */
int64_t authz_claims_exp(const struct authz_claims *c)
{
    return c->exp;
}

static size_t authz_cache_bucket(const struct authz_cache_shard *s, const unsigned char *h)
{
    uint64_t x;
    memcpy(&x, h + 8, sizeof(x));
    return (size_t)(x & (s->nbuckets - 1));
}

static void authz_cache_unlink(struct authz_cache_shard *s, struct authz_cache_entry *e)
{
    struct authz_cache_entry **pp = &s->buckets[authz_cache_bucket(s, e->hash)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    s->count--;
}

static void authz_cache_push_front(struct authz_cache_shard *s, struct authz_cache_entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (s->tail == NULL)
        s->tail = e;
}

static struct authz_cache_entry *authz_cache_find(const struct authz_cache_shard *s,
                                                  const unsigned char *hash)
{
    struct authz_cache_entry *e;
    for (e = s->buckets[authz_cache_bucket(s, hash)]; e != NULL; e = e->chain)
        if (memcmp(e->hash, hash, sizeof(e->hash)) == 0)
            break;
    return e;
}

/* A cached, unexpired entry for hash with a new reference, or NULL. */
static struct authz_claims *authz_cache_get(struct authz_verifier *v, const unsigned char *hash,
                                            int64_t now)
{
    struct authz_cache_shard *s = &v->shards[hash[0] & (AUTHZ_CACHE_SHARDS - 1)];
    struct authz_cache_entry *e;
    struct authz_claims *c = NULL;
    bool expired = false;

    pthread_rwlock_rdlock(&s->mu);
    e = authz_cache_find(s, hash);
    /* Entries live until exp (+ leeway, as for a fresh check), never longer. */
    if (e != NULL && now > e->claims->exp + v->opts->leeway_s) {
        expired = true;
    } else if (e != NULL) {
        /* written only when it changes: a hot entry's line stays shared between cores */
        if (!atomic_load_explicit(&e->used, memory_order_relaxed))
            atomic_store_explicit(&e->used, true, memory_order_relaxed);
        c = e->claims;
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    }
    pthread_rwlock_unlock(&s->mu);
    if (expired) { /* dropped now, under the exclusive lock (it may be gone already) */
        pthread_rwlock_wrlock(&s->mu);
        e = authz_cache_find(s, hash);
        if (e != NULL && now > e->claims->exp + v->opts->leeway_s) {
            authz_cache_unlink(s, e);
            authz_claims_release(e->claims);
            free(e);
        }
        pthread_rwlock_unlock(&s->mu);
    }
    return c;
}

/* Make room in a full shard (exclusive lock held): the oldest entry not used since it was last
 * passed over goes; used ones get a second chance at the front. Ends within count + 1 steps. */
static void authz_cache_evict(struct authz_cache_shard *s)
{
    struct authz_cache_entry *old;

    while ((old = s->tail) != NULL &&
           atomic_exchange_explicit(&old->used, false, memory_order_relaxed)) {
        authz_cache_unlink(s, old);
        old->chain = s->buckets[authz_cache_bucket(s, old->hash)];
        s->buckets[authz_cache_bucket(s, old->hash)] = old;
        s->count++;
        authz_cache_push_front(s, old);
    }
    if (old == NULL)
        return;
    authz_cache_unlink(s, old);
    authz_claims_release(old->claims);
    free(old);
}

static void authz_cache_put(struct authz_verifier *v, struct authz_claims *c)
{
    struct authz_cache_shard *s = &v->shards[c->hash[0] & (AUTHZ_CACHE_SHARDS - 1)];
    struct authz_cache_entry *e, **b;

    pthread_rwlock_wrlock(&s->mu);
    if (authz_cache_find(s, c->hash) != NULL)
        goto out; /* another thread verified the same token first */
    /* Bounded: an entry makes room (the cache cannot grow with traffic). */
    if (s->count >= s->cap)
        authz_cache_evict(s);
    b = &s->buckets[authz_cache_bucket(s, c->hash)];
    e = gh_xcalloc(1, sizeof(*e));
    memcpy(e->hash, c->hash, sizeof(e->hash));
    e->claims = c;
    atomic_init(&e->used, false);
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    e->chain = *b;
    *b = e;
    s->count++;
    authz_cache_push_front(s, e);
out:
    pthread_rwlock_unlock(&s->mu);
}

/* ------------------------------------------------------------------------------------------ */
/* the verifier                                                                               */

/*
 * Build a verifier (see authz.h). Refuses configurations that would accept tokens meant for
 * another application: at least one audience is required.
 */
enum gh_status authz_verifier_new(const struct authz_verifier_opts *opts, struct jwks_cache *jwks,
                                  struct authz_verifier **out_verifier, struct gh_err *err)
{
    struct authz_verifier *v;
    struct gh_buf hint;
    const struct gh_list *hl;
    size_t per;

    *out_verifier = NULL;
    /* Without an audience any Entra token of any app in the tenant would pass. */
    if (opts->audiences.count == 0)
        return AUTHZ_ERR(err, GH_E_INVALID,
                         "GATEHOUSE_AUDIENCE must name this API (client id or App ID URI)");
    for (size_t i = 0; i < opts->issuers.count; i++)
        if (strstr(opts->issuers.items[i], AUTHZ_TENANT_TMPL) != NULL && opts->tenants.count == 0)
            return AUTHZ_ERR(err, GH_E_INVALID,
                             "GATEHOUSE_ISSUER %s accepts any tenant: set GATEHOUSE_TENANTS",
                             opts->issuers.items[i]);
    v = gh_xcalloc(1, sizeof(*v));
    v->opts = opts;
    v->jwks = jwks;
    for (size_t i = 0; i < opts->algs.count; i++)
        for (int a = 0; a < AUTHZ_ALG_COUNT; a++)
            if (strcmp(opts->algs.items[i], authz_algs[a].name) == 0)
                v->allowed_algs |= 1u << a;
    for (int a = 0; a < AUTHZ_ALG_COUNT; a++) {
        v->md[a] = EVP_MD_fetch(NULL, authz_algs[a].md, NULL);
        GH_ASSERT(v->md[a] != NULL);
    }
    gh_buf_init(&hint, 4096);
    hl = opts->required_scopes.count ? &opts->required_scopes : &opts->required_roles;
    for (size_t i = 0; i < hl->count; i++)
        gh_buf_printf(&hint, NULL, "%s%s", i ? " " : "", hl->items[i]);
    v->scope_hint = gh_xstrdup(gh_buf_str(&hint));
    gh_buf_free(&hint);
    /* "claim:attribute" pairs, split once here rather than for every verified token */
    for (size_t i = 0; i < opts->identity_claims.count && i < GH_IDENT_PAIRS_MAX; i++) {
        const char *pair = opts->identity_claims.items[i], *colon = strchr(pair, ':');
        size_t n = colon != NULL ? (size_t)(colon - pair) : 0;
        if (n > 0 && n < sizeof(v->identity_claim[i])) {
            memcpy(v->identity_claim[i], pair, n);
            v->identity_claim[i][n] = '\0';
        }
        v->nidentity = i + 1;
    }
    v->cache_on = opts->token_cache_size > 0;
    per = opts->token_cache_size > 0
              ? ((size_t)opts->token_cache_size + AUTHZ_CACHE_SHARDS - 1) / AUTHZ_CACHE_SHARDS
              : 1;
    for (int i = 0; i < AUTHZ_CACHE_SHARDS; i++) {
        struct authz_cache_shard *s = &v->shards[i];
        pthread_rwlock_init(&s->mu, NULL);
        s->cap = per;
        s->nbuckets = 16;
        while (s->nbuckets < per)
            s->nbuckets <<= 1;
        s->buckets = gh_xcalloc(s->nbuckets, sizeof(struct authz_cache_entry *));
    }
    *out_verifier = v;
    return GH_OK;
}

/* Free the verifier and its cache. NULL is a no-op. No verification may be running. */
void authz_verifier_free(struct authz_verifier *v)
{
    if (v == NULL)
        return;
    for (int i = 0; i < AUTHZ_CACHE_SHARDS; i++) {
        struct authz_cache_shard *s = &v->shards[i];
        for (struct authz_cache_entry *e = s->head, *n; e != NULL; e = n) {
            n = e->next;
            authz_claims_release(e->claims);
            free(e);
        }
        free(s->buckets);
        pthread_rwlock_destroy(&s->mu);
    }
    for (int a = 0; a < AUTHZ_ALG_COUNT; a++)
        EVP_MD_free(v->md[a]);
    free(v->scope_hint);
    free(v);
}

/* See authz.h; borrowed for the verifier's lifetime. */
const char *authz_verifier_scope_hint(const struct authz_verifier *v)
{
    return v->scope_hint;
}

/* The full check of a token not found in the cache. input_sha256 (may be NULL) is the SHA-256
 * of the signing input. On success *out is a new claims object (refcount 1). */
static enum gh_status authz_token_verify_full(struct authz_verifier *v, const char *tok, size_t len,
                                              const unsigned char *hash,
                                              const unsigned char *input_sha256, int64_t now,
                                              struct authz_claims **out, struct gh_err *err)
{
    struct authz_jws jws;
    struct authz_header hdr;
    struct jwks_set *set = NULL;
    const struct jwks_key *key = NULL;
    unsigned char sig_local[1100], *sig = NULL, *payload = NULL; /* 8192-bit RSA fits */
    size_t sig_len = 0, payload_len = 0;
    cJSON *p = NULL;
    struct authz_claims *c = NULL;
    int64_t exp = 0;
    enum gh_status st;

    st = authz_token_split(tok, len, &jws, err);
    if (st)
        goto out;
    st = authz_token_header_parse(jws.hdr, jws.hdr_len, v->allowed_algs, &hdr, err);
    if (st)
        goto out;
    set = jwks_cache_acquire(v->jwks);
    if (set == NULL) {
        st = AUTHZ_ERR(err, GH_E_UNAVAILABLE, "signing keys are not loaded (or are stale)");
        goto out;
    }
    st = authz_key_find(v, &hdr, &set, &key, err);
    if (st)
        goto out;
    st = authz_segment_decode(jws.sig, jws.sig_len, "signature", sig_local, sizeof(sig_local), &sig,
                              &sig_len, err);
    if (st)
        goto out;
    /* The payload's base64url is checked before the signature so that no non-canonical
     * spelling of a signed token is accepted. */
    st = authz_segment_decode(jws.payload, jws.payload_len, "payload", NULL, 0, &payload,
                              &payload_len, err);
    if (st)
        goto out;
    st = authz_signature_check(v, hdr.alg, key, tok, jws.signed_len, input_sha256, sig, sig_len,
                               err);
    if (st)
        goto out;
    /* From here on the bytes are the IdP's; the claims still need checking. */
    st = authz_token_claims_check(v, (const char *)payload, payload_len, set, key, now, &p, &exp,
                                  err);
    if (st)
        goto out;
    c = gh_xcalloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    c->json = p;
    p = NULL;
    c->exp = exp;
    memcpy(c->kid, hdr.kid, hdr.kid_len + 1);
    c->kid_len = hdr.kid_len;
    atomic_init(&c->generation, jwks_set_generation(set));
    memcpy(c->hash, hash, sizeof(c->hash));
    authz_claims_index(v, c);
    *out = c;
out:
    cJSON_Delete(p);
    authz_segment_free(sig, sig_local);
    free(payload);
    jwks_set_release(set);
    return st;
}

/*
 * SHA-256 of the whole token (the cache key) and, on the way, the hash state after the JWS
 * Signing Input (the bytes before the second '.'), which RS256/ES256 need on a cache miss: SHA-256
 * is a stream, so the shared prefix is hashed once and only finished when it is needed.
 * OpenSSL's low-level SHA-256 is used here, deprecated in 3.0 but present: the EVP interface
 * allocates a context per call (and another to fork it), which cost more than the hashing of a
 * cached token's ~1 KiB on every request. Note for FIPS builds: these digests (the cache key
 * and, on a miss, the RS256/ES256 signing-input digest) are computed outside the provider; a
 * FIPS-only deployment would pass NULL for input_sha256 (the EVP path below) instead.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct authz_token_digest {
    unsigned char token[SHA256_DIGEST_LENGTH];
    SHA256_CTX input; /* the state after the signing input, when have_input */
    bool have_input;
};

static enum gh_status authz_token_hash(const char *tok, size_t len, struct authz_token_digest *d,
                                       struct gh_err *err)
{
    /* The signing input ends at the second '.' (authz_token_split refuses any other shape, so
     * the saved state is only ever used for a token split exactly there). */
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    size_t signed_len = d2 != NULL ? (size_t)(d2 - tok) : 0;
    SHA256_CTX m;
    int ok;

    d->have_input = false;
    ok = SHA256_Init(&m);
    if (ok && d2 != NULL) {
        ok = SHA256_Update(&m, tok, signed_len);
        d->input = m;
        d->have_input = ok == 1;
    }
    ok = ok && SHA256_Update(&m, tok + signed_len, len - signed_len) && SHA256_Final(d->token, &m);
    OPENSSL_cleanse(&m, sizeof(m));
    if (!ok)
        return AUTHZ_ERR(err, GH_E_INTERNAL, "SHA-256 failed");
    return GH_OK;
}

/* The SHA-256 of the signing input from the saved state, or false. Clears the state. */
static bool authz_token_input_sha256(struct authz_token_digest *d,
                                     unsigned char out[SHA256_DIGEST_LENGTH])
{
    bool ok = d->have_input && SHA256_Final(out, &d->input) == 1;
    d->have_input = false;
    OPENSSL_cleanse(&d->input, sizeof(d->input));
    return ok;
}
#pragma GCC diagnostic pop

/* A cached entry is still good only while its signing key is in the current set, so that a key
 * removed from the JWKS stops working for cached tokens too. The usual hit (the set the key was
 * last seen in is still current) reads two atomics and takes no lock and no reference; after a
 * key rotation the first hit looks the kid up and remembers the newer set. */
static bool authz_cached_key_present(struct authz_verifier *v, struct authz_claims *c, int64_t now)
{
    uint64_t cur = jwks_cache_generation(v->jwks, now);
    struct jwks_set *set;
    bool ok;

    if (cur == 0)
        return false; /* no usable set: as jwks_cache_acquire returning NULL */
    if (cur == atomic_load_explicit(&c->generation, memory_order_relaxed))
        return true;
    set = jwks_cache_acquire(v->jwks);
    if (set == NULL)
        return false;
    ok = jwks_set_generation(set) == atomic_load_explicit(&c->generation, memory_order_relaxed) ||
         jwks_set_key_find(set, c->kid, c->kid_len) != NULL;
    if (ok)
        atomic_store_explicit(&c->generation, jwks_set_generation(set), memory_order_relaxed);
    jwks_set_release(set);
    return ok;
}

/*
 * An app-only token (a service on its own behalf: no scp; Entra's optional idtyp claim, when
 * present, says "app") carrying one of roles (403 otherwise). Reads p only; thread-safe.
 */
static enum gh_status authz_claims_app_role_check(const cJSON *p, const struct gh_list *roles,
                                                  struct gh_err *err)
{
    const cJSON *idtyp = cJSON_GetObjectItemCaseSensitive(p, "idtyp");
    const cJSON *r;

    if (cJSON_GetObjectItemCaseSensitive(p, "scp") != NULL ||
        (idtyp != NULL && !(cJSON_IsString(idtyp) && strcmp(idtyp->valuestring, "app") == 0)))
        return AUTHZ_ERR(err, GH_E_FORBIDDEN,
                         "a delegated (user) token is not accepted here: use an app-only token");
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(p, "roles"))
    {
        if (cJSON_IsString(r) && gh_list_contains(roles, r->valuestring))
            return GH_OK;
    }
    return AUTHZ_ERR(err, GH_E_FORBIDDEN, "app-only token lacks a required app role");
}

/*
 * Verify a bearer token (authz_token_verify, authz_token_verify_app): the cache first (SHA-256
 * of the exact bytes), the full check otherwise; then the scopes/roles of the verifier
 * (app_roles NULL) or an app-only token with one of app_roles. Logs each rejection with its
 * reason (kid, iss, oid), never the token. Thread-safe.
 */
static enum gh_status authz_token_verify_as(struct authz_verifier *v, const char *tok, size_t len,
                                            const struct gh_list *app_roles,
                                            struct authz_claims **out_claims, struct gh_err *err)
{
    unsigned char input_sha256[SHA256_DIGEST_LENGTH];
    struct authz_token_digest d;
    int64_t now = (int64_t)time(NULL);
    struct authz_claims *c = NULL;
    struct gh_err e = {0};
    enum gh_status st = GH_OK;
    enum authz_token_result res = AUTHZ_R_VALID;

    *out_claims = NULL;
    /* The cap comes before hashing so an oversized header costs nothing. */
    if (len > (size_t)GH_CAP_JWT) {
        st = AUTHZ_DENY(&e, "token is larger than %d bytes", GH_CAP_JWT);
        goto out;
    }
    st = authz_token_hash(tok, len, &d, &e);
    if (st)
        goto out;
    if (v->cache_on) {
        c = authz_cache_get(v, d.token, now);
        if (c != NULL && !authz_cached_key_present(v, c, now)) {
            authz_claims_release(c);
            c = NULL;
        }
        if (c != NULL)
            res = AUTHZ_R_CACHED;
    }
    if (c == NULL) {
        bool have_input = authz_token_input_sha256(&d, input_sha256);
        st = authz_token_verify_full(v, tok, len, d.token, have_input ? input_sha256 : NULL, now,
                                     &c, &e);
        if (st)
            goto out;
        if (v->cache_on)
            authz_cache_put(v, c);
    }
    st = app_roles != NULL ? authz_claims_app_role_check(c->json, app_roles, &e)
                           : authz_claims_scope_check(v, c->json, &e);
out:
    OPENSSL_cleanse(&d, sizeof(d));
    if (st != GH_OK) {
        char q[300], oid[64];
        res = st == GH_E_FORBIDDEN     ? AUTHZ_R_FORBIDDEN
              : st == GH_E_UNAVAILABLE ? AUTHZ_R_UNAVAILABLE
                                       : AUTHZ_R_INVALID;
        gh_log(GH_LOG_INFO, "authz", "\"token rejected\" oid=%s reason=%s",
               gh_log_q(oid, sizeof(oid),
                        c && authz_claims_str(c, "oid") ? authz_claims_str(c, "oid") : ""),
               gh_log_q(q, sizeof(q), e.msg));
        authz_claims_release(c);
        c = NULL;
        GH_ERR(err, st, "%s", e.msg);
    }
    atomic_fetch_add_explicit(&v->results[res], 1, memory_order_relaxed);
    *out_claims = c;
    return st;
}

/* See authz.h: the token's signature and claims, then the verifier's scopes/roles. */
enum gh_status authz_token_verify(struct authz_verifier *v, const char *tok, size_t len,
                                  struct authz_claims **out_claims, struct gh_err *err)
{
    return authz_token_verify_as(v, tok, len, NULL, out_claims, err);
}

/* See authz.h: the token's signature and claims, then app-only with one of roles. */
enum gh_status authz_token_verify_app(struct authz_verifier *v, const char *tok, size_t len,
                                      const struct gh_list *roles, struct authz_claims **out_claims,
                                      struct gh_err *err)
{
    GH_ASSERT(roles != NULL);
    return authz_token_verify_as(v, tok, len, roles, out_claims, err);
}

/* /metrics collector: validations by result. */
void authz_verifier_metrics(void *ctx, struct gh_buf *out)
{
    struct authz_verifier *v = ctx;
    char labels[64];

    gh_metrics_family(out, "gatehouse_token_validations_total", "counter",
                      "Bearer token validations by result (cached = verified-token cache hit)");
    for (int i = 0; i < AUTHZ_R_COUNT; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"", authz_token_result_names[i]);
        gh_metrics_sample(out, "gatehouse_token_validations_total", labels,
                          (double)atomic_load_explicit(&v->results[i], memory_order_relaxed));
    }
}

/* Copy the first GUID (8-4-4-4-12 hex) found in s into out; false when there is none. */
static bool authz_guid_in(const char *s, char out[37])
{
    static const int dash[] = {8, 13, 18, 23};
    for (; s != NULL && strlen(s) >= 36; s++) {
        bool ok = true;
        for (int i = 0; i < 36 && ok; i++) {
            bool is_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
            ok = is_dash ? s[i] == '-' : isxdigit((unsigned char)s[i]) != 0;
        }
        if (ok) {
            memcpy(out, s, 36);
            out[36] = '\0';
            return true;
        }
    }
    return false;
}

/* See authz.h. */
const char *authz_expected_tenant(const struct gh_list *tenants, const struct gh_list *issuers,
                                  const char *discovery_url, char buf[37])
{
    buf[0] = '\0';
    if (tenants->count > 0)
        return tenants->items[0];
    for (size_t i = 0; i < issuers->count; i++)
        if (authz_guid_in(issuers->items[i], buf))
            return buf;
    if (discovery_url != NULL)
        authz_guid_in(discovery_url, buf);
    return buf;
}
