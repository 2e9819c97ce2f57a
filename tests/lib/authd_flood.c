/* authd_flood - drives authd's session.login over the bus, fast, as any identity:
 *   authd_flood fill PREFIX COUNT ATTEMPTS   ATTEMPTS wrong passwords for each of COUNT
 *                                            names PREFIX00000...; prints counts per code
 *   authd_flood brute USER COUNT             COUNT wrong passwords for USER
 *   authd_flood spray PREFIX COUNT           one wrong password for each of COUNT names
 *   authd_flood flood PREFIX SECONDS         wrong passwords as fast as replies come for
 *                                            SECONDS, a new made-up name every 4 tries
 *   authd_flood login USER                   password on stdin; prints "ok source=S" or the code
 *   authd_flood ping                         prints authd's sys.ping as key=value lines
 * Options before the mode: -i IDENTITY (default devctl), -s SOURCE and -m MAC (put in
 * the request body; authd believes them only from a front end), -n INFLIGHT
 * (fill and flood: requests in flight at once, default 16).
 * Counts: "EAUTH=n ELOCKED=n EBUSY=n other=n ms=n busy_max_ms=n" (busy_max_ms:
 * the slowest EBUSY answer of fill and flood, in ms). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"

static const char *source, *mac;

static int login(bus_t *b, const char *user, const char *pw, struct bus_reply *rep)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "password", pw);
        if (source)
                mpw_kv_str(&w, "source", source);
        if (mac)
                mpw_kv_str(&w, "mac", mac);
        mpw_map_end(&w);
        r = bus_call_sync(b, "authd", "session.login", &w, NULL, 10000, rep);
        mpw_free(&w);
        return r;
}

struct counts {
        long eauth, elocked, ebusy, other;
        double busy_max_ms;
};

static void count(struct counts *n, int r)
{
        if (r == -DS_EAUTH)
                n->eauth++;
        else if (r == -DS_ELOCKED)
                n->elocked++;
        else if (r == -EBUSY)
                n->ebusy++;
        else
                n->other++;
}

/* fill: many requests in flight at once, so that a bus round trip per
 * attempt does not set the pace (authd still handles them one by one) */
struct fill {
        bus_t *b;
        const char *prefix;
        long next, total, att;
        int inflight, max_inflight;
        double deadline_ms; /* flood: no new request after this (monotonic ms), 0: none */
        struct counts n;
};

struct req {
        struct fill *f;
        double t0;
};

static double mono_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void fill_send(struct fill *f);

static void fill_reply(void *ud, const struct bus_reply *rep)
{
        struct req *q = ud;
        struct fill *f = q->f;
        double dt = mono_ms() - q->t0;

        count(&f->n, rep->code);
        if (rep->code == -EBUSY && dt > f->n.busy_max_ms)
                f->n.busy_max_ms = dt;
        free(q);
        f->inflight--;
        fill_send(f);
}

static void fill_send(struct fill *f)
{
        while (f->inflight < f->max_inflight && f->next < f->total &&
               (!f->deadline_ms || mono_ms() < f->deadline_ms)) {
                struct req *q = malloc(sizeof *q);
                char name[64], pw[64];
                struct mpw w;

                snprintf(name, sizeof name, "%s%05ld", f->prefix, f->next / f->att);
                snprintf(pw, sizeof pw, "Wr0ng#%06ld", f->next % f->att);
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "user", name);
                mpw_kv_str(&w, "password", pw);
                if (source)
                        mpw_kv_str(&w, "source", source);
                mpw_map_end(&w);
                if (q) {
                        q->f = f;
                        q->t0 = mono_ms();
                }
                if (!q || bus_call(f->b, "authd", "session.login", &w, NULL, 30000, fill_reply, q) < 0) {
                        free(q);
                        f->n.other++;
                } else {
                        f->inflight++;
                }
                mpw_free(&w);
                f->next++;
        }
}

static int fill_done(zloop_t *loop, int timer_id, void *arg)
{
        struct fill *f = arg;

        (void)loop;
        (void)timer_id;
        return f->inflight == 0 && (f->next == f->total || (f->deadline_ms && mono_ms() >= f->deadline_ms)) ? -1
                                                                                                   : 0;
}

static long ms_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static void print_obj(const char *k, const msgpack_object *o)
{
        char s[256];

        if (mp_strcpy(o, s, sizeof s) == 0)
                printf("%s=%s\n", k, s);
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                printf("%s=%llu\n", k, (unsigned long long)o->via.u64);
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                printf("%s=%lld\n", k, (long long)o->via.i64);
        else if (o->type == MSGPACK_OBJECT_BOOLEAN)
                printf("%s=%s\n", k, o->via.boolean ? "true" : "false");
}

int main(int argc, char **argv)
{
        const char *id = "devctl";
        struct counts n = { 0 };
        struct timespec t0;
        struct ds_paths p;
        struct bus_reply rep;
        char name[64], pw[64];
        bus_t *b;
        int opt, r = 0, inflight = 16;

        while ((opt = getopt(argc, argv, "+i:s:m:n:")) != -1) {
                if (opt == 'n')
                        inflight = atoi(optarg) > 0 ? atoi(optarg) : 1;
                else if (opt == 'i')
                        id = optarg;
                else if (opt == 's')
                        source = optarg;
                else if (opt == 'm')
                        mac = optarg;
                else
                        return 2;
        }
        argc -= optind;
        argv += optind;
        if (argc < 1 || ds_paths_init(&p, NULL, NULL, NULL) < 0) {
                fprintf(stderr, "usage: authd_flood [-i ID] [-s SRC] [-m MAC] [-n INFLIGHT] fill|flood|brute|spray|login|ping ...\n");
                return 2;
        }
        b = bus_new(&p, id, &r);
        if (!b) {
                fprintf(stderr, "authd_flood: bus: %s\n", strerror(-r));
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((!strcmp(argv[0], "fill") && argc == 4) || (!strcmp(argv[0], "flood") && argc == 3)) {
                bool flood = !strcmp(argv[0], "flood");
                struct fill f = { .b = b, .prefix = argv[1], .att = flood ? 4 : atol(argv[3]),
                                  .max_inflight = inflight };
                zloop_t *loop = zloop_new();
                f.total = flood ? 4L * 99999 : atol(argv[2]) * f.att;
                if (flood)
                        f.deadline_ms = mono_ms() + atof(argv[2]) * 1000;
                if (!loop || f.att < 1 || bus_attach(b, loop) < 0) {
                        fprintf(stderr, "authd_flood: cannot set up the loop\n");
                        zloop_destroy(&loop);
                        r = 2;
                        goto out;
                }
                zloop_timer(loop, 5, 0, fill_done, &f);
                fill_send(&f);
                zloop_start(loop);
                bus_destroy(&b); /* it holds the loop: before the loop goes */
                zloop_destroy(&loop);
                n = f.n;
        } else if (!strcmp(argv[0], "brute") && argc == 3) {
                long cnt = atol(argv[2]);
                for (long i = 0; i < cnt; i++) {
                        snprintf(pw, sizeof pw, "Wr0ng#%06ld", i);
                        count(&n, login(b, argv[1], pw, &rep));
                        bus_reply_free(&rep);
                }
        } else if (!strcmp(argv[0], "spray") && argc == 3) {
                long cnt = atol(argv[2]);
                for (long i = 0; i < cnt; i++) {
                        snprintf(name, sizeof name, "%s%05ld", argv[1], i);
                        count(&n, login(b, name, "Wr0ng#000000", &rep));
                        bus_reply_free(&rep);
                }
        } else if (!strcmp(argv[0], "login") && argc == 2) {
                char line[256] = "";
                if (fgets(line, sizeof line, stdin))
                        line[strcspn(line, "\n")] = '\0';
                r = login(b, argv[1], line, &rep);
                explicit_bzero(line, sizeof line);
                if (r == 0) {
                        char s[80] = "";
                        mp_strcpy(mp_get(rep.r, "source"), s, sizeof s);
                        printf("ok source=%s\n", s);
                } else {
                        printf("code=%s reason=%s msg=%s\n", ds_err_name(r), rep.err.reason[0] ? rep.err.reason : "-",
                               rep.err.msg);
                }
                bus_reply_free(&rep);
                goto out;
        } else if (!strcmp(argv[0], "ping") && argc == 1) {
                struct mpw w;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_map_end(&w);
                r = bus_call_sync(b, "authd", "sys.ping", &w, NULL, 10000, &rep);
                mpw_free(&w);
                for (uint32_t i = 0; r == 0 && rep.r && rep.r->type == MSGPACK_OBJECT_MAP && i < rep.r->via.map.size;
                     i++) {
                        char k[64];
                        if (mp_strcpy(&rep.r->via.map.ptr[i].key, k, sizeof k) == 0)
                                print_obj(k, &rep.r->via.map.ptr[i].val);
                }
                if (r < 0)
                        printf("code=%s msg=%s\n", ds_err_name(r), rep.err.msg);
                bus_reply_free(&rep);
                goto out;
        } else {
                fprintf(stderr, "authd_flood: unknown mode '%s' or wrong arguments\n", argv[0]);
                r = 2;
                goto out;
        }
        printf("EAUTH=%ld ELOCKED=%ld EBUSY=%ld other=%ld ms=%ld busy_max_ms=%.1f\n", n.eauth, n.elocked, n.ebusy,
               n.other, ms_since(&t0), n.busy_max_ms);
        r = 0;
out:
        bus_destroy(&b);
        ds_paths_free(&p);
        return r == 0 ? 0 : 1;
}
