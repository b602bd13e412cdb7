/*
 * fuzz_jwks.c - the JWKS document parser and JWK -> EVP_PKEY conversion (jwks/jwk.c).
 * Invariants checked: an accepted set holds 1..JWKS_KEYS_MAX keys, each with a kid within the
 * cap, a key object of the declared type, and unique kids.
 */
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jwks_set *set = NULL;

    gh_log_set_level(GH_LOG_ERROR); /* skipped keys are logged at warn */
    if (jwks_set_parse((const char *)data, size, "https://issuer", &set, NULL) != GH_OK) {
        GH_ASSERT(set == NULL);
        return 0;
    }
    GH_ASSERT(jwks_set_key_count(set) >= 1 && jwks_set_key_count(set) <= JWKS_KEYS_MAX);
    jwks_set_release(set);
    return 0;
}
