/* svc_loop.c - the loop parts every daemon shares, busd included: signals
 * from a signalfd (SIGHUP reloads, SIGTERM/SIGINT stop) and the systemd
 * watchdog timer */
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

static int on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct ds_signals *s = arg;
        struct signalfd_siginfo si;

        (void)loop;
        (void)item;
        if (read(s->fd, &si, sizeof si) != sizeof si)
                return 0;
        if (si.ssi_signo == SIGHUP) {
                sd_notify(0, "RELOADING=1");
                if (s->reload)
                        s->reload(s->ud);
                sd_notify(0, "READY=1");
                return 0;
        }
        log_info("signal %d: stopping", (int)si.ssi_signo);
        s->stopping = true;
        return -1;
}

int ds_loop_signals(zloop_t *loop, struct ds_signals *s)
{
        zmq_pollitem_t it = { NULL, s->fd, ZMQ_POLLIN, 0 };

        return zloop_poller(loop, &it, on_signal, s) < 0 ? -ENOMEM : 0;
}

static int on_watchdog(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        (void)arg;
        sd_notify(0, "WATCHDOG=1");
        return 0;
}

int ds_loop_watchdog(zloop_t *loop)
{
        uint64_t wd_usec = 0;

        if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000) {
                on_watchdog(loop, 0, NULL);
                if (zloop_timer(loop, (size_t)(wd_usec / 2000), 0, on_watchdog, NULL) < 0)
                        return -ENOMEM;
        }
        return 0;
}
