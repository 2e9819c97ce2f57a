/* ruleset.c - the service ports and the whole table inet devsec as one transaction */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"

const char *const fd_counter_names[] = { "drop_ban4",    "drop_ban6",     "drop_list4", "drop_list6",
                                         "drop_listmac", "drop_unlisted", "drop_cap",   NULL };

/* The device's service ports (issue 4's defaults) until netcfgd says otherwise. */
static const struct fd_port default_ports[] = {
        { "sdk", 6, 37777 },  { "sdk-udp", 17, 37778 }, { "http", 6, 80 },
        { "https", 6, 443 }, { "rtsp", 6, 554 },       { "pos", 6, 38800 },
        { "onvif", 6, 8080 }, { "ssh", 6, 22 },         { "snmp", 17, 161 },
};

static const struct {
        const char *name;
        uint8_t proto;
} protos[] = { { "tcp", 6 }, { "udp", 17 } };

static const char *proto_name(uint8_t p)
{
        for (size_t i = 0; i < sizeof protos / sizeof *protos; i++)
                if (protos[i].proto == p)
                        return protos[i].name;
        return "?";
}

void fd_ports_default(struct fd_ports *p)
{
        memset(p, 0, sizeof *p);
        memcpy(p->v, default_ports, sizeof default_ports);
        p->n = sizeof default_ports / sizeof *default_ports;
}

int fd_ports_read(const msgpack_object *data, struct fd_ports *ret, struct ds_err *e)
{
        const msgpack_object *ports = mp_get(data, "ports"), *mc = mp_get(data, "max_connections");
        struct fd_ports p = { .from_netcfgd = true };
        int64_t v;

        if (!ports || ports->type != MSGPACK_OBJECT_ARRAY)
                return ds_err_set(e, -EINVAL, "ports", "must be an array");
        if (ports->via.array.size > FD_MAX_PORTS)
                return ds_err_set(e, -EINVAL, "ports", "more than %d ports", FD_MAX_PORTS);
        if (mc) {
                if (mp_to_int64(mc, &v) < 0 || v < 0 || v > 65535)
                        return ds_err_set(e, -EINVAL, "max_connections", "must be 0-65535");
                p.max_connections = (int)v;
        }
        for (uint32_t i = 0; i < ports->via.array.size; i++) {
                const msgpack_object *x = &ports->via.array.ptr[i];
                struct fd_port *q = &p.v[p.n];
                char proto[8], field[32];
                size_t k;

                snprintf(field, sizeof field, "ports[%u]", i);
                if (x->type != MSGPACK_OBJECT_MAP)
                        return ds_err_set(e, -EINVAL, field, "must be a map {name, proto, port}");
                if (mp_strcpy(mp_get(x, "proto"), proto, sizeof proto) < 0)
                        return ds_err_set(e, -EINVAL, field, "proto must be \"tcp\" or \"udp\"");
                for (k = 0; k < sizeof protos / sizeof *protos && strcmp(protos[k].name, proto); k++)
                        ;
                if (k == sizeof protos / sizeof *protos)
                        return ds_err_set(e, -EINVAL, field, "proto must be \"tcp\" or \"udp\"");
                if (mp_to_int64(mp_get(x, "port"), &v) < 0 || v < 0 || v > 65535)
                        return ds_err_set(e, -EINVAL, field, "port must be 1-65535");
                if (v == 0)
                        continue; /* a service without a port is not listening */
                if (mp_strcpy(mp_get(x, "name"), q->name, sizeof q->name) < 0)
                        snprintf(q->name, sizeof q->name, "%s/%lld", proto, (long long)v);
                q->proto = protos[k].proto;
                q->port = (uint16_t)v;
                p.n++;
        }
        *ret = p;
        return 0;
}

/* unique (proto, port) pairs: two services may share a port (ONVIF on HTTP) */
static bool port_seen(const struct fd_ports *p, size_t upto)
{
        for (size_t i = 0; i < upto; i++)
                if (p->v[i].proto == p->v[upto].proto && p->v[i].port == p->v[upto].port)
                        return true;
        return false;
}

static int render_list_set(FILE *f, const struct fd_list *l, uint8_t fam, const char *name, const char *type,
                           bool interval)
{
        struct fd_range *r;
        size_t n;
        char buf[FD_ENTRY_TEXT];

        if (fd_list_merge(l, fam, &r, &n) < 0)
                return -ENOMEM;
        fprintf(f, "\tset %s {\n\t\ttype %s\n", name, type);
        if (interval)
                fprintf(f, "\t\tflags interval\n");
        if (n) {
                fprintf(f, "\t\telements = {");
                for (size_t i = 0; i < n; i++) {
                        fd_range_format(fam, &r[i], buf, sizeof buf);
                        fprintf(f, "%s%s", i == 0 ? " " : i % 8 ? ", " : ",\n\t\t\t", buf);
                }
                fprintf(f, " }\n");
        }
        fprintf(f, "\t}\n");
        free(r);
        return 0;
}

static void render_ban_set(FILE *f, const struct fd_bans *b, uint8_t fam, const char *name, const char *type,
                           int64_t now_ms)
{
        bool any = false;

        fprintf(f, "\tset %s {\n\t\ttype %s\n\t\tflags timeout\n", name, type);
        for (size_t i = 0; b && i < b->n; i++) {
                int64_t left = b->v[i].until_ms - now_ms;
                if (b->v[i].fam != fam || left <= 0)
                        continue;
                fprintf(f, "%s%s timeout %lldms", any ? ", " : "\t\telements = { ", b->v[i].text,
                        (long long)(left < 1000 ? 1000 : left));
                any = true;
        }
        if (any)
                fprintf(f, " }\n");
        fprintf(f, "\t}\n");
}

/* The list rules: in allow mode a listed source is accepted and the rest of
 * the service-port traffic dropped; in deny mode a listed source is dropped. */
static void render_mode(FILE *f, enum fd_mode mode)
{
        static const struct {
                const char *match;
                const char *set;
                enum fd_counter cnt;
        } sets[] = {
                { "ip saddr", "list4", FD_CNT_LIST4 },
                { "ip6 saddr", "list6", FD_CNT_LIST6 },
                { "ether saddr", "listmac", FD_CNT_LISTMAC },
        };
        const char *svc = "meta l4proto . th dport @svc";

        if (mode == FD_MODE_OFF)
                return;
        for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
                if (mode == FD_MODE_ALLOW)
                        fprintf(f, "\t\t%s %s @%s accept\n", svc, sets[i].match, sets[i].set);
                else
                        fprintf(f, "\t\t%s %s @%s counter name \"%s\" drop\n", svc, sets[i].match, sets[i].set,
                                fd_counter_names[sets[i].cnt]);
        }
        if (mode == FD_MODE_ALLOW)
                fprintf(f, "\t\t%s counter name \"%s\" drop\n", svc, fd_counter_names[FD_CNT_UNLISTED]);
}

int fd_ruleset_render(const struct fd_config *c, const struct fd_ports *p, const struct fd_bans *b,
                      const struct fd_counters *counters, int64_t now_ms, char **ret, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0;
        bool any = false;
        FILE *f = open_memstream(&buf, &len);
        int r = 0;

        if (!f)
                return -ENOMEM;
        /* one transaction: make sure the table exists, drop it, define it whole */
        fprintf(f, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", FD_TABLE, FD_TABLE, FD_TABLE);
        for (int i = 0; i < FD_CNT_N; i++) {
                if (counters && counters->valid)
                        fprintf(f, "\tcounter %s { packets %llu bytes %llu }\n", fd_counter_names[i],
                                (unsigned long long)counters->packets[i], (unsigned long long)counters->bytes[i]);
                else
                        fprintf(f, "\tcounter %s { }\n", fd_counter_names[i]);
        }
        fprintf(f, "\tset svc {\n\t\ttype inet_proto . inet_service\n");
        for (size_t i = 0; i < p->n; i++) {
                if (port_seen(p, i))
                        continue;
                fprintf(f, "%s%s . %u", any ? ", " : "\t\telements = { ", proto_name(p->v[i].proto), p->v[i].port);
                any = true;
        }
        fprintf(f, "%s\t}\n", any ? " }\n" : "");
        render_ban_set(f, b, FD_V4, "ban4", "ipv4_addr", now_ms);
        render_ban_set(f, b, FD_V6, "ban6", "ipv6_addr", now_ms);
        if (render_list_set(f, &c->list, FD_V4, "list4", "ipv4_addr", true) < 0 ||
            render_list_set(f, &c->list, FD_V6, "list6", "ipv6_addr", true) < 0 ||
            render_list_set(f, &c->list, FD_MAC, "listmac", "ether_addr", false) < 0)
                r = -ENOMEM;
        fprintf(f, "\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n");
        fprintf(f, "\t\tiif \"lo\" accept\n");
        fprintf(f, "\t\tip saddr @ban4 counter name \"%s\" drop\n", fd_counter_names[FD_CNT_BAN4]);
        fprintf(f, "\t\tip6 saddr @ban6 counter name \"%s\" drop\n", fd_counter_names[FD_CNT_BAN6]);
        fprintf(f, "\t\tct state established,related accept\n");
        if (p->max_connections > 0)
                for (size_t i = 0; i < p->n; i++) {
                        if (port_seen(p, i))
                                continue;
                        fprintf(f, "\t\t%s dport %u ct count over %d counter name \"%s\" %s\n",
                                proto_name(p->v[i].proto), p->v[i].port, p->max_connections,
                                fd_counter_names[FD_CNT_CAP], p->v[i].proto == 6 ? "reject with tcp reset" : "drop");
                }
        render_mode(f, c->mode);
        fprintf(f, "\t}\n}\n");
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int fd_counters_parse(const char *text, struct fd_counters *ret)
{
        struct fd_counters c = { 0 };
        const char *p = text;

        while ((p = strstr(p, "counter ")) != NULL) {
                char name[64];
                unsigned long long pk, by;
                const char *q;
                int i;

                p += 8;
                if (sscanf(p, "%63s", name) != 1)
                        continue;
                q = strstr(p, "packets ");
                if (!q || sscanf(q, "packets %llu bytes %llu", &pk, &by) != 2)
                        continue;
                for (i = 0; i < FD_CNT_N && strcmp(fd_counter_names[i], name); i++)
                        ;
                if (i < FD_CNT_N) {
                        c.packets[i] = pk;
                        c.bytes[i] = by;
                        c.valid = true;
                }
        }
        if (!c.valid)
                return -ENOENT;
        *ret = c;
        return 0;
}
