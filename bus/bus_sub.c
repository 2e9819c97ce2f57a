/* bus_sub.c - a client's subscriptions: subscribe (as a service or with an
 * operator's session), busd's answers and refusals, resubscribing after a
 * reconnect, delivering events, and the credit acknowledgements */
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "bus_internal.h"
#include "log.h"
#include "util.h"

struct sub {
        char *prefix;
        size_t prefix_len;
        bus_event_fn cb;
        void *ud;
        char *tok;       /* an operator's session token (secret), NULL for services */
        uint64_t req_id; /* the id of the sub busd has not answered yet */
        bool retry;      /* busd could not check the session yet: ask again at the next heartbeat */
};

static const struct bus_sub_ops sub_ops;

static void send_ack(bus_t *b)
{
        struct mpw w;

        mpw_init(&w);
        bus_enc_ack(&w, b->ev_seq, b->ev_tag);
        if (bus_send_raw(b, mpw_data(&w), mpw_len(&w)) == 0)
                b->ev_unacked = 0;
        mpw_free(&w);
}

/* Events to an operator carry seq and tag: acknowledging the last one read
 * gives busd credit to send more (it keeps a window in flight, no more). */
static void credit_event(bus_t *b, const struct bus_msg *m)
{
        b->ev_lost += m->lost;
        if (!m->seq)
                return;
        b->ev_seq = m->seq;
        b->ev_tag = m->tag;
        b->ev_unacked++;
        if (b->ev_unacked >= (b->ack_every ? b->ack_every : 64))
                send_ack(b);
}

static void sub_remove(bus_t *b, size_t i)
{
        free(b->subs[i].prefix);
        ds_free_secret(b->subs[i].tok);
        b->subs[i] = b->subs[--b->n_subs];
}

/* busd ended (or refused again) the subscription i: remember why. */
static void sub_ended(bus_t *b, size_t i, int code, const char *msg)
{
        ds_err_clear(&b->sub_err);
        b->sub_err.code = code;
        snprintf(b->sub_err.msg, sizeof b->sub_err.msg, "%s", msg && *msg ? msg : ds_err_default_msg(code));
        b->sub_ended = true;
        if (b->loop)
                log_warn("bus: busd ended the subscription to '%s': %s", b->subs[i].prefix, b->sub_err.msg);
        sub_remove(b, i);
}

static int send_sub(bus_t *b, struct sub *s)
{
        struct mpw w;
        int r;

        if (s->tok) {
                s->req_id = b->next_id++;
                s->retry = false;
        }
        mpw_init(&w);
        if (s->tok)
                bus_enc_sub(&w, BUS_K_SUB, s->prefix, s->req_id, s->tok);
        else
                bus_enc_sub_batch(&w, s->prefix); /* a service takes events in batches */
        r = bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_wipe(&w);
        return r;
}

/* busd's answer to a resubscription (after it restarted): a refusal ends it,
 * an unavailable authd is asked again later. */
static bool sub_answered(bus_t *b, uint64_t id, msgpack_unpacked *u)
{
        for (size_t i = 0; i < b->n_subs; i++) {
                struct bus_reply rep;

                if (!b->subs[i].req_id || b->subs[i].req_id != id)
                        continue;
                b->subs[i].req_id = 0;
                bus_reply_from_msg(&rep, u);
                if (rep.code == 0) {
                        b->ack_every = (uint64_t)mp_get_int(rep.r, "window", 256) / 4;
                        if (b->ack_every == 0)
                                b->ack_every = 1;
                } else if (rep.code == -DS_EUNAVAIL || rep.code == -ETIMEDOUT || rep.code == -EBUSY)
                        b->subs[i].retry = true;
                else
                        sub_ended(b, i, rep.code, rep.err.msg);
                bus_reply_free(&rep);
                return true;
        }
        return false;
}

static void sub_ended_by_busd(bus_t *b, const struct bus_msg *m)
{
        struct ds_err e;
        int code = bus_dec_rep_err(m->err, &e);

        /* an unsub without a code still ends it: the session is gone */
        if (!mp_get(m->err, "code"))
                code = -DS_EAUTH;
        for (size_t i = 0; i < b->n_subs; i++)
                if (!strcmp(b->subs[i].prefix, m->prefix)) {
                        /* authd could not check the session again (hung,
                         * gone): not a verdict on it, so asked again */
                        if (code == -DS_EUNAVAIL && b->subs[i].tok) {
                                log_warn("bus: busd ended the subscription to '%s' for now (%s): subscribing "
                                         "again at the next heartbeat; events meanwhile are missed",
                                         m->prefix, mp_get(m->err, "msg") ? e.msg : "authd unavailable");
                                b->subs[i].retry = true;
                                b->subs[i].req_id = 0;
                                return;
                        }
                        sub_ended(b, i, code, mp_get(m->err, "msg") ? e.msg : "");
                        return;
                }
}

/* Each heartbeat: the credit for events read, and the subscriptions busd
 * could not check yet asked again. */
static void sub_tick(bus_t *b)
{
        if (b->ev_unacked)
                send_ack(b);
        for (size_t i = 0; i < b->n_subs; i++)
                if (b->subs[i].retry)
                        send_sub(b, &b->subs[i]);
}

int bus_subscription_error(const bus_t *b, struct ds_err *ret)
{
        if (ret && b->sub_err.code)
                *ret = b->sub_err;
        return b->sub_err.code;
}

uint64_t bus_events_lost(const bus_t *b)
{
        return b->ev_lost;
}

static void deliver_one(bus_t *b, const struct bus_msg *m)
{
        for (size_t i = 0; i < b->n_subs; i++)
                if (strncmp(m->topic, b->subs[i].prefix, b->subs[i].prefix_len) == 0)
                        b->subs[i].cb(b->subs[i].ud, m->topic, m->src, m->has_ts ? m->ts : 0, m->data);
}

/* An event, or a batch of them (each delivered as if it came alone; a
 * malformed one is counted and skipped). */
static void sub_deliver(bus_t *b, const struct bus_msg *m)
{
        struct bus_msg ev;
        struct ds_err e;

        if (!m->evs) {
                deliver_one(b, m);
                credit_event(b, m);
                return;
        }
        for (uint32_t i = 0; i < m->evs->via.array.size; i++) {
                if (bus_dec_pub_ev(&m->evs->via.array.ptr[i], &ev, &e) < 0) {
                        b->stats.malformed++;
                        continue;
                }
                deliver_one(b, &ev);
        }
}

static void sub_resend_all(bus_t *b)
{
        for (size_t i = 0; i < b->n_subs; i++)
                send_sub(b, &b->subs[i]);
}

/* Adds a subscription locally; busd takes a trailing '*' as the prefix before it. */
static struct sub *sub_add(bus_t *b, const char *prefix, const char *tok, bus_event_fn cb, void *ud)
{
        size_t len = strlen(prefix);
        struct sub *n, *s;

        if (len > BUS_TOPIC_MAX || b->n_subs >= BUS_MAX_SUBS)
                return NULL;
        if (len && prefix[len - 1] == '*')
                len--;
        b->sub_ops = &sub_ops;
        n = realloc(b->subs, (b->n_subs + 1) * sizeof *n);
        if (!n)
                return NULL;
        b->subs = n;
        s = &b->subs[b->n_subs];
        memset(s, 0, sizeof *s);
        s->prefix = strndup(prefix, len);
        s->prefix_len = len;
        s->tok = tok ? strdup(tok) : NULL;
        s->cb = cb;
        s->ud = ud;
        if (!s->prefix || (tok && !s->tok)) {
                free(s->prefix);
                ds_free_secret(s->tok);
                return NULL;
        }
        b->n_subs++;
        return s;
}

int bus_subscribe(bus_t *b, const char *prefix, bus_event_fn cb, void *ud)
{
        struct sub *s = sub_add(b, prefix, NULL, cb, ud);

        return s ? send_sub(b, s) : -EINVAL;
}

int bus_subscribe_session(bus_t *b, const char *prefix, const char *tok, bus_event_fn cb, void *ud, int timeout_ms,
                          struct bus_reply *ret)
{
        struct sub *s = sub_add(b, prefix, tok && *tok ? tok : "", cb, ud);
        uint64_t id;
        int r;

        if (!s) {
                bus_local_reply(ret, -EINVAL, "cannot subscribe to '%s'", prefix);
                return ret->code;
        }
        r = send_sub(b, s);
        id = s->req_id;
        if (r < 0) {
                sub_remove(b, b->n_subs - 1);
                bus_local_reply(ret, r, "cannot send to the bus");
                return r;
        }
        r = bus_sync_wait(b, id, timeout_ms, ret);
        /* the sub may have moved in the array meanwhile: find it by its id */
        for (size_t i = 0; i < b->n_subs; i++)
                if (b->subs[i].req_id == id) {
                        b->subs[i].req_id = 0;
                        if (r < 0)
                                sub_remove(b, i);
                        break;
                }
        if (r == 0)
                b->ack_every = (uint64_t)mp_get_int(ret->r, "window", 256) / 4;
        if (b->ack_every == 0)
                b->ack_every = 1;
        return r;
}

static void sub_free_all(bus_t *b)
{
        while (b->n_subs)
                sub_remove(b, b->n_subs - 1);
        free(b->subs);
        b->subs = NULL;
}

static const struct bus_sub_ops sub_ops = {
        .deliver = sub_deliver,
        .ended = sub_ended_by_busd,
        .answered = sub_answered,
        .resend = sub_resend_all,
        .tick = sub_tick,
        .free_all = sub_free_all,
};
