/* test_sessions.c - tokens, idle and absolute expiry, concurrency limits, revocation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"

static int64_t clock_ms;
static int64_t fake_now(void) { return clock_ms; }

static int setup(void **state)
{
        struct authd_ctx *a = calloc(1, sizeof *a);

        clock_ms = 1700000000000LL;
        a->now = fake_now;
        a->sessions = zhash_new();
        a->idle_ms = 900 * 1000;
        a->lifetime_ms = 3600 * 1000;
        a->max_sessions = 4;
        a->max_per_user = 2;
        *state = a;
        return 0;
}

static int teardown(void **state)
{
        struct authd_ctx *a = *state;

        zhash_destroy(&a->sessions);
        free(a);
        return 0;
}

static struct authd_session *open1(struct authd_ctx *a, const char *user, char tok[64], int want)
{
        struct authd_session *s = NULL;
        char why[160] = "";

        assert_int_equal(authd_session_open(a, user, "local", "devctl", false, tok, &s, why, sizeof why), want);
        if (want == -EBUSY)
                assert_non_null(strstr(why, "limit"));
        return s;
}

static void t_token_is_random_and_only_hashed(void **state)
{
        struct authd_ctx *a = *state;
        char t1[64], t2[64];
        struct authd_session *s1 = open1(a, "bob", t1, 0), *s2 = open1(a, "alice", t2, 0);

        assert_int_equal(strlen(t1), 43); /* 256 bits, base64url */
        assert_string_not_equal(t1, t2);
        assert_null(memmem(s1, sizeof *s1, t1, strlen(t1)));
        assert_ptr_equal(authd_session_check(a, t1), s1);
        assert_ptr_equal(authd_session_check(a, t2), s2);
        assert_null(authd_session_check(a, "forged"));
        t1[5] ^= 1;
        assert_null(authd_session_check(a, t1));
        assert_ptr_equal(authd_session_by_sid(a, s2->sid), s2);
}

static void t_idle_and_lifetime(void **state)
{
        struct authd_ctx *a = *state;
        char tok[64];
        int64_t t0 = clock_ms;

        open1(a, "bob", tok, 0);
        for (int i = 1; i <= 4; i++) { /* activity keeps it alive until the absolute lifetime */
                clock_ms = t0 + i * 850 * 1000LL;
                assert_non_null(authd_session_check(a, tok));
        }
        clock_ms = t0 + 3600 * 1000LL;
        assert_null(authd_session_check(a, tok));
        assert_int_equal(authd_session_count(a, NULL), 0);

        open1(a, "bob", tok, 0);
        clock_ms += 899 * 1000LL;
        assert_non_null(authd_session_check(a, tok));
        clock_ms += 900 * 1000LL; /* idle */
        assert_null(authd_session_check(a, tok));
}

static void t_limits(void **state)
{
        struct authd_ctx *a = *state;
        char tok[64], keep[64];

        open1(a, "bob", keep, 0);
        open1(a, "bob", tok, 0);
        open1(a, "bob", tok, -EBUSY); /* per user: 2 */
        open1(a, "alice", tok, 0);
        open1(a, "carol", tok, 0);
        open1(a, "dave", tok, -EBUSY); /* global: 4 */
        authd_session_revoke(a, authd_session_check(a, keep));
        open1(a, "dave", tok, 0);
        a->max_sessions = 0; /* 0: no limit */
        a->max_per_user = 0;
        for (int i = 0; i < 50; i++)
                open1(a, "bob", tok, 0);
        assert_int_equal(authd_session_count(a, "bob"), 51);
}

static void t_revoke_user_except(void **state)
{
        struct authd_ctx *a = *state;
        char t1[64], t2[64], t3[64];
        struct authd_session *s1 = open1(a, "bob", t1, 0);

        open1(a, "bob", t2, 0);
        open1(a, "alice", t3, 0);
        assert_int_equal(authd_session_revoke_user(a, "bob", s1->sid), 1); /* password change keeps this one */
        assert_non_null(authd_session_check(a, t1));
        assert_null(authd_session_check(a, t2));
        assert_non_null(authd_session_check(a, t3));
        assert_int_equal(authd_session_revoke_user(a, "bob", NULL), 1); /* kick */
        assert_null(authd_session_check(a, t1));
}

static void t_sweep(void **state)
{
        struct authd_ctx *a = *state;
        char tok[64];

        open1(a, "bob", tok, 0);
        open1(a, "alice", tok, 0);
        clock_ms += 901 * 1000LL;
        authd_session_sweep(a);
        assert_int_equal(authd_session_count(a, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(t_token_is_random_and_only_hashed, setup, teardown),
                cmocka_unit_test_setup_teardown(t_idle_and_lifetime, setup, teardown),
                cmocka_unit_test_setup_teardown(t_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(t_revoke_user_except, setup, teardown),
                cmocka_unit_test_setup_teardown(t_sweep, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
