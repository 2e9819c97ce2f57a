/* siv.h - AEAD_AES_SIV_CMAC_256 (RFC 5297) for NTS, from OpenSSL 3 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SIV_KEY_LEN 32
#define SIV_TAG_LEN 16

struct siv_ad {
        const void *p;
        size_t len;
};

/* Seals pt under the associated data components ad[0..n_ad-1] (the NTS nonce
 * is the last one): out gets the SIV tag || ciphertext, SIV_TAG_LEN + len
 * bytes. 0 or -EINVAL/-ENOMEM/-EIO. */
int siv_encrypt(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *pt, size_t len,
                uint8_t *out);
/* Opens in (tag || ciphertext, inlen >= SIV_TAG_LEN) into pt (inlen -
 * SIV_TAG_LEN bytes): 0, or -EBADMSG when it does not verify (pt is then
 * zeroed). */
int siv_decrypt(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *in, size_t inlen,
                uint8_t *pt);
/* S2V of RFC 5297 section 2.4 over the components and the plaintext, with
 * OpenSSL's CMAC: the tag of an empty plaintext, which OpenSSL's AES-SIV does
 * not compute (an empty update is skipped, so its final fails). */
int siv_s2v(const uint8_t key[SIV_KEY_LEN], const struct siv_ad *ad, int n_ad, const uint8_t *pt, size_t len,
            uint8_t tag[SIV_TAG_LEN]);
