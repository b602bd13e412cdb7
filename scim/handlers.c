/*
 * handlers.c - the SCIM 2.0 HTTP surface (RFC 7644 §3) under /scim/v2, as Microsoft Entra ID's
 * provisioning client uses it (ENTRA.md §1):
 *   /Users, /Groups                POST, GET (list: filter, startIndex, count, sortBy, sortOrder,
 *                                  attributes, excludedAttributes)
 *   /Users/{id}, /Groups/{id}      GET, PUT, PATCH, DELETE (If-Match honoured: 412)
 *   /ServiceProviderConfig, /ResourceTypes[/name], /Schemas[/urn]
 * Endpoint names match in any case and /serviceConfiguration is ServiceProviderConfig
 * (router.c), so the handlers skip the name by its length, never by comparing it.
 * Every request is authenticated with the SCIM bearer secret (constant-time digest compare,
 * config.c), every response is application/scim+json, every error a SCIM Error (error.c).
 * Every operation is safe to repeat: creates of a taken name answer 409, updates that change
 * nothing leave the version as it was, deletes of a missing resource answer 404.
 */
#include "core/core.h"
#include "scim/activity_int.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_BASE          "/scim/v2"
#define SCIM_DEFAULT_COUNT 100

/* ---- plumbing ---- */

/* The store of the request's SCIM context (borrowed). */
static struct store *scim_req_store(const struct gh_req *r)
{
    const struct scim_ctx *sx = gh_req_ctx(r);
    return sx->store;
}

/* Authenticate the request: a Bearer credential whose SHA-256 matches a configured SCIM
 * secret. The credential is checked first, so the right secret passes even from an address
 * over its failure budget; a wrong one counts against the address and is answered 401, or 429
 * once the budget is spent (core/authfail.c). The token is never logged; the reason is. The
 * route table names this as every SCIM route's credential (sidecar/router.c), so the HTTP layer
 * runs it when the headers are complete, before any body byte is read; the handlers do not run
 * it again. Thread-safe. */
enum gh_status scim_auth(struct gh_req *r, struct gh_err *err)
{
    const struct scim_ctx *sx = gh_req_ctx(r);
    struct gh_err why = {0};
    const char *tok = NULL;
    size_t len = 0;
    enum gh_status st;

    st = gh_req_bearer(r, &tok, &len, &why);
    if (st == GH_OK && !gh_secret_set_matches(sx->token, tok, len))
        st = GH_ERR(&why, GH_E_UNAUTHORIZED, "the SCIM bearer token is not valid");
    if (st)
        st = gh_authfail_reject(sx->authfail, r, GH_AUTHFAIL_SCIM, &why, err);
    return st;
}

/* The absolute URL of path under the SCIM base, for meta.location and Location. The scheme
 * follows X-Forwarded-Proto (a TLS front) or our own listener. */
static const char *scim_url(struct gh_req *r, const char *endpoint, const char *id)
{
    const struct scim_ctx *sx = gh_req_ctx(r);
    const char *host = gh_req_header(r, "Host");
    const char *proto = gh_req_header(r, "X-Forwarded-Proto");

    if (proto == NULL || (strcmp(proto, "https") != 0 && strcmp(proto, "http") != 0))
        proto = sx->tls ? "https" : "http";
    if (host == NULL || strpbrk(host, "/\\ \"") != NULL)
        host = "localhost";
    return gh_arena_printf(gh_req_arena(r), "%s://%s%s%s%s%s", proto, host, SCIM_BASE, endpoint,
                           id ? "/" : "", id ? id : "");
}

/* X-Gatehouse-Revision: the store revision this process's index is at, which after a write is
 * at least that write's (store.h): a client may pass it as min_revision to a decision on any
 * replica to read its own write there. */
static void scim_reply_revision(struct gh_req *r)
{
    const struct scim_ctx *sx = gh_req_ctx(r);
    char rev[24];
    if (sx == NULL || sx->store == NULL)
        return;
    snprintf(rev, sizeof(rev), "%lld", (long long)store_revision(sx->store));
    gh_reply_header(r, SCIM_REVISION_HEADER, rev);
}

static void scim_reply(struct gh_req *r, unsigned status, cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    scim_reply_revision(r);
    cJSON_Delete(body);
    if (text == NULL) { /* cJSON could not allocate */
        gh_reply(r, 500, SCIM_CONTENT_TYPE, "", 0);
        scim_activity_note(r);
        return;
    }
    gh_reply(r, status, SCIM_CONTENT_TYPE, text, strlen(text));
    cJSON_free(text);
    scim_activity_note(r);
}

static void scim_reply_empty(struct gh_req *r, unsigned status)
{
    scim_reply_revision(r);
    gh_reply(r, status, SCIM_CONTENT_TYPE, "", 0);
    scim_activity_note(r);
}

static enum gh_status scim_invalid(struct gh_err *err, const char *scim_type, const char *msg)
{
    GH_ERR(err, GH_E_INVALID, "%s", msg);
    gh_err_set_scim_type(err, scim_type);
    return GH_E_INVALID;
}

/* The request body as strict JSON; any failure is invalidSyntax. Attribute names are
 * case-insensitive (RFC 7643 §2.1), so "active" and "Active" in one object are the same
 * attribute twice and refused like any repeated name. Caller deletes *out. */
static enum gh_status scim_body(struct gh_req *r, cJSON **out, struct gh_err *err)
{
    size_t len = 0;
    const char *body = gh_req_body(r, &len);
    enum gh_status st = gh_json_parse(body, len, GH_JSON_NAMES_NOCASE, "request body", out, err);
    if (st)
        gh_err_set_scim_type(err, SCIM_ST_INVALID_SYNTAX);
    return st;
}

/* An integer query parameter (absent or empty: def). */
static enum gh_status scim_query_int(const char *v, const char *name, long long def, long long *out,
                                     struct gh_err *err)
{
    char *end;
    long long n;

    *out = def;
    if (v == NULL || *v == '\0')
        return GH_OK;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v)
        return scim_invalid(err, SCIM_ST_INVALID_VALUE,
                            strcmp(name, "count") == 0 ? "count must be an integer"
                                                       : "startIndex must be an integer");
    *out = n;
    return GH_OK;
}

/* Does If-Match (absent: yes) name this version? A list of tags and "*" are understood. */
static bool scim_if_match(struct gh_req *r, int64_t version)
{
    const char *h = gh_req_header(r, "If-Match");
    const char *p = h;

    if (h == NULL)
        return true;
    while (p != NULL && *p != '\0') {
        bool any = false;
        int64_t v = -1;
        if (scim_etag_parse(p, &any, &v) && (any || v == version))
            return true;
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return false;
}

static enum gh_status scim_precondition(struct gh_err *err)
{
    return GH_ERR(err, GH_E_PRECONDITION,
                  "If-Match does not match the resource's current version (ETag)");
}

static void scim_etag_header(struct gh_req *r, int64_t version)
{
    char etag[40];
    scim_etag_format(version, etag, sizeof(etag));
    gh_reply_header(r, "ETag", etag);
}

/* ---- rendering a stored resource ---- */

struct scim_members_out {
    struct gh_req *r;
    cJSON *arr;
    bool groups_of_user; /* rendering User.groups rather than Group.members */
};

static void scim_member_render(void *ctx, const char *id, enum store_kind type, const char *display)
{
    struct scim_members_out *m = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "value", id);
    if (display != NULL)
        cJSON_AddStringToObject(o, "display", display);
    /* members name their kind; a user's groups say "direct" (no nested expansion) */
    cJSON_AddStringToObject(o, "type",
                            m->groups_of_user    ? "direct"
                            : type == STORE_USER ? "User"
                                                 : "Group");
    cJSON_AddStringToObject(o, "$ref",
                            scim_url(m->r, type == STORE_USER ? "/Users" : "/Groups", id));
    cJSON_AddItemToArray(m->arr, o);
}

/*
 * The response form of a stored resource: schemas, id, the body as stored, members (groups,
 * unless projected away), meta. Caller owns the result.
 */
static enum gh_status scim_render(struct gh_req *r, enum store_kind kind,
                                  const struct store_rec *rec, const struct scim_projection *proj,
                                  cJSON **out, struct gh_err *err)
{
    const struct scim_rtype *rt = scim_rtype_get(kind);
    struct store *store = scim_req_store(r);
    cJSON *body = cJSON_Parse(rec->body);
    cJSON *res = cJSON_CreateObject();
    cJSON *meta, *schemas;
    char etag[40];
    enum gh_status st = GH_OK;

    if (body == NULL) {
        st = GH_ERR(err, GH_E_STORE, "stored body of %s is not JSON", rec->id);
        goto out;
    }
    schemas = cJSON_DetachItemFromObjectCaseSensitive(body, "schemas");
    cJSON_AddItemToObject(res, "schemas", schemas ? schemas : cJSON_CreateArray());
    cJSON_AddStringToObject(res, "id", rec->id);
    while (body->child != NULL)
        cJSON_AddItemToArray(res, cJSON_DetachItemViaPointer(body, body->child));
    cJSON_Delete(body);
    if (kind == SCIM_GROUP && (proj == NULL || scim_projection_wants(proj, NULL, "members"))) {
        struct scim_members_out m = {r, cJSON_CreateArray(), false};
        st = store_group_members(store, rec->id, scim_member_render, &m, err);
        if (st) {
            cJSON_Delete(m.arr);
            goto out;
        }
        if (m.arr->child != NULL)
            cJSON_AddItemToObject(res, "members", m.arr);
        else
            cJSON_Delete(m.arr); /* no members: omitted rather than [] */
    }
    if (kind == SCIM_USER && (proj == NULL || scim_projection_wants(proj, NULL, "groups"))) {
        /* the readOnly "groups" attribute (RFC 7643 §4.1.2): direct memberships */
        struct scim_members_out m = {r, cJSON_CreateArray(), true};
        st = store_user_groups(store, rec->id, scim_member_render, &m, err);
        if (st) {
            cJSON_Delete(m.arr);
            goto out;
        }
        if (m.arr->child != NULL)
            cJSON_AddItemToObject(res, "groups", m.arr);
        else
            cJSON_Delete(m.arr);
    }
    meta = cJSON_AddObjectToObject(res, "meta");
    cJSON_AddStringToObject(meta, "resourceType", rt->name);
    cJSON_AddStringToObject(meta, "created", rec->created);
    cJSON_AddStringToObject(meta, "lastModified", rec->modified);
    cJSON_AddStringToObject(meta, "location", scim_url(r, rt->endpoint, rec->id));
    scim_etag_format(rec->version, etag, sizeof(etag));
    cJSON_AddStringToObject(meta, "version", etag);
    if (proj != NULL)
        scim_projection_apply(proj, res);
    *out = res;
    res = NULL;
out:
    cJSON_Delete(res);
    return st;
}

static enum gh_status scim_projection(struct gh_req *r, enum store_kind kind,
                                      struct scim_projection *out, struct gh_err *err)
{
    return scim_projection_parse(gh_req_arena(r), kind, gh_req_query(r, "attributes"),
                                 gh_req_query(r, "excludedAttributes"), out, err);
}

static enum gh_status scim_reply_rec(struct gh_req *r, enum store_kind kind, unsigned status,
                                     const struct store_rec *rec, struct gh_err *err)
{
    struct scim_projection proj;
    cJSON *res = NULL;
    enum gh_status st;

    st = scim_projection(r, kind, &proj, err);
    if (st)
        return st;
    st = scim_render(r, kind, rec, &proj, &res, err);
    if (st)
        return st;
    scim_etag_header(r, rec->version);
    if (status == 201)
        gh_reply_header(r, "Location", scim_url(r, scim_rtype_get(kind)->endpoint, rec->id));
    scim_reply(r, status, res);
    return GH_OK;
}

/* ---- members of a request body ---- */

/* Ids of a members array already checked by scim_members_check; arena-owned. */
static void scim_member_ids(struct gh_req *r, const cJSON *members, struct store_members_change *m)
{
    const cJSON *e;
    size_t n = (size_t)cJSON_GetArraySize(members), i = 0;
    const char **ids = gh_arena_alloc(gh_req_arena(r), (n ? n : 1) * sizeof(*ids));

    cJSON_ArrayForEach(e, members)
    {
        ids[i++] = gh_arena_strdup(gh_req_arena(r), cJSON_GetObjectItem(e, "value")->valuestring);
    }
    m->add = ids;
    m->add_count = i;
}

/* ---- collection: POST, GET ---- */

static enum gh_status scim_create(struct gh_req *r, enum store_kind kind, struct gh_err *err)
{
    struct store *store = scim_req_store(r);
    struct store_members_change mc = {0};
    struct scim_projection proj;
    struct store_row row = {0};
    struct store_rec rec = {0};
    cJSON *body = NULL, *members = NULL;
    char *text = NULL;
    enum gh_status st;

    /* a bad attributes/excludedAttributes is refused before the write, not after it */
    st = scim_projection(r, kind, &proj, err);
    if (st == GH_OK)
        st = scim_body(r, &body, err);
    if (st)
        goto out;
    st = scim_resource_normalize(kind, body, &members, &row.cols, err);
    if (st)
        goto out;
    if (members != NULL)
        scim_member_ids(r, members, &mc);
    text = cJSON_PrintUnformatted(body);
    row.body = text;
    st = store_create(store, kind, &row, &mc, &rec, err);
    if (st)
        goto out;
    st = scim_reply_rec(r, kind, 201, &rec, err);
out:
    store_rec_clear(&rec);
    cJSON_free(text);
    cJSON_Delete(members);
    cJSON_Delete(body);
    return st;
}

/*
 * Parse the query of a list request (GET /Users, /Groups; see scim.h). The checks run in a fixed
 * order so the first bad parameter is the one reported: startIndex, count, filter, sortBy,
 * attributes/excludedAttributes. Everything *out_q points to lives in a.
 */
enum gh_status scim_list_params_parse(struct gh_arena *a, enum store_kind kind,
                                      const struct scim_list_params *in, struct store_query *out_q,
                                      struct scim_projection *out_proj, struct gh_err *err)
{
    const char *filter = in->filter;
    const char *sort_by = in->sort_by;
    const char *sort_order = in->sort_order;
    struct store_query q = {0};
    struct scim_path sort;
    struct store_path *sort_to;
    long long start, count;
    struct store_filter *f = NULL;
    enum gh_status st;

    st = scim_query_int(in->start_index, "startIndex", 1, &start, err);
    if (st == GH_OK)
        st = scim_query_int(in->count, "count", SCIM_DEFAULT_COUNT, &count, err);
    if (st)
        return st;
    /* RFC 7644 §3.4.2.4: startIndex < 1 means 1, count < 0 means 0; count is capped at the
     * advertised maxResults so one request cannot pull the whole directory. */
    if (start < 1)
        start = 1;
    if (count < 0)
        count = 0;
    if (count > GH_CAP_SCIM_COUNT)
        count = GH_CAP_SCIM_COUNT;
    if (filter != NULL && *filter != '\0') {
        st = scim_filter_parse(a, kind, filter, &f, err);
        if (st)
            return st;
    }
    if (sort_by != NULL && *sort_by != '\0') {
        st = scim_filter_path_parse(a, kind, sort_by, &sort, err);
        if (st == GH_OK && (sort.attr == NULL || sort.vfilter != NULL))
            st = scim_invalid(err, SCIM_ST_INVALID_PATH, "sortBy must name an attribute");
        if (st)
            return st;
        sort_to = gh_arena_alloc(a, sizeof(*sort_to));
        scim_path_to_store(&sort, sort_to);
        q.sort_by = sort_to;
        q.descending = sort_order != NULL && strcasecmp(sort_order, "descending") == 0;
    }
    st = scim_projection_parse(a, kind, in->attributes, in->excluded, out_proj, err);
    if (st)
        return st;
    q.filter = f;
    q.start_index = start;
    q.count = count;
    *out_q = q;
    return GH_OK;
}

static enum gh_status scim_list(struct gh_req *r, enum store_kind kind, struct gh_err *err)
{
    struct store *store = scim_req_store(r);
    struct scim_list_params in = {
        .filter = gh_req_query(r, "filter"),
        .start_index = gh_req_query(r, "startIndex"),
        .count = gh_req_query(r, "count"),
        .sort_by = gh_req_query(r, "sortBy"),
        .sort_order = gh_req_query(r, "sortOrder"),
        .attributes = gh_req_query(r, "attributes"),
        .excluded = gh_req_query(r, "excludedAttributes"),
    };
    struct store_query q = {0};
    struct scim_projection proj;
    struct store_rec_list l = {0};
    cJSON *res, *list;
    enum gh_status st;

    st = scim_list_params_parse(gh_req_arena(r), kind, &in, &q, &proj, err);
    if (st)
        return st;
    st = store_list(store, kind, &q, &l, err);
    if (st)
        return st;

    res = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(res, "schemas"), cJSON_CreateString(SCIM_MSG_LIST));
    cJSON_AddNumberToObject(res, "totalResults", (double)l.total);
    cJSON_AddNumberToObject(res, "startIndex", (double)q.start_index);
    cJSON_AddNumberToObject(res, "itemsPerPage", (double)l.count);
    list = cJSON_AddArrayToObject(res, "Resources");
    for (size_t i = 0; i < l.count && st == GH_OK; i++) {
        cJSON *one = NULL;
        st = scim_render(r, kind, &l.items[i], &proj, &one, err);
        if (st == GH_OK)
            cJSON_AddItemToArray(list, one);
    }
    store_rec_list_clear(&l);
    if (st) {
        cJSON_Delete(res);
        return st;
    }
    scim_reply(r, 200, res);
    return GH_OK;
}

/* ---- one resource: GET, PUT, PATCH, DELETE ---- */

static enum gh_status scim_get(struct gh_req *r, enum store_kind kind, const char *id,
                               struct gh_err *err)
{
    struct store_rec rec = {0};
    enum gh_status st;

    st = store_get(scim_req_store(r), kind, id, &rec, err);
    if (st == GH_OK)
        st = scim_reply_rec(r, kind, 200, &rec, err);
    store_rec_clear(&rec);
    return st;
}

/* State shared with the store's update callback (runs inside the write transaction). */
struct scim_upd {
    struct gh_req *r;
    enum store_kind kind;
    cJSON *put;         /* PUT: the normalised body */
    cJSON *put_members; /* PUT (groups): members given, or NULL */
    struct store_cols put_cols;
    const cJSON *patch; /* PATCH: the PatchOp message */
    cJSON *res;         /* PATCH: the patched body (kept until the store has copied it) */
    char *text;         /* the new body's text */
    struct scim_patch_members pm;
};

static enum gh_status scim_upd_put(void *ctx, const struct store_rec *cur, struct store_row *row,
                                   struct store_members_change *mc, struct gh_err *err)
{
    struct scim_upd *u = ctx;

    if (!scim_if_match(u->r, cur->version))
        return scim_precondition(err);
    row->body = u->text;
    row->cols = u->put_cols;
    if (u->kind == SCIM_GROUP) {
        /* PUT replaces the resource: the members given, or none (RFC 7644 §3.5.1) */
        mc->replace = true;
        if (u->put_members != NULL)
            scim_member_ids(u->r, u->put_members, mc);
    }
    return GH_OK;
}

static enum gh_status scim_upd_patch(void *ctx, const struct store_rec *cur, struct store_row *row,
                                     struct store_members_change *mc, struct gh_err *err)
{
    struct scim_upd *u = ctx;
    enum gh_status st;

    if (!scim_if_match(u->r, cur->version))
        return scim_precondition(err);
    u->res = cJSON_Parse(cur->body);
    if (u->res == NULL)
        return GH_ERR(err, GH_E_STORE, "stored body of %s is not JSON", cur->id);
    scim_resource_conform(u->kind, u->res);
    st = scim_patch_apply(gh_req_arena(u->r), u->kind, u->res, u->patch, &u->pm, err);
    if (st)
        return st;
    st = scim_resource_normalize(u->kind, u->res, NULL, &row->cols, err);
    if (st)
        return st;
    u->text = cJSON_PrintUnformatted(u->res);
    row->body = u->text;
    mc->replace = u->pm.replace;
    mc->add = u->pm.add;
    mc->add_count = u->pm.add_count;
    mc->remove = u->pm.remove;
    mc->remove_count = u->pm.remove_count;
    mc->check = u->pm.check;
    mc->check_count = u->pm.check_count;
    return GH_OK;
}

static enum gh_status scim_update(struct gh_req *r, enum store_kind kind, const char *id,
                                  bool patch, struct gh_err *err)
{
    struct scim_upd u = {.r = r, .kind = kind};
    struct scim_projection proj;
    struct store_rec rec = {0};
    cJSON *body = NULL;
    enum gh_status st;

    st = scim_projection(r, kind, &proj, err); /* refused before the write (scim_create) */
    if (st == GH_OK)
        st = scim_body(r, &body, err);
    if (st)
        goto out;
    if (patch) {
        u.patch = body;
        st = store_update(scim_req_store(r), kind, id, scim_upd_patch, &u, &rec, err);
    } else {
        st = scim_resource_normalize(kind, body, &u.put_members, &u.put_cols, err);
        if (st)
            goto out;
        u.put = body;
        u.text = cJSON_PrintUnformatted(body);
        st = store_update(scim_req_store(r), kind, id, scim_upd_put, &u, &rec, err);
    }
    if (st)
        goto out;
    if (patch && kind == SCIM_GROUP) {
        /* ENTRA.md §1.20: a group PATCH answers 204; returning the members is not advised */
        scim_etag_header(r, rec.version);
        scim_reply_empty(r, 204);
    } else {
        st = scim_reply_rec(r, kind, 200, &rec, err);
    }
out:
    store_rec_clear(&rec);
    cJSON_free(u.text);
    cJSON_Delete(u.res);
    cJSON_Delete(u.put_members);
    cJSON_Delete(body);
    return st;
}

static enum gh_status scim_delete(struct gh_req *r, enum store_kind kind, const char *id,
                                  struct gh_err *err)
{
    struct store *store = scim_req_store(r);
    struct store_rec rec = {0};
    int64_t expect = -1;
    enum gh_status st;

    if (gh_req_header(r, "If-Match") != NULL) {
        st = store_get(store, kind, id, &rec, err);
        if (st)
            return st;
        expect = rec.version;
        store_rec_clear(&rec);
        if (!scim_if_match(r, expect))
            return scim_precondition(err);
    }
    st = store_delete(store, kind, id, expect, err);
    if (st)
        return st;
    scim_reply_empty(r, 204);
    return GH_OK;
}

/* ---- dispatch ---- */

static enum gh_status scim_method_not_allowed(struct gh_req *r, const char *allow,
                                              struct gh_err *err)
{
    gh_reply_header(r, "Allow", allow);
    return GH_ERR(err, GH_E_METHOD, "method not allowed on this path");
}

static enum gh_status scim_resource(struct gh_req *r, enum store_kind kind, struct gh_err *err)
{
    const struct scim_rtype *rt = scim_rtype_get(kind);
    const char *method = gh_req_method(r);
    const char *path = gh_req_path(r) + strlen(SCIM_BASE) + strlen(rt->endpoint);
    const char *id = NULL;

    if (*path == '/')
        path++;
    if (*path != '\0') {
        if (strchr(path, '/') != NULL)
            return GH_ERR(err, GH_E_NOT_FOUND, "no such SCIM path");
        id = path;
    }
    if (id == NULL) {
        if (strcmp(method, "POST") == 0)
            return scim_create(r, kind, err);
        if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
            return scim_list(r, kind, err);
        return scim_method_not_allowed(r, "GET, HEAD, POST", err);
    }
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return scim_get(r, kind, id, err);
    if (strcmp(method, "PUT") == 0)
        return scim_update(r, kind, id, false, err);
    if (strcmp(method, "PATCH") == 0)
        return scim_update(r, kind, id, true, err);
    if (strcmp(method, "DELETE") == 0)
        return scim_delete(r, kind, id, err);
    return scim_method_not_allowed(r, "GET, HEAD, PUT, PATCH, DELETE", err);
}

/* /scim/v2/Users and /scim/v2/Users/{id}, every method. */
enum gh_status scim_handle_users(struct gh_req *r, struct gh_err *err)
{
    return scim_resource(r, SCIM_USER, err);
}

/* /scim/v2/Groups and /scim/v2/Groups/{id}, every method. */
enum gh_status scim_handle_groups(struct gh_req *r, struct gh_err *err)
{
    return scim_resource(r, SCIM_GROUP, err);
}

/* Any other method or path under /scim: a SCIM 405 when other routes serve the path, else a
 * SCIM 404 (unauthenticated callers got the 401 first, from scim_auth). */
enum gh_status scim_handle_unknown(struct gh_req *r, struct gh_err *err)
{
    char allow[96];

    gh_req_allow(r, allow, sizeof(allow));
    if (allow[0] != '\0')
        return scim_method_not_allowed(r, allow, err);
    return GH_ERR(err, GH_E_NOT_FOUND, "no such SCIM endpoint");
}

/* ---- discovery (RFC 7644 §4, RFC 7643 §5-7) ---- */

static cJSON *scim_schema_json(struct gh_req *r, const struct scim_schema *s)
{
    cJSON *o = scim_schema_to_json(s);
    cJSON *meta = cJSON_AddObjectToObject(o, "meta");
    cJSON_AddStringToObject(meta, "resourceType", "Schema");
    cJSON_AddStringToObject(
        meta, "location",
        scim_url(r, gh_arena_printf(gh_req_arena(r), "/Schemas/%s", s->urn), NULL));
    return o;
}

static cJSON *scim_rtype_json(struct gh_req *r, const struct scim_rtype *rt)
{
    const struct scim_schema *exts[SCIM_EXTS_MAX];
    size_t n = scim_rtype_exts(rt->kind, exts, SCIM_EXTS_MAX);
    cJSON *o = cJSON_CreateObject();
    cJSON *meta;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "schemas"),
                         cJSON_CreateString(SCIM_SCHEMA_RTYPE));
    cJSON_AddStringToObject(o, "id", rt->name);
    cJSON_AddStringToObject(o, "name", rt->name);
    cJSON_AddStringToObject(o, "endpoint", rt->endpoint);
    cJSON_AddStringToObject(o, "description", rt->description);
    cJSON_AddStringToObject(o, "schema", rt->core->urn);
    if (n > 0) {
        cJSON *list = cJSON_AddArrayToObject(o, "schemaExtensions");
        for (size_t i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "schema", exts[i]->urn);
            cJSON_AddBoolToObject(e, "required", false);
            cJSON_AddItemToArray(list, e);
        }
    }
    meta = cJSON_AddObjectToObject(o, "meta");
    cJSON_AddStringToObject(meta, "resourceType", "ResourceType");
    cJSON_AddStringToObject(
        meta, "location",
        scim_url(r, gh_arena_printf(gh_req_arena(r), "/ResourceTypes/%s", rt->name), NULL));
    return o;
}

static cJSON *scim_list_of(cJSON **items, size_t n)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *list;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(res, "schemas"), cJSON_CreateString(SCIM_MSG_LIST));
    cJSON_AddNumberToObject(res, "totalResults", (double)n);
    cJSON_AddNumberToObject(res, "startIndex", 1);
    cJSON_AddNumberToObject(res, "itemsPerPage", (double)n);
    list = cJSON_AddArrayToObject(res, "Resources");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, items[i]);
    return res;
}

/* The part of the path after /scim/v2/<endpoint>/, or NULL when there is none. */
static const char *scim_subpath(struct gh_req *r, const char *endpoint)
{
    const char *p = gh_req_path(r) + strlen(SCIM_BASE) + strlen(endpoint);
    if (*p == '/')
        p++;
    return *p ? p : NULL;
}

/* /scim/v2/ServiceProviderConfig: what is implemented, and nothing more (RFC 7643 §5). */
enum gh_status scim_handle_spc(struct gh_req *r, struct gh_err *err)
{
    cJSON *o, *x, *auth;

    (void)err;
    o = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "schemas"), cJSON_CreateString(SCIM_SCHEMA_SPC));
    cJSON_AddStringToObject(o, "documentationUri",
                            "https://learn.microsoft.com/entra/identity/app-provisioning/"
                            "use-scim-to-provision-users-and-groups");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "patch"), "supported", true);
    x = cJSON_AddObjectToObject(o, "bulk");
    cJSON_AddBoolToObject(x, "supported", false);
    cJSON_AddNumberToObject(x, "maxOperations", 0);
    cJSON_AddNumberToObject(x, "maxPayloadSize", 0);
    x = cJSON_AddObjectToObject(o, "filter");
    cJSON_AddBoolToObject(x, "supported", true);
    cJSON_AddNumberToObject(x, "maxResults", GH_CAP_SCIM_COUNT);
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "changePassword"), "supported", false);
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "sort"), "supported", true);
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "etag"), "supported", true);
    auth = cJSON_CreateObject();
    cJSON_AddStringToObject(auth, "type", "oauthbearertoken");
    cJSON_AddStringToObject(auth, "name", "OAuth Bearer Token");
    cJSON_AddStringToObject(auth, "description",
                            "A long-lived bearer secret (GATEHOUSE_SCIM_TOKEN), given to Entra "
                            "as the Secret Token");
    cJSON_AddBoolToObject(auth, "primary", true);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "authenticationSchemes"), auth);
    x = cJSON_AddObjectToObject(o, "meta");
    cJSON_AddStringToObject(x, "resourceType", "ServiceProviderConfig");
    cJSON_AddStringToObject(x, "location", scim_url(r, "/ServiceProviderConfig", NULL));
    scim_reply(r, 200, o);
    return GH_OK;
}

/* /scim/v2/ResourceTypes[/User|/Group] */
enum gh_status scim_handle_rtypes(struct gh_req *r, struct gh_err *err)
{
    const char *name;

    name = scim_subpath(r, "/ResourceTypes");
    if (name == NULL) {
        cJSON *items[2] = {scim_rtype_json(r, scim_rtype_get(SCIM_USER)),
                           scim_rtype_json(r, scim_rtype_get(SCIM_GROUP))};
        scim_reply(r, 200, scim_list_of(items, 2));
        return GH_OK;
    }
    for (int k = SCIM_USER; k <= SCIM_GROUP; k++)
        if (strcmp(name, scim_rtype_get((enum store_kind)k)->name) == 0) {
            scim_reply(r, 200, scim_rtype_json(r, scim_rtype_get((enum store_kind)k)));
            return GH_OK;
        }
    return GH_ERR(err, GH_E_NOT_FOUND, "no such resource type");
}

/* /scim/v2/Schemas[/urn]: User, its extensions (enterprise, then the declared ones), Group, its
 * declared extensions. */
enum gh_status scim_handle_schemas(struct gh_req *r, struct gh_err *err)
{
    const struct scim_schema *all[2 + 2 * SCIM_EXTS_MAX];
    size_t n = 0;
    const char *urn;

    all[n++] = &scim_schema_user;
    n += scim_rtype_exts(SCIM_USER, all + n, SCIM_EXTS_MAX);
    all[n++] = &scim_schema_group;
    n += scim_rtype_exts(SCIM_GROUP, all + n, SCIM_EXTS_MAX);
    urn = scim_subpath(r, "/Schemas");
    if (urn == NULL) {
        cJSON *items[2 + 2 * SCIM_EXTS_MAX];
        for (size_t i = 0; i < n; i++)
            items[i] = scim_schema_json(r, all[i]);
        scim_reply(r, 200, scim_list_of(items, n));
        return GH_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(urn, all[i]->urn) == 0) {
            scim_reply(r, 200, scim_schema_json(r, all[i]));
            return GH_OK;
        }
    return GH_ERR(err, GH_E_NOT_FOUND, "no such schema");
}
