/* methods.c - smtp-notifier's settings, methods (mail.*) and audit items */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtp.h"
#include "util.h"

static const char *const tls_modes[] = { "starttls", "implicit", NULL };
static const struct ds_field email_item = { NULL, DS_STR, 0, .max_len = 254, .check = ds_check_email };
static const struct ds_field rule_item = { NULL, DS_STR, 0, .max_len = 600, .check = ds_check_printable };

const struct ds_field smtp_settings[] = {
        { "host", DS_STR, 0, .max_len = 253, .def_str = "", .help = "SMTP server (name or address); empty: nothing is sent" },
        { "port", DS_INT, 0, .min = 1, .max = 65535, .def_int = 587, .help = "587 (submission, STARTTLS) or 465 (implicit TLS)" },
        { "tls", DS_STR, 0, .enums = tls_modes, .def_str = "starttls",
          .help = "starttls (required: no plaintext fallback) or implicit (smtps); there is no plaintext mode" },
        { "ca_file", DS_STR, 0, .max_len = 4095, .def_str = "",
          .help = "PEM CA bundle the server certificate must chain to; empty: the system store" },
        { "username", DS_STR, 0, .max_len = 254, .check = ds_check_printable, .def_str = "",
          .help = "account for AUTH (sent only inside TLS); empty: no AUTH" },
        { "password", DS_STR, DS_SECRET, .max_len = 254, .def_str = "", .help = "account password (kept 0600, never exported)" },
        { "from", DS_STR, 0, .max_len = 254, .def_str = "", .help = "sender address" },
        { "alarm_to", DS_ARRAY, 0, .max_len = SMTP_RCPT_MAX, .sub = &email_item,
          .help = "recipients of alarms whose rule names none" },
        { "alarms", DS_ARRAY, 0, .max_len = SMTP_RULES_MAX, .sub = &rule_item,
          .help = "alarm rules 'TOPIC-PREFIX [RCPT,...]'" },
        { "coalesce_s", DS_INT, 0, .min = 0, .max = 3600, .def_int = 60,
          .help = "window of the burst limit per rule; 0: every event its own mail" },
        { "burst", DS_INT, 0, .min = 0, .max = 100, .def_int = 3,
          .help = "events of a rule mailed one by one per window; the rest become one digest" },
        { "timeout_s", DS_INT, 0, .min = 1, .max = 300, .def_int = 30, .help = "connect timeout (the whole mail: twice)" },
        { "queue_max_items", DS_INT, 0, .min = 1, .max = 100000, .def_int = 2000, .help = "outbox quota, mails" },
        { "queue_max_kib", DS_INT, 0, .min = 64, .max = 1048576, .def_int = 16384, .help = "outbox quota, KiB" },
        { "max_age_s", DS_INT, 0, .min = 60, .max = 2592000, .def_int = 604800,
          .help = "a mail not delivered after this goes to the failed folder" },
        { "retry_min_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 10, .help = "first retry after" },
        { "retry_max_s", DS_INT, 0, .min = 1, .max = 86400, .def_int = 900, .help = "retries capped at" },
        { NULL },
};

static void write_conf(struct smtp_ctx *x, struct mpw *w)
{
        const struct smtp_conf *c = &x->conf;

        mpw_kv_bool(w, "configured", smtp_configured(x));
        mpw_kv_str(w, "host", c->host);
        mpw_kv_int(w, "port", c->port);
        mpw_kv_str(w, "tls", c->implicit_tls ? "implicit" : "starttls (required)");
        mpw_kv_str(w, "verify", c->ca_file[0] ? c->ca_file : "system store");
        mpw_kv_str(w, "username", c->username);
        mpw_kv_bool(w, "password_set", x->password && x->password[0]);
        mpw_kv_str(w, "from", c->from);
}

void smtp_write_queue_stats(struct smtp_ctx *x, struct mpw *w)
{
        struct dsq_stats st;

        dsq_get_stats(x->q, &st);
        ds_queue_write_stats(x->q, st.refused, w);
        mpw_kv_uint(w, "sent", x->sent);
        mpw_kv_uint(w, "failed_attempts", x->failed_attempts);
        mpw_kv_uint(w, "resets_queued", x->resets_queued);
        mpw_kv_uint(w, "alarms_queued", x->alarms_queued);
        mpw_kv_uint(w, "digests_queued", x->digests_queued);
        mpw_kv_uint(w, "events_coalesced", x->events_coalesced);
        mpw_kv_str(w, "last_error", x->last_error);
}

static int h_mail_show(void *ctx, struct ds_call *c)
{
        struct smtp_ctx *x = ctx;

        write_conf(x, c->r);
        mpw_kv_int(c->r, "coalesce_s", x->conf.coalesce_ms / 1000);
        mpw_kv_int(c->r, "burst", x->conf.burst);
        mpw_str(c->r, "alarm_to");
        mpw_arr_begin(c->r);
        for (unsigned i = 0; i < x->conf.n_alarm_to; i++)
                mpw_str(c->r, x->conf.alarm_to[i]);
        mpw_arr_end(c->r);
        mpw_str(c->r, "alarms");
        mpw_arr_begin(c->r);
        for (unsigned i = 0; i < x->conf.n_rules; i++) {
                const struct smtp_rule *r = &x->conf.rules[i];
                char to[DSQ_DEST_MAX + 1];
                const char *rc[SMTP_RCPT_MAX];
                for (unsigned j = 0; j < r->n_rcpt; j++)
                        rc[j] = r->rcpt[j];
                smtp_dest(rc, r->n_rcpt, to, sizeof to);
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "prefix", r->prefix);
                mpw_kv_str(c->r, "to", r->n_rcpt ? to : "(alarm_to)");
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        smtp_write_queue_stats(x, c->r);
        return 0;
}

enum { TEST_TO, TEST_COUNT };
static const struct ds_field test_args[] = {
        [TEST_TO] = { "to", DS_STR, 0, .max_len = 254, .check = ds_check_email, .help = "recipient; default: alarm_to" },
        [TEST_COUNT] = { "count", DS_INT, 0, .min = 1, .max = 1000, .help = "distinct test mails to queue (a backlog), default 1" },
        { NULL },
};

/* A backlog of test mails is queued a slice per turn of the loop (each mail
 * is two fsynced files), so a thousand never hold the loop past busd's
 * heartbeats; the call is answered when the last slice is in. */
#define TEST_SLICE 20

struct smtp_test_batch {
        struct smtp_ctx *x;
        struct ds_call *c; /* detached */
        char rcpt[SMTP_RCPT_MAX][255];
        const char *to[SMTP_RCPT_MAX];
        unsigned n_to;
        char host[64], id[DSQ_ID_LEN + 1];
        int64_t n, i;
        int r, timer;
};

static void test_result(const struct smtp_test_batch *b, struct ds_call *c)
{
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%lld test mail(s) queued by '%s'", (long long)b->i,
                  ds_call_actor(c));
        mpw_kv_int(c->r, "queued", b->i);
        mpw_kv_int(c->r, "refused", b->n - b->i);
        mpw_kv_str(c->r, "id", b->id);
}

static void test_end(struct smtp_test_batch *b, int code)
{
        struct smtp_ctx *x = b->x;

        if (b->timer >= 0)
                zloop_timer_end(x->d->loop, b->timer);
        x->test = NULL;
        if (code == 0)
                test_result(b, b->c);
        ds_call_finish(&b->c, code);
        free(b);
}

/* One slice; 0 while more remain, else the call's answer (1: done). */
static int test_slice(struct smtp_test_batch *b)
{
        char subject[96], body[256];

        for (int k = 0; k < TEST_SLICE && b->i < b->n; k++, b->i++) {
                snprintf(subject, sizeof subject, "[devsec] test mail %lld/%lld", (long long)b->i + 1, (long long)b->n);
                snprintf(body, sizeof body, "Test mail %lld of %lld from smtp-notifier on %s, asked by %s.\n",
                         (long long)b->i + 1, (long long)b->n, b->host, ds_call_actor(b->c));
                if ((b->r = smtp_queue_mail(b->x, "test", b->to, b->n_to, subject, body, b->id)) < 0)
                        break;
        }
        if (b->r == -EBUSY && b->i == 0)
                return ds_call_fail(b->c, -EBUSY, NULL, "the outbox is full (%lld refused)", (long long)b->n);
        if (b->r < 0 && b->i == 0)
                return ds_call_fail(b->c, b->r, NULL, "not queued: %s", strerror(-b->r));
        return b->r < 0 || b->i >= b->n ? 1 : 0;
}

static int on_test_slice(zloop_t *loop, int timer_id, void *arg)
{
        struct smtp_test_batch *b = arg;
        int r;

        (void)loop;
        (void)timer_id;
        b->timer = -1;
        r = test_slice(b);
        if (r == 0 && (b->timer = zloop_timer(b->x->d->loop, 0, 1, on_test_slice, b)) >= 0)
                return 0;
        test_end(b, r < 0 ? r : r == 0 ? -ENOMEM : 0);
        return 0;
}

void smtp_test_abort(struct smtp_ctx *x)
{
        if (x->test)
                test_end(x->test, -DS_EUNAVAIL);
}

static int h_mail_test(void *ctx, struct ds_call *c)
{
        struct smtp_ctx *x = ctx;
        struct smtp_test_batch *b;
        int r;

        if (!smtp_configured(x))
                return ds_call_fail(c, -EINVAL, "host", "no SMTP server configured: devctl mail set host=... from=...");
        if (x->test)
                return ds_call_fail(c, -EBUSY, NULL, "test mails are being queued (%lld of %lld)", (long long)x->test->i,
                                    (long long)x->test->n);
        if (!(b = calloc(1, sizeof *b)))
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        b->x = x;
        b->timer = -1;
        b->n = ds_tb_int(c, TEST_COUNT, 1);
        if (ds_tb_has(c, TEST_TO)) {
                ds_tb_str(c, TEST_TO, b->rcpt[0], sizeof b->rcpt[0]);
                b->n_to = 1;
        } else {
                for (; b->n_to < x->conf.n_alarm_to; b->n_to++)
                        memcpy(b->rcpt[b->n_to], x->conf.alarm_to[b->n_to], sizeof b->rcpt[0]);
        }
        for (unsigned k = 0; k < b->n_to; k++)
                b->to[k] = b->rcpt[k];
        if (!b->n_to) {
                free(b);
                return ds_call_fail(c, -EINVAL, "to", "no recipient: give one or set alarm_to");
        }
        gethostname(b->host, sizeof b->host - 1);
        b->c = c; /* the first slice on the caller's own call: a few mails need no deferral */
        r = test_slice(b);
        if (r != 0) {
                if (r > 0)
                        test_result(b, c);
                free(b);
                return r > 0 ? 0 : r;
        }
        if (!(b->c = ds_call_detach(c))) {
                free(b);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        if ((b->timer = zloop_timer(x->d->loop, 0, 1, on_test_slice, b)) < 0) {
                ds_call_finish(&b->c, -ENOMEM);
                free(b);
                return DS_DEFER;
        }
        x->test = b;
        return DS_DEFER;
}

static void list_item(void *ud, dsq_t *q, const struct dsq_item *it, struct mpw *w)
{
        (void)ud;
        (void)q;
        mpw_kv_str(w, "state", ds_queue_state(it, "sending"));
        mpw_kv_str(w, "to", it->dest);
}

static int h_mail_queue(void *ctx, struct ds_call *c)
{
        struct smtp_ctx *x = ctx;

        ds_queue_list(c, x->q, list_item, NULL);
        smtp_write_queue_stats(x, c->r);
        return 0;
}

static int h_mail_retry(void *ctx, struct ds_call *c)
{
        struct smtp_ctx *x = ctx;
        int n = ds_queue_retry(c, x->q, "mail", "outbox");

        if (n < 0)
                return n;
        smtp_kick(x);
        return 0;
}

static int h_mail_purge(void *ctx, struct ds_call *c)
{
        struct smtp_ctx *x = ctx;
        int n = ds_queue_purge(c, x->q, "mail", "outbox");

        return n < 0 ? n : 0;
}

const struct ds_method smtp_methods[] = {
        DS_METHOD("mail.show", NULL, h_mail_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("mail.test", test_args, h_mail_test, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("mail.queue", ds_queue_list_args, h_mail_queue, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("mail.retry", ds_queue_id_args, h_mail_retry, AUTH_NEEDS(SYSTEM)),
        DS_METHOD("mail.purge", ds_queue_id_args, h_mail_purge, AUTH_NEEDS(SYSTEM)),
        { NULL },
};

static enum ds_audit_result check_tls(void *ctx, char *detail, size_t size)
{
        struct smtp_ctx *x = ctx;

        if (!smtp_configured(x)) {
                snprintf(detail, size, "no SMTP server configured");
                return DS_AUDIT_NA;
        }
        if (x->conf.ca_file[0] && access(x->conf.ca_file, R_OK) < 0) {
                snprintf(detail, size, "ca_file '%s' unreadable: certificates cannot be verified", x->conf.ca_file);
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "%s required, certificate verified against %s with the host name",
                 x->conf.implicit_tls ? "implicit TLS" : "STARTTLS", x->conf.ca_file[0] ? x->conf.ca_file : "the system store");
        return DS_AUDIT_PASS;
}

static enum ds_audit_result check_auth(void *ctx, char *detail, size_t size)
{
        struct smtp_ctx *x = ctx;

        if (!smtp_configured(x)) {
                snprintf(detail, size, "no SMTP server configured");
                return DS_AUDIT_NA;
        }
        if (!x->conf.username[0] || !x->password || !x->password[0]) {
                snprintf(detail, size, "mail is submitted without AUTH");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "AUTH as '%s', only inside TLS", x->conf.username);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item smtp_audit[] = {
        { .id = "smtp.tls", .level = 1, .title = "mail only over TLS, the server certificate and name verified",
          .remediation = "devctl mail set tls=starttls ca_file=/path/ca.pem (a plaintext mode does not exist)",
          .check = check_tls },
        { .id = "smtp.auth", .level = 2, .title = "mail submitted with an account (AUTH inside TLS)",
          .remediation = "devctl mail set username=NAME --password-stdin", .check = check_auth },
        { NULL },
};
