/* busd.c - the broker's wiring: options, settings and trust, then the same
 * loop, signal and watchdog skeleton as every service (zloop, signalfd,
 * ds_loop_signals/ds_loop_watchdog) around the router, ZAP and monitor
 * sockets and two timers (deadlines, heartbeats). */
#include <systemd/sd-daemon.h>

#include "broker.h"
#include "service.h"

static void usage(void)
{
        fprintf(stderr, "usage: busd [-f] [-n] [-c FILE] [--rundir DIR] [--confdir DIR] [--statedir DIR] [-v]\n");
}

/* The router, ZAP and monitor sockets are polled by their ZMQ_FD: one
 * poll() on three descriptors instead of zmq_poll() asking every socket for
 * its descriptor and events before and after each wait (callgrind: about
 * 6,000 instructions per forwarded request inside libzmq). That descriptor
 * only says "look again": libzmq clears it on any operation on the socket,
 * sends included. So every handler ends in settle(): busd's records
 * published, then the router drained until it answers EAGAIN, a receive its
 * last operation; a drain cut short (a batch, for the timers' sake) goes on
 * from a timer. The ZAP and monitor sockets are only ever read to EAGAIN. */
static int on_more(zloop_t *loop, int id, void *arg);

static void settle(struct busd *b)
{
        busd_flush_log(b);
        if (route_on_router(b) > 0 && !b->more_pending) {
                if (zloop_timer(b->loop, 1, 1, on_more, b) >= 0)
                        b->more_pending = true;
        }
}

static int on_more(zloop_t *loop, int id, void *arg)
{
        struct busd *b = arg;

        (void)loop;
        (void)id;
        b->more_pending = false;
        settle(b);
        return 0;
}

static int on_router(zloop_t *loop, zmq_pollitem_t *it, void *arg)
{
        (void)loop;
        (void)it;
        settle(arg);
        return 0;
}

static int on_zap(zloop_t *loop, zmq_pollitem_t *it, void *arg)
{
        struct busd *b = arg;

        (void)loop;
        (void)it;
        while (bus_zap_handle(b->zap, b->keys) >= 0)
                ;
        settle(b);
        return 0;
}

static int on_mon(zloop_t *loop, zmq_pollitem_t *it, void *arg)
{
        (void)loop;
        (void)it;
        peers_on_monitor(arg);
        settle(arg);
        return 0;
}

static int on_tick_timer(zloop_t *loop, int id, void *arg)
{
        (void)loop;
        (void)id;
        unanswered_on_tick(arg);
        settle(arg);
        return 0;
}

static int on_hb_timer(zloop_t *loop, int id, void *arg)
{
        (void)loop;
        (void)id;
        peers_on_heartbeat(arg);
        settle(arg);
        return 0;
}

/* a socket's ZMQ_FD as a plain descriptor for zloop */
static int fd_item(zloop_t *loop, void *sock, zloop_fn *fn, struct busd *b)
{
        int fd;
        size_t n = sizeof fd;

        if (zmq_getsockopt(sock, ZMQ_FD, &fd, &n) < 0)
                return -1;
        return zloop_poller(loop, &(zmq_pollitem_t){NULL, fd, ZMQ_POLLIN, 0}, fn, b);
}

/* SIGHUP: the ACL and keys again, swapped in only when both load; peers
 * whose key is no longer trusted lose their connection. */
static void reload_trust(void *ud)
{
        struct busd *b = ud;
        bus_acl_t *acl = NULL;
        bus_keys_t *keys = NULL;
        struct ds_err e;

        ds_err_clear(&e);
        if (busd_load_trust(b, &acl, &keys, &e) < 0) {
                log_err("reload refused, keeping the running ACL and keys: %s", e.msg);
                return;
        }
        bus_acl_destroy(&b->acl);
        bus_keys_destroy(&b->keys);
        b->acl = acl;
        b->keys = keys;
        peers_on_monitor(b); /* forget closed connections first */
        peers_drop_untrusted(b);
        for (struct peer *p = zhash_first(b->peers); p; p = zhash_next(b->peers)) {
                p->operator= bus_acl_operator(b->acl, p->id);
                p->gateway = bus_acl_gateway(b->acl, p->id);
        }
        log_notice("ACL and keys reloaded (%zu keys)", bus_keys_count(b->keys));
        settle(b);
}

int main(int argc, char **argv)
{
        static struct busd B;
        struct busd *b = &B;
        const char *rundir = NULL, *confdir = NULL, *statedir = NULL, *conf = NULL;
        char path[4096];
        struct ds_signals sig = {.reload = reload_trust, .ud = b};
        bool check = false;
        struct ds_err e;
        zloop_t *loop;

        log_init("busd");
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], **dst = NULL;

                if (!strcmp(a, "-f"))
                        continue;
                if (!strcmp(a, "-n") || !strcmp(a, "-v")) {
                        check |= a[1] == 'n';
                        if (a[1] == 'v')
                                log_set_level(LOG_LVL_DEBUG);
                        continue;
                }
                if (!strcmp(a, "--version")) {
                        printf("busd %s\n", BUSD_VERSION);
                        return 0;
                }
                dst = !strcmp(a, "-c")           ? &conf
                      : !strcmp(a, "--rundir")   ? &rundir
                      : !strcmp(a, "--confdir")  ? &confdir
                      : !strcmp(a, "--statedir") ? &statedir
                                                 : NULL;
                if (!dst || i + 1 >= argc) {
                        usage();
                        return 2;
                }
                *dst = argv[++i];
        }
        if (ds_paths_init(&b->paths, rundir, confdir, statedir) < 0)
                fatal("out of memory");
        if (!conf) {
                snprintf(path, sizeof path, "%s/busd.conf", b->paths.confdir);
                conf = path;
        }
        ds_err_clear(&e);
        if (ds_methods_selftest(busd_methods, &e) < 0)
                fatal("method table: %s: %s", e.field, e.msg);
        if (busd_load_config(conf, &b->cfg, &e) < 0 || busd_load_trust(b, &b->acl, &b->keys, &e) < 0)
                fatal("%s", e.msg);
        if (check) {
                printf("%s: configuration OK (%zu keys)\n", conf, bus_keys_count(b->keys));
                bus_acl_destroy(&b->acl);
                bus_keys_destroy(&b->keys);
                ds_settings_free(&b->cfg);
                ds_paths_free(&b->paths);
                return 0;
        }
        /* signals go to a signalfd; block them before any zmq thread exists */
        sig.fd = ds_signalfd_open();
        if (sig.fd < 0)
                fatal("signals: %s", strerror(-sig.fd));
        zsys_handler_set(NULL);
        busd_start(b);
        b->reroute = route_message; /* sessions.c resumes parked requests through it */

        b->loop = loop = zloop_new();
        if (!loop || fd_item(loop, b->zap, on_zap, b) < 0 || fd_item(loop, b->router, on_router, b) < 0 ||
            fd_item(loop, b->mon, on_mon, b) < 0 || zloop_timer(loop, 100, 0, on_tick_timer, b) < 0 ||
            zloop_timer(loop, (size_t)b->hb_ms, 0, on_hb_timer, b) < 0 || ds_loop_signals(loop, &sig) < 0 ||
            ds_loop_watchdog(loop) < 0)
                fatal("out of memory");
        b->started_ms = ds_now_mono_ms();
        sd_notifyf(0, "READY=1\nSTATUS=routing on %s (%zu keys)\nMAINPID=%d", b->ep, bus_keys_count(b->keys),
                   (int)getpid());
        log_info("busd %s ready on '%s' (%zu keys)", BUSD_VERSION, b->ep, bus_keys_count(b->keys));
        /* whatever came before the loop: each socket read to EAGAIN once, or
         * its descriptor would wait for news that never comes */
        on_zap(loop, NULL, b);
        on_mon(loop, NULL, b);
        zloop_start(loop);
        sd_notify(0, "STOPPING=1");
        log_info("stopping");
        zloop_destroy(&loop);
        busd_stop(b);
        close(sig.fd);
        return 0;
}
