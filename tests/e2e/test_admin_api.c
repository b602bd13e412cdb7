/*
 * test_admin_api.c - the admin API (/admin/v1) through the real binary: the admin secret on
 * every route (none: 401 with a realm challenge; wrong or the SCIM secret: 401 invalid_token),
 * identities and IdP groups read-only (405 with Allow on every write method), access-group
 * CRUD (admin-created groups change; file-declared ones answer 409), links in every state
 * (provisioned over SCIM: linked, renamed, ambiguous, near_match, unlinked on both sides), list
 * paging and filters, and POST /admin/v1/policy/reload with a good and a bad file.
 */
#include "tests/support/scim_client.h"

#include <unistd.h>

#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define ADMIN_AUTH  "Authorization: Bearer " ADMIN_TOKEN

static struct gh_fixture *fx;

/* A reply: status, parsed body (NULL when empty) and two headers. */
struct admin_res {
    long status;
    cJSON *json;
    char allow[128];
    char challenge[256];
};

static void admin_res_free(struct admin_res *r)
{
    cJSON_Delete(r->json);
    memset(r, 0, sizeof(*r));
}

static struct admin_res admin_h(const char *method, const char *path, const char *body,
                                const char *auth)
{
    struct admin_res out = {0};
    struct gh_http_resp r;
    char url[1024];
    const char *hdrs[3] = {auth, body ? "Content-Type: application/json" : NULL, NULL};
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, auth ? hdrs : hdrs + 1, body, NULL, &r), 0);
    out.status = r.status;
    out.json = r.body_len ? cJSON_Parse(r.body) : NULL;
    if (gh_http_resp_header(&r, "Allow", out.allow, sizeof(out.allow)) == NULL)
        out.allow[0] = '\0';
    if (gh_http_resp_header(&r, "WWW-Authenticate", out.challenge, sizeof(out.challenge)) == NULL)
        out.challenge[0] = '\0';
    /* every error is {"error","message"} */
    if (out.status >= 400 && strcmp(method, "HEAD") != 0) {
        ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(out.json, "message")), "%s %s: %s", method,
                      path, r.body);
        ck_assert(cJSON_IsString(cJSON_GetObjectItem(out.json, "error")));
    }
    gh_http_resp_free(&r);
    return out;
}

/* An admin request with the admin secret; the status, and the body when out is not NULL. */
static long admin(const char *method, const char *path, const char *body, cJSON **out)
{
    struct admin_res r = admin_h(method, path, body, ADMIN_AUTH);
    long status = r.status;
    if (out != NULL) {
        *out = r.json;
        r.json = NULL;
    }
    admin_res_free(&r);
    return status;
}

static const char *str(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(j, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void start_with(const char *policy, const char *const *extra)
{
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){.no_idp = true,
                                                          .scim_token = SCIM_TOKEN,
                                                          .admin_token = ADMIN_TOKEN,
                                                          .policy = policy,
                                                          .extra = extra});
}

static void stop(void)
{
    scim_e2e_fixture_stop(fx);
}

static void write_policy(const char *text)
{
    char tmp[700];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->policy_path);
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, fx->policy_path), 0);
}

#define POLICY_FILE                                                                                \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],\"default_grants\":[{\"dataset\":\"directory\","  \
    "\"actions\":[\"protect\"]}]}"

static const char *const no_throttle[] = {"GATEHOUSE_AUTH_FAIL_BURST=10000", NULL};

/* ---- the admin secret on every route ---- */

START_TEST(auth_on_every_route)
{
    static const char *const routes[][2] = {
        {"GET", "/admin/v1/access-groups"},
        {"POST", "/admin/v1/access-groups"},
        {"GET", "/admin/v1/access-groups/payroll%20analysts"},
        {"PUT", "/admin/v1/access-groups/payroll%20analysts"},
        {"DELETE", "/admin/v1/access-groups/payroll%20analysts"},
        {"GET", "/admin/v1/identities"},
        {"GET", "/admin/v1/identities/x"},
        {"POST", "/admin/v1/identities"},
        {"DELETE", "/admin/v1/identities/x"},
        {"GET", "/admin/v1/idp-groups"},
        {"GET", "/admin/v1/idp-groups/x"},
        {"PATCH", "/admin/v1/idp-groups/x"},
        {"GET", "/admin/v1/links"},
        {"POST", "/admin/v1/policy/reload"},
    };
    start_with(POLICY_FILE, no_throttle);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const char *m = routes[i][0], *p = routes[i][1];
        const char *body = strcmp(m, "GET") == 0 || strcmp(m, "DELETE") == 0 ? NULL : "{}";
        struct admin_res r = admin_h(m, p, body, NULL);
        ck_assert_msg(r.status == 401, "%s %s without a token: %ld", m, p, r.status);
        /* RFC 6750 §3.1: no credential, no error code, only the realm */
        ck_assert_msg(strstr(r.challenge, "Bearer realm=\"gatehouse-admin\"") != NULL, "%s",
                      r.challenge);
        ck_assert_ptr_null(strstr(r.challenge, "error="));
        admin_res_free(&r);
        r = admin_h(m, p, body, "Authorization: Bearer wrong-admin-secret");
        ck_assert_msg(r.status == 401, "%s %s wrong token: %ld", m, p, r.status);
        ck_assert_ptr_nonnull(strstr(r.challenge, "invalid_token"));
        admin_res_free(&r);
        r = admin_h(m, p, body, SCIM_AUTH);
        ck_assert_msg(r.status == 401, "%s %s SCIM token: %ld", m, p, r.status);
        admin_res_free(&r);
    }
    /* and the secret itself is never logged */
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), ADMIN_TOKEN));
    stop();
}
END_TEST

/* ---- identities and IdP groups belong to Entra ID ---- */

START_TEST(directory_not_editable)
{
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE"};
    start_with(POLICY_FILE, NULL);
    char *uid = scim_create_user("ro.user@example.com");
    char *gid = scim_create_group("Readers");
    const char *paths[] = {"/admin/v1/identities", scim_path2("/admin/v1/identities/", uid),
                           "/admin/v1/idp-groups", scim_path2("/admin/v1/idp-groups/", gid)};
    for (size_t p = 0; p < 4; p++) {
        for (size_t m = 0; m < 4; m++) {
            struct admin_res r =
                admin_h(methods[m], paths[p], "{\"displayName\":\"x\"}", ADMIN_AUTH);
            ck_assert_msg(r.status == 405, "%s %s: %ld", methods[m], paths[p], r.status);
            ck_assert_str_eq(r.allow, "GET, HEAD");
            ck_assert_ptr_nonnull(strstr(str(r.json, "message"), "belong to Entra ID"));
            ck_assert_ptr_nonnull(strstr(str(r.json, "message"), "SCIM"));
            admin_res_free(&r);
        }
    }
    /* nothing changed */
    cJSON *j = NULL;
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/identities/", uid), NULL, &j), 200);
    ck_assert_str_eq(str(j, "userName"), "ro.user@example.com");
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/idp-groups/", gid), NULL, &j), 200);
    ck_assert_str_eq(str(j, "displayName"), "Readers");
    cJSON_Delete(j);
    free(uid);
    free(gid);
    stop();
}
END_TEST

/* ---- access groups: CRUD ---- */

START_TEST(access_group_crud)
{
    cJSON *j = NULL;
    start_with(POLICY_FILE, NULL);
    char *gid = scim_create_group("HR Writers");

    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups",
                           "{\"name\":\"HR Writers\",\"grants\":[{\"dataset\":\"hr\","
                           "\"actions\":[\"protect\"]}]}",
                           &j),
                     201);
    ck_assert_str_eq(str(j, "source"), "admin");
    ck_assert_str_eq(str(j, "link_state"), "linked");
    ck_assert_str_eq(str(cJSON_GetObjectItem(j, "idp_group"), "id"), gid);
    cJSON_Delete(j);

    /* PUT replaces the grants; the spelling of the name may change within the key */
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/hr%20writers",
                           "{\"name\":\"HR writers\",\"grants\":[{\"dataset\":\"hr\","
                           "\"actions\":[\"protect\",\"unprotect\"]},{\"dataset\":\"pay\","
                           "\"actions\":[\"unprotect\"]}]}",
                           &j),
                     200);
    ck_assert_str_eq(str(j, "name"), "HR writers");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "grants")), 2);
    ck_assert_str_eq(str(cJSON_GetObjectItem(j, "idp_group"), "id"), gid); /* the link stays */
    cJSON_Delete(j);
    /* the name may be left out: it is the path's */
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/HR%20Writers",
                           "{\"grants\":[{\"dataset\":\"hr\",\"actions\":[\"protect\"]}]}", &j),
                     200);
    ck_assert_str_eq(str(j, "name"), "HR Writers");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "grants")), 1);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/HR%20Writers", NULL, &j), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "grants")), 1);
    cJSON_Delete(j);

    /* a rename would move the link: refused with the way to do it */
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/HR%20Writers",
                           "{\"name\":\"HR Editors\",\"grants\":[]}", &j),
                     400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "create the new access group"));
    cJSON_Delete(j);
    /* bad bodies, unknown groups */
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/HR%20Writers",
                           "{\"grants\":[{\"dataset\":\"hr\",\"actions\":[\"read\"]}]}", NULL),
                     400);
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/HR%20Writers", "[]", NULL), 400);
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups/Nobody", "{\"grants\":[]}", NULL), 404);

    /* file-declared: read-only here, and the message says where it comes from */
    ck_assert_int_eq(
        admin("PUT", "/admin/v1/access-groups/Payroll%20Analysts", "{\"grants\":[]}", &j), 409);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "policy file"));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("DELETE", "/admin/v1/access-groups/Payroll%20Analysts", NULL, &j), 409);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "policy file"));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Payroll%20Analysts", NULL, &j), 200);
    ck_assert_str_eq(str(j, "source"), "file");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "grants")), 1);
    cJSON_Delete(j);

    /* the listing shows both with grants, source and link */
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups", NULL, &j), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "access_groups")), 2);
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(j, "access_groups"))
    {
        ck_assert(cJSON_IsArray(cJSON_GetObjectItem(g, "grants")));
        ck_assert_ptr_nonnull(str(g, "source"));
        ck_assert_ptr_nonnull(str(g, "link_state"));
    }
    cJSON_Delete(j);

    /* methods the collection and an item do not have */
    struct admin_res r = admin_h("PATCH", "/admin/v1/access-groups/HR%20Writers", "{}", ADMIN_AUTH);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD, PUT, DELETE");
    admin_res_free(&r);
    r = admin_h("PUT", "/admin/v1/access-groups", "{}", ADMIN_AUTH);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD, POST");
    admin_res_free(&r);

    /* a path name longer than any key is not cut down to another group's key */
    char longname[300], body[400], path[400];
    memset(longname, 'a', 256);
    longname[256] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"grants\":[]}", longname);
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", body, NULL), 201);
    snprintf(path, sizeof(path), "/admin/v1/access-groups/%sb", longname);
    ck_assert_int_eq(admin("DELETE", path, NULL, NULL), 404);
    ck_assert_int_eq(admin("PUT", path, "{\"grants\":[]}", NULL), 404);
    snprintf(path, sizeof(path), "/admin/v1/access-groups/%s", longname);
    ck_assert_int_eq(admin("DELETE", path, NULL, NULL), 204);

    ck_assert_int_eq(admin("DELETE", "/admin/v1/access-groups/HR%20Writers", NULL, NULL), 204);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/HR%20Writers", NULL, NULL), 404);
    ck_assert_int_eq(admin("DELETE", "/admin/v1/access-groups/HR%20Writers", NULL, NULL), 404);
    free(gid);
    stop();
}
END_TEST

/* ---- links ---- */

/* The entry of /admin/v1/links[?state=] whose access group (or, key NULL, IdP group id) is
 * given; a detached copy (caller deletes) or NULL. */
static cJSON *link_entry(const char *query, const char *key, const char *idp_id)
{
    cJSON *list = NULL, *e, *found = NULL;
    char path[256];
    snprintf(path, sizeof(path), "/admin/v1/links%s", query);
    ck_assert_int_eq(admin("GET", path, NULL, &list), 200);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(list, "links"))
    {
        const cJSON *ag = cJSON_GetObjectItem(e, "access_group");
        const cJSON *idp = cJSON_GetObjectItem(e, "idp_group");
        if (key != NULL && cJSON_IsObject(ag) && strcmp(str(ag, "key"), key) == 0)
            found = cJSON_Duplicate(e, true);
        if (key == NULL && cJSON_IsObject(idp) && !cJSON_IsObject(ag) &&
            strcmp(str(idp, "id"), idp_id) == 0)
            found = cJSON_Duplicate(e, true);
    }
    cJSON_Delete(list);
    return found;
}

static void expect_state(const char *key, const char *idp_id, const char *state)
{
    cJSON *e = link_entry("", key, idp_id);
    ck_assert_msg(e != NULL, "no link entry for %s", key ? key : idp_id);
    ck_assert_msg(strcmp(str(e, "state"), state) == 0, "%s: %s, want %s", key ? key : idp_id,
                  str(e, "state"), state);
    cJSON_Delete(e);
}

#define AG(name)                                                                                   \
    "{\"name\":\"" name "\",\"grants\":[{\"dataset\":\"d\",\"actions\":[\"protect\"]}]}"

START_TEST(links_every_state)
{
    cJSON *e;
    start_with(POLICY_FILE, NULL);
    /* linked: the IdP group Entra provisions under the file's name */
    char *payroll = scim_create_group("Payroll Analysts");
    /* renamed: linked, then renamed in Entra; the pin holds */
    char *ops = scim_create_group("Ops");
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", AG("Ops"), NULL), 201);
    struct scim_res r = scim_call(
        "PATCH", scim_path2("/scim/v2/Groups/", ops),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":"
        "\"Replace\",\"path\":\"displayName\",\"value\":\"Operations Team\"}]}");
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    /* ambiguous: two IdP groups with one key before the access group exists */
    char *amb1 = scim_create_group("Auditors");
    char *amb2 = scim_create_group(" auditors");
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", AG("AUDITORS"), NULL), 201);
    /* near match: the same skeleton, another key */
    char *near = scim_create_group("Data-Stewards");
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", AG("Data Stewards"), NULL), 201);
    /* unlinked on both sides */
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", AG("Lonely"), NULL), 201);
    char *stray = scim_create_group("Stray");

    expect_state("payroll analysts", NULL, "linked");
    e = link_entry("", "payroll analysts", NULL);
    ck_assert_str_eq(str(cJSON_GetObjectItem(e, "idp_group"), "id"), payroll);
    ck_assert_str_eq(str(cJSON_GetObjectItem(e, "access_group"), "source"), "file");
    ck_assert_ptr_nonnull(str(e, "linked"));
    cJSON_Delete(e);

    expect_state("ops", NULL, "renamed");
    e = link_entry("", "ops", NULL);
    ck_assert_str_eq(str(cJSON_GetObjectItem(e, "idp_group"), "id"), ops);
    ck_assert_str_eq(str(cJSON_GetObjectItem(e, "idp_group"), "displayName"), "Operations Team");
    cJSON_Delete(e);

    expect_state("auditors", NULL, "ambiguous");
    e = link_entry("", "auditors", NULL);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(e, "idp_group")));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e, "ambiguous")), 2);
    cJSON_Delete(e);

    expect_state("data stewards", NULL, "near_match");
    e = link_entry("", "data stewards", NULL);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "near_matches"), 0), "id"),
                     near);
    cJSON_Delete(e);

    expect_state("lonely", NULL, "unlinked_access_group");
    expect_state(NULL, stray, "unlinked_idp_group");
    /* an IdP group an access group's entry names has no entry of its own */
    ck_assert_ptr_null(link_entry("", NULL, amb1));
    ck_assert_ptr_null(link_entry("", NULL, near));

    /* the access group listing carries the same state; the IdP group view too */
    cJSON *j = NULL;
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Ops", NULL, &j), 200);
    ck_assert_str_eq(str(j, "link_state"), "renamed");
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/idp-groups/", ops), NULL, &j), 200);
    ck_assert_str_eq(str(j, "link_state"), "renamed");
    ck_assert_str_eq(str(cJSON_GetObjectItem(j, "access_group"), "key"), "ops");
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/idp-groups/", amb2), NULL, &j), 200);
    ck_assert_str_eq(str(j, "link_state"), "ambiguous");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "access_group")));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/idp-groups/", stray), NULL, &j), 200);
    ck_assert_str_eq(str(j, "link_state"), "unlinked_idp_group");
    cJSON_Delete(j);

    /* ?state= filters; an unknown state is a 400 naming the known ones */
    ck_assert_int_eq(admin("GET", "/admin/v1/links?state=renamed", NULL, &j), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "links")), 1);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/links?state=unlinked_idp_group", NULL, &j), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "links")), 1);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/links?state=broken", NULL, &j), 400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "near_match"));
    cJSON_Delete(j);
    struct admin_res ar = admin_h("POST", "/admin/v1/links", "{}", ADMIN_AUTH);
    ck_assert_int_eq(ar.status, 405);
    admin_res_free(&ar);

    /* the ambiguity ends when one of the two goes: the other is linked */
    r = scim_call("DELETE", scim_path2("/scim/v2/Groups/", amb1), NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    expect_state("auditors", NULL, "linked");
    e = link_entry("", "auditors", NULL);
    ck_assert_str_eq(str(cJSON_GetObjectItem(e, "idp_group"), "id"), amb2);
    cJSON_Delete(e);

    free(payroll);
    free(ops);
    free(amb1);
    free(amb2);
    free(near);
    free(stray);
    stop();
}
END_TEST

/* ---- identities and IdP groups: lists, paging, filters, memberships ---- */

START_TEST(directory_lists)
{
    char name[64], *uids[5];
    cJSON *j = NULL, *u;
    start_with(POLICY_FILE, NULL);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "user%d@example.com", i);
        uids[i] = scim_create_user(name);
    }
    char body[512];
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":"
             "\"Payroll Analysts\",\"members\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}",
             uids[0], uids[1]);
    char *gid = scim_create("/scim/v2/Groups", body);
    char *other = scim_create_group("Other");

    /* the whole list, in creation order */
    ck_assert_int_eq(admin("GET", "/admin/v1/identities", NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 5);
    ck_assert_int_eq(scim_int(j, "start_index"), 1);
    ck_assert_int_eq(scim_int(j, "items_per_page"), 5);
    u = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "identities"), 0);
    ck_assert_str_eq(str(u, "id"), uids[0]);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(u, "active")));
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(u, "groups"), 0), "id"), gid);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(u, "access_groups"), 0), "key"),
                     "payroll analysts");
    cJSON_Delete(j);
    /* paging */
    ck_assert_int_eq(admin("GET", "/admin/v1/identities?startIndex=2&count=2", NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 5);
    ck_assert_int_eq(scim_int(j, "start_index"), 2);
    ck_assert_int_eq(scim_int(j, "items_per_page"), 2);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "identities"), 0), "id"),
                     uids[1]);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/identities?count=0", NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 5);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "identities")), 0);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/identities?count=ten", NULL, &j), 400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "count"));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/identities?startIndex=1x", NULL, NULL), 400);
    /* filters: SCIM syntax */
    char path[256];
    snprintf(path, sizeof(path), "/admin/v1/identities?filter=%s",
             scim_q("userName eq \"USER3@example.com\""));
    ck_assert_int_eq(admin("GET", path, NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 1);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "identities"), 0), "id"),
                     uids[3]);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/admin/v1/identities?filter=%s", scim_q("userName sw \"user\""));
    ck_assert_int_eq(admin("GET", path, NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 5);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/admin/v1/identities?filter=%s", scim_q("userName eq"));
    ck_assert_int_eq(admin("GET", path, NULL, &j), 400);
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "/admin/v1/idp-groups?filter=%s",
             scim_q("displayName eq \"Other\""));
    ck_assert_int_eq(admin("GET", path, NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 1);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "idp_groups"), 0), "id"), other);
    cJSON_Delete(j);

    /* one identity; one IdP group with its members and access group */
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/identities/", uids[4]), NULL, &j), 200);
    ck_assert_str_eq(str(j, "userName"), "user4@example.com");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "groups")), 0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "access_groups")), 0);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", scim_path2("/admin/v1/idp-groups/", gid), NULL, &j), 200);
    ck_assert_str_eq(str(j, "displayName"), "Payroll Analysts");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "members")), 2);
    ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "members"), 0), "type"), "User");
    ck_assert_str_eq(str(cJSON_GetObjectItem(j, "access_group"), "key"), "payroll analysts");
    ck_assert_str_eq(str(j, "link_state"), "linked");
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/idp-groups", NULL, &j), 200);
    ck_assert_int_eq(scim_int(j, "total_results"), 2);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/identities/no-such-id", NULL, &j), 404);
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/idp-groups/no-such-id", NULL, NULL), 404);
    ck_assert_int_eq(admin("HEAD", "/admin/v1/identities", NULL, NULL), 200);

    for (int i = 0; i < 5; i++)
        free(uids[i]);
    free(gid);
    free(other);
    stop();
}
END_TEST

/* ---- POST /admin/v1/policy/reload ---- */

START_TEST(policy_reload)
{
    cJSON *j = NULL;
    start_with(POLICY_FILE, NULL);
    write_policy("{\"access_groups\":[{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
                 "\"actions\":[\"unprotect\"]}]},{\"name\":\"Ops\",\"grants\":[]}],"
                 "\"default_grants\":[]}");
    ck_assert_int_eq(admin("POST", "/admin/v1/policy/reload", NULL, &j), 200);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "reloaded")));
    ck_assert_int_eq(scim_int(j, "file_access_groups"), 2);
    ck_assert_int_eq(scim_int(j, "default_grants"), 0);
    ck_assert_str_eq(str(j, "policy_file"), fx->policy_path);
    cJSON_Delete(j);
    /* in force at once: no wait for the watcher */
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Auditors", NULL, NULL), 200);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Payroll%20Analysts", NULL, NULL), 404);

    /* a bad file: 400 naming the member at fault; the running policy stays */
    write_policy("{\"access_groups\":[{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
                 "\"actions\":[\"read\"]}]}]}");
    ck_assert_int_eq(admin("POST", "/admin/v1/policy/reload", NULL, &j), 400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "access_groups[0].grants[0].actions"));
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "read"));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Ops", NULL, NULL), 200);
    write_policy("{not json");
    ck_assert_int_eq(admin("POST", "/admin/v1/policy/reload", NULL, &j), 400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "near byte"));
    cJSON_Delete(j);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/Ops", NULL, NULL), 200);
    ck_assert_int_eq(unlink(fx->policy_path), 0);
    ck_assert_int_eq(admin("POST", "/admin/v1/policy/reload", NULL, &j), 400);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "GATEHOUSE_POLICY"));
    cJSON_Delete(j);
    struct admin_res r = admin_h("GET", "/admin/v1/policy/reload", NULL, ADMIN_AUTH);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "POST");
    admin_res_free(&r);
    stop();

    /* without a policy file there is nothing to reload */
    start_with(NULL, NULL);
    ck_assert_int_eq(admin("POST", "/admin/v1/policy/reload", NULL, &j), 409);
    ck_assert_ptr_nonnull(strstr(str(j, "message"), "GATEHOUSE_POLICY"));
    cJSON_Delete(j);
    stop();
}
END_TEST

Suite *admin_api_suite(void)
{
    Suite *s = suite_create("admin_api");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, auth_on_every_route);
    tcase_add_test(tc, directory_not_editable);
    tcase_add_test(tc, access_group_crud);
    tcase_add_test(tc, links_every_state);
    tcase_add_test(tc, directory_lists);
    tcase_add_test(tc, policy_reload);
    suite_add_tcase(s, tc);
    return s;
}
