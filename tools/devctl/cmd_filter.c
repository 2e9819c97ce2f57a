/* cmd_filter.c - devctl filter: IP/MAC allow/deny list, apply with confirm, bans (filterd) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"

/* Entries from a file: one a line, '#' starts a comment. */
static int read_entries_file(const char *path, struct mpw *w, unsigned *n)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
        char *line = NULL;
        size_t cap = 0;

        if (!f) {
                fprintf(stderr, "devctl: cannot open '%s': %s\n", path, strerror(errno));
                return DC_EUSAGE;
        }
        while (getline(&line, &cap, f) >= 0) {
                char *p = line, *e;

                p[strcspn(p, "#\r\n")] = '\0';
                p += strspn(p, " \t");
                for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
                        ;
                *e = '\0';
                if (*p) {
                        mpw_str(w, p);
                        (*n)++;
                }
        }
        free(line);
        if (f != stdin)
                fclose(f);
        return DC_OK;
}

/* filter add|del ENTRY... [--from-file FILE] [--force] */
static int c_entries(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool force = false;
        unsigned n = 0;
        struct mpw w;
        int r = DC_OK;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "entries");
        mpw_arr_begin(&w);
        for (int i = 0; i < argc && r == DC_OK; i++) {
                if (!strcmp(argv[i], "--force"))
                        force = true;
                else if (!strcmp(argv[i], "--from-file") && i + 1 < argc)
                        r = read_entries_file(argv[++i], &w, &n);
                else if (!strncmp(argv[i], "--", 2))
                        r = devctl_usage(cmd);
                else {
                        mpw_str(&w, argv[i]);
                        n++;
                }
        }
        mpw_arr_end(&w);
        if (force && !strcmp(cmd->method, "filter.del"))
                mpw_kv_bool(&w, "force", true);
        else if (force)
                r = devctl_usage(cmd);
        mpw_map_end(&w);
        if (r == DC_OK && n == 0)
                r = devctl_usage(cmd);
        if (r == DC_OK)
                r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

/* filter apply [--confirm-within S] [--force] */
static int c_apply(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r = DC_OK;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc && r == DC_OK; i++) {
                const char *v = NULL;
                char *end;
                long s;

                if (!strcmp(argv[i], "--force")) {
                        mpw_kv_bool(&w, "force", true);
                        continue;
                }
                if (!strcmp(argv[i], "--confirm-within") && i + 1 < argc)
                        v = argv[++i];
                else if (!strncmp(argv[i], "--confirm-within=", 17))
                        v = argv[i] + 17;
                if (!v) {
                        r = devctl_usage(cmd);
                        break;
                }
                errno = 0;
                s = strtol(v, &end, 10);
                if (!*v || *end || errno || s < 1) {
                        fprintf(stderr, "devctl: --confirm-within: '%s' is not a number of seconds\n", v);
                        r = DC_EUSAGE;
                        break;
                }
                mpw_kv_int(&w, "confirm_within", s);
        }
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

/* filter ban add IP SECONDS */
static int c_ban_add(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        char *end;
        long s;
        int r;

        if (argc != 2)
                return devctl_usage(cmd);
        errno = 0;
        s = strtol(argv[1], &end, 10);
        if (!argv[1][0] || *end || errno) {
                fprintf(stderr, "devctl: SECONDS: '%s' is not a number\n", argv[1]);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "ip", argv[0]);
        mpw_kv_int(&w, "seconds", s);
        mpw_map_end(&w);
        r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

/* filter ruleset: the nftables text, as loaded (or rendered with --dry-run) */
static int c_ruleset(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct bus_reply rep;
        const msgpack_object *t;
        int r;

        (void)argv;
        if (argc)
                return devctl_usage(cmd);
        r = devctl_call(dc, cmd->svc, cmd->method, NULL, true, NULL, dc->json ? NULL : &rep);
        if (r != DC_OK || dc->json)
                return r;
        t = mp_get(rep.r, "text");
        if (mp_is_str(t))
                fwrite(t->via.str.ptr, 1, t->via.str.size, stdout);
        bus_reply_free(&rep);
        return DC_OK;
}

static const struct devctl_cmd filter_cmds[] = {
        { .path = "filter show", .svc = "filterd", .method = "filter.show",
          .usage = "[--brief] [offset=N] [limit=N]",
          .help = "filter mode, entries, staged changes, service ports" },
        { .path = "filter status", .svc = "filterd", .method = "filter.status", .usage = "",
          .help = "enforcement state and dropped packets per set" },
        { .path = "filter ruleset", .svc = "filterd", .method = "filter.ruleset", .fn = c_ruleset, .usage = "",
          .help = "the nftables ruleset filterd loaded (or rendered)" },
        { .path = "filter mode", .svc = "filterd", .method = "filter.mode", .pos = (const char *const[]){ "mode", NULL },
          .min_pos = 1, .usage = "off|allow|deny [--force]", .help = "stage the filter mode" },
        { .path = "filter add", .svc = "filterd", .method = "filter.add", .fn = c_entries,
          .usage = "ENTRY... [--from-file FILE]", .help = "stage entries: IP, CIDR, range a-b, MAC" },
        { .path = "filter del", .svc = "filterd", .method = "filter.del", .fn = c_entries,
          .usage = "ENTRY... [--from-file FILE] [--force]", .help = "stage removal of entries" },
        { .path = "filter apply", .svc = "filterd", .method = "filter.apply", .fn = c_apply,
          .usage = "[--confirm-within S] [--force]", .help = "load the staged filter into the kernel" },
        { .path = "filter confirm", .svc = "filterd", .method = "filter.confirm", .usage = "",
          .help = "keep an apply made with --confirm-within" },
        { .path = "filter discard", .svc = "filterd", .method = "filter.discard", .usage = "",
          .help = "drop staged changes" },
        { .path = "filter check", .svc = "filterd", .method = "filter.check",
          .pos = (const char *const[]){ "ip", NULL }, .usage = "[IP] [mac=MAC]",
          .help = "the filter's decision for a source" },
        { .path = "filter ban list", .svc = "filterd", .method = "ban.list", .list_key = "bans", .usage = "",
          .help = "temporary bans" },
        { .path = "filter ban add", .svc = "filterd", .method = "ban.add", .fn = c_ban_add, .usage = "IP SECONDS",
          .help = "ban an address for a while" },
        { .path = "filter ban del", .svc = "filterd", .method = "ban.del", .pos = (const char *const[]){ "ip", NULL },
          .min_pos = 1, .usage = "IP", .help = "lift a ban" },
        { NULL },
};
DEVCTL_COMMANDS(filter_cmds);
