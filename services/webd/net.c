/* net.c - what netcfgd says: the https and http ports, the HTTPS switch and
 * function, tls_min, max_connections and the certificate. webd's service
 * identity asks port.show and https.show on its own account (its ACL names
 * them) at start-up and whenever netcfgd announces a change. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "webd.h"

static void apply_and_listen(struct webd_ctx *x)
{
        char sig[160];
        struct stat a, b;

        /* the certificate: reloaded when either file changed (no listener closes) */
        if (x->certdir) {
                char p1[4096], p2[4096];
                snprintf(p1, sizeof p1, "%s/server.pem", x->certdir);
                snprintf(p2, sizeof p2, "%s/server.key", x->certdir);
                if (stat(p1, &a) == 0 && stat(p2, &b) == 0) {
                        snprintf(sig, sizeof sig, "%lu.%ld.%ld.%ld/%lu.%ld.%ld.%ld", (unsigned long)a.st_ino,
                                 (long)a.st_mtim.tv_sec, a.st_mtim.tv_nsec, (long)a.st_size, (unsigned long)b.st_ino,
                                 (long)b.st_mtim.tv_sec, b.st_mtim.tv_nsec, (long)b.st_size);
                        if (strcmp(sig, x->cert_sig)) {
                                struct ds_err e = { 0 };
                                if (webd_cert_load(x, &e) == 0) {
                                        snprintf(x->cert_sig, sizeof x->cert_sig, "%s", sig);
                                        log_notice("server certificate loaded (SHA-256 %s)", x->cert.fingerprint);
                                } else {
                                        log_warn("certificate not loaded: %s", e.msg);
                                }
                        }
                }
        }
        webd_listen_update(x);
}

static void on_https(void *ud, const struct bus_reply *rep)
{
        struct webd_ctx *x = ud;
        const char *t;
        size_t n;

        if (rep->code < 0) {
                log_debug("netcfgd https.show: %s", rep->err.msg);
                return;
        }
        x->net.enabled = mp_get_bool(rep->r, "enabled", true);
        x->net.redirect = mp_get_bool(rep->r, "redirect", true);
        t = mp_get_strn(rep->r, "tls_min", &n);
        /* never lower than 1.2, whatever is asked */
        snprintf(x->net.tls_min, sizeof x->net.tls_min, "%s", t && n == 3 && !strncmp(t, "1.3", 3) ? "1.3" : "1.2");
        x->net.https_port = (int)mp_get_int(rep->r, "port", x->net.https_port);
        x->net.known = true;
        apply_and_listen(x);
}

static void on_ports(void *ud, const struct bus_reply *rep)
{
        struct webd_ctx *x = ud;

        if (rep->code < 0)
                return;
        x->net.max_connections = (int)mp_get_int(rep->r, "max_connections", 0);
        {
                const msgpack_object *ports = mp_get(rep->r, "ports");
                for (uint32_t i = 0; ports && ports->type == MSGPACK_OBJECT_ARRAY && i < ports->via.array.size; i++) {
                        const msgpack_object *p = &ports->via.array.ptr[i];
                        if (mp_streq(mp_get(p, "name"), "http"))
                                x->net.http_port = (int)mp_get_int(p, "port", 0);
                        else if (mp_streq(mp_get(p, "name"), "https"))
                                x->net.https_port = (int)mp_get_int(p, "port", 0);
                }
        }
        bus_call(x->d->bus, "netcfgd", "https.show", NULL, NULL, 5000, on_https, x);
}

void webd_net_refresh(struct webd_ctx *x)
{
        if (x->d->bus)
                bus_call(x->d->bus, "netcfgd", "port.show", NULL, NULL, 5000, on_ports, x);
}

static void on_net_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct webd_ctx *x = ud;

        (void)ts;
        (void)data;
        if (!src || strcmp(src, "netcfgd"))
                return;
        log_debug("'%s': asking netcfgd again", topic);
        webd_net_refresh(x);
}

static int on_refresh(zloop_t *loop, int timer, void *arg)
{
        struct webd_ctx *x = arg;

        (void)loop;
        (void)timer;
        webd_net_refresh(x);
        return 0;
}

int webd_net_start(struct webd_ctx *x)
{
        static const char *const topics[] = { "net.ports.changed", "net.cert.changed", "net.function.changed",
                                              "netcfgd.config.changed", NULL };

        for (size_t i = 0; topics[i]; i++)
                if (bus_subscribe(x->d->bus, topics[i], on_net_event, x) < 0)
                        return log_errno(-EIO, "cannot subscribe to '%s'", topics[i]);
        /* netcfgd may come later or restart: ask again now and then */
        x->refresh_timer = zloop_timer(x->d->loop, 5000, 0, on_refresh, x);
        webd_net_refresh(x);
        return 0;
}
