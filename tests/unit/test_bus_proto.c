/* test_bus_proto - the envelope codec: every kind round-trips through
 * bus_enc_* and bus_msg_decode(), every malformed shape is refused naming
 * the field, and the caller stamp (with gw) reads back as it was written. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "authz.h"
#include "bus.h"

struct dec {
        msgpack_unpacked u;
        struct bus_msg m;
        struct ds_err e;
        int r;
};

/* raw (a span's bytes) holds exactly the object o */
static void same_bytes(const char *raw, size_t len, const msgpack_object *o)
{
        msgpack_zone z;
        msgpack_object x;
        const char *why;

        assert_non_null(o);
        assert_true(msgpack_zone_init(&z, 256));
        assert_int_equal(mp_decode_zone(raw, len, NULL, &z, &x, &why), 0);
        assert_true(msgpack_object_equal(x, *o));
        msgpack_zone_destroy(&z);
}

/* busd's way: one walk (mp_decode_spans) and bus_msg_decode_raw() must
 * come to the same verdict and fields as mp_decode() + bus_msg_decode(),
 * and the raw bytes it keeps must be the values' */
static void same_as_raw(const struct mpw *w, unsigned flags, const struct dec *d)
{
        struct mp_span sp[16];
        msgpack_zone z;
        msgpack_object o;
        struct bus_msg m;
        struct ds_err e;
        const char *why;

        assert_true(msgpack_zone_init(&z, 1024));
        assert_int_equal(mp_decode_spans(mpw_data(w), mpw_len(w), NULL, &z, &o, sp, 16, &why), 0);
        ds_err_clear(&e);
        assert_int_equal(bus_msg_decode_raw(&o, mpw_data(w), sp, 16, flags, &m, &e), d->r);
        assert_int_equal(m.kind, d->m.kind);
        assert_int_equal(m.nid, d->m.nid);
        assert_int_equal(e.code, d->e.code);
        assert_string_equal(e.field, d->e.field);
        assert_string_equal(e.msg, d->e.msg);
        assert_string_equal(m.to, d->m.to);
        assert_string_equal(m.m, d->m.m);
        assert_int_equal(m.ok, d->m.ok);
        assert_int_equal(m.has_t, d->m.has_t);
        assert_int_equal(m.t, d->m.t);
        assert_int_equal(!m.tok, !d->m.tok);
        assert_int_equal(!m.a, !d->m.a);
        assert_int_equal(!m.r, !d->m.r);
        assert_int_equal(!m.err, !d->m.err);
        if (m.id_raw)
                same_bytes(m.id_raw, m.id_raw_len, d->m.id);
        if (m.a_raw)
                same_bytes(m.a_raw, m.a_raw_len, d->m.a);
        if (m.r_raw)
                same_bytes(m.r_raw, m.r_raw_len, d->m.r);
        if (m.err_raw)
                same_bytes(m.err_raw, m.err_raw_len, d->m.err);
        msgpack_zone_destroy(&z);
}

/* Decodes what w holds; the views in d->m live until dec_free(). */
static void dec(const struct mpw *w, unsigned flags, struct dec *d)
{
        const char *why;

        assert_int_equal(mpw_finish(w), 0);
        assert_int_equal(mp_decode(mpw_data(w), mpw_len(w), NULL, &d->u, &why), 0);
        ds_err_clear(&d->e);
        d->r = bus_msg_decode(&d->u.data, flags, &d->m, &d->e);
        same_as_raw(w, flags, d);
}

static void dec_free(struct dec *d, struct mpw *w)
{
        msgpack_unpacked_destroy(&d->u);
        mpw_free(w);
}

static void kind_of(const char *kind, enum bus_kind want)
{
        struct mpw w;
        struct dec d;

        mpw_init(&w);
        bus_enc_simple(&w, kind);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, want);
        dec_free(&d, &w);
}

static void simple_kinds(void **state)
{
        (void)state;
        kind_of(BUS_K_HB, BUS_KIND_HB);
        kind_of(BUS_K_WHO, BUS_KIND_WHO);
}

static int h_x(void *ctx, struct ds_call *c)
{
        (void)ctx;
        (void)c;
        return 0;
}

static void hello(void **state)
{
        static const struct ds_method t1[] = { DS_METHOD("a.b", NULL, h_x, AUTH_PUBLIC),
                                               DS_METHOD("user.add", NULL, h_x, "account+security"), { NULL } };
        const struct ds_method *tables[] = { t1, NULL };
        char n[BUS_METHOD_MAX + 1], au[DS_AUTHZ_SET_MAX + 1];
        struct mpw w;
        struct dec d;

        (void)state;
        mpw_init(&w);
        bus_enc_hello(&w, "testsvc", "1.2.3", 42, tables);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_HELLO);
        assert_string_equal(d.m.name, "testsvc");
        assert_string_equal(d.m.ver, "1.2.3");
        assert_int_equal(d.m.pid, 42);
        assert_non_null(d.m.methods);
        assert_int_equal(d.m.methods->via.array.size, 2);
        assert_int_equal(bus_dec_hello_method(&d.m.methods->via.array.ptr[1], n, sizeof n, au, sizeof au), 0);
        assert_string_equal(n, "user.add");
        assert_string_equal(au, "account+security");
        dec_free(&d, &w);
}

static void req_and_stamp(void **state)
{
        struct mpw a, w, authz;
        struct ds_caller c;
        struct dec d;

        (void)state;
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_str(&a, "name", "x");
        mpw_map_end(&a);
        mpw_init(&authz);
        mpw_arr_begin(&authz);
        mpw_str(&authz, "security");
        mpw_str(&authz, "account");
        mpw_arr_end(&authz);
        mpw_init(&w);
        bus_enc_req(&w, &(struct bus_req_out){
                                .id = 7, .to = "authd", .m = "user.add", .t = 1500, .tok = "tok123", .tok_len = 6,
                                .args = mpw_data(&a), .args_len = mpw_len(&a),
                                .c = &(struct bus_stamp){ .id = "webd", .gw = true, .user = "alice", .group = "admin",
                                                          .sid = "s1", .src = "10.0.0.5", .authz = mpw_data(&authz),
                                                          .authz_len = mpw_len(&authz) } });
        dec(&w, BUS_DEC_ROUTE, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_REQ);
        assert_int_equal(d.m.nid, 7);
        assert_string_equal(d.m.to, "authd");
        assert_string_equal(d.m.m, "user.add");
        assert_true(d.m.has_t);
        assert_int_equal(d.m.t, 1500);
        assert_non_null(d.m.tok);
        assert_memory_equal(d.m.tok->via.str.ptr, "tok123", 6);
        assert_true(mp_streq(mp_get(d.m.a, "name"), "x"));
        bus_dec_stamp(d.m.c, &c);
        assert_string_equal(c.id, "webd");
        assert_true(c.gateway);
        assert_false(c.svc);
        assert_string_equal(c.user, "alice");
        assert_string_equal(c.group, "admin");
        assert_string_equal(c.sid, "s1");
        assert_string_equal(c.source, "10.0.0.5");
        assert_int_equal(c.authz, ds_authz_bit("security", 8) | ds_authz_bit("account", 7));
        dec_free(&d, &w);
        /* a daemon's stamp: svc, nothing else; no args is an empty map */
        mpw_init(&w);
        bus_enc_req(&w, &(struct bus_req_out){ .id = 8, .m = "sys.ping", .t = 10,
                                               .c = &(struct bus_stamp){ .id = "netcfgd", .svc = true } });
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_null(d.m.tok);
        assert_int_equal(d.m.a->type, MSGPACK_OBJECT_MAP);
        assert_int_equal(d.m.a->via.map.size, 0);
        bus_dec_stamp(d.m.c, &c);
        assert_string_equal(c.id, "netcfgd");
        assert_true(c.svc);
        assert_false(c.gateway);
        assert_string_equal(c.user, "");
        assert_int_equal(c.authz, 0);
        dec_free(&d, &w);
        /* no stamp: an anonymous caller */
        bus_dec_stamp(NULL, &c);
        assert_string_equal(c.id, "");
        assert_false(c.svc || c.gateway);
        mpw_free(&a);
        mpw_free(&authz);
}

static void rep_kinds(void **state)
{
        struct mpw w, r, id;
        struct ds_err e;
        struct dec d;

        (void)state;
        mpw_init(&id);
        mpw_str(&id, "client-id"); /* any scalar */
        mpw_init(&r);
        mpw_map_begin(&r);
        mpw_kv_int(&r, "n", 3);
        mpw_map_end(&r);
        mpw_init(&w);
        bus_enc_rep_ok(&w, mpw_data(&id), mpw_len(&id), mpw_data(&r), mpw_len(&r));
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_REP);
        assert_true(d.m.ok);
        assert_true(mp_streq(d.m.id, "client-id"));
        assert_int_equal(d.m.nid, -1);
        assert_int_equal(mp_get_int(d.m.r, "n", 0), 3);
        dec_free(&d, &w);

        mpw_init(&w);
        bus_enc_rep_err(&w, NULL, 0, -EINVAL, "bad name", "name", "too-short");
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_false(d.m.ok);
        assert_int_equal(d.m.id->type, MSGPACK_OBJECT_NIL);
        assert_int_equal(bus_dec_rep_err(d.m.err, &e), -EINVAL);
        assert_string_equal(e.msg, "bad name");
        assert_string_equal(e.field, "name");
        assert_string_equal(e.reason, "too-short");
        {
                /* relayed under another id, unchanged */
                struct mpw w2;
                struct dec d2;

                struct mpw w3, ew;

                mpw_init(&w2);
                bus_enc_rep_relay(&w2, mpw_data(&id), mpw_len(&id), d.m.ok, d.m.r, d.m.err);
                /* busd copies err's bytes instead: the same message */
                mpw_init(&ew);
                mpw_obj(&ew, d.m.err);
                mpw_init(&w3);
                bus_enc_rep_relay_raw(&w3, mpw_data(&id), mpw_len(&id), d.m.ok, NULL, 0, mpw_data(&ew), mpw_len(&ew));
                assert_int_equal(mpw_len(&w3), mpw_len(&w2));
                assert_memory_equal(mpw_data(&w3), mpw_data(&w2), mpw_len(&w2));
                mpw_free(&w3);
                mpw_free(&ew);
                dec(&w2, 0, &d2);
                assert_int_equal(d2.r, 0);
                assert_true(mp_streq(d2.m.id, "client-id"));
                assert_int_equal(bus_dec_rep_err(d2.m.err, &e), -EINVAL);
                assert_string_equal(e.field, "name");
                dec_free(&d2, &w2);
        }
        dec_free(&d, &w);
        /* an err without a code is an internal error with the default message */
        assert_int_equal(bus_dec_rep_err(NULL, &e), -DS_EINTERNAL);
        assert_true(e.msg[0]);
        mpw_free(&r);
        mpw_free(&id);
}

static void pub_sub_ack(void **state)
{
        struct mpw w, data;
        struct dec d;

        (void)state;
        mpw_init(&data);
        mpw_map_begin(&data);
        mpw_kv_str(&data, "user", "bob");
        mpw_map_end(&data);
        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = "auth.login.failed", .ts = 1234, .src = "authd",
                                               .data = mpw_data(&data), .data_len = mpw_len(&data), .seq = 5,
                                               .tag = 99, .lost = 2 });
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_PUB);
        assert_string_equal(d.m.topic, "auth.login.failed");
        assert_true(d.m.has_ts);
        assert_int_equal(d.m.ts, 1234);
        assert_string_equal(d.m.src, "authd");
        assert_true(mp_streq(mp_get(d.m.data, "user"), "bob"));
        assert_int_equal(d.m.seq, 5);
        assert_int_equal(d.m.tag, 99);
        assert_int_equal(d.m.lost, 2);
        dec_free(&d, &w);
        /* a publisher's event: no src, no credit, empty data */
        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = "time.changed", .ts = 1 });
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_string_equal(d.m.src, "");
        assert_int_equal(d.m.seq, 0);
        assert_int_equal(d.m.data->type, MSGPACK_OBJECT_MAP);
        dec_free(&d, &w);

        mpw_init(&w);
        bus_enc_sub(&w, BUS_K_SUB, "log.", 11, "tok");
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_SUB);
        assert_string_equal(d.m.prefix, "log.");
        assert_int_equal(d.m.nid, 11);
        assert_true(mp_streq(d.m.sub_tok, "tok"));
        dec_free(&d, &w);

        mpw_init(&w);
        bus_enc_sub(&w, BUS_K_UNSUB, "", 0, NULL);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_UNSUB);
        assert_string_equal(d.m.prefix, "");
        assert_null(d.m.id);
        assert_null(d.m.sub_tok);
        dec_free(&d, &w);

        mpw_init(&w);
        bus_enc_unsub_err(&w, "auth.", -EPERM, "no longer");
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_UNSUB);
        {
                struct ds_err e;
                assert_int_equal(bus_dec_rep_err(d.m.err, &e), -EPERM);
                assert_string_equal(e.msg, "no longer");
        }
        dec_free(&d, &w);

        mpw_init(&w);
        bus_enc_ack(&w, 17, 0xfeedULL);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_ACK);
        assert_int_equal(d.m.seq, 17);
        assert_int_equal(d.m.tag, 0xfeed);
        dec_free(&d, &w);
        mpw_free(&data);
}

/* ---- malformed shapes ------------------------------------------------------ */

enum val { V_NONE, V_STR, V_INT, V_NEG, V_MAP, V_ARR, V_LONG, V_EMPTY, V_NODOT, V_BADNAME, V_ID64, V_ID65 };

struct bad {
        const char *kind; /* NULL: no "k" at all */
        unsigned flags;
        const char *key; /* the field set to val; others are valid */
        enum val val;
        const char *field; /* what the error must name */
};

static void put(struct mpw *w, enum val v, const char *s)
{
        char longs[600];

        switch (v) {
        case V_STR:
                mpw_str(w, s ? s : "x");
                break;
        case V_INT:
                mpw_int(w, 5);
                break;
        case V_NEG:
                mpw_int(w, -5);
                break;
        case V_MAP:
                mpw_map_begin(w);
                mpw_map_end(w);
                break;
        case V_ARR:
                mpw_arr_begin(w);
                mpw_arr_end(w);
                break;
        case V_LONG:
                memset(longs, 'a', sizeof longs - 1);
                longs[sizeof longs - 1] = '\0';
                mpw_str(w, longs);
                break;
        case V_EMPTY:
                mpw_str(w, "");
                break;
        case V_ID64: /* BUS_ID_MAX bytes, and one more */
        case V_ID65:
                memset(longs, 'i', sizeof longs);
                mpw_strn(w, longs, BUS_ID_MAX + (v == V_ID65));
                break;
        case V_NODOT:
                mpw_str(w, "nodot");
                break;
        case V_BADNAME:
                mpw_str(w, "-bad name");
                break;
        case V_NONE:
                break;
        }
}

/* A valid message of kind with key replaced by val (V_NONE: removed). */
static void build(struct mpw *w, const struct bad *b)
{
        static const struct {
                const char *kind, *key;
                enum val v;
                const char *s;
        } good[] = {
                { "req", "id", V_INT, NULL },       { "req", "to", V_STR, "svc" },   { "req", "m", V_STR, "a.b" },
                { "req", "tok", V_STR, "t" },       { "pub", "topic", V_STR, "x.y" }, { "sub", "prefix", V_STR, "x." },
                { "unsub", "prefix", V_STR, "x." }, { "ack", "seq", V_INT, NULL },    { "ack", "tag", V_INT, NULL },
                { "hello", "name", V_STR, "svc" },  { "hello", "methods", V_ARR, NULL },
        };

        mpw_map_begin(w);
        mpw_kv_int(w, "v", !strcmp(b->key, "v") ? 2 : BUS_PROTO_V);
        if (b->kind)
                mpw_kv_str(w, "k", b->kind);
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                if (!b->kind || strcmp(good[i].kind, b->kind))
                        continue;
                if (!strcmp(good[i].key, b->key)) {
                        if (b->val == V_NONE)
                                continue;
                        mpw_str(w, b->key);
                        put(w, b->val, NULL);
                } else {
                        mpw_str(w, good[i].key);
                        put(w, good[i].v, good[i].s);
                }
        }
        mpw_map_end(w);
}

static void malformed(void **state)
{
        static const struct bad cases[] = {
                { NULL, 0, "k", V_NONE, "k" },
                { "req", 0, "v", V_INT, "v" },
                { "nosuchkind", 0, "x", V_NONE, "k" },
                { "req", 0, "id", V_NONE, "id" },
                { "req", 0, "id", V_LONG, "id" }, /* over BUS_ID_MAX: busd would keep it while in flight */
                { "req", 0, "id", V_ID65, "id" },
                { "req", 0, "id", V_MAP, "id" },
                { "req", 0, "id", V_ARR, "id" },
                { "req", BUS_DEC_ROUTE, "to", V_NONE, "to" },
                { "req", BUS_DEC_ROUTE, "to", V_INT, "to" },
                { "req", BUS_DEC_ROUTE, "to", V_BADNAME, "to" },
                { "req", BUS_DEC_ROUTE, "to", V_LONG, "to" },
                { "req", 0, "m", V_NONE, "m" },
                { "req", 0, "m", V_MAP, "m" },
                { "req", 0, "m", V_NODOT, "m" },
                { "req", 0, "m", V_LONG, "m" },
                { "req", 0, "tok", V_INT, "tok" },
                { "req", 0, "tok", V_LONG, "tok" },
                { "pub", 0, "topic", V_NONE, "topic" },
                { "pub", 0, "topic", V_EMPTY, "topic" },
                { "pub", 0, "topic", V_INT, "topic" },
                { "pub", 0, "topic", V_LONG, "topic" },
                { "sub", 0, "prefix", V_NONE, "prefix" },
                { "sub", 0, "prefix", V_ARR, "prefix" },
                { "sub", 0, "prefix", V_LONG, "prefix" },
                { "unsub", 0, "prefix", V_INT, "prefix" },
                { "ack", 0, "seq", V_NONE, "seq" },
                { "ack", 0, "seq", V_NEG, "seq" },
                { "ack", 0, "seq", V_STR, "seq" },
                { "ack", 0, "tag", V_NONE, "tag" },
                { "ack", 0, "tag", V_MAP, "tag" },
                { "hello", 0, "name", V_NONE, "name" },
                { "hello", 0, "name", V_BADNAME, "name" },
                { "hello", 0, "name", V_LONG, "name" },
                { "hello", 0, "methods", V_NONE, "methods" },
                { "hello", 0, "methods", V_MAP, "methods" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct mpw w;
                struct dec d;

                mpw_init(&w);
                build(&w, &cases[i]);
                dec(&w, cases[i].flags, &d);
                if (d.r != -EINVAL || strcmp(d.e.field, cases[i].field))
                        fail_msg("case %zu (%s %s): r=%d field '%s', want EINVAL '%s'", i,
                                 cases[i].kind ? cases[i].kind : "-", cases[i].key, d.r, d.e.field, cases[i].field);
                if (!strcmp(cases[i].key, "id") && d.m.id)
                        fail_msg("case %zu: a refused id is kept (it would be echoed)", i);
                dec_free(&d, &w);
        }
        /* the valid base messages all decode */
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct bad ok = cases[i];
                struct mpw w;
                struct dec d;

                if (!ok.kind || !strcmp(ok.kind, "nosuchkind") || !strcmp(ok.key, "v"))
                        continue;
                ok.key = "none-of-them";
                mpw_init(&w);
                build(&w, &ok);
                dec(&w, BUS_DEC_ROUTE, &d);
                if (d.r != 0)
                        fail_msg("valid %s refused: %s: %s", ok.kind, d.e.field, d.e.msg);
                dec_free(&d, &w);
        }
        /* an id of BUS_ID_MAX bytes is one */
        {
                struct mpw w;
                struct dec d;

                mpw_init(&w);
                build(&w, &(struct bad){ "req", 0, "id", V_ID64, NULL });
                dec(&w, BUS_DEC_ROUTE, &d);
                assert_int_equal(d.r, 0);
                assert_true(d.m.id && d.m.id->type == MSGPACK_OBJECT_STR && d.m.id->via.str.size == BUS_ID_MAX);
                dec_free(&d, &w);
        }
        /* not a map at all */
        {
                struct mpw w;
                struct dec d;

                mpw_init(&w);
                mpw_arr_begin(&w);
                mpw_arr_end(&w);
                dec(&w, 0, &d);
                assert_int_equal(d.r, -EINVAL);
                assert_string_equal(d.e.field, "k");
                dec_free(&d, &w);
        }
}

/* ---- batches of events (a pub with evs) ------------------------------------ */

/* A pub whose evs is written by fn: its decode result (d.r, d.e), and
 * for each event bus_dec_pub_ev's result. */
static void batch_raw(struct mpw *w, void (*fn)(struct mpw *w, void *ud), void *ud)
{
        mpw_init(w);
        mpw_map_begin(w);
        mpw_kv_int(w, "v", BUS_PROTO_V);
        mpw_kv_str(w, "k", BUS_K_PUB);
        mpw_str(w, "evs");
        fn(w, ud);
        mpw_map_end(w);
}

static void evs_int(struct mpw *w, void *ud) { (void)ud; mpw_int(w, 3); }
static void evs_empty(struct mpw *w, void *ud) { (void)ud; mpw_arr_begin(w); mpw_arr_end(w); }
static void evs_many(struct mpw *w, void *ud)
{
        (void)ud;
        mpw_arr_begin(w);
        for (int i = 0; i <= BUS_PUB_BATCH_MAX; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "topic", "x.y");
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}

/* [valid, not a map, no topic, topic too long, topic not a string, empty topic] */
static void evs_mixed(struct mpw *w, void *ud)
{
        char longs[BUS_TOPIC_MAX + 2];

        (void)ud;
        memset(longs, 'a', sizeof longs - 1);
        longs[sizeof longs - 1] = '\0';
        mpw_arr_begin(w);
        mpw_map_begin(w);
        mpw_kv_str(w, "topic", "log.system");
        mpw_kv_int(w, "ts", 7);
        mpw_kv_str(w, "src", "forged"); /* a publisher's own claim: busd replaces it */
        mpw_str(w, "data");
        mpw_map_begin(w);
        mpw_kv_str(w, "msg", "one");
        mpw_map_end(w);
        mpw_map_end(w);
        mpw_str(w, "not a map");
        mpw_map_begin(w);
        mpw_kv_int(w, "ts", 1);
        mpw_map_end(w);
        mpw_map_begin(w);
        mpw_kv_str(w, "topic", longs);
        mpw_map_end(w);
        mpw_map_begin(w);
        mpw_kv_int(w, "topic", 5);
        mpw_map_end(w);
        mpw_map_begin(w);
        mpw_kv_str(w, "topic", "");
        mpw_map_end(w);
        mpw_arr_end(w);
}

static void batches(void **state)
{
        static const char data[] = "\x81\xa3msg\xa2hi"; /* {"msg": "hi"} */
        void (*const bad_shapes[])(struct mpw *, void *) = { evs_int, evs_empty, evs_many };
        struct bus_msg ev;
        struct ds_err e;
        struct mpw w;
        struct dec d;
        size_t n;
        const void *p;

        (void)state;
        /* what busd writes for a service: every event with its src and time */
        mpw_init(&w);
        bus_enc_pubs_begin(&w);
        bus_enc_pubs_add(&w, &(struct bus_pub_out){ .topic = "log.security", .ts = 1700000000123LL, .src = "authd",
                                                    .data = data, .data_len = sizeof data - 1 });
        bus_enc_pubs_add(&w, &(struct bus_pub_out){ .topic = "time.changed", .ts = -5, .src = "timed",
                                                    .seq = 9, .tag = 9 /* never part of a batch */ });
        bus_enc_pubs_end(&w);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_PUB);
        assert_non_null(d.m.evs);
        assert_int_equal(d.m.evs->via.array.size, 2);
        assert_int_equal(bus_dec_pub_ev(&d.m.evs->via.array.ptr[0], &ev, &e), 0);
        assert_string_equal(ev.topic, "log.security");
        assert_string_equal(ev.src, "authd");
        assert_true(ev.has_ts);
        assert_int_equal(ev.ts, 1700000000123LL);
        assert_true(mp_streq(mp_get(ev.data, "msg"), "hi"));
        assert_int_equal(bus_dec_pub_ev(&d.m.evs->via.array.ptr[1], &ev, &e), 0);
        assert_string_equal(ev.topic, "time.changed");
        assert_int_equal(ev.ts, -5);
        assert_int_equal(ev.seq, 0);
        assert_int_equal(ev.data->type, MSGPACK_OBJECT_MAP);
        /* the raw bytes of each event's data, as busd passes them on */
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w), "evs", &p, &n), 0);
        {
                const uint8_t *q = p;
                size_t il;

                q += 1; /* mpw writes arrays with 32-bit headers */
                if (*(const uint8_t *)p == 0xdd)
                        q += 4;
                assert_int_equal(mp_item_len(q, n - (size_t)(q - (const uint8_t *)p), &il), 0);
                assert_int_equal(mp_peek_value(q, il, "data", &p, &n), 0);
                assert_int_equal(n, sizeof data - 1);
                assert_memory_equal(p, data, n);
        }
        dec_free(&d, &w);

        /* evs that is not an array of 1..BUS_PUB_BATCH_MAX: the message is refused */
        for (size_t i = 0; i < sizeof bad_shapes / sizeof bad_shapes[0]; i++) {
                batch_raw(&w, bad_shapes[i], NULL);
                dec(&w, 0, &d);
                if (d.r != -EINVAL || strcmp(d.e.field, "evs"))
                        fail_msg("evs shape %zu: r=%d field '%s'", i, d.r, d.e.field);
                dec_free(&d, &w);
        }
        /* bad events: each refused on its own, naming evs; the good one stays */
        batch_raw(&w, evs_mixed, NULL);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.evs->via.array.size, 6);
        assert_int_equal(bus_dec_pub_ev(&d.m.evs->via.array.ptr[0], &ev, &e), 0);
        assert_string_equal(ev.topic, "log.system");
        for (uint32_t i = 1; i < 6; i++) {
                ds_err_clear(&e);
                if (bus_dec_pub_ev(&d.m.evs->via.array.ptr[i], &ev, &e) != -EINVAL || strcmp(e.field, "evs"))
                        fail_msg("bad event %u accepted", i);
        }
        assert_int_equal(bus_dec_pub_ev(NULL, &ev, &e), -EINVAL);
        dec_free(&d, &w);

        /* a pub with a topic and evs is a batch; an event's own evs is not nested */
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", BUS_PROTO_V);
        mpw_kv_str(&w, "k", BUS_K_PUB);
        mpw_kv_str(&w, "topic", "x.y");
        mpw_str(&w, "evs");
        mpw_arr_begin(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "topic", "a.b");
        mpw_str(&w, "evs");
        mpw_arr_begin(&w);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_non_null(d.m.evs);
        assert_int_equal(bus_dec_pub_ev(&d.m.evs->via.array.ptr[0], &ev, &e), 0);
        assert_string_equal(ev.topic, "a.b");
        assert_null(ev.evs);
        dec_free(&d, &w);

        /* the words that switch batches on, and their absence */
        mpw_init(&w);
        bus_enc_sub_batch(&w, "log.");
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_SUB);
        assert_string_equal(d.m.prefix, "log.");
        assert_true(d.m.batch);
        assert_null(d.m.id);
        dec_free(&d, &w);
        mpw_init(&w);
        bus_enc_sub(&w, BUS_K_SUB, "log.", 3, "tok");
        dec(&w, 0, &d);
        assert_false(d.m.batch);
        dec_free(&d, &w);
        mpw_init(&w);
        bus_enc_hb_batch(&w);
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_int_equal(d.m.kind, BUS_KIND_HB);
        assert_true(d.m.batch);
        dec_free(&d, &w);
        mpw_init(&w);
        bus_enc_simple(&w, BUS_K_HB);
        dec(&w, 0, &d);
        assert_false(d.m.batch);
        dec_free(&d, &w);
}

/* The one-pass pub encoder and decoder against odd values: long topics take
 * the general path, negative and large times survive, data defaults to {}. */
static void pub_fast_path(void **state)
{
        char topic[300];
        struct mpw w;
        struct dec d;
        const int64_t times[] = { 0, 127, 128, 255, 256, 65535, 65536, 4294967296LL, -1, -32, -33, -129, -40000,
                                  INT64_MIN, INT64_MAX };

        (void)state;
        for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
                mpw_init(&w);
                bus_enc_pub(&w, &(struct bus_pub_out){ .topic = "a.b", .ts = times[i], .src = "s" });
                dec(&w, 0, &d);
                assert_int_equal(d.r, 0);
                assert_true(d.m.has_ts);
                assert_true(d.m.ts == times[i]);
                dec_free(&d, &w);
        }
        memset(topic, 't', sizeof topic - 1);
        topic[sizeof topic - 1] = '\0';
        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = topic, .ts = 1, .seq = 3, .tag = 4, .lost = 1 });
        dec(&w, 0, &d);
        assert_int_equal(d.r, -EINVAL); /* longer than BUS_TOPIC_MAX: written, refused when read */
        assert_string_equal(d.e.field, "topic");
        dec_free(&d, &w);
        topic[40] = '\0'; /* a str8 header */
        mpw_init(&w);
        bus_enc_pub(&w, &(struct bus_pub_out){ .topic = topic, .ts = 1, .seq = 3, .tag = 4, .lost = 1 });
        dec(&w, 0, &d);
        assert_int_equal(d.r, 0);
        assert_string_equal(d.m.topic, topic);
        assert_int_equal(d.m.seq, 3);
        assert_int_equal(d.m.tag, 4);
        assert_int_equal(d.m.lost, 1);
        assert_int_equal(d.m.data->type, MSGPACK_OBJECT_MAP);
        assert_int_equal(d.m.data->via.map.size, 0);
        dec_free(&d, &w);
}

static void tokens(void **state)
{
        const msgpack_object *t = (void *)1;
        msgpack_object empty = { .type = MSGPACK_OBJECT_STR }, num = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
        struct ds_err e;

        (void)state;
        assert_int_equal(bus_dec_tok(NULL, &t, &e), 0);
        assert_null(t);
        assert_int_equal(bus_dec_tok(&empty, &t, &e), 0);
        assert_null(t);
        assert_int_equal(bus_dec_tok(&num, &t, &e), -EINVAL);
        assert_string_equal(e.field, "tok");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(simple_kinds), cmocka_unit_test(hello),       cmocka_unit_test(req_and_stamp),
                cmocka_unit_test(rep_kinds),    cmocka_unit_test(pub_sub_ack), cmocka_unit_test(malformed),
                cmocka_unit_test(tokens),
                cmocka_unit_test(batches),
                cmocka_unit_test(pub_fast_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
