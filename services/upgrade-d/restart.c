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

static int restart_systemd(const char *name)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        char unit[64];
        int r;

        if (snprintf(unit, sizeof unit, "devsec-%s.service", name) >= (int)sizeof unit)
                return -ENAMETOOLONG;
        if ((r = sd_bus_open_system(&bus)) < 0)
                return log_errno(r, "restart: system bus: %m");
        /* RestartUnit only queues a job: it answers at once */
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "RestartUnit", &err, &reply, "ss", unit, "replace");
        if (r < 0)
                log_err("restart: '%s': %s", unit, err.message ? err.message : strerror(-r));
        else
                log_info("restart: '%s' queued", unit);
        sd_bus_error_free(&err);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return r < 0 ? r : 0;
}

int upg_restart(const char *svcmgr_dir, bool systemd, const char *name)
{
        char file[64];
        int r;

        if (ds_check_name(name, strlen(name)))
                return -EINVAL;
        if (systemd)
                return restart_systemd(name);
        if (snprintf(file, sizeof file, "%s.restart", name) >= (int)sizeof file)
                return -ENAMETOOLONG;
        if ((r = state_mkdir_p(svcmgr_dir, 0755)) < 0 || (r = state_write(svcmgr_dir, file, "upgrade-d\n", 10, 0644)) < 0)
                return log_errno(r, "restart: '%s/%s': %m", svcmgr_dir, file);
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
