/* ntp.h - RFC 5905 client mode: packets, per-packet checks, clock filter, selection,
 * a server's host and port (pure, no I/O) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTP_PKT_LEN 48
#define NTP_FILTER 8          /* samples kept per source */
#define NTP_PHI 15e-6         /* frequency tolerance, s/s */
#define NTP_MINDISP 0.01      /* s, RFC 5905 */
#define NTP_UNIX_OFFSET 2208988800LL

/* Why a packet was dropped; NTP_OK when it was not. Order = the order of checks. */
enum ntp_verdict {
        NTP_OK = 0,
        NTP_SHORT,        /* fewer than 48 bytes */
        NTP_BAD_VERSION,  /* not NTPv1-4 */
        NTP_BAD_MODE,     /* not a server reply */
        NTP_BAD_ORIGIN,   /* origin is not our outstanding request: spoofed, replayed or late */
        NTP_NO_AUTH,      /* NTS source: a reply without NTS fields (stripped, or not an NTS server) */
        NTP_BAD_AUTH,     /* NTS source: the authenticator or unique identifier does not verify */
        NTP_KOD_RATE,     /* kiss RATE: back off */
        NTP_KOD_DENY,     /* kiss DENY/RSTR: stop using the source */
        NTP_KOD_OTHER,    /* stratum 0 with another kiss code */
        NTP_NTS_NAK,      /* NTS source: kiss NTSN, the cookie was refused: new key establishment */
        NTP_BAD_STRATUM,  /* above 15 */
        NTP_UNSYNC,       /* leap indicator 3: server not synchronised */
        NTP_BAD_TIME,     /* zero receive/transmit timestamp */
        NTP_ROOT_DIST,    /* root distance above the limit */
        NTP_N_VERDICTS,
};
extern const char *const ntp_verdict_names[NTP_N_VERDICTS];

struct ntp_pkt {
        uint8_t leap, version, mode, stratum;
        int8_t poll, precision;
        double root_delay, root_disp; /* s */
        char refid[5];                /* kiss code / reference id as text when printable */
        uint64_t ref, org, rec, xmt;  /* raw 32.32 timestamps */
};

/* A client request whose transmit timestamp is the (random) cookie. */
void ntp_request_build(uint8_t buf[NTP_PKT_LEN], uint64_t cookie);
/* Parses and checks a reply to the request carrying cookie (0: none outstanding). */
enum ntp_verdict ntp_check(const uint8_t *buf, size_t len, uint64_t cookie, struct ntp_pkt *ret);
/* 32.32 NTP timestamp -> ns since the Unix epoch, choosing the era nearest near_ns. */
int64_t ntp_ts_to_unix_ns(uint64_t ts, int64_t near_ns);
uint64_t ntp_unix_ns_to_ts(int64_t ns);

/* One measurement. */
struct ntp_sample {
        double offset, delay, disp; /* s */
        int64_t t_mono_ns;          /* when it was taken */
};
/* On-wire calculation: t1 and t4 local ns, the reply's rec/xmt. */
void ntp_sample_compute(const struct ntp_pkt *p, int64_t t1_ns, int64_t t4_ns, int64_t now_mono_ns,
                        struct ntp_sample *ret);

/* The clock filter: the last NTP_FILTER samples; the ones of least delay win. */
struct ntp_filter {
        struct ntp_sample s[NTP_FILTER];
        unsigned n, next;
};
void ntp_filter_add(struct ntp_filter *f, const struct ntp_sample *s);
/* Best sample (least delay; its offset is the mean of the lower-delay half
 * once there are 4 samples), the jitter (RMS of the others' offsets from that)
 * and the dispersion aged to now. -ENOENT when empty. */
int ntp_filter_best(const struct ntp_filter *f, int64_t now_mono_ns, struct ntp_sample *ret_best,
                    double *ret_jitter, double *ret_disp);
/* Shifts every stored offset after the clock moved by delta seconds. */
void ntp_filter_shift(struct ntp_filter *f, double delta);
void ntp_filter_clear(struct ntp_filter *f);

/* Root distance of a source (RFC 5905): max(MINDISP, rootdelay + delay)/2 + rootdisp + disp + jitter. */
double ntp_root_distance(double root_delay, double root_disp, double delay, double disp, double jitter);

/* Selection: Marzullo's intersection as RFC 5905 A.5.5.1. */
struct ntp_cand {
        double offset, rootdist;
        bool truechimer; /* out */
};
/* Marks truechimers, returns their number (0: no majority) and the weighted
 * (1/rootdist) offset of the survivors in *ret_offset, the index of the one of
 * least root distance in *ret_best. */
int ntp_select(struct ntp_cand *c, int n, double *ret_offset, int *ret_best);

/* A server: "HOST[:PORT]" or "[V6]:PORT" -> host, port (default 123). */
int ntp_split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize);
