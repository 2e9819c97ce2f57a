/* methods.c - sftp-storage's settings, methods (storage.*) and audit items */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "util.h"

static const char *const retention_modes[] = { "delete", "keep", NULL };

const struct ds_field stor_settings[] = {
        { "url", DS_STR, 0, .max_len = 1200, .check = ds_check_printable, .def_str = "",
          .help = "sftp://HOST[:PORT]/DIR (ftpes://... only with allow_ftps); plain ftp:// is refused" },
        { "username", DS_STR, 0, .max_len = 127, .check = ds_check_printable, .def_str = "", .help = "account on the server" },
        { "password", DS_STR, DS_SECRET, .max_len = 254, .def_str = "",
          .help = "only if the server needs one besides the device key (kept 0600, never exported)" },
        { "allow_ftps", DS_BOOL, 0, .def_bool = false, .help = "allow explicit FTPS (ftpes://, TLS required and verified) as a fallback" },
        { "ca_file", DS_STR, 0, .max_len = 4095, .def_str = "", .help = "FTPS: CA bundle; empty: the system store" },
        { "retention", DS_STR, 0, .enums = retention_modes, .def_str = "delete",
          .help = "after a verified upload: delete the local file, or keep it (kept/)" },
        { "spool_dir", DS_STR, 0, .max_len = 4095, .def_str = "", .help = "where the media stack drops files; empty: <state>/spool" },
        { "device_id", DS_STR, 0, .max_len = 64, .check = ds_check_printable, .def_str = "",
          .help = "the id written into the remote marker; empty: the machine id" },
        { "timeout_s", DS_INT, 0, .min = 1, .max = 600, .def_int = 30, .help = "connect timeout; a transfer stalled this long is aborted" },
        { "rate_limit_kib_s", DS_INT, 0, .min = 0, .max = 10485760, .def_int = 0, .help = "upload bandwidth cap, KiB/s (0: none)" },
        { "queue_max_items", DS_INT, 0, .min = 1, .max = 1000000, .def_int = 10000, .help = "queue quota, files" },
        { "max_age_s", DS_INT, 0, .min = 60, .max = 31536000, .def_int = 2592000,
          .help = "a file not uploaded after this goes to the failed folder" },
        { "retry_min_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 10, .help = "first retry after" },
        { "retry_max_s", DS_INT, 0, .min = 1, .max = 86400, .def_int = 900, .help = "retries capped at" },
        { NULL },
};

void stor_write_stats(struct stor_ctx *x, struct mpw *w)
{
        ds_queue_write_stats(x->q, x->refused_full, w);
        mpw_kv_uint(w, "uploaded", x->uploaded);
        mpw_kv_uint(w, "uploaded_bytes", x->uploaded_bytes);
        mpw_kv_uint(w, "resumed", x->resumed);
        mpw_kv_uint(w, "duplicates", x->duplicates);
        mpw_kv_uint(w, "failed_attempts", x->failed_attempts);
        mpw_kv_str(w, "last_error", x->last_error);
}

static int h_storage_show(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;
        const struct stor_conf *k = &x->conf;

        mpw_kv_bool(c->r, "configured", stor_configured(x));
        mpw_kv_str(c->r, "protocol", !k->configured ? "" : k->url.proto == STOR_SFTP ? "sftp" : "ftpes (explicit FTPS, verified)");
        mpw_kv_str(c->r, "host", k->url.host);
        mpw_kv_int(c->r, "port", k->configured ? k->url.port : 0);
        mpw_kv_str(c->r, "directory", k->url.dir);
        mpw_kv_str(c->r, "username", k->username);
        mpw_kv_bool(c->r, "password_set", x->password && x->password[0]);
        mpw_kv_str(c->r, "host_key_sha256", x->pin[0] ? x->pin : "");
        mpw_kv_bool(c->r, "host_key_mismatch", x->hostkey_mismatch);
        mpw_kv_bool(c->r, "directory_ok", x->dir_ok);
        mpw_kv_str(c->r, "directory_error", x->dir_error);
        mpw_kv_str(c->r, "device_id", k->device_id);
        mpw_kv_str(c->r, "public_key", x->pubkey);
        mpw_kv_str(c->r, "spool_dir", k->spool_dir);
        mpw_kv_str(c->r, "retention", k->keep ? "keep" : "delete");
        stor_write_stats(x, c->r);
        return 0;
}

enum { TRUST_FINGERPRINT };
static const struct ds_field trust_args[] = {
        [TRUST_FINGERPRINT] = { "fingerprint", DS_STR, 0, .max_len = 60, .check = ds_check_printable,
          .help = "SHA256:... as shown by a first trust: pins it if the server offers exactly this" },
        { NULL },
};

static int h_storage_trust(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;
        char fp[64];

        if (!stor_configured(x))
                return ds_call_fail(c, -EINVAL, "url", "no destination configured: devctl storage set url=sftp://...");
        if (x->conf.url.proto != STOR_SFTP)
                return ds_call_fail(c, -EINVAL, "url", "FTPS verifies the server certificate: no host key to pin");
        if (x->trust_call)
                return ds_call_fail(c, -EBUSY, NULL, "a trust is already in progress");
        ds_tb_str(c, TRUST_FINGERPRINT, fp, sizeof fp);
        const char *f = !strncmp(fp, "SHA256:", 7) ? fp + 7 : fp;
        if (fp[0] && strlen(f) != 43)
                return ds_call_fail(c, -EINVAL, "fingerprint", "not a SHA-256 fingerprint (SHA256: and 43 base64 characters)");
        snprintf(x->want_fp, sizeof x->want_fp, "%s", f);
        x->trust_call = ds_call_detach(c);
        x->want_probe = true;
        stor_kick(x);
        return DS_DEFER;
}

enum { TEST_ADOPT };
static const struct ds_field test_args[] = {
        [TEST_ADOPT] = { "adopt", DS_BOOL, 0, .help = "take over a directory with foreign files or another device's marker" },
        { NULL },
};

static int h_storage_test(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;

        if (!stor_configured(x))
                return ds_call_fail(c, -EINVAL, "url", "no destination configured: devctl storage set url=sftp://...");
        if (x->test_call)
                return ds_call_fail(c, -EBUSY, NULL, "a test is already in progress");
        x->adopt = ds_tb_bool(c, TEST_ADOPT, false);
        if (x->adopt)
                log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "'%s' asked to adopt remote directory '%s'",
                          ds_call_actor(c), x->conf.url.dir);
        x->test_call = ds_call_detach(c);
        x->want_test = true;
        x->hostkey_mismatch = false; /* checked again by this connection */
        stor_kick(x);
        return DS_DEFER;
}

static void list_item(void *ud, dsq_t *q, const struct dsq_item *it, struct mpw *w)
{
        char *name = NULL;
        size_t len;

        (void)ud;
        dsq_read(q, it->id, &name, &len);
        mpw_kv_str(w, "file", name ? name : "?");
        mpw_kv_str(w, "state", ds_queue_state(it, "uploading"));
        free(name);
}

static int h_storage_queue(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;

        ds_queue_list(c, x->q, list_item, NULL);
        stor_write_stats(x, c->r);
        return 0;
}

static int h_storage_retry(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;
        int n = ds_queue_retry(c, x->q, "upload", "queue");

        if (n < 0)
                return n;
        x->dir_next_ms = 0;
        stor_kick(x);
        return 0;
}

/* the operator drops the items and so their files: held files that no item
 * names any more are deleted (the next start would queue them again) */
static int h_storage_purge(void *ctx, struct ds_call *c)
{
        struct stor_ctx *x = ctx;
        int n = ds_queue_purge(c, x->q, "upload", "queue"), f;

        if (n < 0)
                return n;
        if ((f = stor_spool_prune(x)) >= 0)
                mpw_kv_int(c->r, "files_deleted", f);
        return 0;
}

const struct ds_method stor_methods[] = {
        DS_METHOD("storage.show", NULL, h_storage_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("storage.trust", trust_args, h_storage_trust, AUTH_NEEDS(SECURITY)),
        DS_METHOD("storage.test", test_args, h_storage_test, AUTH_NEEDS(STORAGE)),
        DS_METHOD("storage.queue", ds_queue_list_args, h_storage_queue, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("storage.retry", ds_queue_id_args, h_storage_retry, AUTH_NEEDS(STORAGE)),
        DS_METHOD("storage.purge", ds_queue_id_args, h_storage_purge, AUTH_NEEDS(STORAGE)),
        { NULL },
};

static enum ds_audit_result check_sftp(void *ctx, char *detail, size_t size)
{
        struct stor_ctx *x = ctx;

        if (!stor_configured(x)) {
                snprintf(detail, size, "no destination configured");
                return DS_AUDIT_NA;
        }
        if (x->conf.url.proto == STOR_SFTP)
                snprintf(detail, size, "SFTP to '%s'", x->conf.url.host);
        else
                snprintf(detail, size, "explicit FTPS to '%s', TLS required, certificate verified against %s",
                         x->conf.url.host, x->conf.ca_file[0] ? x->conf.ca_file : "the system store");
        return DS_AUDIT_PASS;
}

static enum ds_audit_result check_hostkey(void *ctx, char *detail, size_t size)
{
        struct stor_ctx *x = ctx;

        if (!stor_configured(x) || x->conf.url.proto != STOR_SFTP) {
                snprintf(detail, size, "no SFTP destination");
                return DS_AUDIT_NA;
        }
        if (!x->pin[0]) {
                snprintf(detail, size, "the host key of '%s' is not pinned", x->conf.url.host);
                return DS_AUDIT_FAIL;
        }
        if (x->hostkey_mismatch) {
                snprintf(detail, size, "the server offered a host key other than the pinned SHA256:%s", x->pin);
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "pinned SHA256:%s", x->pin);
        return DS_AUDIT_PASS;
}

static enum ds_audit_result check_exclusive(void *ctx, char *detail, size_t size)
{
        struct stor_ctx *x = ctx;

        if (!stor_configured(x)) {
                snprintf(detail, size, "no destination configured");
                return DS_AUDIT_NA;
        }
        if (!x->dir_ok) {
                snprintf(detail, size, "'%s' not verified as exclusive%s%s", x->conf.url.dir, x->dir_error[0] ? ": " : "",
                         x->dir_error);
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "'%s' holds this device's marker", x->conf.url.dir);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item stor_audit[] = {
        { .id = "storage.sftp", .level = 1, .title = "uploads over SFTP or verified explicit FTPS, never plain FTP",
          .remediation = "devctl storage set url=sftp://HOST/DIR (plain ftp:// is refused)", .check = check_sftp },
        { .id = "storage.hostkey", .level = 1, .title = "the SFTP server's host key is pinned (SHA-256)",
          .remediation = "devctl storage trust, then devctl storage trust SHA256:<fingerprint>", .check = check_hostkey },
        { .id = "storage.exclusive", .level = 2, .title = "the remote directory is exclusive to this device (marker)",
          .remediation = "give the device a directory of its own, then devctl storage test", .check = check_exclusive },
        { NULL },
};
