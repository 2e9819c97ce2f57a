/* reset.c - password reset: reset.setup (the e-mail and security questions
 * of one's own account), reset.request (a code by mail, the same answer
 * whether or not the user exists) and reset.confirm (the code or the answers,
 * then a new password), counted against "reset:NAME" apart from logins */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "util.h"

static void normalise_answer(const char *in, char *out, size_t size)
{
        size_t n = 0;

        while (*in && isspace((unsigned char)*in))
                in++;
        for (; *in && n + 1 < size; in++)
                out[n++] = (char)tolower((unsigned char)*in);
        while (n && isspace((unsigned char)out[n - 1]))
                n--;
        out[n] = '\0';
}

struct reset_setup {
        char question[AUTHD_QUESTIONS_MAX][129];
        int n;
        bool questions, email;
};

static int reset_setup_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        const struct reset_setup *rs = j->extra;
        struct authd_user *u = authd_user_find(a, j->name);
        char *q[AUTHD_QUESTIONS_MAX] = { 0 };
        int r;

        if (!u)
                return ds_call_fail(c, -EPERM, NULL, "this session has no account");
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        for (int i = 0; i < rs->n; i++)
                if (!(q[i] = strdup(rs->question[i]))) {
                        for (int k = 0; k < i; k++)
                                free(q[k]);
                        return -ENOMEM;
                }
        if (rs->questions) {
                for (int i = 0; i < u->n_questions; i++) {
                        free(u->question[i]);
                        free(u->answer_hash[i]);
                }
                for (int i = 0; i < rs->n; i++) {
                        u->question[i] = q[i];
                        u->answer_hash[i] = j->out[i];
                        j->out[i] = NULL;
                }
                u->n_questions = rs->n;
        }
        if (rs->email) {
                snprintf(u->email, sizeof u->email, "%s", j->text);
                if (authd_user_authz(a, u) == ds_authz_all())
                        snprintf(a->reserved_email, sizeof a->reserved_email, "%s", u->email);
        }
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, u->name, "reset information of '%s' set (%d question(s))", u->name,
                  u->n_questions);
        mpw_kv_str(c->r, "email", u->email);
        mpw_kv_int(c->r, "questions", u->n_questions);
        return 0;
}

int authd_reset_setup(struct authd_ctx *a, struct ds_call *c)
{
        const msgpack_object *qs = ds_tb(c, RESET_SETUP_QUESTIONS);
        struct authd_job *j = NULL;
        struct reset_setup *rs = NULL;
        struct authd_user *u;
        int r = -ENOMEM;

        u = authd_user_find(a, c->caller.user);
        if (!u)
                return ds_call_fail(c, -EPERM, NULL, "this session has no account");
        if (!(j = authd_job_new()) || !(rs = calloc(1, sizeof *rs)))
                goto out;
        j->extra = rs;
        rs->questions = qs != NULL;
        rs->email = ds_tb_has(c, RESET_SETUP_EMAIL);
        for (uint32_t n = 0; qs && n < qs->via.array.size && n < AUTHD_QUESTIONS_MAX; n++) {
                char *ans = mp_strdup(mp_get(&qs->via.array.ptr[n], "answer"));
                char norm[256];
                int si;

                if (!ans) {
                        r = -ENOMEM;
                        goto out;
                }
                normalise_answer(ans, norm, sizeof norm);
                ds_free_secret(ans);
                if (strlen(norm) < 2) {
                        char f[40];
                        snprintf(f, sizeof f, "questions[%u].answer", n);
                        sodium_memzero(norm, sizeof norm);
                        r = ds_call_fail(c, -EINVAL, f, "must be at least 2 characters");
                        goto out;
                }
                si = authd_job_secret(j, norm);
                sodium_memzero(norm, sizeof norm);
                if (si < 0 || mp_strcpy(mp_get(&qs->via.array.ptr[n], "question"), rs->question[n],
                                        sizeof rs->question[n]) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                j->hash[j->n_hash++] = si;
                rs->n++;
        }
        if (rs->email)
                ds_tb_str(c, RESET_SETUP_EMAIL, j->text, sizeof j->text);
        snprintf(j->name, sizeof j->name, "%s", u->name);
        j->done = reset_setup_done;
        r = authd_job_run(a, c, j);
        j = NULL;
out:
        authd_job_free(&j);
        return r;
}

/* Reset attempts are counted apart from logins ("reset:NAME"): a user locked
 * out of login may still reset by mail, and guessing codes locks resets. */
static void reset_key(const char *name, char *key, size_t size)
{
        snprintf(key, size, "reset:%s", name);
}

int authd_reset_request(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1], code[16], key[AUTHD_LOCK_NAME_MAX + 1];
        struct authd_user *u;
        const char *mail;
        int r;

        if (!a->password_reset)
                return ds_call_fail(c, -DS_EDISABLED, NULL, "password reset is switched off on this device");
        ds_tb_str(c, RESET_REQUEST_USER, name, sizeof name);
        reset_key(name, key, sizeof key);
        if ((r = authd_login_locked(a, c, key, "reset")) < 0)
                return r;
        u = authd_user_find(a, name);
        /* the answer does not say whether the user exists */
        mpw_kv_bool(c->r, "requested", true);
        mpw_kv_int(c->r, "expires_s", a->reset_ttl_ms / 1000);
        if (!u || !u->enabled)
                return 0;
        mail = u->email[0] ? u->email : authd_user_authz(a, u) == ds_authz_all() ? a->reserved_email : "";
        if (!mail[0]) {
                log_audit("security", LOG_LVL_NOTICE, name, "reset code for '%s' not sent: no e-mail", name);
                return 0;
        }
        snprintf(code, sizeof code, "%08u", (unsigned)randombytes_uniform(100000000u));
        authd_token_hash(code, u->reset.code_hash);
        u->reset.expires_ms = a->now() + a->reset_ttl_ms;
        u->reset.tries = 3;
        authd_publish_reset_code(a, name, mail, code);
        sodium_memzero(code, sizeof code);
        log_audit("security", LOG_LVL_NOTICE, name, "reset code for '%s' sent to its e-mail", name);
        return 0;
}

static int reset_confirm_new_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);
        char key[AUTHD_LOCK_NAME_MAX + 1];
        const char *name = j->name;
        int r;

        if (!authd_passwd_same(u, j))
                return u ? authd_passwd_changed(c, name)
                         : ds_call_fail(c, -DS_EAUTH, NULL, "the code or the answers are not right (or expired)");
        if ((r = authd_passwd_take(a, c, u, j, "new_password")) < 0)
                return r;
        reset_key(name, key, sizeof key);
        memset(&u->reset, 0, sizeof u->reset);
        /* a reset lifts the failed-attempt lock, never an administrator's */
        {
                const struct authd_lock *l = authd_lock_find(a, name);
                if (l && l->by_admin)
                        log_audit("security", LOG_LVL_NOTICE, name,
                                  "password of '%s' reset; the administrator's lock stays", name);
                else
                        authd_lock_clear(a, name);
        }
        authd_lock_clear(a, key);
        authd_lock_save(a);
        authd_store_save(a);
        authd_session_revoke_user(a, name, NULL);
        log_audit("security", LOG_LVL_NOTICE, name, "password of '%s' reset", name);
        mpw_kv_bool(c->r, "changed", true);
        return 0;
}

static int reset_confirm_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_user *u = authd_user_find(a, j->name);
        char key[AUTHD_LOCK_NAME_MAX + 1];
        bool good = j->flag && j->must_ok;

        reset_key(j->name, key, sizeof key);
        if (good && !authd_passwd_same(u, j))
                return u ? authd_passwd_changed(c, j->name)
                         : ds_call_fail(c, -DS_EAUTH, NULL, "the code or the answers are not right (or expired)");
        if (!good) {
                log_audit("security", LOG_LVL_NOTICE, j->name,
                          "password reset of '%s' refused: wrong code or answers", j->name);
                authd_login_failed(a, key, "reset");
                return ds_call_fail(c, -DS_EAUTH, NULL, "the code or the answers are not right (or expired)");
        }
        return authd_passwd_chain(a, c, j, u, "new_password", reset_confirm_new_done);
}

/* Costs one hash per code or answer given whether or not the user exists and
 * however many questions it has, so the time says nothing about the account. */
int authd_reset_confirm(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1], code[32], th[65], key[AUTHD_LOCK_NAME_MAX + 1];
        const msgpack_object *ans = ds_tb(c, RESET_CONFIRM_ANSWERS);
        struct authd_job *j = NULL;
        struct authd_user *u;
        char *npw = NULL;
        bool good = false;
        int r;

        if (!a->password_reset)
                return ds_call_fail(c, -DS_EDISABLED, NULL, "password reset is switched off on this device");
        ds_tb_str(c, RESET_CONFIRM_USER, name, sizeof name);
        if (!ds_tb_has(c, RESET_CONFIRM_CODE) && !ans)
                return ds_call_fail(c, -EINVAL, "code", "give the code that was mailed, or the answers");
        reset_key(name, key, sizeof key);
        if ((r = authd_login_locked(a, c, key, "reset")) < 0 || (r = authd_login_in_flight(a, c, key, "reset")) < 0)
                return r;
        u = authd_user_find(a, name);
        npw = ds_tb_strdup(c, RESET_CONFIRM_NEW_PASSWORD);
        r = -ENOMEM;
        if (!npw || !(j = authd_job_new()))
                goto out;
        if (ds_tb_has(c, RESET_CONFIRM_CODE)) {
                ds_tb_str(c, RESET_CONFIRM_CODE, code, sizeof code);
                authd_token_hash(code, th);
                sodium_memzero(code, sizeof code);
                if (u && u->reset.tries > 0 && a->now() < u->reset.expires_ms) {
                        good = ds_memeq(th, u->reset.code_hash, 64);
                        if (!good && --u->reset.tries == 0)
                                memset(&u->reset, 0, sizeof u->reset);
                }
                /* one hash for a known name as for an unknown one: timing enumerates nobody */
                if (!good) {
                        int s0 = authd_job_secret(j, "x");
                        if (s0 < 0 || authd_job_must(j, a->dummy_hash, s0) < 0)
                                goto out;
                }
        } else {
                bool shape = u && u->n_questions > 0 && ans->via.array.size == (uint32_t)u->n_questions;

                for (uint32_t i = 0; i < ans->via.array.size && i < AUTHD_JOB_MUST; i++) {
                        char *sa = mp_strdup(&ans->via.array.ptr[i]), norm[256];
                        bool real = shape && i < (uint32_t)u->n_questions;
                        int si;

                        if (!sa)
                                goto out;
                        normalise_answer(sa, norm, sizeof norm);
                        ds_free_secret(sa);
                        si = authd_job_secret(j, norm);
                        sodium_memzero(norm, sizeof norm);
                        if (si < 0 || authd_job_must(j, real ? u->answer_hash[i] : a->dummy_hash, si) < 0)
                                goto out;
                }
                good = shape;
        }
        j->keep = npw;
        npw = NULL;
        if (u)
                authd_user_digest(u, j->digest);
        j->flag = good;
        snprintf(j->name, sizeof j->name, "%s", name);
        snprintf(j->lock_name, sizeof j->lock_name, "%s", key);
        j->done = reset_confirm_done;
        r = authd_job_run(a, c, j);
        j = NULL;
out:
        authd_job_free(&j);
        ds_free_secret(npw);
        return r;
}

