/* resolve.c - asynchronous name resolution on a zloop; see resolve.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolve.h"
#include "util.h"

#define POLL_FIRST_MS 5
#define POLL_MAX_MS   50

struct ds_resolve {
        zloop_t *loop;
        ds_resolve_fn *cb; /* NULL once cancelled: only freeing is left */
        void *ud;
        int timer;
        size_t poll_ms;
        int64_t deadline_ms;
        bool queued; /* glibc owns cb until gai_error() says it is done */
        int err;     /* numeric answers and start failures */
        struct addrinfo hints;
        struct gaicb gcb, *list[1];
        struct addrinfo *numeric;
        char host[256], port[32];
};

static void free_it(ds_resolve_t *r)
{
        if (r->gcb.ar_result)
                freeaddrinfo(r->gcb.ar_result);
        if (r->numeric)
                freeaddrinfo(r->numeric);
        free(r);
}

static void deliver(ds_resolve_t *r, int err, const struct addrinfo *ai)
{
        ds_resolve_fn *cb = r->cb;

        r->cb = NULL;
        if (cb)
                cb(r->ud, err, ai);
}

static int on_poll(zloop_t *loop, int timer_id, void *arg)
{
        ds_resolve_t *r = arg;
        int e;

        (void)timer_id;
        r->timer = -1; /* one-shot: a fired timer is gone */
        if (!r->queued) {
                deliver(r, r->err, r->numeric);
                free_it(r);
                return 0;
        }
        e = gai_error(&r->gcb);
        if (e == EAI_INPROGRESS) {
                if (r->cb && ds_now_mono_ms() >= r->deadline_ms)
                        deliver(r, EAI_AGAIN, NULL); /* glibc keeps the request: poll on until it is done */
                r->poll_ms = r->poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : r->poll_ms * 2;
                /* on failure glibc's request is left alone (leaked), never freed under it */
                r->timer = zloop_timer(loop, r->poll_ms, 1, on_poll, r);
                return 0;
        }
        deliver(r, e, e ? NULL : r->gcb.ar_result);
        free_it(r);
        return 0;
}

int ds_resolve_start(zloop_t *loop, const char *host, const char *port, const struct addrinfo *hints, int timeout_ms,
                     ds_resolve_fn *cb, void *ud, ds_resolve_t **ret)
{
        ds_resolve_t *r;
        struct addrinfo h;
        int e;

        if (strlen(host) >= sizeof r->host || (port && strlen(port) >= sizeof r->port))
                return -ENAMETOOLONG;
        if (!(r = calloc(1, sizeof *r)))
                return -ENOMEM;
        *r = (struct ds_resolve){.loop = loop,
                                 .cb = cb,
                                 .ud = ud,
                                 .poll_ms = POLL_FIRST_MS,
                                 .deadline_ms = ds_now_mono_ms() + timeout_ms};
        memcpy(r->host, host, strlen(host) + 1);
        if (port)
                memcpy(r->port, port, strlen(port) + 1);
        if (hints)
                r->hints = *hints;
        h = r->hints;
        h.ai_flags |= AI_NUMERICHOST;
        e = getaddrinfo(r->host, port ? r->port : NULL, &h, &r->numeric);
        if (e == EAI_NONAME && !(r->hints.ai_flags & AI_NUMERICHOST)) {
                r->gcb = (struct gaicb){
                        .ar_name = r->host, .ar_service = port ? r->port : NULL, .ar_request = &r->hints};
                r->list[0] = &r->gcb;
                if (getaddrinfo_a(GAI_NOWAIT, r->list, 1, NULL) != 0) {
                        free(r);
                        return -EAGAIN;
                }
                r->queued = true;
        } else {
                r->err = e; /* answered now, called back on the loop's next turn */
                r->poll_ms = 0;
        }
        r->timer = zloop_timer(loop, r->poll_ms, 1, on_poll, r);
        if (r->timer < 0) {
                ds_resolve_cancel(&r, true);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

void ds_resolve_cancel(ds_resolve_t **rp, bool wait)
{
        ds_resolve_t *r = rp ? *rp : NULL;
        const struct timespec ts = {2, 0};

        if (!r)
                return;
        *rp = NULL;
        r->cb = NULL;
        if (r->queued && gai_cancel(&r->gcb) == EAI_NOTCANCELED) {
                if (!wait)
                        return; /* its timer frees it once glibc is done */
                const struct gaicb *const l[1] = {&r->gcb};
                gai_suspend(l, 1, &ts);
                if (gai_error(&r->gcb) == EAI_INPROGRESS)
                        return; /* still glibc's: leak it rather than free what it writes */
        }
        if (r->timer >= 0)
                zloop_timer_end(r->loop, r->timer);
        free_it(r);
}
