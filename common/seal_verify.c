/* seal_verify.c - the streaming verifier of the store format (seal.h): names the
 * first thing that does not check out. logd runs it without the key, devctl with it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "util.h"

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
        seal_hasher_t *hasher;
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
        if (!(v->hasher = seal_hasher_new())) {
                free(v);
                return -ENOMEM;
        }
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
        seal_hasher_destroy(&v->hasher);
        sodium_memzero(v, sizeof *v);
        free(v);
        *vp = NULL;
}

static bool appears_later(const char *buf, size_t len, size_t off, uint64_t seq)
{
        struct seal_frame f;
        struct seal_peek p;
        size_t next;

        while (off < len && seal_frame_parse(buf, len, off, &f, &next) == 0) {
                if (f.type == SEAL_FRAME_RECORD && seal_rec_peek(f.payload, f.len, &p) == 0 && p.seq == seq)
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
        struct seal_info si;
        uint64_t epoch, n, seq;
        bool okp;
        char t[40], a[40];

        okp = seal_info_decode(f->payload, f->len, &si) == 0;
        epoch = si.epoch;
        n = si.n;
        seq = si.seq;
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

static void note_time(struct seal_verifier *v, const struct seal_peek *p)
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
        struct seal_peek p;
        size_t off, next;
        uint64_t first;
        char t[40];

        if (v->stopped)
                return 1;
        if (seal_seg_header_parse(buf, len, &first, NULL) < 0)
                return fail(v, SEAL_V_SEGMENT, v->expected, seg, "segment %s: bad header", seg);
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
                if (seal_rec_peek(f.payload, f.len, &p) < 0)
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
                if (seal_chain_next(v->hasher, v->head, f.payload, f.len, h) < 0 || !ds_memeq(h, f.tail, SEAL_HASH_LEN))
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

bool seal_seg_starts_chain(const char *buf, size_t len)
{
        static const uint8_t zero[SEAL_HASH_LEN];

        return len >= SEAL_SEG_HDR_LEN && seal_seg_header_parse(buf, len, NULL, NULL) == 0 &&
               ds_memeq(buf + 16, zero, SEAL_HASH_LEN);
}

void seal_chain_closed(struct seal_result *r)
{
        if (r->kind != SEAL_V_OK || r->sealed_to == r->verified_to)
                return;
        r->kind = SEAL_V_SEAL_MISSING;
        r->at_seq = r->sealed_to + 1;
        r->next.seq = 0;
        snprintf(r->detail, sizeof r->detail,
                 "missing seal: a closed chain ends at record %" PRIu64 " but its final seal covers only %" PRIu64,
                 r->verified_to, r->sealed_to);
}
