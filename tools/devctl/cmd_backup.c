/* cmd_backup.c - devctl backup create/restore/show: every running service's
 * export (with its secrets, sealed to a key of this run) in one file under
 * an operator passphrase (common/backup.h); a restore verifies the whole
 * file, then imports in two phases: prepare everywhere, only then commit. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "devctl.h"
#include "util.h"

#define PASS_MIN 8
#define PASS_MAX 1024

static const struct mp_limits payload_limits = {
        .max_msg = DS_BACKUP_MAX_SIZE,
        .max_depth = 32,
        .max_items = 1u << 20,
        .max_str = 1u << 20,
};

/* The passphrase: the first line of file, else from the terminal (twice
 * when confirm); never from argv. Caller frees with ds_free_secret(). */
static char *read_pass(const char *file, bool confirm)
{
        char *s;

        if (!file) {
                s = devctl_read_secret("Backup passphrase", confirm, false);
                if (!s)
                        fprintf(stderr,
                                "devctl: backup: give the passphrase on a terminal or with --passphrase-file FILE\n");
                return s;
        }
        if (!(s = devctl_read_first_line(file, PASS_MAX + 1, true)))
                fprintf(stderr, "devctl: backup: cannot read '%s': %m\n", file);
        else if (strlen(s) > PASS_MAX) {
                fprintf(stderr, "devctl: backup: passphrase: longer than %d bytes in '%s'\n", PASS_MAX, file);
                ds_free_secret(s);
                s = NULL;
        }
        return s;
}

/* key = o, or null when the header has no o */
static void put(struct mpw *w, const char *key, const msgpack_object *o)
{
        mpw_str(w, key);
        if (o)
                mpw_obj(w, o);
        else
                mpw_nil(w);
}

/* Running services (busd left out), as the bus lists them; caller frees rep. */
static int running_services(struct devctl *dc, struct bus_reply *rep, const msgpack_object **ret)
{
        int r = devctl_call(dc, "bus", "bus.services", NULL, false, NULL, rep);

        if (r == DC_OK)
                *ret = mp_get(rep->r, "services");
        return r;
}

static bool is_running(const msgpack_object *list, const char *name)
{
        for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size; i++) {
                const msgpack_object *s = &list->via.array.ptr[i];
                if (mp_streq(mp_get(s, "name"), name) && mp_streq(mp_get(s, "state"), "running"))
                        return true;
        }
        return false;
}

/* The authorities a device backup is for, checked up front for a clear
 * answer; each service enforces them (and its own) again. */
static int need_authorities(struct devctl *dc, const char *what)
{
        static const char *const need[] = {"backup", "security", "account", NULL};
        const msgpack_object *have;
        struct bus_reply rep;
        int r = devctl_call(dc, "authd", "session.whoami", NULL, true, NULL, &rep);

        if (r != DC_OK)
                return r;
        have = mp_get(rep.r, "authorities");
        for (int i = 0; need[i]; i++) {
                bool found = false;
                for (uint32_t j = 0; have && have->type == MSGPACK_OBJECT_ARRAY && j < have->via.array.size; j++)
                        found |= mp_streq(&have->via.array.ptr[j], need[i]);
                if (!found) {
                        fprintf(stderr, "devctl: backup %s needs authorities backup+security+account (missing: %s)\n",
                                what, need[i]);
                        r = DC_EAUTH;
                        break;
                }
        }
        bus_reply_free(&rep);
        return r;
}

/* One service's export with its secrets: sealed to pk by the service, opened
 * here, appended to w as one map. */
static int export_one(struct devctl *dc, const char *name, const unsigned char *pk, const unsigned char *sk,
                      struct mpw *w)
{
        char hex[2 * crypto_box_PUBLICKEYBYTES + 1];
        const msgpack_object *sealed;
        unsigned char *plain = NULL;
        struct bus_reply rep;
        msgpack_unpacked u;
        const char *why;
        struct mpw a;
        int r;

        ds_hex(pk, crypto_box_PUBLICKEYBYTES, hex);
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_str(&a, "seal_to", hex);
        mpw_map_end(&a);
        r = devctl_call(dc, name, "config.export", &a, true, NULL, &rep);
        mpw_free(&a);
        if (r != DC_OK) {
                fprintf(stderr, "devctl: backup: %s could not be exported: nothing written\n", name);
                return r;
        }
        sealed = mp_get(rep.r, "sealed");
        r = DC_ESERVICE;
        if (!sealed || sealed->type != MSGPACK_OBJECT_BIN || sealed->via.bin.size <= crypto_box_SEALBYTES) {
                fprintf(stderr, "devctl: backup: %s sent no sealed export (an older version?): nothing written\n",
                        name);
        } else if (!(plain = malloc(sealed->via.bin.size - crypto_box_SEALBYTES))) {
                fprintf(stderr, "devctl: backup: out of memory\n");
        } else if (crypto_box_seal_open(plain, (const unsigned char *)sealed->via.bin.ptr, sealed->via.bin.size, pk,
                                        sk) != 0) {
                fprintf(stderr, "devctl: backup: %s's sealed export does not open: nothing written\n", name);
        } else if (mp_decode(plain, sealed->via.bin.size - crypto_box_SEALBYTES, &payload_limits, &u, &why) < 0) {
                fprintf(stderr, "devctl: backup: %s's export is not msgpack (%s): nothing written\n", name, why);
        } else {
                size_t n;
                const char *need = mp_get_strn(&u.data, "state_omitted", &n);

                if (need)
                        fprintf(stderr, "devctl: backup: %s's state is left out: it needs authority '%.*s'\n", name,
                                (int)n, need);
                mpw_obj(w, &u.data);
                msgpack_unpacked_destroy(&u);
                r = DC_OK;
        }
        if (plain) {
                sodium_memzero(plain, sealed->via.bin.size - crypto_box_SEALBYTES);
                free(plain);
        }
        bus_reply_free(&rep);
        return r;
}

static int sha256_file(const char *path, char hex[65], int64_t *ret_size)
{
        unsigned char buf[65536], h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256_state st;
        int64_t size = 0;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        crypto_hash_sha256_init(&st);
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                crypto_hash_sha256_update(&st, buf, (size_t)n);
                size += n;
        }
        close(fd);
        if (n < 0)
                return -EIO;
        crypto_hash_sha256_final(&st, h);
        ds_hex(h, sizeof h, hex);
        *ret_size = size;
        return 0;
}

/* backup create --out FILE [--passphrase-file F] */
static int c_backup_create(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
        const char *out = devctl_take_opt(&argc, argv, "--out"), *pf = devctl_take_opt(&argc, argv, "--passphrase-file");
        const msgpack_object *list;
        struct mpw meta, data, w;
        struct bus_reply svcs;
        char host[256] = "", why[256], sha[65];
        char *pass = NULL;
        int64_t size = 0;
        int r, n = 0;

        if (!out || argc != 0)
                return devctl_usage(cmd);
        if (sodium_init() < 0)
                return DC_ESERVICE;
        if ((r = need_authorities(dc, "create")) != DC_OK)
                return r;
        if (!(pass = read_pass(pf, true)))
                return DC_EUSAGE;
        if (strlen(pass) < PASS_MIN) {
                fprintf(stderr, "devctl: backup: the passphrase needs at least %d characters\n", PASS_MIN);
                ds_free_secret(pass);
                return DC_EUSAGE;
        }
        if ((r = running_services(dc, &svcs, &list)) != DC_OK) {
                ds_free_secret(pass);
                return r;
        }
        crypto_box_keypair(pk, sk); /* this run's: the exports are sealed to it */
        gethostname(host, sizeof host - 1);
        mpw_init(&meta);
        mpw_init(&data);
        mpw_init(&w);
        mpw_map_begin(&meta);
        mpw_kv_str(&meta, "device", host);
        mpw_kv_int(&meta, "created_ms", ds_now_real_ms());
        mpw_kv_str(&meta, "devctl_version", DEVSEC_VERSION);
        mpw_str(&meta, "services");
        mpw_map_begin(&meta);
        mpw_map_begin(&data);
        mpw_str(&data, "services");
        mpw_map_begin(&data);
        for (uint32_t i = 0; list && list->type == MSGPACK_OBJECT_ARRAY && i < list->via.array.size; i++) {
                const msgpack_object *s = &list->via.array.ptr[i];
                char name[64];

                if (mp_strcpy(mp_get(s, "name"), name, sizeof name) < 0 || !strcmp(name, "busd"))
                        continue;
                if (!mp_streq(mp_get(s, "state"), "running")) {
                        fprintf(stderr, "devctl: backup: %s is not running: left out\n", name);
                        continue;
                }
                mpw_str(&data, name);
                if ((r = export_one(dc, name, pk, sk, &data)) != DC_OK)
                        goto out;
                put(&meta, name, mp_get(s, "version"));
                n++;
        }
        mpw_map_end(&data);
        mpw_map_end(&data);
        mpw_map_end(&meta);
        mpw_map_end(&meta);
        if (mpw_finish(&meta) < 0 || mpw_finish(&data) < 0) {
                r = DC_ESERVICE;
                goto out;
        }
        if (ds_backup_write(out, mpw_data(&meta), mpw_len(&meta), mpw_data(&data), mpw_len(&data), pass,
                            &ds_backup_kdf_default, why, sizeof why) < 0) {
                fprintf(stderr, "devctl: backup: %s\n", why);
                r = DC_ESERVICE;
                goto out;
        }
        if (sha256_file(out, sha, &size) < 0) {
                fprintf(stderr, "devctl: backup: cannot read back '%s': %m\n", out);
                r = DC_ESERVICE;
                goto out;
        }
        /* the device's record of it: the audit item net.backup.recent */
        mpw_map_begin(&w);
        mpw_kv_str(&w, "sha256", sha);
        mpw_kv_int(&w, "size", size);
        mpw_map_end(&w);
        if (devctl_call(dc, "netcfgd", "backup.done", &w, true, NULL, NULL) != DC_OK)
                fprintf(stderr, "devctl: backup: the device could not record it (net.backup.recent will not see it)\n");
        printf("backup written: %s (%d services, %lld bytes, sha256 %s)\n", out, n, (long long)size, sha);
        r = DC_OK;
out:
        sodium_memzero(sk, sizeof sk);
        ds_free_secret(pass);
        mpw_free(&meta);
        mpw_wipe(&data); /* every hash of the device */
        mpw_free(&w);
        bus_reply_free(&svcs);
        return r;
}

/* Opens and verifies path whole; payload decoded into *u. */
static int load_backup(const char *path, const char *pf, struct ds_backup *b, msgpack_unpacked *u)
{
        char why[256], *pass;
        const char *w;
        int r;

        if ((r = ds_backup_open(path, b, why, sizeof why)) < 0) {
                fprintf(stderr, "devctl: backup: '%s': %s\n", path, why);
                return DC_ESERVICE;
        }
        if (!(pass = read_pass(pf, false)))
                return DC_EUSAGE;
        r = ds_backup_decrypt(b, pass, why, sizeof why);
        ds_free_secret(pass);
        if (r < 0) {
                fprintf(stderr, "devctl: backup: '%s': %s\n", path, why);
                return DC_ESERVICE;
        }
        if (mp_decode(b->data, b->len, &payload_limits, u, &w) < 0 || !mp_get(&u->data, "services") ||
            mp_get(&u->data, "services")->type != MSGPACK_OBJECT_MAP) {
                fprintf(stderr, "devctl: backup: '%s': the contents are not a device backup\n", path);
                return DC_ESERVICE;
        }
        return DC_OK;
}

static void print_header(struct devctl *dc, const struct ds_backup *b)
{
        const msgpack_object *h = &b->hdr.data, *kdf = mp_get(h, "kdf");
        char fmt[32], when[64] = "?";
        time_t t = (time_t)(mp_get_int(h, "created_ms", 0) / 1000);
        struct tm tm;
        struct mpw w;
        msgpack_unpacked u;
        const char *why;

        if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(fmt, sizeof fmt, "%d.%d", b->major, b->minor);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "format", fmt);
        put(&w, "device", mp_get(h, "device"));
        mpw_kv_str(&w, "created", when);
        put(&w, "created_ms", mp_get(h, "created_ms"));
        put(&w, "devctl_version", mp_get(h, "devctl_version"));
        put(&w, "kdf", mp_get(kdf, "alg"));
        put(&w, "kdf_ops", mp_get(kdf, "ops"));
        put(&w, "kdf_mem", mp_get(kdf, "mem"));
        put(&w, "services", mp_get(h, "services"));
        mpw_map_end(&w);
        if (mpw_finish(&w) == 0 && mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why) == 0) {
                if (dc->json) {
                        devctl_print_json(stdout, &u.data);
                        fputc('\n', stdout);
                } else {
                        devctl_print_map(stdout, &u.data, 0);
                }
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&w);
}

/* backup show FILE [--passphrase-file F] */
static int c_backup_show(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *pf = devctl_take_opt(&argc, argv, "--passphrase-file");
        struct ds_backup b;
        msgpack_unpacked u;
        int r;

        if (argc != 1 || argv[0][0] == '-')
                return devctl_usage(cmd);
        msgpack_unpacked_init(&u);
        r = load_backup(argv[0], pf, &b, &u);
        if (r == DC_OK)
                print_header(dc, &b);
        msgpack_unpacked_destroy(&u);
        ds_backup_free(&b);
        return r;
}

#define PARTS_MAX 32

struct part {
        char name[64];
        const msgpack_object *exp;
        bool prepared;
};

/* config.import {phase, txn} to one service; prepare carries its export. */
static int import_phase(struct devctl *dc, const struct part *p, const char *phase, const char *txn)
{
        static const char *const keys[] = {"service", "version",       "exported_ms", "settings",
                                           "state",   "state_omitted", NULL};
        struct bus_reply rep;
        struct mpw a;
        int r;

        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_str(&a, "phase", phase);
        mpw_kv_str(&a, "txn", txn);
        for (int i = 0; !strcmp(phase, "prepare") && keys[i]; i++)
                if (mp_get(p->exp, keys[i])) {
                        mpw_str(&a, keys[i]);
                        mpw_obj(&a, mp_get(p->exp, keys[i]));
                }
        mpw_map_end(&a);
        r = devctl_call(dc, p->name, "config.import", &a, true, NULL, &rep);
        mpw_wipe(&a);
        if (r != DC_OK)
                return r;
        {
                const msgpack_object *ig = mp_get(rep.r, "ignored");
                for (uint32_t i = 0; ig && ig->type == MSGPACK_OBJECT_ARRAY && i < ig->via.array.size; i++)
                        fprintf(stderr, "devctl: backup: %s: setting '%.*s' is unknown to this version: ignored\n",
                                p->name,
                                ig->via.array.ptr[i].type == MSGPACK_OBJECT_STR ? (int)ig->via.array.ptr[i].via.str.size
                                                                                : 1,
                                ig->via.array.ptr[i].type == MSGPACK_OBJECT_STR ? ig->via.array.ptr[i].via.str.ptr
                                                                                : "?");
        }
        bus_reply_free(&rep);
        return DC_OK;
}

static void abort_all(struct devctl *dc, struct part *parts, int n, const char *txn)
{
        for (int i = 0; i < n; i++)
                if (parts[i].prepared) {
                        import_phase(dc, &parts[i], "abort", txn);
                        parts[i].prepared = false;
                }
}

/* backup restore FILE [--passphrase-file F] */
static int c_backup_restore(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *pf = devctl_take_opt(&argc, argv, "--passphrase-file");
        struct part parts[PARTS_MAX];
        const msgpack_object *svcs, *list;
        struct bus_reply run = {0};
        unsigned char rnd[6];
        char txn[32], rh[13];
        struct ds_backup b;
        msgpack_unpacked u;
        bool had_run = false, accounts = false;
        int r, n = 0;

        if (argc != 1 || argv[0][0] == '-')
                return devctl_usage(cmd);
        msgpack_unpacked_init(&u);
        memset(&b, 0, sizeof b);
        if ((r = need_authorities(dc, "restore")) != DC_OK || (r = load_backup(argv[0], pf, &b, &u)) != DC_OK)
                goto out;
        if ((r = running_services(dc, &run, &list)) != DC_OK)
                goto out;
        had_run = true;
        svcs = mp_get(&u.data, "services");
        /* authd last: taking the accounts ends every session, this one's too */
        for (int pass = 0; pass < 2; pass++)
                for (uint32_t i = 0; i < svcs->via.map.size; i++) {
                        struct part *p = &parts[n];
                        if (mp_strcpy(&svcs->via.map.ptr[i].key, p->name, sizeof p->name) < 0 ||
                            (pass == 0) == !strcmp(p->name, "authd"))
                                continue;
                        if (!is_running(list, p->name)) {
                                fprintf(stderr, "devctl: backup: %s is not running here: its part is left out\n",
                                        p->name);
                                continue;
                        }
                        if (n == PARTS_MAX) {
                                fprintf(stderr, "devctl: backup: more than %d services\n", PARTS_MAX);
                                r = DC_ESERVICE;
                                goto out;
                        }
                        p->exp = &svcs->via.map.ptr[i].val;
                        p->prepared = false;
                        accounts |= !strcmp(p->name, "authd");
                        n++;
                }
        randombytes_buf(rnd, sizeof rnd);
        ds_hex(rnd, sizeof rnd, rh);
        snprintf(txn, sizeof txn, "restore-%s", rh);
        /* phase one: every service checks and stages its part */
        for (int i = 0; i < n; i++) {
                if ((r = import_phase(dc, &parts[i], "prepare", txn)) != DC_OK) {
                        abort_all(dc, parts, n, txn);
                        fprintf(stderr, "devctl: backup: %s refused its part: nothing was changed\n", parts[i].name);
                        goto out;
                }
                parts[i].prepared = true;
        }
        /* phase two: only now anything changes */
        for (int i = 0; i < n; i++) {
                if ((r = import_phase(dc, &parts[i], "commit", txn)) != DC_OK) {
                        parts[i].prepared = false;
                        abort_all(dc, parts, n, txn);
                        fprintf(stderr,
                                "devctl: backup: %s failed to commit its part; %d service(s) before it were "
                                "restored, the rest left as they were\n",
                                parts[i].name, i);
                        goto out;
                }
                parts[i].prepared = false;
        }
        printf("restored %d service(s) from %s\n", n, argv[0]);
        if (accounts)
                printf("the accounts were restored and every session ended: log in again\n");
        r = DC_OK;
out:
        if (had_run)
                bus_reply_free(&run);
        msgpack_unpacked_destroy(&u);
        ds_backup_free(&b);
        return r;
}

static const char *const backup_file_pos[] = {"FILE", NULL};

static const struct devctl_cmd backup_cmds[] = {
        {.path = "backup create",
         .fn = c_backup_create,
         .usage = "--out FILE [--passphrase-file F]",
         .help = "every service's settings and state, with secrets, in one encrypted file"},
        {.path = "backup restore",
         .pos = backup_file_pos,
         .fn = c_backup_restore,
         .usage = "FILE [--passphrase-file F]",
         .help = "verify a backup whole, then restore it everywhere or nowhere"},
        {.path = "backup show",
         .pos = backup_file_pos,
         .fn = c_backup_show,
         .usage = "FILE [--passphrase-file F]",
         .help = "a backup's header (after the passphrase check)"},
        {NULL},
};
DEVCTL_COMMANDS(backup_cmds);
