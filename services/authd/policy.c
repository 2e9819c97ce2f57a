/* policy.c - password policy: profiles and rules, each rejection naming its rule */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authd.h"

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

static size_t utf8_len(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

struct rule_ctx {
        const struct authd_policy *p;
        pwquality_settings_t *pwq;
        const char *user;
        const char *pw;
        size_t len; /* bytes */
};

typedef const char *(*rule_fn)(const struct rule_ctx *r, char *why, size_t size);

static const char *r_length(const struct rule_ctx *r, char *why, size_t size)
{
        size_t n = utf8_len(r->pw);

        if (n >= (size_t)r->p->min_len && n <= (size_t)r->p->max_len)
                return NULL;
        snprintf(why, size, "must be %d to %d characters long (got %zu)", r->p->min_len, r->p->max_len, n);
        return why;
}

static const char *r_characters(const struct rule_ctx *r, char *why, size_t size)
{
        for (const unsigned char *s = (const unsigned char *)r->pw; *s; s++) {
                if (*s < 0x20 || *s == 0x7f) {
                        snprintf(why, size, "must not contain control characters");
                        return why;
                }
                if (!r->p->composition)
                        continue;
                if (*s > 0x7e || *s == ' ') {
                        snprintf(why, size, "must not contain blanks or non-printing characters");
                        return why;
                }
                if (strchr("'\";:&", *s)) {
                        snprintf(why, size, "must not contain any of ' \" ; : &");
                        return why;
                }
        }
        return NULL;
}

static const char *r_classes(const struct rule_ctx *r, char *why, size_t size)
{
        bool lo = false, up = false, dig = false, sp = false;

        if (!r->p->composition)
                return NULL;
        for (const unsigned char *s = (const unsigned char *)r->pw; *s; s++) {
                lo |= islower(*s) != 0;
                up |= isupper(*s) != 0;
                dig |= isdigit(*s) != 0;
                sp |= ispunct(*s) != 0;
        }
        if (lo + up + dig + sp >= 2)
                return NULL;
        snprintf(why, size, "must mix at least two of lower case, upper case, digits and special characters");
        return why;
}

/* Dahua 3.1: the password must not contain the user name or its reverse
 * (case-insensitive), not merely differ from it. */
static const char *r_username(const struct rule_ctx *r, char *why, size_t size)
{
        size_t n = strlen(r->user ? r->user : "");

        if (!n || n > r->len)
                return NULL;
        for (size_t at = 0; at + n <= r->len; at++) {
                bool same = true, rev = true;
                for (size_t i = 0; i < n && (same || rev); i++) {
                        int c = tolower((unsigned char)r->pw[at + i]);
                        same &= c == tolower((unsigned char)r->user[i]);
                        rev &= c == tolower((unsigned char)r->user[n - 1 - i]);
                }
                if (same || rev) {
                        snprintf(why, size, "must not contain the user name or the user name reversed");
                        return why;
                }
        }
        return NULL;
}

static const char *r_sequence(const struct rule_ctx *r, char *why, size_t size)
{
        if (!r->p->composition)
                return NULL;
        for (size_t i = 0; i + 2 < r->len; i++) {
                int a = tolower((unsigned char)r->pw[i]), b = tolower((unsigned char)r->pw[i + 1]),
                    c = tolower((unsigned char)r->pw[i + 2]);
                if (!isalnum(a) || !isalnum(b) || !isalnum(c) || (isdigit(a) != isdigit(c)) ||
                    (isdigit(a) != isdigit(b)))
                        continue;
                if ((b == a + 1 && c == b + 1) || (b == a - 1 && c == b - 1)) {
                        snprintf(why, size, "must not contain 3 or more consecutive characters ('%c%c%c')",
                                 r->pw[i], r->pw[i + 1], r->pw[i + 2]);
                        return why;
                }
        }
        return NULL;
}

static const char *r_repeat(const struct rule_ctx *r, char *why, size_t size)
{
        if (!r->p->composition)
                return NULL;
        for (size_t i = 0; i + 2 < r->len; i++)
                if (r->pw[i] == r->pw[i + 1] && r->pw[i] == r->pw[i + 2]) {
                        snprintf(why, size, "must not contain 3 or more identical characters in a row");
                        return why;
                }
        return NULL;
}

static const char *r_dictionary(const struct rule_ctx *r, char *why, size_t size)
{
        void *aux = NULL;
        int q;

        if (!r->p->dictionary || !r->pwq)
                return NULL;
        q = pwquality_check(r->pwq, r->pw, NULL, NULL, &aux);
        if (q >= 0)
                return NULL;
        if (q == PWQ_ERROR_CRACKLIB_CHECK) {
                snprintf(why, size, "is in the dictionary of common or breached passwords (%s)",
                         aux ? (const char *)aux : "cracklib");
                return why;
        }
        if (q == PWQ_ERROR_PALINDROME) {
                snprintf(why, size, "must not be a palindrome");
                return why;
        }
        /* the other pwquality rules are ours above, tuned off in authd_pwq_new() */
        return NULL;
}

static const struct {
        const char *name;
        rule_fn fn;
} rules[] = {
        { "length", r_length },     { "characters", r_characters }, { "classes", r_classes },
        { "username", r_username }, { "sequence", r_sequence },     { "repeat", r_repeat },
        { "dictionary", r_dictionary },
        { NULL, NULL },
};

int authd_policy_check(const struct authd_policy *p, pwquality_settings_t *pwq, const char *user,
                       const char *pw, const char **ret_rule, char *why, size_t why_size)
{
        struct rule_ctx r = { .p = p, .pwq = pwq, .user = user, .pw = pw, .len = strlen(pw) };

        for (size_t i = 0; rules[i].name; i++)
                if (rules[i].fn(&r, why, why_size)) {
                        *ret_rule = rules[i].name;
                        return -EINVAL;
                }
        return 0;
}

pwquality_settings_t *authd_pwq_new(void)
{
        static const int off[][2] = {
                { PWQ_SETTING_DIFF_OK, 0 },     { PWQ_SETTING_MIN_LENGTH, 6 },  { PWQ_SETTING_DIG_CREDIT, 0 },
                { PWQ_SETTING_UP_CREDIT, 0 },   { PWQ_SETTING_LOW_CREDIT, 0 },  { PWQ_SETTING_OTH_CREDIT, 0 },
                { PWQ_SETTING_MIN_CLASS, 0 },   { PWQ_SETTING_MAX_REPEAT, 0 },  { PWQ_SETTING_MAX_CLASS_REPEAT, 0 },
                { PWQ_SETTING_GECOS_CHECK, 0 }, { PWQ_SETTING_MAX_SEQUENCE, 0 }, { PWQ_SETTING_USER_CHECK, 0 },
                { PWQ_SETTING_DICT_CHECK, 1 },
        };
        pwquality_settings_t *q = pwquality_default_settings();

        if (!q)
                return NULL;
        for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
                pwquality_set_int_value(q, off[i][0], off[i][1]);
        return q;
}

/* policy.check: {ok, rule?, reason?} for a password not stored anywhere; the
 * user name defaults to the built-in admin (first boot sets its password). */
int authd_policy_check_call(struct authd_ctx *a, struct ds_call *c)
{
        char pw[129], user[AUTHD_NAME_MAX + 1] = "admin";
        const char *rule = NULL;
        char why[256];
        int r;

        ds_arg_str(c, "password", pw, sizeof pw);
        ds_arg_str(c, "user", user, sizeof user);
        r = authd_policy_check(&a->policy, a->pwq, user, pw, &rule, why, sizeof why);
        explicit_bzero(pw, sizeof pw);
        mpw_kv_bool(c->r, "ok", r == 0);
        if (r < 0) {
                mpw_kv_str(c->r, "rule", rule);
                mpw_kv_str(c->r, "reason", why);
        }
        return 0;
}
