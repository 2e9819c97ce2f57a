/* accounts.c - what operators change in the account store: users (the
 * password hashed in the pool), groups, ONVIF users; the rules of the live
 * methods (the last enabled administrator, built-in groups) and the
 * revocations and audit records that follow a change */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"

/* i: the argument's index in the method's table, key its name */
static int arg_time(struct ds_call *c, unsigned i, const char *key, int64_t *ret)
{
        char s[40];

        if (!ds_tb_has(c, i))
                return 0;
        if (ds_tb_str(c, i, s, sizeof s) < 0)
                return ds_call_fail(c, -EINVAL, key, "must be an ISO 8601 UTC time or \"-\"");
        if (!strcmp(s, "-") || !s[0]) {
                *ret = 0;
                return 0;
        }
        if (ds_parse_time(s, ret) < 0)
                return ds_call_fail(c, -EINVAL, key, "must be an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ) or \"-\"");
        return 0;
}

/* Fields shared by user.add and user.set, applied after validation. */
static int apply_user_fields(struct ds_call *c, struct authd_user *u)
{
        int64_t nb = u->not_before_ms, na = u->not_after_ms;
        int r;

        if ((r = arg_time(c, USER_NOT_BEFORE, "not_before", &nb)) < 0 ||
            (r = arg_time(c, USER_NOT_AFTER, "not_after", &na)) < 0)
                return r;
        if (nb && na && na <= nb)
                return ds_call_fail(c, -EINVAL, "not_after", "must be later than not_before");
        u->not_before_ms = nb;
        u->not_after_ms = na;
        if (ds_tb_has(c, USER_MEMO))
                ds_tb_str(c, USER_MEMO, u->memo, sizeof u->memo);
        if (ds_tb_has(c, USER_EMAIL))
                ds_tb_str(c, USER_EMAIL, u->email, sizeof u->email);
        if (ds_tb_has(c, USER_MAC)) {
                ds_tb_str(c, USER_MAC, u->mac, sizeof u->mac);
                if (!strcmp(u->mac, "-"))
                        u->mac[0] = '\0';
        }
        return 0;
}

/* The fields given with user.add, validated before the hash is made. */
static int user_add_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        const struct authd_user *f = j->extra;
        struct authd_user *u;
        int r;

        if (authd_user_find(a, j->name))
                return ds_call_fail(c, -EEXIST, "name", "user '%s' exists already", j->name);
        if (!authd_group_find(a, j->group))
                return ds_call_fail(c, -EINVAL, "group", "no group '%s' (deleted meanwhile)", j->group);
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        u = authd_user_add(a, j->name, j->group);
        if (!u)
                return -ENOMEM;
        u->hash = j->out[0];
        j->out[0] = NULL;
        u->enabled = f->enabled;
        u->not_before_ms = f->not_before_ms;
        u->not_after_ms = f->not_after_ms;
        memcpy(u->memo, f->memo, sizeof u->memo);
        memcpy(u->email, f->email, sizeof u->email);
        memcpy(u->mac, f->mac, sizeof u->mac);
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "user '%s' (group %s) added by '%s' from '%s'",
                  j->name, j->group, ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "name", j->name);
        mpw_kv_str(c->r, "group", j->group);
        return 0;
}

int authd_account_user_add(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1], group[AUTHD_NAME_MAX + 1];
        struct authd_job *j;
        struct authd_user *f;
        int r;

        ds_tb_str(c, USER_NAME, name, sizeof name);
        ds_tb_str(c, USER_GROUP, group, sizeof group);
        if (authd_user_find(a, name))
                return ds_call_fail(c, -EEXIST, "name", "user '%s' exists already", name);
        if (!authd_group_find(a, group))
                return ds_call_fail(c, -EINVAL, "group", "no group '%s'", group);
        if (!(f = calloc(1, sizeof *f)))
                return -ENOMEM;
        f->enabled = ds_tb_bool(c, USER_ENABLED, true);
        if ((r = apply_user_fields(c, f)) < 0 || (r = authd_passwd_job(a, c, name, USER_PASSWORD, "password", &j)) < 0) {
                free(f);
                return r;
        }
        j->extra = f; /* freed with the job */
        snprintf(j->group, sizeof j->group, "%s", group);
        j->done = user_add_done;
        return authd_job_run(a, c, j);
}

int authd_account_user_del(struct authd_ctx *a, struct ds_call *c, struct authd_user *u)
{
        char name[AUTHD_NAME_MAX + 1];

        if (authd_user_authz(a, u) == ds_authz_all() && u->enabled && authd_admins_left(a, u) == 0)
                return ds_call_fail(c, -EPERM, "name", "'%s' is the last enabled administrator", u->name);
        snprintf(name, sizeof name, "%s", u->name);
        authd_user_remove(a, u);
        authd_lock_clear(a, name);
        authd_store_save(a);
        authd_lock_save(a);
        authd_session_revoke_user(a, name, NULL);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "user '%s' deleted by '%s' from '%s'", name, ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "deleted", name);
        return 0;
}

int authd_account_user_set(struct authd_ctx *a, struct ds_call *c, struct authd_user *u)
{
        struct authd_user saved;
        char group[AUTHD_NAME_MAX + 1];
        bool was_admin, revoke = false;
        int r;

        was_admin = u->enabled && authd_user_authz(a, u) == ds_authz_all();
        saved = *u;
        if (ds_tb_has(c, USER_GROUP)) {
                ds_tb_str(c, USER_GROUP, group, sizeof group);
                if (!authd_group_find(a, group))
                        return ds_call_fail(c, -EINVAL, "group", "no group '%s'", group);
                revoke |= strcmp(group, u->group) != 0;
                snprintf(u->group, sizeof u->group, "%s", group);
        }
        if (ds_tb_has(c, USER_ENABLED)) {
                bool en = ds_tb_bool(c, USER_ENABLED, true);
                revoke |= !en && u->enabled;
                u->enabled = en;
        }
        if (was_admin && !(u->enabled && authd_user_authz(a, u) == ds_authz_all()) &&
            authd_admins_left(a, u) == 0) {
                *u = saved;
                return ds_call_fail(c, -EPERM, ds_tb_has(c, USER_GROUP) ? "group" : "enabled",
                                    "'%s' is the last enabled administrator: it cannot be demoted or disabled",
                                    u->name);
        }
        if ((r = apply_user_fields(c, u)) < 0) {
                *u = saved;
                return r;
        }
        authd_store_save(a);
        if (revoke)
                authd_session_revoke_user(a, u->name, NULL);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "user '%s' changed by '%s' from '%s' (group %s, %s)",
                  u->name, ds_call_actor(c), authd_call_source(c), u->group, u->enabled ? "enabled" : "disabled");
        mpw_kv_str(c->r, "name", u->name);
        mpw_kv_str(c->r, "group", u->group);
        mpw_kv_bool(c->r, "enabled", u->enabled);
        return 0;
}

int authd_account_user_lock(struct authd_ctx *a, struct ds_call *c, struct authd_user *u)
{
        struct authd_lock *l;
        int64_t until = 0;

        if (authd_user_authz(a, u) == ds_authz_all() && u->enabled && authd_admins_left(a, u) == 0)
                return ds_call_fail(c, -EPERM, "name", "'%s' is the last enabled administrator", u->name);
        /* a record with the cap reached is a lock until an administrator lifts it */
        l = authd_lock_find(a, u->name);
        if (!l) {
                authd_lock_fail(a, u->name, "admin", &until);
                l = authd_lock_find(a, u->name);
        }
        if (!l)
                return -ENOMEM;
        l->hard = true;
        l->by_admin = true;
        authd_lock_save(a);
        authd_session_revoke_user(a, u->name, NULL);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "user '%s' locked by '%s' from '%s'", u->name,
                  ds_call_actor(c), authd_call_source(c));
        authd_publish_locked(a, u->name, "admin", 0);
        mpw_kv_str(c->r, "locked", u->name);
        return 0;
}

static int arg_authorities(struct ds_call *c, uint32_t *ret)
{
        const msgpack_object *o = ds_tb(c, GROUP_AUTHORITIES);
        uint32_t bits = 0;

        for (uint32_t i = 0; o && i < o->via.array.size; i++) {
                const msgpack_object *s = &o->via.array.ptr[i];
                uint32_t b = ds_authz_bit(s->via.str.ptr, s->via.str.size);
                char f[32];
                if (!b) {
                        snprintf(f, sizeof f, "authorities[%u]", i);
                        return ds_call_fail(c, -EINVAL, f, "unknown authority '%.*s'", (int)s->via.str.size,
                                            s->via.str.ptr);
                }
                bits |= b;
        }
        *ret = bits;
        return 0;
}

int authd_account_group_add(struct authd_ctx *a, struct ds_call *c)
{
        struct authd_group g = { 0 };
        int r;

        ds_tb_str(c, GROUP_NAME, g.name, sizeof g.name);
        if (authd_group_find(a, g.name))
                return ds_call_fail(c, -EEXIST, "name", "group '%s' exists already", g.name);
        if ((r = arg_authorities(c, &g.authz)) < 0)
                return r;
        if (!authd_group_add(a, &g))
                return -ENOMEM;
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "group '%s' added by '%s' from '%s'", g.name,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "name", g.name);
        mpw_str(c->r, "authorities");
        authd_write_authorities(c->r, g.authz);
        return 0;
}

int authd_account_group_del(struct authd_ctx *a, struct ds_call *c, struct authd_group *g)
{
        char name[AUTHD_NAME_MAX + 1];
        size_t i;

        if (g->builtin)
                return ds_call_fail(c, -EPERM, "name", "'%s' is a built-in group", g->name);
        for (i = 0; i < a->n_users; i++)
                if (!strcmp(a->users[i].group, g->name))
                        return ds_call_fail(c, -EBUSY, "name", "group '%s' still has members ('%s')", g->name,
                                            a->users[i].name);
        snprintf(name, sizeof name, "%s", g->name);
        authd_group_remove(a, g);
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "group '%s' deleted by '%s' from '%s'", name, ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "deleted", name);
        return 0;
}

int authd_account_group_set(struct authd_ctx *a, struct ds_call *c, struct authd_group *g)
{
        char nn[AUTHD_NAME_MAX + 1];
        uint32_t bits;
        int r;

        if (!strcmp(g->name, "admin"))
                return ds_call_fail(c, -EPERM, "name", "the admin group always holds every authority");
        ds_tb_str(c, GROUP_NEW_NAME, nn, sizeof nn);
        if (nn[0] && g->builtin)
                return ds_call_fail(c, -EPERM, "new_name", "built-in groups keep their names");
        if (nn[0] && authd_group_find(a, nn))
                return ds_call_fail(c, -EEXIST, "new_name", "group '%s' exists already", nn);
        bits = g->authz;
        if (ds_tb_has(c, GROUP_AUTHORITIES) && (r = arg_authorities(c, &bits)) < 0)
                return r;
        g->authz = bits;
        if (nn[0]) {
                for (size_t i = 0; i < a->n_users; i++)
                        if (!strcmp(a->users[i].group, g->name))
                                snprintf(a->users[i].group, sizeof a->users[i].group, "%s", nn);
                snprintf(g->name, sizeof g->name, "%s", nn);
        }
        authd_store_save(a);
        /* members' cached authorities in busd are stale now */
        for (size_t i = 0; i < a->n_users; i++)
                if (!strcmp(a->users[i].group, g->name))
                        authd_session_refresh(a, a->users[i].name);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "group '%s' changed by '%s' from '%s'", g->name,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "name", g->name);
        mpw_str(c->r, "authorities");
        authd_write_authorities(c->r, g->authz);
        return 0;
}

static int onvif_add_done(struct authd_ctx *a, struct ds_call *c, struct authd_job *j)
{
        struct authd_onvif v = { 0 };
        int r;

        if (authd_onvif_find(a, j->name))
                return ds_call_fail(c, -EEXIST, "name", "ONVIF user '%s' exists already", j->name);
        if ((r = authd_job_hashes_made(c, j)) < 0)
                return r;
        snprintf(v.name, sizeof v.name, "%s", j->name);
        snprintf(v.level, sizeof v.level, "%.15s", j->text);
        v.hash = j->out[0];
        if (!authd_onvif_add(a, &v))
                return -ENOMEM; /* the hash is still the job's */
        j->out[0] = NULL;
        authd_store_save(a);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "ONVIF user '%s' (%s) added by '%s' from '%s'", v.name, v.level,
                  ds_call_actor(c), authd_call_source(c));
        mpw_kv_str(c->r, "name", v.name);
        mpw_kv_str(c->r, "level", v.level);
        return 0;
}

int authd_account_onvif_add(struct authd_ctx *a, struct ds_call *c)
{
        char name[AUTHD_NAME_MAX + 1];
        struct authd_job *j;
        int r;

        ds_tb_str(c, ONVIF_NAME, name, sizeof name);
        if (authd_onvif_find(a, name))
                return ds_call_fail(c, -EEXIST, "name", "ONVIF user '%s' exists already", name);
        if ((r = authd_passwd_job(a, c, name, ONVIF_PASSWORD, "password", &j)) < 0)
                return r;
        ds_tb_str(c, ONVIF_LEVEL, j->text, sizeof j->text);
        j->done = onvif_add_done;
        return authd_job_run(a, c, j);
}

