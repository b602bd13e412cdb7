/*
 * test_router.c - route lookup, 405 Allow lists, bearer parsing and the metrics exposition.
 */
#include "authz/authz.h"
#include "policies/policies.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"

#include <check.h>
#include <pthread.h>
#include <string.h>

START_TEST(route_lookup)
{
    const struct gh_route *rt;
    char allow[96];
    ck_assert_int_eq(gh_router_find("GET", "/healthz", &rt, allow, sizeof(allow)), GH_OK);
    ck_assert_str_eq(rt->label, "healthz");
    ck_assert_int_eq(gh_router_find("HEAD", "/readyz", &rt, allow, sizeof(allow)), GH_OK);
    ck_assert_int_eq(gh_router_find("GET", "/healthz/x", &rt, allow, sizeof(allow)),
                     GH_E_NOT_FOUND);
    ck_assert_ptr_null(rt);
    ck_assert_int_eq(gh_router_find("GET", "/nope", &rt, allow, sizeof(allow)), GH_E_NOT_FOUND);
    ck_assert_int_eq(gh_router_find("DELETE", "/metrics", &rt, allow, sizeof(allow)), GH_E_METHOD);
    ck_assert_ptr_nonnull(rt);
    ck_assert_str_eq(allow, "GET, HEAD");
}
END_TEST

/* Fail closed: the handlers no longer check credentials themselves, so a row without a
 * credential check would serve anyone. Only the ops routes are public, and they take no body. */
START_TEST(every_route_names_its_credential)
{
    size_t n = 0;
    const struct gh_route *rt = gh_router_table(&n);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        /* the AuthZEN PDP metadata is public by design (a PEP reads it to find the PDP); so
         * are the admin page's static files (the page asks the admin API, which checks) and
         * its sign-in start and callback (the identity provider authenticates; state, cookie
         * and PKCE bind the two) */
        bool ops = strcmp(rt[i].label, "healthz") == 0 || strcmp(rt[i].label, "readyz") == 0 ||
                   strcmp(rt[i].label, "metrics") == 0 ||
                   strcmp(rt[i].label, "authzen_metadata") == 0 ||
                   strcmp(rt[i].label, "admin_page") == 0 ||
                   (strcmp(rt[i].label, "admin_signin") == 0 && strcmp(rt[i].method, "GET") == 0);
        ck_assert_msg(ops || rt[i].auth != NULL, "%s %s has no credential check", rt[i].method,
                      rt[i].pattern);
        ck_assert_msg(!ops || rt[i].auth == NULL, "%s is public", rt[i].pattern);
        ck_assert_msg(!ops ||
                          (rt[i].body_cap > 0 && (size_t)rt[i].body_cap <= GH_CAP_BODY_UNCOUNTED),
                      "%s takes a body", rt[i].pattern);
        if (strncmp(rt[i].pattern, "/v1/", 4) == 0)
            ck_assert_int_eq(rt[i].body_cap, GH_CAP_BODY_AUTHZ);
        if (strncmp(rt[i].pattern, "/scim", 5) == 0)
            ck_assert_int_eq(rt[i].body_cap, 0); /* GATEHOUSE_MAX_BODY */
    }
}
END_TEST

/* Issue 13: the admin page's rows sit next to the /admin/v1 API without taking its paths; the
 * page is public, every API row keeps its credential. */
START_TEST(route_admin_page_and_api)
{
    static const struct {
        const char *method, *path;
        enum gh_status st;
        gh_handler_fn handler;
    } cases[] = {
        {"GET", "/admin", GH_OK, gh_page_handle_root},
        {"HEAD", "/admin", GH_OK, gh_page_handle_root},
        {"GET", "/admin/", GH_OK, gh_page_handle_index},
        {"HEAD", "/admin/", GH_OK, gh_page_handle_index},
        {"GET", "/admin/assets/app.js", GH_OK, gh_page_handle_asset},
        {"GET", "/admin/assets/nope.js", GH_OK, gh_page_handle_asset}, /* the handler's 404 */
        {"POST", "/admin/", GH_E_METHOD, NULL},
        {"GET", "/admin/index.html", GH_E_NOT_FOUND, NULL},
        {"GET", "/admin/v1/status", GH_OK, gh_console_handle_status},
        {"GET", "/admin/v1/settings", GH_OK, gh_console_handle_settings},
        {"GET", "/admin/v1/decisions", GH_OK, authz_handle_decisions},
        {"POST", "/admin/v1/decisions", GH_E_METHOD, NULL},
        {"GET", "/admin/v1/access-groups", GH_OK, policy_admin_handle},
        {"DELETE", "/admin/v1/access-groups/x", GH_OK, policy_admin_handle},
        {"GET", "/admin/v1/identities/x", GH_OK, policy_admin_handle_identities},
        {"GET", "/admin/v1/links", GH_OK, policy_admin_handle_links},
        {"POST", "/admin/v1/policy/reload", GH_OK, policy_admin_handle_reload},
        {"GET", "/admin/v1/explain", GH_OK, authz_handle_explain},
        {"POST", "/admin/v1/policy/dry-run", GH_OK, policy_admin_dry_run},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct gh_route *rt = NULL;
        char allow[96];
        enum gh_status st =
            gh_router_find(cases[i].method, cases[i].path, &rt, allow, sizeof(allow));
        ck_assert_msg(st == cases[i].st, "%s %s: status %d", cases[i].method, cases[i].path,
                      (int)st);
        if (cases[i].handler == NULL)
            continue;
        ck_assert_msg(rt != NULL && rt->handler == cases[i].handler, "%s %s: wrong route",
                      cases[i].method, cases[i].path);
        if (strncmp(cases[i].path, "/admin/v1/", 10) == 0)
            ck_assert_msg(rt->auth == policy_admin_auth, "%s has no admin check", cases[i].path);
        else
            ck_assert_msg(rt->auth == NULL && rt->body_cap == GH_CAP_BODY_OPS, "%s", cases[i].path);
    }
}
END_TEST

/* Issue 9.11: SCIM endpoint names match in any case (Microsoft's validator sends /users and
 * /serviceConfiguration); the /scim/v2 base and every other route stay exact. */
START_TEST(route_scim_names_any_case)
{
    static const struct {
        const char *method, *path;
        enum gh_status st;
        gh_handler_fn handler; /* NULL: the route is not a SCIM one (or none matched) */
    } cases[] = {
        {"GET", "/scim/v2/Users", GH_OK, scim_handle_users},
        {"GET", "/scim/v2/users", GH_OK, scim_handle_users},
        {"POST", "/scim/v2/USERS", GH_OK, scim_handle_users},
        {"PATCH", "/scim/v2/users/0a1B-Id", GH_OK, scim_handle_users},
        {"GET", "/scim/v2/GROUPS", GH_OK, scim_handle_groups},
        {"DELETE", "/scim/v2/groups/x", GH_OK, scim_handle_groups},
        {"GET", "/scim/v2/serviceproviderconfig", GH_OK, scim_handle_spc},
        {"HEAD", "/scim/v2/SERVICEPROVIDERCONFIG", GH_OK, scim_handle_spc},
        {"GET", "/scim/v2/serviceConfiguration", GH_OK, scim_handle_spc},
        {"GET", "/scim/v2/serviceconfiguration", GH_OK, scim_handle_spc},
        {"GET", "/scim/v2/resourcetypes", GH_OK, scim_handle_rtypes},
        {"GET", "/scim/v2/ResourceTypes/User", GH_OK, scim_handle_rtypes},
        {"GET", "/scim/v2/schemas", GH_OK, scim_handle_schemas},
        {"GET", "/scim/v2/SCHEMAS/urn:x", GH_OK, scim_handle_schemas},
        /* near misses reach the SCIM catch-all (a SCIM 404 or 405) */
        {"GET", "/scim/v2/usersx", GH_OK, scim_handle_unknown},
        {"GET", "/scim/v2/serviceConfigurationX", GH_OK, scim_handle_unknown},
        {"GET", "/scim/v2/serviceproviderconfig/x", GH_OK, scim_handle_unknown},
        {"DELETE", "/scim/v2/serviceconfiguration", GH_OK, scim_handle_unknown},
        {"GET", "/scim/V2/Users", GH_OK, scim_handle_unknown},
        /* the base path and the other routes are exact */
        {"GET", "/SCIM/v2/Users", GH_E_NOT_FOUND, NULL},
        {"GET", "/HEALTHZ", GH_E_NOT_FOUND, NULL},
        {"GET", "/Metrics", GH_E_NOT_FOUND, NULL},
        {"POST", "/v1/Authorize", GH_E_NOT_FOUND, NULL},
        {"GET", "/Admin/v1/access-groups", GH_E_NOT_FOUND, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct gh_route *rt = NULL;
        char allow[96];
        enum gh_status st =
            gh_router_find(cases[i].method, cases[i].path, &rt, allow, sizeof(allow));
        ck_assert_msg(st == cases[i].st, "%s %s: status %d", cases[i].method, cases[i].path,
                      (int)st);
        if (cases[i].handler != NULL) {
            ck_assert_msg(rt != NULL && rt->handler == cases[i].handler, "%s %s: wrong route",
                          cases[i].method, cases[i].path);
            ck_assert_str_eq(rt->label, "scim"); /* metrics label unchanged */
        }
    }
    /* the SCIM catch-all's Allow list is built from the same matching */
    ck_assert(gh_route_path_matches(&(struct gh_route){.method = "GET",
                                                       .pattern = "/scim/v2/Users",
                                                       .match = GH_ROUTE_PREFIX_NAME_ANY_CASE},
                                    "/scim/v2/uSeRs/AbC"));
    ck_assert(!gh_route_path_matches(
        &(struct gh_route){.method = "GET", .pattern = "/scim/v2/Users", .match = GH_ROUTE_PREFIX},
        "/scim/v2/users"));
}
END_TEST

START_TEST(bearer_parsing)
{
    static const struct {
        const char *hdr;
        enum gh_status st;
        const char *tok;
    } cases[] = {
        {"Bearer abc.def.ghi", GH_OK, "abc.def.ghi"},
        {"bearer abc", GH_OK, "abc"},
        {"BEARER  abc-_~+/=", GH_OK, "abc-_~+/="},
        {"Bearer abc  ", GH_OK, "abc"},
        {NULL, GH_E_UNAUTHORIZED, NULL},
        {"", GH_E_UNAUTHORIZED, NULL},
        {"Basic dXNlcjpwYXNz", GH_E_UNAUTHORIZED, NULL},
        {"Bearer", GH_E_UNAUTHORIZED, NULL},
        {"Bearer ", GH_E_UNAUTHORIZED, NULL},
        {"Bearer abc def", GH_E_UNAUTHORIZED, NULL},
        {"Bearer abc\"", GH_E_UNAUTHORIZED, NULL},
        {"Bearerabc", GH_E_UNAUTHORIZED, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *tok = NULL;
        size_t len = 0;
        struct gh_err err = {0};
        ck_assert_int_eq(gh_http_parse_bearer(cases[i].hdr, &tok, &len, &err), cases[i].st);
        if (cases[i].tok != NULL) {
            ck_assert_uint_eq(len, strlen(cases[i].tok));
            ck_assert(memcmp(tok, cases[i].tok, len) == 0);
        } else {
            ck_assert(err.msg[0] != '\0');
        }
    }
}
END_TEST

static void collector(void *ctx, struct gh_buf *out)
{
    gh_metrics_family(out, "gatehouse_test_things", "gauge", "Things.");
    gh_metrics_sample(out, "gatehouse_test_things", "kind=\"x\"", *(double *)ctx);
}

START_TEST(metrics_exposition)
{
    struct gh_buf out;
    double v = 7;
    size_t nroutes;
    const struct gh_route *routes = gh_router_table(&nroutes);
    gh_metrics_reset();
    gh_metrics_init(routes, nroutes);
    gh_metrics_register(collector, &v);
    gh_metrics_observe_request(0, 200, 0.0003);
    gh_metrics_observe_request(0, 200, 2.0);
    gh_metrics_observe_request(-1, 404, 0.00001);
    gh_metrics_observe_request(1, 418, 0.1);
    gh_buf_init(&out, 1 << 20);
    ck_assert_int_eq(gh_metrics_render(&out, NULL), GH_OK);
    const char *s = gh_buf_str(&out);
    ck_assert_ptr_nonnull(strstr(s, "# TYPE gatehouse_build_info gauge\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_requests_total{route=\"healthz\",code=\"200\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_requests_total{route=\"none\",code=\"404\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(s, "{route=\"readyz\",code=\"other\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        s, "gatehouse_http_request_duration_seconds_bucket{route=\"healthz\",le=\"0.0005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        s, "gatehouse_http_request_duration_seconds_bucket{route=\"healthz\",le=\"+Inf\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_request_duration_seconds_count{route=\"healthz\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(s, "gatehouse_test_things{kind=\"x\"} 7\n"));
    gh_buf_free(&out);
    gh_metrics_reset();
}
END_TEST

static void *metrics_recorder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        gh_metrics_observe_request(0, i % 2 ? 200 : 404, 0.25);
    return NULL;
}

/* Each thread records into its own shard of the counters: the exposition sums them all, from
 * more threads than there are shards too. */
START_TEST(metrics_sum_across_threads)
{
    struct gh_buf out;
    size_t nroutes;
    const struct gh_route *routes = gh_router_table(&nroutes);
    pthread_t t[40];

    gh_metrics_reset();
    gh_metrics_init(routes, nroutes);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, metrics_recorder, NULL), 0);
    for (int i = 0; i < 40; i++)
        pthread_join(t[i], NULL);
    gh_buf_init(&out, 1 << 20);
    ck_assert_int_eq(gh_metrics_render(&out, NULL), GH_OK);
    const char *s = gh_buf_str(&out);
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_requests_total{route=\"healthz\",code=\"200\"} 200000\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_requests_total{route=\"healthz\",code=\"404\"} 200000\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_request_duration_seconds_bucket{route=\"healthz\",le=\"0.25\"} "
                  "400000\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_request_duration_seconds_count{route=\"healthz\"} 400000\n"));
    ck_assert_ptr_nonnull(
        strstr(s, "gatehouse_http_request_duration_seconds_sum{route=\"healthz\"} 100000\n"));
    gh_buf_free(&out);
    gh_metrics_reset();
}
END_TEST

Suite *router_suite(void)
{
    Suite *s = suite_create("router");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, route_lookup);
    tcase_add_test(tc, every_route_names_its_credential);
    tcase_add_test(tc, route_scim_names_any_case);
    tcase_add_test(tc, route_admin_page_and_api);
    tcase_add_test(tc, bearer_parsing);
    tcase_add_test(tc, metrics_exposition);
    tcase_add_test(tc, metrics_sum_across_threads);
    suite_add_tcase(s, tc);
    return s;
}
