/*
 * test_scim_users.c - /scim/v2/Users against the real daemon, one test per Entra ID behaviour
 * (ENTRA.md §1), each sending the exact request bodies Entra's provisioning client sends, in
 * both PATCH dialects (default, and aadOptscim062020).
 */
#include "tests/support/scim_client.h"

/* Entra's Create User body ([T] "Create User", request) */
#define ENTRA_CREATE_USER                                                                          \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"         \
    "schemas:extension:enterprise:2.0:User\"],\"externalId\":\"0a21f0f2-8d2a-4f8e-bf98-"           \
    "7363c4aed4ef\",\"userName\":\"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\",\"active\":"   \
    "true,\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":\"Test_User_fd0ea19b-0777-"    \
    "472c-9f96-4f70d2226f2e@testuser.com\"}],\"meta\":{\"resourceType\":\"User\"},\"name\":{"      \
    "\"formatted\":\"givenName familyName\",\"familyName\":\"familyName\",\"givenName\":"          \
    "\"givenName\"},\"roles\":[]}"

/* §1.1: Test Connection probes with a random GUID: 200 and an empty ListResponse, never 404 */
START_TEST(test_connection_probe)
{
    struct scim_res r =
        scim_call("GET",
                  scim_path("/scim/v2/Users?filter=%s",
                            scim_q("userName eq \"b2c6bd67-5f0f-4d0a-9a69-3c1a3e1b7a1e\"")),
                  NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "Resources")), 0);
    scim_res_free(&r);
    ck_assert_int_eq(
        scim_count("/scim/v2/Users", "externalId eq \"b2c6bd67-5f0f-4d0a-9a69-3c1a3e1b7a1e\""), 0);
    /* the flag appended to the Tenant URL (§1.32) is ignored wherever it lands */
    r = scim_call(
        "GET", scim_path("/scim/v2/Users?aadOptscim062020&filter=%s", scim_q("userName eq \"x\"")),
        NULL);
    ck_assert_int_eq(r.status, 200);
    scim_res_free(&r);
}
END_TEST

/* §1.16, §1.18, §1.19: Entra's create body; values as sent, id and meta, ETag and Location */
START_TEST(create_user_as_entra_sends_it)
{
    struct scim_res r = scim_call("POST", "/scim/v2/Users", ENTRA_CREATE_USER);
    ck_assert_int_eq(r.status, 201);
    const char *id = scim_str(r.json, "id");
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq((int)strlen(id), 36);
    ck_assert_str_eq(scim_str(r.json, "userName"),
                     "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1");
    ck_assert_str_eq(scim_str(r.json, "externalId"), "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    ck_assert_str_eq(scim_str(r.json, "name.formatted"), "givenName familyName");
    ck_assert_str_eq(scim_str(r.json, "meta.resourceType"), "User");
    ck_assert_ptr_nonnull(scim_str(r.json, "meta.created"));
    ck_assert_ptr_nonnull(scim_str(r.json, "meta.lastModified"));
    ck_assert_ptr_nonnull(strstr(scim_str(r.json, "meta.location"), id));
    ck_assert_str_eq(scim_str(r.json, "meta.version"), r.etag);
    ck_assert_str_eq(r.etag, "W/\"1\"");
    ck_assert_ptr_nonnull(strstr(r.location, id));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "active")));
    cJSON *emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(emails, 0), "value")->valuestring,
                     "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "roles")), 0);
    char *idc = strdup(id);
    scim_res_free(&r);

    r = scim_call("GET", scim_path("/scim/v2/Users/%s", idc), NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, "W/\"1\"");
    ck_assert_str_eq(scim_str(r.json, "id"), idc);
    scim_res_free(&r);
    free(idc);
}
END_TEST

/* §1.2, §1.3: every matching attribute Entra may be configured with, case-insensitively */
START_TEST(matching_filters)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    ck_assert_int_eq(scim_count("/scim/v2/Users",
                                "userName eq \"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\""),
                     1);
    ck_assert_int_eq(scim_count("/scim/v2/Users",
                                "userName eq \"TEST_USER_AB6490EE-1E48-479E-A20B-2D77186B5DD1\""),
                     1);
    ck_assert_int_eq(
        scim_count("/scim/v2/Users", "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\""), 1);
    ck_assert_int_eq(scim_count("/scim/v2/Users",
                                "emails[type eq \"work\"].value eq "
                                "\"Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com\""),
                     1);
    ck_assert_int_eq(scim_count("/scim/v2/Users", "USERNAME Eq \"test_user_ab6490ee-1e48-479e-a20b-"
                                                  "2d77186b5dd1\" AND active eq true"),
                     1);
    /* the found resource carries its id (§1.19) */
    struct scim_res r =
        scim_call("GET",
                  scim_path("/scim/v2/Users?filter=%s",
                            scim_q("externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"")),
                  NULL);
    ck_assert_str_eq(
        scim_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0), "id"), id);
    scim_res_free(&r);
    free(id);
}
END_TEST

/* §1.13: duplicate create -> 409 uniqueness (userName is case-insensitive) */
START_TEST(duplicate_create_conflict)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    struct scim_res r = scim_call("POST", "/scim/v2/Users", ENTRA_CREATE_USER);
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "uniqueness");
    scim_res_free(&r);
    r = scim_call("POST", "/scim/v2/Users",
                  "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
                  "\"test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1\"}");
    ck_assert_int_eq(r.status, 409);
    scim_res_free(&r);
    /* externalId is not unique (§1.17: Entra maps mailNickname to it) */
    r = scim_call("POST", "/scim/v2/Users",
                  "{\"userName\":\"other@contoso.com\",\"externalId\":\"0a21f0f2-8d2a-4f8e-bf98-"
                  "7363c4aed4ef\"}");
    ck_assert_int_eq(r.status, 201);
    scim_res_free(&r);
    free(id);
}
END_TEST

/* §1.5, §1.6, §1.12: default-dialect disable ("False"), still readable and filterable */
START_TEST(soft_delete_default_dialect)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    struct scim_res r =
        scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                  "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\","
                  "\"value\":\"False\"}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "active")));
    ck_assert_str_eq(r.etag, "W/\"2\"");
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "active")));
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Users", "active eq false"), 1);
    ck_assert_int_eq(
        scim_count("/scim/v2/Users", "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\""), 1);
    /* and back */
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                  "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"True\"}]}");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "active")));
    scim_res_free(&r);
    free(id);
}
END_TEST

/* §1.6, §1.7: flag dialect: lowercase op, JSON boolean, one path-less replace */
START_TEST(flag_dialect_pathless_replace)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":"
        "\"replace\",\"value\":{\"displayName\":\"Test user\",\"name.givenName\":\"Test\","
        "\"name.familyName\":\"User\",\"active\":false,\"urn:ietf:params:scim:schemas:extension:"
        "enterprise:2.0:User:employeeNumber\":\"5678\",\"emails[type eq \\\"work\\\"].value\":"
        "\"new@contoso.com\"}}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "displayName"), "Test user");
    ck_assert_str_eq(scim_str(r.json, "name.givenName"), "Test");
    ck_assert_str_eq(scim_str(r.json, "name.familyName"), "User");
    ck_assert_str_eq(scim_str(r.json, "name.formatted"), "givenName familyName");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "active")));
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, ENT_URN), "employeeNumber")->valuestring,
        "5678");
    cJSON *emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_int_eq(cJSON_GetArraySize(emails), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(emails, 0), "value")->valuestring,
                     "new@contoso.com");
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Users", ENT_URN ":employeeNumber eq \"5678\""), 1);
    free(id);
}
END_TEST

/* §1.5, §1.8, §1.14: default dialect, one capitalised op per attribute; value paths create one
 * element and later ops on the same filter fill it */
START_TEST(default_dialect_value_paths)
{
    char *id = scim_create_user("vp@contoso.com");
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        "{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":"
        "\"vp@contoso.com\"},"
        "{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].primary\",\"value\":\"True\"},"
        "{\"op\":\"Add\",\"path\":\"addresses[type eq \\\"work\\\"].formatted\",\"value\":\"1 "
        "Microsoft Way\\nRedmond, WA 98052\"},"
        "{\"op\":\"Add\",\"path\":\"addresses[type eq \\\"work\\\"].streetAddress\",\"value\":\"1 "
        "Microsoft Way\"},"
        "{\"op\":\"Add\",\"path\":\"addresses[type eq \\\"work\\\"].postalCode\",\"value\":"
        "\"98052\"},"
        "{\"op\":\"Add\",\"path\":\"phoneNumbers[type eq \\\"mobile\\\"].value\",\"value\":"
        "\"+1 (425) 555-0100\"},"
        "{\"op\":\"Add\",\"path\":\"phoneNumbers[type eq \\\"work\\\"].value\",\"value\":"
        "\"425.555.0199 x12\"},"
        "{\"op\":\"Add\",\"path\":\"name.givenName\",\"value\":\"Val\"},"
        "{\"op\":\"Add\",\"path\":\"title\",\"value\":\"Engineer\"},"
        "{\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
        "department\",\"value\":\"R&D\"}]}");
    ck_assert_int_eq(r.status, 200);
    cJSON *emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_int_eq(cJSON_GetArraySize(emails), 1);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(emails, 0), "primary")));
    cJSON *addr = cJSON_GetObjectItem(r.json, "addresses");
    ck_assert_int_eq(cJSON_GetArraySize(addr), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(addr, 0), "postalCode")->valuestring,
                     "98052");
    cJSON *phones = cJSON_GetObjectItem(r.json, "phoneNumbers");
    ck_assert_int_eq(cJSON_GetArraySize(phones), 2);
    /* values exactly as sent: no phone normalisation (§1.18) */
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(phones, 1), "value")->valuestring,
                     "425.555.0199 x12");
    scim_res_free(&r);

    /* a later Replace on the same filter updates, never duplicates */
    r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        "{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":"
        "\"updatedEmail@microsoft.com\"},{\"op\":\"Replace\",\"path\":\"name.familyName\","
        "\"value\":\"updatedFamilyName\"}]}");
    ck_assert_int_eq(r.status, 200);
    emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_int_eq(cJSON_GetArraySize(emails), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(emails, 0), "value")->valuestring,
                     "updatedEmail@microsoft.com");
    ck_assert_str_eq(scim_str(r.json, "name.givenName"), "Val");
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Users",
                                "emails[type eq \"work\"].value eq \"updatedemail@microsoft.com\""),
                     1);
    free(id);
}
END_TEST

/* §1.15: manager as a plain string id (URN path), as {value}, and the older path/list form */
START_TEST(manager_forms)
{
    char *boss = scim_create_user("boss@contoso.com");
    char *id = scim_create_user("report@contoso.com");
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{"
             "\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
             "User:manager\",\"value\":\"%s\"}]}",
             boss);
    struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id), body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, ENT_URN), "manager"),
                            "value")
            ->valuestring,
        boss);
    scim_res_free(&r);
    /* the legacy reference check (§1.23): filter id and manager, project to id */
    char filter[512];
    snprintf(filter, sizeof(filter), "id eq \"%s\" and manager eq \"%s\"", id, boss);
    r = scim_call("GET", scim_path("/scim/v2/Users?attributes=id&filter=%s", scim_q(filter)), NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(scim_int(r.json, "totalResults"), 1);
    cJSON *only = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "Resources"), 0);
    ck_assert_str_eq(scim_str(only, "id"), id);
    ck_assert_ptr_null(cJSON_GetObjectItem(only, "userName"));
    scim_res_free(&r);

    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{"
             "\"op\":\"Replace\",\"path\":\"manager\",\"value\":[{\"$ref\":null,\"value\":\"m-"
             "old\"}]}]}");
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id), body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, ENT_URN), "manager"),
                            "value")
            ->valuestring,
        "m-old");
    scim_res_free(&r);
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"Remove\",\"path\":\"urn:ietf:params:scim:schemas:extension:"
                  "enterprise:2.0:User:manager\"}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, ENT_URN));
    scim_res_free(&r);
    free(boss);
    free(id);
}
END_TEST

/* §1.14: a custom extension, its URN absent from schemas, stored and returned as sent */
START_TEST(custom_extension)
{
    struct scim_res r = scim_call(
        "POST", "/scim/v2/Users",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"
        "schemas:extension:enterprise:2.0:User\"],\"userName\":\"cx@contoso.com\",\"active\":true,"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"701"
        "984\",\"costCenter\":\"4130\",\"organization\":\"Universal Studios\",\"division\":\"Theme "
        "Park\",\"department\":\"Tour Operations\"},\"urn:ietf:params:scim:schemas:extension:"
        "CustomExtensionName:2.0:User\":{\"CustomAttribute\":\"  kept as sent \"}}");
    ck_assert_int_eq(r.status, 201);
    char *id = strdup(scim_str(r.json, "id"));
    cJSON *ext = cJSON_GetObjectItem(
        r.json, "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User");
    ck_assert_str_eq(cJSON_GetObjectItem(ext, "CustomAttribute")->valuestring, "  kept as sent ");
    scim_res_free(&r);
    r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        "{\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:extension:"
        "CustomExtensionName:2.0:User:OtherAttribute\",\"value\":\"x\"},"
        "{\"op\":\"Replace\",\"path\":\"urn:ietf:params:scim:schemas:extension:"
        "enterprise:2.0:User:department\",\"value\":\"Sales\"}]}");
    ck_assert_int_eq(r.status, 200);
    ext = cJSON_GetObjectItem(
        r.json, "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User");
    ck_assert_str_eq(cJSON_GetObjectItem(ext, "OtherAttribute")->valuestring, "x");
    ck_assert_str_eq(cJSON_GetObjectItem(ext, "CustomAttribute")->valuestring, "  kept as sent ");
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, ENT_URN), "department")->valuestring,
        "Sales");
    scim_res_free(&r);
    ck_assert_int_eq(scim_count("/scim/v2/Users", "urn:ietf:params:scim:schemas:extension:"
                                                  "CustomExtensionName:2.0:User:OtherAttribute eq "
                                                  "\"x\""),
                     1);
    free(id);
}
END_TEST

/* §1.21, §1.28, §1.30: nulls mean absent, unknown attributes are ignored, two work emails and a
 * B2B userName are accepted */
START_TEST(nulls_unknowns_and_lenient_shapes)
{
    struct scim_res r = scim_call(
        "POST", "/scim/v2/Users",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"
        "schemas:extension:enterprise:2.0:User\"],\"userName\":\"guest_fabrikam.com@contoso."
        "onmicrosoft.com\",\"active\":true,\"addresses\":null,\"department\":null,\"manager\":"
        "null,\"nickName\":null,\"someUnknownAttribute\":\"ignored\",\"emails\":[{\"type\":"
        "\"work\",\"value\":\"a@fabrikam.com\",\"primary\":true},{\"type\":\"work\",\"value\":"
        "\"b@fabrikam.com\"}],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{"
        "\"manager\":null,\"department\":null}}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "addresses"));
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "someUnknownAttribute"));
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, ENT_URN));
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "emails")), 2);
    scim_res_free(&r);
}
END_TEST

/* §1.22: roles as JSON inside a string (AppRoleAssignmentsComplex) and the primary role path */
START_TEST(roles_forms)
{
    char *id = scim_create_user("roles@contoso.com");
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":"
        "\"Add\",\"path\":\"roles\",\"value\":[{\"value\":\"{\\\"id\\\":\\\"06a2a3c3-0000-4000-"
        "8000-000000000001\\\",\\\"value\\\":\\\"Admin\\\",\\\"displayName\\\":\\\"Admin\\\"}\"}]}]"
        "}");
    ck_assert_int_eq(r.status, 200);
    cJSON *roles = cJSON_GetObjectItem(r.json, "roles");
    ck_assert_int_eq(cJSON_GetArraySize(roles), 1);
    ck_assert_ptr_nonnull(
        strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(roles, 0), "value")->valuestring, "Admin"));
    scim_res_free(&r);
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id),
                  "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
                  "[{\"op\":\"Replace\",\"path\":\"roles[primary eq \\\"True\\\"].value\","
                  "\"value\":\"Reader\"}]}");
    ck_assert_int_eq(r.status, 200);
    roles = cJSON_GetObjectItem(r.json, "roles");
    ck_assert_int_eq(cJSON_GetArraySize(roles), 2);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(roles, 1), "primary")));
    scim_res_free(&r);
    free(id);
}
END_TEST

/* §1.12: DELETE is the hard delete: 204, then 404 (SCIM Error) */
START_TEST(hard_delete)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    struct scim_res r = scim_call("DELETE", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_int_eq(r.status, 204);
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    r = scim_call("DELETE", scim_path("/scim/v2/Users/%s", id), NULL);
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    /* the name is free again */
    free(scim_create("/scim/v2/Users", ENTRA_CREATE_USER));
    free(id);
}
END_TEST

/* §1.24: a retried PATCH changes nothing (same version); PUT replaces */
START_TEST(retries_and_put)
{
    char *id = scim_create("/scim/v2/Users", ENTRA_CREATE_USER);
    const char *patch =
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
        "\"Operations\":[{\"op\":\"Replace\",\"path\":\"title\",\"value\":\"CTO\"}]}";
    struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id), patch);
    ck_assert_str_eq(r.etag, "W/\"2\"");
    scim_res_free(&r);
    for (int i = 0; i < 3; i++) {
        r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", id), patch);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.etag, "W/\"2\"");
        scim_res_free(&r);
    }
    r = scim_call(
        "PUT", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"ignored\","
        "\"userName\":\"renamed@contoso.com\",\"active\":false}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "id"), id);
    ck_assert_str_eq(scim_str(r.json, "userName"), "renamed@contoso.com");
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "title"));
    ck_assert_str_eq(r.etag, "W/\"3\"");
    scim_res_free(&r);
    free(id);
}
END_TEST

/* RFC 7644 §3.5.2: operations on ordinary attributes take effect in order, in one 200 */
START_TEST(user_ops_in_order)
{
    char *id = scim_create_user("order@contoso.com");
    struct scim_res r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        "{\"op\":\"Replace\",\"path\":\"title\",\"value\":\"CTO\"},"
        "{\"op\":\"Remove\",\"path\":\"title\"},"
        "{\"op\":\"Remove\",\"path\":\"nickName\"},"
        "{\"op\":\"Add\",\"path\":\"nickName\",\"value\":\"ord\"},"
        "{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{\"type\":\"work\",\"value\":"
        "\"first@contoso.com\"}]},"
        "{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":"
        "\"second@contoso.com\"},"
        "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},"
        "{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"True\"}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "title"));
    ck_assert_str_eq(scim_str(r.json, "nickName"), "ord");
    cJSON *emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_int_eq(cJSON_GetArraySize(emails), 1);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(emails, 0), "value"), "second@contoso.com");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "active")));
    scim_res_free(&r);

    /* flag dialect, lower case: add an email, replace the list, remove what was added first */
    r = scim_call(
        "PATCH", scim_path("/scim/v2/Users/%s", id),
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":["
        "{\"op\":\"add\",\"path\":\"emails[type eq \\\"home\\\"].value\",\"value\":"
        "\"home@contoso.com\"},"
        "{\"op\":\"replace\",\"path\":\"emails\",\"value\":[{\"type\":\"other\",\"value\":"
        "\"other@contoso.com\"},{\"type\":\"work\",\"value\":\"third@contoso.com\"}]},"
        "{\"op\":\"remove\",\"path\":\"emails[type eq \\\"work\\\"]\"},"
        "{\"op\":\"replace\",\"value\":{\"title\":\"Lead\",\"name.givenName\":\"O\"}},"
        "{\"op\":\"remove\",\"path\":\"name\"}]}");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(scim_str(r.json, "title"), "Lead");
    ck_assert_ptr_null(cJSON_GetObjectItem(r.json, "name"));
    scim_res_free(&r);
    r = scim_call("GET", scim_path("/scim/v2/Users/%s", id), NULL);
    emails = cJSON_GetObjectItem(r.json, "emails");
    ck_assert_int_eq(cJSON_GetArraySize(emails), 1);
    ck_assert_str_eq(scim_str(cJSON_GetArrayItem(emails, 0), "value"), "other@contoso.com");
    ck_assert_str_eq(scim_str(r.json, "title"), "Lead");
    ck_assert_str_eq(r.etag, "W/\"3\"");
    scim_res_free(&r);
    free(id);
}
END_TEST

/* PATCH of userName to a taken one is a 409; bad bodies are 400 with the right scimType */
START_TEST(user_errors)
{
    char *a = scim_create_user("a@contoso.com");
    free(scim_create_user("b@contoso.com"));
    struct scim_res r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", a),
                                  "{\"Operations\":[{\"op\":\"Replace\",\"path\":\"userName\","
                                  "\"value\":\"B@contoso.com\"}]}");
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(scim_str(r.json, "scimType"), "uniqueness");
    scim_res_free(&r);
    static const struct {
        const char *body, *scim_type;
    } bad[] = {
        {"{not json", "invalidSyntax"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"]}", "invalidValue"},
        {"{\"userName\":42}", "invalidValue"},
        {"{\"userName\":\"x@y\",\"active\":\"perhaps\"}", "invalidValue"},
        {"{\"userName\":\"x@y\",\"emails\":\"x@y\"}", "invalidValue"},
        {"[]", "invalidSyntax"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = scim_call("POST", "/scim/v2/Users", bad[i].body);
        ck_assert_msg(r.status == 400, "%s: %ld", bad[i].body, r.status);
        ck_assert_str_eq(scim_str(r.json, "scimType"), bad[i].scim_type);
        scim_res_free(&r);
    }
    r = scim_call("PATCH", scim_path("/scim/v2/Users/%s", a),
                  "{\"Operations\":[{\"op\":\"Frobnicate\",\"path\":\"title\"}]}");
    ck_assert_int_eq(r.status, 400);
    scim_res_free(&r);
    r = scim_call("PATCH", "/scim/v2/Users/00000000-0000-4000-8000-000000000000",
                  "{\"Operations\":[{\"op\":\"Replace\",\"path\":\"title\",\"value\":\"x\"}]}");
    ck_assert_int_eq(r.status, 404);
    scim_res_free(&r);
    free(a);
}
END_TEST

Suite *scim_users_suite(void)
{
    Suite *s = suite_create("scim_users");
    TCase *tc = tcase_create("entra");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, scim_e2e_start, scim_e2e_stop);
    tcase_add_test(tc, test_connection_probe);
    tcase_add_test(tc, create_user_as_entra_sends_it);
    tcase_add_test(tc, matching_filters);
    tcase_add_test(tc, duplicate_create_conflict);
    tcase_add_test(tc, soft_delete_default_dialect);
    tcase_add_test(tc, flag_dialect_pathless_replace);
    tcase_add_test(tc, default_dialect_value_paths);
    tcase_add_test(tc, manager_forms);
    tcase_add_test(tc, custom_extension);
    tcase_add_test(tc, nulls_unknowns_and_lenient_shapes);
    tcase_add_test(tc, roles_forms);
    tcase_add_test(tc, hard_delete);
    tcase_add_test(tc, retries_and_put);
    tcase_add_test(tc, user_ops_in_order);
    tcase_add_test(tc, user_errors);
    suite_add_tcase(s, tc);
    return s;
}
