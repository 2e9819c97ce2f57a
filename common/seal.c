/* seal.c - the store's frames, hash chain, time-bound forward-secure seal keys,
 * and a streaming verifier that names the first thing that does not check out. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mp.h"
#include "seal.h"
#include "util.h"

static uint32_t crc_table[256];

uint32_t seal_crc32c(uint32_t crc, const void *p, size_t n)
{
        const uint8_t *b = p;

        if (!crc_table[1])
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;
                        for (int k = 0; k < 8; k++)
                                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                        crc_table[i] = c;
                }
        crc = ~crc;
        while (n--)
                crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
        return ~crc;
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
        return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static void put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

int seal_frame_parse(const char *buf, size_t len, size_t off, struct seal_frame *f, size_t *ret_next)
{
        const uint8_t *p = (const uint8_t *)buf + off;
        uint32_t plen;
        size_t total;

        if (off + SEAL_FRAME_HDR > len)
                return -EAGAIN;
        plen = get32(p);
        if (plen > SEAL_PAYLOAD_MAX || (p[4] != SEAL_FRAME_RECORD && p[4] != SEAL_FRAME_SEAL) || p[5] || p[6] || p[7])
                return -EBADMSG;
        total = SEAL_FRAME_HDR + plen + SEAL_FRAME_TAIL;
        if (off + total > len)
                return -EAGAIN;
        if (seal_crc32c(0, p, total - 4) != get32(p + total - 4))
                return -EBADMSG;
        f->type = p[4];
        f->payload = (const char *)p + SEAL_FRAME_HDR;
        f->len = plen;
        f->tail = p + SEAL_FRAME_HDR + plen;
        *ret_next = off + total;
        return 0;
}

void seal_chain_next(const uint8_t prev[SEAL_HASH_LEN], const void *payload, size_t len, uint8_t out[SEAL_HASH_LEN])
{
        crypto_hash_sha256_state c;

        crypto_hash_sha256_init(&c);
        crypto_hash_sha256_update(&c, prev, SEAL_HASH_LEN);
        crypto_hash_sha256_update(&c, payload, len);
        crypto_hash_sha256_final(&c, out);
}

void seal_mac(const uint8_t key[SEAL_HASH_LEN], uint64_t epoch, uint64_t n, uint64_t seq,
              const uint8_t head[SEAL_HASH_LEN], uint8_t out[SEAL_HASH_LEN])
{
        uint8_t msg[12 + 24 + SEAL_HASH_LEN];
        crypto_auth_hmacsha256_state st;

        memcpy(msg, "devsec-seal2", 12);
        put64(msg + 12, epoch);
        put64(msg + 20, n);
        put64(msg + 28, seq);
        memcpy(msg + 36, head, SEAL_HASH_LEN);
        crypto_auth_hmacsha256_init(&st, key, SEAL_HASH_LEN);
        crypto_auth_hmacsha256_update(&st, msg, sizeof msg);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof st);
}

uint64_t seal_epoch_of(int64_t t0_ms, int64_t interval_ms, int64_t ts_ms)
{
        if (interval_ms <= 0 || ts_ms <= t0_ms)
                return 0;
        return (uint64_t)((ts_ms - t0_ms) / interval_ms);
}

/* ---- the key tree ------------------------------------------------------------ */

static void node_child(const struct seal_node *p, int bit, struct seal_node *c)
{
        crypto_hash_sha256_state h;
        uint8_t b = (uint8_t)bit;

        crypto_hash_sha256_init(&h);
        crypto_hash_sha256_update(&h, (const uint8_t *)"devsec-seal-node", 16);
        crypto_hash_sha256_update(&h, p->k, SEAL_HASH_LEN);
        crypto_hash_sha256_update(&h, &b, 1);
        crypto_hash_sha256_final(&h, c->k);
        sodium_memzero(&h, sizeof h);
        c->depth = (uint8_t)(p->depth + 1);
        c->prefix = p->prefix << 1 | (uint64_t)bit;
}

static uint64_t node_start(const struct seal_node *n)
{
        return n->prefix << (SEAL_TREE_DEPTH - n->depth);
}
static uint64_t node_end(const struct seal_node *n) /* exclusive; 2^DEPTH fits in 64 bits */
{
        return (n->prefix + 1) << (SEAL_TREE_DEPTH - n->depth);
}

void seal_key_init(struct seal_keystate *ks, const uint8_t k0[SEAL_HASH_LEN])
{
        memset(ks, 0, sizeof *ks);
        memcpy(ks->n[0].k, k0, SEAL_HASH_LEN);
        ks->count = 1;
        ks->epoch = 0;
}

int seal_key_seek(struct seal_keystate *ks, uint64_t epoch)
{
        struct seal_node node, sib[SEAL_TREE_DEPTH];
        size_t ns = 0;

        if (!ks->count || epoch >= (uint64_t)1 << SEAL_TREE_DEPTH)
                return -EINVAL;
        if (epoch < node_start(&ks->n[0]) || (epoch < ks->epoch && ks->n[0].depth == SEAL_TREE_DEPTH))
                return -EINVAL;
        /* drop what ends before the target */
        while (ks->count && node_end(&ks->n[0]) <= epoch) {
                sodium_memzero(&ks->n[0], sizeof ks->n[0]);
                memmove(&ks->n[0], &ks->n[1], (ks->count - 1) * sizeof ks->n[0]);
                ks->count--;
        }
        if (!ks->count)
                return -EINVAL;
        node = ks->n[0];
        sodium_memzero(&ks->n[0], sizeof ks->n[0]);
        while (node.depth < SEAL_TREE_DEPTH) {
                struct seal_node l, r;
                node_child(&node, 0, &l);
                node_child(&node, 1, &r);
                sodium_memzero(&node, sizeof node);
                if (epoch >= node_start(&r)) {
                        node = r;
                } else {
                        sib[ns++] = r; /* needed later: keep */
                        node = l;
                }
                sodium_memzero(&l, sizeof l);
                sodium_memzero(&r, sizeof r);
        }
        /* new front: the leaf, then the siblings deepest (earliest) first, then the rest */
        memmove(&ks->n[1 + ns], &ks->n[1], (ks->count - 1) * sizeof ks->n[0]);
        ks->n[0] = node;
        for (size_t i = 0; i < ns; i++)
                ks->n[1 + i] = sib[ns - 1 - i];
        ks->count += ns;
        ks->epoch = epoch;
        sodium_memzero(&node, sizeof node);
        sodium_memzero(sib, sizeof sib);
        return 0;
}

const uint8_t *seal_key_current(const struct seal_keystate *ks)
{
        return ks->n[0].k;
}

void seal_key_wipe(struct seal_keystate *ks)
{
        sodium_memzero(ks, sizeof *ks);
}

/* ---- the off-device key ------------------------------------------------------- */

int seal_vkey_parse(const char *text, struct seal_vkey *ret)
{
        struct seal_vkey k;
        char hex[65];
        long long t0, iv;
        int used = 0;

        while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
                text++;
        if (sscanf(text, "%64[0-9a-fA-F]/%lld/%lld%n", hex, &t0, &iv, &used) != 3 || strlen(hex) != 64 || t0 < 0 ||
            iv < 1000) {
                explicit_bzero(hex, sizeof hex);
                return -EINVAL;
        }
        for (const char *p = text + used; *p; p++)
                if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                        explicit_bzero(hex, sizeof hex);
                        return -EINVAL;
                }
        for (size_t i = 0; i < SEAL_HASH_LEN; i++) {
                unsigned b;
                sscanf(hex + 2 * i, "%2x", &b);
                k.k0[i] = (uint8_t)b;
        }
        k.t0_ms = t0;
        k.interval_ms = iv;
        *ret = k;
        explicit_bzero(&k, sizeof k);
        explicit_bzero(hex, sizeof hex);
        return 0;
}

int seal_vkey_format(const struct seal_vkey *k, char *buf, size_t size)
{
        char hex[2 * SEAL_HASH_LEN + 1];
        int n;

        ds_hex(k->k0, SEAL_HASH_LEN, hex);
        n = snprintf(buf, size, "%s/%lld/%lld", hex, (long long)k->t0_ms, (long long)k->interval_ms);
        explicit_bzero(hex, sizeof hex);
        return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

void seal_vkey_id(const struct seal_vkey *k, char out[33])
{
        crypto_hash_sha256_state h;
        uint8_t d[SEAL_HASH_LEN], tail[16];

        put64(tail, (uint64_t)k->t0_ms);
        put64(tail + 8, (uint64_t)k->interval_ms);
        crypto_hash_sha256_init(&h);
        crypto_hash_sha256_update(&h, (const uint8_t *)"devsec-seal-id", 14);
        crypto_hash_sha256_update(&h, k->k0, SEAL_HASH_LEN);
        crypto_hash_sha256_update(&h, tail, sizeof tail);
        crypto_hash_sha256_final(&h, d);
        ds_hex(d, 16, out);
}

/* ---- verification -------------------------------------------------------------- */

static const char *const kind_names[] = {
        [SEAL_V_OK] = "ok",
        [SEAL_V_CHECKSUM] = "checksum",
        [SEAL_V_CHAIN] = "chain",
        [SEAL_V_GAP] = "gap",
        [SEAL_V_REORDER] = "reordering",
        [SEAL_V_TRUNCATED] = "truncation",
        [SEAL_V_SEAL_MISSING] = "missing-seal",
        [SEAL_V_SEAL_BAD] = "bad-seal",
        [SEAL_V_SEGMENT] = "segment",
        [SEAL_V_REWRITTEN] = "rewritten",
        [SEAL_V_REPLAY] = "replay",
        [SEAL_V_PRUNE] = "unrecorded-prune",
};

const char *seal_vkind_name(enum seal_vkind k)
{
        return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "unknown";
}

struct seal_verifier {
        struct seal_vkey key;
        bool have_key, have_anchor, have_claims, stopped;
        struct seal_keystate ks;
        bool ks_init;
        struct seal_anchor anchor;
        struct seal_claims claims;
        struct seal_result r;
        uint8_t head[SEAL_HASH_LEN], seg0_prev[SEAL_HASH_LEN];
        uint64_t expected;
        size_t nseg;
        /* seals */
        bool have_seal;
        uint64_t last_epoch, next_n;
        /* the records since the last seal, for the time binding */
        bool pend_inorder;
        uint64_t pend_min_epoch, pend_min_seq; /* earliest epoch of a record not dated back */
        uint64_t pend_max_epoch, pend_max_seq;
        int64_t pend_min_ts, pend_max_ts;
        int64_t evidence_ms; /* the latest time the store shows the clock reached */
        /* prune records */
        uint64_t prune_seq; /* a prune record that accounts for the store's start (0: none) */
};

static int fail(struct seal_verifier *v, enum seal_vkind k, uint64_t at, const char *seg, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int fail(struct seal_verifier *v, enum seal_vkind k, uint64_t at, const char *seg, const char *fmt, ...)
{
        va_list ap;

        v->r.kind = k;
        v->r.at_seq = at;
        snprintf(v->r.segment, sizeof v->r.segment, "%s", seg ? seg : "");
        va_start(ap, fmt);
        vsnprintf(v->r.detail, sizeof v->r.detail, fmt, ap);
        va_end(ap);
        v->stopped = true;
        return 1;
}

int seal_verifier_new(const struct seal_vkey *key, const struct seal_anchor *anchor, const struct seal_claims *claims,
                      seal_verifier_t **ret)
{
        seal_verifier_t *v;

        if (sodium_init() < 0)
                return -EIO;
        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        if (key) {
                v->key = *key;
                v->have_key = true;
                v->r.seals_checked = true;
        }
        if (anchor && anchor->seq) {
                v->anchor = *anchor;
                v->have_anchor = true;
                v->r.anchor_given = true;
        }
        if (claims) {
                v->claims = *claims;
                v->have_claims = true;
        }
        v->expected = 1;
        *ret = v;
        return 0;
}

void seal_verifier_destroy(seal_verifier_t **vp)
{
        seal_verifier_t *v = vp ? *vp : NULL;

        if (!v)
                return;
        seal_key_wipe(&v->ks);
        sodium_memzero(v, sizeof *v);
        free(v);
        *vp = NULL;
}

/* seq, ts and an optional prune map {first_kept, head} of a record payload */
struct peek {
        uint64_t seq;
        int64_t ts;
        bool prune;
        uint64_t first_kept;
        uint8_t prune_head[SEAL_HASH_LEN];
};

static int rec_peek(const char *payload, size_t len, struct peek *p)
{
        msgpack_unpacked u;
        size_t off = 0;
        int r = -EBADMSG;

        memset(p, 0, sizeof *p);
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, payload, len, &off) == MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP) {
                const msgpack_object *pr = mp_get(&u.data, "prune");
                p->seq = (uint64_t)mp_get_int(&u.data, "seq", 0);
                p->ts = mp_get_int(&u.data, "ts", 0);
                if (pr && pr->type == MSGPACK_OBJECT_MAP) {
                        const msgpack_object *h = mp_get(pr, "head");
                        p->first_kept = (uint64_t)mp_get_int(pr, "first_kept", 0);
                        if (h && h->type == MSGPACK_OBJECT_BIN && h->via.bin.size == SEAL_HASH_LEN) {
                                memcpy(p->prune_head, h->via.bin.ptr, SEAL_HASH_LEN);
                                p->prune = p->first_kept > 0;
                        }
                }
                r = p->seq ? 0 : -EBADMSG;
        }
        msgpack_unpacked_destroy(&u);
        return r;
}

static bool appears_later(const char *buf, size_t len, size_t off, uint64_t seq)
{
        struct seal_frame f;
        struct peek p;
        size_t next;

        while (off < len && seal_frame_parse(buf, len, off, &f, &next) == 0) {
                if (f.type == SEAL_FRAME_RECORD && rec_peek(f.payload, f.len, &p) == 0 && p.seq == seq)
                        return true;
                off = next;
        }
        return false;
}

static const char *when(int64_t ms, char *buf, size_t size)
{
        ds_format_time(ms, buf, size);
        return buf;
}

static int64_t epoch_start(const struct seal_verifier *v, uint64_t e)
{
        return v->key.t0_ms + (int64_t)e * v->key.interval_ms;
}

static int check_seal(struct seal_verifier *v, const struct seal_frame *f, const char *seg)
{
        struct seal_result *r = &v->r;
        msgpack_unpacked u;
        uint64_t epoch, n, seq;
        size_t o = 0;
        bool okp;
        char t[40], a[40];

        msgpack_unpacked_init(&u);
        okp = msgpack_unpack_next(&u, f->payload, f->len, &o) == MSGPACK_UNPACK_SUCCESS &&
              u.data.type == MSGPACK_OBJECT_MAP && mp_get(&u.data, "n");
        epoch = okp ? (uint64_t)mp_get_int(&u.data, "epoch", 0) : 0;
        n = okp ? (uint64_t)mp_get_int(&u.data, "n", 0) : 0;
        seq = okp ? (uint64_t)mp_get_int(&u.data, "seq", 0) : 0;
        msgpack_unpacked_destroy(&u);
        if (!okp)
                return fail(v, SEAL_V_SEAL_BAD, r->verified_to, seg, "seal after record %" PRIu64 " does not decode",
                            r->verified_to);
        if (!v->have_seal ? r->first_seq == 1 && n != 0 : n != v->next_n) {
                uint64_t want = v->have_seal ? v->next_n : 0;
                return fail(v, n > want ? SEAL_V_SEAL_MISSING : SEAL_V_REORDER, r->verified_to, seg,
                            "seal %" PRIu64 " missing: found seal %" PRIu64 " after record %" PRIu64, want, n,
                            r->verified_to);
        }
        if (seq != r->verified_to)
                return fail(v, SEAL_V_SEAL_BAD, r->verified_to, seg,
                            "seal %" PRIu64 " covers record %" PRIu64 " but the chain is at record %" PRIu64, n, seq,
                            r->verified_to);
        if (v->have_seal && epoch < v->last_epoch)
                return fail(v, SEAL_V_REWRITTEN, seq, seg,
                            "rewritten: seal %" PRIu64 " is of epoch %" PRIu64 ", before epoch %" PRIu64
                            " of the seal before it",
                            n, epoch, v->last_epoch);
        if (v->have_key) {
                uint8_t mac[SEAL_HASH_LEN];
                int e;
                if (!v->ks_init) {
                        seal_key_init(&v->ks, v->key.k0);
                        v->ks_init = true;
                }
                e = seal_key_seek(&v->ks, epoch);
                if (e == 0)
                        seal_mac(seal_key_current(&v->ks), epoch, n, seq, v->head, mac);
                if (e < 0 || !ds_memeq(mac, f->tail, SEAL_HASH_LEN))
                        return fail(v, SEAL_V_SEAL_BAD, seq, seg,
                                    "seal %" PRIu64 " over record %" PRIu64 " does not verify with the key", n, seq);
                /* the time binding: a record is sealed in the epoch it was written in
                 * (a record dated back, after the clock stepped back, in a later one) */
                if (v->pend_inorder && v->pend_min_epoch < epoch)
                        return fail(v, SEAL_V_REWRITTEN, v->pend_min_seq, seg,
                                    "rewritten: record %" PRIu64 " dated %s (epoch %" PRIu64 ") is sealed by seal %" PRIu64
                                    " of epoch %" PRIu64 " (from %s): sealed later than its time allows, with a newer key",
                                    v->pend_min_seq, when(v->pend_min_ts, t, sizeof t), v->pend_min_epoch, n, epoch,
                                    when(epoch_start(v, epoch), a, sizeof a));
                if (r->verified_to > r->sealed_to && v->pend_max_epoch > epoch)
                        return fail(v, SEAL_V_REWRITTEN, v->pend_max_seq, seg,
                                    "rewritten: record %" PRIu64 " dated %s is later than the epoch %" PRIu64
                                    " of its seal %" PRIu64,
                                    v->pend_max_seq, when(v->pend_max_ts, t, sizeof t), epoch, n);
                if (epoch_start(v, epoch) > v->evidence_ms)
                        v->evidence_ms = epoch_start(v, epoch);
        }
        v->have_seal = true;
        v->last_epoch = epoch;
        v->next_n = n + 1;
        v->pend_inorder = false;
        v->pend_max_epoch = 0;
        r->sealed_to = seq;
        r->seals++;
        r->next = (struct seal_anchor){ .seq = seq, .epoch = epoch, .n = n };
        memcpy(r->next.head, v->head, SEAL_HASH_LEN);
        return 0;
}

static void note_time(struct seal_verifier *v, const struct peek *p)
{
        uint64_t e;

        if (!v->have_key)
                return;
        e = seal_epoch_of(v->key.t0_ms, v->key.interval_ms, p->ts);
        if (p->ts < v->evidence_ms) {
                v->r.late++; /* dated before what the store already showed: the clock stepped back */
        } else if (!v->pend_inorder || e < v->pend_min_epoch) {
                v->pend_inorder = true;
                v->pend_min_epoch = e;
                v->pend_min_seq = p->seq;
                v->pend_min_ts = p->ts;
        }
        if (v->r.verified_to == v->r.sealed_to || e > v->pend_max_epoch) {
                v->pend_max_epoch = e;
                v->pend_max_seq = p->seq;
                v->pend_max_ts = p->ts;
        }
        if (p->ts > v->evidence_ms)
                v->evidence_ms = p->ts;
}

int seal_verifier_segment(seal_verifier_t *v, const char *seg, const char *buf, size_t len)
{
        struct seal_result *r = &v->r;
        struct seal_frame f;
        struct peek p;
        size_t off, next;
        uint64_t first;
        char t[40];

        if (v->stopped)
                return 1;
        if (len < SEAL_SEG_HDR_LEN || memcmp(buf, SEAL_SEG_MAGIC, 8) ||
            seal_crc32c(0, buf, SEAL_SEG_HDR_LEN - 4) != get32((const uint8_t *)buf + SEAL_SEG_HDR_LEN - 4))
                return fail(v, SEAL_V_SEGMENT, v->expected, seg, "segment %s: bad header", seg);
        first = get64((const uint8_t *)buf + 8);
        if (v->nseg++ == 0) {
                memcpy(v->head, buf + 16, SEAL_HASH_LEN);
                memcpy(v->seg0_prev, buf + 16, SEAL_HASH_LEN);
                v->expected = first;
                r->first_seq = first;
                r->verified_to = first - 1;
                r->sealed_to = first - 1;
                if (v->have_anchor && v->anchor.seq + 1 == first && !ds_memeq(v->head, v->anchor.head, SEAL_HASH_LEN))
                        return fail(v, SEAL_V_REPLAY, first, seg,
                                    "replay: the store continues from a record %" PRIu64
                                    " that is not the one verified on %s (anchor)",
                                    v->anchor.seq, when(v->anchor.at_ms, t, sizeof t));
        } else if (first != v->expected) {
                return fail(v, first > v->expected ? SEAL_V_GAP : SEAL_V_REORDER, v->expected, seg,
                            "segment %s starts at record %" PRIu64 ", expected %" PRIu64, seg, first, v->expected);
        } else if (!ds_memeq(buf + 16, v->head, SEAL_HASH_LEN)) {
                return fail(v, SEAL_V_CHAIN, v->expected, seg,
                            "segment %s does not continue the chain of record %" PRIu64, seg, r->verified_to);
        }
        for (off = SEAL_SEG_HDR_LEN; off < len; off = next) {
                uint8_t h[SEAL_HASH_LEN];
                int e = seal_frame_parse(buf, len, off, &f, &next);

                if (e == -EAGAIN)
                        return fail(v, SEAL_V_TRUNCATED, v->expected, seg,
                                    "truncated: %s ends inside the record after %" PRIu64 " (offset %zu)", seg,
                                    r->verified_to, off);
                if (e < 0)
                        return fail(v, SEAL_V_CHECKSUM, v->expected, seg,
                                    "checksum mismatch: record %" PRIu64 " (%s offset %zu) was altered", v->expected,
                                    seg, off);
                if (f.type == SEAL_FRAME_SEAL) {
                        if (check_seal(v, &f, seg))
                                return 1;
                        continue;
                }
                if (rec_peek(f.payload, f.len, &p) < 0)
                        return fail(v, SEAL_V_CHECKSUM, v->expected, seg, "record %" PRIu64 " does not decode",
                                    v->expected);
                if (p.seq != v->expected) {
                        bool later = p.seq > v->expected && appears_later(buf, len, next, v->expected);
                        if (p.seq < v->expected || later)
                                return fail(v, SEAL_V_REORDER, v->expected, seg,
                                            "reordering: record %" PRIu64 " found where record %" PRIu64 " belongs",
                                            p.seq, v->expected);
                        return fail(v, SEAL_V_GAP, v->expected, seg,
                                    "gap: records %" PRIu64 "-%" PRIu64 " missing", v->expected, p.seq - 1);
                }
                seal_chain_next(v->head, f.payload, f.len, h);
                if (!ds_memeq(h, f.tail, SEAL_HASH_LEN))
                        return fail(v, SEAL_V_CHAIN, v->expected, seg,
                                    "chain broken at record %" PRIu64 ": its hash does not follow record %" PRIu64,
                                    v->expected, r->verified_to);
                memcpy(v->head, h, SEAL_HASH_LEN);
                if (v->have_anchor && p.seq == v->anchor.seq && !ds_memeq(h, v->anchor.head, SEAL_HASH_LEN))
                        return fail(v, SEAL_V_REPLAY, p.seq, seg,
                                    "replay: record %" PRIu64 " is not the record verified on %s (anchor): the "
                                    "store was rolled back or rewritten since",
                                    p.seq, when(v->anchor.at_ms, t, sizeof t));
                if (p.prune && p.first_kept == r->first_seq && ds_memeq(p.prune_head, v->seg0_prev, SEAL_HASH_LEN))
                        v->prune_seq = p.seq;
                note_time(v, &p);
                r->verified_to = v->expected;
                r->records++;
                v->expected++;
        }
        return 0;
}

void seal_verifier_finish(seal_verifier_t *v, struct seal_result *ret)
{
        struct seal_result *r = &v->r;
        char t[40];

        if (v->stopped)
                goto out;
        if (!v->nseg) {
                r->verified_to = r->sealed_to = 0;
                r->first_seq = 1;
        }
        if (v->have_anchor && r->verified_to < v->anchor.seq) {
                fail(v, SEAL_V_TRUNCATED, r->verified_to + 1, NULL,
                     "truncated: the store ends at record %" PRIu64 " but record %" PRIu64
                     " was verified on %s (anchor)",
                     r->verified_to, v->anchor.seq, when(v->anchor.at_ms, t, sizeof t));
        } else if (v->have_anchor && v->have_seal && v->next_n - 1 < v->anchor.n) {
                fail(v, SEAL_V_REPLAY, r->sealed_to, NULL,
                     "replay: the newest seal in the store is %" PRIu64 " but seal %" PRIu64
                     " was verified on %s (anchor): an older store was put back",
                     v->next_n - 1, v->anchor.n, when(v->anchor.at_ms, t, sizeof t));
        } else if (v->have_claims && r->verified_to < v->claims.sealed_seq) {
                fail(v, SEAL_V_TRUNCATED, r->verified_to + 1, NULL,
                     "truncated: the store ends at record %" PRIu64 " but records up to %" PRIu64 " were sealed",
                     r->verified_to, v->claims.sealed_seq);
        } else if (v->have_claims && r->verified_to < v->claims.last_seq) {
                fail(v, SEAL_V_TRUNCATED, r->verified_to + 1, NULL,
                     "truncated: the store ends at record %" PRIu64 " but record %" PRIu64 " was written",
                     r->verified_to, v->claims.last_seq);
        } else if (r->records && !r->seals) {
                fail(v, SEAL_V_SEAL_MISSING, r->verified_to, NULL, "missing seal: %" PRIu64 " records and no seal",
                     r->records);
        } else if (v->have_claims && v->have_seal && v->claims.seals_made > v->next_n) {
                fail(v, SEAL_V_SEAL_MISSING, r->sealed_to, NULL,
                     "missing seal: the last seal in the store is %" PRIu64 " but %" PRIu64 " seals were made",
                     v->next_n - 1, v->claims.seals_made);
        } else if (v->have_claims && r->sealed_to < v->claims.sealed_seq) {
                fail(v, SEAL_V_SEAL_MISSING, r->sealed_to + 1, NULL,
                     "missing seal: records %" PRIu64 "-%" PRIu64 " are not covered by a seal but were sealed",
                     r->sealed_to + 1, v->claims.sealed_seq);
        } else if (r->first_seq > 1 && !(v->prune_seq && v->prune_seq <= r->sealed_to)) {
                fail(v, SEAL_V_PRUNE, r->first_seq, NULL,
                     "unrecorded prune: records 1-%" PRIu64 " are not in the store and no sealed prune record "
                     "accounts for them",
                     r->first_seq - 1);
        } else {
                r->kind = SEAL_V_OK;
                if (r->first_seq > 1)
                        r->pruned_to = r->first_seq - 1;
                if (v->have_anchor && r->first_seq > v->anchor.seq + 1)
                        r->anchor_pruned = true;
        }
out:
        if (r->kind != SEAL_V_OK || !v->have_key)
                r->next.seq = 0;
        *ret = *r;
}
