/* http.c - the listeners (libmicrohttpd over GnuTLS, driven from the daemon's
 * zloop through MHD's epoll fd: http_drive.c), connection limits, the
 * plain-HTTP redirect and the request dispatch (replies: reply.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"
#include "webd.h"

/* Per connection: when the current request began, for the header deadline
 * that drops a slowloris client whatever its trickle resets. */
struct webd_conn {
        struct webd_conn *next, **pprev;
        struct MHD_Connection *c;
        int64_t started_ms;
        bool in_request; /* the request's headers are complete */
        bool cut;
};

static void source_of(struct MHD_Connection *c, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(buf, size, "unknown");
        if (!sa)
                return;
        getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), buf,
                    (socklen_t)size, NULL, 0, NI_NUMERICHOST);
        if (!strncmp(buf, "::ffff:", 7))
                memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

/* The redirect listener: every request goes to the same path over HTTPS. */
static enum MHD_Result on_plain(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
        struct webd_listener *l = cls;
        struct webd_ctx *x = l->x;
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
        char h[256], *loc = NULL;
        struct MHD_Response *r;
        enum MHD_Result ret;
        size_t i;

        (void)method;
        (void)version;
        (void)upload;
        if (!*con_cls) {
                *con_cls = (void *)1;
                return MHD_YES;
        }
        *upload_size = 0;
        snprintf(h, sizeof h, "%s", host && *host ? host : l->addr);
        /* the host without its port; a host with odd bytes is not echoed */
        if (h[0] == '[') {
                char *e = strchr(h, ']');
                if (e)
                        e[1] = 0;
        } else {
                char *colon = strchr(h, ':');
                if (colon)
                        *colon = 0;
        }
        for (i = 0; h[i]; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", h[i]))
                        break;
        if (h[i] || !h[0])
                snprintf(h, sizeof h, "%s", l->addr);
        if (asprintf(&loc, "https://%s:%d%s", h, x->https_port_override ? x->https_port_override : x->net.https_port,
                     url && url[0] == '/' && url[1] != '/' ? url : "/") < 0)
                return MHD_NO;
        for (i = 0; loc[i]; i++)
                if ((unsigned char)loc[i] < 0x21 || (unsigned char)loc[i] == 0x7f)
                        loc[i] = '_';
        r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (!r) {
                free(loc);
                return MHD_NO;
        }
        MHD_add_response_header(r, "Location", loc);
        MHD_add_response_header(r, "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        free(loc);
        ret = MHD_queue_response(c, MHD_HTTP_MOVED_PERMANENTLY, r);
        MHD_destroy_response(r);
        return ret;
}

/* Percent-decoding in place, as MHD's own, except that an encoded NUL becomes
 * a control byte no path or name accepts: "/index.html%00.js" must not be
 * "/index.html". */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
        char *o = s;

        (void)cls;
        (void)c;
        for (char *i = s; *i; i++) {
                unsigned v;
                if (i[0] == '%' && isxdigit((unsigned char)i[1]) && isxdigit((unsigned char)i[2]) &&
                    sscanf(i + 1, "%2x", &v) == 1) {
                        *o++ = v ? (char)v : '\x01';
                        i += 2;
                } else {
                        *o++ = *i;
                }
        }
        *o = 0;
        return (size_t)(o - s);
}

static struct webd_conn *conn_of(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        return ci ? ci->socket_context : NULL;
}

static bool is_api(const char *url)
{
        return !strncmp(url, "/api/", 5);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
        struct webd_listener *l = cls;
        struct webd_ctx *x = l->x;
        struct webd_req *q = *con_cls;
        bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");

        (void)version;
        if (!q) {
                struct webd_conn *wc = conn_of(c);
                const char *len;

                if (wc)
                        wc->in_request = true;
                x->requests++;
                q = calloc(1, sizeof *q);
                if (!q)
                        return MHD_NO;
                q->x = x;
                q->conn = c;
                source_of(c, q->source, sizeof q->source);
                *con_cls = q;
                /* no method tunnelling: what the request line says is what it is */
                if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-HTTP-Method-Override") ||
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-HTTP-Method") ||
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Method-Override") ||
                    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "_method")) {
                        q->done = true;
                        return webd_reply_error(c, MHD_HTTP_BAD_REQUEST, "EINVAL", "method",
                                                "method overrides are refused");
                }
                if (!get && !post) {
                        q->done = true;
                        return webd_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "EINVAL", "method",
                                                "only GET, HEAD and POST");
                }
                len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
                if (len && strtoull(len, NULL, 10) > WEBD_BODY_MAX) {
                        q->done = true;
                        return webd_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "EINVAL", "body",
                                                "bodies are at most 1 MiB");
                }
                return MHD_YES;
        }
        if (*upload_size) {
                if (!q->done && !q->too_big) {
                        if (q->body_len + *upload_size > WEBD_BODY_MAX) {
                                /* a chunked body (a Content-Length over the limit was
                                 * answered 413 already): MHD cannot answer in the
                                 * middle of a chunked upload, so the connection closes */
                                q->too_big = true;
                                q->done = true;
                                log_info("request body from %s over 1 MiB: connection closed", q->source);
                                return MHD_NO;
                        } else {
                                char *nb = realloc(q->body, q->body_len + *upload_size + 1);
                                if (!nb)
                                        return MHD_NO;
                                memcpy(nb + q->body_len, upload, *upload_size);
                                q->body = nb;
                                q->body_len += *upload_size;
                                q->body[q->body_len] = 0;
                        }
                }
                *upload_size = 0;
                return MHD_YES;
        }
        if (q->done && !q->suspended && !q->reply)
                return MHD_YES; /* an answer is queued already */
        if (q->too_big)
                return MHD_YES;
        if (is_api(url))
                return webd_api(q, method, url);
        q->done = true;
        if (!get)
                return webd_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "EINVAL", "method", "static files: GET only");
        return webd_static(x, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        struct webd_conn *wc = conn_of(c);

        (void)cls;
        (void)toe;
        if (wc) {
                wc->in_request = false;
                wc->started_ms = ds_now_mono_ms();
        }
        webd_req_free(*con_cls);
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
        struct webd_listener *l = cls;
        struct webd_ctx *x = l->x;
        struct webd_conn *wc = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                wc = calloc(1, sizeof *wc);
                if (!wc)
                        return;
                wc->c = c;
                wc->started_ms = ds_now_mono_ms();
                wc->next = x->conns;
                if (x->conns)
                        x->conns->pprev = &wc->next;
                wc->pprev = &x->conns;
                x->conns = wc;
                *socket_context = wc;
        } else if (wc) {
                *wc->pprev = wc->next;
                if (wc->next)
                        wc->next->pprev = wc->pprev;
                free(wc);
                *socket_context = NULL;
        }
}

/* A connection whose request headers did not arrive within header_timeout_s
 * gets a one-second idle timeout: a trickle of a byte every few seconds no
 * longer keeps it. */
static void cut_slow(struct webd_ctx *x)
{
        int64_t now = ds_now_mono_ms();

        for (struct webd_conn *wc = x->conns; wc; wc = wc->next)
                if (!wc->in_request && !wc->cut && now - wc->started_ms > (int64_t)x->header_timeout_s * 1000) {
                        wc->cut = true;
                        MHD_set_connection_option(wc->c, MHD_CONNECTION_OPTION_TIMEOUT, 1u);
                }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        (void)cls;
        if (log_get_level() >= LOG_LVL_DEBUG)
                log_vmsg(LOG_LVL_DEBUG, fmt, ap);
}

static int on_epoll(zloop_t *loop, zmq_pollitem_t *it, void *arg)
{
        (void)loop;
        (void)it;
        webd_http_drive(arg);
        return 0;
}

void webd_http_timers(struct webd_ctx *x)
{
        cut_slow(x);
        for (size_t i = 0; i < x->n_lst; i++)
                webd_http_drive(&x->lst[i]);
}

static int listener_open(struct webd_ctx *x, const char *addr, int port, bool tls)
{
        struct webd_listener *l = &x->lst[x->n_lst];
        struct sockaddr_storage ss = { 0 };
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        unsigned limit = (unsigned)(x->net.max_connections > 0 ? x->net.max_connections : x->max_clients);
        const union MHD_DaemonInfo *di;
        zmq_pollitem_t it = { 0 };

        memset(l, 0, sizeof *l);
        l->again_timer = -1;
        l->x = x;
        l->port = port;
        l->tls = tls;
        snprintf(l->addr, sizeof l->addr, "%s", addr);
        if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
        } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                flags |= MHD_USE_IPv6;
        } else {
                return log_errno(-EINVAL, "listen address '%s' is not an IP address", addr);
        }
        if (tls)
                l->mhd = MHD_start_daemon(
                        flags | MHD_USE_TLS, (uint16_t)port, NULL, NULL, on_request, l, MHD_OPTION_SOCK_ADDR, &ss,
                        MHD_OPTION_HTTPS_CERT_CALLBACK, webd_cert_callback, MHD_OPTION_HTTPS_PRIORITIES,
                        webd_tls_priorities(x->net.tls_min), MHD_OPTION_CONNECTION_LIMIT, limit,
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)x->per_source_max, MHD_OPTION_CONNECTION_TIMEOUT,
                        (unsigned)x->idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                        (size_t)WEBD_CONN_MEMORY, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l, MHD_OPTION_END);
        else
                l->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_plain, l, MHD_OPTION_SOCK_ADDR, &ss,
                                          MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                          (unsigned)x->per_source_max, MHD_OPTION_CONNECTION_TIMEOUT,
                                          (unsigned)x->idle_timeout_s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
                                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l, MHD_OPTION_END);
        if (!l->mhd)
                return log_errno(-EADDRNOTAVAIL, "cannot listen on %s port %d (%s)", addr, port,
                                 tls ? "https" : "http redirect");
        di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        l->epfd = di ? di->epoll_fd : -1;
        it.fd = l->epfd;
        it.events = ZMQ_POLLIN;
        if (l->epfd < 0 || zloop_poller(x->d->loop, &it, on_epoll, l) < 0) {
                MHD_stop_daemon(l->mhd);
                l->mhd = NULL;
                return log_errno(-EIO, "cannot poll the listener on %s port %d", addr, port);
        }
        x->n_lst++;
        log_notice("listening on %s port %d (%s)", addr, port, tls ? "https" : "http: redirect to https");
        return 0;
}

void webd_listen_close(struct webd_ctx *x)
{
        webd_streams_close(x);
        for (size_t i = 0; i < x->n_lst; i++) {
                struct webd_listener *l = &x->lst[i];
                zmq_pollitem_t it = { .fd = l->epfd, .events = ZMQ_POLLIN };

                if (l->again_timer >= 0)
                        zloop_timer_end(x->d->loop, l->again_timer);
                l->again_timer = -1;
                if (!l->mhd)
                        continue;
                zloop_poller_end(x->d->loop, &it);
                MHD_stop_daemon(l->mhd);
                l->mhd = NULL;
                log_notice("stopped listening on %s port %d", l->addr, l->port);
        }
        x->n_lst = 0;
        x->listening_sig[0] = 0;
}

/* The device's interface addresses (never the wildcard). */
static size_t device_addrs(char out[][64], size_t max)
{
        struct ifaddrs *ifa = NULL, *i;
        size_t n = 0;

        if (getifaddrs(&ifa) < 0)
                return 0;
        for (i = ifa; i && n < max; i = i->ifa_next) {
                if (!i->ifa_addr || !(i->ifa_flags & IFF_UP))
                        continue;
                if (i->ifa_addr->sa_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out[n], 64);
                else if (i->ifa_addr->sa_family == AF_INET6 &&
                         !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, out[n], 64);
                else
                        continue;
                n++;
        }
        freeifaddrs(ifa);
        return n;
}

/* Brings the listeners in line with the settings and netcfgd: opens, closes
 * or rebuilds them. A new certificate needs none of this (tls.c). */
int webd_listen_update(struct webd_ctx *x)
{
        char addrs[WEBD_MAX_LISTEN][64], sig[sizeof x->listening_sig];
        int https = x->https_port_override ? x->https_port_override : x->net.https_port;
        int http = x->http_port_override ? x->http_port_override : x->net.http_port;
        bool on = x->net.known && x->net.enabled && x->have_cert && https > 0;
        size_t n, o;
        int r = 0;

        if (x->n_listen) {
                for (n = 0; n < x->n_listen; n++)
                        snprintf(addrs[n], 64, "%s", x->listen[n]);
        } else {
                n = device_addrs(addrs, WEBD_MAX_LISTEN);
        }
        o = (size_t)snprintf(sig, sizeof sig, "%d/%d/%d/%s/%d/%d/%d/%d", on, https, x->net.redirect ? http : 0,
                             x->net.tls_min, x->net.max_connections, x->max_clients, x->per_source_max,
                             x->idle_timeout_s);
        for (size_t i = 0; i < n && o < sizeof sig; i++)
                o += (size_t)snprintf(sig + o, sizeof sig - o, " %s", addrs[i]);
        if (!strcmp(sig, x->listening_sig))
                return 0;
        webd_listen_close(x);
        if (!on) {
                if (x->net.known)
                        log_notice("not listening: %s", !x->net.enabled ? "HTTPS is off" :
                                                        !x->have_cert ? "no server certificate yet" : "no port");
                snprintf(x->listening_sig, sizeof x->listening_sig, "%s", sig);
                webd_probe_update(x);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                int k = listener_open(x, addrs[i], https, true);
                if (k < 0)
                        r = k;
                if (x->net.redirect && http > 0 && http != https && (k = listener_open(x, addrs[i], http, false)) < 0)
                        r = k;
        }
        if (r == 0)
                snprintf(x->listening_sig, sizeof x->listening_sig, "%s", sig);
        webd_probe_update(x);
        return r;
}
