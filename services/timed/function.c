/* function.c - netcfgd's ntp function and timed's ntp_enabled are one switch.
 * Switching the function (devctl function disable ntp) sets the setting;
 * changing the setting by any path (time ntp enable/disable, config set,
 * harden, import) switches the function; at start the function table wins.
 * Either way only the polling of NTP servers stops: manual time and the zone
 * keep working (the function is no longer timed's daemon switch, which made
 * timed answer EDISABLED for everything). netcfgd logs the function's change,
 * timed logs its setting's: the operator sees who, once on each side. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "timed.h"

/* the function says on or off: the setting follows, without echoing back */
static void follow_function(struct timed_ctx *t, bool on, const char *actor)
{
        struct mpw w;
        msgpack_unpacked u;
        struct ds_err e;
        const char *why;

        if (t->cfg.ntp_enabled == on)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "ntp_enabled", on);
        mpw_map_end(&w);
        ds_err_clear(&e);
        if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                t->from_function = true;
                if (ds_daemon_set_settings(t->d, &u.data, actor, &e) < 0)
                        log_warn("the ntp function is %s but ntp_enabled could not follow: %s", on ? "on" : "off",
                                 e.msg);
                t->from_function = false;
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&w);
}

static void on_function(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct timed_ctx *t = ud;
        char user[64] = "netcfgd";

        (void)topic;
        (void)ts;
        if (!src || strcmp(src, "netcfgd") || !mp_streq(mp_get(data, "name"), "ntp"))
                return;
        mp_strcpy(mp_get(data, "user"), user, sizeof user);
        follow_function(t, mp_get_bool(data, "enabled", true), user);
}

static void on_list(void *ud, const struct bus_reply *rep)
{
        struct timed_ctx *t = ud;
        const msgpack_object *fns = rep->code < 0 ? NULL : mp_get(rep->r, "functions");

        if (!fns || fns->type != MSGPACK_OBJECT_ARRAY) {
                log_debug("netcfgd function.list: %s", rep->code < 0 ? rep->err.msg : "no functions");
                return;
        }
        for (uint32_t i = 0; i < fns->via.array.size; i++)
                if (mp_streq(mp_get(&fns->via.array.ptr[i], "name"), "ntp"))
                        follow_function(t, mp_get_bool(&fns->via.array.ptr[i], "enabled", true), "netcfgd");
}

int timed_function_start(struct timed_ctx *t)
{
        if (bus_subscribe(t->d->bus, "net.function.changed", on_function, t) < 0)
                return log_errno(-EIO, "cannot subscribe to net.function.changed");
        bus_call(t->d->bus, "netcfgd", "function.list", NULL, NULL, 5000, on_list, t);
        return 0;
}

static void on_switched(void *ud, const struct bus_reply *rep)
{
        (void)ud;
        if (rep->code < 0)
                log_warn("netcfgd did not switch the ntp function: %s (function list may differ until it does)",
                         rep->err.msg);
}

/* the setting changed by another path than the function: switch it too */
void timed_function_sync(struct timed_ctx *t, bool on)
{
        struct mpw w;

        if (t->from_function || !t->d || !t->d->bus)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", "ntp");
        mpw_map_end(&w);
        bus_call(t->d->bus, "netcfgd", on ? "function.enable" : "function.disable", &w, NULL, 10000, on_switched, t);
        mpw_free(&w);
}
