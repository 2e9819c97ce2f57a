/* siv.c - AEAD_AES_SIV_CMAC_256 from OpenSSL 3 ("AES-128-SIV": a 32-byte key,
 * the first half for CMAC, the second for CTR). Associated data components go
 * in one EVP_*Update(NULL output) each, in order, the nonce last; the result
 * is tag || ciphertext as RFC 5297 and RFC 8915 want it.
 *
 * OpenSSL skips an update of zero plaintext bytes (the CVE-2023-2975 fix
 * kept empty *associated data* but not an empty message), so its final never
 * computes the tag of an empty plaintext -- the case of every NTS request.
 * That tag is S2V alone (the CTR part has nothing to encrypt), computed here
 * from OpenSSL's CMAC as RFC 5297 section 2.4 gives it; the unit test checks
 * it against OpenSSL's own tags. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "siv.h"

#define BLK 16

static EVP_MAC_CTX *cmac_new(const uint8_t k1[BLK])
{
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
        EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM prm[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
                             OSSL_PARAM_construct_end() };

        EVP_MAC_free(mac);
        if (c && !EVP_MAC_init(c, k1, BLK, prm)) {
                EVP_MAC_CTX_free(c);
                c = NULL;
        }
        return c;
}

/* CMAC(K1, a || b): the context is re-initialised with its key each time */
static int cmac(EVP_MAC_CTX *c, const void *a, size_t alen, const void *b, size_t blen, uint8_t out[BLK])
{
        size_t ol = 0;

        if (!EVP_MAC_init(c, NULL, 0, NULL) || (alen && !EVP_MAC_update(c, a, alen)) ||
            (blen && !EVP_MAC_update(c, b, blen)) || !EVP_MAC_final(c, out, &ol, BLK) || ol != BLK)
                return -EIO;
        return 0;
}

static void dbl(uint8_t d[BLK])
{
        uint8_t carry = d[0] >> 7;

        for (int i = 0; i < BLK - 1; i++)
                d[i] = (uint8_t)(d[i] << 1 | d[i + 1] >> 7);
        d[BLK - 1] = (uint8_t)(d[BLK - 1] << 1 ^ (carry ? 0x87 : 0));
}

int siv_s2v(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *pt, size_t len,
            uint8_t tag[SIV_TAG_LEN])
{
        static const uint8_t zero[BLK];
        EVP_MAC_CTX *c = cmac_new(key);
        uint8_t d[BLK], m[BLK], t[BLK];
        int r = -EIO;

        if (!c)
                return -ENOMEM;
        if (cmac(c, zero, BLK, NULL, 0, d) < 0)
                goto out;
        for (int i = 0; i < n_ad; i++) {
                if (cmac(c, ad[i].p, ad[i].len, NULL, 0, m) < 0)
                        goto out;
                dbl(d);
                for (int k = 0; k < BLK; k++)
                        d[k] ^= m[k];
        }
        if (len >= BLK) {
                /* Sn xorend D: the last block of Sn xored with D */
                memcpy(t, pt + len - BLK, BLK);
                for (int k = 0; k < BLK; k++)
                        t[k] ^= d[k];
                r = cmac(c, pt, len - BLK, t, BLK, tag);
        } else {
                dbl(d);
                memset(t, 0, BLK);
                if (len)
                        memcpy(t, pt, len);
                t[len] = 0x80;
                for (int k = 0; k < BLK; k++)
                        t[k] ^= d[k];
                r = cmac(c, t, BLK, NULL, 0, tag);
        }
out:
        OPENSSL_cleanse(d, sizeof d);
        OPENSSL_cleanse(t, sizeof t);
        EVP_MAC_CTX_free(c);
        return r;
}

static int siv_run(bool enc, const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *in,
                   size_t len, uint8_t *out, uint8_t tag[SIV_TAG_LEN])
{
        EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
        int ol = 0, r = -EIO;

        if (!ci || !x) {
                r = -ENOMEM;
                goto out;
        }
        if (len > (size_t)1 << 30 || !EVP_CipherInit_ex2(x, ci, key, NULL, enc, NULL))
                goto out;
        if (!enc && !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, SIV_TAG_LEN, tag))
                goto out;
        for (int i = 0; i < n_ad; i++)
                if (!EVP_CipherUpdate(x, NULL, &ol, ad[i].p, (int)ad[i].len))
                        goto out;
        /* decrypting, OpenSSL checks the tag in the update already */
        if (!EVP_CipherUpdate(x, out, &ol, in, (int)len) || (size_t)ol != len || !EVP_CipherFinal_ex(x, out + len, &ol)) {
                r = enc ? -EIO : -EBADMSG;
                goto out;
        }
        r = enc && !EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, SIV_TAG_LEN, tag) ? -EIO : 0;
out:
        EVP_CIPHER_CTX_free(x);
        EVP_CIPHER_free(ci);
        return r;
}

int siv_encrypt(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *pt, size_t len,
                uint8_t *out)
{
        if (n_ad < 0 || n_ad > 126)
                return -EINVAL;
        if (len == 0)
                return siv_s2v(key, ad, n_ad, NULL, 0, out);
        return siv_run(true, key, ad, n_ad, pt, len, out + SIV_TAG_LEN, out);
}

int siv_decrypt(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *in, size_t inlen,
                uint8_t *pt)
{
        uint8_t tag[SIV_TAG_LEN], v[SIV_TAG_LEN];
        int r;

        if (n_ad < 0 || n_ad > 126 || inlen < SIV_TAG_LEN)
                return -EINVAL;
        memcpy(tag, in, SIV_TAG_LEN);
        if (inlen == SIV_TAG_LEN) {
                r = siv_s2v(key, ad, n_ad, NULL, 0, v);
                if (r < 0)
                        return r;
                return CRYPTO_memcmp(v, tag, SIV_TAG_LEN) ? -EBADMSG : 0;
        }
        r = siv_run(false, key, ad, n_ad, in + SIV_TAG_LEN, inlen - SIV_TAG_LEN, pt, tag);
        if (r < 0)
                OPENSSL_cleanse(pt, inlen - SIV_TAG_LEN);
        return r;
}
