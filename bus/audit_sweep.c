/* audit_sweep.c - the one aggregation of the device's audit (audit_sweep.h):
 * a service that should run and does not fails each of its items, one whose
 * function is off has each n/a (off), the guide's operator items are listed
 * with its advice, never passed. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_sweep.h"
#include "err.h"
#include "json.h"
#include "state.h"

#ifndef DEVSEC_AUDIT_DIR
#define DEVSEC_AUDIT_DIR "/usr/local/share/devsec/audit"
#endif
#define SWEEP_TABLE_MAX (256u * 1024)
#define SWEEP_NAME_MAX  64

/* One service of bus.services, and what became of asking it. */
struct sweep_svc {
        char name[SWEEP_NAME_MAX];
        char state[16];
        bool asked, answered, skip;
        int code;
        char msg[160];
        struct mpw reply; /* its audit.report answer */
};

struct sweep_table {
        char name[SWEEP_NAME_MAX];
        struct mpw raw;     /* the table as msgpack: u's strings point into it */
        msgpack_unpacked u; /* {service, version, items} */
};

struct ds_sweep {
        int level;
        struct sweep_svc *svc;
        size_t n_svc;
        struct sweep_table *tab;
        size_t n_tab;
        bool have_functions;
        struct mpw functions; /* function.list's answer */
};

/* $DEVSEC_AUDIT_DIR; a build tree's share/audit next to the binary (as
 * paths.c finds ../run/paths.conf); the installed directory. */
const char *ds_audit_dir(void)
{
        static char built[4096];
        const char *e = getenv("DEVSEC_AUDIT_DIR");
        char exe[4000];
        struct stat st;
        ssize_t n;

        if (e && e[0])
                return e;
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
                exe[n] = '\0';
                snprintf(built, sizeof built, "%s/share/audit", dirname(exe));
                if (stat(built, &st) == 0 && S_ISDIR(st.st_mode))
                        return built;
        }
        return DEVSEC_AUDIT_DIR;
}

const struct ds_audit_ref *ds_audit_ref_find(const char *id)
{
        for (const struct ds_audit_ref *r = ds_audit_refs; id && r->id; r++)
                if (!strcmp(r->id, id))
                        return r;
        return NULL;
}

static void load_tables(struct ds_sweep *s)
{
        const char *dir = ds_audit_dir();
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name), len;
                char *buf = NULL, err[128];
                struct sweep_table *t;
                const char *why;

                if (n < 6 || n - 5 >= SWEEP_NAME_MAX || strcmp(de->d_name + n - 5, ".json") || de->d_name[0] == '.')
                        continue;
                if (state_read(dir, de->d_name, SWEEP_TABLE_MAX, &buf, &len) < 0)
                        continue;
                t = realloc(s->tab, (s->n_tab + 1) * sizeof *s->tab);
                if (!t) {
                        free(buf);
                        break;
                }
                s->tab = t;
                t = &s->tab[s->n_tab];
                memset(t, 0, sizeof *t);
                mpw_init(&t->raw);
                if (ds_json_to_mp(buf, len, &t->raw, err, sizeof err) == 0 &&
                    mp_decode(mpw_data(&t->raw), mpw_len(&t->raw), NULL, &t->u, &why) == 0) {
                        if (t->u.data.type == MSGPACK_OBJECT_MAP &&
                            mp_strcpy(mp_get(&t->u.data, "service"), t->name, sizeof t->name) == 0) {
                                s->n_tab++;
                                t = NULL;
                        } else {
                                msgpack_unpacked_destroy(&t->u);
                        }
                }
                if (t)
                        mpw_free(&t->raw);
                free(buf);
        }
        if (d)
                closedir(d);
}

struct ds_sweep *ds_sweep_new(int level)
{
        struct ds_sweep *s = calloc(1, sizeof *s);

        if (!s)
                return NULL;
        s->level = level < 1 ? 1 : level > 3 ? 3 : level;
        mpw_init(&s->functions);
        load_tables(s);
        return s;
}

void ds_sweep_free(struct ds_sweep *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_svc; i++)
                mpw_free(&s->svc[i].reply);
        for (size_t i = 0; i < s->n_tab; i++) {
                msgpack_unpacked_destroy(&s->tab[i].u);
                mpw_free(&s->tab[i].raw);
        }
        mpw_free(&s->functions);
        free(s->svc);
        free(s->tab);
        free(s);
}

size_t ds_sweep_services(struct ds_sweep *s, const msgpack_object *reply)
{
        const msgpack_object *list = reply ? mp_get(reply, "services") : NULL;

        if (!list || list->type != MSGPACK_OBJECT_ARRAY)
                return 0;
        free(s->svc);
        s->svc = calloc(list->via.array.size ? list->via.array.size : 1, sizeof *s->svc);
        s->n_svc = 0;
        if (!s->svc)
                return 0;
        for (uint32_t i = 0; i < list->via.array.size; i++) {
                const msgpack_object *o = &list->via.array.ptr[i];
                struct sweep_svc *v = &s->svc[s->n_svc];

                if (mp_strcpy(mp_get(o, "name"), v->name, sizeof v->name) < 0 || !strcmp(v->name, "busd"))
                        continue;
                if (mp_strcpy(mp_get(o, "state"), v->state, sizeof v->state) < 0)
                        snprintf(v->state, sizeof v->state, "down");
                v->asked = !strcmp(v->state, "running");
                mpw_init(&v->reply);
                s->n_svc++;
        }
        return s->n_svc;
}

const char *ds_sweep_name(const struct ds_sweep *s, size_t i)
{
        return i < s->n_svc ? s->svc[i].name : NULL;
}

bool ds_sweep_ask(const struct ds_sweep *s, size_t i)
{
        return i < s->n_svc && s->svc[i].asked;
}

void ds_sweep_functions(struct ds_sweep *s, const msgpack_object *reply)
{
        mpw_free(&s->functions);
        mpw_init(&s->functions);
        s->have_functions = reply != NULL;
        if (reply)
                mpw_obj(&s->functions, reply);
}

void ds_sweep_report(struct ds_sweep *s, size_t i, int code, const char *msg, const msgpack_object *reply)
{
        struct sweep_svc *v;

        if (i >= s->n_svc)
                return;
        v = &s->svc[i];
        v->answered = true;
        v->code = code;
        snprintf(v->msg, sizeof v->msg, "%s", msg ? msg : "");
        /* a service without an audit: nothing to report, nothing to fail */
        v->skip = code == -ENOSYS || code == -ENOENT;
        if (code == 0 && reply)
                mpw_obj(&v->reply, reply);
}

/* The function of kind daemon standing behind the service, when it is off. */
static bool function_off(const struct ds_sweep *s, const char *name, char *fn, size_t size)
{
        msgpack_unpacked u;
        const msgpack_object *list;
        const char *why;
        bool off = false;

        if (!s->have_functions || mp_decode(mpw_data(&s->functions), mpw_len(&s->functions), NULL, &u, &why) < 0)
                return false;
        list = mp_get(&u.data, "functions");
        for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size; i++) {
                const msgpack_object *f = &list->via.array.ptr[i];
                if (mp_streq(mp_get(f, "kind"), "daemon") && mp_streq(mp_get(f, "backend"), name) &&
                    !mp_get_bool(f, "enabled", true)) {
                        off = true;
                        if (mp_strcpy(mp_get(f, "name"), fn, size) < 0)
                                snprintf(fn, size, "?");
                        break;
                }
        }
        msgpack_unpacked_destroy(&u);
        return off;
}

static const msgpack_object *table_items(const struct ds_sweep *s, const char *name)
{
        for (size_t i = 0; i < s->n_tab; i++)
                if (!strcmp(s->tab[i].name, name)) {
                        const msgpack_object *it = mp_get(&s->tab[i].u.data, "items");
                        return it && it->type == MSGPACK_OBJECT_ARRAY ? it : NULL;
                }
        return NULL;
}

static void write_refs(struct mpw *w, const char *id)
{
        const struct ds_audit_ref *r = ds_audit_ref_find(id);

        mpw_kv_int(w, "dahua_level", r ? r->dahua_level : 0);
        mpw_kv_str(w, "dahua_section", r ? r->section : NULL);
        mpw_kv_str(w, "dahua_item", r ? r->guide_item : NULL);
        mpw_kv_str(w, "etsi", r ? r->etsi : NULL);
        mpw_kv_str(w, "iec", r ? r->iec : NULL);
}

static void count(struct ds_sweep_counts *c, const char *result)
{
        c->pass += !strcmp(result, "pass");
        c->fail += !strcmp(result, "fail");
        c->na += !strcmp(result, "n/a");
        c->operator_items += !strcmp(result, "operator");
}

/* A row the sweep itself decides (down, off, refused, operator). */
static void row(struct mpw *w, struct ds_sweep_counts *c, const char *svc, const char *id, int level, const char *title,
                const char *result, const char *detail, const char *fix, bool automatic, bool runtime)
{
        count(c, result);
        mpw_map_begin(w);
        mpw_kv_str(w, "service", svc);
        mpw_kv_str(w, "id", id);
        mpw_kv_int(w, "level", level);
        mpw_kv_str(w, "title", title);
        mpw_kv_str(w, "result", result);
        mpw_kv_str(w, "detail", detail);
        mpw_kv_str(w, "remediation", fix);
        mpw_kv_bool(w, "automatic", automatic);
        mpw_kv_bool(w, "runtime", runtime);
        write_refs(w, id);
        mpw_map_end(w);
}

/* Every item of the service's installed table at this level with one verdict;
 * without a table, its <name>.running row. */
static void rows_from_table(const struct ds_sweep *s, struct mpw *w, struct ds_sweep_counts *c, const char *name,
                            const char *result, const char *detail, const char *fix)
{
        const msgpack_object *items = table_items(s, name);
        char id[96], title[160], rem[256];

        if (!items) {
                snprintf(id, sizeof id, "%s.running", name);
                snprintf(title, sizeof title, "%s runs and answers its audit", name);
                row(w, c, name, id, 1, title, result, detail, fix, false, false);
                return;
        }
        for (uint32_t i = 0; i < items->via.array.size; i++) {
                const msgpack_object *it = &items->via.array.ptr[i];
                int level = (int)mp_get_int(it, "level", 1);

                if (level > s->level || mp_strcpy(mp_get(it, "id"), id, sizeof id) < 0)
                        continue;
                if (mp_strcpy(mp_get(it, "title"), title, sizeof title) < 0)
                        title[0] = '\0';
                if (mp_strcpy(mp_get(it, "remediation"), rem, sizeof rem) < 0)
                        rem[0] = '\0';
                /* down: starting it comes first; off: the item's own fix would not apply */
                row(w, c, name, id, level, title, result, detail, fix ? fix : rem, mp_get_bool(it, "automatic", false),
                    mp_get_bool(it, "runtime", false));
        }
}

static void rows_from_reply(struct mpw *w, struct ds_sweep_counts *c, const char *name, const struct mpw *reply)
{
        static const char *const added[] = {"service", "dahua_level", "dahua_section", "dahua_item", "etsi",
                                            "iec",     NULL};
        const msgpack_object *items;
        msgpack_unpacked u;
        const char *why;

        if (mp_decode(mpw_data(reply), mpw_len(reply), NULL, &u, &why) < 0)
                return;
        items = mp_get(&u.data, "items");
        for (uint32_t k = 0; items && items->type == MSGPACK_OBJECT_ARRAY && k < items->via.array.size; k++) {
                const msgpack_object *it = &items->via.array.ptr[k];
                char id[96] = "", res[16] = "";

                if (it->type != MSGPACK_OBJECT_MAP)
                        continue;
                mp_strcpy(mp_get(it, "id"), id, sizeof id);
                mp_strcpy(mp_get(it, "result"), res, sizeof res);
                count(c, res);
                mpw_map_begin(w);
                mpw_kv_str(w, "service", name);
                for (uint32_t f = 0; f < it->via.map.size; f++) {
                        bool skip = false;
                        for (size_t a = 0; added[a]; a++)
                                skip |= mp_streq(&it->via.map.ptr[f].key, added[a]);
                        if (skip)
                                continue;
                        mpw_obj(w, &it->via.map.ptr[f].key);
                        mpw_obj(w, &it->via.map.ptr[f].val);
                }
                write_refs(w, id);
                mpw_map_end(w);
        }
        msgpack_unpacked_destroy(&u);
}

static void build(const struct ds_sweep *s, struct mpw *w, struct ds_sweep_counts *c)
{
        char detail[256], fix[96], fn[64];

        memset(c, 0, sizeof *c);
        mpw_arr_begin(w);
        for (size_t i = 0; i < s->n_svc; i++) {
                const struct sweep_svc *v = &s->svc[i];

                if (v->skip)
                        continue;
                if (function_off(s, v->name, fn, sizeof fn)) {
                        snprintf(detail, sizeof detail, "off: function '%s' is switched off", fn);
                        rows_from_table(s, w, c, v->name, "n/a", detail, NULL);
                } else if (!strcmp(v->state, "disabled") || (v->asked && v->code == -DS_EDISABLED)) {
                        rows_from_table(s, w, c, v->name, "n/a", "off: its function is disabled", NULL);
                } else if (!v->asked) {
                        snprintf(fix, sizeof fix, "systemctl start devsec-%s", v->name);
                        rows_from_table(s, w, c, v->name, "fail", "not running", fix);
                } else if (!v->answered || v->code < 0) {
                        if (v->code == -EPERM || v->code == -DS_EAUTH)
                                c->refused = c->refused ? c->refused : v->code;
                        snprintf(detail, sizeof detail, "not answering%s%s", v->msg[0] ? ": " : "", v->msg);
                        snprintf(fix, sizeof fix, "systemctl restart devsec-%s", v->name);
                        rows_from_table(s, w, c, v->name, "fail", detail, fix);
                } else {
                        rows_from_reply(w, c, v->name, &v->reply);
                }
        }
        for (const struct ds_audit_ref *r = ds_audit_refs; r->id; r++)
                if (r->advice && r->dahua_level <= s->level)
                        row(w, c, "operator", r->id, r->dahua_level, r->title, "operator",
                            "the device cannot check this: an operator does", r->advice, false, false);
        mpw_arr_end(w);
        c->score = c->pass + c->fail ? (100 * c->pass) / (c->pass + c->fail) : 100;
}

void ds_sweep_counts(const struct ds_sweep *s, struct ds_sweep_counts *ret)
{
        struct mpw w;

        mpw_init(&w);
        build(s, &w, ret);
        mpw_free(&w);
}

void ds_sweep_write(const struct ds_sweep *s, struct mpw *w)
{
        struct ds_sweep_counts c;
        struct mpw items;

        mpw_init(&items);
        build(s, &items, &c);
        mpw_map_begin(w);
        mpw_kv_int(w, "level", s->level);
        mpw_kv_int(w, "passed", c.pass);
        mpw_kv_int(w, "failed", c.fail);
        mpw_kv_int(w, "na", c.na);
        mpw_kv_int(w, "operator", c.operator_items);
        mpw_kv_int(w, "score", c.score);
        mpw_str(w, "items");
        mpw_raw(w, mpw_data(&items), mpw_len(&items));
        mpw_map_end(w);
        mpw_free(&items);
}
