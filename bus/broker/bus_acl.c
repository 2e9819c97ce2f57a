/* bus_acl.c - bus ACL from libconfig files; glob patterns with fnmatch(3) */
#include "bus_acl.h"

#include <dirent.h>
#include <fnmatch.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "bus_proto.h"

enum { L_SERVE, L_CALL, L_PUBLISH, L_SUBSCRIBE, L_N };
static const char *const list_names[L_N] = { "serve", "call", "publish", "subscribe" };

struct acl_ident {
        char *name;
        bool operator;
        bool gateway; /* an operator-class peer that relays other people's sessions (webd) */
        char **lists[L_N];
        size_t n[L_N];
};

struct bus_acl {
        struct acl_ident *ids;
        size_t n_ids;
        char **restricted;
        size_t n_restricted;
};

bus_acl_t *bus_acl_new(void)
{
        return calloc(1, sizeof(bus_acl_t));
}

static void free_list(char **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

void bus_acl_destroy(bus_acl_t **pacl)
{
        bus_acl_t *acl = *pacl;

        if (!acl)
                return;
        for (size_t i = 0; i < acl->n_ids; i++) {
                free(acl->ids[i].name);
                for (int l = 0; l < L_N; l++)
                        free_list(acl->ids[i].lists[l], acl->ids[i].n[l]);
        }
        free(acl->ids);
        free_list(acl->restricted, acl->n_restricted);
        free(acl);
        *pacl = NULL;
}

static const struct acl_ident *find(const bus_acl_t *acl, const char *id)
{
        for (size_t i = 0; i < acl->n_ids; i++)
                if (!strcmp(acl->ids[i].name, id))
                        return &acl->ids[i];
        return NULL;
}

static int read_strings(config_setting_t *s, const char *path, char ***ret, size_t *ret_n, struct ds_err *e)
{
        int n = config_setting_length(s);
        char **l;

        if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
                return ds_err_set(e, -EINVAL, config_setting_name(s), "%s:%d: '%s' must be a list of strings",
                                  path, config_setting_source_line(s), config_setting_name(s));
        l = calloc((size_t)n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                const char *v = config_setting_get_string_elem(s, i);
                if (!v) {
                        free_list(l, (size_t)i);
                        return ds_err_set(e, -EINVAL, config_setting_name(s), "%s:%d: '%s' must hold strings",
                                          path, config_setting_source_line(s), config_setting_name(s));
                }
                l[i] = strdup(v);
        }
        *ret = l;
        *ret_n = (size_t)n;
        return 0;
}

static int load_ident(bus_acl_t *acl, config_setting_t *g, const char *path, struct ds_err *e)
{
        const char *name = config_setting_name(g);
        struct acl_ident *id, *n;
        int r;

        if (strlen(name) > BUS_NAME_MAX)
                return ds_err_set(e, -EINVAL, name, "%s:%d: identity name too long", path,
                                  config_setting_source_line(g));
        if (find(acl, name))
                return ds_err_set(e, -EINVAL, name, "%s:%d: identity '%s' defined twice", path,
                                  config_setting_source_line(g), name);
        n = realloc(acl->ids, (acl->n_ids + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        acl->ids = n;
        id = &acl->ids[acl->n_ids++];
        memset(id, 0, sizeof *id);
        id->name = strdup(name);
        for (int i = 0; i < config_setting_length(g); i++) {
                config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
                const char *k = config_setting_name(c);
                int l;

                if (!strcmp(k, "operator") || !strcmp(k, "gateway")) {
                        if (config_setting_type(c) != CONFIG_TYPE_BOOL)
                                return ds_err_set(e, -EINVAL, k, "%s:%d: '%s' must be true or false",
                                                  path, config_setting_source_line(c), k);
                        if (k[0] == 'o')
                                id->operator = config_setting_get_bool(c);
                        else
                                id->gateway = config_setting_get_bool(c);
                        continue;
                }
                for (l = 0; l < L_N; l++)
                        if (!strcmp(k, list_names[l]))
                                break;
                if (l == L_N)
                        return ds_err_set(e, -EINVAL, k, "%s:%d: unknown key '%s' (serve, call, publish, subscribe, operator, gateway)",
                                          path, config_setting_source_line(c), k);
                r = read_strings(c, path, &id->lists[l], &id->n[l], e);
                if (r < 0)
                        return r;
        }
        /* a gateway's calls are its users' calls: it serves nothing and has no
         * daemon's rights, so it is an operator whatever else the entry says */
        if (id->gateway) {
                if (id->n[L_SERVE])
                        return ds_err_set(e, -EINVAL, "serve", "%s:%d: gateway '%s' may not serve a service", path,
                                          config_setting_source_line(g), name);
                id->operator = true;
        }
        return 0;
}

int bus_acl_load_file(bus_acl_t *acl, const char *path, struct ds_err *e)
{
        config_t cfg;
        config_setting_t *root;
        int r = 0;

        config_init(&cfg);
        if (config_read_file(&cfg, path) != CONFIG_TRUE) {
                r = ds_err_set(e, config_error_type(&cfg) == CONFIG_ERR_FILE_IO ? -ENOENT : -EINVAL, NULL,
                               "%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
                goto out;
        }
        root = config_root_setting(&cfg);
        for (int i = 0; i < config_setting_length(root); i++) {
                config_setting_t *c = config_setting_get_elem(root, (unsigned)i);
                const char *k = config_setting_name(c);

                if (!strcmp(k, "restricted_topics")) {
                        char **l;
                        size_t n;
                        r = read_strings(c, path, &l, &n, e);
                        if (r < 0)
                                goto out;
                        free_list(acl->restricted, acl->n_restricted);
                        acl->restricted = l;
                        acl->n_restricted = n;
                } else if (config_setting_is_group(c)) {
                        r = load_ident(acl, c, path, e);
                        if (r < 0)
                                goto out;
                } else {
                        r = ds_err_set(e, -EINVAL, k, "%s:%d: '%s' must be an identity group { ... }", path,
                                       config_setting_source_line(c), k);
                        goto out;
                }
        }
out:
        config_destroy(&cfg);
        return r;
}

static int cmpstr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int bus_acl_load(const char *confdir, bus_acl_t **ret, struct ds_err *e)
{
        char path[4096];
        bus_acl_t *acl = bus_acl_new();
        char **files = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *dir;
        int r;

        if (!acl)
                return -ENOMEM;
        snprintf(path, sizeof path, "%s/bus.acl", confdir);
        r = bus_acl_load_file(acl, path, e);
        if (r < 0)
                goto fail;
        snprintf(path, sizeof path, "%s/bus.acl.d", confdir);
        dir = opendir(path);
        if (dir) {
                while ((de = readdir(dir))) {
                        size_t l = strlen(de->d_name);
                        char **nf;
                        if (l < 5 || strcmp(de->d_name + l - 4, ".acl") || de->d_name[0] == '.')
                                continue;
                        nf = realloc(files, (n + 1) * sizeof *nf);
                        if (!nf)
                                break;
                        files = nf;
                        files[n++] = strdup(de->d_name);
                }
                closedir(dir);
                qsort(files, n, sizeof *files, cmpstr); /* a stable order for error messages */
                for (size_t i = 0; i < n && r == 0; i++) {
                        snprintf(path, sizeof path, "%s/bus.acl.d/%s", confdir, files[i]);
                        r = bus_acl_load_file(acl, path, e);
                }
                free_list(files, n);
                if (r < 0)
                        goto fail;
        }
        *ret = acl;
        return 0;
fail:
        bus_acl_destroy(&acl);
        return r;
}

static bool match_list(char *const *l, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (fnmatch(l[i], s, 0) == 0)
                        return true;
        return false;
}

void bus_acl_each_service(const bus_acl_t *acl, void (*fn)(void *ud, const char *name), void *ud)
{
        for (size_t i = 0; i < acl->n_ids; i++)
                for (size_t k = 0; k < acl->ids[i].n[L_SERVE]; k++)
                        if (!strpbrk(acl->ids[i].lists[L_SERVE][k], "*?["))
                                fn(ud, acl->ids[i].lists[L_SERVE][k]);
}

bool bus_acl_known(const bus_acl_t *acl, const char *id)
{
        return find(acl, id) != NULL;
}

bool bus_acl_gateway(const bus_acl_t *acl, const char *id)
{
        const struct acl_ident *i = find(acl, id);

        return i && i->gateway;
}

bool bus_acl_operator(const bus_acl_t *acl, const char *id)
{
        const struct acl_ident *i = find(acl, id);

        return i && i->operator;
}

bool bus_acl_may_serve(const bus_acl_t *acl, const char *id, const char *service)
{
        const struct acl_ident *i = find(acl, id);

        return i && match_list(i->lists[L_SERVE], i->n[L_SERVE], service);
}

bool bus_acl_may_call(const bus_acl_t *acl, const char *id, const char *target)
{
        const struct acl_ident *i = find(acl, id);

        return i && match_list(i->lists[L_CALL], i->n[L_CALL], target);
}

bool bus_acl_may_publish(const bus_acl_t *acl, const char *id, const char *topic)
{
        const struct acl_ident *i = find(acl, id);

        return i && match_list(i->lists[L_PUBLISH], i->n[L_PUBLISH], topic);
}

bool bus_acl_may_subscribe(const bus_acl_t *acl, const char *id, const char *prefix)
{
        const struct acl_ident *i = find(acl, id);
        char probe[256];

        if (!i)
                return false;
        /* a prefix is allowed when some pattern could match topics under it */
        snprintf(probe, sizeof probe, "%sx", prefix);
        return match_list(i->lists[L_SUBSCRIBE], i->n[L_SUBSCRIBE], prefix) ||
               match_list(i->lists[L_SUBSCRIBE], i->n[L_SUBSCRIBE], probe);
}

bool bus_acl_may_receive(const bus_acl_t *acl, const char *id, const char *topic)
{
        const struct acl_ident *i = find(acl, id);
        bool restricted = false;

        if (!i)
                return false;
        for (size_t k = 0; k < acl->n_restricted && !restricted; k++)
                if (fnmatch(acl->restricted[k], topic, 0) == 0) {
                        restricted = true;
                        /* only an entry naming the restricted pattern or the topic itself counts */
                        for (size_t j = 0; j < i->n[L_SUBSCRIBE]; j++)
                                if (!strcmp(i->lists[L_SUBSCRIBE][j], acl->restricted[k]) ||
                                    !strcmp(i->lists[L_SUBSCRIBE][j], topic))
                                        return true;
                }
        if (restricted)
                return false;
        return match_list(i->lists[L_SUBSCRIBE], i->n[L_SUBSCRIBE], topic);
}

/* ---- topic authorities ------------------------------------------------------ */

struct topic_rule {
        const char *topic;   /* dotted prefix, "" = every other topic */
        const char *any[3];  /* the session needs one of these */
};

/* log.security and auth.* carry logins, lockouts and security audit records;
 * the rest of the logs are system information, as is every other event
 * (service state, time, filter and network changes). */
static const struct topic_rule topic_rules[] = {
        { "log.security", { DS_AUTHZ_SECURITY, NULL } },
        { "log", { DS_AUTHZ_SYSTEM_INFO, DS_AUTHZ_SECURITY, NULL } },
        { "auth", { DS_AUTHZ_SECURITY, DS_AUTHZ_ACCOUNT, NULL } },
        { "", { DS_AUTHZ_SYSTEM_INFO, NULL } },
};
#define N_TOPIC_RULES (sizeof topic_rules / sizeof topic_rules[0])

/* Does rule r cover topic t (t == r or t under "r.")? */
static bool rule_covers(const char *r, const char *t)
{
        size_t n = strlen(r);

        return n == 0 || (!strncmp(t, r, n) && (t[n] == '\0' || t[n] == '.'));
}

static const struct topic_rule *rule_of(const char *topic)
{
        const struct topic_rule *best = NULL;

        for (size_t i = 0; i < N_TOPIC_RULES; i++)
                if (rule_covers(topic_rules[i].topic, topic) &&
                    (!best || strlen(topic_rules[i].topic) > strlen(best->topic)))
                        best = &topic_rules[i];
        return best;
}

static bool rule_ok(const struct topic_rule *r, uint32_t bits)
{
        for (size_t i = 0; r->any[i]; i++) {
                uint32_t b = ds_authz_bit(r->any[i], strlen(r->any[i]));
                if (b && (bits & b) == b)
                        return true;
        }
        return false;
}

bool bus_topic_allowed(const char *topic, uint32_t bits)
{
        const struct topic_rule *r = rule_of(topic);

        return r && rule_ok(r, bits);
}

int bus_topic_sub_check(const char *prefix, uint32_t bits, char *missing, size_t missing_size, const char **rule)
{
        const struct topic_rule *outer = NULL;

        /* the rule over the prefix itself: the longest whose subtree ("r.")
         * holds the prefix; it governs e.g. prefix + "zz" */
        for (size_t i = 0; i < N_TOPIC_RULES; i++) {
                const char *t = topic_rules[i].topic;
                size_t n = strlen(t);
                bool over = n == 0 || (!strncmp(prefix, t, n) && prefix[n] == '.');
                if (over && (!outer || n > strlen(outer->topic)))
                        outer = &topic_rules[i];
        }
        for (size_t i = 0; i < N_TOPIC_RULES; i++) {
                const struct topic_rule *r = &topic_rules[i];
                /* the outer rule, and every rule whose topic starts with the prefix */
                bool needed = r == outer || (r->topic[0] && !strncmp(r->topic, prefix, strlen(prefix)));
                if (!needed || rule_ok(r, bits))
                        continue;
                if (missing_size) {
                        size_t k = 0;
                        missing[0] = '\0';
                        for (size_t j = 0; r->any[j] && k < missing_size; j++) {
                                int w = snprintf(missing + k, missing_size - k, "%s'%s'", j ? " or " : "", r->any[j]);
                                if (w < 0)
                                        break;
                                k += (size_t)w;
                        }
                }
                if (rule)
                        *rule = r->topic;
                return -EPERM;
        }
        return 0;
}
