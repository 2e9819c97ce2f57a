/* methods.c - exposured's settings schema, methods (exposure.*) and audit
 * items; the exposure state they show is exposure.c's */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exposured.h"
#include "log.h"
#include "state.h"
#include "util.h"

static const struct ds_field allow_item = { "", DS_STR, 0, .max_len = 48, .check = ds_check_printable };

const struct ds_field exp_settings[] = {
        { "interval_s", DS_INT, 0, .min = 10, .max = 604800, .def_int = 3600,
          .help = "a full check (listeners and the router) this often" },
        { "listen_interval_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 30,
          .help = "the listeners are looked at again this often; a change is an event" },
        { "discover_ms", DS_INT, 0, .min = 100, .max = 10000, .def_int = 2000, .help = "SSDP: wait this long for an IGD" },
        { "timeout_s", DS_INT, 0, .min = 1, .max = 120, .def_int = 20,
          .help = "a UPnP check (discovery, listing, deletion) is stopped after this" },
        { "igd_url", DS_STR, 0, .max_len = 250, .check = ds_check_printable, .def_str = "",
          .help = "the IGD's description URL (http://...), skipping discovery; empty: discover" },
        { "multicast_if", DS_STR, 0, .max_len = 63, .check = ds_check_printable, .def_str = "",
          .help = "interface or address for SSDP; empty: the default route's" },
        { "allow", DS_ARRAY, 0, .max_len = EXP_ALLOW_MAX, .sub = &allow_item,
          .help = "listeners that are expected: \"udp/68\", \"udp/5353@bonjour\" (only while that function is on)" },
        { "ignore_ephemeral_udp", DS_BOOL, 0, .def_bool = true,
          .help = "unconnected UDP sockets on ephemeral ports are clients waiting for answers, not listeners" },
        { NULL },
};

/* ---- methods ------------------------------------------------------------------ */

static int h_exposure_show(void *ctx, struct ds_call *c)
{
        struct exp_ctx *x = ctx;

        exp_listen_refresh(x);
        exp_publish_if_changed(x, "show");
        exp_write_state(x, c->r);
        return 0;
}

static int h_exposure_check(void *ctx, struct ds_call *c)
{
        struct exp_ctx *x = ctx;
        int r;

        if (x->n_waiters >= EXP_WAITERS_MAX)
                return ds_call_fail(c, -EBUSY, NULL, "%d checks are already waiting", EXP_WAITERS_MAX);
        exp_listen_refresh(x);
        r = exp_upnp_start(x, false, EXP_TCP, 0);
        if (r < 0 && r != -EBUSY)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot start the UPnP check: %s", strerror(-r));
        x->waiters[x->n_waiters++] = ds_call_detach(c);
        return DS_DEFER;
}

static const char *const protos[] = { "tcp", "udp", NULL };

enum { UNMAP_PORT, UNMAP_PROTO };
static const struct ds_field unmap_args[] = {
        [UNMAP_PORT] = { "port", DS_INT, DS_REQUIRED, .min = 1, .max = 65535, .help = "the router's external port" },
        [UNMAP_PROTO] = { "proto", DS_STR, 0, .enums = protos, .help = "tcp (default) or udp" },
        { NULL },
};

static int unmap_start(struct exp_ctx *x)
{
        int r = exp_upnp_start(x, true, x->unmap_proto, x->unmap_port);

        if (r < 0) {
                ds_call_fail(x->unmap_call, -DS_EINTERNAL, NULL, "cannot start the deletion: %s", strerror(-r));
                ds_call_finish(&x->unmap_call, -DS_EINTERNAL);
                return r;
        }
        x->unmap_started = true;
        return 0;
}

static int h_exposure_unmap(void *ctx, struct ds_call *c)
{
        struct exp_ctx *x = ctx;
        char proto[8] = "tcp";
        enum exp_proto p = EXP_TCP;
        int port = (int)ds_tb_int(c, UNMAP_PORT, 0);

        ds_tb_str(c, UNMAP_PROTO, proto, sizeof proto);
        if (proto[0])
                exp_proto_parse(proto, strlen(proto), &p);
        if (x->d->dry_run)
                return ds_call_fail(c, -EPERM, NULL, "--dry-run: the router is left alone");
        if (x->unmap_call)
                return ds_call_fail(c, -EBUSY, NULL, "a deletion is in progress: try again in a few seconds");
        snprintf(x->unmap_actor, sizeof x->unmap_actor, "%s", ds_call_actor(c));
        log_audit("security", LOG_LVL_NOTICE, x->unmap_actor, "'%s' asked to delete the router's mapping of %s %d",
                  x->unmap_actor, exp_proto_name(p), port);
        x->unmap_proto = p;
        x->unmap_port = port;
        x->unmap_started = false;
        x->unmap_call = ds_call_detach(c);
        /* a running check finishes first (exp_upnp_done starts the deletion) */
        if (x->child <= 0)
                unmap_start(x);
        return DS_DEFER;
}

static void unmap_answer(struct exp_ctx *x)
{
        struct exp_igd *g = &x->igd;
        struct ds_call *c = x->unmap_call;
        const char *pn = exp_proto_name(x->unmap_proto);

        if (g->unmapped) {
                log_audit("security", LOG_LVL_NOTICE, x->unmap_actor,
                          "the router's mapping of %s %d to this device deleted by '%s'", pn, x->unmap_port, x->unmap_actor);
                mpw_kv_bool(c->r, "deleted", true);
                mpw_kv_str(c->r, "proto", pn);
                mpw_kv_int(c->r, "external_port", x->unmap_port);
                exp_write_state(x, c->r);
                ds_call_finish(&x->unmap_call, 0);
        } else {
                const char *why = g->state == EXP_IGD_FOUND ? g->unmap_error : g->reason;
                int code = g->state == EXP_IGD_FOUND ? (strstr(why, "refused") ? -DS_EINTERNAL : -ENOENT)
                           : strstr(why, "timeout_s")  ? -ETIMEDOUT
                                                       : -DS_EUNAVAIL;

                log_audit("security", LOG_LVL_NOTICE, x->unmap_actor, "the router's mapping of %s %d not deleted: %s", pn,
                          x->unmap_port, why);
                ds_call_fail(c, code, code == -ENOENT ? "port" : NULL, "%s", why);
                ds_call_finish(&x->unmap_call, code);
        }
        g->unmapped = false;
        g->unmap_error[0] = '\0';
}

void exp_upnp_done(struct exp_ctx *x)
{
        exp_igd_judge(&x->igd, exp_https_port(x));
        exp_listen_refresh(x);
        if (x->unmap_call && x->unmap_started && x->job.unmap)
                unmap_answer(x);
        for (size_t i = 0; i < x->n_waiters; i++) {
                exp_write_state(x, x->waiters[i]->r);
                ds_call_finish(&x->waiters[i], 0);
        }
        x->n_waiters = 0;
        exp_publish_if_changed(x, "check");
        if (x->unmap_call && !x->unmap_started)
                unmap_start(x);
}

const struct ds_method exp_methods[] = {
        DS_METHOD("exposure.show", NULL, h_exposure_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("exposure.check", NULL, h_exposure_check, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("exposure.unmap", unmap_args, h_exposure_unmap, AUTH_NEEDS(NETWORK)),
        { NULL },
};

/* ---- audit ------------------------------------------------------------------- */

static enum ds_audit_result check_listen(void *ctx, char *detail, size_t size)
{
        struct exp_ctx *x = ctx;

        exp_listen_refresh(x);
        return exp_listen_result(x, detail, size);
}

static enum ds_audit_result check_upnp(void *ctx, char *detail, size_t size)
{
        return exp_upnp_result(ctx, detail, size);
}

const struct ds_audit_item exp_audit[] = {
        { .id = "net.listen", .runtime = true, .level = 1,
          .title = "nothing listens on a network address but the enabled functions, on their configured ports",
          .remediation = "stop the named program, or disable/move what owns the port (devctl function, devctl port)",
          .check = check_listen },
        { .id = "net.exposure.upnp", .runtime = true, .level = 1, .title = "the router forwards only the HTTPS port to this device (UPnP IGD)",
          .remediation = "devctl exposure unmap PORT, and turn UPnP off on the router; forward only HTTPS, prefer a VPN",
          .check = check_upnp },
        { NULL },
};
