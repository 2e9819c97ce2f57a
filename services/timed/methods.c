/* methods.c - timed's method table, settings and thin handlers */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"
#include "timed.h"
#include "util.h"

/* Area/City names under the zoneinfo dir: no absolute paths, no "..". */
static const char *check_zone(const char *s, size_t n)
{
        if (n == 0 || s[0] == '/' || s[n - 1] == '/')
                return "must be a zone name like Europe/Berlin";
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                      ch == '/' || ch == '_' || ch == '-' || ch == '+'))
                        return "must be a zone name like Europe/Berlin";
                if (ch == '/' && i + 1 < n && s[i + 1] == '/')
                        return "must be a zone name like Europe/Berlin";
        }
        return NULL;
}

static const char *check_ca(const char *s, size_t n)
{
        return n == 0 ? NULL : ds_check_path(s, n);
}

static const struct ds_field server_item[] = { { "", DS_STR, 0, .max_len = 255, .check = ds_check_hostport } };

const struct ds_field timed_settings[] = {
        { "ntp_enabled", DS_BOOL, 0, .def_bool = true, .help = "poll NTP servers and discipline the clock" },
        { "servers", DS_ARRAY, 0, .max_len = TIMED_MAX_SOURCES, .sub = server_item,
          .help = "NTP servers, HOST[:PORT]; each address a name resolves to is a source (at most 8)" },
        { "nts_servers", DS_ARRAY, 0, .max_len = TIMED_MAX_SOURCES, .sub = server_item,
          .help = "NTS servers (RFC 8915), HOST[:PORT] of their key establishment (port 4460 by default); "
                  "servers and nts_servers together at most 8" },
        { "nts_ca", DS_STR, 0, .max_len = 200, .check = check_ca,
          .help = "CA certificates (PEM) NTS-KE servers are verified against; empty: the system store" },
        { "nts_mix", DS_BOOL, 0, .def_bool = false,
          .help = "let unauthenticated sources join NTS ones in selection (off: with an NTS source, only NTS counts)" },
        { "minsources", DS_INT, 0, .min = 1, .max = TIMED_MAX_SOURCES, .def_int = 1,
          .help = "agreeing sources needed to update the clock (2+ recommended)" },
        { "poll_min_s", DS_INT, 0, .min = 1, .max = 1024, .def_int = 64, .help = "shortest poll interval (s)" },
        { "poll_max_s", DS_INT, 0, .min = 1, .max = 1024, .def_int = 1024, .help = "longest poll interval (s)" },
        { "step_threshold_ms", DS_INT, 0, .min = 1, .max = 86400000, .def_int = 1000,
          .help = "offsets above this are stepped during the first updates (ms)" },
        { "step_limit", DS_INT, 0, .min = 0, .max = 1000, .def_int = 3,
          .help = "how many first updates may step (like chrony's makestep 1 3)" },
        { "step_always", DS_BOOL, 0, .def_bool = false, .help = "also step after the first updates" },
        { "max_slew_ms", DS_INT, 0, .min = 1, .max = 2000000, .def_int = 500, .help = "largest slew asked for (ms)" },
        { "max_root_distance_ms", DS_INT, 0, .min = 1, .max = 16000, .def_int = 1500,
          .help = "samples and sources farther from a reference clock are not used (ms)" },
        { "save_interval_s", DS_INT, 0, .min = 1, .max = 86400, .def_int = 60,
          .help = "how often the last known good time is saved (s)" },
        { "timezone", DS_STR, 0, .max_len = 64, .check = check_zone, .def_str = "UTC", .help = "time zone" },
        { "zoneinfo_dir", DS_STR, 0, .max_len = 200, .check = ds_check_path, .def_str = "/usr/share/zoneinfo",
          .help = "where zone files are" },
        { "clock_service", DS_STR, 0, .max_len = BUS_NAME_MAX, .check = ds_check_name, .def_str = "timed-clock",
          .help = "the bus service that sets the clock" },
        { NULL },
};

static int set_one(struct timed_ctx *t, struct ds_call *c, const char *key, const msgpack_object *val, bool b)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, key);
        if (val)
                mpw_obj(&w, val);
        else
                mpw_bool(&w, b);
        mpw_map_end(&w);
        r = ds_daemon_set_settings_w(t->d, &w, ds_call_actor(c), &c->err);
        mpw_free(&w);
        return r;
}

static int h_ntp_status(void *ctx, struct ds_call *c)
{
        timed_status_write(ctx, c->r);
        return 0;
}

static int h_ntp_sync(void *ctx, struct ds_call *c)
{
        struct timed_ctx *t = ctx;

        if (!t->cfg.ntp_enabled)
                return ds_call_fail(c, -EBUSY, NULL, "NTP is disabled: enable it first");
        timed_poll_now(t);
        log_audit("operation", LOG_LVL_INFO, ds_call_actor(c), "NTP poll requested by '%s'", ds_call_actor(c));
        mpw_kv_int(c->r, "polled", t->n_src);
        return 0;
}

enum { SERVERS_SERVERS };
static const struct ds_field servers_args[] = {
        [SERVERS_SERVERS] = { "servers", DS_ARRAY, DS_REQUIRED, .min_len = 1, .max_len = TIMED_MAX_SOURCES, .sub = server_item },
        { NULL },
};

static int h_ntp_servers(void *ctx, struct ds_call *c)
{
        int r = set_one(ctx, c, "servers", ds_tb(c, SERVERS_SERVERS), false);

        if (r < 0)
                return r;
        mpw_str(c->r, "servers");
        mpw_obj(c->r, ds_tb(c, SERVERS_SERVERS));
        return 0;
}

enum { NTS_SERVERS };
static const struct ds_field nts_servers_args[] = {
        [NTS_SERVERS] = { "servers", DS_ARRAY, DS_REQUIRED, .max_len = TIMED_MAX_SOURCES, .sub = server_item },
        { NULL },
};

static int h_nts_servers(void *ctx, struct ds_call *c)
{
        int r = set_one(ctx, c, "nts_servers", ds_tb(c, NTS_SERVERS), false);

        if (r < 0) {
                if (!strcmp(c->err.field, "nts_servers"))
                        snprintf(c->err.field, sizeof c->err.field, "servers");
                return r;
        }
        mpw_str(c->r, "servers");
        mpw_obj(c->r, ds_tb(c, NTS_SERVERS));
        return 0;
}

enum { ENABLE_ENABLED };
static const struct ds_field enable_args[] = { [ENABLE_ENABLED] = { "enabled", DS_BOOL, DS_REQUIRED }, { NULL } };

static int h_ntp_enable(void *ctx, struct ds_call *c)
{
        bool on = ds_tb_bool(c, ENABLE_ENABLED, true);
        int r = set_one(ctx, c, "ntp_enabled", NULL, on);

        if (r < 0)
                return r;
        mpw_kv_bool(c->r, "ntp_enabled", on);
        return 0;
}

enum { TIME_SET_TIME, TIME_SET_FORCE };
static const struct ds_field set_args[] = {
        [TIME_SET_TIME] = { "time", DS_STR, DS_REQUIRED, .max_len = 40, .help = "YYYY-MM-DDTHH:MM:SSZ (UTC)" },
        [TIME_SET_FORCE] = { "force", DS_BOOL, 0, .help = "set it although NTP is enabled" },
        { NULL },
};

struct manual {
        struct ds_call *call;
        char actor[BUS_NAME_MAX + 1];
};

static void on_manual_step(struct timed_ctx *t, void *ud, int code, const struct bus_reply *rep, int64_t old_ns,
                           int64_t delta_ns)
{
        struct manual *m = ud;
        char ob[40], nb[40];

        (void)t;
        if (code < 0) {
                ds_call_fail(m->call, code == -EINVAL ? -EINVAL : code, code == -EINVAL ? "time" : NULL,
                             "the clock process refused: %s", rep->err.msg);
                ds_call_finish(&m->call, code);
        } else {
                log_audit("security", LOG_LVL_NOTICE, m->actor, "time set manually by '%s': %+.3f s", m->actor,
                          (double)delta_ns / 1e9);
                ds_format_time(old_ns / 1000000, ob, sizeof ob);
                ds_format_time((old_ns + delta_ns) / 1000000, nb, sizeof nb);
                mpw_kv_str(m->call->r, "old", ob);
                mpw_kv_str(m->call->r, "new", nb);
                mpw_kv_double(m->call->r, "delta", (double)delta_ns / 1e9);
                ds_call_finish(&m->call, 0);
        }
        free(m);
}

static int h_time_set(void *ctx, struct ds_call *c)
{
        struct timed_ctx *t = ctx;
        char tb[41];
        int64_t ms;
        struct manual *m;
        int r;

        ds_tb_str(c, TIME_SET_TIME, tb, sizeof tb);
        if (ds_parse_time(tb, &ms) < 0)
                return ds_call_fail(c, -EINVAL, "time", "must be an ISO 8601 UTC time like 2026-01-31T12:00:00Z");
        if (t->cfg.ntp_enabled && !ds_tb_bool(c, TIME_SET_FORCE, false))
                return ds_call_fail(c, -EBUSY, NULL, "NTP is enabled: disable it, or give force=true");
        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        snprintf(m->actor, sizeof m->actor, "%s", ds_call_actor(c));
        m->call = ds_call_detach(c);
        if (!m->call) {
                free(m);
                return -ENOMEM;
        }
        r = timed_clock_step(t, ms * 1000000, "manual", on_manual_step, m);
        if (r < 0) {
                ds_call_fail(m->call, r == -EBUSY ? -EBUSY : -DS_EUNAVAIL, NULL,
                             r == -EBUSY ? "a clock change is in progress" : "the clock process is not reachable");
                ds_call_finish(&m->call, r == -EBUSY ? -EBUSY : -DS_EUNAVAIL);
                free(m);
        }
        return DS_DEFER;
}

enum { ZONE_ZONE };
static const struct ds_field zone_args[] = {
        [ZONE_ZONE] = { "zone", DS_STR, DS_REQUIRED, .max_len = 64, .check = check_zone },
        { NULL },
};

static int h_time_zone(void *ctx, struct ds_call *c)
{
        struct timed_ctx *t = ctx;
        int r = set_one(t, c, "timezone", ds_tb(c, ZONE_ZONE), false);

        if (r < 0) {
                if (!strcmp(c->err.field, "timezone"))
                        snprintf(c->err.field, sizeof c->err.field, "zone");
                return r;
        }
        mpw_kv_str(c->r, "zone", t->cfg.zone);
        return 0;
}

const struct ds_method timed_methods[] = {
        DS_METHOD("ntp.status", NULL, h_ntp_status, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("ntp.sync", NULL, h_ntp_sync, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("ntp.servers", servers_args, h_ntp_servers, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("nts.servers", nts_servers_args, h_nts_servers, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("ntp.enable", enable_args, h_ntp_enable, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("time.set", set_args, h_time_set, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("time.zone", zone_args, h_time_zone, AUTH_NEEDS(SYSTEM)),
        { NULL },
};

static enum ds_audit_result check_nts(void *ctx, char *detail, size_t size)
{
        struct timed_ctx *t = ctx;
        int k = timed_nts_working(t);

        snprintf(detail, size, "%d working NTS source(s) of %d, minsources %d%s", k, t->n_nts, t->cfg.minsources,
                 t->n_nts && !t->cfg.nts_mix ? "" : t->n_nts ? ", mixed with unauthenticated ones" : "");
        return k >= t->cfg.minsources && !t->cfg.nts_mix ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

static enum ds_audit_result check_two_servers(void *ctx, char *detail, size_t size)
{
        struct timed_ctx *t = ctx;

        snprintf(detail, size, "%d server(s) configured", t->cfg.n_servers);
        return t->cfg.n_servers >= 2 ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

const struct ds_audit_item timed_audit[] = {
        { .id = "timed.ntp", .level = 1, .title = "time is kept by NTP", .remediation = "devctl time ntp enable",
          .key = "ntp_enabled", .want_bool = true },
        { .id = "timed.servers", .level = 2, .title = "at least two NTP servers",
          .remediation = "devctl time ntp set SERVER SERVER...", .check = check_two_servers },
        { .id = "timed.minsources", .level = 2, .title = "two sources must agree before the clock moves",
          .remediation = "devctl config set timed minsources=2", .key = "minsources", .cmp = DS_CMP_GE,
          .want_int = 2 },
        { .id = "timed.nts", .runtime = true, .level = 3, .title = "time is authenticated (NTS) by at least minsources sources",
          .remediation = "devctl time nts set HOST... (minsources of them); devctl config set timed nts_mix=false", .check = check_nts },
        { NULL },
};
