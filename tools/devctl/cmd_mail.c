/* cmd_mail.c - devctl mail: show, set, test, queue, retry, purge (service smtp-notifier) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"
#include "util.h"

#define MAIL_SVC "smtp-notifier"

/* KEY=A,B,C -> an array (alarm_to); alarms separate rules with ';' (a rule
 * holds commas between its recipients). */
static void put_list(struct mpw *w, const char *key, const char *v, char sep)
{
        mpw_str(w, key);
        mpw_arr_begin(w);
        while (*v) {
                const char *e = strchr(v, sep);
                size_t n = e ? (size_t)(e - v) : strlen(v);
                while (n && *v == ' ')
                        v++, n--;
                if (n)
                        mpw_strn(w, v, n);
                if (!e)
                        break;
                v = e + 1;
        }
        mpw_arr_end(w);
}

static int c_mail_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
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
        if ((pw_stdin || pw_prompt) && !(pw = devctl_read_secret("SMTP account password: ", false, pw_stdin))) {
                free(rest);
                return DC_EUSAGE;
        }
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "settings");
        mpw_map_begin(&w);
        r = DC_OK;
        for (int i = 0; i < n && r == DC_OK; i++) {
                if (!strncmp(rest[i], "alarm_to=", 9))
                        put_list(&w, "alarm_to", rest[i] + 9, ',');
                else if (!strncmp(rest[i], "alarms=", 7))
                        put_list(&w, "alarms", rest[i] + 7, ';');
                else
                        r = devctl_parse_kv(&w, 1, &rest[i]);
        }
        if (pw)
                mpw_kv_str(&w, "password", pw);
        mpw_map_end(&w);
        mpw_map_end(&w);
        if (r == DC_OK)
                r = devctl_call(dc, MAIL_SVC, "config.set", &w, true, NULL, NULL);
        mpw_wipe(&w);
        ds_free_secret(pw);
        free(rest);
        return r;
}

static const struct devctl_cmd mail_cmds[] = {
        { .path = "mail show", .svc = MAIL_SVC, .method = "mail.show", .usage = "",
          .help = "server, TLS, account (never the password), alarm rules, outbox counters" },
        { .path = "mail set", .fn = c_mail_set,
          .usage = "key=value... [alarm_to=A,B] [alarms='PREFIX [RCPT,..];...'] [--password|--password-stdin]",
          .help = "change the mail settings (the password only from a prompt or stdin)" },
        { .path = "mail test", .svc = MAIL_SVC, .method = "mail.test",
          .pos = (const char *const[]){ "to", NULL }, .usage = "[RCPT] [count=N]",
          .help = "queue a test mail (to RCPT, else alarm_to)" },
        { .path = "mail queue", .svc = MAIL_SVC, .method = "mail.queue", .list_key = "items",
          .usage = "[max=N]", .help = "the outbox: queued, sending and failed mails with their last error" },
        { .path = "mail retry", .svc = MAIL_SVC, .method = "mail.retry",
          .pos = (const char *const[]){ "id", NULL }, .usage = "[ID]",
          .help = "send now (a failed mail goes back to the outbox)" },
        { .path = "mail purge", .svc = MAIL_SVC, .method = "mail.purge",
          .pos = (const char *const[]){ "id", NULL }, .usage = "[ID] [failed_only=true]",
          .help = "delete mails from the outbox (all, or only the failed folder)" },
        { NULL },
};
DEVCTL_COMMANDS(mail_cmds);
