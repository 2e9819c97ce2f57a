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
        authd_store_write(&a, &(struct ds_export){ .w = &w, .secrets = true }); /* authd's own file */
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

/* A live store: admin (with history and a security answer), bob, an ONVIF user. */
static void live_store(struct authd_ctx *a)
{
        struct authd_user *u;

        authd_store_init(a);
        a->initialised = true;
        a->policy.history = 5;
        u = authd_user_add(a, "admin", "admin");
        u->hash = authd_hash("Zx9#mQ2$vL", &fast);
        authd_user_set_hash(a, u, authd_hash("Vw7#kP4!nR", &fast));
        u->question[0] = strdup("first pet?");
        u->answer_hash[0] = authd_hash("rex", &fast);
        u->n_questions = 1;
        u = authd_user_add(a, "bob", "viewer");
        u->hash = authd_hash("Hq5%tN8=wY", &fast);
        a->onvif = calloc(1, sizeof *a->onvif);
        snprintf(a->onvif[0].name, sizeof a->onvif[0].name, "cam1");
        snprintf(a->onvif[0].level, sizeof a->onvif[0].level, "Operator");
        a->onvif[0].hash = authd_hash("Rb8*hN3!cV", &fast);
        a->n_onvif = 1;
}

static void t_export_has_no_secrets(void **state)
{
        struct authd_ctx a = { .now = fake_now };
        struct mpw w;

        (void)state;
        live_store(&a);
        mpw_init(&w);
        authd_store_write(&a, &(struct ds_export){ .w = &w, .secrets = false });
        assert_int_equal(mpw_finish(&w), 0);
        assert_null(memmem(mpw_data(&w), mpw_len(&w), "$argon2", 7));
        assert_null(memmem(mpw_data(&w), mpw_len(&w), "history", 7));
        assert_non_null(memmem(mpw_data(&w), mpw_len(&w), "first pet?", 10)); /* the question is no secret */
        mpw_free(&w);
        mpw_init(&w);
        authd_store_write(&a, &(struct ds_export){ .w = &w, .secrets = true });
        assert_non_null(memmem(mpw_data(&w), mpw_len(&w), "$argon2id$", 10));
        mpw_free(&w);
        authd_store_clear(&a);
}

/* The state of `a` as a plain export, with one change: what = "users" etc. */
enum mut { M_NONE, M_DEMOTE_ADMIN, M_ADMIN_RIGHTS, M_NEW_USER, M_HASH_COST, M_USERS_NOT_LIST, M_NO_VIEWER,
           M_FAKE_BUILTIN, M_ANON_NAME, M_BAD_MAC, M_NOT_INIT, M_UNKNOWN_AUTHZ, M_NEW_ONVIF };

static void state_of(struct authd_ctx *a, enum mut m, struct mpw *w)
{
        mpw_init(w);
        mpw_map_begin(w);
        mpw_kv_int(w, "v", 1);
        mpw_kv_bool(w, "initialised", m != M_NOT_INIT);
        mpw_kv_str(w, "email", "");
        mpw_str(w, "groups");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_groups; i++) {
                if (m == M_NO_VIEWER && !strcmp(a->groups[i].name, "viewer"))
                        continue;
                mpw_map_begin(w);
                mpw_kv_str(w, "name", a->groups[i].name);
                mpw_kv_bool(w, "builtin", a->groups[i].builtin);
                mpw_str(w, "authorities");
                authd_write_authorities(w, m == M_ADMIN_RIGHTS && !strcmp(a->groups[i].name, "admin")
                                                   ? ds_authz_bit("monitor", 7)
                                                   : a->groups[i].authz);
                mpw_map_end(w);
        }
        if (m == M_FAKE_BUILTIN || m == M_UNKNOWN_AUTHZ) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", "ops");
                mpw_kv_bool(w, "builtin", m == M_FAKE_BUILTIN);
                mpw_str(w, "authorities");
                mpw_arr_begin(w);
                mpw_str(w, m == M_UNKNOWN_AUTHZ ? "flying" : "monitor");
                mpw_arr_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_str(w, "users");
        if (m == M_USERS_NOT_LIST) {
                mpw_str(w, "nobody");
        } else {
                mpw_arr_begin(w);
                for (size_t i = 0; i < a->n_users; i++) {
                        const struct authd_user *u = &a->users[i];
                        mpw_map_begin(w);
                        mpw_kv_str(w, "name", u->name);
                        mpw_kv_str(w, "group", m == M_DEMOTE_ADMIN && !strcmp(u->name, "admin") ? "viewer" : u->group);
                        mpw_kv_bool(w, "enabled", u->enabled);
                        mpw_kv_str(w, "mac", m == M_BAD_MAC && !strcmp(u->name, "bob") ? "zz" : "");
                        mpw_kv_int(w, "pw_changed", u->pw_changed_ms);
                        mpw_str(w, "questions");
                        mpw_arr_begin(w);
                        for (int j = 0; j < u->n_questions; j++) {
                                mpw_map_begin(w);
                                mpw_kv_str(w, "q", u->question[j]);
                                mpw_map_end(w);
                        }
                        mpw_arr_end(w);
                        mpw_map_end(w);
                }
                if (m == M_NEW_USER || m == M_HASH_COST || m == M_ANON_NAME) {
                        mpw_map_begin(w);
                        mpw_kv_str(w, "name", m == M_ANON_NAME ? "anonymous" : "carol");
                        mpw_kv_str(w, "group", "viewer");
                        if (m == M_HASH_COST)
                                mpw_kv_str(w, "hash", "$argon2id$v=19$m=4194304,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo");
                        if (m == M_ANON_NAME) {
                                char *h = authd_hash("Lp3@rX6^bT", &fast);
                                mpw_kv_str(w, "hash", h);
                                free(h);
                        }
                        mpw_map_end(w);
                }
                mpw_arr_end(w);
        }
        mpw_str(w, "onvif");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_onvif; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", a->onvif[i].name);
                mpw_kv_str(w, "level", a->onvif[i].level);
                mpw_map_end(w);
        }
        if (m == M_NEW_ONVIF) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", "cam2");
                mpw_kv_str(w, "level", "User");
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
}

/* check: authd_store_check(), a two-phase import's prepare */
static int import_or_check(struct authd_ctx *a, enum mut m, bool check, struct ds_err *e)
{
        msgpack_unpacked u;
        const char *why;
        struct mpw w;
        int r;

        state_of(a, m, &w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        ds_err_clear(e);
        r = check ? authd_store_check(a, &u.data, e) : authd_store_import(a, &u.data, e);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        return r;
}

static int import(struct authd_ctx *a, enum mut m, struct ds_err *e)
{
        return import_or_check(a, m, false, e);
}

/* An export without hashes imports back: every account keeps its hash,
 * history, security answer and password age, matched by name. */
static void t_import_keeps_hashes(void **state)
{
        struct authd_ctx a = { .now = fake_now };
        struct authd_user *u;
        int64_t changed;
        struct ds_err e;

        (void)state;
        live_store(&a);
        changed = authd_user_find(&a, "admin")->pw_changed_ms;
        clock_ms += 1000;
        assert_int_equal(import(&a, M_NONE, &e), 0);
        u = authd_user_find(&a, "admin");
        assert_non_null(u);
        assert_true(authd_hash_verify(u->hash, "Vw7#kP4!nR"));
        assert_int_equal(u->n_history, 1);
        assert_true(authd_hash_verify(u->history[0], "Zx9#mQ2$vL"));
        assert_int_equal(u->n_questions, 1);
        assert_true(authd_hash_verify(u->answer_hash[0], "rex"));
        assert_int_equal(u->pw_changed_ms, changed);
        assert_true(authd_hash_verify(authd_user_find(&a, "bob")->hash, "Hq5%tN8=wY"));
        assert_true(authd_hash_verify(authd_onvif_find(&a, "cam1")->hash, "Rb8*hN3!cV"));
        assert_int_equal(authd_admins_left(&a, NULL), 1);
        authd_store_clear(&a);
}

/* What the live methods refuse, an import (and its check alone) refuses,
 * naming the field, and the store stays as it was. */
static void t_import_runs_the_live_checks(void **state)
{
        static const struct {
                enum mut m;
                const char *field, *msg;
        } cases[] = {
                { M_DEMOTE_ADMIN, "state.users", "no enabled administrator" },
                { M_ADMIN_RIGHTS, "state.groups[0].authorities", "every authority" },
                { M_NEW_USER, "state.users[2].hash", "'carol' is new" },
                { M_HASH_COST, "state.users[2].hash", "out of bounds" },
                { M_USERS_NOT_LIST, "state.users", "must be a list" },
                { M_NO_VIEWER, "state.groups", "'viewer' is missing" },
                { M_FAKE_BUILTIN, "state.groups[3].builtin", "built-in" },
                { M_UNKNOWN_AUTHZ, "state.groups[3].authorities[0]", "unknown authority" },
                { M_ANON_NAME, "state.users[2].name", "reserved" },
                { M_BAD_MAC, "state.users[1].mac", "" },
                { M_NOT_INIT, "state.initialised", "config.reset" },
                { M_NEW_ONVIF, "state.onvif[1].hash", "'cam2' is new" },
        };
        struct authd_ctx a = { .now = fake_now };
        const char *h0;
        struct ds_err e;

        (void)state;
        live_store(&a);
        h0 = authd_user_find(&a, "admin")->hash;
        /* a check that passes changes nothing either */
        assert_int_equal(import_or_check(&a, M_NONE, true, &e), 0);
        assert_ptr_equal(authd_user_find(&a, "admin")->hash, h0);
        for (size_t i = 0; i < 2 * sizeof cases / sizeof cases[0]; i++) {
                size_t k = i % (sizeof cases / sizeof cases[0]);
                bool check = i >= sizeof cases / sizeof cases[0];

                print_message("case %zu%s: %s\n", k, check ? " (check)" : "", cases[k].field);
                assert_int_equal(import_or_check(&a, cases[k].m, check, &e), -EINVAL);
                assert_string_equal(e.field, cases[k].field);
                assert_non_null(strstr(e.msg, cases[k].msg));
                assert_null(strstr(e.msg, "$argon2")); /* no hash in an answer */
                /* untouched: same objects, same accounts */
                assert_int_equal(a.n_users, 2);
                assert_int_equal(a.n_groups, 3);
                assert_ptr_equal(authd_user_find(&a, "admin")->hash, h0);
                assert_string_equal(authd_user_find(&a, "admin")->group, "admin");
                assert_int_equal(authd_group_find(&a, "admin")->authz, ds_authz_all());
                assert_true(a.initialised);
        }
        authd_store_clear(&a);
}

static void t_method_table(void **state)
{
        struct ds_err e;

        (void)state;
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(authd_methods, &e), 0);
        assert_int_equal(ds_schema_selftest(authd_settings, &e), 0);
        /* the only unauthenticated methods (policy.precheck stores and hashes nothing, and
         * answers only before the device is initialised) */
        for (const struct ds_method *m = authd_methods; m->name; m++)
                if (!strcmp(m->auth, AUTH_PUBLIC))
                        assert_true(!strcmp(m->name, "auth.init") || !strcmp(m->name, "auth.status") ||
                                    !strcmp(m->name, "session.login") || !strncmp(m->name, "reset.", 6) ||
                                    !strcmp(m->name, "policy.precheck"));
        assert_string_equal(ds_methods_find((const struct ds_method *const[]){ authd_methods, NULL },
                                            "session.check", 13)->auth, AUTH_SERVICE);
}

/* Groups and ONVIF users are added and removed by the store's operations:
 * the others stay where a find sees them, a removed ONVIF user's hash is freed
 * (ASan) and the built-in groups come back with a new store. */
static void t_store_operations(void **state)
{
        struct authd_ctx a = { .now = fake_now };
        struct authd_group g = { .authz = ds_authz_bit(DS_AUTHZ_MONITOR, strlen(DS_AUTHZ_MONITOR)) };
        struct authd_onvif v = { 0 };

        (void)state;
        authd_store_init(&a);
        assert_int_equal(a.n_groups, 3);
        for (size_t i = 0; authd_builtin_group(i); i++)
                assert_non_null(authd_group_find(&a, authd_builtin_group(i)));
        assert_null(authd_builtin_group(3));
        snprintf(g.name, sizeof g.name, "night");
        assert_non_null(authd_group_add(&a, &g));
        snprintf(g.name, sizeof g.name, "day");
        assert_non_null(authd_group_add(&a, &g));
        authd_group_remove(&a, authd_group_find(&a, "night"));
        assert_null(authd_group_find(&a, "night"));
        assert_int_equal(a.n_groups, 4);
        assert_int_equal(authd_group_find(&a, "day")->authz, g.authz);
        assert_non_null(authd_group_find(&a, "viewer"));
        for (int i = 0; i < 3; i++) {
                snprintf(v.name, sizeof v.name, "cam%d", i);
                snprintf(v.level, sizeof v.level, "User");
                v.hash = authd_hash("Zx9#mQ2$vL", &fast);
                assert_non_null(v.hash);
                assert_non_null(authd_onvif_add(&a, &v));
        }
        authd_onvif_remove(&a, authd_onvif_find(&a, "cam1"));
        assert_int_equal(a.n_onvif, 2);
        assert_null(authd_onvif_find(&a, "cam1"));
        assert_true(authd_hash_verify(authd_onvif_find(&a, "cam2")->hash, "Zx9#mQ2$vL"));
        assert_non_null(authd_onvif_find(&a, "cam0"));
        authd_store_clear(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_default_cost),
                cmocka_unit_test(t_salted_and_upgradable),
                cmocka_unit_test(t_store_roundtrip_without_plaintext),
                cmocka_unit_test(t_store_refuses_garbage),
                cmocka_unit_test(t_export_has_no_secrets),
                cmocka_unit_test(t_import_keeps_hashes),
                cmocka_unit_test(t_import_runs_the_live_checks),
                cmocka_unit_test(t_method_table),
                cmocka_unit_test(t_store_operations),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
