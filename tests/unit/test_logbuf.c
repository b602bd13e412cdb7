/*
 * test_logbuf.c - buffered line logs (core/logbuf.h): lines wait in their thread's buffer, go out
 * within the flush interval, at once when asked, when their thread exits and when the log is
 * freed; whole and in order per thread; failed writes are counted.
 */
#include "sidecar/gatehouse.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh temporary file, opened for appending; its path in path (>= 64 bytes). */
static int lb_tmpfile(char *path)
{
    int fd;
    snprintf(path, 64, "/tmp/gh-logbuf-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_APPEND), 0);
    return fd;
}

static long lb_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

/* The whole file (caller frees). */
static char *lb_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n = lb_size(path);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq((long)fread(s, 1, (size_t)n, f), n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static double lb_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void lb_nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static struct gh_logbuf *lb_new(int fd, size_t per_thread, int flush_ms, gh_logbuf_fail_fn fn,
                                void *ctx)
{
    struct gh_logbuf_opts o = {fd, per_thread, flush_ms, fn, ctx};
    struct gh_logbuf *lb = NULL;
    struct gh_err err = {0};
    ck_assert_int_eq(gh_logbuf_new(&o, &lb, &err), GH_OK);
    return lb;
}

/* A line waits in memory, then the flusher writes it within its interval. */
START_TEST(logbuf_flushes_within_interval)
{
    char path[64];
    int fd = lb_tmpfile(path);
    struct gh_logbuf *lb = lb_new(fd, 4096, 200, NULL, NULL);
    double t0, waited;

    gh_logbuf_write(lb, "one\n", 4, false);
    t0 = lb_now();
    ck_assert_int_eq(lb_size(path), 0); /* buffered, not written */
    while (lb_size(path) == 0 && lb_now() - t0 < 5)
        lb_nap_ms(5);
    waited = lb_now() - t0;
    ck_assert_int_eq(lb_size(path), 4);
    /* within the interval, with slack for a loaded machine */
    ck_assert_msg(waited < 1.0, "written after %.3f s (interval 0.2 s)", waited);
    gh_logbuf_free(lb);
    ck_assert_int_eq(lb_size(path), 4);
    close(fd);
    unlink(path);
}
END_TEST

/* `now` writes this thread's buffered lines and the line before returning; a full buffer is
 * written before the line that does not fit; a line longer than the buffer goes out on its own,
 * after the lines before it. */
START_TEST(logbuf_now_full_and_long_lines)
{
    char path[64], big[3000], *s;
    int fd = lb_tmpfile(path);
    struct gh_logbuf *lb = lb_new(fd, 1024, 60000, NULL, NULL);

    gh_logbuf_write(lb, "a\n", 2, false);
    gh_logbuf_write(lb, "b\n", 2, true);
    ck_assert_int_eq(lb_size(path), 4);
    for (int i = 0; i < 100; i++) /* 100 lines of 20 bytes: at least one buffer's worth out */
        gh_logbuf_write(lb, "0123456789abcdefghi\n", 20, false);
    ck_assert_int_ge(lb_size(path), 4 + 1000 - 20);
    ck_assert_int_lt(lb_size(path), 4 + 2000);
    ck_assert_int_eq((lb_size(path) - 4) % 20, 0); /* whole lines only */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\n';
    gh_logbuf_write(lb, big, sizeof(big), false);
    ck_assert_int_eq(lb_size(path), 4 + 2000 + (long)sizeof(big));
    gh_logbuf_free(lb);
    s = lb_slurp(path);
    ck_assert(strncmp(s, "a\nb\n0123456789abcdefghi\n", 24) == 0);
    ck_assert_int_eq(s[4 + 2000], 'x');
    free(s);
    close(fd);
    unlink(path);
}
END_TEST

struct lb_writer {
    struct gh_logbuf *lb;
    int id, n;
};

static void *lb_writer_run(void *arg)
{
    struct lb_writer *w = arg;
    char line[64];
    for (int i = 0; i < w->n; i++) {
        int len = snprintf(line, sizeof(line), "t%d n%06d\n", w->id, i);
        gh_logbuf_write(w->lb, line, (size_t)len, false);
    }
    return NULL;
}

/* The file holds counts[i] lines "t<i> n<k>" of each thread i, whole, each thread's in order. */
static void lb_check_lines(const char *path, int nthreads, const int *counts)
{
    char *s = lb_slurp(path);
    int *next = calloc((size_t)nthreads, sizeof(int));

    for (char *l = s, *nl; *l != '\0'; l = nl + 1) {
        int id = -1, k = -1;
        nl = strchr(l, '\n');
        ck_assert_ptr_nonnull(nl); /* whole lines only */
        ck_assert_int_eq(sscanf(l, "t%d n%d", &id, &k), 2);
        ck_assert(id >= 0 && id < nthreads);
        ck_assert_int_eq(k, next[id]); /* this thread's lines in order, none lost */
        next[id]++;
    }
    for (int i = 0; i < nthreads; i++)
        ck_assert_int_eq(next[i], counts[i]);
    free(next);
    free(s);
}

/* Threads that exit have their lines written then (the interval is a minute); a thread still
 * alive has them written when the log is freed. */
START_TEST(logbuf_thread_exit_and_free_write_everything)
{
    char path[64];
    int fd = lb_tmpfile(path);
    struct gh_logbuf *lb = lb_new(fd, 2048, 60000, NULL, NULL);
    struct lb_writer w[4], me = {lb, 4, 10};
    pthread_t t[4];
    const int exited[5] = {5000, 5000, 5000, 5000, 0}, all[5] = {5000, 5000, 5000, 5000, 10};
    long before;

    for (int i = 0; i < 4; i++) {
        w[i] = (struct lb_writer){lb, i, 5000};
        ck_assert_int_eq(pthread_create(&t[i], NULL, lb_writer_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    lb_check_lines(path, 5, exited);
    before = lb_size(path);
    lb_writer_run(&me);
    ck_assert_int_eq(lb_size(path), before);
    gh_logbuf_free(lb);
    lb_check_lines(path, 5, all);
    close(fd);
    unlink(path);
}
END_TEST

static _Atomic unsigned long lb_lost;
static _Atomic int lb_errnum;

static void lb_on_fail(void *ctx, unsigned long lines, int errnum)
{
    ck_assert_ptr_eq(ctx, &lb_lost);
    atomic_fetch_add(&lb_lost, lines);
    atomic_store(&lb_errnum, errnum);
}

/* A device that refuses every write (/dev/full: ENOSPC): every line is counted as lost, by the
 * flusher, by `now` and by free. */
START_TEST(logbuf_counts_lost_lines)
{
    int fd = open("/dev/full", O_WRONLY);
    struct gh_logbuf *lb;
    double t0;

    ck_assert_int_ge(fd, 0);
    atomic_store(&lb_lost, 0);
    lb = lb_new(fd, 4096, 50, lb_on_fail, &lb_lost);
    gh_logbuf_write(lb, "x\n", 2, false);
    gh_logbuf_write(lb, "y\n", 2, false);
    t0 = lb_now();
    while (atomic_load(&lb_lost) < 2 && lb_now() - t0 < 5)
        lb_nap_ms(5);
    ck_assert_int_eq(atomic_load(&lb_lost), 2);
    ck_assert_int_eq(atomic_load(&lb_errnum), ENOSPC);
    gh_logbuf_write(lb, "z\n", 2, true);
    ck_assert_int_eq(atomic_load(&lb_lost), 3);
    gh_logbuf_write(lb, "w\n", 2, false);
    gh_logbuf_free(lb);
    ck_assert_int_eq(atomic_load(&lb_lost), 4);
    close(fd);
}
END_TEST

/* The log's timestamps: RFC 3339 UTC with milliseconds, the date cached per second. */
START_TEST(log_time_format)
{
    char a[40], b[40];
    size_t n = gh_log_time(a, sizeof(a));
    int y, mo, d, h, mi, s, ms;
    char z;

    ck_assert_int_eq(n, 24);
    ck_assert_int_eq(sscanf(a, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z),
                     8);
    ck_assert_int_eq(z, 'Z');
    ck_assert(y >= 2024 && mo >= 1 && mo <= 12 && ms >= 0 && ms <= 999);
    gh_log_time(b, sizeof(b));
    ck_assert(strcmp(a, b) <= 0);
    ck_assert_int_eq(gh_log_time(b, 10), 9); /* truncated, still terminated */
    ck_assert_int_eq(strlen(b), 9);
}
END_TEST

/* A line written in place: it lands in the buffer as written, after the lines before it; a
 * line that is not kept leaves nothing; room that is short first writes the buffer out. */
START_TEST(logbuf_in_place_lines)
{
    char path[64], *s;
    int fd = lb_tmpfile(path);
    struct gh_logbuf *lb = lb_new(fd, 1024, 60000, NULL, NULL);
    struct gh_span w;

    gh_logbuf_write(lb, "a\n", 2, false);
    gh_logbuf_begin(lb, 100, &w);
    gh_span_lit(&w, "b=");
    gh_span_i64(&w, -42);
    gh_span_lit(&w, "\n");
    gh_logbuf_end(lb, &w, true, false);
    gh_logbuf_begin(lb, 100, &w);
    gh_span_lit(&w, "dropped\n");
    gh_logbuf_end(lb, &w, false, false);
    ck_assert_int_eq(lb_size(path), 0);
    gh_logbuf_begin(lb, 4096, &w); /* clamped to the buffer: what was buffered goes out first */
    ck_assert_int_eq(lb_size(path), 8);
    ck_assert_int_eq((int)(w.end - w.p), 1024);
    gh_span_lit(&w, "c\n");
    gh_logbuf_end(lb, &w, true, true);
    ck_assert_int_eq(lb_size(path), 10);
    gh_logbuf_free(lb);
    s = lb_slurp(path);
    ck_assert_str_eq(s, "a\nb=-42\nc\n");
    free(s);
    close(fd);
    unlink(path);
}
END_TEST

/* Spans: JSON strings escaped exactly as gh_buf_json_str escapes them (every byte value, runs
 * crossing the 8-byte steps), a string that does not fit is left out whole, numbers, and
 * puts cut at the end with the span marked full. */
START_TEST(span_json_matches_buf)
{
    char text[80], out[600];
    struct gh_span w;
    unsigned seed = 7;

    for (int round = 0; round < 4000; round++) {
        struct gh_buf b;
        size_t n = (size_t)(round % 70);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly plain text, sometimes any byte but NUL */
            text[i] =
                (seed >> 16) % 5 ? (char)('a' + (seed >> 8) % 26) : (char)(1 + (seed >> 8) % 255);
        }
        text[n] = '\0';
        gh_buf_init(&b, 4096);
        ck_assert_int_eq(gh_buf_json_str(&b, text, NULL), GH_OK);
        gh_span_init(&w, out, sizeof(out));
        gh_span_json(&w, text);
        ck_assert(!w.full);
        ck_assert_uint_eq(gh_span_len(&w), b.len);
        ck_assert(memcmp(out, b.data, b.len) == 0);
        ck_assert_uint_le(b.len, gh_span_json_max(text));
        /* one byte short: nothing of it written, full */
        gh_span_init(&w, out, b.len - 1);
        gh_span_json(&w, text);
        ck_assert(w.full);
        ck_assert_uint_eq(gh_span_len(&w), 0);
        gh_buf_free(&b);
    }
    gh_span_init(&w, out, sizeof(out));
    gh_span_json(&w, NULL);
    gh_span_lit(&w, ",");
    gh_span_i64(&w, -9223372036854775807LL - 1);
    gh_span_lit(&w, ",");
    gh_span_u64(&w, 18446744073709551615ULL);
    gh_span_lit(&w, ",");
    gh_span_i64(&w, 0);
    ck_assert_int_eq((int)gh_span_len(&w), 48);
    ck_assert(memcmp(out, "null,-9223372036854775808,18446744073709551615,0", 48) == 0);
    gh_span_init(&w, out, 5);
    gh_span_puts(&w, "abcdefgh");
    ck_assert(w.full);
    ck_assert_int_eq((int)gh_span_len(&w), 5);
    gh_span_json(&w, "x"); /* nothing once full */
    ck_assert_int_eq((int)gh_span_len(&w), 5);
}
END_TEST

Suite *logbuf_suite(void)
{
    Suite *s = suite_create("logbuf");
    TCase *tc = tcase_create("logbuf");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, logbuf_flushes_within_interval);
    tcase_add_test(tc, logbuf_now_full_and_long_lines);
    tcase_add_test(tc, logbuf_thread_exit_and_free_write_everything);
    tcase_add_test(tc, logbuf_counts_lost_lines);
    tcase_add_test(tc, log_time_format);
    tcase_add_test(tc, logbuf_in_place_lines);
    tcase_add_test(tc, span_json_matches_buf);
    suite_add_tcase(s, tc);
    return s;
}
