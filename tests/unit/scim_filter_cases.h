/*
 * scim_filter_cases.h - the users and filters both list backends are tested with: the SQLite
 * store (test_scim_filter.c) and the PostgreSQL query compiler (test_pg_query.c) must select
 * the same users for each filter. Included by those two test files only.
 */
#ifndef TESTS_UNIT_SCIM_FILTER_CASES_H
#define TESTS_UNIT_SCIM_FILTER_CASES_H

static const char *const seed_users[] = {
    "{\"userName\":\"Alice@Contoso.com\",\"externalId\":\"alice\",\"active\":true,"
    "\"displayName\":\"Alice A\",\"title\":\"Engineer\","
    "\"name\":{\"givenName\":\"Alice\",\"familyName\":\"Anders\"},"
    "\"emails\":[{\"type\":\"work\",\"value\":\"alice@contoso.com\",\"primary\":true},"
    "{\"type\":\"home\",\"value\":\"alice@home.example\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"1\","
    "\"department\":\"R&D\",\"manager\":{\"value\":\"boss\"}},"
    "\"urn:ietf:params:scim:schemas:extension:Acme:2.0:User\":{\"badge\":\"B-7\"}}",
    "{\"userName\":\"bob@contoso.com\",\"externalId\":\"bob\",\"active\":\"False\","
    "\"emails\":[{\"type\":\"work\",\"value\":\"BOB@contoso.com\"}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"2\"}}",
    "{\"userName\":\"carol@fabrikam.com\",\"externalId\":\"Carol\",\"title\":\"\","
    "\"roles\":[{\"value\":\"admin\",\"primary\":true}]}",
    "{\"userName\":\"dave@fabrikam.com\",\"externalId\":\"alice\"}",
};

/* expected: the users (by seed index) the filter selects, e.g. "0,2" */
static const struct {
    const char *filter;
    const char *expect;
} sql_cases[] = {
    {"userName eq \"alice@contoso.com\"", "0"},
    {"userName eq \"ALICE@CONTOSO.COM\"", "0"},
    {"userName eq \"6a1c1b8e-0000-4000-8000-000000000000\"", ""},
    {"externalId eq \"alice\"", "0,3"},
    {"externalId eq \"ALICE\"", ""}, /* externalId is caseExact */
    {"externalId eq \"carol\"", ""},
    {"emails[type eq \"work\"].value eq \"alice@contoso.com\"", "0"},
    {"emails[type eq \"work\"].value eq \"bob@contoso.com\"", "1"}, /* caseExact=false */
    {"emails[type eq \"home\"].value eq \"bob@contoso.com\"", ""},
    {"emails[type eq \"work\"]", "0,1"},
    {"emails[type eq \"work\" and value sw \"alice\"]", "0"},
    {"emails.value co \"contoso\"", "0,1"},
    {"emails co \"home.example\"", "0"},
    {"emails pr", "0,1"},
    {"title pr", "0"}, /* carol's title is "" */
    {"not (title pr)", "1,2,3"},
    {"name.givenName eq \"alice\"", "0"},
    {"name.givenName sw \"Al\"", "0"},
    {"name.familyName ew \"ERS\"", "0"},
    {"userName ew \"fabrikam.com\"", "2,3"},
    {"userName sw \"b\" or userName sw \"C\"", "1,2"},
    {"userName co \"@\" and not (userName co \"contoso\")", "2,3"},
    {"active eq true", "0,2,3"},
    {"active eq false", "1"},
    {"active eq \"False\"", "1"},
    {"active ne true", "1"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"2\"", "1"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"r&d\"", "0"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"boss\"", "0"},
    {"urn:ietf:params:scim:schemas:extension:Acme:2.0:User:badge eq \"B-7\"", "0"},
    {"roles[primary eq \"True\"].value eq \"admin\"", "2"},
    {"roles[primary eq true]", "2"},
    {"displayName eq null", "1,2,3"},
    {"displayName ne null", "0"},
    {"meta.created gt \"2000-01-01T00:00:00Z\"", "0,1,2,3"},
    {"meta.lastModified lt \"2000-01-01T00:00:00Z\"", ""},
    {"meta.resourceType eq \"User\"", "0,1,2,3"},
    {"userName gt \"c\"", "2,3"},
    {"userName le \"bob@contoso.com\"", "0,1"},
    {"nickName eq \"x\"", ""},
    {"manager eq \"boss\"", "0"},
    {"manager.value eq \"boss\"", "0"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq \"boss\"", "0"},
    {"unknownAttr eq \"x\"", ""},
    {"unknownAttr[type eq \"x\"]", ""},
    {"unknownAttr[type eq \"x\"].value eq \"y\"", ""},
    {"(userName eq \"bob@contoso.com\" or externalId eq \"Carol\") and active eq false", "1"},
    /* issue 9.11: unquoted values */
    {"userName sw A", "0"},
    {"userName sw b or userName sw C", "1,2"},
    {"title eq Engineer", "0"},
    {"active eq True", "0,2,3"},
    {"active eq FALSE", "1"},
    {"externalId eq alice", "0,3"},
    {"name.familyName eq Anders and (emails.value co contoso.com or emails.value co example.org)",
     "0"},
    {"emails[type eq work].value eq BOB@contoso.com", "1"},
    {"emails[type eq home]", "0"},
    {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 2", "1"},
    {"meta.created gt 2015-10-10T14:38:21.8617979-07:00", "0,1,2,3"},
    {"meta.created lt 2015-10-10T14:38:21.8617979-07:00", ""},
    {"meta.lastModified ge 2015-10-10T14:38:21.8617979-07:00 and userName sw c", "2"},
    {"userName eq \"a\" or userName eq \"b\" or userName eq \"carol@fabrikam.com\" or "
     "userName eq \"c\" and active eq true or not (userName co \"a\" or userName co \"o\")",
     "2"},
};

#endif
