/* events.c - what filterd hears on the bus: the service ports from netcfgd,
 * account lockouts from authd (a ban of the source); each topic believed only
 * from its one publisher */
#include <string.h>

#include "filterd.h"
#include "log.h"
#include "mp.h"
#include "service.h"
#include "util.h"

static void on_ports(struct filterd *f, const char *src, const msgpack_object *data)
{
        struct fd_ports old = f->ports, p;
        struct ds_err e;

        ds_err_clear(&e);
        if (fd_ports_read(data, &p, &e) < 0) {
                log_warn("net.ports.changed from '%s' ignored: %s: %s", src, e.field, e.msg);
                return;
        }
        f->ports = p;
        if (filterd_enforce(f, &f->running, &e) < 0) {
                f->ports = old;
                return;
        }
        filterd_save_ports(f);
        log_notice("service ports from '%s': %zu ports, max %d connections each", src, p.n, p.max_connections);
}

/* auth.locked {user, source, until}: until is ISO 8601 or epoch seconds/ms */
static void on_locked(struct filterd *f, const char *src, const msgpack_object *data)
{
        const msgpack_object *u = mp_get(data, "until");
        int64_t now = ds_now_real_ms(), until = 0, v;
        char source[64], user[64] = "", t[40];
        uint8_t fam, ip[16];
        struct ds_err e;

        if (mp_strcpy(mp_get(data, "source"), source, sizeof source) < 0 || fd_addr_parse(source, &fam, ip) < 0 ||
            fam == FD_MAC)
                return; /* a console or unknown source: nothing to ban */
        mp_strcpy(mp_get(data, "user"), user, sizeof user);
        if (u && mp_to_int64(u, &v) == 0)
                until = v > 100000000000LL ? v : v * 1000;
        else if (u && mp_strcpy(u, t, sizeof t) == 0 && ds_parse_time(t, &v) == 0)
                until = v;
        if (until <= now)
                until = now + ds_settings_int(&f->d->settings, "ban_seconds") * 1000;
        if (until > now + (int64_t)FD_BAN_MAX_S * 1000)
                until = now + (int64_t)FD_BAN_MAX_S * 1000;
        ds_err_clear(&e);
        if (filterd_ban(f, fam, ip, until, src, &e) < 0)
                log_warn("auth.locked: cannot ban '%s' (user '%s'): %s", source, user, e.msg);
}

static const struct {
        const char *topic;
        const char *publisher; /* only this identity is believed */
        void (*fn)(struct filterd *f, const char *src, const msgpack_object *data);
} events[] = {
        { "net.ports.changed", "netcfgd", on_ports },
        { "auth.locked", "authd", on_locked },
};

void filterd_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data)
{
        (void)ts_ms;
        for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
                if (strcmp(topic, events[i].topic))
                        continue;
                if (strcmp(src, events[i].publisher)) {
                        log_warn("%s from '%s' ignored: only '%s' publishes it", topic, src, events[i].publisher);
                        return;
                }
                if (!data || data->type != MSGPACK_OBJECT_MAP) {
                        log_warn("%s from '%s' ignored: data is not a map", topic, src);
                        return;
                }
                events[i].fn(ud, src, data);
                return;
        }
}
