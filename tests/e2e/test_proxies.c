/*
 * test_proxies.c - the proxy examples run (issue 12). nginx with examples/nginx/gatehouse.conf
 * and Caddy with examples/caddy/Caddyfile - the files themselves, with only their addresses
 * replaced by loopback test ports - stand in front of a tiny upstream that echoes the
 * X-Gatehouse-* headers it receives, against the real daemon with the loopback IdP: allowed (200
 * from the upstream, with the caller gatehouse named), denied (403), bad token and no token (401
 * with gatehouse's WWW-Authenticate), and clients sending their own X-Gatehouse-* (and
 * X-Original-* / X-Forwarded-*) headers to steer the decision or to pose as the caller upstream.
 * Each spoofing case is also sent straight to gatehouse to show that the headers would have
 * changed the answer had the proxy passed them.
 *
 * Envoy is not installable here: examples/envoy/envoy.yaml is read (path_prefix, timeout and
 * the three header lists) and gatehouse gets, over a raw connection, exactly the check requests
 * that file makes Envoy send; its answers are put through the same file's rules (what the
 * upstream and the client receive).
 */
#define _GNU_SOURCE /* strcasestr */
#include "tests/support/scim_client.h"

#include <ctype.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PX_OID_ALICE "0a1b2c3d-0000-4000-8000-00000000000a"
#define PX_OID_BOB   "0a1b2c3d-0000-4000-8000-00000000000b"
#define PX_ALICE     "alice@contoso.example"
#define PX_BOB       "bob@contoso.example"
#define PX_PATCHOP   "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"

/* The routes of examples/kubernetes/configmap.yaml, plus a reports grant for the proxy-named
 * dataset and a default grant a spoofed header could try to reach. */
#define PX_POLICY                                                                                  \
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","     \
    "\"actions\":[\"protect\",\"unprotect\"]}]},"                                                  \
    "{\"name\":\"Report Readers\",\"grants\":[{\"dataset\":\"reports\","                           \
    "\"actions\":[\"unprotect\"]}]}],"                                                             \
    "\"default_grants\":[{\"dataset\":\"directory\",\"actions\":[\"protect\"]}],"                  \
    "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll/\",\"dataset\":\"payroll\","       \
    "\"action\":\"unprotect\"},{\"method\":\"POST\",\"path_prefix\":\"/payroll/\","                \
    "\"dataset\":\"payroll\",\"action\":\"protect\"}]}"

/* The directory every case uses: alice analyses payroll, bob reads reports. */
struct px_world {
    struct gh_fixture *fx;
    char *alice_id, *bob_id;
    char *alice_tok, *bob_tok;
    char *dir; /* the proxy's own temp directory */
};

static char *px_token(struct gh_fixture *fx, const char *oid, const char *upn)
{
    cJSON *c = gh_fixture_claims(fx);
    cJSON_ReplaceItemInObject(c, "oid", cJSON_CreateString(oid));
    cJSON_ReplaceItemInObject(c, "preferred_username", cJSON_CreateString(upn));
    return gh_fixture_token(fx, c);
}

static char *px_user(const char *upn, const char *oid)
{
    char b[1024];
    snprintf(b, sizeof(b),
             "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"externalId\":"
             "\"%s\",\"userName\":\"%s\",\"active\":true}",
             oid, upn);
    return scim_create("/scim/v2/Users", b);
}

static void px_member(const char *group, const char *uid)
{
    char *gid = scim_create_group(group);
    char body[512];
    struct scim_res r;
    snprintf(body, sizeof(body),
             PX_PATCHOP "\"Operations\":[{\"op\":\"Add\",\"path\":\"members\",\"value\":[{"
                        "\"value\":\"%s\"}]}]}",
             uid);
    r = scim_call("PATCH", scim_path2("/scim/v2/Groups/", gid), body);
    ck_assert_msg(r.status == 204, "PATCH members: %ld %s", r.status, r.raw);
    scim_res_free(&r);
    free(gid);
}

/* gatehouse with origin (GATEHOUSE_EXT_AUTHZ_ORIGIN) and the directory above. */
static void px_world_start(struct px_world *w, const char *origin)
{
    char o[64];
    const char *extra[] = {o, NULL};
    snprintf(o, sizeof(o), "GATEHOUSE_EXT_AUTHZ_ORIGIN=%s", origin);
    memset(w, 0, sizeof(*w));
    w->fx = scim_e2e_fixture_start(
        &(struct gh_fixture_opts){.scim_token = SCIM_TOKEN, .policy = PX_POLICY, .extra = extra});
    w->alice_id = px_user(PX_ALICE, PX_OID_ALICE);
    w->bob_id = px_user(PX_BOB, PX_OID_BOB);
    px_member("Payroll Analysts", w->alice_id);
    px_member("Report Readers", w->bob_id);
    w->alice_tok = px_token(w->fx, PX_OID_ALICE, PX_ALICE);
    w->bob_tok = px_token(w->fx, PX_OID_BOB, PX_BOB);
    w->dir = gh_tmpdir_new();
}

static void px_world_stop(struct px_world *w)
{
    free(w->alice_id);
    free(w->bob_id);
    free(w->alice_tok);
    free(w->bob_tok);
    gh_tmpdir_remove(w->dir);
    scim_e2e_fixture_stop(w->fx);
}

static int px_gatehouse_port(const struct px_world *w)
{
    const char *url = gh_proc_url(w->fx->proc);
    return (int)strtol(strrchr(url, ':') + 1, NULL, 10);
}

/* ---- the example files ---- */

/* An example file's text (caller frees); fails when it cannot be read. */
static char *px_example(const char *rel)
{
    const char *src = getenv("GH_SRCDIR");
    char path[600];
    char *s;
    snprintf(path, sizeof(path), "%s/%s", src != NULL && *src ? src : ".", rel);
    s = gh_read_file(path);
    ck_assert_msg(*s != '\0', "cannot read %s (set GH_SRCDIR)", path);
    return s;
}

/* text with every `from` replaced by `to`, which must occur exactly `times` times (so a change
 * to the example that the test does not know about fails here). Takes text; caller frees. */
static char *px_subst(char *text, const char *from, const char *to, int times)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;
    for (const char *p = text; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    ck_assert_msg(n == (size_t)times, "the example has \"%s\" %zu times, not %d", from, n, times);
    out = malloc(strlen(text) + n * tl + 1);
    o = out;
    for (const char *p = text, *q; *p; p = q + fl) {
        q = strstr(p, from);
        if (q == NULL) {
            memcpy(o, p, strlen(p));
            o += strlen(p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        if (q[fl] == '\0')
            break;
    }
    *o = '\0';
    free(text);
    return out;
}

static void px_write(const char *dir, const char *name, const char *text, char path[600])
{
    FILE *f;
    snprintf(path, 600, "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- requests through a proxy ---- */

/* One request to the proxy at port: token (NULL: no Authorization) and more headers. */
static long px_req(const char *method, int port, const char *path, const char *tok,
                   const char *const *more, struct gh_http_resp *r)
{
    char url[512], auth[8192];
    const char *hdrs[16];
    size_t n = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    if (tok != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        hdrs[n++] = auth;
    }
    for (size_t i = 0; more != NULL && more[i] != NULL && n < 15; i++)
        hdrs[n++] = more[i];
    hdrs[n] = NULL;
    ck_assert_int_eq(gh_http(method, url, hdrs, strcmp(method, "POST") == 0 ? "{}" : NULL, NULL, r),
                     0);
    return r->status;
}

/* What the upstream echoed: "|name=value|..." -> value of name (into buf). */
static const char *px_echo(const struct gh_http_resp *r, const char *name, char *buf, size_t cap)
{
    char key[64];
    const char *p;
    size_t n;
    snprintf(key, sizeof(key), "|%s=", name);
    p = strstr(r->body, key);
    ck_assert_msg(p != NULL, "the upstream's echo lacks %s: %s", name, r->body);
    p += strlen(key);
    n = strcspn(p, "|");
    ck_assert_uint_lt(n, cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* The straight request to gatehouse a spoofing client hopes its proxy would make: its answer
 * shows the headers would have mattered. */
static long px_direct(const struct px_world *w, const char *tok, const char *const *hdrs)
{
    struct gh_http_resp r;
    long st = px_req("GET", px_gatehouse_port(w), "/v1/ext_authz", tok, hdrs, &r);
    gh_http_resp_free(&r);
    return st;
}

/* The cases every proxy example must pass; `origin_uri` / `origin_method` are the headers a
 * client might add to pretend its proxy described another request. */
static void px_cases(const struct px_world *w, int port, const char *origin_uri,
                     const char *origin_method)
{
    struct gh_http_resp r;
    char h[512], v[256];

    /* allowed: the upstream answers, and learns the caller from gatehouse, not from the copies
     * the client sent */
    {
        char spoof[256];
        const char *pose[] = {spoof, "X-Gatehouse-User: " PX_BOB, NULL};
        snprintf(spoof, sizeof(spoof), "X-Gatehouse-Subject: %s", w->bob_id);
        ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7?year=2026", w->alice_tok, pose, &r),
                         200);
    }
    ck_assert_str_eq(px_echo(&r, "subject", v, sizeof(v)), w->alice_id);
    ck_assert_str_eq(px_echo(&r, "user", v, sizeof(v)), PX_ALICE);
    ck_assert_int_ge(strlen(px_echo(&r, "decision", v, sizeof(v))), 8);
    ck_assert_int_ge(strlen(px_echo(&r, "revision", v, sizeof(v))), 1);
    ck_assert_str_eq(px_echo(&r, "dataset", v, sizeof(v)), "");
    gh_http_resp_free(&r);
    ck_assert_int_eq(px_req("POST", port, "/payroll/slips", w->alice_tok, NULL, &r), 200);
    gh_http_resp_free(&r);

    /* denied: no access group of bob's grants payroll; the client may quote the decision */
    ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7", w->bob_tok, NULL, &r), 403);
    ck_assert_ptr_null(strstr(r.body, "|subject="));
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Decision-Id", h, sizeof(h)));
    ck_assert_int_ge(strlen(h), 8);
    ck_assert_ptr_null(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    gh_http_resp_free(&r);

    /* no token, bad token: 401 with gatehouse's RFC 6750 challenge */
    ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7", NULL, NULL, &r), 401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_str_eq(h, "Bearer realm=\"gatehouse\"");
    gh_http_resp_free(&r);
    ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7", "a.b.c", NULL, &r), 401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_ptr_nonnull(strstr(h, "Bearer realm=\"gatehouse\", error=\"invalid_token\""));
    gh_http_resp_free(&r);

    /* A client naming its own dataset where no route rule applies: bob would get directory
     * (a default grant) straight from gatehouse, never through the proxy. */
    {
        char ou[128], om[64];
        const char *steer[] = {"X-Gatehouse-Dataset: directory", "X-Gatehouse-Action: protect",
                               NULL};
        const char *direct[] = {ou, om, "X-Gatehouse-Dataset: directory",
                                "X-Gatehouse-Action: protect", NULL};
        snprintf(ou, sizeof(ou), "%s: /other", origin_uri);
        snprintf(om, sizeof(om), "%s: GET", origin_method);
        ck_assert_int_eq(px_direct(w, w->bob_tok, direct), 200);
        ck_assert_int_eq(px_req("GET", port, "/other", w->bob_tok, steer, &r), 403);
        ck_assert_ptr_null(strstr(r.body, "|subject="));
        gh_http_resp_free(&r);
    }
    /* ... or another dataset where the proxy names one: alice asks /reports/ with payroll */
    {
        char ou[128], om[64];
        const char *steer[] = {"X-Gatehouse-Dataset: payroll", "X-Gatehouse-Action: unprotect",
                               "X-Gatehouse-Dataset: payroll", NULL};
        const char *direct[] = {ou, om, "X-Gatehouse-Dataset: payroll",
                                "X-Gatehouse-Action: unprotect", NULL};
        snprintf(ou, sizeof(ou), "%s: /reports/q", origin_uri);
        snprintf(om, sizeof(om), "%s: GET", origin_method);
        ck_assert_int_eq(px_direct(w, w->alice_tok, direct), 200);
        ck_assert_int_eq(px_req("GET", port, "/reports/q", w->alice_tok, steer, &r), 403);
        gh_http_resp_free(&r);
    }
    /* ... or describing another original request: bob's GET /payroll/ dressed as one for
     * /reports/, with the dataset the proxy would name there */
    {
        char ou[128], om[64];
        const char *steer[] = {ou, om, "X-Gatehouse-Dataset: reports",
                               "X-Gatehouse-Action: unprotect", NULL};
        snprintf(ou, sizeof(ou), "%s: /reports/q", origin_uri);
        snprintf(om, sizeof(om), "%s: GET", origin_method);
        ck_assert_int_eq(px_direct(w, w->bob_tok, steer), 200);
        ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7", w->bob_tok, steer, &r), 403);
        gh_http_resp_free(&r);
    }
    /* A client posing as another caller upstream: bob, allowed on /reports/, sends alice's
     * identity twice; the upstream sees only bob, and none of the proxy's dataset headers. */
    {
        char s1[256], s2[256];
        const char *pose[] = {s1,
                              s2,
                              "X-Gatehouse-User: " PX_ALICE,
                              "X-Gatehouse-Decision-Id: forged",
                              "X-Gatehouse-Revision: 999999",
                              NULL};
        snprintf(s1, sizeof(s1), "X-Gatehouse-Subject: %s", w->alice_id);
        snprintf(s2, sizeof(s2), "X-Gatehouse-Subject: %s", w->alice_id);
        ck_assert_int_eq(px_req("GET", port, "/reports/q", w->bob_tok, pose, &r), 200);
        ck_assert_str_eq(px_echo(&r, "subject", v, sizeof(v)), w->bob_id);
        ck_assert_str_eq(px_echo(&r, "user", v, sizeof(v)), PX_BOB);
        ck_assert_str_ne(px_echo(&r, "decision", v, sizeof(v)), "forged");
        ck_assert_str_ne(px_echo(&r, "revision", v, sizeof(v)), "999999");
        ck_assert_str_eq(px_echo(&r, "dataset", v, sizeof(v)), "");
        ck_assert_str_eq(px_echo(&r, "action", v, sizeof(v)), "");
        gh_http_resp_free(&r);
    }
    /* the same with a path no rule and no proxy header covers: refused, nothing upstream */
    ck_assert_int_eq(px_req("GET", port, "/other", w->alice_tok, NULL, &r), 403);
    ck_assert_ptr_null(strstr(r.body, "|subject="));
    gh_http_resp_free(&r);
}

/* ---- nginx ---- */

START_TEST(nginx_auth_request_example)
{
    struct px_world w;
    char gh[64], app[64], listen[64], conf_path[600], main_path[600], log[600], text[4096];
    int port = gh_free_port(), app_port = gh_free_port();
    char *ex = px_example("examples/nginx/gatehouse.conf");
    struct gh_ext *nginx;

    px_world_start(&w, "x-original");
    snprintf(gh, sizeof(gh), "server 127.0.0.1:%d;", px_gatehouse_port(&w));
    snprintf(app, sizeof(app), "server 127.0.0.1:%d;", app_port);
    snprintf(listen, sizeof(listen), "listen 127.0.0.1:%d;", port);
    ex = px_subst(ex, "server 127.0.0.1:8080;", gh, 1);
    ex = px_subst(ex, "server 127.0.0.1:3000;", app, 1);
    ex = px_subst(ex, "listen 127.0.0.1:8000;", listen, 1);
    px_write(w.dir, "gatehouse.conf", ex, conf_path);
    free(ex);
    /* The main file around it: one process in the foreground, everything in the temp
     * directory, and the upstream application (it echoes what it was told about the caller). */
    snprintf(text, sizeof(text),
             "daemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
             "events { worker_connections 64; }\n"
             "http {\n  access_log off;\n"
             "  client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
             "  fastcgi_temp_path %s/fastcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
             "  server {\n    listen 127.0.0.1:%d;\n    location / {\n"
             "      default_type text/plain;\n"
             "      return 200 \"|subject=$http_x_gatehouse_subject|user=$http_x_gatehouse_user"
             "|decision=$http_x_gatehouse_decision_id|revision=$http_x_gatehouse_revision"
             "|dataset=$http_x_gatehouse_dataset|action=$http_x_gatehouse_action|\";\n"
             "    }\n  }\n  include %s;\n}\n",
             w.dir, w.dir, w.dir, w.dir, w.dir, w.dir, w.dir, app_port, conf_path);
    px_write(w.dir, "nginx.conf", text, main_path);
    snprintf(log, sizeof(log), "%s/nginx.out", w.dir);
    nginx = gh_ext_start(
        (const char *const[]){"nginx", "-p", w.dir, "-e", "stderr", "-c", main_path, NULL}, NULL,
        log, port);

    px_cases(&w, port, "X-Original-URI", "X-Original-Method");

    ck_assert_int_eq(gh_ext_stop(nginx), 0);
    px_world_stop(&w);
}
END_TEST

/* ---- Caddy ---- */

START_TEST(caddy_forward_auth_example)
{
    struct px_world w;
    char gh[64], app[64], site[64], path[600], log[600], env_home[700], env_data[700], env_cfg[700];
    int port = gh_free_port(), app_port = gh_free_port();
    char *ex = px_example("examples/caddy/Caddyfile"), *full;
    struct gh_ext *caddy;
    size_t cap;

    px_world_start(&w, "x-forwarded");
    snprintf(gh, sizeof(gh), "forward_auth 127.0.0.1:%d {", px_gatehouse_port(&w));
    snprintf(app, sizeof(app), "reverse_proxy 127.0.0.1:%d", app_port);
    snprintf(site, sizeof(site), "http://:%d {", port);
    ex = px_subst(ex, "forward_auth 127.0.0.1:8080 {", gh, 1);
    ex = px_subst(ex, "reverse_proxy 127.0.0.1:3000", app, 1);
    ex = px_subst(ex, "http://:8000 {", site, 1);
    /* the upstream application: a second site that echoes what it was told about the caller
     * (several values of one header are joined with commas) */
    cap = strlen(ex) + 1024;
    full = malloc(cap);
    snprintf(full, cap,
             "%s\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n\trespond \"|subject="
             "{header.X-Gatehouse-Subject}|user={header.X-Gatehouse-User}|decision="
             "{header.X-Gatehouse-Decision-Id}|revision={header.X-Gatehouse-Revision}|dataset="
             "{header.X-Gatehouse-Dataset}|action={header.X-Gatehouse-Action}|\"\n}\n",
             ex, app_port);
    free(ex);
    px_write(w.dir, "Caddyfile", full, path);
    free(full);
    snprintf(log, sizeof(log), "%s/caddy.out", w.dir);
    snprintf(env_home, sizeof(env_home), "HOME=%s", w.dir);
    snprintf(env_data, sizeof(env_data), "XDG_DATA_HOME=%s", w.dir);
    snprintf(env_cfg, sizeof(env_cfg), "XDG_CONFIG_HOME=%s", w.dir);
    caddy = gh_ext_start(
        (const char *const[]){"caddy", "run", "--config", path, "--adapter", "caddyfile", NULL},
        (const char *const[]){"PATH=/usr/local/bin:/usr/bin:/bin", env_home, env_data, env_cfg,
                              NULL},
        log, port);

    px_cases(&w, port, "X-Forwarded-Uri", "X-Forwarded-Method");
    /* Caddy hands gatehouse's own denial to the client: the reason is in the body */
    {
        struct gh_http_resp r;
        ck_assert_int_eq(px_req("GET", port, "/payroll/slips/7", w.bob_tok, NULL, &r), 403);
        ck_assert_ptr_nonnull(strstr(r.body, "no access group"));
        gh_http_resp_free(&r);
    }

    ck_assert_int_eq(gh_ext_stop(caddy), 0);
    px_world_stop(&w);
}
END_TEST

/* ---- Envoy ---- */

/* A list of header names (exact matches, compared without case as Envoy's lower-case ones). */
struct px_list {
    char name[16][64];
    size_t n;
};
/* What examples/envoy/envoy.yaml tells Envoy's ext_authz filter. */
struct px_envoy {
    char path_prefix[128];
    long timeout_ms;
    struct px_list allowed;  /* allowed_headers (besides the ones always sent) */
    struct px_list upstream; /* authorization_response.allowed_upstream_headers */
    struct px_list client;   /* authorization_response.allowed_client_headers */
};

/* The value after "key:" on a line, trimmed, into out. */
static bool px_yaml_value(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = line;
    size_t n;
    while (*p == ' ')
        p++;
    if (strncmp(p, key, strlen(key)) != 0 || p[strlen(key)] != ':')
        return false;
    p += strlen(key) + 1;
    while (*p == ' ')
        p++;
    n = strcspn(p, "\n #");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* A line scan, enough for this file: each list is the "- exact:" lines after its key. */
static void px_envoy_load(struct px_envoy *e)
{
    char *text = px_example("examples/envoy/envoy.yaml"), v[128];
    struct px_list *list = NULL;

    memset(e, 0, sizeof(*e));
    for (char *line = text; line != NULL && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *p = line;
        while (*p == ' ')
            p++;
        if (*p == '#' || *p == '\n')
            continue;
        if (px_yaml_value(line, "path_prefix", e->path_prefix, sizeof(e->path_prefix)))
            continue;
        if (px_yaml_value(line, "timeout", v, sizeof(v))) {
            ck_assert_msg(strcmp(v + strlen(v) - 1, "s") == 0, "timeout %s: seconds expected", v);
            e->timeout_ms = (long)(strtod(v, NULL) * 1000);
            continue;
        }
        if (strncmp(p, "allowed_headers:", 16) == 0) {
            list = &e->allowed;
        } else if (strncmp(p, "allowed_upstream_headers:", 25) == 0) {
            list = &e->upstream;
        } else if (strncmp(p, "allowed_client_headers:", 23) == 0) {
            list = &e->client;
        } else if (strncmp(p, "patterns:", 9) == 0) {
            continue;
        } else if (strncmp(p, "- exact:", 8) == 0 && list != NULL) {
            ck_assert_uint_lt(list->n, sizeof(list->name) / sizeof(list->name[0]));
            ck_assert(px_yaml_value(p + 1, "exact", list->name[list->n], sizeof(list->name[0])));
            list->n++;
        } else {
            list = NULL;
        }
    }
    free(text);
    ck_assert_str_eq(e->path_prefix, "/v1/ext_authz");
    ck_assert_int_gt(e->timeout_ms, 0);
    ck_assert_uint_gt(e->allowed.n, 0);
    ck_assert_uint_gt(e->upstream.n, 0);
    ck_assert_uint_gt(e->client.n, 0);
}

/* Whether the first name_len bytes of name are on the list. */
static bool px_in(const struct px_list *l, const char *name, size_t name_len)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->name[i]) == name_len && strncasecmp(l->name[i], name, name_len) == 0)
            return true;
    return false;
}

/*
 * The check request Envoy sends gatehouse for a client's request (method, target, headers as
 * "Name: value"), over one raw connection, and gatehouse's answer: the original method; path
 * = path_prefix + the original path and query; Host = the original authority; Content-Length: 0
 * (no with_request_body); Authorization and the allowed_headers the client sent, names in lower
 * case as Envoy writes them; then what Envoy's router adds to a request it sends a cluster
 * (x-envoy-internal, x-forwarded-for, x-envoy-expected-rq-timeout-ms: the timeout, as Envoy's
 * trace of an ext_authz check shows in envoyproxy/envoy#10104).
 */
static long px_envoy_check(const struct px_envoy *e, int gh_port, const char *method,
                           const char *target, const char *const *hdrs, struct gh_http_resp *r)
{
    char req[16384];
    size_t n = 0;
    int fd;
    char buf[65536];
    size_t got = 0;
    const char *end, *cl;

    n += (size_t)snprintf(req + n, sizeof(req) - n,
                          "%s %s%s HTTP/1.1\r\nhost: payroll.example.com\r\ncontent-length: 0\r\n",
                          method, e->path_prefix, target);
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
        size_t name_len = strcspn(hdrs[i], ":");
        const char *val = hdrs[i] + name_len + 1;
        if (!(name_len == 13 && strncasecmp(hdrs[i], "authorization", 13) == 0) &&
            !px_in(&e->allowed, hdrs[i], name_len))
            continue;
        while (*val == ' ')
            val++;
        ck_assert_uint_lt(n + name_len + strlen(val) + 8, sizeof(req));
        for (size_t k = 0; k < name_len; k++)
            req[n++] = (char)tolower((unsigned char)hdrs[i][k]);
        n += (size_t)snprintf(req + n, sizeof(req) - n, ": %s\r\n", val);
    }
    n += (size_t)snprintf(req + n, sizeof(req) - n,
                          "x-envoy-internal: true\r\nx-forwarded-for: 127.0.0.1\r\n"
                          "x-envoy-expected-rq-timeout-ms: %ld\r\n\r\n",
                          e->timeout_ms);
    ck_assert_uint_lt(n, sizeof(req));

    fd = gh_tcp_connect("127.0.0.1", gh_port, 5000);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    /* the head, then Content-Length bytes of body (the connection stays open, as Envoy's) */
    for (;;) {
        ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        ck_assert_msg(k > 0, "gatehouse closed the connection or timed out");
        got += (size_t)k;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        cl = strcasestr(buf, "\r\nContent-Length:");
        ck_assert_msg(cl != NULL && cl < end, "no Content-Length: %s", buf);
        if (got >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10))
            break;
    }
    close(fd);
    memset(r, 0, sizeof(*r));
    r->status = strtol(buf + 9, NULL, 10);
    r->headers = strndup(buf, (size_t)(end + 2 - buf));
    r->body = strdup(end + 4);
    r->body_len = strlen(r->body);
    return r->status;
}

/* The value a header has upstream after Envoy's ext_authz filter allowed the request: gatehouse's
 * value when the name is an allowed_upstream_header in its answer (it replaces the client's),
 * else the client's own (the first). NULL when neither. */
static const char *px_envoy_upstream(const struct px_envoy *e, const struct gh_http_resp *allow,
                                     const char *const *client, const char *name, char *buf,
                                     size_t cap)
{
    if (px_in(&e->upstream, name, strlen(name)) &&
        gh_http_resp_header(allow, name, buf, cap) != NULL)
        return buf;
    for (size_t i = 0; client != NULL && client[i] != NULL; i++) {
        size_t nl = strcspn(client[i], ":");
        if (nl == strlen(name) && strncasecmp(client[i], name, nl) == 0) {
            snprintf(buf, cap, "%s", client[i] + nl + 2);
            return buf;
        }
    }
    return NULL;
}

START_TEST(envoy_ext_authz_example_requests)
{
    struct px_world w;
    struct px_envoy e;
    struct gh_http_resp r;
    char auth_a[4096], auth_b[4096], h[512];
    int gp;

    px_envoy_load(&e);
    px_world_start(&w, "path");
    gp = px_gatehouse_port(&w);
    snprintf(auth_a, sizeof(auth_a), "Authorization: Bearer %s", w.alice_tok);
    snprintf(auth_b, sizeof(auth_b), "Authorization: Bearer %s", w.bob_tok);

    /* allowed, with a client trying to pose as someone else upstream */
    {
        char spoof[256];
        const char *client[] = {auth_a,
                                "x-request-id: 7a1c0b2e-8f7d-4c1e-9d3a-2b6f5e4d3c2b",
                                spoof,
                                "X-Gatehouse-User: mallory@contoso.example",
                                "X-Gatehouse-Decision-Id: forged",
                                NULL};
        snprintf(spoof, sizeof(spoof), "X-Gatehouse-Subject: %s", w.bob_id);
        ck_assert_int_eq(px_envoy_check(&e, gp, "GET", "/payroll/slips/7?year=2026", client, &r),
                         200);
        /* gatehouse names every header the upstream may trust, so Envoy replaces each copy */
        for (size_t i = 0; i < e.upstream.n; i++)
            ck_assert_msg(gh_http_resp_header(&r, e.upstream.name[i], h, sizeof(h)) != NULL,
                          "gatehouse's 200 lacks %s", e.upstream.name[i]);
        ck_assert_str_eq(px_envoy_upstream(&e, &r, client, "x-gatehouse-subject", h, sizeof(h)),
                         w.alice_id);
        ck_assert_str_eq(px_envoy_upstream(&e, &r, client, "x-gatehouse-user", h, sizeof(h)),
                         PX_ALICE);
        ck_assert_str_ne(px_envoy_upstream(&e, &r, client, "x-gatehouse-decision-id", h, sizeof(h)),
                         "forged");
        gh_http_resp_free(&r);
    }
    ck_assert_int_eq(
        px_envoy_check(&e, gp, "POST", "/payroll/slips", (const char *const[]){auth_a, NULL}, &r),
        200);
    gh_http_resp_free(&r);
    /* the client's read-your-writes header is one Envoy passes: a revision this replica
     * never reaches makes gatehouse wait (GATEHOUSE_REVISION_WAIT) and refuse */
    ck_assert(px_in(&e.allowed, "x-gatehouse-min-revision", 24));
    ck_assert_int_eq(
        px_envoy_check(&e, gp, "GET", "/payroll/slips/7",
                       (const char *const[]){auth_a, "X-Gatehouse-Min-Revision: 1", NULL}, &r),
        200);
    gh_http_resp_free(&r);
    ck_assert_int_eq(
        px_envoy_check(&e, gp, "GET", "/payroll/slips/7",
                       (const char *const[]){auth_a, "X-Gatehouse-Min-Revision: 99999999", NULL},
                       &r),
        403);
    ck_assert_ptr_nonnull(strstr(r.body, "min_revision 99999999"));
    gh_http_resp_free(&r);

    /* denied: the client gets the 403, gatehouse's JSON body and only the allowed headers */
    ck_assert_int_eq(
        px_envoy_check(&e, gp, "GET", "/payroll/slips/7", (const char *const[]){auth_b, NULL}, &r),
        403);
    ck_assert_ptr_nonnull(strstr(r.body, "\"allowed\":false"));
    ck_assert_ptr_nonnull(strstr(r.body, "no access group"));
    ck_assert(px_in(&e.client, "x-gatehouse-decision-id", 23));
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "X-Gatehouse-Decision-Id", h, sizeof(h)));
    gh_http_resp_free(&r);

    /* no token, bad token: 401 and the challenge, which Envoy always passes to the client */
    ck_assert_int_eq(px_envoy_check(&e, gp, "GET", "/payroll/slips/7", NULL, &r), 401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_str_eq(h, "Bearer realm=\"gatehouse\"");
    gh_http_resp_free(&r);
    ck_assert_int_eq(px_envoy_check(&e, gp, "GET", "/payroll/slips/7",
                                    (const char *const[]){"Authorization: Bearer a.b.c", NULL}, &r),
                     401);
    ck_assert_ptr_nonnull(gh_http_resp_header(&r, "WWW-Authenticate", h, sizeof(h)));
    ck_assert_ptr_nonnull(strstr(h, "error=\"invalid_token\""));
    gh_http_resp_free(&r);

    /* A client naming its own dataset: the headers are not in allowed_headers, so Envoy drops
     * them and no route rule covers /other (403); had they reached gatehouse, bob would have
     * been allowed directory. */
    {
        const char *client[] = {auth_b, "X-Gatehouse-Dataset: directory",
                                "X-Gatehouse-Action: protect", NULL};
        ck_assert(!px_in(&e.allowed, "x-gatehouse-dataset", 19));
        ck_assert_int_eq(px_envoy_check(&e, gp, "GET", "/other", client, &r), 403);
        ck_assert_ptr_nonnull(strstr(r.body, "no dataset for GET /other"));
        gh_http_resp_free(&r);
        ck_assert_int_eq(px_direct(&w, w.bob_tok,
                                   (const char *const[]){"X-Gatehouse-Dataset: directory",
                                                         "X-Gatehouse-Action: protect", NULL}),
                         200);
    }
    /* ... or describing another request (nginx's and Traefik's headers): ignored in path mode */
    ck_assert_int_eq(px_envoy_check(&e, gp, "GET", "/payroll/slips/7",
                                    (const char *const[]){auth_b, "X-Original-URI: /reports/q",
                                                          "X-Forwarded-Uri: /reports/q", NULL},
                                    &r),
                     403);
    gh_http_resp_free(&r);

    px_world_stop(&w);
}
END_TEST

Suite *proxies_suite(void)
{
    Suite *s = suite_create("proxies");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, nginx_auth_request_example);
    tcase_add_test(tc, caddy_forward_auth_example);
    tcase_add_test(tc, envoy_ext_authz_example_requests);
    suite_add_tcase(s, tc);
    return s;
}
