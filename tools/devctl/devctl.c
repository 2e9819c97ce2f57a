/* devctl.c - global options, command lookup, generic calls, exit codes (the session token: token.c) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "devctl.h"
#include "log.h"
#include "state.h"
#include "util.h"

extern const struct devctl_cmd *const __start_devctl_cmds[];
extern const struct devctl_cmd *const __stop_devctl_cmds[];

static void usage_all(FILE *f)
{
        fprintf(f, "usage: devctl [--json] [--rundir DIR] [--confdir DIR] [--timeout MS] COMMAND [ARGS...]\n\n"
                   "commands:\n");
        for (const struct devctl_cmd *const *t = __start_devctl_cmds; t < __stop_devctl_cmds; t++)
                for (const struct devctl_cmd *c = *t; c->path; c++)
                        fprintf(f, "  %-28s %s\n", c->path, c->help ? c->help : "");
        fprintf(f, "\nexit codes: 0 ok, 1 service error, 2 usage, 3 not authenticated/permitted,\n"
                   "            4 unavailable/disabled/timed out.  See devctl(1).\n");
}

int devctl_exit_code(int code)
{
        switch (code) {
        case 0: return DC_OK;
        case -DS_EAUTH:
        case -EPERM:
        case -EACCES:
        case -DS_ELOCKED: return DC_EAUTH;
        case -DS_EUNAVAIL:
        case -DS_EDISABLED:
        case -ETIMEDOUT:
        case -EINTR: return DC_EUNAVAIL;
        default: return DC_ESERVICE;
        }
}

void devctl_print_error(const char *svc, const struct bus_reply *rep)
{
        fprintf(stderr, "devctl: %s: %s: ", svc, ds_err_name(rep->code));
        if (rep->err.field[0])
                fprintf(stderr, "%s: ", rep->err.field);
        fprintf(stderr, "%s", rep->err.msg[0] ? rep->err.msg : ds_err_default_msg(rep->code));
        if (rep->err.reason[0])
                fprintf(stderr, " (reason: %s)", rep->err.reason);
        fputc('\n', stderr);
}

bus_t *devctl_bus(struct devctl *dc)
{
        int r;

        if (dc->bus)
                return dc->bus;
        {
                /* no socket, no bus: say so now rather than after the timeout */
                char *ep = ds_paths_bus_endpoint(&dc->paths);
                bool absent = ep && !strncmp(ep, "ipc://", 6) && access(ep + 6, F_OK) < 0 && errno == ENOENT;

                if (absent)
                        fprintf(stderr, "devctl: the bus is not running (no socket at '%s'); start devsec.target "
                                        "or 'make run'\n", ep + 6);
                free(ep);
                if (absent)
                        return NULL;
        }
        dc->bus = bus_new(&dc->paths, dc->identity, &r);
        if (!dc->bus) {
                if (r == -EACCES)
                        fprintf(stderr, "devctl: cannot read the bus key of '%s' under '%s/bus/private': "
                                        "only local operators may (permission denied)\n",
                                dc->identity, dc->paths.confdir);
                else
                        fprintf(stderr, "devctl: no bus key for '%s' under '%s/bus' (%s); is the stack installed "
                                        "or started with 'make run'?\n",
                                dc->identity, dc->paths.confdir, strerror(-r));
        }
        return dc->bus;
}

char *devctl_read_secret(const char *prompt, bool confirm, bool from_stdin)
{
        char *a = NULL, *b = NULL;
        size_t cap = 0;
        ssize_t n;
        struct termios old, quiet;
        bool tty = !from_stdin && isatty(STDIN_FILENO);

        if (!from_stdin && !tty) {
                fprintf(stderr, "devctl: not a terminal: use --password-stdin\n");
                return NULL;
        }
        for (int round = 0; round < (confirm && tty ? 2 : 1); round++) {
                char *line = NULL;
                if (tty) {
                        fprintf(stderr, "%s%s: ", round ? "Repeat " : "", prompt);
                        tcgetattr(STDIN_FILENO, &old);
                        quiet = old;
                        quiet.c_lflag &= ~(tcflag_t)ECHO;
                        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
                }
                cap = 0;
                n = getline(&line, &cap, stdin);
                if (tty) {
                        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
                        fputc('\n', stderr);
                }
                if (n < 0) {
                        free(line);
                        ds_free_secret(a);
                        return NULL;
                }
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (round == 0)
                        a = line;
                else
                        b = line;
        }
        if (b) {
                bool same = strlen(a) == strlen(b) && ds_memeq(a, b, strlen(a));
                ds_free_secret(b);
                if (!same) {
                        fprintf(stderr, "devctl: the two entries differ\n");
                        ds_free_secret(a);
                        return NULL;
                }
        }
        return a;
}

static bool is_kv(const char *s)
{
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return false;
        for (const char *p = s; p < eq; p++)
                if (!(p[0] == '_' || p[0] == '.' || (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') ||
                      (p > s && p[0] >= '0' && p[0] <= '9')))
                        return false;
        return true;
}

static void typed_value(struct mpw *w, const char *v)
{
        char *end;
        long long n;

        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
                mpw_bool(w, true);
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
                mpw_bool(w, false);
        else if (!strcmp(v, "null"))
                mpw_nil(w);
        else if (*v && (errno = 0, n = strtoll(v, &end, 10), !*end && !errno))
                mpw_int(w, n);
        else if (v[0] == '[' || v[0] == '{') {
                char err[128];
                struct mpw t;
                mpw_init(&t);
                if (devctl_json_to_mp(v, &t, err, sizeof err) == 0)
                        mpw_raw(w, mpw_data(&t), mpw_len(&t));
                else
                        mpw_str(w, v);
                mpw_free(&t);
        } else
                mpw_str(w, v);
}

/* The first line of path, at most max bytes (a setup code, a passphrase: no
 * NUL); the buffer is wiped. follow: a link is opened (a /dev/fd/N of the
 * shell's), else refused. Caller frees with ds_free_secret(); NULL with
 * errno set. */
char *devctl_read_first_line(const char *path, size_t max, bool follow)
{
        char buf[2048];
        ssize_t n;
        int fd, e;
        char *nl, *s;

        if (max >= sizeof buf)
                max = sizeof buf - 1;
        if ((fd = open(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY)) < 0)
                return NULL;
        n = read(fd, buf, max);
        e = errno;
        close(fd);
        if (n < 0) {
                errno = e;
                return NULL;
        }
        buf[n] = '\0';
        if ((nl = strpbrk(buf, "\r\n")))
                *nl = '\0';
        s = strdup(buf);
        sodium_memzero(buf, sizeof buf);
        return s;
}

bool devctl_take_flag(int *argc, char **argv, const char *flag)
{
        for (int i = 0; i < *argc; i++)
                if (!strcmp(argv[i], flag)) {
                        memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) * sizeof *argv);
                        (*argc)--;
                        return true;
                }
        return false;
}

const char *devctl_take_opt(int *argc, char **argv, const char *opt)
{
        for (int i = 0; i + 1 < *argc; i++)
                if (!strcmp(argv[i], opt)) {
                        const char *v = argv[i + 1];
                        memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof *argv);
                        *argc -= 2;
                        return v;
                }
        return NULL;
}

int devctl_parse_kv(struct mpw *w, int argc, char **argv)
{
        for (int i = 0; i < argc; i++) {
                char *eq = strchr(argv[i], '=');

                if (!is_kv(argv[i])) {
                        fprintf(stderr, "devctl: '%s' is not key=value\n", argv[i]);
                        return DC_EUSAGE;
                }
                mpw_strn(w, argv[i], (size_t)(eq - argv[i]));
                typed_value(w, eq + 1);
        }
        return DC_OK;
}

int devctl_subscribe(struct devctl *dc, const char *prefix, bus_event_fn cb, void *ud)
{
        struct bus_reply rep;
        int code;

        if (!devctl_bus(dc))
                return DC_EUNAVAIL;
        /* busd checks the session and the topics' authorities, and answers */
        code = bus_subscribe_session(dc->bus, prefix, dc->token, cb, ud, dc->timeout_ms, &rep);
        if (code < 0) {
                char what[BUS_TOPIC_MAX + 16];
                snprintf(what, sizeof what, "listen '%s'", prefix);
                devctl_print_error(what, &rep);
                if (code == -DS_EAUTH && !dc->token)
                        fprintf(stderr, "devctl: hint: log in first with 'devctl login'\n");
        }
        bus_reply_free(&rep);
        return devctl_exit_code(code);
}

int devctl_wait_event(struct devctl *dc, int timeout_ms)
{
        struct ds_err e;
        int r = bus_wait_event(dc->bus, timeout_ms);
        uint64_t lost = bus_events_lost(dc->bus);

        if (lost > dc->lost_told) {
                fprintf(stderr, "devctl: %llu events were dropped by busd: this listener did not keep up\n",
                        (unsigned long long)(lost - dc->lost_told));
                dc->lost_told = lost;
        }
        if (r != -ECANCELED)
                return r == -EINTR ? -EINTR : 0;
        bus_subscription_error(dc->bus, &e);
        fprintf(stderr, "devctl: listen: busd ended the subscription: %s: %s\n", ds_err_name(e.code), e.msg);
        return devctl_exit_code(e.code) ? devctl_exit_code(e.code) : DC_ESERVICE;
}

int devctl_call(struct devctl *dc, const char *svc, const char *method, const struct mpw *args, bool auth,
                const char *list_key, struct bus_reply *ret_rep)
{
        struct bus_reply rep;
        int code;

        if (!devctl_bus(dc))
                return DC_EUNAVAIL;
        code = bus_call_sync(dc->bus, svc, method, args, auth ? dc->token : NULL, dc->timeout_ms, &rep);
        if (code < 0) {
                devctl_print_error(svc, &rep);
                if (code == -DS_EAUTH && auth && !dc->token)
                        fprintf(stderr, "devctl: hint: log in first with 'devctl login'\n");
                bus_reply_free(&rep);
                return devctl_exit_code(code);
        }
        if (ret_rep) {
                *ret_rep = rep;
                return DC_OK;
        }
        if (dc->json) {
                devctl_print_json(stdout, rep.r);
                fputc('\n', stdout);
        } else if (list_key && mp_get(rep.r, list_key)) {
                devctl_print_table(stdout, mp_get(rep.r, list_key), NULL);
        } else if (rep.r && rep.r->type == MSGPACK_OBJECT_MAP && rep.r->via.map.size > 0) {
                devctl_print_map(stdout, rep.r, 0);
        }
        bus_reply_free(&rep);
        return DC_OK;
}

int devctl_usage(const struct devctl_cmd *cmd)
{
        fprintf(stderr, "usage: devctl %s %s\n", cmd->path, cmd->usage ? cmd->usage : "");
        return DC_EUSAGE;
}

int devctl_set_secret(struct devctl *dc, const struct devctl_cmd *cmd, const char *svc, const char *prompt,
                      int (*word)(struct mpw *w, const char *arg), int argc, char **argv)
{
        bool pw_stdin = false, pw_prompt = false;
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        char *pw = NULL;
        int n = 0, r = DC_OK;
        struct mpw w;

        if (!rest)
                return DC_EUSAGE;
        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--password-stdin"))
                        pw_stdin = true;
                else if (!strcmp(argv[i], "--password"))
                        pw_prompt = true;
                else if (!strncmp(argv[i], "password=", 9)) {
                        /* argv is visible to every process on the device */
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
        if ((pw_stdin || pw_prompt) && !(pw = devctl_read_secret(prompt, false, pw_stdin))) {
                free(rest);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "settings");
        mpw_map_begin(&w);
        for (int i = 0; i < n && r == DC_OK; i++)
                r = word ? word(&w, rest[i]) : devctl_parse_kv(&w, 1, &rest[i]);
        if (pw)
                mpw_kv_str(&w, "password", pw);
        mpw_map_end(&w);
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, svc, "config.set", &w, true, NULL, NULL);
        mpw_wipe(&w);
        ds_free_secret(pw);
        free(rest);
        return r;
}

/* Index of the positional named key in cmd->pos, or -1. */
static int pos_index(const struct devctl_cmd *cmd, const char *key)
{
        for (int k = 0; cmd->pos && cmd->pos[k]; k++)
                if (!strcmp(cmd->pos[k], key))
                        return k;
        return -1;
}

/* Generic command: positionals into cmd->pos names, then key=value, --flag,
 * --key=value and --args-json. A positional may also be named as an option,
 * `--group operator` or `--group=operator`, anywhere on the line. */
int devctl_run_generic(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        unsigned max_pos = 0, ngiven = 0;
        uint32_t given = 0; /* bit k: cmd->pos[k] has a value */
        const char *json = NULL;
        char *secret = NULL;
        bool pw_stdin = false;
        struct mpw w;
        int r = DC_OK;

        while (cmd->pos && cmd->pos[max_pos])
                max_pos++;
        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "--args-json") && i + 1 < argc) {
                        json = argv[++i];
                } else if (!strcmp(a, "--password-stdin")) {
                        pw_stdin = true;
                } else if (!strncmp(a, "--", 2) && a[2]) {
                        const char *eq = strchr(a, '=');
                        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
                        char key[64];
                        int k;
                        snprintf(key, sizeof key, "%.*s", (int)kl, a + 2);
                        for (char *p = key; *p; p++)
                                if (*p == '-')
                                        *p = '_';
                        k = pos_index(cmd, key);
                        if (k >= 0 && k < 32 && (given & 1u << k)) {
                                fprintf(stderr, "devctl: %s: %s: given twice\nusage: devctl %s %s\n", cmd->path, key,
                                        cmd->path, cmd->usage ? cmd->usage : "");
                                r = DC_EUSAGE;
                                goto out;
                        }
                        if (k >= 0 && k < 32 && (eq || i + 1 < argc)) {
                                given |= 1u << k, ngiven++;
                                mpw_str(&w, key);
                                mpw_str(&w, eq ? eq + 1 : argv[++i]);
                                continue;
                        }
                        mpw_str(&w, key);
                        if (eq)
                                typed_value(&w, eq + 1);
                        else
                                mpw_bool(&w, true);
                } else if (is_kv(a) && ngiven >= cmd->min_pos) {
                        char *eq = strchr(a, '=');
                        mpw_strn(&w, a, (size_t)(eq - a));
                        typed_value(&w, eq + 1);
                } else if (ngiven < max_pos) {
                        unsigned k = 0;
                        while (given & 1u << k)
                                k++;
                        given |= 1u << k, ngiven++;
                        mpw_str(&w, cmd->pos[k]);
                        mpw_str(&w, a);
                } else {
                        fprintf(stderr, "devctl: %s: unexpected argument '%s'\nusage: devctl %s %s\n", cmd->path, a,
                                cmd->path, cmd->usage ? cmd->usage : "");
                        r = DC_EUSAGE;
                        goto out;
                }
        }
        if (ngiven < cmd->min_pos) {
                r = devctl_usage(cmd);
                goto out;
        }
        if (cmd->flags & DC_SECRET_ARG) {
                secret = devctl_read_secret("Password", true, pw_stdin);
                if (!secret) {
                        r = DC_EUSAGE;
                        goto out;
                }
                mpw_str(&w, "password");
                mpw_str(&w, secret);
        }
        mpw_map_end(&w);
        if (json) {
                char err[128];
                struct mpw j;
                msgpack_unpacked u, g;
                const char *why;

                /* merge: JSON keys override words */
                mpw_init(&j);
                if (devctl_json_to_mp(json, &j, err, sizeof err) < 0 ||
                    mp_decode(mpw_data(&j), mpw_len(&j), NULL, &u, &why) < 0) {
                        fprintf(stderr, "devctl: --args-json: %s\n", err);
                        mpw_free(&j);
                        r = DC_EUSAGE;
                        goto out;
                }
                if (u.data.type != MSGPACK_OBJECT_MAP) {
                        fprintf(stderr, "devctl: --args-json: must be an object\n");
                        msgpack_unpacked_destroy(&u);
                        mpw_free(&j);
                        r = DC_EUSAGE;
                        goto out;
                }
                mp_decode(mpw_data(&w), mpw_len(&w), NULL, &g, &why);
                {
                        struct mpw m;
                        mpw_init(&m);
                        mpw_map_begin(&m);
                        for (uint32_t i = 0; i < g.data.via.map.size; i++) {
                                char k[64];
                                if (mp_strcpy(&g.data.via.map.ptr[i].key, k, sizeof k) == 0 && mp_get(&u.data, k))
                                        continue;
                                mpw_obj(&m, &g.data.via.map.ptr[i].key);
                                mpw_obj(&m, &g.data.via.map.ptr[i].val);
                        }
                        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
                                mpw_obj(&m, &u.data.via.map.ptr[i].key);
                                mpw_obj(&m, &u.data.via.map.ptr[i].val);
                        }
                        mpw_map_end(&m);
                        mpw_wipe(&w);
                        w = m;
                }
                msgpack_unpacked_destroy(&g);
                msgpack_unpacked_destroy(&u);
                mpw_free(&j);
        }
        r = devctl_call(dc, cmd->svc, cmd->method, &w, !(cmd->flags & DC_NOAUTH), cmd->list_key, NULL);
out:
        mpw_wipe(&w);
        ds_free_secret(secret);
        return r;
}

/* Longest match of the command words. */
static const struct devctl_cmd *find_cmd(int argc, char **argv, int *ret_used)
{
        const struct devctl_cmd *best = NULL;
        int best_words = 0;

        for (const struct devctl_cmd *const *t = __start_devctl_cmds; t < __stop_devctl_cmds; t++)
                for (const struct devctl_cmd *c = *t; c->path; c++) {
                        const char *p = c->path;
                        int words = 0;
                        bool ok = true;

                        while (*p && ok) {
                                size_t l = strcspn(p, " ");
                                if (words >= argc || strlen(argv[words]) != l || strncmp(argv[words], p, l))
                                        ok = false;
                                words++;
                                p += l;
                                while (*p == ' ')
                                        p++;
                        }
                        if (ok && words > best_words) {
                                best = c;
                                best_words = words;
                        }
                }
        *ret_used = best_words;
        return best;
}

static void help_prefix(int argc, char **argv)
{
        char prefix[256] = "";
        size_t l = 0;

        for (int i = 0; i < argc && l < sizeof prefix - 1; i++)
                l += (size_t)snprintf(prefix + l, sizeof prefix - l, "%s%s", i ? " " : "", argv[i]);
        fprintf(stderr, "devctl: unknown command '%s'\n", prefix);
        for (const struct devctl_cmd *const *t = __start_devctl_cmds; t < __stop_devctl_cmds; t++)
                for (const struct devctl_cmd *c = *t; c->path; c++)
                        if (!strncmp(c->path, argv[0], strlen(argv[0])) &&
                            (c->path[strlen(argv[0])] == ' ' || !c->path[strlen(argv[0])]))
                                fprintf(stderr, "  devctl %s %s\n", c->path, c->usage ? c->usage : "");
}

int main(int argc, char **argv)
{
        struct devctl dc = { .identity = "devctl", .timeout_ms = 10000 };
        const char *rundir = NULL, *confdir = NULL;
        const struct devctl_cmd *cmd;
        int i, used, r;

        log_init("devctl");
        log_set_level(LOG_LVL_WARNING);
        zsys_handler_set(NULL);
        signal(SIGPIPE, SIG_IGN);
        if (getenv("DEVSEC_TIMEOUT_MS"))
                dc.timeout_ms = atoi(getenv("DEVSEC_TIMEOUT_MS"));
        /* Global options anywhere before a lone "--", as systemctl and git take
         * them: `devctl time show --json` is `devctl --json time show`. What is
         * left, in order, is the command and its own arguments. */
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        int nrest = 0;
        bool dashdash = false;
        if (!rest)
                return 1;
        rest[nrest++] = argv[0];
        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (dashdash || a[0] != '-') {
                        rest[nrest++] = argv[i];
                } else if (!strcmp(a, "--")) {
                        dashdash = true;
                        rest[nrest++] = argv[i];
                } else if (!strcmp(a, "--json")) {
                        dc.json = true;
                } else if (!strcmp(a, "--rundir") || !strcmp(a, "--confdir") || !strcmp(a, "--timeout") ||
                           !strcmp(a, "--identity")) {
                        if (i + 1 >= argc) {
                                fprintf(stderr, "devctl: %s needs a value\n", a);
                                free(rest);
                                return DC_EUSAGE;
                        }
                        const char *v = argv[++i];
                        if (a[2] == 'r')
                                rundir = v;
                        else if (a[2] == 'c')
                                confdir = v;
                        else if (a[2] == 't')
                                dc.timeout_ms = atoi(v);
                        else
                                dc.identity = v;
                } else if (nrest == 1 && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
                        usage_all(stdout);
                        free(rest);
                        return 0;
                } else if (nrest == 1) {
                        fprintf(stderr, "devctl: unknown option '%s'\n", a);
                        usage_all(stderr);
                        free(rest);
                        return DC_EUSAGE;
                } else {
                        rest[nrest++] = argv[i]; /* the command's own option */
                }
        }
        argc = nrest;
        argv = rest;
        i = 1;
        if (dc.timeout_ms <= 0 || dc.timeout_ms > BUS_MAX_TIMEOUT_MS) {
                fprintf(stderr, "devctl: --timeout must be 1-%d ms\n", BUS_MAX_TIMEOUT_MS);
                r = DC_EUSAGE;
                goto out;
        }
        if (i >= argc) {
                usage_all(stderr);
                r = DC_EUSAGE;
                goto out;
        }
        if (!strcmp(argv[i], "help")) {
                usage_all(stdout);
                r = 0;
                goto out;
        }
        if (ds_paths_init(&dc.paths, rundir, confdir, NULL) < 0) {
                r = 1;
                goto out;
        }
        devctl_token_load(&dc);
        cmd = find_cmd(argc - i, argv + i, &used);
        if (!cmd) {
                help_prefix(argc - i, argv + i);
                r = DC_EUSAGE;
        } else {
                int sub_argc = argc - i - used;
                char **sub_argv = argv + i + used;
                for (int k = 0; k < sub_argc; k++)
                        if (!strcmp(sub_argv[k], "-h") || !strcmp(sub_argv[k], "--help")) {
                                printf("usage: devctl %s %s\n  %s\n", cmd->path, cmd->usage ? cmd->usage : "",
                                       cmd->help ? cmd->help : "");
                                r = 0;
                                goto out;
                        }
                r = cmd->fn ? cmd->fn(&dc, cmd, sub_argc, sub_argv) : devctl_run_generic(&dc, cmd, sub_argc, sub_argv);
        }
out:
        bus_destroy(&dc.bus);
        ds_free_secret(dc.token);
        ds_paths_free(&dc.paths);
        free(rest);
        return r;
}
