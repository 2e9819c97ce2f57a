/* store.c - the account store in msgpack: authd's own users.mp (with the
 * hashes), config.export (without them, unless asked) and config.import
 * (all or nothing, with the checks of the live methods) */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "log.h"
#include "util.h"

/* ---- persistence ------------------------------------------------------------- */

/* The store as one map. Every hash (password, history, security answers,
 * ONVIF) goes through ds_export_secret(): authd's own file carries them, a
 * plain config.export does not. */
void authd_store_write(struct authd_ctx *a, struct ds_export *x)
{
        struct mpw *w = x->w;

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
                ds_export_secret(x, "hash", u->hash);
                if (x->secrets) { /* a list of hashes: all of it is secret */
                        mpw_str(w, "history");
                        mpw_arr_begin(w);
                        for (int j = 0; j < u->n_history; j++)
                                mpw_str(w, u->history[j]);
                        mpw_arr_end(w);
                }
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
                        ds_export_secret(x, "a", u->answer_hash[j]);
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
                ds_export_secret(x, "hash", a->onvif[i].hash);
                mpw_kv_str(w, "level", a->onvif[i].level);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
}

/* One read of a store. imp: a config.import, checked as the live methods
 * check (cur is the live store, whose hashes an export without them keeps);
 * else authd's own file, read as written. */
struct rd {
        struct authd_ctx *a;
        const struct authd_ctx *cur;
        bool imp;
        struct ds_err *e;
        char f[96]; /* the field being read */
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
{
        char msg[sizeof r->e->msg];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return ds_err_set(r->e, -EINVAL, r->f, "%s", msg);
}

static void field(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void field(struct rd *r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(r->f, sizeof r->f, fmt, ap);
        va_end(ap);
}

static bool absent(const msgpack_object *o)
{
        return !o || o->type == MSGPACK_OBJECT_NIL;
}

/* A list under k: absent is NULL with 0, any other type -EINVAL. */
static int get_arr(struct rd *r, const msgpack_object *m, const char *k, const msgpack_object **ret)
{
        const msgpack_object *o = mp_get(m, k);

        *ret = NULL;
        if (absent(o))
                return 0;
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return fail(r, "must be a list, not %s", mp_type_name(o));
        *ret = o;
        return 0;
}

/* A string under k into buf; absent leaves "" (or fails when required). */
static int get_str(struct rd *r, const msgpack_object *m, const char *k, char *buf, size_t size, bool required)
{
        const msgpack_object *o = mp_get(m, k);
        int n;

        buf[0] = '\0';
        if (absent(o))
                return required ? fail(r, "missing") : 0;
        n = mp_strcpy(o, buf, size);
        if (n == -E2BIG)
                return fail(r, "longer than %zu bytes", size - 1);
        if (n < 0)
                return fail(r, "must be a string");
        return 0;
}

static int get_int(struct rd *r, const msgpack_object *m, const char *k, int64_t def, int64_t *ret)
{
        const msgpack_object *o = mp_get(m, k);

        *ret = def;
        if (absent(o))
                return 0;
        if (mp_to_int64(o, ret) < 0)
                return fail(r, "must be an integer");
        if (r->imp && *ret < 0)
                return fail(r, "must not be negative");
        return 0;
}

static int get_bool(struct rd *r, const msgpack_object *m, const char *k, bool def, bool *ret)
{
        const msgpack_object *o = mp_get(m, k);

        *ret = def;
        if (absent(o))
                return 0;
        if (mp_to_bool(o, ret) < 0)
                return fail(r, "must be true or false");
        return 0;
}

/* check applies to a non-empty value (empty is "none"). */
static int check(struct rd *r, const char *s, const char *(*fn)(const char *, size_t))
{
        const char *why = s[0] ? fn(s, strlen(s)) : NULL;

        return why ? fail(r, "%s", why) : 0;
}

static const char *check_account_name(const char *s, size_t n)
{
        const char *why = ds_check_name(s, n);

        if (why)
                return why;
        return n == 9 && !memcmp(s, "anonymous", 9) ? "is reserved for anonymous sessions" : NULL;
}

static bool parse_u64(const char **p, const char *prefix, uint64_t *ret)
{
        size_t n = strlen(prefix);
        char *end;

        if (strncmp(*p, prefix, n) || !isdigit((unsigned char)(*p)[n]))
                return false;
        errno = 0;
        *ret = strtoull(*p + n, &end, 10);
        if (errno)
                return false;
        *p = end;
        return true;
}

static bool b64_run(const char **p, char stop)
{
        const char *s = *p;

        while (isalnum((unsigned char)*s) || *s == '+' || *s == '/')
                s++;
        if (s == *p || *s != stop)
                return false;
        *p = s;
        return true;
}

/* An Argon2id PHC string with the parameters the settings allow
 * (hash_opslimit, hash_memlimit_kib): nothing else is ever verified, so an
 * import cannot plant a hash that costs a login seconds or gigabytes. */
static const char *check_phc(const char *h)
{
        static char why[160];
        const char *p = h;
        uint64_t m, t, par;

        if (strlen(h) >= crypto_pwhash_STRBYTES || strncmp(p, "$argon2id$v=19$", 15))
                return "not an Argon2id hash ($argon2id$v=19$m=..,t=..,p=1$salt$hash)";
        p += 15;
        if (!parse_u64(&p, "m=", &m) || !parse_u64(&p, ",t=", &t) || !parse_u64(&p, ",p=", &par) || *p++ != '$' ||
            !b64_run(&p, '$') || (p++, !b64_run(&p, '\0')))
                return "not an Argon2id hash ($argon2id$v=19$m=..,t=..,p=1$salt$hash)";
        if (t < AUTHD_HASH_OPS_MIN || t > AUTHD_HASH_OPS_MAX || m < AUTHD_HASH_MEM_KIB_MIN ||
            m > AUTHD_HASH_MEM_KIB_MAX || par != 1) {
                snprintf(why, sizeof why, "Argon2id parameters t=%llu m=%llu p=%llu out of bounds (t %lld-%lld, m %lld-%lld KiB, p 1)",
                         (unsigned long long)t, (unsigned long long)m, (unsigned long long)par,
                         (long long)AUTHD_HASH_OPS_MIN, (long long)AUTHD_HASH_OPS_MAX,
                         (long long)AUTHD_HASH_MEM_KIB_MIN, (long long)AUTHD_HASH_MEM_KIB_MAX);
                return why;
        }
        return NULL;
}

/* A hash under k: *ret is the caller's copy, or NULL when absent. */
static int get_hash(struct rd *r, const msgpack_object *o, char **ret)
{
        const char *why;

        *ret = NULL;
        if (absent(o))
                return 0;
        if (!(*ret = mp_strdup(o)))
                return fail(r, "must be a string");
        why = r->imp ? check_phc(*ret) : strncmp(*ret, "$argon2id$", 10) ? "not an Argon2id hash" : NULL;
        if (why) {
                free(*ret);
                *ret = NULL;
                return fail(r, "%s", why);
        }
        return 0;
}

static int is_builtin(const char *name)
{
        for (size_t i = 0; authd_builtin_group(i); i++)
                if (!strcmp(authd_builtin_group(i), name))
                        return (int)i;
        return -1;
}

static int read_groups(struct rd *r, const msgpack_object *gs)
{
        for (uint32_t i = 0; gs && i < gs->via.array.size; i++) {
                const msgpack_object *g = &gs->via.array.ptr[i], *az;
                struct authd_group ng = { 0 };
                bool flag;
                int b, x;

                field(r, "state.groups[%u]", i);
                if (g->type != MSGPACK_OBJECT_MAP)
                        return fail(r, "must be a map");
                field(r, "state.groups[%u].name", i);
                if ((x = get_str(r, g, "name", ng.name, sizeof ng.name, true)) < 0 ||
                    (x = check(r, ng.name, r->imp ? check_account_name : ds_check_name)) < 0)
                        return x;
                if (authd_group_find(r->a, ng.name))
                        return fail(r, "group '%s' appears twice", ng.name);
                b = is_builtin(ng.name);
                field(r, "state.groups[%u].builtin", i);
                if ((x = get_bool(r, g, "builtin", b >= 0, &flag)) < 0)
                        return x;
                if (r->imp && flag != (b >= 0))
                        return fail(r, "only admin, operator and viewer are built-in groups ('%s')", ng.name);
                ng.builtin = r->imp ? b >= 0 : flag;
                field(r, "state.groups[%u].authorities", i);
                if ((x = get_arr(r, g, "authorities", &az)) < 0)
                        return x;
                if (!az && r->imp)
                        return fail(r, "missing (group '%s')", ng.name);
                for (uint32_t j = 0; az && j < az->via.array.size; j++) {
                        const msgpack_object *s = &az->via.array.ptr[j];
                        uint32_t bit = mp_is_str(s) ? ds_authz_bit(s->via.str.ptr, s->via.str.size) : 0;
                        if (!bit && r->imp) {
                                field(r, "state.groups[%u].authorities[%u]", i, j);
                                return fail(r, "unknown authority in group '%s'", ng.name);
                        }
                        ng.authz |= bit;
                }
                if (r->imp && !strcmp(ng.name, "admin") && ng.authz != ds_authz_all())
                        return fail(r, "the admin group always holds every authority");
                if (!authd_group_add(r->a, &ng))
                        return -ENOMEM;
        }
        field(r, "state.groups");
        for (size_t i = 0; r->imp && authd_builtin_group(i); i++)
                if (!authd_group_find(r->a, authd_builtin_group(i)))
                        return fail(r, "the built-in group '%s' is missing (built-in groups are never deleted)",
                                    authd_builtin_group(i));
        if (!authd_group_find(r->a, "admin"))
                return fail(r, "the admin group is missing");
        return 0;
}

static const char *question_of(const struct authd_user *u, const char *q, int *ret_i)
{
        for (int i = 0; u && i < u->n_questions; i++)
                if (!strcmp(u->question[i], q)) {
                        *ret_i = i;
                        return u->answer_hash[i];
                }
        return NULL;
}

static int read_questions(struct rd *r, uint32_t i, struct authd_user *u, const struct authd_user *old,
                          const msgpack_object *q)
{
        for (uint32_t j = 0; q && j < q->via.array.size; j++) {
                const msgpack_object *m = &q->via.array.ptr[j];
                char text[129], *ah = NULL;
                const char *kept;
                int k, x;

                field(r, "state.users[%u].questions[%u].q", i, j);
                if (j >= AUTHD_QUESTIONS_MAX) {
                        if (r->imp)
                                return fail(r, "at most %d security questions ('%s')", AUTHD_QUESTIONS_MAX, u->name);
                        break;
                }
                if (m->type != MSGPACK_OBJECT_MAP)
                        return fail(r, "must be a map");
                if ((x = get_str(r, m, "q", text, sizeof text, true)) < 0 ||
                    (x = check(r, text, ds_check_printable)) < 0)
                        return x;
                if (r->imp && strlen(text) < 3)
                        return fail(r, "at least 3 characters");
                field(r, "state.users[%u].questions[%u].a", i, j);
                if ((x = get_hash(r, mp_get(m, "a"), &ah)) < 0)
                        return x;
                if (!ah && r->imp && (kept = question_of(old, text, &k)) && !(ah = strdup(kept)))
                        return -ENOMEM;
                if (!ah)
                        return fail(r, "user '%s': no answer hash for this question (set it again with reset.setup)",
                                    u->name);
                if (!(u->question[u->n_questions] = strdup(text))) {
                        free(ah);
                        return -ENOMEM;
                }
                u->answer_hash[u->n_questions++] = ah;
        }
        return 0;
}

static int read_user(struct rd *r, uint32_t i, const msgpack_object *m)
{
        char name[AUTHD_NAME_MAX + 1], group[AUTHD_NAME_MAX + 1];
        const msgpack_object *h, *q;
        const struct authd_user *old;
        struct authd_user *u;
        int64_t now = r->a->now(), pwc;
        bool kept;
        int x;

        field(r, "state.users[%u]", i);
        if (m->type != MSGPACK_OBJECT_MAP)
                return fail(r, "must be a map");
        field(r, "state.users[%u].name", i);
        if ((x = get_str(r, m, "name", name, sizeof name, true)) < 0 ||
            (x = check(r, name, r->imp ? check_account_name : ds_check_name)) < 0)
                return x;
        if (authd_user_find(r->a, name))
                return fail(r, "user '%s' appears twice", name);
        field(r, "state.users[%u].group", i);
        if ((x = get_str(r, m, "group", group, sizeof group, true)) < 0)
                return x;
        if (!authd_group_find(r->a, group))
                return fail(r, "user '%s': no group '%s'", name, group);
        if (!(u = authd_user_add(r->a, name, group)))
                return -ENOMEM;
        old = r->cur ? authd_user_find((struct authd_ctx *)r->cur, name) : NULL;
        field(r, "state.users[%u].hash", i);
        if ((x = get_hash(r, mp_get(m, "hash"), &u->hash)) < 0)
                return x;
        kept = !u->hash && old;
        if (kept && !(u->hash = strdup(old->hash)))
                return -ENOMEM;
        if (!u->hash)
                return fail(r, "user '%s' is new here and has no password hash (an export carries none: add the account with user add)",
                            name);
        field(r, "state.users[%u].history", i);
        if ((x = get_arr(r, m, "history", &h)) < 0)
                return x;
        for (uint32_t j = 0; h && j < h->via.array.size && u->n_history < AUTHD_HISTORY_MAX; j++) {
                field(r, "state.users[%u].history[%u]", i, j);
                if ((x = get_hash(r, &h->via.array.ptr[j], &u->history[u->n_history])) < 0)
                        return x;
                if (!u->history[u->n_history])
                        return fail(r, "must be a hash");
                u->n_history++;
        }
        for (int j = 0; !h && kept && j < old->n_history; j++)
                if ((u->history[u->n_history] = strdup(old->history[j])))
                        u->n_history++;
        field(r, "state.users[%u].enabled", i);
        if ((x = get_bool(r, m, "enabled", true, &u->enabled)) < 0)
                return x;
        field(r, "state.users[%u].mac", i);
        if ((x = get_str(r, m, "mac", u->mac, sizeof u->mac, false)) < 0 ||
            (r->imp && (x = check(r, u->mac, ds_check_mac)) < 0))
                return x;
        field(r, "state.users[%u].not_before", i);
        if ((x = get_int(r, m, "not_before", 0, &u->not_before_ms)) < 0)
                return x;
        field(r, "state.users[%u].not_after", i);
        if ((x = get_int(r, m, "not_after", 0, &u->not_after_ms)) < 0)
                return x;
        if (r->imp && u->not_before_ms && u->not_after_ms && u->not_after_ms <= u->not_before_ms)
                return fail(r, "user '%s': must be later than not_before", name);
        field(r, "state.users[%u].memo", i);
        if ((x = get_str(r, m, "memo", u->memo, sizeof u->memo, false)) < 0 ||
            (r->imp && (x = check(r, u->memo, ds_check_printable)) < 0))
                return x;
        field(r, "state.users[%u].email", i);
        if ((x = get_str(r, m, "email", u->email, sizeof u->email, false)) < 0 ||
            (r->imp && (x = check(r, u->email, ds_check_email)) < 0))
                return x;
        field(r, "state.users[%u].pw_changed", i);
        if ((x = get_int(r, m, "pw_changed", now, &pwc)) < 0)
                return x;
        /* a kept hash keeps its age; none is younger than now (max age applies) */
        u->pw_changed_ms = kept && r->imp ? old->pw_changed_ms : r->imp && pwc > now ? now : pwc;
        field(r, "state.users[%u].created", i);
        if ((x = get_int(r, m, "created", r->imp ? now : 0, &u->created_ms)) < 0)
                return x;
        field(r, "state.users[%u].questions", i);
        if ((x = get_arr(r, m, "questions", &q)) < 0)
                return x;
        return read_questions(r, i, u, r->imp ? old : NULL, q);
}

static int read_onvif(struct rd *r, const msgpack_object *os)
{
        static const char *const levels[] = { "Administrator", "Operator", "User", NULL };

        for (uint32_t i = 0; os && i < os->via.array.size; i++) {
                const msgpack_object *m = &os->via.array.ptr[i];
                struct authd_onvif v = { 0 };
                const struct authd_onvif *old;
                bool known = false;
                int x;

                field(r, "state.onvif[%u]", i);
                if (m->type != MSGPACK_OBJECT_MAP)
                        return fail(r, "must be a map");
                field(r, "state.onvif[%u].name", i);
                if ((x = get_str(r, m, "name", v.name, sizeof v.name, true)) < 0 ||
                    (x = check(r, v.name, ds_check_name)) < 0)
                        return x;
                if (authd_onvif_find(r->a, v.name))
                        return fail(r, "ONVIF user '%s' appears twice", v.name);
                field(r, "state.onvif[%u].level", i);
                if ((x = get_str(r, m, "level", v.level, sizeof v.level, true)) < 0)
                        return x;
                for (size_t j = 0; levels[j]; j++)
                        known |= !strcmp(levels[j], v.level);
                if (!known && r->imp)
                        return fail(r, "ONVIF user '%s': must be Administrator, Operator or User", v.name);
                field(r, "state.onvif[%u].hash", i);
                if ((x = get_hash(r, mp_get(m, "hash"), &v.hash)) < 0)
                        return x;
                old = r->cur && r->imp ? authd_onvif_find((struct authd_ctx *)r->cur, v.name) : NULL;
                if (!v.hash && old && !(v.hash = strdup(old->hash)))
                        return -ENOMEM;
                if (!v.hash)
                        return fail(r, "ONVIF user '%s' is new here and has no password hash (add it with onvif.add)",
                                    v.name);
                if (!authd_onvif_add(r->a, &v)) {
                        free(v.hash);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int store_read(struct rd *r, const msgpack_object *o)
{
        const msgpack_object *gs, *us, *os;
        int x;

        field(r, "state");
        if (!o || o->type != MSGPACK_OBJECT_MAP || mp_get_int(o, "v", 0) != 1)
                return fail(r, "not an authd account store (v1)");
        authd_store_clear(r->a);
        field(r, "state.initialised");
        if ((x = get_bool(r, o, "initialised", false, &r->a->initialised)) < 0)
                return x;
        if (r->imp && !r->a->initialised)
                return fail(r, "the state of a device never initialised: a factory reset is config.reset");
        field(r, "state.email");
        if ((x = get_str(r, o, "email", r->a->reserved_email, sizeof r->a->reserved_email, false)) < 0 ||
            (r->imp && (x = check(r, r->a->reserved_email, ds_check_email)) < 0))
                return x;
        field(r, "state.groups");
        if ((x = get_arr(r, o, "groups", &gs)) < 0)
                return x;
        field(r, "state.users");
        if ((x = get_arr(r, o, "users", &us)) < 0)
                return x;
        if (!us && r->imp)
                return fail(r, "missing: a list of accounts");
        field(r, "state.onvif");
        if ((x = get_arr(r, o, "onvif", &os)) < 0)
                return x;
        if (!os && r->imp)
                return fail(r, "missing: a list of ONVIF users (may be empty)");
        if ((x = read_groups(r, gs)) < 0)
                return x;
        for (uint32_t i = 0; us && i < us->via.array.size; i++)
                if ((x = read_user(r, i, &us->via.array.ptr[i])) < 0)
                        return x;
        if ((x = read_onvif(r, os)) < 0)
                return x;
        if (r->a->initialised && authd_admins_left(r->a, NULL) == 0) {
                field(r, "state.users");
                if (r->imp)
                        return fail(r, "no enabled administrator left: the last administrator cannot be removed, "
                                       "demoted or disabled");
                log_warn("account store has no enabled administrator");
        }
        return 0;
}

int authd_store_read(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e)
{
        struct rd r = { .a = a, .e = e };

        return store_read(&r, o);
}

/* An imported store read into n, a context of its own beside a's, through
 * the same checks as the live methods. */
static int read_import(struct authd_ctx *a, const msgpack_object *o, struct authd_ctx *n, struct ds_err *e)
{
        struct rd r = { .a = n, .cur = a, .imp = true, .e = e };
        int x;

        *n = (struct authd_ctx){ .d = a->d, .now = a->now, .policy = a->policy, .cost = a->cost };
        x = store_read(&r, o);
        if (x == -ENOMEM)
                ds_err_set(e, x, NULL, "out of memory");
        return x;
}

int authd_store_import(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e)
{
        struct authd_ctx n;
        int x = read_import(a, o, &n, e);

        /* on disk first: a store that cannot be saved is not taken */
        if (x == 0 && (x = authd_store_save(&n)) < 0)
                ds_err_set(e, -DS_EINTERNAL, NULL, "cannot save the account store");
        if (x < 0) {
                authd_store_clear(&n);
                return x;
        }
        authd_store_clear(a);
        a->initialised = n.initialised;
        memcpy(a->reserved_email, n.reserved_email, sizeof a->reserved_email);
        a->groups = n.groups;
        a->n_groups = n.n_groups;
        a->users = n.users;
        a->n_users = n.n_users;
        a->onvif = n.onvif;
        a->n_onvif = n.n_onvif;
        return 0;
}

int authd_store_check(struct authd_ctx *a, const msgpack_object *o, struct ds_err *e)
{
        struct authd_ctx n;
        int x = read_import(a, o, &n, e);

        authd_store_clear(&n);
        return x;
}

int authd_store_save(struct authd_ctx *a)
{
        struct mpw w;
        struct ds_export x = { .w = &w, .secrets = true }; /* authd's own file: the hashes live here */
        int r;

        if (!a->d)
                return 0; /* unit tests: no daemon */
        mpw_init(&w);
        authd_store_write(a, &x);
        r = mpw_finish(&w) < 0 ? -EINVAL : ds_daemon_save(a->d, "users.mp", mpw_data(&w), mpw_len(&w));
        mpw_wipe(&w); /* it held every hash */
        if (r < 0)
                log_errno(r, "cannot save the account store: %m");
        return r;
}
