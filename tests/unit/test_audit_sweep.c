/* test_audit_sweep - the one aggregation: down fails each installed item, a
 * switched-off function makes each n/a (off), a refusal is kept, a service
 * without an audit is left out, operator items never pass, the score */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit_sweep.h"
#include "err.h"
#include "json.h"
#include "state.h"

static char dir[64];

/* msgpack of a JSON text; the writer keeps the bytes the object points into */
static const msgpack_object *J(struct mpw *w, msgpack_unpacked *u, const char *json)
{
        char err[128];
        const char *why;

        mpw_init(w);
        assert_int_equal(ds_json_to_mp(json, strlen(json), w, err, sizeof err), 0);
        assert_int_equal(mp_decode(mpw_data(w), mpw_len(w), NULL, u, &why), 0);
        return &u->data;
}

static int setup(void **st)
{
        static const char tab[] = "{\"service\":\"alpha\",\"items\":[{\"id\":\"a.one\",\"level\":1,\"title\":\"one\","
                                  "\"remediation\":\"fix one\"},{\"id\":\"a.two\",\"level\":2,\"title\":\"two\"}]}";
        (void)st;
        snprintf(dir, sizeof dir, "/tmp/ds-audit.%d", (int)getpid());
        assert_int_equal(state_mkdir_p(dir, 0700), 0);
        assert_int_equal(state_write(dir, "alpha.json", tab, sizeof tab - 1, 0644), 0);
        setenv("DEVSEC_AUDIT_DIR", dir, 1);
        return 0;
}

static int teardown(void **st)
{
        char p[128];
        (void)st;
        snprintf(p, sizeof p, "%s/alpha.json", dir);
        unlink(p);
        rmdir(dir);
        return 0;
}

/* The result as JSON text (caller frees). */
static char *result(struct ds_sweep *s, struct ds_sweep_counts *c)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        char *out;

        mpw_init(&w);
        ds_sweep_write(s, &w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        out = ds_json_dumps(&u.data);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        ds_sweep_counts(s, c);
        return out;
}

static struct ds_sweep *sweep(int level, const char *services)
{
        struct ds_sweep *s = ds_sweep_new(level);
        struct mpw w;
        msgpack_unpacked u;

        assert_non_null(s);
        ds_sweep_services(s, J(&w, &u, services));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        return s;
}

static void down_fails_each_item(void **st)
{
        struct ds_sweep *s = sweep(2, "{\"services\":[{\"name\":\"busd\",\"state\":\"running\"},"
                                      "{\"name\":\"alpha\",\"state\":\"down\"}]}");
        struct ds_sweep_counts c;
        char *t = result(s, &c);

        (void)st;
        assert_false(ds_sweep_ask(s, 0));
        assert_non_null(strstr(
                t, "\"id\":\"a.one\",\"level\":1,\"title\":\"one\",\"result\":\"fail\",\"detail\":\"not running\""));
        assert_non_null(strstr(t, "\"id\":\"a.two\",\"level\":2,\"title\":\"two\",\"result\":\"fail\""));
        assert_int_equal(c.fail, 2);
        assert_int_equal(c.pass, 0);
        assert_int_equal(c.score, 0);
        assert_int_equal(c.operator_items, 2); /* client.latest, storage.raid */
        free(t);
        ds_sweep_free(s);
}

static void function_off_is_na(void **st)
{
        struct ds_sweep *s = sweep(1, "{\"services\":[{\"name\":\"alpha\",\"state\":\"running\"}]}");
        struct ds_sweep_counts c;
        struct mpw w;
        msgpack_unpacked u;
        char *t;

        (void)st;
        ds_sweep_functions(s, J(&w, &u,
                                "{\"functions\":[{\"name\":\"al\",\"enabled\":false,\"kind\":\"daemon\","
                                "\"backend\":\"alpha\"}]}"));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        ds_sweep_report(s, 0, -DS_EDISABLED, "disabled", NULL);
        t = result(s, &c);
        assert_non_null(strstr(t, "\"id\":\"a.one\",\"level\":1,\"title\":\"one\",\"result\":\"n/a\","
                                  "\"detail\":\"off: function 'al' is switched off\""));
        assert_null(strstr(t, "a.two")); /* level 2 is not asked */
        assert_int_equal(c.na, 1);
        assert_int_equal(c.fail, 0);
        assert_int_equal(c.score, 100);
        free(t);
        ds_sweep_free(s);
}

static void report_and_refusal(void **st)
{
        struct ds_sweep *s =
                sweep(1, "{\"services\":[{\"name\":\"alpha\",\"state\":\"running\"},"
                         "{\"name\":\"beta\",\"state\":\"running\"},{\"name\":\"gamma\",\"state\":\"running\"}]}");
        struct ds_sweep_counts c;
        struct mpw w;
        msgpack_unpacked u;
        char *t;

        (void)st;
        ds_sweep_report(s, 0, 0, NULL,
                        J(&w, &u,
                          "{\"items\":[{\"id\":\"auth.lockout\",\"level\":1,\"result\":\"pass\"},"
                          "{\"id\":\"a.one\",\"level\":1,\"result\":\"fail\"}]}"));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        ds_sweep_report(s, 1, -ENOSYS, "no such method", NULL);
        ds_sweep_report(s, 2, -EPERM, "needs system-info", NULL);
        t = result(s, &c);
        assert_non_null(strstr(t, "\"service\":\"alpha\",\"id\":\"auth.lockout\",\"level\":1,\"result\":\"pass\","
                                  "\"dahua_level\":1,\"dahua_section\":\"2.2.7\",\"dahua_item\":\"Set account lock\","
                                  "\"etsi\":\"5.1-5\",\"iec\":\"CR 1.11\""));
        assert_null(strstr(t, "\"beta"));
        assert_non_null(strstr(t, "\"id\":\"gamma.running\",\"level\":1,\"title\":\"gamma runs and answers its audit\","
                                  "\"result\":\"fail\",\"detail\":\"not answering: needs system-info\""));
        assert_int_equal(c.pass, 1);
        assert_int_equal(c.fail, 2);
        assert_int_equal(c.score, 33);
        assert_int_equal(c.refused, -EPERM);
        free(t);
        ds_sweep_free(s);
}

static void mapping_has_each_operator_item(void **st)
{
        static const char *const ops[] = {"client.latest",      "storage.raid",        "device.anti-theft",
                                          "device.anti-damage", "device.anti-thunder", NULL};
        (void)st;
        for (size_t i = 0; ops[i]; i++) {
                const struct ds_audit_ref *r = ds_audit_ref_find(ops[i]);
                assert_non_null(r);
                assert_non_null(r->advice);
                assert_non_null(r->guide_item);
        }
        assert_null(ds_audit_ref_find("no.such"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(down_fails_each_item),
                cmocka_unit_test(function_off_is_na),
                cmocka_unit_test(report_and_refusal),
                cmocka_unit_test(mapping_has_each_operator_item),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
