/* test_policy.c - every password rule, accepted and rejected, at the length boundaries */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"

static authd_dict_t *pwq;

struct pcase {
        const char *profile;
        const char *user;
        const char *pw;
        const char *rule; /* NULL: accepted */
};

static const struct pcase cases[] = {
        /* accepted */
        { "vendor", "admin", "Zx9#mQ2$vL", NULL },
        { "vendor", "admin", "kT7vR2wq", NULL },                           /* 8: lower boundary */
        { "vendor", "admin", "kT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wq", NULL },   /* 32: upper boundary */
        { "vendor", "admin", "hG4-mW8+pX", NULL },                         /* specials that are allowed */
        /* length */
        { "vendor", "admin", "kT7vR2w", "length" },                         /* 7 */
        { "vendor", "admin", "kT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqz", "length" }, /* 33 */
        { "vendor", "admin", "", "length" },
        { "nist", "admin", "kT7vR2wqkT7vR2w", NULL },                       /* 15 */
        { "nist", "admin", "kT7vR2wqkT7vR2", "length" },                    /* 14 */
        { "nist", "admin", "kT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wq", NULL }, /* 64 */
        { "nist", "admin", "kT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqkT7vR2wqz", "length" }, /* 65 */
        { "strict", "admin", "kT7vR2w", "length" },
        /* forbidden characters */
        { "vendor", "admin", "Zx9'mQ2vL", "characters" },
        { "vendor", "admin", "Zx9\"mQ2vL", "characters" },
        { "vendor", "admin", "Zx9;mQ2vL", "characters" },
        { "vendor", "admin", "Zx9:mQ2vL", "characters" },
        { "vendor", "admin", "Zx9&mQ2vL", "characters" },
        { "vendor", "admin", "Zx9 mQ2vL", "characters" },
        { "vendor", "admin", "Zx9\tmQ2vL", "characters" },
        { "vendor", "admin", "Zx9\x7fmQ2vL", "characters" },
        { "vendor", "admin", "Zx9\xc3\xa9mQ2vL", "characters" },           /* non-ASCII */
        { "nist", "admin", "Zx9\tmQ2vLkT7vR2wq", "characters" },            /* control chars: every profile */
        /* classes */
        { "vendor", "admin", "qwhvtkzmp", "classes" },
        { "vendor", "admin", "QWHVTKZMP", "classes" },
        { "vendor", "admin", "92847560", "classes" },
        { "vendor", "admin", "#!%+-=@?", "classes" },
        { "vendor", "admin", "qwhvtkz5", NULL },                            /* two classes suffice */
        /* user name and its reverse, case-insensitive */
        { "vendor", "Operator9x", "operator9X", "username" },
        { "vendor", "Operator9x", "x9ROTAREPO", "username" },
        { "nist", "longusername15ch", "LONGUSERNAME15CH", "username" },
        /* containing it counts too (Dahua 3.1) */
        { "vendor", "alice", "Xalice#92Q", "username" },
        { "vendor", "alice", "Q9#ECILAx", "username" },
        { "vendor", "alice", "Xalic#92Qe", NULL },
        /* consecutive runs */
        { "vendor", "admin", "Zx9#abcQvL", "sequence" },
        { "vendor", "admin", "Zx9#cbaQvL", "sequence" },
        { "vendor", "admin", "Zx#123QvLm", "sequence" },
        { "vendor", "admin", "Zx#321QvLm", "sequence" },
        { "vendor", "admin", "Zx#XYZ9vLm", "sequence" },
        { "vendor", "admin", "Zx#13Q5vL", NULL },                           /* 1,3,5 is no run */
        { "vendor", "admin", "Zx9#abQvL", NULL },                           /* a run of 2 is fine */
        /* identical runs */
        { "vendor", "admin", "Zx9#aaaQvL", "repeat" },
        { "vendor", "admin", "Zx#111QvLm", "repeat" },
        { "vendor", "admin", "Zx9#!!!QvL", "repeat" },
        { "vendor", "admin", "Zx9#aaQvL", NULL },
        /* dictionary (cracklib) */
        { "vendor", "admin", "Password1", "dictionary" },
        { "vendor", "admin", "Welcome1", "dictionary" },
        { "nist", "admin", "Password12345678", "dictionary" },
        { "nist", "admin", "aaaaaaaaaaaaaaaa", "dictionary" }, /* blocklist: too few different characters */
        /* nist: no composition rules */
        { "nist", "admin", "ghqtrwvmzpklsdfx", NULL },
        { "nist", "admin", "Zx9#aaaQvL;kT7vR", NULL },
        { NULL },
};

static void t_cases(void **state)
{
        (void)state;
        for (const struct pcase *c = cases; c->pw; c++) {
                struct authd_policy p;
                const char *rule = NULL;
                char why[256] = "";
                int r;

                authd_policy_from(c->profile, 0, 0, 0, 0, &p);
                r = authd_policy_check(&p, pwq, c->user, c->pw, &rule, why, sizeof why);
                if (c->rule && (r != -EINVAL || strcmp(rule, c->rule))) {
                        print_error("%s '%s': want rule '%s', got %s (%s)\n", c->profile, c->pw, c->rule,
                                    r ? rule : "accepted", why);
                        fail();
                }
                if (!c->rule && r != 0) {
                        print_error("%s '%s': want accepted, got rule '%s' (%s)\n", c->profile, c->pw, rule, why);
                        fail();
                }
                if (c->rule)
                        assert_true(strlen(why) > 10); /* the operator is told why */
        }
}

static void t_profiles_only_tighten(void **state)
{
        struct authd_policy p;

        (void)state;
        authd_policy_from("vendor", 12, 0, 0, 0, &p);
        assert_int_equal(p.min_len, 12);
        assert_int_equal(p.max_len, 32);
        authd_policy_from("nist", 8, 0, 0, 0, &p); /* cannot go below the profile */
        assert_int_equal(p.min_len, 15);
        assert_int_equal(p.max_len, 64);
        assert_false(p.composition);
        assert_int_equal(p.max_age_days, 0);
        authd_policy_from("strict", 8, 0, 2, 0, &p);
        assert_int_equal(p.history, 5);
        assert_int_equal(p.max_age_days, 90);
        authd_policy_from("strict", 8, 0, 8, 30, &p);
        assert_int_equal(p.history, 8);
        assert_int_equal(p.max_age_days, 30);
        authd_policy_from("strict", 8, 0, 0, 365, &p); /* a longer age is looser: kept at 90 */
        assert_int_equal(p.max_age_days, 90);
        authd_policy_from("bogus", 0, 0, 0, 0, &p);
        assert_string_equal(p.profile, "vendor");
        assert_true(p.dictionary);
}

static void t_no_dictionary_without_pwq(void **state)
{
        struct authd_policy p;
        const char *rule;
        char why[128];

        (void)state;
        authd_policy_from("vendor", 0, 0, 0, 0, &p);
        assert_int_equal(authd_policy_check(&p, NULL, "admin", "Password1", &rule, why, sizeof why), 0);
        assert_int_equal(authd_policy_check(&p, pwq, "admin", "Password1", &rule, why, sizeof why), -EINVAL);
}

static bool mapped(const char *lib)
{
        char line[512];
        bool found = false;
        FILE *f = fopen("/proc/self/maps", "re");

        while (f && !found && fgets(line, sizeof line, f))
                found = strstr(line, lib) != NULL;
        if (f)
                fclose(f);
        return found;
}

static void t_dictionary_loaded_per_check(void **state)
{
        struct authd_policy p;
        const char *rule = NULL;
        char why[128];
        int n = authd_dict_loads(pwq);

        (void)state;
        authd_policy_from("vendor", 0, 0, 0, 0, &p);
        assert_false(mapped("libpwquality")); /* not linked, not loaded between checks */
        assert_int_equal(authd_policy_check(&p, pwq, "admin", "Password1", &rule, why, sizeof why), -EINVAL);
        assert_string_equal(rule, "dictionary");
        assert_int_equal(authd_policy_check(&p, pwq, "admin", "Kq7#vTz9!mW", &rule, why, sizeof why), 0);
        assert_int_equal(authd_dict_loads(pwq), n + 2);
        assert_false(mapped("libpwquality")); /* unloaded after each */
        assert_false(mapped("libcrack"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_cases),
                cmocka_unit_test(t_profiles_only_tighten),
                cmocka_unit_test(t_no_dictionary_without_pwq),
                cmocka_unit_test(t_dictionary_loaded_per_check),
        };
        int r;

        pwq = authd_dict_new();
        assert_non_null(pwq);
        r = cmocka_run_group_tests(tests, NULL, NULL);
        authd_dict_free(&pwq);
        return r;
}
