/* test_resolve - the asynchronous resolver on a zloop: answers always come from
 * the loop (never from inside start), numeric addresses and /etc/hosts names,
 * errors delivered the same way, and a cancelled lookup never calls back. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "resolve.h"

struct got {
        int calls, err;
        char addr[INET6_ADDRSTRLEN];
        int family;
};

static void on_answer(void *ud, int err, const struct addrinfo *ai)
{
        struct got *g = ud;

        g->calls++;
        g->err = err;
        if (!err && ai) {
                g->family = ai->ai_family;
                getnameinfo(ai->ai_addr, ai->ai_addrlen, g->addr, sizeof g->addr, NULL, 0, NI_NUMERICHOST);
        }
}

static int on_stop(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        (void)arg;
        return -1;
}

/* Runs the loop until the answers are in (or tries x 10 ms passed). */
static void run(zloop_t *loop, struct got *g, int n, int tries)
{
        for (int i = 0; i < tries; i++) {
                int have = 0;

                for (int k = 0; k < n; k++)
                        have += g[k].calls;
                if (have >= n)
                        return;
                zloop_timer(loop, 10, 1, on_stop, NULL);
                zloop_start(loop);
        }
}

static void test_numeric_from_the_loop(void **state)
{
        zloop_t *loop = zloop_new();
        const struct addrinfo h = {.ai_socktype = SOCK_DGRAM};
        struct got g[2] = {0};
        ds_resolve_t *r4 = NULL, *r6 = NULL;

        (void)state;
        assert_int_equal(ds_resolve_start(loop, "192.0.2.7", "123", &h, 1000, on_answer, &g[0], &r4), 0);
        assert_int_equal(ds_resolve_start(loop, "2001:db8::7", "123", &h, 1000, on_answer, &g[1], &r6), 0);
        assert_int_equal(g[0].calls + g[1].calls, 0); /* never from inside start */
        run(loop, g, 2, 300);
        assert_int_equal(g[0].calls, 1);
        assert_int_equal(g[0].err, 0);
        assert_string_equal(g[0].addr, "192.0.2.7");
        assert_int_equal(g[1].family, AF_INET6);
        assert_string_equal(g[1].addr, "2001:db8::7");
        zloop_destroy(&loop);
}

static void test_name_from_hosts(void **state)
{
        zloop_t *loop = zloop_new();
        const struct addrinfo h = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
        struct got g = {0};
        ds_resolve_t *r = NULL;

        (void)state;
        assert_int_equal(ds_resolve_start(loop, "localhost", "514", &h, 2000, on_answer, &g, &r), 0);
        assert_int_equal(g.calls, 0);
        run(loop, &g, 1, 300);
        assert_int_equal(g.calls, 1);
        assert_int_equal(g.err, 0);
        assert_string_equal(g.addr, "127.0.0.1");
        zloop_destroy(&loop);
}

static void test_errors_and_cancel(void **state)
{
        zloop_t *loop = zloop_new();
        const struct addrinfo h = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        const struct addrinfo numeric = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
        struct got g[3] = {0};
        ds_resolve_t *r0 = NULL, *r1 = NULL, *r2 = NULL;
        char longname[300];

        (void)state;
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        assert_int_equal(ds_resolve_start(loop, longname, "1", &h, 1000, on_answer, &g[0], &r0), -ENAMETOOLONG);
        /* a port that is not a number, with AI_NUMERICSERV: an error, from the loop */
        assert_int_equal(ds_resolve_start(loop, "127.0.0.1", "syslog", &h, 1000, on_answer, &g[0], &r0), 0);
        /* a name where only numbers are allowed */
        assert_int_equal(ds_resolve_start(loop, "localhost", "1", &numeric, 1000, on_answer, &g[1], &r1), 0);
        /* cancelled before the loop ran: never called */
        assert_int_equal(ds_resolve_start(loop, "localhost", "1", &h, 1000, on_answer, &g[2], &r2), 0);
        ds_resolve_cancel(&r2, false);
        assert_null(r2);
        ds_resolve_cancel(&r2, false); /* NULL is fine */
        assert_int_equal(g[0].calls + g[1].calls, 0);
        run(loop, g, 2, 300);
        assert_int_equal(g[0].calls, 1);
        assert_int_not_equal(g[0].err, 0);
        assert_int_equal(g[1].calls, 1);
        assert_int_equal(g[1].err, EAI_NONAME);
        run(loop, &g[2], 1, 20); /* gives it its chance to (wrongly) call */
        assert_int_equal(g[2].calls, 0);
        zloop_destroy(&loop);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numeric_from_the_loop),
                cmocka_unit_test(test_name_from_hosts),
                cmocka_unit_test(test_errors_and_cancel),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
