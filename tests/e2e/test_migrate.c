/*
 * test_migrate.c - `gatehouse migrate-store` end to end (issue 11): a store provisioned over SCIM
 * on SQLite (links, a cut-off, a tombstone), copied into a fresh PostgreSQL schema, then served
 * from there: the same ids and ETags, the same decisions. A second copy into the now non-empty
 * target is refused. Needs GATEHOUSE_TEST_PG (make e2e-pg); skipped with a message otherwise.
 */
#include "tests/support/fixture.h"
#include "tests/support/scim_client.h"
#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MG_POLICY                                                                                  \
    "{\"access_groups\":[{\"name\":\"Payroll\",\"grants\":[{\"dataset\":\"payroll\","              \
    "\"actions\":[\"unprotect\"]}]}]}"

static int mg_decide(struct gh_fixture *fx, const char *user)
{
    cJSON *claims = gh_fixture_claims(fx);
    char *tok, auth[4096], url[512];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct gh_http_resp r = {0};
    cJSON *j;
    int allowed;

    cJSON_ReplaceItemInObject(claims, "preferred_username", cJSON_CreateString(user));
    cJSON_DeleteItemFromObject(claims, "oid");
    tok = gh_fixture_token(fx, claims);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(fx->proc));
    ck_assert_int_eq(
        gh_http("POST", url, hdrs, "{\"dataset\":\"payroll\",\"action\":\"unprotect\"}", NULL, &r),
        0);
    free(tok);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    allowed = cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed"));
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    return allowed;
}

START_TEST(migrate_store_copies_and_serves)
{
    char target[700], dbset[720], from[600], etag[64], path[128], log[4096];
    char *alice, *bob, *carol, *gid, body[512];
    struct gh_fixture *a, *b;
    struct scim_res r;
    const char *argv[6];
    const char *extra[] = {dbset, NULL};

    if (gh_test_pg_url() == NULL) {
        fprintf(stderr, "migrate: skipped: GATEHOUSE_TEST_PG is not set (make e2e-pg sets it)\n");
        return;
    }
    a = scim_e2e_fixture_start(&(struct gh_fixture_opts){
        .scim_token = SCIM_TOKEN, .policy = MG_POLICY, .db_in_dir = true});
    alice = scim_create_user("alice@contoso.test");
    bob = scim_create_user("bob@contoso.test");
    carol = scim_create_user("carol@contoso.test");
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
             "\"displayName\":\"Payroll\",\"members\":[{\"value\":\"%s\"},{\"value\":\"%s\"}]}",
             alice, bob);
    gid = scim_create("/scim/v2/Groups", body);
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
             "[{\"op\":\"Remove\",\"path\":\"members[value eq \\\"%s\\\"]\"}]}",
             bob);
    snprintf(path, sizeof(path), "/scim/v2/Groups/%s", gid);
    r = scim_call("PATCH", path, body);
    ck_assert_int_lt(r.status, 300);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s", carol);
    r = scim_call("DELETE", path, NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s", alice);
    r = scim_call("GET", path, NULL);
    snprintf(etag, sizeof(etag), "%s", r.etag);
    scim_res_free(&r);
    ck_assert_int_eq(mg_decide(a, "alice@contoso.test"), 1);
    ck_assert_int_eq(mg_decide(a, "bob@contoso.test"), 0);
    ck_assert_int_eq(gh_fixture_daemon_stop(a), 0);

    snprintf(from, sizeof(from), "%s", a->db_path);
    gh_test_db_new(a->dir, target, sizeof(target));
    argv[0] = "migrate-store";
    argv[1] = "--from";
    argv[2] = from;
    argv[3] = "--to";
    argv[4] = target;
    argv[5] = NULL;
    ck_assert_msg(gh_proc_run_to_exit(NULL, argv, log, sizeof(log)) == 0, "%s", log);
    /* a second copy into the same, now non-empty, target is refused */
    ck_assert_int_eq(gh_proc_run_to_exit(NULL, argv, log, sizeof(log)), 1);
    ck_assert_msg(strstr(log, "already holds") != NULL, "%s", log);

    snprintf(dbset, sizeof(dbset), "GATEHOUSE_DB=%s", target);
    b = scim_e2e_fixture_start(
        &(struct gh_fixture_opts){.scim_token = SCIM_TOKEN, .policy = MG_POLICY, .extra = extra});
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, etag);
    scim_res_free(&r);
    ck_assert_int_eq(mg_decide(b, "alice@contoso.test"), 1);
    ck_assert_int_eq(mg_decide(b, "bob@contoso.test"), 0);
    snprintf(path, sizeof(path), "/scim/v2/Users/%s", carol);
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    free(alice);
    free(bob);
    free(carol);
    free(gid);
    scim_e2e_fixture_stop(b);
    ck_assert_int_eq(gh_fixture_stop(a), 0);
}
END_TEST

Suite *migrate_suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("sqlite_to_pg");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, migrate_store_copies_and_serves);
    suite_add_tcase(s, tc);
    return s;
}
