/* test_store.c - Argon2id cost and upgrade, the account store round trip, no plaintext at rest */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "authd.h"

static int64_t clock_ms = 1700000000000LL;
static int64_t fake_now(void) { return clock_ms; }
static const struct authd_cost fast = { 1, 8192 };

static int64_t def_int(const char *key)
{
        const struct ds_field *f = ds_field_find(authd_settings, key);

        assert_non_null(f);
        return f->def_int;
}

static double ms_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_d(const void *x, const void *y)
{
        double a = *(const double *)x, b = *(const double *)y;
        return a < b ? -1 : a > b;
}

/* The shipped default cost: Argon2id, t=3, 64 MiB, one verification in the
 * 50-150 ms band on the reference machine (lower bound asserted; a loaded CI
 * host may be slower, so the upper bound is generous). */
static void t_default_cost(void **state)
{
        struct authd_cost cost = { (uint64_t)def_int("hash_opslimit"), (size_t)def_int("hash_memlimit_kib") * 1024 };
        double ms[5];
        char *h;

        (void)state;
        assert_int_equal(cost.opslimit, 3);
        assert_int_equal(cost.memlimit, 64u << 20);
        h = authd_hash("Zx9#mQ2$vL", &cost);
        assert_non_null(h);
        assert_int_equal(strncmp(h, "$argon2id$v=19$m=65536,t=3,p=1$", 31), 0);
        for (int i = 0; i < 5; i++) {
                struct timespec t0;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                assert_true(authd_hash_verify(h, "Zx9#mQ2$vL"));
                ms[i] = ms_since(&t0);
        }
        qsort(ms, 5, sizeof ms[0], cmp_d);
        print_message("default Argon2id verification: median %.1f ms\n", ms[2]);
        assert_true(ms[2] >= 50.0);
        assert_true(ms[2] <= 1000.0); /* generous: CI hosts are shared */
        free(h);
}

static void t_salted_and_upgradable(void **state)
{
        struct authd_cost strong = { 2, 16384 };
        char *h1 = authd_hash("Zx9#mQ2$vL", &fast), *h2 = authd_hash("Zx9#mQ2$vL", &fast);

        (void)state;
        assert_string_not_equal(h1, h2); /* per-hash salt */
        assert_true(authd_hash_verify(h1, "Zx9#mQ2$vL"));
        assert_false(authd_hash_verify(h1, "Zx9#mQ2$vl"));
        assert_false(authd_hash_verify(NULL, "x"));
        assert_false(authd_hash_needs_rehash(h1, &fast));
        assert_true(authd_hash_needs_rehash(h1, &strong)); /* parameters live in the hash */
        free(h1);
        free(h2);
}

static void t_store_roundtrip_without_plaintext(void **state)
{
        struct authd_ctx a = { .now = fake_now }, b = { .now = fake_now };
        const char *pw = "Zx9#mQ2$vL", *pw2 = "Vw7#kP4!nR";
        struct authd_user *u;
        msgpack_unpacked m;
        struct ds_err e;
        const char *why;
        struct mpw w;

        (void)state;
        authd_store_init(&a);
        a.initialised = true;
        a.policy.history = 5;
        snprintf(a.reserved_email, sizeof a.reserved_email, "ops@example.com");
        u = authd_user_add(&a, "admin", "admin");
        u->hash = authd_hash(pw, &fast);
        authd_user_set_hash(&a, u, authd_hash(pw2, &fast));
        assert_int_equal(u->n_history, 1);
        u = authd_user_add(&a, "bob", "viewer");
        u->hash = authd_hash(pw2, &fast);
        snprintf(u->mac, sizeof u->mac, "aa:bb:cc:dd:ee:ff");
        mpw_init(&w);
        authd_store_write(&a, &w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_null(memmem(mpw_data(&w), mpw_len(&w), pw, strlen(pw)));
        assert_null(memmem(mpw_data(&w), mpw_len(&w), pw2, strlen(pw2)));
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &m, &why), 0);
        ds_err_clear(&e);
        assert_int_equal(authd_store_read(&b, &m.data, &e), 0);
        assert_true(b.initialised);
        assert_string_equal(b.reserved_email, "ops@example.com");
        assert_int_equal(b.n_users, 2);
        assert_true(authd_hash_verify(authd_user_find(&b, "admin")->hash, pw2));
        assert_true(authd_hash_verify(authd_user_find(&b, "admin")->history[0], pw));
        assert_string_equal(authd_user_find(&b, "bob")->mac, "aa:bb:cc:dd:ee:ff");
        assert_int_equal(authd_user_authz(&b, authd_user_find(&b, "bob")),
                         ds_authz_bit("monitor", 7) | ds_authz_bit("playback", 8));
        assert_int_equal(authd_admins_left(&b, NULL), 1);
        assert_int_equal(authd_admins_left(&b, authd_user_find(&b, "admin")), 0);
        msgpack_unpacked_destroy(&m);
        mpw_free(&w);
        authd_store_clear(&a);
        authd_store_clear(&b);
}

static void t_store_refuses_garbage(void **state)
{
        struct authd_ctx a = { .now = fake_now };
        msgpack_unpacked m;
        struct ds_err e;
        const char *why;
        struct mpw w;

        (void)state;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", 1);
        mpw_str(&w, "groups");
        mpw_arr_begin(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", "admin");
        mpw_map_end(&w);
        mpw_arr_end(&w);
        mpw_str(&w, "users");
        mpw_arr_begin(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", "x");
        mpw_kv_str(&w, "group", "admin");
        mpw_kv_str(&w, "hash", "plaintext!");
        mpw_map_end(&w);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &m, &why), 0);
        ds_err_clear(&e);
        assert_int_equal(authd_store_read(&a, &m.data, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "Argon2id"));
        msgpack_unpacked_destroy(&m);
        mpw_free(&w);
        authd_store_clear(&a);
}

static void t_method_table(void **state)
{
        struct ds_err e;

        (void)state;
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(authd_methods, &e), 0);
        assert_int_equal(ds_schema_selftest(authd_settings, &e), 0);
        /* the only unauthenticated methods */
        for (const struct ds_method *m = authd_methods; m->name; m++)
                if (!strcmp(m->auth, AUTH_PUBLIC))
                        assert_true(!strcmp(m->name, "auth.init") || !strcmp(m->name, "auth.status") ||
                                    !strcmp(m->name, "session.login") || !strncmp(m->name, "reset.", 6));
        assert_string_equal(ds_methods_find((const struct ds_method *const[]){ authd_methods, NULL },
                                            "session.check", 13)->auth, AUTH_SERVICE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_default_cost),
                cmocka_unit_test(t_salted_and_upgradable),
                cmocka_unit_test(t_store_roundtrip_without_plaintext),
                cmocka_unit_test(t_store_refuses_garbage),
                cmocka_unit_test(t_method_table),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
