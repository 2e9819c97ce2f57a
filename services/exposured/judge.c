/* judge.c - pure logic: which listener belongs to an enabled function on its
 * configured port, which one sits on a well-known default that was moved, and
 * which one belongs to nothing; which UPnP mapping is not the HTTPS port. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposured.h"

static const char *const proto_names[] = { [EXP_TCP] = "tcp", [EXP_UDP] = "udp" };

const char *exp_proto_name(enum exp_proto p)
{
        return p == EXP_UDP ? proto_names[EXP_UDP] : proto_names[EXP_TCP];
}

int exp_proto_parse(const char *s, size_t n, enum exp_proto *ret)
{
        if (n == 3 && !strncasecmp(s, "tcp", 3))
                *ret = EXP_TCP;
        else if (n == 3 && !strncasecmp(s, "udp", 3))
                *ret = EXP_UDP;
        else
                return -EINVAL;
        return 0;
}

bool exp_addr_is_loopback(const char *addr)
{
        struct in6_addr a6;
        struct in_addr a4;

        if (inet_pton(AF_INET, addr, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, addr, &a6) == 1) {
                if (IN6_IS_ADDR_LOOPBACK(&a6))
                        return true;
                if (IN6_IS_ADDR_V4MAPPED(&a6))
                        return a6.s6_addr[12] == 127;
        }
        return false;
}

/* netcfgd's port names and the function that switches what listens there;
 * the web console's HTTP port only redirects to HTTPS */
static const struct {
        const char *port, *fn;
} port_fns[] = {
        { "https", "https" }, { "http", "https" }, { "ssh", "ssh" }, { "snmp", "snmp" }, { "onvif", "onvif" },
};

const char *exp_port_function(const char *port_name)
{
        for (size_t i = 0; i < sizeof port_fns / sizeof port_fns[0]; i++)
                if (!strcmp(port_fns[i].port, port_name))
                        return port_fns[i].fn;
        return NULL;
}

const struct exp_fn *exp_net_fn(const struct exp_net *n, const char *name)
{
        for (size_t i = 0; i < n->n_fns; i++)
                if (!strcmp(n->fns[i].name, name))
                        return &n->fns[i];
        return NULL;
}

const struct exp_port *exp_net_port(const struct exp_net *n, const char *name)
{
        for (size_t i = 0; i < n->n_ports; i++)
                if (!strcmp(n->ports[i].name, name))
                        return &n->ports[i];
        return NULL;
}

int exp_allow_parse(const char *s, struct exp_allow *ret, const char **why)
{
        const char *slash = strchr(s, '/'), *at;
        struct exp_allow a = { 0 };
        char *end;
        long p;

        if (!slash || exp_proto_parse(s, (size_t)(slash - s), &a.proto) < 0) {
                *why = "must be tcp/PORT or udp/PORT, optionally @FUNCTION";
                return -EINVAL;
        }
        errno = 0;
        p = strtol(slash + 1, &end, 10);
        if (errno || end == slash + 1 || p < 1 || p > 65535 || (*end && *end != '@')) {
                *why = "the port must be a number between 1 and 65535";
                return -EINVAL;
        }
        a.port = (int)p;
        if (*end == '@') {
                at = end + 1;
                if (!*at || strlen(at) > EXP_NAME_MAX || ds_check_name(at, strlen(at))) {
                        *why = "the function after '@' must be a function name";
                        return -EINVAL;
                }
                snprintf(a.fn, sizeof a.fn, "%s", at);
        }
        *ret = a;
        return 0;
}

static bool fn_on(const struct exp_net *n, const char *fn)
{
        const struct exp_fn *f = exp_net_fn(n, fn);

        return f && f->enabled;
}

static void judge_one(struct exp_listener *l, const struct exp_net *n, const struct exp_rules *r)
{
        const char *pn = exp_proto_name(l->proto);

        l->verdict = EXP_BAD;
        l->owner[0] = '\0';
        l->why[0] = '\0';
        /* 1. the configured port of one of netcfgd's services */
        for (size_t i = 0; i < n->n_ports; i++) {
                const struct exp_port *p = &n->ports[i];
                const char *fn;

                if (p->proto != l->proto || p->port != l->port)
                        continue;
                fn = exp_port_function(p->name);
                snprintf(l->owner, sizeof l->owner, "%s", fn ? fn : p->name);
                if (!fn || fn_on(n, fn)) {
                        l->verdict = EXP_OK;
                        snprintf(l->why, sizeof l->why, "the %s port", p->name);
                } else {
                        snprintf(l->why, sizeof l->why, "the %s port, but function '%s' is disabled", p->name, fn);
                }
                return;
        }
        /* 2. a well-known default left behind when a custom port is set */
        for (size_t i = 0; i < n->n_ports; i++) {
                const struct exp_port *p = &n->ports[i];

                if (p->proto == l->proto && p->well_known == l->port && p->port != p->well_known) {
                        snprintf(l->why, sizeof l->why, "%s/%d is the well-known %s port, moved to %d", pn, l->port,
                                 p->name, p->port);
                        return;
                }
        }
        /* 3. allowed by the configuration */
        for (size_t i = 0; i < r->n_allow; i++) {
                const struct exp_allow *a = &r->allow[i];

                if (a->proto != l->proto || a->port != l->port)
                        continue;
                snprintf(l->owner, sizeof l->owner, "%s", a->fn[0] ? a->fn : "allowed");
                if (!a->fn[0] || fn_on(n, a->fn)) {
                        l->verdict = EXP_OK;
                        snprintf(l->why, sizeof l->why, "allowed by the configuration");
                } else {
                        snprintf(l->why, sizeof l->why, "allowed only with function '%s', which is disabled", a->fn);
                }
                return;
        }
        /* 4. an unconnected UDP socket on an ephemeral port waits for answers */
        if (l->proto == EXP_UDP && r->ignore_ephemeral_udp && r->eph_lo > 0 && l->port >= r->eph_lo &&
            l->port <= r->eph_hi) {
                l->verdict = EXP_CLIENT;
                snprintf(l->why, sizeof l->why, "a client socket on an ephemeral port");
                return;
        }
        snprintf(l->why, sizeof l->why, "no enabled function owns %s/%d", pn, l->port);
}

size_t exp_judge(struct exp_listeners *l, const struct exp_net *n, const struct exp_rules *r)
{
        size_t bad = 0;

        for (size_t i = 0; i < l->n; i++) {
                judge_one(&l->v[i], n, r);
                bad += l->v[i].verdict == EXP_BAD;
        }
        return bad;
}

void exp_judge_summary(const struct exp_listeners *l, char *buf, size_t size)
{
        size_t off = 0;

        if (size)
                buf[0] = '\0';
        for (size_t i = 0; i < l->n && off < size; i++) {
                const struct exp_listener *e = &l->v[i];
                char proc[40] = "";
                int k;

                if (e->verdict != EXP_BAD)
                        continue;
                if (e->pid)
                        snprintf(proc, sizeof proc, ", %s[%d]", e->comm, e->pid);
                k = snprintf(buf + off, size - off, "%s%s %u on %s (user %s%s): %s", off ? "; " : "",
                             exp_proto_name(e->proto), e->port, e->addr, e->user, proc, e->why);
                off = k < 0 ? size : off + (size_t)k;
        }
}

size_t exp_igd_judge(struct exp_igd *g, int https_port)
{
        size_t bad = 0;

        for (size_t i = 0; i < g->n_maps; i++) {
                struct exp_mapping *m = &g->maps[i];

                m->bad = m->proto != EXP_TCP || m->int_port != https_port;
                if (m->bad)
                        snprintf(m->why, sizeof m->why, "%s %d -> %s:%d, not the HTTPS port (tcp %d)",
                                 exp_proto_name(m->proto), m->ext_port, m->client, m->int_port, https_port);
                else
                        snprintf(m->why, sizeof m->why, "the HTTPS port");
                bad += m->bad;
        }
        return bad;
}
