/* test_codec.c - the record encoder that writes straight into the store's buffer
 * (seal_rec_put) makes the very bytes msgpack-c's packer made for every record
 * before it, so that chain hashes over old and new records are computed alike;
 * and what it writes decodes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mp.h"
#include "seal.h"

/* The encoder as it was (msgpack-c's packer through mpw): the reference. */
static void ref_encode(struct mpw *w, const struct seal_rec *rec)
{
        mpw_map_begin(w);
        mpw_kv_uint(w, "seq", rec->seq);
        mpw_kv_int(w, "ts", rec->ts);
        if (rec->pub_ts)
                mpw_kv_int(w, "pts", rec->pub_ts);
        mpw_kv_int(w, "mono", rec->mono);
        mpw_kv_str(w, "svc", rec->service);
        mpw_kv_str(w, "cat", rec->category);
        mpw_kv_str(w, "lvl", rec->level);
        mpw_kv_str(w, "user", rec->user);
        mpw_kv_str(w, "src", rec->src);
        mpw_kv_str(w, "msg", rec->msg);
        if (rec->fields && rec->fields_len) {
                mpw_str(w, "f");
                mpw_raw(w, rec->fields, rec->fields_len);
        }
        if (rec->prune) {
                mpw_str(w, "prune");
                mpw_map_begin(w);
                mpw_kv_uint(w, "first_kept", rec->prune_first_kept);
                mpw_str(w, "head");
                mpw_bin(w, rec->prune_head, SEAL_HASH_LEN);
                mpw_map_end(w);
        }
        mpw_map_end(w);
}

static void fill(char *dst, size_t size, size_t n, char c)
{
        if (n >= size)
                n = size - 1;
        memset(dst, c, n);
        dst[n] = '\0';
}

static void same_bytes(const struct seal_rec *rec)
{
        static uint8_t buf[SEAL_REC_PUT_MAX];
        struct seal_rec *back = calloc(1, sizeof *back);
        struct mpw w;
        size_t n;

        mpw_init(&w);
        ref_encode(&w, rec);
        n = seal_rec_put(buf, rec);
        assert_int_equal(n, mpw_len(&w));
        assert_memory_equal(buf, mpw_data(&w), n);
        assert_non_null(back);
        if (!rec->seq || rec->seq > INT64_MAX) { /* not a record's number: the bytes are all there is to compare */
                mpw_free(&w);
                free(back);
                return;
        }
        assert_int_equal(seal_rec_decode((const char *)buf, n, back), 0);
        assert_int_equal(back->seq, rec->seq);
        assert_int_equal(back->ts, rec->ts);
        assert_int_equal(back->pub_ts, rec->pub_ts);
        assert_int_equal(back->mono, rec->mono);
        assert_string_equal(back->msg, rec->msg);
        assert_string_equal(back->user, rec->user);
        assert_int_equal(back->prune, rec->prune);
        mpw_free(&w);
        free(back);
}

static void test_same_bytes(void **state)
{
        static const int64_t ints[] = {
                0,         1,  127, 128, 255,  256,  65535,  65536,  4294967295ll,  4294967296ll,  1764770000000ll,
                INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, -2147483648ll, -2147483649ll, INT64_MIN};
        static const size_t lens[] = {0, 1, 31, 32, 255, 256, 2047, 2048};
        struct seal_rec *rec = calloc(1, sizeof *rec);
        uint8_t fields[SEAL_FIELDS_MAX];

        (void)state;
        assert_non_null(rec);
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
                memset(rec, 0, sizeof *rec);
                rec->seq = (uint64_t)ints[i];
                rec->ts = ints[i];
                rec->pub_ts = ints[(i + 3) % (sizeof ints / sizeof *ints)];
                rec->mono = ints[(i + 7) % (sizeof ints / sizeof *ints)];
                snprintf(rec->service, sizeof rec->service, "authd");
                snprintf(rec->category, sizeof rec->category, "security");
                snprintf(rec->level, sizeof rec->level, "info");
                snprintf(rec->src, sizeof rec->src, "authd");
                snprintf(rec->msg, sizeof rec->msg, "record %zu", i);
                same_bytes(rec);
        }
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
                memset(rec, 0, sizeof *rec);
                rec->seq = 1000 + i;
                rec->ts = 1764770000000ll;
                rec->mono = 123456;
                fill(rec->service, sizeof rec->service, lens[i], 's');
                fill(rec->category, sizeof rec->category, lens[i], 'c');
                fill(rec->level, sizeof rec->level, lens[i], 'l');
                fill(rec->user, sizeof rec->user, lens[i], 'u');
                fill(rec->src, sizeof rec->src, lens[i], 'r');
                fill(rec->msg, sizeof rec->msg, lens[i], 'm');
                same_bytes(rec);
        }
        /* structured fields (a msgpack map, copied as it is) and a prune record */
        {
                struct mpw f;
                mpw_init(&f);
                mpw_map_begin(&f);
                mpw_kv_int(&f, "n", 42);
                mpw_kv_str(&f, "ip", "192.0.2.1");
                mpw_map_end(&f);
                memcpy(fields, mpw_data(&f), mpw_len(&f));
                rec->fields = fields;
                rec->fields_len = mpw_len(&f);
                mpw_free(&f);
        }
        same_bytes(rec);
        rec->prune = true;
        rec->prune_first_kept = 70000;
        memset(rec->prune_head, 0xab, sizeof rec->prune_head);
        same_bytes(rec);
        rec->fields = NULL;
        rec->fields_len = 0;
        same_bytes(rec);
        /* fields longer than a record can hold are refused, never written past */
        rec->fields = fields;
        rec->fields_len = SEAL_FIELDS_MAX + 1;
        {
                static uint8_t buf[SEAL_REC_PUT_MAX];
                assert_int_equal(seal_rec_put(buf, rec), 0);
        }
        free(rec);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
