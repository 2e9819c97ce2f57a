/* test_nts.c - NTS-KE record parsing with bad inputs, and NTS extension
 * fields: a request as a server sees it, replies good, tampered, stripped,
 * NAKed */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "ntp.h"
#include "nts.h"

static size_t rec(uint8_t *p, int crit, uint16_t type, const void *body, uint16_t len)
{
        p[0] = (uint8_t)((crit ? 0x80 : 0) | type >> 8);
        p[1] = (uint8_t)type;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        if (len)
                memcpy(p + 4, body, len);
        return 4u + len;
}

static const uint8_t v0[2] = { 0, 0 }, v15[2] = { 0, 15 }, ck64[64] = { 7 };

/* a good response; ncookies cookies of clen bytes, then extra bytes before the end */
static size_t response(uint8_t *b, int ncookies, uint16_t clen, const uint8_t *extra, size_t elen)
{
        uint8_t ck[400];
        uint8_t port[2] = { 0x5e, 0xf3 };
        size_t n = 0;

        memset(ck, 0xc0, sizeof ck);
        n += rec(b + n, 1, NTS_REC_NEXT_PROTO, v0, 2);
        n += rec(b + n, 1, NTS_REC_AEAD, v15, 2);
        for (int i = 0; i < ncookies; i++) {
                ck[0] = (uint8_t)i;
                n += rec(b + n, 0, NTS_REC_COOKIE, ck, clen);
        }
        n += rec(b + n, 0, NTS_REC_PORT, port, 2);
        if (elen)
                memcpy(b + n, extra, elen), n += elen;
        n += rec(b + n, 1, NTS_REC_END, NULL, 0);
        return n;
}

static int parse(const uint8_t *b, size_t n, const char **why)
{
        struct nts_ke_result r;

        return nts_ke_parse(b, n, &r, why);
}

static void t_ke_request(void **st)
{
        uint8_t b[64];
        static const uint8_t want[] = { 0x80, 1, 0, 2, 0, 0, 0x80, 4, 0, 2, 0, 15, 0x80, 0, 0, 0 };

        (void)st;
        assert_int_equal(nts_ke_request(b, sizeof b), sizeof want);
        assert_memory_equal(b, want, sizeof want);
}

static void t_ke_good(void **st)
{
        uint8_t b[4096];
        struct nts_ke_result r;
        const uint8_t unknown[] = { 0x40, 0x01, 0, 4, 1, 2, 3, 4 }; /* type 0x4001, not critical */
        const char *why;
        size_t n = response(b, 8, 100, unknown, sizeof unknown);

        (void)st;
        assert_int_equal(nts_ke_parse(b, n, &r, &why), 0);
        assert_int_equal(r.ck.n, 8);
        assert_int_equal(r.ck.len[7], 100);
        assert_int_equal(r.ck.c[7][0], 7);
        assert_int_equal(r.port, 0x5ef3);
        /* every prefix is incomplete, never accepted nor refused */
        for (size_t k = 0; k < n; k++)
                assert_int_equal(nts_ke_parse(b, k, &r, &why), -EAGAIN);
}

static void t_ke_bad(void **st)
{
        uint8_t b[4096], x[16];
        const char *why;
        size_t n;

        (void)st;
        n = response(b, 9, 100, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        assert_string_equal(why, "more than 8 cookies");
        n = response(b, 0, 100, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        assert_string_equal(why, "no cookie");
        n = response(b, 1, 8, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO); /* too short */
        n = response(b, 1, 300, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO); /* too long */
        /* an unknown critical record aborts */
        n = response(b, 1, 100, x, rec(x, 1, 0x1234, "ab", 2));
        assert_int_equal(parse(b, n, &why), -EPROTO);
        assert_string_equal(why, "unknown critical record");
        /* an error record, a warning */
        n = response(b, 1, 100, x, rec(x, 1, NTS_REC_ERROR, (uint8_t[]){ 0, 1 }, 2));
        assert_int_equal(parse(b, n, &why), -EPROTO);
        assert_string_equal(why, "server error: bad request");
        n = response(b, 1, 100, x, rec(x, 1, NTS_REC_WARNING, (uint8_t[]){ 0, 1 }, 2));
        assert_int_equal(parse(b, n, &why), -EPROTO);
        /* a second AEAD record, another algorithm, another protocol */
        n = response(b, 1, 100, x, rec(x, 1, NTS_REC_AEAD, v15, 2));
        assert_int_equal(parse(b, n, &why), -EPROTO);
        n = rec(b, 1, NTS_REC_NEXT_PROTO, v0, 2);
        n += rec(b + n, 1, NTS_REC_AEAD, (uint8_t[]){ 0, 17 }, 2);
        n += rec(b + n, 0, NTS_REC_COOKIE, ck64, 64);
        n += rec(b + n, 1, NTS_REC_END, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        n = rec(b, 1, NTS_REC_NEXT_PROTO, (uint8_t[]){ 0x80, 0 }, 2);
        n += rec(b + n, 1, NTS_REC_AEAD, v15, 2);
        n += rec(b + n, 0, NTS_REC_COOKIE, ck64, 64);
        n += rec(b + n, 1, NTS_REC_END, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        /* no next protocol record at all */
        n = rec(b, 1, NTS_REC_AEAD, v15, 2);
        n += rec(b + n, 0, NTS_REC_COOKIE, ck64, 64);
        n += rec(b + n, 1, NTS_REC_END, NULL, 0);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        /* bytes after the end; an end that is not critical or has a body */
        n = response(b, 1, 100, NULL, 0);
        b[n] = 0;
        assert_int_equal(parse(b, n + 1, &why), -EPROTO);
        b[n - 4] = 0;
        assert_int_equal(parse(b, n, &why), -EPROTO);
        n = response(b, 1, 100, NULL, 0);
        b[n - 1] = 1, b[n] = 0;
        assert_int_equal(parse(b, n + 1, &why), -EPROTO);
        /* port 0, a port record of 3 bytes */
        n = response(b, 1, 100, x, rec(x, 0, NTS_REC_PORT, (uint8_t[]){ 0, 0 }, 2));
        assert_int_equal(parse(b, n, &why), -EPROTO); /* two port records */
        n = rec(b, 1, NTS_REC_NEXT_PROTO, v0, 2);
        n += rec(b + n, 1, NTS_REC_AEAD, v15, 2);
        n += rec(b + n, 0, NTS_REC_PORT, (uint8_t[]){ 0, 0 }, 2);
        assert_int_equal(parse(b, n, &why), -EPROTO);
        /* a server name with a control byte */
        n = response(b, 1, 100, x, rec(x, 0, NTS_REC_SERVER, "a\nb", 3));
        assert_int_equal(parse(b, n, &why), -EPROTO);
}

/* ---- NTP extension fields: the test plays the server ---- */

static uint16_t g16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static void assoc(struct nts_assoc *a, int ncookies)
{
        memset(a, 0, sizeof *a);
        memset(a->k.c2s, 0x11, sizeof a->k.c2s);
        memset(a->k.s2c, 0x22, sizeof a->k.s2c);
        for (int i = 0; i < ncookies; i++) {
                memset(a->ck.c[i], 0xa0 + i, 100);
                a->ck.len[i] = 100;
        }
        a->ck.n = ncookies;
        a->have_keys = true;
}

/* The server's reply to req: header, the request's unique identifier, and an
 * authenticator holding ncookies cookies, encrypted with the S2C key. */
static size_t server_reply(const struct nts_assoc *a, const uint8_t *req, size_t rlen, int ncookies, uint8_t *out)
{
        uint8_t pt[1024], nonce[16];
        size_t off = 0, n = NTP_PKT_LEN, ptl = 0;
        const uint8_t *uid = NULL;

        while (off + NTP_PKT_LEN < rlen) {
                const uint8_t *e = req + NTP_PKT_LEN + off;
                if (g16(e) == 0x0104)
                        uid = e;
                off += g16(e + 2);
        }
        assert_non_null(uid);
        memset(out, 0, NTP_PKT_LEN);
        out[0] = 0x24, out[1] = 2;
        memcpy(out + 24, req + 40, 8);
        memcpy(out + n, uid, 36);
        n += 36;
        for (int i = 0; i < ncookies; i++) {
                pt[ptl] = 0x02, pt[ptl + 1] = 0x04, pt[ptl + 2] = 0, pt[ptl + 3] = 104;
                memset(pt + ptl + 4, 0x50 + i, 100);
                ptl += 104;
        }
        memset(nonce, 0x33, sizeof nonce);
        out[n] = 0x04, out[n + 1] = 0x04;
        out[n + 2] = (uint8_t)((4 + 4 + 16 + 16 + ptl) >> 8), out[n + 3] = (uint8_t)(4 + 4 + 16 + 16 + ptl);
        out[n + 4] = 0, out[n + 5] = 16, out[n + 6] = (uint8_t)((16 + ptl) >> 8), out[n + 7] = (uint8_t)(16 + ptl);
        memcpy(out + n + 8, nonce, 16);
        struct siv_ad ad[] = { { out, n }, { nonce, 16 } };
        assert_int_equal(siv_encrypt(a->k.s2c, ad, 2, pt, ptl, out + n + 24), 0);
        return n + 4 + 4 + 16 + 16 + ptl;
}

static void t_request_fields(void **st)
{
        struct nts_assoc a;
        uint8_t b[NTS_PKT_MAX];
        int len, ph = 0, ck = 0, uid = 0;
        size_t off = NTP_PKT_LEN, auth = 0;

        (void)st;
        assoc(&a, 3);
        ntp_request_build(b, 0x0102030405060708ULL);
        len = nts_request_build(&a, b, sizeof b);
        assert_true(len > NTP_PKT_LEN);
        assert_int_equal(a.ck.n, 2); /* the cookie is used up */
        while (off < (size_t)len) {
                uint16_t t = g16(b + off), el = g16(b + off + 2);
                assert_true(el >= 16 && el % 4 == 0);
                if (t == 0x0104)
                        uid++, assert_int_equal(el, 36);
                if (t == 0x0204)
                        ck++, assert_memory_equal(b + off + 4, (uint8_t[100]){ [0 ... 99] = 0xa2 }, 100);
                if (t == 0x0304)
                        ph++, assert_int_equal(el, 104);
                if (t == 0x0404)
                        auth = off;
                off += el;
        }
        assert_int_equal(off, (size_t)len);
        assert_int_equal(uid, 1);
        assert_int_equal(ck, 1);
        assert_int_equal(ph, 5); /* 2 left + 1 back for the cookie + 5 = 8 */
        /* the authenticator verifies with the C2S key over everything before it */
        assert_int_equal(g16(b + auth + 4), 16);
        assert_int_equal(g16(b + auth + 6), 16);
        struct siv_ad ad[] = { { b, auth }, { b + auth + 8, 16 } };
        assert_int_equal(siv_decrypt(a.k.c2s, ad, 2, b + auth + 24, 16, NULL), 0);
        assert_int_equal(siv_decrypt(a.k.s2c, ad, 2, b + auth + 24, 16, NULL), -EBADMSG);
        /* no cookie, no request */
        assoc(&a, 0);
        assert_int_equal(nts_request_build(&a, b, sizeof b), -ENOENT);
}

static void t_reply(void **st)
{
        struct nts_assoc a, keep;
        uint8_t req[NTS_PKT_MAX], rep[NTS_PKT_MAX];
        int len;
        size_t n;

        (void)st;
        assoc(&a, 2);
        ntp_request_build(req, 42);
        len = nts_request_build(&a, req, sizeof req);
        keep = a;
        n = server_reply(&a, req, (size_t)len, 7, rep);
        assert_int_equal(nts_reply_check(&a, rep, n), NTS_OK);
        assert_int_equal(a.ck.n, 8);
        assert_int_equal(a.ck.c[7][0], 0x56);
        /* the same reply again: no request outstanding */
        assert_int_equal(nts_reply_check(&a, rep, n), NTS_BAD_AUTH);
        /* any flipped byte: header, unique id, authenticator */
        for (size_t i = 0; i < n; i += 5) {
                a = keep;
                rep[i] ^= 0x01;
                assert_int_not_equal(nts_reply_check(&a, rep, n), NTS_OK);
                assert_int_equal(a.ck.n, 1); /* no cookie taken from a forgery */
                rep[i] ^= 0x01;
        }
        /* stripped of its fields */
        a = keep;
        assert_int_equal(nts_reply_check(&a, rep, NTP_PKT_LEN), NTS_NO_AUTH);
        /* a field after the authenticator */
        a = keep;
        memset(rep + n, 0, 16);
        rep[n + 3] = 16;
        assert_int_equal(nts_reply_check(&a, rep, n + 16), NTS_BAD_AUTH);
        /* a length not a multiple of 4 */
        a = keep;
        rep[NTP_PKT_LEN + 3] = 37;
        assert_int_equal(nts_reply_check(&a, rep, n), NTS_BAD_AUTH);
        rep[NTP_PKT_LEN + 3] = 36;
        /* the wrong key */
        a = keep;
        a.k.s2c[0] ^= 1;
        assert_int_equal(nts_reply_check(&a, rep, n), NTS_BAD_AUTH);
}

static void t_nak(void **st)
{
        struct nts_assoc a, keep;
        uint8_t req[NTS_PKT_MAX], rep[NTS_PKT_MAX];
        int len;

        (void)st;
        assoc(&a, 1);
        ntp_request_build(req, 42);
        len = nts_request_build(&a, req, sizeof req);
        assert_true(len > 0);
        keep = a;
        memset(rep, 0, NTP_PKT_LEN);
        rep[0] = 0x24;
        memcpy(rep + 12, "NTSN", 4);
        memcpy(rep + NTP_PKT_LEN, req + NTP_PKT_LEN, 36); /* the unique identifier */
        assert_int_equal(nts_reply_check(&a, rep, NTP_PKT_LEN + 36), NTS_NAK);
        /* without our unique identifier it is not a NAK for us */
        a = keep;
        rep[NTP_PKT_LEN + 10] ^= 1;
        assert_int_equal(nts_reply_check(&a, rep, NTP_PKT_LEN + 36), NTS_BAD_AUTH);
        a = keep;
        assert_int_equal(nts_reply_check(&a, rep, NTP_PKT_LEN), NTS_NO_AUTH);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_ke_request), cmocka_unit_test(t_ke_good),   cmocka_unit_test(t_ke_bad),
                cmocka_unit_test(t_request_fields), cmocka_unit_test(t_reply), cmocka_unit_test(t_nak),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
