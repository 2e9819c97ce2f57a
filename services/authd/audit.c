/* audit.c - authd's audit items: Table 2-1's account and password rows */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "authd.h"

static enum ds_audit_result a_initialised(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;

        snprintf(detail, size, "%s", a->initialised ? "admin password set" : "no admin password: run devctl init");
        return a->initialised ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

/* OWASP's floor for Argon2id: 19 MiB with 2 passes. */
static enum ds_audit_result a_hash_cost(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;

        snprintf(detail, size, "Argon2id t=%llu m=%zu KiB", (unsigned long long)a->cost.opslimit,
                 a->cost.memlimit / 1024);
        return a->cost.opslimit >= 2 && a->cost.memlimit >= 19456u * 1024 ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

static enum ds_audit_result a_sessions(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;

        snprintf(detail, size, "max_sessions=%d", a->max_sessions);
        return a->max_sessions > 0 && a->max_sessions <= 32 ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

static enum ds_audit_result a_reset_mail(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;

        snprintf(detail, size, "password_reset=%s, reserved e-mail %s", a->password_reset ? "on" : "off",
                 a->reserved_email[0] ? "set" : "not set");
        return !a->password_reset || a->reserved_email[0] ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

/* The guide's password rules: 8 characters or more of at least two kinds. */
static enum ds_audit_result a_password_policy(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;
        bool ok = a->policy.composition && a->policy.min_len >= 8;

        snprintf(detail, size, "profile %s: %d-%d characters%s", a->policy.profile, a->policy.min_len, a->policy.max_len,
                 a->policy.composition ? ", two kinds or more" : ", no composition rule");
        return ok ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

/* Who is online can be seen and ended: session list, session kill. */
/* Every session online is one the device should still honour: an enabled
 * account's (or anonymous while that is allowed), neither expired nor idle
 * past the limit (a session a sweep has not reached yet counts). */
static enum ds_audit_result a_online_users(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;
        int64_t now = a->now();
        size_t n = 0;

        for (struct authd_session *s = a->sessions ? zhash_first(a->sessions) : NULL; s;
             s = zhash_next(a->sessions), n++) {
                struct authd_user *u = s->anonymous ? NULL : authd_user_find(a, s->user);
                const char *why = s->anonymous ? (a->anonymous ? NULL : "while anonymous login is off")
                                  : !u          ? "whose account is gone"
                                  : !u->enabled ? "of a disabled account"
                                                : NULL;

                if (!why && authd_session_expired(a, s, now))
                        why = "past its lifetime or idle limit";
                if (why) {
                        snprintf(detail, size, "session %s of '%s' from %s is online %s", s->sid, s->user, s->source, why);
                        return DS_AUDIT_FAIL;
                }
        }
        snprintf(detail, size, "%zu session(s) online, each of an enabled account and within its limits (devctl session list)", n);
        return DS_AUDIT_PASS;
}

static bool is_admin(struct authd_ctx *a, const struct authd_user *u)
{
        const struct authd_group *g = authd_group_find(a, u->group);
        return g && g->authz == ds_authz_all();
}

/* More than one account, and some with less than every authority. */
static enum ds_audit_result a_hierarchy(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;
        int admins = 0, others = 0;

        for (size_t i = 0; i < a->n_users; i++)
                if (a->users[i].enabled)
                        is_admin(a, &a->users[i]) ? admins++ : others++;
        snprintf(detail, size, "%d administrator account(s), %d with a lesser group", admins, others);
        return admins + others > 1 && others > 0 ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

#define AUTH_PASSWORD_AGE_MAX_DAYS 90

/* Passwords change regularly: a maximum age of at most 90 days, and no
 * enabled account's password older than it. */
static enum ds_audit_result a_password_age(void *ctx, char *detail, size_t size)
{
        struct authd_ctx *a = ctx;
        int days = a->policy.max_age_days;
        int64_t now = a->now ? a->now() : 0;

        if (days <= 0 || days > AUTH_PASSWORD_AGE_MAX_DAYS) {
                snprintf(detail, size, days <= 0 ? "passwords never expire" : "maximum age %d days (more than %d)", days,
                         AUTH_PASSWORD_AGE_MAX_DAYS);
                return DS_AUDIT_FAIL;
        }
        for (size_t i = 0; i < a->n_users; i++) {
                const struct authd_user *u = &a->users[i];
                if (u->enabled && u->pw_changed_ms && now - u->pw_changed_ms > (int64_t)days * 86400000) {
                        snprintf(detail, size, "the password of '%s' is older than %d days", u->name, days);
                        return DS_AUDIT_FAIL;
                }
        }
        snprintf(detail, size, "passwords expire after %d days", days);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item authd_audit[] = {
        { .id = "auth.initialised", .level = 1, .title = "no default password: the admin password is set",
          .remediation = "devctl init", .check = a_initialised },
        { .id = "auth.hash-cost", .level = 1, .title = "password hashes cost at least Argon2id t=2, 19 MiB",
          .remediation = "devctl config set authd hash_opslimit=3 hash_memlimit_kib=65536", .check = a_hash_cost },
        { .id = "auth.anonymous", .level = 1, .title = "anonymous login off",
          .remediation = "devctl config set authd anonymous=false", .key = "anonymous", .want_bool = false },
        { .id = "auth.lockout", .level = 1, .title = "account lock after at most 5 failures",
          .remediation = "devctl config set authd lockout_attempts=5", .key = "lockout_attempts",
          .cmp = DS_CMP_LE, .want_int = 5 },
        { .id = "auth.password-policy", .level = 1, .title = "password rules: 8 characters or more, two kinds or more",
          .remediation = "devctl auth policy set profile=vendor", .check = a_password_policy },
        { .id = "auth.online-users", .level = 1, .title = "online users can be seen and their sessions ended",
          .remediation = "devctl session list; devctl session kick ID", .check = a_online_users },
        { .id = "auth.hierarchy", .level = 2, .title = "accounts by role: more than one, not all administrators",
          .remediation = "devctl user add NAME operator (or viewer): one account per person, administrators only for administration",
          .check = a_hierarchy },
        { .id = "auth.sessions", .level = 2, .title = "concurrent sessions limited (1-32)",
          .remediation = "devctl config set authd max_sessions=32", .check = a_sessions },
        { .id = "auth.idle", .level = 2, .title = "idle sessions end within 15 minutes",
          .remediation = "devctl config set authd session_idle_s=900", .key = "session_idle_s", .cmp = DS_CMP_LE,
          .want_int = 900 },
        { .id = "auth.reset-mail", .level = 1, .title = "password reset off, or a reserved e-mail set",
          .remediation = "devctl auth reset setup email=ADDR, or devctl config set authd password_reset=false",
          .check = a_reset_mail },
        { .id = "auth.profile", .level = 3, .title = "strict password profile (history, maximum age)",
          .remediation = "devctl auth policy set profile=strict", .key = "policy_profile", .want_str = "strict" },
        { .id = "auth.password-age", .level = 3, .title = "passwords change regularly (maximum age 90 days or less)",
          .remediation = "devctl config set authd password_max_age_days=90", .check = a_password_age },
        { NULL },
};
