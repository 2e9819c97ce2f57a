/* nts_bench.c - CPU per NTS-authenticated exchange on the client side:
 * building a request (unique identifier, cookie, placeholders, authenticator)
 * and checking the server's reply (authenticator opened, one cookie taken).
 * The server's reply is made once, outside the timed loop. Prints
 * "us_per_exchange us_per_plain_check". The sources are compiled in: they
 * are the daemon's own. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../services/timed/ntp.c"
#include "../../services/timed/nts.c"
#include "../../services/timed/siv.c"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a chronyd-like reply: header, the request's unique identifier, an
 * authenticator with one 104-byte cookie field under the S2C key */
static size_t reply(const struct nts_assoc *a, const uint8_t *req, uint8_t *out)
{
        uint8_t pt[104], nonce[16] = { 7 };
        size_t n = NTP_PKT_LEN;

        memset(out, 0, NTP_PKT_LEN);
        out[0] = 0x24, out[1] = 2;
        memcpy(out + 24, req + 40, 8);
        memcpy(out + n, req + NTP_PKT_LEN, 36);
        n += 36;
        memset(pt, 0x55, sizeof pt);
        pt[0] = 0x02, pt[1] = 0x04, pt[2] = 0, pt[3] = 104;
        out[n] = 0x04, out[n + 1] = 0x04, out[n + 2] = 0, out[n + 3] = 4 + 4 + 16 + 16 + 104;
        out[n + 4] = 0, out[n + 5] = 16, out[n + 6] = 0, out[n + 7] = 16 + 104;
        memcpy(out + n + 8, nonce, 16);
        struct siv_ad ad[] = { { out, n }, { nonce, 16 } };
        if (siv_encrypt(a->k.s2c, ad, 2, pt, sizeof pt, out + n + 24) < 0)
                return 0;
        return n + 4 + 4 + 16 + 16 + 104;
}

int main(int argc, char **argv)
{
        int rounds = argc > 1 ? atoi(argv[1]) : 20000;
        struct nts_assoc a = { .have_keys = true };
        uint8_t req[NTS_PKT_MAX], rep[NTS_PKT_MAX], plain[NTP_PKT_LEN];
        struct ntp_pkt p;
        double t0, t_nts, t_plain;
        size_t rl;

        memset(a.k.c2s, 1, sizeof a.k.c2s);
        memset(a.k.s2c, 2, sizeof a.k.s2c);
        for (int i = 0; i < NTS_COOKIES; i++) {
                memset(a.ck.c[i], i, 100);
                a.ck.len[i] = 100;
        }
        a.ck.n = NTS_COOKIES;
        ntp_request_build(req, 42);
        if (nts_request_build(&a, req, sizeof req) < 0 || !(rl = reply(&a, req, rep)))
                return 1;
        t0 = now_s();
        for (int i = 0; i < rounds; i++) {
                /* the same reply verifies again once the request carries the same unique id */
                uint8_t uid[NTS_UID_LEN];
                ntp_request_build(req, 42);
                if (nts_request_build(&a, req, sizeof req) < 0)
                        return 2;
                memcpy(uid, rep + NTP_PKT_LEN + 4, sizeof uid);
                memcpy(a.uid, uid, sizeof uid); /* as if the server had echoed this request's */
                if (nts_reply_check(&a, rep, rl) != NTS_OK)
                        return 3;
        }
        t_nts = (now_s() - t0) / rounds;
        memcpy(plain, rep, NTP_PKT_LEN);
        t0 = now_s();
        for (int i = 0; i < rounds; i++) {
                ntp_request_build(req, 42);
                if (ntp_check(plain, sizeof plain, 42, &p) == NTP_SHORT)
                        return 4;
        }
        t_plain = (now_s() - t0) / rounds;
        printf("%.3f %.3f\n", t_nts * 1e6, t_plain * 1e6);
        return 0;
}
