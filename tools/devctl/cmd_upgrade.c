/* cmd_upgrade.c - devctl upgrade: install, verify, status, history, rollback (service upgrade-d) */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"

#define UPG_SVC "upgrade-d"
/* an install waits for a restart and the health gate: the bus's longest wait */
#define UPG_TIMEOUT_MS BUS_MAX_TIMEOUT_MS

/* Prints the outcome; a rollback is exit 1 so that scripts notice it. */
static int upg_result(struct devctl *dc, struct bus_reply *rep)
{
        const msgpack_object *res = mp_get(rep->r, "result");
        int rc = mp_streq(res, "done") ? DC_OK : DC_ESERVICE;

        if (dc->json) {
                devctl_print_json(stdout, rep->r);
                fputc('\n', stdout);
        } else {
                devctl_print_map(stdout, rep->r, 0);
        }
        if (rc != DC_OK)
                fprintf(stderr, "devctl: upgrade-d: the new version was rolled back\n");
        return rc;
}

/* upgrade install FILE [--allow-downgrade]: the path is made absolute here,
 * upgrade-d reads the file itself (it must be readable by upgrade-d) */
static int c_upgrade_file(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool down = false, install = !strcmp(cmd->method, "upgrade.install");
        const char *file = NULL;
        char abs[PATH_MAX];
        struct bus_reply rep;
        struct mpw w;
        int rc;

        for (int i = 0; i < argc; i++) {
                if (install && !strcmp(argv[i], "--allow-downgrade"))
                        down = true;
                else if (!file && argv[i][0] != '-')
                        file = argv[i];
                else
                        return devctl_usage(cmd);
        }
        if (!file)
                return devctl_usage(cmd);
        if (!realpath(file, abs)) {
                fprintf(stderr, "devctl: '%s': %m\n", file);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "file", abs);
        if (down)
                mpw_kv_bool(&w, "allow_downgrade", true);
        mpw_map_end(&w);
        if (install && dc->timeout_ms < UPG_TIMEOUT_MS)
                dc->timeout_ms = UPG_TIMEOUT_MS;
        if (install && !dc->json)
                fprintf(stderr, "devctl: installing %s (verify, unpack, restart, health gate)...\n", abs);
        rc = devctl_call(dc, UPG_SVC, cmd->method, &w, true, NULL, install ? &rep : NULL);
        mpw_free(&w);
        if (rc != DC_OK || !install)
                return rc;
        rc = upg_result(dc, &rep);
        bus_reply_free(&rep);
        return rc;
}

static int c_upgrade_rollback(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct bus_reply rep;
        struct mpw w;
        int rc;

        if (argc != 1 || argv[0][0] == '-')
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "component", argv[0]);
        mpw_map_end(&w);
        if (dc->timeout_ms < UPG_TIMEOUT_MS)
                dc->timeout_ms = UPG_TIMEOUT_MS;
        rc = devctl_call(dc, UPG_SVC, "upgrade.rollback", &w, true, NULL, &rep);
        mpw_free(&w);
        if (rc != DC_OK)
                return rc;
        rc = upg_result(dc, &rep);
        bus_reply_free(&rep);
        return rc;
}

/* upgrade.progress while a download runs: a bar on a terminal, JSON lines
 * with --json, nothing otherwise */
static void on_progress(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data)
{
        struct devctl *dc = ud;
        int64_t got = mp_get_int(data, "bytes", 0), total = mp_get_int(data, "total", 0);
        int pct = total > 0 ? (int)(got * 100 / total) : 0, n = pct / 4;
        char bar[26];

        (void)topic;
        (void)src;
        (void)ts_ms;
        if (dc->json) {
                devctl_print_json(stdout, data);
                fputc('\n', stdout);
                fflush(stdout);
                return;
        }
        if (!isatty(STDERR_FILENO))
                return;
        memset(bar, ' ', 25);
        memset(bar, '#', (size_t)(n > 25 ? 25 : n));
        bar[25] = 0;
        fprintf(stderr, "\r[%s] %3d%%  %lld/%lld KiB", bar, pct, (long long)(got >> 10), (long long)(total >> 10));
        if (mp_get_bool(data, "done", false))
                fputc('\n', stderr);
        fflush(stderr);
}

/* check and download wait for the server: the bus's longest wait too */
static int c_upgrade_online(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int rc;

        if (argc != (cmd->pos ? 1 : 0) || (argc && argv[0][0] == '-'))
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        if (argc)
                mpw_kv_str(&w, cmd->pos[0], argv[0]);
        mpw_map_end(&w);
        if (dc->timeout_ms < UPG_TIMEOUT_MS)
                dc->timeout_ms = UPG_TIMEOUT_MS;
        /* events that arrive while the call waits are delivered to on_progress */
        if (cmd->pos && (dc->json || isatty(STDERR_FILENO)) && devctl_subscribe(dc, "upgrade.progress", on_progress, dc) != DC_OK)
                fprintf(stderr, "devctl: no progress shown\n");
        rc = devctl_call(dc, UPG_SVC, cmd->method, &w, true, cmd->list_key, NULL);
        mpw_free(&w);
        return rc;
}

static const struct devctl_cmd upgrade_cmds[] = {
        { .path = "upgrade check", .svc = UPG_SVC, .method = "upgrade.check", .fn = c_upgrade_online, .list_key = "available",
          .usage = "", .help = "fetch and verify the update server's TUF metadata; list the bundles it offers" },
        { .path = "upgrade download", .svc = UPG_SVC, .method = "upgrade.download", .fn = c_upgrade_online,
          .pos = (const char *const[]){ "target", NULL }, .usage = "TARGET",
          .help = "download a bundle the metadata names (resumes after a cut; events upgrade.progress), verify it" },
        { .path = "upgrade install", .svc = UPG_SVC, .method = "upgrade.install", .fn = c_upgrade_file,
          .usage = "FILE [--allow-downgrade]",
          .help = "verify a signed bundle, install its component, restart it behind the health gate (rollback on failure)" },
        { .path = "upgrade verify", .svc = UPG_SVC, .method = "upgrade.verify", .fn = c_upgrade_file, .usage = "FILE",
          .help = "check a bundle's signature, manifest and every file hash; install nothing" },
        { .path = "upgrade status", .svc = UPG_SVC, .method = "upgrade.status", .usage = "",
          .help = "what is under way, each component's current and kept version and security version" },
        { .path = "upgrade history", .svc = UPG_SVC, .method = "upgrade.history", .list_key = "history",
          .usage = "[max=N]", .help = "installs and rollbacks with their reasons, newest last" },
        { .path = "upgrade rollback", .svc = UPG_SVC, .method = "upgrade.rollback", .fn = c_upgrade_rollback,
          .usage = "COMPONENT", .help = "back to the kept previous version, behind the same health gate" },
        { NULL },
};
DEVCTL_COMMANDS(upgrade_cmds);
