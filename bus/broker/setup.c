/* setup.c - busd's start-up: settings, trust (ACL and keys), sockets; and
 * its own log records on the bus */
#include <systemd/sd-daemon.h>

#include "broker.h"

const struct ds_field busd_settings[] = {
        {"endpoints", DS_ARRAY, 0, .max_len = 8, .sub = &(const struct ds_field){"", DS_STR, .max_len = 256},
         .help = "extra endpoints to bind (tcp:// for multi-host); the ipc socket is always bound"},
        {"hb_ms", DS_INT, 0, .min = 100, .max = 60000, .def_int = BUS_HB_MS},
        {"max_msg", DS_INT, 0, .min = 1024, .max = BUS_TRANSPORT_MAX, .def_int = 1 << 20},
        {"max_depth", DS_INT, 0, .min = 2, .max = 32, .def_int = 16},
        {"max_items", DS_INT, 0, .min = 16, .max = 1000000, .def_int = 10000},
        {"session_cache_ms", DS_INT, 0, .min = 0, .max = 600000, .def_int = 5000},
        {"default_timeout_ms", DS_INT, 0, .min = 10, .max = BUS_MAX_TIMEOUT_MS, .def_int = BUS_DEFAULT_TIMEOUT_MS},
        {"sub_queue_max", DS_INT, 0, .min = 1, .max = 100000, .def_int = BUS_SUB_QUEUE_DEFAULT,
         .help = "events sent to one operator subscriber and not yet acknowledged; more are dropped"},
        {NULL},
};

/* busd's own log and audit records (ACL refusals, unknown keys, forged
 * hellos) go out as log.<category> events from "busd", as every service's
 * do, so logd stores them. busd is the bus: it fans them out itself, once
 * the message being handled is done (a record may be written while the peer
 * table is being walked). */

int busd_load_config(const char *path, struct ds_settings *ret, struct ds_err *e)
{
        msgpack_unpacked u;
        const msgpack_object *layer[1] = {NULL};
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
        return r;
}

int busd_load_trust(struct busd *b, bus_acl_t **acl, bus_keys_t **keys, struct ds_err *e)
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

struct logrec {
        char topic[BUS_TOPIC_MAX + 1];
        int64_t ts;
        struct mpw dw;
};

#define BUSD_LOGQ_MAX 256

void busd_log_sink(void *ud, int level, const char *category, const char *user, const char *msg)
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

void busd_flush_log(struct busd *b)
{
        struct logrec *lr;

        while (b->logq && (lr = zlist_pop(b->logq))) {
                pubsub_fanout(b, "busd", lr->topic, lr->ts, &lr->dw);
                mpw_free(&lr->dw);
                free(lr);
        }
}

/* Everything after the settings and trust are loaded: state dir, key,
 * sockets (ZAP first, then the ROUTER with its monitor), binds, tables.
 * Fails with fatal(): only before READY. */
void busd_start(struct busd *b)
{
        char path[4096], *ep;
        void *zctx;
        int r = 0;

        b->lim = (struct mp_limits){.max_msg = (size_t)ds_settings_int(&b->cfg, "max_msg"),
                                    .max_depth = (unsigned)ds_settings_int(&b->cfg, "max_depth"),
                                    .max_items = (uint32_t)ds_settings_int(&b->cfg, "max_items"),
                                    .max_str = (uint32_t)ds_settings_int(&b->cfg, "max_msg")};
        b->hb_ms = (int)ds_settings_int(&b->cfg, "hb_ms");
        if (!msgpack_zone_init(&b->zone, MSGPACK_ZONE_CHUNK_SIZE))
                fatal("out of memory");
        mpw_init(&b->out);
        b->sub_queue_max = (uint64_t)ds_settings_int(&b->cfg, "sub_queue_max");
        b->statedir = ds_paths_state(&b->paths, "busd");
        if (!b->statedir || (r = state_mkdir_p(b->statedir, 0700)) < 0)
                fatal("state directory: %s", strerror(-r));
        snprintf(path, sizeof path, "%s/bus/private/busd.key", b->paths.confdir);
        b->cert = zcert_load(path);
        if (!b->cert)
                fatal("busd key '%s' is missing or unreadable (devsec-keygen creates it)", path);

        b->zctx = zctx = zmq_ctx_new();
        if (!zctx)
                fatal("zmq context: %m");
        /* the ZAP handler must be bound before any CURVE socket binds */
        b->zap = zmq_socket(zctx, ZMQ_REP);
        if (!b->zap || zmq_bind(b->zap, "inproc://zeromq.zap.01") < 0)
                fatal("ZAP handler: %s", zmq_strerror(zmq_errno()));
        b->router = zmq_socket(zctx, ZMQ_ROUTER);
        {
                /* inbound, a peer that sends faster than busd reads waits in its
                 * own queue: busd holds at most rcvhwm of its messages */
                int one = 1, hwm = 100000, rcvhwm = 100, zero = 0;
                int64_t maxmsg = BUS_TRANSPORT_MAX;

                zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
                zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
                zmq_setsockopt(b->router, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
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
        b->ep = ep = ds_paths_bus_endpoint(&b->paths);
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
        if (inflight_init(b) < 0)
                fatal("out of memory");
        b->sessions = zhash_new();
        b->disabled = zhash_new();
        b->next_bid = 1;
        methods_load_disabled(b);
        b->logq = zlist_new();
        if (!b->logq)
                fatal("out of memory");
        log_set_sink(busd_log_sink, b);
}

void busd_stop(struct busd *b)
{
        log_set_sink(NULL, NULL);
        busd_flush_log(b);
        zlist_destroy(&b->logq);
        inflight_destroy(b);
        zhash_destroy(&b->sessions);
        zhash_destroy(&b->services);
        zhash_destroy(&b->peers);
        zhash_destroy(&b->disabled);
        msgpack_zone_destroy(&b->zone);
        mpw_wipe(&b->out);
        pubsub_free(b);
        zmq_socket_monitor(b->router, NULL, 0);
        zmq_close(b->mon);
        zmq_close(b->router);
        zmq_close(b->zap);
        zmq_ctx_term(b->zctx);
        if (b->ep && !strncmp(b->ep, "ipc://", 6))
                unlink(b->ep + 6);
        free(b->ep);
        zcert_destroy(&b->cert);
        bus_acl_destroy(&b->acl);
        bus_keys_destroy(&b->keys);
        ds_settings_free(&b->cfg);
        free(b->statedir);
        ds_paths_free(&b->paths);
}
