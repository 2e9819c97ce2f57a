/* smtp-notifier - mail (password-reset codes, alarms) over SMTP with TLS
 * required and verified, from a persistent outbox. main.c: the service and
 * its hooks; methods.c the mail.* methods; outbox.c what is queued;
 * deliver.c the sending; compose.c and rules.c pure logic. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"
#include "smtp.h"
#include "state.h"
#include "util.h"

static const char *const topics[] = { "smtp.queue.threshold", "log.system", "log.security", NULL };

static void on_level(void *ud, unsigned pct, bool above)
{
        struct smtp_ctx *x = ud;

        ds_queue_level(x->d, "smtp.queue.threshold", "outbox", pct, above);
}

static void limits_of(struct smtp_ctx *x, const struct ds_settings *s, struct dsq_limits *ret)
{
        ds_queue_limits(s, (uint64_t)ds_settings_int(s, "queue_max_kib") * 1024, on_level, x, ret);
}

static int str_list(const msgpack_object *a, char (*dst)[255], unsigned max, unsigned *ret_n)
{
        unsigned n = 0;

        for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
                if (n == max || mp_strcpy(&a->via.array.ptr[i], dst[n], sizeof dst[0]) < 0)
                        return -EINVAL;
                n++;
        }
        *ret_n = n;
        return 0;
}

/* The configuration from settings s: every refusal of apply, so
 * check_settings (a two-phase import's prepare) runs it alone. */
static int conf_from(const struct ds_settings *s, struct smtp_conf *c, struct ds_err *e)
{
        const msgpack_object *rules = ds_settings_get(s, "alarms");
        const char *host = ds_settings_str(s, "host"), *ca = ds_settings_str(s, "ca_file");
        const char *from = ds_settings_str(s, "from");

        if (host[0] && ds_check_host(host, strlen(host)))
                return ds_err_set(e, -EINVAL, "host", "not a host name or address");
        if (ca[0] && ca[0] != '/')
                return ds_err_set(e, -EINVAL, "ca_file", "must be an absolute path (or empty for the system store)");
        if (from[0] && ds_check_email(from, strlen(from)))
                return ds_err_set(e, -EINVAL, "from", "not an e-mail address");
        if (host[0] && !from[0])
                return ds_err_set(e, -EINVAL, "from", "a server needs a sender address");
        if (ds_settings_int(s, "retry_max_s") < ds_settings_int(s, "retry_min_s"))
                return ds_err_set(e, -EINVAL, "retry_max_s", "must not be below retry_min_s");
        snprintf(c->host, sizeof c->host, "%s", host);
        snprintf(c->ca_file, sizeof c->ca_file, "%s", ca);
        snprintf(c->from, sizeof c->from, "%s", from);
        snprintf(c->username, sizeof c->username, "%s", ds_settings_str(s, "username"));
        c->port = ds_settings_int(s, "port");
        c->implicit_tls = !strcmp(ds_settings_str(s, "tls"), "implicit");
        c->timeout_s = ds_settings_int(s, "timeout_s");
        c->coalesce_ms = ds_settings_int(s, "coalesce_s") * 1000;
        c->burst = ds_settings_int(s, "burst");
        if (str_list(ds_settings_get(s, "alarm_to"), c->alarm_to, SMTP_RCPT_MAX, &c->n_alarm_to) < 0)
                return ds_err_set(e, -EINVAL, "alarm_to", "at most %d addresses", SMTP_RCPT_MAX);
        for (uint32_t i = 0; rules && rules->type == MSGPACK_OBJECT_ARRAY && i < rules->via.array.size; i++) {
                char buf[601];
                const char *why = "not a string";
                char field[32];
                snprintf(field, sizeof field, "alarms.%u", (unsigned)i);
                if (mp_strcpy(&rules->via.array.ptr[i], buf, sizeof buf) < 0 ||
                    smtp_rule_parse(buf, &c->rules[c->n_rules], &why) < 0)
                        return ds_err_set(e, -EINVAL, field, "%s", why);
                c->n_rules++;
        }
        return 0;
}

/* What conf_from may have written: the fields before the rules and the rules
 * up to the one it stopped at. The rest of the ~70 KiB is never touched, so it
 * never becomes resident (in the temporary or in the daemon's own copy). */
static size_t rules_used(const struct smtp_conf *c)
{
        return c->n_rules < SMTP_RULES_MAX ? c->n_rules + 1 : SMTP_RULES_MAX;
}

static void conf_wipe(struct smtp_conf *c)
{
        size_t n = rules_used(c);

        explicit_bzero(c, offsetof(struct smtp_conf, rules));
        explicit_bzero(c->rules, n * sizeof c->rules[0]);
        c->n_rules = 0;
}

/* dst = src, writing only what src uses (dst's old rules are cleared) */
static void conf_copy(struct smtp_conf *dst, const struct smtp_conf *src)
{
        size_t old = rules_used(dst);

        memcpy(dst, src, offsetof(struct smtp_conf, rules));
        memset(dst->rules, 0, old * sizeof dst->rules[0]);
        memcpy(dst->rules, src->rules, src->n_rules * sizeof src->rules[0]);
        dst->n_rules = src->n_rules;
}

static int smtp_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        struct smtp_conf *c = calloc(1, sizeof *c);
        int r;

        (void)d;
        (void)ctx;
        if (!c)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        r = conf_from(s, c, e);
        conf_wipe(c);
        free(c);
        return r;
}

/* After conf_from only memory can fail. */
static int smtp_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct smtp_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        struct smtp_conf *c = calloc(1, sizeof *c);
        struct dsq_limits lim;
        char *pw;
        int r = 0;

        if (!c)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        if ((r = conf_from(s, c, e)) < 0)
                goto out;
        if (!(pw = strdup(ds_settings_str(s, "password")))) {
                r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                goto out;
        }
        /* swap: the digests in progress are mailed under the old rules */
        x->d = d;
        if (x->q)
                smtp_flush_digests(x, ds_now_mono_ms(), true);
        for (unsigned i = 0; i < x->conf.n_rules; i++)
                smtp_rule_reset(&x->conf.rules[i]);
        conf_copy(&x->conf, c);
        ds_free_secret(x->password);
        x->password = pw;
        if (x->q) {
                limits_of(x, s, &lim);
                dsq_set_limits(x->q, &lim);
        }
        if (d->bus)
                smtp_subscribe_rules(x);
        smtp_kick(x);
out:
        conf_wipe(c);
        free(c);
        return r;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct smtp_ctx *x = arg;

        (void)loop;
        (void)timer_id;
        ds_queue_expire(x->q, "mail");
        smtp_flush_digests(x, ds_now_mono_ms(), false);
        smtp_kick(x);
        return 0;
}

static int smtp_init(struct ds_daemon *d, void *ctx)
{
        struct smtp_ctx *x = ctx;
        struct dsq_limits lim;
        int r = 0;

        x->d = d;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        limits_of(x, &d->settings, &lim);
        if (!(x->q = ds_queue_open(d, "outbox", &lim, &r)))
                return r;
        if ((r = smtp_deliver_init(x)) < 0)
                return r;
        x->tick_timer = -1;
        return 0;
}

static int smtp_start(struct ds_daemon *d, void *ctx)
{
        struct smtp_ctx *x = ctx;

        smtp_subscribe_rules(x);
        x->tick_timer = zloop_timer(d->loop, 1000, 0, on_tick, x);
        ds_queue_log_backlog(x->q, "mail", "outbox");
        if (!smtp_configured(x))
                log_notice("no SMTP server configured: mail is kept in the outbox");
        smtp_kick(x);
        return 0;
}

static void smtp_stop(struct ds_daemon *d, void *ctx)
{
        struct smtp_ctx *x = ctx;

        (void)d;
        smtp_test_abort(x);
        smtp_deliver_fini(x);
        for (unsigned i = 0; i < x->conf.n_rules; i++)
                smtp_rule_reset(&x->conf.rules[i]);
        dsq_destroy(&x->q);
        ds_free_secret(x->password);
        x->password = NULL;
}

static void smtp_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct smtp_ctx *x = ctx;

        (void)d;
        mpw_kv_bool(w, "configured", smtp_configured(x));
        smtp_write_queue_stats(x, w);
}

static const struct ds_service smtp_service = {
        .name = "smtp-notifier",
        .version = DEVSEC_VERSION,
        .methods = smtp_methods,
        .settings = smtp_settings,
        .audit = smtp_audit,
        .topics = topics,
        .init = smtp_init,
        .apply = smtp_apply,
        .check_settings = smtp_check_settings,
        .start = smtp_start,
        .stop = smtp_stop,
        .status = smtp_status,
};

int main(int argc, char **argv)
{
        static struct smtp_ctx ctx;

        return ds_daemon_main(argc, argv, &smtp_service, &ctx);
}
