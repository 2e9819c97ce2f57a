/* test_rfc5424.c - the RFC 5424 formatter under a message size limit: the MSG is
 * cut at a UTF-8 character boundary with a marker, the header never is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "logd.h"

static void rec_init(struct seal_rec *r, const char *msg)
{
        memset(r, 0, sizeof *r);
        r->seq = 7;
        r->ts = 1700000000123;
        snprintf(r->service, sizeof r->service, "authd");
        snprintf(r->category, sizeof r->category, "security");
        snprintf(r->level, sizeof r->level, "notice");
        snprintf(r->src, sizeof r->src, "authd");
        snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static bool valid_utf8(const char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
                if (!k || i + k > n)
                        return false;
                for (size_t j = 1; j < k; j++)
                        if (((unsigned char)s[i + j] & 0xC0) != 0x80)
                                return false;
                i += k;
        }
        return true;
}

static void test_short_line_untouched(void **state)
{
        struct seal_rec r;
        char line[LOGD_RFC5424_MAX];
        bool cut = true;
        int n;

        (void)state;
        rec_init(&r, "login failed");
        n = logd_rfc5424_fit(&r, "cam1", "dev-7", 480, line, sizeof line, &cut);
        assert_true(n > 0 && n <= 480);
        assert_false(cut);
        assert_int_equal(n, logd_rfc5424(&r, "cam1", "dev-7", line, sizeof line));
}

/* every limit from the smallest RFC 5424 one up: never longer than the limit, the
 * cut never splits a character, and the marker says it was cut */
static void test_long_msg_cut_at_char_boundary(void **state)
{
        struct seal_rec r;
        char msg[LOGD_MSG_MAX + 1], line[LOGD_RFC5424_MAX], full[LOGD_RFC5424_MAX];
        size_t o = 0;
        int nfull;

        (void)state;
        /* 2, 3 and 4 byte characters so every cut position is hit */
        while (o + 4 < 1500) {
                static const char *const ch[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x93\xb7", "a" };
                const char *c = ch[o % 4];
                memcpy(msg + o, c, strlen(c));
                o += strlen(c);
        }
        msg[o] = '\0';
        rec_init(&r, msg);
        nfull = logd_rfc5424(&r, "cam1", "dev-7", full, sizeof full);
        assert_true(nfull > 1500);
        for (size_t max = 480; max < (size_t)nfull; max += 1) {
                bool cut = false;
                int n = logd_rfc5424_fit(&r, "cam1", "dev-7", max, line, sizeof line, &cut);
                size_t mk = strlen(LOGD_TRUNC_MARK);
                assert_true(n > 0);
                assert_true((size_t)n <= max);
                assert_true((size_t)n + 4 > max); /* at most one character short of the limit */
                assert_true(cut);
                assert_memory_equal(line + n - mk, LOGD_TRUNC_MARK, mk);
                assert_true(valid_utf8(line, (size_t)n));
                /* what is kept is the start of the full line */
                assert_memory_equal(line, full, (size_t)n - mk);
        }
        {
                bool cut = true;
                assert_int_equal(logd_rfc5424_fit(&r, "cam1", "dev-7", (size_t)nfull, line, sizeof line, &cut), nfull);
                assert_false(cut);
        }
}

static void test_header_too_long_is_an_error(void **state)
{
        struct seal_rec r;
        char line[LOGD_RFC5424_MAX], host[256];
        bool cut = false;

        (void)state;
        rec_init(&r, "x");
        memset(host, 'h', 250);
        host[250] = '\0';
        snprintf(r.src, sizeof r.src, "%s", "a-long-source-identity-of-sixty-three-characters-for-the-header");
        snprintf(r.user, sizeof r.user, "%s", "an-operator-name-of-32-character");
        assert_int_equal(logd_rfc5424_fit(&r, host, "device-with-a-rather-long-identifier-too-sixty-three-chars-long",
                                          480, line, sizeof line, &cut),
                         -E2BIG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_short_line_untouched),
                cmocka_unit_test(test_long_msg_cut_at_char_boundary),
                cmocka_unit_test(test_header_too_long_is_an_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
