/* cmd_auth.c - devctl init, passwd, user, group, session, onvif-user, auth policy/reset */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "util.h"

/* Sends w (a finished map holding secrets), wipes it, prints the answer. */
static int call_wiped(struct devctl *dc, const struct devctl_cmd *cmd, struct mpw *w, bool auth,
                      struct bus_reply *ret)
{
        int r = devctl_call(dc, cmd->svc, cmd->method, w, auth, NULL, ret);

        mpw_wipe(w);
        return r;
}

/* The setup code auth.init needs, never from argv: --setup-code-file FILE
 * (- : the first line of stdin), else the device's own file when this user
 * may read it (root on the device), else a prompt on the terminal. NULL when
 * there is none to give: authd then answers why (EEXIST, or EAUTH). */
static char *setup_code(struct devctl *dc, const char *opt)
{
        char *dir, path[4096], *code = NULL;
        int e;

        if (opt && !strcmp(opt, "-"))
                return devctl_read_secret("Setup code", false, true);
        if (opt) {
                if (!(code = devctl_read_first_line(opt, 127, false)))
                        fprintf(stderr, "devctl: cannot read the setup code from '%s': %s\n", opt, strerror(errno));
                return code;
        }
        dir = ds_paths_state(&dc->paths, "authd");
        snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", "setup-code");
        free(dir);
        if ((code = devctl_read_first_line(path, 127, false)))
                return code;
        e = errno;
        if (isatty(STDIN_FILENO)) {
                fprintf(stderr, "The setup code is on the device's label (or in %s, root only).\n", path);
                return devctl_read_secret("Setup code", false, false);
        }
        if (e != ENOENT)
                fprintf(stderr, "devctl: cannot read the setup code in '%s': %s; give --setup-code-file FILE (- for stdin)\n",
                        path, strerror(e));
        return NULL;
}

/* devctl init [email=ADDR] [--password-stdin] [--setup-code-file FILE|-] */
static int c_init(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool from_stdin = devctl_take_flag(&argc, argv, "--password-stdin");
        const char *code_file = devctl_take_opt(&argc, argv, "--setup-code-file");
        struct mpw w;
        char *pw, *code;
        int r;

        for (int i = 0; i < argc; i++)
                if (strncmp(argv[i], "email=", 6))
                        return devctl_usage(cmd);
        code = setup_code(dc, code_file);
        if (!code && code_file)
                return DC_EUSAGE;
        pw = devctl_read_secret("Admin password", true, from_stdin);
        if (!pw) {
                ds_free_secret(code);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "password", pw);
        ds_free_secret(pw);
        if (code)
                mpw_kv_str(&w, "setup_code", code);
        ds_free_secret(code);
        if ((r = devctl_parse_kv(&w, argc, argv)) != DC_OK) {
                mpw_wipe(&w);
                return r;
        }
        mpw_map_end(&w);
        return call_wiped(dc, cmd, &w, false, NULL);
}

/* devctl passwd                 change your own password (current + new)
 * devctl passwd USER            set USER's password (account authority)
 * devctl passwd --expired -u USER   change an expired password and log in */
static int c_passwd(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool from_stdin = devctl_take_flag(&argc, argv, "--password-stdin");
        bool expired = devctl_take_flag(&argc, argv, "--expired");
        const char *user = devctl_take_opt(&argc, argv, "-u");
        char *old = NULL, *npw = NULL;
        struct bus_reply rep;
        struct mpw w;
        int r;

        if (argc > 1 || (expired && (!user || argc)) || (!expired && user))
                return devctl_usage(cmd);
        if (!expired && argc == 1) {
                npw = devctl_read_secret("New password", true, from_stdin);
                if (!npw)
                        return DC_EUSAGE;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "name", argv[0]);
                mpw_kv_str(&w, "password", npw);
                mpw_map_end(&w);
                ds_free_secret(npw);
                r = devctl_call(dc, "authd", "user.passwd", &w, true, NULL, NULL);
                mpw_wipe(&w);
                return r;
        }
        old = devctl_read_secret("Current password", false, from_stdin);
        npw = old ? devctl_read_secret("New password", true, from_stdin) : NULL;
        if (!old || !npw) {
                ds_free_secret(old);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        if (expired) {
                mpw_kv_str(&w, "user", user);
                mpw_kv_str(&w, "password", old);
                mpw_kv_str(&w, "source", "local");
        } else {
                mpw_kv_str(&w, "old_password", old);
        }
        mpw_kv_str(&w, "new_password", npw);
        mpw_map_end(&w);
        ds_free_secret(old);
        ds_free_secret(npw);
        if (!expired) {
                r = devctl_call(dc, "authd", "session.passwd", &w, true, NULL, NULL);
                mpw_wipe(&w);
                return r;
        }
        r = devctl_call(dc, "authd", "session.login", &w, false, NULL, &rep);
        mpw_wipe(&w);
        if (r != DC_OK)
                return r;
        {
                char tok[BUS_TOKEN_MAX + 1];
                if (mp_strcpy(mp_get(rep.r, "token"), tok, sizeof tok) == 0) {
                        r = devctl_token_save(dc, tok) < 0 ? DC_ESERVICE : DC_OK;
                        sodium_memzero(tok, sizeof tok);
                } else {
                        r = DC_ESERVICE;
                }
        }
        bus_reply_free(&rep);
        if (r == DC_OK)
                printf("password changed; logged in as %s\n", user);
        return r;
}

/* group add NAME [AUTH,AUTH...] / group set NAME [authorities=A,B] [new_name=X] */
static int c_group(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        const char *authz = NULL, *new_name = NULL;
        struct mpw w;

        if (argc < 1 || argc > 3)
                return devctl_usage(cmd);
        for (int i = 1; i < argc; i++) {
                if (!strncmp(argv[i], "authorities=", 12))
                        authz = argv[i] + 12;
                else if (!strncmp(argv[i], "new_name=", 9))
                        new_name = argv[i] + 9;
                else if (!strchr(argv[i], '=') && !authz)
                        authz = argv[i];
                else
                        return devctl_usage(cmd);
        }
        if (!strcmp(cmd->method, "group.add") && !authz)
                authz = "";
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", argv[0]);
        if (authz) {
                char *copy = strdup(authz), *save = NULL;
                mpw_str(&w, "authorities");
                mpw_arr_begin(&w);
                for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
                        mpw_str(&w, t);
                mpw_arr_end(&w);
                free(copy);
        }
        if (new_name)
                mpw_kv_str(&w, "new_name", new_name);
        mpw_map_end(&w);
        return call_wiped(dc, cmd, &w, true, NULL);
}

/* auth reset confirm USER [--answers N] [--password-stdin]: reads the mailed code
 * (or N answers), then the new password; none of them on the command line. */
static int c_reset_confirm(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool from_stdin = devctl_take_flag(&argc, argv, "--password-stdin");
        const char *nans = devctl_take_opt(&argc, argv, "--answers");
        int n = nans ? atoi(nans) : 0;
        char *npw;
        struct mpw w;

        if (argc != 1 || (nans && (n < 1 || n > 3)))
                return devctl_usage(cmd);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", argv[0]);
        if (n) {
                mpw_str(&w, "answers");
                mpw_arr_begin(&w);
        }
        for (int i = 0; i < (n ? n : 1); i++) {
                char prompt[32], *s;
                snprintf(prompt, sizeof prompt, n ? "Answer %d" : "Code", i + 1);
                s = devctl_read_secret(prompt, false, from_stdin);
                if (!s) {
                        mpw_wipe(&w);
                        return DC_EUSAGE;
                }
                if (!n)
                        mpw_str(&w, "code");
                mpw_str(&w, s);
                ds_free_secret(s);
        }
        if (n)
                mpw_arr_end(&w);
        npw = devctl_read_secret("New password", true, from_stdin);
        if (!npw) {
                mpw_wipe(&w);
                return DC_EUSAGE;
        }
        mpw_kv_str(&w, "new_password", npw);
        ds_free_secret(npw);
        mpw_map_end(&w);
        return call_wiped(dc, cmd, &w, false, NULL);
}

/* auth reset setup [email=ADDR] ["QUESTION"...] [--password-stdin]: answers are read, not given */
static int c_reset_setup(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        bool from_stdin = devctl_take_flag(&argc, argv, "--password-stdin");
        int nq = 0;
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (int i = 0; i < argc; i++)
                if (!strncmp(argv[i], "email=", 6))
                        mpw_kv_str(&w, "email", argv[i] + 6);
                else
                        nq++;
        if (nq > 3) {
                mpw_free(&w);
                return devctl_usage(cmd);
        }
        if (nq) {
                mpw_str(&w, "questions");
                mpw_arr_begin(&w);
                for (int i = 0; i < argc; i++) {
                        char *s;
                        if (!strncmp(argv[i], "email=", 6))
                                continue;
                        fprintf(stderr, "%s\n", argv[i]);
                        s = devctl_read_secret("Answer", false, from_stdin);
                        if (!s) {
                                mpw_wipe(&w);
                                return DC_EUSAGE;
                        }
                        mpw_map_begin(&w);
                        mpw_kv_str(&w, "question", argv[i]);
                        mpw_kv_str(&w, "answer", s);
                        mpw_map_end(&w);
                        ds_free_secret(s);
                }
                mpw_arr_end(&w);
        }
        mpw_map_end(&w);
        return call_wiped(dc, cmd, &w, true, NULL);
}

static const struct devctl_cmd auth_cmds[] = {
        { .path = "init", .svc = "authd", .method = "auth.init", .fn = c_init,
          .usage = "[email=ADDR] [--password-stdin] [--setup-code-file FILE|-]",
          .help = "first boot: set the admin password (needs the device's setup code)" },
        { .path = "passwd", .svc = "authd", .method = "session.passwd", .fn = c_passwd,
          .usage = "[USER] [--password-stdin] | --expired -u USER", .help = "change a password" },
        { .path = "user list", .svc = "authd", .method = "user.list", .list_key = "users", .usage = "",
          .help = "list accounts" },
        { .path = "user add", .svc = "authd", .method = "user.add",
          .pos = (const char *const[]){ "name", "group", NULL }, .min_pos = 2, .flags = DC_SECRET_ARG,
          .usage = "NAME GROUP [memo=TEXT] [email=ADDR] [mac=MAC] [not_before=T] [not_after=T] [--password-stdin]",
          .help = "add an account" },
        { .path = "user del", .svc = "authd", .method = "user.del", .pos = (const char *const[]){ "name", NULL },
          .min_pos = 1, .usage = "NAME", .help = "delete an account" },
        { .path = "user set", .svc = "authd", .method = "user.set", .pos = (const char *const[]){ "name", NULL },
          .min_pos = 1, .usage = "NAME [group=G] [enabled=true|false] [memo=] [email=] [mac=|-] [not_before=] [not_after=]",
          .help = "change an account" },
        { .path = "user lock", .svc = "authd", .method = "user.lock", .pos = (const char *const[]){ "name", NULL },
          .min_pos = 1, .usage = "NAME", .help = "lock an account until unlocked" },
        { .path = "user unlock", .svc = "authd", .method = "user.unlock",
          .pos = (const char *const[]){ "name", NULL }, .min_pos = 1, .usage = "NAME",
          .help = "lift a lock (failed attempts or user lock)" },
        { .path = "group list", .svc = "authd", .method = "group.list", .list_key = "groups", .usage = "",
          .help = "list groups and their authorities" },
        { .path = "group add", .svc = "authd", .method = "group.add", .fn = c_group, .usage = "NAME AUTH[,AUTH...]",
          .help = "add a group" },
        { .path = "group del", .svc = "authd", .method = "group.del", .pos = (const char *const[]){ "name", NULL },
          .min_pos = 1, .usage = "NAME", .help = "delete a group without members" },
        { .path = "group set", .svc = "authd", .method = "group.set", .fn = c_group,
          .usage = "NAME [authorities=A,B] [new_name=N]", .help = "change a group's authorities or name" },
        { .path = "session list", .svc = "authd", .method = "session.list", .list_key = "sessions",
          .pos = (const char *const[]){ "user", NULL }, .usage = "[USER]", .help = "online users" },
        { .path = "session kick", .svc = "authd", .method = "session.kick",
          .pos = (const char *const[]){ "sid", NULL }, .usage = "SID | user=NAME", .help = "end sessions" },
        { .path = "onvif-user list", .svc = "authd", .method = "onvif.list", .list_key = "users", .usage = "",
          .help = "list ONVIF users" },
        { .path = "onvif-user add", .svc = "authd", .method = "onvif.add",
          .pos = (const char *const[]){ "name", "level", NULL }, .min_pos = 2, .flags = DC_SECRET_ARG,
          .usage = "NAME Administrator|Operator|User [--password-stdin]", .help = "add an ONVIF user" },
        { .path = "onvif-user del", .svc = "authd", .method = "onvif.del",
          .pos = (const char *const[]){ "name", NULL }, .min_pos = 1, .usage = "NAME", .help = "delete an ONVIF user" },
        { .path = "onvif-user passwd", .svc = "authd", .method = "onvif.passwd",
          .pos = (const char *const[]){ "name", NULL }, .min_pos = 1, .flags = DC_SECRET_ARG,
          .usage = "NAME [--password-stdin]", .help = "set an ONVIF user's password" },
        { .path = "auth status", .svc = "authd", .method = "auth.status", .flags = DC_NOAUTH, .usage = "",
          .help = "initialised, anonymous and reset switches" },
        { .path = "auth policy show", .svc = "authd", .method = "policy.show", .usage = "",
          .help = "the effective password policy" },
        { .path = "auth policy set", .svc = "authd", .method = "policy.set",
          .usage = "[profile=vendor|nist|strict] [min_length=N] [history=N] [max_age_days=N]",
          .help = "tighten the password policy" },
        { .path = "auth reset request", .svc = "authd", .method = "reset.request",
          .pos = (const char *const[]){ "user", NULL }, .min_pos = 1, .flags = DC_NOAUTH, .usage = "USER",
          .help = "mail a one-time reset code to the account's e-mail" },
        { .path = "auth reset confirm", .svc = "authd", .method = "reset.confirm", .fn = c_reset_confirm,
          .usage = "USER [--answers N] [--password-stdin]", .help = "reset a password with the code or answers" },
        { .path = "auth reset setup", .svc = "authd", .method = "reset.setup", .fn = c_reset_setup,
          .usage = "[email=ADDR] [\"QUESTION\"...] [--password-stdin]",
          .help = "your reset e-mail and security questions" },
        { NULL },
};
DEVCTL_COMMANDS(auth_cmds);
