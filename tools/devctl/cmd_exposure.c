/* cmd_exposure.c - devctl exposure: show, check, unmap (service exposured) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"

#define EXP_SVC "exposured"
/* a check waits for SSDP discovery and the router's answers (timeout_s) */
#define EXP_CALL_MS 130000

static void line(const msgpack_object *r, const char *key, const char *label)
{
        const msgpack_object *v = mp_get(r, key);

        if (!v || (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 0))
                return;
        printf("%-19s ", label);
        devctl_print_value(stdout, v);
        fputc('\n', stdout);
}

static void print_state(const msgpack_object *r)
{
        static const char *const lcols[] = { "proto", "address", "port", "user", "process", "owner", "verdict", "why", NULL };
        static const char *const mcols[] = { "proto", "external_port", "client", "internal_port", "description",
                                             "lease_s", "verdict", NULL };

        line(r, "listen", "net.listen:");
        line(r, "listen_detail", "  detail:");
        devctl_print_table(stdout, mp_get(r, "listeners"), lcols);
        fputc('\n', stdout);
        line(r, "upnp", "net.exposure.upnp:");
        line(r, "upnp_detail", "  detail:");
        line(r, "igd", "router (IGD):");
        line(r, "igd_reason", "  reason:");
        line(r, "igd_url", "  description:");
        line(r, "lan_address", "  this device:");
        line(r, "external_address", "  external address:");
        line(r, "connection", "  connection:");
        line(r, "router_mappings_total", "  mappings (all):");
        line(r, "upnp_checked", "  checked:");
        line(r, "upnp_function", "upnp function:");
        if (mp_streq(mp_get(r, "upnp_function"), "off"))
                printf("%-19s %s\n", "", "devsec adds no mapping; it only reads (and deletes on request)");
        if (mp_streq(mp_get(r, "igd"), "found")) {
                fputs("mappings to this device:\n", stdout);
                devctl_print_table(stdout, mp_get(r, "mappings"), mcols);
        }
        line(r, "dmz", "DMZ:");
}

static int c_exposure(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct bus_reply rep;
        struct mpw w, *args = NULL;
        int r;

        if (!strcmp(cmd->method, "exposure.unmap")) {
                char *end;
                long port;

                if (argc < 1 || argc > 2)
                        return devctl_usage(cmd);
                port = strtol(argv[0], &end, 10);
                if (*end || port < 1 || port > 65535) {
                        fprintf(stderr, "devctl: exposure unmap: '%s' is not a port (1-65535)\n", argv[0]);
                        return DC_EUSAGE;
                }
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "port", port);
                if (argc == 2)
                        mpw_kv_str(&w, "proto", argv[1]);
                mpw_map_end(&w);
                args = &w;
        } else if (argc > 0) {
                return devctl_usage(cmd);
        }
        if (strcmp(cmd->method, "exposure.show") && dc->timeout_ms < EXP_CALL_MS)
                dc->timeout_ms = EXP_CALL_MS;
        r = devctl_call(dc, EXP_SVC, cmd->method, args, true, NULL, &rep);
        if (args)
                mpw_free(args);
        if (r != DC_OK)
                return r;
        if (dc->json) {
                devctl_print_json(stdout, rep.r);
                fputc('\n', stdout);
        } else {
                if (mp_get_bool(rep.r, "deleted", false)) {
                        size_t n;
                        const char *p = mp_get_strn(rep.r, "proto", &n);
                        printf("deleted: the router no longer forwards %.*s %lld to this device\n\n", (int)n, p ? p : "",
                               (long long)mp_get_int(rep.r, "external_port", 0));
                }
                print_state(rep.r);
        }
        r = DC_OK;
        /* check: non-zero when an item fails, like devctl audit */
        if (!strcmp(cmd->method, "exposure.check") &&
            (mp_streq(mp_get(rep.r, "listen"), "fail") || mp_streq(mp_get(rep.r, "upnp"), "fail")))
                r = DC_ESERVICE;
        bus_reply_free(&rep);
        return r;
}

static const struct devctl_cmd exposure_cmds[] = {
        { .path = "exposure show", .svc = EXP_SVC, .method = "exposure.show", .fn = c_exposure, .usage = "",
          .help = "listeners on network addresses and their owners; the router's UPnP mappings to this device" },
        { .path = "exposure check", .svc = EXP_SVC, .method = "exposure.check", .fn = c_exposure, .usage = "",
          .help = "look again now (listeners and the router); exits 1 when an item fails" },
        { .path = "exposure unmap", .svc = EXP_SVC, .method = "exposure.unmap", .fn = c_exposure,
          .usage = "PORT [tcp|udp]", .help = "ask the router to delete its mapping of external PORT to this device" },
        { NULL },
};
DEVCTL_COMMANDS(exposure_cmds);
