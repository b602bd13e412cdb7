/*
 * support.h - helpers shared by unit and end-to-end tests.
 *
 *  - proc:   run the real build/gatehouse with a GATEHOUSE_* environment on a free loopback port,
 *            wait for /readyz, capture its stderr, always reap it.
 *  - client: one HTTP(S) request with libcurl, the whole response in memory.
 *  - tmp:    temporary directories removed at the end.
 *  - ext:    another program (nginx, Caddy) on a loopback port, killed with the test.
 *
 * Everything here is for tests: failures abort the test (ck_abort_msg), they are not returned.
 */
#ifndef GH_TEST_SUPPORT_H
#define GH_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

/* ---- proc ---- */
struct gh_proc;

/* Start build/gatehouse (path from $GH_BINARY, else ./build/gatehouse) with exactly the given
 * environment ("K=V" strings, NULL-terminated) plus GATEHOUSE_LISTEN=127.0.0.1:0 and a fresh
 * GATEHOUSE_DB in a temp directory unless env sets them. Waits (bounded, 10 s) for the
 * "listening" log line and then for /readyz to answer 200 when wait_ready is true.
 * Caller stops it with gh_proc_stop. Aborts the test on failure. */
struct gh_proc *gh_proc_start(const char *const *env, bool wait_ready);
/* The same with RLIMIT_FSIZE's soft limit set to fsize_limit bytes in the child (0: unchanged),
 * so that its files stop growing there like on a full disk; the hard limit is kept, so the test
 * can raise the soft one again with prlimit(2). */
struct gh_proc *gh_proc_start_fsize(const char *const *env, bool wait_ready, long long fsize_limit);
/* Like gh_proc_start but expects the daemon to exit by itself; returns its exit status and
 * copies its stderr into log (cap bytes). */
int gh_proc_run_to_exit(const char *const *env, const char *const *argv, char *log, size_t cap);
const char *gh_proc_url(const struct gh_proc *p); /* "http://127.0.0.1:PORT" (https when TLS) */
const char *gh_proc_dir(const struct gh_proc *p); /* its temp directory (db lives there) */
int gh_proc_pid(const struct gh_proc *p);
/* stderr captured so far; borrowed until the next call. */
const char *gh_proc_log(struct gh_proc *p);
/* Poll the log until it contains needle or timeout_ms passes. */
bool gh_proc_wait_log(struct gh_proc *p, const char *needle, int timeout_ms);
/* SIGTERM, wait (bounded 15 s, then SIGKILL), reap; returns the exit status (or 128+signal). */
int gh_proc_stop(struct gh_proc *p);

/* ---- client ---- */
struct gh_http_resp {
    long status;
    char *body; /* NUL-terminated, owned */
    size_t body_len;
    char *headers; /* raw response headers, owned */
};
/* One request. headers: NULL-terminated "Name: value" strings. body may be NULL. ca_file: for
 * https URLs (NULL for http). Returns 0 on success (any HTTP status), -1 on transport error. */
int gh_http(const char *method, const char *url, const char *const *headers, const char *body,
            const char *ca_file, struct gh_http_resp *out);
/* A client whose requests share kept-alive connections, sent from local_addr (a numeric
 * loopback address such as "127.0.0.2", so a test can be two clients; NULL: the default). Use
 * one per thread; create it before starting threads (libcurl's global init is not
 * thread-safe). Free with gh_http_client_free. */
struct gh_http_client;
struct gh_http_client *gh_http_client_new(const char *local_addr);
/* Like gh_http (http URLs only) on c's connections. */
int gh_http_client_do(struct gh_http_client *c, const char *method, const char *url,
                      const char *const *headers, const char *body, struct gh_http_resp *out);
void gh_http_client_free(struct gh_http_client *c);
/* The same from a given local address (e.g. "127.0.0.2", so the daemon sees another client);
 * NULL: the system's choice. */
int gh_http_from(const char *local_ip, const char *method, const char *url,
                 const char *const *headers, const char *body, const char *ca_file,
                 struct gh_http_resp *out);
/* A raw TCP connection to 127.0.0.1:port from local address `from` (e.g. "127.0.0.2", so the
 * daemon sees another client), with TCP_NODELAY and, when timeout_ms > 0, send/receive timeouts.
 * The descriptor, or -1 when the connect fails. For tests that speak HTTP byte by byte. */
int gh_tcp_connect(const char *from, int port, int timeout_ms);
/* A response header's value (case-insensitive name), copied into buf; NULL when absent. */
const char *gh_http_resp_header(const struct gh_http_resp *r, const char *name, char *buf,
                                size_t cap);
void gh_http_resp_free(struct gh_http_resp *r);

/* ---- other programs (ext.c): a proxy in front of the daemon ---- */
struct gh_ext;
/* A loopback TCP port that was free a moment ago (bound to port 0, then closed). */
int gh_free_port(void);
/* Run argv (argv[0] looked up in PATH) with env ("K=V" strings, NULL-terminated; NULL: the
 * test's own), stdin from /dev/null and stdout+stderr into logpath; it is killed when the test
 * process ends. Waits (bounded, 10 s) until 127.0.0.1:port accepts connections; aborts the test
 * with the end of the log when it exits or does not listen. Caller stops it with gh_ext_stop. */
struct gh_ext *gh_ext_start(const char *const *argv, const char *const *env, const char *logpath,
                            int port);
/* SIGTERM, wait (bounded 5 s, then SIGKILL), reap, free; returns the exit status (or
 * 128+signal). NULL is a no-op returning -1. */
int gh_ext_stop(struct gh_ext *e);

/* ---- the store under test (testdb.c) ---- */
/* GATEHOUSE_TEST_PG (a postgresql:// URL) or NULL: SQLite. */
const char *gh_test_pg_url(void);
/* A fresh store target: <dir>/gatehouse.db, or on PostgreSQL a URL naming a new schema. */
void gh_test_db_new(const char *dir, char *out, size_t cap);
/* True when the test may stop and start the PostgreSQL server (GATEHOUSE_TEST_PG_DIR is set). */
bool gh_test_pg_ctl_ok(void);
void gh_test_pg_kill(void);  /* immediate shutdown: as if the server crashed */
void gh_test_pg_start(void); /* start it again (same data, same port) */

/* ---- tmp ---- */
/* mkdtemp under $TMPDIR; caller removes with gh_tmpdir_remove. Returns owned path. */
char *gh_tmpdir_new(void);
void gh_tmpdir_remove(char *path); /* recursive; frees path */
/* A whole file as a NUL-terminated string (owned; "" when it cannot be read). */
char *gh_read_file(const char *path);
/* A self-signed P-256 certificate for 127.0.0.1 (openssl req): <dir>/cert.pem and <dir>/key.pem,
 * whose paths are written to cert and key. Fails the test when openssl fails. */
void gh_selfsigned_cert(const char *dir, char cert[600], char key[600]);

/* ---- store targets for unit tests: one store test, both backends in one run ----
 * A unit test registers its cases twice, in a SQLite suite and a PostgreSQL one (the latter only
 * when gh_test_pg_url() is set; otherwise the suite says so once on stderr), each with its own
 * fixture; unlike gh_test_db_new the backend is the caller's choice, not the environment's. */
enum gh_test_backend { GH_TEST_SQLITE, GH_TEST_PG };
/* A fresh, empty store target: SQLite, a file in a new temp directory; PostgreSQL, a new schema
 * (t_<random>) on $GATEHOUSE_TEST_PG and that URL with options=-csearch_path%3D<schema>. */
struct gh_test_store {
    enum gh_test_backend backend;
    char dir[64];     /* SQLite: the temp directory */
    char schema[40];  /* PostgreSQL: the schema */
    char target[600]; /* what store_open takes */
};
void gh_test_store_new(enum gh_test_backend b, struct gh_test_store *out);
/* Remove it (the directory, or DROP SCHEMA ... CASCADE). */
void gh_test_store_drop(struct gh_test_store *t);
/* The first column of the first row of sql (one text parameter $1 / ?1, may be NULL) run on
 * t's database with a connection of the test's own, into out ("" when no row); false on error. */
bool gh_test_store_query(const struct gh_test_store *t, const char *sql, const char *param,
                         char *out, size_t cap);

#endif
