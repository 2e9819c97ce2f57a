/* test_txn - a two-phase config.import: who may go on with a staged txn */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "svc_internal.h"

static const struct svc_txn_owner staged = {.txn = "restore-1", .id = "devctl", .user = "admin", .expires_ms = 1000};

static void prepare(void **state)
{
        struct ds_caller c = {.id = "devctl", .user = "admin"};
        char why[160];

        (void)state;
        assert_int_equal(svc_txn_admit(NULL, SVC_TXN_PREPARE, "t", &c, 0, why, sizeof why), 0);
        /* one at a time, whoever asks */
        assert_int_equal(svc_txn_admit(&staged, SVC_TXN_PREPARE, "t", &c, 10, why, sizeof why), -EBUSY);
        assert_non_null(strstr(why, "restore-1"));
        /* an expired one is as good as dropped */
        assert_int_equal(svc_txn_admit(&staged, SVC_TXN_PREPARE, "t", &c, 1000, why, sizeof why), 0);
}

static void commit_and_abort(void **state)
{
        struct ds_caller me = {.id = "devctl", .user = "admin"}, other_user = {.id = "devctl", .user = "ops"},
                         other_proc = {.id = "webd", .user = "admin"};
        enum svc_txn_phase ph[] = {SVC_TXN_COMMIT, SVC_TXN_ABORT};
        char why[160];

        (void)state;
        for (int i = 0; i < 2; i++) {
                assert_int_equal(svc_txn_admit(&staged, ph[i], "restore-1", &me, 999, why, sizeof why), 0);
                assert_int_equal(svc_txn_admit(NULL, ph[i], "restore-1", &me, 0, why, sizeof why), -ENOENT);
                assert_int_equal(svc_txn_admit(&staged, ph[i], "restore-2", &me, 10, why, sizeof why), -ENOENT);
                /* the caller who prepared it: same process identity and same operator */
                assert_int_equal(svc_txn_admit(&staged, ph[i], "restore-1", &other_user, 10, why, sizeof why), -EPERM);
                assert_int_equal(svc_txn_admit(&staged, ph[i], "restore-1", &other_proc, 10, why, sizeof why), -EPERM);
                /* expired: gone, even for its owner */
                assert_int_equal(svc_txn_admit(&staged, ph[i], "restore-1", &me, 1000, why, sizeof why), -ENOENT);
        }
        assert_true(svc_txn_expired(&staged, 1000));
        assert_false(svc_txn_expired(&staged, 999));
        assert_false(svc_txn_expired(NULL, 5000));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(prepare),
                cmocka_unit_test(commit_and_abort),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
