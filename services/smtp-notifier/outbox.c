/* outbox.c - what goes into the queue: the password-reset code from authd and
 * the alarms the rules choose, coalesced under a burst */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "smtp.h"
#include "util.h"

int smtp_queue_mail(struct smtp_ctx *x, const char *kind, const char *const *to, unsigned n_to,
                    const char *subject, const char *body, char ret_id[DSQ_ID_LEN + 1])
{
        char dest[DSQ_DEST_MAX + 1];
        struct mpw w;
        int r;

        mpw_init(&w);
        if ((r = smtp_item_encode(&w, kind, to, n_to, subject, body)) < 0) {
                mpw_wipe(&w);
                return r;
        }
        smtp_dest(to, n_to, dest, sizeof dest);
        r = dsq_push(x->q, dest, mpw_data(&w), mpw_len(&w), ds_now_real_ms(), ret_id);
        mpw_wipe(&w); /* a reset code may be in it */
        if (r == -EBUSY) {
                x->refused_full++;
                log_warn("outbox full: %s mail to '%s' refused", kind, dest);
        } else if (r < 0) {
                log_warn("outbox: %s mail to '%s' not stored: %s", kind, dest, strerror(-r));
        } else {
                smtp_kick(x);
        }
        return r;
}

static void on_reset_code(struct smtp_ctx *x, const char *src, const msgpack_object *data)
{
        char *user = NULL, *email = NULL, *code = NULL, *body = NULL, subject[128];
        const char *to[1];
        int n;

        if (strcmp(src, "authd")) { /* the ACL already says so; believe no one else */
                log_audit("security", LOG_LVL_WARNING, src, "auth.reset.code from '%s' ignored", src);
                return;
        }
        user = mp_strdup(mp_get(data, "user"));
        email = mp_strdup(mp_get(data, "email"));
        code = mp_strdup(mp_get(data, "code"));
        if (!user || !email || !code || ds_check_email(email, strlen(email)) || ds_check_name(user, strlen(user))) {
                log_warn("auth.reset.code without a valid user, e-mail and code: ignored");
                goto out;
        }
        snprintf(subject, sizeof subject, "Password reset code for %s", user);
        n = asprintf(&body,
                     "A password reset was requested for the account '%s' on this device.\n\n"
                     "Reset code: %s\n\n"
                     "Enter it with: devctl auth reset confirm %s\n"
                     "The code is valid for a short time and only once. If you did not ask for it,\n"
                     "tell the administrator of the device.\n",
                     user, code, user);
        if (n < 0) {
                body = NULL;
                goto out;
        }
        to[0] = email;
        if (smtp_queue_mail(x, "reset", to, 1, subject, body, NULL) == 0) {
                x->resets_queued++;
                /* who and where, never the code */
                log_audit("security", LOG_LVL_NOTICE, user, "reset code for '%s' queued for its e-mail", user);
        }
out:
        ds_free_secret(code);
        ds_free_secret(body);
        free(user);
        free(email);
}

static unsigned rule_rcpts(const struct smtp_ctx *x, const struct smtp_rule *r, const char **to)
{
        unsigned n = 0;

        if (r->n_rcpt)
                for (; n < r->n_rcpt; n++)
                        to[n] = r->rcpt[n];
        else
                for (; n < x->conf.n_alarm_to; n++)
                        to[n] = x->conf.alarm_to[n];
        return n;
}

static void on_alarm(struct smtp_ctx *x, const char *topic, const char *src, int64_t ts_ms,
                     const msgpack_object *data)
{
        struct smtp_rule *r = smtp_rule_match(&x->conf, topic);
        const char *to[SMTP_RCPT_MAX];
        char when[32], subject[200], *json, *line = NULL, *body = NULL;
        unsigned n_to;

        if (!r || !(n_to = rule_rcpts(x, r, to))) {
                x->events_ignored++;
                return;
        }
        ds_format_time(ts_ms ? ts_ms : ds_now_real_ms(), when, sizeof when);
        json = data ? ds_json_dumps(data) : NULL;
        if (asprintf(&line, "%s %s from %s: %.2000s", when, topic, src, json ? json : "{}") < 0)
                line = NULL;
        if (!line)
                goto out;
        if (smtp_rule_event(r, &x->conf, ds_now_mono_ms(), line) == SMTP_EV_DIGEST) {
                x->events_coalesced++;
                goto out;
        }
        snprintf(subject, sizeof subject, "[devsec] %s", topic);
        if (asprintf(&body, "Event:     %s\nPublisher: %s\nTime:      %s\n\n%s\n", topic, src, when,
                     json ? json : "{}") < 0)
                body = NULL;
        if (body && smtp_queue_mail(x, "alarm", to, n_to, subject, body, NULL) == 0)
                x->alarms_queued++;
out:
        free(json);
        free(line);
        free(body);
}

void smtp_flush_digests(struct smtp_ctx *x, int64_t now_ms, bool force)
{
        for (unsigned i = 0; i < x->conf.n_rules; i++) {
                struct smtp_rule *r = &x->conf.rules[i];
                const char *to[SMTP_RCPT_MAX];
                char subject[200], *body = NULL;
                unsigned n_to;

                if (!smtp_rule_due(r, &x->conf, now_ms, force))
                        continue;
                n_to = rule_rcpts(x, r, to);
                snprintf(subject, sizeof subject, "[devsec] %u more %s* events (digest)", r->digest_n, r->prefix);
                if (n_to && asprintf(&body, "%u events of %s* in a burst, coalesced into this digest%s:\n\n%s",
                                     r->digest_n, r->prefix,
                                     r->digest_cut ? " (the list is cut; the log store has them all)" : "",
                                     r->digest ? r->digest : "") >= 0) {
                        if (smtp_queue_mail(x, "digest", to, n_to, subject, body, NULL) == 0)
                                x->digests_queued++;
                        free(body);
                }
                smtp_rule_reset(r);
                /* a burst that goes on stays in digests */
                r->win_start_ms = now_ms;
                r->in_win = (unsigned)x->conf.burst;
        }
}

void smtp_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data)
{
        struct smtp_ctx *x = ud;

        if (!strcmp(topic, "auth.reset.code")) {
                if (data)
                        on_reset_code(x, src, data);
                return;
        }
        on_alarm(x, topic, src, ts_ms, data);
}

void smtp_subscribe_rules(struct smtp_ctx *x)
{
        /* busd has no unsubscribe for services: a removed rule's events are
         * dropped by smtp_rule_match(), a new rule subscribes here */
        for (unsigned i = 0; i <= x->conf.n_rules; i++) {
                const char *p = i < x->conf.n_rules ? x->conf.rules[i].prefix : "auth.reset.code";
                bool have = false;
                for (unsigned j = 0; j < x->n_subscribed && !have; j++)
                        have = !strcmp(x->subscribed[j], p);
                if (have || x->n_subscribed >= SMTP_RULES_MAX + 1)
                        continue;
                if (bus_subscribe(x->d->bus, p, smtp_on_event, x) == 0)
                        snprintf(x->subscribed[x->n_subscribed++], sizeof x->subscribed[0], "%s", p);
        }
}
