/*
 * test_access.c - the store side of issue 5: access groups, the links the triggers keep
 * (pinning, ambiguity, renames, deletes), membership and deactivation cut-offs, tombstones of
 * deleted users, and the generation counter caches rely on. On both backends: suite "access"
 * (SQLite) and "access_pg" (PostgreSQL, when GATEHOUSE_TEST_PG names a server).
 */
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/store.h"
#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct store *st;
static struct gh_test_store tgt;

static void setup_on(enum gh_test_backend b)
{
    struct gh_err err = {0};
    gh_log_set_level(GH_LOG_WARN);
    gh_test_store_new(b, &tgt);
    ck_assert_msg(store_open(tgt.target, &st, &err) == GH_OK, "%s", err.msg);
}

static void setup_sqlite(void)
{
    setup_on(GH_TEST_SQLITE);
}

static void setup_pg(void)
{
    setup_on(GH_TEST_PG);
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
    gh_test_store_drop(&tgt);
}

/* Create a resource from SCIM JSON; returns its id in a static ring. */
static const char *mk(enum store_kind kind, const char *json)
{
    static char ids[16][STORE_ID_LEN + 1];
    static int next;
    struct gh_err err = {0};
    struct store_row row = {0};
    struct store_rec rec = {0};
    cJSON *body = cJSON_Parse(json), *members = NULL;
    char *txt;
    char *id = ids[next++ % 16];

    ck_assert_int_eq(scim_resource_normalize(kind, body, &members, &row.cols, &err), GH_OK);
    txt = cJSON_PrintUnformatted(body);
    row.body = txt;
    ck_assert_msg(store_create(st, kind, &row, NULL, &rec, &err) == GH_OK, "%s", err.msg);
    memcpy(id, rec.id, STORE_ID_LEN + 1);
    store_rec_clear(&rec);
    free(txt);
    cJSON_Delete(members);
    cJSON_Delete(body);
    return id;
}

struct upd {
    const char *json; /* new body, or NULL */
    const char *const *add, *const *rm;
    size_t nadd, nrm;
    enum store_kind kind;
    char *txt;
    cJSON *body;
};

static enum gh_status upd_fn(void *ctx, const struct store_rec *cur, struct store_row *row,
                             struct store_members_change *mc, struct gh_err *err)
{
    struct upd *u = ctx;
    cJSON *members = NULL;
    (void)cur;
    if (u->json != NULL) {
        u->body = cJSON_Parse(u->json);
        if (scim_resource_normalize(u->kind, u->body, &members, &row->cols, err) != GH_OK)
            return GH_E_INVALID;
        cJSON_Delete(members);
        u->txt = cJSON_PrintUnformatted(u->body);
        row->body = u->txt;
    }
    mc->add = u->add;
    mc->add_count = u->nadd;
    mc->remove = u->rm;
    mc->remove_count = u->nrm;
    return GH_OK;
}

static void update(enum store_kind kind, const char *id, struct upd u)
{
    struct store_rec rec = {0};
    struct gh_err err = {0};
    u.kind = kind;
    ck_assert_msg(store_update(st, kind, id, upd_fn, &u, &rec, &err) == GH_OK, "%s", err.msg);
    store_rec_clear(&rec);
    free(u.txt);
    cJSON_Delete(u.body);
}

static void add_member(const char *gid, const char *uid)
{
    const char *ids[] = {uid};
    update(SCIM_GROUP, gid, (struct upd){.add = ids, .nadd = 1});
}

static void remove_member(const char *gid, const char *uid)
{
    const char *ids[] = {uid};
    update(SCIM_GROUP, gid, (struct upd){.rm = ids, .nrm = 1});
}

static void ag_create(const char *key, const char *name, enum gh_status want)
{
    struct store_access_group_def d = {key, name, "[]"};
    struct gh_err err = {0};
    ck_assert_int_eq(store_access_group_create(st, &d, &err), want);
}

struct agrow {
    char key[64], group_id[40], group_name[64], source[8], name[64], grants[128];
};
struct aglist {
    struct agrow rows[16];
    int n;
};

static void ag_cb(void *ctx, const struct store_access_group *ag)
{
    struct aglist *l = ctx;
    struct agrow *r = &l->rows[l->n++];
    snprintf(r->key, sizeof(r->key), "%s", ag->key);
    snprintf(r->source, sizeof(r->source), "%s", ag->source);
    snprintf(r->name, sizeof(r->name), "%s", ag->name);
    snprintf(r->grants, sizeof(r->grants), "%s", ag->grants);
    snprintf(r->group_id, sizeof(r->group_id), "%s", ag->group_id ? ag->group_id : "");
    snprintf(r->group_name, sizeof(r->group_name), "%s", ag->group_name ? ag->group_name : "");
}

static struct agrow *ag_get(struct aglist *l, const char *key)
{
    struct gh_err err = {0};
    memset(l, 0, sizeof(*l));
    ck_assert_int_eq(store_access_groups(st, ag_cb, l, &err), GH_OK);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->rows[i].key, key) == 0)
            return &l->rows[i];
    return NULL;
}

struct access {
    char keys[8][64];
    int64_t nbf[8];
    int n;
};

static void access_cb(void *ctx, const char *key, const char *group_name, int64_t nbf)
{
    struct access *a = ctx;
    (void)group_name;
    snprintf(a->keys[a->n], sizeof(a->keys[0]), "%s", key);
    a->nbf[a->n++] = nbf;
}

static struct access access_of(const char *uid)
{
    struct access a = {0};
    struct gh_err err = {0};
    ck_assert_int_eq(store_subject_access(st, uid, access_cb, &a, &err), GH_OK);
    return a;
}

#define USER(n, ext)                                                                               \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"" n "\","        \
    "\"externalId\":\"" ext "\",\"active\":true}"
#define GROUP(n)                                                                                   \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"" n "\"}"

START_TEST(links_follow_names_and_pin)
{
    struct aglist l;
    const char *u = mk(SCIM_USER, USER("alice@contoso.com", "alice"));
    const char *g1 = mk(SCIM_GROUP, GROUP("Payroll Analysts"));
    add_member(g1, u);
    ck_assert_int_eq(access_of(u).n, 0);

    /* access group created -> linked at once to the existing IdP group of that name */
    ag_create("payroll analysts", "Payroll Analysts", GH_OK);
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, g1);
    ck_assert_int_eq(access_of(u).n, 1);
    ck_assert_str_eq(access_of(u).keys[0], "payroll analysts");
    ag_create("payroll analysts", "PAYROLL ANALYSTS", GH_E_CONFLICT);

    /* rename keeps the link (pinned by id) and shows the new name */
    update(SCIM_GROUP, g1, (struct upd){.json = GROUP("Payroll Team")});
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, g1);
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_name, "Payroll Team");
    /* a new group under the old name does not take the link over */
    const char *g2 = mk(SCIM_GROUP, GROUP("payroll analysts"));
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, g1);

    /* deleting the linked group: its members lose the access group, and the group created
     * later under the old name still does not take the link over */
    struct gh_err err = {0};
    ck_assert_int_eq(store_delete(st, SCIM_GROUP, g1, -1, &err), GH_OK);
    ck_assert_int_eq(access_of(u).n, 0);
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, "");
    /* the free link is taken by a group renamed into the name while it is the only one */
    ck_assert_int_eq(store_delete(st, SCIM_GROUP, g2, -1, &err), GH_OK);
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, "");
    const char *g3 = mk(SCIM_GROUP, GROUP("Other"));
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, "");
    update(SCIM_GROUP, g3, (struct upd){.json = GROUP(" payroll ANALYSTS")});
    ck_assert_str_eq(ag_get(&l, "payroll analysts")->group_id, g3);
}
END_TEST

START_TEST(ambiguous_groups_are_not_linked)
{
    struct aglist l;
    struct gh_err err = {0};
    const char *ops1 = mk(SCIM_GROUP, GROUP("Ops"));
    const char *ops2 = mk(SCIM_GROUP, GROUP("ops "));
    ag_create("ops", "Ops", GH_OK);
    ck_assert_str_eq(ag_get(&l, "ops")->group_id, "");
    /* the ambiguity ends when one of the two goes: the one left is linked */
    ck_assert_int_eq(store_delete(st, SCIM_GROUP, ops2, -1, &err), GH_OK);
    ck_assert_str_eq(ag_get(&l, "ops")->group_id, ops1);
    /* ... or is renamed away */
    const char *dev1 = mk(SCIM_GROUP, GROUP("Dev"));
    mk(SCIM_GROUP, GROUP(" dev"));
    ag_create("dev", "Dev", GH_OK);
    ck_assert_str_eq(ag_get(&l, "dev")->group_id, "");
    update(SCIM_GROUP, dev1, (struct upd){.json = GROUP("Developers")});
    ck_assert_str_ne(ag_get(&l, "dev")->group_id, "");
    ck_assert_str_ne(ag_get(&l, "dev")->group_id, dev1);
    /* an IdP group whose name differs by inner whitespace is not linked */
    mk(SCIM_GROUP, GROUP("H R"));
    ag_create("hr", "HR", GH_OK);
    ck_assert_str_eq(ag_get(&l, "hr")->group_id, "");
    const char *hr = mk(SCIM_GROUP, GROUP("HR"));
    ck_assert_str_eq(ag_get(&l, "hr")->group_id, hr);
}
END_TEST

START_TEST(cutoffs_and_tombstones)
{
    struct gh_err err = {0};
    struct store_subject sub;
    int64_t now = (int64_t)time(NULL);
    const char *u = mk(SCIM_USER, USER("bob@contoso.com", "bob"));
    const char *g = mk(SCIM_GROUP, GROUP("Readers"));
    ag_create("readers", "Readers", GH_OK);
    add_member(g, u);
    ck_assert_int_eq(access_of(u).nbf[0], 0);

    /* removal then restore: the membership carries the removal's cut-off */
    remove_member(g, u);
    ck_assert_int_eq(access_of(u).n, 0);
    add_member(g, u);
    struct access a = access_of(u);
    ck_assert_int_eq(a.n, 1);
    ck_assert_int_ge(a.nbf[0], now + 1);
    ck_assert_int_le(a.nbf[0], now + 3);
    /* re-adding an existing member or removing a non-member records nothing new */
    const char *other = mk(SCIM_USER, USER("carol@contoso.com", "carol"));
    remove_member(g, other);
    ck_assert_int_eq(access_of(other).n, 0);

    /* subject lookups */
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_USER_NAME, "BOB@contoso.com", &sub, &err),
                     GH_OK);
    ck_assert_str_eq(sub.id, u);
    ck_assert(sub.active);
    ck_assert_int_eq(sub.not_before, 0);
    ck_assert_str_eq(sub.external_id, "bob");
    store_subject_clear(&sub);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_EXTERNAL_ID, "bob", &sub, &err), GH_OK);
    ck_assert_int_eq(sub.matches, 1);
    store_subject_clear(&sub);

    /* deactivation: cut-off for the whole user, kept after reactivation */
    update(SCIM_USER, u,
           (struct upd){.json = "{\"userName\":\"bob@contoso.com\",\"externalId\":\"bob\","
                                "\"active\":false}"});
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_USER_NAME, "bob@contoso.com", &sub, &err),
                     GH_OK);
    ck_assert(!sub.active);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);
    update(SCIM_USER, u, (struct upd){.json = USER("bob@contoso.com", "bob")});
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_USER_NAME, "bob@contoso.com", &sub, &err),
                     GH_OK);
    ck_assert(sub.active);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);
    ck_assert_int_eq(access_of(u).n, 1); /* memberships kept while inactive */

    /* a userName given up leaves a tombstone: a new holder does not inherit older tokens */
    const char *carol2 = mk(SCIM_USER, USER("carol2@contoso.com", "carol2"));
    update(SCIM_USER, carol2,
           (struct upd){.json = "{\"userName\":\"carol3@contoso.com\",\"externalId\":\"c3\"}"});
    const char *taker = mk(SCIM_USER, USER("carol2@contoso.com", "carol2"));
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_USER_NAME, "carol2@contoso.com", &sub, &err),
                     GH_OK);
    ck_assert_str_eq(sub.id, taker);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_EXTERNAL_ID, "carol2", &sub, &err), GH_OK);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);

    /* deletion: gone, and a re-created user inherits the tombstone */
    ck_assert_int_eq(store_delete(st, SCIM_USER, u, -1, &err), GH_OK);
    gh_err_clear(&err);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_USER_NAME, "bob@contoso.com", &sub, &err),
                     GH_E_NOT_FOUND);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);
    const char *u2 = mk(SCIM_USER, USER("Bob@Contoso.com", "bob"));
    gh_err_clear(&err);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_EXTERNAL_ID, "bob", &sub, &err), GH_OK);
    ck_assert_str_eq(sub.id, u2);
    ck_assert_int_ge(sub.not_before, now + 1);
    store_subject_clear(&sub);
}
END_TEST

START_TEST(external_id_not_unique)
{
    struct gh_err err = {0};
    struct store_subject sub;
    mk(SCIM_USER, USER("a@x", "same"));
    mk(SCIM_USER, USER("b@x", "same"));
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_EXTERNAL_ID, "same", &sub, &err), GH_OK);
    ck_assert_int_eq(sub.matches, 2);
    store_subject_clear(&sub);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_EXTERNAL_ID, "none", &sub, &err),
                     GH_E_NOT_FOUND);
    ck_assert_int_eq(sub.not_before, 0);
    store_subject_clear(&sub);
}
END_TEST

struct by_id_seen {
    char id[STORE_ID_LEN + 1];
    char user_name[64];
    int matches;
};

static void by_id_subject(void *ctx, const struct store_subject_view *v)
{
    struct by_id_seen *s = ctx;
    snprintf(s->id, sizeof(s->id), "%s", v->id);
    snprintf(s->user_name, sizeof(s->user_name), "%s", v->user_name);
    s->matches = v->matches;
}

/* AuthZEN names a subject by its SCIM id: the decision index finds it (exactly, never by name);
 * the SQL look-ups refuse that key rather than read it as a userName. */
START_TEST(subject_lookup_by_scim_id)
{
    struct gh_err err = {0};
    struct by_id_seen seen = {0};
    struct store_subject sub = {0};
    struct store_rec rec = {0};
    int64_t nb = 0, rev = 0;
    const char *u = mk(SCIM_USER, USER("carol@x", "carol-ext"));
    char upper[STORE_ID_LEN + 1];

    ck_assert_int_eq(
        store_subject_lookup(st, STORE_KEY_ID, u, by_id_subject, NULL, &seen, &nb, &rev, &err),
        GH_OK);
    ck_assert_str_eq(seen.id, u);
    ck_assert_str_eq(seen.user_name, "carol@x");
    ck_assert_int_eq(seen.matches, 1);
    ck_assert_int_eq(store_subject_lookup(st, STORE_KEY_ID, "carol@x", by_id_subject, NULL, &seen,
                                          &nb, &rev, &err),
                     GH_E_NOT_FOUND);
    snprintf(upper, sizeof(upper), "%s", u);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    if (strcmp(upper, u) != 0)
        ck_assert_int_eq(store_subject_lookup(st, STORE_KEY_ID, upper, by_id_subject, NULL, &seen,
                                              &nb, &rev, &err),
                         GH_E_NOT_FOUND);
    ck_assert_int_eq(store_subject_find(st, STORE_KEY_ID, u, &sub, &err), GH_E_INVALID);
    store_subject_clear(&sub);
    ck_assert_int_eq(store_user_find(st, STORE_KEY_ID, u, &rec, &err), GH_E_INVALID);
    store_rec_clear(&rec);
}
END_TEST

START_TEST(file_sync_keeps_links)
{
    struct aglist l;
    struct gh_err err = {0};
    uint64_t gen = store_generation(st);
    const char *g = mk(SCIM_GROUP, GROUP("Payroll"));
    ck_assert_uint_gt(store_generation(st), gen);
    struct store_access_group_def defs[] = {{"payroll", "Payroll", "[]"}, {"hr", "HR", "[]"}};
    ag_create("adm", "Adm", GH_OK);
    ck_assert_int_eq(store_access_groups_sync(st, defs, 2, &err), GH_OK);
    ck_assert_str_eq(ag_get(&l, "payroll")->group_id, g);
    ck_assert_str_eq(ag_get(&l, "payroll")->source, "file");
    /* the same file again: the link stays */
    ck_assert_int_eq(store_access_groups_sync(st, defs, 2, &err), GH_OK);
    ck_assert_str_eq(ag_get(&l, "payroll")->group_id, g);
    /* dropped from the file: removed; admin groups untouched */
    ck_assert_int_eq(store_access_groups_sync(st, defs + 1, 1, &err), GH_OK);
    ck_assert_ptr_null(ag_get(&l, "payroll"));
    ck_assert_str_eq(ag_get(&l, "adm")->source, "admin");
    ck_assert_int_eq(l.n, 2);
    /* admin delete rules */
    ck_assert_int_eq(store_access_group_delete(st, "hr", &err), GH_E_CONFLICT);
    gh_err_clear(&err);
    ck_assert_int_eq(store_access_group_delete(st, "adm", &err), GH_OK);
    ck_assert_int_eq(store_access_group_delete(st, "adm", &err), GH_E_NOT_FOUND);
}
END_TEST

/* The admin API's PUT: name and grants replaced under the same key; the link stays; a
 * file-declared group or an unknown key is refused. */
START_TEST(admin_update_keeps_link)
{
    struct aglist l;
    struct gh_err err = {0};
    const char *g = mk(SCIM_GROUP, GROUP("Payroll"));
    struct store_access_group_def file[] = {{"hr", "HR", "[]"}};
    struct store_access_group_def upd = {"payroll", "PAYROLL",
                                         "[{\"dataset\":\"d\",\"actions\":[\"protect\"]}]"};
    uint64_t gen;
    int64_t rev;

    ag_create("payroll", "Payroll", GH_OK);
    ck_assert_int_eq(store_access_groups_sync(st, file, 1, &err), GH_OK);
    ck_assert_str_eq(ag_get(&l, "payroll")->group_id, g);
    gen = store_generation(st);
    rev = store_revision(st);
    ck_assert_msg(store_access_group_update(st, &upd, &err) == GH_OK, "%s", err.msg);
    ck_assert_uint_gt(store_generation(st), gen);
    ck_assert_int_gt(store_revision(st), rev); /* in the change feed: replicas rebuild */
    ck_assert_str_eq(ag_get(&l, "payroll")->name, "PAYROLL");
    ck_assert_str_eq(ag_get(&l, "payroll")->grants, upd.grants);
    ck_assert_str_eq(ag_get(&l, "payroll")->source, "admin");
    ck_assert_str_eq(ag_get(&l, "payroll")->group_id, g);
    /* refused: file-declared, unknown */
    upd.key = "hr";
    ck_assert_int_eq(store_access_group_update(st, &upd, &err), GH_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(err.msg, "policy file"));
    gh_err_clear(&err);
    ck_assert_str_eq(ag_get(&l, "hr")->name, "HR");
    upd.key = "nobody";
    ck_assert_int_eq(store_access_group_update(st, &upd, &err), GH_E_NOT_FOUND);
    ck_assert_int_eq(l.n, 2);
}
END_TEST

static void access_matrix(TCase *tc)
{
    tcase_add_test(tc, links_follow_names_and_pin);
    tcase_add_test(tc, ambiguous_groups_are_not_linked);
    tcase_add_test(tc, cutoffs_and_tombstones);
    tcase_add_test(tc, external_id_not_unique);
    tcase_add_test(tc, subject_lookup_by_scim_id);
    tcase_add_test(tc, file_sync_keeps_links);
    tcase_add_test(tc, admin_update_keeps_link);
}

Suite *access_suite(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup_sqlite, teardown);
    access_matrix(tc);
    suite_add_tcase(s, tc);
    return s;
}

Suite *access_pg_suite(void)
{
    Suite *s = suite_create("access_pg");
    TCase *tc;
    if (gh_test_pg_url() == NULL) {
        fprintf(stderr,
                "access_pg: skipped: GATEHOUSE_TEST_PG is not set (make unit-pg sets it)\n");
        return s;
    }
    tc = tcase_create("postgresql");
    tcase_add_checked_fixture(tc, setup_pg, teardown);
    tcase_set_timeout(tc, 30);
    access_matrix(tc);
    suite_add_tcase(s, tc);
    return s;
}
