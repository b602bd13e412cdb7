/*
 * scim_client.c - the SCIM client of the end-to-end suites (see scim_client.h): one request with
 * the SCIM secret, the invariants every SCIM response holds (ENTRA.md §1.4 content type, §1.18 no
 * nulls, RFC 7644 §3.12 error shape) asserted on each, and small readers for the JSON that comes
 * back. The daemon in use is one pointer here, set by the suite's fixture; Check forks each test,
 * so a test sees the daemon its own fixture started.
 */
#include "tests/support/scim_client.h"

static struct gh_proc *scim_client_daemon; /* borrowed: the fixture that started it stops it */

/* See scim_client.h. */
void scim_client_use(struct gh_proc *p)
{
    scim_client_daemon = p;
}

/* See scim_client.h. */
struct gh_proc *scim_client_proc(void)
{
    return scim_client_daemon;
}

/* See scim_client.h. */
void scim_e2e_start(void)
{
    const char *env[] = {"GATEHOUSE_SCIM_TOKEN=" SCIM_TOKEN "," SCIM_TOKEN_2,
                         "GATEHOUSE_LOG_LEVEL=info", NULL};
    scim_client_daemon = gh_proc_start(env, true);
}

/* See scim_client.h. */
void scim_e2e_stop(void)
{
    int rc = 0;
    if (scim_client_daemon != NULL)
        rc = gh_proc_stop(scim_client_daemon);
    scim_client_daemon = NULL;
    ck_assert_msg(rc == 0, "gatehouse exited with %d", rc);
}

/* See scim_client.h. */
struct gh_fixture *scim_e2e_fixture_start(const struct gh_fixture_opts *opts)
{
    struct gh_fixture *fx = gh_fixture_start(opts);
    scim_client_use(fx->proc);
    return fx;
}

/* See scim_client.h. */
void scim_e2e_fixture_stop(struct gh_fixture *fx)
{
    int rc = gh_fixture_stop(fx);
    scim_client_use(NULL);
    ck_assert_msg(rc == 0, "gatehouse exited with %d", rc);
}

/* See scim_client.h. */
const char *scim_q(const char *s)
{
    static char out[8][2048];
    static int k;
    char *o = out[k++ % 8], *p = o;
    for (; *s && p < o + 2040; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c) != NULL) {
            *p++ = (char)c;
        } else {
            snprintf(p, 4, "%%%02X", c);
            p += 3;
        }
    }
    *p = '\0';
    return o;
}

/* See scim_client.h. */
struct scim_res scim_call_h(const char *method, const char *path, const char *body,
                            const char *auth, const char *extra)
{
    struct gh_http_resp r;
    struct scim_res out;
    char url[4096], ct[128];
    const char *hdrs[4];
    int n = 0;

    memset(&out, 0, sizeof(out));
    hdrs[n++] = auth == NULL ? SCIM_AUTH : auth;
    if (hdrs[0][0] == '\0')
        n = 0;
    if (body != NULL)
        hdrs[n++] = SCIM_CT;
    if (extra != NULL)
        hdrs[n++] = extra;
    hdrs[n] = NULL;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_daemon), path);
    ck_assert_int_eq(gh_http(method, url, hdrs, body, NULL, &r), 0);
    out.status = r.status;
    /* ENTRA.md §1.4: the validator aborts on anything but application/scim+json */
    ck_assert_msg(gh_http_resp_header(&r, "Content-Type", ct, sizeof(ct)) != NULL &&
                      strncmp(ct, "application/scim+json", 21) == 0,
                  "%s %s: Content-Type %s", method, path, ct);
    if (gh_http_resp_header(&r, "ETag", out.etag, sizeof(out.etag)) == NULL)
        out.etag[0] = '\0';
    if (gh_http_resp_header(&r, "Location", out.location, sizeof(out.location)) == NULL)
        out.location[0] = '\0';
    if (gh_http_resp_header(&r, "Allow", out.allow, sizeof(out.allow)) == NULL)
        out.allow[0] = '\0';
    out.raw = strdup(r.body ? r.body : "");
    if (r.body_len > 0) {
        out.json = cJSON_Parse(r.body);
        ck_assert_msg(out.json != NULL, "%s %s: body is not JSON: %s", method, path, r.body);
        /* no nulls anywhere (ENTRA.md §1.18) */
        ck_assert_msg(strstr(r.body, ":null") == NULL, "%s %s: null in %s", method, path, r.body);
    }
    if (r.status >= 400) {
        /* RFC 7644 §3.12: SCIM Error, status as a string equal to the HTTP status */
        char st[24];
        snprintf(st, sizeof(st), "%ld", r.status);
        ck_assert_msg(out.json != NULL, "%s %s: error without body", method, path);
        cJSON *schemas = cJSON_GetObjectItem(out.json, "schemas");
        cJSON *status = cJSON_GetObjectItem(out.json, "status");
        ck_assert(cJSON_IsArray(schemas));
        ck_assert_str_eq(cJSON_GetArrayItem(schemas, 0)->valuestring,
                         "urn:ietf:params:scim:api:messages:2.0:Error");
        ck_assert_msg(cJSON_IsString(status) && strcmp(status->valuestring, st) == 0,
                      "status must be the string \"%s\": %s", st, r.body);
    }
    gh_http_resp_free(&r);
    return out;
}

/* See scim_client.h. */
struct scim_res scim_call(const char *method, const char *path, const char *body)
{
    return scim_call_h(method, path, body, NULL, NULL);
}

/* See scim_client.h. */
void scim_res_free(struct scim_res *r)
{
    cJSON_Delete(r->json);
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

/* See scim_client.h. */
const char *scim_str(const cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *cur = j;
    for (char *tok = buf, *dot; tok != NULL; tok = dot ? dot + 1 : NULL) {
        dot = strchr(tok, '.');
        if (dot != NULL && strncmp(tok, "urn:", 4) == 0)
            dot = NULL; /* a URN key is the whole rest */
        if (dot != NULL)
            *dot = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

/* See scim_client.h. */
int scim_int(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", name);
    return v->valueint;
}

/* See scim_client.h. */
char *scim_create(const char *endpoint, const char *body)
{
    struct scim_res r = scim_call("POST", endpoint, body);
    ck_assert_msg(r.status == 201, "POST %s: %ld %s", endpoint, r.status, r.raw);
    char *id = strdup(scim_str(r.json, "id"));
    scim_res_free(&r);
    return id;
}

/* See scim_client.h. */
char *scim_create_user(const char *user_name)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"%s\","
             "\"active\":true}",
             user_name);
    return scim_create("/scim/v2/Users", body);
}

/* See scim_client.h. */
char *scim_create_group(const char *display_name)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"http://schemas."
             "microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\"externalId\":"
             "\"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\",\"displayName\":\"%s\",\"meta\":{"
             "\"resourceType\":\"Group\"}}",
             display_name);
    return scim_create("/scim/v2/Groups", body);
}

/* See scim_client.h. */
const char *scim_path2(const char *prefix, const char *a)
{
    static char out[4][2048];
    static int k;
    char *o = out[k++ % 4];
    snprintf(o, 2048, "%s%s", prefix, a);
    return o;
}
/* See scim_client.h. */
const char *scim_fmt_prefix(const char *fmt)
{
    static char out[4][256];
    static int k;
    char *o = out[k++ % 4];
    size_t n = strlen(fmt);
    ck_assert(n >= 2 && strcmp(fmt + n - 2, "%s") == 0);
    snprintf(o, 256, "%.*s", (int)(n - 2), fmt);
    return o;
}

/* See scim_client.h. */
int scim_count(const char *endpoint, const char *filter)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s?filter=%s", endpoint, scim_q(filter));
    struct scim_res r = scim_call("GET", path, NULL);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.raw);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "schemas"), 0)->valuestring,
                     "urn:ietf:params:scim:api:messages:2.0:ListResponse");
    int n = scim_int(r.json, "totalResults");
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(r.json, "Resources")));
    scim_res_free(&r);
    return n;
}

/* See scim_client.h. */
void scim_ok(const char *method, const char *path, const char *body, long want)
{
    struct scim_res r = scim_call(method, path, body);
    ck_assert_msg(r.status == want, "%s %s: %ld %s", method, path, r.status, r.raw);
    scim_res_free(&r);
}

/* See scim_client.h. */
void scim_member_op(const char *op, const char *gid, const char *uid)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
             "\"Operations\":[{\"op\":\"%s\",\"path\":\"members\",\"value\":[{\"value\":"
             "\"%s\"}]}]}",
             op, uid);
    scim_ok("PATCH", scim_path2("/scim/v2/Groups/", gid), body, 204);
}

/* See scim_client.h. */
void scim_members(const char *gid, char *out, size_t cap)
{
    struct scim_res r = scim_call("GET", scim_path("/scim/v2/Groups/%s", gid), NULL);
    ck_assert_int_eq(r.status, 200);
    cJSON *m = cJSON_GetObjectItem(r.json, "members");
    const char *ids[64];
    int n = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, m)
    {
        if (n < 64)
            ids[n++] = cJSON_GetObjectItem(e, "value")->valuestring;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            const char *t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", i ? "," : "", ids[i]);
    }
    scim_res_free(&r);
}
