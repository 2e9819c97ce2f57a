/* logd.h - tamper-evident log store, queries and the remote syslog forwarder */
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
#define LOGD_MSG_MAX 2048
#define LOGD_FIELDS_MAX 1024
#define LOGD_SEG_MAGIC SEAL_SEG_MAGIC
#define LOGD_SEG_HDR_LEN SEAL_SEG_HDR_LEN
#define LOGD_FRAME_HDR SEAL_FRAME_HDR
#define LOGD_FRAME_TAIL SEAL_FRAME_TAIL
#define LOGD_PAYLOAD_MAX SEAL_PAYLOAD_MAX
#define LOGD_SEG_LOAD_MAX (64u << 20)
#define LOGD_READ_MAX (512 * 1024) /* bytes per log.read answer, well under the bus limit */
#define LOGD_FRAME_RECORD SEAL_FRAME_RECORD
#define LOGD_FRAME_SEAL SEAL_FRAME_SEAL

/* One log record, as stored. Strings are NUL-terminated copies. */
struct logd_rec {
        uint64_t seq;
        int64_t ts;   /* logd's wall clock at ingest, ms since the epoch */
        int64_t pub_ts; /* the publisher's own time (its claim, kept apart), 0: none */
        int64_t mono; /* monotonic, ms */
        char service[33];
        char category[16];
        char level[12];
        char user[33];
        char src[64];  /* publishing identity or source address */
        char msg[LOGD_MSG_MAX + 1];
        bool prune;               /* a prune record: segments before prune_first_kept were removed */
        uint64_t prune_first_kept;
        uint8_t prune_head[LOGD_HASH_LEN]; /* chain hash the first kept segment continues */
        const void *fields; /* msgpack map of structured fields, or NULL */
        size_t fields_len;
        char fbuf[LOGD_FIELDS_MAX]; /* holds fields when decoded from the store */
};

struct logd_store_cfg {
        uint64_t seg_max_bytes;
        int64_t seg_max_age_s;
        uint64_t quota_bytes;
        int64_t retention_s;     /* 0: keep until the quota says otherwise */
        uint32_t seal_every;     /* records */
        int64_t epoch_ms;        /* seal epoch length for a new key (the key keeps its own) */
};

struct logd_seg {
        uint64_t first, last; /* last < first: empty */
        int64_t ts_first;     /* wall ms of the first record, 0 when empty */
        int64_t ts_last;
        uint64_t size;
        char name[48];
};

typedef struct logd_store logd_store_t;

struct logd_store {
        char *dir;    /* segments */
        char *keydir; /* seal key files */
        struct logd_store_cfg cfg;
        struct logd_seg *segs;
        size_t n_segs, cap_segs;
        int fd; /* active (last) segment, O_APPEND */
        uint64_t next_seq;
        uint8_t head[LOGD_HASH_LEN];
        /* sealing: the key of the current epoch and the tree nodes of later ones;
         * epoch = (time - key_t0) / key_iv */
        struct seal_keystate ks;
        int64_t key_t0, key_iv;
        uint64_t seal_n;      /* number of the next seal */
        uint64_t sealed_seq;  /* last record covered by a seal (0: none) */
        uint32_t unsealed;    /* records since the last seal */
        int64_t last_ts;      /* latest time the store shows: a record's, or a seal epoch's start */
        bool init_key_pending; /* k0 not yet exported */
        uint64_t total_bytes;
        uint64_t torn_truncated; /* bytes cut at start-up */
        uint64_t records_written;
        int64_t last_seal_mono;
        /* frames are gathered and written with one write() per batch */
        uint8_t *wbuf;
        size_t wlen, wcap;
        uint64_t flushed_size; /* bytes of the active segment on disk */
        uint64_t write_errors;
};

/* store.c */
/* Opens (creating) the store: scans segments, truncates a torn last record,
 * restores the chain head and the seal key. Caller owns *ret. */
int logd_store_open(const char *dir, const char *keydir, const struct logd_store_cfg *cfg, logd_store_t **ret);
void logd_store_close(logd_store_t **s);
/* Encodes and appends a record (rec->seq is assigned). */
int logd_store_append(logd_store_t *s, struct logd_rec *rec);
/* Writes the gathered frames to the active segment (one write). */
int logd_store_flush(logd_store_t *s);
/* Writes a seal over the chain head when records are unsealed, then evolves the key. */
int logd_store_seal(logd_store_t *s);
/* Starts a new segment (seals first). */
int logd_store_rotate(logd_store_t *s);
/* Returns the verification key once ("<k0 hex>/<t0>/<interval>" into buf of
 * SEAL_KEY_TEXT_MAX), -EEXIST when already exported. */
int logd_store_seal_init(logd_store_t *s, char *text, size_t size);
/* Deletes the oldest closed segments beyond quota/retention, never one holding
 * a record above keep_from (unforwarded). Returns the number removed. */
int logd_store_prune(logd_store_t *s, int64_t now_ms, uint64_t keep_from);
bool logd_store_rotate_due(const logd_store_t *s, int64_t now_ms);

/* Loads a whole segment file (caller frees). */
int logd_seg_load(const logd_store_t *s, size_t i, char **ret, size_t *ret_len);
/* Decodes a record payload into rec (fields borrowed from payload). */
int logd_rec_decode(const char *payload, size_t len, struct logd_rec *rec);
/* Moves the key on to the epoch of now_ms (sealing what is pending first). */
int logd_store_tick(logd_store_t *s, int64_t now_ms);
/* Index of the segment holding seq, or -1. */
ssize_t logd_store_find(const logd_store_t *s, uint64_t seq);

/* verify.c: the shared verifier (common/seal.c) over the store, with the store's
 * own state as the claims. key: the off-device key (unit tests), or NULL. */
int logd_store_verify(const logd_store_t *s, const struct seal_vkey *key, struct seal_result *ret);
/* Reads the 32-byte chain hash a segment continues from its header. */
int logd_seg_prev(const logd_store_t *s, size_t i, uint8_t prev[LOGD_HASH_LEN]);

/* query.c */
struct logd_query {
        const char *category, *user, *service, *text;
        int level_min; /* syslog severity: records at or more severe; -1 = any */
        int64_t since_ms, until_ms; /* 0: open */
        uint64_t cursor;            /* return records with seq < cursor (0: from the newest) */
        uint32_t limit;
};
typedef void (*logd_query_fn)(void *ud, const struct logd_rec *rec);
/* Newest first. *ret_next: cursor for the next page (0: no more). */
int logd_query_run(const logd_store_t *s, const struct logd_query *q, logd_query_fn fn, void *ud,
                   uint64_t *ret_next);
int logd_level_severity(const char *level); /* "err" -> 3, unknown -> 6 */
int logd_category_facility(const char *category);
/* RFC 5424 line (no framing, no newline) into buf; returns its length or -E2BIG.
 * buf of LOGD_RFC5424_MAX always holds a whole line. */
#define LOGD_RFC5424_MAX (LOGD_MSG_MAX + 1024)
#define LOGD_TRUNC_MARK "...[truncated]"
int logd_rfc5424(const struct logd_rec *rec, const char *hostname, const char *device_id, char *buf,
                 size_t size);
/* The same, at most max bytes (0: size - 1): a longer MSG is cut at a UTF-8
 * character boundary and ends with LOGD_TRUNC_MARK (*ret_truncated = true).
 * -E2BIG when not even the header and the marker fit. */
int logd_rfc5424_fit(const struct logd_rec *rec, const char *hostname, const char *device_id, size_t max, char *buf,
                     size_t size, bool *ret_truncated);
void logd_rec_write(struct mpw *w, const struct logd_rec *rec);

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
/* read_fn: fetches the records after seq (a batch) from the store. */
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
