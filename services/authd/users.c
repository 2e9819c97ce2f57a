/* users.c - the account store: groups, users, ONVIF users; persisted with hashes only */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "util.h"

static const struct {
        const char *name;
        const char *const *authz; /* NULL: all */
} builtin_groups[] = {
        { "admin", NULL },
        { "operator", (const char *const[]){ DS_AUTHZ_MONITOR, DS_AUTHZ_PLAYBACK, DS_AUTHZ_CAMERA, DS_AUTHZ_EVENT,
                                             DS_AUTHZ_STORAGE, DS_AUTHZ_MANUAL_CONTROL, DS_AUTHZ_SYSTEM_INFO,
                                             DS_AUTHZ_BACKUP, NULL } },
        { "viewer", (const char *const[]){ DS_AUTHZ_MONITOR, DS_AUTHZ_PLAYBACK, NULL } },
        { NULL, NULL },
};

static uint32_t bits_of(const char *const *names)
{
        uint32_t b = 0;

        if (!names)
                return ds_authz_all();
        for (; *names; names++)
                b |= ds_authz_bit(*names, strlen(*names));
        return b;
}

void authd_store_init(struct authd_ctx *a)
{
        authd_store_clear(a);
        for (size_t i = 0; builtin_groups[i].name; i++) {
                struct authd_group *g = realloc(a->groups, (a->n_groups + 1) * sizeof *g);
                if (!g)
                        return;
                a->groups = g;
                g = &a->groups[a->n_groups++];
                memset(g, 0, sizeof *g);
                snprintf(g->name, sizeof g->name, "%s", builtin_groups[i].name);
                g->authz = bits_of(builtin_groups[i].authz);
                g->builtin = true;
        }
}

static void user_free(struct authd_user *u)
{
        free(u->hash);
        for (int i = 0; i < u->n_history; i++)
                free(u->history[i]);
        for (int i = 0; i < u->n_questions; i++) {
                free(u->question[i]);
                free(u->answer_hash[i]);
        }
        sodium_memzero(u, sizeof *u);
}

void authd_store_clear(struct authd_ctx *a)
{
        for (size_t i = 0; i < a->n_users; i++)
                user_free(&a->users[i]);
        for (size_t i = 0; i < a->n_onvif; i++)
                free(a->onvif[i].hash);
        free(a->users);
        free(a->groups);
        free(a->onvif);
        a->users = NULL;
        a->groups = NULL;
        a->onvif = NULL;
        a->n_users = a->n_groups = a->n_onvif = 0;
        a->initialised = false;
        a->reserved_email[0] = '\0';
}

struct authd_group *authd_group_find(struct authd_ctx *a, const char *name)
{
        for (size_t i = 0; i < a->n_groups; i++)
                if (!strcmp(a->groups[i].name, name))
                        return &a->groups[i];
        return NULL;
}

struct authd_user *authd_user_find(struct authd_ctx *a, const char *name)
{
        for (size_t i = 0; i < a->n_users; i++)
                if (!strcmp(a->users[i].name, name))
                        return &a->users[i];
        return NULL;
}

struct authd_onvif *authd_onvif_find(struct authd_ctx *a, const char *name)
{
        for (size_t i = 0; i < a->n_onvif; i++)
                if (!strcmp(a->onvif[i].name, name))
                        return &a->onvif[i];
        return NULL;
}

struct authd_user *authd_user_add(struct authd_ctx *a, const char *name, const char *group)
{
        struct authd_user *u = realloc(a->users, (a->n_users + 1) * sizeof *u);

        if (!u)
                return NULL;
        a->users = u;
        u = &a->users[a->n_users++];
        memset(u, 0, sizeof *u);
        snprintf(u->name, sizeof u->name, "%s", name);
        snprintf(u->group, sizeof u->group, "%s", group);
        u->enabled = true;
        u->created_ms = u->pw_changed_ms = a->now();
        return u;
}

void authd_user_remove(struct authd_ctx *a, struct authd_user *u)
{
        size_t i = (size_t)(u - a->users);

        user_free(u);
        memmove(&a->users[i], &a->users[i + 1], (a->n_users - i - 1) * sizeof *u);
        a->n_users--;
}

int authd_admins_left(struct authd_ctx *a, const struct authd_user *except)
{
        int n = 0;

        for (size_t i = 0; i < a->n_users; i++) {
                const struct authd_user *u = &a->users[i];
                const struct authd_group *g = authd_group_find(a, u->group);
                if (u != except && u->enabled && g && g->authz == ds_authz_all())
                        n++;
        }
        return n;
}

void authd_user_set_hash(struct authd_ctx *a, struct authd_user *u, char *hash)
{
        int keep = a->policy.history;

        if (u->hash && keep > 0) {
                if (u->n_history == AUTHD_HISTORY_MAX)
                        free(u->history[--u->n_history]);
                memmove(&u->history[1], &u->history[0], (size_t)u->n_history * sizeof u->history[0]);
                u->history[0] = u->hash;
                u->n_history++;
        } else {
                free(u->hash);
        }
        while (u->n_history > keep)
                free(u->history[--u->n_history]);
        u->hash = hash;
        u->pw_changed_ms = a->now();
}

uint32_t authd_user_authz(struct authd_ctx *a, const struct authd_user *u)
{
        const struct authd_group *g = authd_group_find(a, u->group);

        return g ? g->authz : 0;
}

void authd_write_authorities(struct mpw *w, uint32_t bits)
{
        mpw_arr_begin(w);
        for (size_t i = 0; ds_authorities[i]; i++)
                if (bits & ds_authz_bit(ds_authorities[i], strlen(ds_authorities[i])))
                        mpw_str(w, ds_authorities[i]);
        mpw_arr_end(w);
}

/* ---- persistence ------------------------------------------------------------- */

void authd_store_write(struct authd_ctx *a, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "v", 1);
        mpw_kv_bool(w, "initialised", a->initialised);
        mpw_kv_str(w, "email", a->reserved_email);
        mpw_str(w, "groups");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_groups; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", a->groups[i].name);
                mpw_kv_bool(w, "builtin", a->groups[i].builtin);
                mpw_str(w, "authorities");
                authd_write_authorities(w, a->groups[i].authz);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_str(w, "users");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_users; i++) {
                const struct authd_user *u = &a->users[i];
                mpw_map_begin(w);
                mpw_kv_str(w, "name", u->name);
                mpw_kv_str(w, "group", u->group);
                mpw_kv_str(w, "hash", u->hash);
                mpw_str(w, "history");
                mpw_arr_begin(w);
                for (int j = 0; j < u->n_history; j++)
                        mpw_str(w, u->history[j]);
                mpw_arr_end(w);
                mpw_kv_bool(w, "enabled", u->enabled);
                mpw_kv_str(w, "mac", u->mac);
                mpw_kv_int(w, "not_before", u->not_before_ms);
                mpw_kv_int(w, "not_after", u->not_after_ms);
                mpw_kv_str(w, "memo", u->memo);
                mpw_kv_str(w, "email", u->email);
                mpw_kv_int(w, "pw_changed", u->pw_changed_ms);
                mpw_kv_int(w, "created", u->created_ms);
                mpw_str(w, "questions");
                mpw_arr_begin(w);
                for (int j = 0; j < u->n_questions; j++) {
                        mpw_map_begin(w);
                        mpw_kv_str(w, "q", u->question[j]);
                        mpw_kv_str(w, "a", u->answer_hash[j]);
                        mpw_map_end(w);
                }
                mpw_arr_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_str(w, "onvif");
        mpw_arr_begin(w);
        for (size_t i = 0; i < a->n_onvif; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", a->onvif[i].name);
                mpw_kv_str(w, "hash", a->onvif[i].hash);
                mpw_kv_str(w, "level", a->onvif[i].level);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
}

static const msgpack_object *arr(const msgpack_object *m, const char *k)
{
        const msgpack_object *o = mp_get(m, k);

        return o && o->type == MSGPACK_OBJECT_ARRAY ? o : NULL;
}

static bool good_name(const msgpack_object *o, char *buf, size_t size)
{
        return mp_strcpy(o, buf, size) == 0 && !ds_check_name(buf, strlen(buf));
}

int authd_store_read(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e)
{
        const msgpack_object *gs, *us, *os;

        if (!o || o->type != MSGPACK_OBJECT_MAP || mp_get_int(o, "v", 0) != 1)
                return ds_err_set(e, -EINVAL, "state", "not an authd account store (v1)");
        authd_store_clear(a);
        a->initialised = mp_get_bool(o, "initialised", false);
        mp_strcpy(mp_get(o, "email"), a->reserved_email, sizeof a->reserved_email);
        gs = arr(o, "groups");
        for (uint32_t i = 0; gs && i < gs->via.array.size; i++) {
                const msgpack_object *g = &gs->via.array.ptr[i], *az = arr(g, "authorities");
                struct authd_group ng = { .builtin = mp_get_bool(g, "builtin", false) };
                struct authd_group *p;

                if (!good_name(mp_get(g, "name"), ng.name, sizeof ng.name) || authd_group_find(a, ng.name))
                        return ds_err_set(e, -EINVAL, "groups", "group %u: bad or duplicate name", i);
                for (uint32_t j = 0; az && j < az->via.array.size; j++)
                        if (mp_is_str(&az->via.array.ptr[j]))
                                ng.authz |= ds_authz_bit(az->via.array.ptr[j].via.str.ptr,
                                                         az->via.array.ptr[j].via.str.size);
                p = realloc(a->groups, (a->n_groups + 1) * sizeof *p);
                if (!p)
                        return -ENOMEM;
                a->groups = p;
                a->groups[a->n_groups++] = ng;
        }
        if (!authd_group_find(a, "admin"))
                return ds_err_set(e, -EINVAL, "groups", "the admin group is missing");
        us = arr(o, "users");
        for (uint32_t i = 0; us && i < us->via.array.size; i++) {
                const msgpack_object *m = &us->via.array.ptr[i], *h = arr(m, "history"), *q = arr(m, "questions");
                char name[AUTHD_NAME_MAX + 1], group[AUTHD_NAME_MAX + 1];
                struct authd_user *u;

                if (!good_name(mp_get(m, "name"), name, sizeof name) || authd_user_find(a, name) ||
                    !good_name(mp_get(m, "group"), group, sizeof group) || !authd_group_find(a, group))
                        return ds_err_set(e, -EINVAL, "users", "user %u: bad name or group", i);
                u = authd_user_add(a, name, group);
                if (!u)
                        return -ENOMEM;
                u->hash = mp_strdup(mp_get(m, "hash"));
                if (!u->hash || strncmp(u->hash, "$argon2id$", 10))
                        return ds_err_set(e, -EINVAL, "users", "user '%s': no Argon2id hash", name);
                for (uint32_t j = 0; h && j < h->via.array.size && u->n_history < AUTHD_HISTORY_MAX; j++) {
                        char *s = mp_strdup(&h->via.array.ptr[j]);
                        if (s)
                                u->history[u->n_history++] = s;
                }
                u->enabled = mp_get_bool(m, "enabled", true);
                mp_strcpy(mp_get(m, "mac"), u->mac, sizeof u->mac);
                u->not_before_ms = mp_get_int(m, "not_before", 0);
                u->not_after_ms = mp_get_int(m, "not_after", 0);
                mp_strcpy(mp_get(m, "memo"), u->memo, sizeof u->memo);
                mp_strcpy(mp_get(m, "email"), u->email, sizeof u->email);
                u->pw_changed_ms = mp_get_int(m, "pw_changed", a->now());
                u->created_ms = mp_get_int(m, "created", 0);
                for (uint32_t j = 0; q && j < q->via.array.size && u->n_questions < AUTHD_QUESTIONS_MAX; j++) {
                        char *qs = mp_strdup(mp_get(&q->via.array.ptr[j], "q"));
                        char *as = mp_strdup(mp_get(&q->via.array.ptr[j], "a"));
                        if (!qs || !as) {
                                free(qs);
                                free(as);
                                continue;
                        }
                        u->question[u->n_questions] = qs;
                        u->answer_hash[u->n_questions++] = as;
                }
        }
        os = arr(o, "onvif");
        for (uint32_t i = 0; os && i < os->via.array.size; i++) {
                const msgpack_object *m = &os->via.array.ptr[i];
                struct authd_onvif v = { 0 }, *p;

                if (!good_name(mp_get(m, "name"), v.name, sizeof v.name) ||
                    mp_strcpy(mp_get(m, "level"), v.level, sizeof v.level) < 0 ||
                    !(v.hash = mp_strdup(mp_get(m, "hash"))))
                        return ds_err_set(e, -EINVAL, "onvif", "ONVIF user %u: bad entry", i);
                p = realloc(a->onvif, (a->n_onvif + 1) * sizeof *p);
                if (!p) {
                        free(v.hash);
                        return -ENOMEM;
                }
                a->onvif = p;
                a->onvif[a->n_onvif++] = v;
        }
        if (a->initialised && authd_admins_left(a, NULL) == 0)
                log_warn("account store has no enabled administrator");
        return 0;
}

int authd_store_save(struct authd_ctx *a)
{
        struct mpw w;
        int r;

        if (!a->d)
                return 0; /* unit tests: no daemon */
        mpw_init(&w);
        authd_store_write(a, &w);
        r = mpw_finish(&w) < 0 ? -EINVAL : ds_daemon_save(a->d, "users.mp", mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                log_errno(r, "cannot save the account store: %m");
        return r;
}
