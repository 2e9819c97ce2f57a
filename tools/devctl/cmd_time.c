/* cmd_time.c - devctl time: show, ntp set/enable/disable, sync, set, zone set (service timed) */
#include <stdlib.h>
#include <string.h>

#include "devctl.h"

static void print_kv(const msgpack_object *r, const char *key, const char *label)
{
        const msgpack_object *v = mp_get(r, key);

        if (!v)
                return;
        printf("%-14s ", label);
        devctl_print_value(stdout, v);
        fputc('\n', stdout);
}

static int c_show(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "address", "state", "stratum", "reach", "offset_ms", "delay_ms",
                                            "jitter_ms", "poll_s", "rx", "nts", NULL };
        struct bus_reply rep;
        double off = 0;
        int r;

        (void)argv;
        if (argc > 0) {
                return devctl_usage(cmd);
        }
        r = devctl_call(dc, cmd->svc, cmd->method, NULL, true, NULL, &rep);
        if (r != DC_OK)
                return r;
        if (dc->json) {
                devctl_print_json(stdout, rep.r);
                fputc('\n', stdout);
                bus_reply_free(&rep);
                return DC_OK;
        }
        print_kv(rep.r, "time", "time:");
        print_kv(rep.r, "zone", "zone:");
        print_kv(rep.r, "ntp_enabled", "ntp:");
        print_kv(rep.r, "sync_state", "sync:");
        mp_to_double(mp_get(rep.r, "offset_ms"), &off);
        printf("%-14s %+.3f ms\n", "offset:", off);
        print_kv(rep.r, "last_update", "last update:");
        print_kv(rep.r, "poll_s", "poll (s):");
        if (mp_get_int(rep.r, "nts_time_check_bypassed", 0) > 0)
                printf("%-14s %lld NTS source(s) keyed WITHOUT the certificate time check (clock not set yet)\n",
                       "warning:", (long long)mp_get_int(rep.r, "nts_time_check_bypassed", 0));
        fputc('\n', stdout);
        devctl_print_table(stdout, mp_get(rep.r, "sources"), cols);
        bus_reply_free(&rep);
        return DC_OK;
}

static int c_ntp_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r;

        if (argc < 1) {
                return devctl_usage(cmd);
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "servers");
        mpw_arr_begin(&w);
        for (int i = 0; i < argc; i++)
                mpw_str(&w, argv[i]);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static int c_ntp_onoff(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r;

        (void)argv;
        if (argc > 0) {
                return devctl_usage(cmd);
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "enabled", !strcmp(cmd->path, "time ntp enable"));
        mpw_map_end(&w);
        r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static const struct devctl_cmd time_cmds[] = {
        { .path = "time show", .svc = "timed", .method = "ntp.status", .fn = c_show, .usage = "",
          .help = "time, zone, NTP sync state and sources" },
        { .path = "time ntp set", .svc = "timed", .method = "ntp.servers", .fn = c_ntp_set,
          .usage = "SERVER[:PORT]...", .help = "NTP servers (at most 8)" },
        { .path = "time nts set", .svc = "timed", .method = "nts.servers", .fn = c_ntp_set,
          .usage = "SERVER[:PORT]...", .help = "NTS servers: their NTS-KE HOST[:PORT] (4460 by default)" },
        { .path = "time ntp enable", .svc = "timed", .method = "ntp.enable", .fn = c_ntp_onoff, .usage = "",
          .help = "keep time by NTP" },
        { .path = "time ntp disable", .svc = "timed", .method = "ntp.enable", .fn = c_ntp_onoff, .usage = "",
          .help = "stop NTP (manual time)" },
        { .path = "time sync", .svc = "timed", .method = "ntp.sync", .usage = "", .help = "poll the NTP servers now" },
        { .path = "time set", .svc = "timed", .method = "time.set", .pos = (const char *const[]){ "time", NULL },
          .min_pos = 1, .usage = "YYYY-MM-DDTHH:MM:SSZ [--force]",
          .help = "set the time by hand (NTP disabled, or --force)" },
        { .path = "time zone set", .svc = "timed", .method = "time.zone",
          .pos = (const char *const[]){ "zone", NULL }, .min_pos = 1, .usage = "ZONE",
          .help = "time zone, e.g. Europe/Berlin" },
        { NULL },
};
DEVCTL_COMMANDS(time_cmds);
