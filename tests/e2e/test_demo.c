/*
 * test_demo.c - the first two minutes, as a new user lives them: `gatehouse demo` on free
 * loopback ports with a temp state directory, every curl command it prints run as printed
 * (through /bin/sh and the curl binary, with $(... mint-token ...) inside), the allowed and
 * denied decisions with their reasons, mint-token against the running demo and its refusal
 * without a demo key, the development issuer's not-for-production notes, the directory and
 * address guards, a clean stop; and /readyz's warning when token validation is not configured.
 */
#include "sidecar/demo.h"
#include "tests/support/fixture.h"
#include "tests/support/support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEMO_CMDS_MAX 16

struct demo_run {
    pid_t pid;
    char *tmp;       /* temp directory: state/, stdout, stderr */
    char state[600]; /* the demo's --dir */
    char out[700], err[700];
    char base[128]; /* http://127.0.0.1:PORT from the banner */
    char *text;     /* stdout once ready */
    char *cmds[DEMO_CMDS_MAX];
    size_t ncmds;
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

static void policy_path(char *out, size_t cap)
{
    const char *src = getenv("GH_SRCDIR");
    snprintf(out, cap, "%s/policies/examples/policy.json", src != NULL && *src ? src : ".");
}

/* fork/exec the binary with args (NULL-terminated, after argv[0]); stdout and stderr to files. */
static pid_t spawn(const char *const *args, const char *out, const char *err)
{
    const char *argv[16];
    size_t n = 0;
    pid_t pid;

    argv[n++] = binary();
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait (bounded) for the child to exit; its exit status, or -1 when it did not. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int status;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        nap_ms(10);
    }
    return -1;
}

/* Start the demo on free ports and wait (bounded, 10 s) for its ready line; collect the curl
 * commands it printed. */
static void demo_start(struct demo_run *d)
{
    char policy[600];
    const char *p;

    memset(d, 0, sizeof(*d));
    d->tmp = gh_tmpdir_new();
    snprintf(d->state, sizeof(d->state), "%s/state", d->tmp);
    snprintf(d->out, sizeof(d->out), "%s/stdout", d->tmp);
    snprintf(d->err, sizeof(d->err), "%s/stderr", d->tmp);
    policy_path(policy, sizeof(policy));
    d->pid =
        spawn((const char *const[]){"demo", "--dir", d->state, "--listen", "127.0.0.1:0",
                                    "--issuer-listen", "127.0.0.1:0", "--policy", policy, NULL},
              d->out, d->err);
    for (int waited = 0;; waited += 20) {
        char *t = gh_read_file(d->out);
        int status;
        if (strstr(t, GH_DEMO_READY_LINE) != NULL) {
            d->text = t;
            break;
        }
        free(t);
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char *e = gh_read_file(d->err);
            d->pid = 0;
            ck_abort_msg("gatehouse demo exited early: %s", e);
        }
        if (waited > 10000) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &status, 0);
            d->pid = 0;
            ck_abort_msg("gatehouse demo not ready within 10 s");
        }
        nap_ms(20);
    }
    p = strstr(d->text, "gatehouse demo: http://");
    ck_assert_ptr_nonnull(p);
    sscanf(p + 16, "%127s", d->base);
    for (char *line = d->text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        if (strncmp(line, "curl ", 5) == 0 && d->ncmds < DEMO_CMDS_MAX)
            d->cmds[d->ncmds++] = strndup(line, len);
        line = nl != NULL ? nl + 1 : NULL;
    }
}

/* SIGTERM; the demo must stop cleanly (exit 0) within 10 s. */
static void demo_stop(struct demo_run *d)
{
    int rc = 0;
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        rc = wait_exit(d->pid, 10000);
        if (rc < 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
        }
    }
    for (size_t i = 0; i < d->ncmds; i++)
        free(d->cmds[i]);
    free(d->text);
    gh_tmpdir_remove(d->tmp);
    ck_assert_msg(rc == 0, "gatehouse demo exited %d on SIGTERM", rc);
}

/* The first printed command containing needle. */
static const char *demo_cmd(const struct demo_run *d, const char *needle)
{
    for (size_t i = 0; i < d->ncmds; i++)
        if (strstr(d->cmds[i], needle) != NULL)
            return d->cmds[i];
    ck_abort_msg("no printed command contains %s", needle);
    return NULL;
}

/* Run a printed command as a user pastes it (/bin/sh); its stdout parsed as JSON. */
static cJSON *sh_json(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    char buf[16384];
    size_t n;
    cJSON *j;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    ck_assert_int_eq(pclose(f), 0);
    j = cJSON_Parse(buf);
    ck_assert_msg(j != NULL, "not JSON from `%s`: %s", cmd, buf);
    return j;
}

/* s with every `from` replaced by `to` (owned). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out = malloc(strlen(s) * (tl > fl ? tl / (fl ? fl : 1) + 2 : 1) + 1);
    ck_assert_ptr_nonnull(out);
    for (const char *p = s; *p != '\0';) {
        if (fl > 0 && strncmp(p, from, fl) == 0) {
            memcpy(out + n, to, tl);
            n += tl;
            p += fl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

/* README's "Try it" shows the commands exactly as the demo prints them with its defaults. */
static void expect_in_readme(const struct demo_run *d)
{
    const char *src = getenv("GH_SRCDIR");
    char path[600], from[900];
    char *readme;

    snprintf(path, sizeof(path), "%s/README.md", src != NULL && *src ? src : ".");
    readme = gh_read_file(path);
    ck_assert_ptr_nonnull(strstr(readme, "## Try it"));
    for (size_t i = 0; i < d->ncmds; i++) {
        char *a, *b, *c;
        snprintf(from, sizeof(from), "%s mint-token --dir %s", binary(), d->state);
        a = replace_all(d->cmds[i], from, "build/gatehouse mint-token");
        b = replace_all(a, d->base, "http://127.0.0.1:8080");
        snprintf(from, sizeof(from), "%s/", d->state);
        c = replace_all(b, from, "var/demo/");
        ck_assert_msg(strstr(readme, c) != NULL, "README lacks the demo's command:\n%s", c);
        free(a);
        free(b);
        free(c);
    }
    free(readme);
}

/* Run `gatehouse mint-token` with args; its stdout (owned) and exit status. */
static char *mint(const char *const *args, int *out_rc, char *errtext, size_t cap)
{
    char *tmp = gh_tmpdir_new(), out[700], err[700], *text, *e;
    const char *argv[16] = {"mint-token"};
    size_t n = 1;
    pid_t pid;

    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/out", tmp);
    snprintf(err, sizeof(err), "%s/err", tmp);
    pid = spawn(argv, out, err);
    *out_rc = wait_exit(pid, 10000);
    text = gh_read_file(out);
    e = gh_read_file(err);
    snprintf(errtext, cap, "%s", e);
    free(e);
    gh_tmpdir_remove(tmp);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

static const cJSON *result0(const cJSON *j)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
}

/* Allowed (or not) with a reason containing want. */
static void expect_decision(const cJSON *j, bool allowed, const char *want)
{
    const cJSON *r = result0(j);
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    ck_assert_msg(cJSON_IsBool(cJSON_GetObjectItem(j, "allowed")), "no decision: %s",
                  cJSON_PrintUnformatted(j));
    ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(j, "allowed")), allowed);
    ck_assert_ptr_nonnull(reason);
    ck_assert_msg(strstr(reason, want) != NULL, "reason \"%s\" lacks \"%s\"", reason, want);
}

/* Every printed command, pasted: SCIM creates (201 bodies), the admin list with both links, and
 * the three decisions with their reasons, through tokens the printed mint-token commands make. */
START_TEST(printed_commands_work)
{
    struct demo_run d;
    cJSON *j;
    const cJSON *ag;
    int linked = 0;

    demo_start(&d);
    ck_assert_uint_ge(d.ncmds, 6);
    /* every command the demo printed is one the demo also answered: the ones it ran show replies */
    ck_assert_ptr_nonnull(strstr(d.text, "#   -> 200 {\"allowed\":true"));
    ck_assert_ptr_nonnull(strstr(d.text, "NOT FOR PRODUCTION"));
    expect_in_readme(&d);

    j = sh_json(demo_cmd(&d, "/scim/v2/Users"));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "userName")), "dave@demo.example");
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    cJSON_Delete(j);
    j = sh_json(demo_cmd(&d, "/scim/v2/Groups"));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "displayName")), "Auditors");
    cJSON_Delete(j);
    /* the same user again: 409 uniqueness, as the comment above the command says */
    j = sh_json(demo_cmd(&d, "/scim/v2/Users"));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "409");
    cJSON_Delete(j);

    j = sh_json(demo_cmd(&d, "/admin/v1/access-groups"));
    cJSON_ArrayForEach(ag, cJSON_GetObjectItem(j, "access_groups"))
    {
        const cJSON *idp = cJSON_GetObjectItem(ag, "idp_group");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(ag, "name"));
        if (cJSON_IsObject(idp)) {
            ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(idp, "displayName")), name);
            linked++;
        }
    }
    ck_assert_int_eq(linked, 3); /* the two of the example, and the admin page's group */
    cJSON_Delete(j);

    j = sh_json(demo_cmd(&d, "--upn alice@demo.example"));
    expect_decision(j, true, "access group \"Payroll Analysts\"");
    cJSON_Delete(j);
    j = sh_json(demo_cmd(&d, "--upn bob@demo.example"));
    expect_decision(j, false, "no access group of bob@demo.example");
    cJSON_Delete(j);
    j = sh_json(demo_cmd(&d, "--upn carol@demo.example"));
    expect_decision(j, false, "deactivated");
    cJSON_Delete(j);
    demo_stop(&d);
}
END_TEST

/* mint-token with --oid and --ttl makes a token the running demo accepts (resolved by oid ->
 * externalId), an unknown user is denied (200, not 401), a bad --ttl is bad usage. */
START_TEST(mint_token_against_the_demo)
{
    struct demo_run d;
    char url[200], auth[2200], err[1024];
    struct gh_http_resp r;
    const char *hdr[] = {auth, "Content-Type: application/json", NULL};
    char *tok;
    cJSON *j;
    int rc;

    demo_start(&d);
    snprintf(url, sizeof(url), "%s/v1/authorize", d.base);
    /* bob's externalId is "bob": the oid claim wins over the (unknown) upn */
    tok = mint((const char *const[]){"--dir", d.state, "--sub", "s1", "--upn", "nobody@x.example",
                                     "--oid", "bob", "--ttl", "120", NULL},
               &rc, err, sizeof(err));
    ck_assert_msg(rc == 0, "mint-token: %s", err);
    ck_assert_int_eq((int)strlen(tok) > 100, 1);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    free(tok);
    ck_assert_int_eq(
        gh_http("POST", url, hdr, "{\"dataset\":\"hr-records\",\"action\":\"protect\"}", NULL, &r),
        0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    expect_decision(j, true, "HR Writers");
    cJSON_Delete(j);
    gh_http_resp_free(&r);

    tok = mint(
        (const char *const[]){"--dir", d.state, "--sub", "s2", "--upn", "eve@demo.example", NULL},
        &rc, err, sizeof(err));
    ck_assert_int_eq(rc, 0);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    free(tok);
    ck_assert_int_eq(
        gh_http("POST", url, hdr, "{\"dataset\":\"payroll\",\"action\":\"protect\"}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "allowed")));
    cJSON_Delete(j);
    gh_http_resp_free(&r);

    /* a lifetime out of range is bad usage */
    tok = mint(
        (const char *const[]){"--dir", d.state, "--sub", "s", "--upn", "u", "--ttl", "0", NULL},
        &rc, err, sizeof(err));
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "--ttl"));
    free(tok);
    demo_stop(&d);
}
END_TEST

/* Without a demo state directory mint-token signs nothing and says why; so does a demo
 * directory whose key is gone. */
START_TEST(mint_token_refuses_without_demo_key)
{
    char *dir = gh_tmpdir_new(), err[2048], marker[700];
    char *tok;
    int rc;

    tok = mint((const char *const[]){"--dir", dir, "--sub", "a", "--upn", "a@b.example", NULL}, &rc,
               err, sizeof(err));
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(tok, "");
    ck_assert_ptr_nonnull(strstr(err, "holds no demo issuer"));
    ck_assert_ptr_nonnull(strstr(err, "NOT FOR PRODUCTION"));
    free(tok);
    /* a marker and issuer.json without the key */
    snprintf(marker, sizeof(marker), "%s/.gatehouse-demo", dir);
    fclose(fopen(marker, "w"));
    snprintf(marker, sizeof(marker), "%s/issuer.json", dir);
    {
        FILE *f = fopen(marker, "w");
        fputs("{\"issuer\":\"http://127.0.0.1:1/x/v2.0\",\"audience\":\"a\",\"tenant\":\"t\"}", f);
        fclose(f);
    }
    tok = mint((const char *const[]){"--dir", dir, "--sub", "a", "--upn", "a@b.example", NULL}, &rc,
               err, sizeof(err));
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(tok, "");
    ck_assert_ptr_nonnull(strstr(err, "issuer-key.pem"));
    free(tok);
    /* bad usage */
    tok = mint((const char *const[]){"--dir", dir, "--upn", "a@b.example", NULL}, &rc, err,
               sizeof(err));
    ck_assert_int_eq(rc, 2);
    free(tok);
    gh_tmpdir_remove(dir);
}
END_TEST

/* The development issuer: discovery and JWKS carry the note, the key file is 0600, issuer.json
 * names the issuer, and the log says NOT FOR PRODUCTION; a second demo on the same directory is
 * refused. */
START_TEST(issuer_is_marked_not_for_production)
{
    struct demo_run d;
    char p[700], url[400];
    struct stat st;
    struct gh_http_resp r;
    char *state, *log;
    cJSON *s, *doc;

    demo_start(&d);
    snprintf(p, sizeof(p), "%s/issuer-key.pem", d.state);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s/admin-token", d.state);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s/issuer.json", d.state);
    state = gh_read_file(p);
    s = cJSON_Parse(state);
    ck_assert_ptr_nonnull(s);
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration",
             cJSON_GetStringValue(cJSON_GetObjectItem(s, "issuer")));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    doc = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(
        strstr(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "note")), "NOT FOR PRODUCTION"));
    snprintf(url, sizeof(url), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(doc, "jwks_uri")));
    cJSON_Delete(doc);
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    doc = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(
        strstr(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "note")), "NOT FOR PRODUCTION"));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "keys"), 0), "kid")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(s, "kid")));
    cJSON_Delete(doc);
    gh_http_resp_free(&r);
    cJSON_Delete(s);
    free(state);
    log = gh_read_file(d.err);
    ck_assert_ptr_nonnull(strstr(log, "level=warn mod=devissuer"));
    ck_assert_ptr_nonnull(strstr(log, "NOT FOR PRODUCTION"));
    /* secrets never reach the log */
    snprintf(p, sizeof(p), "%s/scim-token", d.state);
    state = gh_read_file(p);
    ck_assert_int_eq(strlen(state), 64);
    ck_assert_ptr_null(strstr(log, state));
    ck_assert_ptr_null(strstr(d.text, state));
    free(state);
    free(log);

    /* a second demo on the same directory is refused, and the first keeps its store */
    {
        char out[700], err[700], policy[600];
        char *text;
        pid_t pid;
        snprintf(out, sizeof(out), "%s/stdout2", d.tmp);
        snprintf(err, sizeof(err), "%s/stderr2", d.tmp);
        policy_path(policy, sizeof(policy));
        pid = spawn((const char *const[]){"demo", "--dir", d.state, "--listen", "127.0.0.1:0",
                                          "--policy", policy, NULL},
                    out, err);
        ck_assert_int_eq(wait_exit(pid, 10000), 1);
        text = gh_read_file(err);
        ck_assert_msg(strstr(text, "another gatehouse demo is running") != NULL, "%s", text);
        free(text);
        snprintf(url, sizeof(url), "%s/readyz", d.base);
        ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "\"users\":3"));
        gh_http_resp_free(&r);
    }
    demo_stop(&d);
}
END_TEST

/* The guards: a directory that is not a demo's is never wiped, and neither gatehouse nor the
 * issuer listens beyond loopback. */
START_TEST(demo_guards)
{
    char *dir = gh_tmpdir_new(), *logs = gh_tmpdir_new(), p[700], err[700], out[700];
    char policy[600], *log;
    FILE *f;
    pid_t pid;

    policy_path(policy, sizeof(policy));
    snprintf(p, sizeof(p), "%s/gatehouse.db", dir);
    f = fopen(p, "w");
    fputs("precious", f);
    fclose(f);
    snprintf(out, sizeof(out), "%s/stdout", logs);
    snprintf(err, sizeof(err), "%s/stderr", logs);
    pid = spawn((const char *const[]){"demo", "--dir", dir, "--listen", "127.0.0.1:0",
                                      "--issuer-listen", "127.0.0.1:0", "--policy", policy, NULL},
                out, err);
    ck_assert_int_eq(wait_exit(pid, 10000), 1);
    log = gh_read_file(err);
    ck_assert_msg(strstr(log, "not a demo state directory") != NULL, "%s", log);
    free(log);
    log = gh_read_file(p);
    ck_assert_str_eq(log, "precious");
    free(log);

    pid =
        spawn((const char *const[]){"demo", "--dir", dir, "--listen", "0.0.0.0:0", NULL}, out, err);
    ck_assert_int_eq(wait_exit(pid, 10000), 2);
    log = gh_read_file(err);
    ck_assert_ptr_nonnull(strstr(log, "loopback"));
    free(log);
    pid = spawn((const char *const[]){"demo", "--issuer-listen", "192.0.2.1:0", NULL}, out, err);
    ck_assert_int_eq(wait_exit(pid, 10000), 2);
    pid = spawn((const char *const[]){"demo", "--bogus", NULL}, out, err);
    ck_assert_int_eq(wait_exit(pid, 10000), 2);
    gh_tmpdir_remove(logs);
    gh_tmpdir_remove(dir);
}
END_TEST

/* Without GATEHOUSE_OIDC_DISCOVERY: the start-up log and /readyz (still 200) warn, and a
 * decision answers 503 with the reason. */
START_TEST(readyz_warns_without_token_validation)
{
    struct gh_fixture *fx = gh_fixture_start(&(struct gh_fixture_opts){.no_idp = true});
    char url[200];
    struct gh_http_resp r;
    const char *hdr[] = {"Authorization: Bearer a.b.c", NULL};
    cJSON *j;
    const cJSON *w;

    snprintf(url, sizeof(url), "%s/readyz", gh_proc_url(fx->proc));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = cJSON_Parse(r.body);
    w = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "warnings"), 0);
    ck_assert_msg(cJSON_IsString(w), "no warnings in %s", r.body);
    ck_assert_ptr_nonnull(strstr(w->valuestring, "token validation is not configured"));
    ck_assert_ptr_nonnull(strstr(w->valuestring, "503"));
    cJSON_Delete(j);
    gh_http_resp_free(&r);
    ck_assert(gh_proc_wait_log(fx->proc,
                               "level=warn mod=daemon msg=\"token validation is not "
                               "configured",
                               2000));

    snprintf(url, sizeof(url), "%s/v1/authorize", gh_proc_url(fx->proc));
    ck_assert_int_eq(
        gh_http("POST", url, hdr, "{\"dataset\":\"d\",\"action\":\"protect\"}", NULL, &r), 0);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "token validation is not configured"));
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_fixture_stop(fx), 0);
}
END_TEST

/* With token validation configured there is no such warning. */
START_TEST(readyz_no_warning_with_token_validation)
{
    struct gh_fixture *fx = gh_fixture_start(&(struct gh_fixture_opts){0});
    char url[200];
    struct gh_http_resp r;

    snprintf(url, sizeof(url), "%s/readyz", gh_proc_url(fx->proc));
    ck_assert_int_eq(gh_http("GET", url, NULL, NULL, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body, "warnings"));
    gh_http_resp_free(&r);
    ck_assert_int_eq(gh_fixture_stop(fx), 0);
}
END_TEST

Suite *demo_suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("demo");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, printed_commands_work);
    tcase_add_test(tc, mint_token_against_the_demo);
    tcase_add_test(tc, mint_token_refuses_without_demo_key);
    tcase_add_test(tc, issuer_is_marked_not_for_production);
    tcase_add_test(tc, demo_guards);
    tcase_add_test(tc, readyz_warns_without_token_validation);
    tcase_add_test(tc, readyz_no_warning_with_token_validation);
    suite_add_tcase(s, tc);
    return s;
}
