/* test_compose - the message built from a queued item (no header injection,
 * Message-ID from the queue id, CRLF) and the alarm rules with their coalescing */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp.h"

static void compose_is_safe(void **state)
{
        const char *to[] = { "ops@example.test" };
        struct curl_slist *rcpt = NULL;
        char *msg = NULL;
        size_t len;
        struct mpw w;

        (void)state;
        mpw_init(&w);
        assert_int_equal(smtp_item_encode(&w, "alarm", to, 1, "evil\r\nBcc: victim@example.test", "line1\nline2"), 0);
        assert_int_equal(smtp_compose(mpw_data(&w), mpw_len(&w), "cam@example.test", "0123456789abcdef0123456789abcdef",
                                      0, &msg, &len, &rcpt),
                         0);
        assert_null(strstr(msg, "\r\nBcc:"));
        assert_non_null(strstr(msg, "Subject: evil  Bcc: victim@example.test\r\n"));
        assert_non_null(strstr(msg, "Message-ID: <0123456789abcdef0123456789abcdef@example.test>\r\n"));
        assert_non_null(strstr(msg, "\r\n\r\nline1\r\nline2\r\n"));
        assert_string_equal(rcpt->data, "<ops@example.test>");
        assert_null(rcpt->next);
        free(msg);
        curl_slist_free_all(rcpt);
        mpw_free(&w);

        /* a recipient that is not an address is refused */
        const char *bad[] = { "a@b.test>\r\nRCPT TO:<x@y.test" };
        mpw_init(&w);
        smtp_item_encode(&w, "alarm", bad, 1, "s", "b");
        assert_int_equal(smtp_compose(mpw_data(&w), mpw_len(&w), "cam@example.test", "0123456789abcdef0123456789abcdef",
                                      0, &msg, &len, &rcpt),
                         -EBADMSG);
        mpw_free(&w);
        assert_int_equal(smtp_compose("\xc1", 1, "c@e.test", "x", 0, &msg, &len, &rcpt), -EBADMSG);
}

static void rules_and_coalescing(void **state)
{
        struct smtp_conf c = { .coalesce_ms = 1000, .burst = 3 };
        const char *why;
        int mails = 0;

        (void)state;
        assert_int_equal(smtp_rule_parse("auth.locked ops@example.test,sec@example.test", &c.rules[0], &why), 0);
        assert_int_equal(c.rules[0].n_rcpt, 2);
        assert_int_equal(smtp_rule_parse("auth", &c.rules[1], &why), 0);
        c.n_rules = 2;
        assert_int_equal(smtp_rule_parse("Auth.Locked", &c.rules[2], &why), -EINVAL);
        assert_int_equal(smtp_rule_parse("auth.locked not-an-address", &c.rules[2], &why), -EINVAL);
        assert_ptr_equal(smtp_rule_match(&c, "auth.locked"), &c.rules[0]);
        assert_ptr_equal(smtp_rule_match(&c, "auth.session.revoked"), &c.rules[1]);
        assert_null(smtp_rule_match(&c, "time.changed"));
        for (int i = 0; i < 1000; i++)
                mails += smtp_rule_event(&c.rules[0], &c, 5000, "x") == SMTP_EV_MAIL;
        assert_int_equal(mails, 3);
        assert_int_equal(c.rules[0].digest_n, 997);
        assert_false(smtp_rule_due(&c.rules[0], &c, 5500, false));
        assert_true(smtp_rule_due(&c.rules[0], &c, 6000, false));
        smtp_rule_reset(&c.rules[0]);
        c.coalesce_ms = 0; /* off: every event a mail */
        assert_int_equal(smtp_rule_event(&c.rules[0], &c, 7000, "x"), SMTP_EV_MAIL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(compose_is_safe),
                cmocka_unit_test(rules_and_coalescing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
