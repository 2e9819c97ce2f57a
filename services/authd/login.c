/* login.c - the core of session.login and of session.passwd: the lock check
 * and the in-flight bound before any hashing, the per-source rate limit, the
 * verification in the pool, and the completion back on the loop, decided on
 * the store as it is then */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authd.h"
#include "log.h"

#define BAD_LOGIN_MSG "wrong user name or password"

/* Attempts on name already being hashed may lock it when they fail: no more
 * go to the pool than the lock leaves room for, so that parallel guesses get
 * no more tries than serial ones. */
int authd_login_in_flight(struct authd_ctx *a, struct ds_call *c, const char *name, const char *src)
{
        int r;

        if (authd_pending(a, name) < authd_lock_room(a, name, src))
                return 0;
        a->pending_refused++;
        r = ds_call_fail(c, -EBUSY, NULL, "attempts for '%s' are being checked: try again shortly", name);
        snprintf(c->err.reason, sizeof c->err.reason, "in-flight");
        return r;
}

/* Refuses before any hashing when name is locked. */
int authd_login_locked(struct authd_ctx *a, struct ds_call *c, const char *name, const char *src)
{
        struct authd_lock *l;
        int64_t until;
        char t[40];

        if (!authd_lock_active(a, name, &until))
                return 0;
        l = authd_lock_find(a, name);
        if (l && l->refused++ % 100 == 0) /* rate-limited: a flood must not flood the log */
                log_audit("security", LOG_LVL_NOTICE, name, "attempt on locked account '%s' from '%s' refused (%d)",
                          name, src, l->refused);
        if (!until)
                return ds_call_fail(c, -DS_ELOCKED, NULL, "account locked: an administrator must unlock it");
        authd_fmt_time(until, t, sizeof t);
        return ds_call_fail(c, -DS_ELOCKED, NULL, "account locked after failed attempts until %s", t);
}

void authd_login_failed(struct authd_ctx *a, const char *name, const char *src)
{
        int64_t until = 0;

        char t[40];

        if (authd_lock_fail(a, name, src, &until) == 1) {
                authd_fmt_time(until, t, sizeof t);
                log_audit("security", LOG_LVL_WARNING, name,
                          "account '%s' locked after failed attempts from '%s' until %s", name, src,
                          until ? t : "an administrator unlocks it");
                authd_publish_locked(a, name, src, until);
        }
        authd_lock_save_soon(a);
}

/* Did the caller see the network peer? Only a gateway (busd's stamp "gw":
 * an identity its ACL makes one, never the body) named in front_ends may say
 * where a login comes from and which MAC it has; a daemon may not. */
static bool vouches(const struct authd_ctx *a, const struct ds_call *c)
{
        if (!c->caller.gateway || !c->caller.id[0])
                return false;
        for (size_t i = 0; i < a->n_front_ends; i++)
                if (!strcmp(a->front_ends[i], c->caller.id))
                        return true;
        return false;
}

/* A MAC binding holds when a front end saw that MAC. The local console
 * (an operator tool on the bus) has no MAC: its logins are not bound. Any
 * other caller cannot satisfy a binding: a MAC in its body proves nothing. */
static bool mac_ok(const struct authd_user *u, const struct ds_call *c, bool front, const char *mac)
{
        if (!u->mac[0])
                return true;
        if (front)
                return !strcasecmp(u->mac, mac);
        return !c->caller.svc;
}

/* Refusals by the rate limit are counted, and logged at most every 10 s. */
static void note_rate_refused(struct authd_ctx *a, const char *name, const char *src)
{
        int64_t now = a->now();

        a->rate_refused++;
        a->rate_unlogged++;
        if (a->rate_logged_ms && now - a->rate_logged_ms < 10000)
                return;
        log_audit("security", LOG_LVL_NOTICE, name,
                  "login rate limit: %llu attempt(s) refused since the last record (%llu in all), the latest "
                  "for '%s' from '%s'",
                  (unsigned long long)a->rate_unlogged, (unsigned long long)a->rate_refused, name, src);
        a->rate_logged_ms = now;
        a->rate_unlogged = 0;
}

static bool valid_now(const struct authd_user *u, int64_t now)
{
        return (!u->not_before_ms || now >= u->not_before_ms) && (!u->not_after_ms || now < u->not_after_ms);
}

static int open_session(struct authd_ctx *a, struct ds_call *c, const char *user, const char *src, bool anon)
{
        struct authd_session *s;
        char tok[64], why[160];
        int r;

        r = authd_session_open(a, user, src, c->caller.id, anon, tok, &s, why, sizeof why);
        if (r == -EBUSY) {
                log_audit("security", LOG_LVL_NOTICE, user, "login of '%s' from '%s' refused: %s", user, src, why);
                return ds_call_fail(c, -EBUSY, NULL, "%s", why);
        }
        if (r < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot open a session");
        mpw_kv_str(c->r, "token", tok);
        sodium_memzero(tok, sizeof tok);
        authd_session_write_answer(a, c->r, s);
        mpw_kv_int(c->r, "expires_s", a->lifetime_ms / 1000);
        mpw_kv_int(c->r, "idle_s", a->idle_ms / 1000);
        log_audit("security", LOG_LVL_NOTICE, user, "login of '%s' from '%s' (session %s)", user, src, s->sid);
        return 0;
}

/* The new password given at login is checked and hashed: change it, open the session. */
static int login_npw_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);
        int r;

        if (!authd_passwd_same(u, j))
                return authd_passwd_changed(c, j->name);
        if ((r = authd_passwd_take(a, c, u, j, "new_password")) < 0)
                return r;
        authd_session_revoke_user(a, j->name, NULL);
        log_audit("security", LOG_LVL_NOTICE, j->name, "password of '%s' changed at login from '%s'", j->name,
                  j->src);
        authd_store_save(a);
        return open_session(a, c, j->name, j->src, false);
}

/* Back on the loop with the verdict: everything below is decided on the
 * store as it is now, not as it was when the attempt was queued. */
static int login_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        const char *name = j->name, *src = j->src;
        struct authd_user *u = authd_user_find(a, name);
        bool had_user = j->flag, npw = j->n == 1, good;
        int64_t now = a->now();
        int r;

        if (had_user && !authd_passwd_same(u, j)) {
                /* removed, or its password changed: the verdict is about a password that is gone */
                log_audit("security", LOG_LVL_NOTICE, name,
                          "login of '%s' from '%s' not completed: the account changed while the password was checked",
                          name, src);
                return ds_call_fail(c, -DS_EAUTH, NULL, BAD_LOGIN_MSG);
        }
        good = had_user && j->must_ok;
        if (good)
                authd_rate_refund(a, j->key); /* who knows the password is not throttled */
        if (good && !mac_ok(u, c, j->front, j->mac))
                good = false;
        if (!good) {
                log_audit("security", LOG_LVL_NOTICE, name, "login failed for '%s' from '%s'", name, src);
                authd_login_failed(a, name, src);
                return ds_call_fail(c, -DS_EAUTH, NULL, BAD_LOGIN_MSG);
        }
        /* locked while it was checked (by other failures, or an administrator) */
        if ((r = authd_login_locked(a, c, name, src)) < 0)
                return r;
        if (authd_lock_find(a, name)) {
                authd_lock_success(a, name);
                authd_lock_save(a);
        }
        if (!u->enabled || !valid_now(u, now)) {
                log_audit("security", LOG_LVL_NOTICE, name, "login of '%s' from '%s' refused: account %s", name,
                          src, u->enabled ? "outside its validity period" : "disabled");
                return ds_call_fail(c, -DS_EAUTH, NULL, "account %s",
                                    u->enabled ? "not valid at this time" : "disabled");
        }
        if (npw) {
                return authd_passwd_chain(a, c, j, u, "new_password", login_npw_done);
        } else if (a->policy.max_age_days > 0 &&
                   now - u->pw_changed_ms >= (int64_t)a->policy.max_age_days * 86400000) {
                log_audit("security", LOG_LVL_NOTICE, name, "login of '%s' from '%s' refused: password expired",
                          name, src);
                r = ds_call_fail(c, -DS_EAUTH, NULL,
                                 "password expired: log in again giving new_password (devctl passwd --expired)");
                snprintf(c->err.reason, sizeof c->err.reason, "password-expired");
                return r;
        } else if (j->n_hash && j->out[0] && authd_hash_needs_rehash(u->hash, &a->cost) &&
                   !authd_hash_needs_rehash(j->out[0], &a->cost)) {
                /* the stored cost raised (or lowered) now that the password was at hand */
                free(u->hash);
                u->hash = j->out[0];
                j->out[0] = NULL;
                authd_store_save(a);
        }
        return open_session(a, c, name, src, false);
}

int authd_login(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1], src[AUTHD_SRC_MAX + 1], mac[18] = "", key[AUTHD_RATE_KEY_MAX + 1];
        char *pw = NULL, *npw = NULL;
        struct authd_job *j = NULL;
        struct authd_user *u;
        bool front = vouches(a, c);
        int64_t retry = 0;
        int r, s0;

        ds_tb_str(c, LOGIN_USER, name, sizeof name);
        /* source and mac are believed from a front end only: anyone else is
         * the local console, whatever its body says */
        if (front) {
                ds_tb_str(c, LOGIN_SOURCE, src, sizeof src);
                ds_tb_str(c, LOGIN_MAC, mac, sizeof mac);
                if (!src[0])
                        snprintf(src, sizeof src, "%s", c->caller.id);
                snprintf(key, sizeof key, "s:%s", src);
        } else {
                snprintf(src, sizeof src, "%s", AUTHD_SOURCE_LOCAL);
                snprintf(key, sizeof key, "n:%s", name);
        }
        if (!strcmp(name, AUTHD_ANON_USER)) {
                if (!a->anonymous)
                        return ds_call_fail(c, -DS_EAUTH, NULL, BAD_LOGIN_MSG);
                return open_session(a, c, AUTHD_ANON_USER, src, true);
        }
        if ((r = authd_login_locked(a, c, name, src)) < 0)
                return r;
        if ((r = authd_login_in_flight(a, c, name, src)) < 0)
                return r;
        /* in front of hashing; a refused attempt still counts toward the lock */
        if (authd_rate_take(a, key, &retry) < 0) {
                note_rate_refused(a, name, src);
                authd_login_failed(a, name, src);
                r = ds_call_fail(c, -EBUSY, NULL, "too many login attempts from '%s': try again in %lld s", src,
                                 (long long)(retry + 999) / 1000);
                snprintf(c->err.reason, sizeof c->err.reason, "rate-limited");
                return r;
        }
        pw = ds_tb_strdup(c, LOGIN_PASSWORD);
        npw = ds_tb_strdup(c, LOGIN_NEW_PASSWORD);
        u = authd_user_find(a, name);
        r = -ENOMEM;
        if (!(j = authd_job_new()) || (s0 = authd_job_secret(j, pw)) < 0)
                goto out;
        /* one verification whether or not the user exists: same answer, same time */
        if (authd_job_must(j, u ? u->hash : a->dummy_hash, s0) < 0)
                goto out;
        if (npw) {
                j->keep = npw; /* checked and hashed once the password proved right */
                npw = NULL;
                j->n = 1;
        } else if (u && u->hash && authd_hash_needs_rehash(u->hash, &a->cost)) {
                j->hash[j->n_hash++] = s0; /* made only when the password is right */
        }
        if (u)
                authd_user_digest(u, j->digest);
        j->flag = u != NULL;
        j->front = front;
        snprintf(j->name, sizeof j->name, "%s", name);
        snprintf(j->src, sizeof j->src, "%s", src);
        snprintf(j->key, sizeof j->key, "%s", key);
        snprintf(j->mac, sizeof j->mac, "%s", mac);
        snprintf(j->lock_name, sizeof j->lock_name, "%s", name);
        j->done = login_done;
        r = authd_job_run(a, c, j);
        j = NULL;
out:
        authd_job_free(&j);
        ds_free_secret(pw);
        ds_free_secret(npw);
        return r;
}

static int passwd_self_new_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);
        int r;

        if (!authd_passwd_same(u, j))
                return u ? authd_passwd_changed(c, j->name)
                         : ds_call_fail(c, -EPERM, NULL, "this session has no account to change");
        if ((r = authd_passwd_take(a, c, u, j, "new_password")) < 0)
                return r;
        authd_store_save(a);
        r = authd_session_revoke_user(a, u->name, c->caller.sid);
        log_audit("security", LOG_LVL_NOTICE, u->name,
                  "password of '%s' changed by '%s' from '%s'; %d other session(s) revoked", u->name, u->name,
                  authd_call_source(c), r);
        mpw_kv_bool(c->r, "changed", true);
        mpw_kv_int(c->r, "revoked", r);
        return 0;
}

static int passwd_self_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);

        if (!authd_passwd_same(u, j))
                return u ? authd_passwd_changed(c, j->name)
                         : ds_call_fail(c, -EPERM, NULL, "this session has no account to change");
        if (!j->must_ok) {
                log_audit("security", LOG_LVL_NOTICE, u->name, "password change of '%s' refused: wrong old password",
                          u->name);
                authd_login_failed(a, u->name, j->src);
                return ds_call_fail(c, -DS_EAUTH, "old_password", "the current password is not right");
        }
        return authd_passwd_chain(a, c, j, u, "new_password", passwd_self_new_done);
}

int authd_login_passwd(struct authd_ctx *a, struct ds_call *c)
{
        char *old = NULL, *npw = NULL;
        const char *src = c->caller.source[0] ? c->caller.source : c->caller.id;
        struct authd_job *j = NULL;
        struct authd_user *u;
        int r, s0;

        u = authd_user_find(a, c->caller.user);
        if (!u)
                return ds_call_fail(c, -EPERM, NULL, "this session has no account to change");
        if ((r = authd_login_locked(a, c, u->name, src)) < 0 || (r = authd_login_in_flight(a, c, u->name, src)) < 0)
                return r;
        old = ds_tb_strdup(c, PASSWD_SELF_OLD_PASSWORD);
        npw = ds_tb_strdup(c, PASSWD_SELF_NEW_PASSWORD);
        r = -ENOMEM;
        if (!old || !npw || !(j = authd_job_new()))
                goto out;
        if ((s0 = authd_job_secret(j, old)) < 0 || authd_job_must(j, u->hash, s0) < 0)
                goto out;
        j->keep = npw;
        npw = NULL;
        authd_user_digest(u, j->digest);
        snprintf(j->name, sizeof j->name, "%s", u->name);
        snprintf(j->src, sizeof j->src, "%s", src);
        snprintf(j->lock_name, sizeof j->lock_name, "%s", u->name);
        j->done = passwd_self_done;
        r = authd_job_run(a, c, j);
        j = NULL;
out:
        authd_job_free(&j);
        ds_free_secret(old);
        ds_free_secret(npw);
        return r;
}

