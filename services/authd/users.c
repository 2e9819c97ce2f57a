/* users.c - the account store in memory: groups, users, ONVIF users and the operations on them */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"

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
                struct authd_group g = { .authz = bits_of(builtin_groups[i].authz), .builtin = true };

                snprintf(g.name, sizeof g.name, "%s", builtin_groups[i].name);
                if (!authd_group_add(a, &g))
                        return;
        }
}

const char *authd_builtin_group(size_t i)
{
        return i < sizeof builtin_groups / sizeof builtin_groups[0] ? builtin_groups[i].name : NULL;
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

struct authd_group *authd_group_add(struct authd_ctx *a, const struct authd_group *g)
{
        struct authd_group *p = realloc(a->groups, (a->n_groups + 1) * sizeof *p);

        if (!p)
                return NULL;
        a->groups = p;
        p = &a->groups[a->n_groups++];
        *p = *g;
        return p;
}

void authd_group_remove(struct authd_ctx *a, struct authd_group *g)
{
        size_t i = (size_t)(g - a->groups);

        memmove(&a->groups[i], &a->groups[i + 1], (a->n_groups - i - 1) * sizeof *g);
        a->n_groups--;
}

struct authd_onvif *authd_onvif_add(struct authd_ctx *a, const struct authd_onvif *v)
{
        struct authd_onvif *p = realloc(a->onvif, (a->n_onvif + 1) * sizeof *p);

        if (!p)
                return NULL;
        a->onvif = p;
        p = &a->onvif[a->n_onvif++];
        *p = *v;
        return p;
}

void authd_onvif_remove(struct authd_ctx *a, struct authd_onvif *v)
{
        size_t i = (size_t)(v - a->onvif);

        free(v->hash);
        memmove(&a->onvif[i], &a->onvif[i + 1], (a->n_onvif - i - 1) * sizeof *v);
        a->n_onvif--;
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

void authd_user_digest(const struct authd_user *u, unsigned char out[32])
{
        crypto_generichash_state st;
        static const unsigned char sep = 0;

        crypto_generichash_init(&st, NULL, 0, 32);
        crypto_generichash_update(&st, (const unsigned char *)(u->hash ? u->hash : ""), u->hash ? strlen(u->hash) : 0);
        for (int i = 0; i < u->n_history; i++) {
                crypto_generichash_update(&st, &sep, 1);
                crypto_generichash_update(&st, (const unsigned char *)u->history[i], strlen(u->history[i]));
        }
        for (int i = 0; i < u->n_questions; i++) {
                crypto_generichash_update(&st, &sep, 1);
                if (u->answer_hash[i])
                        crypto_generichash_update(&st, (const unsigned char *)u->answer_hash[i],
                                                  strlen(u->answer_hash[i]));
        }
        crypto_generichash_final(&st, out, 32);
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
