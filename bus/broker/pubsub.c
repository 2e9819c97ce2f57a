/* pubsub.c - events: publish ACL, fan-out by prefix, operator subscriptions
 * under a session (topic authorities, credit, acks), their end */
#include "broker.h"

void sub_sess_free(struct sub_sess **pss)
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

void pubsub_end(struct busd *b, struct peer *p, const char *prefix, int code, const char *fmt, ...)
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
                wire_send(b, p->rid, p->rid_len, mpw_data(&w), mpw_len(&w));
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

void pubsub_recheck_failed(struct busd *b, struct inflight *f, const char *why)
{
        struct peer *p = zhash_lookup(b->peers, f->client_key);

        if (p && p->ss && !strcmp(p->ss->th, f->session_tok_hash))
                pubsub_end(b, p, NULL, -DS_EUNAVAIL, "the session could not be checked again: authd %s", why);
}

/* Checks an operator subscriber's session again (its authorities may have
 * changed); nothing is delivered to it until authd answers. */
void pubsub_recheck(struct busd *b, struct peer *p)
{
        struct service *authd = zhash_lookup(b->services, "authd");
        struct inflight *f;

        if (!p->ss || p->ss->checking)
                return;
        if (!authd || zhash_lookup(b->disabled, "authd")) {
                pubsub_end(b, p, NULL, -DS_EUNAVAIL, "authd is not running: the session cannot be checked again");
                return;
        }
        f = calloc(1, sizeof *f);
        if (!f) {
                pubsub_end(b, p, NULL, -DS_EINTERNAL, "out of memory");
                return;
        }
        f->bid = b->next_bid++;
        f->kind = IF_SUB_RECHECK;
        memcpy(f->client_key, p->key, sizeof f->client_key);
        snprintf(f->svc, sizeof f->svc, "authd");
        f->deadline = ds_now_mono_ms() + SESSION_CHECK_TIMEOUT_MS;
        memcpy(f->session_tok_hash, p->ss->th, sizeof f->session_tok_hash);
        p->ss->checking = true;
        session_send_check(b, authd, f->bid, p->ss->tok, strlen(p->ss->tok));
        inflight_track(b, f);
}

/* authd's answer to a subscriber's re-check: the subscriptions its session no
 * longer covers end, all of them when the session is gone. */
void pubsub_rechecked(struct busd *b, struct inflight *f, const struct bus_msg *m)
{
        struct peer *p = zhash_lookup(b->peers, f->client_key);
        struct session *s;
        uint32_t bits;

        if (!p || !p->ss || strcmp(p->ss->th, f->session_tok_hash))
                return;
        p->ss->checking = false;
        if (!m->ok) {
                char msg[256] = "session not valid";
                mp_strcpy(mp_get(m->err, "msg"), msg, sizeof msg);
                pubsub_end(b, p, NULL, -DS_EAUTH, "the session of '%s' ended: %s", p->ss->user, msg);
                return;
        }
        s = session_from_answer(b, m->r);
        if (!s) {
                pubsub_end(b, p, NULL, -DS_EINTERNAL, "authd gave an unusable session answer");
                return;
        }
        bits = p->ss->bits = s->bits;
        snprintf(p->ss->sid, sizeof p->ss->sid, "%s", s->sid);
        session_cache(b, f->session_tok_hash, s);
        for (size_t i = 0; p->ss && i < p->n_subs;) {
                char missing[96], prefix[BUS_TOPIC_MAX + 1];
                const char *rule = "";

                if (bus_topic_sub_check(p->subs[i], bits, missing, sizeof missing, &rule) == 0) {
                        i++;
                        continue;
                }
                snprintf(prefix, sizeof prefix, "%s", p->subs[i]);
                pubsub_end(b, p, prefix, -EPERM, "user '%s' no longer holds authority %s for events under '%s' (%s)",
                           p->ss->user, missing, prefix, rule[0] ? rule : "every other topic");
        }
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

/* A writer kept between events (a large event's buffer is let go) */
#define EVENT_KEEP_MAX (256 << 10)
void pubsub_free(struct busd *b)
{
        free(b->subscribers);
        b->subscribers = NULL;
        b->n_subscribers = b->subscribers_cap = 0;
        mpw_free(&b->pub_out);
        mpw_free(&b->pub_op);
        for (size_t i = 0; i < sizeof b->batch_out / sizeof b->batch_out[0]; i++)
                mpw_free(&b->batch_out[i].w);
}

/* Remembers that p subscribes (once). */
static int subscriber_add(struct busd *b, const struct peer *p)
{
        for (size_t i = 0; i < b->n_subscribers; i++)
                if (!strcmp(b->subscribers[i], p->key))
                        return 0;
        if (b->n_subscribers == b->subscribers_cap) {
                size_t cap = b->subscribers_cap ? 2 * b->subscribers_cap : 16;
                char(*n)[2 * RID_MAX + 1] = realloc(b->subscribers, cap * sizeof *n);

                if (!n)
                        return -ENOMEM;
                b->subscribers = n;
                b->subscribers_cap = cap;
        }
        snprintf(b->subscribers[b->n_subscribers++], sizeof b->subscribers[0], "%s", p->key);
        return 0;
}

/* An event to an operator subscriber: only what its session may see, and
 * never more than sub_queue_max unacknowledged in flight. */
static void deliver_operator(struct busd *b, struct peer *p, const char *topic, int64_t ts, const char *src,
                             const void *data, size_t data_len)
{
        uint64_t seq = p->ev_seq + 1;
        struct mpw *w;

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
        w = mpw_reuse(&b->pub_op, EVENT_KEEP_MAX, false);
        bus_enc_pub(w, &(struct bus_pub_out){.topic = topic,
                                             .ts = ts,
                                             .src = src,
                                             .data = data,
                                             .data_len = data_len,
                                             .seq = seq,
                                             .tag = ack_tag(p, seq),
                                             .lost = p->ev_lost});
        if (wire_send(b, p->rid, p->rid_len, mpw_data(w), mpw_len(w)) < 0) {
                count_drop(b, p, &b->st.dropped_full);
        } else {
                p->ev_seq = seq;
                p->ev_lost = 0;
                b->st.events_out++;
        }
}

static void count_sent(struct busd *b, struct peer *p, int r, uint64_t n)
{
        if (r < 0) {
                b->st.events_dropped += n;
                b->st.dropped_full += n;
                if (ds_now_mono_ms() - b->last_warn > 5000) {
                        log_warn("bus: subscriber '%s' is not keeping up: %llu events dropped so far", p->id,
                                 (unsigned long long)b->st.events_dropped);
                        b->last_warn = ds_now_mono_ms();
                }
        } else {
                b->st.events_out += n;
        }
}

static void batch_send(struct busd *b, struct batch_out *o)
{
        int r;

        bus_enc_pubs_end(&o->w);
        r = wire_send(b, o->p->rid, o->p->rid_len, mpw_data(&o->w), mpw_len(&o->w));
        if (r == 0)
                b->st.batches_out++;
        count_sent(b, o->p, r, o->n);
        o->n = 0;
}

/* While a batch is passed on, an event for a service that takes batches
 * joins the batch written for it. false: send it on its own. */
static bool batch_add(struct busd *b, struct peer *p, const struct bus_pub_out *ev)
{
        struct batch_out *o = NULL;

        if (!b->batching || !p->batch)
                return false;
        for (size_t i = 0; i < b->n_batch_out && !o; i++)
                if (b->batch_out[i].p == p)
                        o = &b->batch_out[i];
        if (!o) {
                if (b->n_batch_out == sizeof b->batch_out / sizeof b->batch_out[0])
                        return false;
                o = &b->batch_out[b->n_batch_out++];
                o->p = p;
                o->n = 0;
        }
        /* well within the subscriber's message limit */
        if (o->n && (o->n == BUS_PUB_BATCH_MAX || mpw_len(&o->w) + ev->data_len > b->lim.max_msg / 2))
                batch_send(b, o);
        if (!o->n) {
                mpw_reuse(&o->w, EVENT_KEEP_MAX, false);
                bus_enc_pubs_begin(&o->w);
        }
        bus_enc_pubs_add(&o->w, ev);
        o->n++;
        return true;
}

/* Sends an event from src (data: its encoded msgpack) to every peer
 * subscribed to it. The envelope is written once for every service. */
static void fanout(struct busd *b, const char *src, const char *topic, int64_t ts, const void *data, size_t data_len)
{
        const struct bus_pub_out ev = {.topic = topic, .ts = ts, .src = src, .data = data, .data_len = data_len};
        struct mpw *w = NULL;

        for (size_t k = 0; k < b->n_subscribers;) {
                struct peer *p = zhash_lookup(b->peers, b->subscribers[k]);
                bool match = false;

                if (!p || !p->n_subs) {
                        /* gone, or subscribes no more: forget it (order does not matter) */
                        if (k != --b->n_subscribers)
                                memcpy(b->subscribers[k], b->subscribers[b->n_subscribers], sizeof b->subscribers[k]);
                        continue;
                }
                k++;
                for (size_t i = 0; i < p->n_subs && !match; i++)
                        match = !strncmp(topic, p->subs[i], strlen(p->subs[i]));
                if (!match || !bus_acl_may_receive(b->acl, p->id, topic))
                        continue;
                if (p->operator) {
                        deliver_operator(b, p, topic, ts, src, data, data_len);
                        continue;
                }
                if (batch_add(b, p, &ev))
                        continue;
                if (!w) {
                        w = mpw_reuse(&b->pub_out, EVENT_KEEP_MAX, false);
                        bus_enc_pub(w, &ev);
                }
                count_sent(b, p, wire_send(b, p->rid, p->rid_len, mpw_data(w), mpw_len(w)), 1);
        }
}

void pubsub_fanout(struct busd *b, const char *src, const char *topic, int64_t ts, const struct mpw *dw)
{
        fanout(b, src, topic, ts, mpw_data(dw), mpw_len(dw));
}

/* auth.session.revoked {user, sid}: the cache forgets the user's sessions; a
 * subscriber under the revoked session loses its subscriptions at once, and a
 * user-wide refresh (no sid: authorities changed) checks them again. */
static void revoked(struct busd *b, const msgpack_object *d)
{
        char user[BUS_NAME_MAX + 1] = "", sid[32] = "";

        mp_strcpy(mp_get(d, "user"), user, sizeof user);
        mp_strcpy(mp_get(d, "sid"), sid, sizeof sid);
        session_forget(b, user);
        for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers)) {
                if (!p->ss || (user[0] && strcmp(p->ss->user, user)))
                        continue;
                if (!sid[0])
                        pubsub_recheck(b, p);
                else if (!strcmp(sid, p->ss->sid))
                        pubsub_end(b, p, NULL, -DS_EAUTH,
                                   "the session of '%s' ended (logged out, kicked or expired): devctl login",
                                   p->ss->user);
        }
}

/* One event from a publisher: the bus ACL, then busd's stamp (src, and its
 * time when the publisher gave none) on the way to the subscribers. data is
 * the event's data as the publisher encoded it (NULL: none). */
static void publish_one(struct busd *b, struct peer *from, const struct bus_msg *m, const void *data, size_t data_len)
{
        const char *topic = m->topic;

        b->st.events_in++;
        if (!bus_acl_may_publish(b->acl, from->id, topic)) {
                b->st.refused++;
                log_audit("security", LOG_LVL_WARNING, from->id, "bus: '%s' may not publish '%s' (bus ACL)", from->id,
                          topic);
                return;
        }
        /* revocations come from authd only */
        if (!strcmp(topic, "auth.session.revoked") && !strcmp(from->id, "authd"))
                revoked(b, m->data);
        if (!data) { /* no data: nil, as before */
                data = "\xc0";
                data_len = 1;
        }
        fanout(b, from->id, topic, m->has_ts ? m->ts : ds_now_real_ms(), data, data_len);
}

/* The size of an array's header (checked bytes). */
static size_t array_hdr(const uint8_t *p)
{
        return *p == 0xdc ? 3 : *p == 0xdd ? 5 : 1;
}

/* A batch: each event on its own (ACL, stamp), the services that take
 * batches getting theirs in one message at the end, the others event by
 * event as always. A malformed event is counted and skipped. */
static void publish_batch(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len)
{
        const msgpack_object *evs = m->evs;
        const uint8_t *q, *end;
        const void *er;
        size_t en;
        struct bus_msg ev;
        struct ds_err e;

        if (mp_peek_value(raw, raw_len, "evs", &er, &en) < 0 || !en) {
                b->st.malformed++;
                return;
        }
        b->st.batches_in++;
        q = er;
        end = q + en;
        q += array_hdr(q);
        b->batching = true;
        b->n_batch_out = 0;
        for (uint32_t i = 0; i < evs->via.array.size && q < end; i++) {
                const void *data = NULL;
                size_t il = 0, data_len = 0;

                if (mp_item_len(q, (size_t)(end - q), &il) < 0)
                        break;
                if (bus_dec_pub_ev(&evs->via.array.ptr[i], &ev, &e) < 0) {
                        b->st.malformed++;
                        q += il;
                        continue;
                }
                if (ev.data)
                        mp_peek_value(q, il, "data", &data, &data_len);
                q += il;
                publish_one(b, from, &ev, data, data_len);
        }
        for (size_t i = 0; i < b->n_batch_out; i++)
                if (b->batch_out[i].n)
                        batch_send(b, &b->batch_out[i]);
        b->n_batch_out = 0;
        b->batching = false;
}

void pubsub_publish(struct busd *b, struct peer *from, const struct bus_msg *m, const char *raw, size_t raw_len)
{
        const void *data = NULL;
        size_t data_len = 0;

        if (!from->told_batch) {
                /* a publisher may send batches from now on (an older busd never says so) */
                struct mpw w;

                mpw_init(&w);
                bus_enc_hb_batch(&w);
                if (wire_send(b, from->rid, from->rid_len, mpw_data(&w), mpw_len(&w)) == 0)
                        from->told_batch = true;
                mpw_free(&w);
        }
        if (m->evs) {
                publish_batch(b, from, m, raw, raw_len);
                return;
        }
        /* the data as the publisher encoded it (checked whole by the decoder):
         * only the envelope is written again, with busd's src and time */
        if (m->data)
                mp_peek_value(raw, raw_len, "data", &data, &data_len);
        publish_one(b, from, m, data, data_len);
}

/* ack {seq, tag}: the subscriber has read every event up to seq. */
void pubsub_ack(struct busd *b, struct peer *p, const struct bus_msg *m)
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
        wire_send(b, from->rid, from->rid_len, mpw_data(&w), mpw_len(&w));
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
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, e.code, e.field, "%s", e.msg);
                return -1;
        }
        if (!q->tok) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EAUTH, NULL,
                               "login required to receive events (devctl login)");
                return -1;
        }
        session_tok_hash(q->tok, th);
        if (from->ss && strcmp(from->ss->th, th)) {
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -EINVAL, "tok",
                               "this connection already subscribes under another session");
                return -1;
        }
        sess = zhash_lookup(b->sessions, th);
        if (sess && sess->expires < ds_now_mono_ms()) {
                zhash_delete(b->sessions, th);
                sess = NULL;
        }
        if (!sess) {
                session_start_check(b, from, q, raw, raw_len, th);
                return 1;
        }
        if (bus_topic_sub_check(prefix, sess->bits, missing, sizeof missing, &rule) < 0) {
                log_audit("security", LOG_LVL_WARNING, sess->user,
                          "bus: user '%s' refused events under '%s': needs authority %s (%s)", sess->user, prefix,
                          missing, rule[0] ? rule : "every other topic");
                wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -EPERM, "prefix",
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
                        wire_reply_err(b, from->rid, from->rid_len, q->id, q->id_len, -DS_EINTERNAL, NULL,
                                       "out of memory");
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
void pubsub_sub(struct busd *b, struct peer *from, const struct bus_msg *m, const struct ds_err *bad, const char *raw,
                size_t raw_len, bool add)
{
        char prefix[BUS_TOPIC_MAX + 1];
        struct req q = {.msg = m};
        struct mpw idw;
        ssize_t found = -1;

        mpw_init(&idw);
        if (m->id) {
                mpw_obj(&idw, m->id);
                q.id = mpw_data(&idw);
                q.id_len = mpw_len(&idw);
        }
        if (bad) {
                /* a refused id is answered under a nil one: never echoed */
                if (q.id || !strcmp(bad->field, "id"))
                        wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, bad->code, bad->field, "%s",
                                       bad->msg);
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
                        wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EPERM, "prefix",
                                       "identity '%s' may not subscribe to '%s' (bus ACL)", from->id, prefix);
                goto out;
        }
        if (!from->operator && m->batch)
                from->batch = true;
        if (from->operator) {
                int r;

                if (!q.id) {
                        /* an older client: it cannot hear a rep, so say it with an unsub */
                        struct mpw w;

                        b->st.subs_refused++;
                        mpw_init(&w);
                        bus_enc_unsub_err(&w, prefix, -DS_EAUTH,
                                          "subscribing needs a session token and an id (devctl login)");
                        wire_send(b, from->rid, from->rid_len, mpw_data(&w), mpw_len(&w));
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
                                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -EINVAL, "prefix",
                                               "too many subscriptions on this connection (limit %d)", BUS_MAX_SUBS);
                        goto out;
                }
                from->subs[from->n_subs++] = dup;
                if (subscriber_add(b, from) < 0) {
                        free(from->subs[--from->n_subs]);
                        if (q.id)
                                wire_reply_err(b, from->rid, from->rid_len, q.id, q.id_len, -DS_EINTERNAL, NULL,
                                               "out of memory");
                        goto out;
                }
        }
        if (q.id)
                sub_reply_ok(b, from, &q, prefix);
out:
        mpw_free(&idw);
}
