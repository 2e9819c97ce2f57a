/* restart.c - restarting exactly one devsec service: through the build
 * tree's launcher (tools/devsec-run watches <rundir>/svcmgr/NAME.restart), or
 * on a device through systemd's RestartUnit over sd-bus, which upgrade-d's
 * own polkit rule allows for the devsec units and nothing else */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "log.h"
#include "schema.h"
#include "state.h"
#include "upgrade.h"

#define UPG_SDBUS_USEC (10 * 1000000ull)

/* systemd answered RestartUnit: a refusal fails the step that asked for it */
static int on_restart_reply(sd_bus_message *m, void *ud, sd_bus_error *ret_error)
{
        struct upg_ctx *x = ud;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void)ret_error;
        if (!e) {
                log_info("restart: '%s' queued by systemd", x->job.component[0] ? x->job.component : "?");
                return 0;
        }
        log_err("restart: systemd refused: %s", e->message ? e->message : e->name);
        if (x->restart_refused)
                x->restart_refused(x, e->message ? e->message : e->name);
        return 0;
}

static int on_sdbus(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct upg_ctx *x = arg;

        (void)loop;
        (void)item;
        while (x->sdbus && sd_bus_process(x->sdbus, NULL) > 0)
                ;
        return 0;
}

void upg_sdbus_process(struct upg_ctx *x)
{
        on_sdbus(NULL, NULL, x);
}

int upg_restart_init(struct upg_ctx *x, void (*refused)(struct upg_ctx *x, const char *why))
{
        zmq_pollitem_t it;
        int r;

        x->restart_refused = refused;
        if (!x->systemd)
                return 0;
        if ((r = sd_bus_open_system(&x->sdbus)) < 0) {
                x->sdbus = NULL;
                return log_warn_errno(r, "restart: no system bus (restarts will fail, installs roll back): %m");
        }
        it = (zmq_pollitem_t){ NULL, sd_bus_get_fd(x->sdbus), ZMQ_POLLIN, 0 };
        if (zloop_poller(x->d->loop, &it, on_sdbus, x) < 0) {
                sd_bus_flush_close_unref(x->sdbus);
                x->sdbus = NULL;
                return -ENOMEM;
        }
        return 0;
}

void upg_restart_fini(struct upg_ctx *x)
{
        if (!x->sdbus)
                return;
        zmq_pollitem_t it = { NULL, sd_bus_get_fd(x->sdbus), ZMQ_POLLIN, 0 };
        if (x->d && x->d->loop)
                zloop_poller_end(x->d->loop, &it);
        sd_bus_flush_close_unref(x->sdbus);
        x->sdbus = NULL;
}

int upg_restart(struct upg_ctx *x, const char *name)
{
        char file[64], unit[64];
        int r;

        if (ds_check_name(name, strlen(name)))
                return -EINVAL;
        if (x->systemd) {
                if (snprintf(unit, sizeof unit, "devsec-%s.service", name) >= (int)sizeof unit)
                        return -ENAMETOOLONG;
                if (!x->sdbus)
                        return -ENOTCONN;
                /* answered on the loop: polkit may take its time, the daemon does not wait */
                r = sd_bus_call_method_async(x->sdbus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                             "org.freedesktop.systemd1.Manager", "RestartUnit", on_restart_reply, x, "ss",
                                             unit, "replace");
                if (r >= 0)
                        r = sd_bus_flush(x->sdbus);
                if (r < 0)
                        return log_errno(r, "restart: '%s': %m", unit);
                log_info("restart: '%s' asked of systemd", unit);
                return 0;
        }
        if (snprintf(file, sizeof file, "%s.restart", name) >= (int)sizeof file)
                return -ENAMETOOLONG;
        if ((r = state_mkdir_p(x->svcmgr_dir, 0755)) < 0 || (r = state_write(x->svcmgr_dir, file, "upgrade-d\n", 10, 0644)) < 0)
                return log_errno(r, "restart: '%s/%s': %m", x->svcmgr_dir, file);
        log_info("restart: '%s' asked of the launcher", name);
        return 0;
}

/* RAUC's slot status for devctl upgrade status, when RAUC runs on the device:
 * whole-image updates are its job (docs/upgrade.md). Slot names with their
 * string properties (state, bootname, boot-status, ...). */
void upg_rauc_status(struct mpw *w, bool dry_run)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        sd_bus *bus = NULL;
        int has = 0, r;

        mpw_str(w, "rauc");
        mpw_map_begin(w);
        if (dry_run || sd_bus_open_system(&bus) < 0 ||
            sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
                               &err, &m, "s", "de.pengutronix.rauc") < 0 ||
            sd_bus_message_read(m, "b", &has) < 0 || !has) {
                mpw_kv_bool(w, "present", false);
                goto out;
        }
        sd_bus_message_unref(m);
        m = NULL;
        mpw_kv_bool(w, "present", true);
        r = sd_bus_call_method(bus, "de.pengutronix.rauc", "/", "de.pengutronix.rauc.Installer", "GetSlotStatus", &err, &m, "");
        if (r < 0 || sd_bus_message_enter_container(m, 'a', "(sa{sv})") < 0) {
                mpw_kv_str(w, "error", err.message ? err.message : strerror(-r));
                goto out;
        }
        mpw_str(w, "slots");
        mpw_map_begin(w);
        while (sd_bus_message_enter_container(m, 'r', "sa{sv}") > 0) {
                const char *slot = NULL;
                sd_bus_message_read(m, "s", &slot);
                mpw_str(w, slot ? slot : "?");
                mpw_map_begin(w);
                sd_bus_message_enter_container(m, 'a', "{sv}");
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        const char *k = NULL, *v = NULL;
                        sd_bus_message_read(m, "s", &k);
                        if (sd_bus_message_enter_container(m, 'v', "s") > 0) {
                                sd_bus_message_read(m, "s", &v);
                                sd_bus_message_exit_container(m);
                                if (k && v)
                                        mpw_kv_str(w, k, v);
                        } else {
                                sd_bus_message_skip(m, "v");
                        }
                        sd_bus_message_exit_container(m);
                }
                sd_bus_message_exit_container(m);
                sd_bus_message_exit_container(m);
                mpw_map_end(w);
        }
        mpw_map_end(w);
out:
        mpw_map_end(w);
        sd_bus_error_free(&err);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
}
