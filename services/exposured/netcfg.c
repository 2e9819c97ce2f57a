/* netcfg.c - what netcfgd says: the service ports (port.show) and the
 * function table (function.list), asked on exposured's own account (its ACL
 * names both) at start-up, again on net.ports.changed and
 * net.function.changed, and now and then in case netcfgd restarted. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exposured.h"
#include "log.h"

static void on_ports(void *ud, const struct bus_reply *rep)
{
        struct exp_ctx *x = ud;
        const msgpack_object *ports;
        struct exp_net *n = &x->net;

        if (rep->code < 0) {
                log_debug("netcfgd port.show: %s", rep->err.msg);
                return;
        }
        ports = mp_get(rep->r, "ports");
        if (!ports || ports->type != MSGPACK_OBJECT_ARRAY)
                return;
        n->n_ports = 0;
        for (uint32_t i = 0; i < ports->via.array.size && n->n_ports < EXP_PORTS_MAX; i++) {
                const msgpack_object *p = &ports->via.array.ptr[i];
                struct exp_port *e = &n->ports[n->n_ports];
                size_t len;
                const char *proto = mp_get_strn(p, "proto", &len);

                if (mp_strcpy(mp_get(p, "name"), e->name, sizeof e->name) < 0 || !proto ||
                    exp_proto_parse(proto, len, &e->proto) < 0)
                        continue;
                e->port = (int)mp_get_int(p, "port", 0);
                e->well_known = (int)mp_get_int(p, "default", e->port);
                n->n_ports++;
        }
        n->ports_known = true;
        exp_igd_judge(&x->igd, exp_https_port(x)); /* the HTTPS port may have moved */
        exp_listen_refresh(x);
        exp_publish_if_changed(x, "ports");
}

static void on_functions(void *ud, const struct bus_reply *rep)
{
        struct exp_ctx *x = ud;
        const msgpack_object *fns;
        struct exp_net *n = &x->net;

        if (rep->code < 0) {
                log_debug("netcfgd function.list: %s", rep->err.msg);
                return;
        }
        fns = mp_get(rep->r, "functions");
        if (!fns || fns->type != MSGPACK_OBJECT_ARRAY)
                return;
        n->n_fns = 0;
        for (uint32_t i = 0; i < fns->via.array.size && n->n_fns < EXP_FN_MAX; i++) {
                const msgpack_object *f = &fns->via.array.ptr[i];
                struct exp_fn *e = &n->fns[n->n_fns];

                if (mp_strcpy(mp_get(f, "name"), e->name, sizeof e->name) < 0)
                        continue;
                e->enabled = mp_get_bool(f, "enabled", false);
                n->n_fns++;
        }
        n->fns_known = true;
        exp_listen_refresh(x);
        exp_publish_if_changed(x, "functions");
}

void exp_netcfg_refresh(struct exp_ctx *x)
{
        if (!x->d->bus)
                return;
        bus_call(x->d->bus, "netcfgd", "port.show", NULL, NULL, 5000, on_ports, x);
        bus_call(x->d->bus, "netcfgd", "function.list", NULL, NULL, 5000, on_functions, x);
}

static void on_net_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct exp_ctx *x = ud;

        (void)ts;
        (void)data;
        if (!src || strcmp(src, "netcfgd"))
                return;
        log_debug("'%s': asking netcfgd again", topic);
        exp_netcfg_refresh(x);
}

static int on_refresh(zloop_t *loop, int timer, void *arg)
{
        struct exp_ctx *x = arg;

        (void)loop;
        (void)timer;
        /* until netcfgd has answered, every tick; then once a minute */
        if (!x->net.ports_known || !x->net.fns_known || ++x->net_ticks >= 12) {
                x->net_ticks = 0;
                exp_netcfg_refresh(x);
        }
        return 0;
}

int exp_netcfg_start(struct exp_ctx *x)
{
        static const char *const topics[] = { "net.ports.changed", "net.function.changed", NULL };

        for (size_t i = 0; topics[i]; i++)
                if (bus_subscribe(x->d->bus, topics[i], on_net_event, x) < 0)
                        return log_errno(-EIO, "cannot subscribe to '%s'", topics[i]);
        x->net_timer = zloop_timer(x->d->loop, 5000, 0, on_refresh, x);
        exp_netcfg_refresh(x);
        return 0;
}
