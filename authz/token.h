/*
 * token.h - private to authz/: the pieces of token verification that are tested and fuzzed on
 * their own (compact-form splitting, JOSE header parsing, the verified-token cache).
 */
#ifndef AUTHZ_TOKEN_H
#define AUTHZ_TOKEN_H

#include "authz/authz.h"
#include "jwks/jwks.h"

#include <stdbool.h>

/* GH_ERR whose value is visibly the status, so static analysis (which cannot see into
 * gh_err_set) knows an error path never returns GH_OK. */
#define AUTHZ_ERR(err, st, ...) (GH_ERR((err), (st), __VA_ARGS__), (st))

/* JWS algorithms gatehouse can verify; a token's alg must be one of the configured ones. */
enum authz_alg {
    AUTHZ_ALG_RS256 = 0,
    AUTHZ_ALG_RS384,
    AUTHZ_ALG_RS512,
    AUTHZ_ALG_ES256,
    AUTHZ_ALG_ES384,
    AUTHZ_ALG_ES512,
    AUTHZ_ALG_COUNT
};

/* The three segments of a compact JWS, borrowed from the token. */
struct authz_jws {
    const char *hdr;
    size_t hdr_len;
    const char *payload;
    size_t payload_len;
    const char *sig;
    size_t sig_len;
    size_t signed_len; /* bytes of "header.payload", the JWS Signing Input */
};

/* What the verifier keeps of a JOSE header. */
struct authz_header {
    enum authz_alg alg;
    char kid[JWKS_KID_MAX + 1];
    size_t kid_len;
};

/* Split a compact JWS: exactly three non-empty base64url segments, size-capped (GH_CAP_JWT).
 * GH_E_UNAUTHORIZED with an error_description on failure. */
enum gh_status authz_token_split(const char *tok, size_t len, struct authz_jws *out,
                                 struct gh_err *err);
/* Decode and check the header segment: JSON object without duplicate members, alg in the
 * allowed mask (bit per enum authz_alg; none/HS* always refused), kid present, no crit, no
 * jku/x5u/jwk/x5c. */
enum gh_status authz_token_header_parse(const char *b64, size_t len, unsigned allowed_algs,
                                        struct authz_header *out, struct gh_err *err);
/* Parse decoded JSON into an object; rejects what core/json.h refuses (a member name repeated
 * in any object, \u0000, NUL, invalid UTF-8, trailing bytes; RFC 7515 §5.2: reject rather than
 * guess which one counts). */
cJSON *authz_json_object_strict(const char *json, size_t len);
const char *authz_alg_name(enum authz_alg alg);
/* Check the claims of a signature-checked payload (decoded JSON, len bytes, NUL-terminated at
 * len): strict object, iss (configured issuers or set's, and key's own), aud, tid, exp/nbf/iat
 * at now. GH_OK: *out_payload (caller deletes) and *out_exp. GH_E_UNAUTHORIZED otherwise. */
enum gh_status authz_token_claims_check(const struct authz_verifier *v, const char *payload,
                                        size_t len, const struct jwks_set *set,
                                        const struct jwks_key *key, int64_t now,
                                        cJSON **out_payload, int64_t *out_exp, struct gh_err *err);
/* Required scopes (scp) or app roles (roles) of the payload; GH_E_FORBIDDEN when missing. */
enum gh_status authz_claims_scope_check(const struct authz_verifier *v, const cJSON *p,
                                        struct gh_err *err);

#endif
