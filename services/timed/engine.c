/* engine.c - sources, polling, replies, selection and discipline, last known good time.
 * All network I/O is non-blocking UDP in the daemon's zloop; names are resolved
 * off the loop (common/resolve.c), so no handler ever waits for DNS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "nts.h"
#include "timed.h"
#include "util.h"

#define TICK_MS 250
#define RESOLVE_TIMEOUT_MS 30000
#define REPLY_TIMEOUT_NS 3000000000LL
#define UNREACH_MISSES 3
#define LKG_FILE "lkg.mp"

static const char *const state_names[] = {
        [SRC_INIT] = "init",           [SRC_SELECTED] = "selected",       [SRC_CANDIDATE] = "candidate",
        [SRC_FALSETICKER] = "falseticker", [SRC_UNREACHABLE] = "unreachable", [SRC_DENIED] = "denied",
        [SRC_UNAUTH] = "unauthenticated",
};

const char *timed_state_name(enum source_state s)
{
        return state_names[s];
}

static int64_t mono_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- sources -------------------------------------------------------------- */

static void source_close(struct timed_ctx *t, struct source *s)
{
        if (s->fd >= 0) {
                zmq_pollitem_t it = { NULL, s->fd, ZMQ_POLLIN, 0 };
                if (t->d && t->d->loop)
                        zloop_poller_end(t->d->loop, &it);
                close(s->fd);
        }
        timed_nts_detach(t, s);
        memset(s, 0, sizeof *s);
        s->fd = -1;
}

static void sources_clear(struct timed_ctx *t)
{
        for (int i = 0; i < TIMED_MAX_SOURCES; i++)
                source_close(t, &t->src[i]);
        t->n_src = 0;
        t->used_seq = 0;
}

static void engine_update(struct timed_ctx *t);

static int on_source_readable(zloop_t *loop, zmq_pollitem_t *item, void *arg);

static int source_open(struct timed_ctx *t, const char *server, bool nts, const struct addrinfo *ai)
{
        struct source *s = &t->src[t->n_src];
        char h[NI_MAXHOST], p[NI_MAXSERV];
        zmq_pollitem_t it = { NULL, -1, ZMQ_POLLIN, 0 };
        int one = 1;

        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV))
                return -EINVAL;
        for (int i = 0; i < t->n_src; i++)
                if (!strncmp(t->src[i].addr, h, strlen(h)) && t->src[i].sa.ss_family == ai->ai_family &&
                    !memcmp(&t->src[i].sa, ai->ai_addr, ai->ai_addrlen))
                        return 0; /* the same address twice */
        memset(s, 0, sizeof *s);
        snprintf(s->server, sizeof s->server, "%s", server);
        snprintf(s->addr, sizeof s->addr, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
        memcpy(&s->sa, ai->ai_addr, ai->ai_addrlen);
        s->salen = ai->ai_addrlen;
        s->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (s->fd < 0)
                return log_warn_errno(-errno, "source '%s': socket: %m", s->addr);
        /* kernel receive timestamps: the reply's arrival, not our wake-up */
        setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        /* connected: the kernel drops datagrams from any other address */
        if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                int r = log_warn_errno(-errno, "source '%s': connect: %m", s->addr);
                close(s->fd);
                s->fd = -1;
                return r;
        }
        it.fd = s->fd;
        if (zloop_poller(t->d->loop, &it, on_source_readable, t) < 0) {
                close(s->fd);
                s->fd = -1;
                return -ENOMEM;
        }
        zloop_poller_set_tolerant(t->d->loop, &it);
        if (nts && timed_nts_attach(t, s) < 0) {
                source_close(t, s);
                return -ENOMEM;
        }
        s->burst = TIMED_BURST;
        s->poll_s = t->sys_poll_s;
        s->next_poll_mono = mono_ns() + (int64_t)t->n_src * 50000000LL;
        t->n_src++;
        log_info("source %s (%s) added", s->addr, s->server);
        return 0;
}

/* ---- name resolution -------------------------------------------------------- */

static void lookups_cancel(struct timed_ctx *t, bool stopping)
{
        for (int i = 0; i < TIMED_MAX_SOURCES; i++)
                ds_resolve_cancel(&t->lk[i].r, stopping);
        t->lk_pending = 0;
}

/* One server's addresses, as they come: each becomes a source. */
static void on_resolved(void *ud, int err, const struct addrinfo *res)
{
        struct timed_lookup *l = ud;
        struct timed_ctx *t = l->t;

        l->r = NULL;
        t->lk_pending--;
        if (err)
                log_warn("server '%s': cannot resolve: %s", t->cfg.servers[l->idx], gai_strerror(err));
        for (const struct addrinfo *ai = err ? NULL : res; ai && t->n_src < TIMED_MAX_SOURCES; ai = ai->ai_next)
                source_open(t, t->cfg.servers[l->idx], t->cfg.server_nts[l->idx], ai);
        if (t->lk_pending == 0 && t->n_src == 0)
                log_warn("no usable NTP source among %d server(s)", t->cfg.n_servers);
}

static int resolve_start(struct timed_ctx *t)
{
        const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP };
        char host[256], port[16];
        int r, first = 0;

        lookups_cancel(t, false);
        for (int i = 0; i < t->cfg.n_servers && i < TIMED_MAX_SOURCES; i++) {
                struct timed_lookup *l = &t->lk[i];

                if (ntp_split_hostport(t->cfg.servers[i], host, sizeof host, port, sizeof port) < 0) {
                        log_warn("server '%s': not HOST[:PORT]", t->cfg.servers[i]);
                        continue;
                }
                *l = (struct timed_lookup){ .t = t, .idx = i };
                r = ds_resolve_start(t->d->loop, host, port, &hints, RESOLVE_TIMEOUT_MS, on_resolved, l, &l->r);
                if (r < 0) {
                        log_warn("server '%s': name resolution could not start: %s", t->cfg.servers[i], strerror(-r));
                        first = first ? first : r;
                        continue;
                }
                t->lk_pending++;
        }
        return t->lk_pending || !first ? 0 : first;
}

/* ---- polling ---------------------------------------------------------------- */

static void source_send(struct timed_ctx *t, struct source *s, int64_t now)
{
        uint8_t buf[NTS_PKT_MAX];
        uint64_t cookie = 0;
        int iv, len = NTP_PKT_LEN;

        if (s->cookie)
                s->missed++; /* the previous request went unanswered */
        while (!cookie)
                ds_random(&cookie, sizeof cookie);
        ntp_request_build(buf, cookie);
        if (s->nts)
                len = timed_nts_request(t, s, buf, sizeof buf);
        if (len < 0) { /* no keys or cookies yet: the key establishment is on its way */
                s->missed += len != -EAGAIN;
                s->next_poll_mono = now + 1000000000LL;
                return;
        }
        s->reach <<= 1;
        s->polls++;
        s->t1_mono = now;
        s->t1_ns = timed_now_ns(t);
        if (send(s->fd, buf, (size_t)len, MSG_DONTWAIT) == (ssize_t)len)
                s->cookie = cookie;
        else {
                s->cookie = 0;
                s->missed++;
                log_debug("source %s: send: %m", s->addr);
        }
        s->poll_s = t->sys_poll_s > s->min_poll_s ? t->sys_poll_s : s->min_poll_s;
        iv = s->poll_s;
        if (s->burst > 0) {
                s->burst--;
                iv = iv < 2 ? iv : 2;
        }
        s->next_poll_mono = now + (int64_t)iv * 1000000000LL;
}

void timed_poll_now(struct timed_ctx *t)
{
        int64_t now = mono_ns();

        for (int i = 0; i < t->n_src; i++) {
                struct source *s = &t->src[i];
                if (s->state != SRC_DENIED) {
                        s->burst = TIMED_BURST;
                        s->next_poll_mono = now;
                }
        }
}

/* ---- replies ------------------------------------------------------------------ */

static void on_verdict(struct timed_ctx *t, struct source *s, enum ntp_verdict v)
{
        s->drops[v]++;
        if (v >= NTP_KOD_RATE)
                s->cookie = 0; /* it answered our request: a copy of it later is a replay */
        if (v == NTP_KOD_RATE) {
                int p = (s->poll_s > t->cfg.poll_min_s ? s->poll_s : t->cfg.poll_min_s) * 2;
                s->min_poll_s = p > 2048 ? 2048 : p;
                s->burst = 0;
                log_warn("source %s: kiss RATE: polling every %d s at most", s->addr, s->min_poll_s);
        } else if (v == NTP_KOD_DENY) {
                s->state = SRC_DENIED;
                log_warn("source %s: kiss %s: not used any more", s->addr, s->last.refid);
        } else {
                log_debug("source %s: packet dropped: %s", s->addr, ntp_verdict_names[v]);
        }
}

static int on_source_readable(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct timed_ctx *t = arg;
        struct source *s = NULL;
        bool fresh = false;

        (void)loop;
        for (int i = 0; i < t->n_src; i++)
                if (t->src[i].fd == item->fd)
                        s = &t->src[i];
        if (!s)
                return 0;
        for (int k = 0; k < 32; k++) {
                uint8_t buf[NTS_PKT_MAX + 4];
                union {
                        char b[CMSG_SPACE(sizeof(struct timespec))];
                        struct cmsghdr align;
                } cm;
                struct iovec iov = { buf, sizeof buf };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                                     .msg_controllen = sizeof cm.b };
                struct timespec rx = { 0, 0 }, now_ts;
                struct ntp_sample smp;
                struct ntp_pkt p;
                enum ntp_verdict v;
                int64_t t4;
                ssize_t n;

                n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                                log_debug("source %s: recv: %m", s->addr); /* ICMP unreachable and such */
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        continue;
                }
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
                                memcpy(&rx, CMSG_DATA(c), sizeof rx);
                /* a stamp more than a second from now is not this packet's arrival on
                 * the clock we read (it stepped since; or libfaketime): take now */
                clock_gettime(CLOCK_REALTIME, &now_ts);
                if (rx.tv_sec == 0 || rx.tv_sec > now_ts.tv_sec + 1 || rx.tv_sec < now_ts.tv_sec - 1)
                        rx = now_ts;
                t4 = (int64_t)rx.tv_sec * 1000000000LL + rx.tv_nsec + t->corr_ns;
                if (s->state == SRC_DENIED)
                        continue;
                v = ntp_check(buf, (size_t)n, s->cookie, &p);
                if (s->nts && (v == NTP_OK || v >= NTP_KOD_RATE))
                        v = timed_nts_verdict(t, s, buf, (size_t)n, v);
                if (v == NTP_OK || v >= NTP_KOD_RATE)
                        s->last = p; /* it answered our request */
                if (v == NTP_OK) {
                        ntp_sample_compute(&p, s->t1_ns, t4, mono_ns(), &smp);
                        if (ntp_root_distance(p.root_delay, p.root_disp, smp.delay, smp.disp, 0) >
                            t->cfg.max_root_dist)
                                v = NTP_ROOT_DIST;
                }
                if (v != NTP_OK) {
                        on_verdict(t, s, v);
                        continue;
                }
                s->cookie = 0;
                s->rx_ok++;
                s->missed = 0;
                s->reach |= 1;
                ntp_filter_add(&s->filter, &smp);
                s->seq++;
                fresh = true;
                log_debug("source %s: offset %+.6f delay %.6f", s->addr, smp.offset, smp.delay);
        }
        if (fresh)
                engine_update(t);
        return 0;
}

/* ---- the clock ------------------------------------------------------------------ */

struct clock_req {
        struct timed_ctx *t;
        bool step;
        int64_t delta_ns;
        char reason[32];
        timed_step_fn cb;
        void *ud;
};

static void publish_time_changed(struct timed_ctx *t, int64_t old_ns, int64_t new_ns, int64_t delta_ns,
                                 const char *reason)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "old", old_ns / 1000000);
        mpw_kv_int(&w, "new", new_ns / 1000000);
        mpw_kv_double(&w, "delta", (double)delta_ns / 1e9);
        mpw_kv_int(&w, "delta_ns", delta_ns);
        mpw_kv_str(&w, "reason", reason);
        mpw_map_end(&w);
        ds_daemon_publish(t->d, "time.changed", &w);
        mpw_free(&w);
}

/* The clock moved by delta: what we measured before is now off by as much. */
static void clock_moved(struct timed_ctx *t, int64_t delta_ns, bool is_virtual)
{
        if (is_virtual)
                t->corr_ns += delta_ns;
        for (int i = 0; i < t->n_src; i++) {
                ntp_filter_shift(&t->src[i].filter, (double)delta_ns / 1e9);
                if (t->src[i].cookie)
                        t->src[i].t1_ns += delta_ns;
        }
}

static void on_clock_reply(void *ud, const struct bus_reply *rep)
{
        struct clock_req *q = ud;
        struct timed_ctx *t = q->t;
        int64_t delta = q->delta_ns, now, old;

        t->clock_busy = false;
        if (rep->code < 0) {
                t->clock_errors++;
                log_warn("clock %s of %+.6f s (%s) failed: %s: %s", q->step ? "step" : "slew",
                         (double)q->delta_ns / 1e9, q->reason, ds_err_name(rep->code), rep->err.msg);
                if (q->cb)
                        q->cb(t, q->ud, rep->code, rep, 0, 0);
                free(q);
                return;
        }
        if (rep->r)
                mp_to_int64(mp_get(rep->r, "delta_ns"), &delta);
        clock_moved(t, delta, rep->r && mp_get_bool(rep->r, "virtual", false));
        now = timed_now_ns(t);
        old = now - delta;
        if (q->step) {
                t->steps++;
                log_audit("security", LOG_LVL_NOTICE, t->d->identity, "time stepped by %+.6f s (%s)", (double)delta / 1e9,
                          q->reason);
                publish_time_changed(t, old, now, delta, q->reason);
        } else {
                t->slews++;
        }
        if (q->cb)
                q->cb(t, q->ud, 0, rep, old, delta);
        free(q);
}

static int clock_call(struct timed_ctx *t, bool step, int64_t delta_ns, const char *reason, timed_step_fn cb,
                      void *ud)
{
        struct clock_req *q;
        struct mpw w;
        int r;

        if (t->clock_busy)
                return -EBUSY;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (struct clock_req){ .t = t, .step = step, .delta_ns = delta_ns, .cb = cb, .ud = ud };
        snprintf(q->reason, sizeof q->reason, "%s", reason);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "delta_ns", delta_ns);
        if (step && delta_ns < 0)
                mpw_kv_bool(&w, "backward", true); /* decided here, and published: never silent */
        mpw_kv_str(&w, "reason", reason);
        mpw_map_end(&w);
        r = bus_call(t->d->bus, t->cfg.clock_svc, step ? "clock.step" : "clock.adjust", &w, NULL, 5000,
                     on_clock_reply, q);
        mpw_free(&w);
        if (r < 0) {
                free(q);
                return r;
        }
        t->clock_busy = true;
        return 0;
}

int timed_clock_step(struct timed_ctx *t, int64_t to_ns, const char *reason, timed_step_fn cb, void *ud)
{
        /* relative: the clock process's own idea of now may differ from ours by its latency */
        return clock_call(t, true, to_ns - timed_now_ns(t), reason, cb, ud);
}

/* ---- selection and discipline ------------------------------------------------------ */

static void engine_update(struct timed_ctx *t)
{
        struct ntp_cand c[TIMED_MAX_SOURCES];
        int idx[TIMED_MAX_SOURCES], n = 0, best = -1, surv;
        int64_t now = mono_ns(), off_ns;
        uint64_t seq = 0;
        double off = 0;

        for (int i = 0; i < t->n_src; i++) {
                struct source *s = &t->src[i];
                struct ntp_sample b;

                s->have_best = ntp_filter_best(&s->filter, now, &b, &s->jitter, &s->disp) == 0;
                if (s->have_best) {
                        s->offset = b.offset;
                        s->delay = b.delay;
                        s->rootdist = ntp_root_distance(s->last.root_delay, s->last.root_disp, s->delay, s->disp,
                                                        s->jitter);
                }
                if (s->state == SRC_DENIED)
                        continue;
                if (!s->nts && t->n_nts && !t->cfg.nts_mix) {
                        s->state = SRC_UNAUTH; /* never mixed with authenticated time */
                        continue;
                }
                if (s->missed >= UNREACH_MISSES) {
                        s->state = SRC_UNREACHABLE;
                        continue;
                }
                if (!s->have_best || s->rootdist > t->cfg.max_root_dist) {
                        s->state = SRC_INIT;
                        continue;
                }
                c[n] = (struct ntp_cand){ .offset = s->offset, .rootdist = s->rootdist };
                idx[n++] = i;
        }
        if (!t->cfg.ntp_enabled) {
                t->sync_state = "disabled";
                return;
        }
        if (n == 0) {
                t->sync_state = t->n_src ? "unsynchronised" : "no-sources";
                return;
        }
        /* the first update waits for every source to answer or to miss twice:
         * stepping on whichever reply came first would trust a falseticker */
        if (t->updates == 0)
                for (int i = 0; i < t->n_src; i++)
                        if (t->src[i].state != SRC_DENIED && t->src[i].state != SRC_UNAUTH && !t->src[i].have_best &&
                            t->src[i].missed < 2) {
                                t->sync_state = "starting";
                                return;
                        }
        surv = ntp_select(c, n, &off, &best);
        for (int k = 0; k < n; k++) {
                struct source *s = &t->src[idx[k]];
                s->state = !c[k].truechimer ? SRC_FALSETICKER : k == best ? SRC_SELECTED : SRC_CANDIDATE;
                if (c[k].truechimer)
                        seq += s->seq;
        }
        t->n_survivors = surv;
        if (surv == 0) {
                t->sync_state = "no-majority";
                return;
        }
        if (surv < t->cfg.minsources) {
                for (int k = 0; k < n; k++)
                        if (c[k].truechimer)
                                t->src[idx[k]].state = SRC_CANDIDATE;
                t->sync_state = "too-few-sources";
                return;
        }
        if (seq == t->used_seq || t->clock_busy)
                return; /* nothing new since the last update */
        t->used_seq = seq;
        t->sys_offset = off;
        t->sys_jitter = t->src[idx[best]].jitter;
        off_ns = (int64_t)(off * 1e9 + (off < 0 ? -0.5 : 0.5));
        if (llabs(off_ns) > t->cfg.step_threshold_ns && (t->updates < (unsigned)t->cfg.step_limit || t->cfg.step_always)) {
                if (clock_call(t, true, off_ns, t->updates < (unsigned)t->cfg.step_limit ? "ntp-initial" : "ntp",
                               NULL, NULL) < 0)
                        return;
        } else {
                if (off_ns > t->cfg.max_slew_ns)
                        off_ns = t->cfg.max_slew_ns;
                if (off_ns < -t->cfg.max_slew_ns)
                        off_ns = -t->cfg.max_slew_ns;
                if (clock_call(t, false, off_ns, "ntp", NULL, NULL) < 0)
                        return;
        }
        t->updates++;
        t->last_update_ms = timed_now_ns(t) / 1000000;
        t->sync_state = "synchronised";
        /* adaptive poll: a quiet clock is polled less often, a noisy one more */
        if ((off < 0 ? -off : off) <= 4 * t->sys_jitter + 0.001) {
                if (++t->good_updates >= 4 && t->sys_poll_s < t->cfg.poll_max_s) {
                        t->sys_poll_s = t->sys_poll_s * 2 > t->cfg.poll_max_s ? t->cfg.poll_max_s : t->sys_poll_s * 2;
                        t->good_updates = 0;
                }
        } else {
                t->good_updates = 0;
                t->sys_poll_s = t->sys_poll_s / 2 < t->cfg.poll_min_s ? t->cfg.poll_min_s : t->sys_poll_s / 2;
        }
}

/* ---- last known good time -------------------------------------------------------------- */

static void lkg_save(struct timed_ctx *t)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "time_ms", timed_now_ns(t) / 1000000);
        mpw_map_end(&w);
        r = ds_daemon_save(t->d, LKG_FILE, mpw_data(&w), mpw_len(&w));
        if (r < 0)
                log_warn_errno(r, "cannot save the last known good time: %m");
        mpw_free(&w);
}

static void on_lkg_step(struct timed_ctx *t, void *ud, int code, const struct bus_reply *rep, int64_t old_ns,
                        int64_t delta_ns)
{
        (void)ud;
        (void)old_ns;
        (void)delta_ns;
        if (code == -DS_EUNAVAIL || code == -ETIMEDOUT || code == -EBUSY) {
                t->lkg_retry_mono = mono_ns() + 1000000000LL; /* the clock process is not up yet */
                return;
        }
        t->lkg_pending = false;
        if (code < 0)
                log_err("the clock stays behind the last known good time: %s", rep->err.msg);
}

static void lkg_check(struct timed_ctx *t, int64_t now)
{
        if (!t->lkg_pending || t->clock_busy || now < t->lkg_retry_mono)
                return;
        if (timed_now_ns(t) / 1000000 >= t->lkg_target_ms) {
                t->lkg_pending = false;
                return;
        }
        t->lkg_retry_mono = now + 1000000000LL;
        timed_clock_step(t, t->lkg_target_ms * 1000000, "last-known-good", on_lkg_step, NULL);
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct timed_ctx *t = arg;
        int64_t now = mono_ns();

        (void)loop;
        (void)timer_id;
        lkg_check(t, now);
        for (int i = 0; i < t->n_src; i++) {
                struct source *s = &t->src[i];
                if (s->state == SRC_DENIED || s->fd < 0)
                        continue;
                if (s->cookie && now - s->t1_mono > REPLY_TIMEOUT_NS) {
                        s->cookie = 0; /* a reply after this is late, and dropped as such */
                        s->missed++;
                }
                if (now >= s->next_poll_mono)
                        source_send(t, s, now);
        }
        engine_update(t);
        return 0;
}

static int on_save(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        lkg_save(arg);
        timed_nts_save(arg, false);
        return 0;
}

/* ---- wiring ------------------------------------------------------------------------------ */

int timed_engine_apply(struct timed_ctx *t, const struct timed_cfg *old)
{
        bool servers_changed = !old || old->n_servers != t->cfg.n_servers ||
                               old->ntp_enabled != t->cfg.ntp_enabled ||
                               memcmp(old->servers, t->cfg.servers, sizeof old->servers) != 0 ||
                               memcmp(old->server_nts, t->cfg.server_nts, sizeof old->server_nts) != 0 ||
                               strcmp(old->nts_ca, t->cfg.nts_ca) != 0;

        if (t->sys_poll_s < t->cfg.poll_min_s || !t->sys_poll_s)
                t->sys_poll_s = t->cfg.poll_min_s;
        if (t->sys_poll_s > t->cfg.poll_max_s)
                t->sys_poll_s = t->cfg.poll_max_s;
        if (!t->started)
                return 0;
        if (old && old->save_interval_s != t->cfg.save_interval_s) {
                zloop_timer_end(t->d->loop, t->save_timer);
                t->save_timer = zloop_timer(t->d->loop, (size_t)t->cfg.save_interval_s * 1000, 0, on_save, t);
        }
        if (!servers_changed)
                return 0;
        lookups_cancel(t, false);
        sources_clear(t);
        t->updates = 0;
        t->sync_state = t->cfg.ntp_enabled ? "starting" : "disabled";
        if (t->cfg.ntp_enabled)
                return resolve_start(t);
        log_notice("NTP disabled: no sources are polled");
        return 0;
}

int timed_engine_start(struct timed_ctx *t)
{
        char *buf = NULL;
        size_t len;
        msgpack_unpacked u;
        const char *why;

        for (int i = 0; i < TIMED_MAX_SOURCES; i++)
                t->src[i].fd = -1;
        t->started = true;
        t->sync_state = t->cfg.ntp_enabled ? "starting" : "disabled";
        if (ds_daemon_load(t->d, LKG_FILE, 4096, &buf, &len) == 0 &&
            mp_decode(buf, len, NULL, &u, &why) == 0) {
                t->lkg_target_ms = mp_get_int(&u.data, "time_ms", 0);
                msgpack_unpacked_destroy(&u);
                if (timed_now_ns(t) / 1000000 < t->lkg_target_ms) {
                        log_warn("the clock is behind the last known good time by %.3f s: stepping forward",
                                 (double)(t->lkg_target_ms - timed_now_ns(t) / 1000000) / 1e3);
                        t->lkg_pending = true;
                }
        }
        free(buf);
        t->tick_timer = zloop_timer(t->d->loop, TICK_MS, 0, on_tick, t);
        t->save_timer = zloop_timer(t->d->loop, (size_t)t->cfg.save_interval_s * 1000, 0, on_save, t);
        if (t->tick_timer < 0 || t->save_timer < 0)
                return -ENOMEM;
        lkg_check(t, mono_ns());
        return t->cfg.ntp_enabled ? resolve_start(t) : 0;
}

void timed_engine_stop(struct timed_ctx *t)
{
        lkg_save(t);
        timed_nts_save(t, true);
        sources_clear(t);
        lookups_cancel(t, true); /* stopping: await a lookup glibc still runs */
}
