/* route.c - receiving: each message from the router decoded and handed to
 * the part its kind is for; requests: ACL, authority and routing to a
 * service; replies back to the caller */
#include "broker.h"

/* After a send from the kept writer (mpw_reuse): zeroed, since it may hold
 * secrets, and given back when one large message grew it beyond this. */
#define OUT_KEEP_MAX (64 << 10)

static void forward(struct busd *b, struct peer *from, struct req *q, struct service *s, const struct session *sess,
                    bool as_service)
{
        struct bus_stamp stamp;
        struct inflight *f;
        struct mpw *w = &b->out;
        int r;

        f = inflight_new(b, from, q, IF_FORWARD, s->name, q->timeout);
        if (!f) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EINTERNAL, NULL, "out of memory");
                return;
        }
        /* the stamp: built here from authentication, never copied from the body */
        stamp = (struct bus_stamp){.id = from->id, .svc = as_service, .gw = from->gateway};
        if (sess) {
                stamp.user = sess->user;
                stamp.group = sess->group;
                stamp.sid = sess->sid;
                stamp.src = sess->source;
                stamp.authz = sess->authz;
                stamp.authz_len = sess->authz_len;
        }
        mpw_reset(w);
        /* the arguments as they came when the decoder kept their bytes */
        bus_enc_req(w, &(struct bus_req_out){.id = f->bid,
                                             .m = q->method,
                                             .t = q->timeout,
                                             .args_obj = q->msg->a_raw ? NULL : q->a,
                                             .args = q->msg->a_raw,
                                             .args_len = q->msg->a_raw_len,
                                             .c = &stamp});
        r = wire_send(b, s->peer->rid, s->peer->rid_len, mpw_data(w), mpw_len(w));
        mpw_reuse(w, OUT_KEEP_MAX, true);
        if (r < 0) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, r == -EAGAIN ? -EBUSY : -DS_EUNAVAIL,
                               NULL, "%s cannot take requests now", s->name);
                inflight_release(b, f);
                return;
        }
        inflight_track(b, f);
}

/* Routes a decoded request. raw is the original message (for parking). */
void route_req(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len,
               struct mpw *idw)
{
        struct req q = {.msg = m, .a = m->a, .to = m->to, .method = m->m, .tok = m->tok};
        struct service *s;
        const char *auth;
        int64_t t;

        if (m->id_raw) {
                q.id = m->id_raw;
                q.id_len = m->id_raw_len;
        } else {
                mpw_obj(idw, m->id);
                q.id = mpw_data(idw);
                q.id_len = mpw_len(idw);
        }
        t = m->has_t ? m->t : ds_settings_int(&b->cfg, "default_timeout_ms");
        q.timeout = t < 10 ? 10 : t > BUS_MAX_TIMEOUT_MS ? BUS_MAX_TIMEOUT_MS : t;
        {
                size_t tl = strnlen(q.to, BUS_NAME_MAX), ml = strnlen(q.method, BUS_METHOD_MAX);

                memcpy(q.target, q.to, tl);
                q.target[tl] = '.';
                memcpy(q.target + tl + 1, q.method, ml);
                q.target[tl + 1 + ml] = '\0';
        }

        if (!bus_acl_may_call(b->acl, from->id, q.target)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: '%s' may not call %s (bus ACL)",
                          from->id[0] ? from->id : "?", q.target);
                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                               "identity '%s' may not call %s", from->id, q.target);
                return;
        }
        if (!strcmp(q.to, BUS_SERVICE_SELF)) {
                methods_handle(b, from, &q);
                return;
        }
        if (zhash_lookup(b->disabled, q.to)) {
                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EDISABLED, NULL,
                               "%s is disabled on this device", q.to);
                return;
        }
        s = zhash_lookup(b->services, q.to);
        if (!s) {
                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EUNAVAIL, NULL, "%s is not running",
                               q.to);
                return;
        }
        auth = zhash_lookup(s->methods, q.method);
        if (!auth) {
                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -ENOENT, "m", "%s has no method '%s'", q.to,
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
                        wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                                       "%s is for daemons only", q.target);
                        return;
                }
                forward(b, from, &q, s, NULL, true);
                return;
        }
        if (!q.tok) {
                if (from->operator) {
                        wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EAUTH, NULL,
                                       "login required for %s (devctl login)", q.target);
                        return;
                }
                forward(b, from, &q, s, NULL, true);
                return;
        }
        {
                char th[65];
                struct session *sess;

                session_tok_hash(q.tok, th);
                sess = zhash_lookup(b->sessions, th);
                if (sess && sess->expires < ds_now_mono_ms()) {
                        zhash_delete(b->sessions, th);
                        sess = NULL;
                }
                if (!sess) {
                        session_start_check(b, from, &q, raw, raw_len, th);
                        return;
                }
                uint32_t need = 0;
                if (strcmp(auth, AUTH_SESSION) &&
                    (ds_authz_mask(auth, &need) < 0 || !need || (sess->bits & need) != need)) {
                        b->st.refused++;
                        log_audit("security", LOG_LVL_WARNING, sess->user,
                                  "bus: user '%s' refused %s: needs authority '%s'", sess->user, q.target, auth);
                        wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, NULL,
                                       "user '%s' lacks authority '%s' for %s", sess->user, auth, q.target);
                        return;
                }
                forward(b, from, &q, s, sess, false);
        }
}

void route_rep(struct busd *b, struct peer *from, const struct bus_msg *m)
{
        int64_t bid = m->nid;
        struct inflight *f;
        struct mpw *w = &b->out;

        if (bid < 0)
                return;
        f = inflight_take(b, (uint64_t)bid);
        if (f && (!from->svc || strcmp(from->svc->name, f->svc))) {
                inflight_track(b, f); /* not the service it was sent to: not its answer */
                f = NULL;
        }
        if (!f) {
                log_debug("bus: stray reply %lld from '%s'", (long long)bid, from->id);
                return;
        }
        if (f->kind == IF_SESSION_CHECK) {
                session_checked(b, f, m);
                inflight_release(b, f);
                return;
        }
        if (f->kind == IF_SUB_RECHECK) {
                pubsub_rechecked(b, f, m);
                inflight_release(b, f);
                return;
        }
        b->st.replies++;
        mpw_reset(w);
        if ((m->r && !m->r_raw) || (m->err && !m->err_raw))
                bus_enc_rep_relay(w, f->client_id, f->client_id_len, m->ok, m->r, m->err);
        else
                bus_enc_rep_relay_raw(w, f->client_id, f->client_id_len, m->ok, m->r_raw, m->r_raw_len, m->err_raw,
                                      m->err_raw_len);
        wire_send(b, f->client_rid, f->client_rid_len, mpw_data(w), mpw_len(w));
        mpw_reuse(w, OUT_KEEP_MAX, true);
        inflight_release(b, f);
}

void route_message(struct busd *b, struct peer *from, const char *raw, size_t len)
{
        msgpack_zone own, *z = &b->zone;
        msgpack_object obj;
        bool outer = !b->zone_busy;
        const char *why;
        struct mp_span spans[16];
        struct bus_msg m;
        struct ds_err e;
        struct mpw idw;
        int r;

        if (!outer) {
                z = &own;
                if (!msgpack_zone_init(z, MSGPACK_ZONE_CHUNK_SIZE))
                        return;
        }
        r = mp_decode_spans(raw, len, &b->lim, z, &obj, spans, sizeof spans / sizeof spans[0], &why);
        if (r < 0) {
                b->st.malformed++;
                if (ds_now_mono_ms() - b->last_warn > 1000) {
                        log_warn("bus: malformed message from '%s': %s", from->id, why);
                        b->last_warn = ds_now_mono_ms();
                }
                {
                        const void *idp = NULL;
                        size_t idn = 0;
                        /* answer under the sender's id when one can be found
                         * and is one an answer may carry (never a refused one) */
                        if (mp_peek_id(raw, len, &idp, &idn) < 0 || !bus_id_bytes_ok(idp, idn))
                                idp = NULL, idn = 0;
                        wire_reply_err(b, from->rid, from->rid_len, idp, idn, -EINVAL, NULL, "malformed message: %s",
                                       why);
                }
                goto done;
        }
        b->zone_busy = true;
        mpw_init(&idw);
        r = bus_msg_decode_raw(&obj, raw, spans, sizeof spans / sizeof spans[0], BUS_DEC_ROUTE, &m, &e);
        if (r < 0 && !strcmp(e.field, "id")) {
                b->st.malformed++; /* any kind: answered (nil id) below where its kind is */
                if (ds_now_mono_ms() - b->last_warn > 1000) {
                        log_warn("bus: message from '%s' refused: id %s", from->id, e.msg);
                        b->last_warn = ds_now_mono_ms();
                }
        }
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
                        wire_reply_err(b, from->rid, from->rid_len, mpw_len(&idw) ? mpw_data(&idw) : NULL,
                                       mpw_len(&idw), e.code, e.field, "%s", e.msg);
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
                        pubsub_publish(b, from, &m, raw, len);
                break;
        case BUS_KIND_HB:
                if (!from->svc && from->n_subs == 0)
                        peers_send_kind(b, from, BUS_K_WHO); /* we restarted or dropped it: ask again */
                break;
        case BUS_KIND_HELLO:
                peers_hello(b, from, &m, r < 0 ? &e : NULL);
                break;
        case BUS_KIND_SUB:
        case BUS_KIND_UNSUB:
                pubsub_sub(b, from, &m, r < 0 ? &e : NULL, raw, len, m.kind == BUS_KIND_SUB);
                break;
        case BUS_KIND_ACK:
                if (r == 0)
                        pubsub_ack(b, from, &m);
                break;
        case BUS_KIND_WHO:
        case BUS_KIND_NONE:
                break;
        }
out:
        mpw_free(&idw);
        b->zone_busy = !outer;
done:
        if (outer)
                msgpack_zone_clear(z); /* keeps its first chunk only: bounded */
        else
                msgpack_zone_destroy(z);
}

int route_on_router(struct busd *b)
{
        for (int n = 0; n < 1024; n++) {
                zmq_msg_t rid, payload;
                struct peer *p;

                zmq_msg_init(&rid);
                if (zmq_msg_recv(&rid, b->router, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&rid);
                        return 0;
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
                                if (mp_peek_id(zmq_msg_data(&payload), zmq_msg_size(&payload), &idp, &idn) < 0 ||
                                    !bus_id_bytes_ok(idp, idn))
                                        idp = NULL, idn = 0;
                                wire_reply_err(b, p->rid, p->rid_len, idp, idn, -EINVAL, NULL,
                                               "message too large (%zu bytes, limit %zu)", zmq_msg_size(&payload),
                                               b->lim.max_msg);
                        } else {
                                route_message(b, p, zmq_msg_data(&payload), zmq_msg_size(&payload));
                        }
                }
                if (zlist_size(b->logq))
                        busd_flush_log(b);
                /* requests may carry secrets: do not leave them in freed memory */
                sodium_memzero(zmq_msg_data(&payload), zmq_msg_size(&payload));
                zmq_msg_close(&rid);
                zmq_msg_close(&payload);
        }
        return 1; /* more may be waiting */
}
