/* filterd_authd - a session checker standing in for authd in filterd's tests.
 * Tokens are "tok:USER:GROUP:AUTH,AUTH[:SOURCE]"; SOURCE (the rest, IPv6
 * colons included) becomes the session's source address, which busd stamps
 * into each call as c->caller.source. */
#include <stdio.h>
#include <string.h>

#include "service.h"

/* The methods' arguments, by their index in the tables below. */
enum { CHECK_TOKEN };

static int h_check(void *ctx, struct ds_call *c)
{
        char tok[256], *f[4], *p, *save = NULL;

        (void)ctx;
        ds_tb_str(c, CHECK_TOKEN, tok, sizeof tok);
        if (strncmp(tok, "tok:", 4))
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        p = tok + 4;
        for (int i = 0; i < 3; i++) {
                f[i] = p;
                p = strchr(p, ':');
                if (!p && i < 1)
                        return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
                if (p)
                        *p++ = '\0';
                else
                        p = f[i] + strlen(f[i]);
        }
        f[3] = p; /* source: may be empty */
        mpw_kv_str(c->r, "user", f[0]);
        mpw_kv_str(c->r, "group", f[1]);
        mpw_kv_str(c->r, "sid", "s1");
        mpw_kv_str(c->r, "source", f[3]);
        mpw_str(c->r, "authorities");
        mpw_arr_begin(c->r);
        for (char *a = strtok_r(f[2], ",", &save); a; a = strtok_r(NULL, ",", &save))
                mpw_str(c->r, a);
        mpw_arr_end(c->r);
        return 0;
}

static const struct ds_field check_args[] = { [CHECK_TOKEN] = { "token", DS_STR, DS_REQUIRED, .max_len = 200 }, { NULL } };
static const struct ds_method methods[] = {
        DS_METHOD("session.check", check_args, h_check, AUTH_SERVICE),
        { NULL },
};

int main(int argc, char **argv)
{
        static int dummy;
        static const struct ds_service svc = { .name = "authd", .version = "0-filterd-test", .methods = methods };

        return ds_daemon_main(argc, argv, &svc, &dummy);
}
