/* logd.h - tamper-evident log store, queries and the remote syslog forwarder: what
 * the files of logd share (the format itself is common/seal.h) */
#pragma once
#include <czmq.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mp.h"

#include "seal.h"

#define LOGD_HASH_LEN SEAL_HASH_LEN
#define LOGD_MSG_MAX SEAL_MSG_MAX
#define LOGD_FIELDS_MAX SEAL_FIELDS_MAX
#define LOGD_SEG_LOAD_MAX (64u << 20)
/* bytes per log.read answer: a page fills a bus message (1 MiB by default) but
 * for the envelope */
#define LOGD_READ_MAX (1008 * 1024)

struct logd_store_cfg {
        uint64_t seg_max_bytes;
        int64_t seg_max_age_s;
        uint64_t quota_bytes;
        int64_t retention_s;     /* 0: keep until the quota says otherwise */
        uint32_t seal_every;     /* records */
        int64_t epoch_ms;        /* seal epoch length for a new key (the key keeps its own) */
};

/* A segment as the store lists it (a copy). */
struct logd_seg {
        uint64_t first, last; /* last < first: empty */
        int64_t ts_first;     /* wall ms of the first record, 0 when empty */
        int64_t ts_last;
        uint64_t size;
        char name[SEAL_SEG_NAME_MAX];
};

/* What the store says about itself, for status, log.segments and the audit. */
struct logd_store_info {
        uint64_t first_seq, last_seq; /* last_seq 0: empty */
        size_t segments;
        uint64_t bytes, quota_bytes;
        uint64_t sealed_seq, seals_made, seal_epoch;
        uint32_t unsealed;
        int64_t last_seal_mono;
        int64_t key_t0, key_iv;
        bool key_exported;
        uint64_t write_errors, torn_truncated, records_written;
};

/* store.c: the segments, the chain and the seals; rotation, quota and retention.
 * Opaque: read it through logd_store_info(), logd_store_seg() and a cursor. */
typedef struct logd_store logd_store_t;

/* Opens (creating) the store: scans segments, truncates a torn last record,
 * restores the chain head and the seal key. Caller owns *ret. */
int logd_store_open(const char *dir, const char *keydir, const struct logd_store_cfg *cfg, logd_store_t **ret);
void logd_store_close(logd_store_t **s);
/* New limits (SIGHUP, config.set); the key keeps its epoch length. */
void logd_store_configure(logd_store_t *s, const struct logd_store_cfg *cfg);
void logd_store_info(const logd_store_t *s, struct logd_store_info *ret);
/* Segment i (0: oldest) into *ret; -ENOENT past the last. */
int logd_store_seg(const logd_store_t *s, size_t i, struct logd_seg *ret);
/* Index of the segment holding seq, or -1. */
ssize_t logd_store_find(const logd_store_t *s, uint64_t seq);
/* Index of the segment called name, or -ENOENT. */
ssize_t logd_store_find_name(const logd_store_t *s, const char *name);
/* Reads up to size bytes of segment i from off (what is gathered is written
 * first); *ret_n is what was read. */
int logd_store_pread(logd_store_t *s, size_t i, uint64_t off, void *buf, size_t size, size_t *ret_n);
/* Loads a whole segment file (caller frees). */
int logd_seg_load(const logd_store_t *s, size_t i, char **ret, size_t *ret_len);

/* Encodes and appends a record (rec->seq is assigned). The frame is gathered
 * and written with the rest of the batch by logd_store_flush(). */
int logd_store_append(logd_store_t *s, struct seal_rec *rec);
/* Writes the gathered frames to the active segment (one write). */
int logd_store_flush(logd_store_t *s);
/* Writes a seal over the chain head when records are unsealed (fdatasync). */
int logd_store_seal(logd_store_t *s);
/* Starts a new segment (seals first). */
int logd_store_rotate(logd_store_t *s);
bool logd_store_rotate_due(const logd_store_t *s, int64_t now_ms);
/* Deletes the oldest closed segments beyond quota/retention, never one holding
 * a record above keep_from (unforwarded). Returns the number removed. */
int logd_store_prune(logd_store_t *s, int64_t now_ms, uint64_t keep_from);
/* Rotation when due, then quota and retention: after each record and on the tick. */
int logd_store_maintain(logd_store_t *s, int64_t now_ms, uint64_t keep_from);
/* Moves the key on to the epoch of now_ms (sealing what is pending first). */
int logd_store_tick(logd_store_t *s, int64_t now_ms);
/* chain.c: a factory reset of the store. The record end_msg is appended and the
 * chain is sealed and closed with a final seal; with wipe, every segment goes;
 * the seal key is replaced by a new one (its initial key to be exported again)
 * and a new chain starts at the next record, first with a sealed record saying
 * where it starts (start_msg). *ret_end: the last record of the closed chain. */
int logd_store_new_chain(logd_store_t *s, const char *actor, const char *end_msg, const char *start_msg, bool wipe,
                         uint64_t *ret_end);
/* Returns the verification key once ("<k0 hex>/<t0>/<interval>" into text of
 * SEAL_KEY_TEXT_MAX), -EEXIST when already exported. */
int logd_store_seal_init(logd_store_t *s, char *text, size_t size);

/* cursor.c: reads the store in order, frame by frame, following the active
 * segment as it grows and the next segment when one ends. It names segments by
 * their first record, so a prune under it is noticed, never followed blindly. */
typedef struct logd_cursor logd_cursor_t;
/* Caller owns *ret; borrows s, which must outlive it. */
int logd_cursor_new(const logd_store_t *s, logd_cursor_t **ret);
void logd_cursor_destroy(logd_cursor_t **c);
/* Positions at the start of segment i; -ENOENT when there is none. */
int logd_cursor_seek_segment(logd_cursor_t *c, size_t i);
/* Positions before the first record >= seq (the segment holding it, or the first
 * segment after a hole or a prune); -ENOENT when no segment holds it yet. */
int logd_cursor_seek_seq(logd_cursor_t *c, uint64_t seq);
/* The next frame of the current segment (views valid until the next call):
 * 1, 0 at its end (for now), <0 on a read error. */
int logd_cursor_next(logd_cursor_t *c, struct seal_frame *f);
/* The next record (seq >= the one sought), moving on to later segments: 1, 0
 * when there is none yet, <0 on error. */
int logd_cursor_next_rec(logd_cursor_t *c, struct seal_rec *rec);
/* Offset of the next frame in the current segment, and back to one such offset. */
size_t logd_cursor_tell(const logd_cursor_t *c);
int logd_cursor_seek_offset(logd_cursor_t *c, size_t off);
/* The whole current segment as loaded (views valid until the cursor moves). */
void logd_cursor_segment(const logd_cursor_t *c, const char **ret_name, const char **ret_buf, size_t *ret_len);

/* verify.c: the shared verifier (common/seal_verify.c) over the store, with the
 * store's own state as the claims. key: the off-device key (unit tests), or NULL. */
int logd_store_verify(const logd_store_t *s, const struct seal_vkey *key, struct seal_result *ret);

/* query.c */
struct logd_query {
        const char *category, *user, *service, *text;
        int level_min; /* syslog severity: records at or more severe; -1 = any */
        int64_t since_ms, until_ms; /* 0: open */
        uint64_t cursor;            /* return records with seq < cursor (0: from the newest) */
        uint32_t limit;
};
typedef void (*logd_query_fn)(void *ud, const struct seal_rec *rec);
/* Newest first. *ret_next: cursor for the next page (0: no more). */
int logd_query_run(const logd_store_t *s, const struct logd_query *q, logd_query_fn fn, void *ud,
                   uint64_t *ret_next);
int logd_level_severity(const char *level); /* "err" -> 3, unknown -> 6 */
int logd_category_facility(const char *category);
/* RFC 5424 line (no framing, no newline) into buf; returns its length or -E2BIG.
 * buf of LOGD_RFC5424_MAX always holds a whole line. */
#define LOGD_RFC5424_MAX (LOGD_MSG_MAX + 1024)
#define LOGD_TRUNC_MARK "...[truncated]"
int logd_rfc5424(const struct seal_rec *rec, const char *hostname, const char *device_id, char *buf,
                 size_t size);
/* The same, at most max bytes (0: size - 1): a longer MSG is cut at a UTF-8
 * character boundary and ends with LOGD_TRUNC_MARK (*ret_truncated = true).
 * -E2BIG when not even the header and the marker fit. */
int logd_rfc5424_fit(const struct seal_rec *rec, const char *hostname, const char *device_id, size_t max, char *buf,
                     size_t size, bool *ret_truncated);
void logd_rec_write(struct mpw *w, const struct seal_rec *rec);

/* remote.c: RFC 5425 over TLS, non-blocking, driven by the loop */
struct logd_remote_cfg {
        bool enabled, insecure;
        char host[256];
        int port;
        char ca[4096], name[256], pin[65], cert[4096], key[4096];
        char hostname[256], device_id[64];
        int backoff_max_ms;
        int max_msg; /* longest RFC 5424 message sent, bytes */
};
typedef struct logd_remote logd_remote_t;
/* Reads the store through a cursor; store must outlive it. */
logd_remote_t *logd_remote_new(zloop_t *loop, logd_store_t *store, const char *statedir);
void logd_remote_destroy(logd_remote_t **r);
/* Applies (reconnects when changed). */
int logd_remote_configure(logd_remote_t *r, const struct logd_remote_cfg *cfg);
/* New records were stored. */
void logd_remote_kick(logd_remote_t *r);
/* Last record acknowledged by the server's TCP stack (persisted). */
uint64_t logd_remote_acked(const logd_remote_t *r);
bool logd_remote_enabled(const logd_remote_t *r);
void logd_remote_status(const logd_remote_t *r, struct mpw *w);
/* Saves the acknowledged position (at stop). */
void logd_remote_flush(logd_remote_t *r);
