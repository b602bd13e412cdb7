/*
 * test_scim_extensions.c - custom SCIM extension attributes declared with
 * GATEHOUSE_SCIM_EXTENSIONS, against the real daemon: /Schemas and /ResourceTypes list them and
 * describe exactly what a stored user returns; Entra's forms write them (extension object not
 * named in schemas, top-level "urn:...:attr" keys, URN-qualified PATCH paths in both dialects);
 * filters find them by their declared flags; a wrong type is a 400 SCIM invalidValue naming the
 * attribute; a bad declaration stops the start with a clear error; without the setting the
 * discovery documents are as before and undeclared extensions are stored as sent.
 */
#include "tests/support/scim_client.h"

#define CUBE  "urn:cube:params:1.0:UserAttribute"
#define GCUBE "urn:cube:params:1.0:Group"
#define DECL                                                                                       \
    "GATEHOUSE_SCIM_EXTENSIONS=" CUBE ":country:string," CUBE ":vip:boolean," CUBE                 \
    ":level:integer," CUBE ":badge:string:caseExact," CUBE ":tags:string:multiValued,"             \
    "Group:" GCUBE ":costCenter:string"

static struct gh_fixture *fx;

static void start(void)
{
    static const char *const extra[] = {DECL, "GATEHOUSE_LOG_LEVEL=info", NULL};
    fx = scim_e2e_fixture_start(
        &(struct gh_fixture_opts){.no_idp = true, .scim_token = SCIM_TOKEN, .extra = extra});
}

static void stop(void)
{
    scim_e2e_fixture_stop(fx);
}

/* The element of a list whose member key equals value (borrowed), or NULL. */
static const cJSON *find_by(const cJSON *list, const char *key, const char *value)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const char *v = scim_str(e, key);
        if (v != NULL && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

/* The declared schema is listed, served by its URN and named among User's extensions. */
START_TEST(discovery_lists_declared)
{
    struct scim_res r = scim_call("GET", "/scim/v2/Schemas", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 5);
    const cJSON *res = cJSON_GetObjectItem(r.json, "Resources");
    const cJSON *s = find_by(res, "id", CUBE);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(scim_str(s, "name"), "UserAttribute");
    ck_assert_str_eq(scim_str(s, "meta.resourceType"), "Schema");
    ck_assert_ptr_nonnull(strstr(scim_str(s, "meta.location"), "/scim/v2/Schemas/" CUBE));
    const cJSON *a = find_by(cJSON_GetObjectItem(s, "attributes"), "name", "badge");
    ck_assert_str_eq(scim_str(a, "type"), "string");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "caseExact")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "required")));
    ck_assert_str_eq(scim_str(a, "mutability"), "readWrite");
    ck_assert_str_eq(scim_str(a, "returned"), "default");
    ck_assert_str_eq(scim_str(a, "uniqueness"), "none");
    a = find_by(cJSON_GetObjectItem(s, "attributes"), "name", "tags");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "multiValued")));
    ck_assert_ptr_nonnull(find_by(res, "id", GCUBE));
    scim_res_free(&r);

    r = scim_call("GET", "/scim/v2/Schemas/" CUBE, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "attributes")), 5);
    scim_res_free(&r);

    r = scim_call("GET", "/scim/v2/ResourceTypes/User", NULL);
    ck_assert_int_eq(r.status, 200);
    const cJSON *ext = cJSON_GetObjectItem(r.json, "schemaExtensions");
    ck_assert_int_eq(cJSON_GetArraySize(ext), 2);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(ext, 0), "schema"), ENT_URN);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(ext, 1), "schema"), CUBE);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(ext, 1), "required")));
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/ResourceTypes/Group", NULL);
    ext = cJSON_GetObjectItem(r.json, "schemaExtensions");
    ck_assert_int_eq(cJSON_GetArraySize(ext), 1);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(ext, 0), "schema"), GCUBE);
    scim_res_free(&r);
}
END_TEST

/* Every extension attribute a stored user returns is one /Schemas describes, with its type. */
static void check_true_to_schema(const cJSON *user)
{
    struct scim_res r = scim_call("GET", "/scim/v2/Schemas/" CUBE, NULL);
    const cJSON *obj = cJSON_GetObjectItem(user, CUBE);
    const cJSON *v;
    ck_assert_ptr_nonnull(obj);
    cJSON_ArrayForEach(v, obj)
    {
        const cJSON *a = find_by(cJSON_GetObjectItem(r.json, "attributes"), "name", v->string);
        ck_assert_msg(a != NULL, "%s is stored but not in /Schemas", v->string);
        const char *type = scim_str(a, "type");
        const cJSON *one = cJSON_IsTrue(cJSON_GetObjectItem(a, "multiValued")) ? v->child : v;
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "multiValued")) == cJSON_IsArray(v));
        if (strcmp(type, "boolean") == 0)
            ck_assert(cJSON_IsBool(one));
        else if (strcmp(type, "integer") == 0)
            ck_assert(cJSON_IsNumber(one));
        else
            ck_assert(cJSON_IsString(one));
    }
    scim_res_free(&r);
}

/* Entra's create (extension object not in schemas, "True" as a boolean, a top-level qualified
 * key), GET, both PATCH dialects, filters on the declared flags, projection. */
START_TEST(user_roundtrip_entra_forms)
{
    char *id = scim_create(
        "/scim/v2/Users",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
        "\"ada@example.com\",\"active\":true,\"" CUBE "\":{\"country\":\"FR\",\"vip\":\"True\","
        "\"badge\":\"AbC\"},\"" CUBE ":level\":3}");
    struct scim_res r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_int_eq(r.status, 200);
    const cJSON *obj = cJSON_GetObjectItem(r.json, CUBE);
    ck_assert_str_eq(scim_str(obj, "country"), "FR");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(obj, "vip")));
    ck_assert_int_eq(scim_int(obj, "level"), 3);
    {
        const cJSON *s;
        bool listed = false;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(r.json, "schemas"))
        {
            listed = listed || strcmp(s->valuestring, CUBE) == 0;
        }
        ck_assert_msg(listed, "the declared URN is not listed in schemas");
    }
    check_true_to_schema(r.json);
    scim_res_free(&r);

    /* default dialect: a URN-qualified path; the flag dialect: a path-less replace */
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"Replace\",\"path\":\"" CUBE ":country\",\"value\":\"DE\"},"
                  "{\"op\":\"Add\",\"path\":\"" CUBE ":tags\",\"value\":[\"red\",\"blue\"]}]}");
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"replace\",\"value\":{\"" CUBE ":vip\":\"False\",\"" CUBE
                  ":level\":4}}]}");
    ck_assert_int_eq(r.status, 200);
    obj = cJSON_GetObjectItem(r.json, CUBE);
    ck_assert_str_eq(scim_str(obj, "country"), "DE");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(obj, "vip")));
    ck_assert_int_eq(scim_int(obj, "level"), 4);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(obj, "tags")), 2);
    check_true_to_schema(r.json);
    scim_res_free(&r);

    char *other = scim_create("/scim/v2/Users", "{\"userName\":\"bob@example.com\",\"" CUBE
                                                "\":{\"country\":\"de\",\"vip\":true,\"badge\":"
                                                "\"abc\"}}");
    /* country is caseExact false: "de" and "DE" both match; badge is caseExact */
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":country eq \"de\""), 2);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":badge eq \"abc\""), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":badge eq \"AbC\""), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":vip eq true"), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":vip eq false"), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":tags eq \"blue\""), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":level gt 3"), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", CUBE ":level pr"), 1);

    /* projection by the qualified name */
    char path[256];
    snprintf(path, sizeof(path), "/scim/v2/Users/%s?attributes=%s", id, scim_q(CUBE ":country"));
    r = scim_call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "userName"));
    ck_assert_str_eq(scim_str(cJSON_GetObjectItem(r.json, CUBE), "country"), "DE");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, CUBE), "vip"));
    scim_res_free(&r);

    /* removing the last attribute removes the extension object */
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", other),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"Remove\",\"path\":\"" CUBE "\"}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, CUBE));
    scim_res_free(&r);
    free(other);
    free(id);
}
END_TEST

/* A wrong type is a 400 invalidValue naming the qualified attribute; nothing is stored. */
START_TEST(wrong_type_is_invalid_value)
{
    static const char *const bodies[] = {
        "{\"userName\":\"w1\",\"" CUBE "\":{\"vip\":\"perhaps\"}}",
        "{\"userName\":\"w2\",\"" CUBE "\":{\"level\":\"four\"}}",
        "{\"userName\":\"w3\",\"" CUBE ":country\":42}",
    };
    static const char *const names[] = {CUBE ":vip", CUBE ":level", CUBE ":country"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct scim_res r = scim_call("POST", "/scim/v2/Users", bodies[i]);
        ck_assert_int_eq(r.status, 400);
        ck_assert_str_eq(scim_str(r.json, "status"), "400");
        ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidValue");
        ck_assert_msg(strstr(scim_str(r.json, "detail"), names[i]) != NULL, "detail: %s",
                      scim_str(r.json, "detail"));
        scim_res_free(&r);
    }
    ck_assert_int_eq(scim_count("/scim/v2/Users", "userName sw \"w\""), 0);

    char *id = scim_create_user("typed@example.com");
    struct scim_res r =
        scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"Add\",\"path\":\"" CUBE ":level\",\"value\":1.5}]}");
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "invalidValue");
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, CUBE));
    scim_res_free(&r);
    free(id);
}
END_TEST

/* A Group extension works on groups the same way. */
START_TEST(group_extension)
{
    char *gid = scim_create("/scim/v2/Groups",
                            "{\"displayName\":\"Finance\",\"" GCUBE "\":{\"costCenter\":\"42\"}}");
    struct scim_res r = scim_call("GET", scim_path("/scim/v2/Groups/%s", gid), NULL);
    ck_assert_str_eq(scim_str(cJSON_GetObjectItem(r.json, GCUBE), "costCenter"), "42");
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Groups", GCUBE ":costCenter eq \"42\""), 1);
    r = scim_call("POST", "/scim/v2/Groups",
                  "{\"displayName\":\"Ops\",\"" GCUBE "\":{\"costCenter\":42}}");
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    free(gid);
}
END_TEST

/* Without the setting: discovery as before, and the same body is an undeclared extension,
 * stored as sent (no type check). */
START_TEST(without_setting_as_before)
{
    struct scim_res r = scim_call("GET", "/scim/v2/Schemas", NULL);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 3);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/Schemas/" CUBE, NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/ResourceTypes/User", NULL);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "schemaExtensions")), 1);
    scim_res_free(&r);
    r = scim_call("GET", "/scim/v2/ResourceTypes/Group", NULL);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "schemaExtensions"));
    scim_res_free(&r);
    char *id = scim_create("/scim/v2/Users",
                           "{\"userName\":\"free@example.com\",\"" CUBE "\":{\"vip\":\"perhaps\","
                           "\"anything\":[1,2]}}");
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_str_eq(scim_str(cJSON_GetObjectItem(r.json, CUBE), "vip"), "perhaps");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, CUBE), "anything")), 2);
    scim_res_free(&r);
    free(id);
}
END_TEST

/* A bad declaration stops the start: exit 2 and a message naming the setting and the entry. */
START_TEST(bad_declaration_stops_start)
{
    static const char *const env[] = {"GATEHOUSE_SCIM_TOKEN=" SCIM_TOKEN,
                                      "GATEHOUSE_SCIM_EXTENSIONS=" CUBE ":country:text", NULL};
    char log[4096];
    int rc = gh_proc_run_to_exit(env, NULL, log, sizeof(log));
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(log, "environment: GATEHOUSE_SCIM_EXTENSIONS: \"" CUBE
                              ":country:text\": unknown type \"text\"") != NULL,
                  "log: %s", log);
}
END_TEST

Suite *scim_extensions_suite(void)
{
    Suite *s = suite_create("scim_extensions");
    TCase *tc = tcase_create("declared");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, discovery_lists_declared);
    tcase_add_test(tc, user_roundtrip_entra_forms);
    tcase_add_test(tc, wrong_type_is_invalid_value);
    tcase_add_test(tc, group_extension);
    suite_add_tcase(s, tc);
    tc = tcase_create("undeclared");
    tcase_add_checked_fixture(tc, scim_e2e_start, scim_e2e_stop);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, without_setting_as_before);
    tcase_add_test(tc, bad_declaration_stops_start);
    suite_add_tcase(s, tc);
    return s;
}
