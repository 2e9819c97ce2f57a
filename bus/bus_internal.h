/* bus_internal.h - shared between the client, the dispatcher and the service runner */
#pragma once
#include "bus.h"

struct pending;
struct sub;
struct bus_msg;

/* Runs a request busd forwarded; set by bus_serve() (bus_dispatch.c), so the
 * client never calls into the dispatcher by name. */
typedef void (*bus_dispatch_fn)(bus_t *b, const struct bus_msg *q);

/* What the client hands to the subscriptions (bus_sub.c): set at the first
 * subscription, so the client never calls into bus_sub.c by name. */
struct bus_sub_ops {
        void (*deliver)(bus_t *b, const struct bus_msg *m); /* pub */
        void (*ended)(bus_t *b, const struct bus_msg *m);   /* unsub{prefix, err} */
        /* a rep under no pending call: a resubscription's answer? (takes u if so) */
        bool (*answered)(bus_t *b, uint64_t id, msgpack_unpacked *u);
        void (*resend)(bus_t *b); /* after a reconnect or a "who" (busd restarted) */
        void (*tick)(bus_t *b);   /* each heartbeat: credit acks, refused-for-now retries */
        void (*free_all)(bus_t *b);
};

struct bus {
        char identity[BUS_NAME_MAX + 1];
        char *endpoint;
        char server_pub[41];
        zcert_t *cert;
        zsock_t *sock;
        zsock_t *mon;
        unsigned generation;
        zloop_t *loop;
        int hb_timer;
        int hb_ms;
        struct mp_limits limits;
        uint64_t next_id;
        int64_t last_rx;
        int64_t last_tx_hb;
        struct pending *pending;
        struct sub *subs;
        size_t n_subs;
        bool got_event;
        /* subscriptions busd ended (unsub{prefix, err}) or refused on resubscribe */
        bool sub_ended;
        struct ds_err sub_err;
        /* credit: the last event read (seq, tag) and how many since the last ack */
        uint64_t ev_seq, ev_tag, ev_unacked, ev_lost;
        uint64_t ack_every;
        /* serving */
        char *serve_name;
        char *serve_version;
        const struct ds_method **serve_tables;
        void *serve_ctx;
        void *serve_daemon;
        ds_ready_fn serve_ready;
        bus_dispatch_fn dispatch;
        const struct bus_sub_ops *sub_ops;
        struct bus_stats stats;
        /* the receive path's decode zone, cleared after each message (a
         * message read while another is handled gets a zone of its own), and
         * the writer of published events, kept between them */
        msgpack_zone rx_zone;
        bool rx_zone_ready, rx_busy;
        struct mpw pub_w;
        struct ds_dispatch_bufs dbufs; /* the served requests' writers (bus_dispatch.c) */
        /* batches of events: busd said it takes them (per connection), a
         * client without a loop asked for them, the batch being filled and
         * the timer that sends it at the end of the loop iteration */
        bool busd_batch, pub_hold, pubq_sealed;
        struct mpw pubq;
        unsigned pubq_n;
        int pubq_timer;
};

int bus_send_raw(bus_t *b, const void *data, size_t len);
/* Says hello with the served tables (again after a reconnect or a "who"). */
void bus_hello(bus_t *b);

/* bus_client.c, for bus_sub.c */
void bus_reply_from_msg(struct bus_reply *rep, msgpack_unpacked *u);
void bus_local_reply(struct bus_reply *rep, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads until the reply to id (events and requests meanwhile are handled). */
int bus_sync_wait(bus_t *b, uint64_t id, int timeout_ms, struct bus_reply *ret);
