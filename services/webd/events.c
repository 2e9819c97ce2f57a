/* events.c - Server-Sent Events: one bus connection per stream, subscribed
 * under that browser session's token, so busd makes the one authority check
 * (at the subscription, at each delivery, and when the session ends). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "webd.h"

#define STREAM_BUF_MAX (256 * 1024)
#define STREAM_PING_MS 15000

struct webd_stream {
        struct webd_stream *next, **pprev;
        struct webd_ctx *x;
        struct MHD_Connection *conn;
        bus_t *bus;
        char *buf;
        size_t len, cap;
        bool suspended, closed;
        int timer;
        int64_t last_ms;
        uint64_t dropped;
};

static void wake(struct webd_stream *s)
{
        if (s->suspended) {
                s->suspended = false;
                MHD_resume_connection(s->conn);
                webd_http_kick(s->x);
        }
}

static void append(struct webd_stream *s, const char *text, size_t n)
{
        if (s->len + n > STREAM_BUF_MAX) {
                s->dropped++;
                return;
        }
        if (s->len + n > s->cap) {
                size_t cap = s->cap ? s->cap : 4096;
                char *nb;
                while (cap < s->len + n)
                        cap *= 2;
                nb = realloc(s->buf, cap);
                if (!nb) {
                        s->dropped++;
                        return;
                }
                s->buf = nb;
                s->cap = cap;
        }
        memcpy(s->buf + s->len, text, n);
        s->len += n;
        s->last_ms = ds_now_mono_ms();
        wake(s);
}

static void on_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct webd_stream *s = ud;
        char *d = data ? ds_json_dumps(data) : NULL, *line = NULL;
        int n;

        if (s->closed)
                goto out;
        /* topics and identities are names: no newline can reach the stream */
        n = asprintf(&line, "event: bus\ndata: {\"topic\":\"%s\",\"src\":\"%s\",\"ts\":%lld,\"data\":%s}\n\n", topic,
                     src ? src : "", (long long)ts, d ? d : "null");
        if (n > 0 && !strpbrk(topic, "\r\n\"\\") && (!src || !strpbrk(src, "\r\n\"\\")))
                append(s, line, (size_t)n);
out:
        free(line);
        free(d);
}

static void end_stream(struct webd_stream *s, const char *code, const char *msg)
{
        char *line = NULL;
        int n;

        if (s->closed)
                return;
        n = asprintf(&line, "event: end\ndata: {\"code\":\"%s\",\"msg\":\"%s\"}\n\n", code, msg);
        s->closed = true;
        if (n > 0) {
                s->len = 0;
                append(s, line, (size_t)n);
        }
        free(line);
        wake(s);
}

static int on_tick(zloop_t *loop, int timer, void *arg)
{
        struct webd_stream *s = arg;
        struct ds_err e = { 0 };

        (void)loop;
        (void)timer;
        if (!s->closed && bus_subscription_error(s->bus, &e) != 0)
                end_stream(s, ds_err_name(e.code), "the subscription ended");
        else if (!s->closed && ds_now_mono_ms() - s->last_ms > STREAM_PING_MS)
                append(s, ": ping\n\n", 8); /* finds a client that went away */
        return 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct webd_stream *s = cls;
        size_t n;

        (void)pos;
        if (!s->len) {
                if (s->closed)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                s->suspended = true;
                MHD_suspend_connection(s->conn);
                return 0;
        }
        n = s->len < max ? s->len : max;
        memcpy(buf, s->buf, n);
        memmove(s->buf, s->buf + n, s->len - n);
        s->len -= n;
        return (ssize_t)n;
}

static void stream_free(void *cls)
{
        struct webd_stream *s = cls;

        *s->pprev = s->next;
        if (s->next)
                s->next->pprev = s->pprev;
        s->x->n_streams--;
        if (s->timer >= 0)
                zloop_timer_end(s->x->d->loop, s->timer);
        bus_destroy(&s->bus);
        free(s->buf);
        free(s);
}

void webd_streams_close(struct webd_ctx *x)
{
        for (struct webd_stream *s = x->streams; s; s = s->next)
                end_stream(s, "EUNAVAIL", "the server is closing this listener");
        for (size_t i = 0; i < x->n_lst; i++)
                if (x->lst[i].mhd)
                        MHD_run(x->lst[i].mhd);
}

enum MHD_Result webd_events(struct webd_req *q, const char *tok, const char *topic)
{
        struct webd_ctx *x = q->x;
        struct webd_stream *s;
        struct bus_reply rep;
        struct MHD_Response *r;
        enum MHD_Result ret;
        int err = 0;

        if (strlen(topic) > BUS_TOPIC_MAX || strpbrk(topic, "\r\n\"\\"))
                return webd_reply_error(q->conn, MHD_HTTP_BAD_REQUEST, "EINVAL", "topic", "not a topic prefix");
        if (x->n_streams >= (unsigned)x->max_streams)
                return webd_reply_error(q->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "EBUSY", NULL, "too many event streams");
        s = calloc(1, sizeof *s);
        if (!s)
                return MHD_NO;
        s->x = x;
        s->conn = q->conn;
        s->timer = -1;
        s->last_ms = ds_now_mono_ms();
        s->bus = bus_new(&x->d->paths, x->gw_identity, &err);
        if (!s->bus) {
                free(s);
                return webd_reply_error(q->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "EUNAVAIL", NULL, "the bus is not reachable");
        }
        /* busd checks the session and the topic's authority */
        if (bus_subscribe_session(s->bus, topic, tok, on_event, s, 3000, &rep) < 0) {
                char *body = NULL;
                unsigned st = rep.code == -DS_EAUTH ? MHD_HTTP_UNAUTHORIZED
                              : rep.code == -EPERM  ? MHD_HTTP_FORBIDDEN
                              : rep.code == -EINVAL ? MHD_HTTP_BAD_REQUEST
                                                    : MHD_HTTP_SERVICE_UNAVAILABLE;
                if (asprintf(&body, "{\"ok\":false,\"error\":{\"code\":\"%s\",\"msg\":\"subscription refused\",\"field\":\"topic\"}}",
                             ds_err_name(rep.code)) < 0)
                        body = NULL;
                bus_reply_free(&rep);
                bus_destroy(&s->bus);
                free(s);
                return webd_reply_json(q->conn, st, body, NULL);
        }
        bus_reply_free(&rep);
        if (bus_attach(s->bus, x->d->loop) < 0 ||
            (s->timer = zloop_timer(x->d->loop, 1000, 0, on_tick, s)) < 0) {
                bus_destroy(&s->bus);
                free(s);
                return MHD_NO;
        }
        s->next = x->streams;
        if (x->streams)
                x->streams->pprev = &s->next;
        s->pprev = &x->streams;
        x->streams = s;
        x->n_streams++;
        append(s, ": ready\n\n", 9);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s, stream_free);
        if (!r) {
                stream_free(s);
                return MHD_NO;
        }
        webd_add_headers(r, true);
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        ret = MHD_queue_response(q->conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}
