/* test_mp_diff - a differential fuzzer of the one-pass decoder: random and
 * mutated messages through mp_decode_spans()/bus_msg_decode_raw() and through
 * mp_check() + msgpack-c, which must agree (accepted or refused, the same
 * reason, the same objects, spans that hold exactly the values), each input
 * in a buffer of its own size so that a sanitizer sees any read past it.
 * The unit test is short and fixed (seed 1); MP_DIFF_ITERS and MP_DIFF_SEED
 * make a long run (build with -fsanitize=address,undefined for it). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"
#include "bus_proto.h"
#include "mp.h"

static uint64_t rng_s;

static uint32_t rnd(void)
{
        rng_s ^= rng_s << 13;
        rng_s ^= rng_s >> 7;
        rng_s ^= rng_s << 17;
        return (uint32_t)(rng_s >> 11);
}

static uint32_t below(uint32_t n)
{
        return n ? rnd() % n : 0;
}

/* ---- a generator of envelopes, in every encoding msgpack allows ---- */

struct gen {
        uint8_t *p;
        size_t n, cap;
};

static void put(struct gen *g, const void *d, size_t n)
{
        if (g->n + n > g->cap) {
                g->cap = (g->n + n) * 2 + 64;
                g->p = realloc(g->p, g->cap);
                assert_non_null(g->p);
        }
        memcpy(g->p + g->n, d, n);
        g->n += n;
}

static void put1(struct gen *g, uint8_t b)
{
        put(g, &b, 1);
}

static void put_be(struct gen *g, uint64_t v, int bytes)
{
        for (int i = bytes - 1; i >= 0; i--)
                put1(g, (uint8_t)(v >> (8 * i)));
}

/* a header of kind (str, bin, array, map) for n, in a random width that holds n */
static void put_len_hdr(struct gen *g, int kind, uint32_t n)
{
        static const uint8_t w8[] = {0xd9, 0xc4, 0, 0}, w16[] = {0xda, 0xc5, 0xdc, 0xde},
                             w32[] = {0xdb, 0xc6, 0xdd, 0xdf};
        uint32_t pick = below(4);

        if (kind != 1 && pick == 0 && n < (kind == 0 ? 32u : 16u)) {
                put1(g, (uint8_t)((kind == 0 ? 0xa0 : kind == 2 ? 0x90 : 0x80) | n));
                return;
        }
        if (w8[kind] && pick <= 1 && n <= 0xff) {
                put1(g, w8[kind]);
                put_be(g, n, 1);
        } else if (pick <= 2 && n <= 0xffff) {
                put1(g, w16[kind]);
                put_be(g, n, 2);
        } else {
                put1(g, w32[kind]);
                put_be(g, n, 4);
        }
}

static void put_str(struct gen *g, const char *s, size_t n)
{
        put_len_hdr(g, 0, (uint32_t)n);
        put(g, s, n);
}

static const char *const keys[] = {"k",     "v",      "id",    "to",      "m",    "a",     "c",   "tok",  "t",   "ok",
                                   "r",     "err",    "topic", "ts",      "src",  "data",  "evs", "seq",  "tag", "lost",
                                   "batch", "prefix", "name",  "methods", "user", "authz", "svc", "code", "msg", "x"};
static const char *const words[] = {"req",
                                    "rep",
                                    "pub",
                                    "sub",
                                    "hb",
                                    "hello",
                                    "authd",
                                    "logd",
                                    "log.event",
                                    "auth.reset.code",
                                    "auth.session.revoked",
                                    "user.list",
                                    "admin",
                                    "",
                                    "a.b"};

static void gen_value(struct gen *g, unsigned depth);

static void gen_map(struct gen *g, unsigned depth, uint32_t n, bool envelope)
{
        put_len_hdr(g, 3, n);
        for (uint32_t i = 0; i < n; i++) {
                const char *k = keys[below(sizeof keys / sizeof keys[0])];

                if (below(8) == 0)
                        gen_value(g, depth + 1); /* a key of any type */
                else
                        put_str(g, k, strlen(k));
                if (envelope && below(3) == 0) {
                        const char *w = words[below(sizeof words / sizeof words[0])];
                        put_str(g, w, strlen(w));
                } else {
                        gen_value(g, depth + 1);
                }
        }
}

static void gen_value(struct gen *g, unsigned depth)
{
        uint32_t t = below(depth > 6 ? 12 : 16);
        char s[80];
        uint32_t n;

        switch (t) {
        case 0:
                put1(g, (uint8_t)below(0x80));
                break;
        case 1:
                put1(g, (uint8_t)(0xe0 | below(32)));
                break;
        case 2:
                put1(g, (uint8_t)(0xc0 + (below(3) == 0 ? 0 : 2 + below(2))));
                break;
        case 3: { /* uint / int of every width */
                static const uint8_t tags[] = {0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3};
                uint8_t tg = tags[below(8)];
                put1(g, tg);
                put_be(g, ((uint64_t)rnd() << 32) | rnd(), 1 << (tg & 3));
                break;
        }
        case 4: /* float32 / float64 */
                if (below(2)) {
                        put1(g, 0xca);
                        put_be(g, rnd(), 4);
                } else {
                        put1(g, 0xcb);
                        put_be(g, ((uint64_t)rnd() << 32) | rnd(), 8);
                }
                break;
        case 5:
        case 6: {
                const char *w = words[below(sizeof words / sizeof words[0])];
                put_str(g, w, strlen(w));
                break;
        }
        case 7:
                n = below(40);
                for (uint32_t i = 0; i < n; i++)
                        s[i] = (char)(below(4) ? 'a' + below(26) : below(256));
                put_str(g, s, n);
                break;
        case 8: /* bin */
                n = below(20);
                put_len_hdr(g, 1, n);
                for (uint32_t i = 0; i < n; i++)
                        put1(g, (uint8_t)rnd());
                break;
        case 9: /* fixext */
                put1(g, (uint8_t)(0xd4 + below(5)));
                for (uint32_t i = 0, l = 1u + (1u << (g->p[g->n - 1] - 0xd4)); i < l; i++)
                        put1(g, (uint8_t)rnd());
                break;
        case 10: /* ext 8/16/32 */
                n = below(12);
                put1(g, (uint8_t)(0xc7 + below(3)));
                put_be(g, n, 1 << (g->p[g->n - 1] - 0xc7));
                put1(g, (uint8_t)rnd()); /* type */
                for (uint32_t i = 0; i < n; i++)
                        put1(g, (uint8_t)rnd());
                break;
        case 11:
                put1(g, (uint8_t)below(0x80));
                break;
        case 12:
        case 13:
                n = below(6);
                put_len_hdr(g, 2, n);
                for (uint32_t i = 0; i < n; i++)
                        gen_value(g, depth + 1);
                break;
        default:
                gen_map(g, depth, below(6), false);
                break;
        }
}

/* an envelope (a map with the bus's keys) or, now and then, anything */
static void gen_message(struct gen *g)
{
        g->n = 0;
        if (below(10) == 0)
                gen_value(g, 0);
        else
                gen_map(g, 0, 1 + below(20), true);
}

static void mutate(struct gen *g)
{
        uint32_t k = below(4);

        for (uint32_t j = 0; j <= k && g->n; j++)
                switch (below(6)) {
                case 0:
                        g->n = below((uint32_t)g->n);
                        break; /* truncated */
                case 1:
                        g->p[below((uint32_t)g->n)] ^= (uint8_t)(1u << below(8));
                        break; /* a bit */
                case 2:
                        g->p[below((uint32_t)g->n)] = (uint8_t)rnd();
                        break; /* a byte */
                case 3: {      /* a byte in */
                        size_t at = below((uint32_t)g->n + 1);
                        put1(g, 0);
                        memmove(g->p + at + 1, g->p + at, g->n - at - 1);
                        g->p[at] = (uint8_t)(below(2) ? rnd() : 0xc1 + below(0x1f));
                        break;
                }
                case 4: /* trailing bytes */
                        put1(g, (uint8_t)rnd());
                        break;
                default: /* a length header made larger */
                        for (size_t i = 0; i < g->n; i++)
                                if (g->p[i] == 0xd9 || g->p[i] == 0xdc || g->p[i] == 0xde || g->p[i] == 0xc4) {
                                        if (i + 1 < g->n)
                                                g->p[i + 1] = (uint8_t)(g->p[i + 1] + 1 + below(4));
                                        break;
                                }
                        break;
                }
}

/* ---- the comparison ---- */

static bool memeq(const void *a, const void *b, size_t n)
{
        return n == 0 || !memcmp(a, b, n);
}

/* the same object, type for type and bit for bit */
static bool same(const msgpack_object *a, const msgpack_object *b)
{
        if (a->type != b->type)
                return false;
        switch (a->type) {
        case MSGPACK_OBJECT_NIL:
                return true;
        case MSGPACK_OBJECT_BOOLEAN:
                return a->via.boolean == b->via.boolean;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                return a->via.u64 == b->via.u64;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                return a->via.i64 == b->via.i64;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                return !memcmp(&a->via.f64, &b->via.f64, sizeof a->via.f64);
        case MSGPACK_OBJECT_STR:
                return a->via.str.size == b->via.str.size && memeq(a->via.str.ptr, b->via.str.ptr, a->via.str.size);
        case MSGPACK_OBJECT_BIN:
                return a->via.bin.size == b->via.bin.size && memeq(a->via.bin.ptr, b->via.bin.ptr, a->via.bin.size);
        case MSGPACK_OBJECT_EXT:
                return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
                       memeq(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size);
        case MSGPACK_OBJECT_ARRAY:
                if (a->via.array.size != b->via.array.size)
                        return false;
                for (uint32_t i = 0; i < a->via.array.size; i++)
                        if (!same(&a->via.array.ptr[i], &b->via.array.ptr[i]))
                                return false;
                return true;
        case MSGPACK_OBJECT_MAP:
                if (a->via.map.size != b->via.map.size)
                        return false;
                for (uint32_t i = 0; i < a->via.map.size; i++)
                        if (!same(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key) ||
                            !same(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val))
                                return false;
                return true;
        }
        return false;
}

/* raw bytes that hold exactly one value, equal to o */
static bool raw_is(const char *raw, size_t n, const msgpack_object *o)
{
        msgpack_unpacked u;
        size_t off = 0, il = 0;
        bool ok;

        if (!o)
                return !raw;
        if (!raw || mp_item_len(raw, n, &il) < 0 || il != n)
                return false;
        msgpack_unpacked_init(&u);
        ok = msgpack_unpack_next(&u, raw, n, &off) == MSGPACK_UNPACK_SUCCESS && off == n && same(&u.data, o);
        msgpack_unpacked_destroy(&u);
        return ok;
}

struct diff_stats {
        unsigned long inputs, accepted, refused, envelopes;
};

#define FAIL_AT(what)                                                                                                  \
        do {                                                                                                           \
                fprintf(stderr, "disagreement: %s (input of %zu bytes:", what, len);                                   \
                for (size_t i_ = 0; i_ < len && i_ < 96; i_++)                                                         \
                        fprintf(stderr, " %02x", ((const uint8_t *)buf)[i_]);                                          \
                fprintf(stderr, ")\n");                                                                                \
                fail();                                                                                                \
        } while (0)

/* The bus's decoding of both objects: the same view of the envelope. */
static void check_envelope(const void *buf, size_t len, const msgpack_object *mine, const msgpack_object *ref,
                           const struct mp_span *spans, size_t n_spans)
{
        struct bus_msg a, b;
        struct ds_err ea, eb;
        int ra, rb;

        ds_err_clear(&ea);
        ds_err_clear(&eb);
        ra = bus_msg_decode_raw(mine, buf, spans, n_spans, BUS_DEC_ROUTE, &a, &ea);
        rb = bus_msg_decode(ref, BUS_DEC_ROUTE, &b, &eb);
        if (ra != rb || a.kind != b.kind || strcmp(ea.field, eb.field) || strcmp(a.to, b.to) || strcmp(a.m, b.m) ||
            strcmp(a.topic, b.topic) || strcmp(a.src, b.src) || a.ok != b.ok || a.nid != b.nid || !a.evs != !b.evs ||
            (a.evs && a.evs->via.array.size != b.evs->via.array.size))
                FAIL_AT("bus_msg_decode_raw and bus_msg_decode read the envelope differently");
        if (a.id_raw && !raw_is(a.id_raw, a.id_raw_len, a.id))
                FAIL_AT("the raw id is not the id the decoder saw");
        if (a.a_raw && !raw_is(a.a_raw, a.a_raw_len, a.a)) /* also a raw copy of an a not taken */
                FAIL_AT("the raw a is not the a the decoder saw");
        if ((a.r_raw && !raw_is(a.r_raw, a.r_raw_len, a.r)) || (a.err_raw && !raw_is(a.err_raw, a.err_raw_len, a.err)))
                FAIL_AT("the raw r or err is not what the decoder saw");
        if ((a.a && !same(a.a, b.a)) || (a.c && !same(a.c, b.c)) || (a.r && !same(a.r, b.r)))
                FAIL_AT("a field decoded differently");
        /* the values busd copies by peeking: the first of a repeated key, as mp_get */
        {
                static const char *const peeked[] = {"data", "evs", "id", "a", "c", "to"};

                for (size_t i = 0; i < sizeof peeked / sizeof peeked[0]; i++) {
                        const msgpack_object *v = mp_get(ref, peeked[i]);
                        const void *p = NULL;
                        size_t n = 0;
                        int r = mp_peek_value(buf, len, peeked[i], &p, &n);

                        if ((r == 0) != (v != NULL) || (v && !raw_is(p, n, v)))
                                FAIL_AT("mp_peek_value disagrees with mp_get");
                }
        }
}

/* One input: both decoders, then the bus's view. */
static void diff_one(const void *buf, size_t len, const struct mp_limits *lim, msgpack_zone *z, struct diff_stats *st)
{
        struct mp_span spans[16];
        msgpack_object mine;
        msgpack_unpacked u;
        const char *why_a = NULL, *why_b = NULL;
        const void *idp;
        size_t idn, off = 0;
        int ra, rb;

        st->inputs++;
        /* the peeks run on unchecked bytes too (a malformed message is still answered) */
        if (mp_peek_id(buf, len, &idp, &idn) == 0 &&
            ((const char *)idp < (const char *)buf || (const char *)idp + idn > (const char *)buf + len))
                FAIL_AT("mp_peek_id points outside the message");
        {
                /* on a well-formed map, the id peeked is mp_get's scalar id */
                msgpack_unpacked v;
                const msgpack_object *id;
                size_t o = 0;

                msgpack_unpacked_init(&v);
                if (mp_check(buf, len, NULL, &why_a) == 0 &&
                    msgpack_unpack_next(&v, buf, len, &o) == MSGPACK_UNPACK_SUCCESS && (id = mp_get(&v.data, "id")) &&
                    id->type != MSGPACK_OBJECT_ARRAY && id->type != MSGPACK_OBJECT_MAP &&
                    (mp_peek_id(buf, len, &idp, &idn) < 0 || !raw_is(idp, idn, id)))
                        FAIL_AT("mp_peek_id disagrees with mp_get");
                msgpack_unpacked_destroy(&v);
        }
        ra = mp_decode_spans(buf, len, lim, z, &mine, spans, 16, &why_a);
        rb = mp_check(buf, len, lim, &why_b);
        if (ra != rb && !(ra == -ENOMEM))
                FAIL_AT("mp_decode_spans and mp_check disagree on accepting");
        if (ra < 0) {
                if (strcmp(why_a, why_b))
                        FAIL_AT("mp_decode_spans and mp_check give different reasons");
                st->refused++;
                msgpack_zone_clear(z);
                return;
        }
        st->accepted++;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
                FAIL_AT("mp_check accepts what msgpack-c refuses");
        if (!same(&mine, &u.data))
                FAIL_AT("mp_decode_spans and msgpack-c decode different objects");
        if (mine.type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < mine.via.map.size && i < 16; i++)
                        if ((size_t)spans[i].off + spans[i].len > len ||
                            !raw_is((const char *)buf + spans[i].off, spans[i].len, &mine.via.map.ptr[i].val))
                                FAIL_AT("a span does not hold its entry's value");
        if (mine.type == MSGPACK_OBJECT_MAP) {
                st->envelopes++;
                check_envelope(buf, len, &mine, &u.data, spans, 16);
        }
        msgpack_unpacked_destroy(&u);
        msgpack_zone_clear(z);
}

static void diff_run(uint64_t seed, unsigned long iters, struct diff_stats *st)
{
        static const struct mp_limits small = {.max_msg = 1 << 12, .max_depth = 4, .max_items = 6, .max_str = 12};
        struct gen g = {0};
        msgpack_zone z;

        rng_s = seed ? seed : 1;
        assert_non_null(msgpack_zone_init(&z, MSGPACK_ZONE_CHUNK_SIZE));
        for (unsigned long i = 0; i < iters; i++) {
                const struct mp_limits *lim = below(4) == 0 ? &small : &mp_limits_default;
                uint8_t *copy;

                gen_message(&g);
                if (below(2))
                        mutate(&g);
                /* exactly its size, so that a read past the end is seen */
                copy = malloc(g.n ? g.n : 1);
                assert_non_null(copy);
                memcpy(copy, g.p, g.n);
                diff_one(copy, g.n, lim, &z, st);
                free(copy);
        }
        msgpack_zone_destroy(&z);
        free(g.p);
}

static void differential_fixed_seed(void **state)
{
        struct diff_stats st = {0};

        (void)state;
        diff_run(1, 5000, &st);
        /* both paths were exercised */
        assert_true(st.accepted > 500);
        assert_true(st.refused > 500);
        assert_true(st.envelopes > 500);
}

/* Hand-made cases the generator finds only rarely. */
static void differential_edges(void **state)
{
        static const struct mp_limits lim4 = {.max_msg = 64, .max_depth = 4, .max_items = 4, .max_str = 4};
        static const uint8_t cases[][20] = {
                {0xc7, 0x04, 0x01, 'a', 'b', 'c', 'd'},       /* ext8 of exactly max_str bytes */
                {0xc8, 0x00, 0x04, 0x01, 'a', 'b', 'c', 'd'}, /* ext16 */
                {0xd6, 0x01, 'a', 'b', 'c', 'd'},             /* fixext4 */
                {0xd9, 0x04, 'a', 'b', 'c', 'd'},             /* str8 of max_str */
                {0xc7, 0x05, 0x01, 'a', 'b', 'c', 'd', 'e'},  /* ext8 over max_str */
                {0xc7},                                       /* truncated headers */
                {0xc8, 0x00},
                {0xdf, 0x00, 0x00},
                {0x94, 0x90, 0x90, 0x90, 0x90},
                /* {["x", "data"]: 1, "data": 2}: a key that is an array */
                {0x82, 0x92, 0xa1, 'x', 0xa4, 'd', 'a', 't', 'a', 0x01, 0xa4, 'd', 'a', 't', 'a', 0x02},
                /* {["id"]: 1, "id": 2} */
                {0x82, 0x91, 0xa2, 'i', 'd', 0x01, 0xa2, 'i', 'd', 0x02},
        };
        static const size_t lens[] = {7, 8, 6, 6, 8, 1, 2, 3, 5, 16, 10};
        struct diff_stats st = {0};
        msgpack_zone z;

        (void)state;
        assert_non_null(msgpack_zone_init(&z, MSGPACK_ZONE_CHUNK_SIZE));
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                uint8_t *copy = malloc(lens[i]);

                memcpy(copy, cases[i], lens[i]);
                diff_one(copy, lens[i], &lim4, &z, &st);
                diff_one(copy, lens[i], NULL, &z, &st);
                free(copy);
        }
        msgpack_zone_destroy(&z);
}

static void differential_long(void **state)
{
        const char *n = getenv("MP_DIFF_ITERS"), *s = getenv("MP_DIFF_SEED");
        struct diff_stats st = {0};

        (void)state;
        if (!n) {
                skip();
                return;
        }
        diff_run(s ? strtoull(s, NULL, 0) : 2, strtoul(n, NULL, 0), &st);
        fprintf(stderr, "# %lu inputs: %lu accepted (%lu maps), %lu refused\n", st.inputs, st.accepted, st.envelopes,
                st.refused);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(differential_edges),
                cmocka_unit_test(differential_fixed_seed),
                cmocka_unit_test(differential_long),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
