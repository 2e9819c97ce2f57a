/* test_index - anr-d's pure logic (segment names, the signed entry, intervals
 * merged when flapping, coverage, the token bucket) and the camera's methods
 * through their schemas: only the NVR's identity, names that cannot leave the
 * directory, reads bounded to 512 KiB. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "anr.h"
#include "state.h"

static void segment_names(void **state)
{
        int64_t s, e;

        (void)state;
        assert_null(anr_segment_name_check("1700000000000-1700000001000.ts", 30));
        assert_null(anr_segment_name_check("1700000000.mp4", 14));
        assert_non_null(anr_segment_name_check("../etc/passwd", 13));
        assert_non_null(anr_segment_name_check("1700000000000/../x", 18));
        assert_non_null(anr_segment_name_check("1700000000000..ts", 17));
        assert_non_null(anr_segment_name_check(".1700000000000.ts", 17));
        assert_non_null(anr_segment_name_check("1700000000000.ts.part", 21));
        assert_non_null(anr_segment_name_check("1700000000000.tmp", 17));
        assert_non_null(anr_segment_name_check("", 0));
        assert_non_null(anr_segment_name_check("17000000000 0.ts", 16));
        assert_int_equal(anr_segment_times("1700000000000-1700000001500.ts", &s, &e), 0);
        assert_int_equal(s, 1700000000000);
        assert_int_equal(e, 1700000001500);
        assert_int_equal(anr_segment_times("1700000000.ts", &s, &e), 0); /* seconds */
        assert_int_equal(s, 1700000000000);
        assert_int_equal(e, 0);
        assert_int_equal(anr_segment_times("1700000001000-1700000000000.ts", &s, &e), -EINVAL); /* ends first */
        assert_int_equal(anr_segment_times("12.ts", &s, &e), -EINVAL);
        assert_null(anr_camera_id_check("cam-1_a", 7));
        assert_non_null(anr_camera_id_check("Cam1", 4));
        assert_non_null(anr_camera_id_check("cam/1", 5));
        assert_non_null(anr_camera_id_check("abcdefghijklmnopqrstuvwxy", 25));
}

static void signed_entry(void **state)
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], pk2[crypto_sign_PUBLICKEYBYTES],
                sk2[crypto_sign_SECRETKEYBYTES];
        struct anr_entry e = { .name = "1700000000000-1700000001000.ts", .start_ms = 1700000000000,
                               .end_ms = 1700000001000, .size = 1234 }, r, t;
        msgpack_unpacked u;
        const char *why, *field;
        struct mpw w;

        (void)state;
        assert_true(sodium_init() >= 0);
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(pk2, sk2);
        memset(e.sha256, 0xab, sizeof e.sha256);
        assert_int_equal(anr_entry_sign("cam1", &e, sk), 0);
        assert_true(anr_entry_verify("cam1", &e, pk));
        assert_false(anr_entry_verify("cam1", &e, pk2)); /* another camera's key */
        assert_false(anr_entry_verify("cam2", &e, pk));  /* signed for another camera */
        t = e;
        t.size++;
        assert_false(anr_entry_verify("cam1", &t, pk));
        t = e;
        t.sha256[3] ^= 1;
        assert_false(anr_entry_verify("cam1", &t, pk));
        t = e;
        t.end_ms += 1000;
        assert_false(anr_entry_verify("cam1", &t, pk));
        /* round trip on the wire */
        mpw_init(&w);
        anr_entry_write(&w, &e);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(anr_entry_read(&u.data, &r, &field), 0);
        assert_string_equal(r.name, e.name);
        assert_true(anr_entry_verify("cam1", &r, pk));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        /* a hostile entry: a name with a path */
        snprintf(t.name, sizeof t.name, "../../x");
        mpw_init(&w);
        anr_entry_write(&w, &t);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(anr_entry_read(&u.data, &r, &field), -EINVAL);
        assert_string_equal(field, "name");
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
}

static void intervals_merge(void **state)
{
        struct anr_interval iv[4];
        unsigned n = 0;
        bool merged;
        struct anr_interval *a;

        (void)state;
        memset(iv, 0, sizeof iv);
        a = anr_intervals_open(iv, &n, 4, 1000, 30000, &merged);
        assert_non_null(a);
        assert_false(merged);
        assert_int_equal(n, 1);
        assert_ptr_equal(anr_intervals_current(iv, n), a);
        /* a second loss while open: the same interval */
        assert_ptr_equal(anr_intervals_open(iv, &n, 4, 2000, 30000, &merged), a);
        assert_int_equal(n, 1);
        a->closed_ms = 5000;
        a->state = ANR_I_PENDING;
        assert_null(anr_intervals_current(iv, n));
        /* flapping: lost again 10 s after the return, before the fill */
        a = anr_intervals_open(iv, &n, 4, 15000, 30000, &merged);
        assert_true(merged);
        assert_int_equal(n, 1);
        assert_int_equal(a->opened_ms, 1000);
        assert_int_equal(a->closed_ms, 0);
        assert_int_equal(a->flaps, 1);
        /* a loss long after a filled interval: a new one */
        a->closed_ms = 20000;
        a->state = ANR_I_FILLED;
        a = anr_intervals_open(iv, &n, 4, 25000, 30000, &merged);
        assert_false(merged);
        assert_int_equal(n, 2);
        /* bounded: the oldest finished interval goes, unfinished ones never */
        for (unsigned i = 0; i < 2; i++) {
                iv[n - 1].closed_ms = 100000 * (i + 1);
                iv[n - 1].state = ANR_I_PENDING;
                assert_non_null(anr_intervals_open(iv, &n, 4, 100000 * (i + 1) + 60000, 30000, &merged));
        }
        assert_int_equal(n, 4);
        iv[3].closed_ms = 900000;
        iv[3].state = ANR_I_PENDING;
        assert_non_null(anr_intervals_open(iv, &n, 4, 990000, 30000, &merged));
        assert_int_equal(n, 4);
        assert_int_not_equal(iv[0].state, ANR_I_FILLED); /* the filled one was dropped */
        for (unsigned i = 0; i < 4; i++)
                iv[i].state = ANR_I_PENDING, iv[i].closed_ms = iv[i].closed_ms ? iv[i].closed_ms : 999000;
        assert_null(anr_intervals_open(iv, &n, 4, 2000000, 30000, &merged));
}

static void coverage(void **state)
{
        struct anr_entry e[3] = { { .start_ms = 0, .end_ms = 1000 }, { .start_ms = 1000, .end_ms = 2000 },
                                  { .start_ms = 5000, .end_ms = 6000 } };

        (void)state;
        assert_int_equal(anr_uncovered_ms(e, 2, 0, 2000, 100), 0);
        assert_int_equal(anr_uncovered_ms(e, 3, 0, 6000, 100), 3000);
        assert_int_equal(anr_uncovered_ms(e, 0, 0, 6000, 100), 6000);
        assert_int_equal(anr_uncovered_ms(e, 3, 500, 1500, 100), 0);
}

static void bucket(void **state)
{
        struct anr_bucket b;
        int64_t wait;

        (void)state;
        anr_bucket_init(&b, 100000, 25000, 0); /* 100 kB/s */
        assert_int_equal(anr_bucket_take(&b, 25000, 25000, 0, &wait), 25000);
        assert_int_equal(anr_bucket_take(&b, 25000, 25000, 0, &wait), 0);
        assert_in_range(wait, 249, 251);
        assert_int_equal(anr_bucket_take(&b, 25000, 25000, 250, &wait), 25000);
        /* 1 MB takes about 10 s at this rate */
        uint64_t sent = 0;
        int64_t t = 250;
        while (sent < 1000000) {
                uint64_t g = anr_bucket_take(&b, 25000, 25000, t, &wait);
                sent += g;
                if (!g)
                        t += wait;
        }
        assert_in_range(t, 9700, 10300);
        anr_bucket_init(&b, 0, 0, 0); /* unlimited */
        assert_int_equal(anr_bucket_take(&b, 1 << 20, 1, 0, &wait), 1 << 20);
}

/* ---- the camera's methods, through their schemas ------------------------- */

struct cam_fixture {
        char dir[64];
        struct ds_daemon d;
        struct anr_ctx x;
};

static int call(struct anr_ctx *x, const char *method, const struct mpw *args, const char *caller, bool svc,
                struct mpw *out, struct ds_err *err)
{
        const struct ds_method *m = NULL;
        struct ds_call c = { .ctx = x };
        msgpack_unpacked au;
        const char *why;
        int r;

        for (const struct ds_method *k = anr_methods; k->name; k++)
                if (!strcmp(k->name, method))
                        m = k;
        assert_non_null(m);
        c.m = m;
        snprintf(c.caller.id, sizeof c.caller.id, "%s", caller);
        c.caller.svc = svc;
        mpw_init(out);
        mpw_map_begin(out);
        c.r = out;
        ds_err_clear(&c.err);
        if (!ds_caller_allowed(&c.caller, m->auth))
                return -EPERM;
        if (args) {
                assert_int_equal(mp_decode(mpw_data(args), mpw_len(args), NULL, &au, &why), 0);
                c.args = &au.data;
        }
        r = ds_call_bind(&c, c.args);
        if (r == 0)
                r = m->fn(x, &c);
        mpw_map_end(out);
        *err = c.err;
        if (args)
                msgpack_unpacked_destroy(&au);
        return r;
}

static void read_args(struct mpw *w, const char *seg, int64_t off, int64_t len)
{
        mpw_init(w);
        mpw_map_begin(w);
        mpw_kv_str(w, "segment", seg);
        mpw_kv_int(w, "offset", off);
        mpw_kv_int(w, "length", len);
        mpw_map_end(w);
}

static void write_file(const char *dir, const char *name, size_t n)
{
        char *p = path_join(dir, name);
        FILE *f = fopen(p, "w");

        assert_non_null(f);
        for (size_t i = 0; i < n; i++)
                fputc((int)(i * 7 % 251), f);
        fclose(f);
        free(p);
}

static void camera_methods(void **state)
{
        struct cam_fixture *f = calloc(1, sizeof *f);
        struct anr_ctx *x = &f->x;
        struct mpw a, out;
        struct ds_err e;
        msgpack_unpacked u;
        const char *why;

        (void)state;
        snprintf(f->dir, sizeof f->dir, "/tmp/anr-test.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->d.statedir = f->dir;
        x->d = &f->d;
        x->camera_role = true;
        snprintf(x->camera_id, sizeof x->camera_id, "cam1");
        snprintf(x->nvr_identity, sizeof x->nvr_identity, "anr-d");
        snprintf(x->rec_dir, sizeof x->rec_dir, "%s/rec", f->dir);
        x->max_index = 100;
        assert_int_equal(anr_key_ensure(x), 0);
        struct stat st;
        char *kp = path_join(f->dir, "device.key");
        assert_int_equal(stat(kp, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(kp);
        assert_int_equal(state_mkdir_p(x->rec_dir, 0700), 0);
        char *idir = path_join(f->dir, "index");
        assert_int_equal(state_mkdir_p(idir, 0700), 0);
        free(idir);
        write_file(x->rec_dir, "1700000000000-1700000001000.ts", 700000);
        write_file(x->rec_dir, "1700000001000-1700000002000.ts", 1000);
        write_file(x->rec_dir, ".1700000002000.ts", 10);             /* being written */
        write_file(x->rec_dir, "1700000002000-1700000003000.ts.part", 10);
        char *tgt = path_join(x->rec_dir, "1700000003000-1700000004000.ts");
        assert_int_equal(symlink("/etc/passwd", tgt), 0); /* not a closed segment: a link out */
        free(tgt);
        assert_int_equal(anr_camera_scan(x), 0);
        assert_int_equal(x->n_idx, 2);

        /* the index, to the NVR only */
        assert_int_equal(call(x, "anr.index", NULL, "anr-d", true, &out, &e), 0);
        assert_int_equal(mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why), 0);
        assert_int_equal(mp_get(&u.data, "entries")->via.array.size, 2);
        struct anr_entry ent;
        const char *field;
        assert_int_equal(anr_entry_read(&mp_get(&u.data, "entries")->via.array.ptr[0], &ent, &field), 0);
        assert_true(anr_entry_verify("cam1", &ent, x->pk));
        assert_int_equal(ent.size, 700000);
        msgpack_unpacked_destroy(&u);
        mpw_free(&out);
        assert_int_equal(call(x, "anr.index", NULL, "logd", true, &out, &e), -EPERM); /* another daemon */
        mpw_free(&out);
        assert_int_equal(call(x, "anr.index", NULL, "devctl", false, &out, &e), -EPERM); /* an operator */
        mpw_free(&out);
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_int(&a, "since", 1700000001500);
        mpw_kv_int(&a, "until", 1700000009000);
        mpw_map_end(&a);
        assert_int_equal(call(x, "anr.index", &a, "anr-d", true, &out, &e), 0);
        assert_int_equal(mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why), 0);
        assert_int_equal(mp_get(&u.data, "entries")->via.array.size, 1);
        msgpack_unpacked_destroy(&u);
        mpw_free(&out);
        mpw_free(&a);

        /* reads: bounded, inside the directory, only indexed segments */
        read_args(&a, "1700000000000-1700000001000.ts", 0, ANR_READ_MAX);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), 0);
        assert_int_equal(mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why), 0);
        assert_int_equal(mp_get(&u.data, "data")->via.bin.size, ANR_READ_MAX);
        assert_false(mp_get_bool(&u.data, "eof", true));
        assert_int_equal((unsigned char)mp_get(&u.data, "data")->via.bin.ptr[10], 70);
        msgpack_unpacked_destroy(&u);
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000000000-1700000001000.ts", ANR_READ_MAX, ANR_READ_MAX);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), 0);
        assert_int_equal(mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why), 0);
        assert_int_equal(mp_get(&u.data, "data")->via.bin.size, 700000 - ANR_READ_MAX);
        assert_true(mp_get_bool(&u.data, "eof", false));
        msgpack_unpacked_destroy(&u);
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000000000-1700000001000.ts", 0, ANR_READ_MAX + 1);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), -EINVAL);
        assert_string_equal(e.field, "length");
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "../../etc/passwd", 0, 10);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), -EINVAL);
        assert_string_equal(e.field, "segment");
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000003000-1700000004000.ts", 0, 10); /* the link */
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), -ENOENT);
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000001000-1700000002000.ts", 1001, 10);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), -EINVAL);
        assert_string_equal(e.field, "offset");
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000001000-1700000002000.ts", -1, 10);
        assert_int_equal(call(x, "anr.read", &a, "anr-d", true, &out, &e), -EINVAL);
        assert_string_equal(e.field, "offset");
        mpw_free(&out);
        mpw_free(&a);
        read_args(&a, "1700000001000-1700000002000.ts", 0, 10);
        assert_int_equal(call(x, "anr.read", &a, "rogue", true, &out, &e), -EPERM);
        mpw_free(&out);
        mpw_free(&a);

        /* a deleted segment leaves the index and its entry file */
        char *p = path_join(x->rec_dir, "1700000001000-1700000002000.ts");
        unlink(p);
        free(p);
        assert_int_equal(anr_camera_scan(x), 0);
        assert_int_equal(x->n_idx, 1);
        anr_camera_stop(x);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(segment_names), cmocka_unit_test(signed_entry), cmocka_unit_test(intervals_merge),
                cmocka_unit_test(coverage),      cmocka_unit_test(bucket),       cmocka_unit_test(camera_methods),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
