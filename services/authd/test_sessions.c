/* test_sessions.c - tokens, idle and absolute expiry, concurrency limits, revocation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <cmocka.h>

#include "test_clock.h"

static int setup(void **state)
{
        struct authd_ctx *a = test_ctx_new();

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

/* sessions.mp round trip: token hashes only; what expired, whose account is
 * gone or disabled, or malformed is dropped; the token still checks after. */
static void t_persist(void **state)
{
        struct authd_ctx *a = *state;
        char tb[64], tc[64], tg[64], tx[64];
        msgpack_unpacked u;
        const char *why;
        size_t dropped = 99;
        struct mpw w;

        authd_store_init(a);
        authd_user_add(a, "bob", "viewer")->enabled = true;
        authd_user_add(a, "carol", "viewer")->enabled = true;
        authd_user_add(a, "gone", "viewer")->enabled = true;
        open1(a, "bob", tb, 0);
        open1(a, "carol", tc, 0);
        open1(a, "gone", tg, 0);
        clock_ms += 600 * 1000LL;
        assert_non_null(authd_session_check(a, tb)); /* bob active, carol idle for 600 s */
        mpw_init(&w);
        authd_session_write(a, &w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_null(memmem(mpw_data(&w), mpw_len(&w), tb, strlen(tb))); /* never a token */
        assert_null(memmem(mpw_data(&w), mpw_len(&w), tc, strlen(tc)));

        /* a restart 400 s later: carol idled out meanwhile, gone was removed */
        zhash_destroy(&a->sessions);
        a->sessions = zhash_new();
        authd_user_remove(a, authd_user_find(a, "gone"));
        clock_ms += 400 * 1000LL;
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(authd_session_read(a, &u.data, &dropped), 1);
        msgpack_unpacked_destroy(&u);
        assert_int_equal(dropped, 2);
        assert_non_null(authd_session_check(a, tb));
        assert_null(authd_session_check(a, tc));
        assert_null(authd_session_check(a, tg));
        (void)tx;

        /* a disabled account's sessions do not come back either; junk is refused */
        authd_user_find(a, "bob")->enabled = false;
        zhash_destroy(&a->sessions);
        a->sessions = zhash_new();
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(authd_session_read(a, &u.data, &dropped), 0);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 2);
        mpw_map_end(&w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(authd_session_read(a, &u.data, NULL), -EINVAL);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        authd_store_clear(a);
}

/* auth.online-users judges the sessions themselves: one the device should
 * no longer honour (idle past the limit before a sweep, a disabled account's)
 * fails the item, naming it. */
static void t_audit_online_users(void **state)
{
        struct authd_ctx *a = *state;
        struct authd_user bob = { .name = "bob", .group = "operator", .enabled = true };
        const struct ds_audit_item *it = authd_audit;
        char tok[64], detail[256];

        a->users = &bob;
        a->n_users = 1;
        while (it->id && strcmp(it->id, "auth.online-users"))
                it++;
        assert_non_null(it->id);
        open1(a, "bob", tok, 0);
        assert_int_equal(it->check(a, detail, sizeof detail), DS_AUDIT_PASS);
        assert_non_null(strstr(detail, "1 session(s)"));
        clock_ms += a->idle_ms + 1000; /* idle past the limit, not swept yet */
        assert_int_equal(it->check(a, detail, sizeof detail), DS_AUDIT_FAIL);
        assert_non_null(strstr(detail, "idle limit"));
        authd_session_sweep(a);
        assert_int_equal(it->check(a, detail, sizeof detail), DS_AUDIT_PASS);
        open1(a, "bob", tok, 0);
        bob.enabled = false;
        assert_int_equal(it->check(a, detail, sizeof detail), DS_AUDIT_FAIL);
        assert_non_null(strstr(detail, "disabled account"));
        a->users = NULL;
        a->n_users = 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(t_token_is_random_and_only_hashed, setup, teardown),
                cmocka_unit_test_setup_teardown(t_idle_and_lifetime, setup, teardown),
                cmocka_unit_test_setup_teardown(t_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(t_revoke_user_except, setup, teardown),
                cmocka_unit_test_setup_teardown(t_sweep, setup, teardown),
                cmocka_unit_test_setup_teardown(t_persist, setup, teardown),
                cmocka_unit_test_setup_teardown(t_audit_online_users, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
