/* cmd_log.c - devctl log: query (paging, follow, JSON lines, RFC 5424), verify,
 * seal init, remote show/set/disable, status */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "util.h"

static int usage(const struct devctl_cmd *cmd)
{
        fprintf(stderr, "usage: devctl %s %s\n", cmd->path, cmd->usage ? cmd->usage : "");
        return DC_EUSAGE;
}

/* option table for `log query`: --name VALUE (or --name=VALUE) -> argument */
static const struct {
        const char *opt;
        const char *arg;
        bool is_int;
} query_opts[] = {
        { "category", "category", false }, { "since", "since", false },   { "until", "until", false },
        { "user", "user", false },         { "service", "service", false }, { "text", "text", false },
        { "level", "level_min", false },   { "limit", "limit", true },    { "cursor", "cursor", true },
};

static void print_rec_line(const msgpack_object *r)
{
        size_t n;
        const char *t = mp_get_strn(r, "time", &n);
        const char *cat, *lvl, *svc, *user, *msg;
        size_t nc, nl, ns, nu, nm;

        cat = mp_get_strn(r, "category", &nc);
        lvl = mp_get_strn(r, "level", &nl);
        svc = mp_get_strn(r, "service", &ns);
        user = mp_get_strn(r, "user", &nu);
        msg = mp_get_strn(r, "msg", &nm);
        printf("%8lld %.*s %-9.*s %-7.*s %-10.*s %-10.*s %.*s\n", (long long)mp_get_int(r, "seq", 0), (int)n, t ? t : "",
               (int)nc, cat ? cat : "", (int)nl, lvl ? lvl : "", (int)ns, svc ? svc : "", (int)(nu ? nu : 1),
               nu ? user : "-", (int)nm, msg ? msg : "");
}

static volatile sig_atomic_t stop_follow;

static void on_sigint(int s)
{
        (void)s;
        stop_follow = 1;
}

struct follow {
        struct devctl *dc;
        char category[16];
        char user[33];
};

static void on_live(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct follow *f = ud;
        const char *cat = strncmp(topic, "log.", 4) ? topic : topic + 4;
        char tbuf[40];
        size_t nu = 0, nm = 0, nl = 0;
        const char *user = mp_get_strn(data, "user", &nu), *msg = mp_get_strn(data, "msg", &nm),
                   *lvl = mp_get_strn(data, "level", &nl);

        if (f->category[0] && strcmp(cat, f->category))
                return;
        if (f->user[0] && (!user || nu != strlen(f->user) || memcmp(user, f->user, nu)))
                return;
        if (f->dc->json) {
                printf("{\"live\":true,\"ts\":%lld,\"category\":\"%s\",\"src\":\"%s\",\"data\":", (long long)ts, cat, src);
                devctl_print_json(stdout, data);
                printf("}\n");
        } else {
                ds_format_time(ts, tbuf, sizeof tbuf);
                printf("    live %s %-9s %-7.*s %-10s %-10.*s %.*s\n", tbuf, cat, (int)nl, lvl ? lvl : "", src,
                       (int)(nu ? nu : 1), nu ? user : "-", (int)nm, msg ? msg : "");
        }
        fflush(stdout);
}

static int c_query(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct follow fl = { .dc = dc };
        bool follow = false, rfc = false;
        struct bus_reply rep;
        const msgpack_object *rows;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *val = NULL;
                size_t k;
                char name[32];

                if (!strcmp(a, "--follow") || !strcmp(a, "-f")) {
                        follow = true;
                        continue;
                }
                if (!strcmp(a, "--json")) {
                        dc->json = true;
                        continue;
                }
                if (!strcmp(a, "--rfc5424")) {
                        rfc = true;
                        continue;
                }
                if (strncmp(a, "--", 2)) {
                        mpw_free(&w);
                        return usage(cmd);
                }
                snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
                for (k = 0; k < sizeof query_opts / sizeof *query_opts; k++)
                        if (!strcmp(name, query_opts[k].opt))
                                break;
                if (k == sizeof query_opts / sizeof *query_opts) {
                        fprintf(stderr, "devctl: log query: unknown option '%s'\n", a);
                        mpw_free(&w);
                        return usage(cmd);
                }
                val = strchr(a, '=') ? strchr(a, '=') + 1 : i + 1 < argc ? argv[++i] : NULL;
                if (!val) {
                        mpw_free(&w);
                        return usage(cmd);
                }
                mpw_str(&w, query_opts[k].arg);
                if (query_opts[k].is_int) {
                        char *end;
                        long long n = strtoll(val, &end, 10);
                        if (*end || !*val) {
                                fprintf(stderr, "devctl: log query: --%s needs a number\n", name);
                                mpw_free(&w);
                                return DC_EUSAGE;
                        }
                        mpw_int(&w, n);
                } else {
                        mpw_str(&w, val);
                }
                if (!strcmp(name, "category"))
                        snprintf(fl.category, sizeof fl.category, "%s", val);
                if (!strcmp(name, "user"))
                        snprintf(fl.user, sizeof fl.user, "%s", val);
        }
        if (rfc)
                mpw_kv_str(&w, "format", "rfc5424");
        mpw_map_end(&w);
        r = devctl_call(dc, "logd", "log.query", &w, true, NULL, &rep);
        mpw_free(&w);
        if (r != DC_OK)
                return r;
        rows = mp_get(rep.r, rfc ? "lines" : "records");
        /* newest first from the service; print oldest first, as a log reads */
        for (uint32_t i = rows && rows->type == MSGPACK_OBJECT_ARRAY ? rows->via.array.size : 0; i-- > 0;) {
                const msgpack_object *o = &rows->via.array.ptr[i];
                if (rfc)
                        printf("%.*s\n", (int)o->via.str.size, o->via.str.ptr);
                else if (dc->json) {
                        devctl_print_json(stdout, o);
                        fputc('\n', stdout);
                } else
                        print_rec_line(o);
        }
        if (!dc->json && !rfc && mp_get_int(rep.r, "next_cursor", 0))
                fprintf(stderr, "(more: --cursor %lld)\n", (long long)mp_get_int(rep.r, "next_cursor", 0));
        bus_reply_free(&rep);
        fflush(stdout);
        if (follow) {
                struct sigaction sa = { .sa_handler = on_sigint };
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                r = devctl_subscribe(dc, "log.", on_live, &fl);
                if (r != DC_OK)
                        return r;
                while (!stop_follow) {
                        r = devctl_wait_event(dc, 1000);
                        if (r == -EINTR)
                                break;
                        if (r > 0)
                                return r;
                }
        }
        return DC_OK;
}

static int read_key_file(const char *path, char *hex, size_t size)
{
        char buf[256];
        ssize_t n;
        size_t k = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
                return -errno;
        for (ssize_t i = 0; i < n && k < size - 1; i++)
                if (strchr("0123456789abcdefABCDEF", buf[i]) && buf[i])
                        hex[k++] = buf[i];
        hex[k] = '\0';
        explicit_bzero(buf, sizeof buf);
        return k == 64 ? 0 : -EINVAL;
}

static int c_verify(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *keyfile = NULL;
        struct bus_reply rep;
        char hex[80];
        struct mpw w;
        int r;
        bool ok;

        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--key") && i + 1 < argc)
                        keyfile = argv[++i];
                else if (!strncmp(argv[i], "--key=", 6))
                        keyfile = argv[i] + 6;
                else
                        return usage(cmd);
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        if (keyfile) {
                r = read_key_file(keyfile, hex, sizeof hex);
                if (r < 0) {
                        fprintf(stderr, "devctl: log verify: key file '%s': %s\n", keyfile,
                                r == -EINVAL ? "not 64 hex digits" : strerror(-r));
                        mpw_free(&w);
                        return DC_EUSAGE;
                }
                mpw_kv_str(&w, "key", hex);
                explicit_bzero(hex, sizeof hex);
        }
        mpw_map_end(&w);
        r = devctl_call(dc, "logd", "log.verify", &w, true, NULL, &rep);
        explicit_bzero(w.sb.data, w.sb.size);
        mpw_free(&w);
        if (r != DC_OK)
                return r;
        ok = mp_get_bool(rep.r, "ok", false);
        if (dc->json) {
                devctl_print_json(stdout, rep.r);
                fputc('\n', stdout);
        } else if (ok) {
                printf("OK up to record %lld (sealed to %lld, %lld unsealed), %lld records, %lld seals, seals %s\n",
                       (long long)mp_get_int(rep.r, "verified_to", 0), (long long)mp_get_int(rep.r, "sealed_to", 0),
                       (long long)mp_get_int(rep.r, "unsealed", 0), (long long)mp_get_int(rep.r, "records", 0),
                       (long long)mp_get_int(rep.r, "seals", 0),
                       mp_get_bool(rep.r, "seals_checked", false) ? "verified with the key" : "present (no key given)");
        } else {
                size_t n = 0, nr = 0;
                const char *d = mp_get_strn(rep.r, "detail", &n), *res = mp_get_strn(rep.r, "result", &nr);
                printf("FAILED (%.*s) after record %lld: %.*s\n", (int)nr, res ? res : "", (long long)mp_get_int(rep.r, "verified_to", 0),
                       (int)n, d ? d : "");
        }
        bus_reply_free(&rep);
        return ok ? DC_OK : DC_ESERVICE;
}

static int c_seal_init(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *out = NULL;
        struct bus_reply rep;
        char key[80];
        int r;

        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--out") && i + 1 < argc)
                        out = argv[++i];
                else
                        return usage(cmd);
        }
        r = devctl_call(dc, "logd", "log.seal.init", NULL, true, NULL, &rep);
        if (r != DC_OK)
                return r;
        if (mp_strcpy(mp_get(rep.r, "key"), key, sizeof key) < 0) {
                bus_reply_free(&rep);
                fprintf(stderr, "devctl: logd: no key in the answer\n");
                return DC_ESERVICE;
        }
        bus_reply_free(&rep);
        if (out) {
                int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0 || dprintf(fd, "%s\n", key) < 0 || close(fd) < 0) {
                        /* the key exists only here now: print it rather than lose it */
                        fprintf(stderr, "devctl: cannot write '%s': %s; the key follows, keep it safe\n", out,
                                strerror(errno));
                        printf("%s\n", key);
                        explicit_bzero(key, sizeof key);
                        return DC_ESERVICE;
                }
                fprintf(stderr, "initial seal key written to '%s': keep it off the device\n", out);
        } else {
                printf("%s\n", key);
        }
        explicit_bzero(key, sizeof key);
        return DC_OK;
}

static int abs_path(const char *in, char *out, size_t size)
{
        char cwd[PATH_MAX];

        if (in[0] == '/')
                return snprintf(out, size, "%s", in) < (int)size ? 0 : -ENAMETOOLONG;
        if (!getcwd(cwd, sizeof cwd))
                return -errno;
        return snprintf(out, size, "%s/%s", cwd, in) < (int)size ? 0 : -ENAMETOOLONG;
}

static const struct {
        const char *opt, *arg;
        bool path;
} remote_opts[] = {
        { "ca", "ca", true },
        { "name", "name", false },
        { "pin", "pin", false },
        { "client-cert", "client_cert", true },
        { "client-key", "client_key", true },
};

static int c_remote_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *target = NULL;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                size_t k;
                char name[32], val[PATH_MAX + 1];

                if (strncmp(a, "--", 2)) {
                        if (target) {
                                mpw_free(&w);
                                return usage(cmd);
                        }
                        target = a;
                        continue;
                }
                if (!strcmp(a, "--insecure")) {
                        mpw_kv_bool(&w, "insecure", true);
                        continue;
                }
                snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
                for (k = 0; k < sizeof remote_opts / sizeof *remote_opts; k++)
                        if (!strcmp(name, remote_opts[k].opt))
                                break;
                if (k == sizeof remote_opts / sizeof *remote_opts || (!strchr(a, '=') && i + 1 >= argc)) {
                        mpw_free(&w);
                        return usage(cmd);
                }
                snprintf(val, sizeof val, "%s", strchr(a, '=') ? strchr(a, '=') + 1 : argv[++i]);
                if (remote_opts[k].path) {
                        char p[PATH_MAX + 1];
                        if (abs_path(val, p, sizeof p) < 0) {
                                mpw_free(&w);
                                return usage(cmd);
                        }
                        snprintf(val, sizeof val, "%s", p);
                }
                if (!strcmp(name, "pin")) {
                        /* accept openssl's AA:BB:... fingerprint form */
                        size_t o = 0;
                        for (char *p = val; *p; p++)
                                if (*p != ':')
                                        val[o++] = *p;
                        val[o] = '\0';
                }
                mpw_kv_str(&w, remote_opts[k].arg, val);
        }
        if (!target) {
                mpw_free(&w);
                return usage(cmd);
        }
        mpw_kv_str(&w, "target", target);
        mpw_map_end(&w);
        r = devctl_call(dc, "logd", "log.remote.set", &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static const struct devctl_cmd log_cmds[] = {
        { .path = "log query", .svc = "logd", .method = "log.query", .fn = c_query,
          .usage = "[--category C] [--since 1h] [--until T] [--user U] [--service S] [--level L] [--text T] "
                   "[--limit N] [--cursor SEQ] [--follow] [--json|--rfc5424]",
          .help = "query the security log (oldest first; --follow streams new records)" },
        { .path = "log verify", .svc = "logd", .method = "log.verify", .fn = c_verify, .usage = "[--key FILE]",
          .help = "check checksums, hash chain and seals; exits 1 naming the first break" },
        { .path = "log seal init", .svc = "logd", .method = "log.seal.init", .fn = c_seal_init, .usage = "[--out FILE]",
          .help = "export the initial seal key, once (keep it off the device)" },
        { .path = "log status", .svc = "logd", .method = "log.status", .usage = "",
          .help = "store size, seals, queue, dropped records, forwarding state" },
        { .path = "log remote show", .svc = "logd", .method = "log.remote.show", .usage = "",
          .help = "remote syslog target and connection state" },
        { .path = "log remote set", .svc = "logd", .method = "log.remote.set", .fn = c_remote_set,
          .usage = "HOST:PORT --ca FILE [--name N] [--pin SHA256] [--client-cert F --client-key F] [--insecure]",
          .help = "forward to a syslog server over TLS (RFC 5425)" },
        { .path = "log remote disable", .svc = "logd", .method = "log.remote.disable", .usage = "",
          .help = "stop forwarding" },
        { NULL },
};
DEVCTL_COMMANDS(log_cmds);
