/*
 * test_index.c - the in-memory decision index (issue 11) against the SQL it replaces: a seeded
 * random walk of SCIM writes (users created, renamed, deactivated, deleted; groups created,
 * renamed into and out of access-group keys, deleted; members added and removed; access groups
 * created and deleted) after each of which every userName and externalId ever used is looked up
 * both ways, and the answers (subject, cut-off, tombstone, access groups and their cut-offs)
 * must be equal. A second store handle on the same database plays a second replica: it learns
 * each write only from the change feed, and must answer the same once it reached the revision.
 */
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/index_int.h"
#include "store/store.h"
#include "tests/support/support.h"

#include <check.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct store *st, *replica;
static struct gh_test_store tgt;

static const char *ix_target(void)
{
    return tgt.target;
}

static void walk_reset(void);

static void setup_on(enum gh_test_backend b)
{
    walk_reset(); /* the walk's state is static: with CK_FORK=no (valgrind) tests share it */
    struct gh_err err = {0};
    struct store_open_opts o = {20, 0, 0};
    gh_log_set_level(GH_LOG_ERROR);
    gh_test_store_new(b, &tgt);
    ck_assert_msg(store_open_with(ix_target(), &o, &st, &err) == GH_OK, "%s", err.msg);
    ck_assert_msg(store_open_with(ix_target(), &o, &replica, &err) == GH_OK, "%s", err.msg);
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
    store_close(replica);
    store_close(st);
    st = replica = NULL;
    gh_test_store_drop(&tgt);
}

/* ---- writes ---- */
struct body_ctx {
    const char *json;
    enum store_kind kind;
    const char *const *add, *const *rm;
    size_t nadd, nrm;
    char *txt;
    cJSON *doc, *members;
};

static enum gh_status body_fn(void *ctx, const struct store_rec *cur, struct store_row *row,
                              struct store_members_change *mc, struct gh_err *err)
{
    struct body_ctx *b = ctx;
    (void)cur;
    if (b->json != NULL) {
        enum gh_status rc;
        b->doc = cJSON_Parse(b->json);
        rc = scim_resource_normalize(b->kind, b->doc, &b->members, &row->cols, err);
        if (rc)
            return rc;
        b->txt = cJSON_PrintUnformatted(b->doc);
        row->body = b->txt;
    }
    mc->add = b->add;
    mc->add_count = b->nadd;
    mc->remove = b->rm;
    mc->remove_count = b->nrm;
    return GH_OK;
}

static void body_done(struct body_ctx *b)
{
    free(b->txt);
    cJSON_Delete(b->members);
    cJSON_Delete(b->doc);
}

static bool create(enum store_kind kind, const char *json, char id[STORE_ID_LEN + 1])
{
    struct gh_err err = {0};
    struct store_row row = {0};
    struct store_rec rec = {0};
    cJSON *body = cJSON_Parse(json), *members = NULL;
    char *txt;
    enum gh_status rc;

    ck_assert_int_eq(scim_resource_normalize(kind, body, &members, &row.cols, &err), GH_OK);
    txt = cJSON_PrintUnformatted(body);
    row.body = txt;
    rc = store_create(st, kind, &row, NULL, &rec, &err);
    ck_assert_msg(rc == GH_OK || rc == GH_E_CONFLICT, "%s", err.msg);
    if (rc == GH_OK)
        memcpy(id, rec.id, STORE_ID_LEN + 1);
    store_rec_clear(&rec);
    free(txt);
    cJSON_Delete(members);
    cJSON_Delete(body);
    return rc == GH_OK;
}

static void update(enum store_kind kind, const char *id, struct body_ctx *b)
{
    struct gh_err err = {0};
    struct store_rec rec = {0};
    enum gh_status rc;
    b->kind = kind;
    rc = store_update(st, kind, id, body_fn, b, &rec, &err);
    ck_assert_msg(rc == GH_OK || rc == GH_E_CONFLICT || rc == GH_E_NOT_FOUND, "%s", err.msg);
    store_rec_clear(&rec);
    body_done(b);
}

/* ---- the two answers ---- */
struct answer {
    char text[2048];
};

static void put(struct answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct answer *a, const char *fmt, ...)
{
    size_t n = strlen(a->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text + n, sizeof(a->text) - n, fmt, ap);
    va_end(ap);
}

/* access rows arrive in no particular order: collect, sort, print */
struct rows {
    char r[64][160];
    int n;
};

static void row_cb(void *ctx, const char *key, const char *group_name, int64_t not_before)
{
    struct rows *rs = ctx;
    ck_assert_int_lt(rs->n, 64);
    snprintf(rs->r[rs->n++], sizeof(rs->r[0]), "%s|%s|%lld", key, group_name,
             (long long)not_before);
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void rows_put(struct answer *a, struct rows *rs)
{
    qsort(rs->r, (size_t)rs->n, sizeof(rs->r[0]), row_cmp);
    for (int i = 0; i < rs->n; i++)
        put(a, " [%s]", rs->r[i]);
}

static void sql_answer(enum store_user_key key, const char *value, struct answer *a)
{
    struct store_subject sub = {0};
    struct gh_err err = {0};
    struct rows rs = {0};
    enum gh_status rc = store_subject_find(st, key, value, &sub, &err);

    memset(a, 0, sizeof(*a));
    put(a, "rc=%d nb=%lld", rc, (long long)sub.not_before);
    if (rc == GH_OK) {
        put(a, " id=%s name=%s ext=%s active=%d matches=%d", sub.id, sub.user_name,
            sub.external_id ? sub.external_id : "-", sub.active, sub.matches);
        if (sub.matches == 1)
            ck_assert_int_eq(store_subject_access(st, sub.id, row_cb, &rs, &err), GH_OK);
    }
    rows_put(a, &rs);
    store_subject_clear(&sub);
}

struct ix_ctx {
    struct answer *a;
    struct rows rs;
};

static void sub_cb(void *ctx, const struct store_subject_view *v)
{
    struct ix_ctx *c = ctx;
    put(c->a, " id=%s name=%s ext=%s active=%d matches=%d", v->id, v->user_name,
        v->external_id ? v->external_id : "-", v->active, v->matches);
}

static void ix_row_cb(void *ctx, const char *key, const char *group_name, int64_t not_before)
{
    struct ix_ctx *c = ctx;
    row_cb(&c->rs, key, group_name, not_before);
}

static void index_answer(struct store_index *ix, enum store_user_key key, const char *value,
                         struct answer *a)
{
    struct ix_ctx c = {a, {{{0}}, 0}};
    struct gh_err err = {0};
    struct answer tail = {0};
    int64_t nb = 0, rev = 0;
    enum gh_status rc;

    memset(a, 0, sizeof(*a));
    c.a = &tail;
    rc = store_index_lookup(ix, key, value, sub_cb, ix_row_cb, &c, &nb, &rev, &err);
    put(a, "rc=%d nb=%lld%s", rc, (long long)nb, tail.text);
    rows_put(a, &c.rs);
}

/* ---- the walk ---- */
#define NU 24
#define NG 8

static char uid[NU][STORE_ID_LEN + 1], gid[NG][STORE_ID_LEN + 1];
static bool ulive[NU], glive[NG];
static char uname[NU][32];
static char names[NU * 4][32]; /* every userName ever used */
static int nnames;

static void walk_reset(void)
{
    memset(ulive, 0, sizeof(ulive));
    memset(glive, 0, sizeof(glive));
    nnames = 0;
}

static void remember(const char *n)
{
    for (int i = 0; i < nnames; i++)
        if (strcmp(names[i], n) == 0)
            return;
    if (nnames < NU * 4)
        snprintf(names[nnames++], sizeof(names[0]), "%s", n);
}

static void compare_all(struct store_index *s, int step)
{
    struct answer want, got;
    char ext[16];
    for (int i = 0; i < nnames; i++) {
        sql_answer(STORE_KEY_USER_NAME, names[i], &want);
        index_answer(s, STORE_KEY_USER_NAME, names[i], &got);
        ck_assert_msg(strcmp(want.text, got.text) == 0, "step %d userName %s:\nsql   %s\nindex %s",
                      step, names[i], want.text, got.text);
    }
    for (int e = 0; e < 6; e++) {
        snprintf(ext, sizeof(ext), "ext%d", e);
        sql_answer(STORE_KEY_EXTERNAL_ID, ext, &want);
        index_answer(s, STORE_KEY_EXTERNAL_ID, ext, &got);
        ck_assert_msg(strcmp(want.text, got.text) == 0,
                      "step %d externalId %s:\nsql   %s\nindex %s", step, ext, want.text, got.text);
    }
}

static void step_once(unsigned *seed)
{
    char json[256];
    int op = (int)(rand_r(seed) % 11), u = (int)(rand_r(seed) % NU), g = (int)(rand_r(seed) % NG);
    static const char *const gnames[] = {"Eng", "eng ", "Sales",   "HR",
                                         "Ops", " hr",  "Payroll", "Legal"};
    struct gh_err err = {0};

    switch (op) {
    case 0: /* create a user */
    case 1:
        if (ulive[u])
            break;
        snprintf(uname[u], sizeof(uname[u]), "%s%d@x.test", rand_r(seed) % 2 ? "User" : "user",
                 (int)(rand_r(seed) % (NU + 4)));
        snprintf(json, sizeof(json),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                 "\"userName\":\"%s\",\"externalId\":\"ext%d\",\"active\":%s}",
                 uname[u], (int)(rand_r(seed) % 6), rand_r(seed) % 4 ? "true" : "false");
        remember(uname[u]);
        ulive[u] = create(SCIM_USER, json, uid[u]);
        break;
    case 2: { /* change a user: activity, externalId, sometimes its userName */
        struct body_ctx b = {0};
        if (!ulive[u])
            break;
        if (rand_r(seed) % 3 == 0) {
            snprintf(uname[u], sizeof(uname[u]), "renamed%d@x.test", (int)(rand_r(seed) % NU));
            remember(uname[u]);
        }
        snprintf(json, sizeof(json),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                 "\"userName\":\"%s\",\"externalId\":\"ext%d\",\"active\":%s}",
                 uname[u], (int)(rand_r(seed) % 6), rand_r(seed) % 2 ? "true" : "false");
        b.json = json;
        update(SCIM_USER, uid[u], &b);
        break;
    }
    case 3: /* delete a user */
        if (!ulive[u])
            break;
        ck_assert_int_eq(store_delete(st, SCIM_USER, uid[u], -1, &err), GH_OK);
        ulive[u] = false;
        break;
    case 4: /* create a group */
        if (glive[g])
            break;
        snprintf(json, sizeof(json),
                 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                 "\"displayName\":\"%s\"}",
                 gnames[rand_r(seed) % NG]);
        glive[g] = create(SCIM_GROUP, json, gid[g]);
        break;
    case 5: /* rename a group */
        if (glive[g]) {
            struct body_ctx b = {0};
            snprintf(json, sizeof(json),
                     "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                     "\"displayName\":\"%s\"}",
                     gnames[rand_r(seed) % NG]);
            b.json = json;
            update(SCIM_GROUP, gid[g], &b);
        }
        break;
    case 6: /* delete a group */
        if (glive[g] && rand_r(seed) % 3 == 0) {
            ck_assert_int_eq(store_delete(st, SCIM_GROUP, gid[g], -1, &err), GH_OK);
            glive[g] = false;
        }
        break;
    case 7: /* add members */
    case 8:
    case 9:
        if (glive[g] && ulive[u]) {
            const char *ids[1] = {uid[u]};
            struct body_ctx b = {0};
            if (op == 9) {
                b.rm = ids;
                b.nrm = 1;
            } else {
                b.add = ids;
                b.nadd = 1;
            }
            update(SCIM_GROUP, gid[g], &b);
        }
        break;
    case 10: { /* an access group created or deleted */
        char key[32];
        struct store_access_group_def def = {key, gnames[g], "[]"};
        snprintf(key, sizeof(key), "%s", gnames[g]);
        store_name_key(gnames[g], key, sizeof(key));
        if (store_access_group_create(st, &def, &err) == GH_E_CONFLICT)
            ck_assert_int_eq(store_access_group_delete(st, key, &err), GH_OK);
        break;
    }
    default:
        break;
    }
}

START_TEST(index_answers_as_the_sql)
{
    unsigned seed = 11;
    for (int i = 0; i < 500; i++) {
        step_once(&seed);
        compare_all(st->index, i);
        /* the replica learns each write from the feed only */
        ck_assert(store_revision_wait(replica, store_revision(st), 2000));
        compare_all(replica->index, i);
    }
}
END_TEST

/* An index that fell behind the pruned log reloads and answers the same. It is an index of the
 * test's own, synced by hand: a replica's poller would follow (PostgreSQL's NOTIFY wakes it). */
START_TEST(index_reloads_after_prune)
{
    unsigned seed = 5;
    struct gh_err err = {0};
    struct store_index_counts c, want;
    struct store_index *late = store_index_new();
    bool access = false;

    for (int i = 0; i < 60; i++)
        step_once(&seed);
    ck_assert_int_eq(store_index_sync(late, st, &access, &err), GH_OK);
    compare_all(late, -2);
    for (int i = 0; i < 120; i++)
        step_once(&seed);
    ck_assert_int_lt(store_index_revision(late), store_revision(st));
    ck_assert_int_eq(st->ops->prune(st, 1, &err), GH_OK);
    ck_assert_int_eq(store_index_sync(late, st, &access, &err), GH_OK);
    ck_assert(access); /* a reload: the policy snapshot must be rebuilt too */
    ck_assert_int_eq(store_index_revision(late), store_revision(st));
    compare_all(late, -1);
    store_index_counts(late, &c);
    store_index_counts(st->index, &want);
    ck_assert_uint_eq(c.users, want.users);
    ck_assert_uint_eq(c.memberships, want.memberships);
    ck_assert_uint_eq(c.cutoffs, want.cutoffs);
    ck_assert_uint_gt(c.users + c.groups, 0);
    store_index_free(late);
}
END_TEST

/* ---- what a replica must not miss ---- */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A handle whose poller sleeps (a minute between polls; on SQLite nothing wakes it sooner), so
 * that only the calls a test makes read the feed. */
static struct store *open_sleepy(void)
{
    struct store_open_opts o = {60000, 0, 0};
    struct store *s = NULL;
    struct gh_err err = {0};
    ck_assert_msg(store_open_with(ix_target(), &o, &s, &err) == GH_OK, "%s", err.msg);
    return s;
}

static void count_hook(void *ctx)
{
    atomic_fetch_add((atomic_int *)ctx, 1);
}

/* Wait up to ms for *n to reach want. */
static bool hook_reaches(atomic_int *n, int want, int ms)
{
    int64_t until = mono_ms() + ms;
    while (atomic_load(n) < want && mono_ms() < until)
        usleep(10000);
    return atomic_load(n) >= want;
}

/* An access group created or deleted through another replica must reach the policy engine's
 * hook however the change was read: by the poller, by a min_revision wait on a request thread,
 * or by this replica's own SCIM write replaying the feed after its commit. (Those two read the
 * 'A'/'a' rows and dropped the flag, so the poller found nothing and the policy snapshot kept a
 * deleted access group, and its grants, until another access change.) */
START_TEST(access_change_read_by_a_request_reaches_the_hook)
{
    struct store *late = open_sleepy();
    struct store_access_group_def def = {"payroll", "Payroll", "[]"};
    struct gh_err err = {0};
    struct store_rec rec = {0};
    struct store_row row = {.body = "{\"userName\":\"w@x.test\"}", .cols = {.name = "w@x.test"}};
    atomic_int calls = 0;

    store_on_access_change(late, count_hook, &calls);
    /* read by a min_revision wait */
    ck_assert_int_eq(store_access_group_create(st, &def, &err), GH_OK);
    ck_assert(store_revision_wait(late, store_revision(st), 2000));
    ck_assert_msg(hook_reaches(&calls, 1, 2000), "the access group created was not announced");
    /* read by this replica's own write */
    ck_assert_int_eq(store_access_group_delete(st, "payroll", &err), GH_OK);
    ck_assert_int_eq(store_create(late, SCIM_USER, &row, NULL, &rec, &err), GH_OK);
    store_rec_clear(&rec);
    ck_assert_int_ge(store_revision(late), store_revision(st));
    ck_assert_msg(hook_reaches(&calls, 2, 2000), "the access group deleted was not announced");
    store_on_access_change(late, NULL, NULL);
    store_close(late);
}
END_TEST

/* Run sql on t's database with a connection of the test's own (a write, a DDL). */
static void raw_exec(const char *sql)
{
    if (tgt.backend == GH_TEST_SQLITE) {
        sqlite3 *db = NULL;
        char *msg = NULL;
        ck_assert_int_eq(sqlite3_open(tgt.target, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql, msg);
        sqlite3_close(db);
    } else {
        PGconn *pg = PQconnectdb(tgt.target);
        PGresult *res = PQexec(pg, sql);
        ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(pg));
        PQclear(res);
        PQfinish(pg);
    }
}

/* After each commit (the listener runs before store.c replays the write into the index), make
 * the change feed unreadable, as a server lost right after COMMIT would. */
static void break_feed(void *ctx, const struct store_event *ev)
{
    (void)ctx;
    (void)ev;
    raw_exec(tgt.backend == GH_TEST_SQLITE ? "DELETE FROM gh_meta WHERE key = 'changes_pruned'"
                                           : "ALTER TABLE changes RENAME TO changes_off");
}

static void mend_feed(void)
{
    raw_exec(tgt.backend == GH_TEST_SQLITE
                 ? "INSERT INTO gh_meta(key, value) VALUES ('changes_pruned', '0')"
                 : "ALTER TABLE changes_off RENAME TO changes");
}

/* A write this replica acknowledged but could not read back into its index (the store lost
 * between its COMMIT and the replay) must not leave decisions here answering from an index
 * that looks current: a user deactivated over SCIM kept every access on the replica that
 * answered 200, until GATEHOUSE_MAX_STALENESS. Either the index has the write, or its age says
 * it is behind (beyond any GATEHOUSE_MAX_STALENESS) until a read of the feed succeeds. */
#define LEAVER                                                                                     \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"                               \
    "\"userName\":\"leaver@x.test\",\"active\":%s}"
START_TEST(write_not_read_back_is_not_current)
{
    struct store *w = open_sleepy();
    struct gh_err err = {0};
    struct store_rec rec = {0};
    struct body_ctx b = {0};
    struct answer a;
    bool access = false;
    char id[STORE_ID_LEN + 1];
    char json[256];

    snprintf(json, sizeof(json), LEAVER, "true");
    ck_assert(create(SCIM_USER, json, id));
    ck_assert(store_revision_wait(w, store_revision(st), 2000));
    index_answer(w->index, STORE_KEY_USER_NAME, "leaver@x.test", &a);
    ck_assert_msg(strstr(a.text, "active=1") != NULL, "%s", a.text);

    store_listen(w, break_feed, NULL);
    snprintf(json, sizeof(json), LEAVER, "false");
    b.json = json;
    b.kind = SCIM_USER;
    ck_assert_int_eq(store_update(w, SCIM_USER, id, body_fn, &b, &rec, &err), GH_OK);
    store_rec_clear(&rec);
    body_done(&b);
    store_listen(w, NULL, NULL);
    index_answer(w->index, STORE_KEY_USER_NAME, "leaver@x.test", &a);
    ck_assert_msg(strstr(a.text, "active=0") != NULL || store_index_age(w) > 86400 * 1000LL,
                  "the write is acknowledged, the index answers %s and is %lld ms old", a.text,
                  (long long)store_index_age(w));

    /* the feed readable again: one sync and the index is current, with the write */
    mend_feed();
    ck_assert_msg(store_index_sync(w->index, w, &access, &err) == GH_OK, "%s", err.msg);
    ck_assert_int_lt(store_index_age(w), 5000);
    index_answer(w->index, STORE_KEY_USER_NAME, "leaver@x.test", &a);
    ck_assert_msg(strstr(a.text, "active=0") != NULL, "%s", a.text);
    store_close(w);
}
END_TEST

static void index_matrix(TCase *tc)
{
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, index_answers_as_the_sql);
    tcase_add_test(tc, index_reloads_after_prune);
    tcase_add_test(tc, access_change_read_by_a_request_reaches_the_hook);
    tcase_add_test(tc, write_not_read_back_is_not_current);
}

Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("sqlite");
    tcase_add_checked_fixture(tc, setup_sqlite, teardown);
    index_matrix(tc);
    suite_add_tcase(s, tc);
    return s;
}

Suite *index_pg_suite(void)
{
    Suite *s = suite_create("index_pg");
    TCase *tc;
    if (gh_test_pg_url() == NULL) {
        fprintf(stderr, "index_pg: skipped: GATEHOUSE_TEST_PG is not set (make unit-pg sets it)\n");
        return s;
    }
    tc = tcase_create("postgresql");
    tcase_add_checked_fixture(tc, setup_pg, teardown);
    index_matrix(tc);
    suite_add_tcase(s, tc);
    return s;
}
