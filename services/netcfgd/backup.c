/* backup.c - when the device's configuration was last backed up: devctl
 * backup create reports each backup it wrote (backup.done), netcfgd keeps the
 * last one in its state and the audit item net.backup.recent checks its age
 * against backup_max_age_days. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"
#include "netcfgd.h"
#include "util.h"

#define BACKUP_STATE "backup.mp"
#define DAY_MS       (24LL * 3600 * 1000)

static const char *check_sha256(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return "a SHA-256 in lower-case hex";
        return n == 64 ? NULL : "a SHA-256 in lower-case hex (64 digits)";
}

const struct ds_field netcfgd_backup_done_args[BACKUP_DONE_N + 1] = {
        [BACKUP_DONE_SHA256] = {"sha256", DS_STR, DS_REQUIRED, .max_len = 64, .check = check_sha256, .help = "of the backup file"},
        [BACKUP_DONE_SIZE] = {"size", DS_INT, DS_REQUIRED, .min = 1, .max = INT64_MAX, .help = "bytes"},
        {NULL},
};

void netcfgd_backup_load(struct netcfgd_ctx *x)
{
        struct state_mp m;

        if (state_read_mp(x->d->statedir, BACKUP_STATE, 4096, NULL, &m) == 0) {
                x->backup.at_ms = mp_get_int(&m.u.data, "at_ms", 0);
                x->backup.size = mp_get_int(&m.u.data, "size", 0);
                if (mp_strcpy(mp_get(&m.u.data, "sha256"), x->backup.sha256, sizeof x->backup.sha256) < 0)
                        x->backup.sha256[0] = '\0';
        } else if (m.why) {
                log_warn("%s: unusable (%s): no backup on record", BACKUP_STATE, m.why);
        }
        state_mp_free(&m);
}

static void write_backup(const struct netcfgd_ctx *x, struct mpw *w)
{
        mpw_kv_int(w, "at_ms", x->backup.at_ms);
        mpw_kv_str(w, "sha256", x->backup.sha256);
        mpw_kv_int(w, "size", x->backup.size);
}

int h_backup_done(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = ctx;
        struct mpw w;
        int r;

        x->backup.at_ms = ds_now_real_ms();
        x->backup.size = ds_tb_int(c, BACKUP_DONE_SIZE, 0);
        ds_tb_str(c, BACKUP_DONE_SHA256, x->backup.sha256, sizeof x->backup.sha256);
        mpw_init(&w);
        mpw_map_begin(&w);
        write_backup(x, &w);
        mpw_map_end(&w);
        r = ds_daemon_save(x->d, BACKUP_STATE, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        if (r < 0)
                return ds_call_fail(c, r, NULL, "cannot record the backup: %s", strerror(-r));
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c),
                  "configuration backup %.16s... (%lld bytes) made by '%s'", x->backup.sha256,
                  (long long)x->backup.size, ds_call_actor(c));
        mpw_kv_bool(c->r, "recorded", true);
        write_backup(x, c->r);
        return 0;
}

int h_backup_show(void *ctx, struct ds_call *c)
{
        struct netcfgd_ctx *x = ctx;

        if (!x->backup.at_ms) {
                mpw_kv_str(c->r, "last", "never");
                return 0;
        }
        write_backup(x, c->r);
        mpw_kv_int(c->r, "age_days", (ds_now_real_ms() - x->backup.at_ms) / DAY_MS);
        return 0;
}

enum ds_audit_result netcfgd_backup_verdict(int64_t at_ms, int64_t now_ms, int64_t max_days, char *detail, size_t size)
{
        int64_t age;

        if (!at_ms) {
                snprintf(detail, size, "never: no configuration backup on record (devctl backup create)");
                return DS_AUDIT_FAIL;
        }
        age = now_ms > at_ms ? (now_ms - at_ms) / DAY_MS : 0;
        snprintf(detail, size, "last backup %lld day(s) ago%s (backup_max_age_days = %lld)", (long long)age,
                 age > max_days ? ", too old" : "", (long long)max_days);
        return age > max_days ? DS_AUDIT_FAIL : DS_AUDIT_PASS;
}

enum ds_audit_result netcfgd_check_backup(void *ctx, char *detail, size_t size)
{
        struct netcfgd_ctx *x = ctx;

        return netcfgd_backup_verdict(x->backup.at_ms, ds_now_real_ms(),
                                      ds_settings_int(&x->d->settings, "backup_max_age_days"), detail, size);
}
