/* pwrules.c - the pure password rules shared by authd's policy and netcfgd's
 * passphrases; each rejection names its rule */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pwrules.h"

static size_t utf8_len(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

struct rule_ctx {
        const struct pw_rules *p;
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

static const struct {
        const char *name;
        rule_fn fn;
} rules[] = {
        { "length", r_length },     { "characters", r_characters }, { "classes", r_classes },
        { "username", r_username }, { "sequence", r_sequence },     { "repeat", r_repeat },
        { NULL, NULL },
};

const char *pw_rules_check(const struct pw_rules *p, const char *user, const char *pw, char *why, size_t why_size)
{
        struct rule_ctx r = { .p = p, .user = user, .pw = pw, .len = strlen(pw) };

        for (size_t i = 0; rules[i].name; i++)
                if (rules[i].fn(&r, why, why_size))
                        return rules[i].name;
        return NULL;
}
