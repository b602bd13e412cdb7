/*
 * fuzz_bearer_header.c - the Authorization header parser (RFC 6750 §2.1).
 * Invariant checked: a token returned lies inside the input and holds only b64token bytes.
 */
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = gh_xstrndup((const char *)data, size);
    const char *tok = NULL;
    size_t len = 0;

    if (gh_http_parse_bearer(s, &tok, &len, NULL) == GH_OK) {
        GH_ASSERT(tok >= s && tok + len <= s + strlen(s) && len > 0);
        for (size_t i = 0; i < len; i++)
            GH_ASSERT(tok[i] > ' ' && tok[i] != '"' && tok[i] != ',');
    }
    free(s);
    return 0;
}
