/*
 * ext.c - run a program other than gatehouse for end-to-end tests (nginx, Caddy in front of the
 * daemon). It runs as the test's own user with its output in a log file, dies with the test
 * process (PR_SET_PDEATHSIG: an assertion that ends a test early cannot leave it running), and
 * gh_ext_stop always reaps it within a bounded time.
 */
#define _GNU_SOURCE /* execvpe */
#include "support.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct gh_ext {
    pid_t pid;
    int port;
    char name[64];
    char logpath[600];
};

static void gh_ext_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* See support.h. */
int gh_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    ck_assert_int_ge(fd, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* True when 127.0.0.1:port accepts a connection. */
static bool gh_ext_port_open(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return false;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* The end of a log file, for a failure message (static buffer). */
static const char *gh_ext_log_tail(const char *path)
{
    static char tail[2048];
    char *s = gh_read_file(path);
    size_t n = strlen(s);
    snprintf(tail, sizeof(tail), "%s", s + (n > sizeof(tail) - 1 ? n - (sizeof(tail) - 1) : 0));
    free(s);
    return tail;
}

/* See support.h. */
struct gh_ext *gh_ext_start(const char *const *argv, const char *const *env, const char *logpath,
                            int port)
{
    struct gh_ext *e = calloc(1, sizeof(*e));
    pid_t parent = getpid();
    int status;

    ck_assert_ptr_nonnull(e);
    snprintf(e->name, sizeof(e->name), "%s", argv[0]);
    snprintf(e->logpath, sizeof(e->logpath), "%s", logpath);
    e->port = port;
    e->pid = fork();
    ck_assert_msg(e->pid >= 0, "fork: %s", strerror(errno));
    if (e->pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_RDWR);
        if (fd < 0 || devnull < 0)
            _exit(126);
        /* killed with the test process, however that ends */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(125);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (env != NULL)
            execvpe(argv[0], (char *const *)argv, (char *const *)env);
        else
            execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* listening within 10 s, or the reason it is not */
    for (int i = 0; i < 1000; i++) {
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->pid = 0;
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            ck_abort_msg("%s exited (status %d%s) before listening on port %d:\n%s", e->name, code,
                         code == 127 ? ": not installed? `make test-deps` installs it" : "", port,
                         gh_ext_log_tail(logpath));
        }
        if (gh_ext_port_open(port))
            return e;
        gh_ext_nap_ms(10);
    }
    gh_ext_stop(e);
    ck_abort_msg("%s is not listening on port %d after 10 s:\n%s", e->name, port,
                 gh_ext_log_tail(logpath));
    return NULL;
}

/* See support.h. */
int gh_ext_stop(struct gh_ext *e)
{
    int status = 0, code = -1;

    if (e == NULL)
        return -1;
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        for (int i = 0; i < 500; i++) {
            if (waitpid(e->pid, &status, WNOHANG) == e->pid)
                break;
            gh_ext_nap_ms(10);
            if (i == 499) {
                kill(e->pid, SIGKILL);
                waitpid(e->pid, &status, 0);
            }
        }
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    free(e);
    return code;
}
