/*
 * fuzz_discovery.c - the OpenID discovery document parser (jwks/discovery.c).
 * Invariants checked: accepted issuer and jwks_uri are non-empty printable ASCII and the
 * jwks_uri is an http(s) URL; so are the sign-in endpoints (jwks_discovery_endpoints).
 */
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *iss = NULL, *uri = NULL;

    if (jwks_discovery_parse((const char *)data, size, &iss, &uri, NULL) == GH_OK) {
        GH_ASSERT(iss != NULL && uri != NULL && iss[0] != '\0');
        GH_ASSERT(strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0);
        for (const char *p = iss; *p; p++)
            GH_ASSERT(*p > ' ' && *p < 0x7f);
    }
    free(iss);
    free(uri);
    iss = uri = NULL;
    if (jwks_discovery_endpoints((const char *)data, size, &iss, &uri, NULL) == GH_OK) {
        GH_ASSERT(iss != NULL && uri != NULL);
        GH_ASSERT(strncasecmp(iss, "http://", 7) == 0 || strncasecmp(iss, "https://", 8) == 0);
        GH_ASSERT(strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0);
        for (const char *p = uri; *p; p++)
            GH_ASSERT(*p > ' ' && *p < 0x7f);
    }
    free(iss);
    free(uri);
    return 0;
}
