/* busd.c - the broker: routes requests by service, fans out events, heartbeats,
 * CURVE identities, the bus ACL and operator authority stamping. */
#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus.h"
#include "bus_acl.h"
#include "authz.h"
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

static const struct ds_field busd_settings[] = {
        { "endpoints", DS_ARRAY, 0, .max_len = 8, .sub = &(const struct ds_field){ "", DS_STR, .max_len = 256 },
          .help = "extra endpoints to bind (tcp:// for multi-host); the ipc socket is always bound" },
        { "hb_ms", DS_INT, 0, .min = 100, .max = 60000, .def_int = BUS_HB_MS },
        { "max_msg", DS_INT, 0, .min = 1024, .max = BUS_TRANSPORT_MAX, .def_int = 1 << 20 },
        { "max_depth", DS_INT, 0, .min = 2, .max = 32, .def_int = 16 },
        { "max_items", DS_INT, 0, .min = 16, .max = 1000000, .def_int = 10000 },
        { "session_cache_ms", DS_INT, 0, .min = 0, .max = 600000, .def_int = 5000 },
        { "default_timeout_ms", DS_INT, 0, .min = 10, .max = BUS_MAX_TIMEOUT_MS, .def_int = BUS_DEFAULT_TIMEOUT_MS },
        { "sub_queue_max", DS_INT, 0, .min = 1, .max = 100000, .def_int = BUS_SUB_QUEUE_DEFAULT,
          .help = "events sent to one operator subscriber and not yet acknowledged; more are dropped" },
        { NULL },
};

/* The session an operator connection subscribes under (one per connection). */
struct sub_sess {
        char th[65];   /* token hash: the session cache key */
        char *tok;     /* kept to check the session again (secret: zeroed when freed) */
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
        enum inflight_kind kind;
        char client_key[2 * RID_MAX + 1];
        uint8_t client_rid[RID_MAX];
        size_t client_rid_len;
        char *client_id; /* encoded msgpack of the client's id */
        size_t client_id_len;
        char svc[BUS_NAME_MAX + 1];
        int64_t deadline;
        /* IF_SESSION_CHECK: the parked request */
        char *parked;
        size_t parked_len;
        char tok_hash[65];
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
        uint64_t requests, replies, events_in, events_out, events_dropped, malformed, refused, timeouts,
                unroutable, session_checks;
        /* events_dropped by reason */
        uint64_t dropped_slow, dropped_full, dropped_check;
        uint64_t subs_refused, subs_ended;
        uint64_t log_dropped; /* own records beyond the queue */
};

struct busd {
        struct ds_paths paths;
        struct ds_settings cfg;
        struct mp_limits lim;
        bus_acl_t *acl;
        bus_keys_t *keys;
        zcert_t *cert;
        void *router, *zap, *mon;
        int sigfd;
        zhash_t *peers;    /* key -> struct peer */
        zhash_t *services; /* name -> struct service */
        zhash_t *inflight; /* bid -> struct inflight */
        zhash_t *sessions; /* token hash -> struct session */
        zhash_t *disabled; /* name -> "1" */
        zlist_t *logq;     /* busd's own records, to publish (struct logrec) */
        char *statedir;
        uint64_t next_bid;
        int64_t started_ms;
        int hb_ms;
        struct stats st;
        int64_t last_warn, last_slow_warn;
        uint64_t sub_queue_max;
};

/* ---- peers ---------------------------------------------------------------- */

static void sub_sess_free(struct sub_sess **pss)
{
        struct sub_sess *ss = *pss;

        if (!ss)
                return;
        if (ss->tok) {
                sodium_memzero(ss->tok, strlen(ss->tok));
                free(ss->tok);
        }
        free(ss);
        *pss = NULL;
}

static void peer_free(void *p)
{
        struct peer *pe = p;

        for (size_t i = 0; i < pe->n_subs; i++)
                free(pe->subs[i]);
        sub_sess_free(&pe->ss);
        free(pe);
}

static void service_free(void *p)
{
        struct service *s = p;

        zhash_destroy(&s->methods);
        free(s);
}

static void inflight_free(void *p)
{
        struct inflight *f = p;

        free(f->client_id);
        if (f->parked) {
                sodium_memzero(f->parked, f->parked_len);
                free(f->parked);
        }
        free(f);
}

static void session_free(void *p)
{
        struct session *s = p;

        free(s->authz);
        free(s);
}

static int send_to(struct busd *b, const uint8_t *rid, size_t rid_len, const void *data, size_t len)
{
        if (zmq_send(b->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(b->router, data, len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                        return -EAGAIN;
                b->st.unroutable++;
                return -EHOSTUNREACH;
        }
        return 0;
}

/* An error reply to a client; id is its encoded id (NULL: nil). */
static void reply_err(struct busd *b, const uint8_t *rid, size_t rid_len, const void *id, size_t id_len,
                      int code, const char *field, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void reply_err(struct busd *b, const uint8_t *rid, size_t rid_len, const void *id, size_t id_len,
                      int code, const char *field, const char *fmt, ...)
{
        char msg[384];
        struct mpw w;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mpw_init(&w);
        bus_enc_rep_err(&w, id, id_len, code, msg, field, NULL);
        send_to(b, rid, rid_len, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}

static void send_simple(struct busd *b, struct peer *p, const char *kind)
{
        struct mpw w;

        mpw_init(&w);
        bus_enc_simple(&w, kind);
        send_to(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}

/* Ends peer p's subscription to prefix (NULL: all of them) and tells the
 * peer why with an unsub{prefix, err}. The session goes with the last one. */
static void end_subs(struct busd *b, struct peer *p, const char *prefix, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static void end_subs(struct busd *b, struct peer *p, const char *prefix, int code, const char *fmt, ...)
{
        char msg[320];
        size_t ended = 0;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < p->n_subs;) {
                struct mpw w;

                if (prefix && strcmp(p->subs[i], prefix)) {
                        i++;
                        continue;
                }
                mpw_init(&w);
                bus_enc_unsub_err(&w, p->subs[i], code, msg);
                send_to(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w));
                mpw_free(&w);
                free(p->subs[i]);
                p->subs[i] = p->subs[--p->n_subs];
                ended++;
        }
        if (ended) {
                b->st.subs_ended += ended;
                log_audit("security", LOG_LVL_NOTICE, p->ss ? p->ss->user : p->id,
                          "bus: %zu subscription(s) of '%s' (user '%s') ended: %s", ended, p->id,
                          p->ss ? p->ss->user : "", msg);
        }
        if (!p->n_subs)
                sub_sess_free(&p->ss);
}

static void recheck_failed(struct busd *b, struct inflight *f, const char *why)
{
        struct peer *p = zhash_lookup(b->peers, f->client_key);

        if (p && p->ss && !strcmp(p->ss->th, f->tok_hash))
                end_subs(b, p, NULL, -DS_EUNAVAIL, "the session could not be checked again: authd %s", why);
}

static void fail_inflight_of(struct busd *b, const char *svc, const char *why)
{
        zlist_t *keys = zhash_keys(b->inflight);

        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct inflight *f = zhash_lookup(b->inflight, k);
                if (!f || strcmp(f->svc, svc))
                        continue;
                if (f->kind == IF_FORWARD)
                        reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len,
                                  -DS_EUNAVAIL, NULL, "%s %s", svc, why);
                else if (f->kind == IF_SUB_RECHECK)
                        recheck_failed(b, f, why);
                else
                        reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len,
                                  -DS_EUNAVAIL, NULL, "authd %s: cannot check the session", why);
                zhash_delete(b->inflight, k);
        }
        zlist_destroy(&keys);
}

static void drop_service(struct busd *b, struct service *s, const char *why)
{
        char name[BUS_NAME_MAX + 1];

        snprintf(name, sizeof name, "%s", s->name);
        log_notice("service '%s' (pid %d) dropped: %s", name, s->pid, why);
        if (s->peer)
                s->peer->svc = NULL;
        zhash_delete(b->services, name);
        fail_inflight_of(b, name, "went away");
}

static void drop_peer(struct busd *b, struct peer *p, const char *why)
{
        if (p->svc)
                drop_service(b, p->svc, why);
        zhash_delete(b->peers, p->key);
}

static struct peer *peer_get(struct busd *b, zmq_msg_t *ridm, zmq_msg_t *payload)
{
        char key[2 * RID_MAX + 1];
        struct peer *p;
        const char *uid;

        if (zmq_msg_size(ridm) == 0 || zmq_msg_size(ridm) > RID_MAX)
                return NULL;
        ds_hex(zmq_msg_data(ridm), zmq_msg_size(ridm), key);
        p = zhash_lookup(b->peers, key);
        if (!p) {
                p = calloc(1, sizeof *p);
                if (!p)
                        return NULL;
                memcpy(p->rid, zmq_msg_data(ridm), zmq_msg_size(ridm));
                p->rid_len = zmq_msg_size(ridm);
                memcpy(p->key, key, sizeof key);
                uid = zmq_msg_gets(payload, "User-Id");
                snprintf(p->id, sizeof p->id, "%s", uid ? uid : "");
                uid = zmq_msg_gets(payload, "X-Key");
                snprintf(p->pub, sizeof p->pub, "%s", uid ? uid : "");
                p->operator = bus_acl_operator(b->acl, p->id);
                p->gateway = bus_acl_gateway(b->acl, p->id);
                crypto_shorthash_keygen(p->ack_key);
                zhash_insert(b->peers, key, p);
                zhash_freefn(b->peers, key, peer_free);
        }
        {
                int fd = zmq_msg_get(payload, ZMQ_SRCFD);
                struct stat st;

                if (fd != p->fd || !p->fd_ino) {
                        p->fd = fd;
                        p->fd_ino = fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
                }
        }
        p->last_rx = ds_now_mono_ms();
        return p;
}

/* Services that are never disabled, whoever asks: busd itself, and authd,
 * without which no operator session can be checked. */
static const char *const never_disabled[] = { BUS_SERVICE_SELF, "busd", "authd", NULL };

static bool may_not_disable(const char *name)
{
        for (size_t i = 0; never_disabled[i]; i++)
                if (!strcmp(never_disabled[i], name))
                        return true;
        return false;
}

/* After a reload: a peer whose key left the key directory, or now carries
 * another name (rotated or reassigned), loses its connection. ZeroMQ has no
 * call to close one ROUTER peer, so busd shuts the connection's socket down
 * (after checking by inode that the descriptor is still that connection);
 * the I/O thread then closes it and the client must handshake again. */
static void drop_untrusted_peers(struct busd *b)
{
        zlist_t *keys = zhash_keys(b->peers);

        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct peer *p = zhash_lookup(b->peers, k);
                const char *now_name;
                struct stat st;

                if (!p)
                        continue;
                now_name = bus_keys_lookup_hex(b->keys, p->pub);
                if (now_name && !strcmp(now_name, p->id))
                        continue;
                log_audit("security", LOG_LVL_NOTICE, p->id, "bus: '%s' disconnected: its key %s", p->id,
                          now_name ? "now names another identity" : "is no longer in the key directory");
                if (p->fd >= 0 && p->fd_ino && fstat(p->fd, &st) == 0 && st.st_ino == p->fd_ino)
                        shutdown(p->fd, SHUT_RDWR);
                drop_peer(b, p, "key no longer trusted");
        }
        zlist_destroy(&keys);
}

/* ---- disabled set (persisted) ------------------------------------------- */

static void save_disabled(struct busd *b)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_arr_begin(&w);
        for (void *v = zhash_first(b->disabled); v; v = zhash_next(b->disabled))
                mpw_str(&w, zhash_cursor(b->disabled));
        mpw_arr_end(&w);
        r = state_write(b->statedir, "disabled.mp", mpw_data(&w), mpw_len(&w), 0600);
        if (r < 0)
                log_errno(r, "cannot save the disabled set in '%s': %m", b->statedir);
        mpw_free(&w);
}

static void load_disabled(struct busd *b)
{
        msgpack_unpacked u;
        const char *why;
        char *buf;
        size_t len;

        if (state_read(b->statedir, "disabled.mp", 1 << 16, &buf, &len) < 0)
                return;
        if (mp_decode(buf, len, NULL, &u, &why) == 0) {
                if (u.data.type == MSGPACK_OBJECT_ARRAY)
                        for (uint32_t i = 0; i < u.data.via.array.size; i++) {
                                char n[BUS_NAME_MAX + 1];
                                if (mp_strcpy(&u.data.via.array.ptr[i], n, sizeof n) < 0)
                                        continue;
                                if (may_not_disable(n))
                                        log_warn("'%s' was saved as disabled; it cannot be, ignored", n);
                                else
                                        zhash_insert(b->disabled, n, "1");
                        }
                msgpack_unpacked_destroy(&u);
        }
        free(buf);
}

static void on_monitor(struct busd *b);

/* ---- busd's own methods ("bus.*") ----------------------------------------- */

/* Known services: those the ACL lets some identity serve, and those registered. */
static void collect_name(void *ud, const char *name)
{
        zlist_t *l = ud;

        for (char *n = zlist_first(l); n; n = zlist_next(l))
                if (!strcmp(n, name))
                        return;
        zlist_append(l, (char *)name); /* autofree: the list copies it */
}

static void write_service_row(struct busd *b, struct mpw *w, const char *name)
{
        struct service *s = zhash_lookup(b->services, name);
        bool dis = zhash_lookup(b->disabled, name) != NULL;

        mpw_map_begin(w);
        mpw_kv_str(w, "name", name);
        mpw_kv_str(w, "state", dis ? "disabled" : s ? "running" : "down");
        mpw_kv_str(w, "version", s ? s->version : "");
        mpw_kv_int(w, "pid", s ? s->pid : 0);
        mpw_kv_int(w, "uptime_s", s ? (ds_now_mono_ms() - s->since_ms) / 1000 : 0);
        mpw_kv_str(w, "identity", s && s->peer ? s->peer->id : "");
        mpw_map_end(w);
}

static int h_bus_services(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;
        struct mpw *r = c->r;
        zlist_t *names = zlist_new();

        if (!names)
                return -ENOMEM;
        zlist_autofree(names);
        bus_acl_each_service(b->acl, collect_name, names);
        for (void *v = zhash_first(b->services); v; v = zhash_next(b->services))
                collect_name(names, zhash_cursor(b->services));
        zlist_sort(names, NULL);
        mpw_str(r, "services");
        mpw_arr_begin(r);
        mpw_map_begin(r);
        mpw_kv_str(r, "name", "busd");
        mpw_kv_str(r, "state", "running");
        mpw_kv_str(r, "version", BUSD_VERSION);
        mpw_kv_int(r, "pid", getpid());
        mpw_kv_int(r, "uptime_s", (ds_now_mono_ms() - b->started_ms) / 1000);
        mpw_kv_str(r, "identity", "busd");
        mpw_map_end(r);
        for (char *k = zlist_first(names); k; k = zlist_next(names))
                write_service_row(b, r, k);
        zlist_destroy(&names);
        mpw_arr_end(r);
        return 0;
}

/* The function table is netcfgd's: no other daemon, whatever its ACL says. */
#define BUS_FUNCTION_OWNER "netcfgd"

static int set_disabled(struct busd *b, struct ds_call *c, bool dis)
{
        char name[BUS_NAME_MAX + 1];

        if (strcmp(c->caller.id, BUS_FUNCTION_OWNER)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, c->caller.id, "bus: '%s' refused %s: only '%s' may call it",
                          c->caller.id[0] ? c->caller.id : "?", c->m->name, BUS_FUNCTION_OWNER);
                return ds_call_fail(c, -EPERM, NULL, "identity '%s' may not call %s: only %s may", c->caller.id,
                                    c->m->name, BUS_FUNCTION_OWNER);
        }
        ds_arg_str(c, "service", name, sizeof name);
        if (dis && may_not_disable(name))
                return ds_call_fail(c, -EPERM, NULL, "'%s' cannot be disabled: the bus needs it to %s", name,
                                    strcmp(name, "authd") ? "run" : "check operator sessions");
        if (dis)
                zhash_insert(b->disabled, name, "1");
        else
                zhash_delete(b->disabled, name);
        save_disabled(b);
        if (dis)
                fail_inflight_of(b, name, "was disabled");
        log_audit("operation", LOG_LVL_NOTICE, NULL, "bus: service '%s' %s", name, dis ? "disabled" : "enabled");
        mpw_kv_str(c->r, "service", name);
        mpw_kv_bool(c->r, "disabled", dis);
        return 0;
}

static int h_bus_disable(void *ctx, struct ds_call *c)
{
        return set_disabled(ctx, c, true);
}

static int h_bus_enable(void *ctx, struct ds_call *c)
{
        return set_disabled(ctx, c, false);
}

static int h_bus_stats(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;
        struct mpw *r = c->r;

        mpw_kv_uint(r, "requests", b->st.requests);
        mpw_kv_uint(r, "replies", b->st.replies);
        mpw_kv_uint(r, "events_in", b->st.events_in);
        mpw_kv_uint(r, "events_out", b->st.events_out);
        mpw_kv_uint(r, "events_dropped", b->st.events_dropped);
        mpw_str(r, "dropped"); /* events_dropped by reason */
        mpw_map_begin(r);
        mpw_kv_uint(r, "slow_subscriber", b->st.dropped_slow);
        mpw_kv_uint(r, "queue_full", b->st.dropped_full);
        mpw_kv_uint(r, "session_check", b->st.dropped_check);
        mpw_map_end(r);
        mpw_kv_uint(r, "sub_queue_max", b->sub_queue_max);
        mpw_kv_uint(r, "subs_refused", b->st.subs_refused);
        mpw_kv_uint(r, "subs_ended", b->st.subs_ended);
        mpw_kv_uint(r, "malformed", b->st.malformed);
        mpw_kv_uint(r, "refused", b->st.refused);
        mpw_kv_uint(r, "timeouts", b->st.timeouts);
        mpw_kv_uint(r, "unroutable", b->st.unroutable);
        mpw_kv_uint(r, "session_checks", b->st.session_checks);
        mpw_kv_uint(r, "log_dropped", b->st.log_dropped);
        mpw_kv_uint(r, "peers", zhash_size(b->peers));
        mpw_kv_uint(r, "services", zhash_size(b->services));
        mpw_kv_uint(r, "inflight", zhash_size(b->inflight));
        mpw_kv_uint(r, "sessions_cached", zhash_size(b->sessions));
        mpw_kv_uint(r, "keys", bus_keys_count(b->keys));
        return 0;
}

static int h_sys_ping(void *ctx, struct ds_call *c)
{
        struct busd *b = ctx;

        mpw_kv_str(c->r, "service", "busd");
        mpw_kv_str(c->r, "version", BUSD_VERSION);
        mpw_kv_int(c->r, "pid", getpid());
        mpw_kv_int(c->r, "uptime_s", (ds_now_mono_ms() - b->started_ms) / 1000);
        mpw_kv_str(c->r, "state", "running");
        return 0;
}

static const struct ds_field service_args[] = {
        { "service", DS_STR, DS_REQUIRED, .max_len = BUS_NAME_MAX, .check = ds_check_name },
        { NULL },
};

static const struct ds_method busd_methods[] = {
        DS_METHOD("sys.ping", NULL, h_sys_ping, AUTH_PUBLIC),
        DS_METHOD("bus.services", NULL, h_bus_services, AUTH_PUBLIC),
        DS_METHOD("bus.stats", NULL, h_bus_stats, AUTH_PUBLIC),
        DS_METHOD("bus.disable", service_args, h_bus_disable, AUTH_SERVICE),
        DS_METHOD("bus.enable", service_args, h_bus_enable, AUTH_SERVICE),
        { NULL },
};

/* ---- requests --------------------------------------------------------------- */

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

static void tok_hash(const msgpack_object *tok, char out[65])
{
        uint8_t h[32];

        crypto_generichash(h, sizeof h, (const uint8_t *)tok->via.str.ptr, tok->via.str.size, NULL, 0);
        ds_hex(h, sizeof h, out);
}

/* A request in flight, answering the client (from, q) by default. */
static struct inflight *inflight_new(struct busd *b, struct peer *from, const struct req *q, enum inflight_kind kind,
                                     const char *svc, int64_t timeout)
{
        struct inflight *f = calloc(1, sizeof *f);

        if (!f)
                return NULL;
        f->bid = b->next_bid++;
        f->kind = kind;
        memcpy(f->client_rid, from->rid, from->rid_len);
        f->client_rid_len = from->rid_len;
        memcpy(f->client_key, from->key, sizeof f->client_key);
        f->client_id = malloc(q->id_len ? q->id_len : 1);
        if (!f->client_id) {
                free(f);
                return NULL;
        }
        memcpy(f->client_id, q->id, q->id_len);
        f->client_id_len = q->id_len;
        snprintf(f->svc, sizeof f->svc, "%s", svc);
        f->deadline = ds_now_mono_ms() + timeout;
        return f;
}

static void inflight_track(struct busd *b, struct inflight *f)
{
        char key[24];

        snprintf(key, sizeof key, "%llu", (unsigned long long)f->bid);
        zhash_insert(b->inflight, key, f);
        zhash_freefn(b->inflight, key, inflight_free);
}

static void forward(struct busd *b, struct peer *from, struct req *q, struct service *s,
                    const struct session *sess, bool as_service)
{
        struct bus_stamp stamp;
        struct inflight *f;
        struct mpw w;
        int r;

        f = inflight_new(b, from, q, IF_FORWARD, s->name, q->timeout);
        if (!f) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EINTERNAL, NULL, "out of memory");
                return;
        }
        /* the stamp: built here from authentication, never copied from the body */
        stamp = (struct bus_stamp){ .id = from->id, .svc = as_service, .gw = from->gateway };
        if (sess) {
                stamp.user = sess->user;
                stamp.group = sess->group;
                stamp.sid = sess->sid;
                stamp.src = sess->source;
                stamp.authz = sess->authz;
                stamp.authz_len = sess->authz_len;
        }
        mpw_init(&w);
        bus_enc_req(&w, &(struct bus_req_out){ .id = f->bid, .m = q->method, .t = q->timeout, .args_obj = q->a,
                                               .c = &stamp });
        r = send_to(b, s->peer->rid, s->peer->rid_len, mpw_data(&w), mpw_len(&w));
        sodium_memzero(w.sb.data, w.sb.size);
        mpw_free(&w);
        if (r < 0) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, r == -EAGAIN ? -EBUSY : -DS_EUNAVAIL,
                          NULL, "%s cannot take requests now", s->name);
                inflight_free(f);
                return;
        }
        inflight_track(b, f);
}

/* Asks authd whether a token names a live session, under busd's own id bid. */
static void send_session_check(struct busd *b, struct service *authd, uint64_t bid, const char *tok, size_t tok_len)
{
        static const struct bus_stamp self = { .id = "busd", .svc = true };
        struct mpw a, w;

        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_str(&a, "token");
        mpw_strn(&a, tok, tok_len);
        mpw_map_end(&a);
        mpw_init(&w);
        bus_enc_req(&w, &(struct bus_req_out){ .id = bid, .m = "session.check", .t = SESSION_CHECK_TIMEOUT_MS,
                                               .args = mpw_data(&a), .args_len = mpw_len(&a), .c = &self });
        send_to(b, authd->peer->rid, authd->peer->rid_len, mpw_data(&w), mpw_len(&w));
        mpw_wipe(&a);
        mpw_wipe(&w);
        b->st.session_checks++;
}

static void start_session_check(struct busd *b, struct peer *from, struct req *q, const char *raw, size_t raw_len,
                                const char *th)
{
        struct service *authd = zhash_lookup(b->services, "authd");
        struct inflight *f;

        if (!authd || zhash_lookup(b->disabled, "authd")) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EUNAVAIL, NULL,
                          "authd is not running: sessions cannot be checked");
                return;
        }
        f = inflight_new(b, from, q, IF_SESSION_CHECK, "authd", SESSION_CHECK_TIMEOUT_MS);
        if (!f)
                return;
        f->parked = malloc(raw_len);
        if (!f->parked) {
                inflight_free(f);
                return;
        }
        memcpy(f->parked, raw, raw_len);
        f->parked_len = raw_len;
        memcpy(f->tok_hash, th, sizeof f->tok_hash);
        send_session_check(b, authd, f->bid, q->tok->via.str.ptr, q->tok->via.str.size);
        inflight_track(b, f);
}

/* Checks an operator subscriber's session again (its authorities may have
 * changed); nothing is delivered to it until authd answers. */
static void start_sub_recheck(struct busd *b, struct peer *p)
{
        struct service *authd = zhash_lookup(b->services, "authd");
        struct inflight *f;

        if (!p->ss || p->ss->checking)
                return;
        if (!authd || zhash_lookup(b->disabled, "authd")) {
                end_subs(b, p, NULL, -DS_EUNAVAIL, "authd is not running: the session cannot be checked again");
                return;
        }
        f = calloc(1, sizeof *f);
        if (!f) {
                end_subs(b, p, NULL, -DS_EINTERNAL, "out of memory");
                return;
        }
        f->bid = b->next_bid++;
        f->kind = IF_SUB_RECHECK;
        memcpy(f->client_key, p->key, sizeof f->client_key);
        snprintf(f->svc, sizeof f->svc, "authd");
        f->deadline = ds_now_mono_ms() + SESSION_CHECK_TIMEOUT_MS;
        memcpy(f->tok_hash, p->ss->th, sizeof f->tok_hash);
        p->ss->checking = true;
        send_session_check(b, authd, f->bid, p->ss->tok, strlen(p->ss->tok));
        inflight_track(b, f);
}

static int send_to_peer(void *ud, const void *data, size_t len)
{
        struct peer_ref *pr = ud;

        return send_to(pr->b, pr->p->rid, pr->p->rid_len, data, len);
}

/* bus.*: busd's own table through the ordinary dispatcher, under the caller
 * busd knows from the connection. A stamp the client wrote ("c") is never
 * read: only the connection's identity and class count. */
static void handle_own(struct busd *b, struct peer *from, struct req *q)
{
        static const struct ds_method *const tables[] = { busd_methods, NULL };
        struct peer_ref pr = { b, from };
        const struct ds_dispatch dp = { .name = BUS_SERVICE_SELF, .tables = tables, .ctx = b,
                                        .send = send_to_peer, .send_ud = &pr };
        struct ds_caller caller = { .svc = !from->operator, .gateway = from->gateway };
        int code;

        snprintf(caller.id, sizeof caller.id, "%s", from->id);
        code = ds_dispatch(&dp, q->msg, &caller);
        if (code == -EPERM && from->operator) /* a daemons-only method */
                b->st.refused++;
}

/* Routes a decoded request. raw is the original message (for parking). */
static void route_req(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len,
                      struct mpw *idw)
{
        struct req q = { .msg = m, .a = m->a, .to = m->to, .method = m->m, .tok = m->tok };
        struct service *s;
        const char *auth;
        int64_t t;

        mpw_obj(idw, m->id);
        q.id = mpw_data(idw);
        q.id_len = mpw_len(idw);
        t = m->has_t ? m->t : ds_settings_int(&b->cfg, "default_timeout_ms");
        q.timeout = t < 10 ? 10 : t > BUS_MAX_TIMEOUT_MS ? BUS_MAX_TIMEOUT_MS : t;
        snprintf(q.target, sizeof q.target, "%s.%s", q.to, q.method);

        if (!bus_acl_may_call(b->acl, from->id, q.target)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: '%s' may not call %s (bus ACL)",
                          from->id[0] ? from->id : "?", q.target);
                reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                          "identity '%s' may not call %s", from->id, q.target);
                return;
        }
        if (!strcmp(q.to, BUS_SERVICE_SELF)) {
                handle_own(b, from, &q);
                return;
        }
        if (zhash_lookup(b->disabled, q.to)) {
                reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EDISABLED, NULL,
                          "%s is disabled on this device", q.to);
                return;
        }
        s = zhash_lookup(b->services, q.to);
        if (!s) {
                reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EUNAVAIL, NULL, "%s is not running", q.to);
                return;
        }
        auth = zhash_lookup(s->methods, q.method);
        if (!auth) {
                reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -ENOENT, "m", "%s has no method '%s'", q.to,
                          q.method);
                return;
        }
        if (!strcmp(auth, AUTH_PUBLIC)) {
                /* needs no session: a stale token must not stand in the way */
                forward(b, from, &q, s, NULL, !from->operator);
                return;
        }
        if (!strcmp(auth, AUTH_SERVICE)) {
                if (from->operator) {
                        b->st.refused++;
                        reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                                  "%s is for daemons only", q.target);
                        return;
                }
                forward(b, from, &q, s, NULL, true);
                return;
        }
        if (!q.tok) {
                if (from->operator) {
                        reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EAUTH, NULL,
                                  "login required for %s (devctl login)", q.target);
                        return;
                }
                forward(b, from, &q, s, NULL, true);
                return;
        }
        {
                char th[65];
                struct session *sess;

                tok_hash(q.tok, th);
                sess = zhash_lookup(b->sessions, th);
                if (sess && sess->expires < ds_now_mono_ms()) {
                        zhash_delete(b->sessions, th);
                        sess = NULL;
                }
                if (!sess) {
                        start_session_check(b, from, &q, raw, raw_len, th);
                        return;
                }
                uint32_t need = 0;
                if (strcmp(auth, AUTH_SESSION) &&
                    (ds_authz_mask(auth, &need) < 0 || !need || (sess->bits & need) != need)) {
                        b->st.refused++;
                        log_audit("security", LOG_LVL_WARNING, sess->user,
                                  "bus: user '%s' refused %s: needs authority '%s'", sess->user, q.target, auth);
                        reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                                  "user '%s' lacks authority '%s' for %s", sess->user, auth, q.target);
                        return;
                }
                forward(b, from, &q, s, sess, false);
        }
}

static void handle_message(struct busd *b, struct peer *from, const char *raw, size_t len);

/* A session from authd's session.check answer r (caller owns), NULL when unusable. */
static struct session *session_from_answer(struct busd *b, const msgpack_object *r)
{
        const msgpack_object *az = mp_get(r, "authorities");
        struct session *s = calloc(1, sizeof *s);
        struct mpw w;

        if (!s)
                return NULL;
        mp_strcpy(mp_get(r, "user"), s->user, sizeof s->user);
        mp_strcpy(mp_get(r, "group"), s->group, sizeof s->group);
        mp_strcpy(mp_get(r, "sid"), s->sid, sizeof s->sid);
        mp_strcpy(mp_get(r, "source"), s->source, sizeof s->source);
        mpw_init(&w);
        mpw_arr_begin(&w);
        for (uint32_t i = 0; az && az->type == MSGPACK_OBJECT_ARRAY && i < az->via.array.size; i++) {
                const msgpack_object *o = &az->via.array.ptr[i];
                uint32_t bit = mp_is_str(o) ? ds_authz_bit(o->via.str.ptr, o->via.str.size) : 0;
                if (bit) {
                        s->bits |= bit;
                        mpw_obj(&w, o);
                }
        }
        mpw_arr_end(&w);
        s->authz = malloc(mpw_len(&w));
        if (s->authz)
                memcpy(s->authz, mpw_data(&w), mpw_len(&w));
        s->authz_len = mpw_len(&w);
        mpw_free(&w);
        if (!s->user[0] || !s->authz) {
                session_free(s);
                return NULL;
        }
        s->expires = ds_now_mono_ms() + ds_settings_int(&b->cfg, "session_cache_ms");
        return s;
}

static void session_cache(struct busd *b, const char *th, struct session *s)
{
        zhash_update(b->sessions, th, s);
        zhash_freefn(b->sessions, th, session_free);
}

static void session_checked(struct busd *b, struct inflight *f, const struct bus_msg *m)
{
        struct peer *client = zhash_lookup(b->peers, f->client_key);
        struct session *s;

        if (!client)
                return;
        if (!m->ok) {
                char msg[256] = "session not valid";
                mp_strcpy(mp_get(m->err, "msg"), msg, sizeof msg);
                reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EAUTH, NULL,
                          "%s", msg);
                return;
        }
        s = session_from_answer(b, m->r);
        if (!s) {
                reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len, -DS_EINTERNAL, NULL,
                          "authd gave an unusable session answer");
                return;
        }
        session_cache(b, f->tok_hash, s);
        /* resume the parked request; a zero cache time still serves this one */
        if (ds_settings_int(&b->cfg, "session_cache_ms") == 0)
                s->expires = ds_now_mono_ms() + 1;
        handle_message(b, client, f->parked, f->parked_len);
}

/* authd's answer to a subscriber's re-check: the subscriptions its session no
 * longer covers end, all of them when the session is gone. */
static void sub_rechecked(struct busd *b, struct inflight *f, const struct bus_msg *m)
{
        struct peer *p = zhash_lookup(b->peers, f->client_key);
        struct session *s;
        uint32_t bits;

        if (!p || !p->ss || strcmp(p->ss->th, f->tok_hash))
                return;
        p->ss->checking = false;
        if (!m->ok) {
                char msg[256] = "session not valid";
                mp_strcpy(mp_get(m->err, "msg"), msg, sizeof msg);
                end_subs(b, p, NULL, -DS_EAUTH, "the session of '%s' ended: %s", p->ss->user, msg);
                return;
        }
        s = session_from_answer(b, m->r);
        if (!s) {
                end_subs(b, p, NULL, -DS_EINTERNAL, "authd gave an unusable session answer");
                return;
        }
        bits = p->ss->bits = s->bits;
        snprintf(p->ss->sid, sizeof p->ss->sid, "%s", s->sid);
        session_cache(b, f->tok_hash, s);
        for (size_t i = 0; p->ss && i < p->n_subs;) {
                char missing[96], prefix[BUS_TOPIC_MAX + 1];
                const char *rule = "";

                if (bus_topic_sub_check(p->subs[i], bits, missing, sizeof missing, &rule) == 0) {
                        i++;
                        continue;
                }
                snprintf(prefix, sizeof prefix, "%s", p->subs[i]);
                end_subs(b, p, prefix, -EPERM, "user '%s' no longer holds authority %s for events under '%s' (%s)",
                         p->ss->user, missing, prefix, rule[0] ? rule : "every other topic");
        }
}

static void route_rep(struct busd *b, struct peer *from, const struct bus_msg *m)
{
        int64_t bid = m->nid;
        struct inflight *f;
        char key[24];
        struct mpw w;

        if (bid < 0)
                return;
        snprintf(key, sizeof key, "%lld", (long long)bid);
        f = zhash_lookup(b->inflight, key);
        if (!f || !from->svc || strcmp(from->svc->name, f->svc)) {
                log_debug("bus: stray reply %s from '%s'", key, from->id);
                return;
        }
        zhash_freefn(b->inflight, key, NULL);
        zhash_delete(b->inflight, key);
        if (f->kind == IF_SESSION_CHECK) {
                session_checked(b, f, m);
                inflight_free(f);
                return;
        }
        if (f->kind == IF_SUB_RECHECK) {
                sub_rechecked(b, f, m);
                inflight_free(f);
                return;
        }
        b->st.replies++;
        mpw_init(&w);
        bus_enc_rep_relay(&w, f->client_id, f->client_id_len, m->ok, m->r, m->err);
        send_to(b, f->client_rid, f->client_rid_len, mpw_data(&w), mpw_len(&w));
        mpw_wipe(&w);
        inflight_free(f);
}

static void handle_hello(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad)
{
        const char *name = m->name;
        const msgpack_object *ms = m->methods;
        struct service *s, *old;

        if ((bad && !strcmp(bad->field, "name")) || !strcmp(name, BUS_SERVICE_SELF) || !strcmp(name, "busd")) {
                log_warn("bus: hello from '%s' with a bad service name, ignored", from->id);
                return;
        }
        if (from->svc && strcmp(from->svc->name, name)) {
                /* one service per connection: a second name would leave the
                 * first service pointing at a peer that is freed with the second */
                const msgpack_object *id = m->id;
                struct mpw idw;

                b->st.refused++;
                log_warn("bus: '%s' already serves '%s' on this connection; hello for '%s' refused", from->id,
                         from->svc->name, name);
                mpw_init(&idw);
                if (id)
                        mpw_obj(&idw, id);
                reply_err(b, from->rid, from->rid_len, id ? mpw_data(&idw) : NULL, mpw_len(&idw), -EINVAL, "name",
                          "this connection already serves '%s': one service name per connection", from->svc->name);
                mpw_free(&idw);
                return;
        }
        if (!bus_acl_may_serve(b->acl, from->id, name)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: identity '%s' may not serve '%s' (bus ACL)",
                          from->id, name);
                return;
        }
        if (!ms) {
                log_warn("bus: hello of '%s' has no usable method table, ignored", name);
                return;
        }
        s = calloc(1, sizeof *s);
        if (!s)
                return;
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->version, sizeof s->version, "%s", m->ver);
        s->pid = m->pid;
        s->since_ms = ds_now_mono_ms();
        s->methods = zhash_new();
        for (uint32_t i = 0; i < ms->via.array.size; i++) {
                char mn[BUS_METHOD_MAX + 1], au[DS_AUTHZ_SET_MAX + 1];
                const msgpack_object *e = &ms->via.array.ptr[i];
                if (bus_dec_hello_method(e, mn, sizeof mn, au, sizeof au) < 0)
                        continue;
                zhash_insert(s->methods, mn, strdup(au));
                zhash_freefn(s->methods, mn, free);
        }
        old = zhash_lookup(b->services, name);
        if (old) {
                if (old->peer == from) {
                        old->peer->svc = NULL;
                } else {
                        log_notice("service '%s' re-registered (pid %d -> %d)", name, old->pid, s->pid);
                }
                s->peer = from;
                drop_service(b, old, "replaced by a new registration");
        }
        s->peer = from;
        from->svc = s;
        zhash_insert(b->services, name, s);
        zhash_freefn(b->services, name, service_free);
        log_info("service '%s' %s registered (pid %d, identity '%s', %zu methods)", name, s->version, s->pid,
                 from->id, zhash_size(s->methods));
        /* a new authd may not know the sessions subscribers hold */
        if (!strcmp(name, "authd"))
                for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers))
                        if (p->ss)
                                start_sub_recheck(b, p);
}

/* The tag an operator subscriber echoes in its ack: proof that it read
 * event seq (keyed per connection, so it cannot be computed ahead). */
static uint64_t ack_tag(const struct peer *p, uint64_t seq)
{
        uint8_t in[8], out[crypto_shorthash_BYTES];
        uint64_t tag;

        for (int i = 0; i < 8; i++)
                in[i] = (uint8_t)(seq >> (8 * i));
        crypto_shorthash(out, in, sizeof in, p->ack_key);
        memcpy(&tag, out, sizeof tag);
        return tag;
}

static void count_drop(struct busd *b, struct peer *p, uint64_t *reason)
{
        b->st.events_dropped++;
        (*reason)++;
        p->ev_lost++;
}

/* An event to an operator subscriber: only what its session may see, and
 * never more than sub_queue_max unacknowledged in flight. */
static void deliver_operator(struct busd *b, struct peer *p, const char *topic, int64_t ts, const char *src,
                             const struct mpw *data)
{
        uint64_t seq = p->ev_seq + 1;
        struct mpw w;

        if (!p->ss || !bus_topic_allowed(topic, p->ss->bits))
                return;
        if (p->ss->checking) {
                count_drop(b, p, &b->st.dropped_check);
                return;
        }
        if (p->ev_seq - p->ev_acked >= b->sub_queue_max) {
                count_drop(b, p, &b->st.dropped_slow);
                if (ds_now_mono_ms() - b->last_slow_warn > 5000) {
                        log_warn("bus: subscriber '%s' (user '%s') is not reading: %llu events in flight, "
                                 "%llu dropped for it so far",
                                 p->id, p->ss->user, (unsigned long long)(p->ev_seq - p->ev_acked),
                                 (unsigned long long)p->ev_lost);
                        b->last_slow_warn = ds_now_mono_ms();
                }
                return;
        }
        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = topic, .ts = ts, .src = src, .data = mpw_data(data),
                                               .data_len = mpw_len(data), .seq = seq, .tag = ack_tag(p, seq),
                                               .lost = p->ev_lost });
        if (send_to(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w)) < 0) {
                count_drop(b, p, &b->st.dropped_full);
        } else {
                p->ev_seq = seq;
                p->ev_lost = 0;
                b->st.events_out++;
        }
        mpw_free(&w);
}

/* auth.session.revoked {user, sid}: the cache forgets the user's sessions; a
 * subscriber under the revoked session loses its subscriptions at once, and a
 * user-wide refresh (no sid: authorities changed) checks them again. */
static void session_revoked(struct busd *b, const msgpack_object *d)
{
        char user[BUS_NAME_MAX + 1] = "", sid[32] = "";
        zlist_t *keys = zhash_keys(b->sessions);

        mp_strcpy(mp_get(d, "user"), user, sizeof user);
        mp_strcpy(mp_get(d, "sid"), sid, sizeof sid);
        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct session *s = zhash_lookup(b->sessions, k);
                if (!user[0] || !strcmp(s->user, user))
                        zhash_delete(b->sessions, k);
        }
        zlist_destroy(&keys);
        for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers)) {
                if (!p->ss || (user[0] && strcmp(p->ss->user, user)))
                        continue;
                if (!sid[0])
                        start_sub_recheck(b, p);
                else if (!strcmp(sid, p->ss->sid))
                        end_subs(b, p, NULL, -DS_EAUTH,
                                 "the session of '%s' ended (logged out, kicked or expired): devctl login", p->ss->user);
        }
}

/* Sends an event from src (encoded data) to every peer subscribed to it. */
static void fanout(struct busd *b, const char *src, const char *topic, int64_t ts, const struct mpw *dw)
{
        struct mpw w;

        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = topic, .ts = ts, .src = src, .data = mpw_data(dw),
                                               .data_len = mpw_len(dw) });
        for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers)) {
                bool match = false;

                for (size_t i = 0; i < p->n_subs && !match; i++)
                        match = !strncmp(topic, p->subs[i], strlen(p->subs[i]));
                if (!match || !bus_acl_may_receive(b->acl, p->id, topic))
                        continue;
                if (p->operator) {
                        deliver_operator(b, p, topic, ts, src, dw);
                        continue;
                }
                if (send_to(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w)) < 0) {
                        b->st.events_dropped++;
                        b->st.dropped_full++;
                        if (ds_now_mono_ms() - b->last_warn > 5000) {
                                log_warn("bus: subscriber '%s' is not keeping up: %llu events dropped so far", p->id,
                                         (unsigned long long)b->st.events_dropped);
                                b->last_warn = ds_now_mono_ms();
                        }
                } else {
                        b->st.events_out++;
                }
        }
        mpw_free(&w);
}

static void handle_pub(struct busd *b, struct peer *from, const struct bus_msg *m)
{
        const char *topic = m->topic;
        struct mpw dw;

        b->st.events_in++;
        if (!bus_acl_may_publish(b->acl, from->id, topic)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: '%s' may not publish '%s' (bus ACL)",
                          from->id, topic);
                return;
        }
        /* revocations come from authd only */
        if (!strcmp(topic, "auth.session.revoked") && !strcmp(from->id, "authd"))
                session_revoked(b, m->data);
        mpw_init(&dw);
        if (m->data)
                mpw_obj(&dw, m->data);
        else
                mpw_nil(&dw);
        fanout(b, from->id, topic, m->has_ts ? m->ts : ds_now_real_ms(), &dw);
        mpw_free(&dw);
}

/* busd's own log and audit records (ACL refusals, unknown keys, forged
 * hellos) go out as log.<category> events from "busd", as every service's
 * do, so logd stores them. busd is the bus: it fans them out itself, once
 * the message being handled is done (a record may be written while the peer
 * table is being walked). */
struct logrec {
        char topic[BUS_TOPIC_MAX + 1];
        int64_t ts;
        struct mpw dw;
};

#define BUSD_LOGQ_MAX 256

static void busd_log_sink(void *ud, int level, const char *category, const char *user, const char *msg)
{
        struct busd *b = ud;
        struct logrec *lr;

        if (!b->logq)
                return;
        if (zlist_size(b->logq) >= BUSD_LOGQ_MAX || !(lr = calloc(1, sizeof *lr))) {
                b->st.log_dropped++;
                return;
        }
        snprintf(lr->topic, sizeof lr->topic, "log.%s", category);
        lr->ts = ds_now_real_ms();
        mpw_init(&lr->dw);
        mpw_map_begin(&lr->dw);
        mpw_kv_str(&lr->dw, "service", "busd");
        mpw_kv_str(&lr->dw, "level", log_level_name(level));
        mpw_kv_str(&lr->dw, "user", user ? user : "");
        mpw_kv_str(&lr->dw, "msg", msg);
        mpw_map_end(&lr->dw);
        zlist_append(b->logq, lr);
}

static void flush_log(struct busd *b)
{
        struct logrec *lr;

        while (b->logq && (lr = zlist_pop(b->logq))) {
                fanout(b, "busd", lr->topic, lr->ts, &lr->dw);
                mpw_free(&lr->dw);
                free(lr);
        }
}

/* ack {seq, tag}: the subscriber has read every event up to seq. */
static void handle_ack(struct busd *b, struct peer *p, const struct bus_msg *m)
{
        (void)b;
        if (m->seq <= p->ev_acked || m->seq > p->ev_seq || m->tag != ack_tag(p, m->seq)) {
                log_debug("bus: ack from '%s' for an event it was not sent, ignored", p->id);
                return;
        }
        p->ev_acked = m->seq;
}

/* A trailing '*' is accepted: "log.*" is the prefix "log.", "*" everything. */
static void prefix_normalize(char *prefix)
{
        size_t n = strlen(prefix);

        if (n && prefix[n - 1] == '*')
                prefix[n - 1] = '\0';
}

static void sub_reply_ok(struct busd *b, struct peer *from, const struct req *q, const char *prefix)
{
        struct mpw r, w;

        mpw_init(&r);
        mpw_map_begin(&r);
        mpw_kv_str(&r, "prefix", prefix);
        if (from->operator)
                mpw_kv_uint(&r, "window", b->sub_queue_max);
        mpw_map_end(&r);
        mpw_init(&w);
        bus_enc_rep_ok(&w, q->id, q->id_len, mpw_data(&r), mpw_len(&r));
        send_to(b, from->rid, from->rid_len, mpw_data(&w), mpw_len(&w));
        mpw_free(&r);
        mpw_free(&w);
}

/* The checks an operator's subscription passes: a session (checked with
 * authd through the cache, like a request), and the topic authorities of
 * every topic the prefix could match. 0 when it may subscribe; 1 when the
 * message is parked for a session check; -1 refused (answered). */
static int sub_operator_check(struct busd *b, struct peer *from, struct req *q, const char *prefix, const char *raw,
                              size_t raw_len)
{
        char th[65], missing[96];
        const char *rule = "";
        struct session *sess;

        struct ds_err e;

        if (bus_dec_tok(q->msg->sub_tok, &q->tok, &e) < 0) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, e.code, e.field, "%s", e.msg);
                return -1;
        }
        if (!q->tok) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EAUTH, NULL,
                          "login required to receive events (devctl login)");
                return -1;
        }
        tok_hash(q->tok, th);
        if (from->ss && strcmp(from->ss->th, th)) {
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -EINVAL, "tok",
                          "this connection already subscribes under another session");
                return -1;
        }
        sess = zhash_lookup(b->sessions, th);
        if (sess && sess->expires < ds_now_mono_ms()) {
                zhash_delete(b->sessions, th);
                sess = NULL;
        }
        if (!sess) {
                start_session_check(b, from, q, raw, raw_len, th);
                return 1;
        }
        if (bus_topic_sub_check(prefix, sess->bits, missing, sizeof missing, &rule) < 0) {
                log_audit("security", LOG_LVL_WARNING, sess->user,
                          "bus: user '%s' refused events under '%s': needs authority %s (%s)", sess->user, prefix,
                          missing, rule[0] ? rule : "every other topic");
                reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -EPERM, "prefix",
                          "user '%s' lacks authority %s for events under '%s' (%s)", sess->user, missing, prefix,
                          rule[0] ? rule : "every other topic");
                return -1;
        }
        if (!from->ss) {
                from->ss = calloc(1, sizeof *from->ss);
                if (from->ss)
                        from->ss->tok = strndup(q->tok->via.str.ptr, q->tok->via.str.size);
                if (!from->ss || !from->ss->tok) {
                        sub_sess_free(&from->ss);
                        reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EINTERNAL, NULL, "out of memory");
                        return -1;
                }
                memcpy(from->ss->th, th, sizeof from->ss->th);
        }
        snprintf(from->ss->user, sizeof from->ss->user, "%s", sess->user);
        snprintf(from->ss->sid, sizeof from->ss->sid, "%s", sess->sid);
        from->ss->bits = sess->bits;
        return 0;
}

/* sub / unsub {prefix, id?, tok?}. With an id busd answers with a rep.
 * Services subscribe by their ACL; operators (devctl) also need a session. */
static void handle_sub(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad,
                       const char *raw, size_t raw_len, bool add)
{
        char prefix[BUS_TOPIC_MAX + 1];
        struct req q = { .msg = m };
        struct mpw idw;
        ssize_t found = -1;

        mpw_init(&idw);
        if (m->id) {
                mpw_obj(&idw, m->id);
                q.id = mpw_data(&idw);
                q.id_len = mpw_len(&idw);
        }
        if (bad) {
                if (q.id)
                        reply_err(b, from->rid, from->rid_len, q.id, q.id_len, bad->code, bad->field, "%s", bad->msg);
                goto out;
        }
        snprintf(prefix, sizeof prefix, "%s", m->prefix);
        prefix_normalize(prefix);
        for (size_t i = 0; i < from->n_subs && found < 0; i++)
                if (!strcmp(from->subs[i], prefix))
                        found = (ssize_t)i;
        if (!add) {
                if (found >= 0) {
                        free(from->subs[found]);
                        from->subs[found] = from->subs[--from->n_subs];
                        if (!from->n_subs)
                                sub_sess_free(&from->ss);
                }
                if (q.id)
                        sub_reply_ok(b, from, &q, prefix);
                goto out;
        }
        if (!bus_acl_may_subscribe(b->acl, from->id, prefix)) {
                b->st.refused++;
                b->st.subs_refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: '%s' may not subscribe to '%s' (bus ACL)",
                          from->id, prefix);
                if (q.id)
                        reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, "prefix",
                                  "identity '%s' may not subscribe to '%s' (bus ACL)", from->id, prefix);
                goto out;
        }
        if (from->operator) {
                int r;

                if (!q.id) {
                        /* an older client: it cannot hear a rep, so say it with an unsub */
                        struct mpw w;

                        b->st.subs_refused++;
                        mpw_init(&w);
                        bus_enc_unsub_err(&w, prefix, -DS_EAUTH,
                                          "subscribing needs a session token and an id (devctl login)");
                        send_to(b, from->rid, from->rid_len, mpw_data(&w), mpw_len(&w));
                        mpw_free(&w);
                        goto out;
                }
                r = sub_operator_check(b, from, &q, prefix, raw, raw_len);
                if (r < 0) {
                        b->st.refused++;
                        b->st.subs_refused++;
                }
                if (r != 0)
                        goto out;
        }
        if (found < 0) {
                char *dup;

                if (from->n_subs >= BUS_MAX_SUBS || !(dup = strdup(prefix))) {
                        if (q.id)
                                reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EINVAL, "prefix",
                                          "too many subscriptions on this connection (limit %d)", BUS_MAX_SUBS);
                        goto out;
                }
                from->subs[from->n_subs++] = dup;
        }
        if (q.id)
                sub_reply_ok(b, from, &q, prefix);
out:
        mpw_free(&idw);
}

static void handle_message(struct busd *b, struct peer *from, const char *raw, size_t len)
{
        msgpack_unpacked u;
        const char *why;
        struct bus_msg m;
        struct ds_err e;
        struct mpw idw;
        int r;

        r = mp_decode(raw, len, &b->lim, &u, &why);
        if (r < 0) {
                b->st.malformed++;
                if (ds_now_mono_ms() - b->last_warn > 1000) {
                        log_warn("bus: malformed message from '%s': %s", from->id, why);
                        b->last_warn = ds_now_mono_ms();
                }
                {
                        const void *idp = NULL;
                        size_t idn = 0;
                        /* answer under the sender's id when one can be found */
                        mp_peek_id(raw, len, &idp, &idn);
                        reply_err(b, from->rid, from->rid_len, idp, idn, -EINVAL, NULL, "malformed message: %s", why);
                }
                return;
        }
        mpw_init(&idw);
        r = bus_msg_decode(&u.data, BUS_DEC_ROUTE, &m, &e);
        if (r < 0 && (m.kind == BUS_KIND_NONE || m.kind == BUS_KIND_REQ)) {
                /* no kind, another version, an unknown kind, a bad request:
                 * answered when it carries an id */
                if (!strcmp(e.field, "k") && m.kind == BUS_KIND_NONE && strcmp(e.msg, "unknown kind"))
                        b->st.malformed++;
                if (m.kind == BUS_KIND_REQ && m.id)
                        b->st.requests++;
                if (m.id)
                        mpw_obj(&idw, m.id);
                if (m.id || m.kind != BUS_KIND_NONE || strcmp(e.msg, "unknown kind"))
                        reply_err(b, from->rid, from->rid_len, mpw_len(&idw) ? mpw_data(&idw) : NULL, mpw_len(&idw),
                                  e.code, e.field, "%s", e.msg);
                goto out;
        }
        switch (m.kind) {
        case BUS_KIND_REQ:
                b->st.requests++;
                route_req(b, from, &m, raw, len, &idw);
                break;
        case BUS_KIND_REP:
                route_rep(b, from, &m);
                break;
        case BUS_KIND_PUB:
                if (r == 0)
                        handle_pub(b, from, &m);
                break;
        case BUS_KIND_HB:
                if (!from->svc && from->n_subs == 0)
                        send_simple(b, from, BUS_K_WHO); /* we restarted or dropped it: ask again */
                break;
        case BUS_KIND_HELLO:
                handle_hello(b, from, &m, r < 0 ? &e : NULL);
                break;
        case BUS_KIND_SUB:
        case BUS_KIND_UNSUB:
                handle_sub(b, from, &m, r < 0 ? &e : NULL, raw, len, m.kind == BUS_KIND_SUB);
                break;
        case BUS_KIND_ACK:
                if (r == 0)
                        handle_ack(b, from, &m);
                break;
        case BUS_KIND_WHO:
        case BUS_KIND_NONE:
                break;
        }
out:
        mpw_free(&idw);
        msgpack_unpacked_destroy(&u);
}

static void on_router(struct busd *b)
{
        for (int n = 0; n < 1024; n++) {
                zmq_msg_t rid, payload;
                struct peer *p;

                zmq_msg_init(&rid);
                if (zmq_msg_recv(&rid, b->router, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&rid);
                        return;
                }
                zmq_msg_init(&payload);
                if (!zmq_msg_more(&rid) || zmq_msg_recv(&payload, b->router, 0) < 0) {
                        zmq_msg_close(&rid);
                        zmq_msg_close(&payload);
                        continue;
                }
                /* extra frames are not part of the protocol: drain them */
                while (zmq_msg_more(&payload)) {
                        zmq_msg_t x;
                        zmq_msg_init(&x);
                        zmq_msg_recv(&x, b->router, 0);
                        int more = zmq_msg_more(&x);
                        zmq_msg_close(&x);
                        if (!more)
                                break;
                }
                p = peer_get(b, &rid, &payload);
                if (p) {
                        if ((size_t)zmq_msg_size(&payload) > b->lim.max_msg) {
                                const void *idp = NULL;
                                size_t idn = 0;
                                b->st.malformed++;
                                mp_peek_id(zmq_msg_data(&payload), zmq_msg_size(&payload), &idp, &idn);
                                reply_err(b, p->rid, p->rid_len, idp, idn, -EINVAL, NULL,
                                          "message too large (%zu bytes, limit %zu)", zmq_msg_size(&payload),
                                          b->lim.max_msg);
                        } else {
                                handle_message(b, p, zmq_msg_data(&payload), zmq_msg_size(&payload));
                        }
                }
                if (zlist_size(b->logq))
                        flush_log(b);
                /* requests may carry secrets: do not leave them in freed memory */
                sodium_memzero(zmq_msg_data(&payload), zmq_msg_size(&payload));
                zmq_msg_close(&rid);
                zmq_msg_close(&payload);
        }
}

static void on_monitor(struct busd *b)
{
        zmq_msg_t ev;

        zmq_msg_init(&ev);
        while (zmq_msg_recv(&ev, b->mon, ZMQ_DONTWAIT) >= 0) {
                if (zmq_msg_size(&ev) == 6) {
                        uint16_t e;
                        int32_t fd;
                        memcpy(&e, zmq_msg_data(&ev), 2);
                        memcpy(&fd, (char *)zmq_msg_data(&ev) + 2, 4);
                        if (e == ZMQ_EVENT_DISCONNECTED) {
                                zlist_t *keys = zhash_keys(b->peers);
                                for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                                        struct peer *p = zhash_lookup(b->peers, k);
                                        if (p && p->fd == fd)
                                                drop_peer(b, p, "connection closed");
                                }
                                zlist_destroy(&keys);
                        }
                }
                while (zmq_msg_more(&ev) && zmq_msg_recv(&ev, b->mon, ZMQ_DONTWAIT) >= 0)
                        ;
        }
        zmq_msg_close(&ev);
}

static void on_tick(struct busd *b)
{
        int64_t now = ds_now_mono_ms();
        zlist_t *keys;

        /* requests past their deadline get ETIMEDOUT, never silence */
        keys = zhash_keys(b->inflight);
        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct inflight *f = zhash_lookup(b->inflight, k);
                if (f && f->deadline <= now) {
                        b->st.timeouts++;
                        if (f->kind == IF_SUB_RECHECK)
                                recheck_failed(b, f, "did not answer in time");
                        else
                                reply_err(b, f->client_rid, f->client_rid_len, f->client_id, f->client_id_len,
                                          -ETIMEDOUT, NULL, "%s did not answer in time", f->svc);
                        zhash_delete(b->inflight, k);
                }
        }
        zlist_destroy(&keys);
}

static void on_heartbeat(struct busd *b)
{
        int64_t now = ds_now_mono_ms();
        zlist_t *keys = zhash_keys(b->peers);

        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct peer *p = zhash_lookup(b->peers, k);

                if (!p)
                        continue;
                if (p->svc || p->n_subs) {
                        if (now - p->last_rx > (int64_t)b->hb_ms * BUS_HB_MISSES) {
                                drop_peer(b, p, "missed three heartbeats");
                                continue;
                        }
                        send_simple(b, p, BUS_K_HB);
                } else if (now - p->last_rx > 60000) {
                        zhash_delete(b->peers, k); /* an idle client: forget it */
                }
        }
        zlist_destroy(&keys);
        keys = zhash_keys(b->sessions);
        for (char *k = zlist_first(keys); k; k = zlist_next(keys)) {
                struct session *s = zhash_lookup(b->sessions, k);
                if (s && s->expires < now)
                        zhash_delete(b->sessions, k);
        }
        zlist_destroy(&keys);
}

/* ---- start-up -------------------------------------------------------------- */

static int load_config(struct busd *b, const char *path, struct ds_settings *ret, struct ds_err *e)
{
        msgpack_unpacked u;
        const msgpack_object *layer[1] = { NULL };
        const char *why;
        struct mpw w;
        int r;

        mpw_init(&w);
        r = cfg_read_file(path, busd_settings, &w, e);
        if (r == -ENOENT) {
                r = 0;
        } else if (r == 0 && mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                layer[0] = &u.data;
        }
        if (r == 0)
                r = ds_settings_build(busd_settings, layer, 1, ret, e);
        if (layer[0])
                msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        (void)b;
        return r;
}

static int load_trust(struct busd *b, bus_acl_t **acl, bus_keys_t **keys, struct ds_err *e)
{
        char dir[4096];
        int r;

        r = bus_acl_load(b->paths.confdir, acl, e);
        if (r < 0)
                return r;
        snprintf(dir, sizeof dir, "%s/bus/keys", b->paths.confdir);
        r = bus_keys_load(dir, keys, e);
        if (r < 0)
                bus_acl_destroy(acl);
        return r;
}

static void usage(void)
{
        fprintf(stderr, "usage: busd [-f] [-n] [-c FILE] [--rundir DIR] [--confdir DIR] [--statedir DIR] [-v]\n");
}

int main(int argc, char **argv)
{
        struct busd B = { 0 }, *b = &B;
        const char *rundir = NULL, *confdir = NULL, *statedir = NULL, *conf = NULL;
        char path[4096], *ep;
        bool check = false;
        struct ds_err e;
        void *zctx;
        uint64_t wd_usec = 0;
        int64_t next_hb, next_tick, next_wd = INT64_MAX;
        int r = -ENOMEM;

        log_init("busd");
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char **dst = NULL;
                if (!strcmp(a, "-f"))
                        continue;
                if (!strcmp(a, "-n")) {
                        check = true;
                        continue;
                }
                if (!strcmp(a, "-v")) {
                        log_set_level(LOG_LVL_DEBUG);
                        continue;
                }
                if (!strcmp(a, "--version")) {
                        printf("busd %s\n", BUSD_VERSION);
                        return 0;
                }
                if (!strcmp(a, "-c"))
                        dst = &conf;
                else if (!strcmp(a, "--rundir"))
                        dst = &rundir;
                else if (!strcmp(a, "--confdir"))
                        dst = &confdir;
                else if (!strcmp(a, "--statedir"))
                        dst = &statedir;
                if (!dst || i + 1 >= argc) {
                        usage();
                        return 2;
                }
                *dst = argv[++i];
        }
        if (ds_paths_init(&b->paths, rundir, confdir, statedir) < 0)
                fatal("out of memory");
        if (!conf) {
                snprintf(path, sizeof path, "%s/busd.conf", b->paths.confdir);
                conf = path;
        }
        ds_err_clear(&e);
        if (load_config(b, conf, &b->cfg, &e) < 0)
                fatal("%s", e.msg);
        if (load_trust(b, &b->acl, &b->keys, &e) < 0)
                fatal("%s", e.msg);
        if (ds_methods_selftest(busd_methods, &e) < 0)
                fatal("method table: %s: %s", e.field, e.msg);
        if (check) {
                printf("%s: configuration OK (%zu keys)\n", conf, bus_keys_count(b->keys));
                bus_acl_destroy(&b->acl);
                bus_keys_destroy(&b->keys);
                ds_settings_free(&b->cfg);
                ds_paths_free(&b->paths);
                return 0;
        }
        b->lim = (struct mp_limits){ .max_msg = (size_t)ds_settings_int(&b->cfg, "max_msg"),
                                     .max_depth = (unsigned)ds_settings_int(&b->cfg, "max_depth"),
                                     .max_items = (uint32_t)ds_settings_int(&b->cfg, "max_items"),
                                     .max_str = (uint32_t)ds_settings_int(&b->cfg, "max_msg") };
        b->hb_ms = (int)ds_settings_int(&b->cfg, "hb_ms");
        b->sub_queue_max = (uint64_t)ds_settings_int(&b->cfg, "sub_queue_max");
        b->statedir = ds_paths_state(&b->paths, "busd");
        if (!b->statedir || (r = state_mkdir_p(b->statedir, 0700)) < 0)
                fatal("state directory: %s", strerror(-r));
        snprintf(path, sizeof path, "%s/bus/private/busd.key", b->paths.confdir);
        b->cert = zcert_load(path);
        if (!b->cert)
                fatal("busd key '%s' is missing or unreadable (devsec-keygen creates it)", path);

        b->sigfd = ds_signalfd_open();
        if (b->sigfd < 0)
                fatal("signals: %s", strerror(-b->sigfd));
        zsys_handler_set(NULL);

        zctx = zmq_ctx_new();
        if (!zctx)
                fatal("zmq context: %m");
        /* the ZAP handler must be bound before any CURVE socket binds */
        b->zap = zmq_socket(zctx, ZMQ_REP);
        if (!b->zap || zmq_bind(b->zap, "inproc://zeromq.zap.01") < 0)
                fatal("ZAP handler: %s", zmq_strerror(zmq_errno()));
        b->router = zmq_socket(zctx, ZMQ_ROUTER);
        {
                int one = 1, hwm = 100000, zero = 0;
                int64_t maxmsg = BUS_TRANSPORT_MAX;

                zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
                zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
                zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
                zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
                zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
                zmq_setsockopt(b->router, ZMQ_CURVE_SERVER, &one, sizeof one);
                zmq_setsockopt(b->router, ZMQ_CURVE_SECRETKEY, zcert_secret_key(b->cert), 32);
                zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, "devsec", 6);
        }
        if (zmq_socket_monitor(b->router, "inproc://busd-monitor", ZMQ_EVENT_DISCONNECTED) < 0)
                fatal("socket monitor: %s", zmq_strerror(zmq_errno()));
        b->mon = zmq_socket(zctx, ZMQ_PAIR);
        if (!b->mon || zmq_connect(b->mon, "inproc://busd-monitor") < 0)
                fatal("socket monitor: %s", zmq_strerror(zmq_errno()));
        r = state_mkdir_p(b->paths.rundir, 0755);
        if (r < 0)
                fatal("runtime directory '%s': %s", b->paths.rundir, strerror(-r));
        ep = ds_paths_bus_endpoint(&b->paths);
        if (!ep)
                fatal("out of memory");
        if (!strncmp(ep, "ipc://", 6))
                unlink(ep + 6); /* a stale socket of an earlier run */
        {
                /* group members (the devsec group) may connect; CURVE still decides */
                mode_t old = umask(0007);
                r = zmq_bind(b->router, ep);
                umask(old);
        }
        if (r < 0)
                fatal("bind '%s': %s", ep, zmq_strerror(zmq_errno()));
        {
                const msgpack_object *eps = ds_settings_get(&b->cfg, "endpoints");
                for (uint32_t i = 0; eps && eps->type == MSGPACK_OBJECT_ARRAY && i < eps->via.array.size; i++) {
                        char x[300];
                        if (mp_strcpy(&eps->via.array.ptr[i], x, sizeof x) == 0 && zmq_bind(b->router, x) < 0)
                                fatal("bind '%s': %s", x, zmq_strerror(zmq_errno()));
                        log_info("also listening on '%s'", x);
                }
        }
        b->peers = zhash_new();
        b->services = zhash_new();
        b->inflight = zhash_new();
        b->sessions = zhash_new();
        b->disabled = zhash_new();
        b->next_bid = 1;
        load_disabled(b);
        b->logq = zlist_new();
        if (!b->logq)
                fatal("out of memory");
        log_set_sink(busd_log_sink, b);
        b->started_ms = ds_now_mono_ms();
        next_hb = b->started_ms + b->hb_ms;
        next_tick = b->started_ms + 100;
        if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
                next_wd = b->started_ms;
        sd_notifyf(0, "READY=1\nSTATUS=routing on %s (%zu keys)\nMAINPID=%d", ep, bus_keys_count(b->keys),
                   (int)getpid());
        log_info("busd %s ready on '%s' (%zu keys)", BUSD_VERSION, ep, bus_keys_count(b->keys));

        for (;;) {
                zmq_pollitem_t items[4] = {
                        { b->router, 0, ZMQ_POLLIN, 0 },
                        { b->zap, 0, ZMQ_POLLIN, 0 },
                        { b->mon, 0, ZMQ_POLLIN, 0 },
                        { NULL, b->sigfd, ZMQ_POLLIN, 0 },
                };
                int64_t now = ds_now_mono_ms(), wake = next_hb < next_tick ? next_hb : next_tick;

                if (next_wd < wake)
                        wake = next_wd;
                if (zmq_poll(items, 4, wake > now ? (long)(wake - now) : 0) < 0 && errno != EINTR)
                        break;
                if (items[1].revents & ZMQ_POLLIN)
                        while (bus_zap_handle(b->zap, b->keys) >= 0)
                                ;
                if (items[0].revents & ZMQ_POLLIN)
                        on_router(b);
                if (items[2].revents & ZMQ_POLLIN)
                        on_monitor(b);
                if (items[3].revents & ZMQ_POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(b->sigfd, &si, sizeof si) == sizeof si) {
                                if (si.ssi_signo != SIGHUP)
                                        break;
                                bus_acl_t *acl = NULL;
                                bus_keys_t *keys = NULL;
                                ds_err_clear(&e);
                                sd_notify(0, "RELOADING=1");
                                if (load_trust(b, &acl, &keys, &e) < 0) {
                                        log_err("reload refused, keeping the running ACL and keys: %s", e.msg);
                                } else {
                                        bus_acl_destroy(&b->acl);
                                        bus_keys_destroy(&b->keys);
                                        b->acl = acl;
                                        b->keys = keys;
                                        on_monitor(b); /* forget closed connections first */
                                        drop_untrusted_peers(b);
                                        for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers)) {
                                                p->operator = bus_acl_operator(b->acl, p->id);
                                                p->gateway = bus_acl_gateway(b->acl, p->id);
                                        }
                                        log_notice("ACL and keys reloaded (%zu keys)", bus_keys_count(b->keys));
                                }
                                sd_notify(0, "READY=1");
                        }
                }
                flush_log(b);
                now = ds_now_mono_ms();
                if (now >= next_tick) {
                        on_tick(b);
                        next_tick = now + 100;
                }
                if (now >= next_hb) {
                        on_heartbeat(b);
                        next_hb = now + b->hb_ms;
                }
                if (now >= next_wd) {
                        sd_notify(0, "WATCHDOG=1");
                        next_wd = now + (int64_t)(wd_usec / 2000);
                }
        }
        sd_notify(0, "STOPPING=1");
        log_info("stopping");
        log_set_sink(NULL, NULL);
        flush_log(b);
        zlist_destroy(&b->logq);
        zhash_destroy(&b->inflight);
        zhash_destroy(&b->sessions);
        zhash_destroy(&b->services);
        zhash_destroy(&b->peers);
        zhash_destroy(&b->disabled);
        zmq_socket_monitor(b->router, NULL, 0);
        zmq_close(b->mon);
        zmq_close(b->router);
        zmq_close(b->zap);
        zmq_ctx_term(zctx);
        if (!strncmp(ep, "ipc://", 6))
                unlink(ep + 6);
        free(ep);
        zcert_destroy(&b->cert);
        bus_acl_destroy(&b->acl);
        bus_keys_destroy(&b->keys);
        ds_settings_free(&b->cfg);
        free(b->statedir);
        close(b->sigfd);
        ds_paths_free(&b->paths);
        return 0;
}
