/* authd_bench - timings for tests/bench/authd.sh (password on stdin where a mode logs in):
 *   authd_bench login USER N             N logins (+ logout): median login round trip, ms
 *   authd_bench check USER SESSIONS N [GAP_MS]
 *                                        opens SESSIONS sessions, then N session.check
 *                                        through busd on random ones: "p50 p95" in us
 *   authd_bench ping N [GAP_MS]          N sys.ping to authd through busd: "p50 p95" in us
 *   authd_bench hash N                   N local Argon2id verifications at the default
 *                                        cost (t=3, 64 MiB): median, ms (no bus)
 * GAP_MS spaces the calls out (so that they sample a flood rather than a burst).
 * Connects as identity $AUTHD_BENCH_ID (check needs a daemon identity). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"

static double now_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_d(const void *x, const void *y)
{
        double a = *(const double *)x, b = *(const double *)y;
        return a < b ? -1 : a > b;
}

static int login(bus_t *b, const char *user, const char *pw, char tok[BUS_TOKEN_MAX + 1])
{
        struct bus_reply rep;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "password", pw);
        mpw_kv_str(&w, "source", "bench");
        mpw_map_end(&w);
        r = bus_call_sync(b, "authd", "session.login", &w, NULL, 30000, &rep);
        mpw_free(&w);
        if (r == 0 && mp_strcpy(mp_get(rep.r, "token"), tok, BUS_TOKEN_MAX + 1) < 0)
                r = -EINVAL;
        if (r)
                fprintf(stderr, "authd_bench: login: %s\n", rep.err.msg);
        bus_reply_free(&rep);
        return r;
}

static void gap(long ms)
{
        if (ms > 0)
                usleep((useconds_t)ms * 1000);
}

int main(int argc, char **argv)
{
        const char *id = getenv("AUTHD_BENCH_ID") ? getenv("AUTHD_BENCH_ID") : "devctl";
        char pw[256] = "", tok[BUS_TOKEN_MAX + 1];
        bool pct = false;
        struct ds_paths p;
        struct bus_reply rep;
        double *t;
        bus_t *b = NULL;
        long n;
        int r;

        if (argc < 3 || ds_paths_init(&p, NULL, NULL, NULL) < 0) {
                fprintf(stderr, "usage: authd_bench login USER N | check USER SESSIONS N [GAP_MS] | ping N [GAP_MS] | "
                                "hash N\n");
                return 2;
        }
        if (!strcmp(argv[1], "hash")) {
                char *h;
                n = atol(argv[2]);
                t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
                if (!t || n < 1 || sodium_init() < 0)
                        return 2;
                h = malloc(crypto_pwhash_STRBYTES);
                if (!h || crypto_pwhash_str_alg(h, "Wr0ng#pass", 10, 3, 65536u * 1024, crypto_pwhash_ALG_ARGON2ID13))
                        return 1;
                for (long i = 0; i < n; i++) {
                        double t0 = now_us();
                        if (crypto_pwhash_str_verify(h, "Wr0ng#other", 11) == 0)
                                return 1; /* a wrong password cannot match */
                        t[i] = (now_us() - t0) / 1000.0;
                }
                qsort(t, (size_t)n, sizeof *t, cmp_d);
                printf("%.3f\n", t[n / 2]);
                free(h);
                free(t);
                return 0;
        }
        if (strcmp(argv[1], "ping") && (argc < 4 || !fgets(pw, sizeof pw, stdin))) {
                fprintf(stderr, "authd_bench: %s needs a password on stdin\n", argv[1]);
                return 2;
        }
        pw[strcspn(pw, "\n")] = '\0';
        b = bus_new(&p, id, &r);
        if (!b) {
                fprintf(stderr, "authd_bench: bus: %s\n", strerror(-r));
                return 2;
        }
        if (!strcmp(argv[1], "login")) {
                n = atol(argv[3]);
                t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
                if (!t || n < 1)
                        return 2;
                for (long i = 0; i < n; i++) {
                        double t0 = now_us();
                        if (login(b, argv[2], pw, tok))
                                return 1;
                        t[i] = (now_us() - t0) / 1000.0;
                        bus_call_sync(b, "authd", "session.logout", NULL, tok, 5000, &rep);
                        bus_reply_free(&rep);
                }
        } else if (!strcmp(argv[1], "check") && (argc == 5 || argc == 6)) {
                long ns = atol(argv[3]), g = argc == 6 ? atol(argv[5]) : 0;
                char (*toks)[BUS_TOKEN_MAX + 1] = calloc((size_t)(ns > 0 ? ns : 1), sizeof *toks);

                n = atol(argv[4]);
                t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
                if (!t || !toks || n < 1 || ns < 1)
                        return 2;
                for (long i = 0; i < ns; i++)
                        if (login(b, argv[2], pw, toks[i]))
                                return 1;
                for (long i = 0; i < n; i++) {
                        struct mpw w;
                        double t0;
                        mpw_init(&w);
                        mpw_map_begin(&w);
                        mpw_kv_str(&w, "token", toks[randombytes_uniform((uint32_t)ns)]);
                        mpw_map_end(&w);
                        t0 = now_us();
                        r = bus_call_sync(b, "authd", "session.check", &w, NULL, 5000, &rep);
                        t[i] = now_us() - t0;
                        mpw_free(&w);
                        bus_reply_free(&rep);
                        if (r) {
                                fprintf(stderr, "authd_bench: session.check: %s\n", ds_err_name(r));
                                return 1;
                        }
                        gap(g);
                }
                sodium_memzero(toks, (size_t)ns * sizeof *toks);
                free(toks);
                pct = true;
        } else if (!strcmp(argv[1], "ping")) {
                long g = argc >= 4 ? atol(argv[3]) : 0;

                n = atol(argv[2]);
                t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
                if (!t || n < 1)
                        return 2;
                for (long i = 0; i < n; i++) {
                        double t0 = now_us();
                        r = bus_call_sync(b, "authd", "sys.ping", NULL, NULL, 5000, &rep);
                        t[i] = now_us() - t0;
                        bus_reply_free(&rep);
                        if (r) {
                                fprintf(stderr, "authd_bench: sys.ping: %s\n", ds_err_name(r));
                                return 1;
                        }
                        gap(g);
                }
                pct = true;
        } else {
                return 2;
        }
        qsort(t, (size_t)n, sizeof *t, cmp_d);
        if (pct)
                printf("%.1f %.1f\n", t[n / 2], t[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1]);
        else
                printf("%.3f\n", t[n / 2]);
        explicit_bzero(pw, sizeof pw);
        free(t);
        bus_destroy(&b);
        ds_paths_free(&p);
        return 0;
}
