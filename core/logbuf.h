/*
 * logbuf.h - buffered line logs (nginx's `access_log ... buffer= flush=`): each thread appends
 * whole lines to a buffer of its own, written with one write(2) when the next line would not fit,
 * when a line asks for it, by a flusher thread at least every flush_ms, when the thread exits and
 * when the log is freed. A line never straddles two writes and lines of one thread stay in their
 * order; lines of different threads may come out up to flush_ms apart from their time order.
 * Used by the daemon's own log (log.h: gh_log_buffer_start) and the decision log, so that a
 * request costs a memcpy into memory rather than two write(2) calls.
 * A process killed with SIGKILL loses at most the last flush_ms of lines.
 */
#ifndef GH_LOGBUF_H
#define GH_LOGBUF_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct gh_logbuf;

/* Called (from whichever thread was writing) when a write failed: `lines` whole lines were lost,
 * errnum says why. Must not write to the same log. */
typedef void (*gh_logbuf_fail_fn)(void *ctx, unsigned long lines, int errnum);

struct gh_logbuf_opts {
    int fd;                    /* borrowed: written to, never closed */
    size_t per_thread;         /* bytes buffered per writing thread (>= 1024) */
    int flush_ms;              /* the most a line waits for its write (>= 1) */
    gh_logbuf_fail_fn on_fail; /* may be NULL */
    void *fail_ctx;
};

/* A new log with its flusher thread running. On success the caller owns *out_lb
 * (gh_logbuf_free). GH_E_INTERNAL when the thread cannot start. */
enum gh_status gh_logbuf_new(const struct gh_logbuf_opts *o, struct gh_logbuf **out_lb,
                             struct gh_err *err);
/* Append one complete line (len bytes, its '\n' included). now: write this thread's buffer,
 * this line last, before returning (warnings and errors). A line longer than per_thread is
 * written on its own after the buffer. Thread-safe. */
void gh_logbuf_write(struct gh_logbuf *lb, const char *line, size_t len, bool now);
/* Build one line in place, straight in this thread's buffer (no copy): *w gets room for up to
 * max bytes (at most per_thread), the buffer written out first when less is free. The thread's
 * buffer stays locked until gh_logbuf_end, which the same thread calls next on lb. */
void gh_logbuf_begin(struct gh_logbuf *lb, size_t max, struct gh_span *w);
/* Keep what w holds (from gh_logbuf_begin; the caller ends it with '\n') as one line, or nothing
 * when keep is false or w is empty; now: as for gh_logbuf_write. */
void gh_logbuf_end(struct gh_logbuf *lb, const struct gh_span *w, bool keep, bool now);
/* Write every thread's buffered lines now. Thread-safe. */
void gh_logbuf_flush(struct gh_logbuf *lb);
/* Stop the flusher, write every buffered line and free the log. NULL is a no-op. No thread may
 * write to lb during or after the call; threads that wrote may still be alive. */
void gh_logbuf_free(struct gh_logbuf *lb);

#endif
