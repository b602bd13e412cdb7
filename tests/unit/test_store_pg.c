/*
 * test_store_pg.c - what only the PostgreSQL backend has to prove (suite "store_pg_only", when
 * GATEHOUSE_TEST_PG names a server): the change feed appends the same rows in the same order as
 * SQLite's for the same operations; two store handles on one database (two replicas) writing at
 * once never break userName uniqueness or links; a load streams a table larger than one fetch;
 * a stopped server makes calls fail with GH_E_UNAVAILABLE within seconds, and the same handle
 * works again once the server is back (when GATEHOUSE_TEST_PG_DIR names the cluster to stop);
 * connections the server drops are remade; a COMMIT whose outcome is unknown is not a success;
 * a malformed URL is a configuration error.
 */
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/store_int.h"
#include "tests/support/support.h"

#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- writing through the store API ---- */

/* Create a resource from SCIM JSON; its id into id (when want is GH_OK). */
static void mkres(struct store *s, enum store_kind kind, const char *json, char *id,
                  enum gh_status want)
{
    struct gh_err err = {0};
    struct store_row row = {0};
    struct store_rec rec = {0};
    cJSON *body = cJSON_Parse(json), *members = NULL;
    char *txt;

    ck_assert_int_eq(scim_resource_normalize(kind, body, &members, &row.cols, &err), GH_OK);
    txt = cJSON_PrintUnformatted(body);
    row.body = txt;
    ck_assert_msg(store_create(s, kind, &row, NULL, &rec, &err) == want, "%s: %s", json, err.msg);
    if (want == GH_OK)
        memcpy(id, rec.id, STORE_ID_LEN + 1);
    store_rec_clear(&rec);
    free(txt);
    cJSON_Delete(members);
    cJSON_Delete(body);
}

struct upd {
    const char *json; /* new body, or NULL */
    const char *const *add, *const *rm;
    size_t nadd, nrm;
    bool replace;
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
    mc->replace = u->replace;
    mc->add = u->add;
    mc->add_count = u->nadd;
    mc->remove = u->rm;
    mc->remove_count = u->nrm;
    return GH_OK;
}

static void update(struct store *s, enum store_kind kind, const char *id, struct upd u)
{
    struct store_rec rec = {0};
    struct gh_err err = {0};
    u.kind = kind;
    ck_assert_msg(store_update(s, kind, id, upd_fn, &u, &rec, &err) == GH_OK, "%s", err.msg);
    store_rec_clear(&rec);
    free(u.txt);
    cJSON_Delete(u.body);
}

static void del(struct store *s, enum store_kind kind, const char *id)
{
    struct gh_err err = {0};
    ck_assert_msg(store_delete(s, kind, id, -1, &err) == GH_OK, "%s", err.msg);
}

static void ag(struct store *s, const char *key, const char *name)
{
    struct store_access_group_def d = {key, name, "[]"};
    struct gh_err err = {0};
    ck_assert_msg(store_access_group_create(s, &d, &err) == GH_OK, "%s", err.msg);
}

#define USER(n, ext)                                                                               \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"" n "\","        \
    "\"externalId\":\"" ext "\",\"active\":true}"
#define GROUP(n)                                                                                   \
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"" n "\"}"

/* A bit of everything the triggers see: links (pinned, ambiguous, passed on), cut-offs,
 * tombstones, replaces, retries, a file sync, admin access groups, deletes with members. */
static void feed_script(struct store *s)
{
    char u1[40], u2[40], u3[40], g1[40], g2[40], g3[40], g4[40], d1[40], d2[40], x[40];
    struct store_access_group_def defs[] = {{"writers", "Writers", "[]"}, {"ops", "Ops", "[]"}};
    struct gh_err err = {0};

    mkres(s, SCIM_USER, USER("alice@x", "a"), u1, GH_OK);
    mkres(s, SCIM_USER, USER("bob@x", "b"), u2, GH_OK);
    mkres(s, SCIM_USER, USER("carol@x", "c"), u3, GH_OK);
    mkres(s, SCIM_USER, USER("ALICE@x", "z"), x, GH_E_CONFLICT);
    mkres(s, SCIM_GROUP, GROUP("Readers"), g1, GH_OK);
    mkres(s, SCIM_GROUP, GROUP("Writers"), g2, GH_OK);
    mkres(s, SCIM_GROUP, GROUP("readers"), x, GH_E_CONFLICT);
    ag(s, "readers", "Readers");
    ck_assert_int_eq(store_access_groups_sync(s, defs, 2, &err), GH_OK);
    update(s, SCIM_GROUP, g1, (struct upd){.add = (const char *[]){u1, u2}, .nadd = 2});
    update(s, SCIM_GROUP, g1, (struct upd){.add = (const char *[]){u1, u2}, .nadd = 2});
    update(s, SCIM_GROUP, g2, (struct upd){.add = (const char *[]){u1, g1, u3}, .nadd = 3});
    update(s, SCIM_GROUP, g1, (struct upd){.rm = (const char *[]){u2}, .nrm = 1});
    update(s, SCIM_GROUP, g1,
           (struct upd){.add = (const char *[]){u3}, .nadd = 1, .replace = true});
    /* pinned: a rename keeps the link, a new group under the old name does not take it */
    update(s, SCIM_GROUP, g1, (struct upd){.json = GROUP("Readers Old")});
    mkres(s, SCIM_GROUP, GROUP(" READERS"), g3, GH_OK);
    /* ambiguity, ended by a delete and by a rename */
    mkres(s, SCIM_GROUP, GROUP("Dev"), d1, GH_OK);
    mkres(s, SCIM_GROUP, GROUP(" dev"), d2, GH_OK);
    ag(s, "dev", "Dev");
    del(s, SCIM_GROUP, d2);
    mkres(s, SCIM_GROUP, GROUP("QA"), g4, GH_OK);
    mkres(s, SCIM_GROUP, GROUP("qa "), x, GH_OK);
    ag(s, "qa", "QA");
    update(s, SCIM_GROUP, g4, (struct upd){.json = GROUP("Quality")});
    /* users: deactivation, renames, delete with memberships and cut-offs */
    update(
        s, SCIM_USER, u1,
        (struct upd){.json = "{\"userName\":\"alice@x\",\"externalId\":\"a\",\"active\":false}"});
    update(s, SCIM_USER, u2, (struct upd){.json = USER("robert@x", "rb")});
    update(s, SCIM_USER, u2, (struct upd){.json = USER("robert@x", "rb")}); /* a retry */
    del(s, SCIM_USER, u1);
    mkres(s, SCIM_USER, USER("Alice@X", "a"), u1, GH_OK);
    del(s, SCIM_GROUP, g1);
    del(s, SCIM_GROUP, g2);
    ag(s, "adm", "Adm");
    ck_assert_int_eq(store_access_group_delete(s, "adm", &err), GH_OK);
    ck_assert_int_eq(store_access_groups_sync(s, defs + 1, 1, &err), GH_OK);
    ck_assert_int_eq(store_access_groups_sync(s, NULL, 0, &err), GH_OK);
}

/* ---- dumping the feed with ids and times made comparable ---- */

struct dump {
    char ids[64][STORE_ID_LEN + 1];
    int nids;
    struct gh_buf out;
    int64_t last_rev;
    bool increasing;
};

static const char *dump_id(struct dump *d, const char *v, char *buf, size_t cap)
{
    if (v == NULL)
        return "-";
    if (strlen(v) != STORE_ID_LEN || v[8] != '-')
        return v;
    for (int i = 0; i < d->nids; i++)
        if (strcmp(d->ids[i], v) == 0) {
            snprintf(buf, cap, "#%d", i);
            return buf;
        }
    ck_assert_int_lt(d->nids, 64);
    snprintf(d->ids[d->nids], sizeof(d->ids[0]), "%s", v);
    snprintf(buf, cap, "#%d", d->nids++);
    return buf;
}

static bool dump_cb(void *ctx, const struct store_change *ch)
{
    struct dump *d = ctx;
    char a[16], b[16], c[16];
    if (ch->rev != 0) {
        d->increasing = d->increasing && ch->rev > d->last_rev;
        d->last_rev = ch->rev;
    }
    gh_buf_printf(&d->out, NULL, "%c %s %s %s %lld %s\n", ch->op, dump_id(d, ch->a, a, sizeof(a)),
                  dump_id(d, ch->b, b, sizeof(b)), dump_id(d, ch->c, c, sizeof(c)),
                  (long long)ch->k,
                  ch->n > 1000000000 ? "time"
                  : ch->n            ? "?"
                                     : "0");
    return true;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Every change row of s, in rev order, as text. */
static char *feed_of(struct store *s)
{
    struct dump d = {.increasing = true};
    struct gh_err err = {0};
    bool gone = true;
    gh_buf_init(&d.out, 1 << 20);
    ck_assert_int_eq(s->ops->changes(s, 0, 100000, dump_cb, &d, &gone, &err), GH_OK);
    ck_assert(!gone);
    ck_assert(d.increasing);
    return gh_buf_steal(&d.out, NULL);
}

/* The load of s as text, its lines sorted (the order within one kind of row is the backend's). */
static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *load_of(struct store *s, int64_t *out_rev)
{
    struct dump d = {.increasing = true};
    struct gh_err err = {0};
    char *text, *lines[4096], *p, *nl;
    int n = 0;
    struct gh_buf sorted;

    gh_buf_init(&d.out, 1 << 20);
    ck_assert_int_eq(s->ops->load(s, dump_cb, &d, out_rev, &err), GH_OK);
    text = gh_buf_steal(&d.out, NULL);
    for (p = text; (nl = strchr(p, '\n')) != NULL && n < 4096; p = nl + 1) {
        *nl = '\0';
        lines[n++] = p;
    }
    qsort(lines, (size_t)n, sizeof(lines[0]), line_cmp);
    gh_buf_init(&sorted, 1 << 20);
    for (int i = 0; i < n; i++)
        gh_buf_printf(&sorted, NULL, "%s\n", lines[i]);
    free(text);
    return gh_buf_steal(&sorted, NULL);
}

START_TEST(feed_rows_equal_sqlite)
{
    struct gh_test_store ts, tp;
    struct store *sq = NULL, *pg = NULL;
    struct gh_err err = {0};
    char *fs, *fp, *ls, *lp;
    int64_t rs = 0, rp = 0, hs = 0, hp = 0;

    gh_test_store_new(GH_TEST_SQLITE, &ts);
    gh_test_store_new(GH_TEST_PG, &tp);
    ck_assert_int_eq(store_open(ts.target, &sq, &err), GH_OK);
    ck_assert_msg(store_open(tp.target, &pg, &err) == GH_OK, "%s", err.msg);
    feed_script(sq);
    feed_script(pg);
    fs = feed_of(sq);
    fp = feed_of(pg);
    ck_assert_msg(strcmp(fs, fp) == 0, "SQLite:\n%s\nPostgreSQL:\n%s", fs, fp);
    ck_assert_ptr_nonnull(strstr(fs, "L dev ")); /* the script did reach the link triggers */
    ls = load_of(sq, &rs);
    lp = load_of(pg, &rp);
    ck_assert_msg(strcmp(ls, lp) == 0, "SQLite:\n%s\nPostgreSQL:\n%s", ls, lp);
    ck_assert_int_eq(sq->ops->head(sq, &hs, &err), GH_OK);
    ck_assert_int_eq(pg->ops->head(pg, &hp, &err), GH_OK);
    ck_assert_int_eq(rs, hs);
    ck_assert_int_eq(rp, hp);
    /* pruning: the changes before the kept ones are gone for a reader behind them */
    {
        struct dump d = {.increasing = true};
        bool gone = false;
        gh_buf_init(&d.out, 1 << 16);
        ck_assert_int_eq(pg->ops->prune(pg, 5, &err), GH_OK);
        ck_assert_int_eq(pg->ops->changes(pg, 0, 100, dump_cb, &d, &gone, &err), GH_OK);
        ck_assert(gone);
        ck_assert_int_eq(pg->ops->changes(pg, hp - 5, 100, dump_cb, &d, &gone, &err), GH_OK);
        ck_assert(!gone);
        ck_assert_int_eq(count_lines(gh_buf_str(&d.out)), 5);
        gh_buf_free(&d.out);
    }
    free(fs);
    free(fp);
    free(ls);
    free(lp);
    store_close(sq);
    store_close(pg);
    gh_test_store_drop(&ts);
    gh_test_store_drop(&tp);
}
END_TEST

/* ---- two replicas writing at once ---- */

#define RACE_NAMES  40
#define RACE_GROUPS 10

struct racer {
    struct store *s;
    int which;
    int created, conflicts, other;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < RACE_NAMES; i++) {
        char json[200];
        struct gh_err err = {0};
        struct store_row row = {0};
        struct store_rec rec = {0};
        char name[40];
        /* the same userNames from every racer, in other cases */
        snprintf(name, sizeof(name), r->which % 2 ? "User%02d@X" : "user%02d@x", i);
        snprintf(json, sizeof(json), "{\"userName\":\"%s\"}", name);
        row.body = json;
        row.cols.name = name;
        row.cols.active = true;
        switch (store_create(r->s, SCIM_USER, &row, NULL, &rec, &err)) {
        case GH_OK:
            r->created++;
            break;
        case GH_E_CONFLICT:
            r->conflicts++;
            break;
        default:
            r->other++;
        }
        store_rec_clear(&rec);
    }
    for (int i = 0; i < RACE_GROUPS; i++) {
        char name[40], json[120], key[40];
        struct gh_err err = {0};
        struct store_row row = {0};
        struct store_rec rec = {0};
        /* the racers create "T<i>", " T<i>", "t<i>", " t<i>": the last two conflict with the
         * first two (case-insensitively), so two groups share every key t<i>; one racer
         * creates the access group t<i>: whatever the order, none links */
        snprintf(name, sizeof(name), "%s%s%d", r->which % 2 ? " " : "", r->which < 2 ? "T" : "t",
                 i);
        snprintf(json, sizeof(json), "{\"displayName\":\"%s\"}", name);
        row.body = json;
        row.cols.name = name;
        if (store_create(r->s, SCIM_GROUP, &row, NULL, &rec, &err) != GH_OK)
            r->other++;
        store_rec_clear(&rec);
        if (r->which == 2) {
            struct store_access_group_def d = {key, "T", "[]"};
            snprintf(key, sizeof(key), "t%d", i);
            if (store_access_group_create(r->s, &d, &err) != GH_OK)
                r->other++;
        }
    }
    return NULL;
}

static int linked_count(struct store *s);

/* Replays the feed: groups by id with their keys, and each 'L' checked against them. */
struct link_model {
    char ids[64][STORE_ID_LEN + 1], keys[64][32];
    int n, links;
};

static bool link_model_cb(void *ctx, const struct store_change *ch)
{
    struct link_model *m = ctx;
    if (ch->op == 'G') {
        ck_assert_int_lt(m->n, 64);
        snprintf(m->ids[m->n], sizeof(m->ids[0]), "%s", ch->a);
        store_name_key(ch->b, m->keys[m->n], sizeof(m->keys[0]));
        m->n++;
    } else if (ch->op == 'L') {
        int holders = 0;
        bool own = false;
        for (int i = 0; i < m->n; i++)
            if (strcmp(m->keys[i], ch->a) == 0) {
                holders++;
                own = own || strcmp(m->ids[i], ch->b) == 0;
            }
        ck_assert_msg(holders == 1 && own, "link %s made with %d groups holding the key", ch->a,
                      holders);
        m->links++;
    }
    return true;
}

static void check_links_in_feed(struct store *s)
{
    struct link_model *m = calloc(1, sizeof(*m));
    struct gh_err err = {0};
    bool gone = true;
    ck_assert_int_eq(s->ops->changes(s, 0, 100000, link_model_cb, m, &gone, &err), GH_OK);
    ck_assert(!gone);
    ck_assert_int_eq(m->links, linked_count(s));
    free(m);
}

START_TEST(two_replicas_keep_uniqueness_and_links)
{
    struct gh_test_store t;
    struct store *a = NULL, *b = NULL;
    struct gh_err err = {0};
    struct racer r[4];
    pthread_t th[4];
    int created = 0, other = 0;
    char n[32];

    gh_test_store_new(GH_TEST_PG, &t);
    ck_assert_int_eq(store_open(t.target, &a, &err), GH_OK);
    ck_assert_int_eq(store_open(t.target, &b, &err), GH_OK); /* migrated already: no-op */
    for (int i = 0; i < 4; i++) {
        r[i] = (struct racer){i % 2 ? b : a, i, 0, 0, 0};
        pthread_create(&th[i], NULL, racer_run, &r[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        created += r[i].created;
        other += r[i].other;
    }
    /* two of the four groups with each key conflict; those are the only failures */
    ck_assert_int_eq(other, 2 * RACE_GROUPS);
    ck_assert_int_eq(created, RACE_NAMES);
    ck_assert(gh_test_store_query(&t, "SELECT count(*) FROM users", NULL, n, sizeof(n)));
    ck_assert_str_eq(n, "40");
    ck_assert(gh_test_store_query(&t,
                                  "SELECT count(*) FROM (SELECT lower(user_name) FROM users "
                                  "GROUP BY 1 HAVING count(*) > 1) d",
                                  NULL, n, sizeof(n)));
    ck_assert_str_eq(n, "0");
    ck_assert(gh_test_store_query(&t, "SELECT count(*) FROM groups", NULL, n, sizeof(n)));
    ck_assert_str_eq(n, "20");
    {
        struct store_counts cn;
        a->ops->counts(a, &cn);
        ck_assert_int_eq(cn.active, RACE_NAMES);
        ck_assert_int_eq(cn.inactive, 0);
        ck_assert_int_eq(cn.groups, 2 * RACE_GROUPS);
        ck_assert_int_eq(cn.members, 0);
    }
    /* every link was made, in the serial order of the feed, while its group was the only one
     * with the key */
    check_links_in_feed(a);
    /* the ambiguity of an unlinked key ends on one replica: the other one sees the link */
    {
        char id[40];
        int before = linked_count(b);
        ck_assert(gh_test_store_query(&t,
                                      "SELECT g.id FROM groups g WHERE NOT EXISTS (SELECT 1 "
                                      "FROM access_group_links l WHERE l.key = g.name_key) "
                                      "ORDER BY g.seq LIMIT 1",
                                      NULL, id, sizeof(id)));
        /* which keys end up ambiguous depends on how the race went (a key linked while its
         * first group was alone stays pinned); when none did, there is nothing to end */
        if (id[0] != '\0') {
            ck_assert_int_eq(store_delete(a, SCIM_GROUP, id, -1, &err), GH_OK);
            ck_assert_int_eq(linked_count(b), before + 1);
        }
    }
    store_close(a);
    store_close(b);
    gh_test_store_drop(&t);
}
END_TEST

/* Replicas starting together on a new database migrate it once (the advisory lock). */
struct opener {
    const char *target;
    struct store *s;
    enum gh_status rc;
};

static void *opener_run(void *arg)
{
    struct opener *o = arg;
    struct gh_err err = {0};
    o->rc = store_open(o->target, &o->s, &err);
    return NULL;
}

START_TEST(replicas_starting_together_migrate_once)
{
    struct gh_test_store t;
    struct opener o[3];
    pthread_t th[3];
    char n[32];

    gh_test_store_new(GH_TEST_PG, &t);
    for (int i = 0; i < 3; i++) {
        o[i] = (struct opener){t.target, NULL, GH_E_INTERNAL};
        pthread_create(&th[i], NULL, opener_run, &o[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(o[i].rc, GH_OK);
        ck_assert_int_eq(store_schema_version(o[i].s), 4);
        store_close(o[i].s);
    }
    ck_assert(gh_test_store_query(&t, "SELECT value FROM gh_meta WHERE key = 'schema_version'",
                                  NULL, n, sizeof(n)));
    ck_assert_str_eq(n, "4");
    ck_assert(gh_test_store_query(&t, "SELECT count(*) FROM gh_meta WHERE key = 'created'", NULL, n,
                                  sizeof(n)));
    ck_assert_str_eq(n, "1");
    gh_test_store_drop(&t);
}
END_TEST

static void count_linked_cb(void *ctx, const struct store_access_group *ag)
{
    if (ag->group_id != NULL)
        (*(int *)ctx)++;
}

static int linked_count(struct store *s)
{
    int n = 0;
    struct gh_err err = {0};
    ck_assert_int_eq(store_access_groups(s, count_linked_cb, &n, &err), GH_OK);
    return n;
}

/* ---- a load larger than one fetch ---- */

struct load_count {
    int64_t u, m, other;
    char last_user[16];
    bool users_in_order;
};

static bool load_cb(void *ctx, const struct store_change *ch)
{
    struct load_count *c = ctx;
    ck_assert_int_eq(ch->rev, 0);
    if (ch->op == 'U') {
        /* creation order: the ids were made in increasing order */
        c->users_in_order = c->users_in_order && strcmp(ch->a, c->last_user) > 0;
        snprintf(c->last_user, sizeof(c->last_user), "%s", ch->a);
        c->u++;
    } else if (ch->op == 'M') {
        c->m++;
    } else {
        c->other++;
    }
    return true;
}

static void pg_exec(const struct gh_test_store *t, const char *sql)
{
    PGconn *pg = PQconnectdb(t->target);
    PGresult *res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

START_TEST(load_streams_big_tables)
{
    struct gh_test_store t;
    struct store *s = NULL;
    struct gh_err err = {0};
    struct load_count c = {.users_in_order = true};
    int64_t rev = -1, head = -1;

    gh_test_store_new(GH_TEST_PG, &t);
    ck_assert_int_eq(store_open(t.target, &s, &err), GH_OK);
    /* 25,000 users in one group, written under the store (the triggers log them too) */
    pg_exec(&t, "INSERT INTO users(id, user_name, version, created, modified, body) "
                "SELECT 'u' || lpad(i::text, 6, '0'), 'u' || i || '@x', 1, 't', 't', '{}' "
                "FROM generate_series(1, 25000) i;"
                "INSERT INTO groups(id, display_name, name_key, version, created, modified, body) "
                "VALUES ('g', 'G', 'g', 1, 't', 't', '{}');"
                "INSERT INTO members(group_id, member_id, member_type) "
                "SELECT 'g', id, 0 FROM users;");
    ck_assert_int_eq(s->ops->load(s, load_cb, &c, &rev, &err), GH_OK);
    ck_assert_int_eq(c.u, 25000);
    ck_assert_int_eq(c.m, 25000);
    ck_assert_int_eq(c.other, 1); /* the group */
    ck_assert(c.users_in_order);
    ck_assert_int_eq(s->ops->head(s, &head, &err), GH_OK);
    ck_assert_int_eq(rev, head);
    ck_assert_int_eq(head, 50001);
    store_close(s);
    gh_test_store_drop(&t);
}
END_TEST

/* ---- the server goes away and comes back ---- */

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(server_down_is_unavailable_then_recovers)
{
    struct gh_test_store t;
    struct store *s = NULL;
    struct gh_err e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0}, err = {0};
    struct store_rec rec = {0};
    char u[40], v[40];
    const char *reason = NULL;
    enum gh_status rc_create, rc_get, rc_wait, rc_after;
    bool ready_down;
    int64_t t0, took;
    gh_test_store_new(GH_TEST_PG, &t);
    ck_assert_int_eq(store_open(t.target, &s, &err), GH_OK);
    mkres(s, SCIM_USER, USER("before@x", "b"), u, GH_OK);
    ck_assert_int_eq(s->ops->wait(s, 10, &err), GH_OK); /* connects the listener */

    gh_test_pg_kill(); /* a crash: nothing is told to the clients */
    t0 = ms_now();
    {
        struct store_row row = {.body = "{\"userName\":\"down@x\"}", .cols = {.name = "down@x"}};
        rc_create = store_create(s, SCIM_USER, &row, NULL, &rec, &e1);
        store_rec_clear(&rec);
    }
    rc_get = store_get(s, SCIM_USER, u, &rec, &e2);
    store_rec_clear(&rec);
    ready_down = s->ops->ready(s, &reason); /* store_ready stays true: the index serves */
    rc_wait = s->ops->wait(s, 200, &e3);
    took = ms_now() - t0;
    /* the server comes back before anything is asserted: later tests need it */
    gh_test_pg_start();

    ck_assert_msg(rc_create == GH_E_UNAVAILABLE, "%s", e1.msg);
    ck_assert_ptr_nonnull(strstr(e1.msg, "store unreachable"));
    ck_assert_msg(rc_get == GH_E_UNAVAILABLE, "%s", e2.msg);
    ck_assert(!ready_down);
    ck_assert_ptr_nonnull(strstr(reason, "unreachable"));
    ck_assert_int_eq(rc_wait, GH_E_UNAVAILABLE);
    ck_assert_msg(took < 10000, "took %lld ms", (long long)took);
    ck_assert(!store_writable(s, &reason)); /* the refused write is counted */

    /* the same handle works again, without a restart */
    rc_after = store_get(s, SCIM_USER, u, &rec, &e4);
    ck_assert_msg(rc_after == GH_OK, "%s", e4.msg);
    store_rec_clear(&rec);
    mkres(s, SCIM_USER, USER("after@x", "a"), v, GH_OK);
    ck_assert(store_writable(s, &reason));
    ck_assert(s->ops->ready(s, &reason));
    ck_assert_int_eq(s->ops->wait(s, 10, &err), GH_OK); /* the listener reconnects */
    /* the acknowledged write survived; the refused one is not there */
    ck_assert_int_eq(store_user_find(s, STORE_KEY_USER_NAME, "before@x", &rec, &err), GH_OK);
    store_rec_clear(&rec);
    ck_assert_int_eq(store_user_find(s, STORE_KEY_USER_NAME, "down@x", &rec, &err), GH_E_NOT_FOUND);
    store_close(s);
    gh_test_store_drop(&t);
}
END_TEST

/* A connection the server ends while idle (a restart, pg_terminate_backend) is remade on its
 * next use without failing the call; a NOTIFY from another handle's commit wakes wait. */
START_TEST(dropped_connections_reconnect_and_notify_wakes)
{
    struct gh_test_store t;
    struct store *a = NULL, *b = NULL;
    struct gh_err err = {0};
    struct store_rec rec = {0};
    char u[40], v[40];
    int64_t t0;

    gh_test_store_new(GH_TEST_PG, &t);
    ck_assert_int_eq(store_open(t.target, &a, &err), GH_OK);
    /* b: the backend alone, without the index poller that would take the notifications */
    ck_assert_int_eq(store_pg_ops.open(t.target, &b, &err), GH_OK);
    mkres(a, SCIM_USER, USER("one@x", "1"), u, GH_OK);
    ck_assert_int_eq(store_get(a, SCIM_USER, u, &rec, &err), GH_OK);
    store_rec_clear(&rec);
    ck_assert_int_eq(b->ops->wait(b, 10, &err), GH_OK); /* connects b's listener */
    pg_exec(&t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'gatehouse' AND pid <> pg_backend_pid()");
    ck_assert_msg(store_get(a, SCIM_USER, u, &rec, &err) == GH_OK, "%s", err.msg);
    store_rec_clear(&rec);
    mkres(a, SCIM_USER, USER("two@x", "2"), v, GH_OK);
    /* b's listener was dropped too: the first wait reconnects (a wake-up), the next one is
     * woken by a's commit well before its timeout */
    ck_assert_int_eq(b->ops->wait(b, 1000, &err), GH_OK);
    mkres(a, SCIM_USER, USER("three@x", "3"), v, GH_OK);
    t0 = ms_now();
    ck_assert_int_eq(b->ops->wait(b, 5000, &err), GH_OK);
    ck_assert_int_lt(ms_now() - t0, 1000);
    /* and with nothing committed it waits the timeout out */
    t0 = ms_now();
    ck_assert_int_eq(b->ops->wait(b, 300, &err), GH_OK);
    ck_assert_int_ge(ms_now() - t0, 250);
    store_close(a);
    store_close(b);
    gh_test_store_drop(&t);
}
END_TEST

/* A connection lost during COMMIT: the outcome is unknown to the client, so the write is
 * GH_E_UNAVAILABLE (retried; a retry is a no-op or, here, the first success), never GH_OK.
 * A deferred trigger ends its own backend at COMMIT. */
START_TEST(commit_outcome_unknown_is_unavailable)
{
    struct gh_test_store t;
    struct store *s = NULL;
    struct gh_err err = {0}, e1 = {0};
    struct store_rec rec = {0};
    struct store_row row = {.body = "{\"userName\":\"die@x\"}", .cols = {.name = "die@x"}};
    char id[40];

    gh_test_store_new(GH_TEST_PG, &t);
    ck_assert_int_eq(store_open(t.target, &s, &err), GH_OK);
    pg_exec(&t, "CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.user_name = 'die@x' THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
                "END IF; RETURN NULL; END $$;"
                "CREATE CONSTRAINT TRIGGER die AFTER INSERT ON users DEFERRABLE INITIALLY "
                "DEFERRED FOR EACH ROW EXECUTE FUNCTION die()");
    ck_assert_int_eq(store_create(s, SCIM_USER, &row, NULL, &rec, &e1), GH_E_UNAVAILABLE);
    ck_assert_msg(strstr(e1.msg, "outcome unknown") != NULL, "%s", e1.msg);
    store_rec_clear(&rec);
    pg_exec(&t, "DROP TRIGGER die ON users");
    /* the writer reconnects; the retry is applied once */
    ck_assert_int_eq(store_create(s, SCIM_USER, &row, NULL, &rec, &err), GH_OK);
    memcpy(id, rec.id, sizeof(id));
    store_rec_clear(&rec);
    ck_assert_int_eq(store_user_find(s, STORE_KEY_USER_NAME, "die@x", &rec, &err), GH_OK);
    ck_assert_str_eq(rec.id, id);
    store_rec_clear(&rec);
    store_close(s);
    gh_test_store_drop(&t);
}
END_TEST

START_TEST(bad_url_is_invalid)
{
    struct store *s = NULL;
    struct gh_err err = {0};
    ck_assert_int_eq(store_open("postgresql://u:secret@127.0.0.1/db?nosuchoption=1", &s, &err),
                     GH_E_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_ptr_null(strstr(err.msg, "secret"));
    gh_err_clear(&err);
    /* a server that is not there: unavailable, quickly, without the password in the message */
    ck_assert_int_eq(store_open("postgresql://u:secret@127.0.0.1:1/db", &s, &err),
                     GH_E_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(err.msg, "store unreachable"));
    ck_assert_ptr_null(strstr(err.msg, "secret"));
}
END_TEST

static void quiet(void)
{
    gh_log_set_level(GH_LOG_WARN);
}

Suite *store_pg_only_suite(void)
{
    Suite *s = suite_create("store_pg_only");
    TCase *tc;
    if (gh_test_pg_url() == NULL) {
        fprintf(stderr, "store_pg_only: skipped: GATEHOUSE_TEST_PG is not set "
                        "(make unit-pg sets it)\n");
        return s;
    }
    tc = tcase_create("postgresql");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, quiet, NULL);
    tcase_add_test(tc, feed_rows_equal_sqlite);
    tcase_add_test(tc, two_replicas_keep_uniqueness_and_links);
    tcase_add_test(tc, replicas_starting_together_migrate_once);
    tcase_add_test(tc, load_streams_big_tables);
    tcase_add_test(tc, dropped_connections_reconnect_and_notify_wakes);
    tcase_add_test(tc, commit_outcome_unknown_is_unavailable);
    tcase_add_test(tc, bad_url_is_invalid);
    if (gh_test_pg_ctl_ok())
        tcase_add_test(tc, server_down_is_unavailable_then_recovers);
    else
        fprintf(stderr, "store_pg_only: server_down_is_unavailable_then_recovers skipped: "
                        "GATEHOUSE_TEST_PG_DIR is not set (make unit-pg sets it)\n");
    suite_add_tcase(s, tc);
    return s;
}
