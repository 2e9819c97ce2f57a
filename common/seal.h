/* seal.h - logd's store format, the one place it is written down: segment
 * header and name, frames, the record and seal payloads, the hash chain, the
 * time-bound forward-secure seal keys and the verifier. A format, not a service:
 * logd writes and seals with it, devctl verifies with it (with the off-device
 * key, so that the key never reaches the device).
 *
 * Segment: "DSLOGSG1" | u64 first seq | prev chain hash[32] | crc32c
 * Frame:   u32 len | u8 type (1 record, 2 seal) | 3 x 0 | payload | tail[32] | crc32c
 * A record's payload is a msgpack map (struct seal_rec), its tail the chain hash
 * SHA-256(prev || payload); a seal's payload is {epoch, n, seq, ts}, its tail
 * HMAC-SHA-256(k_e, "devsec-seal2" || epoch || n || seq || head).
 * Integers are little-endian.
 *
 * Epochs are bound to time: e = (t - t0) / interval, t0 and interval fixed when
 * the key is made (like journald's forward-secure sealing). The epoch keys are the
 * leaves of a binary hash tree of depth SEAL_TREE_DEPTH under k0, so moving on by
 * any number of epochs costs at most 2 x depth hashes, and the state kept for the
 * future (one node per level) derives no earlier leaf. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- little-endian integers, as every field of the format is stored ------------ */
static inline uint32_t seal_get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t seal_get64(const uint8_t *p)
{
        return (uint64_t)seal_get32(p) | (uint64_t)seal_get32(p + 4) << 32;
}
static inline void seal_put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}
static inline void seal_put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

struct mpw;

#define SEAL_HASH_LEN 32
#define SEAL_SEG_MAGIC "DSLOGSG1"
#define SEAL_SEG_HDR_LEN (8 + 8 + SEAL_HASH_LEN + 4)
#define SEAL_FRAME_HDR 8
#define SEAL_FRAME_TAIL (SEAL_HASH_LEN + 4)
#define SEAL_PAYLOAD_MAX 8192
#define SEAL_TREE_DEPTH 48
#define SEAL_KEY_TEXT_MAX 128 /* "<64 hex>/<t0 ms>/<interval ms>" */

#define SEAL_FRAME_SIZE(len) (SEAL_FRAME_HDR + (size_t)(len) + SEAL_FRAME_TAIL)
#define SEAL_SEG_NAME_MAX 48

enum seal_frame_type { SEAL_FRAME_RECORD = 1, SEAL_FRAME_SEAL = 2 };

uint32_t seal_crc32c(uint32_t crc, const void *p, size_t n);

/* ---- segments ---------------------------------------------------------------- */

/* "seg-<first, 20 digits>.log" into buf of SEAL_SEG_NAME_MAX. */
void seal_seg_name(uint64_t first, char buf[SEAL_SEG_NAME_MAX]);
/* NULL when s (n bytes) is a segment name, else why not. */
const char *seal_seg_name_check(const char *s, size_t n);
void seal_seg_header(uint8_t out[SEAL_SEG_HDR_LEN], uint64_t first, const uint8_t prev[SEAL_HASH_LEN]);
/* 0, or -EBADMSG: short, wrong magic or checksum. prev may be NULL. */
int seal_seg_header_parse(const void *buf, size_t len, uint64_t *ret_first, uint8_t prev[SEAL_HASH_LEN]);

/* ---- frames ------------------------------------------------------------------ */

struct seal_frame {
        int type;
        const char *payload;
        size_t len;
        const uint8_t *tail;
};
/* 0 and *ret_next; -EAGAIN: runs past len; -EBADMSG: bad framing or checksum. */
int seal_frame_parse(const char *buf, size_t len, size_t off, struct seal_frame *f, size_t *ret_next);
/* Writes a whole frame (SEAL_FRAME_SIZE(len) bytes) to out; returns its size. */
size_t seal_frame_put(uint8_t *out, int type, const void *payload, size_t len, const uint8_t tail[SEAL_HASH_LEN]);
/* The same around a payload already at out + SEAL_FRAME_HDR. */
size_t seal_frame_close(uint8_t *out, int type, size_t len, const uint8_t tail[SEAL_HASH_LEN]);

/* ---- the hash chain ----------------------------------------------------------- */

/* A reusable SHA-256 context (OpenSSL: the CPU's SHA instructions where there
 * are some), so that hashing a record allocates nothing. */
typedef struct seal_hasher seal_hasher_t;
seal_hasher_t *seal_hasher_new(void);
void seal_hasher_destroy(seal_hasher_t **h);
/* out = SHA-256(prev || payload) */
int seal_chain_next(seal_hasher_t *h, const uint8_t prev[SEAL_HASH_LEN], const void *payload, size_t len,
                    uint8_t out[SEAL_HASH_LEN]);

/* ---- record and seal payloads --------------------------------------------------- */

#define SEAL_MSG_MAX 2048
#define SEAL_FIELDS_MAX 1024

/* One log record. Strings are NUL-terminated copies. */
struct seal_rec {
        uint64_t seq;
        int64_t ts;     /* logd's wall clock at ingest, ms since the epoch */
        int64_t pub_ts; /* the publisher's own time (its claim, kept apart), 0: none */
        int64_t mono;   /* monotonic, ms */
        char service[33];
        char category[16];
        char level[12];
        char user[33];
        char src[64]; /* publishing identity or source address */
        char msg[SEAL_MSG_MAX + 1];
        bool prune; /* a prune record: segments before prune_first_kept were removed */
        uint64_t prune_first_kept;
        uint8_t prune_head[SEAL_HASH_LEN]; /* chain hash the first kept segment continues */
        const void *fields;                /* msgpack map of structured fields, or NULL */
        size_t fields_len;
        char fbuf[SEAL_FIELDS_MAX]; /* holds fields when decoded from the store */
};
/* Appends the record's payload to w. */
void seal_rec_encode(struct mpw *w, const struct seal_rec *rec);
/* The same payload written to out (SEAL_REC_PUT_MAX bytes at least, what the
 * longest record takes); returns its length, 0 when the fields are longer than
 * SEAL_FIELDS_MAX. Allocates nothing. */
#define SEAL_REC_PUT_MAX                                                                                               \
        (128 + sizeof(((struct seal_rec *)0)->service) + sizeof(((struct seal_rec *)0)->category) +                    \
         sizeof(((struct seal_rec *)0)->level) + sizeof(((struct seal_rec *)0)->user) +                                \
         sizeof(((struct seal_rec *)0)->src) + SEAL_MSG_MAX + SEAL_FIELDS_MAX + 64)
size_t seal_rec_put(uint8_t *out, const struct seal_rec *rec);
/* Decodes a record payload into rec (fields copied into rec->fbuf). */
int seal_rec_decode(const char *payload, size_t len, struct seal_rec *rec);

/* What the verifier and a store scan need of a record: no copies. */
struct seal_peek {
        uint64_t seq;
        int64_t ts;
        bool prune;
        uint64_t first_kept;
        uint8_t prune_head[SEAL_HASH_LEN];
};
int seal_rec_peek(const char *payload, size_t len, struct seal_peek *ret);

struct seal_info {
        uint64_t epoch, n, seq;
        int64_t ts;
};
void seal_info_encode(struct mpw *w, const struct seal_info *si);
/* -EBADMSG when it does not decode or has no "n". */
int seal_info_decode(const char *payload, size_t len, struct seal_info *ret);

/* ---- seals -------------------------------------------------------------------- */
void seal_mac(const uint8_t key[SEAL_HASH_LEN], uint64_t epoch, uint64_t n, uint64_t seq,
              const uint8_t head[SEAL_HASH_LEN], uint8_t out[SEAL_HASH_LEN]);
uint64_t seal_epoch_of(int64_t t0_ms, int64_t interval_ms, int64_t ts_ms);

/* The forward-secure key state: the leaf of the current epoch and the right
 * siblings along its path (everything needed for later epochs, nothing earlier). */
struct seal_node {
        uint8_t k[SEAL_HASH_LEN];
        uint8_t depth;
        uint64_t prefix;
};
struct seal_keystate {
        struct seal_node n[2 * SEAL_TREE_DEPTH + 2];
        size_t count;
        uint64_t epoch;
};
void seal_key_init(struct seal_keystate *ks, const uint8_t k0[SEAL_HASH_LEN]);
/* Moves on to epoch (>= the current one; -EINVAL otherwise), wiping what is behind. */
int seal_key_seek(struct seal_keystate *ks, uint64_t epoch);
/* The key of the current epoch (valid after a seek). */
const uint8_t *seal_key_current(const struct seal_keystate *ks);
void seal_key_wipe(struct seal_keystate *ks);

/* The off-device verification key: k0, the sealing start and the epoch length. */
struct seal_vkey {
        uint8_t k0[SEAL_HASH_LEN];
        int64_t t0_ms, interval_ms;
};
/* "<64 hex>/<t0 ms>/<interval ms>" (whitespace around it ignored). */
int seal_vkey_parse(const char *text, struct seal_vkey *ret);
int seal_vkey_format(const struct seal_vkey *k, char *buf, size_t size);
/* A public name of the key (hex of 16 bytes), to key anchors by device. */
void seal_vkey_id(const struct seal_vkey *k, char out[33]);

/* What an earlier verification established, kept off the device. */
struct seal_anchor {
        uint64_t seq;   /* last record covered by a verified seal */
        uint64_t epoch; /* that seal's epoch */
        uint64_t n;     /* that seal's number */
        uint8_t head[SEAL_HASH_LEN];
        int64_t at_ms; /* when it was verified */
};

/* What the device says about its store: untrusted, used to name accidental
 * loss (a tail cut at start-up, seals lost), never to pass a store. */
struct seal_claims {
        uint64_t last_seq, sealed_seq, seals_made;
};

enum seal_vkind {
        SEAL_V_OK = 0,
        SEAL_V_CHECKSUM,
        SEAL_V_CHAIN,
        SEAL_V_GAP,
        SEAL_V_REORDER,
        SEAL_V_TRUNCATED,
        SEAL_V_SEAL_MISSING,
        SEAL_V_SEAL_BAD,
        SEAL_V_SEGMENT,
        SEAL_V_REWRITTEN,
        SEAL_V_REPLAY,
        SEAL_V_PRUNE,
};
const char *seal_vkind_name(enum seal_vkind k);

struct seal_result {
        enum seal_vkind kind;
        uint64_t first_seq;   /* first record in the store */
        uint64_t verified_to; /* last record that checked out */
        uint64_t sealed_to;   /* last record covered by a good seal */
        uint64_t records, seals;
        uint64_t late;        /* records dated before an earlier one (clock stepped back) */
        uint64_t at_seq;
        bool seals_checked;   /* HMACs and time binding checked with the key */
        bool anchor_given;    /* an earlier anchor was compared */
        bool anchor_pruned;   /* ... but its record is no longer in the store */
        uint64_t pruned_to;   /* records up to this were removed by a sealed prune record (0: none) */
        struct seal_anchor next; /* the anchor this verification establishes (seq 0: none) */
        /* set by a caller that splits a store into chains (seal_seg_starts_chain) */
        uint32_t chains;          /* chains in the store (0: not split) */
        uint64_t chain_first;     /* first record of the last chain */
        char segment[48];
        char detail[320];
};

typedef struct seal_verifier seal_verifier_t;
/* key, anchor, claims may be NULL. Caller owns *ret. */
int seal_verifier_new(const struct seal_vkey *key, const struct seal_anchor *anchor, const struct seal_claims *claims,
                      seal_verifier_t **ret);
/* Feeds the next segment (in order). 0: go on, 1: stopped (the result says why). */
int seal_verifier_segment(seal_verifier_t *v, const char *name, const char *buf, size_t len);
/* A segment that starts a chain of its own: its header continues no hash (all
 * zero), as the store's first segment and the first one after a factory reset
 * do. Each chain is verified on its own, with its own key; every chain but the
 * last is closed and must be sealed to its end (seal_chain_closed). */
bool seal_seg_starts_chain(const char *buf, size_t len);
/* After seal_verifier_finish() of a closed chain: fails ret unless the chain
 * checked out and a seal covers its last record. */
void seal_chain_closed(struct seal_result *ret);
/* Final checks; fills ret. */
void seal_verifier_finish(seal_verifier_t *v, struct seal_result *ret);
void seal_verifier_destroy(seal_verifier_t **v);
