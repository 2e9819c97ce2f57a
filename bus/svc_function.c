/* svc_function.c - a function of netcfgd's table that is a daemon's own bool
 * setting (ds_service.functions: {function, setting}): one switch.
 *  - The function switched (net.function.changed from netcfgd, or the table
 *    read at start): the setting follows, saved like any other change.
 *  - The setting changed by any path (its method, config.set, harden,
 *    import, reset, SIGHUP): the function is switched in netcfgd's table.
 * A link marked permission is a permit, not a twin (remote_log, the online
 * upgrade check: the function on allows the setting, which an operator turns
 * on once there is a server): the function off turns the setting off and the
 * setting on turns the function on; neither of the other two moves the other
 * side. Each side logs its own change. */
#include <string.h>

#include "svc_internal.h"

static bool setting_of(struct ds_daemon *d, const struct ds_function_link *l)
{
        return ds_settings_bool(&d->settings, l->setting);
}

static void follow(struct ds_daemon *d, const struct ds_function_link *l, bool on, const char *actor)
{
        struct mpw w;
        struct ds_err e;
        bool cur = setting_of(d, l);

        if (cur == on || (l->permission && on))
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, l->setting, on);
        mpw_map_end(&w);
        ds_err_clear(&e);
        d->fn_following = true;
        if (ds_daemon_set_settings_w(d, &w, actor, &e) < 0)
                log_warn("the %s function is %s but %s could not follow: %s", l->function, on ? "on" : "off",
                         l->setting, e.msg);
        d->fn_following = false;
        mpw_free(&w);
}

static const struct ds_function_link *link_of(struct ds_daemon *d, const msgpack_object *name)
{
        for (const struct ds_function_link *l = d->svc->functions; l && l->function; l++)
                if (mp_streq(name, l->function))
                        return l;
        return NULL;
}

static void on_changed(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct ds_daemon *d = ud;
        const struct ds_function_link *l;
        char user[64] = "netcfgd";

        (void)topic;
        (void)ts;
        if (!src || strcmp(src, "netcfgd") || !(l = link_of(d, mp_get(data, "name"))))
                return;
        mp_strcpy(mp_get(data, "user"), user, sizeof user);
        follow(d, l, mp_get_bool(data, "enabled", true), user);
}

static void on_list(void *ud, const struct bus_reply *rep)
{
        struct ds_daemon *d = ud;
        const msgpack_object *fns = rep->code < 0 ? NULL : mp_get(rep->r, "functions");

        if (!fns || fns->type != MSGPACK_OBJECT_ARRAY) {
                log_debug("netcfgd function.list: %s", rep->code < 0 ? rep->err.msg : "no functions");
                return;
        }
        for (uint32_t i = 0; i < fns->via.array.size; i++) {
                const msgpack_object *f = &fns->via.array.ptr[i];
                const struct ds_function_link *l = link_of(d, mp_get(f, "name"));
                if (l)
                        follow(d, l, mp_get_bool(f, "enabled", true), "netcfgd");
        }
}

/* netcfgd (re)started: the table may have changed while one of us was down */
static void on_service_up(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct ds_daemon *d = ud;

        (void)topic;
        (void)ts;
        (void)src; /* busd alone may publish bus.service.* (its ACL) */
        if (mp_streq(mp_get(data, "service"), "netcfgd"))
                bus_call(d->bus, "netcfgd", "function.list", NULL, NULL, 5000, on_list, d);
}

void svc_functions_start(struct ds_daemon *d)
{
        const struct ds_function_link *l = d->svc->functions;

        for (size_t i = 0; l && l[i].function && i < DS_FUNCTION_LINKS_MAX; i++)
                d->fn_state[i] = setting_of(d, &l[i]);
        if (!l || !l->function)
                return;
        if (bus_subscribe(d->bus, "net.function.changed", on_changed, d) < 0)
                log_warn("cannot follow net.function.changed: the %s function and %s may differ", l->function,
                         l->setting);
        bus_subscribe(d->bus, "bus.service.up", on_service_up, d);
        bus_call(d->bus, "netcfgd", "function.list", NULL, NULL, 5000, on_list, d);
}

static void on_switched(void *ud, const struct bus_reply *rep)
{
        (void)ud;
        if (rep->code < 0)
                log_warn("netcfgd did not switch the function: %s (function list may differ until it does)",
                         rep->err.msg);
}

void svc_functions_sync(struct ds_daemon *d)
{
        const struct ds_function_link *l = d->svc->functions;

        for (size_t i = 0; l && l[i].function && i < DS_FUNCTION_LINKS_MAX; i++) {
                bool on = setting_of(d, &l[i]);
                struct mpw w;

                if (on == d->fn_state[i])
                        continue;
                d->fn_state[i] = on;
                if (d->fn_following || !d->bus || !d->loop || (l[i].permission && !on))
                        continue;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "name", l[i].function);
                mpw_map_end(&w);
                bus_call(d->bus, "netcfgd", on ? "function.enable" : "function.disable", &w, NULL, 10000,
                         on_switched, d);
                mpw_free(&w);
        }
}
