/* logd_produce - publishes log records on the bus as fast as it can (or at --rate),
 * for logd's tests and benchmark.
 *   logd_produce [--identity ID] [--category C] [--user U] [--prefix TEXT] [--rate N]
 *                [--claim-service NAME] [--pub-ts MS] [--msg-len N] COUNT
 * --claim-service and --pub-ts forge the body's service and the envelope's time
 * (and a `src` of their own), as a hostile publisher would; --msg-len pads the
 * message to N bytes with a multi-byte UTF-8 character; --wait-stored then polls
 * logd's log.status (token from DEVSEC_TOKEN) until the records are stored and
 * prints the time from the first publish to the last stored record. Events go
 * in batches once busd has said it takes them, unless --no-batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "bus_internal.h"
#include "bus_proto.h"
#include "log.h"
#include "util.h"

/* A pub envelope with the publisher's own time and a claimed src (busd must
 * replace the src; logd must not take the time). */
static int publish_at(bus_t *b, const char *topic, const struct mpw *data, int64_t ts, const char *src)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", BUS_PROTO_V);
        mpw_kv_str(&w, "k", BUS_K_PUB);
        mpw_kv_str(&w, "topic", topic);
        mpw_kv_int(&w, "ts", ts);
        if (src)
                mpw_kv_str(&w, "src", src);
        mpw_str(&w, "data");
        mpw_raw(&w, mpw_data(data), mpw_len(data));
        mpw_map_end(&w);
        r = bus_send_raw(b, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        return r;
}

/* records in logd's store plus those its queue dropped, or -1 */
static long long stored(bus_t *b)
{
        struct bus_reply rep;
        long long n = -1;

        if (bus_call_sync(b, "logd", "log.status", NULL, getenv("DEVSEC_TOKEN"), 5000, &rep) == 0)
                n = mp_get_int(rep.r, "records", 0) + mp_get_int(rep.r, "dropped", 0);
        bus_reply_free(&rep);
        return n;
}

int main(int argc, char **argv)
{
        const char *identity = "logprod", *category = "system", *user = "", *prefix = "record", *claim = NULL;
        long long count = -1, rate = 0, pub_ts = 0, msg_len = 0, base = 0;
        bool wait_stored = false, batch = true;
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
                else if (!strcmp(argv[i], "--claim-service") && i + 1 < argc)
                        claim = argv[++i];
                else if (!strcmp(argv[i], "--pub-ts") && i + 1 < argc)
                        pub_ts = atoll(argv[++i]);
                else if (!strcmp(argv[i], "--msg-len") && i + 1 < argc)
                        msg_len = atoll(argv[++i]);
                else if (!strcmp(argv[i], "--wait-stored"))
                        wait_stored = true;
                else if (!strcmp(argv[i], "--no-batch"))
                        batch = false;
                else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
                        rate = atoll(argv[++i]);
                else if (argv[i][0] != '-')
                        count = atoll(argv[i]);
                else {
                        fprintf(stderr, "usage: logd_produce [--identity ID] [--category C] [--user U] [--prefix T] [--rate N] [--claim-service S] [--pub-ts MS] [--msg-len N] [--wait-stored] [--no-batch] COUNT\n");
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
        if (wait_stored && (base = stored(b)) < 0) {
                fprintf(stderr, "logd_produce: log.status: no answer\n");
                return 1;
        }
        mpw_init(&w);
        /* like a daemon's loop iteration that publishes many: batches once
         * busd has said it takes them (--no-batch: one message per event) */
        bus_publish_hold(b, batch);
        t0 = ds_now_mono_ms();
        char topic[64], *msg = malloc(msg_len > 256 ? (size_t)msg_len + 1 : 257);
        if (!msg)
                return 1;
        snprintf(topic, sizeof topic, "log.%s", category);
        for (long long i = 1; i <= count; i++) {
                size_t cap = msg_len > 256 ? (size_t)msg_len + 1 : 257, n;
                snprintf(msg, cap, "%s %lld ", prefix, i);
                /* pad with U+00E9 (2 bytes) so a cut can land inside a character */
                for (n = strlen(msg); (long long)n + 2 <= msg_len; n += 2)
                        memcpy(msg + n, "\xc3\xa9", 2);
                msg[msg_len > 0 ? n : n - 1] = '\0';
                mpw_reset(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "service", claim ? claim : identity);
                mpw_kv_str(&w, "level", "info");
                mpw_kv_str(&w, "user", user);
                mpw_kv_str(&w, "msg", msg);
                mpw_str(&w, "fields");
                mpw_map_begin(&w);
                mpw_kv_int(&w, "n", i);
                mpw_map_end(&w);
                mpw_map_end(&w);
                while ((pub_ts ? publish_at(b, topic, &w, pub_ts, claim) : bus_publish(b, topic, &w)) < 0) {
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
        while (bus_publish_hold(b, false) == -EBUSY) {
                struct timespec ts = { 0, 200000 };
                nanosleep(&ts, NULL);
        }
        /* a call after the records: busd has them all once it answers */
        bus_call_sync(b, "bus", "bus.services", NULL, NULL, 30000, &rep);
        bus_reply_free(&rep);
        t1 = ds_now_mono_ms();
        printf("published %lld records in %lld ms\n", count, (long long)(t1 - t0));
        if (wait_stored) {
                int64_t deadline = t1 + 120000;
                long long n = 0;
                while ((n = stored(b)) >= 0 && n - base < count && ds_now_mono_ms() < deadline) {
                        struct timespec ts = { 0, 2000000 };
                        nanosleep(&ts, NULL);
                }
                printf("stored %lld records in %lld ms\n", n - base, (long long)(ds_now_mono_ms() - t0));
        }
        mpw_free(&w);
        free(msg);
        bus_destroy(&b);
        ds_paths_free(&p);
        return 0;
}
