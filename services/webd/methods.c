/* methods.c - webd's settings, its one method and its audit items */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "webd.h"

static const struct ds_field ip_item[] = { { NULL, DS_STR, 0, .max_len = 45, .check = ds_check_ip }, { NULL } };

const struct ds_field webd_settings[] = {
        { "listen", DS_ARRAY, 0, .max_len = WEBD_MAX_LISTEN, .sub = ip_item,
          .help = "addresses to listen on; empty: every address of the device's interfaces (never the wildcard)" },
        { "https_port", DS_INT, 0, .min = 0, .max = 65535, .def_int = 0,
          .help = "0: netcfgd's https port; else this port (build tree, tests)" },
        { "http_port", DS_INT, 0, .min = 0, .max = 65535, .def_int = 0,
          .help = "0: netcfgd's http port (redirect only, when netcfgd redirects); else this port" },
        { "max_clients", DS_INT, 0, .min = 1, .max = 1024, .def_int = 64,
          .help = "connections per listener when netcfgd's max_connections is 0" },
        { "per_source_max", DS_INT, 0, .min = 1, .max = 256, .def_int = 8,
          .help = "connections from one source address" },
        { "idle_timeout_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 15,
          .help = "an idle connection is closed after this (s)" },
        { "header_timeout_s", DS_INT, 0, .min = 1, .max = 600, .def_int = 10,
          .help = "a request's headers must arrive within this (s), however slowly they trickle" },
        { "max_streams", DS_INT, 0, .min = 0, .max = 256, .def_int = 16, .help = "live event streams (SSE)" },
        { "www", DS_STR, 0, .max_len = 1024, .def_str = "/usr/local/share/devsec/www",
          .help = "the console's directory: nothing outside it is served" },
        { "gateway_identity", DS_STR, 0, .max_len = BUS_NAME_MAX, .check = ds_check_name, .def_str = "webd",
          .help = "the bus identity (gateway class) browser sessions' calls go through" },
        { "origin_host", DS_STR, 0, .max_len = 255, .def_str = "",
          .help = "the host[:port] browsers reach the device by; empty: the request's Host" },
        { NULL },
};

static int h_web_status(void *ctx, struct ds_call *c)
{
        struct webd_ctx *x = ctx;

        mpw_str(c->r, "listeners");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < x->n_lst; i++) {
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "address", x->lst[i].addr);
                mpw_kv_int(c->r, "port", x->lst[i].port);
                mpw_kv_str(c->r, "kind", x->lst[i].tls ? "https" : "http-redirect");
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_bool(c->r, "https_enabled", x->net.enabled);
        mpw_kv_str(c->r, "tls_min", x->net.tls_min);
        mpw_kv_str(c->r, "certificate_sha256", x->have_cert ? x->cert.fingerprint : "");
        mpw_kv_uint(c->r, "streams", x->n_streams);
        mpw_kv_uint(c->r, "requests", x->requests);
        mpw_kv_uint(c->r, "calls", x->calls);
        mpw_kv_uint(c->r, "logins", x->logins);
        mpw_kv_uint(c->r, "refused_csrf", x->refused_csrf);
        return 0;
}

const struct ds_method webd_methods[] = {
        DS_METHOD("web.status", NULL, h_web_status, AUTH_NEEDS(SYSTEM_INFO)),
        { NULL },
};

static enum ds_audit_result check_https(void *ctx, char *detail, size_t size)
{
        return webd_probe_result(ctx, detail, size);
}

const struct ds_audit_item webd_audit[] = {
        { .id = "net.https", .runtime = true, .level = 1,
          .title = "HTTPS served: a local connection gets the device certificate, TLS >= tls_min, no plain HTTP",
          .remediation = "devctl function enable https; devctl https cert create", .check = check_https },
        { .id = "webd.per-source", .level = 2, .title = "one source holds at most 8 connections",
          .remediation = "devctl config set webd per_source_max=8", .key = "per_source_max", .cmp = DS_CMP_LE,
          .want_int = 8 },
        { NULL },
};
