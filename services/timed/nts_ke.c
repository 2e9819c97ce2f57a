/* nts_ke.c - NTS-KE records (RFC 8915 section 4): the client's request and a
 * strict parser of the server's response. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nts.h"

#define CRIT 0x8000

static uint16_t ke_get16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint8_t *put_rec(uint8_t *p, uint16_t type, const void *body, uint16_t len)
{
        p[0] = (uint8_t)(type >> 8);
        p[1] = (uint8_t)type;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        if (len)
                memcpy(p + 4, body, len);
        return p + 4 + len;
}

size_t nts_ke_request(uint8_t *buf, size_t cap)
{
        static const uint8_t proto[2] = { 0, NTS_PROTO_NTPV4 }, aead[2] = { 0, NTS_AEAD_SIV_CMAC_256 };
        uint8_t *p = buf;

        if (cap < 16)
                return 0;
        p = put_rec(p, CRIT | NTS_REC_NEXT_PROTO, proto, 2);
        p = put_rec(p, CRIT | NTS_REC_AEAD, aead, 2);
        p = put_rec(p, CRIT | NTS_REC_END, NULL, 0);
        return (size_t)(p - buf);
}

#define FAIL(msg)            \
        do {                 \
                *why = (msg); \
                return -EPROTO; \
        } while (0)

int nts_ke_parse(const uint8_t *buf, size_t len, struct nts_ke_result *ret, const char **why)
{
        struct nts_ke_result r;
        bool proto = false, aead = false, server = false, port = false;
        size_t off = 0;

        memset(&r, 0, sizeof r);
        *why = NULL;
        while (off + 4 <= len) {
                uint16_t type = ke_get16(buf + off) & ~CRIT, blen = ke_get16(buf + off + 2);
                bool crit = ke_get16(buf + off) & CRIT;
                const uint8_t *b = buf + off + 4;

                if (off + 4 + blen > len)
                        return -EAGAIN;
                off += 4u + blen;
                switch (type) {
                case NTS_REC_END:
                        if (blen != 0)
                                FAIL("end of message record with a body");
                        if (!crit)
                                FAIL("end of message record not critical");
                        if (off != len)
                                FAIL("data after the end of message");
                        if (!proto)
                                FAIL("no next protocol record");
                        if (!aead)
                                FAIL("no AEAD algorithm record");
                        if (r.ck.n == 0)
                                FAIL("no cookie");
                        *ret = r;
                        return 0;
                case NTS_REC_NEXT_PROTO:
                        if (proto)
                                FAIL("two next protocol records");
                        if (blen == 0)
                                FAIL("the server supports none of our protocols");
                        if (blen != 2 || ke_get16(b) != NTS_PROTO_NTPV4)
                                FAIL("next protocol is not NTPv4 alone");
                        proto = true;
                        break;
                case NTS_REC_ERROR:
                        if (blen != 2)
                                FAIL("error record of a bad size");
                        FAIL(ke_get16(b) == 0 ? "server error: unrecognized critical record"
                             : ke_get16(b) == 1 ? "server error: bad request"
                             : ke_get16(b) == 2 ? "server error: internal server error"
                                             : "server error: unknown code");
                case NTS_REC_WARNING:
                        FAIL("server warning (none is defined)");
                case NTS_REC_AEAD:
                        if (aead)
                                FAIL("two AEAD algorithm records");
                        if (blen != 2 || ke_get16(b) != NTS_AEAD_SIV_CMAC_256)
                                FAIL("AEAD algorithm is not AEAD_AES_SIV_CMAC_256 alone");
                        aead = true;
                        break;
                case NTS_REC_COOKIE:
                        if (blen < NTS_COOKIE_MIN || blen > NTS_COOKIE_MAX)
                                FAIL("cookie of a bad size");
                        if (r.ck.n >= NTS_COOKIES)
                                FAIL("more than 8 cookies");
                        memcpy(r.ck.c[r.ck.n], b, blen);
                        r.ck.len[r.ck.n++] = blen;
                        break;
                case NTS_REC_SERVER:
                        if (server)
                                FAIL("two NTPv4 server records");
                        if (blen == 0 || blen >= sizeof r.server)
                                FAIL("NTPv4 server name of a bad size");
                        for (uint16_t i = 0; i < blen; i++)
                                if (b[i] <= 0x20 || b[i] >= 0x7f)
                                        FAIL("NTPv4 server name is not printable ASCII");
                        memcpy(r.server, b, blen);
                        server = true;
                        break;
                case NTS_REC_PORT:
                        if (port)
                                FAIL("two NTPv4 port records");
                        if (blen != 2 || ke_get16(b) == 0)
                                FAIL("NTPv4 port record of a bad size or port 0");
                        r.port = ke_get16(b);
                        port = true;
                        break;
                default:
                        if (crit)
                                FAIL("unknown critical record");
                        break; /* unknown, not critical: ignored */
                }
        }
        if (len > NTS_KE_MAX)
                FAIL("response too large");
        return -EAGAIN;
}
