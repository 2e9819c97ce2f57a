/* queue.h - the persistent delivery queue (spool) shared by the daemons that
 * send things off the device (smtp-notifier, sftp-storage).
 *
 * Items are opaque blobs with a small header (id, destination, created,
 * attempts, next attempt, last error). One directory per daemon:
 *
 *   <dir>/pending/<seq>.dat   the blob, written once (temp, fsync, rename, fsync dir)
 *   <dir>/pending/<seq>.hdr   the header: the item exists once this file does
 *   <dir>/failed/<seq>.*      items given up (too old, refused for good), with the reason
 *
 * <seq> (16 hex digits) orders the items; delivery keeps that order per
 * destination: an item is handed out only when every earlier item of its
 * destination is gone. A push returns only once both files are durable, so a
 * crash at any moment loses nothing that was acknowledged; what a crash leaves
 * half-written (temp files, a blob without header) is removed at open. The
 * only duplicate possible is an item delivered just before a crash and not yet
 * marked done: it keeps its id, from which the sender derives its Message-ID
 * or remote name, so the receiver can tell.
 *
 * Library code: returns 0 or -errno, never logs above debug, no threads. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSQ_ID_LEN 32     /* hex digits of an item id */
#define DSQ_DEST_MAX 255  /* bytes of a destination */
#define DSQ_ERROR_MAX 200 /* bytes of the last error kept in a header */

typedef struct dsq dsq_t;

struct dsq_limits {
        uint32_t max_items;      /* pending items; a push beyond answers -EBUSY */
        uint64_t max_bytes;      /* pending blob bytes; likewise */
        unsigned warn_pct;       /* level (of either quota) that calls on_level; 0: 80 */
        int64_t max_age_ms;      /* pending longer than this: moved to failed/ (0: never) */
        int64_t backoff_min_ms;  /* first retry after this (0: 1000) */
        int64_t backoff_max_ms;  /* retries capped at this (0: 600000) */
        bool no_jitter;          /* tests: exact backoff instead of [d/2, d] */
        /* Called when the fill level crosses warn_pct upwards (above = true)
         * or falls back below it. */
        void (*on_level)(void *ud, unsigned pct, bool above);
        void *ud;
};

struct dsq_item {
        char id[DSQ_ID_LEN + 1];
        char dest[DSQ_DEST_MAX + 1];
        uint64_t seq;
        uint64_t size;          /* blob bytes */
        int64_t created_ms;     /* wall clock, ms since the epoch */
        int64_t next_ms;        /* not before this (wall clock) */
        uint32_t attempts;
        char error[DSQ_ERROR_MAX + 1]; /* last error, "" when none */
        bool failed;            /* in failed/ */
        bool inflight;          /* handed out by dsq_next(), not yet done/failed */
};

struct dsq_stats {
        uint32_t items, failed_items, inflight;
        uint64_t bytes;
        uint64_t pushed, delivered, refused, retried, expired;
        unsigned level_pct;     /* max(items/max_items, bytes/max_bytes) in % */
};

/* Opens (creating) the spool at dir (0700). Removes what a crash left
 * half-written; an item whose blob is missing or of the wrong size goes to
 * failed/ with that reason. Caller owns; NULL with *ret_err on failure. */
dsq_t *dsq_open(const char *dir, const struct dsq_limits *lim, int *ret_err);
void dsq_destroy(dsq_t **q);
/* New limits (the on_level callback too); takes effect at the next push. */
void dsq_set_limits(dsq_t *q, const struct dsq_limits *lim);

/* Stores a blob for dest, due at once. -EBUSY (counted) when either quota
 * would be exceeded, -EINVAL for an empty or too long dest. ret_id (may be
 * NULL) receives the new id. */
int dsq_push(dsq_t *q, const char *dest, const void *data, size_t len, int64_t now_ms,
             char ret_id[DSQ_ID_LEN + 1]);

/* The oldest item that may be sent now: due, not in flight, and first of its
 * destination. Marks it in flight and copies its header into *ret. -EAGAIN
 * when none; then *ret_wait_ms (may be NULL) is the wait until one is due
 * (-1: nothing pending, or everything in flight). */
int dsq_next(dsq_t *q, int64_t now_ms, struct dsq_item *ret, int64_t *ret_wait_ms);
/* Reads an item's blob (caller owns *ret; NUL-terminated beyond len). */
int dsq_read(dsq_t *q, const char *id, char **ret, size_t *ret_len);
/* Delivered: the item is removed (header first, so a crash leaves no item). */
int dsq_done(dsq_t *q, const char *id);
/* Delivery failed: attempts + 1, the error kept, next attempt after the
 * backoff; permanent: moved to failed/ at once. The header is rewritten
 * atomically. */
int dsq_fail(dsq_t *q, const char *id, const char *error, bool permanent, int64_t now_ms);
/* Moves items older than max_age to failed/ ("expired: ..."). Returns how many. */
int dsq_expire(dsq_t *q, int64_t now_ms);
/* id NULL: every item. Pending items become due now; failed ones go back to
 * pending with their attempts reset. Returns how many, or -ENOENT. */
int dsq_retry(dsq_t *q, const char *id, int64_t now_ms);
/* id NULL: every item of failed/ (failed_only) or of both. In-flight items
 * are kept. Returns how many, or -ENOENT. */
int dsq_purge(dsq_t *q, const char *id, bool failed_only);

/* Calls fn for every item in order (pending first, then failed). */
void dsq_foreach(const dsq_t *q, void (*fn)(void *ud, const struct dsq_item *it), void *ud);
void dsq_get_stats(const dsq_t *q, struct dsq_stats *ret);
/* The backoff before attempt n + 1 after n failures (without jitter). */
int64_t dsq_backoff_ms(const struct dsq_limits *lim, uint32_t attempts);
