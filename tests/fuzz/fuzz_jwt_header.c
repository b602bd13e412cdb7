/*
 * fuzz_jwt_header.c - the token splitter, the strict base64url decoder and the JOSE header
 * parser (authz/token.c, jwks/jwk.c), i.e. everything that touches a token before a signature
 * check. Invariants checked: segments lie inside the input and contain no '.'; a decoded
 * segment re-encodes to exactly its input (one spelling per token); an accepted header has an
 * allowed alg and a kid within the cap.
 */
#include "authz/token.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_b64url_roundtrip(const char *s, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char *out = gh_xmalloc(jwks_b64url_decoded_max(n) + 1);
    size_t len = 0, o = 0;
    char *enc;

    if (jwks_b64url_decode(s, n, out, &len, NULL) == GH_OK) {
        enc = gh_xmalloc(len / 3 * 4 + 5);
        for (size_t i = 0; i < len; i += 3) {
            uint32_t v = (uint32_t)out[i] << 16;
            size_t rest = len - i;
            if (rest > 1)
                v |= (uint32_t)out[i + 1] << 8;
            if (rest > 2)
                v |= out[i + 2];
            enc[o++] = al[v >> 18 & 63];
            enc[o++] = al[v >> 12 & 63];
            if (rest > 1)
                enc[o++] = al[v >> 6 & 63];
            if (rest > 2)
                enc[o++] = al[v & 63];
        }
        GH_ASSERT(o == n && memcmp(enc, s, n) == 0);
        free(enc);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tok = (const char *)data;
    struct authz_jws jws;
    struct authz_header hdr;

    fuzz_b64url_roundtrip(tok, size);
    if (authz_token_split(tok, size, &jws, NULL) != GH_OK)
        return 0;
    GH_ASSERT(jws.hdr == tok && jws.sig + jws.sig_len == tok + size);
    GH_ASSERT(memchr(jws.hdr, '.', jws.hdr_len) == NULL);
    GH_ASSERT(memchr(jws.payload, '.', jws.payload_len) == NULL);
    GH_ASSERT(memchr(jws.sig, '.', jws.sig_len) == NULL);
    GH_ASSERT(jws.signed_len == jws.hdr_len + 1 + jws.payload_len);
    fuzz_b64url_roundtrip(jws.payload, jws.payload_len);
    if (authz_token_header_parse(jws.hdr, jws.hdr_len, (1u << AUTHZ_ALG_COUNT) - 1, &hdr, NULL) ==
        GH_OK) {
        GH_ASSERT(hdr.alg < AUTHZ_ALG_COUNT);
        GH_ASSERT(hdr.kid_len > 0 && hdr.kid_len <= JWKS_KID_MAX && strlen(hdr.kid) == hdr.kid_len);
    }
    return 0;
}
