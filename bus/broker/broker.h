/* broker.h - busd's state and what its parts (wire, inflight, sessions,
 * pubsub, unanswered, methods, peers, setup, route) share */
#pragma once
#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authz.h"
#include "bus.h"
#include "bus_acl.h"
#include "bus_auth.h"
#include "bus_proto.h"
#include "cfg.h"
#include "log.h"
#include "mp.h"
#include "paths.h"
#include "state.h"
#include "util.h"

#define BUSD_VERSION DEVSEC_VERSION

#define RID_MAX 256

#define SESSION_CHECK_TIMEOUT_MS 3000
/* the bytes of requests parked for a session check, all clients together */
#define PARKED_BYTES_MAX (16u << 20)

/* The session an operator connection subscribes under (one per connection). */
struct sub_sess {
        char th[65]; /* token hash: the session cache key */
        char *tok;   /* kept to check the session again (secret: zeroed when freed) */
        char user[BUS_NAME_MAX + 1];
        char sid[32];
        uint32_t bits;
        bool checking; /* a re-check is in flight: nothing is delivered meanwhile */
};

struct peer {
        uint8_t rid[RID_MAX];
        size_t rid_len;
        char key[2 * RID_MAX + 1];
        char id[BUS_NAME_MAX + 1];
        char pub[65]; /* its CURVE public key (hex), from the ZAP metadata */
        bool operator;
        bool gateway; /* operator-class, relaying other people's sessions: calls stamped "gw" */
        int fd;
        ino_t fd_ino; /* the connection's socket, so a reused fd is never taken for it */
        int64_t last_rx;
        struct service *svc;
        char *subs[BUS_MAX_SUBS];
        size_t n_subs;
        /* operator subscribers: the session, and the credit of events in
         * flight (sent minus acknowledged; an ack names the last event read) */
        struct sub_sess *ss;
        uint64_t ev_seq, ev_acked, ev_lost;
        uint8_t ack_key[crypto_shorthash_KEYBYTES];
        bool batch;      /* a service that takes events in batches (it said so in a sub) */
        bool told_batch; /* was told that busd takes batches */
};

struct service {
        char name[BUS_NAME_MAX + 1];
        char version[40];
        int pid;
        int64_t since_ms;
        struct peer *peer;
        zhash_t *methods; /* name -> authority */
};

enum inflight_kind { IF_FORWARD, IF_SESSION_CHECK, IF_SUB_RECHECK };

struct inflight {
        uint64_t bid;
        struct inflight *next; /* in its bucket of the in-flight table */
        enum inflight_kind kind;
        char client_key[2 * RID_MAX + 1];
        uint8_t client_rid[RID_MAX];
        size_t client_rid_len;
        char *client_id; /* encoded msgpack of the client's id (client_id_in when it fits) */
        size_t client_id_len;
        char client_id_in[32];
        char svc[BUS_NAME_MAX + 1];
        int64_t deadline;
        /* IF_SESSION_CHECK: the parked request */
        char *parked;
        size_t parked_len;
        char session_tok_hash[65];
};

struct session {
        char user[BUS_NAME_MAX + 1];
        char group[BUS_NAME_MAX + 1];
        char sid[32];
        char source[64];
        char *authz; /* encoded msgpack array of names */
        size_t authz_len;
        uint32_t bits;
        int64_t expires;
};

struct stats {
        uint64_t requests, replies, events_in, events_out, events_dropped, malformed, refused, timeouts, unroutable,
                session_checks, session_checks_redone;
        /* events_dropped by reason */
        uint64_t dropped_slow, dropped_full, dropped_check;
        uint64_t subs_refused, subs_ended;
        uint64_t log_dropped; /* own records beyond the queue */
        uint64_t batches_in, batches_out; /* messages carrying several events */
};

struct busd {
        struct ds_paths paths;
        struct ds_settings cfg;
        struct mp_limits lim;
        bus_acl_t *acl;
        bus_keys_t *keys;
        zcert_t *cert;
        void *router, *zap, *mon;
        zhash_t *peers;    /* key -> struct peer */
        zhash_t *services; /* name -> struct service */
        struct inflight_table {
                struct inflight **slot; /* by bid & mask, chained */
                size_t mask, count;
                struct inflight *spare; /* freed entries kept for reuse (n_spare of them) */
                size_t n_spare;
                size_t parked_bytes; /* of the entries' parked requests */
        } inflight;
        zhash_t *sessions; /* token hash -> struct session */
        zhash_t *disabled; /* name -> "1" */
        zlist_t *logq;     /* busd's own records, to publish (struct logrec) */
        void *zctx;
        char *ep; /* the ipc endpoint */
        char *statedir;
        uint64_t next_bid;
        int64_t started_ms;
        int hb_ms;
        struct stats st;
        int64_t last_warn, last_slow_warn;
        uint64_t sub_queue_max;
        /* the hot path's buffers, kept between messages so that a forwarded
         * request allocates nothing once they have grown: the decode zone
         * (a message replayed from inside another gets a zone of its own)
         * and the writer of forwarded requests and relayed replies (zeroed
         * after each send) */
        msgpack_zone zone;
        bool zone_busy;
        struct mpw out;
        /* events (pubsub.c): the keys of the peers that subscribe, so that
         * an event visits them and not every peer (a key whose peer is gone
         * or subscribes no more is dropped at the next event), and the
         * writers of the events passed on, kept between events */
        char (*subscribers)[2 * RID_MAX + 1];
        size_t n_subscribers, subscribers_cap;
        struct mpw pub_out, pub_op;
        /* while a batch is passed on: the batches being written for the
         * services that take them (one each, a few services at most) */
        bool batching;
        struct batch_out {
                struct peer *p;
                struct mpw w;
                unsigned n;
        } batch_out[8];
        size_t n_batch_out;
        void *loop;        /* the zloop (busd.c) */
        bool more_pending; /* a timer continues a drain cut short */
        /* the peers last seen, by a hash of their routing id (peer_get) */
        struct peer *pcache[64];
        /* route_message(), set by the wiring (busd.c): a request parked for a
         * session check is routed again through it when authd has answered
         * (sessions.c is below the router that calls it; a rare path) */
        void (*reroute)(struct busd *b, struct peer *from, const char *raw, size_t len);
};

struct peer_ref {
        struct busd *b;
        struct peer *p;
};

struct req {
        const struct bus_msg *msg;
        const msgpack_object *a;
        const char *to;
        const char *method;
        char target[BUS_NAME_MAX + BUS_METHOD_MAX + 2];
        const char *id;
        size_t id_len;
        int64_t timeout;
        const msgpack_object *tok;
};

/* The parts, lowest first: each calls only the parts before it here
 * (sessions.c reaches route.c only through b->reroute). */

/* wire.c */
int wire_send(struct busd *b, const uint8_t *rid, size_t rid_len, const void *data, size_t len);
/* An error reply to a client; id is its encoded id (NULL: nil). */
void wire_reply_err(struct busd *b, const uint8_t *rid, size_t rid_len, const void *id, size_t id_len, int code,
                    const char *field, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* inflight.c */
int inflight_init(struct busd *b);
void inflight_destroy(struct busd *b);
void inflight_free(void *p);
struct inflight *inflight_new(struct busd *b, struct peer *from, const struct req *q, enum inflight_kind kind,
                              const char *svc, int64_t timeout);
/* Takes ownership of f: it is answered, failed or timed out from the table. */
void inflight_track(struct busd *b, struct inflight *f);
/* Removes the request bid from the table and returns it (caller owns), or NULL. */
struct inflight *inflight_take(struct busd *b, uint64_t bid);
/* inflight_free(), keeping the entry for the next request. */
void inflight_release(struct busd *b, struct inflight *f);
/* Takes out the requests of service svc (or, svc NULL, past their deadline
 * at now) and hands each to fn, which owns it. */
void inflight_sweep(struct busd *b, const char *svc, int64_t now, void (*fn)(struct busd *, struct inflight *, void *),
                    void *ud);
struct inflight *inflight_take_checks(struct busd *b, const char *svc);

/* sessions.c */
void session_tok_hash(const msgpack_object *tok, char out[65]);
void session_send_check(struct busd *b, struct service *authd, uint64_t bid, const char *tok, size_t tok_len);
void session_start_check(struct busd *b, struct peer *from, struct req *q, const char *raw, size_t raw_len,
                         const char *th);
struct session *session_from_answer(struct busd *b, const msgpack_object *r);
void session_cache(struct busd *b, const char *th, struct session *s);
void session_checked(struct busd *b, struct inflight *f, const struct bus_msg *m);
void session_forget(struct busd *b, const char *user);
void session_redo_checks(struct busd *b, struct inflight *checks);

/* pubsub.c */
void sub_sess_free(struct sub_sess **pss);
/* Ends peer p's subscription to prefix (NULL: all of them) and tells the
 * peer why with an unsub{prefix, err}. The session goes with the last one. */
void pubsub_end(struct busd *b, struct peer *p, const char *prefix, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
void pubsub_recheck_failed(struct busd *b, struct inflight *f, const char *why);
void pubsub_recheck(struct busd *b, struct peer *p);
void pubsub_rechecked(struct busd *b, struct inflight *f, const struct bus_msg *m);
void pubsub_fanout(struct busd *b, const char *src, const char *topic, int64_t ts, const struct mpw *dw);
/* m decoded from raw: its data is passed on as the publisher encoded it. */
void pubsub_publish(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len);
void pubsub_free(struct busd *b);
void pubsub_ack(struct busd *b, struct peer *p, const struct bus_msg *m);
void pubsub_sub(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad, const char *raw,
                size_t raw_len, bool add);

/* unanswered.c */
void unanswered_fail_of(struct busd *b, const char *svc, const char *why);
void unanswered_on_tick(struct busd *b);

/* methods.c */
extern const struct ds_method busd_methods[];
void methods_load_disabled(struct busd *b);
void methods_handle(struct busd *b, struct peer *from, struct req *q);

/* peers.c */
void peers_send_kind(struct busd *b, struct peer *p, const char *kind);
struct peer *peer_get(struct busd *b, zmq_msg_t *ridm, zmq_msg_t *payload);
void peers_drop_untrusted(struct busd *b);
void peers_hello(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad);
void peers_on_monitor(struct busd *b);
void peers_on_heartbeat(struct busd *b);

/* setup.c */
extern const struct ds_field busd_settings[];
int busd_load_config(const char *path, struct ds_settings *ret, struct ds_err *e);
int busd_load_trust(struct busd *b, bus_acl_t **acl, bus_keys_t **keys, struct ds_err *e);
void busd_start(struct busd *b);
void busd_stop(struct busd *b);
void busd_log_sink(void *ud, int level, const char *category, const char *user, const char *msg);
void busd_flush_log(struct busd *b);

/* route.c */
void route_req(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len,
               struct mpw *idw);
void route_rep(struct busd *b, struct peer *from, const struct bus_msg *m);
void route_message(struct busd *b, struct peer *from, const char *raw, size_t len);
/* Handles what the router holds, up to a batch: 0 when it said EAGAIN (its
 * last operation a receive), 1 when the batch ended first. */
int route_on_router(struct busd *b);
