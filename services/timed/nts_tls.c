/* nts_tls.c - the NTS-KE client: TLS 1.3 with ALPN "ntske/1" over a
 * non-blocking TCP connection driven by the daemon's zloop (no handler ever
 * waits), the server's certificate verified against the configured CA or the
 * system store and the server's name, keys from the TLS exporter. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "nts.h"

enum ke_state { KE_CONNECT, KE_HANDSHAKE, KE_WRITE, KE_READ };

struct nts_ke_conn {
        zloop_t *loop;
        int fd, timer, events;
        enum ke_state st;
        SSL_CTX *ctx;
        SSL *ssl;
        nts_ke_done_fn cb;
        void *ud;
        uint8_t req[64];
        size_t req_len, req_off, rlen;
        uint8_t rbuf[NTS_KE_MAX];
        struct nts_keys keys;
        struct nts_ke_result res;
        char why[160];
        char host[256];
};

static const char exporter_label[] = "EXPORTER-network-time-security";

int nts_export_keys(SSL *ssl, struct nts_keys *ret)
{
        /* context: protocol id (2 bytes), AEAD id (2 bytes), 0 client-to-server / 1 server-to-client */
        uint8_t c2s[5] = { 0, NTS_PROTO_NTPV4, 0, NTS_AEAD_SIV_CMAC_256, 0x00 };
        uint8_t s2c[5] = { 0, NTS_PROTO_NTPV4, 0, NTS_AEAD_SIV_CMAC_256, 0x01 };

        if (SSL_export_keying_material(ssl, ret->c2s, SIV_KEY_LEN, exporter_label, sizeof exporter_label - 1, c2s,
                                       sizeof c2s, 1) != 1 ||
            SSL_export_keying_material(ssl, ret->s2c, SIV_KEY_LEN, exporter_label, sizeof exporter_label - 1, s2c,
                                       sizeof s2c, 1) != 1)
                return -EIO;
        return 0;
}

static int on_io(zloop_t *loop, zmq_pollitem_t *item, void *arg);

static void conn_free(struct nts_ke_conn *c)
{
        if (c->fd >= 0) {
                zmq_pollitem_t it = { NULL, c->fd, 0, 0 };
                zloop_poller_end(c->loop, &it);
                close(c->fd);
        }
        if (c->timer >= 0)
                zloop_timer_end(c->loop, c->timer);
        SSL_free(c->ssl);
        SSL_CTX_free(c->ctx);
        OPENSSL_cleanse(&c->keys, sizeof c->keys);
        OPENSSL_cleanse(c->rbuf, sizeof c->rbuf);
        OPENSSL_cleanse(&c->res, sizeof c->res);
        free(c);
}

void nts_ke_cancel(struct nts_ke_conn **c)
{
        if (c && *c) {
                conn_free(*c);
                *c = NULL;
        }
}

static void finish(struct nts_ke_conn *c, int code)
{
        c->cb(c->ud, code, code < 0 ? c->why : NULL, code < 0 ? NULL : &c->res, code < 0 ? NULL : &c->keys);
        conn_free(c);
}

static int fail(struct nts_ke_conn *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct nts_ke_conn *c, int code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->why, sizeof c->why, fmt, ap);
        va_end(ap);
        ERR_clear_error();
        finish(c, code);
        return 0;
}

static int want(struct nts_ke_conn *c, int events)
{
        zmq_pollitem_t it = { NULL, c->fd, (short)events, 0 };

        if (events == c->events)
                return 0;
        zloop_poller_end(c->loop, &it);
        if (zloop_poller(c->loop, &it, on_io, c) < 0)
                return -ENOMEM;
        zloop_poller_set_tolerant(c->loop, &it);
        c->events = events;
        return 0;
}

/* what an SSL call's failure means: keep waiting (0) or give up (<0) */
static int ssl_wait(struct nts_ke_conn *c, int rc, const char *what)
{
        int e = SSL_get_error(c->ssl, rc);
        unsigned long err;

        if (e == SSL_ERROR_WANT_READ)
                return want(c, ZMQ_POLLIN);
        if (e == SSL_ERROR_WANT_WRITE)
                return want(c, ZMQ_POLLOUT);
        if (SSL_get_verify_result(c->ssl) != X509_V_OK) {
                long v = SSL_get_verify_result(c->ssl);
                /* a validity period the clock misses: the boot-time rule may retry */
                int code = v == X509_V_ERR_CERT_NOT_YET_VALID || v == X509_V_ERR_CERT_HAS_EXPIRED ? -EKEYEXPIRED
                                                                                                : -EPERM;

                fail(c, code, "certificate of '%s' not accepted: %s", c->host, X509_verify_cert_error_string(v));
                return code;
        }
        err = ERR_peek_last_error();
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !err))
                fail(c, -ECONNRESET, "%s: the server closed the connection", what);
        else
                fail(c, -EPROTO, "%s: %s", what, err ? ERR_reason_error_string(err) : "TLS error");
        return -EPROTO;
}

static int step(struct nts_ke_conn *c)
{
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;
        const char *why;
        int rc, r;

        for (;;) {
                switch (c->st) {
                case KE_CONNECT: {
                        int err = 0;
                        socklen_t el = sizeof err;

                        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                        if (err)
                                return fail(c, -err, "connect: %s", strerror(err));
                        c->st = KE_HANDSHAKE;
                        break;
                }
                case KE_HANDSHAKE:
                        rc = SSL_connect(c->ssl);
                        if (rc != 1) {
                                ssl_wait(c, rc, "TLS handshake"); /* waits, or failed and freed c */
                                return 0;
                        }
                        SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
                        if (alpn_len != sizeof NTS_ALPN - 1 || memcmp(alpn, NTS_ALPN, alpn_len))
                                return fail(c, -EPROTO, "the server did not select ALPN '%s'", NTS_ALPN);
                        if (SSL_version(c->ssl) != TLS1_3_VERSION)
                                return fail(c, -EPROTO, "not TLS 1.3");
                        if (nts_export_keys(c->ssl, &c->keys) < 0)
                                return fail(c, -EIO, "TLS exporter failed");
                        c->st = KE_WRITE;
                        break;
                case KE_WRITE:
                        rc = SSL_write(c->ssl, c->req + c->req_off, (int)(c->req_len - c->req_off));
                        if (rc <= 0) {
                                ssl_wait(c, rc, "sending the request"); /* waits, or failed and freed c */
                                return 0;
                        }
                        c->req_off += (size_t)rc;
                        if (c->req_off == c->req_len) {
                                c->st = KE_READ;
                                if (want(c, ZMQ_POLLIN) < 0)
                                        return fail(c, -ENOMEM, "out of memory");
                        }
                        break;
                case KE_READ:
                        if (c->rlen >= sizeof c->rbuf)
                                return fail(c, -EPROTO, "response larger than %d bytes", NTS_KE_MAX);
                        rc = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof c->rbuf - c->rlen));
                        if (rc <= 0) {
                                ssl_wait(c, rc, "reading the response"); /* waits, or failed and freed c */
                                return 0;
                        }
                        c->rlen += (size_t)rc;
                        r = nts_ke_parse(c->rbuf, c->rlen, &c->res, &why);
                        if (r == 0) {
                                finish(c, 0);
                                return 0;
                        }
                        if (r != -EAGAIN)
                                return fail(c, -EPROTO, "bad response: %s", why);
                        break;
                }
        }
}

static int on_io(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        (void)loop;
        (void)item;
        return step(arg);
}

static int on_timeout(zloop_t *loop, int timer_id, void *arg)
{
        struct nts_ke_conn *c = arg;

        (void)loop;
        (void)timer_id;
        c->timer = -1; /* one-shot: gone once fired */
        return fail(c, -ETIMEDOUT, "no complete answer within the timeout");
}

static bool is_ip(const char *h)
{
        unsigned char b[16];

        return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

struct nts_ke_conn *nts_ke_start(zloop_t *loop, const struct sockaddr *sa, socklen_t salen,
                                 const struct nts_ke_opts *o, nts_ke_done_fn cb, void *ud, char *why,
                                 size_t why_size)
{
        static const unsigned char alpn[] = "\x07" NTS_ALPN;
        struct nts_ke_conn *c = calloc(1, sizeof *c);
        X509_VERIFY_PARAM *vp;

        snprintf(why, why_size, "cannot set up TLS");
        if (!c)
                return NULL;
        c->loop = loop;
        c->fd = c->timer = -1;
        c->cb = cb;
        c->ud = ud;
        c->req_len = nts_ke_request(c->req, sizeof c->req);
        snprintf(c->host, sizeof c->host, "%s", o->host);
        c->ctx = SSL_CTX_new(TLS_client_method());
        if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION))
                goto err;
        if (o->ca_file && o->ca_file[0] ? !SSL_CTX_load_verify_file(c->ctx, o->ca_file)
                                        : !SSL_CTX_set_default_verify_paths(c->ctx)) {
                snprintf(why, why_size, "cannot load the CA certificates %s%s%s",
                         o->ca_file && o->ca_file[0] ? "'" : "", o->ca_file && o->ca_file[0] ? o->ca_file : "of the system",
                         o->ca_file && o->ca_file[0] ? "'" : "");
                goto err;
        }
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        c->ssl = SSL_new(c->ctx);
        if (!c->ssl || SSL_set_alpn_protos(c->ssl, alpn, sizeof alpn - 1) != 0)
                goto err;
        vp = SSL_get0_param(c->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip(o->host) ? !X509_VERIFY_PARAM_set1_ip_asc(vp, o->host)
                           : !SSL_set1_host(c->ssl, o->host) || !SSL_set_tlsext_host_name(c->ssl, o->host))
                goto err;
        /* OpenSSL prefers a set check time over NO_CHECK_TIME: one or the other */
        if (o->no_time_check)
                X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_NO_CHECK_TIME);
        else if (o->check_time > 0)
                X509_VERIFY_PARAM_set_time(vp, (time_t)o->check_time);
        c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        /* no Nagle: the request follows the handshake's last flight at once,
         * not after the server's delayed ACK (40 ms on Linux) */
        if (c->fd >= 0)
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        if (c->fd < 0 || (connect(c->fd, sa, salen) < 0 && errno != EINPROGRESS)) {
                snprintf(why, why_size, "connect: %s", strerror(errno));
                goto err;
        }
        if (!SSL_set_fd(c->ssl, c->fd))
                goto err;
        c->timer = zloop_timer(loop, (size_t)(o->timeout_ms > 0 ? o->timeout_ms : 10000), 1, on_timeout, c);
        if (c->timer < 0 || want(c, ZMQ_POLLOUT) < 0)
                goto err;
        return c;
err:
        ERR_clear_error();
        conn_free(c);
        return NULL;
}
