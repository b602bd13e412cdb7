/*
 * test_access_groups.c - access groups through the real binary: the policy file (load, SIGHUP,
 * reload on change, an invalid file keeping the running policy), the admin API (auth, create,
 * list, delete, errors) and the links SCIM provisioning keeps (created, renamed, ambiguous,
 * near matches, deleted).
 */
#include "tests/support/scim_client.h"

#include <signal.h>
#include <unistd.h>

#define ADMIN_TOKEN "e2e-admin-secret-0123456789abcdef"
#define ADMIN_AUTH  "Authorization: Bearer " ADMIN_TOKEN

static struct gh_fixture *fx;

static void write_policy(const char *text)
{
    char tmp[700];
    FILE *f;
    /* write then rename, as editors and config managers do */
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->policy_path);
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, fx->policy_path), 0);
}

/* The daemon alone (no IdP) with both secrets and the policy file at fx->policy_path. */
static void start(const char *policy)
{
    fx = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .no_idp = true, .scim_token = SCIM_TOKEN, .admin_token = ADMIN_TOKEN, .policy = policy});
}

static void stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* An admin request; returns the status and the parsed body (caller deletes). */
static long admin(const char *method, const char *path, const char *body, const char *auth,
                  cJSON **out)
{
    struct gh_http_resp r;
    char url[1024];
    const char *hdrs[3] = {auth, body ? "Content-Type: application/json" : NULL, NULL};
    long status;
    snprintf(url, sizeof(url), "%s%s", gh_proc_url(scim_client_proc()), path);
    ck_assert_int_eq(gh_http(method, url, auth ? hdrs : hdrs + 2, body, NULL, &r), 0);
    status = r.status;
    if (out != NULL)
        *out = r.body_len ? cJSON_Parse(r.body) : NULL;
    if (status == 401) {
        char h[128];
        ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
        ck_assert_ptr_nonnull(strstr(h, "Bearer"));
    }
    gh_http_resp_free(&r);
    return status;
}

/* The access group named `key` from the listing (a detached copy; caller deletes), or NULL. */
static cJSON *group(const char *key)
{
    cJSON *list = NULL, *found = NULL, *g;
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups", NULL, ADMIN_AUTH, &list), 200);
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(list, "access_groups"))
    {
        if (strcmp(cJSON_GetObjectItem(g, "key")->valuestring, key) == 0)
            found = cJSON_Duplicate(g, true);
    }
    cJSON_Delete(list);
    return found;
}

static const char *linked_id(const cJSON *g)
{
    const cJSON *idp = cJSON_GetObjectItem(g, "idp_group");
    return cJSON_IsObject(idp) ? cJSON_GetObjectItem(idp, "id")->valuestring : "";
}

static bool wait_for_group(const char *key, bool present)
{
    for (int i = 0; i < 100; i++) {
        cJSON *g = group(key);
        bool here = g != NULL;
        cJSON_Delete(g);
        if (here == present)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

#define POLICY_V1                                                                                  \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]}],\"default_grants\":[{\"dataset\":\"directory\","  \
    "\"actions\":[\"protect\"]}]}"

START_TEST(admin_auth)
{
    start(POLICY_V1);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups", NULL, NULL, NULL), 401);
    ck_assert_int_eq(
        admin("GET", "/admin/v1/access-groups", NULL, "Authorization: Bearer wrong", NULL), 401);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups", NULL, SCIM_AUTH, NULL), 401);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups", NULL, ADMIN_AUTH, NULL), 200);
    ck_assert_int_eq(admin("PUT", "/admin/v1/access-groups", "{}", ADMIN_AUTH, NULL), 405);
    ck_assert_ptr_null(strstr(gh_proc_log(scim_client_proc()), ADMIN_TOKEN));
    stop();
}
END_TEST

START_TEST(admin_create_links_existing_group)
{
    cJSON *g = NULL;
    start(POLICY_V1);
    char *gid = scim_create_group("HR Writers");
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups",
                           "{\"name\":\"HR Writers\",\"grants\":[{\"dataset\":\"hr\","
                           "\"actions\":[\"protect\"]}]}",
                           ADMIN_AUTH, &g),
                     201);
    ck_assert_str_eq(cJSON_GetObjectItem(g, "source")->valuestring, "admin");
    ck_assert_str_eq(linked_id(g), gid);
    cJSON_Delete(g);
    /* duplicates (by link key), bad actions, bad bodies */
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups",
                           "{\"name\":\" hr writers\",\"grants\":[]}", ADMIN_AUTH, NULL),
                     409);
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups",
                           "{\"name\":\"X\",\"grants\":[{\"dataset\":\"d\",\"actions\":"
                           "[\"delete\"]}]}",
                           ADMIN_AUTH, &g),
                     400);
    ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(g, "message")->valuestring, "delete"));
    cJSON_Delete(g);
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", "not json", ADMIN_AUTH, NULL), 400);
    ck_assert_int_eq(admin("POST", "/admin/v1/access-groups", "{\"grants\":[]}", ADMIN_AUTH, NULL),
                     400);
    /* one group by name; delete rules */
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/HR%20Writers", NULL, ADMIN_AUTH, &g),
                     200);
    ck_assert_str_eq(cJSON_GetObjectItem(g, "name")->valuestring, "HR Writers");
    cJSON_Delete(g);
    ck_assert_int_eq(
        admin("DELETE", "/admin/v1/access-groups/Payroll%20Analysts", NULL, ADMIN_AUTH, NULL), 409);
    ck_assert_int_eq(
        admin("DELETE", "/admin/v1/access-groups/HR%20Writers", NULL, ADMIN_AUTH, NULL), 204);
    ck_assert_int_eq(admin("GET", "/admin/v1/access-groups/HR%20Writers", NULL, ADMIN_AUTH, NULL),
                     404);
    free(gid);
    stop();
}
END_TEST

START_TEST(scim_groups_link_rename_ambiguous_near)
{
    start(POLICY_V1);
    cJSON *g = group("payroll analysts");
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(cJSON_GetObjectItem(g, "source")->valuestring, "file");
    ck_assert_str_eq(linked_id(g), "");
    cJSON_Delete(g);

    /* Entra creates the group: linked */
    char *gid = scim_create_group("Payroll Analysts");
    g = group("payroll analysts");
    ck_assert_str_eq(linked_id(g), gid);
    cJSON_Delete(g);
    /* renamed in Entra: the link stays and the admin API shows the new name */
    struct scim_res r = scim_call(
        "PATCH", scim_path2("/scim/v2/Groups/", gid),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":"
        "\"Replace\",\"path\":\"displayName\",\"value\":\"Payroll Team\"}]}");
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    g = group("payroll analysts");
    ck_assert_str_eq(linked_id(g), gid);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(g, "idp_group"), "displayName")->valuestring,
        "Payroll Team");
    cJSON_Delete(g);
    /* a group created later under the old name is ambiguous, not linked; near matches listed */
    char *dup = scim_create_group("payroll analysts");
    char *near = scim_create_group("Payroll-Analysts");
    g = group("payroll analysts");
    ck_assert_str_eq(linked_id(g), gid);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "ambiguous")), 1);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "ambiguous"), 0), "id")
            ->valuestring,
        dup);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "near_matches")), 1);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "near_matches"), 0), "id")
            ->valuestring,
        near);
    cJSON_Delete(g);
    /* the linked group deleted: the group created later under the old name still does not take
     * the link (an admin re-declares the access group to link it) */
    r = scim_call("DELETE", scim_path2("/scim/v2/Groups/", gid), NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    g = group("payroll analysts");
    ck_assert_str_eq(linked_id(g), "");
    cJSON_Delete(g);
    free(gid);
    free(dup);
    free(near);
    stop();
}
END_TEST

START_TEST(policy_reload)
{
    start(POLICY_V1);
    char *gid = scim_create_group("Auditors");
    ck_assert_ptr_null(group("auditors"));

    /* SIGHUP with a new file: the new access group appears, linked at once */
    write_policy("{\"access_groups\":[{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
                 "\"actions\":[\"unprotect\"]}]}]}");
    kill(gh_proc_pid(scim_client_proc()), SIGHUP);
    ck_assert(wait_for_group("auditors", true));
    cJSON *g = group("auditors");
    ck_assert_str_eq(linked_id(g), gid);
    cJSON_Delete(g);
    ck_assert(wait_for_group("payroll analysts", false));

    /* an invalid file keeps the running policy and says why */
    write_policy("{\"access_groups\":[{\"name\":\"Auditors\",\"grants\":[{\"dataset\":\"audit\","
                 "\"actions\":[\"read\"]}]}]}");
    kill(gh_proc_pid(scim_client_proc()), SIGHUP);
    ck_assert(gh_proc_wait_log(scim_client_proc(),
                               "policy reload failed, keeping the running policy", 5000));
    ck_assert_ptr_nonnull(strstr(gh_proc_log(scim_client_proc()), "action \\\"read\\\""));
    ck_assert(wait_for_group("auditors", true));

    /* a changed file is picked up without a signal */
    write_policy(POLICY_V1);
    ck_assert(wait_for_group("payroll analysts", true));
    ck_assert(wait_for_group("auditors", false));
    free(gid);
    stop();
}
END_TEST

START_TEST(invalid_policy_at_start_fails)
{
    char log[4096];
    char *d = gh_tmpdir_new();
    char path[600], env_policy[700];
    snprintf(path, sizeof(path), "%s/p.json", d);
    FILE *f = fopen(path, "w");
    fputs("{\"access_groups\":[{\"name\":\"x\"}]}", f);
    fclose(f);
    snprintf(env_policy, sizeof(env_policy), "GATEHOUSE_POLICY=%s", path);
    const char *env[] = {env_policy, NULL};
    ck_assert_int_eq(gh_proc_run_to_exit(env, NULL, log, sizeof(log)), 1);
    ck_assert_ptr_nonnull(strstr(log, "access_groups[0].grants must be an array"));
    gh_tmpdir_remove(d);
}
END_TEST

Suite *access_groups_suite(void)
{
    Suite *s = suite_create("access_groups");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, admin_auth);
    tcase_add_test(tc, admin_create_links_existing_group);
    tcase_add_test(tc, scim_groups_link_rename_ambiguous_near);
    tcase_add_test(tc, policy_reload);
    tcase_add_test(tc, invalid_policy_at_start_fails);
    suite_add_tcase(s, tc);
    return s;
}
