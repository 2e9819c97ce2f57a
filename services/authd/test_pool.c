/* test_pool.c - the hash pool without a bus: jobs run on worker threads and
 * complete on the loop (zloop + eventfd); a full queue refuses at once; the
 * must/none/hash program; secrets gone after the work; resize; stop;
 * threads start with the jobs and end when idle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "authd.h"

static int completed;

static int done_count(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        (void)a;
        (void)c;
        assert_null(j->secret[0]); /* wiped by the worker */
        completed++;
        return 0;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        return completed >= *(int *)arg ? -1 : 0;
}

static struct authd_job *job(const char *pw, const char *hash_to_check, bool must)
{
        struct authd_job *j = authd_job_new();
        int s = authd_job_secret(j, pw);

        assert_true(s >= 0);
        if (hash_to_check)
                assert_int_equal(must ? authd_job_must(j, hash_to_check, s) : authd_job_none(j, hash_to_check, s), 0);
        j->hash[j->n_hash++] = s;
        j->cost = (struct authd_cost){ 1, 8192 };
        j->done = done_count;
        return j;
}

static void t_program(void **state)
{
        struct authd_cost cost = { 1, 8192 };
        char *h = authd_hash("Right#pw1", &cost);
        struct authd_job *j;

        (void)state;
        j = job("Right#pw1", h, true); /* must matches: the hash is made */
        authd_job_work(j);
        assert_true(j->must_ok);
        assert_non_null(j->out[0]);
        assert_true(authd_hash_verify(j->out[0], "Right#pw1"));
        assert_null(j->secret[0]);
        authd_job_free(&j);
        j = job("Wrong#pw1", h, true); /* must fails: nothing is hashed */
        authd_job_work(j);
        assert_false(j->must_ok);
        assert_null(j->out[0]);
        authd_job_free(&j);
        j = job("Right#pw1", h, false); /* none matches (reuse): nothing is hashed */
        authd_job_work(j);
        assert_true(j->must_ok);
        assert_int_equal(j->none_hit, 0);
        assert_null(j->out[0]);
        authd_job_free(&j);
        free(h);
}

static void t_pool_completes_on_loop(void **state)
{
        struct authd_ctx a = { 0 };
        zloop_t *loop = zloop_new();
        authd_pool_t *p;
        struct authd_pool_stats st;
        int want = 20;

        (void)state;
        completed = 0;
        p = authd_pool_new(&a, loop, 2, 64);
        assert_non_null(p);
        for (int i = 0; i < want; i++) {
                assert_true(authd_pool_has_room(p));
                assert_int_equal(authd_pool_submit(p, job("Some#pw123", NULL, true)), 0);
        }
        zloop_timer(loop, 5, 0, on_tick, &want);
        zloop_start(loop);
        assert_int_equal(completed, want);
        authd_pool_stats(p, &st);
        assert_int_equal(st.workers, 2);
        assert_int_equal(st.done, want);
        assert_int_equal(st.queued, 0);
        /* a smaller pool, then a larger one: still works */
        assert_int_equal(authd_pool_resize(p, 1, 1), 0);
        assert_int_equal(authd_pool_resize(p, 3, 8), 0);
        want += 3;
        for (int i = 0; i < 3; i++)
                assert_int_equal(authd_pool_submit(p, job("Some#pw123", NULL, true)), 0);
        zloop_start(loop);
        assert_int_equal(completed, want);
        authd_pool_destroy(&p);
        assert_null(p);
        zloop_destroy(&loop);
        zhash_destroy(&a.pending);
}

static void t_full_queue(void **state)
{
        struct authd_ctx a = { 0 };
        authd_pool_t *p;
        struct authd_pool_stats st;
        int refused = 0;

        (void)state;
        completed = 0;
        p = authd_pool_new(&a, NULL, 1, 2); /* no loop: completions wait for destroy */
        assert_non_null(p);
        for (int i = 0; i < 50; i++) {
                if (!authd_pool_has_room(p)) {
                        refused++;
                        continue;
                }
                struct authd_job *j = job("Some#pw123", NULL, true);
                j->cost = (struct authd_cost){ 3, 16u << 20 }; /* slow enough to fill the queue */
                assert_int_equal(authd_pool_submit(p, j), 0);
        }
        assert_true(refused >= 40); /* at most 1 running + 2 waiting at any time, the rest refused */
        authd_pool_stats(p, &st);
        assert_true(st.queued <= 2);
        assert_int_equal(st.full, (uint64_t)refused);
        authd_pool_destroy(&p); /* finished ones complete, waiting ones are dropped */
        assert_true(completed <= 50 - refused);
}

static int on_tick_idle(zloop_t *loop, int timer_id, void *arg)
{
        struct authd_pool_stats st;

        (void)loop;
        (void)timer_id;
        authd_pool_stats(arg, &st);
        return st.threads == 0 ? -1 : 0;
}

static void t_threads_on_demand(void **state)
{
        struct authd_ctx a = { 0 };
        zloop_t *loop = zloop_new();
        authd_pool_t *p;
        struct authd_pool_stats st;
        int want = 6, t1, t2, t3;

        (void)state;
        completed = 0;
        p = authd_pool_new(&a, loop, 3, 64);
        assert_non_null(p);
        authd_pool_stats(p, &st);
        assert_int_equal(st.workers, 3);
        assert_int_equal(st.threads, 0); /* nothing to hash: no thread */
        for (int i = 0; i < want; i++)
                assert_int_equal(authd_pool_submit(p, job("Some#pw123", NULL, true)), 0);
        authd_pool_stats(p, &st);
        assert_true(st.threads >= 1 && st.threads <= 3); /* started by the jobs, never over the bound */
        t1 = zloop_timer(loop, 5, 0, on_tick, &want);
        zloop_start(loop);
        assert_int_equal(completed, want);
        zloop_timer_end(loop, t1);
        authd_pool_set_idle(p, 20);
        t2 = zloop_timer(loop, 5, 0, on_tick_idle, p);
        t3 = zloop_timer(loop, 5000, 1, on_tick, &want); /* the deadline */
        zloop_start(loop);
        zloop_timer_end(loop, t2);
        zloop_timer_end(loop, t3);
        authd_pool_stats(p, &st);
        assert_int_equal(st.threads, 0); /* idle: every thread ended */
        want += 2; /* and new jobs start them again */
        for (int i = 0; i < 2; i++)
                assert_int_equal(authd_pool_submit(p, job("Some#pw123", NULL, true)), 0);
        zloop_timer(loop, 5, 0, on_tick, &want);
        zloop_start(loop);
        assert_int_equal(completed, want);
        authd_pool_destroy(&p);
        zloop_destroy(&loop);
        zhash_destroy(&a.pending);
}

static void t_pending(void **state)
{
        struct authd_ctx a = { 0 };

        (void)state;
        assert_int_equal(authd_pending(&a, "bob"), 0);
        assert_int_equal(authd_pending_add(&a, "bob"), 0);
        assert_int_equal(authd_pending_add(&a, "bob"), 0);
        assert_int_equal(authd_pending(&a, "bob"), 2);
        authd_pending_release(&a, "bob");
        authd_pending_release(&a, "bob");
        assert_int_equal(authd_pending(&a, "bob"), 0);
        assert_int_equal(zhash_size(a.pending), 0);
        zhash_destroy(&a.pending);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_program),
                cmocka_unit_test(t_pool_completes_on_loop),
                cmocka_unit_test(t_full_queue),
                cmocka_unit_test(t_threads_on_demand),
                cmocka_unit_test(t_pending),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
