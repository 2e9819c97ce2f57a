/* remote.c - forwards the store to a syslog server: RFC 5424 messages, RFC 5425
 * octet-counted framing over TLS (plain TCP only when insecure). Non-blocking
 * socket and SSL driven by the loop; the store itself is the disk queue, the
 * forwarder only keeps the last record the server's TCP stack acknowledged. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "logd.h"
#include "state.h"
#include "util.h"

#define STATE_FILE "remote.mp"
#define OUT_TARGET (64 * 1024)
#define ACK_TICK_MS 100
#define BACKOFF_MIN_MS 250
#define RESOLVE_TIMEOUT_MS 10000

enum rstate { R_OFF = 0, R_WAIT, R_CONNECTING, R_HANDSHAKE, R_UP, R_ERROR };
static const char *const state_names[] = {
        [R_OFF] = "disabled", [R_WAIT] = "waiting", [R_CONNECTING] = "connecting",
        [R_HANDSHAKE] = "handshake", [R_UP] = "connected", [R_ERROR] = "error",
};

struct batch {
        uint64_t last_seq;
        uint64_t tcp_end;
};

struct logd_remote {
        zloop_t *loop;
        logd_store_t *store;
        char *statedir;
        struct logd_remote_cfg cfg;
        SSL_CTX *ctx;
        SSL *ssl;
        int fd;
        ds_resolve_t *res; /* the host name's lookup, NULL: none */
        enum rstate st;
        short events; /* registered poll events, 0: none */
        int retry_timer, ack_timer;
        int backoff_ms;
        uint64_t acked, saved_acked, queued; /* queued: last seq in out or written */
        uint64_t plain_written;
        char *out;
        size_t out_len, out_off, out_cap;
        struct batch *b;
        size_t nb, capb;
        /* reader over the store */
        logd_cursor_t *cur;
        bool reseek; /* queued was moved: position the cursor after it again */
        /* status */
        char last_error[256];
        uint64_t connects, failures, sent_records;
        uint64_t truncated, dropped; /* records cut to max_msg, records that could not be sent at all */
        int64_t up_since, last_save_ms;
        struct seal_rec *rec;
};

static void set_error(logd_remote_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(logd_remote_t *r, const char *fmt, ...)
{
        char buf[sizeof r->last_error];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        /* log once per distinct error: an unreachable server must not flood the log */
        if (strcmp(buf, r->last_error))
                log_warn("remote '%s:%d': %s", r->cfg.host, r->cfg.port, buf);
        snprintf(r->last_error, sizeof r->last_error, "%s", buf);
}

static int on_io(zloop_t *loop, zmq_pollitem_t *item, void *arg);
static int on_retry(zloop_t *loop, int timer_id, void *arg);
static int on_ack(zloop_t *loop, int timer_id, void *arg);

static void poll_set(logd_remote_t *r, short ev)
{
        zmq_pollitem_t it = { NULL, r->fd, 0, 0 };

        if (ev == r->events)
                return;
        if (r->events)
                zloop_poller_end(r->loop, &it);
        r->events = ev;
        if (ev && r->fd >= 0) {
                it.events = ev;
                zloop_poller(r->loop, &it, on_io, r);
                zloop_poller_set_tolerant(r->loop, &it);
        }
}

static void save_state(logd_remote_t *r)
{
        struct mpw w;

        if (r->acked == r->saved_acked)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_uint(&w, "acked", r->acked);
        mpw_map_end(&w);
        if (state_write(r->statedir, STATE_FILE, mpw_data(&w), mpw_len(&w), 0600) == 0)
                r->saved_acked = r->acked;
        mpw_free(&w);
        r->last_save_ms = ds_now_mono_ms();
}

static void load_state(logd_remote_t *r)
{
        struct state_mp m;

        if (state_read_mp(r->statedir, STATE_FILE, 4096, NULL, &m) == 0)
                r->acked = r->saved_acked = (uint64_t)mp_get_int(&m.u.data, "acked", 0);
        state_mp_free(&m);
}

static void close_conn(logd_remote_t *r)
{
        ds_resolve_cancel(&r->res, false);
        poll_set(r, 0);
        if (r->ssl) {
                SSL_free(r->ssl);
                r->ssl = NULL;
        }
        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
        r->out_len = r->out_off = 0;
        r->nb = 0;
        r->queued = r->acked; /* resend from the last acknowledged point */
        r->plain_written = 0;
        if (r->ack_timer >= 0) {
                zloop_timer_end(r->loop, r->ack_timer);
                r->ack_timer = -1;
        }
}

static void schedule_retry(logd_remote_t *r)
{
        if (r->retry_timer >= 0)
                zloop_timer_end(r->loop, r->retry_timer);
        r->retry_timer = zloop_timer(r->loop, (size_t)r->backoff_ms, 1, on_retry, r);
        r->backoff_ms = r->backoff_ms * 2 > r->cfg.backoff_max_ms ? r->cfg.backoff_max_ms : r->backoff_ms * 2;
        r->st = R_WAIT;
}

static void check_acks(logd_remote_t *r);

static void conn_fail(logd_remote_t *r)
{
        r->failures++;
        check_acks(r);
        close_conn(r);
        save_state(r);
        schedule_retry(r);
}

static void ssl_error(logd_remote_t *r, const char *what)
{
        unsigned long e = ERR_get_error();
        long vr = r->ssl ? SSL_get_verify_result(r->ssl) : X509_V_OK;

        if (vr != X509_V_OK)
                set_error(r, "%s: certificate verify failed: %s", what, X509_verify_cert_error_string(vr));
        else if (e)
                set_error(r, "%s: %s", what, ERR_reason_error_string(e) ?: "TLS error");
        else
                set_error(r, "%s: connection closed by the server", what);
        ERR_clear_error();
}

/* ---- reading the store ------------------------------------------------------ */

/* Next stored record after r->queued into r->rec: 1, 0 when none yet, <0 error. */
static int reader_next(logd_remote_t *r)
{
        struct logd_store_info in;

        logd_store_info(r->store, &in);
        if (in.last_seq <= r->queued)
                return 0;
        if (r->reseek) {
                if (logd_cursor_seek_seq(r->cur, r->queued + 1) < 0)
                        return 0;
                r->reseek = false;
        }
        return logd_cursor_next_rec(r->cur, r->rec);
}

static void fill_out(logd_remote_t *r)
{
        char line[LOGD_RFC5424_MAX];

        if (r->out_off == r->out_len)
                r->out_off = r->out_len = 0;
        while (r->out_len < OUT_TARGET) {
                bool cut = false;
                int n, k;
                if (reader_next(r) <= 0)
                        break;
                n = logd_rfc5424_fit(r->rec, r->cfg.hostname, r->cfg.device_id, (size_t)r->cfg.max_msg, line,
                                     sizeof line, &cut);
                if (n < 0) {
                        /* not even the header fits: counted and said, never passed off as sent */
                        r->dropped++;
                        log_warn("remote: record %llu not sent: its RFC 5424 header exceeds remote_max_msg (%d)",
                                 (unsigned long long)r->rec->seq, r->cfg.max_msg);
                        r->queued = r->rec->seq;
                        continue;
                }
                if (r->out_len + (size_t)n + 16 > r->out_cap) {
                        size_t cap = (r->out_len + (size_t)n + 16) * 2;
                        char *o = realloc(r->out, cap);
                        if (!o)
                                break;
                        r->out = o;
                        r->out_cap = cap;
                }
                if (cut)
                        r->truncated++;
                k = snprintf(r->out + r->out_len, 16, "%d ", n);
                memcpy(r->out + r->out_len + k, line, (size_t)n);
                r->out_len += (size_t)k + (size_t)n;
                r->queued = r->rec->seq;
                r->sent_records++;
        }
}

static uint64_t tcp_written(logd_remote_t *r)
{
        return r->ssl ? BIO_number_written(SSL_get_wbio(r->ssl)) : r->plain_written;
}

static void note_batch(logd_remote_t *r)
{
        if (r->nb == r->capb) {
                size_t cap = r->capb ? r->capb * 2 : 64;
                struct batch *nb = realloc(r->b, cap * sizeof *nb);
                if (!nb)
                        return;
                r->b = nb;
                r->capb = cap;
        }
        r->b[r->nb++] = (struct batch){ .last_seq = r->queued, .tcp_end = tcp_written(r) };
}

/* Records whose last byte the server's TCP stack acknowledged are done. The
 * kernel's own count of acknowledged bytes is used (TCP_INFO), which never runs
 * ahead of the peer, even after a reset purged the send queue. One byte is held
 * back in case the SYN is counted: at worst one batch is sent twice, which the
 * sequence number makes detectable. */
static void check_acks(logd_remote_t *r)
{
        struct tcp_info ti;
        socklen_t l = sizeof ti;
        uint64_t acked_bytes;
        size_t k = 0;

        memset(&ti, 0, sizeof ti);
        if (r->fd < 0 || getsockopt(r->fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 ||
            l < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked)
                return;
        acked_bytes = ti.tcpi_bytes_acked ? ti.tcpi_bytes_acked - 1 : 0;
        while (k < r->nb && r->b[k].tcp_end <= acked_bytes)
                r->acked = r->b[k++].last_seq;
        if (k) {
                memmove(r->b, r->b + k, (r->nb - k) * sizeof *r->b);
                r->nb -= k;
        }
        if (r->acked != r->saved_acked && ds_now_mono_ms() - r->last_save_ms >= 1000)
                save_state(r);
}

/* Writes what can be written now; 0, or -1 when the connection failed. */
static int pump(logd_remote_t *r)
{
        for (;;) {
                if (r->out_off == r->out_len) {
                        fill_out(r);
                        if (r->out_off == r->out_len)
                                break;
                }
                if (r->ssl) {
                        int n = SSL_write(r->ssl, r->out + r->out_off, (int)(r->out_len - r->out_off));
                        if (n <= 0) {
                                int e = SSL_get_error(r->ssl, n);
                                if (e == SSL_ERROR_WANT_WRITE) {
                                        poll_set(r, ZMQ_POLLIN | ZMQ_POLLOUT);
                                        return 0;
                                }
                                if (e == SSL_ERROR_WANT_READ) {
                                        poll_set(r, ZMQ_POLLIN);
                                        return 0;
                                }
                                ssl_error(r, "write");
                                return -1;
                        }
                        r->out_off += (size_t)n;
                } else {
                        ssize_t n = send(r->fd, r->out + r->out_off, r->out_len - r->out_off, MSG_NOSIGNAL);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                        poll_set(r, ZMQ_POLLIN | ZMQ_POLLOUT);
                                        return 0;
                                }
                                set_error(r, "write: %s", strerror(errno));
                                return -1;
                        }
                        r->out_off += (size_t)n;
                        r->plain_written += (uint64_t)n;
                }
                if (r->out_off == r->out_len)
                        note_batch(r);
        }
        poll_set(r, ZMQ_POLLIN);
        return 0;
}

static int check_pin(logd_remote_t *r)
{
        X509 *cert;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        if (!r->cfg.pin[0])
                return 0;
        cert = SSL_get1_peer_certificate(r->ssl);
        if (!cert) {
                set_error(r, "pin: the server sent no certificate");
                return -1;
        }
        X509_digest(cert, EVP_sha256(), md, &n);
        X509_free(cert);
        ds_hex(md, n, hex);
        if (strcasecmp(hex, r->cfg.pin)) {
                set_error(r, "pin: server certificate SHA-256 %s does not match the pinned one", hex);
                return -1;
        }
        return 0;
}

static void went_up(logd_remote_t *r)
{
        r->st = R_UP;
        r->connects++;
        r->backoff_ms = BACKOFF_MIN_MS;
        r->up_since = ds_now_mono_ms();
        r->last_error[0] = '\0';
        r->queued = r->acked;
        r->reseek = true;
        log_notice("remote '%s:%d': connected%s, resending from record %llu", r->cfg.host, r->cfg.port,
                   r->ssl ? " (TLS verified)" : " in the clear (insecure)", (unsigned long long)r->acked + 1);
        r->ack_timer = zloop_timer(r->loop, ACK_TICK_MS, 0, on_ack, r);
}

static int handshake(logd_remote_t *r)
{
        int n = SSL_connect(r->ssl);

        if (n == 1) {
                if (check_pin(r) < 0)
                        return -1;
                went_up(r);
                return pump(r);
        }
        switch (SSL_get_error(r->ssl, n)) {
        case SSL_ERROR_WANT_READ:
                poll_set(r, ZMQ_POLLIN);
                return 0;
        case SSL_ERROR_WANT_WRITE:
                poll_set(r, ZMQ_POLLOUT);
                return 0;
        default:
                ssl_error(r, "TLS handshake");
                return -1;
        }
}

static int start_tls(logd_remote_t *r)
{
        const char *name = r->cfg.name[0] ? r->cfg.name : r->cfg.host;
        struct in6_addr a6;
        struct in_addr a4;
        bool ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;

        r->ssl = SSL_new(r->ctx);
        if (!r->ssl || !SSL_set_fd(r->ssl, r->fd)) {
                set_error(r, "TLS: out of memory");
                return -1;
        }
        if (ip) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), name);
        } else {
                SSL_set_tlsext_host_name(r->ssl, name);
                SSL_set1_host(r->ssl, name);
        }
        r->st = R_HANDSHAKE;
        return handshake(r);
}

/* What readiness means depends on the connection state: one handler per state. */
static int io_connecting(logd_remote_t *r, short revents)
{
        int err = 0;
        socklen_t l = sizeof err;

        (void)revents;
        getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
                set_error(r, "connect: %s", strerror(err));
                return -1;
        }
        if (r->cfg.insecure) {
                went_up(r);
                return pump(r);
        }
        return start_tls(r);
}

static int io_handshake(logd_remote_t *r, short revents)
{
        (void)revents;
        return handshake(r);
}

/* The server says nothing in RFC 5425: anything readable is drained, and end of
 * stream or an error means the connection is gone. */
static int drain_input(logd_remote_t *r)
{
        char buf[512];

        for (;;) {
                int n;
                if (r->ssl) {
                        n = SSL_read(r->ssl, buf, sizeof buf);
                        if (n <= 0) {
                                int e = SSL_get_error(r->ssl, n);
                                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                                        return 0;
                                ssl_error(r, "read");
                                return -1;
                        }
                } else {
                        n = (int)recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                                return 0;
                        if (n <= 0) {
                                set_error(r, "connection closed by the server");
                                return -1;
                        }
                }
        }
}

static int io_up(logd_remote_t *r, short revents)
{
        if ((revents & (ZMQ_POLLIN | ZMQ_POLLERR)) && drain_input(r) < 0)
                return -1;
        return pump(r);
}

static int io_idle(logd_remote_t *r, short revents)
{
        (void)revents;
        poll_set(r, 0);
        return 0;
}

static int (*const state_io[])(logd_remote_t *r, short revents) = {
        [R_OFF] = io_idle,         [R_WAIT] = io_idle, [R_CONNECTING] = io_connecting,
        [R_HANDSHAKE] = io_handshake, [R_UP] = io_up,  [R_ERROR] = io_idle,
};

static int on_io(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        logd_remote_t *r = arg;

        (void)loop;
        if (state_io[r->st](r, item->revents) < 0)
                conn_fail(r);
        return 0;
}

static void connect_addr(logd_remote_t *r, const struct sockaddr *sa, socklen_t len)
{
        r->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (r->fd < 0) {
                set_error(r, "socket: %s", strerror(errno));
                conn_fail(r);
                return;
        }
        if (connect(r->fd, sa, len) < 0 && errno != EINPROGRESS) {
                set_error(r, "connect: %s", strerror(errno));
                conn_fail(r);
                return;
        }
        r->st = R_CONNECTING;
        poll_set(r, ZMQ_POLLOUT);
}

/* A host name is looked up off the loop (common/resolve.c), so a slow or absent
 * DNS server never stalls it; a numeric address is answered at once. */
static void on_resolved(void *ud, int err, const struct addrinfo *ai)
{
        logd_remote_t *r = ud;

        r->res = NULL;
        if (err || !ai) {
                set_error(r, "resolve '%s': %s", r->cfg.host,
                          err == EAI_AGAIN ? "no answer within 10 s" : gai_strerror(err ? err : EAI_NODATA));
                conn_fail(r);
                return;
        }
        connect_addr(r, ai->ai_addr, ai->ai_addrlen);
}

static void start_connect(logd_remote_t *r)
{
        const struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
        char port[16];
        int e;

        snprintf(port, sizeof port, "%d", r->cfg.port);
        e = ds_resolve_start(r->loop, r->cfg.host, port, &hints, RESOLVE_TIMEOUT_MS, on_resolved, r, &r->res);
        if (e < 0) {
                set_error(r, "resolve '%s': %s", r->cfg.host, strerror(-e));
                conn_fail(r);
                return;
        }
        r->st = R_CONNECTING;
}

static int on_retry(zloop_t *loop, int timer_id, void *arg)
{
        logd_remote_t *r = arg;

        (void)loop;
        (void)timer_id;
        r->retry_timer = -1;
        if (r->cfg.enabled && r->st == R_WAIT)
                start_connect(r);
        return 0;
}

static int on_ack(zloop_t *loop, int timer_id, void *arg)
{
        logd_remote_t *r = arg;
        struct logd_store_info in;

        (void)loop;
        (void)timer_id;
        check_acks(r);
        logd_store_info(r->store, &in);
        if (r->st == R_UP && r->out_off == r->out_len && r->queued < in.last_seq)
                poll_set(r, ZMQ_POLLIN | ZMQ_POLLOUT);
        return 0;
}

logd_remote_t *logd_remote_new(zloop_t *loop, logd_store_t *store, const char *statedir)
{
        logd_remote_t *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        r->loop = loop;
        r->store = store;
        r->fd = -1;
        r->retry_timer = r->ack_timer = -1;
        r->reseek = true;
        r->backoff_ms = BACKOFF_MIN_MS;
        r->statedir = strdup(statedir);
        r->rec = malloc(sizeof *r->rec);
        if (!r->statedir || !r->rec || logd_cursor_new(store, &r->cur) < 0) {
                logd_remote_destroy(&r);
                return NULL;
        }
        load_state(r);
        r->queued = r->acked;
        return r;
}

void logd_remote_destroy(logd_remote_t **rp)
{
        logd_remote_t *r = rp ? *rp : NULL;

        if (!r)
                return;
        ds_resolve_cancel(&r->res, true); /* stopping: await a lookup glibc still runs */
        close_conn(r);
        if (r->retry_timer >= 0 && r->loop)
                zloop_timer_end(r->loop, r->retry_timer);
        save_state(r);
        SSL_CTX_free(r->ctx);
        free(r->out);
        free(r->b);
        logd_cursor_destroy(&r->cur);
        free(r->rec);
        free(r->statedir);
        free(r);
        *rp = NULL;
}

static int build_ctx(logd_remote_t *r)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

        if (!ctx) {
                set_error(r, "TLS: cannot create a context");
                return -1;
        }
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (SSL_CTX_load_verify_locations(ctx, r->cfg.ca, NULL) != 1) {
                set_error(r, "CA file '%s' unusable", r->cfg.ca);
                goto fail;
        }
        if (r->cfg.cert[0] &&
            (SSL_CTX_use_certificate_chain_file(ctx, r->cfg.cert) != 1 ||
             SSL_CTX_use_PrivateKey_file(ctx, r->cfg.key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
                set_error(r, "client certificate '%s' or key unusable", r->cfg.cert);
                goto fail;
        }
        ERR_clear_error();
        SSL_CTX_free(r->ctx);
        r->ctx = ctx;
        return 0;
fail:
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return -1;
}

int logd_remote_configure(logd_remote_t *r, const struct logd_remote_cfg *cfg)
{
        if (!memcmp(&r->cfg, cfg, sizeof *cfg) && r->st != R_OFF)
                return 0;
        close_conn(r);
        if (r->retry_timer >= 0) {
                zloop_timer_end(r->loop, r->retry_timer);
                r->retry_timer = -1;
        }
        r->cfg = *cfg;
        if (r->cfg.backoff_max_ms < BACKOFF_MIN_MS)
                r->cfg.backoff_max_ms = BACKOFF_MIN_MS;
        r->backoff_ms = BACKOFF_MIN_MS;
        r->last_error[0] = '\0';
        if (!cfg->enabled || !cfg->host[0]) {
                r->st = R_OFF;
                return 0;
        }
        if (!cfg->insecure && build_ctx(r) < 0) {
                r->st = R_ERROR;
                return -EINVAL;
        }
        start_connect(r);
        return 0;
}

void logd_remote_kick(logd_remote_t *r)
{
        if (r && r->st == R_UP && r->out_off == r->out_len)
                poll_set(r, ZMQ_POLLIN | ZMQ_POLLOUT);
}

uint64_t logd_remote_acked(const logd_remote_t *r)
{
        return r->acked;
}

bool logd_remote_enabled(const logd_remote_t *r)
{
        return r && r->st != R_OFF;
}

void logd_remote_flush(logd_remote_t *r)
{
        check_acks(r);
        save_state(r);
}

void logd_remote_status(const logd_remote_t *r, struct mpw *w)
{
        struct logd_store_info in;
        uint64_t last;

        logd_store_info(r->store, &in);
        last = in.last_seq;

        mpw_kv_str(w, "state", state_names[r->st]);
        mpw_kv_bool(w, "enabled", r->cfg.enabled);
        mpw_kv_str(w, "host", r->cfg.host);
        mpw_kv_int(w, "port", r->cfg.port);
        mpw_kv_bool(w, "tls", !r->cfg.insecure);
        mpw_kv_str(w, "name", r->cfg.name[0] ? r->cfg.name : r->cfg.host);
        mpw_kv_bool(w, "pinned", r->cfg.pin[0] != '\0');
        mpw_kv_bool(w, "client_cert", r->cfg.cert[0] != '\0');
        mpw_kv_uint(w, "acked", r->acked);
        mpw_kv_uint(w, "pending", r->st != R_OFF && last > r->acked ? last - r->acked : 0);
        mpw_kv_uint(w, "connects", r->connects);
        mpw_kv_uint(w, "failures", r->failures);
        mpw_kv_int(w, "backoff_ms", r->st == R_WAIT ? r->backoff_ms : 0);
        mpw_kv_str(w, "last_error", r->last_error);
        mpw_kv_int(w, "max_msg", r->cfg.max_msg);
        mpw_kv_uint(w, "truncated", r->truncated);
        mpw_kv_uint(w, "dropped", r->dropped);
}
