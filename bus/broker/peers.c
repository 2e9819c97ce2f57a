/* peers.c - peers and services: who is connected (CURVE identity, key, socket),
 * hello (one service name per connection), heartbeats, the disconnect monitor */
#include "broker.h"

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

void peers_send_kind(struct busd *b, struct peer *p, const char *kind)
{
        struct mpw w;

        mpw_init(&w);
        bus_enc_simple(&w, kind);
        wire_send(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}

/* bus.service.up / bus.service.down: busd's word on a service's presence,
 * for the alarm rules (smtp-notifier) and operators (devctl listen bus.) */
static void service_event(struct busd *b, const char *topic, const struct service *s, const char *why)
{
        struct mpw dw;

        mpw_init(&dw);
        mpw_map_begin(&dw);
        mpw_kv_str(&dw, "service", s->name);
        mpw_kv_str(&dw, "version", s->version);
        mpw_kv_int(&dw, "pid", s->pid);
        if (s->peer)
                mpw_kv_str(&dw, "identity", s->peer->id);
        if (why)
                mpw_kv_str(&dw, "reason", why);
        mpw_map_end(&dw);
        pubsub_fanout(b, "busd", topic, ds_now_real_ms(), &dw);
        mpw_free(&dw);
}

static void drop_service(struct busd *b, struct service *s, const char *why, bool quiet)
{
        char name[BUS_NAME_MAX + 1];

        snprintf(name, sizeof name, "%s", s->name);
        log_notice("service '%s' (pid %d) dropped: %s", name, s->pid, why);
        if (!quiet)
                service_event(b, "bus.service.down", s, why);
        if (s->peer)
                s->peer->svc = NULL;
        zhash_delete(b->services, name);
        unanswered_fail_of(b, name, "went away");
}

static size_t pcache_slot(const uint8_t *rid, size_t n)
{
        uint32_t h = 2166136261u; /* FNV-1a */

        for (size_t i = 0; i < n; i++)
                h = (h ^ rid[i]) * 16777619u;
        return h % (sizeof((struct busd *)0)->pcache / sizeof(struct peer *));
}

/* Every peer leaves through here, so that the cache never holds a freed one. */
static void forget_peer(struct busd *b, struct peer *p)
{
        size_t i = pcache_slot(p->rid, p->rid_len);

        if (b->pcache[i] == p)
                b->pcache[i] = NULL;
        zhash_delete(b->peers, p->key);
}

static void drop_peer(struct busd *b, struct peer *p, const char *why)
{
        if (p->svc)
                drop_service(b, p->svc, why, false);
        forget_peer(b, p);
}

struct peer *peer_get(struct busd *b, zmq_msg_t *ridm, zmq_msg_t *payload)
{
        const uint8_t *rid = zmq_msg_data(ridm);
        size_t n = zmq_msg_size(ridm), slot;
        char key[2 * RID_MAX + 1];
        struct peer *p;
        const char *uid;
        struct stat st;
        int fd;

        if (n == 0 || n > RID_MAX)
                return NULL;
        slot = pcache_slot(rid, n);
        p = b->pcache[slot];
        if (p && p->rid_len == n && !memcmp(p->rid, rid, n))
                goto found;
        ds_hex(rid, n, key);
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
                p->operator= bus_acl_operator(b->acl, p->id);
                p->gateway = bus_acl_gateway(b->acl, p->id);
                crypto_shorthash_keygen(p->ack_key);
                zhash_insert(b->peers, key, p);
                zhash_freefn(b->peers, key, peer_free);
        }
        b->pcache[slot] = p;
found:
        fd = zmq_msg_get(payload, ZMQ_SRCFD);
        if (fd != p->fd || !p->fd_ino) {
                p->fd = fd;
                p->fd_ino = fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
        }
        p->last_rx = ds_now_mono_ms();
        return p;
}

/* After a reload: a peer whose key left the key directory, or now carries
 * another name (rotated or reassigned), loses its connection. ZeroMQ has no
 * call to close one ROUTER peer, so busd shuts the connection's socket down
 * (after checking by inode that the descriptor is still that connection);
 * the I/O thread then closes it and the client must handshake again. */
void peers_drop_untrusted(struct busd *b)
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

void peers_hello(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad)
{
        const char *name = m->name;
        const msgpack_object *ms = m->methods;
        struct service *s, *old;
        bool quiet;
        struct inflight *redo = NULL;

        if (bad && !strcmp(bad->field, "id")) { /* refused before its fields were read: under a nil id */
                wire_reply_err(b, from->rid, from->rid_len, NULL, 0, bad->code, "id", "%s", bad->msg);
                return;
        }
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
                wire_reply_err(b, from->rid, from->rid_len, id ? mpw_data(&idw) : NULL, mpw_len(&idw), -EINVAL, "name",
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
        /* the same process saying hello again on its connection is no news */
        quiet = old && old->peer == from && old->pid == s->pid;
        /* the session checks an old authd holds are asked again of this one */
        if (old && !strcmp(name, "authd"))
                redo = inflight_take_checks(b, name);
        if (old) {
                if (old->peer == from) {
                        old->peer->svc = NULL;
                } else {
                        log_notice("service '%s' re-registered (pid %d -> %d)", name, old->pid, s->pid);
                }
                s->peer = from;
                drop_service(b, old, old->pid != s->pid ? "restarted: replaced by a new registration"
                                                         : "replaced by a new registration", quiet);
        }
        s->peer = from;
        from->svc = s;
        zhash_insert(b->services, name, s);
        zhash_freefn(b->services, name, service_free);
        log_info("service '%s' %s registered (pid %d, identity '%s', %zu methods)", name, s->version, s->pid, from->id,
                 zhash_size(s->methods));
        if (!quiet)
                service_event(b, "bus.service.up", s, NULL);
        /* a new authd may not know the sessions subscribers hold */
        if (redo)
                session_redo_checks(b, redo);
        if (!strcmp(name, "authd"))
                for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers))
                        if (p->ss)
                                pubsub_recheck(b, p);
}

void peers_on_monitor(struct busd *b)
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

void peers_on_heartbeat(struct busd *b)
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
                        peers_send_kind(b, p, BUS_K_HB);
                } else if (now - p->last_rx > 60000) {
                        forget_peer(b, p); /* an idle client */
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
