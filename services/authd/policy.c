/* policy.c - password policy: profiles and rules, each rejection naming its rule */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authd.h"
#include "pwrules.h"

struct profile {
        const char *name;
        int min_len, max_len;
        bool composition;
        int history;
        int max_age_days;
};

/* vendor: the device hardening guide; nist: SP 800-63B (length and blocklist,
 * no composition, no forced expiry); strict: vendor plus history and age. */
static const struct profile profiles[] = {
        { "vendor", 8, 32, true, 0, 0 },
        { "nist", 15, 64, false, 0, 0 },
        { "strict", 8, 32, true, 5, 90 },
        { NULL },
};

void authd_policy_from(const char *profile, int64_t min_len, int64_t max_len, int64_t history,
                       int64_t max_age_days, struct authd_policy *ret)
{
        const struct profile *p = profiles;

        for (const struct profile *q = profiles; q->name; q++)
                if (profile && !strcmp(q->name, profile))
                        p = q;
        ret->profile = p->name;
        ret->composition = p->composition;
        ret->dictionary = true;
        /* settings tighten, never loosen */
        ret->min_len = min_len > p->min_len ? (int)min_len : p->min_len;
        ret->max_len = p->max_len;
        if (max_len > 0 && max_len < ret->max_len)
                ret->max_len = (int)max_len;
        if (ret->max_len < ret->min_len)
                ret->max_len = ret->min_len;
        ret->history = history > p->history ? (int)history : p->history;
        if (ret->history > AUTHD_HISTORY_MAX)
                ret->history = AUTHD_HISTORY_MAX;
        ret->max_age_days = p->max_age_days;
        if (max_age_days > 0 && (ret->max_age_days == 0 || max_age_days < ret->max_age_days))
                ret->max_age_days = (int)max_age_days;
}

static const char *r_dictionary(authd_dict_t *dict, const struct authd_policy *p, const char *pw, char *why,
                                size_t size)
{
        if (!p->dictionary || !dict)
                return NULL;
        return authd_dict_check(dict, pw, why, size) ? why : NULL;
}

/* the pure rules are common/pwrules.c (netcfgd holds its passphrases to them
 * too); the dictionary, which needs libpwquality, is authd's own */
int authd_policy_check(const struct authd_policy *p, authd_dict_t *pwq, const char *user,
                       const char *pw, const char **ret_rule, char *why, size_t why_size)
{
        struct pw_rules pr = { .min_len = p->min_len, .max_len = p->max_len, .composition = p->composition };
        const char *rule = pw_rules_check(&pr, user, pw, why, why_size);

        if (!rule && r_dictionary(pwq, p, pw, why, why_size))
                rule = "dictionary";
        if (!rule)
                return 0;
        *ret_rule = rule;
        return -EINVAL;
}

/* policy.check: {ok, rule?, reason?} for a password not stored anywhere; the
 * user name defaults to the built-in admin (first boot sets its password). */
int authd_policy_check_call(struct authd_ctx *a, struct ds_call *c)
{
        char pw[129], user[AUTHD_NAME_MAX + 1] = "admin";
        const char *rule = NULL;
        char why[256];
        int r;

        ds_tb_str(c, POLICY_CHECK_PASSWORD, pw, sizeof pw);
        ds_tb_str(c, POLICY_CHECK_USER, user, sizeof user);
        r = authd_policy_check(&a->policy, a->pwq, user, pw, &rule, why, sizeof why);
        explicit_bzero(pw, sizeof pw);
        mpw_kv_bool(c->r, "ok", r == 0);
        if (r < 0) {
                mpw_kv_str(c->r, "rule", rule);
                mpw_kv_str(c->r, "reason", why);
        }
        return 0;
}
