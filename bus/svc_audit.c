/* svc_audit.c - the audit engine: audit.report (items per protection level)
 * and audit.harden (apply what can be applied, list what needs an operator) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "json.h"
#include "svc_internal.h"

static bool cmp_ok(const struct ds_audit_item *it, const msgpack_object *v)
{
        int64_t i;
        bool b;

        if (!v)
                return false;
        if (it->want_str) {
                bool eq = mp_streq(v, it->want_str);
                return it->cmp == DS_CMP_NE ? !eq : eq;
        }
        if (mp_to_bool(v, &b) == 0)
                return it->cmp == DS_CMP_NE ? b != it->want_bool : b == it->want_bool;
        if (mp_to_int64(v, &i) == 0) {
                switch (it->cmp) {
                case DS_CMP_EQ: return i == it->want_int;
                case DS_CMP_NE: return i != it->want_int;
                case DS_CMP_LE: return i <= it->want_int;
                case DS_CMP_GE: return i >= it->want_int;
                }
        }
        return false;
}

static enum ds_audit_result run_check(struct ds_daemon *d, const struct ds_audit_item *it, char *detail,
                                      size_t size)
{
        detail[0] = '\0';
        if (it->check)
                return it->check(d->ctx, detail, size);
        if (it->key) {
                bool ok = cmp_ok(it, ds_settings_get(&d->settings, it->key));
                if (!ok)
                        snprintf(detail, size, "setting '%s' is not as required", it->key);
                return ok ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
        }
        return DS_AUDIT_NA;
}

/* A declarative item can be applied when its wanted value is one value. */
static bool can_harden(struct ds_daemon *d, const struct ds_audit_item *it)
{
        const struct ds_field *f;

        if (it->harden)
                return true;
        if (!it->key || !(f = ds_field_find(d->svc->settings, it->key)))
                return false;
        return it->cmp != DS_CMP_NE || f->type == DS_BOOL;
}

static const char *const result_names[] = { "pass", "fail", "n/a" };

const struct ds_field svc_audit_report_args[REPORT_N + 1] = {
        [REPORT_LEVEL] = { "level", DS_INT, 0, .min = 1, .max = 3, .help = "protection level 1-3 (default 3: all items)" },
        { NULL },
};

int h_audit_report(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int level = (int)ds_tb_int(c, REPORT_LEVEL, 3), pass = 0, fail = 0;

        (void)ctx;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_int(c->r, "level", level);
        mpw_str(c->r, "items");
        mpw_arr_begin(c->r);
        for (const struct ds_audit_item *it = d->svc->audit; it && it->id; it++) {
                char detail[256];
                enum ds_audit_result res;

                if (it->level > level)
                        continue;
                res = run_check(d, it, detail, sizeof detail);
                pass += res == DS_AUDIT_PASS;
                fail += res == DS_AUDIT_FAIL;
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "id", it->id);
                mpw_kv_int(c->r, "level", it->level);
                mpw_kv_str(c->r, "title", it->title);
                mpw_kv_str(c->r, "result", result_names[res]);
                mpw_kv_str(c->r, "detail", detail);
                mpw_kv_str(c->r, "remediation", it->remediation ? it->remediation : "");
                mpw_kv_bool(c->r, "automatic", can_harden(d, it));
                mpw_kv_bool(c->r, "runtime", it->runtime);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_int(c->r, "passed", pass);
        mpw_kv_int(c->r, "failed", fail);
        return 0;
}

const struct ds_field svc_audit_harden_args[HARDEN_N + 1] = {
        [HARDEN_LEVEL] = { "level", DS_INT, DS_REQUIRED, .min = 1, .max = 3 },
        [HARDEN_DRY_RUN] = { "dry_run", DS_BOOL, 0 },
        { NULL },
};

static int harden_setting(struct ds_daemon *d, const struct ds_audit_item *it, const char *actor,
                          struct ds_err *e)
{
        const struct ds_field *f = ds_field_find(d->svc->settings, it->key);
        struct mpw w;
        int r;

        if (!f)
                return ds_err_set(e, -DS_EINTERNAL, it->key, "audit item names an unknown setting");
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, it->key);
        if (it->want_str)
                mpw_str(&w, it->want_str);
        else if (f->type == DS_BOOL)
                mpw_bool(&w, it->cmp == DS_CMP_NE ? !it->want_bool : it->want_bool);
        else
                mpw_int(&w, it->want_int);
        mpw_map_end(&w);
        r = ds_daemon_set_settings_w(d, &w, actor, e);
        mpw_free(&w);
        return r;
}

int h_audit_harden(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int level = (int)ds_tb_int(c, HARDEN_LEVEL, 1);
        bool dry = ds_tb_bool(c, HARDEN_DRY_RUN, false);
        int applied = 0, manual = 0, failed = 0, r;

        (void)ctx;
        /* harden changes settings: it needs what config.set needs (a dry run only reads) */
        if (!dry && ((r = svc_need_auth(c, svc_settings_auth(d), "audit.harden")) < 0 ||
                     (r = svc_need_auth(c, svc_state_auth(d), "audit.harden")) < 0))
                return r;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_bool(c->r, "dry_run", dry);
        mpw_str(c->r, "items");
        mpw_arr_begin(c->r);
        for (const struct ds_audit_item *it = d->svc->audit; it && it->id; it++) {
                char detail[256];
                const char *action;
                struct ds_err e;

                if (it->level > level || run_check(d, it, detail, sizeof detail) != DS_AUDIT_FAIL)
                        continue;
                ds_err_clear(&e);
                if (!can_harden(d, it)) {
                        action = "manual";
                        manual++;
                } else if (dry) {
                        action = "would-apply";
                        applied++;
                } else if ((it->harden ? it->harden(d->ctx, &e) : harden_setting(d, it, ds_call_actor(c), &e)) < 0) {
                        action = "failed";
                        failed++;
                } else {
                        action = "applied";
                        applied++;
                }
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "id", it->id);
                mpw_kv_str(c->r, "title", it->title);
                mpw_kv_str(c->r, "action", action);
                mpw_kv_str(c->r, "detail", e.msg[0] ? e.msg : (it->remediation ? it->remediation : ""));
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_int(c->r, "applied", applied);
        mpw_kv_int(c->r, "manual", manual);
        mpw_kv_int(c->r, "failed", failed);
        if (!dry && applied)
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: hardened to level %d by '%s'",
                          d->svc->name, level, ds_call_actor(c));
        return 0;
}

/* --audit-items: the table as JSON, for the sweep to know while the daemon is down */
int ds_audit_items_print(const struct ds_service *svc, FILE *f)
{
        struct ds_daemon d = { .svc = svc };
        msgpack_unpacked u;
        const char *why;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "service", svc->name);
        mpw_kv_str(&w, "version", svc->version);
        mpw_str(&w, "items");
        mpw_arr_begin(&w);
        for (const struct ds_audit_item *it = svc->audit; it && it->id; it++) {
                mpw_map_begin(&w);
                mpw_kv_str(&w, "id", it->id);
                mpw_kv_int(&w, "level", it->level);
                mpw_kv_str(&w, "title", it->title);
                mpw_kv_str(&w, "remediation", it->remediation ? it->remediation : "");
                mpw_kv_bool(&w, "automatic", can_harden(&d, it));
                mpw_kv_bool(&w, "runtime", it->runtime);
                mpw_map_end(&w);
        }
        mpw_arr_end(&w);
        mpw_map_end(&w);
        r = mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why);
        if (r == 0) {
                r = ds_json_write(f, &u.data);
                fputc('\n', f);
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&w);
        return r < 0 || fflush(f) != 0 ? -EIO : 0;
}
