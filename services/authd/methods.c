/* methods.c - authd's method table, settings, audit items and thin handlers */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd.h"
#include "log.h"
#include "util.h"

/* The methods' arguments, by their index in the tables below. */
enum { CHECK_TOKEN };
enum { SESSION_LIST_USER };
enum { KICK_SID, KICK_USER };

#define A(ctx) ((struct authd_ctx *)(ctx))

/* The precondition of every DS_METHOD_READY method: an initialised device.
 * Before auth.init there is no account, so nothing but auth.init, auth.status
 * and the generic methods answers. */
int authd_ready(void *ctx, struct ds_call *c)
{
        if (!A(ctx)->initialised)
                return ds_call_fail(c, -DS_EAUTH, NULL, AUTHD_NOT_INIT_MSG);
        return 0;
}

static void kv_time(struct mpw *w, const char *k, int64_t ms)
{
        char t[40];

        authd_fmt_time(ms, t, sizeof t);
        mpw_kv_str(w, k, t);
}

/* ---- passwords ------------------------------------------------------------------ */

/* ---- auth.init / auth.status ------------------------------------------------------- */

static int h_auth_init(void *ctx, struct ds_call *c)
{
        return authd_setup_init(ctx, c);
}

static int h_auth_status(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        mpw_kv_bool(c->r, "initialised", a->initialised);
        mpw_kv_bool(c->r, "anonymous", a->anonymous);
        mpw_kv_bool(c->r, "password_reset", a->password_reset);
        return 0;
}

/* ---- sessions ------------------------------------------------------------------- */

static int h_session_login(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_login(a, c);
}

static struct authd_session *caller_session(struct authd_ctx *a, struct ds_call *c)
{
        return c->caller.sid[0] ? authd_session_by_sid(a, c->caller.sid) : NULL;
}

static int h_session_logout(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_session *s;

        s = caller_session(a, c);
        if (!s)
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        log_audit("security", LOG_LVL_NOTICE, s->user, "logout of '%s' (session %s)", s->user, s->sid);
        authd_session_revoke(a, s);
        mpw_kv_bool(c->r, "logged_out", true);
        return 0;
}

static int h_session_whoami(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_session *s;

        s = caller_session(a, c);
        if (!s)
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        authd_session_write_answer(a, c->r, s);
        kv_time(c->r, "login", s->login_ms);
        kv_time(c->r, "expires", s->expires_ms);
        return 0;
}

static int h_session_check(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_session *s;
        struct authd_user *u;
        char *tok;

        tok = ds_tb_strdup(c, CHECK_TOKEN);
        s = tok ? authd_session_check(a, tok) : NULL;
        ds_free_secret(tok);
        if (!s)
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        if (s->anonymous ? !a->anonymous : !((u = authd_user_find(a, s->user)) && u->enabled)) {
                authd_session_revoke(a, s);
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        }
        authd_session_write_answer(a, c->r, s);
        return 0;
}

static int h_session_list(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        char user[AUTHD_NAME_MAX + 1];

        ds_tb_str(c, SESSION_LIST_USER, user, sizeof user);
        authd_session_sweep(a);
        mpw_str(c->r, "sessions");
        mpw_arr_begin(c->r);
        for (struct authd_session *s = zhash_first(a->sessions); s; s = zhash_next(a->sessions)) {
                const struct authd_user *u = authd_user_find(a, s->user);
                if (user[0] && strcmp(user, s->user))
                        continue;
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "sid", s->sid);
                mpw_kv_str(c->r, "user", s->user);
                mpw_kv_str(c->r, "group", u ? u->group : AUTHD_ANON_USER);
                mpw_kv_str(c->r, "source", s->source);
                mpw_kv_str(c->r, "client", s->client);
                kv_time(c->r, "login", s->login_ms);
                kv_time(c->r, "last_activity", s->last_ms);
                mpw_kv_bool(c->r, "current", !strcmp(s->sid, c->caller.sid));
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static int h_session_kick(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        char sid[20], user[AUTHD_NAME_MAX + 1];
        int n = 0;

        ds_tb_str(c, KICK_SID, sid, sizeof sid);
        ds_tb_str(c, KICK_USER, user, sizeof user);
        if (!sid[0] && !user[0])
                return ds_call_fail(c, -EINVAL, "sid", "give the session id (sid=) or the user (user=)");
        if (sid[0]) {
                struct authd_session *s = authd_session_by_sid(a, sid);
                if (!s)
                        return ds_call_fail(c, -ENOENT, "sid", "no session '%s'", sid);
                snprintf(user, sizeof user, "%s", s->user);
                n = authd_session_revoke(a, s);
        } else {
                n = authd_session_revoke_user(a, user, NULL);
                if (!n)
                        return ds_call_fail(c, -ENOENT, "user", "'%s' has no session", user);
        }
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "'%s' from '%s' kicked %d session(s) of '%s'",
                  ds_call_actor(c), authd_call_source(c), n, user);
        mpw_kv_int(c->r, "kicked", n);
        return 0;
}

static int h_session_passwd(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_login_passwd(a, c);
}

/* ---- users ---------------------------------------------------------------------- */

static const char *check_mac_or_none(const char *s, size_t n)
{
        return n == 0 || (n == 1 && s[0] == '-') ? NULL : ds_check_mac(s, n);
}

static const char *check_email_or_none(const char *s, size_t n)
{
        return n == 0 ? NULL : ds_check_email(s, n);
}

static const char *check_user_name(const char *s, size_t n)
{
        const char *why = ds_check_name(s, n);

        if (why)
                return why;
        return n == strlen(AUTHD_ANON_USER) && !memcmp(s, AUTHD_ANON_USER, n) ? "is reserved for anonymous sessions" : NULL;
}

static int h_user_list(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        mpw_str(c->r, "users");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < a->n_users; i++) {
                const struct authd_user *u = &a->users[i];
                int64_t until = 0;
                bool locked = authd_lock_active(a, u->name, &until);
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", u->name);
                mpw_kv_str(c->r, "group", u->group);
                mpw_kv_bool(c->r, "enabled", u->enabled);
                mpw_kv_str(c->r, "locked", !locked ? "no" : until ? "until" : "yes");
                if (locked)
                        kv_time(c->r, "locked_until", until);
                mpw_kv_int(c->r, "sessions", (int64_t)authd_session_count(a, u->name));
                mpw_kv_str(c->r, "mac", u->mac[0] ? u->mac : "-");
                /* only a front end sees a MAC: the local console is not bound */
                mpw_kv_str(c->r, "mac_binding", u->mac[0] ? "front-end logins only" : "-");
                kv_time(c->r, "not_before", u->not_before_ms);
                kv_time(c->r, "not_after", u->not_after_ms);
                kv_time(c->r, "password_changed", u->pw_changed_ms);
                mpw_kv_str(c->r, "email", u->email);
                mpw_kv_str(c->r, "memo", u->memo);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static struct authd_user *find_user_arg(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1];
        struct authd_user *u;

        ds_tb_str(c, NAME_NAME, name, sizeof name);
        u = authd_user_find(a, name);
        if (!u)
                ds_call_fail(c, -ENOENT, "name", "no user '%s'", name);
        return u;
}

static int h_user_add(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_account_user_add(a, c);
}

static int h_user_del(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_user *u;

        if (!(u = find_user_arg(a, c)))
                return c->err.code;
        return authd_account_user_del(a, c, u);
}

static int h_user_set(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_user *u;

        if (!(u = find_user_arg(a, c)))
                return c->err.code;
        return authd_account_user_set(a, c, u);
}

static int h_user_passwd(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_user *u;

        if (!(u = find_user_arg(a, c)))
                return c->err.code;
        return authd_passwd_user(a, c, u);
}

static int h_user_lock(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_user *u;

        if (!(u = find_user_arg(a, c)))
                return c->err.code;
        return authd_account_user_lock(a, c, u);
}

static int h_user_unlock(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        char name[AUTHD_NAME_MAX + 1];

        ds_tb_str(c, NAME_NAME, name, sizeof name);
        if (!authd_user_find(a, name) && !authd_lock_find(a, name))
                return ds_call_fail(c, -ENOENT, "name", "no user '%s'", name);
        authd_lock_clear(a, name);
        authd_lock_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "user '%s' unlocked by '%s' from '%s'", name,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "unlocked", name);
        return 0;
}

/* ---- groups ---------------------------------------------------------------------- */

static int h_group_list(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        mpw_str(c->r, "groups");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < a->n_groups; i++) {
                int members = 0;
                for (size_t j = 0; j < a->n_users; j++)
                        members += !strcmp(a->users[j].group, a->groups[i].name);
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", a->groups[i].name);
                mpw_kv_bool(c->r, "builtin", a->groups[i].builtin);
                mpw_kv_int(c->r, "members", members);
                mpw_str(c->r, "authorities");
                authd_write_authorities(c->r, a->groups[i].authz);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static struct authd_group *find_group_arg(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1];
        struct authd_group *g;

        ds_tb_str(c, NAME_NAME, name, sizeof name);
        g = authd_group_find(a, name);
        if (!g)
                ds_call_fail(c, -ENOENT, "name", "no group '%s'", name);
        return g;
}

static int h_group_add(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_account_group_add(a, c);
}

static int h_group_del(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_group *g;

        if (!(g = find_group_arg(a, c)))
                return c->err.code;
        return authd_account_group_del(a, c, g);
}

static int h_group_set(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_group *g;

        if (!(g = find_group_arg(a, c)))
                return c->err.code;
        return authd_account_group_set(a, c, g);
}

/* ---- ONVIF users ------------------------------------------------------------------ */

static int h_onvif_list(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        mpw_str(c->r, "users");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < a->n_onvif; i++) {
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", a->onvif[i].name);
                mpw_kv_str(c->r, "level", a->onvif[i].level);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static int h_onvif_add(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_account_onvif_add(a, c);
}

static struct authd_onvif *find_onvif_arg(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1];
        struct authd_onvif *v;

        ds_tb_str(c, NAME_NAME, name, sizeof name);
        v = authd_onvif_find(a, name);
        if (!v)
                ds_call_fail(c, -ENOENT, "name", "no ONVIF user '%s'", name);
        return v;
}

static int h_onvif_del(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_onvif *v;
        char name[AUTHD_NAME_MAX + 1];

        if (!(v = find_onvif_arg(a, c)))
                return c->err.code;
        snprintf(name, sizeof name, "%s", v->name);
        authd_onvif_remove(a, v);
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "ONVIF user '%s' deleted by '%s' from '%s'", name,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "deleted", name);
        return 0;
}

static int h_onvif_passwd(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        struct authd_onvif *v;

        if (!(v = find_onvif_arg(a, c)))
                return c->err.code;
        return authd_passwd_onvif(a, c, v);
}

/* ---- policy ---------------------------------------------------------------------- */

static int h_policy_show(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);
        const struct authd_policy *p = &a->policy;

        mpw_kv_str(c->r, "profile", p->profile);
        mpw_kv_int(c->r, "min_length", p->min_len);
        mpw_kv_int(c->r, "max_length", p->max_len);
        mpw_kv_bool(c->r, "composition", p->composition);
        if (p->composition) {
                mpw_kv_str(c->r, "classes", "at least 2 of lower, upper, digit, special");
                mpw_kv_str(c->r, "forbidden", "' \" ; : & blanks, non-printing");
                mpw_kv_str(c->r, "runs", "no 3+ consecutive (123, cba) or identical (aaa) characters");
        }
        mpw_kv_str(c->r, "username", "neither the user name nor its reverse");
        mpw_kv_bool(c->r, "dictionary", p->dictionary);
        mpw_kv_int(c->r, "history", p->history);
        mpw_kv_int(c->r, "max_age_days", p->max_age_days);
        mpw_kv_int(c->r, "lockout_attempts", a->lockcfg.attempts);
        mpw_kv_int(c->r, "lockout_s", a->lockcfg.lock_ms / 1000);
        mpw_kv_int(c->r, "lockout_total_cap", a->lockcfg.total_cap);
        mpw_kv_int(c->r, "login_rate", a->ratecfg.rate);
        mpw_kv_int(c->r, "login_burst", a->ratecfg.burst);
        mpw_kv_int(c->r, "hash_opslimit", (int64_t)a->cost.opslimit);
        mpw_kv_int(c->r, "hash_memlimit_kib", (int64_t)(a->cost.memlimit / 1024));
        return 0;
}

static int h_policy_set(void *ctx, struct ds_call *c)
{
        static const struct {
                const char *arg, *key;
        } map[] = {
                [POLICY_SET_PROFILE] = { "profile", "policy_profile" },
                [POLICY_SET_MIN_LENGTH] = { "min_length", "password_min_length" },
                [POLICY_SET_HISTORY] = { "history", "password_history" },
                [POLICY_SET_MAX_AGE_DAYS] = { "max_age_days", "password_max_age_days" },
                { NULL, NULL },
        };
        struct authd_ctx *a = A(ctx);
        struct mpw w;
        int r, n = 0;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (size_t i = 0; map[i].arg; i++)
                if (ds_tb_has(c, i)) {
                        mpw_str(&w, map[i].key);
                        mpw_obj(&w, ds_tb(c, i));
                        n++;
                }
        mpw_map_end(&w);
        if (!n) {
                mpw_free(&w);
                return ds_call_fail(c, -EINVAL, "profile", "give profile=, min_length=, history= or max_age_days=");
        }
        r = ds_daemon_set_settings_w(a->d, &w, ds_call_actor(c), &c->err);
        mpw_free(&w);
        if (r < 0)
                return r;
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "password policy changed by '%s' from '%s' (profile %s)",
                  ds_call_actor(c), authd_call_source(c), a->policy.profile);
        return h_policy_show(ctx, c);
}

/* A password judged by the policy, stored nowhere (the console's live feedback):
 * with a session, or without one only before the device is initialised. */
static int h_policy_check(void *ctx, struct ds_call *c)
{
        return authd_policy_check_call(A(ctx), c);
}
static int h_policy_precheck(void *ctx, struct ds_call *c)
{
        if (A(ctx)->initialised)
                return ds_call_fail(c, -EPERM, NULL, "the device is initialised: log in (policy.check)");
        return authd_policy_check_call(A(ctx), c);
}

/* ---- password reset ---------------------------------------------------------------- */

static int h_reset_setup(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_reset_setup(a, c);
}

static int h_reset_request(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_reset_request(a, c);
}

static int h_reset_confirm(void *ctx, struct ds_call *c)
{
        struct authd_ctx *a = A(ctx);

        return authd_reset_confirm(a, c);
}

/* ---- tables ----------------------------------------------------------------------- */

#define PW_FIELD(n, fl) { n, DS_STR, (fl) | DS_SECRET, .max_len = 128 }
static const char *const onvif_levels[] = { "Administrator", "Operator", "User", NULL };

static const struct ds_field init_args[INIT_N + 1] = {
        [INIT_PASSWORD] = PW_FIELD("password", DS_REQUIRED),
        [INIT_SETUP_CODE] = { "setup_code", DS_STR, DS_SECRET, .max_len = 64 },
        [INIT_EMAIL] = { "email", DS_STR, 0, .max_len = AUTHD_EMAIL_MAX, .check = check_email_or_none },
        { NULL },
};
static const struct ds_field login_args[LOGIN_N + 1] = {
        [LOGIN_USER] = { "user", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [LOGIN_PASSWORD] = PW_FIELD("password", 0),
        [LOGIN_SOURCE] = { "source", DS_STR, 0, .max_len = AUTHD_SRC_MAX, .check = ds_check_printable },
        [LOGIN_MAC] = { "mac", DS_STR, 0, .max_len = 17, .check = ds_check_mac },
        [LOGIN_NEW_PASSWORD] = PW_FIELD("new_password", 0),
        { NULL },
};
static const struct ds_field check_args[] = {
        [CHECK_TOKEN] = { "token", DS_STR, DS_REQUIRED | DS_SECRET, .max_len = BUS_TOKEN_MAX },
        { NULL },
};
static const struct ds_field session_list_args[] = {
        [SESSION_LIST_USER] = { "user", DS_STR, 0, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        { NULL },
};
static const struct ds_field kick_args[] = {
        [KICK_SID] = { "sid", DS_STR, 0, .max_len = 16, .min_len = 1 },
        [KICK_USER] = { "user", DS_STR, 0, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        { NULL },
};
static const struct ds_field passwd_self_args[PASSWD_SELF_N + 1] = {
        [PASSWD_SELF_OLD_PASSWORD] = PW_FIELD("old_password", DS_REQUIRED),
        [PASSWD_SELF_NEW_PASSWORD] = PW_FIELD("new_password", DS_REQUIRED),
        { NULL },
};
/* user.set's fields are user.add's but the password (last) */
#define USER_FIELDS                                                                                        \
        [USER_MEMO] = { "memo", DS_STR, 0, .max_len = AUTHD_MEMO_MAX, .check = ds_check_printable },       \
        [USER_EMAIL] = { "email", DS_STR, 0, .max_len = AUTHD_EMAIL_MAX, .check = check_email_or_none },   \
        [USER_MAC] = { "mac", DS_STR, 0, .max_len = 17, .check = check_mac_or_none },                      \
        [USER_NOT_BEFORE] = { "not_before", DS_STR, 0, .max_len = 32 },                                    \
        [USER_NOT_AFTER] = { "not_after", DS_STR, 0, .max_len = 32 },                                      \
        [USER_ENABLED] = { "enabled", DS_BOOL, 0 }
static const struct ds_field user_add_args[USER_N + 1] = {
        [USER_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = check_user_name },
        [USER_GROUP] = { "group", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        USER_FIELDS,
        [USER_PASSWORD] = PW_FIELD("password", DS_REQUIRED),
        { NULL },
};
static const struct ds_field user_set_args[USER_PASSWORD + 1] = {
        [USER_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [USER_GROUP] = { "group", DS_STR, 0, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        USER_FIELDS,
        { NULL },
};
static const struct ds_field name_args[NAME_PASSWORD + 1] = {
        [NAME_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        { NULL },
};
static const struct ds_field name_pw_args[NAME_N + 1] = {
        [NAME_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [NAME_PASSWORD] = PW_FIELD("password", DS_REQUIRED),
        { NULL },
};
static const struct ds_field authz_item = { NULL, DS_STR, 0, .max_len = 32 };
static const struct ds_field group_add_args[GROUP_NEW_NAME + 1] = {
        [GROUP_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = check_user_name },
        [GROUP_AUTHORITIES] = { "authorities", DS_ARRAY, DS_REQUIRED, .max_len = 32, .sub = &authz_item },
        { NULL },
};
static const struct ds_field group_set_args[GROUP_N + 1] = {
        [GROUP_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [GROUP_AUTHORITIES] = { "authorities", DS_ARRAY, 0, .max_len = 32, .sub = &authz_item },
        [GROUP_NEW_NAME] = { "new_name", DS_STR, 0, .max_len = AUTHD_NAME_MAX, .check = check_user_name },
        { NULL },
};
static const struct ds_field onvif_add_args[ONVIF_N + 1] = {
        [ONVIF_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [ONVIF_LEVEL] = { "level", DS_STR, DS_REQUIRED, .enums = onvif_levels },
        [ONVIF_PASSWORD] = PW_FIELD("password", DS_REQUIRED),
        { NULL },
};
static const char *const profile_names[] = { "vendor", "nist", "strict", NULL };
static const struct ds_field policy_check_args[POLICY_CHECK_N + 1] = {
        [POLICY_CHECK_PASSWORD] = PW_FIELD("password", DS_REQUIRED),
        [POLICY_CHECK_USER] = { "user", DS_STR, 0, .max_len = AUTHD_NAME_MAX },
        { NULL },
};
static const struct ds_field policy_set_args[] = {
        [POLICY_SET_PROFILE] = { "profile", DS_STR, 0, .enums = profile_names },
        [POLICY_SET_MIN_LENGTH] = { "min_length", DS_INT, 0, .min = 8, .max = 64 },
        [POLICY_SET_HISTORY] = { "history", DS_INT, 0, .min = 0, .max = AUTHD_HISTORY_MAX },
        [POLICY_SET_MAX_AGE_DAYS] = { "max_age_days", DS_INT, 0, .min = 0, .max = 3650 },
        { NULL },
};
static const struct ds_field question_fields[] = {
        { "question", DS_STR, DS_REQUIRED, .min_len = 3, .max_len = 128, .check = ds_check_printable },
        { "answer", DS_STR, DS_REQUIRED | DS_SECRET, .max_len = 128 },
        { NULL },
};
static const struct ds_field question_item = { NULL, DS_MAP, 0, .sub = question_fields };
static const struct ds_field reset_setup_args[RESET_SETUP_N + 1] = {
        [RESET_SETUP_EMAIL] = { "email", DS_STR, 0, .max_len = AUTHD_EMAIL_MAX, .check = check_email_or_none },
        [RESET_SETUP_QUESTIONS] = { "questions", DS_ARRAY, 0, .max_len = AUTHD_QUESTIONS_MAX, .sub = &question_item },
        { NULL },
};
static const struct ds_field reset_request_args[RESET_REQUEST_N + 1] = {
        [RESET_REQUEST_USER] = { "user", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        { NULL },
};
static const struct ds_field answer_item = { NULL, DS_STR, DS_SECRET, .max_len = 128 };
static const struct ds_field reset_confirm_args[RESET_CONFIRM_N + 1] = {
        [RESET_CONFIRM_USER] = { "user", DS_STR, DS_REQUIRED, .max_len = AUTHD_NAME_MAX, .check = ds_check_name },
        [RESET_CONFIRM_CODE] = { "code", DS_STR, DS_SECRET, .min_len = 6, .max_len = 16 },
        [RESET_CONFIRM_ANSWERS] = { "answers", DS_ARRAY, 0, .min_len = 1, .max_len = AUTHD_QUESTIONS_MAX,
                                    .sub = &answer_item },
        [RESET_CONFIRM_NEW_PASSWORD] = PW_FIELD("new_password", DS_REQUIRED),
        { NULL },
};

const struct ds_method authd_methods[] = {
        DS_METHOD("auth.init", init_args, h_auth_init, AUTH_PUBLIC),
        DS_METHOD("auth.status", NULL, h_auth_status, AUTH_PUBLIC),
        DS_METHOD_READY("session.login", login_args, h_session_login, AUTH_PUBLIC),
        DS_METHOD_READY("session.logout", NULL, h_session_logout, AUTH_SESSION),
        DS_METHOD_READY("session.whoami", NULL, h_session_whoami, AUTH_SESSION),
        DS_METHOD_READY("session.check", check_args, h_session_check, AUTH_SERVICE),
        DS_METHOD_READY("session.passwd", passwd_self_args, h_session_passwd, AUTH_SESSION),
        DS_METHOD_READY("session.list", session_list_args, h_session_list, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("session.kick", kick_args, h_session_kick, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.list", NULL, h_user_list, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.add", user_add_args, h_user_add, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.del", name_args, h_user_del, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.set", user_set_args, h_user_set, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.passwd", name_pw_args, h_user_passwd, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.lock", name_args, h_user_lock, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("user.unlock", name_args, h_user_unlock, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("group.list", NULL, h_group_list, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("group.add", group_add_args, h_group_add, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("group.del", name_args, h_group_del, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("group.set", group_set_args, h_group_set, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("onvif.list", NULL, h_onvif_list, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("onvif.add", onvif_add_args, h_onvif_add, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("onvif.del", name_args, h_onvif_del, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD_READY("onvif.passwd", name_pw_args, h_onvif_passwd, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD("policy.show", NULL, h_policy_show, AUTH_SESSION),
        DS_METHOD("policy.check", policy_check_args, h_policy_check, AUTH_SESSION),
        DS_METHOD("policy.precheck", policy_check_args, h_policy_precheck, AUTH_PUBLIC),
        DS_METHOD_READY("policy.set", policy_set_args, h_policy_set, AUTH_NEEDS(SECURITY)),
        DS_METHOD_READY("reset.setup", reset_setup_args, h_reset_setup, AUTH_SESSION),
        DS_METHOD_READY("reset.request", reset_request_args, h_reset_request, AUTH_PUBLIC),
        DS_METHOD_READY("reset.confirm", reset_confirm_args, h_reset_confirm, AUTH_PUBLIC),
        { NULL },
};

static const struct ds_field front_end_item = { NULL, DS_STR, 0, .max_len = BUS_NAME_MAX, .check = ds_check_name };

/* Argon2id cost: t=3, m=64 MiB verifies in ~98 ms on the reference machine
 * (docs/authd.md); tests lower it through these settings. */
const struct ds_field authd_settings[] = {
        { "policy_profile", DS_STR, 0, .enums = profile_names, .def_str = "vendor",
          .help = "password rules: vendor, nist or strict" },
        { "password_min_length", DS_INT, 0, .min = 8, .max = 64, .def_int = 8,
          .help = "raises the profile's minimum length" },
        { "password_history", DS_INT, 0, .min = 0, .max = AUTHD_HISTORY_MAX, .def_int = 0,
          .help = "previous passwords that may not be reused (strict: at least 5)" },
        { "password_max_age_days", DS_INT, 0, .min = 0, .max = 3650, .def_int = 0,
          .help = "forces a change after this many days (0: never; strict: 90)" },
        { "hash_opslimit", DS_INT, 0, .min = AUTHD_HASH_OPS_MIN, .max = AUTHD_HASH_OPS_MAX, .def_int = 3,
          .help = "Argon2id passes" },
        { "hash_memlimit_kib", DS_INT, 0, .min = AUTHD_HASH_MEM_KIB_MIN, .max = AUTHD_HASH_MEM_KIB_MAX, .def_int = 65536,
          .help = "Argon2id memory in KiB" },
        { "hash_workers", DS_INT, 0, .min = 0, .max = AUTHD_HASH_WORKERS_MAX, .def_int = 0,
          .help = "threads hashing passwords off the loop (0: one per CPU)" },
        { "hash_queue", DS_INT, 0, .min = 1, .max = 1024, .def_int = 64,
          .help = "hash jobs that may wait for a worker; beyond, EBUSY at once" },
        { "session_idle_s", DS_INT, 0, .min = 1, .max = 86400, .def_int = 900, .help = "idle timeout" },
        { "session_lifetime_s", DS_INT, 0, .min = 1, .max = 604800, .def_int = 43200,
          .help = "absolute session lifetime" },
        { "max_sessions", DS_INT, 0, .min = 0, .max = 128, .def_int = 32,
          .help = "sessions on the device (0: no limit)" },
        { "max_sessions_per_user", DS_INT, 0, .min = 0, .max = 128, .def_int = 8,
          .help = "sessions per user (0: no limit)" },
        { "lockout_attempts", DS_INT, 0, .min = 1, .max = 100, .def_int = 5,
          .help = "failures of a user from one source before a lock" },
        { "lockout_s", DS_INT, 0, .min = 1, .max = 86400, .def_int = 1800, .help = "first lock; doubles on repeat" },
        { "lockout_max_s", DS_INT, 0, .min = 1, .max = 2592000, .def_int = 86400, .help = "cap of the doubling" },
        { "lockout_total_cap", DS_INT, 0, .min = 1, .max = 100000, .def_int = 100,
          .help = "consecutive failures that disable until an administrator unlocks" },
        { "login_rate", DS_INT, 0, .min = 1, .max = 1000, .def_int = 1,
          .help = "login attempts per second per source (local: per user name) before hashing" },
        { "login_burst", DS_INT, 0, .min = 1, .max = 1000, .def_int = 10,
          .help = "login attempts a source may make at once" },
        { "front_ends", DS_ARRAY, 0, .max_len = AUTHD_FRONT_ENDS_MAX, .sub = &front_end_item,
          .help = "daemon identities that saw the network peer and may give a login's source and mac" },
        { "anonymous", DS_BOOL, 0, .def_bool = false, .help = "allow anonymous sessions (monitor only)" },
        { "password_reset", DS_BOOL, 0, .def_bool = true, .help = "the password-reset function" },
        { "reset_code_ttl_s", DS_INT, 0, .min = 60, .max = 3600, .def_int = 900, .help = "reset code lifetime" },
        { NULL },
};

