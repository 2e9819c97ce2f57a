/* ntp.c - RFC 5905 client mode: packets, per-packet checks, clock filter, selection, a server's host and port */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp.h"

const char *const ntp_verdict_names[NTP_N_VERDICTS] = {
        [NTP_OK] = "ok",
        [NTP_SHORT] = "short",
        [NTP_BAD_VERSION] = "bad_version",
        [NTP_BAD_MODE] = "bad_mode",
        [NTP_BAD_ORIGIN] = "bad_origin",
        [NTP_NO_AUTH] = "no_auth",
        [NTP_BAD_AUTH] = "bad_auth",
        [NTP_KOD_RATE] = "kod_rate",
        [NTP_KOD_DENY] = "kod_deny",
        [NTP_KOD_OTHER] = "kod_other",
        [NTP_NTS_NAK] = "nts_nak",
        [NTP_BAD_STRATUM] = "bad_stratum",
        [NTP_UNSYNC] = "unsynchronised",
        [NTP_BAD_TIME] = "bad_timestamp",
        [NTP_ROOT_DIST] = "root_distance",
};

/* no libm: the build links none */
static double sq_root(double x)
{
        double r = x > 1 ? x : 1;

        if (x <= 0)
                return 0;
        for (int i = 0; i < 100; i++) {
                double n = (r + x / r) / 2;
                if (n == r)
                        break;
                r = n;
        }
        return r;
}

static double pow2(int e)
{
        double r = 1;

        for (; e > 0; e--)
                r *= 2;
        for (; e < 0; e++)
                r /= 2;
        return r;
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
        return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t)v;
}

/* NTP short format 16.16 */
static double short_to_s(uint32_t v)
{
        return (double)v / 65536.0;
}

void ntp_request_build(uint8_t buf[NTP_PKT_LEN], uint64_t cookie)
{
        memset(buf, 0, NTP_PKT_LEN);
        buf[0] = 0 << 6 | 4 << 3 | 3; /* LI 0, version 4, mode 3 (client) */
        /* the transmit timestamp is random: it reveals nothing of our clock and
         * a reply must echo it as its origin, so blind spoofing fails */
        put64(buf + 40, cookie);
}

enum ntp_verdict ntp_check(const uint8_t *buf, size_t len, uint64_t cookie, struct ntp_pkt *ret)
{
        struct ntp_pkt p;

        if (len < NTP_PKT_LEN)
                return NTP_SHORT;
        memset(&p, 0, sizeof p);
        p.leap = buf[0] >> 6;
        p.version = (buf[0] >> 3) & 7;
        p.mode = buf[0] & 7;
        p.stratum = buf[1];
        p.poll = (int8_t)buf[2];
        p.precision = (int8_t)buf[3];
        p.root_delay = short_to_s(get32(buf + 4));
        p.root_disp = short_to_s(get32(buf + 8));
        for (int i = 0; i < 4; i++)
                p.refid[i] = buf[12 + i] >= 0x20 && buf[12 + i] < 0x7f ? (char)buf[12 + i] : '.';
        p.ref = get64(buf + 16);
        p.org = get64(buf + 24);
        p.rec = get64(buf + 32);
        p.xmt = get64(buf + 40);
        if (p.version < 1 || p.version > 4)
                return NTP_BAD_VERSION;
        if (p.mode != 4)
                return NTP_BAD_MODE;
        /* before anything else is believed, even a kiss: a spoofed DENY must not kill a source */
        if (cookie == 0 || p.org != cookie)
                return NTP_BAD_ORIGIN;
        *ret = p;
        if (p.stratum == 0) {
                if (!memcmp(buf + 12, "RATE", 4))
                        return NTP_KOD_RATE;
                if (!memcmp(buf + 12, "DENY", 4) || !memcmp(buf + 12, "RSTR", 4))
                        return NTP_KOD_DENY;
                return NTP_KOD_OTHER;
        }
        if (p.stratum > 15)
                return NTP_BAD_STRATUM;
        if (p.leap == 3)
                return NTP_UNSYNC;
        if (p.rec == 0 || p.xmt == 0)
                return NTP_BAD_TIME;
        return NTP_OK;
}

int64_t ntp_ts_to_unix_ns(uint64_t ts, int64_t near_ns)
{
        int64_t sec = (int64_t)(ts >> 32) - NTP_UNIX_OFFSET;
        int64_t frac = (int64_t)(((ts & 0xffffffffu) * 1000000000ULL) >> 32);
        int64_t era = 1LL << 32, near_s = near_ns / 1000000000LL;

        /* era ambiguity: the one nearest our own clock */
        while (sec < near_s - era / 2)
                sec += era;
        while (sec > near_s + era / 2)
                sec -= era;
        return sec * 1000000000LL + frac;
}

uint64_t ntp_unix_ns_to_ts(int64_t ns)
{
        int64_t sec = ns / 1000000000LL, rem = ns % 1000000000LL;

        if (rem < 0) {
                rem += 1000000000LL;
                sec--;
        }
        return (uint64_t)(uint32_t)(sec + NTP_UNIX_OFFSET) << 32 | (((uint64_t)rem << 32) / 1000000000ULL);
}

void ntp_sample_compute(const struct ntp_pkt *p, int64_t t1_ns, int64_t t4_ns, int64_t now_mono_ns,
                        struct ntp_sample *ret)
{
        int64_t t2 = ntp_ts_to_unix_ns(p->rec, t1_ns), t3 = ntp_ts_to_unix_ns(p->xmt, t4_ns);
        double prec = pow2(p->precision);

        /* differences first, in integers, so no precision is lost in doubles */
        ret->offset = ((double)(t2 - t1_ns) + (double)(t3 - t4_ns)) / 2e9;
        ret->delay = ((double)(t4_ns - t1_ns) - (double)(t3 - t2)) / 1e9;
        if (ret->delay < 0)
                ret->delay = 0;
        ret->disp = prec + NTP_PHI * (double)(t4_ns - t1_ns) / 1e9;
        ret->t_mono_ns = now_mono_ns;
}

void ntp_filter_add(struct ntp_filter *f, const struct ntp_sample *s)
{
        f->s[f->next] = *s;
        f->next = (f->next + 1) % NTP_FILTER;
        if (f->n < NTP_FILTER)
                f->n++;
}

int ntp_filter_best(const struct ntp_filter *f, int64_t now_mono_ns, struct ntp_sample *ret_best,
                    double *ret_jitter, double *ret_disp)
{
        unsigned idx[NTP_FILTER], k;
        double j = 0, off = 0;

        if (f->n == 0)
                return -ENOENT;
        /* by delay, least first (insertion sort: at most 8) */
        for (unsigned i = 0; i < f->n; i++) {
                unsigned p = i;
                while (p > 0 && f->s[idx[p - 1]].delay > f->s[i].delay) {
                        idx[p] = idx[p - 1];
                        p--;
                }
                idx[p] = i;
        }
        /* the least delay bounds the asymmetry error best; once there are
         * four samples, the mean of the lower-delay half also averages that
         * error down, as chrony's regression does */
        k = f->n >= 4 ? f->n / 2 : 1;
        for (unsigned i = 0; i < k; i++)
                off += f->s[idx[i]].offset;
        off /= k;
        for (unsigned i = 0; i < f->n; i++)
                if (i != idx[0])
                        j += (f->s[i].offset - off) * (f->s[i].offset - off);
        *ret_best = f->s[idx[0]];
        ret_best->offset = off;
        *ret_jitter = f->n > 1 ? sq_root(j / (f->n - 1)) : 0;
        *ret_disp = f->s[idx[0]].disp + NTP_PHI * (double)(now_mono_ns - f->s[idx[0]].t_mono_ns) / 1e9;
        return 0;
}

void ntp_filter_shift(struct ntp_filter *f, double delta)
{
        for (unsigned i = 0; i < f->n; i++)
                f->s[i].offset -= delta;
}

void ntp_filter_clear(struct ntp_filter *f)
{
        memset(f, 0, sizeof *f);
}

double ntp_root_distance(double root_delay, double root_disp, double delay, double disp, double jitter)
{
        double d = root_delay + delay;

        return (d > NTP_MINDISP ? d : NTP_MINDISP) / 2 + root_disp + disp + jitter;
}

struct edge {
        double v;
        int type; /* -1 lower, 0 midpoint, +1 upper */
};

static int edge_cmp(const void *a, const void *b)
{
        const struct edge *x = a, *y = b;

        if (x->v != y->v)
                return x->v < y->v ? -1 : 1;
        return x->type - y->type;
}

int ntp_select(struct ntp_cand *c, int n, double *ret_offset, int *ret_best)
{
        struct edge e[3 * 8];
        double low = 0, high = 0, wsum = 0, osum = 0;
        int allow, survivors = 0, best = -1;

        if (n <= 0 || n > 8)
                return 0;
        for (int i = 0; i < n; i++) {
                c[i].truechimer = false;
                e[3 * i] = (struct edge){ c[i].offset - c[i].rootdist, -1 };
                e[3 * i + 1] = (struct edge){ c[i].offset, 0 };
                e[3 * i + 2] = (struct edge){ c[i].offset + c[i].rootdist, +1 };
        }
        qsort(e, (size_t)(3 * n), sizeof *e, edge_cmp);
        /* the smallest number of falsetickers that leaves a non-empty intersection */
        for (allow = 0; 2 * allow < n; allow++) {
                int found = 0, chime = 0;

                for (int i = 0; i < 3 * n; i++) {
                        chime -= e[i].type;
                        if (chime >= n - allow) {
                                low = e[i].v;
                                break;
                        }
                        if (e[i].type == 0)
                                found++;
                }
                chime = 0;
                for (int i = 3 * n - 1; i >= 0; i--) {
                        chime += e[i].type;
                        if (chime >= n - allow) {
                                high = e[i].v;
                                break;
                        }
                        if (e[i].type == 0)
                                found++;
                }
                if (found <= allow && low <= high)
                        break;
        }
        if (2 * allow >= n)
                return 0;
        for (int i = 0; i < n; i++) {
                /* a truechimer's interval reaches into the intersection */
                if (c[i].offset + c[i].rootdist < low || c[i].offset - c[i].rootdist > high)
                        continue;
                c[i].truechimer = true;
                survivors++;
                wsum += 1 / c[i].rootdist;
                osum += c[i].offset / c[i].rootdist;
                if (best < 0 || c[i].rootdist < c[best].rootdist)
                        best = i;
        }
        if (!survivors)
                return 0;
        *ret_offset = osum / wsum;
        *ret_best = best;
        return survivors;
}

int ntp_split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
        const char *colon, *end;
        size_t hl;

        if (s[0] == '[') {
                end = strchr(s, ']');
                if (!end)
                        return -EINVAL;
                hl = (size_t)(end - s - 1);
                s++;
                colon = end[1] == ':' ? end + 1 : NULL;
                if (end[1] && !colon)
                        return -EINVAL;
        } else {
                colon = strchr(s, ':');
                if (colon && strchr(colon + 1, ':')) /* a bare IPv6 literal */
                        colon = NULL;
                hl = colon ? (size_t)(colon - s) : strlen(s);
        }
        if (hl == 0 || hl >= hsize)
                return -EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (snprintf(port, psize, "%s", colon ? colon + 1 : "123") >= (int)psize || !port[0])
                return -EINVAL;
        return 0;
}
