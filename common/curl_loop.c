/* curl_loop.c - libcurl multi on a zloop (curl_multi_socket_action); see curl_loop.h */
#include <errno.h>

#include "curl_loop.h"

static int on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct ds_curl_loop *c = arg;
        int flags = 0, running;

        (void)loop;
        if (item->revents & ZMQ_POLLIN)
                flags |= CURL_CSELECT_IN;
        if (item->revents & ZMQ_POLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (item->revents & ZMQ_POLLERR)
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, item->fd, flags, &running);
        c->check(c->ud);
        return 0;
}

/* curl says which events a socket needs now (or that it is done with it) */
static int on_sock(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
        struct ds_curl_loop *c = userp;
        zmq_pollitem_t it = { NULL, s, 0, 0 };

        (void)e;
        (void)socketp;
        if (!*c->loop)
                return -1;
        zloop_poller_end(*c->loop, &it);
        if (what == CURL_POLL_REMOVE)
                return 0;
        if (what & CURL_POLL_IN)
                it.events |= ZMQ_POLLIN;
        if (what & CURL_POLL_OUT)
                it.events |= ZMQ_POLLOUT;
        if (zloop_poller(*c->loop, &it, on_fd, c) < 0)
                return -1;
        zloop_poller_set_tolerant(*c->loop, &it);
        return 0;
}

static int on_timeout(zloop_t *loop, int timer_id, void *arg)
{
        struct ds_curl_loop *c = arg;
        int running;

        (void)loop;
        (void)timer_id;
        c->timer = -1;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        c->check(c->ud);
        return 0;
}

/* curl's one timer: -1 stops it, 0 means "as soon as you can" */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
        struct ds_curl_loop *c = userp;

        (void)m;
        if (!*c->loop)
                return -1;
        if (c->timer >= 0) {
                zloop_timer_end(*c->loop, c->timer);
                c->timer = -1;
        }
        if (timeout_ms >= 0)
                /* 0: zloop polls without waiting (a 1 ms floor would cost a
                 * millisecond per step of an SFTP transfer) */
                c->timer = zloop_timer(*c->loop, (size_t)timeout_ms, 1, on_timeout, c);
        return 0;
}

static int open_multi(struct ds_curl_loop *c)
{
        if (!(c->multi = curl_multi_init()))
                return -ENOMEM;
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_sock);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        return 0;
}

int ds_curl_loop_init(struct ds_curl_loop *c, zloop_t *const *loop, void (*check)(void *ud), void *ud)
{
        *c = (struct ds_curl_loop){ .loop = loop, .timer = -1, .check = check, .ud = ud };
        return open_multi(c);
}

void ds_curl_loop_prepare(struct ds_curl_loop *c, zloop_t *const *loop, void (*check)(void *ud), void *ud)
{
        *c = (struct ds_curl_loop){ .loop = loop, .timer = -1, .check = check, .ud = ud };
}

int ds_curl_loop_open(struct ds_curl_loop *c)
{
        if (c->multi)
                return 0;
        if (!c->global) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -ENOMEM;
                c->global = true;
        }
        return open_multi(c);
}

void ds_curl_loop_fini(struct ds_curl_loop *c)
{
        if (c->multi)
                curl_multi_cleanup(c->multi);
        c->multi = NULL;
        if (c->global)
                curl_global_cleanup();
        c->global = false;
        if (c->timer >= 0 && c->loop && *c->loop)
                zloop_timer_end(*c->loop, c->timer);
        c->timer = -1;
}
