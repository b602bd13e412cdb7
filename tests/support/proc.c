/*
 * proc.c - run the real gatehouse binary for end-to-end tests.
 *
 * The child gets exactly the environment given (plus defaults for GATEHOUSE_LISTEN on port 0
 * and a GATEHOUSE_DB in a fresh temp directory), its stderr goes to a file in that directory,
 * and the bound port is read from its "listening" log line. Every wait is bounded; gh_proc_stop
 * always reaps the child (SIGKILL after 15 s) and removes the directory.
 */
#include "support.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct gh_proc {
    pid_t pid;
    char *dir;
    char logpath[512];
    char url[128];
    char *log; /* last read */
    bool tls;
    int port;
};

static void gh_proc_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *gh_proc_binary(void)
{
    const char *b = getenv("GH_BINARY");
    return b != NULL && *b ? b : "./build/gatehouse";
}

static bool gh_proc_env_has(const char *const *env, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
            return true;
    return false;
}

static pid_t gh_proc_spawn(const char *const *env, const char *const *argv, const char *dir,
                           const char *logpath, long long fsize_limit, bool *out_tls)
{
    char *envv[128];
    char *args[32];
    size_t n = 0, a = 0;
    char listen[] = "GATEHOUSE_LISTEN=127.0.0.1:0";
    char db[600];
    pid_t pid;

    *out_tls = false;
    for (size_t i = 0; env != NULL && env[i] != NULL && n < 120; i++) {
        envv[n++] = (char *)env[i];
        if (strncmp(env[i], "GATEHOUSE_TLS_CERT=", 19) == 0 && env[i][19] != '\0')
            *out_tls = true;
    }
    if (!gh_proc_env_has(env, "GATEHOUSE_LISTEN"))
        envv[n++] = listen;
    if (!gh_proc_env_has(env, "GATEHOUSE_DB")) {
        memcpy(db, "GATEHOUSE_DB=", 13);
        gh_test_db_new(dir, db + 13, sizeof(db) - 13);
        envv[n++] = db;
    }
    envv[n] = NULL;
    args[a++] = (char *)gh_proc_binary();
    for (size_t i = 0; argv != NULL && argv[i] != NULL && a < 30; i++)
        args[a++] = (char *)argv[i];
    args[a] = NULL;

    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_RDWR);
        if (fd < 0 || devnull < 0)
            _exit(126);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fsize_limit > 0) {
            /* Only the soft limit: the test raises it again later (prlimit) to free "space".
             * SIGXFSZ goes back to its default so that only the daemon's own set-up can
             * ignore it (an ignored signal survives execve). */
            struct rlimit rl;
            getrlimit(RLIMIT_FSIZE, &rl);
            rl.rlim_cur = (rlim_t)fsize_limit;
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(125);
            signal(SIGXFSZ, SIG_DFL);
        }
        execve(args[0], args, envv);
        _exit(127);
    }
    return pid;
}

/* See support.h. */
char *gh_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    n = (long)fread(buf, 1, (size_t)n, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* See support.h. */
const char *gh_proc_log(struct gh_proc *p)
{
    free(p->log);
    p->log = gh_read_file(p->logpath);
    return p->log;
}

/* See support.h. */
bool gh_proc_wait_log(struct gh_proc *p, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (strstr(gh_proc_log(p), needle) != NULL)
            return true;
        gh_proc_nap_ms(10);
    }
    return false;
}

/* See support.h. */
struct gh_proc *gh_proc_start(const char *const *env, bool wait_ready)
{
    return gh_proc_start_fsize(env, wait_ready, 0);
}

/* See support.h. */
struct gh_proc *gh_proc_start_fsize(const char *const *env, bool wait_ready, long long fsize_limit)
{
    struct gh_proc *p = calloc(1, sizeof(*p));
    const char *line;
    int status;

    p->dir = gh_tmpdir_new();
    snprintf(p->logpath, sizeof(p->logpath), "%s/stderr.log", p->dir);
    p->pid = gh_proc_spawn(env, NULL, p->dir, p->logpath, fsize_limit, &p->tls);
    for (int i = 0; i < 1000; i++) {
        line = strstr(gh_proc_log(p), "msg=\"listening\" addr=");
        if (line != NULL && strchr(line, '\n') != NULL)
            break;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            ck_abort_msg("gatehouse exited at start-up (status %d): %s", status, gh_proc_log(p));
        }
        line = NULL;
        gh_proc_nap_ms(10);
    }
    ck_assert_msg(line != NULL, "gatehouse did not log \"listening\" within 10 s: %s", p->log);
    {
        const char *addr = strstr(line, "addr=") + 5;
        const char *colon = strchr(addr, ' ');
        while (colon > addr && colon[-1] != ':')
            colon--;
        p->port = (int)strtol(colon, NULL, 10);
    }
    snprintf(p->url, sizeof(p->url), "%s://127.0.0.1:%d", p->tls ? "https" : "http", p->port);
    if (wait_ready && !p->tls) {
        char url[200];
        bool ready = false;
        snprintf(url, sizeof(url), "%s/readyz", p->url);
        for (int i = 0; i < 500 && !ready; i++) {
            struct gh_http_resp r;
            if (gh_http("GET", url, NULL, NULL, NULL, &r) == 0 && r.status == 200)
                ready = true;
            gh_http_resp_free(&r);
            if (!ready)
                gh_proc_nap_ms(20);
        }
        ck_assert_msg(ready, "gatehouse not ready within 10 s: %s", gh_proc_log(p));
    }
    return p;
}

/* See support.h. */
int gh_proc_run_to_exit(const char *const *env, const char *const *argv, char *log, size_t cap)
{
    char *dir = gh_tmpdir_new();
    char logpath[600];
    bool tls;
    int status = -1;
    pid_t pid;
    char *text;

    snprintf(logpath, sizeof(logpath), "%s/stderr.log", dir);
    pid = gh_proc_spawn(env, argv, dir, logpath, 0, &tls);
    for (int i = 0; i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        gh_proc_nap_ms(10);
        if (i == 999) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_abort_msg("gatehouse did not exit within 10 s");
        }
    }
    text = gh_read_file(logpath);
    snprintf(log, cap, "%s", text);
    free(text);
    gh_tmpdir_remove(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* See support.h. */
const char *gh_proc_url(const struct gh_proc *p)
{
    return p->url;
}

/* See support.h. */
const char *gh_proc_dir(const struct gh_proc *p)
{
    return p->dir;
}

/* See support.h. */
int gh_proc_pid(const struct gh_proc *p)
{
    return (int)p->pid;
}

/* See support.h. */
int gh_proc_stop(struct gh_proc *p)
{
    int status = 0, code = -1;

    if (p == NULL)
        return -1;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        for (int i = 0; i < 1500; i++) {
            if (waitpid(p->pid, &status, WNOHANG) == p->pid)
                break;
            gh_proc_nap_ms(10);
            if (i == 1499) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
            }
        }
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (code != 0 && code != -1) {
        /* the log goes with the directory: keep its end where the failing test shows it */
        const char *log = gh_proc_log(p);
        size_t n = strlen(log);
        fprintf(stderr, "gatehouse exited %d; the end of its log:\n%s\n", code,
                log + (n > 4096 ? n - 4096 : 0));
    }
    free(p->log);
    gh_tmpdir_remove(p->dir);
    free(p);
    return code;
}

/* See support.h. */
/* See support.h. */
void gh_selfsigned_cert(const char *dir, char cert[600], char key[600])
{
    char cmd[2048];
    snprintf(cert, 600, "%s/cert.pem", dir);
    snprintf(key, 600, "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
             ">/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
}

char *gh_tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/gatehouse-test-XXXXXX", base != NULL && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp: %s", strerror(errno));
    return strdup(path);
}

/* See support.h. */
void gh_tmpdir_remove(char *path)
{
    char cmd[600];
    if (path == NULL)
        return;
    /* The path is ours (mkdtemp under TMPDIR) and contains no quotes. */
    if (strchr(path, '\'') == NULL && strstr(path, "gatehouse-test-") != NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", path);
    }
    free(path);
}
