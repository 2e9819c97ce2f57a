/* test_check.c - sftp-storage's pure logic: listings (the lines the SFTP
 * path writes from readdir parse back to the same names and sizes), the
 * marker, names */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sftp.h"

struct seen {
        unsigned n;
        char name[4][64];
        uint64_t size[4];
        bool dir[4];
};

static void one(void *ud, const char *name, uint64_t size, bool dir)
{
        struct seen *s = ud;

        if (s->n < 4) {
                snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
                s->size[s->n] = size;
                s->dir[s->n] = dir;
        }
        s->n++;
}

static void test_list_lines_round_trip(void **state)
{
        char text[1024] = "", line[300];
        struct seen s = { 0 };
        int n;

        (void)state;
        const char *names[] = { ".", "..", ".devsec-storage", "0123456789ab-big bin.part", "sub" };
        const uint64_t sizes[] = { 4096, 4096, 47, 5368709120ULL, 4096 };
        for (unsigned i = 0; i < 5; i++) {
                n = stor_list_line(line, sizeof line, names[i], strlen(names[i]), sizes[i], i == 4 || i < 2);
                assert_true(n > 0);
                assert_int_equal((size_t)n, strlen(line));
                strcat(text, line);
        }
        assert_int_equal(stor_list_parse(text, strlen(text), one, &s), 0);
        assert_int_equal(s.n, 3); /* . and .. left out */
        assert_string_equal(s.name[0], ".devsec-storage");
        assert_true(s.size[0] == 47 && !s.dir[0]);
        assert_string_equal(s.name[1], "0123456789ab-big bin.part"); /* a space in a name survives */
        assert_true(s.size[1] == 5368709120ULL && !s.dir[1]);
        assert_string_equal(s.name[2], "sub");
        assert_true(s.dir[2]);
        /* the name's length comes from readdir, not a terminator */
        n = stor_list_line(line, sizeof line, "abcdef", 3, 1, false);
        assert_string_equal(line, "-rw-r--r-- 1 - - 1 Jan 1 00:00 abc\n");
        assert_int_equal(stor_list_line(line, 16, "abc", 3, 1, false), -ENOSPC);
        /* a server's name with a newline or a NUL is one entry, never a
         * line of its own naming our file (a forged size) or a name cut short */
        static const char forged[] = "x\n-rw-r--r-- 1 - - 47 Jan 1 00:00 .devsec-storage";
        n = stor_list_line(line, sizeof line, forged, sizeof forged - 1, 1, false);
        assert_true(n > 0);
        s.n = 0;
        assert_int_equal(stor_list_parse(line, (size_t)n, one, &s), 0);
        assert_int_equal(s.n, 1);
        assert_true(strncmp(s.name[0], "x?-rw", 5) == 0);
        n = stor_list_line(line, sizeof line, "abc\0-a.bin", 10, 1, false);
        assert_string_equal(line, "-rw-r--r-- 1 - - 1 Jan 1 00:00 abc?-a.bin\n");
}

static void test_marker(void **state)
{
        char text[256], dev[128];
        int n;

        (void)state;
        n = stor_marker_text("cam-test-1", text, sizeof text);
        assert_true(n > 0);
        assert_int_equal(stor_marker_device(text, (size_t)n, dev, sizeof dev), 0);
        assert_string_equal(dev, "cam-test-1");
        assert_int_equal(stor_marker_device("no device here\n", 15, dev, sizeof dev), -EINVAL);
}

static void test_names(void **state)
{
        char final[STOR_NAME_MAX + 32], tmp[STOR_NAME_MAX + 40];

        (void)state;
        assert_true(stor_name_ok("rec-0001.mp4"));
        assert_false(stor_name_ok(".hidden"));
        assert_false(stor_name_ok("a/b"));
        stor_final_name("0123456789abcdef0123456789abcdef", "a.bin", final, sizeof final);
        stor_tmp_name(final, tmp, sizeof tmp);
        assert_string_equal(final, "0123456789ab-a.bin");
        assert_string_equal(tmp, ".0123456789ab-a.bin.part");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list_lines_round_trip),
                cmocka_unit_test(test_marker),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
