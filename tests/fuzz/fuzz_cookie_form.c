/*
 * fuzz_cookie_form.c - the sign-in's parsers of browser input (core/form.c): a Cookie header
 * (gh_http_cookie_find) and an x-www-form-urlencoded body (gh_http_form_get, which the
 * development issuer's token endpoint and the callback's forms read).
 * Invariants checked: a cookie value lies inside the header; a decoded form value fits its
 * buffer, is NUL-terminated and holds no NUL byte before its end.
 */
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {
        "gh_admin_session", "__Host-gh_admin_session", "code", "state", "a", ""};
    char *s = gh_xmalloc(size + 1);
    char out[64];
    const char *v = NULL;
    size_t len = 0;

    if (size > 0)
        memcpy(s, data, size); /* every byte, NULs included: the form parser reads all size */
    s[size] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (gh_http_cookie_find(s, names[i], &v, &len))
            GH_ASSERT(v >= s && v + len <= s + strlen(s));
        /* the form parser reads exactly size bytes, NULs included */
        if (gh_http_form_get(s, size, names[i], out, sizeof(out), NULL) == GH_OK)
            GH_ASSERT(strlen(out) < sizeof(out));
    }
    free(s);
    return 0;
}
