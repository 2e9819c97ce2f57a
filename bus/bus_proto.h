/* bus_proto.h - the envelope: kinds, keys, limits, timing */
#pragma once

#define BUS_PROTO_V 1

/* Kinds ("k") */
#define BUS_K_HELLO "hello" /* service -> busd: name, ver, pid, methods[{n,auth}], topics */
#define BUS_K_REQ "req"     /* id, to, m, a, tok, t (timeout ms); busd adds c (caller stamp) */
#define BUS_K_REP "rep"     /* id, ok, r | err{code,msg,field,reason} */
#define BUS_K_PUB "pub"     /* topic, ts, src, data; or evs: [{topic, ts, src, data}...] (a batch) */
#define BUS_K_SUB "sub"     /* prefix; id and tok (an operator's session): answered with a rep */
#define BUS_K_UNSUB "unsub" /* prefix; busd -> peer also err{code,msg}: the subscription ended */
#define BUS_K_ACK "ack"     /* subscriber -> busd: seq, tag of the last event read (credit) */
#define BUS_K_HB "hb"       /* heartbeat, both ways */
#define BUS_K_WHO "who"     /* busd -> peer: unknown to me, say hello again */

#define BUS_SERVICE_SELF "bus" /* methods answered by busd itself */

#define BUS_NAME_MAX 32
#define BUS_TOPIC_MAX 128
#define BUS_METHOD_MAX 64
#define BUS_TOKEN_MAX 128
#define BUS_ID_MAX 64 /* a message's id: a scalar; a string or bin of at most this */
#define BUS_MAX_METHODS 256
#define BUS_MAX_SUBS 64 /* prefixes per peer */
#define BUS_SUB_QUEUE_DEFAULT 1000 /* events in flight to one operator subscriber */
/* Events in one batch (a pub with evs): sent only to a busd that said "batch"
 * in an hb, and by busd only to a service that subscribed with "batch". */
#define BUS_PUB_BATCH_MAX 256

#define BUS_DEFAULT_TIMEOUT_MS 5000
#define BUS_MAX_TIMEOUT_MS 120000
#define BUS_HB_MS 1000
#define BUS_HB_MISSES 3
/* Hard transport cap; the configurable message limit (default 1 MiB) is
 * answered with an EINVAL reply, this one drops the connection. */
#define BUS_TRANSPORT_MAX (16 << 20)

/* ---- the codec (bus_proto.c): the one place the envelope is written and read ---- */
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "mp.h"

struct ds_caller;
struct ds_method;

enum bus_kind {
        BUS_KIND_NONE = 0,
        BUS_KIND_HELLO,
        BUS_KIND_REQ,
        BUS_KIND_REP,
        BUS_KIND_PUB,
        BUS_KIND_SUB,
        BUS_KIND_UNSUB,
        BUS_KIND_ACK,
        BUS_KIND_HB,
        BUS_KIND_WHO,
};

/* The caller stamp "c", as busd builds it from authentication. NULL strings
 * are left out; authz is the encoded msgpack array of authority names. */
struct bus_stamp {
        const char *id;
        bool svc; /* a daemon on its own account */
        bool gw;  /* relayed by a gateway */
        const char *user, *group, *sid, *src;
        const void *authz;
        size_t authz_len;
};

/* A request to encode. args: args_obj when set, else the encoded args (raw,
 * raw_len > 0), else an empty map. to, tok and c are left out when NULL. */
struct bus_req_out {
        uint64_t id;
        const char *to;
        const char *m;
        int64_t t;
        const char *tok;
        size_t tok_len;
        const msgpack_object *args_obj;
        const void *args;
        size_t args_len;
        const struct bus_stamp *c;
};

/* An event to encode: data is encoded msgpack (NULL: an empty map); src is
 * left out when NULL; seq/tag/lost only when seq is not 0. */
struct bus_pub_out {
        const char *topic;
        int64_t ts;
        const char *src;
        const void *data;
        size_t data_len;
        uint64_t seq, tag, lost;
};

/* Encoders: each writes one whole message into w (initialised and empty).
 * An id is the sender's encoded id (any scalar); NULL writes nil. */
void bus_enc_simple(struct mpw *w, const char *kind); /* hb, who */
void bus_enc_hello(struct mpw *w, const char *name, const char *ver, int pid, const struct ds_method *const *tables);
void bus_enc_req(struct mpw *w, const struct bus_req_out *q);
void bus_enc_rep_ok(struct mpw *w, const void *id, size_t id_len, const void *r, size_t r_len);
void bus_enc_rep_err(struct mpw *w, const void *id, size_t id_len, int code, const char *msg, const char *field,
                     const char *reason);
/* A service's answer passed on under the client's id: ok, r and err as they came. */
void bus_enc_rep_relay(struct mpw *w, const void *id, size_t id_len, bool ok, const msgpack_object *r,
                       const msgpack_object *err);
/* The same with r and err as encoded bytes (NULL: left out). */
void bus_enc_rep_relay_raw(struct mpw *w, const void *id, size_t id_len, bool ok, const void *r, size_t r_len,
                           const void *err, size_t err_len);
void bus_enc_pub(struct mpw *w, const struct bus_pub_out *p);
/* A batch: begin, one add per event (topic, ts, src and data of p; seq, tag
 * and lost are not part of a batch), end. */
void bus_enc_pubs_begin(struct mpw *w);
void bus_enc_pubs_add(struct mpw *w, const struct bus_pub_out *p);
void bus_enc_pubs_end(struct mpw *w);
/* sub/unsub: id 0 and tok NULL are left out. */
void bus_enc_sub(struct mpw *w, const char *kind, const char *prefix, uint64_t id, const char *tok);
/* A service's sub that takes batches of events ("batch": true). */
void bus_enc_sub_batch(struct mpw *w, const char *prefix);
/* busd -> publisher: an hb saying it takes batches ("batch": true). */
void bus_enc_hb_batch(struct mpw *w);
/* busd -> peer: the subscription to prefix ended. */
void bus_enc_unsub_err(struct mpw *w, const char *prefix, int code, const char *msg);
void bus_enc_ack(struct mpw *w, uint64_t seq, uint64_t tag);
/* The stamp as a map value (after the key "c"). */
void bus_enc_stamp(struct mpw *w, const struct bus_stamp *c);

/* A decoded message: views into the msgpack object (borrowed) and copies of
 * the short strings. Only the fields of its kind are set. */
struct bus_msg {
        enum bus_kind kind;
        const msgpack_object *id; /* NULL when absent */
        int64_t nid;              /* id as an integer, -1 when it is not one */
        /* req */
        char to[BUS_NAME_MAX + 1]; /* "" when absent (BUS_DEC_ROUTE requires it) */
        char m[BUS_METHOD_MAX + 1];
        const msgpack_object *a, *c;
        const msgpack_object *tok; /* req: a non-empty string of at most BUS_TOKEN_MAX, or NULL */
        bool has_t;
        int64_t t;
        /* rep */
        bool ok;
        const msgpack_object *r, *err;
        /* id, req a, rep r and err as they came (bus_msg_decode_raw), else NULL */
        const char *id_raw, *a_raw, *r_raw, *err_raw;
        size_t id_raw_len, a_raw_len, r_raw_len, err_raw_len;
        /* pub */
        char topic[BUS_TOPIC_MAX + 1];
        bool has_ts;
        int64_t ts;
        char src[BUS_NAME_MAX + 1];
        const msgpack_object *data;
        const msgpack_object *evs; /* pub: a batch of 1..BUS_PUB_BATCH_MAX events (bus_dec_pub_ev) */
        uint64_t seq, tag, lost; /* pub (0: absent) and ack */
        bool batch;              /* sub: the subscriber takes batches; hb: busd takes them */
        /* sub, unsub: prefix; tok left raw (sub: checked for operators only) */
        char prefix[BUS_TOPIC_MAX + 1];
        const msgpack_object *sub_tok;
        /* hello */
        char name[BUS_NAME_MAX + 1];
        char ver[40];
        int pid;
        const msgpack_object *methods;
};

#define BUS_DEC_ROUTE 1u /* a request to route: "to" is required */

/* Decodes and checks one message. 0, or -EINVAL with e naming the field:
 * not a map or no kind ("k"), another protocol version ("v"), unknown kind
 * ("k", ret->kind NONE), or a malformed field of its kind (ret->kind set, and
 * the fields before the bad one filled in). */
int bus_msg_decode(const msgpack_object *o, unsigned flags, struct bus_msg *ret, struct ds_err *e);
/* One event of a batch (m->evs->via.array.ptr[i]) into ret: topic, ts, src
 * and data as for a single pub; -EINVAL (field "evs") when it is not one. */
int bus_dec_pub_ev(const msgpack_object *ev, struct bus_msg *ret, struct ds_err *e);
/* The same for o decoded from raw by mp_decode_spans() (spans of its
 * top-level entries): also sets a_raw, r_raw and err_raw. */
int bus_msg_decode_raw(const msgpack_object *o, const char *raw, const struct mp_span *spans, size_t n_spans,
                       unsigned flags, struct bus_msg *ret, struct ds_err *e);
/* Whether the encoded msgpack value p (n bytes, as mp_peek_id finds it) is an
 * id an answer may carry: a scalar, a string or bin of at most BUS_ID_MAX
 * bytes (the rule bus_msg_decode applies to a decoded id). */
bool bus_id_bytes_ok(const void *p, size_t n);
/* A token (req tok, sub tok): NULL or "" is no token (*ret NULL); else it must
 * be a string of at most BUS_TOKEN_MAX bytes. */
int bus_dec_tok(const msgpack_object *o, const msgpack_object **ret, struct ds_err *e);
/* One entry of a hello's method table: -EINVAL when unusable. */
int bus_dec_hello_method(const msgpack_object *o, char *name, size_t name_size, char *auth, size_t auth_size);
/* A rep's err map into ret; returns its code (-DS_EINTERNAL when it has none). */
int bus_dec_rep_err(const msgpack_object *err, struct ds_err *ret);
/* The stamp "c" into ret; a missing or mistyped stamp is an anonymous caller. */
void bus_dec_stamp(const msgpack_object *c, struct ds_caller *ret);
