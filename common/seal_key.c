/* seal_key.c - the seals: a MAC over the chain head with time-bound,
 * forward-secure keys (a binary tree of hashes: an epoch's key derives only
 * later ones), and the verification key's text form */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "util.h"

void seal_mac(const uint8_t key[SEAL_HASH_LEN], uint64_t epoch, uint64_t n, uint64_t seq,
              const uint8_t head[SEAL_HASH_LEN], uint8_t out[SEAL_HASH_LEN])
{
        uint8_t msg[12 + 24 + SEAL_HASH_LEN];
        crypto_auth_hmacsha256_state st;

        memcpy(msg, "devsec-seal2", 12);
        seal_put64(msg + 12, epoch);
        seal_put64(msg + 20, n);
        seal_put64(msg + 28, seq);
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

        seal_put64(tail, (uint64_t)k->t0_ms);
        seal_put64(tail + 8, (uint64_t)k->interval_ms);
        crypto_hash_sha256_init(&h);
        crypto_hash_sha256_update(&h, (const uint8_t *)"devsec-seal-id", 14);
        crypto_hash_sha256_update(&h, k->k0, SEAL_HASH_LEN);
        crypto_hash_sha256_update(&h, tail, sizeof tail);
        crypto_hash_sha256_final(&h, d);
        ds_hex(d, 16, out);
}

