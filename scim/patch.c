/*
 * patch.c - RFC 7644 §3.5.2 PATCH (add, replace, remove) on a stored body, tolerant of what
 * Microsoft Entra ID sends in both dialects (ENTRA.md §1.5-9, §1.15, §1.22):
 *  - op names in any case ("Add", "Replace", "Remove");
 *  - a path-less add/replace whose value keys are attribute paths ("name.givenName",
 *    "urn:...:enterprise:2.0:User:employeeNumber") or extension URNs holding objects;
 *  - value paths (emails[type eq "work"].value) that create the element when no element
 *    matches, so several ops on one filter fill one element;
 *  - booleans as "True"/"False" (coerced later by scim_resource_normalize);
 *  - members as [{"value": id}, ...] for add and remove, and members[value eq "id"] for remove.
 * Operations take effect in order (§3.5.2): attribute ops edit the body one after the other;
 * member ops are logged in order and reduced, once the message is through, to the net change
 * (the last op on an id wins; a replace or remove-all voids what came before it), so the store
 * writes each membership row at most once and its triggers see what the PATCH as a whole did.
 * Every operation is idempotent: an add of an existing element or member adds nothing, and a
 * remove of something absent succeeds, because Entra retries for weeks (ENTRA.md §1.24).
 */
#include "scim/patch.h"
#include "core/core.h"
#include "scim/filter.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum scim_pop { SCIM_P_ADD, SCIM_P_REPLACE, SCIM_P_REMOVE };

/* One member op on one id, as logged (seq: its place in the message). */
struct scim_pmember {
    const char *id; /* arena-owned */
    size_t seq;
    bool add;
};

struct scim_pctx {
    struct gh_arena *a;
    enum store_kind kind;
    cJSON *res;
    struct scim_patch_members *m;
    struct gh_err *err;
    struct scim_pmember *log; /* member ops in message order (arena) */
    size_t nlog, caplog;
    size_t cleared; /* log entries before this one were voided by a replace or remove-all */
};

static enum gh_status scim_patch_fail(struct gh_err *err, const char *scim_type, const char *msg,
                                      const char *arg)
{
    GH_ERR(err, GH_E_INVALID, "%s%s%.100s%s", msg, arg ? " \"" : "", arg ? arg : "",
           arg ? "\"" : "");
    gh_err_set_scim_type(err, scim_type);
    return GH_E_INVALID;
}

/* Log one member op (an add or a remove of id) after those before it. */
static void scim_patch_member_log(struct scim_pctx *c, const char *id, bool add)
{
    if (c->nlog == c->caplog) {
        size_t ncap = c->caplog ? c->caplog * 2 : 16;
        struct scim_pmember *next = gh_arena_alloc(c->a, ncap * sizeof(*next));
        if (c->nlog > 0)
            memcpy(next, c->log, c->nlog * sizeof(*next));
        c->log = next;
        c->caplog = ncap;
    }
    c->log[c->nlog] = (struct scim_pmember){gh_arena_strdup(c->a, id), c->nlog, add};
    c->nlog++;
}

/* replace / remove-all: the members become exactly what the ops after it add. */
static void scim_patch_member_clear(struct scim_pctx *c)
{
    c->m->replace = true;
    c->cleared = c->nlog;
}

/* Log order by id, then by place in the message. */
static int scim_patch_member_cmp_id(const void *x, const void *y)
{
    const struct scim_pmember *a = x, *b = y;
    int d = strcmp(a->id, b->id);
    if (d != 0)
        return d;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int scim_patch_member_cmp_seq(const void *x, const void *y)
{
    const struct scim_pmember *a = x, *b = y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Reduce the member log to the net change of the whole message (O(n log n), whatever the mix of
 * ops): an id's last op after the last clear decides whether it ends up added or removed; an id
 * some op added but that does not end up added is still checked by the store, because every op
 * of a PATCH must be valid (an unknown id fails the request even if a later op removes it). Each
 * list keeps the order of the ids' first op. After a clear, removes need no list: the store keeps
 * only the ids added.
 */
static void scim_patch_member_net(struct scim_pctx *c)
{
    struct scim_patch_members *m = c->m;
    struct scim_pmember *log = c->log, *add, *rm, *chk;
    size_t nadd = 0, nrm = 0, nchk = 0;

    if (c->nlog == 0)
        return;
    add = gh_arena_alloc(c->a, c->nlog * sizeof(*add));
    rm = gh_arena_alloc(c->a, c->nlog * sizeof(*rm));
    chk = gh_arena_alloc(c->a, c->nlog * sizeof(*chk));
    qsort(log, c->nlog, sizeof(*log), scim_patch_member_cmp_id);
    for (size_t i = 0, j; i < c->nlog; i = j) {
        const struct scim_pmember *last = NULL; /* the id's last op after the clear */
        size_t first = SIZE_MAX;                /* the seq of its first op after the clear */
        bool ever_added = false;
        for (j = i; j < c->nlog && strcmp(log[j].id, log[i].id) == 0; j++) {
            ever_added = ever_added || log[j].add;
            if (log[j].seq >= c->cleared) {
                last = &log[j];
                first = first < log[j].seq ? first : log[j].seq;
            }
        }
        if (last != NULL && last->add) {
            add[nadd++] = (struct scim_pmember){log[i].id, first, true};
            continue;
        }
        if (last != NULL && !m->replace)
            rm[nrm++] = (struct scim_pmember){log[i].id, first, false};
        if (ever_added)
            chk[nchk++] = (struct scim_pmember){log[i].id, log[i].seq, true};
    }
    qsort(add, nadd, sizeof(*add), scim_patch_member_cmp_seq);
    qsort(rm, nrm, sizeof(*rm), scim_patch_member_cmp_seq);
    qsort(chk, nchk, sizeof(*chk), scim_patch_member_cmp_seq);
    m->add = gh_arena_alloc(c->a, (nadd ? nadd : 1) * sizeof(*m->add));
    m->remove = gh_arena_alloc(c->a, (nrm ? nrm : 1) * sizeof(*m->remove));
    m->check = gh_arena_alloc(c->a, (nchk ? nchk : 1) * sizeof(*m->check));
    for (size_t i = 0; i < nadd; i++)
        m->add[i] = add[i].id;
    for (size_t i = 0; i < nrm; i++)
        m->remove[i] = rm[i].id;
    for (size_t i = 0; i < nchk; i++)
        m->check[i] = chk[i].id;
    m->add_count = nadd;
    m->remove_count = nrm;
    m->check_count = nchk;
}

/* ---- members ---- */

/* Member ids from a value: [{"value": id}, ...], {"value": id} or a bare id string. */
static enum gh_status scim_patch_member_ids(struct scim_pctx *c, const cJSON *v, bool add)
{
    const cJSON *e;

    if (cJSON_IsObject(v) || cJSON_IsString(v)) {
        const cJSON *one = cJSON_IsString(v) ? v : cJSON_GetObjectItem(v, "value");
        if (!cJSON_IsString(one) || one->valuestring[0] == '\0')
            return scim_patch_fail(c->err, SCIM_ST_INVALID_VALUE,
                                   "a member needs a string \"value\"", NULL);
        scim_patch_member_log(c, one->valuestring, add);
        return GH_OK;
    }
    if (!cJSON_IsArray(v))
        return scim_patch_fail(c->err, SCIM_ST_INVALID_VALUE, "members must be a list", NULL);
    cJSON_ArrayForEach(e, v)
    {
        enum gh_status st = scim_patch_member_ids(c, e, add);
        if (st)
            return st;
    }
    return GH_OK;
}

/* members[value eq "a" or value eq "b"]: the ids named. Anything else is not supported. */
static enum gh_status scim_patch_member_filter(struct scim_pctx *c, const struct store_filter *f)
{
    if (f->op == STORE_F_OR) {
        enum gh_status st = scim_patch_member_filter(c, f->left);
        return st ? st : scim_patch_member_filter(c, f->right);
    }
    if (f->op != STORE_F_EQ || f->vtype != STORE_V_STRING || strcasecmp(f->path.attr, "value") != 0)
        return scim_patch_fail(c->err, SCIM_ST_INVALID_FILTER,
                               "member filters must be value eq \"id\" (or several with or)", NULL);
    scim_patch_member_log(c, f->str, false);
    return GH_OK;
}

static enum gh_status scim_patch_members(struct scim_pctx *c, enum scim_pop op,
                                         const struct scim_path *p, const cJSON *value)
{
    if (p->sub != NULL)
        return scim_patch_fail(c->err, SCIM_ST_INVALID_PATH,
                               "member sub-attributes cannot be patched", p->sub);
    switch (op) {
    case SCIM_P_ADD:
        if (p->vfilter != NULL)
            return scim_patch_fail(c->err, SCIM_ST_INVALID_PATH, "add to members takes no filter",
                                   NULL);
        return cJSON_IsNull(value) || value == NULL ? GH_OK : scim_patch_member_ids(c, value, true);
    case SCIM_P_REPLACE:
        scim_patch_member_clear(c);
        return value == NULL || cJSON_IsNull(value) ? GH_OK : scim_patch_member_ids(c, value, true);
    case SCIM_P_REMOVE:
        if (p->vfilter != NULL)
            return scim_patch_member_filter(c, p->vfilter);
        if (value != NULL && !cJSON_IsNull(value))
            return scim_patch_member_ids(c, value, false);
        /* remove every member (RFC 7644 §3.5.2.2) */
        scim_patch_member_clear(c);
        return GH_OK;
    }
    return GH_OK;
}

/* ---- value-path helpers ---- */

/* The literal of an eq term as JSON (for creating the element a filter describes). */
static cJSON *scim_patch_literal(const struct store_filter *f)
{
    switch (f->vtype) {
    case STORE_V_STRING:
        return cJSON_CreateString(f->str);
    case STORE_V_NUMBER:
        return cJSON_CreateNumber(f->num);
    case STORE_V_TRUE:
        return cJSON_CreateTrue();
    case STORE_V_FALSE:
        return cJSON_CreateFalse();
    case STORE_V_NULL:
        return NULL;
    }
    return NULL;
}

/* Build the element a value filter of eq terms joined by and describes: type eq "work" ->
 * {"type":"work"}. False when the filter says more than that (no element can be created). */
static bool scim_patch_seed(const struct store_filter *f, cJSON *elem)
{
    if (f->op == STORE_F_AND)
        return scim_patch_seed(f->left, elem) && scim_patch_seed(f->right, elem);
    if (f->op != STORE_F_EQ || f->vtype == STORE_V_NULL)
        return false;
    scim_json_set(elem, f->path.attr, scim_patch_literal(f));
    return true;
}

/* Set elem.sub = value (a copy), or merge an object value into elem when sub is NULL. */
static void scim_patch_set_in(cJSON *elem, const char *sub, const cJSON *value)
{
    if (sub != NULL) {
        scim_json_set(elem, sub, scim_json_dup(value));
        return;
    }
    if (cJSON_IsObject(value)) {
        const cJSON *kv;
        cJSON_ArrayForEach(kv, value)
        {
            scim_json_set(elem, kv->string, scim_json_dup(kv));
        }
    }
}

/* The multi-valued attribute's array in res, created (empty) when create. */
static cJSON *scim_patch_array(struct scim_pctx *c, const struct scim_path *p, bool create)
{
    cJSON *cont = scim_json_container(c->res, p, create);
    cJSON *arr = cont ? cJSON_GetObjectItem(cont, p->attr) : NULL;

    if (arr != NULL && !cJSON_IsArray(arr)) {
        if (!create)
            return NULL;
        cJSON_DeleteItemFromObject(cont, p->attr);
        arr = NULL;
    }
    if (arr == NULL && create) {
        arr = cJSON_CreateArray();
        cJSON_AddItemToObject(cont, p->attr, arr);
    }
    return arr;
}

/* op on attr[filter](.sub): update every matching element; when none matches, add/replace
 * create one from the filter (Entra: emails[type eq "work"].value on a user without one). */
static enum gh_status scim_patch_vpath(struct scim_pctx *c, enum scim_pop op,
                                       const struct scim_path *p, const cJSON *value)
{
    cJSON *arr = scim_patch_array(c, p, op != SCIM_P_REMOVE);
    cJSON *e;
    int hits = 0;

    if (arr == NULL)
        return GH_OK; /* remove from nothing: nothing to do */
    e = arr->child;
    while (e != NULL) {
        cJSON *next = e->next;
        if (scim_filter_match(p->vfilter, e)) {
            hits++;
            if (op == SCIM_P_REMOVE) {
                if (p->sub == NULL)
                    cJSON_Delete(cJSON_DetachItemViaPointer(arr, e));
                else if (cJSON_IsObject(e))
                    cJSON_DeleteItemFromObject(e, p->sub);
            } else if (cJSON_IsObject(e)) {
                if (p->sub == NULL && op == SCIM_P_REPLACE && cJSON_IsObject(value)) {
                    /* replace the matched element's attributes with value's (RFC 7644
                     * §3.5.2.3), keeping what value does not mention */
                    scim_patch_set_in(e, NULL, value);
                } else {
                    scim_patch_set_in(e, p->sub, value);
                }
            }
        }
        e = next;
    }
    if (hits > 0 || op == SCIM_P_REMOVE) {
        if (op == SCIM_P_REMOVE && arr->child == NULL) {
            cJSON *cont = scim_json_container(c->res, p, false);
            cJSON_DeleteItemFromObject(cont, p->attr);
        }
        return GH_OK;
    }
    cJSON *elem = cJSON_CreateObject();
    if (!scim_patch_seed(p->vfilter, elem)) {
        cJSON_Delete(elem);
        return scim_patch_fail(c->err, SCIM_ST_NO_TARGET,
                               "no element matches and the filter does not describe one", NULL);
    }
    scim_patch_set_in(elem, p->sub, value);
    cJSON_AddItemToArray(arr, elem);
    return GH_OK;
}

/* True when arr already holds an element equal to v (so a retried add adds nothing). */
static bool scim_patch_has_equal(const cJSON *arr, const cJSON *v)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_Compare(e, v, true))
            return true;
    }
    return false;
}

/* Remove the elements of arr whose "value" (or whole self) equals one listed in value. */
static void scim_patch_remove_values(cJSON *arr, const cJSON *value)
{
    const cJSON *want;
    cJSON_ArrayForEach(want, value)
    {
        const cJSON *wv = cJSON_IsObject(want) ? cJSON_GetObjectItem(want, "value") : want;
        cJSON *e = arr->child;
        while (e != NULL) {
            cJSON *next = e->next;
            const cJSON *ev = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "value") : e;
            if (cJSON_Compare(e, want, true) || (wv && ev && cJSON_Compare(ev, wv, true)))
                cJSON_Delete(cJSON_DetachItemViaPointer(arr, e));
            e = next;
        }
    }
}

/* ---- one operation on one resolved path ---- */

static enum gh_status scim_patch_path(struct scim_pctx *c, enum scim_pop op,
                                      const struct scim_path *p, const cJSON *value);

/* Path-less add/replace: each key of value is itself a path (ENTRA.md §1.7). */
static enum gh_status scim_patch_pathless(struct scim_pctx *c, enum scim_pop op, const cJSON *value,
                                          const char *urn)
{
    const cJSON *kv;
    enum gh_status st;

    if (!cJSON_IsObject(value))
        return scim_patch_fail(c->err, SCIM_ST_INVALID_VALUE,
                               "an operation without a path needs an object value", NULL);
    cJSON_ArrayForEach(kv, value)
    {
        struct scim_path p;
        const char *key = kv->string;
        if (key == NULL)
            continue;
        if (urn != NULL)
            key = gh_arena_printf(c->a, "%s:%s", urn, key);
        if (strcasecmp(key, "schemas") == 0)
            continue;
        st = scim_filter_path_parse(c->a, c->kind, key, &p, c->err);
        if (st)
            return st;
        st = scim_patch_path(c, op, &p, kv);
        if (st)
            return st;
    }
    return GH_OK;
}

static enum gh_status scim_patch_path(struct scim_pctx *c, enum scim_pop op,
                                      const struct scim_path *p, const cJSON *value)
{
    cJSON *cont, *cur;

    if (p->attr == NULL) {
        /* the path names a schema: the whole extension (or core) object */
        if (op == SCIM_P_REMOVE) {
            if (p->urn != NULL)
                cJSON_DeleteItemFromObject(c->res, p->urn);
            return GH_OK;
        }
        return scim_patch_pathless(c, op, value, p->urn);
    }
    if (c->kind == SCIM_GROUP && p->urn == NULL && strcmp(p->attr, "members") == 0)
        return scim_patch_members(c, op, p, value);
    if (p->a != NULL && (p->a->flags & SCIM_A_READONLY))
        return GH_OK; /* id, meta, groups: readOnly, ignored like a PUT ignores them */
    if (op != SCIM_P_REMOVE && (value == NULL || cJSON_IsNull(value)))
        op = SCIM_P_REMOVE; /* null means absent (ENTRA.md §1.21) */
    if (p->vfilter != NULL)
        return scim_patch_vpath(c, op, p, value);

    bool multi = p->a != NULL && (p->a->flags & SCIM_A_MULTI);
    cont = scim_json_container(c->res, p, op != SCIM_P_REMOVE);
    if (cont == NULL)
        return GH_OK;
    cur = cJSON_GetObjectItem(cont, p->attr);

    if (op == SCIM_P_REMOVE) {
        if (cur == NULL)
            return GH_OK;
        if (p->sub != NULL) {
            if (cJSON_IsArray(cur)) {
                cJSON *e;
                cJSON_ArrayForEach(e, cur)
                {
                    cJSON_DeleteItemFromObject(e, p->sub);
                }
            } else {
                cJSON_DeleteItemFromObject(cur, p->sub);
            }
        } else if (cJSON_IsArray(cur) && value != NULL && !cJSON_IsNull(value)) {
            cJSON *list = cJSON_IsArray(value) ? NULL : cJSON_CreateArray();
            if (list != NULL)
                cJSON_AddItemToArray(list, scim_json_dup(value));
            scim_patch_remove_values(cur, list ? list : value);
            cJSON_Delete(list);
            if (cur->child == NULL)
                cJSON_DeleteItemFromObject(cont, p->attr);
        } else {
            cJSON_DeleteItemFromObject(cont, p->attr);
        }
        if (p->urn != NULL && cont->child == NULL)
            cJSON_DeleteItemFromObject(c->res, p->urn);
        return GH_OK;
    }

    if (p->sub != NULL) {
        if (cur != NULL && cJSON_IsArray(cur)) {
            /* emails.value without a filter: every element (RFC 7644 §3.5.2.3) */
            cJSON *e;
            if (cur->child == NULL)
                cJSON_AddItemToArray(cur, cJSON_CreateObject());
            cJSON_ArrayForEach(e, cur)
            {
                if (cJSON_IsObject(e))
                    scim_json_set(e, p->sub, scim_json_dup(value));
            }
            return GH_OK;
        }
        if (cur == NULL || !cJSON_IsObject(cur)) {
            cur = cJSON_CreateObject();
            scim_json_set(cont, p->attr, cur);
        }
        scim_json_set(cur, p->sub, scim_json_dup(value));
        return GH_OK;
    }
    if (multi) {
        cJSON *list = cJSON_IsArray(value) ? scim_json_dup(value) : NULL;
        if (list == NULL) {
            list = cJSON_CreateArray();
            cJSON_AddItemToArray(list, scim_json_dup(value));
        }
        if (op == SCIM_P_REPLACE || cur == NULL || !cJSON_IsArray(cur)) {
            scim_json_set(cont, p->attr, list);
            return GH_OK;
        }
        while (list->child != NULL) {
            cJSON *e = cJSON_DetachItemViaPointer(list, list->child);
            if (scim_patch_has_equal(cur, e))
                cJSON_Delete(e);
            else
                cJSON_AddItemToArray(cur, e);
        }
        cJSON_Delete(list);
        return GH_OK;
    }
    if (p->a != NULL && p->a->type == SCIM_T_COMPLEX && cJSON_IsObject(value) && cur != NULL &&
        cJSON_IsObject(cur)) {
        /* complex: merge the sub-attributes given, keep the others (RFC 7644 §3.5.2.1/3) */
        scim_patch_set_in(cur, NULL, value);
        return GH_OK;
    }
    scim_json_set(cont, p->attr, scim_json_dup(value));
    return GH_OK;
}

/* ---- the message ---- */

static bool scim_patch_op_parse(const char *s, enum scim_pop *out)
{
    if (strcasecmp(s, "add") == 0)
        *out = SCIM_P_ADD;
    else if (strcasecmp(s, "replace") == 0)
        *out = SCIM_P_REPLACE;
    else if (strcasecmp(s, "remove") == 0)
        *out = SCIM_P_REMOVE;
    else
        return false;
    return true;
}

/* Apply a PatchOp message (see patch.h). */
enum gh_status scim_patch_apply(struct gh_arena *a, enum store_kind kind, cJSON *res,
                                const cJSON *patch, struct scim_patch_members *out_members,
                                struct gh_err *err)
{
    struct scim_pctx c = {a, kind, res, out_members, err, NULL, 0, 0, 0};
    const cJSON *ops, *o;
    enum gh_status st;
    int n = 0;

    memset(out_members, 0, sizeof(*out_members));
    if (!cJSON_IsObject(patch))
        return scim_patch_fail(err, SCIM_ST_INVALID_SYNTAX, "a PatchOp must be a JSON object",
                               NULL);
    ops = cJSON_GetObjectItem(patch, "Operations");
    if (!cJSON_IsArray(ops))
        return scim_patch_fail(err, SCIM_ST_INVALID_SYNTAX, "\"Operations\" must be a list", NULL);
    cJSON_ArrayForEach(o, ops)
    {
        const cJSON *jop = cJSON_GetObjectItem(o, "op");
        const cJSON *jpath = cJSON_GetObjectItem(o, "path");
        const cJSON *value = cJSON_GetObjectItem(o, "value");
        enum scim_pop op;
        struct scim_path p;

        if (++n > SCIM_PATCH_MAX_OPS)
            return scim_patch_fail(err, SCIM_ST_TOO_MANY, "too many operations", NULL);
        if (!cJSON_IsObject(o) || !cJSON_IsString(jop) ||
            !scim_patch_op_parse(jop->valuestring, &op))
            return scim_patch_fail(err, SCIM_ST_INVALID_SYNTAX,
                                   "each operation needs \"op\": add, replace or remove", NULL);
        if (jpath != NULL && !cJSON_IsNull(jpath) && !cJSON_IsString(jpath))
            return scim_patch_fail(err, SCIM_ST_INVALID_PATH, "\"path\" must be a string", NULL);
        const char *path = jpath != NULL && cJSON_IsString(jpath) ? jpath->valuestring : NULL;
        if (path == NULL || path[0] == '\0') {
            if (op == SCIM_P_REMOVE)
                return scim_patch_fail(err, SCIM_ST_NO_TARGET, "remove needs a path", NULL);
            st = scim_patch_pathless(&c, op, value, NULL);
        } else {
            st = scim_filter_path_parse(a, kind, path, &p, err);
            if (st == GH_OK)
                st = scim_patch_path(&c, op, &p, value);
        }
        if (st)
            return st;
    }
    scim_patch_member_net(&c);
    return GH_OK;
}
