/* bus_client.c - connection to busd: CURVE keys, calls, events, heartbeats, reconnect */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "bus_internal.h"
#include "log.h"
#include "util.h"

struct pending {
        uint64_t id;
        int timer;
        bus_reply_fn cb;
        void *ud;
        bus_t *bus;
        struct pending *next;
};

void bus_reply_free(struct bus_reply *rep)
{
        if (rep->have_u)
                msgpack_unpacked_destroy(&rep->u);
        if (rep->buf) {
                sodium_memzero(rep->buf, rep->buf_len); /* replies may carry tokens */
                free(rep->buf);
        }
        rep->buf = NULL;
        rep->have_u = false;
        rep->r = NULL;
}

const char *bus_identity(const bus_t *b)
{
        return b->identity;
}

void bus_get_stats(const bus_t *b, struct bus_stats *ret)
{
        *ret = b->stats;
}

static int load_cert(const char *path, zcert_t **ret)
{
        zcert_t *c;

        if (access(path, F_OK) < 0)
                return -ENOENT;
        if (access(path, R_OK) < 0)
                return -EACCES;
        c = zcert_load(path);
        if (!c)
                return -EINVAL;
        *ret = c;
        return 0;
}

static int open_socket(bus_t *b)
{
        char mon_ep[64];

        b->sock = zsock_new(ZMQ_DEALER);
        if (!b->sock)
                return -ENOMEM;
        zcert_apply(b->cert, b->sock);
        zsock_set_curve_serverkey(b->sock, b->server_pub);
        zsock_set_linger(b->sock, 1000);
        zsock_set_sndhwm(b->sock, 100000);
        zsock_set_rcvhwm(b->sock, 100000);
        zsock_set_maxmsgsize(b->sock, BUS_TRANSPORT_MAX);
        /* watch for a refused handshake, so callers hear of it at once */
        snprintf(mon_ep, sizeof mon_ep, "inproc://bus-mon-%p-%u", (void *)b, b->generation++);
        if (zmq_socket_monitor(zsock_resolve(b->sock), mon_ep,
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
                b->mon = zsock_new(ZMQ_PAIR);
                if (b->mon && zsock_connect(b->mon, "%s", mon_ep) < 0)
                        zsock_destroy(&b->mon);
        }
        if (zsock_connect(b->sock, "%s", b->endpoint) < 0) {
                log_debug("bus: connect '%s' failed", b->endpoint);
                return -EINVAL;
        }
        b->last_rx = ds_now_mono_ms();
        return 0;
}

static int pubq_flush(bus_t *b);

static void close_socket(bus_t *b)
{
        pubq_flush(b);         /* to the busd that said it takes batches */
        b->busd_batch = false; /* the next one says it again, or not */
        if (b->sock)
                zmq_socket_monitor(zsock_resolve(b->sock), NULL, 0);
        zsock_destroy(&b->mon);
        zsock_destroy(&b->sock);
}

bus_t *bus_new(const struct ds_paths *p, const char *identity, int *ret_err)
{
        char key[4096], pub[4096];
        zcert_t *server = NULL;
        bus_t *b;
        int r;

        b = calloc(1, sizeof *b);
        if (!b) {
                *ret_err = -ENOMEM;
                return NULL;
        }
        snprintf(b->identity, sizeof b->identity, "%s", identity);
        b->hb_ms = BUS_HB_MS;
        b->limits = mp_limits_default;
        b->next_id = 1;
        b->endpoint = ds_paths_bus_endpoint(p);
        snprintf(key, sizeof key, "%s/bus/private/%s.key", p->confdir, identity);
        snprintf(pub, sizeof pub, "%s/bus/keys/busd.pub", p->confdir);
        r = load_cert(key, &b->cert);
        if (r < 0) {
                log_debug("bus: key '%s': %s", key, strerror(-r));
                goto fail;
        }
        r = load_cert(pub, &server);
        if (r < 0) {
                log_debug("bus: busd key '%s': %s", pub, strerror(-r));
                goto fail;
        }
        snprintf(b->server_pub, sizeof b->server_pub, "%s", zcert_public_txt(server));
        zcert_destroy(&server);
        r = open_socket(b);
        if (r < 0)
                goto fail;
        return b;
fail:
        *ret_err = r;
        bus_destroy(&b);
        return NULL;
}

static void fail_pending(bus_t *b, int code, const char *msg);

void bus_cancel_calls(bus_t *b, const char *msg)
{
        if (b)
                fail_pending(b, -DS_EUNAVAIL, msg);
}

void bus_destroy(bus_t **pb)
{
        bus_t *b = pb ? *pb : NULL;

        if (!b)
                return;
        fail_pending(b, -DS_EUNAVAIL, "connection closed");
        pubq_flush(b); /* linger sends it */
        if (b->loop && b->pubq_timer > 0)
                zloop_timer_end(b->loop, b->pubq_timer);
        if (b->loop && b->sock)
                zloop_reader_end(b->loop, b->sock);
        if (b->loop && b->hb_timer > 0)
                zloop_timer_end(b->loop, b->hb_timer);
        close_socket(b);
        zcert_destroy(&b->cert);
        if (b->sub_ops)
                b->sub_ops->free_all(b);
        free(b->serve_tables);
        free(b->serve_name);
        free(b->serve_version);
        free(b->endpoint);
        mpw_free(&b->pubq);
        if (b->rx_zone_ready)
                msgpack_zone_destroy(&b->rx_zone);
        mpw_free(&b->pub_w);
        mpw_wipe(&b->dbufs.id);
        mpw_wipe(&b->dbufs.r);
        mpw_wipe(&b->dbufs.out);
        free(b);
        *pb = NULL;
}

static int send_frame(bus_t *b, const void *data, size_t len)
{
        if (!b->sock)
                return -DS_EUNAVAIL;
        if (zmq_send(zsock_resolve(b->sock), data, len, ZMQ_DONTWAIT) < 0)
                return errno == EAGAIN ? -EBUSY : -DS_EUNAVAIL;
        b->stats.sent++;
        return 0;
}

/* Sends the batch being filled; when the send queue is full it is kept,
 * closed, and sent first later. */
static int pubq_flush(bus_t *b)
{
        int r;

        if (!b->pubq_n)
                return 0;
        if (!b->pubq_sealed) {
                bus_enc_pubs_end(&b->pubq);
                b->pubq_sealed = true;
        }
        r = send_frame(b, mpw_data(&b->pubq), mpw_len(&b->pubq));
        if (r < 0)
                return r;
        b->pubq_n = 0;
        b->pubq_sealed = false;
        return 0;
}

int bus_send_raw(bus_t *b, const void *data, size_t len)
{
        /* what was published before goes first */
        if (b->pubq_n && pubq_flush(b) == -EBUSY)
                return -EBUSY;
        return send_frame(b, data, len);
}

static int send_simple(bus_t *b, const char *kind)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        bus_enc_simple(&w, kind);
        r = bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        return r;
}

static int build_req(struct mpw *w, uint64_t id, const char *svc, const char *method, const struct mpw *args,
                     const char *tok, int timeout_ms)
{
        bus_enc_req(w, &(struct bus_req_out){ .id = id, .to = svc, .m = method, .t = timeout_ms, .tok = tok,
                                              .tok_len = tok ? strlen(tok) : 0,
                                              .args = args ? mpw_data(args) : NULL,
                                              .args_len = args ? mpw_len(args) : 0 });
        return mpw_finish(w);
}

/* rep from the "rep" envelope u (taking ownership of u), its fields m when
 * already decoded from u->data (else decoded here) */
static void reply_fill(struct bus_reply *rep, msgpack_unpacked *u, const struct bus_msg *m)
{
        struct bus_msg own;
        struct ds_err e;

        memset(rep, 0, sizeof *rep);
        rep->u = *u;
        rep->have_u = true;
        if (!m) {
                bus_msg_decode(&rep->u.data, 0, &own, &e);
                m = &own;
        }
        if (m->ok) {
                rep->code = 0;
                rep->r = m->r;
                return;
        }
        rep->code = bus_dec_rep_err(m->err, &rep->err);
}

/* Fills rep from a decoded "rep" envelope (takes ownership of u). */
void bus_reply_from_msg(struct bus_reply *rep, msgpack_unpacked *u)
{
        reply_fill(rep, u, NULL);
}

void bus_local_reply(struct bus_reply *rep, int code, const char *fmt, ...)
{
        va_list ap;

        memset(rep, 0, sizeof *rep);
        rep->code = code;
        rep->err.code = code;
        va_start(ap, fmt);
        vsnprintf(rep->err.msg, sizeof rep->err.msg, fmt, ap);
        va_end(ap);
}

/* ---- incoming ------------------------------------------------------------ */

static void subs_resend(bus_t *b)
{
        if (b->sub_ops)
                b->sub_ops->resend(b);
}

static struct pending *take_pending(bus_t *b, uint64_t id)
{
        for (struct pending **pp = &b->pending; *pp; pp = &(*pp)->next)
                if ((*pp)->id == id) {
                        struct pending *p = *pp;
                        *pp = p->next;
                        return p;
                }
        return NULL;
}

/* u: the reply (its strings point into the received message, which outlives
 * this call), m its fields */
static void handle_reply(bus_t *b, int64_t id, msgpack_unpacked *u, const struct bus_msg *m)
{
        struct bus_reply rep;
        struct pending *p;

        if (id < 0 || !(p = take_pending(b, (uint64_t)id))) {
                if (id < 0 || !b->sub_ops || !b->sub_ops->answered(b, (uint64_t)id, u)) {
                        b->stats.dropped_replies++;
                        msgpack_unpacked_destroy(u);
                }
                return;
        }
        if (b->loop && p->timer > 0)
                zloop_timer_end(b->loop, p->timer);
        reply_fill(&rep, u, m);
        p->cb(p->ud, &rep); /* the reply is the callback's until it returns */
        bus_reply_free(&rep);
        free(p);
}

/* Handles one received message; returns the decoded kind for sync waiters
 * (a "rep" for sync_id is handed back through *ret_rep). */
static void handle_message(bus_t *b, zmq_msg_t *msg, uint64_t sync_id, struct bus_reply *ret_rep,
                           bool *ret_done)
{
        msgpack_zone own, *z = &b->rx_zone;
        bool outer = !b->rx_busy;
        msgpack_object obj;
        const char *why;
        struct bus_msg m;
        struct ds_err e;

        b->stats.received++;
        b->last_rx = ds_now_mono_ms();
        if (outer && !b->rx_zone_ready)
                b->rx_zone_ready = msgpack_zone_init(&b->rx_zone, MSGPACK_ZONE_CHUNK_SIZE);
        if (!outer || !b->rx_zone_ready) {
                z = &own;
                if (!msgpack_zone_init(z, MSGPACK_ZONE_CHUNK_SIZE))
                        return;
                outer = false;
        }
        if (mp_decode_zone(zmq_msg_data(msg), zmq_msg_size(msg), &b->limits, z, &obj, &why) < 0) {
                b->stats.malformed++;
                log_debug("bus: malformed message from busd: %s", why);
                goto done;
        }
        if (outer)
                b->rx_busy = true;
        if (bus_msg_decode(&obj, 0, &m, &e) < 0) {
                /* unknown kinds are ignored (a newer busd), malformed ones counted */
                if (m.kind != BUS_KIND_NONE || strcmp(e.field, "k")) {
                        b->stats.malformed++;
                        log_debug("bus: malformed message from busd: %s: %s", e.field, e.msg);
                }
                goto out;
        }
        if (m.kind == BUS_KIND_REP) {
                int64_t id = m.nid;
                if (ret_done && sync_id && (id == (int64_t)sync_id || !m.id || m.id->type == MSGPACK_OBJECT_NIL)) {
                        /* the caller keeps this reply after the zmq message is gone:
                         * decode it again from a copy it owns */
                        size_t n = zmq_msg_size(msg);
                        char *copy = malloc(n ? n : 1);
                        msgpack_unpacked own_u;

                        if (!copy || mp_decode(memcpy(copy, zmq_msg_data(msg), n), n, &b->limits, &own_u, &why) < 0) {
                                free(copy);
                                bus_local_reply(ret_rep, -DS_EINTERNAL, "out of memory");
                        } else {
                                bus_reply_from_msg(ret_rep, &own_u);
                                ret_rep->buf = copy;
                                ret_rep->buf_len = n;
                        }
                        *ret_done = true;
                        goto out;
                }
                {
                        /* the objects of the receive zone: the reply is used
                         * and freed before this message is */
                        msgpack_unpacked u = {.zone = NULL, .data = obj};
                        handle_reply(b, id, &u, &m);
                }
                goto out;
        }
        if (m.kind == BUS_KIND_REQ) {
                if (b->dispatch)
                        b->dispatch(b, &m);
                sodium_memzero(zmq_msg_data(msg), zmq_msg_size(msg));
        } else if (m.kind == BUS_KIND_PUB) {
                b->got_event = true;
                if (b->sub_ops)
                        b->sub_ops->deliver(b, &m);
        } else if (m.kind == BUS_KIND_UNSUB) {
                if (b->sub_ops)
                        b->sub_ops->ended(b, &m);
        } else if (m.kind == BUS_KIND_WHO) {
                bus_hello(b);
                subs_resend(b);
        } else if (m.kind == BUS_KIND_HB && m.batch) {
                b->busd_batch = true;
        }
        /* hb: last_rx already updated; unknown kinds are ignored */
out:
        if (outer)
                b->rx_busy = false;
done:
        if (z == &own)
                msgpack_zone_destroy(z);
        else
                msgpack_zone_clear(z);
}

static int check_monitor(bus_t *b)
{
        zmq_msg_t ev;
        int r = 0;

        if (!b->mon)
                return 0;
        zmq_msg_init(&ev);
        while (zmq_msg_recv(&ev, zsock_resolve(b->mon), ZMQ_DONTWAIT) >= 0) {
                if (zmq_msg_size(&ev) >= 2) {
                        uint16_t e;
                        memcpy(&e, zmq_msg_data(&ev), 2);
                        if (e & (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
                                r = -EACCES;
                }
                /* drain the endpoint frame */
                while (zmq_msg_more(&ev) && zmq_msg_recv(&ev, zsock_resolve(b->mon), ZMQ_DONTWAIT) >= 0)
                        ;
        }
        zmq_msg_close(&ev);
        return r;
}

static int recv_one(bus_t *b, uint64_t sync_id, struct bus_reply *ret_rep, bool *ret_done)
{
        zmq_msg_t msg;
        int n = 0;

        zmq_msg_init(&msg);
        while (zmq_msg_recv(&msg, zsock_resolve(b->sock), ZMQ_DONTWAIT) >= 0) {
                handle_message(b, &msg, sync_id, ret_rep, ret_done);
                n++;
                if (ret_done && *ret_done)
                        break;
                if (n > 256) /* let timers run under load */
                        break;
        }
        zmq_msg_close(&msg);
        return n;
}

/* Waits for busd's answer under id (events that come meanwhile are delivered). */
int bus_sync_wait(bus_t *b, uint64_t id, int timeout_ms, struct bus_reply *ret)
{
        int64_t deadline = ds_now_mono_ms() + timeout_ms;
        bool done = false;

        while (!done) {
                zmq_pollitem_t items[2] = {
                        { zsock_resolve(b->sock), 0, ZMQ_POLLIN, 0 },
                        { b->mon ? zsock_resolve(b->mon) : NULL, 0, ZMQ_POLLIN, 0 },
                };
                int64_t left = deadline - ds_now_mono_ms();

                if (left <= 0) {
                        bus_local_reply(ret, -ETIMEDOUT, "no answer from the bus within %d ms", timeout_ms);
                        return ret->code;
                }
                /* the monitor only matters until busd has answered once */
                if (zmq_poll(items, b->mon && !b->stats.received ? 2 : 1, (long)left) < 0) {
                        if (errno == EINTR) {
                                bus_local_reply(ret, -EINTR, "interrupted");
                                return ret->code;
                        }
                        continue;
                }
                if (check_monitor(b) < 0) {
                        bus_local_reply(ret, -EACCES,
                                    "the bus refused the key of identity '%s' (not in its key directory)",
                                    b->identity);
                        return ret->code;
                }
                if (items[0].revents & ZMQ_POLLIN)
                        recv_one(b, id, ret, &done);
        }
        return ret->code;
}

int bus_call_sync(bus_t *b, const char *svc, const char *method, const struct mpw *args,
                  const char *tok, int timeout_ms, struct bus_reply *ret)
{
        uint64_t id = b->next_id++;
        struct mpw w;
        int r;

        mpw_init(&w);
        r = build_req(&w, id, svc, method, args, tok, timeout_ms);
        if (r == 0)
                r = bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_wipe(&w);
        if (r < 0) {
                bus_local_reply(ret, r, "cannot send to the bus");
                return r;
        }
        return bus_sync_wait(b, id, timeout_ms, ret);
}

/* ---- events -------------------------------------------------------------- */

/* kept between events: no allocation per event once grown (a large event's
 * buffer is let go) */
#define EVENT_KEEP_MAX (256 << 10)

#define PUBQ_MAX_EVENTS 64
#define PUBQ_MAX_BYTES (64 * 1024)

static int on_pubq_timer(zloop_t *loop, int timer_id, void *arg)
{
        bus_t *b = arg;

        (void)timer_id;
        b->pubq_timer = 0;
        if (pubq_flush(b) == -EBUSY) /* the send queue is full: again shortly */
                b->pubq_timer = zloop_timer(loop, 1, 1, on_pubq_timer, b);
        return 0;
}

int bus_publish(bus_t *b, const char *topic, const struct mpw *data)
{
        const struct bus_pub_out ev = { .topic = topic, .ts = ds_now_real_ms(),
                                        .data = data ? mpw_data(data) : NULL,
                                        .data_len = data ? mpw_len(data) : 0 };
        struct mpw *w;
        int r;

        if (!b->busd_batch && b->pub_hold && !b->loop && b->sock && b->stats.sent % 64 == 0) {
                /* no loop reads for it: busd's word that it takes batches is
                 * read here (and whatever came before it is handled) */
                recv_one(b, 0, NULL, NULL);
        }
        if (!b->busd_batch || !(b->loop || b->pub_hold)) {
                w = mpw_reuse(&b->pub_w, EVENT_KEEP_MAX, false);
                bus_enc_pub(w, &ev);
                return bus_send_raw(b, mpw_data(w), mpw_len(w));
        }
        if (b->pubq_sealed && (r = pubq_flush(b)) < 0)
                return r;
        if (!b->pubq_n) {
                bus_enc_pubs_begin(mpw_reuse(&b->pubq, EVENT_KEEP_MAX, false));
                /* sent when this loop iteration is over */
                if (b->loop && !b->pubq_timer && (b->pubq_timer = zloop_timer(b->loop, 0, 1, on_pubq_timer, b)) < 0)
                        b->pubq_timer = 0; /* no timer: sent when full or before anything else */
        }
        bus_enc_pubs_add(&b->pubq, &ev);
        b->pubq_n++;
        if (b->pubq_n >= PUBQ_MAX_EVENTS || mpw_len(&b->pubq) >= PUBQ_MAX_BYTES)
                pubq_flush(b); /* the event is taken: a full send queue only delays the batch */
        return 0;
}

int bus_publish_hold(bus_t *b, bool hold)
{
        b->pub_hold = hold;
        return hold ? 0 : pubq_flush(b);
}

int bus_wait_event(bus_t *b, int timeout_ms)
{
        int64_t deadline = ds_now_mono_ms() + timeout_ms;

        b->got_event = false;
        for (;;) {
                zmq_pollitem_t it = { zsock_resolve(b->sock), 0, ZMQ_POLLIN, 0 };
                int64_t now = ds_now_mono_ms(), left = deadline - now;
                long wait;

                if (b->sub_ended) {
                        b->sub_ended = false;
                        return -ECANCELED;
                }
                if (now - b->last_tx_hb >= b->hb_ms) {
                        if (b->sub_ops)
                                b->sub_ops->tick(b);
                        send_simple(b, BUS_K_HB);
                        b->last_tx_hb = now;
                }
                if (now - b->last_rx > (int64_t)b->hb_ms * BUS_HB_MISSES) {
                        /* busd went away or restarted: connect afresh */
                        close_socket(b);
                        if (open_socket(b) == 0) {
                                b->stats.reconnects++;
                                subs_resend(b);
                        }
                }
                if (left <= 0)
                        return -ETIMEDOUT;
                wait = left < b->hb_ms ? (long)left : b->hb_ms;
                if (zmq_poll(&it, 1, wait) < 0) {
                        if (errno == EINTR)
                                return -EINTR;
                        continue;
                }
                if (it.revents & ZMQ_POLLIN) {
                        recv_one(b, 0, NULL, NULL);
                        if (b->sub_ended) {
                                b->sub_ended = false;
                                return -ECANCELED;
                        }
                        if (b->got_event)
                                return 0;
                }
        }
}

/* ---- loop integration ---------------------------------------------------- */

static void fail_pending(bus_t *b, int code, const char *msg)
{
        while (b->pending) {
                struct pending *p = b->pending;
                struct bus_reply rep;

                b->pending = p->next;
                if (b->loop && p->timer > 0)
                        zloop_timer_end(b->loop, p->timer);
                bus_local_reply(&rep, code, "%s", msg);
                p->cb(p->ud, &rep);
                free(p);
        }
}

static int on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
        bus_t *b = arg;

        (void)loop;
        (void)sock;
        recv_one(b, 0, NULL, NULL);
        return 0;
}

void bus_hello(bus_t *b)
{
        struct mpw w;

        if (!b->serve_name)
                return;
        mpw_init(&w);
        bus_enc_hello(&w, b->serve_name, b->serve_version, getpid(), b->serve_tables);
        bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}

static void reconnect(bus_t *b)
{
        log_notice("bus: no word from busd for %d ms, reconnecting", b->hb_ms * BUS_HB_MISSES);
        if (b->loop && b->sock)
                zloop_reader_end(b->loop, b->sock);
        close_socket(b);
        fail_pending(b, -DS_EUNAVAIL, "bus connection lost");
        if (open_socket(b) < 0)
                return;
        b->stats.reconnects++;
        if (b->loop)
                zloop_reader(b->loop, b->sock, on_readable, b);
        bus_hello(b);
        subs_resend(b);
}

static int on_hb_timer(zloop_t *loop, int timer_id, void *arg)
{
        bus_t *b = arg;
        int64_t now = ds_now_mono_ms();

        (void)loop;
        (void)timer_id;
        if (!b->serve_name && b->n_subs == 0)
                return 0;
        if (b->sub_ops)
                b->sub_ops->tick(b);
        b->sub_ended = false; /* a service hears of it in the log */
        send_simple(b, BUS_K_HB);
        if (now - b->last_rx > (int64_t)b->hb_ms * BUS_HB_MISSES)
                reconnect(b);
        return 0;
}

int bus_attach(bus_t *b, zloop_t *loop)
{
        b->loop = loop;
        if (zloop_reader(loop, b->sock, on_readable, b) < 0)
                return -ENOMEM;
        zloop_reader_set_tolerant(loop, b->sock);
        b->hb_timer = zloop_timer(loop, (size_t)b->hb_ms, 0, on_hb_timer, b);
        return b->hb_timer < 0 ? -ENOMEM : 0;
}

static int on_call_timeout(zloop_t *loop, int timer_id, void *arg)
{
        struct pending *p = arg, *q;
        bus_t *b = p->bus;
        struct bus_reply rep;

        (void)loop;
        (void)timer_id;
        q = take_pending(b, p->id);
        if (!q)
                return 0;
        bus_local_reply(&rep, -ETIMEDOUT, "no answer within the time limit");
        q->cb(q->ud, &rep);
        free(q);
        return 0;
}

int bus_call(bus_t *b, const char *svc, const char *method, const struct mpw *args, const char *tok,
             int timeout_ms, bus_reply_fn cb, void *ud)
{
        struct pending *p;
        struct mpw w;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->id = b->next_id++;
        p->cb = cb;
        p->ud = ud;
        p->bus = b;
        mpw_init(&w);
        r = build_req(&w, p->id, svc, method, args, tok, timeout_ms);
        if (r == 0)
                r = bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0) {
                free(p);
                return r;
        }
        /* busd answers ETIMEDOUT itself at the deadline; ours is a backstop */
        if (b->loop)
                p->timer = zloop_timer(b->loop, (size_t)timeout_ms + 500, 1, on_call_timeout, p);
        p->next = b->pending;
        b->pending = p;
        return 0;
}
