/* test_store.c - the store: chain, seals, forward-secure keys, verification of every
 * kind of tampering, torn-record recovery, rotation, pruning, queries, RFC 5424. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_impl.h"
#include "state.h"
#include "util.h"

struct fx {
        char dir[64];
        char segdir[96];
        logd_store_t *s;
        char key0[SEAL_KEY_TEXT_MAX];
};

static struct logd_store_cfg cfg = { .seg_max_bytes = 1 << 20, .quota_bytes = 64 << 20, .seal_every = 10,
                                      .epoch_ms = 3600 * 1000 };

static void add(logd_store_t *s, int n, const char *cat)
{
        struct seal_rec *r = calloc(1, sizeof *r);

        for (int i = 0; i < n; i++) {
                r->ts = ds_now_real_ms();
                r->mono = ds_now_mono_ms();
                snprintf(r->service, sizeof r->service, "authd");
                snprintf(r->category, sizeof r->category, "%s", cat);
                snprintf(r->level, sizeof r->level, i % 5 ? "info" : "warning");
                snprintf(r->user, sizeof r->user, i % 2 ? "alice" : "bob");
                snprintf(r->src, sizeof r->src, "authd");
                snprintf(r->msg, sizeof r->msg, "login \"%d\" ok]", i);
                assert_int_equal(logd_store_append(s, r), 0);
        }
        assert_int_equal(logd_store_flush(s), 0);
        free(r);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof *f);

        snprintf(f->dir, sizeof f->dir, "/tmp/logd-unit.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->segdir, sizeof f->segdir, "%s/store", f->dir);
        assert_int_equal(logd_store_open(f->segdir, f->dir, &cfg, &f->s), 0);
        assert_int_equal(logd_store_seal_init(f->s, f->key0, sizeof f->key0), 0);
        add(f->s, 25, "security");
        assert_int_equal(logd_store_seal(f->s), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        char cmd[160];

        logd_store_close(&f->s);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* frame offsets of the (only) segment */
struct frames {
        char *buf;
        size_t len;
        size_t off[64], end[64];
        int type[64];
        uint64_t seq[64];
        int n;
};

static void frames_load(struct fx *f, struct frames *fr)
{
        struct seal_frame lf;
        size_t off = SEAL_SEG_HDR_LEN, next;
        struct seal_rec *r = malloc(sizeof *r);

        memset(fr, 0, sizeof *fr);
        assert_int_equal(logd_seg_load(f->s, 0, &fr->buf, &fr->len), 0);
        while (off < fr->len && seal_frame_parse(fr->buf, fr->len, off, &lf, &next) == 0) {
                fr->off[fr->n] = off;
                fr->end[fr->n] = next;
                fr->type[fr->n] = lf.type;
                fr->seq[fr->n] = lf.type == SEAL_FRAME_RECORD && seal_rec_decode(lf.payload, lf.len, r) == 0 ? r->seq : 0;
                fr->n++;
                off = next;
        }
        free(r);
}

static int frame_of_seq(struct frames *fr, uint64_t seq)
{
        for (int i = 0; i < fr->n; i++)
                if (fr->type[i] == SEAL_FRAME_RECORD && fr->seq[i] == seq)
                        return i;
        fail();
        return -1;
}

static void save(struct fx *f, const char *buf, size_t len)
{
        assert_int_equal(state_write(f->segdir, f->s->segs[0].name, buf, len, 0600), 0);
}

static void verify(struct fx *f, bool with_key, struct seal_result *v)
{
        struct seal_vkey k;

        assert_int_equal(seal_vkey_parse(f->key0, &k), 0);
        assert_int_equal(logd_store_verify(f->s, with_key ? &k : NULL, v), 0);
}

static void test_intact(void **state)
{
        struct fx *f = *state;
        struct seal_result v;

        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_int_equal(v.verified_to, 25);
        assert_int_equal(v.sealed_to, 25);
        assert_int_equal(v.seals, 3);
        assert_true(v.seals_checked);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_false(v.seals_checked);
}

static void test_key_once_and_evolves(void **state)
{
        struct fx *f = *state;
        char text[SEAL_KEY_TEXT_MAX];
        struct seal_vkey k;
        struct seal_keystate ks;
        uint64_t e = f->s->ks.epoch + 5;

        assert_int_equal(logd_store_seal_init(f->s, text, sizeof text), -EEXIST);
        assert_int_equal(seal_vkey_parse(f->key0, &k), 0);
        assert_int_equal(k.interval_ms, 3600 * 1000);
        /* the device holds the leaf of its epoch and nodes for later ones, never k0 */
        for (size_t i = 0; i < f->s->ks.count; i++)
                assert_memory_not_equal(f->s->ks.n[i].k, k.k0, LOGD_HASH_LEN);
        /* moving on: the device's leaf is the one k0 derives for that epoch */
        assert_int_equal(seal_key_seek(&f->s->ks, e), 0);
        seal_key_init(&ks, k.k0);
        assert_int_equal(seal_key_seek(&ks, e), 0);
        assert_memory_equal(seal_key_current(&f->s->ks), seal_key_current(&ks), LOGD_HASH_LEN);
        /* and it cannot go back */
        assert_int_equal(seal_key_seek(&f->s->ks, e - 1), -EINVAL);
        /* a far jump (years of epochs) costs a few dozen hashes, not one per epoch */
        assert_int_equal(seal_key_seek(&ks, e + 50000000), 0);
        assert_true(ks.count <= 2 * SEAL_TREE_DEPTH + 2);
}

static void test_flip(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;
        int i;

        frames_load(f, &fr);
        i = frame_of_seq(&fr, 7);
        fr.buf[fr.off[i] + SEAL_FRAME_HDR + 20] ^= 0x01;
        save(f, fr.buf, fr.len);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_CHECKSUM);
        assert_int_equal(v.at_seq, 7);
        assert_non_null(strstr(v.detail, "record 7"));
        free(fr.buf);
}

static void test_delete(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;
        int i;

        frames_load(f, &fr);
        i = frame_of_seq(&fr, 12);
        memmove(fr.buf + fr.off[i], fr.buf + fr.end[i], fr.len - fr.end[i]);
        save(f, fr.buf, fr.len - (fr.end[i] - fr.off[i]));
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_GAP);
        assert_int_equal(v.at_seq, 12);
        assert_non_null(strstr(v.detail, "12-12 missing"));
        free(fr.buf);
}

static void test_swap(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;
        int a, b;
        char *tmp;
        size_t la, lb;

        frames_load(f, &fr);
        a = frame_of_seq(&fr, 14);
        b = frame_of_seq(&fr, 15);
        la = fr.end[a] - fr.off[a];
        lb = fr.end[b] - fr.off[b];
        tmp = malloc(la + lb);
        memcpy(tmp, fr.buf + fr.off[b], lb);
        memcpy(tmp + lb, fr.buf + fr.off[a], la);
        memcpy(fr.buf + fr.off[a], tmp, la + lb);
        free(tmp);
        save(f, fr.buf, fr.len);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_REORDER);
        assert_int_equal(v.at_seq, 14);
        free(fr.buf);
}

static void test_truncate_tail(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;

        frames_load(f, &fr);
        /* cut records 22.. and the final seal: whole frames, no torn bytes */
        save(f, fr.buf, fr.off[frame_of_seq(&fr, 22)]);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_TRUNCATED);
        assert_int_equal(v.verified_to, 21);
        assert_non_null(strstr(v.detail, "sealed"));
        free(fr.buf);
}

static void test_truncate_mid(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;

        frames_load(f, &fr);
        save(f, fr.buf, fr.off[frame_of_seq(&fr, 5)] + 11);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_TRUNCATED);
        assert_int_equal(v.verified_to, 4);
        free(fr.buf);
}

static void test_drop_seal(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;
        int i = frame_of_seq((frames_load(f, &fr), &fr), 10) + 1;

        assert_int_equal(fr.type[i], SEAL_FRAME_SEAL);
        memmove(fr.buf + fr.off[i], fr.buf + fr.end[i], fr.len - fr.end[i]);
        save(f, fr.buf, fr.len - (fr.end[i] - fr.off[i]));
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_SEAL_MISSING);
        assert_non_null(strstr(v.detail, "seal 0 missing"));
        free(fr.buf);
}

static void test_drop_last_seal(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;

        frames_load(f, &fr);
        assert_int_equal(fr.type[fr.n - 1], SEAL_FRAME_SEAL);
        save(f, fr.buf, fr.off[fr.n - 1]);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_SEAL_MISSING);
        free(fr.buf);
}

static void test_no_seal_fails(void **state)
{
        struct fx *f = *state;
        struct frames fr;
        struct seal_result v;
        size_t o = SEAL_SEG_HDR_LEN;

        /* keep records only: a store without any seal must fail */
        frames_load(f, &fr);
        for (int i = 0; i < fr.n; i++)
                if (fr.type[i] == SEAL_FRAME_RECORD) {
                        memmove(fr.buf + o, fr.buf + fr.off[i], fr.end[i] - fr.off[i]);
                        o += fr.end[i] - fr.off[i];
                }
        save(f, fr.buf, o);
        f->s->seal_n = 0; /* as if the key state had been rolled back too */
        f->s->sealed_seq = 0;
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_SEAL_MISSING);
        assert_non_null(strstr(v.detail, "no seal"));
        free(fr.buf);
}

static void test_rewritten_history_bad_mac(void **state)
{
        struct fx *f = *state;
        struct seal_result v;
        char *buf;
        size_t len;
        uint8_t fake[LOGD_HASH_LEN] = { 1 };
        logd_store_t *s2;
        char d2[128];

        /* an attacker rebuilds the whole store with a key of their own:
         * chain and structure check out, the off-device key does not */
        snprintf(d2, sizeof d2, "%s/forged", f->dir);
        assert_int_equal(logd_store_open(d2, d2, &cfg, &s2), 0);
        seal_key_init(&s2->ks, fake);
        seal_key_seek(&s2->ks, 0);
        add(s2, 25, "security");
        assert_int_equal(logd_store_seal(s2), 0);
        assert_int_equal(logd_seg_load(s2, 0, &buf, &len), 0);
        save(f, buf, len);
        free(buf);
        logd_store_close(&s2);
        verify(f, false, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_SEAL_BAD);
}

static void test_torn_record_recovered(void **state)
{
        struct fx *f = *state;
        struct seal_result v;
        char *path = path_join(f->segdir, f->s->segs[0].name);
        FILE *fp;

        add(f->s, 3, "system");
        logd_store_close(&f->s);
        /* a record cut short by a crash: header says 200 bytes, 30 follow */
        fp = fopen(path, "ab");
        assert_non_null(fp);
        static const char torn[] = "\xc8\x00\x00\x00\x01\x00\x00\x00 partial record bytes......";
        fwrite(torn, 1, sizeof torn - 1, fp);
        fclose(fp);
        free(path);
        assert_int_equal(logd_store_open(f->segdir, f->dir, &cfg, &f->s), 0);
        assert_int_equal(f->s->torn_truncated, sizeof "\xc8\x00\x00\x00\x01\x00\x00\x00 partial record bytes......" - 1);
        assert_int_equal(f->s->next_seq, 29);
        /* the unsealed tail is sealed at start-up by the daemon; here by hand */
        assert_int_equal(logd_store_seal(f->s), 0);
        add(f->s, 2, "system");
        assert_int_equal(logd_store_seal(f->s), 0);
        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_int_equal(v.verified_to, 30);
}

static void test_reopen_continues_chain(void **state)
{
        struct fx *f = *state;
        struct seal_result v;

        logd_store_close(&f->s);
        assert_int_equal(logd_store_open(f->segdir, f->dir, &cfg, &f->s), 0);
        assert_int_equal(f->s->seal_n, 3);
        add(f->s, 5, "event");
        assert_int_equal(logd_store_rotate(f->s), 0);
        add(f->s, 5, "event");
        assert_int_equal(logd_store_seal(f->s), 0);
        assert_int_equal(f->s->n_segs, 2);
        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_int_equal(v.verified_to, 35);
}

static void test_prune_keeps_unforwarded(void **state)
{
        struct fx *f = *state;
        struct seal_result v;

        assert_int_equal(logd_store_rotate(f->s), 0);
        add(f->s, 5, "event");
        f->s->cfg.quota_bytes = 1; /* everything is over quota */
        /* not forwarded beyond record 20: the first segment (1-25) stays */
        assert_int_equal(logd_store_prune(f->s, ds_now_real_ms(), 20), 0);
        assert_int_equal(f->s->n_segs, 2);
        assert_int_equal(logd_store_prune(f->s, ds_now_real_ms(), 25), 1);
        assert_int_equal(f->s->n_segs, 1);
        assert_int_equal(logd_store_seal(f->s), 0);
        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_OK);
        assert_int_equal(v.records, 6); /* the 5 and the sealed prune record */
        assert_int_equal(v.pruned_to, 25);
}

/* a segment removed by hand (no prune record) is named, however good the rest */
static void test_prune_without_record(void **state)
{
        struct fx *f = *state;
        struct seal_result v;
        char *p;

        assert_int_equal(logd_store_rotate(f->s), 0);
        add(f->s, 5, "event");
        assert_int_equal(logd_store_seal(f->s), 0);
        p = path_join(f->segdir, f->s->segs[0].name);
        assert_int_equal(unlink(p), 0);
        free(p);
        logd_store_close(&f->s);
        assert_int_equal(logd_store_open(f->segdir, f->dir, &cfg, &f->s), 0);
        verify(f, true, &v);
        assert_int_equal(v.kind, SEAL_V_PRUNE);
        assert_non_null(strstr(v.detail, "records 1-25"));
}

static void test_retention_by_age(void **state)
{
        struct fx *f = *state;

        assert_int_equal(logd_store_rotate(f->s), 0);
        add(f->s, 3, "event");
        f->s->cfg.retention_s = 86400;
        /* ten days later: the first segment is past retention, the active one never goes */
        assert_int_equal(logd_store_prune(f->s, ds_now_real_ms() + 10 * 86400 * 1000LL, UINT64_MAX), 1);
        assert_int_equal(f->s->n_segs, 1);
        assert_int_equal(f->s->segs[0].first, 26);
        /* an hour later nothing is old enough */
        assert_int_equal(logd_store_prune(f->s, ds_now_real_ms() + 3600 * 1000LL, UINT64_MAX), 0);
}

struct coll {
        uint64_t seq[64];
        int n;
};

static void collect(void *ud, const struct seal_rec *r)
{
        struct coll *c = ud;
        c->seq[c->n++] = r->seq;
}

static void test_query_paging(void **state)
{
        struct fx *f = *state;
        struct logd_query q = { .level_min = -1, .limit = 10, .user = "alice" };
        struct coll c = { .n = 0 };
        uint64_t next;

        add(f->s, 4, "operation");
        assert_int_equal(logd_query_run(f->s, &q, collect, &c, &next), 0);
        assert_int_equal(c.n, 10);
        assert_int_equal(c.seq[0], 29); /* newest first; alice = odd i = even seq */
        q.cursor = next;
        assert_int_equal(logd_query_run(f->s, &q, collect, &c, &next), 0);
        assert_int_equal(c.n, 14);
        assert_int_equal(next, 0);
        for (int i = 1; i < c.n; i++)
                assert_true(c.seq[i] < c.seq[i - 1]);
        c.n = 0;
        q = (struct logd_query){ .level_min = 4, .limit = 100, .category = "security" };
        assert_int_equal(logd_query_run(f->s, &q, collect, &c, &next), 0);
        assert_int_equal(c.n, 5); /* i % 5 == 0 among 25 */
}

static void test_rfc5424(void **state)
{
        struct seal_rec r = { .seq = 42, .ts = 1700000000123 };
        char line[512];
        int n;

        (void)state;
        snprintf(r.service, sizeof r.service, "authd");
        snprintf(r.category, sizeof r.category, "security");
        snprintf(r.level, sizeof r.level, "warning");
        snprintf(r.user, sizeof r.user, "a\"b]");
        snprintf(r.msg, sizeof r.msg, "login failed");
        n = logd_rfc5424(&r, "cam1", "dev-7", line, sizeof line);
        assert_true(n > 0);
        assert_string_equal(line, "<84>1 2023-11-14T22:13:20.123Z cam1 authd - security "
                                  "[devsec@32473 seq=\"42\" dev=\"dev-7\" user=\"a\\\"b\\]\" src=\"\"] login failed");
        assert_int_equal(logd_rfc5424(&r, "cam1", "dev-7", line, 20), -E2BIG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_once_and_evolves, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_swap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncate_tail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncate_mid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_drop_seal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_drop_last_seal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_seal_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rewritten_history_bad_mac, setup, teardown),
                cmocka_unit_test_setup_teardown(test_torn_record_recovered, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_continues_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_keeps_unforwarded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_without_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_paging, setup, teardown),
                cmocka_unit_test(test_rfc5424),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
