/* filterd_pub - publishes the events filterd follows, standing in for their publishers:
 *   filterd_pub ports IDENTITY MAX_CONNECTIONS PROTO/PORT[/NAME]...   net.ports.changed
 *   filterd_pub locked IDENTITY USER SOURCE UNTIL                       auth.locked
 * (UNTIL: epoch seconds, or an ISO 8601 time). Paths come from DEVSEC_* like
 * every binary. Exit 0 when busd took the event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"

static int build_ports(int argc, char **argv, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "max_connections", atoi(argv[0]));
        mpw_str(w, "ports");
        mpw_arr_begin(w);
        for (int i = 1; i < argc; i++) {
                char proto[8] = "", name[32] = "";
                int port = 0;

                if (sscanf(argv[i], "%7[a-z]/%d/%31s", proto, &port, name) < 2) {
                        fprintf(stderr, "filterd_pub: '%s' is not PROTO/PORT[/NAME]\n", argv[i]);
                        return -1;
                }
                mpw_map_begin(w);
                mpw_kv_str(w, "name", name[0] ? name : proto);
                mpw_kv_str(w, "proto", proto);
                mpw_kv_int(w, "port", port);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
        return 0;
}

static int build_locked(int argc, char **argv, struct mpw *w)
{
        char *end;
        long long until;

        if (argc != 3)
                return -1;
        mpw_map_begin(w);
        mpw_kv_str(w, "user", argv[0]);
        mpw_kv_str(w, "source", argv[1]);
        until = strtoll(argv[2], &end, 10);
        if (*end)
                mpw_kv_str(w, "until", argv[2]);
        else
                mpw_kv_int(w, "until", until);
        mpw_map_end(w);
        return 0;
}

static const struct {
        const char *what;
        const char *topic;
        int (*build)(int argc, char **argv, struct mpw *w);
} kinds[] = {
        { "ports", "net.ports.changed", build_ports },
        { "locked", "auth.locked", build_locked },
};

int main(int argc, char **argv)
{
        struct ds_paths paths;
        struct bus_reply rep;
        struct mpw w;
        bus_t *b;
        size_t k;
        int r;

        log_init("filterd_pub");
        zsys_handler_set(NULL);
        if (argc < 3) {
                fprintf(stderr, "usage: filterd_pub ports|locked IDENTITY ARGS...\n");
                return 2;
        }
        for (k = 0; k < sizeof kinds / sizeof *kinds && strcmp(kinds[k].what, argv[1]); k++)
                ;
        if (k == sizeof kinds / sizeof *kinds)
                return 2;
        mpw_init(&w);
        if (kinds[k].build(argc - 3, argv + 3, &w) < 0 || mpw_finish(&w) < 0)
                return 2;
        if (ds_paths_init(&paths, NULL, NULL, NULL) < 0)
                return 1;
        b = bus_new(&paths, argv[2], &r);
        if (!b) {
                fprintf(stderr, "filterd_pub: no bus key for '%s': %s\n", argv[2], strerror(-r));
                return 1;
        }
        r = bus_publish(b, kinds[k].topic, &w);
        /* a call after the event: when its answer is back, busd has the event too */
        if (r == 0) {
                r = bus_call_sync(b, "bus", "sys.ping", NULL, NULL, 5000, &rep);
                bus_reply_free(&rep);
        }
        if (r < 0)
                fprintf(stderr, "filterd_pub: %s: %s\n", kinds[k].topic, ds_err_name(r));
        mpw_free(&w);
        bus_destroy(&b);
        ds_paths_free(&paths);
        return r == 0 ? 0 : 1;
}
