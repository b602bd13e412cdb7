/*
 * demo.c - `gatehouse demo` and `gatehouse mint-token` (see demo.h).
 *
 * One process: the development issuer (devissuer.c) on its own MHD thread, then the real daemon
 * (gh_daemon_run, same code and settings table as production, settings given here) on the main
 * thread. When the daemon listens, a helper thread waits for /readyz (the issuer's keys loaded),
 * provisions over SCIM HTTP as Entra would, reads the admin API, asks /v1/authorize with tokens
 * it mints, checks the outcomes the example policy promises and prints every request as a
 * copy-paste curl command with its reply. A failed step stops the daemon (SIGTERM to itself) and
 * the demo exits 1. Signals are blocked before any thread starts, so Ctrl-C reaches the daemon's
 * sigwait loop whichever thread the kernel picks.
 *
 * The state directory is fresh on every run; a directory that is neither new, empty nor a
 * demo's (marker file) is refused, so `--dir var` can never wipe `make run`'s store.
 */
#include "demo.h"
#include "daemon.h"
#include "devissuer.h"
#include "gatehouse.h"
#include "jwks/jwks.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The marker that makes a directory a demo's (and lets the next run wipe it). */
#define GH_DEMO_MARKER ".gatehouse-demo"
/* Files a run owns in the state directory; all are removed when a run starts. */
static const char *const gh_demo_files[] = {"gatehouse.db",  "gatehouse.db-wal", "gatehouse.db-shm",
                                            "decisions.log", "issuer.json",      "issuer-key.pem",
                                            "scim-token",    "admin-token"};
/* Largest reply the demo reads (the admin list of two access groups is ~1 KiB). */
#define GH_DEMO_BODY_MAX ((size_t)64 * 1024)
/* Largest issuer.json mint-token reads. */
#define GH_DEMO_STATE_MAX ((size_t)16 * 1024)
/* How long the demo waits for /readyz (the daemon loads the issuer's keys at start). */
#define GH_DEMO_READY_MS 10000
/* Per-request timeout of the demo's own HTTP calls, seconds. */
#define GH_DEMO_HTTP_TIMEOUT 5L
#define GH_DEMO_PATH_MAX     1024

static const char gh_demo_usage[] =
    "usage: gatehouse demo [--dir DIR] [--listen HOST:PORT] [--issuer-listen HOST:PORT] "
    "[--policy FILE]\n"
    "       gatehouse mint-token [--dir DIR] --sub SUB --upn UPN [--oid OID] [--ttl SECONDS]\n"
    "\n"
    "demo: gatehouse and a development token issuer (NOT FOR PRODUCTION) on loopback, users and\n"
    "groups provisioned over SCIM, the example policy, and curl commands to try; Ctrl-C stops it.\n"
    "The admin page (/admin/) signs in through the issuer's page of demo users (alice is an\n"
    "administrator); GATEHOUSE_ADMIN_SESSION_TTL, when set, is the session lifetime.\n"
    "  --dir DIR                state directory, fresh on each run (default " GH_DEMO_DIR ")\n"
    "  --listen HOST:PORT       gatehouse's address, loopback only (default " GH_DEMO_LISTEN ")\n"
    "  --issuer-listen HOST:PORT  the issuer's, loopback only (default " GH_DEMO_ISSUER
    ": a free port)\n"
    "  --policy FILE            the policy (default " GH_DEMO_POLICY ")\n"
    "mint-token: a token signed by the key of the demo in DIR (and by nothing else), for the\n"
    "  user whose oid is an externalId or whose upn is a userName; --ttl 1 to 86400 (default "
    "3600)\n";

/* ---- options ---- */

static bool gh_demo_wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* See demo.h. */
enum gh_status gh_demo_addr_parse(const char *s, char *host, size_t cap, int *out_port,
                                  struct gh_err *err)
{
    const char *colon, *h = s;
    size_t hl;
    char *end;
    long port;

    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return GH_ERR(err, GH_E_INVALID, "%.64s: expected HOST:PORT or [V6]:PORT", s);
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return GH_ERR(err, GH_E_INVALID, "%.64s: expected HOST:PORT", s);
        hl = (size_t)(colon - s);
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return GH_ERR(err, GH_E_INVALID, "%.64s: bad port", s);
    if (hl == 0 || hl >= cap)
        return GH_ERR(err, GH_E_INVALID, "%.64s: bad host", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    /* The demo's secrets and its issuer's key are on this host's disk: nobody else may reach
     * a gatehouse that trusts them. */
    if (!gh_devissuer_is_loopback(host))
        return GH_ERR(err, GH_E_INVALID,
                      "%.64s: the demo listens on loopback addresses only (127.0.0.1, ::1)", s);
    *out_port = (int)port;
    return GH_OK;
}

/* The value of option argv[*i] (as "--name VALUE" or "--name=VALUE"), or NULL when argv[*i] is
 * not that option. Advances *i past a separate value; *missing when the value is absent. */
static const char *gh_demo_opt(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (argv[*i] == NULL || strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* See demo.h. */
enum gh_status gh_demo_args_parse(int argc, char **argv, struct gh_demo_opts *out,
                                  struct gh_err *err)
{
    char host[64];
    int port;

    *out = (struct gh_demo_opts){GH_DEMO_DIR, GH_DEMO_LISTEN, GH_DEMO_ISSUER, GH_DEMO_POLICY,
                                 argc > 0 ? argv[0] : "gatehouse"};
    for (int i = 2; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = gh_demo_opt(argc, argv, &i, "--dir", &missing)) != NULL)
            out->dir = v;
        else if ((v = gh_demo_opt(argc, argv, &i, "--listen", &missing)) != NULL)
            out->listen = v;
        else if ((v = gh_demo_opt(argc, argv, &i, "--issuer-listen", &missing)) != NULL)
            out->issuer_listen = v;
        else if ((v = gh_demo_opt(argc, argv, &i, "--policy", &missing)) != NULL)
            out->policy = v;
        else if (missing)
            return GH_ERR(err, GH_E_INVALID, "%.64s needs a value", argv[i]);
        else
            return GH_ERR(err, GH_E_INVALID, "unknown option %.64s", argv[i]);
        if (*v == '\0')
            return GH_ERR(err, GH_E_INVALID, "%.64s: empty value", argv[i]);
    }
    if (gh_demo_addr_parse(out->listen, host, sizeof(host), &port, err) != GH_OK ||
        gh_demo_addr_parse(out->issuer_listen, host, sizeof(host), &port, err) != GH_OK)
        return GH_E_INVALID;
    return GH_OK;
}

/* See demo.h. */
enum gh_status gh_demo_mint_args_parse(int argc, char **argv, struct gh_demo_mint_opts *out,
                                       struct gh_err *err)
{
    *out = (struct gh_demo_mint_opts){GH_DEMO_DIR, NULL, NULL, NULL, GH_DEMO_TTL};
    for (int i = 2; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = gh_demo_opt(argc, argv, &i, "--dir", &missing)) != NULL) {
            out->dir = v;
        } else if ((v = gh_demo_opt(argc, argv, &i, "--sub", &missing)) != NULL) {
            out->sub = v;
        } else if ((v = gh_demo_opt(argc, argv, &i, "--upn", &missing)) != NULL) {
            out->upn = v;
        } else if ((v = gh_demo_opt(argc, argv, &i, "--oid", &missing)) != NULL) {
            out->oid = v;
        } else if ((v = gh_demo_opt(argc, argv, &i, "--ttl", &missing)) != NULL) {
            char *end;
            long t;
            errno = 0;
            t = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || t < 1 || t > GH_DEVISSUER_TTL_MAX)
                return GH_ERR(err, GH_E_INVALID, "--ttl: expected 1 to %d seconds",
                              GH_DEVISSUER_TTL_MAX);
            out->ttl_s = t;
        } else if (missing) {
            return GH_ERR(err, GH_E_INVALID, "%.64s needs a value", argv[i]);
        } else {
            return GH_ERR(err, GH_E_INVALID, "unknown option %.64s", argv[i]);
        }
        if (*v == '\0')
            return GH_ERR(err, GH_E_INVALID, "%.64s: empty value", argv[i]);
    }
    if (out->sub == NULL || out->upn == NULL)
        return GH_ERR(err, GH_E_INVALID, "--sub and --upn are required");
    return GH_OK;
}

/* ---- the state directory ---- */

static void gh_demo_path(char *out, size_t cap, const char *dir, const char *name)
{
    int w = snprintf(out, cap, "%s/%s", dir, name);
    GH_ASSERT(w > 0 && (size_t)w < cap);
}

static bool gh_demo_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* mkdir -p with mode 0700 for the last component. */
static enum gh_status gh_demo_mkdirs(const char *dir, struct gh_err *err)
{
    char p[GH_DEMO_PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return GH_ERR(err, GH_E_INVALID, "--dir: bad path");
    memcpy(p, dir, n + 1);
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return GH_ERR(err, GH_E_INVALID, "%s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", p, strerror(errno));
    return GH_OK;
}

/* True when dir holds nothing but "." and "..". */
static bool gh_demo_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    bool empty = true;

    if (d == NULL)
        return false;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Write data to path afresh with mode 0600 (an old file is unlinked first). */
static enum gh_status gh_demo_write_file(const char *path, const char *data, struct gh_err *err)
{
    size_t len = strlen(data), off = 0;
    int fd;

    if (unlink(path) != 0 && errno != ENOENT)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", path, strerror(errno));
    return GH_OK;
}

/* Make dir a fresh demo state directory: created, or empty, or a previous demo's (then its
 * files are removed). Anything else is refused rather than wiped. The marker stays locked
 * (flock, *out_lock_fd, closed by the caller at exit) so a second demo on the same directory is
 * refused instead of wiping the store under the first. */
static enum gh_status gh_demo_dir_prepare(const char *dir, int *out_lock_fd, struct gh_err *err)
{
    static const char note[] =
        "state of `gatehouse demo`, wiped on each run; " GH_DEVISSUER_NOTE "\n";
    char p[GH_DEMO_PATH_MAX];
    enum gh_status st;
    int fd;

    if (strlen(dir) + 32 >= sizeof(p))
        return GH_ERR(err, GH_E_INVALID, "--dir: path too long");
    st = gh_demo_mkdirs(dir, err);
    if (st)
        return st;
    gh_demo_path(p, sizeof(p), dir, GH_DEMO_MARKER);
    if (!gh_demo_exists(p) && !gh_demo_dir_empty(dir))
        return GH_ERR(err, GH_E_INVALID,
                      "%s is not empty and not a demo state directory (no %s): the demo wipes its "
                      "directory on every run, so pick a new or empty one",
                      dir, GH_DEMO_MARKER);
    fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", p, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return GH_ERR(err, GH_E_CONFLICT, "another gatehouse demo is running in %s", dir);
    }
    *out_lock_fd = fd;
    for (size_t i = 0; i < sizeof(gh_demo_files) / sizeof(gh_demo_files[0]); i++) {
        char f[GH_DEMO_PATH_MAX];
        gh_demo_path(f, sizeof(f), dir, gh_demo_files[i]);
        if (unlink(f) != 0 && errno != ENOENT)
            return GH_ERR(err, GH_E_INVALID, "%s: %s", f, strerror(errno));
    }
    chmod(dir, 0700);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, note, sizeof(note) - 1, 0) != (ssize_t)sizeof(note) - 1)
        return GH_ERR(err, GH_E_INVALID, "%s: %s", p, strerror(errno));
    return GH_OK;
}

/* A random secret as 64 hex digits (32 bytes) into out (>= 65 bytes). */
static enum gh_status gh_demo_secret(char *out, struct gh_err *err)
{
    unsigned char b[32];
    if (RAND_bytes(b, (int)sizeof(b)) != 1)
        return GH_ERR(err, GH_E_INTERNAL, "no random bytes for the demo secrets");
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    OPENSSL_cleanse(b, sizeof(b));
    return GH_OK;
}

/* ---- the demo's HTTP client (libcurl, capped replies) ---- */

struct gh_demo_resp {
    long status;
    size_t len;
    bool too_large;
    char body[GH_DEMO_BODY_MAX + 1];
};

static size_t gh_demo_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct gh_demo_resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n > GH_DEMO_BODY_MAX) {
        r->too_large = true;
        return 0; /* curl fails the transfer: a reply larger than the cap is not read */
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* One request; auth is the bearer credential (or NULL), ctype the body's type (or NULL). */
static enum gh_status gh_demo_http(const char *method, const char *url, const char *auth,
                                   const char *ctype, const char *body, struct gh_demo_resp *out,
                                   struct gh_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[GH_CAP_JWT + 64];
    CURLcode rc;

    if (c == NULL)
        return GH_ERR(err, GH_E_INTERNAL, "curl_easy_init failed");
    out->status = 0;
    out->len = 0;
    out->too_large = false;
    out->body[0] = '\0';
    if (auth != NULL) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, line);
        OPENSSL_cleanse(line, sizeof(line));
    }
    if (ctype != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, GH_DEMO_HTTP_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gh_demo_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h); /* the Authorization line is freed by libcurl unwiped: a demo secret */
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return GH_ERR(err, GH_E_UPSTREAM, "%s %s: %s", method, url,
                      out->too_large ? "reply too large" : curl_easy_strerror(rc));
    return GH_OK;
}

/* ---- the run ---- */

struct gh_demo_user {
    const char *name; /* userName, also the token's upn */
    const char *sub;
    bool active;
    char id[64]; /* SCIM id, filled when provisioned */
};

struct gh_demo {
    struct gh_demo_opts opts;
    char host[64];
    char base[128];               /* http://host:port of gatehouse, set by the listening hook */
    char shown[GH_DEMO_PATH_MAX]; /* how commands name the state dir (shell-quoted) */
    char self[GH_DEMO_PATH_MAX];  /* how commands name the binary (shell-quoted) */
    char scim[65];                /* the demo secrets (also in files, 0600) */
    char admin[65];
    char client_secret[65]; /* the admin app's, shared by the issuer and gatehouse (memory only) */
    char issuer[256];       /* the development issuer's issuer URL */
    const struct gh_devissuer_key *key;
    struct gh_demo_user users[3];
    pthread_t thread;
    bool thread_started;
    atomic_int failed;
};

/* Shell-quote s for a POSIX shell into out: as it is when it holds only safe characters, else in
 * single quotes ('\'' for a quote). */
static const char *gh_demo_shq(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    bool plain = s[0] != '\0';

    for (const char *c = s; *c != '\0'; c++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-",
                   *c) == NULL)
            plain = false;
    if (plain) {
        snprintf(out, cap, "%s", s);
        return out;
    }
    if (o + 1 < cap)
        out[o++] = '\'';
    for (const char *c = s; *c != '\0' && o + 5 < cap; c++) {
        if (*c == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *c;
        }
    }
    if (o + 1 < cap)
        out[o++] = '\'';
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

/* Print the demo's failure and stop the daemon (its sigwait loop takes the SIGTERM). */
static void *gh_demo_fail(struct gh_demo *d, const struct gh_err *err)
{
    fprintf(stderr, "gatehouse demo: %s\n", err->msg);
    atomic_store(&d->failed, 1);
    kill(getpid(), SIGTERM);
    return NULL;
}

static enum gh_status gh_demo_wait_ready(struct gh_demo *d, struct gh_err *err)
{
    struct gh_demo_resp *r = gh_xmalloc(sizeof(*r));
    struct timespec nap = {0, 50L * 1000 * 1000};
    char url[192], last[256] = "no answer";
    struct gh_err e;
    enum gh_status st;

    snprintf(url, sizeof(url), "%s/readyz", d->base);
    for (int waited = 0; waited < GH_DEMO_READY_MS; waited += 50) {
        memset(&e, 0, sizeof(e));
        if (gh_demo_http("GET", url, NULL, NULL, NULL, r, &e) == GH_OK) {
            if (r->status == 200) {
                free(r);
                return GH_OK;
            }
            snprintf(last, sizeof(last), "/readyz: %.200s", r->body);
        }
        nanosleep(&nap, NULL);
    }
    st = GH_ERR(err, GH_E_UNAVAILABLE, "gatehouse was not ready after %d ms (%s)", GH_DEMO_READY_MS,
                last);
    free(r);
    return st;
}

/* POST a SCIM resource; expects 201 and copies the new id into id (cap bytes). */
static enum gh_status gh_demo_scim_post(struct gh_demo *d, const char *type, cJSON *res, char *id,
                                        size_t cap, struct gh_err *err)
{
    struct gh_demo_resp *r = gh_xmalloc(sizeof(*r));
    char url[192], *body = cJSON_PrintUnformatted(res);
    enum gh_status st;
    cJSON *j = NULL;
    const cJSON *idj;

    snprintf(url, sizeof(url), "%s/scim/v2/%s", d->base, type);
    st = gh_demo_http("POST", url, d->scim, "application/scim+json", body, r, err);
    if (st)
        goto out;
    j = cJSON_Parse(r->body);
    idj = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (r->status != 201 || !cJSON_IsString(idj)) {
        st = GH_ERR(err, GH_E_UPSTREAM, "POST /scim/v2/%s answered %ld: %.200s", type, r->status,
                    r->body);
        goto out;
    }
    snprintf(id, cap, "%s", idj->valuestring);
out:
    cJSON_Delete(j);
    cJSON_free(body);
    free(r);
    return st;
}

/* Users and groups as Entra's provisioning service sends them (groups named like the example
 * policy's access groups, so gatehouse links them). */
static enum gh_status gh_demo_provision(struct gh_demo *d, struct gh_err *err)
{
    static const struct {
        const char *name;
        int members[2]; /* indexes into d->users, -1 ends */
    } groups[] = {{"Payroll Analysts", {0, 2}},
                  {"HR Writers", {1, -1}},
                  /* the admin page's administrators: alice (carol is deactivated) */
                  {GH_DEMO_ADMIN_GROUP, {0, 2}}};
    char gid[64];

    for (size_t i = 0; i < sizeof(d->users) / sizeof(d->users[0]); i++) {
        struct gh_demo_user *u = &d->users[i];
        cJSON *res = cJSON_CreateObject(), *emails, *em;
        enum gh_status st;
        cJSON_AddItemToObject(
            res, "schemas",
            cJSON_CreateStringArray(
                (const char *const[]){"urn:ietf:params:scim:schemas:core:2.0:User"}, 1));
        cJSON_AddStringToObject(res, "userName", u->name);
        cJSON_AddStringToObject(res, "externalId", u->sub);
        cJSON_AddBoolToObject(res, "active", u->active);
        emails = cJSON_AddArrayToObject(res, "emails");
        em = cJSON_CreateObject();
        cJSON_AddBoolToObject(em, "primary", true);
        cJSON_AddStringToObject(em, "type", "work");
        cJSON_AddStringToObject(em, "value", u->name);
        cJSON_AddItemToArray(emails, em);
        st = gh_demo_scim_post(d, "Users", res, u->id, sizeof(u->id), err);
        cJSON_Delete(res);
        if (st)
            return st;
    }
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        cJSON *res = cJSON_CreateObject(), *members;
        enum gh_status st;
        cJSON_AddItemToObject(
            res, "schemas",
            cJSON_CreateStringArray(
                (const char *const[]){"urn:ietf:params:scim:schemas:core:2.0:Group"}, 1));
        cJSON_AddStringToObject(res, "displayName", groups[i].name);
        members = cJSON_AddArrayToObject(res, "members");
        for (size_t m = 0; m < 2 && groups[i].members[m] >= 0; m++) {
            cJSON *mo = cJSON_CreateObject();
            cJSON_AddStringToObject(mo, "value", d->users[groups[i].members[m]].id);
            cJSON_AddItemToArray(members, mo);
        }
        st = gh_demo_scim_post(d, "Groups", res, gid, sizeof(gid), err);
        cJSON_Delete(res);
        if (st)
            return st;
    }
    return GH_OK;
}

/* Print one example: a comment, the command, then (when run) the reply. */
static void gh_demo_print_cmd(const char *comment, const char *cmd)
{
    printf("\n# %s\n%s\n", comment, cmd);
}

/* The admin call, run and summarised: every access group with the IdP group linked to it. */
static enum gh_status gh_demo_admin(struct gh_demo *d, struct gh_err *err)
{
    struct gh_demo_resp *r = gh_xmalloc(sizeof(*r));
    char url[192], cmd[2 * GH_DEMO_PATH_MAX];
    const cJSON *ag, *list;
    cJSON *j = NULL;
    enum gh_status st;
    int linked = 0, shown = 0;

    snprintf(url, sizeof(url), "%s/admin/v1/access-groups", d->base);
    snprintf(cmd, sizeof(cmd), "curl -s %s -H \"Authorization: Bearer $(cat %s/admin-token)\"", url,
             d->shown);
    gh_demo_print_cmd(
        "Admin API: the access groups, their grants and the IdP groups linked to them", cmd);
    st = gh_demo_http("GET", url, d->admin, NULL, NULL, r, err);
    if (st)
        goto out;
    j = cJSON_Parse(r->body);
    list = cJSON_GetObjectItemCaseSensitive(j, "access_groups");
    if (r->status != 200 || !cJSON_IsArray(list)) {
        st = GH_ERR(err, GH_E_UPSTREAM, "GET /admin/v1/access-groups answered %ld: %.200s",
                    r->status, r->body);
        goto out;
    }
    printf("#   -> %ld", r->status);
    cJSON_ArrayForEach(ag, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(ag, "name");
        const cJSON *idp = cJSON_GetObjectItemCaseSensitive(ag, "idp_group");
        const cJSON *dn = cJSON_GetObjectItemCaseSensitive(idp, "displayName");
        if (!cJSON_IsString(name))
            continue;
        if (cJSON_IsString(dn)) {
            printf("%s access group \"%s\" linked to IdP group \"%s\"", shown ? ";" : ":",
                   name->valuestring, dn->valuestring);
            linked++;
        } else {
            printf("%s access group \"%s\" not linked", shown ? ";" : ":", name->valuestring);
        }
        shown++;
    }
    printf(" (the whole reply is JSON)\n");
    if (linked < 3)
        st = GH_ERR(err, GH_E_UPSTREAM,
                    "the demo's groups did not link to the policy's access "
                    "groups (is --policy the example policy?)");
out:
    cJSON_Delete(j);
    free(r);
    return st;
}

/* One /v1/authorize example with a token minted here; checks the outcome the policy promises. */
static enum gh_status gh_demo_authorize(struct gh_demo *d, const struct gh_demo_user *u,
                                        const char *comment, bool want, struct gh_err *err)
{
    static const char body[] = "{\"dataset\":\"payroll\",\"action\":\"unprotect\"}";
    struct gh_demo_resp *r = gh_xmalloc(sizeof(*r));
    struct gh_devissuer_claims c = {d->issuer, GH_DEMO_AUDIENCE, GH_DEMO_TENANT, u->sub, u->name,
                                    NULL,      GH_DEMO_TTL};
    char url[192], cmd[4 * GH_DEMO_PATH_MAX], dir_opt[GH_DEMO_PATH_MAX + 8] = "";
    char *tok = NULL;
    const cJSON *allowed;
    cJSON *j = NULL;
    enum gh_status st;

    snprintf(url, sizeof(url), "%s/v1/authorize", d->base);
    if (strcmp(d->opts.dir, GH_DEMO_DIR) != 0)
        snprintf(dir_opt, sizeof(dir_opt), " --dir %s", d->shown);
    snprintf(cmd, sizeof(cmd),
             "curl -s -X POST %s -H \"Authorization: Bearer $(%s mint-token%s --sub %s --upn %s)\" "
             "-H 'Content-Type: application/json' -d '%s'",
             url, d->self, dir_opt, u->sub, u->name, body);
    gh_demo_print_cmd(comment, cmd);
    st = gh_devissuer_mint(d->key, &c, &tok, err);
    if (st == GH_OK)
        st = gh_demo_http("POST", url, tok, "application/json", body, r, err);
    if (tok != NULL) {
        OPENSSL_cleanse(tok, strlen(tok));
        free(tok);
    }
    if (st)
        goto out;
    printf("#   -> %ld %s\n", r->status, r->body);
    j = cJSON_Parse(r->body);
    allowed = cJSON_GetObjectItemCaseSensitive(j, "allowed");
    if (r->status != 200 || !cJSON_IsBool(allowed) || cJSON_IsTrue(allowed) != want)
        st = GH_ERR(err, GH_E_UPSTREAM, "/v1/authorize for %s: want allowed=%s, got %ld %.200s",
                    u->name, want ? "true" : "false", r->status, r->body);
out:
    cJSON_Delete(j);
    free(r);
    return st;
}

/* The helper thread: everything after the daemon listens. Prints nothing but the demo's
 * output (no gh_log: the daemon's log buffers end before this thread is joined). */
static void *gh_demo_thread(void *arg)
{
    struct gh_demo *d = arg;
    struct gh_err err = {0};
    char cmd[2 * GH_DEMO_PATH_MAX];

    if (gh_demo_wait_ready(d, &err) != GH_OK || gh_demo_provision(d, &err) != GH_OK)
        return gh_demo_fail(d, &err);
    printf("\n=================================================================="
           "============\n"
           "gatehouse demo: %s (state in %s, fresh on each run)\n"
           "  development issuer: %s -- NOT FOR PRODUCTION\n"
           "  policy: %s\n"
           "  users (provisioned over SCIM): %s, %s, %s (deactivated)\n"
           "  groups, named like the policy's access groups: \"Payroll Analysts\" (alice, carol), "
           "\"HR Writers\" (bob), \"" GH_DEMO_ADMIN_GROUP "\" (alice, carol)\n"
           "  admin page: %s/admin/ -- \"Sign in with Entra ID\" goes to the development "
           "issuer;\n"
           "    sign in as %s (an administrator); %s is not one, %s is deactivated\n"
           "=================================================================="
           "============\n",
           d->base, d->opts.dir, d->issuer, d->opts.policy, d->users[0].name, d->users[1].name,
           d->users[2].name, d->base, d->users[0].name, d->users[1].name, d->users[2].name);
    snprintf(cmd, sizeof(cmd),
             "curl -s -X POST %s/scim/v2/Users -H \"Authorization: Bearer $(cat %s/scim-token)\" "
             "-H 'Content-Type: application/scim+json' -d "
             "'{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
             "\"userName\":\"dave@demo.example\",\"externalId\":\"dave\",\"active\":true}'",
             d->base, d->shown);
    gh_demo_print_cmd("SCIM, as Entra's provisioning service calls it: create a user "
                      "(201; 409 the second time)",
                      cmd);
    snprintf(cmd, sizeof(cmd),
             "curl -s -X POST %s/scim/v2/Groups -H \"Authorization: Bearer $(cat %s/scim-token)\" "
             "-H 'Content-Type: application/scim+json' -d "
             "'{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
             "\"displayName\":\"Auditors\"}'",
             d->base, d->shown);
    gh_demo_print_cmd(
        "SCIM: create a group (201; no access group is named \"Auditors\", so it grants "
        "nothing)",
        cmd);
    if (gh_demo_admin(d, &err) != GH_OK ||
        gh_demo_authorize(d, &d->users[0],
                          "Authorize, allowed: alice is in Payroll Analysts, which grants "
                          "unprotect on payroll",
                          true, &err) != GH_OK ||
        gh_demo_authorize(d, &d->users[1],
                          "Authorize, denied: bob's access group (HR Writers) grants nothing on "
                          "payroll",
                          false, &err) != GH_OK ||
        gh_demo_authorize(d, &d->users[2],
                          "Authorize, denied: carol is in Payroll Analysts but deactivated", false,
                          &err) != GH_OK) {
        fflush(stdout);
        return gh_demo_fail(d, &err);
    }
    printf("\n# More tokens (signed by the development issuer's key in %s):\n"
           "#   %s mint-token%s%s --sub SUB --upn UPN [--oid OID] [--ttl SECONDS]\n"
           "# Decisions are logged to %s/decisions.log.\n%s\n",
           d->opts.dir, d->self, strcmp(d->opts.dir, GH_DEMO_DIR) != 0 ? " --dir " : "",
           strcmp(d->opts.dir, GH_DEMO_DIR) != 0 ? d->shown : "", d->opts.dir, GH_DEMO_READY_LINE);
    fflush(stdout);
    return NULL;
}

/* The daemon's listening hook: note the port, start the helper thread (it inherits the blocked
 * signals from the main thread). */
static void gh_demo_on_listening(void *ctx, int port)
{
    struct gh_demo *d = ctx;
    bool v6 = strchr(d->host, ':') != NULL;

    snprintf(d->base, sizeof(d->base), "http://%s%s%s:%d", v6 ? "[" : "", d->host, v6 ? "]" : "",
             port);
    if (pthread_create(&d->thread, NULL, gh_demo_thread, d) == 0) {
        d->thread_started = true;
    } else {
        fprintf(stderr, "gatehouse demo: cannot start its thread\n");
        atomic_store(&d->failed, 1);
        kill(getpid(), SIGTERM);
    }
}

/* issuer.json: what mint-token needs besides the key. */
static enum gh_status gh_demo_write_state(const char *dir, const char *issuer, const char *kid,
                                          struct gh_err *err)
{
    char p[GH_DEMO_PATH_MAX];
    cJSON *s = cJSON_CreateObject();
    char *text;
    enum gh_status st;

    cJSON_AddStringToObject(s, "note", GH_DEVISSUER_NOTE);
    cJSON_AddStringToObject(s, "issuer", issuer);
    cJSON_AddStringToObject(s, "audience", GH_DEMO_AUDIENCE);
    cJSON_AddStringToObject(s, "tenant", GH_DEMO_TENANT);
    cJSON_AddStringToObject(s, "kid", kid);
    text = cJSON_Print(s);
    cJSON_Delete(s);
    gh_demo_path(p, sizeof(p), dir, "issuer.json");
    st = gh_demo_write_file(p, text, err);
    cJSON_free(text);
    return st;
}

/*
 * `gatehouse demo`; see demo.h. Builds the daemon's settings from scratch (the environment's
 * GATEHOUSE_* settings are ignored, bar GATEHOUSE_LOG_LEVEL and GATEHOUSE_ADMIN_SESSION_TTL, so a
 * demo never opens a real store
 * or trusts a real issuer), runs the daemon until a signal, then stops the issuer.
 */
int gh_demo_main(int argc, char **argv)
{
    struct gh_demo *d = gh_xcalloc(1, sizeof(*d));
    struct gh_devissuer_key *key = NULL;
    struct gh_devissuer *iss = NULL;
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    char ihost[64], p[GH_DEMO_PATH_MAX];
    char e_listen[128], e_db[GH_DEMO_PATH_MAX + 16], e_scim[96], e_admin[96];
    char e_policy[GH_DEMO_PATH_MAX + 24], e_disc[400], e_log[GH_DEMO_PATH_MAX + 32], e_level[64];
    /* the issuer is plain http on loopback: allowed by this opt-in only */
    char e_insecure[] = "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1";
    char e_aud[] = "GATEHOUSE_AUDIENCE=" GH_DEMO_AUDIENCE;
    char e_tenant[] = "GATEHOUSE_TENANTS=" GH_DEMO_TENANT;
    char e_client[] = "GATEHOUSE_ADMIN_CLIENT_ID=" GH_DEMO_ADMIN_CLIENT_ID;
    char e_group[] = "GATEHOUSE_ADMIN_GROUP=" GH_DEMO_ADMIN_GROUP;
    char e_secret[96], e_ttl[64];
    /* the users the issuer's sign-in page offers (the ones provisioned below) */
    static const struct gh_devissuer_user signin_users[] = {
        {"alice@demo.example", "alice", "Alice Demo"},
        {"bob@demo.example", "bob", "Bob Demo"},
        {"carol@demo.example", "carol", "Carol Demo"}};
    struct gh_devissuer_signin signin = {GH_DEMO_ADMIN_CLIENT_ID, NULL, GH_DEMO_AUDIENCE,
                                         signin_users, 3};
    const char *ttl = getenv("GATEHOUSE_ADMIN_SESSION_TTL");
    const char *level = getenv("GATEHOUSE_LOG_LEVEL");
    int iport = 0, port = 0, code = 1, lock_fd = -1;
    sigset_t sigs;

    if (gh_demo_wants_help(argc, argv)) {
        fputs(gh_demo_usage, stdout);
        free(d);
        return 0;
    }
    if (gh_demo_args_parse(argc, argv, &d->opts, &err) != GH_OK) {
        fprintf(stderr, "gatehouse demo: %s\n%s", err.msg, gh_demo_usage);
        free(d);
        return 2;
    }
    umask(077);
    /* Blocked before the issuer's thread exists, so no thread but the daemon's sigwait loop ever
     * takes SIGINT/SIGTERM (whose default action would end the process mid-write). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    jwks_global_init();
    gh_log_set_level(GH_LOG_WARN);
    if (level != NULL && *level != '\0') {
        enum gh_log_level lv;
        if (!gh_log_level_parse(level, &lv)) {
            fprintf(stderr, "gatehouse demo: GATEHOUSE_LOG_LEVEL: bad level\n");
            free(d);
            return 2;
        }
        gh_log_set_level(lv);
    }
    /* both were checked by gh_demo_args_parse */
    if (gh_demo_addr_parse(d->opts.listen, d->host, sizeof(d->host), &port, &err) != GH_OK ||
        gh_demo_addr_parse(d->opts.issuer_listen, ihost, sizeof(ihost), &iport, &err) != GH_OK)
        goto out;
    if (access(d->opts.policy, R_OK) != 0) {
        fprintf(stderr,
                "gatehouse demo: %s: %s (run it from the source tree, or pass --policy FILE)\n",
                d->opts.policy, strerror(errno));
        free(d);
        return 2;
    }
    if (gh_demo_dir_prepare(d->opts.dir, &lock_fd, &err) != GH_OK)
        goto out;
    gh_demo_path(p, sizeof(p), d->opts.dir, "issuer-key.pem");
    if (gh_demo_secret(d->client_secret, &err) != GH_OK)
        goto out;
    signin.client_secret = d->client_secret;
    if (gh_devissuer_key_create(p, &key, &err) != GH_OK ||
        gh_devissuer_start(ihost, iport, GH_DEMO_TENANT, key, &signin, &iss, &err) != GH_OK ||
        gh_demo_write_state(d->opts.dir, gh_devissuer_issuer(iss), gh_devissuer_key_kid(key),
                            &err) != GH_OK ||
        gh_demo_secret(d->scim, &err) != GH_OK || gh_demo_secret(d->admin, &err) != GH_OK)
        goto out;
    gh_demo_path(p, sizeof(p), d->opts.dir, "scim-token");
    if (gh_demo_write_file(p, d->scim, &err) != GH_OK)
        goto out;
    gh_demo_path(p, sizeof(p), d->opts.dir, "admin-token");
    if (gh_demo_write_file(p, d->admin, &err) != GH_OK)
        goto out;
    snprintf(d->issuer, sizeof(d->issuer), "%s", gh_devissuer_issuer(iss));
    d->key = key;
    gh_demo_shq(d->opts.dir, d->shown, sizeof(d->shown));
    gh_demo_shq(d->opts.self, d->self, sizeof(d->self));
    d->users[0] = (struct gh_demo_user){"alice@demo.example", "alice", true, ""};
    d->users[1] = (struct gh_demo_user){"bob@demo.example", "bob", true, ""};
    d->users[2] = (struct gh_demo_user){"carol@demo.example", "carol", false, ""};

    snprintf(e_listen, sizeof(e_listen), "GATEHOUSE_LISTEN=%s", d->opts.listen);
    snprintf(e_db, sizeof(e_db), "GATEHOUSE_DB=%s/gatehouse.db", d->opts.dir);
    snprintf(e_scim, sizeof(e_scim), "GATEHOUSE_SCIM_TOKEN=%s", d->scim);
    snprintf(e_admin, sizeof(e_admin), "GATEHOUSE_ADMIN_TOKEN=%s", d->admin);
    snprintf(e_policy, sizeof(e_policy), "GATEHOUSE_POLICY=%s", d->opts.policy);
    snprintf(e_disc, sizeof(e_disc), "GATEHOUSE_OIDC_DISCOVERY=%s",
             gh_devissuer_discovery_url(iss));
    snprintf(e_log, sizeof(e_log), "GATEHOUSE_DECISION_LOG=%s/decisions.log", d->opts.dir);
    snprintf(e_level, sizeof(e_level), "GATEHOUSE_LOG_LEVEL=%s",
             level != NULL && *level != '\0' ? level : "warn");
    snprintf(e_secret, sizeof(e_secret), "GATEHOUSE_ADMIN_CLIENT_SECRET=%s", d->client_secret);
    /* the session lifetime is the one setting the demo takes from the environment (tests) */
    snprintf(e_ttl, sizeof(e_ttl), "GATEHOUSE_ADMIN_SESSION_TTL=%.16s",
             ttl != NULL && *ttl != '\0' ? ttl : "28800");
    {
        char *env[] = {e_listen, e_db,  e_scim,  e_admin,  e_policy, e_disc,   e_insecure, e_aud,
                       e_tenant, e_log, e_level, e_client, e_group,  e_secret, e_ttl,      NULL};
        enum gh_status st = gh_config_load(NULL, env, &cfg, &err);
        OPENSSL_cleanse(e_scim, sizeof(e_scim));
        OPENSSL_cleanse(e_admin, sizeof(e_admin));
        OPENSSL_cleanse(e_secret, sizeof(e_secret));
        if (st)
            goto out;
    }
    gh_daemon_on_listening(gh_demo_on_listening, d);
    code = gh_daemon_run(cfg);
    gh_daemon_on_listening(NULL, NULL);
    if (d->thread_started)
        pthread_join(d->thread, NULL);
    if (atomic_load(&d->failed))
        code = 1;
out:
    if (gh_err_is_set(&err))
        fprintf(stderr, "gatehouse demo: %s\n", err.msg);
    gh_config_free(cfg);
    gh_devissuer_stop(iss);
    gh_devissuer_key_free(key);
    if (lock_fd >= 0)
        close(lock_fd);
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
    return code;
}

/* Read dir/issuer.json (what gh_demo_write_state wrote) into a tree; NULL when absent or bad. */
static cJSON *gh_demo_read_state(const char *dir, struct gh_err *err)
{
    char p[GH_DEMO_PATH_MAX], *buf;
    size_t n;
    FILE *f;
    cJSON *j;

    gh_demo_path(p, sizeof(p), dir, "issuer.json");
    f = fopen(p, "r");
    if (f == NULL) {
        GH_ERR(err, GH_E_NOT_FOUND, "%s: %s", p, strerror(errno));
        return NULL;
    }
    buf = gh_xmalloc(GH_DEMO_STATE_MAX + 1);
    n = fread(buf, 1, GH_DEMO_STATE_MAX, f);
    fclose(f);
    buf[n] = '\0';
    j = cJSON_Parse(buf);
    free(buf);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "issuer")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "audience")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "tenant"))) {
        cJSON_Delete(j);
        GH_ERR(err, GH_E_INVALID, "%s: not a demo issuer's state", p);
        return NULL;
    }
    return j;
}

/*
 * `gatehouse mint-token`; see demo.h. Signs only with a demo state directory's key: the marker,
 * issuer.json and issuer-key.pem must all be there, and the token names the demo's issuer,
 * audience and tenant, so it is useless against any gatehouse but the demo's.
 */
int gh_demo_mint_main(int argc, char **argv)
{
    struct gh_demo_mint_opts o;
    struct gh_devissuer_key *key = NULL;
    struct gh_err err = {0};
    cJSON *state = NULL;
    char p[GH_DEMO_PATH_MAX], *tok = NULL;
    int code = 1;

    if (gh_demo_wants_help(argc, argv)) {
        fputs(gh_demo_usage, stdout);
        return 0;
    }
    if (gh_demo_mint_args_parse(argc, argv, &o, &err) != GH_OK) {
        fprintf(stderr, "gatehouse mint-token: %s\n%s", err.msg, gh_demo_usage);
        return 2;
    }
    gh_log_set_level(GH_LOG_ERROR);
    if (strlen(o.dir) + 32 >= sizeof(p)) {
        fprintf(stderr, "gatehouse mint-token: --dir: path too long\n");
        return 2;
    }
    gh_demo_path(p, sizeof(p), o.dir, GH_DEMO_MARKER);
    if (gh_demo_exists(p))
        state = gh_demo_read_state(o.dir, &err);
    gh_demo_path(p, sizeof(p), o.dir, "issuer-key.pem");
    if (state == NULL || gh_devissuer_key_load(p, &key, &err) != GH_OK) {
        fprintf(stderr,
                "gatehouse mint-token: %s holds no demo issuer%s%s. mint-token signs only for the "
                "development issuer of `gatehouse demo` (NOT FOR PRODUCTION): start `make demo` "
                "(or `gatehouse demo --dir DIR`) first and pass its --dir.\n",
                o.dir, gh_err_is_set(&err) ? ": " : "", gh_err_is_set(&err) ? err.msg : "");
        goto out;
    }
    {
        struct gh_devissuer_claims c = {
            cJSON_GetObjectItemCaseSensitive(state, "issuer")->valuestring,
            cJSON_GetObjectItemCaseSensitive(state, "audience")->valuestring,
            cJSON_GetObjectItemCaseSensitive(state, "tenant")->valuestring,
            o.sub,
            o.upn,
            o.oid,
            o.ttl_s};
        if (gh_devissuer_mint(key, &c, &tok, &err) != GH_OK) {
            fprintf(stderr, "gatehouse mint-token: %s\n", err.msg);
            code = 2;
            goto out;
        }
    }
    printf("%s\n", tok);
    code = 0;
out:
    if (tok != NULL) {
        OPENSSL_cleanse(tok, strlen(tok));
        free(tok);
    }
    cJSON_Delete(state);
    gh_devissuer_key_free(key);
    return code;
}
