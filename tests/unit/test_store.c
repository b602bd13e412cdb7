/*
 * test_store.c - the identity store, on both backends (suite "store": SQLite; "store_pg":
 * PostgreSQL, when GATEHOUSE_TEST_PG names a server): create/get/update/delete, uniqueness,
 * membership rows (idempotent adds and removes, cleanup on delete), the lookups issue 5 builds on
 * (userName, externalId, groups of a user), change events, If-Match versions, reopening a database,
 * a group PATCH through the engine and the store (operations take effect in order), and a store
 * that cannot write (RLIMIT_FSIZE standing in for a full disk).
 */
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"
#include "sidecar/gatehouse.h"
#include "store/sqlite_int.h"
#include "tests/support/support.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static struct store *st;
static struct gh_test_store tgt; /* the store's target (a SQLite file, a PostgreSQL schema) */

struct events {
    char log[4096];
};
static struct events ev;

static void on_event(void *ctx, const struct store_event *e)
{
    static const char *const names[] = {"user+",  "user~",  "user-",    "group+",  "group~",
                                        "group=", "group-", "members+", "members-"};
    struct events *x = ctx;
    size_t n = strlen(x->log);
    ck_assert_ptr_nonnull(e->ts);
    ck_assert_int_eq((int)strlen(e->ts), STORE_TS_LEN);
    snprintf(x->log + n, sizeof(x->log) - n, "%s%s(%zu)", n ? " " : "", names[e->type],
             e->member_count);
}

static void setup_on(enum gh_test_backend b)
{
    struct gh_err err = {0};
    gh_log_set_level(GH_LOG_WARN);
    gh_test_store_new(b, &tgt);
    ck_assert_msg(store_open(tgt.target, &st, &err) == GH_OK, "%s", err.msg);
    memset(&ev, 0, sizeof(ev));
    store_listen(st, on_event, &ev);
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

static void mk(enum store_kind kind, const char *json, char id[STORE_ID_LEN + 1],
               enum gh_status want)
{
    struct gh_err err = {0};
    struct store_row row = {0};
    struct store_rec rec = {0};
    cJSON *body = cJSON_Parse(json);
    cJSON *members = NULL;
    ck_assert_int_eq(scim_resource_normalize(kind, body, &members, &row.cols, &err), GH_OK);
    char *txt = cJSON_PrintUnformatted(body);
    row.body = txt;
    ck_assert_int_eq(store_create(st, kind, &row, NULL, &rec, &err), want);
    if (want == GH_OK) {
        memcpy(id, rec.id, STORE_ID_LEN + 1);
        ck_assert_int_eq(rec.version, 1);
        ck_assert_str_eq(rec.created, rec.modified);
    } else {
        ck_assert_str_eq(err.scim_type, "uniqueness");
    }
    store_rec_clear(&rec);
    free(txt);
    cJSON_Delete(members);
    cJSON_Delete(body);
}

struct mchange {
    const char *const *add;
    size_t nadd;
    const char *const *rm;
    size_t nrm;
};

static enum gh_status members_fn(void *ctx, const struct store_rec *cur, struct store_row *row,
                                 struct store_members_change *mc, struct gh_err *err)
{
    struct mchange *m = ctx;
    (void)cur;
    (void)row;
    (void)err;
    mc->add = m->add;
    mc->add_count = m->nadd;
    mc->remove = m->rm;
    mc->remove_count = m->nrm;
    return GH_OK;
}

static int64_t members(const char *gid, const char *const *add, size_t nadd, const char *const *rm,
                       size_t nrm, enum gh_status want)
{
    struct mchange m = {add, nadd, rm, nrm};
    struct store_rec rec = {0};
    struct gh_err err = {0};
    ck_assert_int_eq(store_update(st, SCIM_GROUP, gid, members_fn, &m, &rec, &err), want);
    int64_t v = rec.version;
    store_rec_clear(&rec);
    return v;
}

static void count_cb(void *ctx, const char *id, enum store_kind type, const char *display)
{
    (void)id;
    (void)type;
    (void)display;
    (*(int *)ctx)++;
}

struct rename_ctx {
    const char *body;
};

static enum gh_status rename_fn(void *ctx, const struct store_rec *cur, struct store_row *row,
                                struct store_members_change *mc, struct gh_err *err)
{
    struct rename_ctx *r = ctx;
    cJSON *b = cJSON_Parse(r->body);
    (void)cur;
    (void)mc;
    (void)err;
    row->body = r->body;
    row->cols.name = strstr(r->body, "Readers2") ? "Readers2" : NULL;
    row->cols.external_id = strstr(r->body, "externalId") ? "e" : NULL;
    cJSON_Delete(b);
    return GH_OK;
}

static int count_members(const char *gid)
{
    int n = 0;
    ck_assert_int_eq(store_group_members(st, gid, count_cb, &n, NULL), GH_OK);
    return n;
}

static int count_groups(const char *uid)
{
    int n = 0;
    ck_assert_int_eq(store_user_groups(st, uid, count_cb, &n, NULL), GH_OK);
    return n;
}

START_TEST(store_crud_and_lookups)
{
    char a[40], b[40], c[40], g[40], h[40];
    struct store_rec rec = {0};
    struct gh_err err = {0};

    mk(SCIM_USER, "{\"userName\":\"Alice@Contoso.com\",\"externalId\":\"nick\"}", a, GH_OK);
    mk(SCIM_USER, "{\"userName\":\"bob@contoso.com\",\"externalId\":\"nick\"}", b, GH_OK);
    mk(SCIM_USER, "{\"userName\":\"ALICE@contoso.com\"}", c, GH_E_CONFLICT);
    mk(SCIM_USER, "{\"userName\":\"carol@contoso.com\"}", c, GH_OK);
    mk(SCIM_GROUP, "{\"displayName\":\"Readers\"}", g, GH_OK);
    mk(SCIM_GROUP, "{\"displayName\":\"readers\"}", h, GH_E_CONFLICT);
    mk(SCIM_GROUP, "{\"displayName\":\"Writers\"}", h, GH_OK);

    /* lookups for token -> identity (issue 5) */
    ck_assert_int_eq(store_user_find(st, STORE_KEY_USER_NAME, "alice@CONTOSO.com", &rec, &err),
                     GH_OK);
    ck_assert_str_eq(rec.id, a);
    store_rec_clear(&rec);
    ck_assert_int_eq(store_user_find(st, STORE_KEY_EXTERNAL_ID, "nick", &rec, &err), GH_OK);
    ck_assert_str_eq(rec.id, a); /* not unique: the first */
    store_rec_clear(&rec);
    ck_assert_int_eq(store_user_find(st, STORE_KEY_EXTERNAL_ID, "NICK", &rec, &err),
                     GH_E_NOT_FOUND);

    /* membership: adds and removes are idempotent; unknown ids are refused */
    const char *ab[] = {a, b};
    const char *aa[] = {a, a};
    const char *nope[] = {"nope"};
    const char *self[] = {g};
    const char *grp[] = {h};
    ck_assert_int_eq(members(g, ab, 2, NULL, 0, GH_OK), 2);
    ck_assert_int_eq(members(g, aa, 2, NULL, 0, GH_OK), 2); /* nothing changed: same version */
    ck_assert_int_eq(members(g, NULL, 0, (const char *[]){c}, 1, GH_OK), 2);
    ck_assert_int_eq(count_members(g), 2);
    members(g, nope, 1, NULL, 0, GH_E_INVALID);
    members(g, self, 1, NULL, 0, GH_E_INVALID); /* a group is not its own member */
    ck_assert_int_eq(members(g, grp, 1, NULL, 0, GH_OK), 3);
    ck_assert_int_eq(count_members(g), 3);
    ck_assert_int_eq(count_groups(a), 1);
    ck_assert_int_eq(count_groups(h), 1);
    ck_assert_int_eq(members(g, NULL, 0, (const char *[]){b}, 1, GH_OK), 4);
    ck_assert_int_eq(count_groups(b), 0);

    /* a rename is its own event */
    {
        struct rename_ctx rc = {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                                "\"displayName\":\"Readers2\"}"};
        struct store_rec out = {0};
        ck_assert_int_eq(store_update(st, SCIM_GROUP, g, rename_fn, &rc, &out, &err), GH_OK);
        store_rec_clear(&out);
        rc.body = "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                  "\"displayName\":\"Readers2\",\"externalId\":\"e\"}";
        ck_assert_int_eq(store_update(st, SCIM_GROUP, g, rename_fn, &rc, &out, &err), GH_OK);
        store_rec_clear(&out);
    }

    /* If-Match on delete, then delete removes the member rows naming the user */
    ck_assert_int_eq(store_delete(st, SCIM_USER, a, 7, &err), GH_E_PRECONDITION);
    gh_err_clear(&err);
    ck_assert_int_eq(store_delete(st, SCIM_USER, a, 1, &err), GH_OK);
    ck_assert_int_eq(count_members(g), 1);
    ck_assert_int_eq(store_get(st, SCIM_USER, a, &rec, &err), GH_E_NOT_FOUND);
    gh_err_clear(&err);
    ck_assert_int_eq(store_delete(st, SCIM_USER, a, -1, &err), GH_E_NOT_FOUND);
    /* a deleted group takes its rows (cascade) and the rows naming it */
    gh_err_clear(&err);
    ck_assert_int_eq(store_delete(st, SCIM_GROUP, h, -1, &err), GH_OK);
    ck_assert_int_eq(count_members(g), 0);

    /* removing a non-member and re-adding a member emit nothing; a deleted user or group
     * leaves its groups without a separate members- event */
    ck_assert_str_eq(ev.log, "user+(0) user+(0) user+(0) group+(0) group+(0) members+(2) "
                             "members+(1) members-(1) group=(0) group~(0) user-(0) group-(0)");
}
END_TEST

/* ---- a group PATCH as the handler runs it: engine, then store, in one transaction ---- */

struct patch_ctx {
    const char *json;
    struct gh_arena *a;
    struct scim_patch_members pm;
};

static enum gh_status patch_fn(void *ctx, const struct store_rec *cur, struct store_row *row,
                               struct store_members_change *mc, struct gh_err *err)
{
    struct patch_ctx *p = ctx;
    cJSON *res = cJSON_Parse(cur->body), *patch = cJSON_Parse(p->json);
    enum gh_status rc;
    (void)row; /* no attribute ops here: the body stays as it is */
    ck_assert_ptr_nonnull(patch);
    rc = scim_patch_apply(p->a, SCIM_GROUP, res, patch, &p->pm, err);
    cJSON_Delete(res);
    cJSON_Delete(patch);
    if (rc)
        return rc;
    mc->replace = p->pm.replace;
    mc->add = p->pm.add;
    mc->add_count = p->pm.add_count;
    mc->remove = p->pm.remove;
    mc->remove_count = p->pm.remove_count;
    mc->check = p->pm.check;
    mc->check_count = p->pm.check_count;
    return GH_OK;
}

/* PATCH group gid with the operations fmt (a printf format) describes; returns the version. */
static int64_t patch_group(const char *gid, enum gh_status want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int64_t patch_group(const char *gid, enum gh_status want, const char *fmt, ...)
{
    char ops[1024], json[1200];
    struct patch_ctx p = {json, gh_arena_new(), {0}};
    struct store_rec rec = {0};
    struct gh_err err = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ops, sizeof(ops), fmt, ap);
    va_end(ap);
    snprintf(json, sizeof(json),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
             "\"Operations\":[%s]}",
             ops);
    enum gh_status rc = store_update(st, SCIM_GROUP, gid, patch_fn, &p, &rec, &err);
    ck_assert_msg(rc == want, "%s: %d %s", ops, rc, err.msg);
    int64_t v = rec.version;
    store_rec_clear(&rec);
    gh_arena_free(p.a);
    return v;
}

static void has_cb(void *ctx, const char *id, enum store_kind type, const char *display)
{
    char *out = ctx;
    size_t n = strlen(out);
    (void)type;
    (void)display;
    snprintf(out + n, 512 - n, "%s%s", n ? "," : "", id);
}

/* The member ids of a group, in the store's order, as "a,b". */
static const char *member_list(const char *gid)
{
    static char out[512];
    out[0] = '\0';
    ck_assert_int_eq(store_group_members(st, gid, has_cb, out, NULL), GH_OK);
    return out;
}

static void nbf_cb(void *ctx, const char *key, const char *group_name, int64_t not_before)
{
    (void)key;
    (void)group_name;
    *(int64_t *)ctx = not_before;
}

/* The cut-off of user uid's one access group (-1 when it reaches none). */
static int64_t access_nbf(const char *uid)
{
    int64_t nbf = -1;
    ck_assert_int_eq(store_subject_access(st, uid, nbf_cb, &nbf, NULL), GH_OK);
    return nbf;
}

#define PADD(id)         "{\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"value\":\"" id "\"}]}"
#define PREMOVE(id)      "{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"" id "\"}]}"
#define PREMOVE_FLAG(id) "{\"op\":\"remove\",\"path\":\"members[value eq \\\"" id "\\\"]\"}"
#define PREPLACE(id)     "{\"op\":\"replace\",\"path\":\"members\",\"value\":[{\"value\":\"" id "\"}]}"

/* RFC 7644 §3.5.2: a PATCH's operations take effect in order, and the membership rows - and
 * with them the cut-off and link triggers and the change events - see only the net change. */
START_TEST(store_patch_members_in_order)
{
    char u[40], v[40], w[40], g[40], want[128];
    struct store_access_group_def def = {"readers", "Readers", "[]"};
    int64_t now = (int64_t)time(NULL);

    mk(SCIM_USER, "{\"userName\":\"u@x\"}", u, GH_OK);
    mk(SCIM_USER, "{\"userName\":\"v@x\"}", v, GH_OK);
    mk(SCIM_USER, "{\"userName\":\"w@x\"}", w, GH_OK);
    mk(SCIM_GROUP, "{\"displayName\":\"Readers\"}", g, GH_OK);
    ck_assert_int_eq(store_access_group_create(st, &def, NULL), GH_OK);
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s"), u), 2);
    ck_assert_int_eq(access_nbf(u), 0);
    memset(&ev, 0, sizeof(ev));

    /* remove then add a member: still a member, nothing written, no cut-off of its tokens */
    ck_assert_int_eq(patch_group(g, GH_OK, PREMOVE("%s") "," PADD("%s"), u, u), 2);
    ck_assert_str_eq(member_list(g), u);
    ck_assert_int_eq(access_nbf(u), 0);
    ck_assert_int_eq(patch_group(g, GH_OK, PREMOVE_FLAG("%s") "," PADD("%s"), u, u), 2);
    ck_assert_int_eq(access_nbf(u), 0);
    /* add then remove a non-member: not a member, nothing written */
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s") "," PREMOVE("%s"), v, v), 2);
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s") "," PREMOVE_FLAG("%s"), v, v), 2);
    ck_assert_str_eq(member_list(g), u);
    ck_assert_str_eq(ev.log, "");
    /* ... and left no cut-off: added later, v's older tokens count */
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s"), v), 3);
    ck_assert_int_eq(access_nbf(v), 0);

    /* add then remove a member: removed, with its cut-off */
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s") "," PREMOVE("%s"), u, u), 4);
    ck_assert_str_eq(member_list(g), v);
    ck_assert_int_eq(access_nbf(u), -1);
    /* replace then add: both; add then replace: only the replacement */
    ck_assert_int_eq(patch_group(g, GH_OK, PREPLACE("%s") "," PADD("%s"), u, w), 5);
    snprintf(want, sizeof(want), "%s,%s", strcmp(u, w) < 0 ? u : w, strcmp(u, w) < 0 ? w : u);
    ck_assert_str_eq(member_list(g), want);
    ck_assert_int_ge(access_nbf(u), now + 1); /* back, but the removal's cut-off stays */
    ck_assert_int_le(access_nbf(u), now + 3);
    ck_assert_int_eq(access_nbf(v), -1); /* replaced away */
    ck_assert_int_eq(access_nbf(w), 0);
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s") "," PREPLACE("%s"), v, w), 6);
    ck_assert_str_eq(member_list(g), w);
    ck_assert_int_eq(access_nbf(w), 0);
    /* replace with a list then remove from it */
    ck_assert_int_eq(patch_group(g, GH_OK, PREPLACE("%s") "," PREMOVE_FLAG("%s"), w, w), 7);
    ck_assert_str_eq(member_list(g), "");
    ck_assert_int_eq(access_nbf(u), -1);

    /* every op is checked, also one a later op undoes: an unknown id fails the whole PATCH */
    patch_group(g, GH_E_INVALID, PADD("%s") "," PADD("nope") "," PREMOVE("nope"), u);
    patch_group(g, GH_E_INVALID, PADD("%s") "," PREPLACE("nope") "," PREPLACE("%s"), u, u);
    patch_group(g, GH_E_INVALID, PADD("%s") "," PREMOVE("%s"), g, g); /* not its own member */
    ck_assert_str_eq(member_list(g), "");
    ck_assert_int_eq(patch_group(g, GH_OK, PREMOVE("%s"), u), 7);
    /* v, replaced away above, comes back with that removal's cut-off */
    ck_assert_int_eq(patch_group(g, GH_OK, PADD("%s"), v), 8);
    ck_assert_int_ge(access_nbf(v), now + 1);
    ck_assert_int_le(access_nbf(v), now + 3);
    /* the listener hears of the members a replace took out, too */
    ck_assert_str_eq(ev.log, "members+(1) members-(1) members+(2) members-(1) members-(1) "
                             "members-(1) members+(1)");
}
END_TEST

START_TEST(store_reopen_keeps_data)
{
    char a[40];
    struct store_rec rec = {0};
    struct gh_err err = {0};
    mk(SCIM_USER, "{\"userName\":\"persist@contoso.com\",\"title\":\"\\u00e9t\\u00e9\"}", a, GH_OK);
    store_close(st);
    ck_assert_int_eq(store_open(tgt.target, &st, &err), GH_OK);
    ck_assert_int_eq(store_schema_version(st), 4);
    ck_assert_int_eq(store_get(st, SCIM_USER, a, &rec, &err), GH_OK);
    ck_assert_ptr_nonnull(strstr(rec.body, "\"title\":\"\xc3\xa9t\xc3\xa9\""));
    store_rec_clear(&rec);
    const char *reason = NULL;
    ck_assert(store_ready(st, &reason));
}
END_TEST

START_TEST(store_list_paging)
{
    char id[40], name[64];
    struct store_query q = {0};
    struct store_rec_list l;
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "{\"userName\":\"u%02d@x\"}", i);
        mk(SCIM_USER, name, id, GH_OK);
    }
    q.start_index = 21;
    q.count = 10;
    ck_assert_int_eq(store_list(st, SCIM_USER, &q, &l, NULL), GH_OK);
    ck_assert_int_eq(l.total, 25);
    ck_assert_uint_eq(l.count, 5);
    ck_assert_ptr_nonnull(strstr(l.items[0].body, "u20@x"));
    store_rec_list_clear(&l);
    q.count = 0;
    ck_assert_int_eq(store_list(st, SCIM_USER, &q, &l, NULL), GH_OK);
    ck_assert_int_eq(l.total, 25);
    ck_assert_uint_eq(l.count, 0);
    store_rec_list_clear(&l);
}
END_TEST

/* One user with a pad-byte title; the status of the create. */
static enum gh_status mk_padded(int i, size_t pad, char id[STORE_ID_LEN + 1], struct gh_err *err)
{
    struct store_row row = {0};
    struct store_rec rec = {0};
    char *body = malloc(pad + 128), name[32];
    enum gh_status rc;
    int n = snprintf(body, 128, "{\"userName\":\"pad%d@x\",\"title\":\"", i);

    memset(body + n, 'p', pad);
    snprintf(body + n + pad, 8, "\"}");
    snprintf(name, sizeof(name), "pad%d@x", i);
    row.body = body;
    row.cols.name = name;
    rc = store_create(st, SCIM_USER, &row, NULL, &rec, err);
    if (rc == GH_OK)
        memcpy(id, rec.id, STORE_ID_LEN + 1);
    store_rec_clear(&rec);
    free(body);
    return rc;
}

static bool metrics_has(const char *line)
{
    struct gh_buf b;
    bool has;
    gh_buf_init(&b, 64 * 1024);
    store_metrics(st, &b);
    has = strstr(gh_buf_str(&b), line) != NULL;
    gh_buf_free(&b);
    return has;
}

static char log_lines[4096];

static void log_sink(void *ctx, enum gh_log_level level, const char *line, size_t len)
{
    size_t n = strlen(log_lines);
    (void)ctx;
    (void)level;
    snprintf(log_lines + n, sizeof(log_lines) - n, "%.*s\n", (int)len, line);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* An update that changes nothing (Entra's retry of a PATCH already applied). */
static enum gh_status noop_fn(void *ctx, const struct store_rec *cur, struct store_row *out_row,
                              struct store_members_change *out_members, struct gh_err *err)
{
    (void)ctx;
    (void)cur;
    (void)out_row;
    (void)out_members;
    (void)err;
    return GH_OK;
}

/* A write the file system refuses (EFBIG past RLIMIT_FSIZE, as SQLITE_FULL or SQLITE_IOERR) is
 * GH_E_UNAVAILABLE, not GH_E_STORE; the store reports itself not writable, still reads, and
 * clears the condition at the next committed write. Only the two transitions are logged. */
START_TEST(store_cannot_write_is_unavailable)
{
    char ids[64][STORE_ID_LEN + 1], id[STORE_ID_LEN + 1];
    struct gh_err err = {0}, err2 = {0};
    struct rlimit old, low;
    struct store_rec rec = {0};
    enum gh_status rc = GH_OK, rc_read, rc_after, rc_again, rc_noop;
    const char *reason = NULL;
    bool writable_during, metrics_during;
    void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
    int acked = 0;

    ck_assert(store_writable(st, &reason));
    ck_assert(metrics_has("\ngatehouse_store_writable 1\n"));
    log_lines[0] = '\0';
    gh_log_set_sink(log_sink, NULL);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 512 * 1024;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
    /* the limit is process-wide (CK_FORK=no under valgrind): restore it before any assert */
    while (acked < 64) {
        rc = mk_padded(acked, 32 * 1024, ids[acked], &err);
        if (rc != GH_OK)
            break;
        acked++;
    }
    /* a retry fails the same way */
    rc_again = mk_padded(acked, 32 * 1024, id, &err2);
    memset(&err2, 0, sizeof(err2));
    /* an update that writes nothing commits, but says nothing about the disk: still not
     * writable (it flipped the flag, and a retry flood logged every flip) */
    rc_noop =
        acked > 0 ? store_update(st, SCIM_USER, ids[0], noop_fn, NULL, &rec, &err2) : GH_E_INTERNAL;
    store_rec_clear(&rec);
    memset(&err2, 0, sizeof(err2));
    writable_during = store_writable(st, &reason);
    metrics_during = metrics_has("\ngatehouse_store_writable 0\n") &&
                     metrics_has("\ngatehouse_store_write_failures_total 2\n");
    rc_read = acked > 0 ? store_get(st, SCIM_USER, ids[0], &rec, &err2) : GH_E_INTERNAL;
    store_rec_clear(&rec);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_xfsz);

    ck_assert_msg(acked > 0 && acked < 64, "acked %d", acked);
    ck_assert_msg(rc == GH_E_UNAVAILABLE, "got %s: %s", gh_status_name(rc), err.msg);
    ck_assert_uint_eq(gh_status_http(rc), 503);
    ck_assert_int_eq(rc_again, GH_E_UNAVAILABLE);
    ck_assert_int_eq(rc_noop, GH_OK);
    ck_assert(!writable_during);
    ck_assert_ptr_nonnull(strstr(reason, "cannot write"));
    ck_assert(metrics_during);
    ck_assert_int_eq(rc_read, GH_OK);
    /* the refused user is not there; the next write commits and clears the condition */
    snprintf(id, sizeof(id), "pad%d@x", acked);
    ck_assert_int_eq(store_user_find(st, STORE_KEY_USER_NAME, id, &rec, NULL), GH_E_NOT_FOUND);
    memset(&err2, 0, sizeof(err2));
    rc_after = mk_padded(acked, 32 * 1024, id, &err2);
    ck_assert_msg(rc_after == GH_OK, "%s", err2.msg);
    ck_assert(store_writable(st, &reason));
    ck_assert(metrics_has("\ngatehouse_store_writable 1\n"));
    gh_log_set_sink(NULL, NULL);
    ck_assert_msg(count_of(log_lines, "store cannot write") == 1 &&
                      count_of(log_lines, "store writable again") == 1,
                  "%s", log_lines);
}
END_TEST

/* ---- the link key: one definition (store_name_key), stored in groups.name_key (issue 10) ---- */

static const struct {
    const char *name, *key;
} name_keys[] = {
    {"Payroll", "payroll"},
    {" \t\n\v\f\rMixed Case GROUP \r\n", "mixed case group"},
    {"Payroll  Analysts", "payroll  analysts"},              /* inner whitespace is kept */
    {"CAFÉ Team", "cafÉ team"},                              /* non-ASCII case is not folded */
    {"Cafe\xcc\x81", "cafe\xcc\x81"},                        /* NFD stays NFD */
    {"\xef\xbc\xb0\x61yroll", "\xef\xbc\xb0\x61yroll"},      /* fullwidth P is not ASCII */
    {"\xc2\xa0Pay\xc2\xa0roll ", "\xc2\xa0pay\xc2\xa0roll"}, /* no-break space is not trimmed */
    {"ABC-def_123\t", "abc-def_123"},
};

/* name_key of group id, read with a connection of the test's own (caller frees). */
static char *stored_key(const char *id)
{
    char key[256];
    ck_assert(gh_test_store_query(&tgt, "SELECT name_key FROM groups WHERE id = $1", id, key,
                                  sizeof(key)));
    return strdup(key);
}

static enum gh_status name_key_rename_fn(void *ctx, const struct store_rec *cur,
                                         struct store_row *row, struct store_members_change *mc,
                                         struct gh_err *err)
{
    (void)cur, (void)mc, (void)err;
    row->cols.name = ctx;
    row->body = "{\"renamed\":true}"; /* a body that did not change is not written */
    return GH_OK;
}

START_TEST(name_key_is_the_c_key)
{
    for (size_t i = 0; i < sizeof(name_keys) / sizeof(name_keys[0]); i++) {
        struct gh_err err = {0};
        struct store_row row = {.body = "{}", .cols = {.name = name_keys[i].name}};
        struct store_rec rec = {0};
        char id[STORE_ID_LEN + 1], key[128], renamed[128], *got;

        ck_assert_uint_eq(store_name_key(name_keys[i].name, key, sizeof(key)),
                          strlen(name_keys[i].key));
        ck_assert_msg(strcmp(key, name_keys[i].key) == 0, "case %zu: %s", i, key);
        ck_assert_msg(store_create(st, STORE_GROUP, &row, NULL, &rec, &err) == GH_OK, "%s",
                      err.msg);
        memcpy(id, rec.id, sizeof(id));
        store_rec_clear(&rec);
        got = stored_key(id);
        ck_assert_msg(strcmp(got, key) == 0, "case %zu: stored %s", i, got);
        free(got);
        /* a rename stores the key of the new name */
        snprintf(renamed, sizeof(renamed), "\tRe%s", name_keys[i].name);
        ck_assert_msg(store_update(st, STORE_GROUP, id, name_key_rename_fn, renamed, &rec, &err) ==
                          GH_OK,
                      "%s", err.msg);
        store_rec_clear(&rec);
        store_name_key(renamed, key, sizeof(key));
        got = stored_key(id);
        ck_assert_msg(strcmp(got, key) == 0, "case %zu: renamed, stored %s", i, got);
        free(got);
    }
}
END_TEST

/* exec sql on db or fail the test */
static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_free(msg);
}

/* The display name of the group linked to access group key, or "" (static buffer). */
static const char *linked_name(const char *path, const char *key)
{
    static char name[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT g.display_name FROM access_group_links l "
                                        "JOIN groups g ON g.id = l.group_id WHERE l.key = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    name[0] = '\0';
    if (sqlite3_step(q) == SQLITE_ROW)
        snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return name;
}

/* A database written by schema version 2 (the key restated in SQL) migrates: every group gets the
 * C key, links made under version 2 stay, and the version 3 triggers link on the backfilled
 * keys. */
START_TEST(name_key_schema_2_migrates)
{
    char path[160];
    sqlite3 *db = NULL;
    struct store *s3 = NULL;
    struct gh_err err = {0};
    sqlite3_stmt *q = NULL;
    int rows = 0;

    snprintf(path, sizeof(path), "%s/v2.db", tgt.dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    exec_ok(db, "PRAGMA foreign_keys=ON");
    for (int v = 0; v < 2; v++) {
        exec_ok(db, "BEGIN");
        exec_ok(db, store_sqlite_migrations[v]);
        exec_ok(db, "COMMIT");
    }
    exec_ok(db, "PRAGMA user_version = 2");
    for (size_t i = 0; i < sizeof(name_keys) / sizeof(name_keys[0]); i++) {
        char *ins = sqlite3_mprintf("INSERT INTO groups(id, display_name, version, created, "
                                    "modified, body) VALUES ('g%d', %Q, 1, 't', 't', '{}')",
                                    (int)i, name_keys[i].name);
        exec_ok(db, ins);
        sqlite3_free(ins);
    }
    exec_ok(db, "INSERT INTO groups(id, display_name, version, created, modified, body) VALUES "
                "('o1', 'Ops', 1, 't', 't', '{}'), ('o2', ' OPS', 1, 't', 't', '{}'), "
                "('f1', 'Finance\t', 1, 't', 't', '{}');"
                "INSERT INTO access_groups(key, name, source, grants, created) VALUES "
                "('payroll', 'Payroll', 'file', '[]', 't'), ('ops', 'Ops', 'file', '[]', 't');");
    sqlite3_close(db);
    ck_assert_str_eq(linked_name(path, "payroll"), "Payroll");
    ck_assert_str_eq(linked_name(path, "ops"), ""); /* two groups have the key */

    ck_assert_msg(store_open(path, &s3, &err) == GH_OK, "%s", err.msg);
    ck_assert_int_eq(store_schema_version(s3), 4);
    /* every stored key is the C key of its name */
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(db,
                           "SELECT display_name, name_key, "
                           "lower(trim(display_name, char(9,10,11,12,13,32))) FROM groups",
                           -1, &q, NULL),
        SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        char key[128];
        store_name_key((const char *)sqlite3_column_text(q, 0), key, sizeof(key));
        ck_assert_ptr_nonnull(sqlite3_column_text(q, 1));
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 1), key);
        /* and the key version 2 computed in SQL: no link changes meaning in the migration */
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 2), key);
        rows++;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    ck_assert_int_eq(rows, (int)(sizeof(name_keys) / sizeof(name_keys[0])) + 3);
    ck_assert_str_eq(linked_name(path, "payroll"), "Payroll");
    /* the ambiguity ends: the one left is linked, found by its backfilled key */
    ck_assert_int_eq(store_delete(s3, STORE_GROUP, "o2", -1, &err), GH_OK);
    ck_assert_str_eq(linked_name(path, "ops"), "Ops");
    /* an access group created now links the backfilled group with its key */
    {
        struct store_access_group_def def = {.key = "finance", .name = "Finance", .grants = "[]"};
        ck_assert_int_eq(store_access_group_create(s3, &def, &err), GH_OK);
    }
    ck_assert_str_eq(linked_name(path, "finance"), "Finance\t");
    store_close(s3);
}
END_TEST

/* migrate-store with a --from that names no file (a typo) must not create an empty SQLite store
 * there and copy it: it answered "copied ... 0 users ... verified" and exit 0, and the fleet
 * was deployed on an empty directory. */
START_TEST(migrate_from_a_missing_file_is_refused)
{
    char *dir = gh_tmpdir_new();
    char from[600], to[600];
    struct store_migrate_report rep;
    struct gh_err err = {0};
    enum gh_status rc;

    snprintf(from, sizeof(from), "%s/typo.db", dir);
    snprintf(to, sizeof(to), "%s",
             gh_test_pg_url() != NULL ? gh_test_pg_url() : "postgresql://127.0.0.1:1/none");
    rc = store_migrate(from, to, &rep, &err);
    ck_assert_msg(rc == GH_E_INVALID, "%d %s", rc, err.msg);
    ck_assert_msg(strstr(err.msg, "typo.db") != NULL, "%s", err.msg);
    ck_assert_msg(access(from, F_OK) != 0, "migrate-store created %s", from);
    gh_tmpdir_remove(dir);
}
END_TEST

/* The tests every backend passes. */
static void store_matrix(TCase *tc)
{
    tcase_add_test(tc, store_crud_and_lookups);
    tcase_add_test(tc, store_patch_members_in_order);
    tcase_add_test(tc, store_reopen_keeps_data);
    tcase_add_test(tc, store_list_paging);
    tcase_add_test(tc, name_key_is_the_c_key);
}

Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("sqlite");
    tcase_add_checked_fixture(tc, setup_sqlite, teardown);
    store_matrix(tc);
    /* SQLite only: a file system that refuses writes, and files of older schema versions */
    tcase_add_test(tc, store_cannot_write_is_unavailable);
    tcase_add_test(tc, name_key_schema_2_migrates);
    tcase_add_test(tc, migrate_from_a_missing_file_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

Suite *store_pg_suite(void)
{
    Suite *s = suite_create("store_pg");
    TCase *tc;
    if (gh_test_pg_url() == NULL) {
        fprintf(stderr, "store_pg: skipped: GATEHOUSE_TEST_PG is not set (make unit-pg sets it)\n");
        return s;
    }
    tc = tcase_create("postgresql");
    tcase_add_checked_fixture(tc, setup_pg, teardown);
    tcase_set_timeout(tc, 30);
    store_matrix(tc);
    suite_add_tcase(s, tc);
    return s;
}
