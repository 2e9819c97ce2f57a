/* test_backup - the device backup file: round trip, and every alteration
 * (header, a chunk, truncation at a chunk boundary, trailing bytes, a wrong
 * passphrase, a newer format major) refused with nothing decrypted */
#include <errno.h>
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
#include <sodium.h>

#include "backup.h"
#include "state.h"

static const struct ds_backup_kdf fast = {.ops = 1, .mem = 8192};
static char dir[] = "/tmp/test_backup.XXXXXX";
static unsigned char big[200000]; /* four chunks */

static char *path(const char *name)
{
        static char p[2][256];
        static int i;

        i ^= 1;
        snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
        return p[i];
}

static void write_one(const char *name, const void *data, size_t len)
{
        struct mpw m;
        char why[256];

        mpw_init(&m);
        mpw_map_begin(&m);
        mpw_kv_str(&m, "device", "cam-1");
        mpw_map_end(&m);
        assert_int_equal(mpw_finish(&m), 0);
        assert_int_equal(ds_backup_write(path(name), mpw_data(&m), mpw_len(&m), data, len, "pass phrase", &fast, why,
                                         sizeof why),
                         0);
        mpw_free(&m);
}

static int open_with(const char *name, const char *pass, char *why, size_t size)
{
        struct ds_backup b;
        int r = ds_backup_open(path(name), &b, why, size);

        if (r == 0)
                r = ds_backup_decrypt(&b, pass, why, size);
        if (r == 0)
                assert_true(b.len == sizeof big && memcmp(b.data, big, sizeof big) == 0);
        else
                assert_null(b.data);
        ds_backup_free(&b);
        return r;
}

/* name2 = name with f applied to its bytes */
static void variant(const char *name, const char *name2, void (*f)(char *d, size_t *len))
{
        char *d;
        size_t len;

        assert_int_equal(state_read(dir, name, 1 << 22, &d, &len), 0);
        f(d, &len);
        assert_int_equal(state_write(dir, name2, d, len, 0600), 0);
        free(d);
}

static void flip_header(char *d, size_t *len)
{
        (void)len;
        d[20] ^= 1; /* inside the header map */
}
static void flip_last_chunk(char *d, size_t *len)
{
        d[*len - 5] ^= 1;
}
static void drop_last_chunk(char *d, size_t *len)
{
        /* the last chunk: 200000 % 65536 = 3392 bytes + 17 + its length */
        (void)d;
        *len -= 3392 + crypto_secretstream_xchacha20poly1305_ABYTES + 4;
}
static void add_byte(char *d, size_t *len)
{
        (void)d;
        *len += 1; /* state_read leaves a NUL beyond len: one trailing byte */
}
static void newer_major(char *d, size_t *len)
{
        char *p = memmem(d, *len, "\xa5major\x01", 7);

        assert_non_null(p);
        p[6] = 2;
}

static void round_trip_and_refusals(void **state)
{
        char why[256];

        (void)state;
        randombytes_buf(big, sizeof big);
        write_one("ok", big, sizeof big);
        assert_int_equal(open_with("ok", "pass phrase", why, sizeof why), 0);
        assert_int_equal(open_with("ok", "pass phrase!", why, sizeof why), -EKEYREJECTED);
        assert_non_null(strstr(why, "wrong passphrase"));
        variant("ok", "hdr", flip_header);
        assert_int_not_equal(open_with("hdr", "pass phrase", why, sizeof why), 0);
        variant("ok", "last", flip_last_chunk);
        assert_int_equal(open_with("last", "pass phrase", why, sizeof why), -EBADMSG);
        assert_non_null(strstr(why, "chunk 3"));
        variant("ok", "trunc", drop_last_chunk);
        assert_int_equal(open_with("trunc", "pass phrase", why, sizeof why), -ENODATA);
        assert_non_null(strstr(why, "truncated"));
        variant("ok", "trail", add_byte);
        assert_int_equal(open_with("trail", "pass phrase", why, sizeof why), -EBADMSG);
        variant("ok", "major", newer_major);
        assert_int_equal(open_with("major", "pass phrase", why, sizeof why), -EPROTONOSUPPORT);
        assert_non_null(strstr(why, "format 2.0 is newer"));
}

static void header_in_clear_file_0600(void **state)
{
        struct ds_backup b;
        struct stat st;
        char why[256];

        (void)state;
        write_one("small", "x", 1);
        assert_int_equal(ds_backup_open(path("small"), &b, why, sizeof why), 0);
        assert_true(mp_streq(mp_get(&b.hdr.data, "device"), "cam-1"));
        assert_int_equal(b.major, DS_BACKUP_MAJOR);
        ds_backup_free(&b);
        assert_int_equal(stat(path("small"), &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(round_trip_and_refusals),
                cmocka_unit_test(header_in_clear_file_0600),
        };
        int r;

        if (sodium_init() < 0 || !mkdtemp(dir))
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        for (const char *const *n =
                     (const char *const[]){"ok", "hdr", "last", "trunc", "trail", "major", "small", NULL};
             *n; n++)
                unlink(path(*n));
        rmdir(dir);
        return r;
}
