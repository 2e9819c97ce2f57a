/* cmd_core.c - devctl status, call, listen, login/logout/whoami, harden, config */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "json.h"
#include "util.h"

static int c_status(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "name", "state", "version", "pid", "uptime_s", NULL };
        struct bus_reply rep;
        int r;

        (void)cmd;
        (void)argv;
        if (argc > 0) {
                return devctl_usage(cmd);
        }
        r = devctl_call(dc, "bus", "bus.services", NULL, false, NULL, &rep);
        if (r != DC_OK)
                return r;
        if (dc->json) {
                devctl_print_json(stdout, mp_get(rep.r, "services"));
                fputc('\n', stdout);
        } else {
                devctl_print_table(stdout, mp_get(rep.r, "services"), cols);
        }
        bus_reply_free(&rep);
        return DC_OK;
}

static int c_call(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct devctl_cmd gen = { .path = "call", .usage = cmd->usage };
        bool noauth = false;
        int n = 0;
        char *rest[argc + 1];

        if (argc < 2) {
                return devctl_usage(cmd);
        }
        gen.svc = argv[0];
        gen.method = argv[1];
        for (int i = 2; i < argc; i++) {
                if (!strcmp(argv[i], "--no-auth"))
                        noauth = true;
                else
                        rest[n++] = argv[i];
        }
        rest[n] = NULL;
        if (noauth)
                gen.flags |= DC_NOAUTH;
        /* reuse the generic path: key=value words and --args-json */
        return devctl_run_generic(dc, &gen, n, rest);
}

static volatile sig_atomic_t stop_listen;

static void on_sigint(int s)
{
        (void)s;
        stop_listen = 1;
}

static int64_t listen_left = -1; /* events still to print; -1: no limit */

static void print_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct devctl *dc = ud;
        char tbuf[40];

        if (listen_left == 0)
                return;
        if (listen_left > 0)
                listen_left--;

        if (dc->json) {
                printf("{\"ts\":%lld,\"topic\":\"%s\",\"src\":\"%s\",\"data\":", (long long)ts, topic, src);
                devctl_print_json(stdout, data);
                printf("}\n");
        } else {
                ds_format_time(ts, tbuf, sizeof tbuf);
                printf("%s %-28s %-14s ", tbuf, topic, src);
                devctl_print_json(stdout, data);
                fputc('\n', stdout);
        }
        fflush(stdout);
}

static int c_listen(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *prefix = "";
        struct sigaction sa = { .sa_handler = on_sigint };
        bool ready = false;
        int r;

        for (int i = 0; i < argc; i++) {
                if (!strncmp(argv[i], "--count=", 8))
                        listen_left = atoll(argv[i] + 8);
                else if (!strcmp(argv[i], "--ready"))
                        ready = true;
                else if (argv[i][0] != '-')
                        prefix = argv[i];
                else
                        return devctl_usage(cmd);
        }
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        r = devctl_subscribe(dc, prefix, print_event, dc);
        if (r != DC_OK)
                return r;
        if (ready) /* busd has accepted the subscription: nothing published from now on is missed */
                fprintf(stderr, "listening: '%s'\n", prefix);
        while (!stop_listen && listen_left != 0) {
                r = devctl_wait_event(dc, 1000);
                if (r == -EINTR)
                        break;
                if (r > 0)
                        return r;
        }
        return DC_OK;
}

static int c_login(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *user = NULL;
        bool from_stdin = false;
        struct bus_reply rep;
        char *pw, tok[BUS_TOKEN_MAX + 1], u[64];
        struct mpw w;
        int r;

        for (int i = 0; i < argc; i++) {
                if ((!strcmp(argv[i], "-u") || !strcmp(argv[i], "--user")) && i + 1 < argc)
                        user = argv[++i];
                else if (!strcmp(argv[i], "--password-stdin"))
                        from_stdin = true;
                else {
                        return devctl_usage(cmd);
                }
        }
        if (!user) {
                if (from_stdin || !isatty(STDIN_FILENO)) {
                        fprintf(stderr, "devctl: login: give the user with -u USER\n");
                        return DC_EUSAGE;
                }
                fprintf(stderr, "User: ");
                if (!fgets(u, sizeof u, stdin))
                        return DC_EUSAGE;
                u[strcspn(u, "\r\n")] = '\0';
                user = u;
        }
        /* a token that cannot be kept safely is not worth a password */
        if (!getenv("DEVSEC_TOKEN") && devctl_token_check(dc) < 0)
                return DC_ESERVICE;
        pw = devctl_read_secret("Password", false, from_stdin);
        if (!pw)
                return DC_EUSAGE;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_kv_str(&w, "password", pw);
        mpw_kv_str(&w, "source", "local");
        mpw_map_end(&w);
        ds_free_secret(pw);
        r = devctl_call(dc, "authd", "session.login", &w, false, NULL, &rep);
        mpw_wipe(&w);
        if (r != DC_OK)
                return r;
        if (mp_strcpy(mp_get(rep.r, "token"), tok, sizeof tok) < 0) {
                fprintf(stderr, "devctl: authd: no token in the answer\n");
                bus_reply_free(&rep);
                return DC_ESERVICE;
        }
        r = devctl_token_save(dc, tok);
        sodium_memzero(tok, sizeof tok);
        if (r < 0) {
                if (r != -EPERM && r != -ELOOP && r != -ENOTDIR)
                        fprintf(stderr, "devctl: cannot save the session token in '%s': %s\n", dc->token_path,
                                strerror(-r));
                bus_reply_free(&rep);
                return DC_ESERVICE;
        }
        if (!dc->json) {
                char g[64] = "";
                mp_strcpy(mp_get(rep.r, "group"), g, sizeof g);
                printf("logged in as %s (%s)\n", user, g);
        } else {
                printf("{\"user\":\"%s\",\"logged_in\":true}\n", user);
        }
        bus_reply_free(&rep);
        return DC_OK;
}

static int c_logout(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        int r = DC_OK;

        (void)cmd;
        (void)argc;
        (void)argv;
        if (dc->token) {
                struct bus_reply rep;
                r = devctl_call(dc, "authd", "session.logout", NULL, true, NULL, &rep);
                if (r == DC_OK)
                        bus_reply_free(&rep);
        }
        devctl_token_clear(dc);
        if (r == DC_OK && !dc->json)
                printf("logged out\n");
        return r == DC_EAUTH ? DC_OK : r; /* an expired session is logged out already */
}

/* ---- harden across every running service ------------------------------- */

static int parse_level(int argc, char **argv, int *level, bool *dry)
{
        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--level") && i + 1 < argc)
                        *level = atoi(argv[++i]);
                else if (!strncmp(argv[i], "--level=", 8))
                        *level = atoi(argv[i] + 8);
                else if (dry && !strcmp(argv[i], "--dry-run"))
                        *dry = true;
                else
                        return -1;
        }
        return *level >= 1 && *level <= 3 ? 0 : -1;
}

/* What one pass over the services adds up. */
struct sweep {
        int level;
        bool dry;
        int applied, manual, failed; /* audit.harden totals */
        int worst;                   /* exit code of the worst refusal */
};

/* Calls audit.harden on every running service and gathers their items into
 * one array of rows, each prefixed with its service (the audit itself is
 * cmd_audit.c's, through the bus library's sweep). */
static int sweep_services(struct devctl *dc, struct sweep *sw, struct mpw *rows)
{
        const msgpack_object *list;
        struct bus_reply svcs;
        int r;

        r = devctl_call(dc, "bus", "bus.services", NULL, false, NULL, &svcs);
        if (r != DC_OK)
                return r;
        list = mp_get(svcs.r, "services");
        mpw_arr_begin(rows);
        for (uint32_t i = 0; list && i < list->via.array.size; i++) {
                const msgpack_object *s = &list->via.array.ptr[i], *items;
                struct bus_reply rep;
                char name[64];
                struct mpw a;

                if (mp_strcpy(mp_get(s, "name"), name, sizeof name) < 0 || !strcmp(name, "busd"))
                        continue;
                if (!mp_streq(mp_get(s, "state"), "running"))
                        continue;
                mpw_init(&a);
                mpw_map_begin(&a);
                mpw_kv_int(&a, "level", sw->level);
                mpw_kv_bool(&a, "dry_run", sw->dry);
                mpw_map_end(&a);
                r = devctl_call(dc, name, "audit.harden", &a, true, NULL, &rep);
                mpw_free(&a);
                if (r != DC_OK) {
                        if (r > sw->worst)
                                sw->worst = r;
                        continue;
                }
                sw->applied += (int)mp_get_int(rep.r, "applied", 0);
                sw->manual += (int)mp_get_int(rep.r, "manual", 0);
                sw->failed += (int)mp_get_int(rep.r, "failed", 0);
                items = mp_get(rep.r, "items");
                for (uint32_t k = 0; items && k < items->via.array.size; k++) {
                        const msgpack_object *it = &items->via.array.ptr[k];
                        mpw_map_begin(rows);
                        mpw_kv_str(rows, "service", name);
                        for (uint32_t f = 0; f < it->via.map.size; f++) {
                                mpw_obj(rows, &it->via.map.ptr[f].key);
                                mpw_obj(rows, &it->via.map.ptr[f].val);
                        }
                        mpw_map_end(rows);
                }
                bus_reply_free(&rep);
        }
        mpw_arr_end(rows);
        bus_reply_free(&svcs);
        return DC_OK;
}

static int c_harden(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "service", "id", "action", "title", "detail", NULL };
        struct sweep sw = { .level = 0 };
        struct mpw rows;
        msgpack_unpacked u;
        const char *why;
        int r;

        if (parse_level(argc, argv, &sw.level, &sw.dry) < 0) {
                return devctl_usage(cmd);
        }
        mpw_init(&rows);
        r = sweep_services(dc, &sw, &rows);
        if (r == DC_OK && mp_decode(mpw_data(&rows), mpw_len(&rows), NULL, &u, &why) == 0) {
                if (dc->json) {
                        printf("{\"level\":%d,\"dry_run\":%s,\"applied\":%d,\"manual\":%d,\"failed\":%d,\"items\":", sw.level,
                               sw.dry ? "true" : "false", sw.applied, sw.manual, sw.failed);
                        devctl_print_json(stdout, &u.data);
                        printf("}\n");
                } else {
                        devctl_print_table(stdout, &u.data, cols);
                        printf("\nlevel %d%s: %d %s, %d need an operator, %d failed\n", sw.level,
                               sw.dry ? " (dry run)" : "", sw.applied, sw.dry ? "would be applied" : "applied", sw.manual,
                               sw.failed);
                }
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&rows);
        if (r != DC_OK)
                return r;
        if (sw.worst != DC_OK)
                return sw.worst;
        return sw.failed ? DC_ESERVICE : DC_OK;
}

/* ---- config --------------------------------------------------------------------- */

static int c_config_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r;

        if (argc < 2) {
                return devctl_usage(cmd);
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "settings");
        mpw_map_begin(&w);
        r = devctl_parse_kv(&w, argc - 1, argv + 1);
        mpw_map_end(&w);
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, argv[0], "config.set", &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static int c_config_simple(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        if (argc != 1) {
                return devctl_usage(cmd);
        }
        return devctl_call(dc, argv[0], cmd->method, NULL, true, NULL, NULL);
}

static int c_config_export(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct bus_reply rep;
        int r;

        if (argc != 1) {
                return devctl_usage(cmd);
        }
        r = devctl_call(dc, argv[0], "config.export", NULL, true, NULL, &rep);
        if (r != DC_OK)
                return r;
        devctl_print_json(stdout, rep.r); /* always JSON: it is meant to be imported back */
        fputc('\n', stdout);
        bus_reply_free(&rep);
        return DC_OK;
}

static int c_config_import(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        char *buf = NULL, err[128];
        size_t cap = 0, len = 0;
        FILE *f;
        struct mpw w;
        int r;

        if (argc != 2) {
                return devctl_usage(cmd);
        }
        f = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
        if (!f) {
                fprintf(stderr, "devctl: cannot open '%s': %s\n", argv[1], strerror(errno));
                return DC_EUSAGE;
        }
        for (;;) {
                if (len + 4096 > cap) {
                        char *n = realloc(buf, cap = cap ? cap * 2 : 8192);
                        if (!n)
                                break;
                        buf = n;
                }
                size_t got = fread(buf + len, 1, cap - len - 1, f);
                len += got;
                if (got == 0 || len > DS_JSON_MAX_SIZE)
                        break;
        }
        if (f != stdin)
                fclose(f);
        if (!buf)
                return DC_ESERVICE;
        buf[len] = '\0';
        mpw_init(&w);
        if (len > DS_JSON_MAX_SIZE) {
                fprintf(stderr, "devctl: '%s': larger than %u bytes, more than the bus carries\n", argv[1],
                        DS_JSON_MAX_SIZE);
                r = DC_EUSAGE;
        } else if (devctl_json_to_mp(buf, &w, err, sizeof err) < 0) {
                fprintf(stderr, "devctl: '%s': not a configuration export: %s\n", argv[1], err);
                r = DC_EUSAGE;
        } else {
                r = devctl_call(dc, argv[0], "config.import", &w, true, NULL, NULL);
        }
        sodium_memzero(buf, len);
        free(buf);
        mpw_free(&w);
        return r;
}

static const struct devctl_cmd core_cmds[] = {
        { .path = "status", .fn = c_status, .usage = "", .help = "every service: state, version, pid, uptime" },
        { .path = "call", .fn = c_call, .usage = "SERVICE METHOD [key=value...] [--args-json JSON] [--no-auth]",
          .help = "call any bus method" },
        { .path = "listen", .fn = c_listen, .usage = "[TOPIC_PREFIX] [--count=N] [--ready]", .help = "print events as they arrive" },
        { .path = "ping", .svc = "bus", .method = "sys.ping", .pos = (const char *const[]){ NULL },
          .usage = "", .help = "is the bus up?", .flags = DC_NOAUTH },
        { .path = "login", .fn = c_login, .usage = "[-u USER] [--password-stdin]", .help = "open a session" },
        { .path = "logout", .fn = c_logout, .usage = "", .help = "close the session" },
        { .path = "whoami", .svc = "authd", .method = "session.whoami", .usage = "",
          .help = "the session's user, group and authorities" },
        { .path = "harden", .fn = c_harden, .usage = "--level N [--dry-run]", .help = "apply a protection level" },
        { .path = "config get", .method = "config.get", .fn = c_config_simple, .usage = "SERVICE",
          .help = "a service's settings" },
        { .path = "config set", .fn = c_config_set, .usage = "SERVICE key=value...", .help = "change settings" },
        { .path = "config reset", .method = "config.reset", .fn = c_config_simple, .usage = "SERVICE",
          .help = "restore factory defaults" },
        { .path = "config export", .fn = c_config_export, .usage = "SERVICE", .help = "settings and state as JSON" },
        { .path = "config import", .fn = c_config_import, .usage = "SERVICE FILE|-", .help = "restore an export" },
        { .path = "bus stats", .svc = "bus", .method = "bus.stats", .usage = "", .help = "broker counters",
          .flags = DC_NOAUTH },
        { NULL },
};
DEVCTL_COMMANDS(core_cmds);
