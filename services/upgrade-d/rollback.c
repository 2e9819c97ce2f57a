/* rollback.c - anti-rollback: per component the highest security version
 * ever committed and the version installed, kept in upgrade-d's state
 * (counters.json, atomic writes; a factory reset keeps it) */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "upgrade.h"

void upg_counters_free(struct upg_counters *c)
{
        free(c->v);
        c->v = NULL;
        c->n = 0;
}

struct upg_counter *upg_counter_find(struct upg_counters *c, const char *name)
{
        for (size_t i = 0; i < c->n; i++)
                if (!strcmp(c->v[i].name, name))
                        return &c->v[i];
        return NULL;
}

int upg_counters_load(const char *dir, struct upg_counters *ret)
{
        struct upg_counters c = { 0 };
        char *text = NULL;
        size_t len;
        json_t *root, *v;
        const char *k;
        int r;

        r = state_read(dir, UPG_COUNTERS, 1 << 20, &text, &len);
        if (r == -ENOENT) {
                *ret = c;
                return 0;
        }
        if (r < 0)
                return r;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        free(text);
        /* a damaged file must stop installs, not reset the counters to zero */
        if (!json_is_object(root)) {
                json_decref(root);
                return -EBADMSG;
        }
        if (json_object_size(root) && !(c.v = calloc(json_object_size(root), sizeof *c.v))) {
                json_decref(root);
                return -ENOMEM;
        }
        json_object_foreach(root, k, v) {
                struct upg_counter *e = &c.v[c.n];
                json_t *sv = json_object_get(v, "security_version"), *ver = json_object_get(v, "version");
                if (strlen(k) > BUNDLE_NAME_MAX || !json_is_integer(sv) || json_integer_value(sv) < 0 ||
                    !json_is_string(ver) || json_string_length(ver) > BUNDLE_VERSION_MAX) {
                        upg_counters_free(&c);
                        json_decref(root);
                        return -EBADMSG;
                }
                snprintf(e->name, sizeof e->name, "%s", k);
                snprintf(e->version, sizeof e->version, "%s", json_string_value(ver));
                e->security_version = (uint64_t)json_integer_value(sv);
                c.n++;
        }
        json_decref(root);
        *ret = c;
        return 0;
}

int upg_counters_save(const char *dir, const struct upg_counters *c)
{
        json_t *root = json_object();
        char *s;
        int r;

        for (size_t i = 0; i < c->n; i++)
                json_object_set_new(root, c->v[i].name,
                                    json_pack("{sIss}", "security_version", (json_int_t)c->v[i].security_version,
                                              "version", c->v[i].version));
        s = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
        json_decref(root);
        if (!s)
                return -ENOMEM;
        r = state_write(dir, UPG_COUNTERS, s, strlen(s), 0600);
        free(s);
        return r;
}

int upg_counters_commit(struct upg_counters *c, const char *name, const char *version, uint64_t sv)
{
        struct upg_counter *e = upg_counter_find(c, name), *nv;

        if (!e) {
                if (!(nv = realloc(c->v, (c->n + 1) * sizeof *c->v)))
                        return -ENOMEM;
                c->v = nv;
                e = &c->v[c->n++];
                memset(e, 0, sizeof *e);
                snprintf(e->name, sizeof e->name, "%s", name);
        }
        snprintf(e->version, sizeof e->version, "%s", version);
        /* never down, whatever was installed */
        if (sv > e->security_version)
                e->security_version = sv;
        return 0;
}

int upg_policy_check(struct upg_counters *c, const struct bundle_component *b, const char *running_version,
                     bool allow_downgrade, struct ds_err *e)
{
        struct upg_counter *k = upg_counter_find(c, b->name);
        uint64_t have_sv = k ? k->security_version : 0;
        const char *have = k && k->version[0] ? k->version : running_version;
        int cmp;

        if (b->security_version < have_sv)
                return ds_err_set(e, -EINVAL, "security_version",
                                  "'%s' security version %" PRIu64 " is below the installed %" PRIu64 " (anti-rollback)",
                                  b->name, b->security_version, have_sv);
        if (!have || bundle_version_check(have))
                return 0;
        cmp = bundle_version_cmp(b->version, have);
        if (cmp == 0)
                return ds_err_set(e, -EEXIST, "version", "'%s' %s is already installed", b->name, b->version);
        if (cmp < 0) {
                if (!allow_downgrade)
                        return ds_err_set(e, -EINVAL, "version", "'%s' %s is older than the installed %s (downgrade refused)",
                                          b->name, b->version, have);
                if (b->security_version != have_sv)
                        return ds_err_set(e, -EINVAL, "security_version",
                                          "a downgrade needs the same security version (%" PRIu64 ", bundle %" PRIu64 ")",
                                          have_sv, b->security_version);
        }
        return 0;
}
