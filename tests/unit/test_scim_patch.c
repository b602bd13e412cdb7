/*
 * test_scim_patch.c - the PATCH engine (RFC 7644 §3.5.2) against the request bodies Microsoft
 * Entra ID sends in both dialects (default and aadOptscim062020), plus resource normalisation
 * and projection. Every case is a row: body before, PatchOp, body after (normalised) and the
 * membership changes, or the scimType of the expected 400.
 */
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORE "\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"]"
#define CORE_ENT                                                                                   \
    "\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"          \
    "schemas:extension:enterprise:2.0:User\"]"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define GRP "\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"]"
#define OPS(...)                                                                                   \
    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"             \
    "[" __VA_ARGS__ "]}"

static const struct {
    const char *name;
    enum store_kind kind;
    const char *before;
    const char *patch;
    const char *after;     /* NULL: the patch must fail with scim_type */
    const char *scim_type; /* for failures */
    const char *members;   /* "R" (replace) "-c+a+b" (removes, adds), "?d" (checked only) */
} cases[] = {
    {"default dialect disable: active \"False\"", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"active\":true}",
     OPS("{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}"),
     "{" CORE ",\"userName\":\"u\",\"active\":false}", NULL, ""},
    {"flag dialect disable: active false", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"active\":true}",
     OPS("{\"op\":\"replace\",\"path\":\"active\",\"value\":false}"),
     "{" CORE ",\"userName\":\"u\",\"active\":false}", NULL, ""},
    {"re-enable with \"True\"", SCIM_USER, "{" CORE ",\"userName\":\"u\",\"active\":false}",
     OPS("{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"True\"}"),
     "{" CORE ",\"userName\":\"u\",\"active\":true}", NULL, ""},
    {"op names in any case", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"ADD\",\"path\":\"title\",\"value\":\"a\"},{\"op\":\"rEpLaCe\",\"path\":"
         "\"nickName\",\"value\":\"n\"}"),
     "{" CORE ",\"userName\":\"u\",\"title\":\"a\",\"nickName\":\"n\"}", NULL, ""},
    {"flag dialect: path-less replace with dotted and URN keys", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"active\":true,\"name\":{\"familyName\":\"Old\"}}",
     OPS("{\"op\":\"replace\",\"value\":{\"displayName\":\"Test user\",\"name.givenName\":"
         "\"Test\",\"name.familyName\":\"User\",\"active\":false,\"" ENT
         ":employeeNumber\":\"5678\"}}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"active\":false,\"name\":{\"familyName\":\"User\","
     "\"givenName\":\"Test\"},\"displayName\":\"Test user\",\"" ENT
     "\":{\"employeeNumber\":\"5678\"}}",
     NULL, ""},
    {"default dialect: one Add per attribute, URN-qualified paths", SCIM_USER,
     "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"name.givenName\",\"value\":\"Test\"},{\"op\":\"Add\","
         "\"path\":\"name.familyName\",\"value\":\"User\"},{\"op\":\"Add\",\"path\":\"" ENT
         ":department\",\"value\":\"Sales\"},{\"op\":\"Add\",\"path\":\"" ENT
         ":employeeNumber\",\"value\":\"1234\"}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"name\":{\"givenName\":\"Test\",\"familyName\":"
     "\"User\"},\"" ENT "\":{\"department\":\"Sales\",\"employeeNumber\":\"1234\"}}",
     NULL, ""},
    {"value path creates the element (Replace)", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":"
         "\"updatedEmail@microsoft.com\"},{\"op\":\"Replace\",\"path\":\"name.familyName\","
         "\"value\":\"updatedFamilyName\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"work\",\"value\":"
     "\"updatedEmail@microsoft.com\"}],\"name\":{\"familyName\":\"updatedFamilyName\"}}",
     NULL, ""},
    {"several ops on one filter fill one element", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"a@x\"},"
         "{\"op\":\"Add\",\"path\":\"emails[type eq \\\"work\\\"].primary\",\"value\":\"True\"},"
         "{\"op\":\"Add\",\"path\":\"addresses[type eq \\\"work\\\"].formatted\",\"value\":\"1 "
         "Main St\"},{\"op\":\"Add\",\"path\":\"addresses[type eq \\\"work\\\"].locality\","
         "\"value\":\"Springfield\"},{\"op\":\"Add\",\"path\":\"phoneNumbers[type eq "
         "\\\"mobile\\\"].value\",\"value\":\"+1 555 0100\"},{\"op\":\"Replace\",\"path\":"
         "\"phoneNumbers[type eq \\\"mobile\\\"].value\",\"value\":\"+1 (555) 0101\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"work\",\"value\":\"a@x\","
     "\"primary\":true}],\"addresses\":[{\"type\":\"work\",\"formatted\":\"1 Main St\","
     "\"locality\":\"Springfield\"}],\"phoneNumbers\":[{\"type\":\"mobile\",\"value\":\"+1 "
     "(555) 0101\"}]}",
     NULL, ""},
    {"value path updates only the matching element", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"},{\"type\":"
     "\"work\",\"value\":\"w@x\"}]}",
     OPS("{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\",\"value\":\"n@x\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"},{\"type\":"
     "\"work\",\"value\":\"n@x\"}]}",
     NULL, ""},
    {"remove by value path", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"},{\"type\":"
     "\"work\",\"value\":\"w@x\"}]}",
     OPS("{\"op\":\"Remove\",\"path\":\"emails[type eq \\\"work\\\"]\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"}]}", NULL, ""},
    {"remove of something absent is a no-op", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Remove\",\"path\":\"emails[type eq \\\"work\\\"]\"},{\"op\":\"Remove\","
         "\"path\":\"title\"},{\"op\":\"Remove\",\"path\":\"" ENT ":manager\"}"),
     "{" CORE ",\"userName\":\"u\"}", NULL, ""},
    {"manager as a plain string id (URN path)", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"" ENT ":manager\",\"value\":\"m-1\"}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"manager\":{\"value\":\"m-1\"}}}", NULL, ""},
    {"manager, older form: path manager, [{$ref,value}]", SCIM_USER,
     "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"manager\",\"value\":[{\"$ref\":null,\"value\":\"m-2\"}]}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"manager\":{\"value\":\"m-2\"}}}", NULL, ""},
    {"manager as {value}", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"" ENT ":manager\",\"value\":{\"value\":\"m-3\"}}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"manager\":{\"value\":\"m-3\"}}}", NULL, ""},
    {"manager removed", SCIM_USER,
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"manager\":{\"value\":\"m\"},\"department\":"
     "\"d\"}}",
     OPS("{\"op\":\"Remove\",\"path\":\"" ENT ":manager\"}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"department\":\"d\"}}", NULL, ""},
    {"manager cleared with an empty string", SCIM_USER,
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"manager\":{\"value\":\"m\"},\"department\":"
     "\"d\"}}",
     OPS("{\"op\":\"Replace\",\"path\":\"" ENT ":manager\",\"value\":\"\"}"),
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"department\":\"d\"}}", NULL, ""},
    {"custom extension attribute (URN not in schemas)", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"urn:ietf:params:scim:schemas:extension:Acme:2.0:User:badge\","
         "\"value\":\"B-7\"}"),
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"
     "schemas:extension:Acme:2.0:User\"],\"userName\":\"u\",\"urn:ietf:params:scim:schemas:"
     "extension:Acme:2.0:User\":{\"badge\":\"B-7\"}}",
     NULL, ""},
    {"retried add of a list element adds nothing", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"work\",\"value\":\"w@x\"}]}",
     OPS("{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{\"type\":\"work\",\"value\":\"w@x\"}]},"
         "{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{\"type\":\"home\",\"value\":\"h@x\"}]},"
         "{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{\"type\":\"home\",\"value\":\"h@x\"}]}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"work\",\"value\":\"w@x\"},{\"type\":"
     "\"home\",\"value\":\"h@x\"}]}",
     NULL, ""},
    {"null value means remove", SCIM_USER, "{" CORE ",\"userName\":\"u\",\"title\":\"t\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"title\",\"value\":null}"), "{" CORE ",\"userName\":\"u\"}",
     NULL, ""},
    {"roles: JSON inside a string is kept as sent (AppRoleAssignmentsComplex)", SCIM_USER,
     "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"roles\",\"value\":[{\"value\":\"{\\\"id\\\":\\\"r1\\\","
         "\\\"value\\\":\\\"Admin\\\",\\\"displayName\\\":\\\"Admin\\\"}\"}]}"),
     "{" CORE ",\"userName\":\"u\",\"roles\":[{\"value\":\"{\\\"id\\\":\\\"r1\\\",\\\"value\\\":"
     "\\\"Admin\\\",\\\"displayName\\\":\\\"Admin\\\"}\"}]}",
     NULL, ""},
    {"roles[primary eq \"True\"].value creates a primary role (SingleAppRoleAssignment)", SCIM_USER,
     "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"roles[primary eq \\\"True\\\"].value\",\"value\":"
         "\"Reader\"}"),
     "{" CORE ",\"userName\":\"u\",\"roles\":[{\"primary\":true,\"value\":\"Reader\"}]}", NULL, ""},
    {"add to a complex attribute merges", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"name\":{\"familyName\":\"F\"}}",
     OPS("{\"op\":\"add\",\"path\":\"name\",\"value\":{\"givenName\":\"G\"}}"),
     "{" CORE ",\"userName\":\"u\",\"name\":{\"familyName\":\"F\",\"givenName\":\"G\"}}", NULL, ""},
    {"userName replaced; attribute names are case-insensitive", SCIM_USER,
     "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"USERNAME\",\"value\":\"5b50642d@testuser.com\"}"),
     "{" CORE ",\"userName\":\"5b50642d@testuser.com\"}", NULL, ""},
    {"readOnly attributes are ignored", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"replace\",\"value\":{\"id\":\"x\",\"meta\":{\"created\":\"y\"}}}"),
     "{" CORE ",\"userName\":\"u\"}", NULL, ""},
    {"remove a whole extension", SCIM_USER,
     "{" CORE_ENT ",\"userName\":\"u\",\"" ENT "\":{\"department\":\"d\"}}",
     OPS("{\"op\":\"remove\",\"path\":\"" ENT ":department\"}"),
     "{" CORE_ENT ",\"userName\":\"u\"}", NULL, ""},
    /* groups */
    {"group: add members, several per op, several ops", SCIM_GROUP,
     "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"a\"},{\"$"
         "ref\":"
         "null,\"value\":\"b\"}]},{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":"
         "\"c\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "+a+b+c"},
    {"group: remove members, default dialect", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"a\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "-a"},
    {"group: remove members, flag dialect", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"a\\\"]\"},{\"op\":\"remove\","
         "\"path\":\"members[value eq \\\"b\\\" or value eq \\\"c\\\"]\"}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "-a-b-c"},
    {"group: remove every member", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"remove\",\"path\":\"members\"}"), "{" GRP ",\"displayName\":\"g\"}", NULL, "R"},
    {"group: replace members", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"z\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R+z"},
    {"group: rename", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"1879db59updatedDisplayName\"}"),
     "{" GRP ",\"displayName\":\"1879db59updatedDisplayName\"}", NULL, ""},
    {"group: flag dialect path-less rename with id", SCIM_GROUP,
     "{" GRP ",\"displayName\":\"g\",\"externalId\":\"e\"}",
     OPS("{\"op\":\"replace\",\"value\":{\"id\":\"0f1e\",\"displayName\":\"renamed\"}}"),
     "{" GRP ",\"displayName\":\"renamed\",\"externalId\":\"e\"}", NULL, ""},
    /* operations apply in order (RFC 7644 §3.5.2): the members a PATCH leaves are those the
     * ops give one after the other; add and remove come out disjoint, so the store may run them
     * in any order */
    {"group: add then remove (default dialect)", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]},{\"op\":"
         "\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "-u?u"},
    {"group: add then remove (flag dialect)", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"},{\"value\":"
         "\"v\"}]},{\"op\":\"remove\",\"path\":\"members[value eq \\\"u\\\"]\"}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "-u+v?u"},
    {"group: remove then add", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"remove\",\"path\":\"members[value eq \\\"u\\\"]\"},{\"op\":\"add\","
         "\"path\":\"members\",\"value\":[{\"value\":\"u\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "+u"},
    {"group: add, remove, add again", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]},{\"op\":"
         "\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]},{\"op\":\"Add\","
         "\"path\":\"members\",\"value\":[{\"value\":\"u\"},{\"value\":\"u\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "+u"},
    {"group: replace then add", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"a\"}]},{\"op\":"
         "\"add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R+a+u"},
    {"group: add then replace", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]},{\"op\":"
         "\"Replace\",\"path\":\"members\",\"value\":[{\"value\":\"a\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R+a?u"},
    {"group: replace then remove one of them", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"a\"},{\"value\":"
         "\"u\"}]},{\"op\":\"remove\",\"path\":\"members[value eq \\\"u\\\"]\"}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R+a?u"},
    {"group: remove every member, then add", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Remove\",\"path\":\"members\"},{\"op\":\"Add\",\"path\":\"members\","
         "\"value\":[{\"value\":\"u\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R+u"},
    {"group: add, then remove every member", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"u\"}]},{\"op\":"
         "\"Remove\",\"path\":\"members\"}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "R?u"},
    {"group: members keep the order of their first op", SCIM_GROUP,
     "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"c\"},{\"value\":"
         "\"a\"},{\"value\":\"x\"}]},{\"op\":\"Remove\",\"path\":\"members\",\"value\":"
         "[{\"value\":\"y\"},{\"value\":\"x\"}]},{\"op\":\"Add\",\"path\":\"members\","
         "\"value\":[{\"value\":\"b\"},{\"value\":\"a\"}]}"),
     "{" GRP ",\"displayName\":\"g\"}", NULL, "-x-y+c+a+b?x"},
    {"user: replace then remove", SCIM_USER, "{" CORE ",\"userName\":\"u\",\"title\":\"t\"}",
     OPS("{\"op\":\"Replace\",\"path\":\"title\",\"value\":\"CTO\"},{\"op\":\"Remove\","
         "\"path\":\"title\"}"),
     "{" CORE ",\"userName\":\"u\"}", NULL, ""},
    {"user: remove then add", SCIM_USER, "{" CORE ",\"userName\":\"u\",\"title\":\"t\"}",
     OPS("{\"op\":\"remove\",\"path\":\"title\"},{\"op\":\"add\",\"path\":\"title\","
         "\"value\":\"CTO\"}"),
     "{" CORE ",\"userName\":\"u\",\"title\":\"CTO\"}", NULL, ""},
    {"user: add an email, then replace it", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"Add\",\"path\":\"emails\",\"value\":[{\"type\":\"work\",\"value\":"
         "\"a@x\"}]},{\"op\":\"Replace\",\"path\":\"emails[type eq \\\"work\\\"].value\","
         "\"value\":\"b@x\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"work\",\"value\":\"b@x\"}]}", NULL, ""},
    {"user: replace emails, then add one, then remove the first", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"home\",\"value\":\"h@x\"}]}",
     OPS("{\"op\":\"replace\",\"path\":\"emails\",\"value\":[{\"type\":\"work\",\"value\":"
         "\"a@x\"}]},{\"op\":\"add\",\"path\":\"emails\",\"value\":[{\"type\":\"other\","
         "\"value\":\"o@x\"}]},{\"op\":\"remove\",\"path\":\"emails[value eq "
         "\\\"a@x\\\"]\"}"),
     "{" CORE ",\"userName\":\"u\",\"emails\":[{\"type\":\"other\",\"value\":\"o@x\"}]}", NULL, ""},
    {"user: disable then enable again", SCIM_USER, "{" CORE ",\"userName\":\"u\",\"active\":true}",
     OPS("{\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"},{\"op\":"
         "\"Replace\",\"path\":\"active\",\"value\":\"True\"}"),
     "{" CORE ",\"userName\":\"u\",\"active\":true}", NULL, ""},
    {"user: givenName set, then name removed, then familyName set", SCIM_USER,
     "{" CORE ",\"userName\":\"u\",\"name\":{\"givenName\":\"G\"}}",
     OPS("{\"op\":\"Replace\",\"path\":\"name.givenName\",\"value\":\"H\"},{\"op\":"
         "\"Remove\",\"path\":\"name\"},{\"op\":\"Add\",\"path\":\"name.familyName\","
         "\"value\":\"F\"}"),
     "{" CORE ",\"userName\":\"u\",\"name\":{\"familyName\":\"F\"}}", NULL, ""},
    /* errors */
    {"unknown op", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"move\",\"path\":\"title\",\"value\":\"x\"}"), NULL, "invalidSyntax", ""},
    {"no Operations", SCIM_USER, "{" CORE ",\"userName\":\"u\"}", "{\"schemas\":[]}", NULL,
     "invalidSyntax", ""},
    {"remove without path", SCIM_USER, "{" CORE ",\"userName\":\"u\"}", OPS("{\"op\":\"remove\"}"),
     NULL, "noTarget", ""},
    {"bad path", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"add\",\"path\":\"emails[type eq\",\"value\":\"x\"}"), NULL, "invalidPath", ""},
    {"member without value", SCIM_GROUP, "{" GRP ",\"displayName\":\"g\"}",
     OPS("{\"op\":\"add\",\"path\":\"members\",\"value\":[{\"display\":\"x\"}]}"), NULL,
     "invalidValue", ""},
    {"filter that cannot describe a new element", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"replace\",\"path\":\"emails[type co \\\"w\\\"].value\",\"value\":\"x\"}"), NULL,
     "noTarget", ""},
    {"not a boolean", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"replace\",\"path\":\"active\",\"value\":\"maybe\"}"), NULL, "invalidValue", ""},
    {"userName removed", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"remove\",\"path\":\"userName\"}"), NULL, "invalidValue", ""},
    {"path-less add with a non-object", SCIM_USER, "{" CORE ",\"userName\":\"u\"}",
     OPS("{\"op\":\"add\",\"value\":\"x\"}"), NULL, "invalidValue", ""},
};

static void members_dump(const struct scim_patch_members *m, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (m->replace)
        n += (size_t)snprintf(buf + n, cap - n, "R");
    for (size_t i = 0; i < m->remove_count; i++)
        n += (size_t)snprintf(buf + n, cap - n, "-%s", m->remove[i]);
    for (size_t i = 0; i < m->add_count; i++)
        n += (size_t)snprintf(buf + n, cap - n, "+%s", m->add[i]);
    for (size_t i = 0; i < m->check_count; i++)
        n += (size_t)snprintf(buf + n, cap - n, "?%s", m->check[i]);
}

START_TEST(patch_table)
{
    struct gh_arena *a = gh_arena_new();
    struct gh_err err = {0};
    struct scim_patch_members m;
    struct store_cols cols;
    cJSON *res = cJSON_Parse(cases[_i].before);
    cJSON *patch = cJSON_Parse(cases[_i].patch);
    enum gh_status st;
    char got[256];

    ck_assert_msg(res != NULL && patch != NULL, "%s: bad test JSON", cases[_i].name);
    st = scim_patch_apply(a, cases[_i].kind, res, patch, &m, &err);
    if (st == GH_OK)
        st = scim_resource_normalize(cases[_i].kind, res, NULL, &cols, &err);
    if (cases[_i].after == NULL) {
        ck_assert_msg(st == GH_E_INVALID, "%s: accepted", cases[_i].name);
        ck_assert_msg(err.scim_type != NULL && strcmp(err.scim_type, cases[_i].scim_type) == 0,
                      "%s: scimType %s", cases[_i].name, err.scim_type ? err.scim_type : "(none)");
    } else {
        cJSON *want = cJSON_Parse(cases[_i].after);
        char *txt = cJSON_PrintUnformatted(res);
        ck_assert_msg(st == GH_OK, "%s: %s", cases[_i].name, err.msg);
        ck_assert_msg(want != NULL, "%s: bad expected JSON", cases[_i].name);
        ck_assert_msg(cJSON_Compare(res, want, true), "%s:\n got %s\nwant %s", cases[_i].name, txt,
                      cases[_i].after);
        members_dump(&m, got, sizeof(got));
        ck_assert_msg(strcmp(got, cases[_i].members) == 0, "%s: members %s", cases[_i].name, got);
        free(txt);
        cJSON_Delete(want);
    }
    cJSON_Delete(res);
    cJSON_Delete(patch);
    gh_arena_free(a);
}
END_TEST

/* A large PATCH (Entra batches hundreds of members; the body cap allows tens of thousands): one
 * Add of N ids, then one Remove of every other one and a re-add of the first; the net change
 * lists each id once, in the order of its first op (the reduction sorts, it never rescans). */
START_TEST(patch_members_large)
{
    enum { N = 20000 };
    struct gh_arena *a = gh_arena_new();
    struct gh_err err = {0};
    struct scim_patch_members m;
    cJSON *res = cJSON_Parse("{" GRP ",\"displayName\":\"g\"}");
    cJSON *patch = cJSON_CreateObject(), *ops = cJSON_AddArrayToObject(patch, "Operations");
    cJSON *add = cJSON_CreateArray(), *rm = cJSON_CreateArray(), *readd = cJSON_CreateArray();
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "id-%05d", N - i); /* not in sorted order */
        cJSON *one = cJSON_CreateObject();
        cJSON_AddStringToObject(one, "value", id);
        cJSON_AddItemToArray(add, one);
        if (i % 2 == 1)
            cJSON_AddItemToArray(rm, cJSON_Duplicate(one, true));
        if (i == 1)
            cJSON_AddItemToArray(readd, cJSON_Duplicate(one, true));
    }
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "Add");
    cJSON_AddStringToObject(op, "path", "members");
    cJSON_AddItemToObject(op, "value", add);
    cJSON_AddItemToArray(ops, op);
    op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "Remove");
    cJSON_AddStringToObject(op, "path", "members");
    cJSON_AddItemToObject(op, "value", rm);
    cJSON_AddItemToArray(ops, op);
    op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "Add");
    cJSON_AddStringToObject(op, "path", "members");
    cJSON_AddItemToObject(op, "value", readd);
    cJSON_AddItemToArray(ops, op);

    ck_assert_int_eq(scim_patch_apply(a, SCIM_GROUP, res, patch, &m, &err), GH_OK);
    ck_assert(!m.replace);
    ck_assert_uint_eq(m.add_count, N / 2 + 1);
    ck_assert_uint_eq(m.remove_count, N / 2 - 1);
    ck_assert_uint_eq(m.check_count, N / 2 - 1);
    ck_assert_str_eq(m.add[0], "id-20000");
    ck_assert_str_eq(m.add[1], "id-19999"); /* removed, then added again: first seen second */
    ck_assert_str_eq(m.add[2], "id-19998");
    ck_assert_str_eq(m.remove[0], "id-19997");
    ck_assert_str_eq(m.remove[N / 2 - 2], "id-00001");
    cJSON_Delete(res);
    cJSON_Delete(patch);
    gh_arena_free(a);
}
END_TEST

/* ---- normalisation of request bodies (POST/PUT) ---- */
static const struct {
    const char *name;
    enum store_kind kind;
    const char *in;
    const char *out; /* NULL: 400 */
} norm_cases[] = {
    {"Entra's Create User body", SCIM_USER,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"" ENT "\"],\"externalId\":"
     "\"0a21f0f2\",\"userName\":\"Test_User_ab64\",\"active\":true,\"emails\":[{\"primary\":true,"
     "\"type\":\"work\",\"value\":\"Test_User_fd0e@testuser.com\"}],\"meta\":{\"resourceType\":"
     "\"User\"},\"name\":{\"formatted\":\"givenName familyName\",\"familyName\":\"familyName\","
     "\"givenName\":\"givenName\"},\"roles\":[]}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"" ENT "\"],\"externalId\":"
     "\"0a21f0f2\",\"userName\":\"Test_User_ab64\",\"active\":true,\"emails\":[{\"primary\":true,"
     "\"type\":\"work\",\"value\":\"Test_User_fd0e@testuser.com\"}],\"name\":{\"formatted\":"
     "\"givenName familyName\",\"familyName\":\"familyName\",\"givenName\":\"givenName\"},"
     "\"roles\":[]}"},
    {"tutorial Example 2: nulls and unknown top-level attributes", SCIM_USER,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\","
     "\"addresses\":null,\"department\":null,\"manager\":null,\"unknownThing\":\"x\",\"name\":"
     "{\"givenName\":null,\"familyName\":\"F\"}}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\","
     "\"name\":{\"familyName\":\"F\"}}"},
    {"custom extension kept, URN added to schemas, values as sent", SCIM_USER,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"USERNAME\":\"u\","
     "\"phoneNumbers\":[{\"type\":\"work\",\"value\":\"+1 (555) 010-0\"}],"
     "\"urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User\":{\"costCode\":\" 07 \"}}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:"
     "schemas:extension:CustomExt:2.0:User\"],\"userName\":\"u\",\"phoneNumbers\":[{\"type\":"
     "\"work\",\"value\":\"+1 (555) 010-0\"}],\"urn:ietf:params:scim:schemas:extension:"
     "CustomExt:2.0:User\":{\"costCode\":\" 07 \"}}"},
    {"Entra's Create Group body (ADSCIM schema tolerated)", SCIM_GROUP,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"http://schemas.microsoft."
     "com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\"externalId\":\"8aa1a0c0\","
     "\"displayName\":\"displayName\",\"meta\":{\"resourceType\":\"Group\"}}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"http://schemas.microsoft."
     "com/2006/11/ResourceManagement/ADSCIM/2.0/Group\"],\"externalId\":\"8aa1a0c0\","
     "\"displayName\":\"displayName\"}"},
    {"missing schemas is added", SCIM_USER, "{\"userName\":\"u\"}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\"}"},
    {"a single object where a list is due is wrapped", SCIM_USER,
     "{\"userName\":\"u\",\"emails\":{\"value\":\"x\"}}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u\","
     "\"emails\":[{\"value\":\"x\"}]}"},
    /* fuzz crash-e1fb493a: qualified keys whose container name collides with a member */
    {"qualified top-level keys move into their extension", SCIM_USER,
     "{\"userName\":\"u\",\"urn:a:b\":false,\"urn:a:c\":\"x\",\"urn:a\":\"5\","
     "\"" ENT ":department\":\"D\"}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:a\",\"" ENT "\"],"
     "\"userName\":\"u\",\"urn:a\":{\"b\":false,\"c\":\"x\"},\"" ENT "\":{\"department\":\"D\"}}"},
    /* fuzz crash-ddcd76b6 (scim_resource): a known URN in another case was stored and returned
     * as sent, so "schemas" did not name the schema /Schemas lists */
    {"known schema URNs in canonical case, once", SCIM_GROUP,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:GRoup\",\"urn:x:Y\","
     "\"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:GROUP\"],\"displayName\":\"g\"}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"urn:x:Y\"],"
     "\"displayName\":\"g\"}"},
    {"extension URN in schemas in canonical case", SCIM_USER,
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User\"],"
     "\"userName\":\"u\",\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user\":"
     "{\"department\":\"D\"}}",
     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"" ENT "\"],"
     "\"userName\":\"u\",\"" ENT "\":{\"department\":\"D\"}}"},
    {"missing userName", SCIM_USER, "{\"schemas\":[],\"displayName\":\"x\"}", NULL},
    {"userName not a string", SCIM_USER, "{\"userName\":7}", NULL},
    {"emails not a list", SCIM_USER, "{\"userName\":\"u\",\"emails\":\"a@b\"}", NULL},
    {"name not an object", SCIM_USER, "{\"userName\":\"u\",\"name\":\"x\"}", NULL},
    {"active not a boolean", SCIM_USER, "{\"userName\":\"u\",\"active\":1}", NULL},
    {"schemas not a list", SCIM_USER, "{\"userName\":\"u\",\"schemas\":\"x\"}", NULL},
    {"body not an object", SCIM_USER, "[1]", NULL},
    {"group without displayName", SCIM_GROUP, "{\"externalId\":\"x\"}", NULL},
    {"group member without value", SCIM_GROUP, "{\"displayName\":\"g\",\"members\":[{}]}", NULL},
};

START_TEST(normalize_table)
{
    struct gh_err err = {0};
    struct store_cols cols;
    cJSON *members = NULL;
    cJSON *in = cJSON_Parse(norm_cases[_i].in);
    enum gh_status st = scim_resource_normalize(norm_cases[_i].kind, in, &members, &cols, &err);
    if (norm_cases[_i].out == NULL) {
        ck_assert_msg(st == GH_E_INVALID, "%s: accepted", norm_cases[_i].name);
    } else {
        cJSON *want = cJSON_Parse(norm_cases[_i].out);
        char *txt = cJSON_PrintUnformatted(in);
        ck_assert_msg(st == GH_OK, "%s: %s", norm_cases[_i].name, err.msg);
        ck_assert_msg(cJSON_Compare(in, want, true), "%s:\n got %s", norm_cases[_i].name, txt);
        /* key order is part of "returned as sent": schemas first, then as sent */
        ck_assert_str_eq(in->child->string, "schemas");
        free(txt);
        cJSON_Delete(want);
    }
    cJSON_Delete(members);
    cJSON_Delete(in);
}
END_TEST

/* Extension members are capped (caps.h): at the cap a body is stored, past it refused, and a
 * body of 60,000 of them (1.2 MB, quadratic work before the cap) is refused at once. */
static cJSON *urn_body(int n)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "userName", "u");
    for (int i = 0; i < n; i++) {
        char k[48];
        snprintf(k, sizeof(k), "urn:a%d", i);
        cJSON_AddItemToObject(cJSON_AddObjectToObject(b, k), "x", cJSON_CreateNumber(1));
    }
    return b;
}

START_TEST(normalize_caps_extension_members)
{
    static const int ns[] = {GH_CAP_SCIM_URN_MEMBERS, GH_CAP_SCIM_URN_MEMBERS + 1, 60000};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        struct gh_err err = {0};
        struct store_cols cols;
        cJSON *in = urn_body(ns[i]);
        enum gh_status st = scim_resource_normalize(SCIM_USER, in, NULL, &cols, &err);
        if (ns[i] <= GH_CAP_SCIM_URN_MEMBERS) {
            ck_assert_msg(st == GH_OK, "%d members: %s", ns[i], err.msg);
        } else {
            ck_assert_msg(st == GH_E_INVALID, "%d extension members accepted", ns[i]);
            ck_assert_str_eq(err.scim_type, "invalidValue");
        }
        cJSON_Delete(in);
    }
}
END_TEST

/* ---- projection (attributes / excludedAttributes) ---- */
static const struct {
    const char *attributes, *excluded, *out;
} proj_cases[] = {
    {"id", NULL, "{\"schemas\":[],\"id\":\"1\"}"},
    {"userName,name.givenName", NULL,
     "{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\",\"name\":{\"givenName\":\"g\"}}"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName", NULL,
     "{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\"}"},
    {"emails.value", NULL, "{\"schemas\":[],\"id\":\"1\",\"emails\":[{\"value\":\"e\"}]}"},
    {ENT ":department", NULL, "{\"schemas\":[],\"id\":\"1\",\"" ENT "\":{\"department\":\"d\"}}"},
    {NULL, "members,meta",
     "{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\",\"name\":{\"givenName\":"
     "\"g\",\"familyName\":\"f\"},\"emails\":[{\"type\":\"w\",\"value\":"
     "\"e\"}],\"" ENT "\":{\"department\":\"d\",\"costCenter\":\"c\"}}"},
    {NULL, "name.familyName,emails,id," ENT ":costCenter,meta",
     "{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\",\"name\":{\"givenName\":\"g\"},\"" ENT
     "\":{\"department\":\"d\"}}"},
};

START_TEST(projection_table)
{
    struct gh_arena *a = gh_arena_new();
    struct scim_projection p;
    cJSON *res = cJSON_Parse("{\"schemas\":[],\"id\":\"1\",\"userName\":\"u\",\"name\":{"
                             "\"givenName\":\"g\",\"familyName\":\"f\"},\"emails\":[{\"type\":"
                             "\"w\",\"value\":\"e\"}],\"" ENT "\":{\"department\":\"d\","
                             "\"costCenter\":\"c\"},\"meta\":{\"version\":\"W/\\\"1\\\"\"}}");
    cJSON *want = cJSON_Parse(proj_cases[_i].out);
    ck_assert_int_eq(scim_projection_parse(a, SCIM_USER, proj_cases[_i].attributes,
                                           proj_cases[_i].excluded, &p, NULL),
                     GH_OK);
    scim_projection_apply(&p, res);
    char *txt = cJSON_PrintUnformatted(res);
    ck_assert_msg(cJSON_Compare(res, want, true), "case %d: got %s", _i, txt);
    free(txt);
    cJSON_Delete(res);
    cJSON_Delete(want);
    gh_arena_free(a);
}
END_TEST

START_TEST(etag_parse)
{
    bool any;
    int64_t v = 0;
    char buf[32];
    scim_etag_format(42, buf, sizeof(buf));
    ck_assert_str_eq(buf, "W/\"42\"");
    ck_assert(scim_etag_parse(buf, &any, &v) && !any && v == 42);
    ck_assert(scim_etag_parse("\"7\"", &any, &v) && v == 7);
    ck_assert(scim_etag_parse("*", &any, &v) && any);
    ck_assert(!scim_etag_parse("W/\"x\"", &any, &v));
    ck_assert(!scim_etag_parse("7", &any, &v));
}
END_TEST

/* ---- SCIM Error documents (RFC 7644 §3.12) ---- */
START_TEST(error_bodies)
{
    static const struct {
        enum gh_status st;
        const char *scim_type, *msg;
        unsigned http;
        const char *want;
    } ecases[] = {
        {GH_E_INVALID, "invalidFilter", "bad", 400,
         "{\"status\":\"400\",\"scimType\":\"invalidFilter\",\"detail\":\"bad\"}"},
        {GH_E_INVALID, NULL, "bad", 400,
         "{\"status\":\"400\",\"scimType\":\"invalidValue\",\"detail\":\"bad\"}"},
        {GH_E_CONFLICT, NULL, "taken", 409,
         "{\"status\":\"409\",\"scimType\":\"uniqueness\",\"detail\":\"taken\"}"},
        {GH_E_UNAUTHORIZED, NULL, "no", 401, "{\"status\":\"401\",\"detail\":\"no\"}"},
        {GH_E_NOT_FOUND, NULL, "gone", 404, "{\"status\":\"404\",\"detail\":\"gone\"}"},
        {GH_E_METHOD, NULL, "m", 405, "{\"status\":\"405\",\"detail\":\"m\"}"},
        {GH_E_PRECONDITION, NULL, "etag", 412, "{\"status\":\"412\",\"detail\":\"etag\"}"},
        {GH_E_TOO_LARGE, "tooMany", "big", 413, "{\"status\":\"413\",\"detail\":\"big\"}"},
        {GH_E_STORE, NULL, "sqlite: disk I/O error /var/x.db", 500,
         "{\"status\":\"500\",\"detail\":\"internal error; see the gatehouse log\"}"},
        {GH_E_UNAVAILABLE, NULL, "sqlite: write: disk I/O error (code 778)", 503,
         "{\"status\":\"503\",\"detail\":\"temporarily unavailable; retry later (see the "
         "gatehouse log)\"}"},
    };
    for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
        struct gh_err err = {0};
        unsigned http = 0;
        GH_ERR(&err, ecases[i].st, "%s", ecases[i].msg);
        gh_err_set_scim_type(&err, ecases[i].scim_type);
        cJSON *j = scim_error_body(&err, &http);
        cJSON *want = cJSON_Parse(ecases[i].want);
        cJSON_AddItemToObject(want, "schemas",
                              cJSON_CreateStringArray((const char *[]){SCIM_MSG_ERROR}, 1));
        ck_assert_uint_eq(http, ecases[i].http);
        char *txt = cJSON_PrintUnformatted(j);
        ck_assert_msg(cJSON_Compare(j, want, true), "case %zu: %s", i, txt);
        free(txt);
        cJSON_Delete(j);
        cJSON_Delete(want);
    }
}
END_TEST

Suite *scim_patch_suite(void)
{
    Suite *s = suite_create("scim_patch");
    TCase *tc = tcase_create("patch");
    tcase_add_loop_test(tc, patch_table, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, patch_members_large);
    tcase_add_loop_test(tc, normalize_table, 0, sizeof(norm_cases) / sizeof(norm_cases[0]));
    tcase_add_test(tc, normalize_caps_extension_members);
    tcase_add_loop_test(tc, projection_table, 0, sizeof(proj_cases) / sizeof(proj_cases[0]));
    tcase_add_test(tc, etag_parse);
    tcase_add_test(tc, error_bodies);
    suite_add_tcase(s, tc);
    return s;
}
