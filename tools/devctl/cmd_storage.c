/* cmd_storage.c - devctl storage: show, set, trust, test, queue, retry, purge (service sftp-storage) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"
#include "util.h"

#define STOR_SVC "sftp-storage"

static int c_storage_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        return devctl_set_secret(dc, cmd, STOR_SVC, "SFTP account password: ", NULL, argc, argv);
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
