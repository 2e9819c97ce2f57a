/* cmd_storage.c - devctl storage: show, set, trust, test, queue, retry, purge (service sftp-storage) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"
#include "util.h"

#define STOR_SVC "sftp-storage"

static int c_storage_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool pw_stdin = false, pw_prompt = false;
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        char *pw = NULL;
        int n = 0, r;
        struct mpw w;

        if (!rest)
                return DC_EUSAGE;
        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--password-stdin"))
                        pw_stdin = true;
                else if (!strcmp(argv[i], "--password"))
                        pw_prompt = true;
                else if (!strncmp(argv[i], "password=", 9)) {
                        fprintf(stderr, "devctl: the password is never given in argv: use --password or --password-stdin\n");
                        free(rest);
                        return DC_EUSAGE;
                } else
                        rest[n++] = argv[i];
        }
        if (n == 0 && !pw_stdin && !pw_prompt) {
                free(rest);
                return devctl_usage(cmd);
        }
        if ((pw_stdin || pw_prompt) && !(pw = devctl_read_secret("SFTP account password: ", false, pw_stdin))) {
                free(rest);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "settings");
        mpw_map_begin(&w);
        r = devctl_parse_kv(&w, n, rest);
        if (pw)
                mpw_kv_str(&w, "password", pw);
        mpw_map_end(&w);
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, STOR_SVC, "config.set", &w, true, NULL, NULL);
        mpw_wipe(&w);
        ds_free_secret(pw);
        free(rest);
        return r;
}

static const struct devctl_cmd storage_cmds[] = {
        { .path = "storage show", .svc = STOR_SVC, .method = "storage.show", .usage = "",
          .help = "destination, pinned host key, directory check, the device's public key, queue counters" },
        { .path = "storage set", .fn = c_storage_set, .usage = "key=value... [--password|--password-stdin]",
          .help = "change the upload settings (url=sftp://HOST/DIR; plain ftp:// is refused)" },
        { .path = "storage trust", .svc = STOR_SVC, .method = "storage.trust",
          .pos = (const char *const[]){ "fingerprint", NULL }, .usage = "[SHA256:FINGERPRINT]",
          .help = "show the server's host key fingerprint; given back, pin it" },
        { .path = "storage test", .svc = STOR_SVC, .method = "storage.test", .usage = "[--adopt]",
          .help = "connect and check (or write) the exclusive directory's marker" },
        { .path = "storage queue", .svc = STOR_SVC, .method = "storage.queue", .list_key = "items",
          .usage = "[max=N]", .help = "queued, uploading and failed files with their last error" },
        { .path = "storage retry", .svc = STOR_SVC, .method = "storage.retry",
          .pos = (const char *const[]){ "id", NULL }, .usage = "[ID]",
          .help = "upload now (a failed item goes back to the queue)" },
        { .path = "storage purge", .svc = STOR_SVC, .method = "storage.purge",
          .pos = (const char *const[]){ "id", NULL }, .usage = "[ID] [failed_only=true]",
          .help = "delete items from the queue" },
        { NULL },
};
DEVCTL_COMMANDS(storage_cmds);
