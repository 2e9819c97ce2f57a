/* rules.c - alarm rules (topic prefix -> recipients) and the coalescing of
 * bursts into digests (pure: the caller passes the time) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static bool prefix_ok(const char *s, size_t n)
{
        if (n == 0 || n > SMTP_PREFIX_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
                      s[i] == '-'))
                        return false;
        return true;
}

int smtp_rule_parse(const char *s, struct smtp_rule *ret, const char **ret_why)
{
        struct smtp_rule r = { 0 };
        const char *sp = strchr(s, ' '), *p;
        size_t n = sp ? (size_t)(sp - s) : strlen(s);

        if (!prefix_ok(s, n)) {
                *ret_why = "a rule is 'PREFIX [RCPT,...]': PREFIX is a topic prefix of [a-z0-9._-], at most 64";
                return -EINVAL;
        }
        memcpy(r.prefix, s, n);
        for (p = sp; p && *p == ' '; p++)
                ;
        while (p && *p) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if (r.n_rcpt == SMTP_RCPT_MAX) {
                        *ret_why = "at most 8 recipients per rule";
                        return -EINVAL;
                }
                if (l == 0 || l >= sizeof r.rcpt[0] || ds_check_email(p, l)) {
                        *ret_why = "a recipient is not an e-mail address";
                        return -EINVAL;
                }
                memcpy(r.rcpt[r.n_rcpt++], p, l);
                p = e ? e + 1 : NULL;
        }
        *ret = r;
        return 0;
}

struct smtp_rule *smtp_rule_match(struct smtp_conf *c, const char *topic)
{
        struct smtp_rule *best = NULL;
        size_t bl = 0;

        for (unsigned i = 0; i < c->n_rules; i++) {
                size_t l = strlen(c->rules[i].prefix);
                if (!strncmp(topic, c->rules[i].prefix, l) && l > bl) {
                        best = &c->rules[i];
                        bl = l;
                }
        }
        return best;
}

int smtp_rule_event(struct smtp_rule *r, const struct smtp_conf *c, int64_t now_ms, const char *line)
{
        if (c->coalesce_ms <= 0)
                return SMTP_EV_MAIL;
        if (now_ms - r->win_start_ms >= c->coalesce_ms && !r->digest_n) {
                r->win_start_ms = now_ms;
                r->in_win = 0;
        }
        if (++r->in_win <= (unsigned)c->burst && !r->digest_n)
                return SMTP_EV_MAIL;
        /* the rest of the window goes into one digest, bounded in size */
        size_t l = strlen(line);
        if (r->digest_len + l + 2 > SMTP_DIGEST_MAX) {
                r->digest_cut++;
        } else {
                char *nd = realloc(r->digest, r->digest_len + l + 2);
                if (!nd) {
                        r->digest_cut++;
                } else {
                        r->digest = nd;
                        memcpy(r->digest + r->digest_len, line, l);
                        r->digest_len += l;
                        r->digest[r->digest_len++] = '\n';
                        r->digest[r->digest_len] = '\0';
                }
        }
        r->digest_n++;
        return SMTP_EV_DIGEST;
}

bool smtp_rule_due(const struct smtp_rule *r, const struct smtp_conf *c, int64_t now_ms, bool force)
{
        return r->digest_n && (force || now_ms - r->win_start_ms >= c->coalesce_ms);
}

void smtp_rule_reset(struct smtp_rule *r)
{
        free(r->digest);
        r->digest = NULL;
        r->digest_len = 0;
        r->digest_n = 0;
        r->digest_cut = 0;
}
