/*
 * jwks.h - the jwks module's front header: OIDC discovery, JWKS fetching and the signing-key
 * cache that token verification reads.
 *
 * A key set is an immutable, reference-counted snapshot (struct jwks_set): readers take a
 * reference with jwks_cache_acquire(), look keys up without any lock held, and drop it with
 * jwks_set_release(). A refresh builds a whole new set and swaps the pointer, so a key removed
 * from the IdP's document stops working as soon as the new set is in place.
 */
#ifndef JWKS_H
#define JWKS_H

#include "core/core.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jwks_cache;
struct jwks_set;
struct jwks_key;

/* Digests of the JWS algorithms (RS256/ES256 -> SHA-256, ...). */
enum jwks_hash { JWKS_HASH_SHA256 = 0, JWKS_HASH_SHA384, JWKS_HASH_SHA512, JWKS_HASH_COUNT };

/* Key types a JWK may carry; a token's alg must match (RS* -> RSA, ES256 -> EC P-256, ...). */
enum jwks_kty { JWKS_KTY_RSA = 1, JWKS_KTY_EC = 2 };

/* Longest kid kept; Entra's are 27-40 characters. Longer kids are rejected, never truncated. */
#define JWKS_KID_MAX 128
/* Most keys taken from one document (Entra publishes 3-6). */
#define JWKS_KEYS_MAX 64
/* Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 requires 2048). */
#define JWKS_RSA_MIN_BITS 2048

/* ---- strict base64url (RFC 7515 §2, RFC 4648 §5: no padding, no whitespace) ---- */
/* Decode src into out (at least jwks_b64url_decoded_max(len)+1 bytes; NUL-terminated). Rejects
 * any character outside the url-safe alphabet, a length of 1 mod 4 and non-zero trailing bits
 * (non-canonical encodings would make one token have many spellings). */
size_t jwks_b64url_decoded_max(size_t len);
enum gh_status jwks_b64url_decode(const char *src, size_t len, unsigned char *out, size_t *out_len,
                                  struct gh_err *err);

/* ---- documents (pure parsers; also the fuzz targets) ---- */
/* Parse an OpenID discovery document. *out_issuer and *out_jwks_uri are owned by the caller. */
enum gh_status jwks_discovery_parse(const char *doc, size_t len, char **out_issuer,
                                    char **out_jwks_uri, struct gh_err *err);
/* The sign-in endpoints of a discovery document: authorization_endpoint and token_endpoint
 * (http(s) URLs), both owned by the caller. GH_E_INVALID when either is missing or bad. */
enum gh_status jwks_discovery_endpoints(const char *doc, size_t len, char **out_authorization,
                                        char **out_token, struct gh_err *err);
/* Parse a JWKS document into a new set (refcount 1; caller drops it with jwks_set_release).
 * Keys with use other than "sig", unknown kty/crv, or weak RSA moduli are skipped; a document
 * with no usable key is an error (an empty set would lock every user out). */
enum gh_status jwks_set_parse(const char *doc, size_t len, const char *issuer,
                              struct jwks_set **out_set, struct gh_err *err);

/* ---- key sets (immutable once built; safe to read from any thread) ---- */
void jwks_set_retain(struct jwks_set *set);
void jwks_set_release(struct jwks_set *set); /* NULL is a no-op */
size_t jwks_set_key_count(const struct jwks_set *set);
const char *jwks_set_issuer(const struct jwks_set *set); /* discovery issuer, may be NULL */
int64_t jwks_set_loaded_at(const struct jwks_set *set);  /* unix time of the fetch */
uint64_t jwks_set_generation(const struct jwks_set *set);
/* The key with this kid, or NULL. Borrowed: valid while the caller holds the set. */
const struct jwks_key *jwks_set_key_find(const struct jwks_set *set, const char *kid,
                                         size_t kid_len);
const char *jwks_key_kid(const struct jwks_key *k);
enum jwks_kty jwks_key_kty(const struct jwks_key *k);
int jwks_key_curve_nid(const struct jwks_key *k);      /* EC only; 0 for RSA */
const char *jwks_key_alg(const struct jwks_key *k);    /* the JWK's own "alg", or NULL */
const char *jwks_key_issuer(const struct jwks_key *k); /* Entra v2 "issuer" member, or NULL */
EVP_PKEY *jwks_key_pkey(const struct jwks_key *k);     /* borrowed; never modified */
/* A fresh verify context for digest h (PKCS#1 v1.5 padding for RSA), duplicated from one made
 * at load: cheaper than a new init per token. Caller frees with EVP_PKEY_CTX_free; NULL when the
 * key does not support h (an EC key supports only its curve's digest). */
EVP_PKEY_CTX *jwks_key_verify_ctx(const struct jwks_key *k, enum jwks_hash h);

/* ---- fetching (libcurl; HTTPS only, plain http only for loopback when allowed) ---- */
struct jwks_fetch_opts {
    long timeout_s; /* total; connect timeout is min(timeout, 3 s) */
    const char *ca_file;
    bool allow_insecure_loopback;
    size_t cap; /* most body bytes accepted */
};
/* GET url into body (initialised by the caller with gh_buf_init). *out_max_age is the
 * Cache-Control max-age in seconds, or -1. Non-2xx, transport errors and caps: GH_E_UPSTREAM. */
enum gh_status jwks_fetch(const char *url, const struct jwks_fetch_opts *opts, struct gh_buf *body,
                          long *out_max_age, struct gh_err *err);
/* POST form (application/x-www-form-urlencoded text) to url under the same rules as jwks_fetch
 * (scheme, TLS, timeouts, no redirects, cap); any HTTP status is a reply: *out_status and the
 * body are set for the caller to read (an OAuth error is a 400 with JSON). Transport errors and
 * caps: GH_E_UPSTREAM (body freed). The form is never logged. */
enum gh_status jwks_post_form(const char *url, const struct jwks_fetch_opts *opts, const char *form,
                              struct gh_buf *body, long *out_status, struct gh_err *err);
/* True for http(s) URLs whose host is 127.0.0.0/8, ::1 or localhost. */
bool jwks_url_is_loopback(const char *url);
void jwks_global_init(void); /* curl_global_init once; called by jwks_cache_new */

/* ---- the cache (discovery + JWKS + refresh thread) ---- */
/* What the cache is told; the daemon fills it from its GATEHOUSE_* settings (named below). */
struct jwks_cache_opts {
    const char *discovery_url; /* GATEHOUSE_OIDC_DISCOVERY, or NULL (no fetching) */
    int http_timeout_s;        /* GATEHOUSE_HTTP_TIMEOUT: each outbound fetch */
    const char *ca_file;       /* GATEHOUSE_CA_FILE: extra CA bundle, or NULL */
    bool allow_insecure_http;  /* GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER: plain http on loopback */
    int refresh_min_s;         /* GATEHOUSE_JWKS_REFRESH_MIN: max-age clamped to [min, max] */
    int refresh_max_s;         /* GATEHOUSE_JWKS_REFRESH_MAX */
    int cooldown_s;            /* GATEHOUSE_JWKS_COOLDOWN: between unknown-kid refreshes */
    int max_stale_s;           /* GATEHOUSE_JWKS_MAX_STALE: a last-good set serves this long */
    int threads;               /* GATEHOUSE_THREADS: at most threads/2 (>= 1) callers wait */
};
/* Build a cache from opts (borrowed, with its strings; they must outlive the cache). No network
 * until jwks_cache_start. Caller frees with jwks_cache_free. */
enum gh_status jwks_cache_new(const struct jwks_cache_opts *opts, struct jwks_cache **out_cache,
                              struct gh_err *err);
/* Start the refresh thread: it loads discovery and keys at once, then periodically. */
enum gh_status jwks_cache_start(struct jwks_cache *c, struct gh_err *err);
/* Stop and join the refresh thread (bounded by the fetch timeout). Idempotent. */
void jwks_cache_stop(struct jwks_cache *c);
void jwks_cache_free(struct jwks_cache *c); /* stops first; NULL is a no-op */
/* Install a key set from a JWKS document directly (tests, benchmarks, static key files). */
enum gh_status jwks_cache_load_doc(struct jwks_cache *c, const char *doc, size_t len,
                                   const char *issuer, struct gh_err *err);
/* The current set with a reference the caller drops (jwks_set_release), or NULL when no set has
 * been loaded or the last good one is older than GATEHOUSE_JWKS_MAX_STALE. Never waits for I/O. */
struct jwks_set *jwks_cache_acquire(struct jwks_cache *c);
/* The generation of the set jwks_cache_acquire would return (jwks_set_generation), or 0 when
 * it would return NULL (none loaded, or stale at now, epoch seconds); no lock, no reference: for
 * a check on every cached token. Thread-safe. */
uint64_t jwks_cache_generation(struct jwks_cache *c, int64_t now);
/* A token named a kid the current set lacks: ask for one forced refresh and wait for it (at
 * most the fetch timeout). Rate-limited to one per GATEHOUSE_JWKS_COOLDOWN, one fetch in flight
 * however many callers ask, at most GATEHOUSE_THREADS/2 (>= 1) callers waiting. Returns true when
 * a refresh completed while waiting. */
bool jwks_cache_refresh_unknown_kid(struct jwks_cache *c);
/* /readyz probe (gh_ready_fn) and /metrics collector (gh_metrics_collect_fn); ctx = cache. */
bool jwks_cache_ready(void *ctx, const char **out_reason);
void jwks_cache_metrics(void *ctx, struct gh_buf *out);

/* Counters, for tests. */
struct jwks_cache_stats {
    uint64_t fetches;        /* JWKS fetch attempts */
    uint64_t failures;       /* failed or rejected fetches (discovery or JWKS) */
    uint64_t forced;         /* refreshes triggered by unknown kids */
    uint64_t forced_skipped; /* unknown-kid requests answered from cooldown */
    size_t keys;
};
void jwks_cache_stats_get(struct jwks_cache *c, struct jwks_cache_stats *out);

#endif
