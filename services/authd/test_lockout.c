/* test_lockout.c - lockout timing on an injected clock: per source, doubling, cap, persistence,
 * floods of made-up names, the per-source login token bucket */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_clock.h"

static int setup(void **state)
{
        struct authd_ctx *a = test_ctx_new();

        authd_store_init(a);
        a->lockcfg = (struct authd_lockcfg){ .attempts = 5, .lock_ms = 30 * MINUTE, .max_ms = 24 * 60 * MINUTE,
                                             .total_cap = 100 };
        *state = a;
        return 0;
}

static int teardown(void **state)
{
        struct authd_ctx *a = *state;

        authd_store_clear(a);
        free(a->locks);
        free(a);
        return 0;
}

static int fail_n(struct authd_ctx *a, const char *user, const char *src, int n)
{
        int64_t until = -1;
        int locked = 0;

        for (int i = 0; i < n; i++)
                locked += authd_lock_fail(a, user, src, &until);
        return locked;
}

static void t_five_failures_lock_for_30_min(void **state)
{
        struct authd_ctx *a = *state;
        int64_t until = -1, t0 = clock_ms;

        assert_int_equal(fail_n(a, "bob", "10.0.0.1", 4), 0);
        assert_false(authd_lock_active(a, "bob", NULL));
        assert_int_equal(authd_lock_fail(a, "bob", "10.0.0.1", &until), 1);
        assert_int_equal(until, t0 + 30 * MINUTE);
        assert_true(authd_lock_active(a, "bob", &until));
        assert_int_equal(until, t0 + 30 * MINUTE);
        clock_ms = t0 + 30 * MINUTE - 1;
        assert_true(authd_lock_active(a, "bob", NULL));
        clock_ms = t0 + 30 * MINUTE;
        assert_false(authd_lock_active(a, "bob", NULL));
        assert_false(authd_lock_active(a, "alice", NULL)); /* others unaffected */
}

static void t_lock_doubles_and_caps(void **state)
{
        struct authd_ctx *a = *state;
        int64_t until = 0, want = 30 * MINUTE;

        for (int round = 0; round < 8; round++) {
                int64_t t0 = clock_ms;
                assert_int_equal(fail_n(a, "bob", "cam", 4), 0);
                assert_int_equal(authd_lock_fail(a, "bob", "cam", &until), 1);
                assert_int_equal(until - t0, want);
                clock_ms = until;
                want = want * 2 > 24 * 60 * MINUTE ? 24 * 60 * MINUTE : want * 2;
        }
}

static void t_per_source(void **state)
{
        struct authd_ctx *a = *state;

        assert_int_equal(fail_n(a, "bob", "A", 4), 0);
        assert_int_equal(fail_n(a, "bob", "B", 4), 0);
        assert_false(authd_lock_active(a, "bob", NULL));
        assert_int_equal(fail_n(a, "bob", "B", 1), 1); /* fifth from B */
        assert_true(authd_lock_active(a, "bob", NULL));  /* the user is locked, from every source */
}

static void t_success_resets(void **state)
{
        struct authd_ctx *a = *state;

        assert_int_equal(fail_n(a, "bob", "A", 4), 0);
        authd_lock_success(a, "bob");
        assert_int_equal(fail_n(a, "bob", "A", 4), 0);
        assert_false(authd_lock_active(a, "bob", NULL));
}

static void t_total_cap_needs_admin(void **state)
{
        struct authd_ctx *a = *state;
        int64_t until = -1;

        a->lockcfg.total_cap = 12;
        assert_int_equal(fail_n(a, "bob", "A", 5), 1);
        clock_ms += 31 * MINUTE;
        assert_int_equal(fail_n(a, "bob", "A", 5), 1);
        clock_ms += 61 * MINUTE;
        assert_int_equal(fail_n(a, "bob", "A", 1), 0);
        assert_int_equal(authd_lock_fail(a, "bob", "B", &until), 1); /* 12th: the cap */
        assert_int_equal(until, 0);
        clock_ms += 365LL * 24 * 60 * MINUTE;
        assert_true(authd_lock_active(a, "bob", &until));
        assert_int_equal(until, 0);
        authd_lock_clear(a, "bob"); /* user.unlock */
        assert_false(authd_lock_active(a, "bob", NULL));
}

static void t_cap_spares_last_admin(void **state)
{
        struct authd_ctx *a = *state;
        struct authd_user *u = authd_user_add(a, "admin", "admin");
        int64_t until = 0;

        u->hash = strdup("$argon2id$x");
        a->lockcfg.total_cap = 3;
        a->lockcfg.attempts = 50;
        fail_n(a, "admin", "A", 2);
        assert_int_equal(authd_lock_fail(a, "admin", "A", &until), 1);
        assert_true(until > clock_ms); /* timed, not until an admin unlocks: there is no other */
}

static void t_unknown_names_lock_too(void **state)
{
        struct authd_ctx *a = *state;

        assert_int_equal(fail_n(a, "nosuchuser", "A", 5), 1);
        assert_true(authd_lock_active(a, "nosuchuser", NULL));
}

static void t_survives_restart(void **state)
{
        struct authd_ctx *a = *state, *b = calloc(1, sizeof *b);
        msgpack_unpacked u;
        const char *why;
        int64_t until = 0, until2 = 0;
        struct mpw w;

        fail_n(a, "bob", "A", 5);
        fail_n(a, "carol", "A", 3);
        assert_true(authd_lock_active(a, "bob", &until));
        mpw_init(&w);
        authd_lock_write(a, &w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        b->now = fake_now;
        b->lockcfg = a->lockcfg;
        assert_int_equal(authd_lock_read(b, &u.data), 0);
        assert_true(authd_lock_active(b, "bob", &until2));
        assert_int_equal(until, until2);
        assert_int_equal(fail_n(b, "carol", "A", 2), 1); /* counters kept: 3 + 2 */
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        free(b->locks);
        free(b);
}

/* Made-up names filling their table with locks neither block counting for an
 * account nor displace its lock; they evict their own kind, oldest first. */
static void t_unknown_flood_spares_accounts(void **state)
{
        struct authd_ctx *a = *state;
        struct authd_user *u = authd_user_add(a, "admin", "admin");
        char name[40];
        int64_t until = 0;

        u->hash = strdup("$argon2id$x");
        assert_int_equal(fail_n(a, "admin", "A", 2), 0);
        for (int i = 0; i < AUTHD_UNKNOWN_LOCKS_MAX; i++) {
                snprintf(name, sizeof name, "ghost%05d", i);
                assert_int_equal(fail_n(a, name, "A", 5), 1);
                clock_ms++;
        }
        assert_true(authd_lock_active(a, "ghost00000", NULL));
        assert_int_equal(fail_n(a, "admin", "A", 2), 0);
        assert_int_equal(authd_lock_fail(a, "admin", "A", &until), 1); /* 2 + 2 + 1: counted throughout */
        assert_true(authd_lock_active(a, "admin", NULL));
        /* another flood: each new made-up name still locks, evicting the oldest made-up record */
        for (int i = 0; i < AUTHD_UNKNOWN_LOCKS_MAX + 10; i++) {
                snprintf(name, sizeof name, "phantom%05d", i);
                assert_int_equal(fail_n(a, name, "A", 5), 1);
                assert_true(authd_lock_active(a, name, NULL));
                clock_ms++;
        }
        assert_false(authd_lock_active(a, "ghost00000", NULL)); /* evicted */
        assert_true(authd_lock_active(a, "admin", NULL));
        assert_int_equal(a->n_locks, AUTHD_UNKNOWN_LOCKS_MAX + 1);
        /* a made-up name becomes an account: its record is no longer evictable */
        u = authd_user_add(a, "phantom04105", "viewer");
        assert_non_null(u);
        u->hash = strdup("$argon2id$x");
        for (int i = 0; i < AUTHD_UNKNOWN_LOCKS_MAX; i++) {
                snprintf(name, sizeof name, "spectre%05d", i);
                fail_n(a, name, "A", 1);
                clock_ms++;
        }
        assert_true(authd_lock_active(a, "phantom04105", NULL));
        assert_true(authd_lock_active(a, "admin", NULL));
}

/* Idle made-up records go before locked ones. */
static void t_unknown_evicts_idle_first(void **state)
{
        struct authd_ctx *a = *state;
        char name[40];

        assert_int_equal(fail_n(a, "locked1", "A", 5), 1);
        for (int i = 1; i < AUTHD_UNKNOWN_LOCKS_MAX; i++) {
                snprintf(name, sizeof name, "idle%05d", i);
                clock_ms++;
                fail_n(a, name, "A", 1);
        }
        clock_ms++;
        fail_n(a, "newcomer", "A", 1);
        assert_true(authd_lock_active(a, "locked1", NULL)); /* oldest, but holds a lock */
        assert_null(authd_lock_find(a, "idle00001"));       /* the oldest idle one went */
        assert_non_null(authd_lock_find(a, "newcomer"));
}

static void t_rate_bucket(void **state)
{
        struct authd_ctx *a = *state;
        int64_t retry = 0;

        a->ratecfg = (struct authd_ratecfg){ .rate = 2, .burst = 3 };
        for (int i = 0; i < 3; i++)
                assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", &retry), -EBUSY);
        assert_int_equal(retry, 500); /* 2 tokens per second */
        assert_int_equal(authd_rate_take(a, "s:10.0.0.2", NULL), 0); /* another source */
        clock_ms += 499;
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", &retry), -EBUSY);
        assert_int_equal(retry, 1);
        clock_ms += 1;
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), -EBUSY);
        authd_rate_refund(a, "s:10.0.0.1"); /* a success gives its token back */
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), 0);
        clock_ms += 3600 * 1000LL; /* refills to the burst, never beyond */
        for (int i = 0; i < 3; i++)
                assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:10.0.0.1", NULL), -EBUSY);
}

/* A full bucket table forgets refilled buckets first, so churning through
 * many keys does not give an exhausted source a fresh burst. */
static void t_rate_table_full(void **state)
{
        struct authd_ctx *a = *state;
        char key[40];

        a->ratecfg = (struct authd_ratecfg){ .rate = 1, .burst = 2 };
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), -EBUSY);
        clock_ms += 5000; /* every other bucket below will be older than this one's refill */
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), 0);
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), 0);
        for (int i = 0; i < AUTHD_RATE_BUCKETS + 100; i++) {
                snprintf(key, sizeof key, "n:user%05d", i);
                assert_int_equal(authd_rate_take(a, key, NULL), 0);
        }
        assert_int_equal(a->n_buckets, AUTHD_RATE_BUCKETS);
        assert_int_equal(authd_rate_take(a, "s:hot", NULL), -EBUSY); /* still exhausted */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(t_five_failures_lock_for_30_min, setup, teardown),
                cmocka_unit_test_setup_teardown(t_lock_doubles_and_caps, setup, teardown),
                cmocka_unit_test_setup_teardown(t_per_source, setup, teardown),
                cmocka_unit_test_setup_teardown(t_success_resets, setup, teardown),
                cmocka_unit_test_setup_teardown(t_total_cap_needs_admin, setup, teardown),
                cmocka_unit_test_setup_teardown(t_cap_spares_last_admin, setup, teardown),
                cmocka_unit_test_setup_teardown(t_unknown_names_lock_too, setup, teardown),
                cmocka_unit_test_setup_teardown(t_survives_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(t_unknown_flood_spares_accounts, setup, teardown),
                cmocka_unit_test_setup_teardown(t_unknown_evicts_idle_first, setup, teardown),
                cmocka_unit_test_setup_teardown(t_rate_bucket, setup, teardown),
                cmocka_unit_test_setup_teardown(t_rate_table_full, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
