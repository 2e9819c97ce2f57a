/* timed - the NTP engine: no capabilities; the clock is set by timed-clock over
 * the bus. main.c: the service and its hooks; methods.c the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nts.h"
#include "state.h"
#include "timed.h"
#include "util.h"

/* The zone file of zone under dir (caller owns *ret_buf). Zone files are
 * often symlinks (UTC -> Etc/UTC): follow them, but only to a file inside
 * the zoneinfo dir. */
static int zone_read(const char *dir, const char *zone, char **ret_buf, size_t *ret_len, struct ds_err *e)
{
        char *path = path_join(dir, zone), *real = NULL, *rdir = realpath(dir, NULL), *buf = NULL, *slash;
        size_t len = 0, dl;
        int r = -EINVAL;

        if (path && rdir && !strstr(zone, "..") && (real = realpath(path, NULL))) {
                dl = strlen(rdir);
                slash = strrchr(real, '/');
                if (!strncmp(real, rdir, dl) && real[dl] == '/' && slash) {
                        *slash = '\0';
                        r = state_read(real, slash + 1, 1 << 20, &buf, &len);
                }
        }
        free(path);
        free(real);
        free(rdir);
        if (r < 0 || len < 4 || memcmp(buf, "TZif", 4) != 0) {
                free(buf);
                return ds_err_set(e, -EINVAL, "timezone", "'%s' is not a zone under %s", zone, dir);
        }
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

/* The zone apply would install, if it changes: refused when the host lacks it. */
static int zone_check(const struct timed_ctx *t, const char *dir, const char *zone, struct ds_err *e)
{
        char *buf;
        size_t len;
        int r;

        if (!strcmp(zone, t->applied_zone))
                return 0;
        if ((r = zone_read(dir, zone, &buf, &len, e)) < 0)
                return r;
        free(buf);
        return 0;
}

/* Installs the zone file as <statedir>/localtime (/etc/localtime links
 * there). The write can fail for a reason no check foresees (the disk). */
static int install_zone(struct timed_ctx *t, const char *dir, const char *zone, struct ds_err *e)
{
        char *buf;
        size_t len;
        int r;

        if ((r = zone_read(dir, zone, &buf, &len, e)) < 0)
                return r;
        r = ds_daemon_save(t->d, "localtime", buf, len);
        free(buf);
        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot install the zone: %s", strerror(-r));
        return 0;
}

/* HOST[:PORT] of an NTS-KE server, with the port made explicit (4460) */
static int nts_server_entry(const msgpack_object *o, char *buf, size_t size)
{
        char host[256], port[16], in[256];

        if (mp_strcpy(o, in, sizeof in) < 0 || ntp_split_hostport(in, host, sizeof host, port, sizeof port) < 0)
                return -EINVAL;
        if (!strcmp(port, "123") && !strstr(in, "]:123") && (strchr(host, ':') || !strstr(in, ":123")))
                snprintf(port, sizeof port, "%s", NTS_KE_PORT);
        if (snprintf(buf, size, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port) >= (int)size)
                return -EINVAL;
        return 0;
}

/* The engine's configuration from settings s: every refusal of apply but
 * the zone's (zone_check), so check_settings runs both. */
static int cfg_from(const struct ds_settings *s, struct timed_cfg *ret, struct ds_err *e)
{
        const msgpack_object *sv = ds_settings_get(s, "servers");
        struct timed_cfg c = { 0 };
        int r;

        c.ntp_enabled = ds_settings_bool(s, "ntp_enabled");
        c.step_always = ds_settings_bool(s, "step_always");
        c.minsources = (int)ds_settings_int(s, "minsources");
        c.poll_min_s = (int)ds_settings_int(s, "poll_min_s");
        c.poll_max_s = (int)ds_settings_int(s, "poll_max_s");
        c.step_limit = (int)ds_settings_int(s, "step_limit");
        c.save_interval_s = (int)ds_settings_int(s, "save_interval_s");
        c.step_threshold_ns = ds_settings_int(s, "step_threshold_ms") * 1000000;
        c.max_slew_ns = ds_settings_int(s, "max_slew_ms") * 1000000;
        c.max_root_dist = (double)ds_settings_int(s, "max_root_distance_ms") / 1e3;
        snprintf(c.zone, sizeof c.zone, "%s", ds_settings_str(s, "timezone"));
        snprintf(c.zoneinfo_dir, sizeof c.zoneinfo_dir, "%s", ds_settings_str(s, "zoneinfo_dir"));
        snprintf(c.clock_svc, sizeof c.clock_svc, "%s", ds_settings_str(s, "clock_service"));
        if (c.poll_min_s > c.poll_max_s)
                return ds_err_set(e, -EINVAL, "poll_min_s", "must not exceed poll_max_s (%d)", c.poll_max_s);
        for (uint32_t i = 0; sv && sv->type == MSGPACK_OBJECT_ARRAY && i < sv->via.array.size; i++)
                if (mp_strcpy(&sv->via.array.ptr[i], c.servers[c.n_servers], sizeof c.servers[0]) == 0)
                        c.n_servers++;
        c.nts_mix = ds_settings_bool(s, "nts_mix");
        snprintf(c.nts_ca, sizeof c.nts_ca, "%s", ds_settings_str(s, "nts_ca"));
        sv = ds_settings_get(s, "nts_servers");
        for (uint32_t i = 0; sv && sv->type == MSGPACK_OBJECT_ARRAY && i < sv->via.array.size; i++) {
                if (c.n_servers >= TIMED_MAX_SOURCES)
                        return ds_err_set(e, -EINVAL, "nts_servers", "servers and nts_servers: %d at most",
                                          TIMED_MAX_SOURCES);
                r = nts_server_entry(&sv->via.array.ptr[i], c.servers[c.n_servers], sizeof c.servers[0]);
                if (r < 0)
                        return ds_err_set(e, -EINVAL, "nts_servers", "must be HOST[:PORT]");
                c.server_nts[c.n_servers++] = true;
        }
        *ret = c;
        return 0;
}

static int timed_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        struct timed_cfg c;

        int r;

        (void)d;
        if ((r = cfg_from(s, &c, e)) < 0)
                return r;
        return zone_check(ctx, c.zoneinfo_dir, c.zone, e);
}

static int timed_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct timed_ctx *t = ctx;
        struct timed_cfg c, old = t->cfg;
        int r;

        t->d = d;
        if ((r = cfg_from(&d->settings, &c, e)) < 0)
                return r;
        if (strcmp(c.zone, t->applied_zone) != 0) {
                r = install_zone(t, c.zoneinfo_dir, c.zone, e);
                if (r < 0)
                        return r;
                if (t->applied_zone[0])
                        log_audit("operation", LOG_LVL_NOTICE, NULL, "time zone is now %s", c.zone);
                snprintf(t->applied_zone, sizeof t->applied_zone, "%s", c.zone);
        }
        t->cfg = c;
        /* the lookups start here: what fails now (memory, the resolver) no
         * check can foresee */
        r = timed_engine_apply(t, t->started ? &old : NULL);
        return r < 0 ? ds_err_set(e, r, "servers", "cannot use the servers: %s", strerror(-r)) : 0;
}

static int timed_start(struct ds_daemon *d, void *ctx)
{
        struct timed_ctx *t = ctx;

        t->d = d;
        return timed_engine_start(t);
}

static void timed_stop(struct ds_daemon *d, void *ctx)
{
        (void)d;
        timed_engine_stop(ctx);
}

static void timed_ping(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct timed_ctx *t = ctx;

        (void)d;
        mpw_kv_str(w, "sync_state", t->sync_state ? t->sync_state : "starting");
        mpw_kv_int(w, "sources", t->n_src);
}

static const char *const timed_topics[] = { "time.changed", NULL };

static const struct ds_service timed_service = {
        .name = "timed",
        .version = DEVSEC_VERSION,
        .methods = timed_methods,
        .settings = timed_settings,
        .audit = timed_audit,
        .topics = timed_topics,
        /* the ntp function is ntp_enabled: off stops the polling only, manual
         * time and the zone keep working */
        .functions = (const struct ds_function_link[]){ { "ntp", "ntp_enabled" }, { NULL } },
        .start = timed_start,
        .stop = timed_stop,
        .apply = timed_apply,
        .check_settings = timed_check_settings,
        .status = timed_ping,
};

int main(int argc, char **argv)
{
        static struct timed_ctx ctx;

        return ds_daemon_main(argc, argv, &timed_service, &ctx);
}
