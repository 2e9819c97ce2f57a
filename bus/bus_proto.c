/* bus_proto.c - the envelope codec: every message the bus carries is written
 * and read here, by the client, the dispatcher and the broker alike. */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "bus.h"
#include "schema.h"

static void env(struct mpw *w, const char *kind)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "v", BUS_PROTO_V);
        mpw_kv_str(w, "k", kind);
}

static void put_id(struct mpw *w, const void *id, size_t id_len)
{
        mpw_str(w, "id");
        if (id && id_len)
                mpw_raw(w, id, id_len);
        else
                mpw_nil(w);
}

void bus_enc_simple(struct mpw *w, const char *kind)
{
        env(w, kind);
        mpw_map_end(w);
}

void bus_enc_hello(struct mpw *w, const char *name, const char *ver, int pid, const struct ds_method *const *tables)
{
        env(w, BUS_K_HELLO);
        mpw_kv_str(w, "name", name);
        mpw_kv_str(w, "ver", ver);
        mpw_kv_int(w, "pid", pid);
        mpw_str(w, "methods");
        mpw_arr_begin(w);
        for (size_t t = 0; tables && tables[t]; t++)
                for (const struct ds_method *m = tables[t]; m->name; m++) {
                        mpw_map_begin(w);
                        mpw_kv_str(w, "n", m->name);
                        mpw_kv_str(w, "auth", m->auth);
                        mpw_map_end(w);
                }
        mpw_arr_end(w);
        mpw_map_end(w);
}

void bus_enc_stamp(struct mpw *w, const struct bus_stamp *c)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "id", c->id ? c->id : "");
        if (c->svc)
                mpw_kv_bool(w, "svc", true);
        if (c->gw)
                mpw_kv_bool(w, "gw", true);
        if (c->user)
                mpw_kv_str(w, "user", c->user);
        if (c->group)
                mpw_kv_str(w, "group", c->group);
        if (c->sid)
                mpw_kv_str(w, "sid", c->sid);
        if (c->src && c->src[0])
                mpw_kv_str(w, "src", c->src);
        if (c->authz && c->authz_len) {
                mpw_str(w, "authz");
                mpw_raw(w, c->authz, c->authz_len);
        }
        mpw_map_end(w);
}

void bus_enc_req(struct mpw *w, const struct bus_req_out *q)
{
        env(w, BUS_K_REQ);
        mpw_kv_uint(w, "id", q->id);
        if (q->to)
                mpw_kv_str(w, "to", q->to);
        mpw_kv_str(w, "m", q->m);
        mpw_kv_int(w, "t", q->t);
        if (q->tok && q->tok_len) {
                mpw_str(w, "tok");
                mpw_strn(w, q->tok, q->tok_len);
        }
        mpw_str(w, "a");
        if (q->args_obj) {
                mpw_obj(w, q->args_obj);
        } else if (q->args && q->args_len) {
                mpw_raw(w, q->args, q->args_len);
        } else {
                mpw_map_begin(w);
                mpw_map_end(w);
        }
        if (q->c) {
                mpw_str(w, "c");
                bus_enc_stamp(w, q->c);
        }
        mpw_map_end(w);
}

void bus_enc_rep_ok(struct mpw *w, const void *id, size_t id_len, const void *r, size_t r_len)
{
        env(w, BUS_K_REP);
        put_id(w, id, id_len);
        mpw_kv_bool(w, "ok", true);
        mpw_str(w, "r");
        if (r && r_len) {
                mpw_raw(w, r, r_len);
        } else {
                mpw_map_begin(w);
                mpw_map_end(w);
        }
        mpw_map_end(w);
}

void bus_enc_rep_err(struct mpw *w, const void *id, size_t id_len, int code, const char *msg, const char *field,
                     const char *reason)
{
        env(w, BUS_K_REP);
        put_id(w, id, id_len);
        mpw_kv_bool(w, "ok", false);
        mpw_str(w, "err");
        mpw_map_begin(w);
        mpw_kv_str(w, "code", ds_err_name(code));
        mpw_kv_str(w, "msg", msg && msg[0] ? msg : ds_err_default_msg(code));
        if (field && field[0])
                mpw_kv_str(w, "field", field);
        if (reason && reason[0])
                mpw_kv_str(w, "reason", reason);
        mpw_map_end(w);
        mpw_map_end(w);
}

void bus_enc_rep_relay(struct mpw *w, const void *id, size_t id_len, bool ok, const msgpack_object *r,
                       const msgpack_object *err)
{
        env(w, BUS_K_REP);
        put_id(w, id, id_len);
        mpw_kv_bool(w, "ok", ok);
        if (r) {
                mpw_str(w, "r");
                mpw_obj(w, r);
        }
        if (err) {
                mpw_str(w, "err");
                mpw_obj(w, err);
        }
        mpw_map_end(w);
}

void bus_enc_rep_relay_raw(struct mpw *w, const void *id, size_t id_len, bool ok, const void *r, size_t r_len,
                           const void *err, size_t err_len)
{
        env(w, BUS_K_REP);
        put_id(w, id, id_len);
        mpw_kv_bool(w, "ok", ok);
        if (r) {
                mpw_str(w, "r");
                mpw_raw(w, r, r_len);
        }
        if (err) {
                mpw_str(w, "err");
                mpw_raw(w, err, err_len);
        }
        mpw_map_end(w);
}

/* ---- pub: the hot path, written in one pass with minimal headers --------------- */

static size_t put_fixkey(uint8_t *o, const char *k, size_t n)
{
        o[0] = (uint8_t)(0xa0 | n);
        memcpy(o + 1, k, n);
        return n + 1;
}

static size_t put_str8(uint8_t *o, const char *s, size_t n)
{
        size_t h = 1;

        if (n < 32) {
                o[0] = (uint8_t)(0xa0 | n);
        } else {
                o[0] = 0xd9;
                o[1] = (uint8_t)n;
                h = 2;
        }
        memcpy(o + h, s, n);
        return h + n;
}

static size_t put_be(uint8_t *o, uint8_t tag, uint64_t v, int bytes)
{
        o[0] = tag;
        for (int i = 0; i < bytes; i++)
                o[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
        return (size_t)bytes + 1;
}

static size_t put_uint(uint8_t *o, uint64_t v)
{
        if (v < 128) {
                o[0] = (uint8_t)v;
                return 1;
        }
        if (v <= UINT8_MAX)
                return put_be(o, 0xcc, v, 1);
        if (v <= UINT16_MAX)
                return put_be(o, 0xcd, v, 2);
        if (v <= UINT32_MAX)
                return put_be(o, 0xce, v, 4);
        return put_be(o, 0xcf, v, 8);
}

static size_t put_int(uint8_t *o, int64_t v)
{
        if (v >= 0)
                return put_uint(o, (uint64_t)v);
        if (v >= -32) {
                o[0] = (uint8_t)(int8_t)v;
                return 1;
        }
        if (v >= INT8_MIN)
                return put_be(o, 0xd0, (uint64_t)v, 1);
        if (v >= INT16_MIN)
                return put_be(o, 0xd1, (uint64_t)v, 2);
        if (v >= INT32_MIN)
                return put_be(o, 0xd2, (uint64_t)v, 4);
        return put_be(o, 0xd3, (uint64_t)v, 8);
}

/* topic, ts, src (when set) and the key "data": the value is written next */
static size_t put_ev_fields(uint8_t *o, const struct bus_pub_out *p, size_t tn, size_t sn)
{
        size_t h = 0;

        h += put_fixkey(o + h, "topic", 5);
        h += put_str8(o + h, p->topic, tn);
        h += put_fixkey(o + h, "ts", 2);
        h += put_int(o + h, p->ts);
        if (p->src) {
                h += put_fixkey(o + h, "src", 3);
                h += put_str8(o + h, p->src, sn);
        }
        h += put_fixkey(o + h, "data", 4);
        return h;
}

void bus_enc_pub(struct mpw *w, const struct bus_pub_out *p)
{
        /* topic and src of at most 255 bytes: header and trailer on the stack */
        uint8_t hdr[576], tail[64]; /* 551 and 33 bytes at most */
        size_t tn = strlen(p->topic), sn = p->src ? strlen(p->src) : 0, h = 0, t = 0;

        if (tn > 255 || sn > 255) {
                env(w, BUS_K_PUB);
                mpw_kv_str(w, "topic", p->topic);
                mpw_kv_int(w, "ts", p->ts);
                if (p->src)
                        mpw_kv_str(w, "src", p->src);
                mpw_str(w, "data");
                if (p->data && p->data_len)
                        mpw_raw(w, p->data, p->data_len);
                else
                        mpw_raw(w, "\x80", 1);
                if (p->seq) {
                        mpw_kv_uint(w, "seq", p->seq);
                        mpw_kv_uint(w, "tag", p->tag);
                        if (p->lost)
                                mpw_kv_uint(w, "lost", p->lost);
                }
                mpw_map_end(w);
                return;
        }
        hdr[h++] = (uint8_t)(0x80 | (5 + (p->src ? 1 : 0) + (p->seq ? (p->lost ? 3 : 2) : 0)));
        h += put_fixkey(hdr + h, "v", 1);
        h += put_uint(hdr + h, BUS_PROTO_V);
        h += put_fixkey(hdr + h, "k", 1);
        h += put_fixkey(hdr + h, BUS_K_PUB, 3);
        h += put_ev_fields(hdr + h, p, tn, sn);
        if (p->seq) {
                t += put_fixkey(tail + t, "seq", 3);
                t += put_uint(tail + t, p->seq);
                t += put_fixkey(tail + t, "tag", 3);
                t += put_uint(tail + t, p->tag);
                if (p->lost) {
                        t += put_fixkey(tail + t, "lost", 4);
                        t += put_uint(tail + t, p->lost);
                }
        }
        mpw_raw(w, hdr, h);
        if (p->data && p->data_len)
                msgpack_sbuffer_write(&w->sb, p->data, p->data_len);
        else
                msgpack_sbuffer_write(&w->sb, "\x80", 1);
        if (t)
                msgpack_sbuffer_write(&w->sb, (const char *)tail, t);
}

void bus_enc_pubs_begin(struct mpw *w)
{
        env(w, BUS_K_PUB);
        mpw_str(w, "evs");
        mpw_arr_begin(w);
}

void bus_enc_pubs_add(struct mpw *w, const struct bus_pub_out *p)
{
        uint8_t hdr[576];
        size_t tn = strlen(p->topic), sn = p->src ? strlen(p->src) : 0, h = 0;

        if (tn > 255 || sn > 255) {
                mpw_map_begin(w);
                mpw_kv_str(w, "topic", p->topic);
                mpw_kv_int(w, "ts", p->ts);
                if (p->src)
                        mpw_kv_str(w, "src", p->src);
                mpw_str(w, "data");
                mpw_raw(w, p->data && p->data_len ? p->data : "\x80", p->data && p->data_len ? p->data_len : 1);
                mpw_map_end(w);
                return;
        }
        hdr[h++] = (uint8_t)(0x80 | (3 + (p->src ? 1 : 0)));
        h += put_ev_fields(hdr + h, p, tn, sn);
        mpw_raw(w, hdr, h); /* the event is one item of the array */
        if (p->data && p->data_len)
                msgpack_sbuffer_write(&w->sb, p->data, p->data_len);
        else
                msgpack_sbuffer_write(&w->sb, "\x80", 1);
}

void bus_enc_pubs_end(struct mpw *w)
{
        mpw_arr_end(w);
        mpw_map_end(w);
}

void bus_enc_sub_batch(struct mpw *w, const char *prefix)
{
        env(w, BUS_K_SUB);
        mpw_kv_str(w, "prefix", prefix);
        mpw_kv_bool(w, "batch", true);
        mpw_map_end(w);
}

void bus_enc_hb_batch(struct mpw *w)
{
        env(w, BUS_K_HB);
        mpw_kv_bool(w, "batch", true);
        mpw_map_end(w);
}

void bus_enc_sub(struct mpw *w, const char *kind, const char *prefix, uint64_t id, const char *tok)
{
        env(w, kind);
        mpw_kv_str(w, "prefix", prefix);
        if (id)
                mpw_kv_uint(w, "id", id);
        if (tok)
                mpw_kv_str(w, "tok", tok);
        mpw_map_end(w);
}

void bus_enc_unsub_err(struct mpw *w, const char *prefix, int code, const char *msg)
{
        env(w, BUS_K_UNSUB);
        mpw_kv_str(w, "prefix", prefix);
        mpw_str(w, "err");
        mpw_map_begin(w);
        mpw_kv_str(w, "code", ds_err_name(code));
        mpw_kv_str(w, "msg", msg && msg[0] ? msg : ds_err_default_msg(code));
        mpw_map_end(w);
        mpw_map_end(w);
}

void bus_enc_ack(struct mpw *w, uint64_t seq, uint64_t tag)
{
        env(w, BUS_K_ACK);
        mpw_kv_uint(w, "seq", seq);
        mpw_kv_uint(w, "tag", tag);
        mpw_map_end(w);
}

/* ---- decoding ---------------------------------------------------------------- */

static const struct {
        const char *name;
        enum bus_kind kind;
} kinds[] = {
        { BUS_K_REQ, BUS_KIND_REQ },     { BUS_K_REP, BUS_KIND_REP },     { BUS_K_PUB, BUS_KIND_PUB },
        { BUS_K_HB, BUS_KIND_HB },       { BUS_K_ACK, BUS_KIND_ACK },     { BUS_K_SUB, BUS_KIND_SUB },
        { BUS_K_UNSUB, BUS_KIND_UNSUB }, { BUS_K_HELLO, BUS_KIND_HELLO }, { BUS_K_WHO, BUS_KIND_WHO },
};

static bool is_uint(const msgpack_object *o)
{
        return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

int bus_dec_tok(const msgpack_object *o, const msgpack_object **ret, struct ds_err *e)
{
        *ret = NULL;
        if (!o)
                return 0;
        if (!mp_is_str(o) || o->via.str.size > BUS_TOKEN_MAX)
                return ds_err_set(e, -EINVAL, "tok", "must be a session token");
        if (o->via.str.size)
                *ret = o;
        return 0;
}

int bus_dec_hello_method(const msgpack_object *o, char *name, size_t name_size, char *auth, size_t auth_size)
{
        if (mp_strcpy(mp_get(o, "n"), name, name_size) < 0 || mp_strcpy(mp_get(o, "auth"), auth, auth_size) < 0 ||
            !ds_authz_valid(auth))
                return -EINVAL;
        return 0;
}

int bus_dec_rep_err(const msgpack_object *err, struct ds_err *ret)
{
        size_t n = 0;
        const char *code = mp_get_strn(err, "code", &n);

        ds_err_clear(ret);
        ret->code = code ? ds_err_from_name(code, n) : -DS_EINTERNAL;
        mp_strcpy(mp_get(err, "msg"), ret->msg, sizeof ret->msg);
        mp_strcpy(mp_get(err, "field"), ret->field, sizeof ret->field);
        mp_strcpy(mp_get(err, "reason"), ret->reason, sizeof ret->reason);
        if (!ret->msg[0])
                snprintf(ret->msg, sizeof ret->msg, "%s", ds_err_default_msg(ret->code));
        return ret->code;
}

void bus_dec_stamp(const msgpack_object *c, struct ds_caller *ret)
{
        const msgpack_object *az;

        memset(ret, 0, sizeof *ret);
        if (!c || c->type != MSGPACK_OBJECT_MAP)
                return;
        mp_strcpy(mp_get(c, "id"), ret->id, sizeof ret->id);
        mp_strcpy(mp_get(c, "user"), ret->user, sizeof ret->user);
        mp_strcpy(mp_get(c, "group"), ret->group, sizeof ret->group);
        mp_strcpy(mp_get(c, "src"), ret->source, sizeof ret->source);
        mp_strcpy(mp_get(c, "sid"), ret->sid, sizeof ret->sid);
        ret->svc = mp_get_bool(c, "svc", false);
        ret->gateway = mp_get_bool(c, "gw", false);
        az = mp_get(c, "authz");
        if (az && az->type == MSGPACK_OBJECT_ARRAY)
                for (uint32_t i = 0; i < az->via.array.size; i++)
                        if (mp_is_str(&az->via.array.ptr[i]))
                                ret->authz |= ds_authz_bit(az->via.array.ptr[i].via.str.ptr,
                                                           az->via.array.ptr[i].via.str.size);
}

/* The envelope's keys, found in one walk over the top-level map (the first
 * of a repeated key counts, as with mp_get). */
enum { EK_K, EK_ID, EK_V, EK_TO, EK_M, EK_TOK, EK_T, EK_A, EK_C, EK_OK, EK_R, EK_ERR, EK_N };

struct env_ix {
        const msgpack_object *v[EK_N];
        uint32_t at[EK_N]; /* the entry's index, for its span */
};

static void env_index(const msgpack_object *o, struct env_ix *ix)
{
        static const char ones[] = "kvmtacr"; /* the one-letter keys */
        static const int ones_x[] = {EK_K, EK_V, EK_M, EK_T, EK_A, EK_C, EK_R};

        memset(ix->v, 0, sizeof ix->v);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                const char *s = k->via.str.ptr, *at;
                int x = -1;

                if (k->type != MSGPACK_OBJECT_STR)
                        continue;
                switch (k->via.str.size) {
                case 1:
                        at = memchr(ones, s[0], sizeof ones - 1);
                        x = at ? ones_x[at - ones] : -1;
                        break;
                case 2:
                        x = !memcmp(s, "id", 2)   ? EK_ID
                            : !memcmp(s, "to", 2) ? EK_TO
                            : !memcmp(s, "ok", 2) ? EK_OK
                                                  : -1;
                        break;
                case 3:
                        x = !memcmp(s, "tok", 3) ? EK_TOK : !memcmp(s, "err", 3) ? EK_ERR : -1;
                        break;
                }
                if (x >= 0 && !ix->v[x]) {
                        ix->v[x] = &o->via.map.ptr[i].val;
                        ix->at[x] = i;
                }
        }
}

/* the raw bytes of entry x's value, when the decoder recorded them */
static const char *raw_of(const struct env_ix *ix, int x, const char *raw, const struct mp_span *spans, size_t n_spans,
                          size_t *ret_len)
{
        if (!raw || !ix->v[x] || ix->at[x] >= n_spans)
                return NULL;
        *ret_len = spans[ix->at[x]].len;
        return raw + spans[ix->at[x]].off;
}

static int dec_req(const struct env_ix *ix, unsigned flags, struct bus_msg *q, struct ds_err *e)
{
        const msgpack_object *t = ix->v[EK_T];

        if (!q->id)
                return ds_err_set(e, -EINVAL, "id", "request without id");
        if (flags & BUS_DEC_ROUTE) {
                if (mp_strcpy(ix->v[EK_TO], q->to, sizeof q->to) < 0 || ds_check_name(q->to, strlen(q->to)))
                        return ds_err_set(e, -EINVAL, "to", "must name a service");
        }
        if (mp_strcpy(ix->v[EK_M], q->m, sizeof q->m) < 0 || !strchr(q->m, '.'))
                return ds_err_set(e, -EINVAL, "m", "must name a method (object.verb)");
        if (bus_dec_tok(ix->v[EK_TOK], &q->tok, e) < 0)
                return e->code;
        q->has_t = t && mp_to_int64(t, &q->t) == 0;
        q->a = ix->v[EK_A];
        q->c = ix->v[EK_C];
        return 0;
}

/* One pass over the map (every event goes through here, at busd and at each
 * subscriber); the first of duplicate keys counts, as with mp_get. */
static int dec_pub_fields(const msgpack_object *o, struct bus_msg *p, struct ds_err *e, bool batch_ok)
{
        const msgpack_object *topic = NULL, *ts = NULL, *src = NULL, *data = NULL, *sq = NULL, *tg = NULL,
                             *lost = NULL, *evs = NULL;

        for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val, **slot = NULL;
                const char *ks;

                if (k->type != MSGPACK_OBJECT_STR || k->via.str.size < 2 || k->via.str.size > 5)
                        continue;
                ks = k->via.str.ptr;
#define KEY_IS(lit) (k->via.str.size == sizeof lit - 1 && !memcmp(ks, lit, sizeof lit - 1))
                if (KEY_IS("topic"))
                        slot = &topic;
                else if (KEY_IS("ts"))
                        slot = &ts;
                else if (KEY_IS("src"))
                        slot = &src;
                else if (KEY_IS("data"))
                        slot = &data;
                else if (KEY_IS("seq"))
                        slot = &sq;
                else if (KEY_IS("tag"))
                        slot = &tg;
                else if (KEY_IS("lost"))
                        slot = &lost;
                else if (KEY_IS("evs"))
                        slot = &evs;
#undef KEY_IS
                if (slot && !*slot)
                        *slot = v;
        }
        if (evs && batch_ok) {
                /* a batch: its events are decoded one by one (bus_dec_pub_ev) */
                if (evs->type != MSGPACK_OBJECT_ARRAY || evs->via.array.size == 0 ||
                    evs->via.array.size > BUS_PUB_BATCH_MAX)
                        return ds_err_set(e, -EINVAL, "evs", "must be an array of 1 to %d events", BUS_PUB_BATCH_MAX);
                p->evs = evs;
                return 0;
        }
        if (mp_strcpy(topic, p->topic, sizeof p->topic) < 0 || !p->topic[0])
                return ds_err_set(e, -EINVAL, "topic", "must be a topic of at most %d bytes", BUS_TOPIC_MAX);
        p->has_ts = ts && mp_to_int64(ts, &p->ts) == 0;
        mp_strcpy(src, p->src, sizeof p->src);
        p->data = data;
        if (is_uint(sq) && is_uint(tg)) {
                p->seq = sq->via.u64;
                p->tag = tg->via.u64;
        }
        if (is_uint(lost))
                p->lost = lost->via.u64;
        return 0;
}

static int dec_pub(const msgpack_object *o, struct bus_msg *p, struct ds_err *e)
{
        return dec_pub_fields(o, p, e, true);
}

int bus_dec_pub_ev(const msgpack_object *ev, struct bus_msg *ret, struct ds_err *e)
{
        ret->topic[0] = ret->src[0] = '\0';
        ret->has_ts = false;
        ret->ts = 0;
        ret->data = ret->evs = NULL;
        ret->seq = ret->tag = ret->lost = 0;
        if (!ev || ev->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "evs", "an event of a batch must be a map");
        if (dec_pub_fields(ev, ret, e, false) < 0)
                return ds_err_set(e, -EINVAL, "evs", "an event of a batch needs a topic of at most %d bytes",
                                  BUS_TOPIC_MAX);
        ret->seq = ret->tag = ret->lost = 0; /* credit is never batched */
        return 0;
}

static int dec_hello(const msgpack_object *o, struct bus_msg *h, struct ds_err *e)
{
        if (mp_strcpy(mp_get(o, "name"), h->name, sizeof h->name) < 0 || ds_check_name(h->name, strlen(h->name)))
                return ds_err_set(e, -EINVAL, "name", "must be a service name");
        mp_strcpy(mp_get(o, "ver"), h->ver, sizeof h->ver);
        h->pid = (int)mp_get_int(o, "pid", 0);
        h->methods = mp_get(o, "methods");
        if (!h->methods || h->methods->type != MSGPACK_OBJECT_ARRAY || h->methods->via.array.size > BUS_MAX_METHODS) {
                h->methods = NULL;
                return ds_err_set(e, -EINVAL, "methods", "must be a method table of at most %d entries",
                                  BUS_MAX_METHODS);
        }
        return 0;
}

int bus_msg_decode(const msgpack_object *o, unsigned flags, struct bus_msg *ret, struct ds_err *e)
{
        return bus_msg_decode_raw(o, NULL, NULL, 0, flags, ret, e);
}

/* An id comes back in the answer and busd keeps it while a request is in
 * flight: a scalar, and a string or bin of at most BUS_ID_MAX bytes. The same
 * rule for an encoded id (bus_id_bytes_ok) and a decoded one (id_ok). */
bool bus_id_bytes_ok(const void *p, size_t n)
{
        const unsigned char *b = p;
        uint64_t len;

        if (!n)
                return false;
        if (b[0] <= 0x7f || b[0] >= 0xe0 || b[0] == 0xc0 || b[0] == 0xc2 || b[0] == 0xc3 ||
            (b[0] >= 0xca && b[0] <= 0xd3))
                return true; /* fixint, nil, bool, float, int */
        if (b[0] >= 0xa0 && b[0] <= 0xbf)
                return true; /* fixstr: at most 31 bytes */
        switch (b[0]) {
        case 0xd9: /* str8, bin8 */
        case 0xc4:
                len = n >= 2 ? b[1] : UINT64_MAX;
                break;
        case 0xda: /* str16, bin16 */
        case 0xc5:
                len = n >= 3 ? (uint64_t)b[1] << 8 | b[2] : UINT64_MAX;
                break;
        case 0xdb: /* str32, bin32 */
        case 0xc6:
                len = n >= 5 ? (uint64_t)b[1] << 24 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 8 | b[4] : UINT64_MAX;
                break;
        default:
                return false; /* a container, an ext */
        }
        return len <= BUS_ID_MAX;
}

static bool id_ok(const msgpack_object *id)
{
        switch (id->type) {
        case MSGPACK_OBJECT_NIL:
        case MSGPACK_OBJECT_BOOLEAN:
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                return true;
        case MSGPACK_OBJECT_STR:
                return id->via.str.size <= BUS_ID_MAX;
        case MSGPACK_OBJECT_BIN:
                return id->via.bin.size <= BUS_ID_MAX;
        default:
                return false;
        }
}

int bus_msg_decode_raw(const msgpack_object *o, const char *raw, const struct mp_span *spans, size_t n_spans,
                       unsigned flags, struct bus_msg *ret, struct ds_err *e)
{
        struct env_ix ix;
        const msgpack_object *k;
        int64_t v = BUS_PROTO_V;

        memset(ret, 0, sizeof *ret);
        ret->nid = -1;
        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "k", "message has no kind");
        env_index(o, &ix);
        k = ix.v[EK_K];
        if (!mp_is_str(k))
                return ds_err_set(e, -EINVAL, "k", "message has no kind");
        ret->id = ix.v[EK_ID];
        ret->id_raw = raw_of(&ix, EK_ID, raw, spans, n_spans, &ret->id_raw_len);
        if (ret->id && ret->id->type == MSGPACK_OBJECT_POSITIVE_INTEGER && ret->id->via.u64 <= INT64_MAX)
                ret->nid = (int64_t)ret->id->via.u64;
        if (ix.v[EK_V] && mp_to_int64(ix.v[EK_V], &v) < 0)
                v = BUS_PROTO_V;
        if (v != BUS_PROTO_V)
                return ds_err_set(e, -EINVAL, "v", "protocol version %lld not supported (this bus speaks %d)",
                                  (long long)v, BUS_PROTO_V);
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                if (mp_streq(k, kinds[i].name)) {
                        ret->kind = kinds[i].kind;
                        break;
                }
        if (ret->id && !id_ok(ret->id)) {
                /* never echoed: an answer goes under a nil id */
                ret->id = NULL;
                ret->id_raw = NULL;
                ret->id_raw_len = 0;
                ret->nid = -1;
                return ds_err_set(e, -EINVAL, "id", "must be a number or a string of at most %d bytes", BUS_ID_MAX);
        }
        switch (ret->kind) {
        case BUS_KIND_REQ: {
                int r = dec_req(&ix, flags, ret, e);

                if (r == 0) /* with a, as the fields before a bad one */
                        ret->a_raw = raw_of(&ix, EK_A, raw, spans, n_spans, &ret->a_raw_len);
                return r;
        }
        case BUS_KIND_REP:
                if (!ix.v[EK_OK] || mp_to_bool(ix.v[EK_OK], &ret->ok) < 0)
                        ret->ok = false;
                ret->r = ix.v[EK_R];
                ret->err = ix.v[EK_ERR];
                ret->r_raw = raw_of(&ix, EK_R, raw, spans, n_spans, &ret->r_raw_len);
                ret->err_raw = raw_of(&ix, EK_ERR, raw, spans, n_spans, &ret->err_raw_len);
                return 0;
        case BUS_KIND_PUB:
                return dec_pub(o, ret, e);
        case BUS_KIND_SUB:
        case BUS_KIND_UNSUB:
                if (mp_strcpy(mp_get(o, "prefix"), ret->prefix, sizeof ret->prefix) < 0)
                        return ds_err_set(e, -EINVAL, "prefix", "must be a topic prefix of at most %d bytes",
                                          BUS_TOPIC_MAX);
                ret->sub_tok = mp_get(o, "tok");
                ret->err = mp_get(o, "err");
                ret->batch = mp_get_bool(o, "batch", false);
                return 0;
        case BUS_KIND_ACK: {
                const msgpack_object *sq = mp_get(o, "seq"), *tg = mp_get(o, "tag");

                if (!is_uint(sq))
                        return ds_err_set(e, -EINVAL, "seq", "must be an event sequence number");
                if (!is_uint(tg))
                        return ds_err_set(e, -EINVAL, "tag", "must be the event's tag");
                ret->seq = sq->via.u64;
                ret->tag = tg->via.u64;
                return 0;
        }
        case BUS_KIND_HELLO:
                return dec_hello(o, ret, e);
        case BUS_KIND_HB:
                ret->batch = mp_get_bool(o, "batch", false);
                return 0;
        case BUS_KIND_WHO:
                return 0;
        case BUS_KIND_NONE:
                break;
        }
        return ds_err_set(e, -EINVAL, "k", "unknown kind");
}
