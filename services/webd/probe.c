/* probe.c - the net.https audit item from a real connection: a thread of
 * webd's connects to each of its own HTTPS listeners as a client would and
 * checks what it gets — the certificate webd loaded (by its SHA-256), not
 * expired, a protocol at least netcfgd's tls_min, TLS 1.1 refused, and no
 * plain HTTP answered on the TLS port. The loop serves those handshakes like
 * any other, so the probe runs off it; the audit item reports the last round
 * (after a change, every minute, and again after an audit that found it older
 * than 5 s).
 * OpenSSL is the client on purpose: a second TLS stack than the server's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "webd.h"

#define PROBE_PERIOD_S 60
#define PROBE_TIMEOUT_MS 3000

struct probe_target {
        char addr[64];
        int port;
};

static struct {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        pthread_t th;
        bool running, stop, kick;
        /* what to probe, set by the loop */
        struct probe_target t[WEBD_MAX_LISTEN];
        size_t n;
        char fingerprint[65];
        char tls_min[8];
        uint64_t generation;
        /* the last round */
        enum ds_audit_result result;
        char detail[512];
        uint64_t done_generation;
        int64_t done_ms;
        bool have;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int tcp_connect(const char *addr, int port)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST }, *ai = NULL;
        char ps[8];
        int fd = -1;

        snprintf(ps, sizeof ps, "%d", port);
        if (getaddrinfo(addr, ps, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0)
                return -errno;
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&pfd, 1, PROBE_TIMEOUT_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
                close(fd);
                return -(err ? err : ETIMEDOUT);
        }
        /* back to blocking, bounded by timeouts */
        struct timeval tv = { .tv_sec = PROBE_TIMEOUT_MS / 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
                err = -errno;
                close(fd);
                return err;
        }
        return fd;
}

/* One TLS handshake with versions [lo, hi]; on success the negotiated version
 * name and the leaf's SHA-256 (hex) and expiry state. */
static int handshake(const struct probe_target *t, int lo, int hi, char *ver, size_t vsize, char fp[65],
                     bool *expired)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        SSL *s = NULL;
        int fd, r = -EPROTO;

        if (!ctx)
                return -ENOMEM;
        SSL_CTX_set_security_level(ctx, 0); /* the TLS 1.1 attempt must reach the server to be refused there */
        SSL_CTX_set_min_proto_version(ctx, lo);
        SSL_CTX_set_max_proto_version(ctx, hi);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the identity is checked by fingerprint below */
        if ((fd = tcp_connect(t->addr, t->port)) < 0) {
                SSL_CTX_free(ctx);
                return fd;
        }
        if ((s = SSL_new(ctx)) && SSL_set_fd(s, fd) == 1 && SSL_connect(s) == 1) {
                X509 *c = SSL_get1_peer_certificate(s);
                unsigned char md[EVP_MAX_MD_SIZE];
                unsigned mdlen = 0;

                snprintf(ver, vsize, "%s", SSL_get_version(s));
                fp[0] = 0;
                if (c && X509_digest(c, EVP_sha256(), md, &mdlen) == 1)
                        ds_hex(md, mdlen, fp);
                *expired = c && X509_cmp_current_time(X509_get0_notAfter(c)) < 0;
                X509_free(c);
                SSL_shutdown(s);
                r = 0;
        }
        ERR_clear_error();
        SSL_free(s);
        SSL_CTX_free(ctx);
        close(fd);
        return r;
}

/* A plain HTTP request on the TLS port must not get an HTTP answer. */
static bool plain_answered(const struct probe_target *t)
{
        static const char req[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
        char buf[16] = "";
        int fd = tcp_connect(t->addr, t->port);
        ssize_t n;

        if (fd < 0)
                return false;
        if (write(fd, req, sizeof req - 1) < 0) {
                close(fd);
                return false;
        }
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        return n >= 5 && !strncmp(buf, "HTTP/", 5);
}

static int version_of(const char *tls_min)
{
        return !strcmp(tls_min, "1.3") ? TLS1_3_VERSION : TLS1_2_VERSION;
}

static enum ds_audit_result probe_one(const struct probe_target *t, const char *want_fp, const char *tls_min,
                                      char *d, size_t size)
{
        char ver[32] = "", fp[65] = "", v2[32], fp2[65];
        bool expired = false, ex2;
        int r = handshake(t, TLS1_VERSION, TLS1_3_VERSION, ver, sizeof ver, fp, &expired);

        if (r < 0) {
                snprintf(d, size, "%.63s:%d: no TLS handshake (%.60s)", t->addr, t->port,
                         r == -EPROTO ? "refused" : strerror(-r));
                return DS_AUDIT_FAIL;
        }
        if (strcmp(fp, want_fp)) {
                snprintf(d, size, "%.63s:%d: serves a certificate other than the device's (SHA-256 %.16s...)", t->addr,
                         t->port, fp);
                return DS_AUDIT_FAIL;
        }
        if (expired) {
                snprintf(d, size, "%.63s:%d: the certificate served has expired", t->addr, t->port);
                return DS_AUDIT_FAIL;
        }
        if (handshake(t, TLS1_VERSION, version_of(tls_min) == TLS1_3_VERSION ? TLS1_2_VERSION : TLS1_1_VERSION, v2,
                      sizeof v2, fp2, &ex2) == 0) {
                snprintf(d, size, "%.63s:%d: accepts %.31s, below the minimum TLS %.7s", t->addr, t->port, v2, tls_min);
                return DS_AUDIT_FAIL;
        }
        if (plain_answered(t)) {
                snprintf(d, size, "%.63s:%d: answers plain HTTP on the HTTPS port", t->addr, t->port);
                return DS_AUDIT_FAIL;
        }
        snprintf(d, size, "%.63s:%d: %.31s, the device certificate (SHA-256 %.16s...), older versions and plain HTTP refused",
                 t->addr, t->port, ver, fp);
        return DS_AUDIT_PASS;
}

static void *probe_thread(void *arg)
{
        (void)arg;
        pthread_mutex_lock(&P.mu);
        while (!P.stop) {
                struct probe_target t[WEBD_MAX_LISTEN];
                char fp[65], tls_min[8], detail[512] = "", one[256];
                size_t n = P.n;
                uint64_t gen = P.generation;
                enum ds_audit_result res = DS_AUDIT_PASS;

                memcpy(t, P.t, sizeof t);
                memcpy(fp, P.fingerprint, sizeof fp);
                memcpy(tls_min, P.tls_min, sizeof tls_min);
                P.kick = false;
                pthread_mutex_unlock(&P.mu);
                for (size_t i = 0; i < n; i++) {
                        enum ds_audit_result r1 = probe_one(&t[i], fp, tls_min, one, sizeof one);
                        size_t o = strlen(detail);
                        if (r1 != DS_AUDIT_PASS && res == DS_AUDIT_PASS)
                                detail[0] = 0, o = 0; /* a failure leads the detail */
                        if (r1 != DS_AUDIT_PASS || res == DS_AUDIT_PASS)
                                snprintf(detail + o, sizeof detail - o, "%s%s", o ? "; " : "", one);
                        if (r1 != DS_AUDIT_PASS)
                                res = r1;
                }
                /* each handshake's SSL_CTX was freed: give the pages back (this
                 * thread's arena and the main heap, about 110 KiB), so that an
                 * idle webd does not keep a round's worth of freed memory */
                malloc_trim(0);
                pthread_mutex_lock(&P.mu);
                if (gen == P.generation) {
                        P.result = res;
                        snprintf(P.detail, sizeof P.detail, "%s", detail);
                        P.done_generation = gen;
                        P.done_ms = ds_now_mono_ms();
                        P.have = true;
                }
                if (!P.kick && !P.stop) {
                        struct timespec ts;
                        clock_gettime(CLOCK_MONOTONIC, &ts);
                        ts.tv_sec += PROBE_PERIOD_S;
                        pthread_cond_timedwait(&P.cv, &P.mu, &ts);
                }
        }
        pthread_mutex_unlock(&P.mu);
        return NULL;
}

/* Called on the loop whenever the listeners or the certificate change. */
void webd_probe_update(struct webd_ctx *x)
{
        pthread_mutex_lock(&P.mu);
        P.n = 0;
        for (size_t i = 0; i < x->n_lst && P.n < WEBD_MAX_LISTEN; i++)
                if (x->lst[i].tls) {
                        snprintf(P.t[P.n].addr, sizeof P.t[P.n].addr, "%s", x->lst[i].addr);
                        P.t[P.n].port = x->lst[i].port;
                        P.n++;
                }
        snprintf(P.fingerprint, sizeof P.fingerprint, "%s", x->have_cert ? x->cert.fingerprint : "");
        snprintf(P.tls_min, sizeof P.tls_min, "%s", x->net.tls_min);
        P.generation++;
        P.kick = true;
        if (!P.running) {
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_destroy(&P.cv);
                pthread_cond_init(&P.cv, &ca);
                pthread_condattr_destroy(&ca);
                P.stop = false;
                P.running = pthread_create(&P.th, NULL, probe_thread, NULL) == 0;
                if (!P.running)
                        log_warn("cannot start the HTTPS probe thread: net.https cannot be checked");
        }
        pthread_cond_signal(&P.cv);
        pthread_mutex_unlock(&P.mu);
}

void webd_probe_stop(void)
{
        pthread_mutex_lock(&P.mu);
        if (!P.running) {
                pthread_mutex_unlock(&P.mu);
                return;
        }
        P.stop = true;
        pthread_cond_signal(&P.cv);
        pthread_mutex_unlock(&P.mu);
        pthread_join(P.th, NULL);
        P.running = false;
}

/* The audit item: the last round of the current listeners, or n/a while the
 * first round after a change is still connecting. */
enum ds_audit_result webd_probe_result(struct webd_ctx *x, char *detail, size_t size)
{
        enum ds_audit_result r;
        size_t tls = 0;

        for (size_t i = 0; i < x->n_lst; i++)
                tls += x->lst[i].tls;
        if (!tls) {
                snprintf(detail, size, "nothing listens for HTTPS (%s)", !x->net.enabled ? "HTTPS is off"
                                                                        : !x->have_cert ? "no certificate" : "no port");
                return DS_AUDIT_FAIL;
        }
        pthread_mutex_lock(&P.mu);
        if (!P.have || P.done_generation != P.generation) {
                snprintf(detail, size, "the listeners changed: a local connection is being made to check them");
                r = DS_AUDIT_NA;
        } else {
                snprintf(detail, size, "%.*s (checked %llds ago)", (int)(size > 40 ? size - 40 : 0), P.detail,
                         (long long)((ds_now_mono_ms() - P.done_ms) / 1000));
                r = P.result;
        }
        /* an audit wants a fresh look: older than 5 s, probe again for the next one */
        if (P.running && P.have && ds_now_mono_ms() - P.done_ms > 5000) {
                P.kick = true;
                pthread_cond_signal(&P.cv);
        }
        pthread_mutex_unlock(&P.mu);
        return r;
}
