/* verify.c - walks the store and names the first thing that does not check out:
 * a checksum, the hash chain, a gap, a reordering, a truncation, a missing or bad seal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logd.h"
#include "util.h"

static const char *const kind_names[] = {
        [LOGD_V_OK] = "ok",
        [LOGD_V_CHECKSUM] = "checksum",
        [LOGD_V_CHAIN] = "chain",
        [LOGD_V_GAP] = "gap",
        [LOGD_V_REORDER] = "reordering",
        [LOGD_V_TRUNCATED] = "truncation",
        [LOGD_V_SEAL_MISSING] = "missing-seal",
        [LOGD_V_SEAL_BAD] = "bad-seal",
        [LOGD_V_SEGMENT] = "segment",
};

const char *logd_verify_kind_name(enum logd_verify_kind k)
{
        return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "unknown";
}

static uint64_t get64(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

/* Does a record with this seq appear later in buf? */
static bool appears_later(const char *buf, size_t len, size_t off, uint64_t seq, struct logd_rec *tmp)
{
        struct logd_frame f;
        size_t next;

        while (off < len && logd_frame_parse(buf, len, off, &f, &next) == 0) {
                if (f.type == LOGD_FRAME_RECORD && logd_rec_decode(f.payload, f.len, tmp) == 0 && tmp->seq == seq)
                        return true;
                off = next;
        }
        return false;
}

static int fail(struct logd_verify_result *v, enum logd_verify_kind k, uint64_t at, const char *seg, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
static int fail(struct logd_verify_result *v, enum logd_verify_kind k, uint64_t at, const char *seg, const char *fmt,
                ...)
{
        va_list ap;

        v->kind = k;
        v->at_seq = at;
        snprintf(v->segment, sizeof v->segment, "%s", seg ? seg : "");
        va_start(ap, fmt);
        vsnprintf(v->detail, sizeof v->detail, fmt, ap);
        va_end(ap);
        return 1;
}

struct walk {
        const logd_store_t *s;
        struct logd_verify_result *v;
        uint8_t head[LOGD_HASH_LEN];
        uint8_t key[LOGD_HASH_LEN];
        bool have_key, have_epoch;
        uint64_t expected, epoch;
        struct logd_rec *rec;
};

static int check_seal(struct walk *w, const struct logd_frame *f, const char *seg)
{
        struct logd_verify_result *v = w->v;
        msgpack_unpacked u;
        uint64_t epoch, seq;
        size_t o = 0;
        bool okp;

        msgpack_unpacked_init(&u);
        okp = msgpack_unpack_next(&u, f->payload, f->len, &o) == MSGPACK_UNPACK_SUCCESS;
        epoch = okp ? (uint64_t)mp_get_int(&u.data, "epoch", -1) : 0;
        seq = okp ? (uint64_t)mp_get_int(&u.data, "seq", 0) : 0;
        msgpack_unpacked_destroy(&u);
        if (!okp)
                return fail(v, LOGD_V_SEAL_BAD, v->verified_to, seg, "seal after record %llu does not decode",
                            (unsigned long long)v->verified_to);
        if (!w->have_epoch) {
                /* a complete store starts at seal 0; one whose oldest segments were
                 * pruned starts at the first seal present */
                w->epoch = w->s->segs[0].first == 1 ? 0 : epoch;
                w->have_epoch = true;
                if (w->have_key)
                        for (uint64_t k = 0; k < w->epoch; k++)
                                logd_key_evolve(w->key);
        }
        if (epoch != w->epoch)
                return fail(v, LOGD_V_SEAL_MISSING, v->verified_to, seg,
                            "seal %llu missing: found seal %llu after record %llu", (unsigned long long)w->epoch,
                            (unsigned long long)epoch, (unsigned long long)v->verified_to);
        if (seq != v->verified_to)
                return fail(v, LOGD_V_SEAL_BAD, v->verified_to, seg,
                            "seal %llu covers record %llu but the chain is at record %llu", (unsigned long long)epoch,
                            (unsigned long long)seq, (unsigned long long)v->verified_to);
        if (w->have_key) {
                uint8_t mac[LOGD_HASH_LEN];
                logd_seal_mac(w->key, epoch, seq, w->head, mac);
                if (!ds_memeq(mac, f->tail, LOGD_HASH_LEN))
                        return fail(v, LOGD_V_SEAL_BAD, seq, seg,
                                    "seal %llu over record %llu does not verify with the key",
                                    (unsigned long long)epoch, (unsigned long long)seq);
                logd_key_evolve(w->key);
        }
        w->epoch++;
        v->sealed_to = seq;
        v->seals++;
        return 0;
}

/* 1: stop (v says why), 0: go on, <0: error */
static int walk_segment(struct walk *w, size_t i)
{
        const logd_store_t *s = w->s;
        struct logd_verify_result *v = w->v;
        const char *seg = s->segs[i].name;
        char *buf = NULL;
        size_t len, off, next;
        struct logd_frame f;
        int r;

        r = logd_seg_load(s, i, &buf, &len);
        if (r < 0)
                return fail(v, LOGD_V_SEGMENT, w->expected, seg, "segment %s unreadable: %s", seg, strerror(-r));
        if (len < LOGD_SEG_HDR_LEN || memcmp(buf, LOGD_SEG_MAGIC, 8) ||
            logd_crc32c(0, buf, LOGD_SEG_HDR_LEN - 4) !=
                    (uint32_t)((uint8_t)buf[48] | (uint8_t)buf[49] << 8 | (uint8_t)buf[50] << 16 |
                               (uint32_t)(uint8_t)buf[51] << 24)) {
                r = fail(v, LOGD_V_SEGMENT, w->expected, seg, "segment %s: bad header", seg);
                goto out;
        }
        if (i == 0) {
                memcpy(w->head, buf + 16, LOGD_HASH_LEN);
                w->expected = get64((uint8_t *)buf + 8);
        } else if (get64((uint8_t *)buf + 8) != w->expected) {
                uint64_t first = get64((uint8_t *)buf + 8);
                r = fail(v, first > w->expected ? LOGD_V_GAP : LOGD_V_REORDER, w->expected, seg,
                         "segment %s starts at record %llu, expected %llu", seg, (unsigned long long)first,
                         (unsigned long long)w->expected);
                goto out;
        } else if (!ds_memeq(buf + 16, w->head, LOGD_HASH_LEN)) {
                r = fail(v, LOGD_V_CHAIN, w->expected, seg, "segment %s does not continue the chain of record %llu",
                         seg, (unsigned long long)v->verified_to);
                goto out;
        }
        for (off = LOGD_SEG_HDR_LEN; off < len; off = next) {
                r = logd_frame_parse(buf, len, off, &f, &next);
                if (r == -EAGAIN) {
                        r = fail(v, LOGD_V_TRUNCATED, w->expected, seg,
                                 "truncated: %s ends inside the record after %llu (offset %zu)", seg,
                                 (unsigned long long)v->verified_to, off);
                        goto out;
                }
                if (r < 0) {
                        r = fail(v, LOGD_V_CHECKSUM, w->expected, seg,
                                 "checksum mismatch: record %llu (%s offset %zu) was altered",
                                 (unsigned long long)w->expected, seg, off);
                        goto out;
                }
                if (f.type == LOGD_FRAME_SEAL) {
                        if ((r = check_seal(w, &f, seg)))
                                goto out;
                        continue;
                }
                if (logd_rec_decode(f.payload, f.len, w->rec) < 0) {
                        r = fail(v, LOGD_V_CHECKSUM, w->expected, seg, "record %llu does not decode",
                                 (unsigned long long)w->expected);
                        goto out;
                }
                if (w->rec->seq != w->expected) {
                        uint64_t got = w->rec->seq;
                        struct logd_rec *tmp = malloc(sizeof *tmp);
                        bool later = tmp && got > w->expected && appears_later(buf, len, next, w->expected, tmp);
                        free(tmp);
                        if (got < w->expected || later)
                                r = fail(v, LOGD_V_REORDER, w->expected, seg,
                                         "reordering: record %llu found where record %llu belongs",
                                         (unsigned long long)got, (unsigned long long)w->expected);
                        else
                                r = fail(v, LOGD_V_GAP, w->expected, seg, "gap: records %llu-%llu missing",
                                         (unsigned long long)w->expected, (unsigned long long)got - 1);
                        goto out;
                }
                {
                        uint8_t h[LOGD_HASH_LEN];
                        logd_chain_next(w->head, f.payload, f.len, h);
                        if (!ds_memeq(h, f.tail, LOGD_HASH_LEN)) {
                                r = fail(v, LOGD_V_CHAIN, w->expected, seg,
                                         "chain broken at record %llu: its hash does not follow record %llu",
                                         (unsigned long long)w->expected, (unsigned long long)v->verified_to);
                                goto out;
                        }
                        memcpy(w->head, h, LOGD_HASH_LEN);
                }
                v->verified_to = w->expected;
                v->records++;
                w->expected++;
        }
        r = 0;
out:
        free(buf);
        return r;
}

int logd_store_verify(const logd_store_t *s, const uint8_t *key, struct logd_verify_result *ret)
{
        struct logd_verify_result *v = ret;
        struct walk w = { .s = s, .v = v };
        int r = 0;

        memset(v, 0, sizeof *v);
        w.rec = malloc(sizeof *w.rec);
        if (!w.rec)
                return -ENOMEM;
        if (key) {
                memcpy(w.key, key, LOGD_HASH_LEN);
                w.have_key = true;
                v->seals_checked = true;
        }
        w.expected = s->n_segs ? s->segs[0].first : 1;
        v->verified_to = w.expected - 1;
        for (size_t i = 0; i < s->n_segs; i++) {
                r = walk_segment(&w, i);
                if (r)
                        goto out;
        }
        if (v->verified_to < s->sealed_seq) {
                fail(v, LOGD_V_TRUNCATED, v->verified_to + 1, NULL,
                     "truncated: the store ends at record %llu but records up to %llu were sealed",
                     (unsigned long long)v->verified_to, (unsigned long long)s->sealed_seq);
        } else if (v->verified_to < s->next_seq - 1) {
                fail(v, LOGD_V_TRUNCATED, v->verified_to + 1, NULL,
                     "truncated: the store ends at record %llu but record %llu was written",
                     (unsigned long long)v->verified_to, (unsigned long long)s->next_seq - 1);
        } else if (v->records && !v->seals) {
                fail(v, LOGD_V_SEAL_MISSING, v->verified_to, NULL, "missing seal: %llu records and no seal",
                     (unsigned long long)v->records);
        } else if (w.have_epoch && w.epoch < s->epoch) {
                fail(v, LOGD_V_SEAL_MISSING, v->sealed_to, NULL,
                     "missing seal: the last seal in the store is %llu but %llu seals were made",
                     (unsigned long long)w.epoch - 1, (unsigned long long)s->epoch);
        }
        r = 0;
out:
        explicit_bzero(w.key, sizeof w.key);
        free(w.rec);
        return r < 0 ? r : 0;
}
