/* webd.h - the device's HTTPS face: TLS with netcfgd's certificate on
 * netcfgd's ports, a thin JSON gateway from HTTP to bus calls under the
 * browser user's session, and the static web console. */
#pragma once
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "service.h"

#define WEBD_MAX_LISTEN 16
#define WEBD_BODY_MAX (1u << 20)
/* MHD zeroes a connection's pool for every request: 32 KiB holds the headers
 * and one read of a body chunk (256 KiB cost a 256 KiB memset per request) */
#define WEBD_CONN_MEMORY (32u << 10)
#define WEBD_COOKIE "__Host-devsec"
#define WEBD_CSRF_HEADER "X-CSRF-Token"

/* The certificate and key in force (tls.c); the previous generation stays
 * alive until the next reload, for handshakes that started on it. */
struct webd_cert {
        gnutls_pcert_st *pcerts;
        unsigned n_pcerts;
        gnutls_privkey_t key;
        char fingerprint[65];
};

/* One listening MHD daemon: an address and a port, TLS or the plain redirect. */
struct webd_listener {
        struct MHD_Daemon *mhd;
        char addr[64];
        int port;
        bool tls;
        int epfd;
        int again_timer; /* -1, or a 1 ms timer: MHD has more to do */
        struct webd_ctx *x;
};

/* What netcfgd says (port.show, https.show, net.* events). */
struct webd_net {
        bool known;
        int https_port, http_port;
        bool enabled;   /* https_enabled and the https function */
        bool redirect;
        char tls_min[8];
        int max_connections;
};

struct webd_conn; /* http.c: per connection */
/* A bus call in flight for a suspended request. The request may die first
 * (listener closed): the call then finds q NULL and only frees itself. */
struct webd_pending {
        struct webd_req *q;
        int kind;
};
struct webd_stream; /* events.c: one SSE stream */

struct webd_ctx {
        struct ds_daemon *d;
        bus_t *gw;                 /* the gateway connection (identity webd) */
        char gw_identity[BUS_NAME_MAX + 1];
        /* settings */
        char *listen[WEBD_MAX_LISTEN];
        size_t n_listen;
        int https_port_override, http_port_override;
        int max_clients, per_source_max, idle_timeout_s, header_timeout_s, max_streams;
        char *www;                 /* console directory */
        char *certdir;             /* netcfgd's certs/ */
        char origin_host[256];     /* allowed Origin host override ("" = the request's Host) */
        /* state */
        struct webd_net net;
        struct webd_cert cert, old_cert;
        bool have_cert;
        char cert_sig[160];        /* the files the certificate was loaded from */
        struct webd_listener lst[WEBD_MAX_LISTEN * 2];
        size_t n_lst;
        char listening_sig[512];   /* what the listeners were built from */
        int dirfd;                 /* the console directory, O_PATH */
        unsigned char csrf_key[32];
        int mhd_timer;
        struct webd_conn *conns;   /* live connections (slowloris deadline) */
        struct webd_stream *streams;
        unsigned n_streams;
        uint64_t requests, refused_csrf, calls, logins;
        int refresh_timer;
};

/* tls.c */
int webd_cert_load(struct webd_ctx *x, struct ds_err *e);
void webd_cert_free(struct webd_cert *c);
const char *webd_tls_priorities(const char *tls_min);
int webd_cert_callback(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int n_dn,
                       const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                       unsigned int *n_pcert, gnutls_privkey_t *key);
void webd_tls_set_ctx(struct webd_ctx *x);

/* http.c */
int webd_listen_update(struct webd_ctx *x);
void webd_listen_close(struct webd_ctx *x);
void webd_http_timers(struct webd_ctx *x);

/* http_drive.c */
void webd_http_drive(struct webd_listener *l);
void webd_http_kick(struct webd_ctx *x); /* MHD has a resumed connection to serve */

/* api.c: one request of the API, once its body is read */
struct webd_req {
        struct webd_ctx *x;
        struct MHD_Connection *conn;
        char *body;
        size_t body_len;
        bool too_big;
        bool suspended;
        bool done;
        unsigned status;
        char *reply;      /* JSON text to send when resumed */
        char *cookie;     /* Set-Cookie value */
        char source[64];
        int kind;
        struct webd_stream *stream;
        struct webd_pending *pending; /* a bus call in flight */
};
enum MHD_Result webd_api(struct webd_req *q, const char *method, const char *url);
void webd_req_free(struct webd_req *q);
/* The CSRF token of a session token: HMAC under a key of this process. */
void webd_csrf_token(const struct webd_ctx *x, const char *tok, char out[65]);
/* Session token from the request's cookie into buf; false when none. */
bool webd_cookie_token(struct MHD_Connection *c, char *buf, size_t size);

/* reply.c */
/* Queues a JSON reply with the API's headers; takes ownership of body (malloc'd). */
enum MHD_Result webd_reply_json(struct MHD_Connection *c, unsigned status, char *body, const char *cookie);
enum MHD_Result webd_reply_error(struct MHD_Connection *c, unsigned status, const char *code, const char *field,
                                 const char *msg);
void webd_add_headers(struct MHD_Response *r, bool api);
/* The answer of a suspended request is here: resumes it with status and body (owned). */
void webd_api_finish(struct webd_req *q, unsigned status, char *body);
unsigned webd_http_status(int code);
char *webd_error_json(const struct ds_err *e);

/* audit.c: GET /api/v1/audit?level=N, the bus library's sweep under the session */
enum MHD_Result webd_api_audit(struct webd_req *q, const char *tok, int level);

/* static.c */
enum MHD_Result webd_static(struct webd_ctx *x, struct MHD_Connection *c, const char *url);
/* Drops the cached console files (the directory changed). */
void webd_static_flush(void);
/* Resolves a URL path below dirfd; the open fd or -ENOENT for anything outside. */
int webd_static_open(int dirfd, const char *url, const char **ret_type);

/* events.c */
enum MHD_Result webd_events(struct webd_req *q, const char *tok, const char *topic);
void webd_streams_close(struct webd_ctx *x);

/* net.c: what netcfgd says */
int webd_net_start(struct webd_ctx *x);
void webd_net_refresh(struct webd_ctx *x);

/* probe.c: net.https from a local connection to each HTTPS listener, off the loop */
void webd_probe_update(struct webd_ctx *x);
void webd_probe_stop(void);
enum ds_audit_result webd_probe_result(struct webd_ctx *x, char *detail, size_t size);
/* methods.c */
extern const struct ds_method webd_methods[];
extern const struct ds_field webd_settings[];
extern const struct ds_audit_item webd_audit[];
