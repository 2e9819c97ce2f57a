/* test_methods.c - handlers run as the dispatcher runs them (authority, schema,
 * handler) on crafted msgpack, with the injected clock: first boot, login and
 * lockout timing, uniform answers, expired passwords, session checks, last admin */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test_clock.h"
#include "util.h"

static const char *ADMIN_PW = "Zx9#mQ2$vL";
static char setup_code[32]; /* the device's one-time code, made by setup() */

struct res {
        int code;
        struct ds_err err;
        struct mpw w;
        msgpack_unpacked u;
        const msgpack_object *r;
};

static void res_free(struct res *x)
{
        if (x->r)
                msgpack_unpacked_destroy(&x->u);
        mpw_free(&x->w);
        memset(x, 0, sizeof *x);
}

/* Calls method with args (an encoded map, NULL: none) as user (NULL: a daemon). */
static int call(struct authd_ctx *a, struct res *x, const char *method, const struct mpw *args, const char *user,
                uint32_t authz, const char *sid)
{
        static const struct ds_method *const tables[] = { authd_methods, NULL };
        const struct ds_method *m = ds_methods_find(tables, method, strlen(method));
        struct ds_call c = { .ctx = a, .m = m };
        msgpack_unpacked au;
        const char *why;
        bool have_args = false;

        assert_non_null(m);
        memset(x, 0, sizeof *x);
        mpw_init(&x->w);
        mpw_map_begin(&x->w);
        c.r = &x->w;
        if (user) {
                snprintf(c.caller.id, sizeof c.caller.id, "devctl");
                snprintf(c.caller.user, sizeof c.caller.user, "%s", user);
                snprintf(c.caller.sid, sizeof c.caller.sid, "%s", sid ? sid : "");
                c.caller.authz = authz;
        } else {
                snprintf(c.caller.id, sizeof c.caller.id, "busd");
                c.caller.svc = true;
                c.caller.gateway = true; /* stands in for a front end: source= is believed */
        }
        if (!ds_caller_allowed(&c.caller, m->auth)) {
                x->code = -EPERM;
                return x->code;
        }
        if (args) {
                assert_int_equal(mp_decode(mpw_data(args), mpw_len(args), NULL, &au, &why), 0);
                have_args = true;
                c.args = &au.data;
        }
        x->code = ds_call_bind(&c, c.args);
        if (x->code == 0 && (m->flags & DS_M_READY)) /* as the dispatcher does */
                x->code = authd_ready(a, &c);
        if (x->code == 0)
                x->code = m->fn(a, &c);
        x->err = c.err;
        if (have_args)
                msgpack_unpacked_destroy(&au);
        if (x->code == 0) {
                mpw_map_end(&x->w);
                assert_int_equal(mp_decode(mpw_data(&x->w), mpw_len(&x->w), NULL, &x->u, &why), 0);
                x->r = &x->u.data;
        }
        return x->code;
}

static const char *rstr(const struct res *x, const char *k, char *buf, size_t size)
{
        buf[0] = '\0';
        mp_strcpy(mp_get(x->r, k), buf, size);
        return buf;
}

/* args from "k=v" strings (all strings) */
static struct mpw *args(struct mpw *w, ...)
{
        va_list ap;
        const char *kv;

        mpw_init(w);
        mpw_map_begin(w);
        va_start(ap, w);
        while ((kv = va_arg(ap, const char *))) {
                const char *eq = strchr(kv, '=');
                mpw_strn(w, kv, (size_t)(eq - kv));
                mpw_str(w, eq + 1);
        }
        va_end(ap);
        mpw_map_end(w);
        return w;
}

static int setup(void **state)
{
        struct authd_ctx *a = test_ctx_new();

        a->sessions = zhash_new();
        a->pwq = authd_dict_new();
        a->cost = (struct authd_cost){ 1, 8192 };
        a->dummy_hash = authd_hash("dummy", &a->cost);
        authd_policy_from("vendor", 0, 0, 0, 0, &a->policy);
        a->lockcfg = (struct authd_lockcfg){ 5, 30 * MINUTE, DAY, 100 };
        a->idle_ms = 15 * MINUTE;
        a->lifetime_ms = 12 * 60 * MINUTE;
        a->max_sessions = 32;
        a->max_per_user = 8;
        a->password_reset = true;
        a->reset_ttl_ms = 15 * MINUTE;
        snprintf(a->front_ends[a->n_front_ends++], sizeof a->front_ends[0], "busd"); /* vouches for source= */
        authd_store_init(a);
        assert_int_equal(authd_setup_code_new(a, setup_code, sizeof setup_code), 0);
        *state = a;
        return 0;
}

static int teardown(void **state)
{
        struct authd_ctx *a = *state;

        zhash_destroy(&a->sessions);
        zhash_destroy(&a->pending);
        authd_store_clear(a);
        free(a->locks);
        free(a->dummy_hash);
        authd_dict_free(&a->pwq);
        free(a);
        return 0;
}

static void init_device(struct authd_ctx *a)
{
        struct res x;
        struct mpw w;
        char code[64];

        snprintf(code, sizeof code, "setup_code=%s", setup_code);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", code, NULL), NULL, 0, NULL), 0);
        res_free(&x);
        mpw_free(&w);
}

static int login(struct authd_ctx *a, const char *user, const char *pw, struct res *x)
{
        struct mpw w;
        char u[64], p[64];
        int r;

        snprintf(u, sizeof u, "user=%s", user);
        snprintf(p, sizeof p, "password=%s", pw);
        r = call(a, x, "session.login", args(&w, u, p, "source=10.0.0.9", NULL), NULL, 0, NULL);
        mpw_free(&w);
        return r;
}

static void t_first_boot(void **state)
{
        struct authd_ctx *a = *state;
        char buf[64];
        struct res x;
        struct mpw w;

        assert_int_equal(login(a, "admin", ADMIN_PW, &x), -DS_EAUTH);
        assert_string_equal(x.err.msg, AUTHD_NOT_INIT_MSG);
        res_free(&x);
        assert_int_equal(call(a, &x, "session.check", args(&w, "token=abc", NULL), NULL, 0, NULL), -DS_EAUTH);
        assert_string_equal(x.err.msg, AUTHD_NOT_INIT_MSG); /* so every service's callers see it */
        res_free(&x);
        mpw_free(&w);
        snprintf(buf, sizeof buf, "setup_code=%s", setup_code);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=admin", buf, NULL), NULL, 0, NULL), -EINVAL);
        assert_string_equal(x.err.field, "password");
        assert_non_null(strstr(x.err.msg, "rule '"));
        res_free(&x);
        mpw_free(&w);
        init_device(a);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Qm4!zT7#kW", NULL), NULL, 0, NULL), -EEXIST);
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), 0);
        res_free(&x);
}

/* auth.init needs the device's one-time setup code: without it, or with a
 * wrong one, nobody on the network takes a fresh device; it works once. */
static void t_setup_code(void **state)
{
        struct authd_ctx *a = *state;
        char code[64], old[64], lower[40];
        struct res x;
        struct mpw w;

        assert_int_equal(strlen(setup_code), 19); /* XXXX-XXXX-XXXX-XXXX */
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", NULL), NULL, 0, NULL), -DS_EAUTH);
        assert_string_equal(x.err.field, "setup_code");
        assert_false(a->initialised);
        res_free(&x);
        mpw_free(&w);
        snprintf(code, sizeof code, "setup_code=%.18s%c", setup_code, setup_code[18] == 'Z' ? 'Y' : 'Z');
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", code, NULL), NULL, 0, NULL),
                         -DS_EAUTH);
        assert_string_equal(x.err.field, "setup_code");
        assert_null(strstr(x.err.msg, setup_code));
        assert_int_equal(a->setup_failures, 1); /* counted */
        assert_false(a->initialised);
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", "setup_code=", NULL), NULL, 0, NULL),
                         -DS_EAUTH);
        res_free(&x);
        mpw_free(&w);
        /* typed from a label: lower case, without dashes */
        for (size_t i = 0, n = 0; setup_code[i] && n + 1 < sizeof lower; i++)
                if (setup_code[i] != '-')
                        lower[n++] = (char)tolower((unsigned char)setup_code[i]), lower[n] = '\0';
        snprintf(code, sizeof code, "setup_code=%s", lower);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", code, NULL), NULL, 0, NULL), 0);
        assert_true(a->initialised);
        assert_string_equal(a->setup_hash, ""); /* used: forgotten */
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Qm4!zT7#kW", code, NULL), NULL, 0, NULL), -EEXIST);
        res_free(&x);
        mpw_free(&w);
        /* a factory reset makes a new code; the old one is refused */
        snprintf(old, sizeof old, "%s", code);
        authd_store_init(a);
        assert_int_equal(authd_setup_code_new(a, setup_code, sizeof setup_code), 0);
        assert_int_equal(call(a, &x, "auth.init", args(&w, "password=Zx9#mQ2$vL", old, NULL), NULL, 0, NULL), -DS_EAUTH);
        res_free(&x);
        mpw_free(&w);
        init_device(a);
        assert_true(a->initialised);
}

static void t_login_lockout_timing(void **state)
{
        struct authd_ctx *a = *state;
        char buf[128], unknown_msg[384];
        struct res x;

        init_device(a);
        assert_int_equal(login(a, "ghost", "Wrong#1x", &x), -DS_EAUTH);
        snprintf(unknown_msg, sizeof unknown_msg, "%s", x.err.msg);
        res_free(&x);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(login(a, "admin", "Wrong#1x", &x), -DS_EAUTH);
                assert_string_equal(x.err.msg, unknown_msg); /* same answer as for an unknown user */
                res_free(&x);
        }
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), -DS_ELOCKED);
        res_free(&x);
        clock_ms += 30 * MINUTE - 1;
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), -DS_ELOCKED);
        res_free(&x);
        clock_ms += 1;
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), 0);
        assert_int_equal(strlen(rstr(&x, "token", buf, sizeof buf)), 43);
        assert_string_equal(rstr(&x, "group", buf, sizeof buf), "admin");
        res_free(&x);
        /* the success reset the doubling: the next lock is 30 minutes again */
        for (int i = 0; i < 5; i++) {
                login(a, "admin", "Wrong#1x", &x);
                res_free(&x);
        }
        clock_ms += 30 * MINUTE;
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), 0);
        res_free(&x);
}

static void t_password_expiry(void **state)
{
        struct authd_ctx *a = *state;
        struct res x;
        struct mpw w;
        char buf[64];

        init_device(a);
        authd_policy_from("strict", 0, 0, 0, 0, &a->policy);
        clock_ms += 89 * DAY;
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), 0);
        res_free(&x);
        clock_ms += 1 * DAY;
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), -DS_EAUTH);
        assert_string_equal(x.err.reason, "password-expired");
        res_free(&x);
        /* the change path: same password refused, a new one accepted with a session */
        assert_int_equal(call(a, &x, "session.login",
                              args(&w, "user=admin", "password=Zx9#mQ2$vL", "new_password=Zx9#mQ2$vL", NULL), NULL,
                              0, NULL),
                         -EINVAL);
        assert_string_equal(x.err.field, "new_password");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "session.login",
                              args(&w, "user=admin", "password=Wrong#1x", "new_password=Qm4!zT7#kW", NULL), NULL, 0,
                              NULL),
                         -DS_EAUTH); /* only with the current password */
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "session.login",
                              args(&w, "user=admin", "password=Zx9#mQ2$vL", "new_password=Qm4!zT7#kW", NULL), NULL,
                              0, NULL),
                         0);
        assert_string_equal(rstr(&x, "user", buf, sizeof buf), "admin");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(login(a, "admin", "Qm4!zT7#kW", &x), 0);
        res_free(&x);
        /* history: the strict profile remembers the previous password */
        assert_int_equal(call(a, &x, "user.passwd", args(&w, "name=admin", "password=Zx9#mQ2$vL", NULL), "admin",
                              ds_authz_all(), "s"),
                         -EINVAL);
        assert_non_null(strstr(x.err.msg, "rule 'history'"));
        res_free(&x);
        mpw_free(&w);
}

static void t_session_check(void **state)
{
        struct authd_ctx *a = *state;
        char tok[64], buf[64];
        struct res x;
        struct mpw w;

        init_device(a);
        assert_int_equal(login(a, "admin", ADMIN_PW, &x), 0);
        rstr(&x, "token", tok, sizeof tok);
        res_free(&x);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "token", tok);
        mpw_map_end(&w);
        assert_int_equal(call(a, &x, "session.check", &w, NULL, 0, NULL), 0);
        assert_string_equal(rstr(&x, "user", buf, sizeof buf), "admin");
        assert_string_equal(rstr(&x, "source", buf, sizeof buf), "10.0.0.9");
        assert_int_equal(mp_get(x.r, "authorities")->via.array.size, 13);
        res_free(&x);
        assert_int_equal(call(a, &x, "session.check", &w, "admin", ds_authz_all(), "s"), -EPERM); /* daemons only */
        res_free(&x);
        clock_ms += 15 * MINUTE;
        assert_int_equal(call(a, &x, "session.check", &w, NULL, 0, NULL), -DS_EAUTH);
        assert_string_equal(x.err.msg, "session expired or unknown");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "session.check", args(&w, "token=forged", NULL), NULL, 0, NULL), -DS_EAUTH);
        assert_string_equal(x.err.msg, "session expired or unknown");
        res_free(&x);
        mpw_free(&w);
}

static void t_last_admin_and_schema(void **state)
{
        struct authd_ctx *a = *state;
        uint32_t all = ds_authz_all(), viewer = ds_authz_bit("monitor", 7);
        struct res x;
        struct mpw w;

        init_device(a);
        assert_int_equal(call(a, &x, "user.del", args(&w, "name=admin", NULL), "admin", all, "s"), -EPERM);
        assert_string_equal(x.err.field, "name");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.set", args(&w, "name=admin", "group=viewer", NULL), "admin", all, "s"),
                         -EPERM);
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.lock", args(&w, "name=admin", NULL), "admin", all, "s"), -EPERM);
        res_free(&x);
        mpw_free(&w);
        /* a viewer lacks the account authority */
        assert_int_equal(call(a, &x, "user.list", NULL, "bob", viewer, "s"), -EPERM);
        res_free(&x);
        /* schema: missing, malformed, unknown, oversized, mistyped: each names its field */
        assert_int_equal(call(a, &x, "user.add", args(&w, "name=bob", "password=Qm4!zT7#kW", NULL), "admin", all, "s"),
                         -EINVAL);
        assert_string_equal(x.err.field, "group");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.add", args(&w, "name=b b", "group=viewer", "password=Qm4!zT7#kW", NULL),
                              "admin", all, "s"),
                         -EINVAL);
        assert_string_equal(x.err.field, "name");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.add",
                              args(&w, "name=anonymous", "group=viewer", "password=Qm4!zT7#kW", NULL), "admin", all,
                              "s"),
                         -EINVAL);
        assert_string_equal(x.err.field, "name");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.add",
                              args(&w, "name=bob", "group=viewer", "password=Qm4!zT7#kW", "bogus=1", NULL), "admin",
                              all, "s"),
                         -EINVAL);
        assert_string_equal(x.err.field, "bogus");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.add",
                              args(&w, "name=bob", "group=viewer", "password=Qm4!zT7#kW", "not_after=yesterday", NULL),
                              "admin", all, "s"),
                         -EINVAL);
        assert_string_equal(x.err.field, "not_after");
        assert_null(authd_user_find(a, "bob")); /* nothing half-added */
        res_free(&x);
        mpw_free(&w);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", "bob");
        mpw_kv_int(&w, "group", 5);
        mpw_map_end(&w);
        assert_int_equal(call(a, &x, "user.set", &w, "admin", all, "s"), -EINVAL);
        assert_string_equal(x.err.field, "group");
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(call(a, &x, "user.add",
                              args(&w, "name=bob", "group=viewer", "password=Qm4!zT7#kW", "not_before=2030-01-01T00:00:00Z",
                                   NULL),
                              "admin", all, "s"),
                         0);
        res_free(&x);
        mpw_free(&w);
        assert_int_equal(login(a, "bob", "Qm4!zT7#kW", &x), -DS_EAUTH); /* not yet valid */
        assert_non_null(strstr(x.err.msg, "not valid"));
        res_free(&x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(t_first_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(t_setup_code, setup, teardown),
                cmocka_unit_test_setup_teardown(t_login_lockout_timing, setup, teardown),
                cmocka_unit_test_setup_teardown(t_password_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(t_session_check, setup, teardown),
                cmocka_unit_test_setup_teardown(t_last_admin_and_schema, setup, teardown),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
