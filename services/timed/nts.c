/* nts.c - NTS extension fields of NTPv4 packets (RFC 8915 section 5): the
 * request's unique identifier, cookie, placeholders and authenticator, and
 * the checks a reply passes before anything in it is believed. Pure: the
 * randomness is the only thing from outside. */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ntp.h"
#include "nts.h"
#include "util.h"

#define EF_UID 0x0104
#define EF_COOKIE 0x0204
#define EF_PLACEHOLDER 0x0304
#define EF_AUTH 0x0404

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static size_t pad4(size_t n)
{
        return (n + 3) & ~(size_t)3;
}

/* an extension field of body len (zero padded to 4), or NULL if it does not fit */
static uint8_t *put_ef(uint8_t *buf, size_t cap, size_t *off, uint16_t type, const void *body, size_t len)
{
        size_t el = 4 + pad4(len);
        uint8_t *p = buf + *off;

        if (el < 16 || *off + el > cap)
                return NULL;
        put16(p, type);
        put16(p + 2, el);
        memset(p + 4, 0, el - 4);
        if (body)
                memcpy(p + 4, body, len);
        *off += el;
        return p;
}

int nts_request_build(struct nts_assoc *a, uint8_t *buf, size_t cap)
{
        uint8_t nonce[NTS_NONCE_LEN], *auth;
        size_t off = NTP_PKT_LEN, clen;
        int ph, r;

        if (!a->have_keys || a->ck.n == 0)
                return -ENOENT;
        ds_random(a->uid, sizeof a->uid);
        if (!put_ef(buf, cap, &off, EF_UID, a->uid, sizeof a->uid))
                return -ENOSPC;
        /* each cookie once: taken out of the store as it goes out */
        a->ck.n--;
        clen = a->ck.len[a->ck.n];
        if (!put_ef(buf, cap, &off, EF_COOKIE, a->ck.c[a->ck.n], clen))
                return -ENOSPC;
        OPENSSL_cleanse(a->ck.c[a->ck.n], sizeof a->ck.c[0]);
        /* a placeholder as long as the cookie for each one missing: the
         * reply brings one cookie per cookie field and placeholder */
        for (ph = NTS_COOKIES - 1 - a->ck.n; ph > 0; ph--)
                if (!put_ef(buf, cap, &off, EF_PLACEHOLDER, NULL, clen))
                        return -ENOSPC;
        /* authenticator: nonce length, ciphertext length, nonce, ciphertext
         * (the tag of an empty plaintext); the AD is everything before it */
        if (off + 4 + 4 + NTS_NONCE_LEN + SIV_TAG_LEN > cap)
                return -ENOSPC;
        auth = buf + off;
        ds_random(nonce, sizeof nonce);
        put16(auth, EF_AUTH);
        put16(auth + 2, 4 + 4 + NTS_NONCE_LEN + SIV_TAG_LEN);
        put16(auth + 4, NTS_NONCE_LEN);
        put16(auth + 6, SIV_TAG_LEN);
        memcpy(auth + 8, nonce, NTS_NONCE_LEN);
        struct siv_ad ad[] = { { buf, off }, { nonce, sizeof nonce } };
        r = siv_encrypt(a->k.c2s, ad, 2, NULL, 0, auth + 8 + NTS_NONCE_LEN);
        if (r < 0)
                return r;
        a->uid_out = true;
        return (int)(off + 4 + 4 + NTS_NONCE_LEN + SIV_TAG_LEN);
}

/* The cookies inside a verified authenticator's plaintext. */
static int take_cookies(struct nts_assoc *a, const uint8_t *p, size_t len)
{
        struct nts_cookies ck = a->ck;
        size_t off = 0;

        while (off < len) {
                uint16_t type, el;

                if (off + 4 > len)
                        return -EBADMSG;
                type = get16(p + off);
                el = get16(p + off + 2);
                if (el < 16 || el % 4 || off + el > len)
                        return -EBADMSG;
                if (type == EF_COOKIE) {
                        size_t cl = el - 4u;
                        if (cl < NTS_COOKIE_MIN || cl > NTS_COOKIE_MAX)
                                return -EBADMSG;
                        if (ck.n < NTS_COOKIES) {
                                memcpy(ck.c[ck.n], p + off + 4, cl);
                                ck.len[ck.n++] = (uint16_t)cl;
                        }
                }
                off += el;
        }
        a->ck = ck;
        OPENSSL_cleanse(&ck, sizeof ck);
        return 0;
}

enum nts_verdict nts_reply_check(struct nts_assoc *a, const uint8_t *buf, size_t len)
{
        static const uint8_t zero[NTS_UID_LEN];
        uint8_t pt[NTS_PKT_MAX];
        bool uid_ok = false, nak;
        size_t off = NTP_PKT_LEN;

        if (!a->uid_out || !a->have_keys)
                return NTS_BAD_AUTH;
        nak = len >= NTP_PKT_LEN && buf[1] == 0 && !memcmp(buf + 12, "NTSN", 4);
        if (len <= NTP_PKT_LEN)
                return NTS_NO_AUTH;
        if (len > NTS_PKT_MAX)
                return NTS_BAD_AUTH;
        while (off < len) {
                uint16_t type, el;
                const uint8_t *b = buf + off + 4;

                if (off + 4 > len)
                        return NTS_BAD_AUTH;
                type = get16(buf + off);
                el = get16(buf + off + 2);
                if (el < 16 || el % 4 || off + el > len)
                        return NTS_BAD_AUTH;
                if (type == EF_UID) {
                        if (el - 4u != NTS_UID_LEN || CRYPTO_memcmp(b, a->uid, NTS_UID_LEN) ||
                            !CRYPTO_memcmp(a->uid, zero, NTS_UID_LEN))
                                return NTS_BAD_AUTH;
                        uid_ok = true;
                } else if (type == EF_AUTH) {
                        size_t nl, cl;
                        int r;

                        if (el < 8)
                                return NTS_BAD_AUTH;
                        nl = get16(b);
                        cl = get16(b + 2);
                        /* fields after the authenticator would not be covered by it */
                        if (nl < NTS_NONCE_LEN || cl < SIV_TAG_LEN || 4 + pad4(nl) + pad4(cl) > el - 4u ||
                            off + el != len || !uid_ok)
                                return NTS_BAD_AUTH;
                        if (cl - SIV_TAG_LEN > sizeof pt)
                                return NTS_BAD_AUTH;
                        struct siv_ad ad[] = { { buf, off }, { b + 4, nl } };
                        r = siv_decrypt(a->k.s2c, ad, 2, b + 4 + pad4(nl), cl, pt);
                        if (r < 0)
                                return NTS_BAD_AUTH;
                        r = take_cookies(a, pt, cl - SIV_TAG_LEN);
                        OPENSSL_cleanse(pt, sizeof pt);
                        if (r < 0)
                                return NTS_BAD_AUTH;
                        a->uid_out = false;
                        return NTS_OK;
                }
                off += el;
        }
        if (nak && uid_ok) {
                a->uid_out = false;
                return NTS_NAK;
        }
        return NTS_NO_AUTH;
}
