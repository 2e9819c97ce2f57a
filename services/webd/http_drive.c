/* http_drive.c - libmicrohttpd run from the daemon's zloop: a listener's
 * MHD_run() when its epoll fd is ready, again while MHD has more to do, and
 * on the loop's next turn after a suspended connection was resumed. */
#include "webd.h"

static int on_again(zloop_t *loop, int timer, void *arg)
{
        struct webd_listener *l = arg;

        (void)loop;
        (void)timer;
        l->again_timer = -1;
        webd_http_drive(l);
        return 0;
}

/* MHD's epoll is edge-triggered: one MHD_run() serves each ready connection
 * once (one read), and a connection with more input waiting (a large upload,
 * a TLS record GnuTLS holds) raises no new edge on the daemon's epoll fd. MHD
 * says so with a timeout of 0: run it again at once, a bounded number of
 * times so the bus is not starved, then from a 0 ms timer (the next turn of
 * the loop, after its other sockets). Without this a
 * 2 MiB upload advanced one read per 250 ms tick and a chunked body over the
 * limit was cut off only after the client had given up. */
void webd_http_drive(struct webd_listener *l)
{
        MHD_UNSIGNED_LONG_LONG t;

        for (int i = 0; i < 64; i++) {
                if (!l->mhd)
                        return;
                MHD_run(l->mhd);
                if (MHD_get_timeout(l->mhd, &t) != MHD_YES || t > 0)
                        return;
        }
        if (l->again_timer < 0)
                l->again_timer = zloop_timer(l->x->d->loop, 0, 1, on_again, l);
}

/* After MHD_resume_connection(): MHD picks a resumed connection up on its
 * next run, and nothing on its epoll fd says so. A 0 ms timer (the loop's
 * next turn, not a 1 ms wait: that was most of an API call's round trip), not
 * a run here: a resume may come from inside MHD's own callbacks. */
void webd_http_kick(struct webd_ctx *x)
{
        for (size_t i = 0; i < x->n_lst; i++) {
                struct webd_listener *l = &x->lst[i];
                if (l->mhd && l->again_timer < 0)
                        l->again_timer = zloop_timer(x->d->loop, 0, 1, on_again, l);
        }
}
