/* dict.c - the dictionary rule through libpwquality (and cracklib), loaded
 * only while a password is being checked. Linked in, the two libraries'
 * relocated data and the pages they touch (about 80 KiB) stayed in authd's
 * memory for its whole life, for a check made when a password is set. Loaded
 * with dlopen through a typed table and unloaded after each check, they cost
 * nothing while authd is idle. authd_dict_new loads them once at start-up,
 * so that a device without them fails at start, not at the first password. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"

#define PWQ_LIB "libpwquality.so.1"

struct authd_dict {
        int loads; /* how many checks loaded the library (tests) */
};

struct pwq_api {
        void *h;
        pwquality_settings_t *(*default_settings)(void);
        int (*set_int_value)(pwquality_settings_t *q, int setting, int value);
        int (*check)(pwquality_settings_t *q, const char *pw, const char *old, const char *user, void **aux);
        void (*free_settings)(pwquality_settings_t *q);
};

static const struct {
        const char *name;
        size_t off;
} pwq_syms[] = {
        { "pwquality_default_settings", offsetof(struct pwq_api, default_settings) },
        { "pwquality_set_int_value", offsetof(struct pwq_api, set_int_value) },
        { "pwquality_check", offsetof(struct pwq_api, check) },
        { "pwquality_free_settings", offsetof(struct pwq_api, free_settings) },
};

static void api_close(struct pwq_api *api)
{
        if (api->h)
                dlclose(api->h);
        memset(api, 0, sizeof *api);
}

static int api_open(struct pwq_api *api, char *why, size_t size)
{
        memset(api, 0, sizeof *api);
        if (!(api->h = dlopen(PWQ_LIB, RTLD_NOW | RTLD_LOCAL))) {
                snprintf(why, size, "cannot load %s: %s", PWQ_LIB, dlerror());
                return -ENOENT;
        }
        for (size_t i = 0; i < sizeof pwq_syms / sizeof pwq_syms[0]; i++) {
                void *f = dlsym(api->h, pwq_syms[i].name);

                if (!f) {
                        snprintf(why, size, "%s has no %s", PWQ_LIB, pwq_syms[i].name);
                        api_close(api);
                        return -ENOENT;
                }
                memcpy((char *)api + pwq_syms[i].off, &f, sizeof f);
        }
        return 0;
}

/* Only the dictionary (and palindromes): authd's own rules do the rest. */
static pwquality_settings_t *settings_new(const struct pwq_api *api)
{
        static const int off[][2] = {
                { PWQ_SETTING_DIFF_OK, 0 },     { PWQ_SETTING_MIN_LENGTH, 6 },  { PWQ_SETTING_DIG_CREDIT, 0 },
                { PWQ_SETTING_UP_CREDIT, 0 },   { PWQ_SETTING_LOW_CREDIT, 0 },  { PWQ_SETTING_OTH_CREDIT, 0 },
                { PWQ_SETTING_MIN_CLASS, 0 },   { PWQ_SETTING_MAX_REPEAT, 0 },  { PWQ_SETTING_MAX_CLASS_REPEAT, 0 },
                { PWQ_SETTING_GECOS_CHECK, 0 }, { PWQ_SETTING_MAX_SEQUENCE, 0 }, { PWQ_SETTING_USER_CHECK, 0 },
                { PWQ_SETTING_DICT_CHECK, 1 },
        };
        pwquality_settings_t *q = api->default_settings();

        if (!q)
                return NULL;
        for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
                api->set_int_value(q, off[i][0], off[i][1]);
        return q;
}

authd_dict_t *authd_dict_new(void)
{
        struct pwq_api api;
        authd_dict_t *d;
        char why[256];

        if (api_open(&api, why, sizeof why) < 0) {
                log_err("password dictionary: %s", why);
                return NULL;
        }
        api_close(&api);
        d = calloc(1, sizeof *d);
        return d;
}

void authd_dict_free(authd_dict_t **pd)
{
        free(*pd);
        *pd = NULL;
}

int authd_dict_loads(const authd_dict_t *d)
{
        return d ? d->loads : 0;
}

int authd_dict_check(authd_dict_t *d, const char *pw, char *why, size_t size)
{
        struct pwq_api api;
        pwquality_settings_t *q;
        void *aux = NULL;
        int r, rejected = 0;

        if ((r = api_open(&api, why, size)) < 0) {
                log_err("password dictionary: %s", why);
                snprintf(why, size, "the password dictionary cannot be loaded: try again later");
                return 1; /* fail closed: no password goes unchecked */
        }
        d->loads++;
        if (!(q = settings_new(&api))) {
                api_close(&api);
                snprintf(why, size, "the password dictionary cannot be loaded: out of memory");
                return 1;
        }
        r = api.check(q, pw, NULL, NULL, &aux);
        if (r == PWQ_ERROR_CRACKLIB_CHECK) {
                snprintf(why, size, "is in the dictionary of common or breached passwords (%s)",
                         aux ? (const char *)aux : "cracklib");
                rejected = 1;
        } else if (r == PWQ_ERROR_PALINDROME) {
                snprintf(why, size, "must not be a palindrome");
                rejected = 1;
        }
        /* the other pwquality rules are ours, tuned off in settings_new() */
        api.free_settings(q);
        api_close(&api);
        return rejected;
}
