/* authd_probe - drives authd over the bus for tests, fast:
 *   authd_probe login USER            password on stdin; prints code, reason, message
 *   authd_probe brute USER COUNT      COUNT wrong passwords; prints counts per code and time
 *   authd_probe login-ok USER         password on stdin; prints the group on success
 * Connects as identity $AUTHD_PROBE_ID (default devctl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "util.h"

static int login(bus_t *b, const char *user, const char *pw, struct bus_reply *rep)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "password", pw);
        mpw_kv_str(&w, "source", "probe");
        mpw_map_end(&w);
        r = bus_call_sync(b, "authd", "session.login", &w, NULL, 10000, rep);
        mpw_free(&w);
        return r;
}

int main(int argc, char **argv)
{
        const char *id = getenv("AUTHD_PROBE_ID") ? getenv("AUTHD_PROBE_ID") : "devctl";
        struct ds_paths p;
        struct bus_reply rep;
        bus_t *b;
        int r;

        if (argc < 3 || ds_paths_init(&p, NULL, NULL, NULL) < 0) {
                fprintf(stderr, "usage: authd_probe login|login-ok USER | brute USER COUNT\n");
                return 2;
        }
        b = bus_new(&p, id, &r);
        if (!b) {
                fprintf(stderr, "authd_probe: bus: %s\n", strerror(-r));
                return 2;
        }
        if (!strcmp(argv[1], "login") || !strcmp(argv[1], "login-ok")) {
                char pw[256] = "";
                if (fgets(pw, sizeof pw, stdin))
                        pw[strcspn(pw, "\n")] = '\0';
                r = login(b, argv[2], pw, &rep);
                if (r == 0) {
                        char g[64] = "";
                        mp_strcpy(mp_get(rep.r, "group"), g, sizeof g);
                        printf("ok group=%s\n", g);
                } else {
                        printf("code=%s reason=%s msg=%s\n", ds_err_name(r), rep.err.reason[0] ? rep.err.reason : "-",
                               rep.err.msg);
                }
                bus_reply_free(&rep);
        } else if (!strcmp(argv[1], "brute") && argc == 4) {
                long n = atol(argv[3]), eauth = 0, elocked = 0, other = 0;
                struct timespec t0, t1;
                char pw[32];

                clock_gettime(CLOCK_MONOTONIC, &t0);
                for (long i = 0; i < n; i++) {
                        snprintf(pw, sizeof pw, "Wr0ng#%06ld", i);
                        r = login(b, argv[2], pw, &rep);
                        if (r == -DS_EAUTH)
                                eauth++;
                        else if (r == -DS_ELOCKED)
                                elocked++;
                        else
                                other++;
                        bus_reply_free(&rep);
                }
                clock_gettime(CLOCK_MONOTONIC, &t1);
                printf("EAUTH=%ld ELOCKED=%ld other=%ld ms=%ld\n", eauth, elocked, other,
                       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
                r = 0;
        } else {
                fprintf(stderr, "authd_probe: unknown mode '%s'\n", argv[1]);
                r = 2;
        }
        bus_destroy(&b);
        ds_paths_free(&p);
        return r == 0 ? 0 : 1;
}
