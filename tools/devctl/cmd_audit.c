/* cmd_audit.c - devctl audit: the device's hardening report through the bus
 * library's one aggregation (audit_sweep.h), as a table, JSON or SARIF 2.1.0,
 * and the mapping of its items to the Dahua guide, ETSI EN 303 645 and
 * IEC 62443-4-2 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit_sweep.h"
#include "devctl.h"
#include "json.h"

enum { F_TEXT, F_JSON, F_SARIF };

/* Feeds the sweep the bus's answers: services, functions, each report. 0, or
 * the exit code when bus.services itself is refused. */
static int gather(struct devctl *dc, struct ds_sweep *s, int level)
{
        struct bus_reply rep;
        size_t n;
        struct mpw a;
        int code;

        if (!devctl_bus(dc))
                return DC_EUNAVAIL;
        code = bus_call_sync(dc->bus, "bus", "bus.services", NULL, dc->token, dc->timeout_ms, &rep);
        if (code < 0) {
                devctl_print_error("bus", &rep);
                bus_reply_free(&rep);
                return devctl_exit_code(code);
        }
        n = ds_sweep_services(s, rep.r);
        bus_reply_free(&rep);
        for (size_t i = 0; i < n; i++)
                if (!strcmp(ds_sweep_name(s, i), "netcfgd") && ds_sweep_ask(s, i)) {
                        code = bus_call_sync(dc->bus, "netcfgd", "function.list", NULL, dc->token, dc->timeout_ms,
                                             &rep);
                        ds_sweep_functions(s, code == 0 ? rep.r : NULL);
                        bus_reply_free(&rep);
                }
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_int(&a, "level", level);
        mpw_map_end(&a);
        for (size_t i = 0; i < n; i++) {
                if (!ds_sweep_ask(s, i))
                        continue;
                code = bus_call_sync(dc->bus, ds_sweep_name(s, i), "audit.report", &a, dc->token, dc->timeout_ms, &rep);
                ds_sweep_report(s, i, code, code < 0 ? rep.err.msg : NULL, code == 0 ? rep.r : NULL);
                bus_reply_free(&rep);
        }
        mpw_free(&a);
        return DC_OK;
}

static const char *str_of(const msgpack_object *m, const char *key, char *buf, size_t size)
{
        if (mp_strcpy(mp_get(m, key), buf, size) < 0)
                buf[0] = '\0';
        return buf;
}

static void kv_text(struct mpw *w, const char *key, const char *text)
{
        mpw_str(w, key);
        mpw_map_begin(w);
        mpw_kv_str(w, "text", text);
        mpw_map_end(w);
}

/* SARIF 2.1.0: a rule per item, a result per failed item (level 1: error). */
static void write_sarif(struct mpw *w, const msgpack_object *res)
{
        const msgpack_object *items = mp_get(res, "items");
        uint32_t n = items && items->type == MSGPACK_OBJECT_ARRAY ? items->via.array.size : 0;
        char id[96], title[160], rem[256], detail[256], svc[64];

        mpw_map_begin(w);
        mpw_kv_str(w, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
        mpw_kv_str(w, "version", "2.1.0");
        mpw_str(w, "runs");
        mpw_arr_begin(w);
        mpw_map_begin(w);
        mpw_str(w, "tool");
        mpw_map_begin(w);
        mpw_str(w, "driver");
        mpw_map_begin(w);
        mpw_kv_str(w, "name", "devsec-audit");
        mpw_kv_str(w, "version", DEVSEC_VERSION);
        mpw_str(w, "rules");
        mpw_arr_begin(w);
        for (uint32_t i = 0; i < n; i++) {
                const msgpack_object *it = &items->via.array.ptr[i];
                mpw_map_begin(w);
                mpw_kv_str(w, "id", str_of(it, "id", id, sizeof id));
                kv_text(w, "shortDescription", str_of(it, "title", title, sizeof title));
                kv_text(w, "help", str_of(it, "remediation", rem, sizeof rem));
                mpw_str(w, "properties");
                mpw_map_begin(w);
                mpw_kv_str(w, "service", str_of(it, "service", svc, sizeof svc));
                static const char *const props[] = {"level", "dahua_level", "dahua_section", "dahua_item", "etsi",
                                                    "iec",   NULL};
                for (size_t p = 0; props[p]; p++) {
                        const msgpack_object *v = mp_get(it, props[p]);
                        if (v && v->type != MSGPACK_OBJECT_NIL) {
                                mpw_str(w, props[p]);
                                mpw_obj(w, v);
                        }
                }
                mpw_map_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_map_end(w);
        mpw_map_end(w);
        mpw_str(w, "results");
        mpw_arr_begin(w);
        for (uint32_t i = 0; i < n; i++) {
                const msgpack_object *it = &items->via.array.ptr[i];
                if (!mp_streq(mp_get(it, "result"), "fail"))
                        continue;
                mpw_map_begin(w);
                mpw_kv_str(w, "ruleId", str_of(it, "id", id, sizeof id));
                mpw_kv_int(w, "ruleIndex", i);
                mpw_kv_str(w, "level", mp_get_int(it, "level", 1) <= 1 ? "error" : "warning");
                str_of(it, "detail", detail, sizeof detail);
                kv_text(w, "message", detail[0] ? detail : str_of(it, "title", title, sizeof title));
                mpw_str(w, "locations");
                mpw_arr_begin(w);
                mpw_map_begin(w);
                mpw_str(w, "logicalLocations");
                mpw_arr_begin(w);
                mpw_map_begin(w);
                mpw_kv_str(w, "name", str_of(it, "service", svc, sizeof svc));
                mpw_kv_str(w, "kind", "module");
                mpw_map_end(w);
                mpw_arr_end(w);
                mpw_map_end(w);
                mpw_arr_end(w);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_str(w, "properties");
        mpw_map_begin(w);
        static const char *const sums[] = {"level", "passed", "failed", "na", "operator", "score", NULL};
        for (size_t p = 0; sums[p]; p++)
                mpw_kv_int(w, sums[p], mp_get_int(res, sums[p], 0));
        mpw_map_end(w);
        mpw_map_end(w);
        mpw_arr_end(w);
        mpw_map_end(w);
}

static int print_mapping(struct devctl *dc)
{
        static const char *const cols[] = {"id",         "kind", "dahua_level", "dahua_section",
                                           "dahua_item", "etsi", "iec",         NULL};
        msgpack_unpacked u;
        const char *why;
        struct mpw w;

        mpw_init(&w);
        mpw_arr_begin(&w);
        for (const struct ds_audit_ref *r = ds_audit_refs; r->id; r++) {
                mpw_map_begin(&w);
                mpw_kv_str(&w, "id", r->id);
                mpw_kv_str(&w, "kind", r->advice ? "operator" : "device");
                mpw_kv_int(&w, "dahua_level", r->dahua_level);
                mpw_kv_str(&w, "dahua_section", r->section ? r->section : "");
                mpw_kv_str(&w, "dahua_item", r->guide_item ? r->guide_item : "");
                mpw_kv_str(&w, "etsi", r->etsi ? r->etsi : "");
                mpw_kv_str(&w, "iec", r->iec ? r->iec : "");
                if (r->advice)
                        mpw_kv_str(&w, "advice", r->advice);
                mpw_map_end(&w);
        }
        mpw_arr_end(&w);
        if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                if (dc->json) {
                        devctl_print_json(stdout, &u.data);
                        fputc('\n', stdout);
                } else {
                        devctl_print_table(stdout, &u.data, cols);
                }
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&w);
        return DC_OK;
}

static int c_audit(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = {"service", "id", "level", "result", "title", "remediation", NULL};
        int level = 1, format = dc->json ? F_JSON : F_TEXT, r;
        struct ds_sweep_counts c;
        struct ds_sweep *s;
        msgpack_unpacked u;
        const char *why;
        struct mpw w;

        for (int i = 0; i < argc; i++) {
                const char *f = NULL;
                if (!strcmp(argv[i], "--level") && i + 1 < argc)
                        level = atoi(argv[++i]);
                else if (!strncmp(argv[i], "--level=", 8))
                        level = atoi(argv[i] + 8);
                else if (!strcmp(argv[i], "--json"))
                        format = F_JSON;
                else if (!strcmp(argv[i], "--mapping"))
                        return print_mapping(dc);
                else if (!strcmp(argv[i], "--format") && i + 1 < argc)
                        f = argv[++i];
                else if (!strncmp(argv[i], "--format=", 9))
                        f = argv[i] + 9;
                else
                        return devctl_usage(cmd);
                if (f && !strcmp(f, "sarif"))
                        format = F_SARIF;
                else if (f && !strcmp(f, "json"))
                        format = F_JSON;
                else if (f && !strcmp(f, "text"))
                        format = F_TEXT;
                else if (f)
                        return devctl_usage(cmd);
        }
        if (level < 1 || level > 3)
                return devctl_usage(cmd);
        s = ds_sweep_new(level);
        if (!s)
                return DC_ESERVICE;
        r = gather(dc, s, level);
        if (r != DC_OK) {
                ds_sweep_free(s);
                return r;
        }
        mpw_init(&w);
        ds_sweep_write(s, &w);
        ds_sweep_counts(s, &c);
        ds_sweep_free(s);
        if (mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) < 0) {
                mpw_free(&w);
                return DC_ESERVICE;
        }
        if (format == F_SARIF) {
                struct mpw sw;
                msgpack_unpacked su;
                mpw_init(&sw);
                write_sarif(&sw, &u.data);
                if (mp_decode(mpw_data(&sw), mpw_len(&sw), NULL, &su, &why) == 0) {
                        devctl_print_json(stdout, &su.data);
                        fputc('\n', stdout);
                        msgpack_unpacked_destroy(&su);
                }
                mpw_free(&sw);
        } else if (format == F_JSON) {
                devctl_print_json(stdout, &u.data);
                fputc('\n', stdout);
        } else {
                devctl_print_table(stdout, mp_get(&u.data, "items"), cols);
                printf("\nlevel %d: %d passed, %d failed, %d n/a, %d for the operator: score %d%%\n", level, c.pass,
                       c.fail, c.na, c.operator_items, c.score);
        }
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        if (c.refused)
                return devctl_exit_code(c.refused);
        return c.fail ? DC_ESERVICE : DC_OK;
}

static const struct devctl_cmd audit_cmds[] = {
        {.path = "audit",
         .fn = c_audit,
         .usage = "[--level N] [--json | --format text|json|sarif] [--mapping]",
         .help = "hardening report of the whole device (exit 1 on a failed item)"},
        {NULL},
};
DEVCTL_COMMANDS(audit_cmds);
