/* test_tuf.c - TUF client checks on metadata made here: a good chain, an
 * expired timestamp, a replayed old snapshot, thresholds (distinct keys),
 * root rotation (a new root signed by the old), a tampered role, a snapshot
 * that does not match its timestamp, canonical JSON */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "tuf.h"
#include "util.h"

#define NK 6
static unsigned char sk[NK][64], pk[NK][32];
static char ids[NK][65];
static int64_t now;

static json_t *key(int i)
{
        return tuf_key_new(pk[i]);
}

static void exp_at(char *buf, int64_t t)
{
        time_t tt = (time_t)t;
        struct tm tm;

        gmtime_r(&tt, &tm);
        strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A document of type with version and expiry, signed by the keys listed (-1 ends). */
static json_t *doc(json_t *signed_, int64_t version, int64_t expires, ...)
{
        json_t *m = json_pack("{so s[]}", "signed", signed_, "signatures");
        char e[40];
        va_list ap;
        int k;

        exp_at(e, expires);
        json_object_set_new(signed_, "version", json_integer(version));
        json_object_set_new(signed_, "expires", json_string(e));
        json_object_set_new(signed_, "spec_version", json_string("1.0.31"));
        va_start(ap, expires);
        while ((k = va_arg(ap, int)) >= 0) {
                json_t *kk = key(k);
                assert_int_equal(tuf_sign(m, kk, sk[k]), 0);
                json_decref(kk);
        }
        va_end(ap);
        return m;
}

/* root: key rk for root, 1 timestamp, 2 snapshot, 3 and 4 targets (threshold tt) */
static json_t *root_signed(int rk, int tt)
{
        json_t *keys = json_object();
        for (int i = 0; i < NK; i++)
                json_object_set_new(keys, ids[i], key(i));
        return json_pack("{ss sb so s{s{s[s]si} s{s[s]si} s{s[s]si} s{s[ss]si}}}", "_type", "root", "consistent_snapshot", 0,
                         "keys", keys, "roles", "root", "keyids", ids[rk], "threshold", 1, "timestamp", "keyids", ids[1],
                         "threshold", 1, "snapshot", "keyids", ids[2], "threshold", 1, "targets", "keyids", ids[3], ids[4],
                         "threshold", tt);
}

static char *dump(json_t *m)
{
        char *s = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        return s;
}

static void sha(const char *s, char out[65])
{
        unsigned char h[32];
        unsigned hl;

        EVP_Digest(s, strlen(s), h, &hl, EVP_sha256(), NULL);
        ds_hex(h, 32, out);
}

static char *timestamp(int64_t v, int64_t snap_v, const char *snap_text, int64_t expires)
{
        char h[65];
        json_t *s;

        sha(snap_text, h);
        s = json_pack("{ss s{s{sIsIs{ss}}}}", "_type", "timestamp", "meta", "snapshot.json", "version", (json_int_t)snap_v, "length",
                      (json_int_t)strlen(snap_text), "hashes", "sha256", h);
        return dump(doc(s, v, expires, 1, -1));
}

static char *snapshot(int64_t v, int64_t targets_v)
{
        return dump(doc(json_pack("{ss s{s{sI}}}", "_type", "snapshot", "meta", "targets.json", "version", (json_int_t)targets_v), v,
                        now + 3600, 2, -1));
}

static char *targets(int64_t v, int k1, int k2)
{
        json_t *s = json_pack("{ss s{s{sis{ss}s{ssss}}}}", "_type", "targets", "targets", "timed-1.0.1.bundle", "length", 1234,
                              "hashes", "sha256", "00", "custom", "component", "timed", "version", "1.0.1");
        return dump(doc(s, v, now + 3600, k1, k2, -1));
}

static void trusted(struct tuf_trusted *t, int tt)
{
        struct ds_err e;
        char *r = dump(doc(root_signed(0, tt), 1, now + 3600, 0, -1));

        memset(t, 0, sizeof *t);
        assert_int_equal(tuf_trust_root(t, r, strlen(r), &e), 0);
        free(r);
}

static int up(int (*fn)(struct tuf_trusted *, const char *, size_t, int64_t, struct ds_err *), struct tuf_trusted *t,
              char *text, struct ds_err *e)
{
        int r = fn(t, text, strlen(text), now, e);
        free(text);
        return r;
}

static int setup(void **s)
{
        (void)s;
        assert_true(sodium_init() >= 0);
        now = time(NULL);
        for (int i = 0; i < NK; i++) {
                json_t *k;
                crypto_sign_keypair(pk[i], sk[i]);
                k = key(i);
                tuf_keyid(k, ids[i]);
                json_decref(k);
        }
        return 0;
}

static void t_canonical(void **s)
{
        json_t *v = json_loads("{\"b\":1,\"a\":\"x\\\"y\\\\\",\"c\":[true,null,{\"z\":-2,\"y\":\"\"}]}", 0, NULL);
        char *c = tuf_canonical(v);

        (void)s;
        assert_string_equal(c, "{\"a\":\"x\\\"y\\\\\",\"b\":1,\"c\":[true,null,{\"y\":\"\",\"z\":-2}]}");
        free(c);
        json_decref(v);
        v = json_real(1.5);
        assert_null(tuf_canonical(v)); /* no floats in signed metadata */
        json_decref(v);
}

static void t_good_chain(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;
        char *sn = snapshot(1, 1);

        (void)s;
        trusted(&t, 1);
        assert_int_equal(tuf_check_root(&t, now, &e), 0);
        assert_int_equal(up(tuf_update_timestamp, &t, timestamp(1, 1, sn, now + 60), &e), 0);
        assert_int_equal(up(tuf_update_snapshot, &t, sn, &e), 0);
        assert_int_equal(up(tuf_update_targets, &t, targets(1, 3, -1), &e), 0);
        assert_non_null(tuf_target(&t, "timed-1.0.1.bundle"));
        assert_null(tuf_target(&t, "other"));
        tuf_trusted_free(&t);
}

static void t_expired(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;
        char *sn = snapshot(1, 1);

        (void)s;
        trusted(&t, 1);
        assert_int_equal(up(tuf_update_timestamp, &t, timestamp(1, 1, sn, now - 10), &e), -EINVAL);
        assert_string_equal(e.field, "timestamp");
        assert_non_null(strstr(e.msg, "expired"));
        free(sn);
        assert_int_equal(tuf_check_root(&t, now + 7200, &e), -EINVAL);
        tuf_trusted_free(&t);
}

static void t_replay(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;
        char *sn1 = snapshot(1, 1), *sn2 = snapshot(2, 2), *ts1 = timestamp(1, 1, sn1, now + 60);

        (void)s;
        trusted(&t, 1);
        assert_int_equal(up(tuf_update_timestamp, &t, timestamp(2, 2, sn2, now + 60), &e), 0);
        assert_int_equal(up(tuf_update_snapshot, &t, sn2, &e), 0);
        /* an older timestamp, and an old snapshot served under the new timestamp */
        assert_int_equal(up(tuf_update_timestamp, &t, ts1, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "replayed"));
        assert_int_equal(up(tuf_update_snapshot, &t, sn1, &e), -EINVAL);
        assert_string_equal(e.field, "snapshot");
        tuf_trusted_free(&t);
}

static void t_threshold(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;
        char *sn = snapshot(1, 1), *one, *dup;
        json_t *m;

        (void)s;
        trusted(&t, 2);
        assert_int_equal(up(tuf_update_timestamp, &t, timestamp(1, 1, sn, now + 60), &e), 0);
        assert_int_equal(up(tuf_update_snapshot, &t, sn, &e), 0);
        one = targets(1, 3, -1);
        assert_int_equal(up(tuf_update_targets, &t, one, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "threshold 2"));
        /* the same key twice is one key */
        m = json_loads(dup = targets(1, 3, 3), 0, NULL);
        free(dup);
        assert_int_equal(up(tuf_update_targets, &t, dump(m), &e), -EINVAL);
        /* a key not of the role does not count */
        assert_int_equal(up(tuf_update_targets, &t, targets(1, 3, 5), &e), -EINVAL);
        assert_int_equal(up(tuf_update_targets, &t, targets(1, 3, 4), &e), 0);
        tuf_trusted_free(&t);
}

static void t_rotation(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;

        (void)s;
        trusted(&t, 1);
        /* signed by the new root key alone: the old root never vouched for it */
        char *only_new = dump(doc(root_signed(5, 1), 2, now + 3600, 5, -1));
        assert_int_equal(tuf_update_root(&t, only_new, strlen(only_new), &e), -EINVAL);
        free(only_new);
        char *skip = dump(doc(root_signed(5, 1), 3, now + 3600, 0, 5, -1));
        assert_int_equal(tuf_update_root(&t, skip, strlen(skip), &e), -EINVAL);
        assert_non_null(strstr(e.msg, "must be the next"));
        free(skip);
        char *good = dump(doc(root_signed(5, 1), 2, now + 3600, 0, 5, -1));
        assert_int_equal(tuf_update_root(&t, good, strlen(good), &e), 0);
        free(good);
        assert_int_equal(tuf_version(&t, TUF_ROOT), 2);
        /* the old root key alone no longer signs roots */
        char *old = dump(doc(root_signed(0, 1), 3, now + 3600, 0, -1));
        assert_int_equal(tuf_update_root(&t, old, strlen(old), &e), -EINVAL);
        free(old);
        tuf_trusted_free(&t);
}

static void t_tampered(void **s)
{
        struct tuf_trusted t;
        struct ds_err e;
        char *sn = snapshot(1, 1), *ts = timestamp(1, 1, sn, now + 60), *p;

        (void)s;
        trusted(&t, 1);
        p = strstr(ts, "\"version\":1");
        p[10] = '7'; /* the snapshot's version inside the signed part */
        assert_int_equal(up(tuf_update_timestamp, &t, ts, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "valid signature"));
        assert_int_equal(up(tuf_update_timestamp, &t, timestamp(1, 1, sn, now + 60), &e), 0);
        sn[strlen(sn) - 2] = ' '; /* not the bytes the timestamp hashed */
        assert_int_equal(up(tuf_update_snapshot, &t, sn, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "SHA-256"));
        tuf_trusted_free(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_canonical), cmocka_unit_test(t_good_chain), cmocka_unit_test(t_expired),
                cmocka_unit_test(t_replay),    cmocka_unit_test(t_threshold),  cmocka_unit_test(t_rotation),
                cmocka_unit_test(t_tampered),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
