/* timed.h - the NTP engine: no capabilities; asks timed-clock to change the clock */
#pragma once
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ntp.h"
#include "service.h"

#define TIMED_MAX_SOURCES 8
#define TIMED_BURST 4 /* quick first polls, like chrony's iburst */

enum source_state { SRC_INIT = 0, SRC_SELECTED, SRC_CANDIDATE, SRC_FALSETICKER, SRC_UNREACHABLE, SRC_DENIED,
                   SRC_UNAUTH /* not NTS while NTS sources are there and nts_mix is off */ };

struct source {
        char server[256];          /* as configured: HOST[:PORT] */
        char addr[64];             /* numeric address:port */
        struct sockaddr_storage sa;
        socklen_t salen;
        int fd;
        enum source_state state;
        int poll_s, min_poll_s;    /* min_poll_s: raised by a RATE kiss */
        int64_t next_poll_mono, t1_ns, t1_mono;
        uint64_t cookie;           /* transmit timestamp of the outstanding request, 0 if none */
        unsigned burst, missed, polls;
        uint8_t reach;
        struct ntp_filter filter;
        struct ntp_pkt last;       /* header of the last good reply */
        double offset, delay, jitter, disp, rootdist;
        bool have_best;
        uint64_t seq;              /* bumped with every new sample */
        uint64_t rx_ok, drops[NTP_N_VERDICTS];
        struct nts_src *nts;       /* NULL: not an NTS source */
};

struct timed_cfg {
        bool ntp_enabled, step_always;
        int minsources, poll_min_s, poll_max_s, step_limit, save_interval_s;
        int64_t step_threshold_ns, max_slew_ns;
        double max_root_dist;
        char servers[TIMED_MAX_SOURCES][256]; /* the plain ones, then the NTS ones (default port 4460) */
        bool server_nts[TIMED_MAX_SOURCES];
        int n_servers;
        bool nts_mix;
        char nts_ca[256];
        char zone[128];
        char zoneinfo_dir[256];
        char clock_svc[BUS_NAME_MAX + 1];
};

struct nts_src;

struct timed_ctx {
        struct ds_daemon *d;
        struct timed_cfg cfg;
        struct source src[TIMED_MAX_SOURCES];
        int n_src;
        struct timed_lookup {          /* one per configured server while its name is looked up */
                struct timed_ctx *t;
                int idx;               /* into cfg.servers */
                struct ds_resolve *r;
        } lk[TIMED_MAX_SOURCES];
        int lk_pending;
        int tick_timer, save_timer;
        int64_t corr_ns;               /* dry-run clock: corrections the virtual clock took */
        bool clock_busy, lkg_pending, started;
        int64_t lkg_retry_mono, lkg_target_ms;
        unsigned updates, good_updates;
        int sys_poll_s;
        uint64_t used_seq;             /* sum of source seqs at the last update */
        double sys_offset, sys_jitter;
        int n_survivors;
        const char *sync_state;
        int64_t last_update_ms;
        uint64_t steps, slews, clock_errors;
        char applied_zone[128];
        int n_nts;                     /* NTS sources among src[] */
        bool nts_dirty;                /* cookies changed since the cache was written */
};

/* methods.c: the tables; main.c holds the service and its hooks */
extern const struct ds_method timed_methods[];
extern const struct ds_field timed_settings[];
extern const struct ds_audit_item timed_audit[];

/* now.c: the real-time clock plus the dry-run clock's corrections */
int64_t timed_now_ns(const struct timed_ctx *t);

/* engine.c */
int timed_engine_apply(struct timed_ctx *t, const struct timed_cfg *old);
int timed_engine_start(struct timed_ctx *t);
void timed_engine_stop(struct timed_ctx *t);
void timed_poll_now(struct timed_ctx *t);
void timed_status_write(struct timed_ctx *t, struct mpw *w);
/* Asks the clock process to step; cb (may be NULL) runs with the result. */
typedef void (*timed_step_fn)(struct timed_ctx *t, void *ud, int code, const struct bus_reply *rep,
                              int64_t old_ns, int64_t delta_ns);
int timed_clock_step(struct timed_ctx *t, int64_t to_ns, const char *reason, timed_step_fn cb, void *ud);
const char *timed_state_name(enum source_state s);

/* nts_src.c: NTS for a source -- key establishment, cookies, the cache */
int timed_nts_attach(struct timed_ctx *t, struct source *s);
void timed_nts_detach(struct timed_ctx *t, struct source *s);
/* An NTS request after the 48-byte header in buf: its length, -EAGAIN while
 * a key establishment runs or waits for its backoff, another -errno when it
 * failed (counted as a miss). */
int timed_nts_request(struct timed_ctx *t, struct source *s, uint8_t *buf, size_t cap);
/* The verdict on a reply that passed the plain checks as v. */
enum ntp_verdict timed_nts_verdict(struct timed_ctx *t, struct source *s, const uint8_t *buf, size_t len,
                                   enum ntp_verdict v);
void timed_nts_status(const struct timed_ctx *t, const struct source *s, struct mpw *w);
/* Writes the cookie cache (0600) when it changed, or always with force. */
void timed_nts_save(struct timed_ctx *t, bool force);
/* NTS sources that have keys and answered authenticated */
int timed_nts_working(const struct timed_ctx *t);
/* NTS sources keyed (or being keyed) without the certificate time check */
int timed_nts_bypassed(const struct timed_ctx *t);
