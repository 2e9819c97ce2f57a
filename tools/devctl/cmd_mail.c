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

/* alarm_to=A,B and alarms='PREFIX [RCPT,..];...' are lists; the rest typed words */
static int mail_word(struct mpw *w, const char *arg)
{
        if (!strncmp(arg, "alarm_to=", 9))
                put_list(w, "alarm_to", arg + 9, ',');
        else if (!strncmp(arg, "alarms=", 7))
                put_list(w, "alarms", arg + 7, ';');
        else
                return devctl_parse_kv(w, 1, (char **)&arg);
        return DC_OK;
}

static int c_mail_set(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        return devctl_set_secret(dc, cmd, MAIL_SVC, "SMTP account password: ", mail_word, argc, argv);
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
