/* nts.h - Network Time Security for NTPv4 (RFC 8915): the key establishment
 * records (nts_ke.c), the TLS 1.3 client that runs it (nts_tls.c), and the
 * extension fields of authenticated NTP packets (nts.c). */
#pragma once
#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "siv.h"

#define NTS_KE_PORT "4460"
#define NTS_ALPN "ntske/1"
#define NTS_PROTO_NTPV4 0
#define NTS_AEAD_SIV_CMAC_256 15
#define NTS_COOKIES 8          /* the most a KE may give and we keep */
#define NTS_COOKIE_MIN 16
#define NTS_COOKIE_MAX 256
#define NTS_UID_LEN 32
#define NTS_NONCE_LEN 16
#define NTS_KE_MAX 16384       /* a KE response larger than this is refused */
#define NTS_PKT_MAX 1280       /* an NTS NTP packet, request or reply */

/* NTS-KE record types (RFC 8915 section 4) */
enum {
        NTS_REC_END = 0,
        NTS_REC_NEXT_PROTO = 1,
        NTS_REC_ERROR = 2,
        NTS_REC_WARNING = 3,
        NTS_REC_AEAD = 4,
        NTS_REC_COOKIE = 5,
        NTS_REC_SERVER = 6,
        NTS_REC_PORT = 7,
};

struct nts_cookies {
        uint8_t c[NTS_COOKIES][NTS_COOKIE_MAX];
        uint16_t len[NTS_COOKIES];
        int n;
};

struct nts_ke_result {
        struct nts_cookies ck;
        char server[256]; /* NTPv4 server negotiation, "" if none */
        int port;         /* NTPv4 port negotiation, 0 if none */
};

/* The client's request: NTPv4, AEAD_AES_SIV_CMAC_256, end. Its length. */
size_t nts_ke_request(uint8_t *buf, size_t cap);
/* Parses a server's response: 0 when it is complete and acceptable (*ret
 * filled), -EAGAIN while the end-of-message record is still to come, -EPROTO
 * with *why for anything else (an error or warning record, an unknown
 * critical record, a bad size, a protocol or algorithm we did not offer, more
 * than NTS_COOKIES cookies, no cookie, bytes after the end). */
int nts_ke_parse(const uint8_t *buf, size_t len, struct nts_ke_result *ret, const char **why);

/* ---- the KE over TLS 1.3 (nts_tls.c) ---- */
struct nts_keys {
        uint8_t c2s[SIV_KEY_LEN], s2c[SIV_KEY_LEN];
};
struct nts_ke_conn;
/* Runs once, from the loop: code 0 with res and keys, or -errno with why
 * (what failed, for people). The connection is gone after it returns. */
typedef void (*nts_ke_done_fn)(void *ud, int code, const char *why, const struct nts_ke_result *res,
                               const struct nts_keys *keys);
struct nts_ke_opts {
        const char *host;   /* the name (or address) the certificate must carry */
        const char *ca_file;/* NULL or "": the system store */
        int64_t check_time; /* certificate validity checked at this Unix time (s); 0: now */
        bool no_time_check; /* the boot-time bypass: chain and name still verified */
        int timeout_ms;
};
/* Connects to sa and runs the KE; NULL on failure to start (cb not called),
 * with the reason in why. */
struct nts_ke_conn *nts_ke_start(zloop_t *loop, const struct sockaddr *sa, socklen_t salen,
                                 const struct nts_ke_opts *o, nts_ke_done_fn cb, void *ud, char *why,
                                 size_t why_size);
/* Stops a running KE without calling its callback; accepts NULL. */
void nts_ke_cancel(struct nts_ke_conn **c);
/* The TLS exporter's keys (RFC 8915 section 5.1); 0 or -EIO. */
struct ssl_st;
int nts_export_keys(struct ssl_st *ssl, struct nts_keys *ret);

/* ---- NTS extension fields of NTP packets (nts.c) ---- */
enum nts_verdict {
        NTS_OK = 0,
        NTS_NO_AUTH,  /* no extension fields or no authenticator: not an NTS reply */
        NTS_BAD_AUTH, /* malformed, not verifying, a wrong unique identifier, or fields after the authenticator */
        NTS_NAK,      /* kiss NTSN with our unique identifier: the cookie was refused */
};
struct nts_assoc {
        struct nts_keys k;
        struct nts_cookies ck;
        uint8_t uid[NTS_UID_LEN]; /* of the outstanding request */
        bool have_keys, uid_out;
};
/* After the 48-byte header in buf: unique identifier, one cookie (used up),
 * placeholders to get back to NTS_COOKIES, the authenticator. The packet's
 * length, or -ENOENT without a cookie, -ENOSPC, -EIO. */
int nts_request_build(struct nts_assoc *a, uint8_t *buf, size_t cap);
/* Checks a reply to the outstanding request; on NTS_OK the cookies it carried
 * (encrypted) join a's. */
enum nts_verdict nts_reply_check(struct nts_assoc *a, const uint8_t *buf, size_t len);
