/* test_queue - the persistent delivery queue: order per destination, backoff,
 * quota (80% event, EBUSY), max_age, persistence, what a crash leaves behind
 * (simulated partial writes, and kill -9 of a process pushing and delivering). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"

static char dir[64];

static int setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof dir, "/tmp/ds-queue.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd);
}

static dsq_t *open_q(const struct dsq_limits *lim)
{
        int err = 0;
        dsq_t *q = dsq_open(dir, lim, &err);

        assert_non_null(q);
        return q;
}

static void push(dsq_t *q, const char *dest, const char *data, int64_t now, char id[DSQ_ID_LEN + 1])
{
        assert_int_equal(dsq_push(q, dest, data, strlen(data), now, id), 0);
}

static void order_per_destination(void **state)
{
        struct dsq_limits lim = { .max_items = 100 };
        char a1[DSQ_ID_LEN + 1], a2[DSQ_ID_LEN + 1], b1[DSQ_ID_LEN + 1];
        struct dsq_item it;
        int64_t wait;
        char *buf;
        size_t len;
        dsq_t *q;

        (void)state;
        q = open_q(&lim);
        push(q, "A", "a1", 1000, a1);
        push(q, "A", "a2", 1000, a2);
        push(q, "B", "b1", 1000, b1);
        assert_int_equal(dsq_next(q, 1000, &it, NULL), 0);
        assert_string_equal(it.id, a1);
        /* a2 waits for a1, whatever happens to a1; B goes on */
        assert_int_equal(dsq_next(q, 1000, &it, NULL), 0);
        assert_string_equal(it.id, b1);
        assert_int_equal(dsq_next(q, 1000, &it, &wait), -EAGAIN);
        assert_int_equal(wait, -1);
        assert_int_equal(dsq_read(q, a1, &buf, &len), 0);
        assert_int_equal(len, 2);
        assert_memory_equal(buf, "a1", 2);
        free(buf);
        assert_int_equal(dsq_fail(q, a1, "421 try later", false, 1000), 0);
        assert_int_equal(dsq_next(q, 1000, &it, &wait), -EAGAIN); /* a1 in backoff blocks a2 */
        assert_true(wait > 0);
        assert_int_equal(dsq_next(q, 1000 + 600000, &it, NULL), 0);
        assert_string_equal(it.id, a1);
        assert_int_equal(it.attempts, 1);
        assert_string_equal(it.error, "421 try later");
        assert_int_equal(dsq_done(q, a1), 0);
        assert_int_equal(dsq_next(q, 1000, &it, NULL), 0);
        assert_string_equal(it.id, a2);
        assert_int_equal(dsq_done(q, a2), 0);
        assert_int_equal(dsq_done(q, b1), 0);
        assert_int_equal(dsq_done(q, b1), -ENOENT);
        assert_int_equal(dsq_next(q, 1000, &it, &wait), -EAGAIN);
        dsq_destroy(&q);
        assert_null(q);
}

static void backoff_capped_with_jitter(void **state)
{
        struct dsq_limits lim = { .max_items = 10, .backoff_min_ms = 1000, .backoff_max_ms = 4000, .no_jitter = true };
        static const int64_t want[] = { 1000, 2000, 4000, 4000, 4000 };
        char id[DSQ_ID_LEN + 1];
        struct dsq_item it;
        int64_t now = 50000, wait;
        dsq_t *q;

        (void)state;
        q = open_q(&lim);
        push(q, "A", "x", now, id);
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
                assert_int_equal(dsq_next(q, now, &it, NULL), 0);
                assert_int_equal(dsq_fail(q, id, "down", false, now), 0);
                assert_int_equal(dsq_next(q, now + want[i] - 1, &it, &wait), -EAGAIN);
                assert_int_equal(wait, 1);
                now += want[i];
        }
        /* with jitter: within [d/2, d] */
        lim.no_jitter = false;
        dsq_set_limits(q, &lim);
        for (int i = 0; i < 50; i++) {
                assert_int_equal(dsq_next(q, now, &it, NULL), 0);
                assert_int_equal(dsq_fail(q, id, "down", false, now), 0);
                assert_int_equal(dsq_next(q, now, &it, &wait), -EAGAIN);
                assert_true(wait >= 2000 && wait <= 4000);
                now += wait;
        }
        assert_int_equal(dsq_backoff_ms(&lim, 1), 1000);
        assert_int_equal(dsq_backoff_ms(&lim, 200), 4000);
        dsq_destroy(&q);
}

static unsigned level_calls, last_pct;
static bool last_above;
static void on_level(void *ud, unsigned pct, bool above)
{
        (void)ud;
        level_calls++;
        last_pct = pct;
        last_above = above;
}

static void quota_warns_then_refuses(void **state)
{
        struct dsq_limits lim = { .max_items = 5, .max_bytes = 1000, .on_level = on_level };
        char ids[5][DSQ_ID_LEN + 1];
        struct dsq_stats st;
        char big[901];
        dsq_t *q;

        (void)state;
        level_calls = 0;
        q = open_q(&lim);
        for (int i = 0; i < 3; i++)
                push(q, "A", "x", 1, ids[i]);
        assert_int_equal(level_calls, 0);
        push(q, "A", "x", 1, ids[3]); /* 4/5 = 80% */
        assert_int_equal(level_calls, 1);
        assert_true(last_above);
        assert_int_equal(last_pct, 80);
        push(q, "A", "x", 1, ids[4]);
        assert_int_equal(level_calls, 1);
        assert_int_equal(dsq_push(q, "A", "x", 1, 1, NULL), -EBUSY);
        assert_int_equal(dsq_push(q, "A", "x", 1, 1, NULL), -EBUSY);
        dsq_get_stats(q, &st);
        assert_int_equal(st.refused, 2);
        assert_int_equal(st.items, 5);
        assert_int_equal(st.level_pct, 100);
        for (int i = 0; i < 5; i++)
                assert_int_equal(dsq_done(q, ids[i]), 0);
        assert_int_equal(level_calls, 2);
        assert_false(last_above);
        /* the byte quota likewise */
        memset(big, 'b', 900);
        big[900] = '\0';
        push(q, "A", big, 1, ids[0]);
        assert_int_equal(level_calls, 3);
        assert_true(last_above);
        assert_int_equal(dsq_push(q, "A", big, 200, 1, NULL), -EBUSY);
        dsq_get_stats(q, &st);
        assert_int_equal(st.refused, 3);
        assert_int_equal(dsq_push(q, "", "x", 1, 1, NULL), -EINVAL);
        assert_int_equal(dsq_push(q, "a\nb", "x", 1, 1, NULL), -EINVAL);
        dsq_destroy(&q);
}

static void max_age_to_failed_retry_purge(void **state)
{
        struct dsq_limits lim = { .max_items = 10, .max_age_ms = 10000 };
        char old[DSQ_ID_LEN + 1], young[DSQ_ID_LEN + 1];
        struct dsq_item it;
        struct dsq_stats st;
        dsq_t *q;

        (void)state;
        q = open_q(&lim);
        push(q, "A", "old", 1000, old);
        push(q, "B", "young", 9000, young);
        assert_int_equal(dsq_next(q, 1000, &it, NULL), 0);
        assert_int_equal(dsq_fail(q, old, "530 auth required", false, 1000), 0);
        assert_int_equal(dsq_expire(q, 11001), 1);
        dsq_get_stats(q, &st);
        assert_int_equal(st.items, 1);
        assert_int_equal(st.failed_items, 1);
        assert_int_equal(st.expired, 1);
        dsq_destroy(&q);
        /* the failed item and its reason survive a restart */
        q = open_q(&lim);
        dsq_get_stats(q, &st);
        assert_int_equal(st.failed_items, 1);
        assert_int_equal(dsq_retry(q, old, 20000), 1);
        assert_int_equal(dsq_next(q, 20000, &it, NULL), 0);
        assert_string_equal(it.id, old);
        assert_int_equal(it.attempts, 0);
        assert_non_null(strstr(it.error, "expired after 1 attempts: 530 auth required"));
        assert_int_equal(dsq_fail(q, old, "550 no such user", true, 20000), 0);
        dsq_get_stats(q, &st);
        assert_int_equal(st.failed_items, 1);
        assert_int_equal(dsq_purge(q, NULL, true), 1);
        assert_int_equal(dsq_purge(q, old, false), -ENOENT);
        assert_int_equal(dsq_purge(q, NULL, false), 1);
        dsq_get_stats(q, &st);
        assert_int_equal(st.items + st.failed_items, 0);
        dsq_destroy(&q);
}

static void persists_header_and_order(void **state)
{
        struct dsq_limits lim = { .max_items = 100 };
        char ids[10][DSQ_ID_LEN + 1], d[16];
        struct dsq_item it;
        dsq_t *q;

        (void)state;
        q = open_q(&lim);
        for (int i = 0; i < 10; i++) {
                snprintf(d, sizeof d, "m%d", i);
                push(q, "A", d, 5, ids[i]);
        }
        assert_int_equal(dsq_next(q, 5, &it, NULL), 0);
        assert_int_equal(dsq_fail(q, ids[0], "timeout", false, 5), 0);
        dsq_destroy(&q);
        q = open_q(&lim);
        for (int i = 0; i < 10; i++) {
                char *buf;
                size_t len;
                assert_int_equal(dsq_next(q, INT64_MAX / 2, &it, NULL), 0);
                assert_string_equal(it.id, ids[i]);
                if (i == 0) {
                        assert_int_equal(it.attempts, 1);
                        assert_string_equal(it.error, "timeout");
                }
                assert_int_equal(dsq_read(q, it.id, &buf, &len), 0);
                snprintf(d, sizeof d, "m%d", i);
                assert_string_equal(buf, d);
                free(buf);
                assert_int_equal(dsq_done(q, it.id), 0);
                if (i == 4) { /* the sequence goes on after a reopen */
                        char nid[DSQ_ID_LEN + 1];
                        dsq_destroy(&q);
                        q = open_q(&lim);
                        push(q, "A", "last", 5, nid);
                }
        }
        assert_int_equal(dsq_next(q, INT64_MAX / 2, &it, NULL), 0);
        assert_int_equal(it.size, 4);
        dsq_destroy(&q);
}

static void write_file(const char *path, const char *data)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(data, f);
        fclose(f);
}

static void partial_writes_are_cleaned(void **state)
{
        struct dsq_limits lim = { .max_items = 100 };
        char id[DSQ_ID_LEN + 1], p[256];
        struct dsq_item it;
        struct dsq_stats st;
        struct stat sb;
        dsq_t *q;

        (void)state;
        q = open_q(&lim);
        push(q, "A", "whole", 1, id);
        dsq_destroy(&q);
        /* a temp file (crash inside a write), a blob without header (crash
         * between the two files), a header over a truncated blob (the disk lost it) */
        snprintf(p, sizeof p, "%s/pending/.0000000000000002.dat.tmp.77", dir);
        write_file(p, "half");
        snprintf(p, sizeof p, "%s/pending/0000000000000003.dat", dir);
        write_file(p, "orphan");
        snprintf(p, sizeof p, "%s/pending/0000000000000004.dat", dir);
        write_file(p, "tr");
        snprintf(p, sizeof p, "%s/pending/0000000000000004.hdr", dir);
        write_file(p, "dsq 1\nid 0123456789abcdef0123456789abcdef\ndest A\nsize 9\ncreated 1\nnext 1\nattempts 0\nerror \n");
        snprintf(p, sizeof p, "%s/pending/0000000000000005.hdr", dir);
        write_file(p, "garbage");
        q = open_q(&lim);
        snprintf(p, sizeof p, "%s/pending/.0000000000000002.dat.tmp.77", dir);
        assert_int_equal(stat(p, &sb), -1);
        snprintf(p, sizeof p, "%s/pending/0000000000000003.dat", dir);
        assert_int_equal(stat(p, &sb), -1);
        dsq_get_stats(q, &st);
        assert_int_equal(st.items, 1);
        assert_int_equal(st.failed_items, 1);
        assert_int_equal(dsq_next(q, 1, &it, NULL), 0);
        assert_string_equal(it.id, id);
        assert_int_equal(dsq_next(q, 1, &it, NULL), -EAGAIN);
        char nid[DSQ_ID_LEN + 1];
        push(q, "A", "new", 1, nid); /* seq beyond every file seen */
        dsq_destroy(&q);
        q = open_q(&lim);
        assert_int_equal(dsq_next(q, 1, &it, NULL), 0);
        assert_string_equal(it.id, id);
        assert_int_equal(dsq_done(q, id), 0);
        assert_int_equal(dsq_next(q, 1, &it, NULL), 0);
        assert_string_equal(it.id, nid);
        dsq_destroy(&q);
}

/* A child pushes and delivers as fast as it can and reports on a pipe what
 * the queue acknowledged; the parent kills it with SIGKILL at a random moment
 * and checks that every acknowledged push that was not acknowledged done is
 * there, whole (at most one may be gone: the one being marked done), and no
 * acknowledged done came back. */
static void kill9_loses_nothing(void **state)
{
        struct dsq_limits lim = { .max_items = 100000 };

        (void)state;
        srand((unsigned)time(NULL));
        for (int round = 0; round < 6; round++) {
                int fd[2];
                pid_t pid;

                assert_int_equal(pipe(fd), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        dsq_t *q;
                        close(fd[0]);
                        if (!(q = dsq_open(dir, &lim, NULL)))
                                _exit(2);
                        for (unsigned n = 0;; n++) {
                                char id[DSQ_ID_LEN + 1], data[64], line[80];
                                struct dsq_item it;
                                int len = snprintf(data, sizeof data, "payload-%u-%d", n, round);
                                if (dsq_push(q, "A", data, (size_t)len, 1, id) == 0) {
                                        int l = snprintf(line, sizeof line, "P %s %s\n", id, data);
                                        if (write(fd[1], line, (size_t)l) != l)
                                                _exit(3);
                                }
                                if (n % 3 == 2 && dsq_next(q, 1, &it, NULL) == 0 && dsq_done(q, it.id) == 0) {
                                        int l = snprintf(line, sizeof line, "D %s\n", it.id);
                                        if (write(fd[1], line, (size_t)l) != l)
                                                _exit(3);
                                }
                        }
                }
                close(fd[1]);
                usleep(20000 + (useconds_t)(rand() % 80000));
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);

                /* read what was acknowledged */
                FILE *f = fdopen(fd[0], "r");
                char line[128];
                size_t np = 0, cap = 4096;
                struct ack { char id[DSQ_ID_LEN + 1]; char data[64]; bool done; } *acks = calloc(cap, sizeof *acks);
                assert_non_null(f);
                while (fgets(line, sizeof line, f)) {
                        char id[DSQ_ID_LEN + 1], data[64];
                        if (sscanf(line, "P %32s %63s", id, data) == 2) {
                                if (np == cap)
                                        acks = realloc(acks, (cap *= 2) * sizeof *acks);
                                snprintf(acks[np].id, sizeof acks[np].id, "%s", id);
                                snprintf(acks[np].data, sizeof acks[np].data, "%s", data);
                                acks[np++].done = false;
                        } else if (sscanf(line, "D %32s", id) == 1) {
                                for (size_t i = 0; i < np; i++)
                                        if (!strcmp(acks[i].id, id))
                                                acks[i].done = true;
                        }
                }
                fclose(f);
                assert_true(np > 0);

                dsq_t *q = open_q(&lim);
                unsigned missing = 0, present = 0;
                for (size_t i = 0; i < np; i++) {
                        char *buf = NULL;
                        size_t len;
                        int r = dsq_read(q, acks[i].id, &buf, &len);
                        if (acks[i].done) {
                                assert_int_equal(r, -ENOENT);
                                continue;
                        }
                        if (r == -ENOENT) {
                                missing++;
                                continue;
                        }
                        assert_int_equal(r, 0);
                        assert_string_equal(buf, acks[i].data);
                        present++;
                        free(buf);
                }
                assert_true(missing <= 1);
                struct dsq_stats st;
                dsq_get_stats(q, &st);
                assert_int_equal(st.failed_items, 0);
                /* nothing pending that was never acknowledged, except the one
                 * push the kill may have cut after its header was durable */
                assert_true(st.items >= present && st.items <= present + 1);
                dsq_purge(q, NULL, false); /* the next round starts empty */
                dsq_destroy(&q);
                free(acks);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(order_per_destination, setup, teardown),
                cmocka_unit_test_setup_teardown(backoff_capped_with_jitter, setup, teardown),
                cmocka_unit_test_setup_teardown(quota_warns_then_refuses, setup, teardown),
                cmocka_unit_test_setup_teardown(max_age_to_failed_retry_purge, setup, teardown),
                cmocka_unit_test_setup_teardown(persists_header_and_order, setup, teardown),
                cmocka_unit_test_setup_teardown(partial_writes_are_cleaned, setup, teardown),
                cmocka_unit_test_setup_teardown(kill9_loses_nothing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
