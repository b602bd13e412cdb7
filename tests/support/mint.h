/*
 * mint.h - test-only JWT minting with OpenSSL: the keys under tests/data/keys/, their public
 * JWKs, and compact JWS tokens signed at run time (RS256/384/512, ES256/384, HS256 for attack
 * tests) with any header and claims, so exp/nbf/iat are always relative to now.
 *
 * Everything returned is owned by the caller (free() for strings, cJSON_Delete for trees,
 * gh_mint_key_free for keys). Failures abort the test.
 */
#ifndef GH_TEST_MINT_H
#define GH_TEST_MINT_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct gh_mint_key;

/* ---- keys ---- */
/* Load tests/data/keys/<name>.pem (found via $GH_SRCDIR, ./ or ../) under the given kid. */
struct gh_mint_key *gh_mint_key_load(const char *name, const char *kid);
void gh_mint_key_free(struct gh_mint_key *k);
const char *gh_mint_key_kid(const struct gh_mint_key *k);
/* Public JWK as a cJSON object ({"kty","use":"sig","kid", n/e or crv/x/y}); no "alg", like
 * Entra. */
cJSON *gh_mint_key_jwk(const struct gh_mint_key *k);
/* {"keys":[...]} for n keys, as text. */
char *gh_mint_jwks(struct gh_mint_key *const *keys, size_t n);
/* The public key as PEM text (for the HS256-with-public-key attack). */
char *gh_mint_key_public_pem(const struct gh_mint_key *k);

/* ---- tokens ---- */
char *gh_mint_b64url(const void *p, size_t n);
/* Sign header_json.payload_json (raw texts, encoded here) with k under alg (RS*, ES*) or, for
 * alg HS256, with hmac_secret (k ignored). */
char *gh_mint_sign(const struct gh_mint_key *k, const char *alg, const char *header_json,
                   const char *payload_json);
char *gh_mint_sign_hmac(const void *secret, size_t secret_len, const char *header_json,
                        const char *payload_json);
/* Typical Entra v2 access-token claims: iss, aud, tid, oid, sub, scp, ver, iat/nbf = now - 60,
 * exp = now + 3600. Caller owns the tree. */
cJSON *gh_mint_claims(const char *iss, const char *aud, const char *tid);
/* Header {"typ":"JWT","alg":alg,"kid":kid of k} + claims, signed with k. */
char *gh_mint_jwt(const struct gh_mint_key *k, const char *alg, const cJSON *claims);
/* Set a numeric claim to now + delta seconds. */
void gh_mint_claims_time(cJSON *claims, const char *name, long delta);

#endif
