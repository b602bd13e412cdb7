/*
 * discovery.c - OpenID Connect Discovery 1.0 §3 documents -> issuer and jwks_uri.
 *
 * Only the two members gatehouse uses are read. Both Entra forms work: the tenant document
 * (issuer https://login.microsoftonline.com/<tid>/v2.0, or https://sts.windows.net/<tid>/ for
 * v1) and the common/organizations document whose issuer is the "{tenantid}" template, which
 * token.c expands with the token's tid against the GATEHOUSE_TENANTS allow-list.
 */
#include "core/core.h"
#include "jwks/jwks_int.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest issuer or jwks_uri accepted; real ones are < 100 bytes. */
#define JWKS_URL_MAX 2048

/* A member that must be a non-empty string of printable ASCII shorter than JWKS_URL_MAX. */
static enum gh_status jwks_discovery_member(const cJSON *root, const char *name, char **out,
                                            struct gh_err *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, name);
    size_t len;

    if (!cJSON_IsString(m) || m->valuestring[0] == '\0')
        return JWKS_ERR(err, GH_E_INVALID, "discovery document has no %s", name);
    len = strlen(m->valuestring);
    if (len > JWKS_URL_MAX)
        return JWKS_ERR(err, GH_E_INVALID, "discovery %s is too long", name);
    /* These strings end up in logs, error descriptions and curl: no control or non-ASCII bytes. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)m->valuestring[i] <= 0x20 || (unsigned char)m->valuestring[i] >= 0x7f)
            return JWKS_ERR(err, GH_E_INVALID, "discovery %s has invalid characters", name);
    *out = gh_xstrdup(m->valuestring);
    return GH_OK;
}

/* The capped, strictly-an-object parse both readers of a discovery document start with. On
 * success *out_root is the caller's (cJSON_Delete). */
static enum gh_status jwks_discovery_open(const char *doc, size_t len, cJSON **out_root,
                                          struct gh_err *err)
{
    cJSON *root;

    *out_root = NULL;
    if (len > (size_t)GH_CAP_DISCOVERY)
        return JWKS_ERR(err, GH_E_TOO_LARGE, "discovery document larger than %zu bytes",
                        (size_t)GH_CAP_DISCOVERY);
    root = cJSON_ParseWithLength(doc, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return JWKS_ERR(err, GH_E_INVALID, "discovery document is not a JSON object");
    }
    *out_root = root;
    return GH_OK;
}

/* An http(s) URL by its scheme (whether plain http may be used is jwks_fetch's rule). */
static bool jwks_discovery_is_http(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0;
}

/*
 * Parse a discovery document (see jwks.h). The jwks_uri must be an http(s) URL; whether plain
 * http may be fetched is decided by jwks_fetch. On success both outputs are owned by the caller.
 * Thread-safe.
 */
enum gh_status jwks_discovery_parse(const char *doc, size_t len, char **out_issuer,
                                    char **out_jwks_uri, struct gh_err *err)
{
    cJSON *root = NULL;
    char *issuer = NULL, *uri = NULL;
    enum gh_status st;

    *out_issuer = NULL;
    *out_jwks_uri = NULL;
    st = jwks_discovery_open(doc, len, &root, err);
    if (st)
        return st;
    st = jwks_discovery_member(root, "issuer", &issuer, err);
    if (st)
        goto out;
    st = jwks_discovery_member(root, "jwks_uri", &uri, err);
    if (st)
        goto out;
    if (!jwks_discovery_is_http(uri)) {
        st = JWKS_ERR(err, GH_E_INVALID, "discovery jwks_uri is not an http(s) URL");
        goto out;
    }
    *out_issuer = issuer;
    *out_jwks_uri = uri;
    issuer = uri = NULL;
out:
    free(issuer);
    free(uri);
    cJSON_Delete(root);
    return st;
}

/*
 * The sign-in endpoints of a discovery document (see jwks.h): authorization_endpoint and
 * token_endpoint, both http(s) URLs of printable ASCII. Whether plain http may be used is the
 * caller's rule (jwks_fetch's). Both outputs owned by the caller on success. Thread-safe.
 */
enum gh_status jwks_discovery_endpoints(const char *doc, size_t len, char **out_authorization,
                                        char **out_token, struct gh_err *err)
{
    cJSON *root = NULL;
    char *a = NULL, *t = NULL;
    enum gh_status st;

    *out_authorization = NULL;
    *out_token = NULL;
    st = jwks_discovery_open(doc, len, &root, err);
    if (st)
        return st;
    st = jwks_discovery_member(root, "authorization_endpoint", &a, err);
    if (st == GH_OK)
        st = jwks_discovery_member(root, "token_endpoint", &t, err);
    if (st)
        goto out;
    if (!jwks_discovery_is_http(a) || !jwks_discovery_is_http(t)) {
        st = JWKS_ERR(err, GH_E_INVALID, "discovery endpoints must be http(s) URLs");
        goto out;
    }
    *out_authorization = a;
    *out_token = t;
    a = t = NULL;
out:
    free(a);
    free(t);
    cJSON_Delete(root);
    return st;
}
