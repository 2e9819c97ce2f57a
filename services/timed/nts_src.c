/* nts_src.c - NTS for one source: key establishment with backoff, the
 * cookies (each used once, refilled from authenticated replies), NAKs, and
 * the cache of keys and cookies in the state dir (0600), so a restart sends
 * authenticated requests at once instead of a new key establishment. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "log.h"
#include "resolve.h"
#include "nts.h"
#include "timed.h"
#include "util.h"

#define NTS_CACHE "nts.mp"
#define KE_TIMEOUT_MS 10000
#define BACKOFF_MIN_S 2
#define BACKOFF_MAX_S 1024

struct nts_src {
        struct timed_ctx *t;
        ds_resolve_t *lookup;      /* the NTP server name a KE gave, while looked up */
        char lookup_name[256];
        char host[256];
        struct nts_assoc a;
        struct nts_ke_conn *ke;
        int ntp_port;             /* from the KE, 123 if it gave none */
        char ntp_host[64];        /* the NTP server's address from the KE; "": the KE server's */
        int64_t next_ke_mono;
        int backoff_s;
        uint64_t ke_ok, ke_failed, naks, auth_ok;
        bool failed;              /* the last KE failed: polls count as misses */
        bool bypassed;            /* the keys come from a KE without the certificate time check */
        bool bypass_next;         /* the next KE skips that check (once, before the first sync) */
        uint64_t bypasses;
        int64_t ke_start_mono;
        double ke_ms;             /* how long the last successful KE took */
        char error[192];          /* why the last KE failed, for time show */
};

/* The build's date: a clock before it is certainly wrong. */
static int64_t build_time_s(void)
{
#ifdef TIMED_BUILD_TIME
        return TIMED_BUILD_TIME;
#else
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        const char *d = __DATE__; /* "Dec  3 2026" */
        struct tm tm = { 0 };
        const char *m = strstr(months, (char[4]){ d[0], d[1], d[2], 0 });

        tm.tm_mon = m ? (int)(m - months) / 3 : 0;
        tm.tm_mday = atoi(d + 4);
        tm.tm_year = atoi(d + 7) - 1900;
        return (int64_t)timegm(&tm);
#endif
}

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* the UDP socket goes to the NTP port the KE named, on the KE server's address */
static int connect_ntp(struct source *s)
{
        struct sockaddr_storage sa = s->sa;
        struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
        const char *h = s->nts->ntp_host;

        if (h[0] && inet_pton(sa.ss_family, h, sa.ss_family == AF_INET ? (void *)&a4->sin_addr
                                                                         : (void *)&a6->sin6_addr) != 1) {
                log_warn("source %s: NTP server '%s' from the KE is not an address of the KE server's family",
                         s->addr, h);
                return -EAFNOSUPPORT;
        }
        if (sa.ss_family == AF_INET)
                a4->sin_port = htons((uint16_t)s->nts->ntp_port);
        else
                a6->sin6_port = htons((uint16_t)s->nts->ntp_port);
        if (connect(s->fd, (struct sockaddr *)&sa, s->salen) < 0)
                return log_warn_errno(-errno, "source %s: connect to NTP port %d: %m", s->addr, s->nts->ntp_port);
        return 0;
}

/* ---- the cache ---- */

static const msgpack_object *cache_find(const struct timed_ctx *t, const msgpack_object *root, const struct source *s)
{
        const msgpack_object *arr = mp_get(root, "sources");

        for (uint32_t i = 0; arr && arr->type == MSGPACK_OBJECT_ARRAY && i < arr->via.array.size; i++) {
                const msgpack_object *e = &arr->via.array.ptr[i];
                /* keys from a KE verified against another CA are not reused */
                if (mp_streq(mp_get(e, "server"), s->server) && mp_streq(mp_get(e, "address"), s->addr) &&
                    mp_streq(mp_get(e, "ca"), t->cfg.nts_ca))
                        return e;
        }
        return NULL;
}

static bool bin_of(const msgpack_object *o, size_t min, size_t max)
{
        return o && o->type == MSGPACK_OBJECT_BIN && o->via.bin.size >= min && o->via.bin.size <= max;
}

static void cache_restore(struct timed_ctx *t, struct source *s)
{
        struct nts_src *n = s->nts;
        const msgpack_object *e, *c2s, *s2c, *ck;
        msgpack_unpacked u;
        const char *why;
        char *buf = NULL;
        size_t len;
        int64_t port;

        if (ds_daemon_load(t->d, NTS_CACHE, 1 << 20, &buf, &len) < 0)
                return;
        if (mp_decode(buf, len, NULL, &u, &why) == 0) {
                e = cache_find(t, &u.data, s);
                c2s = e ? mp_get(e, "c2s") : NULL;
                s2c = e ? mp_get(e, "s2c") : NULL;
                ck = e ? mp_get(e, "cookies") : NULL;
                port = e ? mp_get_int(e, "ntp_port", 0) : 0;
                if (bin_of(c2s, SIV_KEY_LEN, SIV_KEY_LEN) && bin_of(s2c, SIV_KEY_LEN, SIV_KEY_LEN) && port > 0 &&
                    port < 65536 && ck && ck->type == MSGPACK_OBJECT_ARRAY) {
                        for (uint32_t i = 0; i < ck->via.array.size && n->a.ck.n < NTS_COOKIES; i++) {
                                const msgpack_object *c = &ck->via.array.ptr[i];
                                if (!bin_of(c, NTS_COOKIE_MIN, NTS_COOKIE_MAX))
                                        continue;
                                memcpy(n->a.ck.c[n->a.ck.n], c->via.bin.ptr, c->via.bin.size);
                                n->a.ck.len[n->a.ck.n++] = (uint16_t)c->via.bin.size;
                        }
                        memcpy(n->a.k.c2s, c2s->via.bin.ptr, SIV_KEY_LEN);
                        memcpy(n->a.k.s2c, s2c->via.bin.ptr, SIV_KEY_LEN);
                        n->ntp_port = (int)port;
                        if (mp_strcpy(mp_get(e, "ntp_host"), n->ntp_host, sizeof n->ntp_host) < 0)
                                n->ntp_host[0] = '\0';
                        n->a.have_keys = n->a.ck.n > 0;
                        if (n->a.have_keys && connect_ntp(s) == 0)
                                log_info("source %s: NTS keys and %d cookie(s) from the cache", s->addr, n->a.ck.n);
                        else
                                n->a.have_keys = false;
                }
                msgpack_unpacked_destroy(&u);
        }
        OPENSSL_cleanse(buf, len);
        free(buf);
}

void timed_nts_save(struct timed_ctx *t, bool force)
{
        struct mpw w;
        int r;

        if (!t->n_nts || (!force && !t->nts_dirty))
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "sources");
        mpw_arr_begin(&w);
        for (int i = 0; i < t->n_src; i++) {
                const struct source *s = &t->src[i];
                const struct nts_src *n = s->nts;

                /* keys from a KE without the time check live only until the re-key:
                 * a restart must not inherit them unflagged */
                if (!n || !n->a.have_keys || !n->a.ck.n || n->bypassed)
                        continue;
                mpw_map_begin(&w);
                mpw_kv_str(&w, "server", s->server);
                mpw_kv_str(&w, "address", s->addr);
                mpw_kv_int(&w, "ntp_port", n->ntp_port);
                mpw_kv_str(&w, "ntp_host", n->ntp_host);
                mpw_kv_str(&w, "ca", t->cfg.nts_ca);
                mpw_str(&w, "c2s");
                mpw_bin(&w, n->a.k.c2s, SIV_KEY_LEN);
                mpw_str(&w, "s2c");
                mpw_bin(&w, n->a.k.s2c, SIV_KEY_LEN);
                mpw_str(&w, "cookies");
                mpw_arr_begin(&w);
                for (int k = 0; k < n->a.ck.n; k++)
                        mpw_bin(&w, n->a.ck.c[k], n->a.ck.len[k]);
                mpw_arr_end(&w);
                mpw_map_end(&w);
        }
        mpw_arr_end(&w);
        mpw_map_end(&w);
        r = ds_daemon_save(t->d, NTS_CACHE, mpw_data(&w), mpw_len(&w));
        if (r < 0)
                log_warn_errno(r, "cannot save the NTS cookies: %m");
        else
                t->nts_dirty = false;
        mpw_wipe(&w);
        mpw_free(&w);
}

/* ---- the NTP server's name ---- */

static void ready(struct source *s);

static void on_lookup(void *ud, int err, const struct addrinfo *res)
{
        struct source *s = ud;
        char h[INET6_ADDRSTRLEN];

        s->nts->lookup = NULL;
        for (const struct addrinfo *ai = err ? NULL : res; ai; ai = ai->ai_next)
                if (ai->ai_family == s->sa.ss_family &&
                    getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, NULL, 0, NI_NUMERICHOST) == 0) {
                        memcpy(s->nts->ntp_host, h, strlen(h) + 1);
                        break;
                }
        if (!s->nts->ntp_host[0])
                log_notice("source %s: NTP server '%s' from the KE: %s: the KE server's address is used", s->addr,
                           s->nts->lookup_name, err ? gai_strerror(err) : "no address of the KE server's family");
        ready(s);
}

static int lookup_start(struct source *s, const char *name)
{
        const struct addrinfo hints = { .ai_family = s->sa.ss_family, .ai_socktype = SOCK_DGRAM };
        char port[8];

        snprintf(s->nts->lookup_name, sizeof s->nts->lookup_name, "%s", name);
        snprintf(port, sizeof port, "%d", s->nts->ntp_port);
        return ds_resolve_start(s->nts->t->d->loop, s->nts->lookup_name, port, &hints, KE_TIMEOUT_MS, on_lookup, s,
                                &s->nts->lookup);
}

static void lookup_stop(struct nts_src *n)
{
        ds_resolve_cancel(&n->lookup, false);
}

/* ---- key establishment ---- */

static void forget(struct nts_src *n)
{
        OPENSSL_cleanse(&n->a, sizeof n->a);
}

static void ke_schedule_retry(struct nts_src *n)
{
        n->next_ke_mono = mono_ns() + (int64_t)n->backoff_s * 1000000000LL;
        n->backoff_s = n->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : n->backoff_s * 2;
}

static void on_ke_done(void *ud, int code, const char *why, const struct nts_ke_result *res,
                       const struct nts_keys *keys)
{
        struct source *s = ud;
        struct nts_src *n = s->nts;
        unsigned char ip[16];

        n->ke = NULL;
        /* Boot without a trustworthy clock: the validity period failed even at
         * max(now, last known good, build time). Before the first sync, one
         * KE may skip the time check only (chain and name still verified);
         * it is flagged, and the source re-keyed once the clock is set. */
        if (code == -EKEYEXPIRED && n->t->last_update_ms == 0 && !n->bypassed && !n->bypass_next) {
                n->bypass_next = true;
                n->ke_failed++;
                snprintf(n->error, sizeof n->error, "%s", why);
                log_audit("security", LOG_LVL_WARNING, n->t->d->identity,
                          "source %s: %s: the clock is not set yet, retrying once without the certificate time check "
                          "(chain and name still verified) until the first sync",
                          s->addr, why);
                n->next_ke_mono = 0;
                return;
        }
        if (code < 0) {
                n->ke_failed++;
                n->failed = true;
                snprintf(n->error, sizeof n->error, "%s", why);
                log_warn("source %s: NTS key establishment failed: %s (next try in %d s)", s->addr, why,
                         n->backoff_s);
                ke_schedule_retry(n);
                return;
        }
        forget(n);
        n->a.k = *keys;
        n->a.ck = res->ck;
        n->a.have_keys = true;
        n->ntp_port = res->port ? res->port : 123;
        n->ke_ok++;
        n->ke_ms = (double)(mono_ns() - n->ke_start_mono) / 1e6;
        n->bypassed = n->bypass_next;
        n->bypasses += n->bypass_next;
        n->bypass_next = false;
        /* an address is taken as it is (the keys, not the address, authenticate);
         * another name is looked up first */
        n->ntp_host[0] = '\0';
        if (res->server[0] && strcmp(res->server, n->host)) {
                if (inet_pton(AF_INET, res->server, ip) == 1 || inet_pton(AF_INET6, res->server, ip) == 1)
                        memcpy(n->ntp_host, res->server, strlen(res->server) + 1);
                else if (lookup_start(s, res->server) == 0)
                        return;
                else
                        log_notice("source %s: NTP server '%s' from the KE cannot be looked up: the KE server's "
                                   "address is used", s->addr, res->server);
        }
        ready(s);
}

/* keys and cookies are there and the NTP address known: polls can start */
static void ready(struct source *s)
{
        struct nts_src *n = s->nts;

        if (connect_ntp(s) < 0) {
                forget(n);
                n->failed = true;
                snprintf(n->error, sizeof n->error, "cannot reach NTP port %d", n->ntp_port);
                ke_schedule_retry(n);
                return;
        }
        n->failed = false;
        n->error[0] = '\0';
        n->backoff_s = BACKOFF_MIN_S;
        s->next_poll_mono = mono_ns(); /* authenticated polls can start */
        n->t->nts_dirty = true;
        log_info("source %s: NTS key establishment done: %d cookie(s), NTP port %d", s->addr, n->a.ck.n,
                 n->ntp_port);
        timed_nts_save(n->t, true);
}

static void ke_start(struct timed_ctx *t, struct source *s)
{
        struct nts_src *n = s->nts;
        int64_t now_s = timed_now_ns(t) / 1000000000LL, lkg_s = t->lkg_target_ms / 1000;
        struct nts_ke_opts o = {
                .host = n->host,
                .ca_file = t->cfg.nts_ca,
                /* a clock behind the last known good time must not make an expired
                 * certificate look valid, nor a valid one look not yet valid */
                .check_time = lkg_s > now_s ? lkg_s : now_s,
                .timeout_ms = KE_TIMEOUT_MS,
                .no_time_check = n->bypass_next,
        };

        if (o.check_time < build_time_s())
                o.check_time = build_time_s();
        n->ke_start_mono = mono_ns();
        n->ke = nts_ke_start(t->d->loop, (struct sockaddr *)&s->sa, s->salen, &o, on_ke_done, s, n->error,
                             sizeof n->error);
        if (!n->ke) {
                n->ke_failed++;
                n->failed = true;
                log_warn("source %s: NTS key establishment failed: %s (next try in %d s)", s->addr, n->error,
                         n->backoff_s);
                ke_schedule_retry(n);
        }
}

int timed_nts_request(struct timed_ctx *t, struct source *s, uint8_t *buf, size_t cap)
{
        struct nts_src *n = s->nts;
        int len;

        if (n->bypassed && t->last_update_ms != 0) {
                log_notice("source %s: the clock is set: new key establishment with the certificate time checked",
                           s->addr);
                forget(n);
                n->bypassed = false;
                n->next_ke_mono = 0;
        }
        if (n->lookup)
                return -EAGAIN;
        if (!n->a.have_keys || n->a.ck.n == 0) {
                if (n->a.have_keys)
                        log_info("source %s: out of NTS cookies: new key establishment", s->addr);
                n->a.have_keys = false;
                if (!n->ke && mono_ns() >= n->next_ke_mono)
                        ke_start(t, s);
                return n->ke || !n->failed ? -EAGAIN : -ENOTCONN;
        }
        len = nts_request_build(&n->a, buf, cap);
        if (len >= 0)
                t->nts_dirty = true;
        return len;
}

enum ntp_verdict timed_nts_verdict(struct timed_ctx *t, struct source *s, const uint8_t *buf, size_t len,
                                   enum ntp_verdict v)
{
        struct nts_src *n = s->nts;

        switch (nts_reply_check(&n->a, buf, len)) {
        case NTS_OK:
                n->auth_ok++;
                t->nts_dirty = true;
                return v;
        case NTS_NAK:
                n->naks++;
                log_warn("source %s: NTS NAK (cookie refused): new key establishment", s->addr);
                forget(n);
                /* at most one KE per BACKOFF_MIN_S for NAKs: a forged NAK (the unique
                 * identifier is visible on the path) cannot make a KE storm */
                n->next_ke_mono = n->ke_start_mono + (int64_t)BACKOFF_MIN_S * 1000000000LL;
                return NTP_NTS_NAK;
        case NTS_NO_AUTH:
                log_debug("source %s: reply without NTS authenticator dropped", s->addr);
                return NTP_NO_AUTH;
        case NTS_BAD_AUTH:
        default:
                log_debug("source %s: reply failing NTS authentication dropped", s->addr);
                return NTP_BAD_AUTH;
        }
}

int timed_nts_attach(struct timed_ctx *t, struct source *s)
{
        char port[16];

        s->nts = calloc(1, sizeof *s->nts);
        if (!s->nts)
                return -ENOMEM;
        if (ntp_split_hostport(s->server, s->nts->host, sizeof s->nts->host, port, sizeof port) < 0) {
                free(s->nts);
                s->nts = NULL;
                return -EINVAL;
        }
        s->nts->backoff_s = BACKOFF_MIN_S;
        s->nts->t = t;
        t->n_nts++;
        cache_restore(t, s);
        return 0;
}

void timed_nts_detach(struct timed_ctx *t, struct source *s)
{
        if (!s->nts)
                return;
        nts_ke_cancel(&s->nts->ke);
        lookup_stop(s->nts);
        forget(s->nts);
        free(s->nts);
        s->nts = NULL;
        t->n_nts--;
}

int timed_nts_bypassed(const struct timed_ctx *t)
{
        int k = 0;

        for (int i = 0; i < t->n_src; i++)
                if (t->src[i].nts && (t->src[i].nts->bypassed || t->src[i].nts->bypass_next))
                        k++;
        return k;
}

int timed_nts_working(const struct timed_ctx *t)
{
        int k = 0;

        for (int i = 0; i < t->n_src; i++)
                if (t->src[i].nts && t->src[i].nts->a.have_keys && t->src[i].nts->auth_ok)
                        k++;
        return k;
}

void timed_nts_status(const struct timed_ctx *t, const struct source *s, struct mpw *w)
{
        const struct nts_src *n = s->nts;

        (void)t;
        mpw_kv_bool(w, "nts", n != NULL);
        if (!n)
                return;
        mpw_kv_str(w, "nts_state", n->ke       ? "key-establishment"
                                   : n->lookup ? "ntp-server-lookup"
                                   : n->a.have_keys ? "keys"
                                   : n->failed ? "failed"
                                               : "waiting");
        mpw_kv_int(w, "cookies", n->a.ck.n);
        mpw_kv_uint(w, "ke", n->ke_ok);
        mpw_kv_uint(w, "ke_failed", n->ke_failed);
        mpw_kv_double(w, "ke_ms", (double)(int64_t)(n->ke_ms * 1000) / 1000);
        mpw_kv_uint(w, "naks", n->naks);
        mpw_kv_uint(w, "authenticated", n->auth_ok);
        mpw_kv_int(w, "ntp_port", n->a.have_keys ? n->ntp_port : 0);
        mpw_kv_str(w, "ntp_host", n->ntp_host);
        mpw_kv_str(w, "nts_error", n->error);
        mpw_kv_bool(w, "time_check_bypassed", n->bypassed || n->bypass_next);
        mpw_kv_uint(w, "time_check_bypasses", n->bypasses);
}
