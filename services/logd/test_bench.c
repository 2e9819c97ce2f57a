/* test_bench.c - the store path alone, as logd's drain runs it: records appended
 * by the store code (hash chain, a seal and an fdatasync every 1000 records,
 * rotation at 1 MiB, quota/retention checks), one write per batch of 256.
 *   logd_test_bench                 a small run, checked (a unit test)
 *   logd_test_bench --bench N DIR   N records into DIR/store, prints records/s */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logd.h"
#include "mp.h"
#include "state.h"
#include "util.h"

#define BATCH 256

static const struct logd_store_cfg bench_cfg = { .seg_max_bytes = 1024 * 1024, .seg_max_age_s = 86400,
                                                 .quota_bytes = 1024ull << 20, .retention_s = 180 * 86400,
                                                 .seal_every = 1000, .epoch_ms = 10000 };

/* Appends n records like the bench's publisher sends them; returns elapsed ms. */
static int64_t run(logd_store_t *s, long n)
{
        struct seal_rec *rec = calloc(1, sizeof *rec);
        struct mpw f;
        int64_t t0 = ds_now_mono_ms();

        mpw_init(&f);
        for (long i = 1; rec && i <= n; i++) {
                rec->ts = ds_now_real_ms();
                rec->mono = ds_now_mono_ms();
                snprintf(rec->service, sizeof rec->service, "logprod");
                snprintf(rec->category, sizeof rec->category, "security");
                snprintf(rec->level, sizeof rec->level, "info");
                snprintf(rec->user, sizeof rec->user, "alice");
                snprintf(rec->src, sizeof rec->src, "logprod");
                snprintf(rec->msg, sizeof rec->msg, "bench record %ld", i);
                mpw_reset(&f);
                mpw_map_begin(&f);
                mpw_kv_int(&f, "n", i);
                mpw_map_end(&f);
                rec->fields = mpw_data(&f);
                rec->fields_len = mpw_len(&f);
                if (logd_store_append(s, rec) < 0)
                        break;
                logd_store_maintain(s, rec->ts, UINT64_MAX);
                if (i % BATCH == 0)
                        logd_store_flush(s);
        }
        logd_store_flush(s);
        mpw_free(&f);
        free(rec);
        return ds_now_mono_ms() - t0;
}

static void test_store_path(void **state)
{
        char dir[] = "/tmp/logd-bench.XXXXXX", seg[64], cmd[96];
        struct logd_store_info in;
        struct seal_result v;
        logd_store_t *s = NULL;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(seg, sizeof seg, "%s/store", dir);
        assert_int_equal(logd_store_open(seg, dir, &bench_cfg, &s), 0);
        run(s, 5000);
        assert_int_equal(logd_store_seal(s), 0);
        logd_store_info(s, &in);
        assert_int_equal(in.last_seq, 5000);
        assert_int_equal(in.sealed_seq, 5000);
        assert_true(in.segments >= 1);
        assert_int_equal(logd_store_verify(s, NULL, &v), 0);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_int_equal(v.records, 5000);
        logd_store_close(&s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
        if (argc == 4 && !strcmp(argv[1], "--bench")) {
                long n = atol(argv[2]);
                char *seg = path_join(argv[3], "store");
                logd_store_t *s = NULL;
                int64_t ms;

                if (n <= 0 || !seg || logd_store_open(seg, argv[3], &bench_cfg, &s) < 0) {
                        fprintf(stderr, "logd_test_bench: cannot open the store in '%s'\n", argv[3]);
                        return 1;
                }
                ms = run(s, n);
                logd_store_close(&s);
                free(seg);
                printf("%ld %lld\n", n, (long long)ms);
                return 0;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_store_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
