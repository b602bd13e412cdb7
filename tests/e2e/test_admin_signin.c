/*
 * test_admin_signin.c - the admin page's sign-in, end to end: `gatehouse demo` (the real daemon
 * and the development issuer's authorization and token endpoints) on free loopback ports, the
 * authorization code flow with PKCE driven request by request with libcurl as a browser would,
 * and what a session may do afterwards:
 *   - alice (in "Gatehouse Admins") signs in; the session opens the admin API, names her in
 *     /admin/v1/session, and its cookie has the flags of plain HTTP;
 *   - CSRF: a change with the cookie needs X-CSRF-Token (and a same-origin Origin); the bearer
 *     admin token needs neither; logout ends the session;
 *   - refusals: bob (not an admin), carol (an admin, deactivated), an unknown state, a missing or
 *     foreign login cookie, a replayed code, a wrong PKCE verifier, a wrong nonce, a return path
 *     off /admin/;
 *   - removal from the admin group (SCIM, as Entra sends it) revokes at the next request;
 *   - an expired session (GATEHOUSE_ADMIN_SESSION_TTL) is a 401 without a bearer challenge;
 *   - the access log never shows the callback's code or state, nor the session id.
 */
#include "sidecar/demo.h"
#include "tests/support/support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sdemo {
    pid_t pid;
    char *tmp;
    char state[600], out[700], err[700];
    char base[128]; /* http://127.0.0.1:PORT */
    char admin[80]; /* the admin token */
    char scim[80];  /* the SCIM token */
};

/* One browser's state through a sign-in. */
struct flow {
    char login_cookie[128]; /* gh_admin_login value */
    char authorize[4096];   /* the Location of /admin/login */
    char callback[4096];    /* the Location the issuer sent the browser to */
    long status;            /* the callback's status */
    char location[512];     /* the callback's Location */
    char session[128];      /* gh_admin_session value, when set */
    char session_line[512]; /* its whole Set-Cookie value */
    char body[4096];        /* the callback's body */
};

static const char *binary(void)
{
    const char *b = getenv("GH_BINARY");
    return b != NULL && *b ? b : "./build/gatehouse";
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Read a one-line file of the demo's state directory into out. */
static void read_secret(const struct sdemo *d, const char *name, char *out, size_t cap)
{
    char p[700];
    char *t;
    snprintf(p, sizeof(p), "%s/%s", d->state, name);
    t = gh_read_file(p);
    ck_assert_ptr_nonnull(t);
    snprintf(out, cap, "%s", t);
    out[strcspn(out, "\r\n")] = '\0';
    free(t);
}

/* `gatehouse demo` on free ports (log level info, so access lines are written); ttl: the
 * session lifetime to set, or NULL. Waits (bounded) for its ready line. */
static void sdemo_start(struct sdemo *d, const char *ttl)
{
    const char *src = getenv("GH_SRCDIR");
    char policy[600];
    char *text = NULL;
    const char *p;

    memset(d, 0, sizeof(*d));
    d->tmp = gh_tmpdir_new();
    snprintf(d->state, sizeof(d->state), "%s/state", d->tmp);
    snprintf(d->out, sizeof(d->out), "%s/stdout", d->tmp);
    snprintf(d->err, sizeof(d->err), "%s/stderr", d->tmp);
    snprintf(policy, sizeof(policy), "%s/policies/examples/policy.json",
             src != NULL && *src ? src : ".");
    d->pid = fork();
    ck_assert_int_ge(d->pid, 0);
    if (d->pid == 0) {
        int o = open(d->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(d->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        setenv("GATEHOUSE_LOG_LEVEL", "info", 1);
        if (ttl != NULL)
            setenv("GATEHOUSE_ADMIN_SESSION_TTL", ttl, 1);
        execl(binary(), binary(), "demo", "--dir", d->state, "--listen", "127.0.0.1:0",
              "--issuer-listen", "127.0.0.1:0", "--policy", policy, (char *)NULL);
        _exit(127);
    }
    for (int waited = 0;; waited += 20) {
        int status;
        text = gh_read_file(d->out);
        if (text != NULL && strstr(text, GH_DEMO_READY_LINE) != NULL)
            break;
        free(text);
        text = NULL;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char *e = gh_read_file(d->err);
            d->pid = 0;
            ck_abort_msg("gatehouse demo exited early: %s", e);
        }
        if (waited > 15000) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &status, 0);
            d->pid = 0;
            ck_abort_msg("gatehouse demo not ready within 15 s");
        }
        nap_ms(20);
    }
    p = strstr(text, "gatehouse demo: http://");
    ck_assert_ptr_nonnull(p);
    sscanf(p + 16, "%127s", d->base);
    /* the banner names the admin page and who may sign in */
    ck_assert_ptr_nonnull(strstr(text, "/admin/"));
    ck_assert_ptr_nonnull(strstr(text, "sign in as alice@demo.example"));
    free(text);
    read_secret(d, "admin-token", d->admin, sizeof(d->admin));
    read_secret(d, "scim-token", d->scim, sizeof(d->scim));
}

/* SIGTERM; a clean stop (exit 0) is asserted. Returns the daemon's stderr (owned). */
static char *sdemo_stop(struct sdemo *d)
{
    int status = -1;
    bool reaped = false;
    char *log;

    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        for (int waited = 0; waited < 10000 && !reaped; waited += 10) {
            reaped = waitpid(d->pid, &status, WNOHANG) == d->pid;
            if (!reaped)
                nap_ms(10);
        }
        if (!reaped) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
            status = -1;
        }
    }
    log = gh_read_file(d->err);
    gh_tmpdir_remove(d->tmp);
    /* a clean stop: exit 0 (under ASan, also no leak) */
    ck_assert_msg(d->pid <= 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "gatehouse demo did not stop cleanly (status %d): %.2000s", status,
                  log != NULL ? log : "");
    return log;
}

/* The nth (0-based) value of response header name (raw headers), into buf; NULL when absent. */
static const char *resp_header(const struct gh_http_resp *r, const char *name, int nth, char *buf,
                               size_t cap)
{
    size_t n = strlen(name);
    int seen = 0;

    for (const char *p = r->headers; p != NULL && *p != '\0';) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len;
            v += strspn(v, " ");
            len = strcspn(v, "\r\n");
            if (seen++ == nth) {
                if (len >= cap)
                    len = cap - 1;
                memcpy(buf, v, len);
                buf[len] = '\0';
                return buf;
            }
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return NULL;
}

/* The Set-Cookie for cookie `name`: its value into val, the whole line into line (may be NULL).
 * False when none sets it. */
static bool set_cookie(const struct gh_http_resp *r, const char *name, char *val, size_t vcap,
                       char *line, size_t lcap)
{
    char buf[1024];
    size_t n = strlen(name);

    for (int i = 0; resp_header(r, "Set-Cookie", i, buf, sizeof(buf)) != NULL; i++) {
        if (strncmp(buf, name, n) != 0 || buf[n] != '=')
            continue;
        snprintf(val, vcap, "%.*s", (int)strcspn(buf + n + 1, ";"), buf + n + 1);
        if (line != NULL)
            snprintf(line, lcap, "%.*s", (int)(lcap - 1), buf);
        return true;
    }
    return false;
}

/* Replace the first `from` in s (cap bytes) by `to`. */
static void tamper(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from);
    char rest[4096];

    ck_assert_msg(p != NULL, "%s not in %s", from, s);
    snprintf(rest, sizeof(rest), "%s", p + strlen(from));
    snprintf(p, cap - (size_t)(p - s), "%s%s", to, rest);
}

/* Step 1: GET /admin/login[?return=ret] -> the provider's URL and the login cookie. */
static void login_start(const struct sdemo *d, const char *ret, struct flow *f)
{
    struct gh_http_resp r;
    char url[700];

    memset(f, 0, sizeof(*f));
    snprintf(url, sizeof(url), "%s/admin/login%s%s", d->base, ret != NULL ? "?return=" : "",
             ret != NULL ? ret : "");
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 302, "/admin/login: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(resp_header(&r, "Location", 0, f->authorize, sizeof(f->authorize)));
    ck_assert_ptr_nonnull(strstr(f->authorize, "/oauth2/v2.0/authorize?"));
    ck_assert_ptr_nonnull(strstr(f->authorize, "code_challenge_method=S256"));
    ck_assert_ptr_nonnull(strstr(f->authorize, "response_type=code"));
    ck_assert_ptr_nonnull(strstr(f->authorize, "scope=openid%20profile%20email"));
    ck_assert_ptr_nonnull(strstr(f->authorize, "client_id=" GH_DEMO_ADMIN_CLIENT_ID));
    ck_assert_ptr_nonnull(strstr(f->authorize, "nonce="));
    ck_assert(set_cookie(&r, "gh_admin_login", f->login_cookie, sizeof(f->login_cookie), NULL, 0));
    gh_http_resp_free(&r);
}

/* Step 2: the issuer's choice of user -> the callback URL (with code and state). */
static void login_choose(const char *upn, struct flow *f)
{
    struct gh_http_resp r;
    char url[4200];

    snprintf(url, sizeof(url), "%s&upn=%s", f->authorize, upn);
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_msg(r.status == 302, "issuer authorize: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(resp_header(&r, "Location", 0, f->callback, sizeof(f->callback)));
    ck_assert_ptr_nonnull(strstr(f->callback, "/admin/callback?code="));
    gh_http_resp_free(&r);
}

/* Step 3: the browser at the callback with (cookie non-NULL) a login cookie. */
static void login_finish(struct flow *f, const char *cookie)
{
    struct gh_http_resp r;
    char c[300];
    const char *hdr[] = {c, NULL};

    snprintf(c, sizeof(c), "Cookie: gh_admin_login=%s", cookie != NULL ? cookie : "");
    ck_assert_int_eq(gh_http("GET", f->callback, cookie != NULL ? hdr : NULL, NULL, NULL, &r), 0);
    f->status = r.status;
    f->location[0] = f->session[0] = '\0';
    resp_header(&r, "Location", 0, f->location, sizeof(f->location));
    set_cookie(&r, "gh_admin_session", f->session, sizeof(f->session), f->session_line,
               sizeof(f->session_line));
    snprintf(f->body, sizeof(f->body), "%s", r.body != NULL ? r.body : "");
    gh_http_resp_free(&r);
}

/* The whole sign-in as upn; returns the callback's status. */
static long signin(const struct sdemo *d, const char *upn, struct flow *f)
{
    login_start(d, NULL, f);
    login_choose(upn, f);
    login_finish(f, f->login_cookie);
    return f->status;
}

/* An admin API call with the session cookie (and csrf / origin headers when not NULL). */
static long admin_call(const struct sdemo *d, const char *method, const char *path,
                       const char *session, const char *csrf, const char *origin, const char *body,
                       cJSON **out_json, char *www_auth, size_t wcap)
{
    struct gh_http_resp r;
    char url[600], c[300], x[300], o[300];
    const char *hdr[5];
    size_t n = 0;
    long status;

    snprintf(url, sizeof(url), "%s%s", d->base, path);
    snprintf(c, sizeof(c), "Cookie: gh_admin_session=%s", session);
    hdr[n++] = c;
    if (csrf != NULL) {
        snprintf(x, sizeof(x), "X-CSRF-Token: %s", csrf);
        hdr[n++] = x;
    }
    if (origin != NULL) {
        snprintf(o, sizeof(o), "Origin: %s", origin);
        hdr[n++] = o;
    }
    if (body != NULL)
        hdr[n++] = "Content-Type: application/json";
    hdr[n] = NULL;
    ck_assert_int_eq(gh_http(method, url, hdr, body, NULL, &r), 0);
    status = r.status;
    if (out_json != NULL)
        *out_json = cJSON_Parse(r.body != NULL ? r.body : "");
    if (www_auth != NULL && resp_header(&r, "WWW-Authenticate", 0, www_auth, wcap) == NULL)
        www_auth[0] = '\0';
    gh_http_resp_free(&r);
    return status;
}

static const char *jstr(const cJSON *j, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, name));
}

/* alice signs in; the session opens the admin API; CSRF on changes; the bearer token still
 * works without it; logout; the access log keeps no code, state or session id. */
START_TEST(signin_session_csrf_logout)
{
    struct sdemo d;
    struct flow f;
    cJSON *j = NULL;
    char csrf[128], www[256], *log;
    const cJSON *u;

    sdemo_start(&d, NULL);
    login_start(&d, "/admin/%23/status", &f);
    login_choose("alice@demo.example", &f);
    login_finish(&f, f.login_cookie);
    ck_assert_msg(f.status == 302, "callback: %ld %s", f.status, f.body);
    ck_assert_str_eq(f.location, "/admin/#/status");
    ck_assert_uint_eq(strlen(f.session), 43);
    /* plain HTTP on loopback: HttpOnly, SameSite=Lax, Path=/admin, no Secure */
    ck_assert_ptr_nonnull(strstr(f.session_line, "; HttpOnly"));
    ck_assert_ptr_nonnull(strstr(f.session_line, "; SameSite=Lax"));
    ck_assert_ptr_nonnull(strstr(f.session_line, "; Path=/admin;"));
    ck_assert_ptr_nonnull(strstr(f.session_line, "; Max-Age=28800"));
    ck_assert_ptr_null(strstr(f.session_line, "Secure"));

    ck_assert_int_eq(
        admin_call(&d, "GET", "/admin/v1/session", f.session, NULL, NULL, NULL, &j, NULL, 0), 200);
    ck_assert_str_eq(jstr(j, "via"), "session");
    ck_assert_str_eq(jstr(j, "admin_group"), GH_DEMO_ADMIN_GROUP);
    u = cJSON_GetObjectItemCaseSensitive(j, "user");
    ck_assert_str_eq(jstr(u, "userName"), "alice@demo.example");
    ck_assert_str_eq(jstr(u, "displayName"), "Alice Demo");
    ck_assert_ptr_nonnull(jstr(u, "id"));
    ck_assert_ptr_nonnull(jstr(j, "expires"));
    snprintf(csrf, sizeof(csrf), "%s", jstr(j, "csrf_token"));
    ck_assert_uint_eq(strlen(csrf), 43);
    cJSON_Delete(j);
    ck_assert_int_eq(admin_call(&d, "GET", "/admin/v1/access-groups", f.session, NULL, NULL, NULL,
                                NULL, NULL, 0),
                     200);
    ck_assert_int_eq(
        admin_call(&d, "GET", "/admin/v1/identities", f.session, NULL, NULL, NULL, NULL, NULL, 0),
        200);

    /* CSRF: a change with the cookie alone, with another token, or from another origin */
    ck_assert_int_eq(
        admin_call(&d, "POST", "/admin/v1/policy/reload", f.session, NULL, NULL, "", &j, NULL, 0),
        403);
    ck_assert_str_eq(jstr(j, "error"), "csrf");
    cJSON_Delete(j);
    ck_assert_int_eq(admin_call(&d, "POST", "/admin/v1/policy/reload", f.session,
                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, "", &j, NULL,
                                0),
                     403);
    ck_assert_str_eq(jstr(j, "error"), "csrf");
    cJSON_Delete(j);
    ck_assert_int_eq(admin_call(&d, "POST", "/admin/v1/policy/reload", f.session, csrf,
                                "http://evil.example", "", &j, NULL, 0),
                     403);
    ck_assert_str_eq(jstr(j, "error"), "csrf");
    cJSON_Delete(j);
    ck_assert_int_eq(
        admin_call(&d, "POST", "/admin/v1/policy/reload", f.session, csrf, NULL, "", &j, NULL, 0),
        200);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "reloaded")));
    cJSON_Delete(j);
    ck_assert_int_eq(admin_call(&d, "POST", "/admin/v1/policy/reload", f.session, csrf, d.base, "",
                                NULL, NULL, 0),
                     200);
    /* the break-glass admin token: no cookie, no CSRF token */
    {
        struct gh_http_resp r;
        char url[300], auth[200];
        const char *hdr[] = {auth, NULL};
        snprintf(url, sizeof(url), "%s/admin/v1/policy/reload", d.base);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", d.admin);
        ck_assert_int_eq(gh_http("POST", url, hdr, "", NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        gh_http_resp_free(&r);
        snprintf(url, sizeof(url), "%s/admin/v1/session", d.base);
        ck_assert_int_eq(gh_http("GET", url, hdr, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        j = cJSON_Parse(r.body);
        ck_assert_str_eq(jstr(j, "via"), "token");
        cJSON_Delete(j);
        gh_http_resp_free(&r);
    }

    /* logout needs the CSRF token too, then ends the session */
    ck_assert_int_eq(
        admin_call(&d, "POST", "/admin/logout", f.session, NULL, NULL, "", NULL, NULL, 0), 403);
    ck_assert_int_eq(
        admin_call(&d, "POST", "/admin/logout", f.session, csrf, NULL, "", &j, NULL, 0), 200);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "signed_out")));
    cJSON_Delete(j);
    ck_assert_int_eq(admin_call(&d, "GET", "/admin/v1/session", f.session, NULL, NULL, NULL, &j,
                                www, sizeof(www)),
                     401);
    ck_assert_str_eq(jstr(j, "error"), "unauthorized");
    ck_assert_str_eq(www, ""); /* a session failure is not a bearer challenge */
    cJSON_Delete(j);
    /* without any credential the admin API keeps its RFC 6750 challenge */
    {
        struct gh_http_resp r;
        char url[300];
        snprintf(url, sizeof(url), "%s/admin/v1/session", d.base);
        ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(resp_header(&r, "WWW-Authenticate", 0, www, sizeof(www)));
        ck_assert_ptr_nonnull(strstr(www, "Bearer realm="));
        gh_http_resp_free(&r);
    }

    log = sdemo_stop(&d);
    ck_assert_ptr_nonnull(strstr(log, "path=\"/admin/callback\""));
    {
        /* nor the code */
        char code[128];
        const char *c = strstr(f.callback, "code=") + 5;
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(c, "&"), c);
        ck_assert_uint_gt(strlen(code), 20);
        ck_assert_ptr_null(strstr(log, code));
    }
    ck_assert_ptr_null(strstr(log, f.session));
    ck_assert_ptr_null(strstr(log, f.login_cookie));
    ck_assert_ptr_null(strstr(log, csrf));
    {
        /* the state is in the callback URL: not logged either */
        const char *st = strstr(f.callback, "state=");
        ck_assert_ptr_nonnull(st);
        ck_assert_ptr_null(strstr(log, st + 6));
    }
    free(log);
}
END_TEST

/* Every way a sign-in must fail, each answered with a page that says why. */
START_TEST(signin_refusals)
{
    struct sdemo d;
    struct flow f, g;
    struct gh_http_resp r;
    char url[700];

    sdemo_start(&d, NULL);
    /* bob is provisioned but not in Gatehouse Admins */
    ck_assert_int_eq(signin(&d, "bob@demo.example", &f), 403);
    ck_assert_ptr_nonnull(strstr(f.body, "Signed in as bob@demo.example"));
    ck_assert_ptr_nonnull(strstr(f.body, "not a member"));
    ck_assert_ptr_nonnull(strstr(f.body, GH_DEMO_ADMIN_GROUP));
    ck_assert_str_eq(f.session, "");
    /* carol is in it, but deactivated */
    ck_assert_int_eq(signin(&d, "carol@demo.example", &f), 403);
    ck_assert_ptr_nonnull(strstr(f.body, "deactivated"));
    ck_assert_str_eq(f.session, "");

    /* an unknown state */
    login_start(&d, NULL, &f);
    login_choose("alice@demo.example", &f);
    tamper(f.callback, sizeof(f.callback), "state=", "state=x");
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 400);
    ck_assert_str_eq(f.session, "");
    /* no login cookie: a login planted in another browser */
    login_start(&d, NULL, &f);
    login_choose("alice@demo.example", &f);
    login_finish(&f, NULL);
    ck_assert_int_eq(f.status, 400);
    ck_assert_ptr_nonnull(strstr(f.body, "not started in this browser"));
    /* another login's cookie */
    login_start(&d, NULL, &g);
    login_start(&d, NULL, &f);
    login_choose("alice@demo.example", &f);
    login_finish(&f, g.login_cookie);
    ck_assert_int_eq(f.status, 400);
    /* ... and the state was used up by that try: the right cookie now comes too late */
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 400);
    ck_assert_ptr_nonnull(strstr(f.body, "already used"));

    /* a replayed code: signed in once, then the same code under a new login's state */
    ck_assert_int_eq(signin(&d, "alice@demo.example", &f), 302);
    login_start(&d, NULL, &g);
    login_choose("alice@demo.example", &g);
    {
        char code[128], *p = strstr(f.callback, "code="), *q = strstr(g.callback, "code=");
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(q, "&"), q);
        ck_assert_ptr_nonnull(p);
        tamper(g.callback, sizeof(g.callback), code, "code=REPLACED");
        snprintf(code, sizeof(code), "%.*s", (int)strcspn(p, "&"), p);
        tamper(g.callback, sizeof(g.callback), "code=REPLACED", code);
    }
    login_finish(&g, g.login_cookie);
    ck_assert_int_eq(g.status, 401);
    ck_assert_ptr_nonnull(strstr(g.body, "invalid_grant"));
    ck_assert_str_eq(g.session, "");

    /* a PKCE verifier that does not match: the challenge the issuer saw was another one */
    login_start(&d, NULL, &f);
    tamper(f.authorize, sizeof(f.authorize), "code_challenge=", "code_challenge=X");
    {
        /* keep it 43 characters: drop one at the end of the value */
        char *p = strstr(f.authorize, "code_challenge=X") + strlen("code_challenge=X");
        size_t n = strcspn(p, "&");
        memmove(p + n - 1, p + n, strlen(p + n) + 1);
    }
    login_choose("alice@demo.example", &f);
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 401);
    ck_assert_ptr_nonnull(strstr(f.body, "PKCE"));
    ck_assert_str_eq(f.session, "");

    /* an ID token carrying another nonce */
    login_start(&d, NULL, &f);
    tamper(f.authorize, sizeof(f.authorize), "nonce=", "nonce=other");
    login_choose("alice@demo.example", &f);
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 401);
    ck_assert_ptr_nonnull(strstr(f.body, "nonce"));
    ck_assert_str_eq(f.session, "");

    /* the identity provider's own refusal is shown, the session not made */
    login_start(&d, NULL, &f);
    login_choose("alice@demo.example", &f);
    tamper(f.callback, sizeof(f.callback), "code=", "error=access_denied&error_description=no&x=");
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 401);
    ck_assert_ptr_nonnull(strstr(f.body, "access_denied"));

    /* no open redirect: return paths off /admin/ are refused before anything starts */
    {
        static const char *const bad[] = {"https://evil.example/", "//evil.example/admin/",
                                          "/admin/..%2F..%2Fscim", "/scim/v2/Users"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(url, sizeof(url), "%s/admin/login?return=%s", d.base, bad[i]);
            ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
            ck_assert_msg(r.status == 400, "return=%s: %ld", bad[i], r.status);
            gh_http_resp_free(&r);
        }
    }
    free(sdemo_stop(&d));
}
END_TEST

/* Removal from the admin group in Entra (a SCIM PATCH) revokes at the next request. */
START_TEST(removal_revokes_at_next_request)
{
    struct sdemo d;
    struct flow f;
    struct gh_http_resp r;
    cJSON *j = NULL;
    char url[600], auth[200], body[600], uid[64], gid[64];
    const char *hdr[] = {auth, "Content-Type: application/scim+json", NULL};

    sdemo_start(&d, NULL);
    ck_assert_int_eq(signin(&d, "alice@demo.example", &f), 302);
    ck_assert_int_eq(
        admin_call(&d, "GET", "/admin/v1/session", f.session, NULL, NULL, NULL, &j, NULL, 0), 200);
    snprintf(uid, sizeof(uid), "%s", jstr(cJSON_GetObjectItemCaseSensitive(j, "user"), "id"));
    cJSON_Delete(j);

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", d.scim);
    snprintf(url, sizeof(url),
             "%s/scim/v2/Groups?filter=displayName%%20eq%%20%%22Gatehouse%%20Admins%%22", d.base);
    ck_assert_int_eq(gh_http("GET", url, hdr, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    snprintf(gid, sizeof(gid), "%s",
             jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "Resources"), 0), "id"));
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    snprintf(url, sizeof(url), "%s/scim/v2/Groups/%s", d.base, gid);
    snprintf(body, sizeof(body),
             "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":"
             "[{\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"%s\"}]}]}",
             uid);
    ck_assert_int_eq(gh_http("PATCH", url, hdr, body, NULL, &r), 0);
    ck_assert_msg(r.status == 204 || r.status == 200, "PATCH: %ld %s", r.status, r.body);
    gh_http_resp_free(&r);

    ck_assert_int_eq(
        admin_call(&d, "GET", "/admin/v1/access-groups", f.session, NULL, NULL, NULL, &j, NULL, 0),
        401);
    ck_assert_ptr_nonnull(strstr(jstr(j, "message"), "no longer"));
    cJSON_Delete(j);
    /* the session is gone for good: the next request finds none */
    ck_assert_int_eq(admin_call(&d, "GET", "/admin/v1/access-groups", f.session, NULL, NULL, NULL,
                                NULL, NULL, 0),
                     401);
    free(sdemo_stop(&d));
}
END_TEST

/* GATEHOUSE_ADMIN_SESSION_TTL: the session ends at its absolute expiry. */
START_TEST(session_expires)
{
    struct sdemo d;
    struct flow f;
    cJSON *j = NULL;
    char www[256];

    sdemo_start(&d, "2");
    ck_assert_int_eq(signin(&d, "alice@demo.example", &f), 302);
    ck_assert_ptr_nonnull(strstr(f.session_line, "Max-Age=2;"));
    ck_assert_int_eq(admin_call(&d, "GET", "/admin/v1/access-groups", f.session, NULL, NULL, NULL,
                                NULL, NULL, 0),
                     200);
    nap_ms(3100);
    ck_assert_int_eq(admin_call(&d, "GET", "/admin/v1/access-groups", f.session, NULL, NULL, NULL,
                                &j, www, sizeof(www)),
                     401);
    ck_assert_str_eq(jstr(j, "error"), "unauthorized");
    ck_assert_str_eq(www, "");
    cJSON_Delete(j);
    free(sdemo_stop(&d));
}
END_TEST

/* The development issuer's side: discovery lists both endpoints; the authorization endpoint's
 * page of buttons (no passwords, NOT FOR PRODUCTION) and its form POST; the token endpoint
 * checks the client secret and takes a code once. */
START_TEST(dev_issuer_endpoints)
{
    struct sdemo d;
    struct flow f;
    struct gh_http_resp r;
    char issuer[300], url[4300], form[4300], token_ep[400], *state_json, *q, code[128];
    cJSON *j;
    const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", NULL};

    sdemo_start(&d, NULL);
    snprintf(url, sizeof(url), "%s/issuer.json", d.state);
    state_json = gh_read_file(url);
    j = cJSON_Parse(state_json);
    snprintf(issuer, sizeof(issuer), "%s", jstr(j, "issuer"));
    cJSON_Delete(j);
    free(state_json);
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", issuer);
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(strstr(jstr(j, "authorization_endpoint"), "/oauth2/v2.0/authorize"));
    snprintf(token_ep, sizeof(token_ep), "%s", jstr(j, "token_endpoint"));
    ck_assert_ptr_nonnull(strstr(token_ep, "/oauth2/v2.0/token"));
    ck_assert_ptr_nonnull(strstr(jstr(j, "note"), "NOT FOR PRODUCTION"));
    cJSON_Delete(j);
    gh_http_resp_free(&r);

    /* the page: one button per demo user, no password field */
    login_start(&d, NULL, &f);
    ck_assert_int_eq(gh_http("GET", f.authorize, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "NOT FOR PRODUCTION"));
    ck_assert_ptr_nonnull(strstr(r.body, "Sign in as alice@demo.example</button>"));
    ck_assert_ptr_nonnull(strstr(r.body, "Sign in as bob@demo.example</button>"));
    ck_assert_ptr_null(strstr(r.body, "password\""));
    gh_http_resp_free(&r);
    /* the button's form, posted: the query as a form body plus upn */
    q = strchr(f.authorize, '?');
    ck_assert_ptr_nonnull(q);
    snprintf(form, sizeof(form), "%s&upn=alice%%40demo.example", q + 1);
    snprintf(url, sizeof(url), "%.*s", (int)(q - f.authorize), f.authorize);
    ck_assert_int_eq(gh_http("POST", url, hdr, form, NULL, &r), 0);
    ck_assert_msg(r.status == 302, "POST authorize: %ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(resp_header(&r, "Location", 0, f.callback, sizeof(f.callback)));
    gh_http_resp_free(&r);
    login_finish(&f, f.login_cookie);
    ck_assert_int_eq(f.status, 302);

    /* the token endpoint: a wrong client secret is refused, and the code is gone after it */
    login_start(&d, NULL, &f);
    login_choose("alice@demo.example", &f);
    q = strstr(f.callback, "code=") + 5;
    snprintf(code, sizeof(code), "%.*s", (int)strcspn(q, "&"), q);
    snprintf(form, sizeof(form),
             "grant_type=authorization_code&code=%s&client_id=" GH_DEMO_ADMIN_CLIENT_ID
             "&client_secret=wrong&redirect_uri=x&code_verifier=y",
             code);
    ck_assert_int_eq(gh_http("POST", token_ep, hdr, form, NULL, &r), 0);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_nonnull(strstr(r.body, "invalid_client"));
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_http("POST", token_ep, hdr, form, NULL, &r), 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "invalid_grant"));
    gh_http_resp_free(&r);
    /* another client id is not served at all */
    login_start(&d, NULL, &f);
    tamper(f.authorize, sizeof(f.authorize), "client_id=", "client_id=other-");
    ck_assert_int_eq(gh_http("GET", f.authorize, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "unauthorized_client"));
    gh_http_resp_free(&r);
    free(sdemo_stop(&d));
}
END_TEST

Suite *admin_signin_suite(void)
{
    Suite *s = suite_create("admin_signin");
    TCase *tc = tcase_create("flow");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, signin_session_csrf_logout);
    tcase_add_test(tc, signin_refusals);
    tcase_add_test(tc, removal_revokes_at_next_request);
    tcase_add_test(tc, session_expires);
    tcase_add_test(tc, dev_issuer_endpoints);
    suite_add_tcase(s, tc);
    return s;
}
