/* logd_produce - publishes log records on the bus as fast as it can (or at --rate),
 * for logd's tests and benchmark.
 *   logd_produce [--identity ID] [--category C] [--user U] [--prefix TEXT] [--rate N] COUNT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "log.h"
#include "util.h"

int main(int argc, char **argv)
{
        const char *identity = "logprod", *category = "system", *user = "", *prefix = "record";
        long long count = -1, rate = 0;
        struct ds_paths p;
        struct bus_reply rep;
        struct mpw w;
        int64_t t0, t1;
        bus_t *b;
        int err = 0;

        log_init("logd_produce");
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--identity") && i + 1 < argc)
                        identity = argv[++i];
                else if (!strcmp(argv[i], "--category") && i + 1 < argc)
                        category = argv[++i];
                else if (!strcmp(argv[i], "--user") && i + 1 < argc)
                        user = argv[++i];
                else if (!strcmp(argv[i], "--prefix") && i + 1 < argc)
                        prefix = argv[++i];
                else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
                        rate = atoll(argv[++i]);
                else if (argv[i][0] != '-')
                        count = atoll(argv[i]);
                else {
                        fprintf(stderr, "usage: logd_produce [--identity ID] [--category C] [--user U] [--prefix T] [--rate N] COUNT\n");
                        return 2;
                }
        }
        if (count < 0 || ds_paths_init(&p, NULL, NULL, NULL) < 0)
                return 2;
        b = bus_new(&p, identity, &err);
        if (!b) {
                fprintf(stderr, "logd_produce: bus: %s\n", strerror(-err));
                return 1;
        }
        /* a call first: the CURVE handshake is done before the clock starts */
        bus_call_sync(b, "bus", "bus.services", NULL, NULL, 5000, &rep);
        bus_reply_free(&rep);
        mpw_init(&w);
        t0 = ds_now_mono_ms();
        char topic[64], msg[256];
        snprintf(topic, sizeof topic, "log.%s", category);
        for (long long i = 1; i <= count; i++) {
                snprintf(msg, sizeof msg, "%s %lld", prefix, i);
                mpw_reset(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "service", identity);
                mpw_kv_str(&w, "level", "info");
                mpw_kv_str(&w, "user", user);
                mpw_kv_str(&w, "msg", msg);
                mpw_str(&w, "fields");
                mpw_map_begin(&w);
                mpw_kv_int(&w, "n", i);
                mpw_map_end(&w);
                mpw_map_end(&w);
                while (bus_publish(b, topic, &w) < 0) {
                        struct timespec ts = { 0, 200000 };
                        nanosleep(&ts, NULL); /* send queue full: wait, never drop */
                }
                if (rate > 0 && i % 100 == 0) {
                        int64_t due = t0 + i * 1000 / rate, now = ds_now_mono_ms();
                        if (due > now) {
                                struct timespec ts = { (due - now) / 1000, ((due - now) % 1000) * 1000000 };
                                nanosleep(&ts, NULL);
                        }
                }
        }
        /* a call after the records: busd has them all once it answers */
        bus_call_sync(b, "bus", "bus.services", NULL, NULL, 30000, &rep);
        bus_reply_free(&rep);
        t1 = ds_now_mono_ms();
        printf("published %lld records in %lld ms\n", count, (long long)(t1 - t0));
        mpw_free(&w);
        bus_destroy(&b);
        ds_paths_free(&p);
        return 0;
}
