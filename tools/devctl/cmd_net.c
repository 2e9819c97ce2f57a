/* cmd_net.c - devctl port, function, https and snmp (netcfgd) */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devctl.h"
#include "util.h"

/* Calls and prints rows of list_key with the given columns (all of it with --json). */
static int call_table(struct devctl *dc, const struct devctl_cmd *cmd, const struct mpw *args,
                      const char *const *cols)
{
        struct bus_reply rep;
        int r = devctl_call(dc, cmd->svc, cmd->method, args, true, NULL, &rep);

        if (r != DC_OK)
                return r;
        if (dc->json) {
                devctl_print_json(stdout, rep.r);
                fputc('\n', stdout);
        } else {
                devctl_print_table(stdout, mp_get(rep.r, cmd->list_key), cols);
                for (uint32_t i = 0; rep.r && i < rep.r->via.map.size; i++) {
                        const msgpack_object *k = &rep.r->via.map.ptr[i].key;
                        if (mp_streq(k, cmd->list_key))
                                continue;
                        printf("%.*s: ", (int)k->via.str.size, k->via.str.ptr);
                        devctl_print_value(stdout, &rep.r->via.map.ptr[i].val);
                        fputc('\n', stdout);
                }
        }
        bus_reply_free(&rep);
        return DC_OK;
}

static int c_port_show(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "name", "proto", "port", "default", "range", "title", NULL };

        (void)argv;
        if (argc)
                return devctl_usage(cmd);
        return call_table(dc, cmd, NULL, cols);
}

static int c_port_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "name", "proto", "port", "default", "range", "title", NULL };
        struct mpw w;
        int r;

        if (argc < 1)
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        r = devctl_parse_kv(&w, argc, argv);
        mpw_map_end(&w);
        if (r == DC_OK)
                r = call_table(dc, cmd, &w, cols);
        mpw_free(&w);
        return r;
}

static int c_function_list(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const cols[] = { "name", "enabled", "factory_default", "kind", "backend", "off_level",
                                            "title", "state", NULL };

        (void)argv;
        if (argc)
                return devctl_usage(cmd);
        return call_table(dc, cmd, NULL, cols);
}

static int c_https_toggle(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r;

        (void)argv;
        if (argc)
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "enabled", !strcmp(cmd->path, "https enable"));
        mpw_map_end(&w);
        r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_free(&w);
        return r;
}

static int c_export_root(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct bus_reply rep;
        const char *pem;
        size_t len = 0;
        FILE *f;
        int r;

        if (argc != 1)
                return devctl_usage(cmd);
        r = devctl_call(dc, cmd->svc, cmd->method, NULL, true, NULL, &rep);
        if (r != DC_OK)
                return r;
        pem = mp_get_strn(rep.r, "pem", &len);
        f = !pem ? NULL : strcmp(argv[0], "-") ? fopen(argv[0], "w") : stdout;
        if (!f || fwrite(pem, 1, len, f) != len || (f != stdout && fclose(f) != 0)) {
                fprintf(stderr, "devctl: cannot write '%s': %s\n", argv[0], pem ? strerror(errno) : "no PEM in the answer");
                r = DC_ESERVICE;
        } else if (f != stdout && !dc->json) {
                printf("device CA written to %s\n", argv[0]);
        }
        bus_reply_free(&rep);
        return r;
}

/* Reads a whole PEM file (caller frees; wipes with len for keys). */
static char *read_file(const char *path, size_t max, size_t *ret_len)
{
        FILE *f = fopen(path, "r");
        char *buf;
        size_t n;

        if (!f)
                return NULL;
        buf = malloc(max + 1);
        n = buf ? fread(buf, 1, max + 1, f) : 0;
        fclose(f);
        if (!buf || n > max) {
                free(buf);
                errno = EFBIG;
                return NULL;
        }
        buf[n] = '\0';
        *ret_len = n;
        return buf;
}

static int c_cert_import(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        static const char *const keys[] = { "cert", "key", "chain" };
        char *data[3] = { NULL, NULL, NULL };
        size_t len[3] = { 0, 0, 0 };
        struct mpw w;
        int r = DC_OK;

        if (argc < 2 || argc > 3)
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                data[i] = read_file(argv[i], 64 * 1024, &len[i]);
                if (!data[i]) {
                        fprintf(stderr, "devctl: cannot read '%s': %s\n", argv[i], strerror(errno));
                        r = DC_EUSAGE;
                        break;
                }
                mpw_kv_str(&w, keys[i], data[i]);
        }
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        for (int i = 0; i < 3; i++) {
                if (data[i])
                        sodium_memzero(data[i], len[i]);
                free(data[i]);
        }
        mpw_wipe(&w);
        return r;
}

/* snmp set: passphrases never on the command line: KEY=- reads them from the
 * terminal (or one line each from stdin, in the order given). */
static bool is_secret_key(const char *k, size_t n)
{
        return (n > 5 && !memcmp(k + n - 5, "_pass", 5)) || (n == 9 && !memcmp(k, "community", 9));
}

static int c_snmp_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct mpw w;
        int r = DC_OK;

        if (argc < 1)
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc && r == DC_OK; i++) {
                char *eq = strchr(argv[i], '=');
                size_t kl;

                if (!eq || eq == argv[i]) {
                        r = devctl_usage(cmd);
                        break;
                }
                kl = (size_t)(eq - argv[i]);
                if (!is_secret_key(argv[i], kl)) {
                        r = devctl_parse_kv(&w, 1, &argv[i]);
                        continue;
                }
                if (strcmp(eq + 1, "-")) {
                        fprintf(stderr, "devctl: %.*s: give passphrases as %.*s=- and type them (or pipe them on stdin)\n",
                                (int)kl, argv[i], (int)kl, argv[i]);
                        r = DC_EUSAGE;
                        break;
                }
                {
                        char prompt[64], *s;
                        snprintf(prompt, sizeof prompt, "%.*s", (int)kl, argv[i]);
                        s = devctl_read_secret(prompt, true, !isatty(STDIN_FILENO));
                        if (!s) {
                                r = DC_EUSAGE;
                                break;
                        }
                        mpw_strn(&w, argv[i], kl);
                        mpw_str(&w, s);
                        ds_free_secret(s);
                }
        }
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, cmd->svc, cmd->method, &w, true, NULL, NULL);
        mpw_wipe(&w);
        return r;
}

static const struct devctl_cmd net_cmds[] = {
        { .path = "port show", .svc = "netcfgd", .method = "port.show", .fn = c_port_show, .list_key = "ports",
          .usage = "", .help = "service ports, ranges and max connections" },
        { .path = "port set", .svc = "netcfgd", .method = "port.set", .fn = c_port_set, .list_key = "ports",
          .usage = "NAME=PORT... [max_connections=N]", .help = "change service ports (conflicts are refused)" },
        { .path = "function list", .svc = "netcfgd", .method = "function.list", .fn = c_function_list,
          .list_key = "functions", .usage = "", .help = "the function table and each function's state" },
        { .path = "function enable", .svc = "netcfgd", .method = "function.enable",
          .pos = (const char *const[]){ "name", NULL }, .min_pos = 1, .usage = "NAME", .help = "turn a function on" },
        { .path = "function disable", .svc = "netcfgd", .method = "function.disable",
          .pos = (const char *const[]){ "name", NULL }, .min_pos = 1, .usage = "NAME",
          .help = "turn a function off (stops what stands behind it; it stays off across reboots)" },
        { .path = "https show", .svc = "netcfgd", .method = "https.show", .usage = "",
          .help = "HTTPS state and the server certificate" },
        { .path = "https enable", .svc = "netcfgd", .method = "https.set", .fn = c_https_toggle, .usage = "",
          .help = "turn HTTPS on" },
        { .path = "https disable", .svc = "netcfgd", .method = "https.set", .fn = c_https_toggle, .usage = "",
          .help = "turn HTTPS off" },
        { .path = "https set", .svc = "netcfgd", .method = "https.set", .usage = "[redirect=BOOL] [tls_min=1.2|1.3]",
          .help = "HTTPS options" },
        { .path = "https cert create", .svc = "netcfgd", .method = "cert.create",
          .usage = "[cn=NAME] [days=N] [dns=[\"a\",...]] [ip=[\"1.2.3.4\",...]] [new_ca=true]",
          .help = "issue a server certificate from the device CA (EC P-256)" },
        { .path = "https cert show", .svc = "netcfgd", .method = "cert.show", .usage = "",
          .help = "the server and CA certificates" },
        { .path = "https cert export-root", .svc = "netcfgd", .method = "cert.export_root", .fn = c_export_root,
          .usage = "FILE|-", .help = "write the device CA (PEM) for a trust store" },
        { .path = "https cert import", .svc = "netcfgd", .method = "cert.import", .fn = c_cert_import,
          .usage = "CERT KEY [CHAIN]", .help = "install an externally signed certificate and its key" },
        { .path = "snmp show", .svc = "netcfgd", .method = "snmp.show", .usage = "", .help = "SNMP settings" },
        { .path = "snmp set", .svc = "netcfgd", .method = "snmp.set", .fn = c_snmp_set,
          .usage = "KEY=VALUE... (passphrases: KEY=-, read from the terminal or stdin)",
          .help = "SNMPv3 users, addresses and system texts" },
        { NULL },
};
DEVCTL_COMMANDS(net_cmds);
