/* methods.c - upgrade-d's settings, methods (upgrade.*) and audit items */
#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "log.h"
#include "upgrade.h"
#include "upgrade_int.h"
#include "util.h"

static const char *const svcmgr_modes[] = { "auto", "launcher", "systemd", NULL };

const struct ds_field upg_settings[] = {
        { "components_dir", DS_STR, 0, .max_len = 1024, .def_str = "",
          .help = "where component versions live; empty: /usr/lib/devsec/components (<rundir>/components with --dry-run)" },
        { "trust_dir", DS_STR, 0, .max_len = 1024, .def_str = "",
          .help = "update trust anchors (*.pem); empty: <confdir>/upgrade/trust" },
        { "health_timeout_s", DS_INT, 0, .min = 2, .max = 600, .def_int = 60,
          .help = "a restarted service must pass the health gate within this" },
        { "audit_level", DS_INT, 0, .min = 1, .max = 3, .def_int = 3,
          .help = "protection level whose audit items the health gate compares" },
        { "service_manager", DS_STR, 0, .enums = svcmgr_modes, .def_str = "auto",
          .help = "auto: systemd, or the build tree's launcher with --dry-run" },
        { "online_check", DS_BOOL, 0, .def_bool = false, .help = "check the update server on a schedule (online upgrade)" },
        { "online_url", DS_STR, 0, .max_len = 1024, .check = ds_check_printable, .def_str = "",
          .help = "https://HOST[:PORT]/PATH of a TUF repository (metadata/, targets/); https only" },
        { "online_ca_file", DS_STR, 0, .max_len = 1024, .def_str = "", .help = "CA of the update server; empty: the system store" },
        { "online_auto_install", DS_BOOL, 0, .def_bool = false,
          .help = "after a check, download and install the newest newer bundle (same checks and gate as by hand)" },
        { "online_interval_s", DS_INT, 0, .min = 60, .max = 2592000, .def_int = 86400, .help = "time between scheduled checks" },
        { NULL },
};

enum { INSTALL_FILE, INSTALL_ALLOW_DOWNGRADE };
static const struct ds_field install_args[] = {
        [INSTALL_FILE] = { "file", DS_STR, DS_REQUIRED, .max_len = 4000, .check = ds_check_path,
          .help = "the bundle, readable by upgrade-d" },
        [INSTALL_ALLOW_DOWNGRADE] = { "allow_downgrade", DS_BOOL, 0, .help = "an older version of the same security version (admin only)" },
        { NULL },
};

static int h_upgrade_install(void *ctx, struct ds_call *c)
{
        struct upg_ctx *x = ctx;
        bool down = ds_tb_bool(c, INSTALL_ALLOW_DOWNGRADE, false);
        char *file = ds_tb_strdup(c, INSTALL_FILE);
        int r;

        if (!file)
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        if (down && (c->caller.authz & ds_authz_all()) != ds_authz_all()) {
                free(file);
                return ds_call_fail(c, -EPERM, "allow_downgrade", "a downgrade needs an administrator (every authority)");
        }
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "upgrade: install of '%s' asked by '%s'%s", file,
                  ds_call_actor(c), down ? " (downgrade allowed)" : "");
        r = upg_install_start(x, c, file, down);
        free(file);
        return r;
}

enum { VERIFY_FILE };
static const struct ds_field verify_args[] = {
        [VERIFY_FILE] = { "file", DS_STR, DS_REQUIRED, .max_len = 4000, .check = ds_check_path, .help = "the bundle" },
        { NULL },
};

/* Checks a bundle (signature, manifest, every hash) and says what it holds. */
static int h_upgrade_verify(void *ctx, struct ds_call *c)
{
        char *file = ds_tb_strdup(c, VERIFY_FILE);
        int r;

        if (!file)
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        r = upg_verify_start(ctx, c, file);
        free(file);
        return r;
}

static void write_components(struct upg_ctx *x, struct mpw *w)
{
        DIR *d = opendir(x->components_dir);
        struct dirent *de;

        mpw_arr_begin(w);
        while (d && (de = readdir(d))) {
                char cur[BUNDLE_VERSION_MAX + 1], prev[BUNDLE_VERSION_MAX + 1];
                struct upg_counter *k;
                if (de->d_name[0] == '.' || ds_check_name(de->d_name, strlen(de->d_name)))
                        continue;
                upg_link_get(x, de->d_name, UPG_CURRENT, cur, sizeof cur);
                upg_link_get(x, de->d_name, UPG_PREVIOUS, prev, sizeof prev);
                k = upg_counter_find(&x->counters, de->d_name);
                mpw_map_begin(w);
                mpw_kv_str(w, "name", de->d_name);
                mpw_kv_str(w, "current", cur[0] ? cur : "base");
                mpw_kv_str(w, "previous", prev);
                mpw_kv_uint(w, "security_version", k ? k->security_version : 0);
                mpw_map_end(w);
        }
        if (d)
                closedir(d);
        mpw_arr_end(w);
}

static int h_upgrade_status(void *ctx, struct ds_call *c)
{
        struct upg_ctx *x = ctx;

        mpw_kv_str(c->r, "state", upg_step_name(x->job.step));
        if (x->job.step != UPG_IDLE) {
                mpw_kv_str(c->r, "component", x->job.component);
                mpw_kv_str(c->r, "version", x->job.version);
                mpw_kv_str(c->r, "from", x->job.old_version);
        }
        mpw_kv_str(c->r, "service_manager", x->systemd ? "systemd" : "launcher");
        mpw_kv_str(c->r, "trust_dir", x->trust_dir);
        mpw_kv_bool(c->r, "counters_ok", !x->counters_bad);
        mpw_kv_uint(c->r, "installs", x->installs);
        mpw_kv_uint(c->r, "rollbacks", x->rollbacks);
        mpw_str(c->r, "components");
        write_components(x, c->r);
        upg_rauc_status(c->r, x->d->dry_run);
        return 0;
}

enum { HISTORY_MAX };
static const struct ds_field history_args[] = {
        [HISTORY_MAX] = { "max", DS_INT, 0, .min = 1, .max = UPG_HISTORY_MAX, .help = "rows, newest last (default 20)" },
        { NULL },
};

static int h_upgrade_history(void *ctx, struct ds_call *c)
{
        mpw_str(c->r, "history");
        upg_history_write(ctx, c->r, (int)ds_tb_int(c, HISTORY_MAX, 20));
        return 0;
}

enum { ROLLBACK_COMPONENT };
static const struct ds_field rollback_args[] = {
        [ROLLBACK_COMPONENT] = { "component", DS_STR, DS_REQUIRED, .check = ds_check_name, .help = "back to its kept previous version" },
        { NULL },
};

static int h_upgrade_rollback(void *ctx, struct ds_call *c)
{
        char comp[BUNDLE_NAME_MAX + 1];

        ds_tb_str(c, ROLLBACK_COMPONENT, comp, sizeof comp);
        return upg_rollback_start(ctx, c, comp);
}

static int h_upgrade_check(void *ctx, struct ds_call *c)
{
        return upg_online_check(ctx, c, ds_call_actor(c));
}

enum { DOWNLOAD_TARGET };
static const struct ds_field download_args[] = {
        [DOWNLOAD_TARGET] = { "target", DS_STR, DS_REQUIRED, .max_len = 120, .check = ds_check_printable,
          .help = "a target name from devctl upgrade check" },
        { NULL },
};

static int h_upgrade_download(void *ctx, struct ds_call *c)
{
        char t[128];

        ds_tb_str(c, DOWNLOAD_TARGET, t, sizeof t);
        return upg_online_download(ctx, c, t);
}

const struct ds_method upg_methods[] = {
        DS_METHOD("upgrade.check", NULL, h_upgrade_check, AUTH_NEEDS(MAINTENANCE)),
        DS_METHOD("upgrade.download", download_args, h_upgrade_download, AUTH_NEEDS(MAINTENANCE)),
        DS_METHOD("upgrade.install", install_args, h_upgrade_install, AUTH_NEEDS2(MAINTENANCE, SECURITY)),
        DS_METHOD("upgrade.rollback", rollback_args, h_upgrade_rollback, AUTH_NEEDS2(MAINTENANCE, SECURITY)),
        DS_METHOD("upgrade.verify", verify_args, h_upgrade_verify, AUTH_NEEDS(MAINTENANCE)),
        DS_METHOD("upgrade.status", NULL, h_upgrade_status, AUTH_NEEDS(MAINTENANCE)),
        DS_METHOD("upgrade.history", history_args, h_upgrade_history, AUTH_NEEDS(MAINTENANCE)),
        { NULL },
};

/* Every component's running version came from a verified bundle (its marker). */
static enum ds_audit_result check_signed(void *ctx, char *detail, size_t size)
{
        struct upg_ctx *x = ctx;
        DIR *d = opendir(x->components_dir);
        struct dirent *de;
        int n = 0, bad = 0;

        while (d && (de = readdir(d))) {
                char cur[BUNDLE_VERSION_MAX + 1], vdir[4300];
                if (de->d_name[0] == '.' || ds_check_name(de->d_name, strlen(de->d_name)))
                        continue;
                if (upg_link_get(x, de->d_name, UPG_CURRENT, cur, sizeof cur) < 0) {
                        if (!bad++)
                                snprintf(detail, size, "'%s': its current link points outside its versions", de->d_name);
                        continue;
                }
                if (!cur[0])
                        continue;
                n++;
                if (snprintf(vdir, sizeof vdir, "%s/%s/%s", x->components_dir, de->d_name, cur) < (int)sizeof vdir &&
                    upg_marker_read(vdir, NULL, NULL, 0) == 0)
                        continue;
                if (!bad++)
                        snprintf(detail, size, "'%s' %s was not installed from a verified bundle", de->d_name, cur);
        }
        if (d)
                closedir(d);
        if (bad)
                return DS_AUDIT_FAIL;
        snprintf(detail, size, "%d component(s) installed from signed bundles; the rest is the base image", n);
        return DS_AUDIT_PASS;
}

#define UPG_CHECK_RECENT_S (7 * 86400)

static enum ds_audit_result check_online(void *ctx, char *detail, size_t size)
{
        struct upg_ctx *x = ctx;
        int64_t age = ds_now_real_ms() / 1000 - x->on.last_good_s;

        if (x->online_check && x->online_url[0]) {
                snprintf(detail, size, "checked every %" PRId64 " s at %s%s%s", x->online_interval_s, x->online_url,
                         x->on.last_error[0] ? "; last error: " : "", x->on.last_error);
                return DS_AUDIT_PASS;
        }
        if (x->on.last_good_s && age < UPG_CHECK_RECENT_S) {
                snprintf(detail, size, "online check off; the last check was %" PRId64 " h ago", age / 3600);
                return DS_AUDIT_PASS;
        }
        snprintf(detail, size, "online check off and no check in the last 7 days");
        return DS_AUDIT_FAIL;
}

/* "Use latest firmware": what the last verified check of the repository found,
 * against what is installed now. Without a recent check nobody knows. */
static enum ds_audit_result check_latest(void *ctx, char *detail, size_t size)
{
        struct upg_ctx *x = ctx;
        int64_t age = ds_now_real_ms() / 1000 - x->on.last_good_s;
        struct upg_counter *k = x->on.newer_comp[0] ? upg_counter_find(&x->counters, x->on.newer_comp) : NULL;

        if (!x->on.last_good_s) {
                snprintf(detail, size, "no verified update check on record: which firmware is the latest is unknown");
                return DS_AUDIT_FAIL;
        }
        if (age >= UPG_CHECK_RECENT_S) {
                snprintf(detail, size, "the last verified update check was %" PRId64 " days ago", age / 86400);
                return DS_AUDIT_FAIL;
        }
        if (x->on.newer_comp[0] && (!k || !k->version[0] || bundle_version_cmp(x->on.newer_ver, k->version) > 0)) {
                snprintf(detail, size, "'%s' %s is available (installed: %s)", x->on.newer_comp, x->on.newer_ver,
                         k && k->version[0] ? k->version : "the base image's");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "every component is at the newest version the repository offered %" PRId64 " h ago",
                 age / 3600);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item upg_audit[] = {
        { .id = "upgrade.online", .runtime = true, .level = 1, .title = "updates are checked for (online check on, or a recent check)",
          .remediation = "devctl config set upgrade-d online_check=true online_url=https://..., or devctl upgrade check",
          .check = check_online },
        { .id = "upgrade.signed", .level = 1, .title = "no unsigned component installed",
          .remediation = "reinstall the component from a signed bundle: devctl upgrade install FILE", .check = check_signed },
        { .id = "upgrade.latest", .runtime = true, .level = 1,
          .title = "the installed firmware is the latest the update repository offers",
          .remediation = "devctl upgrade check, then devctl upgrade download and install what it lists as newer",
          .check = check_latest },
        { NULL },
};
