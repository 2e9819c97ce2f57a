/* test_siv.c - AES-SIV-CMAC-256: RFC 5297 appendix A vectors, empty
 * associated data (CVE-2023-2975), empty plaintext, tampering */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siv.h"

static size_t unhex(const char *h, uint8_t *out)
{
        size_t n = 0;

        for (; h[0] && h[1]; h += 2) {
                unsigned v;
                sscanf(h, "%2x", &v);
                out[n++] = (uint8_t)v;
        }
        return n;
}

/* A.1: deterministic, one AD component */
static void t_rfc5297_a1(void **st)
{
        uint8_t key[32], ad[64], pt[64], want[64], out[64], back[64], tag[16];
        size_t nad, npt, nw;

        (void)st;
        unhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", key);
        nad = unhex("101112131415161718191a1b1c1d1e1f2021222324252627", ad);
        npt = unhex("112233445566778899aabbccddee", pt);
        nw = unhex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c", want);
        struct siv_ad a[] = { { ad, nad } };
        assert_int_equal(siv_encrypt(key, a, 1, pt, npt, out), 0);
        assert_memory_equal(out, want, nw);
        assert_int_equal(siv_s2v(key, a, 1, pt, npt, tag), 0); /* S2V for short plaintexts */
        assert_memory_equal(tag, want, 16);
        assert_int_equal(siv_decrypt(key, a, 1, out, nw, back), 0);
        assert_memory_equal(back, pt, npt);
}

/* A.2: nonce-based, two AD components and the nonce last */
static void t_rfc5297_a2(void **st)
{
        uint8_t key[32], ad1[64], ad2[16], nonce[16], pt[64], want[80], out[80], back[64], tag[16];
        size_t n1, n2, nn, npt, nw;

        (void)st;
        unhex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f", key);
        n1 = unhex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100", ad1);
        n2 = unhex("102030405060708090a0", ad2);
        nn = unhex("09f911029d74e35bd84156c5635688c0", nonce);
        npt = unhex("7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553",
                    pt);
        nw = unhex("7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829"
                   "ea64ad544a272e9c485b62a3fd5c0d",
                   want);
        struct siv_ad a[] = { { ad1, n1 }, { ad2, n2 }, { nonce, nn } };
        assert_int_equal(nw, npt + 16);
        assert_int_equal(siv_encrypt(key, a, 3, pt, npt, out), 0);
        assert_memory_equal(out, want, nw);
        assert_int_equal(siv_s2v(key, a, 3, pt, npt, tag), 0); /* S2V for long plaintexts (xorend) */
        assert_memory_equal(tag, want, 16);
        assert_int_equal(siv_decrypt(key, a, 3, out, nw, back), 0);
        assert_memory_equal(back, pt, npt);
        /* any flipped bit, of the tag, the ciphertext or the AD, fails */
        for (size_t i = 0; i < nw; i += 7) {
                out[i] ^= 0x10;
                assert_int_equal(siv_decrypt(key, a, 3, out, nw, back), -EBADMSG);
                out[i] ^= 0x10;
        }
        ad2[3] ^= 1;
        assert_int_equal(siv_decrypt(key, a, 3, out, nw, back), -EBADMSG);
        for (size_t i = 0; i < npt; i++)
                assert_int_equal(back[i], 0); /* nothing of a forgery is left */
}

/* CVE-2023-2975: OpenSSL before 3.0.10 ignored empty AD components, so a
 * message with an empty component verified without it. */
static void t_empty_ad(void **st)
{
        uint8_t key[32], nonce[16], pt[8] = "cookies", o1[24], o2[24], back[8];

        (void)st;
        memset(key, 0x42, sizeof key);
        memset(nonce, 0x17, sizeof nonce);
        struct siv_ad with[] = { { "", 0 }, { nonce, sizeof nonce } }, without[] = { { nonce, sizeof nonce } };
        assert_int_equal(siv_encrypt(key, with, 2, pt, sizeof pt, o1), 0);
        assert_int_equal(siv_encrypt(key, without, 1, pt, sizeof pt, o2), 0);
        assert_memory_not_equal(o1, o2, 16);
        assert_int_equal(siv_decrypt(key, without, 1, o1, sizeof o1, back), -EBADMSG);
        assert_int_equal(siv_decrypt(key, with, 2, o2, sizeof o2, back), -EBADMSG);
        assert_int_equal(siv_decrypt(key, with, 2, o1, sizeof o1, back), 0);
        /* our own S2V agrees with OpenSSL's on the empty component */
        uint8_t tag[16];
        assert_int_equal(siv_s2v(key, with, 2, pt, sizeof pt, tag), 0);
        assert_memory_equal(tag, o1, 16);
}

/* An NTS request: empty plaintext, the tag alone */
static void t_empty_plaintext(void **st)
{
        uint8_t key[32], hdr[48], nonce[16], out[16], other[16];

        (void)st;
        memset(key, 1, sizeof key);
        memset(hdr, 0x23, sizeof hdr);
        memset(nonce, 9, sizeof nonce);
        struct siv_ad a[] = { { hdr, sizeof hdr }, { nonce, sizeof nonce } };
        assert_int_equal(siv_encrypt(key, a, 2, NULL, 0, out), 0);
        assert_int_equal(siv_decrypt(key, a, 2, out, sizeof out, NULL), 0);
        nonce[0] ^= 1;
        assert_int_equal(siv_decrypt(key, a, 2, out, sizeof out, NULL), -EBADMSG);
        assert_int_equal(siv_encrypt(key, a, 2, NULL, 0, other), 0);
        assert_memory_not_equal(out, other, 16);
        assert_int_equal(siv_decrypt(key, a, 2, out, 15, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_rfc5297_a1),
                cmocka_unit_test(t_rfc5297_a2),
                cmocka_unit_test(t_empty_ad),
                cmocka_unit_test(t_empty_plaintext),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
