/*
 * challenge.c - the RFC 6750 §3 WWW-Authenticate challenge of every bearer-protected route
 * (/v1/authorize, /v1/ext_authz, SCIM, admin), so they all answer a failed authentication the
 * same way:
 *   no credentials (no Authorization, or another scheme)  -> Bearer realm="…"            (§3.1)
 *   a Bearer credential that fails                        -> …, error="invalid_token", …
 *   a valid token without the scope (403)                 -> …, error="insufficient_scope", …
 * Every quoted value is reduced to the §3 quoted-string alphabet, so text that came from a
 * token can never break out of it. The credential itself is never part of the challenge.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest error_description or scope put in the header: keeps it well inside proxy limits. */
#define GH_CHALLENGE_VALUE_MAX 200

/* RFC 6750 §3: error_description and scope are quoted-strings limited to %x20-21 / %x23-5B /
 * %x5D-7E; anything else is replaced. */
static void gh_challenge_safe(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (; *src != '\0' && o + 1 < cap && o < GH_CHALLENGE_VALUE_MAX; src++) {
        unsigned char ch = (unsigned char)*src;
        dst[o++] = (char)((ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\') ? '?' : ch);
    }
    dst[o] = '\0';
}

/* True when the request attempted Bearer authentication: an Authorization header whose scheme
 * (RFC 7235 §2.1, case-insensitive) is "Bearer", whatever follows. Anything else is a request
 * without credentials for a bearer route, which §3.1 answers without an error code. */
static bool gh_req_tried_bearer(const struct gh_req *r)
{
    const char *a = gh_req_header(r, "Authorization");
    size_t n;

    if (a == NULL)
        return false;
    a += strspn(a, " \t");
    n = strcspn(a, " \t");
    return n == 6 && strncasecmp(a, "Bearer", 6) == 0;
}

/*
 * Set the WWW-Authenticate challenge for err (GH_E_UNAUTHORIZED or GH_E_FORBIDDEN) in realm (a
 * constant without quotes or backslashes); scope (may be NULL or "") is the space-separated
 * scope list of a 403. Returns the error code put in the challenge, or NULL when the request
 * carried no credentials (the challenge then names only the realm). The caller still sends the
 * reply. Thread-safe.
 */
const char *gh_reply_bearer_challenge(struct gh_req *r, const char *realm, const struct gh_err *err,
                                      const char *scope)
{
    char desc[GH_CHALLENGE_VALUE_MAX + 1], sc[GH_CHALLENGE_VALUE_MAX + 1];
    char hdr[3 * GH_CHALLENGE_VALUE_MAX + 128];
    const char *code;

    if (err->status == GH_E_FORBIDDEN) {
        code = "insufficient_scope";
    } else if (gh_req_tried_bearer(r)) {
        code = "invalid_token";
    } else {
        snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\"", realm);
        gh_reply_header(r, "WWW-Authenticate", hdr);
        return NULL;
    }
    gh_challenge_safe(desc, sizeof(desc), err->msg[0] ? err->msg : gh_status_name(err->status));
    if (err->status == GH_E_FORBIDDEN && scope != NULL && scope[0] != '\0') {
        gh_challenge_safe(sc, sizeof(sc), scope);
        snprintf(hdr, sizeof(hdr),
                 "Bearer realm=\"%s\", error=\"%s\", scope=\"%s\", error_description=\"%s\"", realm,
                 code, sc, desc);
    } else {
        snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\", error=\"%s\", error_description=\"%s\"",
                 realm, code, desc);
    }
    gh_reply_header(r, "WWW-Authenticate", hdr);
    return code;
}
