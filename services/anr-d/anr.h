/* anr.h - anr-d: automatic network resume. One daemon, two roles:
 *  camera: indexes the closed segments of a recordings directory, signs each
 *          entry with the device key and serves anr.index / anr.read to the
 *          NVR's identity only;
 *  nvr:    watches each camera's presence on the bus, keeps outage intervals,
 *          and after a return fetches the segments of the interval, verified,
 *          into its store. */
#pragma once
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define ANR_NAME_MAX 96          /* a segment's file name */
#define ANR_CAM_MAX 24           /* a camera id */
#define ANR_READ_MAX (512 * 1024) /* one anr.read: busd's max_msg is 1 MiB with the envelope */
#define ANR_INDEX_PAGE 2000      /* entries in one anr.index reply */
#define ANR_MAX_CAMERAS 64
#define ANR_MAX_INTERVALS 64     /* kept per camera; the oldest finished ones go first */
#define ANR_SIG_CONTEXT "devsec-anr-1"

/* The methods' arguments, by their index in methods.c's tables. */
enum { ANR_INDEX_SINCE, ANR_INDEX_UNTIL, ANR_INDEX_AFTER, ANR_INDEX_MAX, ANR_INDEX_N };
enum { ANR_READ_SEGMENT, ANR_READ_OFFSET, ANR_READ_LENGTH, ANR_READ_N };
enum { ANR_CAMERA_CAMERA, ANR_CAMERA_N };

/* ---- the index entry (both roles) ---------------------------------------- */

struct anr_entry {
        char name[ANR_NAME_MAX + 1];
        int64_t start_ms, end_ms; /* camera clock */
        uint64_t size;
        unsigned char sha256[32];
        unsigned char sig[crypto_sign_BYTES];
        bool seen; /* in memory only: found by the last scan */
};

/* index.c: pure logic */
/* NULL when name is a closed segment name (see docs/anr.md), else why not. */
const char *anr_segment_name_check(const char *name, size_t n);
/* The times a segment's name carries: S or S-E (epoch ms), the rest ignored.
 * -EINVAL when the name carries none. end_ms is 0 when the name has no E. */
int anr_segment_times(const char *name, int64_t *ret_start, int64_t *ret_end);
/* NULL when id is a valid camera id ([a-z0-9_-]{1,24}), else why not. */
const char *anr_camera_id_check(const char *s, size_t n);
/* The signed message: context, camera id, name, times, size, sha256. */
size_t anr_sig_message(const char *camera, const struct anr_entry *e, unsigned char *buf, size_t size);
int anr_entry_sign(const char *camera, struct anr_entry *e, const unsigned char sk[crypto_sign_SECRETKEYBYTES]);
bool anr_entry_verify(const char *camera, const struct anr_entry *e, const unsigned char pk[crypto_sign_PUBLICKEYBYTES]);
/* Entry as msgpack map / back; decode names the bad field. */
void anr_entry_write(struct mpw *w, const struct anr_entry *e);
int anr_entry_read(const msgpack_object *o, struct anr_entry *ret, const char **ret_field);
/* Does [a0, a1] meet [b0, b1]? */
static inline bool anr_overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return a0 <= b1 && b0 <= a1; }
int anr_hex_decode(const char *hex, size_t n, unsigned char *out, size_t out_len);

/* ---- outage intervals (nvr) ------------------------------------------------ */

enum anr_istate {
        ANR_I_OPEN = 0,  /* link down */
        ANR_I_PENDING,   /* link back, waiting for the settle delay / its turn */
        ANR_I_FETCHING,
        ANR_I_FILLED,
        ANR_I_PARTIAL,   /* the camera lacks part of it too */
        ANR_I_FAILED,
};
extern const char *const anr_istate_names[];

struct anr_interval {
        int64_t opened_ms, closed_ms; /* NVR clock; closed 0 while open */
        int64_t skew_ms;              /* camera - NVR, measured at the return */
        enum anr_istate state;
        uint32_t flaps;               /* losses merged into this interval */
        uint64_t bytes_total, bytes_done;
        uint32_t segs_total, segs_done, segs_skipped, segs_failed;
        int64_t missing_ms;           /* of the interval, not on the camera either */
        int64_t fill_start_ms, fill_end_ms; /* the last fill */
        char reason[160];
};

/* interval.c: pure logic */
/* Link lost at lost_ms (last seen alive): merges into the last interval when
 * it closed less than merge_ms before, else appends one. Returns the interval. */
struct anr_interval *anr_intervals_open(struct anr_interval *iv, unsigned *n, unsigned max, int64_t lost_ms,
                                        int64_t merge_ms, bool *ret_merged);
/* The open interval, or NULL. */
struct anr_interval *anr_intervals_current(struct anr_interval *iv, unsigned n);
/* Coverage of [t0, t1] by sorted segments: the milliseconds not covered
 * (gaps up to tol_ms between segments count as covered). */
int64_t anr_uncovered_ms(const struct anr_entry *e, size_t n, int64_t t0, int64_t t1, int64_t tol_ms);

/* token bucket (rate in bytes/s; 0 = unlimited) */
struct anr_bucket {
        double rate, cap, tokens;
        int64_t last_ms;
};
void anr_bucket_init(struct anr_bucket *b, uint64_t rate_Bps, uint64_t burst, int64_t now_ms);
/* How many bytes may go now (up to want), or 0 with *ret_wait_ms set. */
uint64_t anr_bucket_take(struct anr_bucket *b, uint64_t want, uint64_t min, int64_t now_ms, int64_t *ret_wait_ms);

/* ---- daemon context ---------------------------------------------------------- */

struct anr_cam;
struct anr_job;

struct anr_ctx {
        struct ds_daemon *d;
        bool camera_role;
        char camera_id[ANR_CAM_MAX + 1];
        char svc_name[40]; /* what the camera serves as: anr-d-<id> */
        /* camera */
        char rec_dir[4096];
        char nvr_identity[BUS_NAME_MAX + 1];
        unsigned char sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
        char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
        struct anr_entry *idx;
        size_t n_idx, cap_idx;
        size_t max_index;
        int scan_timer;
        uint64_t reads, read_bytes, refused;
        /* nvr */
        char store_dir[4096];
        struct anr_cam *cams;
        unsigned n_cams;
        int64_t pre_record_ms, merge_ms, max_skew_ms, ping_ms;
        uint32_t chunk;
        unsigned parallel;
        uint64_t rate_Bps;
        struct anr_bucket global;
        int tick_timer;
        bool dirty; /* progress not saved yet */
        int64_t saved_ms;
};

struct anr_cam {
        char id[ANR_CAM_MAX + 1];
        char svc[40];
        int64_t channel;
        uint64_t rate_Bps;
        struct anr_bucket bucket;
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        bool have_pk, pk_pinned; /* pinned: learnt at first contact, not configured */
        bool up, known, ping_inflight, key_inflight;
        int64_t last_seen_ms, skew_ms, ping_sent_ms;
        struct anr_interval iv[ANR_MAX_INTERVALS];
        unsigned n_iv;
        struct anr_job *job;
        struct anr_ctx *x;
};

/* camera.c */
int anr_camera_init(struct anr_ctx *x);
int anr_camera_start(struct anr_ctx *x);
void anr_camera_stop(struct anr_ctx *x);
int anr_camera_scan(struct anr_ctx *x);
int anr_key_ensure(struct anr_ctx *x);
int h_anr_index(void *ctx, struct ds_call *c);
int h_anr_read(void *ctx, struct ds_call *c);
int h_anr_key(void *ctx, struct ds_call *c);
void anr_camera_status(struct anr_ctx *x, struct mpw *w);
/* outage.c */
struct anr_cam *anr_cam_find(struct anr_ctx *x, const char *id);
/* Saves every camera's record to <state>/intervals; clears x->dirty. */
int anr_outage_save(struct anr_ctx *x);
/* Reads it back into the configured cameras: 0 (also when there is none yet) or -errno. */
int anr_outage_load(struct anr_ctx *x);
/* The interval's fields into an open map. */
void anr_outage_write(struct mpw *w, struct anr_cam *c, const struct anr_interval *iv);
void anr_outage_publish(struct anr_ctx *x, const char *topic, struct anr_cam *c, const struct anr_interval *iv);
/* nvr.c */
int anr_nvr_init(struct anr_ctx *x);
int anr_nvr_start(struct anr_ctx *x);
void anr_nvr_stop(struct anr_ctx *x);
int h_anr_status(void *ctx, struct ds_call *c);
int h_anr_intervals(void *ctx, struct ds_call *c);
int h_anr_retry(void *ctx, struct ds_call *c);
/* fetch.c */
int anr_fetch_start(struct anr_ctx *x, struct anr_cam *c, struct anr_interval *iv);
void anr_fetch_abort(struct anr_cam *c, const char *why);
bool anr_fetch_busy(const struct anr_ctx *x, unsigned *ret_n);
/* Starts the fills due, oldest outage first, as many as parallel allows. */
void anr_fetch_kick(struct anr_ctx *x);
/* methods.c */
extern const struct ds_field anr_settings[];
extern const struct ds_method anr_methods[];
extern const struct ds_audit_item anr_audit[];
