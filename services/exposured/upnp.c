/* upnp.c - what the LAN's UPnP IGD forwards to this device. libminiupnpc's
 * calls block (SSDP wait, HTTP/SOAP), so a check runs in a child process
 * that writes one msgpack map to a pipe and exits; the loop reads it and
 * kills the child when it outlives timeout_s. devsec never adds a mapping:
 * it lists them and, when an operator asks, deletes one. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exposured.h"
#include "log.h"
#include "util.h"

#define CHILD_ANSWER_MAX (1u << 20)

/* ---- the child ------------------------------------------------------------ */

static bool is_local_addr(const char *a, const char *lan)
{
        struct ifaddrs *ifs, *i;
        bool found = false;

        if (lan[0] && !strcmp(a, lan))
                return true;
        if (getifaddrs(&ifs) < 0)
                return false;
        for (i = ifs; i && !found; i = i->ifa_next) {
                char buf[EXP_ADDR_MAX];
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
                        continue;
                if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf) &&
                    !strcmp(buf, a))
                        found = true;
        }
        freeifaddrs(ifs);
        return found;
}

static void list_mappings(const struct UPNPUrls *u, const struct IGDdatas *d, const char *lan, struct exp_igd *g)
{
        g->n_maps = 0;
        g->n_total = 0;
        for (int i = 0; i < 4096; i++) {
                char idx[16], ext[16] = "", client[64] = "", in[16] = "", proto[8] = "", desc[96] = "", en[8] = "",
                                  rhost[72] = "", dur[24] = "";
                struct exp_mapping *m;
                enum exp_proto p;

                snprintf(idx, sizeof idx, "%d", i);
                if (UPNP_GetGenericPortMappingEntry(u->controlURL, d->first.servicetype, idx, ext, client, in, proto,
                                                    desc, en, rhost, dur) != UPNPCOMMAND_SUCCESS)
                        break; /* 713 SpecifiedArrayIndexInvalid: the end of the list */
                g->n_total++;
                if (!is_local_addr(client, lan) || exp_proto_parse(proto, strlen(proto), &p) < 0)
                        continue;
                if (g->n_maps >= EXP_MAP_MAX) {
                        g->truncated = true;
                        continue;
                }
                m = &g->maps[g->n_maps++];
                memset(m, 0, sizeof *m);
                m->proto = p;
                m->ext_port = atoi(ext);
                m->int_port = atoi(in);
                snprintf(m->client, sizeof m->client, "%.*s", (int)sizeof m->client - 1, client);
                snprintf(m->desc, sizeof m->desc, "%.*s", (int)sizeof m->desc - 1, desc);
                snprintf(m->remote, sizeof m->remote, "%.*s", (int)sizeof m->remote - 1, rhost);
                m->enabled = strcmp(en, "0") != 0;
                m->duration = atoi(dur);
        }
}

static void unmap(const struct exp_upnp_job *job, const struct UPNPUrls *u, const struct IGDdatas *d,
                  struct exp_igd *g)
{
        char port[16];
        int r;

        for (size_t i = 0; i < g->n_maps; i++) {
                const struct exp_mapping *m = &g->maps[i];
                if (m->proto != job->unmap_proto || m->ext_port != job->unmap_port)
                        continue;
                snprintf(port, sizeof port, "%d", job->unmap_port);
                r = UPNP_DeletePortMapping(u->controlURL, d->first.servicetype, port, job->unmap_proto == EXP_UDP ? "UDP" : "TCP",
                                           m->remote[0] ? m->remote : NULL);
                if (r == UPNPCOMMAND_SUCCESS)
                        g->unmapped = true;
                else
                        snprintf(g->unmap_error, sizeof g->unmap_error, "the IGD refused the deletion: %d %s", r,
                                 strupnperror(r) ? strupnperror(r) : "");
                return;
        }
        snprintf(g->unmap_error, sizeof g->unmap_error, "the router forwards no %s %d to this device",
                 exp_proto_name(job->unmap_proto), job->unmap_port);
}

void exp_upnp_child(const struct exp_upnp_job *job, int fd)
{
        static struct exp_igd g;
        struct UPNPUrls u = { 0 };
        struct IGDdatas d;
        struct UPNPDev *devs = NULL;
        char lan[64] = "";
        int r = 0, err = 0;
        struct mpw w;
        const char *p;
        size_t left;

        memset(&d, 0, sizeof d);
        memset(&g, 0, sizeof g);
        if (job->igd_url[0]) {
                r = UPNP_GetIGDFromUrl(job->igd_url, &u, &d, lan, sizeof lan) ? 1 : 0;
                if (!r)
                        snprintf(g.reason, sizeof g.reason, "no IGD description at '%.100s'", job->igd_url);
        } else if (!(devs = upnpDiscover(job->discover_ms, job->mcast_if[0] ? job->mcast_if : NULL, NULL, 0, 0, 2, &err))) {
                snprintf(g.reason, sizeof g.reason, "no UPnP device answered the SSDP discovery within %d ms",
                         job->discover_ms);
        } else {
                r = UPNP_GetValidIGD(devs, &u, &d, lan, sizeof lan);
                if (r == 0 || r == 3)
                        snprintf(g.reason, sizeof g.reason, "UPnP devices answered, but none is an Internet gateway (IGD)");
        }
        if (r == 1 || r == 2) {
                char ext[64] = "", status[64] = "", lasterr[64] = "";
                unsigned up = 0;

                g.state = EXP_IGD_FOUND;
                snprintf(g.url, sizeof g.url, "%.*s", (int)sizeof g.url - 1, u.rootdescURL ? u.rootdescURL : "");
                snprintf(g.lan_addr, sizeof g.lan_addr, "%.*s", (int)sizeof g.lan_addr - 1, lan);
                if (UPNP_GetExternalIPAddress(u.controlURL, d.first.servicetype, ext) == UPNPCOMMAND_SUCCESS)
                        snprintf(g.ext_addr, sizeof g.ext_addr, "%.*s", (int)sizeof g.ext_addr - 1, ext);
                if (UPNP_GetStatusInfo(u.controlURL, d.first.servicetype, status, &up, lasterr) == UPNPCOMMAND_SUCCESS) {
                        snprintf(g.status, sizeof g.status, "%.*s", (int)sizeof g.status - 1, status);
                        snprintf(g.last_error, sizeof g.last_error, "%.*s", (int)sizeof g.last_error - 1, lasterr);
                        g.uptime = up;
                }
                g.connected = r == 1 || !strcmp(g.status, "Connected");
                list_mappings(&u, &d, lan, &g);
                if (job->unmap) {
                        unmap(job, &u, &d, &g);
                        if (g.unmapped)
                                list_mappings(&u, &d, lan, &g);
                }
        } else {
                g.state = EXP_IGD_NONE;
        }
        if (devs)
                freeUPNPDevlist(devs);
        FreeUPNPUrls(&u);
        mpw_init(&w);
        exp_igd_write(&g, &w);
        for (p = mpw_data(&w), left = mpw_len(&w); left;) {
                ssize_t k = write(fd, p, left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                p += k;
                left -= (size_t)k;
        }
        mpw_free(&w);
}

/* ---- the result as msgpack (child -> loop) --------------------------------- */

static const char *const state_names[] = { "unchecked", "none", "found", "error" };

void exp_mappings_write(const struct exp_igd *g, bool verdicts, struct mpw *w)
{
        mpw_str(w, "mappings");
        mpw_arr_begin(w);
        for (size_t i = 0; i < g->n_maps; i++) {
                const struct exp_mapping *m = &g->maps[i];
                mpw_map_begin(w);
                mpw_kv_str(w, "proto", exp_proto_name(m->proto));
                mpw_kv_int(w, "external_port", m->ext_port);
                mpw_kv_str(w, "client", m->client);
                mpw_kv_int(w, "internal_port", m->int_port);
                mpw_kv_str(w, "description", m->desc);
                if (!verdicts) {
                        mpw_kv_str(w, "remote_host", m->remote);
                        mpw_kv_bool(w, "enabled", m->enabled);
                }
                mpw_kv_int(w, "lease_s", m->duration);
                if (verdicts)
                        mpw_kv_str(w, "verdict", m->bad ? "FAIL" : "ok");
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}

void exp_igd_write(const struct exp_igd *g, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "state", state_names[g->state]);
        mpw_kv_str(w, "reason", g->reason);
        mpw_kv_str(w, "url", g->url);
        mpw_kv_str(w, "lan_addr", g->lan_addr);
        mpw_kv_str(w, "external_addr", g->ext_addr);
        mpw_kv_str(w, "status", g->status);
        mpw_kv_str(w, "last_error", g->last_error);
        mpw_kv_bool(w, "connected", g->connected);
        mpw_kv_uint(w, "uptime_s", g->uptime);
        mpw_kv_uint(w, "mappings_total", g->n_total);
        mpw_kv_bool(w, "truncated", g->truncated);
        mpw_kv_bool(w, "unmapped", g->unmapped);
        mpw_kv_str(w, "unmap_error", g->unmap_error);
        exp_mappings_write(g, false, w);
        mpw_map_end(w);
}

static void str_of(const msgpack_object *o, const char *key, char *buf, size_t size)
{
        const msgpack_object *v = mp_get(o, key);

        buf[0] = '\0';
        if (v && v->type == MSGPACK_OBJECT_STR) {
                size_t n = v->via.str.size < size - 1 ? v->via.str.size : size - 1;
                memcpy(buf, v->via.str.ptr, n);
                buf[n] = '\0';
                for (size_t i = 0; i < n; i++) /* a router's strings are printed: no control bytes */
                        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
                                buf[i] = '?';
        }
}

int exp_igd_read(const msgpack_object *o, struct exp_igd *ret)
{
        const msgpack_object *arr;
        char st[16];

        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return -EBADMSG;
        memset(ret, 0, sizeof *ret);
        str_of(o, "state", st, sizeof st);
        ret->state = !strcmp(st, "found") ? EXP_IGD_FOUND : !strcmp(st, "none") ? EXP_IGD_NONE : EXP_IGD_ERROR;
        str_of(o, "reason", ret->reason, sizeof ret->reason);
        str_of(o, "url", ret->url, sizeof ret->url);
        str_of(o, "lan_addr", ret->lan_addr, sizeof ret->lan_addr);
        str_of(o, "external_addr", ret->ext_addr, sizeof ret->ext_addr);
        str_of(o, "status", ret->status, sizeof ret->status);
        str_of(o, "last_error", ret->last_error, sizeof ret->last_error);
        str_of(o, "unmap_error", ret->unmap_error, sizeof ret->unmap_error);
        ret->connected = mp_get_bool(o, "connected", false);
        ret->uptime = (unsigned)mp_get_int(o, "uptime_s", 0);
        ret->n_total = (size_t)mp_get_int(o, "mappings_total", 0);
        ret->truncated = mp_get_bool(o, "truncated", false);
        ret->unmapped = mp_get_bool(o, "unmapped", false);
        arr = mp_get(o, "mappings");
        for (uint32_t i = 0; arr && arr->type == MSGPACK_OBJECT_ARRAY && i < arr->via.array.size; i++) {
                const msgpack_object *m = &arr->via.array.ptr[i];
                struct exp_mapping *e;
                char proto[8];

                if (ret->n_maps >= EXP_MAP_MAX) {
                        ret->truncated = true;
                        break;
                }
                e = &ret->maps[ret->n_maps];
                str_of(m, "proto", proto, sizeof proto);
                if (exp_proto_parse(proto, strlen(proto), &e->proto) < 0)
                        continue;
                e->ext_port = (int)mp_get_int(m, "external_port", 0);
                e->int_port = (int)mp_get_int(m, "internal_port", 0);
                str_of(m, "client", e->client, sizeof e->client);
                str_of(m, "description", e->desc, sizeof e->desc);
                str_of(m, "remote_host", e->remote, sizeof e->remote);
                e->enabled = mp_get_bool(m, "enabled", true);
                e->duration = (int)mp_get_int(m, "lease_s", 0);
                ret->n_maps++;
        }
        return 0;
}

/* ---- the loop side ----------------------------------------------------------- */

static void child_reap(struct exp_ctx *x, bool kill_it)
{
        zmq_pollitem_t it = { NULL, x->child_fd, ZMQ_POLLIN, 0 };

        if (x->child_fd >= 0) {
                zloop_poller_end(x->d->loop, &it);
                close(x->child_fd);
                x->child_fd = -1;
        }
        if (x->child_timer >= 0) {
                zloop_timer_end(x->d->loop, x->child_timer);
                x->child_timer = -1;
        }
        if (x->child > 0) {
                if (kill_it)
                        kill(x->child, SIGKILL);
                while (waitpid(x->child, NULL, 0) < 0 && errno == EINTR)
                        ;
                x->child = 0;
        }
}

static void child_finish(struct exp_ctx *x)
{
        struct exp_igd *g = malloc(sizeof *g);
        msgpack_unpacked u;
        const char *why = NULL;

        child_reap(x, false);
        if (g && x->child_len && mp_decode(x->child_data, x->child_len, NULL, &u, &why) == 0) {
                if (exp_igd_read(&u.data, g) == 0)
                        x->igd = *g;
                else
                        why = "not a result map";
                msgpack_unpacked_destroy(&u);
        } else if (g) {
                why = x->child_len ? why : "the check ended without an answer";
        }
        if (!g || why) {
                memset(&x->igd, 0, sizeof x->igd);
                x->igd.state = EXP_IGD_ERROR;
                snprintf(x->igd.reason, sizeof x->igd.reason, "the UPnP check failed: %s", g ? why : "out of memory");
        }
        free(g);
        free(x->child_data);
        x->child_data = NULL;
        x->child_len = 0;
        x->igd.checked_ms = ds_now_real_ms();
        x->igd_ms = ds_now_mono_ms();
        x->upnp_done(x);
}

static int on_child(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
        struct exp_ctx *x = arg;
        char buf[8192];
        ssize_t n;

        (void)loop;
        (void)item;
        for (;;) {
                n = read(x->child_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0)
                        break;
                if (x->child_len + (size_t)n > CHILD_ANSWER_MAX) {
                        log_warn("UPnP check: answer over %u bytes, dropped", CHILD_ANSWER_MAX);
                        x->child_len = 0;
                        kill(x->child, SIGKILL);
                        break;
                }
                char *p = realloc(x->child_data, x->child_len + (size_t)n);
                if (!p) {
                        x->child_len = 0;
                        kill(x->child, SIGKILL);
                        break;
                }
                memcpy(p + x->child_len, buf, (size_t)n);
                x->child_data = p;
                x->child_len += (size_t)n;
        }
        child_finish(x);
        return 0;
}

static int on_child_timeout(zloop_t *loop, int timer_id, void *arg)
{
        struct exp_ctx *x = arg;
        int t = (int)ds_settings_int(&x->d->settings, "timeout_s");

        (void)loop;
        (void)timer_id;
        x->child_timer = -1; /* a one-shot timer ends itself */
        log_warn("UPnP check: no answer within %d s, stopped", t);
        child_reap(x, true);
        free(x->child_data);
        x->child_data = NULL;
        x->child_len = 0;
        memset(&x->igd, 0, sizeof x->igd);
        x->igd.state = EXP_IGD_ERROR;
        snprintf(x->igd.reason, sizeof x->igd.reason, "the UPnP check did not finish within %d s (timeout_s)", t);
        x->igd.checked_ms = ds_now_real_ms();
        x->igd_ms = ds_now_mono_ms();
        x->upnp_done(x);
        return 0;
}

int exp_upnp_start(struct exp_ctx *x, bool unmap_it, enum exp_proto proto, int port)
{
        const struct ds_settings *s = &x->d->settings;
        int fds[2];
        pid_t pid;

        if (x->child > 0)
                return -EBUSY;
        memset(&x->job, 0, sizeof x->job);
        x->job.discover_ms = (int)ds_settings_int(s, "discover_ms");
        snprintf(x->job.igd_url, sizeof x->job.igd_url, "%s", ds_settings_str(s, "igd_url"));
        snprintf(x->job.mcast_if, sizeof x->job.mcast_if, "%s", ds_settings_str(s, "multicast_if"));
        x->job.unmap = unmap_it;
        x->job.unmap_proto = proto;
        x->job.unmap_port = port;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return log_errno(-errno, "UPnP check: pipe: %m");
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return log_errno(r, "UPnP check: fork: %m");
        }
        if (pid == 0) {
                /* the child: libminiupnpc only, never the bus's sockets */
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the daemon */
                close(fds[0]);
                if (null >= 0)
                        dup2(null, STDERR_FILENO); /* libminiupnpc prints its socket errors */
                exp_upnp_child(&x->job, fds[1]);
                _exit(0);
        }
        close(fds[1]);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        x->child = pid;
        x->child_fd = fds[0];
        zmq_pollitem_t it = { NULL, fds[0], ZMQ_POLLIN, 0 };
        if (zloop_poller(x->d->loop, &it, on_child, x) < 0) {
                child_reap(x, true);
                return log_errno(-EIO, "UPnP check: cannot watch the child");
        }
        x->child_timer = zloop_timer(x->d->loop, (size_t)ds_settings_int(s, "timeout_s") * 1000, 1, on_child_timeout, x);
        x->checks++;
        log_info("UPnP %s started (pid %d)", unmap_it ? "deletion" : "check", (int)pid);
        return 0;
}

void exp_upnp_stop(struct exp_ctx *x)
{
        child_reap(x, true);
        free(x->child_data);
        x->child_data = NULL;
        x->child_len = 0;
}
