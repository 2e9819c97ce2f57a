/* testsvc - a service for the bus tests: echo, sleep, publish, crash, and a
 * minimal session checker standing in for authd (--as-authd). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "service.h"
#include "util.h"

/* The methods' arguments, by their index in the tables below. */
enum { SLEEP_MS };
enum { PUB_TOPIC, PUB_COUNT, PUB_ALT };
enum { CHECK_TOKEN };
enum { REVOKE_USER, REVOKE_HOLD_MS };

struct tctx {
        struct ds_daemon *d;
        int delay_timer;
};

static int h_echo(void *ctx, struct ds_call *c)
{
        (void)ctx;
        mpw_str(c->r, "a");
        if (c->args)
                mpw_obj(c->r, c->args);
        else
                mpw_nil(c->r);
        mpw_kv_str(c->r, "caller", c->caller.id);
        mpw_kv_str(c->r, "user", c->caller.user);
        mpw_kv_str(c->r, "group", c->caller.group);
        mpw_kv_bool(c->r, "svc", c->caller.svc);
        mpw_kv_bool(c->r, "gw", c->caller.gateway);
        return 0;
}

static int on_later(zloop_t *loop, int timer_id, void *arg)
{
        struct ds_call *c = arg;

        (void)loop;
        (void)timer_id;
        mpw_kv_bool(c->r, "slept", true);
        ds_call_finish(&c, 0);
        return 0;
}

static int h_sleep(void *ctx, struct ds_call *c)
{
        struct tctx *t = ctx;
        int64_t ms = ds_tb_int(c, SLEEP_MS, 100);
        struct ds_call *d = ds_call_detach(c);

        if (!d)
                return -ENOMEM;
        zloop_timer(t->d->loop, (size_t)ms, 1, on_later, d);
        return DS_DEFER;
}

static int h_publish(void *ctx, struct ds_call *c)
{
        struct tctx *t = ctx;
        char topic[BUS_TOPIC_MAX + 1], alt[BUS_TOPIC_MAX + 1] = "";
        int64_t n = ds_tb_int(c, PUB_COUNT, 1);
        struct mpw w;

        ds_tb_str(c, PUB_TOPIC, topic, sizeof topic);
        ds_tb_str(c, PUB_ALT, alt, sizeof alt);
        mpw_init(&w);
        for (int64_t i = 0; i < n; i++) {
                mpw_reset(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "seq", i);
                mpw_map_end(&w);
                ds_daemon_publish(t->d, alt[0] && i % 2 ? alt : topic, &w);
        }
        mpw_free(&w);
        mpw_kv_int(c->r, "published", n);
        return 0;
}

static int h_crash(void *ctx, struct ds_call *c)
{
        (void)ctx;
        (void)c;
        kill(getpid(), SIGKILL);
        return 0;
}

/* Stand-in for authd's session.check: token "tok:<user>:<group>:<auth,auth>" */
static int h_check(void *ctx, struct ds_call *c)
{
        char tok[128], *user, *group, *auths, *save = NULL;

        (void)ctx;
        ds_tb_str(c, CHECK_TOKEN, tok, sizeof tok);
        if (strncmp(tok, "tok:", 4))
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        user = strtok_r(tok + 4, ":", &save);
        group = strtok_r(NULL, ":", &save);
        auths = strtok_r(NULL, ":", &save);
        if (!user || !group)
                return ds_call_fail(c, -DS_EAUTH, NULL, "session expired or unknown");
        mpw_kv_str(c->r, "user", user);
        mpw_kv_str(c->r, "group", group);
        mpw_kv_str(c->r, "sid", "s1");
        mpw_str(c->r, "authorities");
        mpw_arr_begin(c->r);
        for (char *a = auths ? strtok_r(auths, ",", &save) : NULL; a; a = strtok_r(NULL, ",", &save))
                mpw_str(c->r, a);
        mpw_arr_end(c->r);
        return 0;
}

static int h_revoke(void *ctx, struct ds_call *c)
{
        struct tctx *t = ctx;
        char user[64];
        struct mpw w;

        ds_tb_str(c, REVOKE_USER, user, sizeof user);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", user);
        mpw_map_end(&w);
        ds_daemon_publish(t->d, "auth.session.revoked", &w);
        mpw_free(&w);
        /* a hung authd (the fault busd's re-check must survive): the loop is held */
        if (ds_tb_has(c, REVOKE_HOLD_MS))
                usleep((useconds_t)ds_tb_int(c, REVOKE_HOLD_MS, 0) * 1000);
        return 0;
}

static const struct ds_field echo_args[] = {
        { "text", DS_STR, 0, .max_len = 64 },
        { "n", DS_INT, 0, .min = 0, .max = 100 },
        { "name", DS_STR, 0, .check = ds_check_name },
        { "password", DS_STR, DS_SECRET, .max_len = 64 },
        { NULL },
};
static const struct ds_field sleep_args[] = { [SLEEP_MS] = { "ms", DS_INT, 0, .min = 0, .max = 60000 }, { NULL } };
static const struct ds_field pub_args[] = {
        [PUB_TOPIC] = { "topic", DS_STR, DS_REQUIRED, .max_len = BUS_TOPIC_MAX },
        [PUB_COUNT] = { "count", DS_INT, 0, .min = 1, .max = 1000000 },
        [PUB_ALT] = { "alt", DS_STR, 0, .max_len = BUS_TOPIC_MAX }, /* every other event's topic */
        { NULL },
};
static const struct ds_field check_args[] = { [CHECK_TOKEN] = { "token", DS_STR, DS_REQUIRED, .max_len = 128 }, { NULL } };
static const struct ds_field revoke_args[] = {
        [REVOKE_USER] = { "user", DS_STR, 0 },
        [REVOKE_HOLD_MS] = { "hold_ms", DS_INT, 0, .min = 0, .max = 10000 },
        { NULL },
};

static const struct ds_method methods[] = {
        DS_METHOD("test.echo", echo_args, h_echo, AUTH_PUBLIC),
        DS_METHOD("test.secure", echo_args, h_echo, AUTH_NEEDS(ACCOUNT)),
        DS_METHOD("test.both", echo_args, h_echo, AUTH_NEEDS2(ACCOUNT, SECURITY)),
        DS_METHOD("test.session", echo_args, h_echo, AUTH_SESSION),
        DS_METHOD("test.internal", echo_args, h_echo, AUTH_SERVICE),
        DS_METHOD("test.sleep", sleep_args, h_sleep, AUTH_PUBLIC),
        DS_METHOD("test.publish", pub_args, h_publish, AUTH_PUBLIC),
        DS_METHOD("test.crash", NULL, h_crash, AUTH_PUBLIC),
        DS_METHOD("session.check", check_args, h_check, AUTH_SERVICE),
        DS_METHOD("session.revoke", revoke_args, h_revoke, AUTH_PUBLIC),
        { NULL },
};

static const struct ds_field settings[] = {
        { "greeting", DS_STR, 0, .max_len = 32, .def_str = "hello" },
        { "limit", DS_INT, 0, .min = 1, .max = 100, .def_int = 10 },
        { "strict", DS_BOOL, 0, .def_bool = false },
        { "secret", DS_STR, DS_SECRET, .max_len = 32, .def_str = "" },
        { NULL },
};

static const struct ds_audit_item audit[] = {
        { .id = "test.strict", .level = 1, .title = "strict mode on", .remediation = "config set strict=true",
          .key = "strict", .want_bool = true },
        { .id = "test.limit", .level = 2, .title = "limit at most 5", .remediation = "config set limit=5",
          .key = "limit", .cmp = DS_CMP_LE, .want_int = 5 },
        { NULL },
};

static int t_start(struct ds_daemon *d, void *ctx)
{
        ((struct tctx *)ctx)->d = d;
        return 0;
}

int main(int argc, char **argv)
{
        static struct tctx t;
        const char *name = getenv("TESTSVC_NAME");
        struct ds_service svc = {
                .name = name && *name ? name : "testsvc",
                .version = getenv("TESTSVC_VERSION") ? getenv("TESTSVC_VERSION") : "0.1-" DEVSEC_VERSION,
                .methods = methods,
                .settings = settings,
                .audit = audit,
                .start = t_start,
        };

        return ds_daemon_main(argc, argv, &svc, &t);
}
