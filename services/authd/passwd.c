/* passwd.c - setting a password: the policy on the loop, reuse and hashing
 * in the pool, and the checks at completion (the account must be as it was
 * when the job was made); user.passwd and onvif.passwd */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"

/* The policy, on the loop (cheap); reuse and hashing go to the pool. */
int authd_passwd_policy(struct authd_ctx *a, struct ds_call *c, const char *user, const char *field, const char *pw)
{
        const char *rule;
        char why[256];

        if (authd_policy_check(&a->policy, a->pwq, user, pw, &rule, why, sizeof why) < 0)
                return ds_call_fail(c, -EINVAL, field, "rule '%s': %s", rule, why);
        return 0;
}

/* A new password (secret index s) must not be the current one nor one of the
 * remembered ones: `none` checks of j. */
int authd_passwd_history(struct authd_ctx *a, struct authd_job *j, const struct authd_user *u, int s)
{
        int r = 0;

        if (!u)
                return 0;
        if (u->hash)
                r = authd_job_none(j, u->hash, s);
        for (int i = 0; r == 0 && i < u->n_history && i < a->policy.history; i++)
                r = authd_job_none(j, u->history[i], s);
        return r;
}

int authd_passwd_reused(struct authd_ctx *a, struct ds_call *c, const char *field, int hit)
{
        if (hit == 0)
                return ds_call_fail(c, -EINVAL, field, "rule 'history': must differ from the current password");
        return ds_call_fail(c, -EINVAL, field, "rule 'history': must not be one of the last %d passwords",
                            a->policy.history);
}

/* The account changed (password, history, answers, or it went) while its
 * job was hashed: nothing is applied, the caller tries again. */
int authd_passwd_changed(struct ds_call *c, const char *name)
{
        int r = ds_call_fail(c, -EBUSY, NULL, "account '%s' changed while its password was checked: try again",
                             name);

        snprintf(c->err.reason, sizeof c->err.reason, "changed");
        return r;
}

bool authd_passwd_same(const struct authd_user *u, const struct authd_job *j)
{
        unsigned char d[32];

        if (!u)
                return false;
        authd_user_digest(u, d);
        return sodium_memcmp(d, j->digest, sizeof d) == 0;
}

/* Second stage of a password change: the new password (j->keep) meets the
 * policy, then the pool checks it against the current and remembered hashes
 * and makes its hash; done finishes on the loop. The first stage verified
 * what proves the caller (old password, reset code or answers). */
int authd_passwd_chain(struct authd_ctx *a, struct ds_call *c, const struct authd_job *j,
                              const struct authd_user *u, const char *field, authd_job_fn done)
{
        struct authd_job *n;
        int r, s;

        if ((r = authd_passwd_policy(a, c, u->name, field, j->keep ? j->keep : "")) < 0)
                return r;
        if (!(n = authd_job_new()))
                return -ENOMEM;
        if ((s = authd_job_secret(n, j->keep)) < 0 || authd_passwd_history(a, n, u, s) < 0) {
                authd_job_free(&n);
                return -ENOMEM;
        }
        n->hash[n->n_hash++] = s;
        authd_user_digest(u, n->digest);
        memcpy(n->name, j->name, sizeof n->name);
        memcpy(n->src, j->src, sizeof n->src);
        memcpy(n->key, j->key, sizeof n->key);
        n->front = j->front;
        n->flag = j->flag;
        n->done = done;
        return authd_job_run(a, c, n);
}

int authd_passwd_job(struct authd_ctx *a, struct ds_call *c, const char *user, unsigned i, const char *field,
                     struct authd_job **ret)
{
        char *pw = ds_tb_strdup(c, i);
        struct authd_job *j = NULL;
        int r = -ENOMEM, s;

        if (!pw || !(j = authd_job_new()))
                goto out;
        if ((r = authd_passwd_policy(a, c, user, field, pw)) < 0)
                goto out;
        r = -ENOMEM;
        if ((s = authd_job_secret(j, pw)) < 0)
                goto out;
        j->hash[j->n_hash++] = s;
        snprintf(j->name, sizeof j->name, "%s", user);
        *ret = j;
        j = NULL;
        r = 0;
out:
        authd_job_free(&j);
        ds_free_secret(pw);
        return r;
}

int authd_passwd_take(struct authd_ctx *a, struct ds_call *c, struct authd_user *u, struct authd_job *j,
                      const char *field)
{
        int r;

        if (j->none_hit >= 0)
                return authd_passwd_reused(a, c, field, j->none_hit);
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        authd_user_set_hash(a, u, j->out[0]);
        j->out[0] = NULL;
        return 0;
}

static int user_passwd_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);
        int r;

        if (!u)
                return ds_call_fail(c, -ENOENT, "name", "no user '%s' (deleted meanwhile)", j->name);
        if (!authd_passwd_same(u, j))
                return authd_passwd_changed(c, j->name);
        if ((r = authd_passwd_take(a, c, u, j, "password")) < 0)
                return r;
        authd_store_save(a);
        r = authd_session_revoke_user(a, u->name, c->caller.sid);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c),
                  "password of '%s' set by '%s' from '%s'; %d session(s) revoked", u->name, ds_call_actor(c),
                  authd_call_source(c), r);
        mpw_kv_bool(c->r, "changed", true);
        mpw_kv_int(c->r, "revoked", r);
        return 0;
}

int authd_passwd_user(struct authd_ctx *a, struct ds_call *c, const struct authd_user *u)
{
        struct authd_job *j;
        int r;

        if ((r = authd_passwd_job(a, c, u->name, NAME_PASSWORD, "password", &j)) < 0)
                return r;
        if (authd_passwd_history(a, j, u, j->hash[0]) < 0) {
                authd_job_free(&j);
                return -ENOMEM;
        }
        authd_user_digest(u, j->digest);
        j->done = user_passwd_done;
        return authd_job_run(a, c, j);
}

static void onvif_digest(const struct authd_onvif *v, char out[65])
{
        authd_token_hash(v->hash ? v->hash : "", out);
}

static int onvif_passwd_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_onvif *v = authd_onvif_find(a, j->name);
        char d[65];
        int r;

        if (!v)
                return ds_call_fail(c, -ENOENT, "name", "no ONVIF user '%s' (deleted meanwhile)", j->name);
        onvif_digest(v, d);
        if (strcmp(d, j->aux))
                return authd_passwd_changed(c, j->name);
        if (j->none_hit >= 0)
                return ds_call_fail(c, -EINVAL, "password", "rule 'history': must differ from the current password");
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        free(v->hash);
        v->hash = j->out[0];
        j->out[0] = NULL;
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "password of ONVIF user '%s' set by '%s' from '%s'", v->name,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_bool(c->r, "changed", true);
        return 0;
}

int authd_passwd_onvif(struct authd_ctx *a, struct ds_call *c, const struct authd_onvif *v)
{
        struct authd_job *j;
        int r;

        if ((r = authd_passwd_job(a, c, v->name, NAME_PASSWORD, "password", &j)) < 0)
                return r;
        if (authd_job_none(j, v->hash, j->hash[0]) < 0) {
                authd_job_free(&j);
                return -ENOMEM;
        }
        onvif_digest(v, j->aux);
        j->done = onvif_passwd_done;
        return authd_job_run(a, c, j);
}

