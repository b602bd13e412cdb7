/*
 * test_scim_ext.c - declared SCIM extension schemas (GATEHOUSE_SCIM_EXTENSIONS, scim/extension.c):
 * the declaration parser (accepted forms, every refusal with its reason), the RFC 7643 §7 schema
 * document, and what a declaration changes in writes (type checks, canonical names, Entra's
 * top-level "urn:...:attr" keys), PATCH paths and filters. Each test installs its own set and
 * uninstalls it before freeing.
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
#include <unistd.h>

#define CUBE "urn:cube:params:1.0:UserAttribute"
#define DECL                                                                                       \
    CUBE ":country:string, " CUBE ":vip:boolean," CUBE ":level:integer," CUBE                      \
         ":ratio:decimal," CUBE ":since:dateTime," CUBE ":badge:string:caseExact," CUBE            \
         ":tags:string:multiValued,Group:urn:cube:params:1.0:Group:costCenter:string"

static const struct {
    const char *text;
    size_t schemas, attrs;
} good[] = {
    {"", 0, 0},
    {" , ,", 0, 0},
    {CUBE ":country:string", 1, 1},
    {"User:" CUBE ":country:string", 1, 1},
    {DECL, 2, 8},
    {"urn:ietf:params:scim:schemas:extension:Cube:2.0:User:country:string", 1, 1},
    /* flags in any order; an attribute may be named like a type or a flag */
    {CUBE ":codes:reference:caseExact:multiValued", 1, 1},
    {CUBE ":string:string," CUBE ":multiValued:boolean", 1, 2},
    {"urn:a:b:x:binary,urn:a:c:x:binary", 2, 2},
};

static const struct {
    const char *text;
    const char *why; /* a substring of the message */
} bad[] = {
    {CUBE ":country", "unknown type \"country\": expected <schema URN>:<attribute>:<type>"},
    {"urn:a:b:string", "the schema URN must be"},
    {"urn:string", "expected [User:|Group:]"},
    {CUBE ":country:text", "unknown type"},
    {CUBE ":country:String", "unknown type"},
    {"cube:params:country:string", "expected [User:|Group:]"},
    {"urn:country:string", "the schema URN must be"},
    {"urn::a:country:string", "expected [User:|Group:]"},
    {CUBE ":1country:string", "attribute name"},
    {CUBE ":coun.try:string", "attribute name"},
    {CUBE ":country:string," CUBE ":Country:boolean", "declared twice"},
    {CUBE ":n:boolean:caseExact", "caseExact applies to"},
    {CUBE ":n:string:multiValued:multiValued", "a flag is given twice"},
    {CUBE ":a:string,Group:" CUBE ":b:string", "both User and Group"},
    {"urn:a:b:x:string,urn:a:b:x:y:string", "prefix"},
    {"urn:a:b:c:x:string,urn:a:b:y:string", "prefix"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:x:string", "cannot be redeclared"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:x:string", "cannot be redeclared"},
    {"urn:ietf:params:scim:api:messages:2.0:x:string", "cannot be redeclared"},
    {CUBE ":coun try:string", "expected [User:|Group:]"},
    {CUBE ":\"x\":string", "expected [User:|Group:]"},
    /* fuzz: a URN a filter cannot name ('=' is no filter word character) */
    {"User:urn:ietf:params:scim:schemas:ex:params:1.0=Group:costCenter:string:caseExact",
     "expected [User:|Group:]"},
};

START_TEST(parse_good)
{
    struct scim_ext_set *set = NULL;
    struct gh_err err = {0};

    ck_assert_msg(scim_ext_set_parse(good[_i].text, &set, &err) == GH_OK, "%s: %s", good[_i].text,
                  err.msg);
    ck_assert_uint_eq(scim_ext_set_schemas(set), good[_i].schemas);
    ck_assert_uint_eq(scim_ext_set_attrs(set), good[_i].attrs);
    scim_ext_set_free(set);
}
END_TEST

START_TEST(parse_bad)
{
    struct scim_ext_set *set = (struct scim_ext_set *)1;
    struct gh_err err = {0};

    ck_assert_msg(scim_ext_set_parse(bad[_i].text, &set, &err) == GH_E_INVALID, "%s: accepted",
                  bad[_i].text);
    ck_assert_ptr_null(set);
    ck_assert_msg(strstr(err.msg, bad[_i].why) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  bad[_i].text, err.msg, bad[_i].why);
}
END_TEST

/* The caps: schemas and attributes in all. */
START_TEST(parse_caps)
{
    char text[8192];
    size_t o = 0;
    struct scim_ext_set *set = NULL;
    struct gh_err err = {0};

    for (int i = 0; i <= GH_CAP_SCIM_EXT_ATTRS; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%surn:x:y:a%d:string", i ? "," : "", i);
    ck_assert_int_eq(scim_ext_set_parse(text, &set, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than 64 attributes"));
    o = 0;
    for (int i = 0; i <= GH_CAP_SCIM_EXT_SCHEMAS; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%surn:x:s%d:a:string", i ? "," : "", i);
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(scim_ext_set_parse(text, &set, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than 16 schemas"));
    o = (size_t)snprintf(text, sizeof(text), "urn:x:");
    memset(text + o, 'y', 200);
    snprintf(text + o + 200, sizeof(text) - o - 200, ":a:string");
    memset(&err, 0, sizeof(err));
    ck_assert_int_eq(scim_ext_set_parse(text, &set, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 200"));
}
END_TEST

static struct scim_ext_set *install(const char *text)
{
    struct scim_ext_set *set = NULL;
    struct gh_err err = {0};
    ck_assert_msg(scim_ext_set_parse(text, &set, &err) == GH_OK, "%s", err.msg);
    scim_ext_install(set);
    return set;
}

static void uninstall(struct scim_ext_set *set)
{
    scim_ext_install(NULL);
    scim_ext_set_free(set);
}

/* The attribute named name in a schema document's attributes (borrowed), or NULL. */
static const cJSON *doc_attr(const cJSON *doc, const char *name)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(doc, "attributes"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(a, "name")->valuestring, name) == 0)
            return a;
    }
    return NULL;
}

/* The schema document (RFC 7643 §7) and the extension lists of the resource types. */
START_TEST(schema_document)
{
    struct scim_ext_set *set = install(DECL);
    const struct scim_schema *ext[SCIM_EXTS_MAX];
    size_t n = scim_rtype_exts(SCIM_USER, ext, SCIM_EXTS_MAX);
    cJSON *doc;
    const cJSON *a;

    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ext[0]->urn, SCIM_SCHEMA_ENTERPRISE);
    ck_assert_str_eq(ext[1]->urn, CUBE);
    ck_assert_uint_eq(scim_rtype_exts(SCIM_GROUP, ext, SCIM_EXTS_MAX), 1);
    ck_assert_str_eq(ext[0]->urn, "urn:cube:params:1.0:Group");
    ck_assert_str_eq(ext[0]->name, "params"); /* "1.0" and "Group" are skipped */

    n = scim_rtype_exts(SCIM_USER, ext, SCIM_EXTS_MAX);
    doc = scim_schema_to_json(ext[1]);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "id")->valuestring, CUBE);
    ck_assert_str_eq(cJSON_GetObjectItem(doc, "name")->valuestring, "UserAttribute");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "schemas"), 0)->valuestring,
                     SCIM_SCHEMA_SCHEMA);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "attributes")), 7);
    a = doc_attr(doc, "country");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(cJSON_GetObjectItem(a, "type")->valuestring, "string");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "multiValued")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "required")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "caseExact")));
    ck_assert_str_eq(cJSON_GetObjectItem(a, "mutability")->valuestring, "readWrite");
    ck_assert_str_eq(cJSON_GetObjectItem(a, "returned")->valuestring, "default");
    ck_assert_str_eq(cJSON_GetObjectItem(a, "uniqueness")->valuestring, "none");
    a = doc_attr(doc, "badge");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "caseExact")));
    a = doc_attr(doc, "tags");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "multiValued")));
    a = doc_attr(doc, "vip");
    ck_assert_str_eq(cJSON_GetObjectItem(a, "type")->valuestring, "boolean");
    ck_assert_ptr_null(cJSON_GetObjectItem(a, "caseExact")); /* only for string-like types */
    ck_assert_str_eq(cJSON_GetObjectItem(doc_attr(doc, "since"), "type")->valuestring, "dateTime");
    ck_assert_str_eq(cJSON_GetObjectItem(doc_attr(doc, "level"), "type")->valuestring, "integer");
    ck_assert_str_eq(cJSON_GetObjectItem(doc_attr(doc, "ratio"), "type")->valuestring, "decimal");
    cJSON_Delete(doc);
    uninstall(set);
    /* uninstalled: the User resource type has its enterprise extension only, as before */
    ck_assert_uint_eq(scim_rtype_exts(SCIM_USER, ext, SCIM_EXTS_MAX), 1);
    ck_assert_uint_eq(scim_rtype_exts(SCIM_GROUP, ext, SCIM_EXTS_MAX), 0);
}
END_TEST

#define USER_SCHEMAS(...)                                                                          \
    "\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"" __VA_ARGS__ "]"

/* Writes: body in, stored body out, or the attribute an invalidValue names. */
static const struct {
    const char *in;
    const char *out;  /* NULL: refused */
    const char *name; /* refused: the attribute the message names */
} writes[] = {
    /* Entra's custom extension object, not listed in schemas (ENTRA.md §1.14) */
    {"{\"userName\":\"u\",\"" CUBE "\":{\"country\":\"FR\",\"vip\":\"True\",\"level\":3}}",
     "{" USER_SCHEMAS(",\"" CUBE "\"") ",\"userName\":\"u\",\"" CUBE
                                       "\":{\"country\":\"FR\",\"vip\":true,\"level\":3}}",
     NULL},
    /* URN and attribute names in any case come out canonical; undeclared attributes dropped */
    {"{\"userName\":\"u\",\"URN:CUBE:params:1.0:userattribute\":{\"COUNTRY\":\"FR\",\"other\":1}}",
     "{" USER_SCHEMAS(",\"" CUBE "\"") ",\"userName\":\"u\",\"" CUBE "\":{\"country\":\"FR\"}}",
     NULL},
    {"{" USER_SCHEMAS(",\"urn:cube:PARAMS:1.0:UserAttribute\"") ",\"userName\":\"u\",\"" CUBE
                                                                "\":{\"ratio\":0.5}}",
     "{" USER_SCHEMAS(",\"" CUBE "\"") ",\"userName\":\"u\",\"" CUBE "\":{\"ratio\":0.5}}", NULL},
    /* a top-level qualified key moves into its extension object */
    {"{\"userName\":\"u\",\"" CUBE ":country\":\"DE\",\"" CUBE ":since\":\"2024-05-01T12:00:00Z\"}",
     "{" USER_SCHEMAS(",\"" CUBE
                      "\"") ",\"userName\":\"u\",\"" CUBE
                            "\":{\"country\":\"DE\",\"since\":\"2024-05-01T12:00:00Z\"}}",
     NULL},
    /* a single value of a multi-valued attribute becomes a list */
    {"{\"userName\":\"u\",\"" CUBE "\":{\"tags\":\"a\"}}",
     "{" USER_SCHEMAS(",\"" CUBE "\"") ",\"userName\":\"u\",\"" CUBE "\":{\"tags\":[\"a\"]}}",
     NULL},
    /* undeclared extensions are kept as sent, as before */
    {"{\"userName\":\"u\",\"urn:other:x\":{\"Any\":[1,{\"b\":true}]}}",
     "{" USER_SCHEMAS(",\"urn:other:x\"") ",\"userName\":\"u\",\"urn:other:x\":{\"Any\":[1,{\"b\":"
                                          "true}]}}",
     NULL},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"country\":7}}", NULL, CUBE ":country"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"vip\":\"maybe\"}}", NULL, CUBE ":vip"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"level\":1.5}}", NULL, CUBE ":level"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"level\":\"3\"}}", NULL, CUBE ":level"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"ratio\":\"0.5\"}}", NULL, CUBE ":ratio"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"since\":\"yesterday\"}}", NULL, CUBE ":since"},
    {"{\"userName\":\"u\",\"" CUBE "\":{\"tags\":[\"a\",2]}}", NULL, CUBE ":tags"},
    {"{\"userName\":\"u\",\"" CUBE ":vip\":\"no\"}", NULL, CUBE ":vip"},
    {"{\"userName\":\"u\",\"" CUBE "\":\"FR\"}", NULL, CUBE},
};

START_TEST(write_table)
{
    struct scim_ext_set *set = install(DECL);
    struct gh_err err = {0};
    struct store_cols cols;
    cJSON *body = cJSON_Parse(writes[_i].in);
    enum gh_status st;

    ck_assert_ptr_nonnull(body);
    st = scim_resource_normalize(SCIM_USER, body, NULL, &cols, &err);
    if (writes[_i].out == NULL) {
        char want[300];
        snprintf(want, sizeof(want), "attribute \"%s\"", writes[_i].name);
        ck_assert_msg(st == GH_E_INVALID, "case %d accepted", _i);
        ck_assert_str_eq(err.scim_type, SCIM_ST_INVALID_VALUE);
        ck_assert_msg(strstr(err.msg, want) != NULL, "case %d: \"%s\" lacks %s", _i, err.msg, want);
    } else {
        cJSON *want = cJSON_Parse(writes[_i].out);
        char *got = cJSON_PrintUnformatted(body);
        ck_assert_msg(st == GH_OK, "case %d: %s", _i, err.msg);
        ck_assert_ptr_nonnull(want);
        ck_assert_msg(cJSON_Compare(body, want, true), "case %d:\n got %s\nwant %s", _i, got,
                      writes[_i].out);
        free(got);
        cJSON_Delete(want);
    }
    cJSON_Delete(body);
    uninstall(set);
}
END_TEST

/* Without a declaration the same attribute is an undeclared extension: kept as sent. */
START_TEST(undeclared_kept)
{
    struct gh_err err = {0};
    struct store_cols cols;
    cJSON *body = cJSON_Parse("{\"userName\":\"u\",\"" CUBE "\":{\"country\":7,\"x\":\"y\"}}");
    ck_assert_int_eq(scim_resource_normalize(SCIM_USER, body, NULL, &cols, &err), GH_OK);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(body, CUBE), "country")->valueint, 7);
    cJSON_Delete(body);
}
END_TEST

/* PATCH in Entra's forms: the qualified path, a path-less replace with a qualified key, the URN
 * as the path with an object value; and a wrong type refused after the patch. */
START_TEST(patch_entra_forms)
{
    static const char *const ops[] = {
        "{\"op\":\"Add\",\"path\":\"" CUBE ":country\",\"value\":\"NL\"}",
        "{\"op\":\"replace\",\"value\":{\"" CUBE ":vip\":\"False\"}}",
        "{\"op\":\"Replace\",\"path\":\"" CUBE "\",\"value\":{\"level\":4}}",
        "{\"op\":\"Add\",\"path\":\"urn:cube:params:1.0:userattribute:TAGS\",\"value\":[\"x\"]}",
    };
    struct scim_ext_set *set = install(DECL);
    struct gh_arena *a = gh_arena_new();
    struct scim_patch_members m;
    struct store_cols cols;
    struct gh_err err = {0};
    cJSON *res = cJSON_Parse("{" USER_SCHEMAS() ",\"userName\":\"u\"}");
    char patch[512];

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        snprintf(patch, sizeof(patch),
                 "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                 "\"Operations\":[%s]}",
                 ops[i]);
        cJSON *p = cJSON_Parse(patch);
        ck_assert_msg(scim_patch_apply(a, SCIM_USER, res, p, &m, &err) == GH_OK, "%zu: %s", i,
                      err.msg);
        ck_assert_msg(scim_resource_normalize(SCIM_USER, res, NULL, &cols, &err) == GH_OK,
                      "%zu: %s", i, err.msg);
        cJSON_Delete(p);
    }
    cJSON *want = cJSON_Parse("{" USER_SCHEMAS(
        ",\"" CUBE "\"") ",\"userName\":\"u\",\"" CUBE
                         "\":{\"country\":\"NL\",\"vip\":false,\"level\":4,\"tags\":[\"x\"]}}");
    char *got = cJSON_PrintUnformatted(res);
    ck_assert_msg(cJSON_Compare(res, want, true), "got %s", got);
    free(got);
    cJSON_Delete(want);

    cJSON *p = cJSON_Parse("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                           "\"Operations\":[{\"op\":\"Replace\",\"path\":\"" CUBE
                           ":level\",\"value\":\"high\"}]}");
    ck_assert_int_eq(scim_patch_apply(a, SCIM_USER, res, p, &m, &err), GH_OK);
    ck_assert_int_eq(scim_resource_normalize(SCIM_USER, res, NULL, &cols, &err), GH_E_INVALID);
    ck_assert_str_eq(err.scim_type, SCIM_ST_INVALID_VALUE);
    ck_assert_ptr_nonnull(strstr(err.msg, CUBE ":level"));
    cJSON_Delete(p);
    cJSON_Delete(res);
    gh_arena_free(a);
    uninstall(set);
}
END_TEST

/* A value stored before its attribute was declared does not block a later PATCH that does not
 * touch it (Entra's soft delete must pass): it is dropped, like an undeclared attribute. */
START_TEST(patch_conforms_old_values)
{
    struct gh_arena *a = gh_arena_new();
    struct scim_patch_members m;
    struct store_cols cols;
    struct gh_err err = {0};
    struct scim_ext_set *set;
    cJSON *res = cJSON_Parse("{\"userName\":\"u\",\"" CUBE
                             "\":{\"vip\":\"perhaps\",\"country\":\"FR\",\"old\":1}}");
    cJSON *p = cJSON_Parse("{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
                           "\"Operations\":[{\"op\":\"Replace\",\"path\":\"active\",\"value\":"
                           "\"False\"}]}");

    ck_assert_int_eq(scim_resource_normalize(SCIM_USER, res, NULL, &cols, &err), GH_OK);
    set = install(DECL);
    scim_resource_conform(SCIM_USER, res);
    ck_assert_int_eq(scim_patch_apply(a, SCIM_USER, res, p, &m, &err), GH_OK);
    ck_assert_msg(scim_resource_normalize(SCIM_USER, res, NULL, &cols, &err) == GH_OK, "%s",
                  err.msg);
    cJSON *want =
        cJSON_Parse("{" USER_SCHEMAS(",\"" CUBE "\"") ",\"userName\":\"u\",\"active\":"
                                                      "false,\"" CUBE "\":{\"country\":\"FR\"}}");
    char *got = cJSON_PrintUnformatted(res);
    ck_assert_msg(cJSON_Compare(res, want, true), "got %s", got);
    free(got);
    cJSON_Delete(want);
    cJSON_Delete(p);
    cJSON_Delete(res);
    gh_arena_free(a);
    uninstall(set);
}
END_TEST

/* Filters see the declared flags: caseExact, boolean; unknown attributes stay flagless. */
START_TEST(filter_flags)
{
    struct scim_ext_set *set = install(DECL);
    struct gh_arena *a = gh_arena_new();
    struct store_filter *f = NULL;
    struct gh_err err = {0};

    ck_assert_int_eq(scim_filter_parse(a, SCIM_USER,
                                       "urn:cube:params:1.0:userattribute:Country eq \"fr\"", &f,
                                       &err),
                     GH_OK);
    ck_assert_str_eq(f->path.urn, CUBE);
    ck_assert_str_eq(f->path.attr, "country");
    ck_assert_uint_eq(f->path.attr_flags, STORE_ATTR_KNOWN);
    ck_assert_int_eq(scim_filter_parse(a, SCIM_USER, CUBE ":badge eq \"X\"", &f, &err), GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, STORE_ATTR_KNOWN | STORE_ATTR_CASE_EXACT);
    ck_assert_int_eq(scim_filter_parse(a, SCIM_USER, CUBE ":vip eq true", &f, &err), GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, STORE_ATTR_KNOWN | STORE_ATTR_BOOLEAN);
    ck_assert_int_eq(scim_filter_parse(a, SCIM_USER, CUBE ":tags eq \"x\"", &f, &err), GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, STORE_ATTR_KNOWN | STORE_ATTR_MULTI);
    /* a declared dateTime is stored as sent, so it compares as written */
    ck_assert_int_eq(
        scim_filter_parse(a, SCIM_USER, CUBE ":since eq \"2024-05-01T14:00:00+02:00\"", &f, &err),
        GH_OK);
    ck_assert_str_eq(f->str, "2024-05-01T14:00:00+02:00");
    ck_assert_int_eq(scim_filter_parse(a, SCIM_USER, CUBE ":undeclared eq \"x\"", &f, &err), GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, 0);
    /* a Group extension is not a User's */
    ck_assert_int_eq(
        scim_filter_parse(a, SCIM_GROUP, "urn:cube:params:1.0:Group:costCenter eq \"1\"", &f, &err),
        GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, STORE_ATTR_KNOWN);
    ck_assert_int_eq(
        scim_filter_parse(a, SCIM_USER, "urn:cube:params:1.0:Group:costCenter eq \"1\"", &f, &err),
        GH_OK);
    ck_assert_uint_eq(f->path.attr_flags, 0);
    gh_arena_free(a);
    uninstall(set);
}
END_TEST

/* The setting, from a config file: parsed at load, errors name the file and line. */
START_TEST(config_setting)
{
    char path[] = "/tmp/gh-scim-ext-XXXXXX";
    int fd = mkstemp(path);
    char *env[] = {NULL};
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    char want[128];
    FILE *f;

    ck_assert_int_ge(fd, 0);
    f = fdopen(fd, "w");
    fprintf(f, "# declared for Entra\nGATEHOUSE_SCIM_EXTENSIONS=\"" DECL "\"\n");
    fclose(f);
    ck_assert_msg(gh_config_load(path, env, &cfg, &err) == GH_OK, "%s", err.msg);
    ck_assert_uint_eq(scim_ext_set_schemas(cfg->scim_ext), 2);
    ck_assert_uint_eq(scim_ext_set_attrs(cfg->scim_ext), 8);
    gh_config_free(cfg);

    f = fopen(path, "w");
    fprintf(f, "GATEHOUSE_SCIM_EXTENSIONS=" CUBE ":country:string:multivalued\n");
    fclose(f);
    ck_assert_int_eq(gh_config_load(path, env, &cfg, &err), GH_E_INVALID);
    snprintf(want, sizeof(want), "%s:1: GATEHOUSE_SCIM_EXTENSIONS: \"", path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown type \"multivalued\""));
    unlink(path);

    /* unset: no set at all */
    ck_assert_int_eq(gh_config_load(NULL, env, &cfg, &err), GH_OK);
    ck_assert_ptr_null(cfg->scim_ext);
    gh_config_free(cfg);
}
END_TEST

Suite *scim_ext_suite(void)
{
    Suite *s = suite_create("scim_ext");
    TCase *tc = tcase_create("declare");
    tcase_add_loop_test(tc, parse_good, 0, sizeof(good) / sizeof(good[0]));
    tcase_add_loop_test(tc, parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, parse_caps);
    tcase_add_test(tc, schema_document);
    tcase_add_loop_test(tc, write_table, 0, sizeof(writes) / sizeof(writes[0]));
    tcase_add_test(tc, undeclared_kept);
    tcase_add_test(tc, patch_entra_forms);
    tcase_add_test(tc, patch_conforms_old_values);
    tcase_add_test(tc, filter_flags);
    tcase_add_test(tc, config_setting);
    suite_add_tcase(s, tc);
    return s;
}
