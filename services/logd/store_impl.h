/* store_impl.h - the store's insides: for store.c, key.c, cursor.c and the
 * store's unit tests only; everything else goes through logd.h. */
#pragma once
#include "logd.h"

struct logd_store {
        char *dir;    /* segments */
        char *keydir; /* seal key files */
        struct logd_store_cfg cfg;
        struct logd_seg *segs;
        size_t n_segs, cap_segs;
        int fd; /* active (last) segment, O_APPEND */
        uint64_t next_seq;
        uint8_t head[LOGD_HASH_LEN];
        seal_hasher_t *hasher;
        /* sealing: the key of the current epoch and the tree nodes of later ones;
         * epoch = (time - key_t0) / key_iv */
        struct seal_keystate ks;
        int64_t key_t0, key_iv;
        uint64_t seal_n;       /* number of the next seal */
        uint64_t sealed_seq;   /* last record covered by a seal (0: none) */
        uint64_t saved_epoch;  /* epoch of the key state on disk */
        uint32_t unsealed;     /* records since the last seal */
        int64_t last_ts;       /* latest time the store shows: a record's, or a seal epoch's start */
        bool init_key_pending; /* k0 not yet exported */
        uint64_t total_bytes;
        uint64_t torn_truncated; /* bytes cut at start-up */
        uint64_t records_written;
        int64_t last_seal_mono;
        /* frames are gathered and written with one write() per batch */
        uint8_t *wbuf;
        size_t wlen, wcap;
        uint64_t flushed_size;  /* bytes of the active segment on disk */
        uint64_t write_errors;
};

/* store.c: starts a new segment at next_seq continuing head (all zero: a new chain) */
int logd_seg_create(logd_store_t *s);
/* A record of logd's own (now, service and source logd), msg to fill; NULL: no memory. */
struct seal_rec *logd_own_rec(const char *category, const char *level, const char *user);
/* chain.c */
int logd_seg_remove_all(logd_store_t *s);

/* key.c: the seal key files (the evolving state and the initial key until exported) */
int logd_key_save(logd_store_t *s);
int logd_key_load(logd_store_t *s);
int logd_key_new(logd_store_t *s);
int64_t logd_epoch_start(const logd_store_t *s, uint64_t e);
