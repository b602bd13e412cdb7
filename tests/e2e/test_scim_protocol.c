/*
 * test_scim_protocol.c - the SCIM protocol surface that is not resource-specific: discovery
 * (ServiceProviderConfig, ResourceTypes, Schemas), bearer secrets (two active, digest form,
 * never logged), SCIM Error form for 400/401/404/405/412/413, ETags and If-Match, paging,
 * sorting and projection.
 */
#include "tests/support/scim_client.h"

#include <openssl/sha.h>
#include <unistd.h>

/* §1.27, §1.31: discovery documents, true to what is implemented */
START_TEST(discovery)
{
    struct scim_res r = scim_call("GET", "/scim/v2/ServiceProviderConfig", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "patch"), "supported")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "bulk"), "supported")));
    ck_assert_int_eq(scim_int(cJSON_GetObjectItem(r.json, "filter"), "maxResults"), 1000);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "etag"), "supported")));
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "authenticationSchemes"), 0),
                 "type"),
        "oauthbearertoken");
    scim_res_free(&r);

    r = scim_call("GET", "/scim/v2/ResourceTypes", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 2);
    cJSON *user = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_str_eq(scim_str(user, "endpoint"), "/Users");
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(user, "schemaExtensions"), 0), "schema"),
        ENT_URN);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/ResourceTypes/Group", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "endpoint"), "/Groups");
    scim_res_free(&r);

    r = scim_call("GET", "/scim/v2/Schemas", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "schemas"), 0)->valuestring,
                     "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 3);
    cJSON *core = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_str_eq(scim_str(core, "id"), "urn:ietf:params:scim:schemas:core:2.0:User");
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(core, "attributes"), 0);
    ck_assert_str_eq(scim_str(a, "name"), "userName");
    ck_assert_str_eq(scim_str(a, "uniqueness"), "server");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "caseExact")));
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Schemas/" ENT_URN, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "name"), "EnterpriseUser");
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Schemas/urn:nope", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
}
END_TEST

/* §1.13, security: missing or wrong secret -> 401 SCIM Error; both rotation secrets work; the
 * token never reaches the log */
START_TEST(bearer_secrets)
{
    static const char *const bad[] = {"", "Authorization: Bearer wrong-secret-0123456789",
                                      "Authorization: Basic dXNlcjpwYXNz",
                                      "Authorization: Bearer " SCIM_TOKEN "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct scim_res r = scim_call_h("GET", "/scim/v2/Users", NULL, bad[i], NULL);
        ck_assert_int_eq(r.status, 401);
        scim_res_free(&r);
        r = scim_call_h("GET", "/scim/v2/ServiceProviderConfig", NULL, bad[i], NULL);
        ck_assert_int_eq(r.status, 401);
        scim_res_free(&r);
    }
    struct scim_res r =
        scim_call_h("GET", "/scim/v2/Users", NULL, "Authorization: Bearer " SCIM_TOKEN_2, NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    r = scim_call_h("POST", "/scim/v2/Users", "{\"userName\":\"x\"}",
                    "Authorization: Bearer wrong-secret-0123456789", NULL);
    ck_assert_int_eq(r.status, 401);
    scim_res_free(&r);
    ck_assert(gh_proc_wait_log(scim_client_proc(), "unauthorized", 2000));
    const char *log = gh_proc_log(scim_client_proc());
    ck_assert_ptr_null(strstr(log, SCIM_TOKEN));
    ck_assert_ptr_null(strstr(log, "wrong-secret"));
    ck_assert_ptr_null(strstr(log, "0123456789"));
}
END_TEST

/* The daemon can be given the secret's SHA-256 digest instead of the secret */
START_TEST(bearer_digest_form)
{
    unsigned char d[32];
    char env0[128];
    const char *tok = "digest-only-secret-abcdefghijkl";
    SHA256((const unsigned char *)tok, strlen(tok), d);
    int n = snprintf(env0, sizeof(env0), "GATEHOUSE_SCIM_TOKEN=sha256:");
    for (int i = 0; i < 32; i++)
        n += snprintf(env0 + n, sizeof(env0) - (size_t)n, "%02x", d[i]);
    const char *env[] = {env0, NULL};
    scim_e2e_stop();
    scim_client_use(gh_proc_start(env, true));
    struct scim_res r = scim_call_h("GET", "/scim/v2/Users", NULL,
                                    "Authorization: Bearer digest-only-secret-abcdefghijkl", NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users", NULL);
    ck_assert_int_eq(r.status, 401);
    scim_res_free(&r);
}
END_TEST

/* Every error a SCIM route can produce is a SCIM Error (checked in scim_call_h) */
START_TEST(error_forms)
{
    struct scim_res r =
        scim_call("GET", "/scim/v2/Users/00000000-0000-4000-8000-000000000000", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Nope", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users/a/b", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("DELETE", "/scim/v2/Users", NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_ptr_nonnull(strstr(r.allow, "POST"));
    scim_res_free(&r);
    r = scim_call("DELETE", "/scim/v2/ServiceProviderConfig", NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    scim_res_free(&r);
    r = scim_call("POST", "/scim/v2/Schemas/x", "{}");
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    scim_res_free(&r);
    r = scim_call("POST", "/scim/v2/Nope", "{}");
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("PATCH", "/scim/Users", "{}");
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users?filter=%s", scim_q("userName eq")), NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidFilter");
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users?filter=%s", scim_q("userName eq \"x\" )")),
                  NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidFilter");
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?count=abc", NULL);
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    /* 413: over GATEHOUSE_MAX_BODY (1 MiB), in SCIM form */
    size_t big = 1100 * 1024;
    char *body = malloc(big + 64);
    memcpy(body, "{\"userName\":\"", 13);
    memset(body + 13, 'a', big);
    memcpy(body + 13 + big, "\"}", 3);
    r = scim_call("POST", "/scim/v2/Users", body);
    ck_assert_int_eq(r.status, 413);
    scim_res_free(&r);
    free(body);
    /* the validator's request Content-Type, with a charset, is fine (§1.4) */
    r = scim_call_h("POST", "/scim/v2/Users", "{\"userName\":\"ct@contoso.com\"}", NULL,
                    "Content-Type: application/scim+json; charset=utf-8");
    ck_assert_int_eq(r.status, 201);
    scim_res_free(&r);
}
END_TEST

/* ETag on GET/POST/PUT/PATCH; If-Match honoured on PUT, PATCH and DELETE (412) */
START_TEST(etags_and_if_match)
{
    char *id = scim_create_user("etag@contoso.com");
    const char *path = scim_path("/scim/v2/Users/%s", id);
    char p[256];
    snprintf(p, sizeof(p), "%s", path);
    const char *patch =
        "{\"Operations\":[{\"op\":\"replace\",\"path\":\"title\",\"value\":\"A\"}]}";
    struct scim_res r = scim_call_h("PATCH", p, patch, NULL, "If-Match: W/\"9\"");
    ck_assert_int_eq(r.status, 412);
    scim_res_free(&r);
    r = scim_call_h("PATCH", p, patch, NULL, "If-Match: W/\"1\"");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, "W/\"2\"");
    scim_res_free(&r);
    r = scim_call_h("PUT", p, "{\"userName\":\"etag@contoso.com\"}", NULL, "If-Match: W/\"1\"");
    ck_assert_int_eq(r.status, 412);
    scim_res_free(&r);
    r = scim_call_h("PUT", p, "{\"userName\":\"etag@contoso.com\"}", NULL,
                    "If-Match: W/\"7\", W/\"2\"");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, "W/\"3\"");
    scim_res_free(&r);
    r = scim_call_h("DELETE", p, NULL, NULL, "If-Match: W/\"2\"");
    ck_assert_int_eq(r.status, 412);
    scim_res_free(&r);
    r = scim_call_h("DELETE", p, NULL, NULL, "If-Match: *");
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    free(id);
}
END_TEST

/* §1.25: startIndex/count paging, totalResults, itemsPerPage; sortBy; count capped */
START_TEST(paging_sorting_projection)
{
    char name[64];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "page%d@contoso.com", 6 - i);
        free(scim_create_user(name));
    }
    struct scim_res r = scim_call("GET", "/scim/v2/Users?startIndex=3&count=2", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 7);
    ck_assert_int_eq(scim_int(r.json, "startIndex"), 3);
    ck_assert_int_eq(scim_int(r.json, "itemsPerPage"), 2);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0), "userName"),
        "page4@contoso.com");
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?sortBy=userName&count=1", NULL);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0), "userName"),
        "page0@contoso.com");
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=1", NULL);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0), "userName"),
        "page6@contoso.com");
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?count=0", NULL);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 7);
    ck_assert_int_eq(scim_int(r.json, "itemsPerPage"), 0);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?startIndex=100", NULL);
    ck_assert_int_eq(scim_int(r.json, "itemsPerPage"), 0);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?count=100000&startIndex=-4", NULL);
    ck_assert_int_eq(scim_int(r.json, "startIndex"), 1);
    ck_assert_int_eq(scim_int(r.json, "itemsPerPage"), 7);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?attributes=userName&count=1", NULL);
    cJSON *u = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_ptr_nonnull(scim_str(u, "id"));
    ck_assert_ptr_nonnull(scim_str(u, "userName"));
    ck_assert_ptr_null(cJSON_GetObjectItem(u, "meta"));
    ck_assert_ptr_null(cJSON_GetObjectItem(u, "active"));
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Users?excludedAttributes=meta,active&count=1", NULL);
    u = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_ptr_nonnull(scim_str(u, "userName"));
    ck_assert_ptr_null(cJSON_GetObjectItem(u, "meta"));
    ck_assert_ptr_null(cJSON_GetObjectItem(u, "active"));
    scim_res_free(&r);
}
END_TEST

/* §1.31: Entra reaches the endpoint over HTTPS only; meta.location follows the scheme the
 * client used (the listener's TLS, or X-Forwarded-Proto from a TLS-terminating proxy). */
START_TEST(https_and_location)
{
    struct scim_res r = scim_call("POST", "/scim/v2/Users", "{\"userName\":\"plain@contoso.com\"}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_int_eq(strncmp(scim_str(r.json, "meta.location"), "http://", 7), 0);
    scim_res_free(&r);
    r = scim_call_h("POST", "/scim/v2/Users", "{\"userName\":\"proxied@contoso.com\"}", NULL,
                    "X-Forwarded-Proto: https");
    ck_assert_int_eq(r.status, 201);
    ck_assert_int_eq(strncmp(scim_str(r.json, "meta.location"), "https://", 8), 0);
    ck_assert_int_eq(strncmp(r.location, "https://", 8), 0);
    scim_res_free(&r);

    char *dir = gh_tmpdir_new();
    char cert[600], key[600], envc[640], envk[640], url[256];
    gh_selfsigned_cert(dir, cert, key);
    snprintf(envc, sizeof(envc), "GATEHOUSE_TLS_CERT=%s", cert);
    snprintf(envk, sizeof(envk), "GATEHOUSE_TLS_KEY=%s", key);
    const char *env[] = {envc, envk, "GATEHOUSE_SCIM_TOKEN=" SCIM_TOKEN, NULL};
    scim_e2e_stop();
    scim_client_use(gh_proc_start(env, false));
    ck_assert_ptr_nonnull(strstr(gh_proc_url(scim_client_proc()), "https://"));
    snprintf(url, sizeof(url), "%s/scim/v2/Users", gh_proc_url(scim_client_proc()));
    const char *hdrs[] = {SCIM_AUTH, SCIM_CT, NULL};
    struct gh_http_resp h = {0};
    long status = 0;
    for (int i = 0; i < 100 && status != 201; i++) { /* until the listener is up */
        if (gh_http("POST", url, hdrs, "{\"userName\":\"tls@contoso.com\"}", cert, &h) == 0)
            status = h.status;
        if (status != 201) {
            gh_http_resp_free(&h);
            usleep(50 * 1000);
        }
    }
    ck_assert_int_eq(status, 201);
    cJSON *j = cJSON_Parse(h.body);
    ck_assert_int_eq(strncmp(scim_str(j, "meta.location"), "https://", 8), 0);
    cJSON_Delete(j);
    gh_http_resp_free(&h);
    scim_e2e_stop();
    gh_tmpdir_remove(dir);
}
END_TEST

/* Issue 9.11: what Microsoft's SCIM validator (SCIMReferenceCode PostmanCollection.json) sends:
 * lower-case endpoint names, the old /serviceConfiguration path, unquoted filter values, a
 * date-time with a 7-digit fraction and an offset, and attributes=emails[type eq "work"]. */
START_TEST(entra_validator_leniency)
{
    static const char *const users[] = {
        "{\"userName\":\"Olivia@contoso.com\",\"name\":{\"familyName\":\"Employee\"},"
        "\"emails\":[{\"type\":\"work\",\"value\":\"olivia@example.com\"},{\"type\":\"home\","
        "\"value\":\"olivia@home.test\"}]}",
        "{\"userName\":\"bob@contoso.com\",\"name\":{\"familyName\":\"Employee\"},"
        "\"emails\":[{\"type\":\"home\",\"value\":\"bob@example.org\"}]}",
        "{\"userName\":\"carol@contoso.com\",\"name\":{\"familyName\":\"Manager\"},"
        "\"emails\":[{\"type\":\"work\",\"value\":\"carol@example.com\"}]}",
    };
    char *ids[3];
    char path[1024];
    struct scim_res r;

    /* endpoint names in any case; the metrics label stays "scim" */
    for (size_t i = 0; i < 3; i++)
        ids[i] = scim_create(i == 0   ? "/scim/v2/users"
                             : i == 1 ? "/scim/v2/USERS"
                                      : "/scim/v2/Users",
                             users[i]);
    r = scim_call("GET", scim_path("/scim/v2/users/%s", ids[0]), NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "userName"), "Olivia@contoso.com");
    scim_res_free(&r);
    char *g = scim_create("/scim/v2/groups", "{\"displayName\":\"Lenient\"}");
    r = scim_call("GET", "/scim/v2/GROUPS", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 1);
    scim_res_free(&r);
    static const char *const spc[] = {"/scim/v2/serviceConfiguration",
                                      "/scim/v2/SERVICECONFIGURATION",
                                      "/scim/v2/serviceproviderconfig"};
    for (size_t i = 0; i < 3; i++) {
        r = scim_call("GET", spc[i], NULL);
        ck_assert_msg(r.status == 200, "%s: %ld", spc[i], r.status);
        ck_assert(
            cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "patch"), "supported")));
        scim_res_free(&r);
    }
    r = scim_call("GET", "/scim/v2/resourcetypes", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 2);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/RESOURCETYPES/Group", NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/schemas", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 3);
    scim_res_free(&r);
    /* 404 and 405 (with Allow) keep working on the any-case names */
    r = scim_call("GET", "/scim/v2/usersx", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/serviceConfiguration/x", NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("DELETE", "/scim/v2/users", NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD, POST");
    scim_res_free(&r);
    r = scim_call("DELETE", "/scim/v2/serviceconfiguration", NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    scim_res_free(&r);
    r = scim_call("POST", "/scim/v2/SCHEMAS", "{}");
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD");
    scim_res_free(&r);

    /* unquoted filter values */
    ck_assert_int_eq(scim_count("/scim/v2/users", "userName sw O"), 1);
    ck_assert_int_eq(scim_count("/scim/v2/users",
                                "name.FamilyName eq Employee and (emails.Value co example.com "
                                "or emails.Value co example.org)"),
                     2);
    ck_assert_int_eq(
        scim_count("/scim/v2/users", "meta.Created gt 2015-10-10T14:38:21.8617979-07:00"), 3);
    ck_assert_int_eq(
        scim_count("/scim/v2/users", "meta.created lt 2015-10-10T14:38:21.8617979-07:00"), 0);
    ck_assert_int_eq(scim_count("/scim/v2/users", "emails[type eq work and value co example]"), 2);
    r = scim_call("GET", scim_path("/scim/v2/Users?filter=%s", scim_q("meta.created gt soon")),
                  NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidFilter");
    scim_res_free(&r);

    /* attributes=emails[type eq "work"]: only the work addresses; no email, no attribute */
    r = scim_call("GET",
                  scim_path("/scim/v2/Users?sortBy=userName&attributes=%s",
                            scim_q("emails[type eq \"work\"]")),
                  NULL);
    ck_assert_int_eq(r.status, 200);
    cJSON *res = cJSON_GetObjectItem(r.json, "Resources");
    ck_assert_int_eq(cJSON_GetArraySize(res), 3);
    cJSON *bob = cJSON_GetArrayItem(res, 0), *carol = cJSON_GetArrayItem(res, 1),
          *olivia = cJSON_GetArrayItem(res, 2);
    ck_assert_str_eq(scim_str(olivia, "id"), ids[0]);
    ck_assert_ptr_null(cJSON_GetObjectItem(olivia, "userName"));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(olivia, "emails")), 1);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(olivia, "emails"), 0), "value"),
        "olivia@example.com");
    ck_assert_ptr_null(cJSON_GetObjectItem(bob, "emails"));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(carol, "emails")), 1);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s?excludedAttributes=%s", ids[0],
             scim_q("emails[type eq \"work\"]"));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "userName"), "Olivia@contoso.com");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "emails")), 1);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "emails"), 0), "type"),
                     "home");
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users?attributes=%s", scim_q("emails[type eq]")),
                  NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidFilter");
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s?attributes=%s", ids[0],
             scim_q("userName[value eq \"x\"]"));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    /* refused before anything is written */
    r = scim_call("POST", scim_path("/scim/v2/Users?attributes=%s", scim_q("emails[type eq]")),
                  "{\"userName\":\"never@contoso.com\"}");
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s?excludedAttributes=%s", ids[2],
             scim_q("name[givenName eq \"x\"]"));
    r = scim_call("PATCH", path,
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                  "\"Operations\":[{\"op\":\"replace\",\"path\":\"title\",\"value\":\"T\"}]}");
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Users", "userName eq \"never@contoso.com\" or title pr"),
                     0);
    /* a group's members through a value filter (members come from the store, not the body) */
    char patch[512];
    snprintf(
        patch, sizeof(patch),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{"
        "\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}]}",
        ids[0], ids[1]);
    r = scim_call("PATCH", scim_path("/scim/v2/groups/%s", g), patch);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Groups/%s?excludedAttributes=%s", g,
             scim_q("members[value eq \""));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    char q[256];
    snprintf(q, sizeof(q), "members[value eq \"%s\"]", ids[0]);
    snprintf(path, sizeof(path), "/scim/v2/Groups/%s?excludedAttributes=%s", g, scim_q(q));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), 1);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "members"), 0), "value"), ids[1]);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Groups/%s?attributes=%s", g, scim_q(q));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "members")), 1);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "members"), 0), "value"), ids[0]);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "displayName"));
    scim_res_free(&r);
    for (size_t i = 0; i < 3; i++)
        free(ids[i]);
    free(g);
}
END_TEST

/* /metrics carries the store's gauges and change counters */
START_TEST(store_metrics)
{
    char url[256];
    struct gh_http_resp m;
    char *u = scim_create_user("metrics@contoso.com");
    char *g = scim_create_group("Metrics");
    snprintf(url, sizeof(url), "%s/metrics", gh_proc_url(scim_client_proc()));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &m), 0);
    ck_assert_int_eq(m.status, 200);
    ck_assert_ptr_nonnull(strstr(m.body, "gatehouse_scim_users{active=\"true\"} 1"));
    ck_assert_ptr_nonnull(strstr(m.body, "gatehouse_scim_groups 1"));
    ck_assert_ptr_nonnull(strstr(m.body, "gatehouse_scim_changes_total{event=\"user_created\"} 1"));
    gh_http_resp_free(&m);
    free(u);
    free(g);
}
END_TEST

Suite *scim_protocol_suite(void)
{
    Suite *s = suite_create("scim_protocol");
    TCase *tc = tcase_create("protocol");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, scim_e2e_start, scim_e2e_stop);
    tcase_add_test(tc, discovery);
    tcase_add_test(tc, bearer_secrets);
    tcase_add_test(tc, bearer_digest_form);
    tcase_add_test(tc, error_forms);
    tcase_add_test(tc, etags_and_if_match);
    tcase_add_test(tc, paging_sorting_projection);
    tcase_add_test(tc, https_and_location);
    tcase_add_test(tc, store_metrics);
    tcase_add_test(tc, entra_validator_leniency);
    suite_add_tcase(s, tc);
    return s;
}
