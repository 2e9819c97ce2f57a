/* ports.c - the device's service ports: ranges, conflicts, the published table */
#include <stdio.h>
#include <string.h>

#include "netcfgd.h"

const struct port_def ports_table[] = {
        { "tcp", "tcp_port", NET_TCP, 1025, 65535, 37777, 37777, "private SDK (TCP)" },
        { "udp", "udp_port", NET_UDP, 1025, 65535, 37778, 37778, "private SDK (UDP)" },
        { "http", "http_port", NET_TCP, 1, 65535, 80, 80, "HTTP" },
        { "https", "https_port", NET_TCP, 1, 65535, 443, 443, "HTTPS" },
        { "rtsp", "rtsp_port", NET_TCP, 1, 65535, 554, 554, "RTSP" },
        { "pos", "pos_port", NET_TCP, 1, 65535, 38800, 38800, "POS" },
        { "onvif", "onvif_port", NET_TCP, 1, 65535, 8080, 8080, "ONVIF" },
        { "ssh", "ssh_port", NET_TCP, 1, 65535, 22, 22, "SSH" },
        { "snmp", "snmp_port", NET_UDP, 1, 65535, 161, 161, "SNMP" },
        { NULL },
};

size_t ports_count(void)
{
        size_t n = 0;

        while (ports_table[n].name)
                n++;
        return n;
}

static const char *const proto_names[] = { [NET_TCP] = "tcp", [NET_UDP] = "udp" };

const char *ports_proto_name(enum net_proto p)
{
        return proto_names[p];
}

bool ports_conflict(const struct port_set *s, size_t *ret_a, size_t *ret_b)
{
        size_t n = ports_count();

        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (ports_table[i].proto == ports_table[j].proto && s->port[i] == s->port[j]) {
                                *ret_a = i;
                                *ret_b = j;
                                return true;
                        }
        return false;
}

void ports_from_settings(const struct ds_settings *st, struct port_set *ret)
{
        memset(ret, 0, sizeof *ret);
        for (size_t i = 0; ports_table[i].name; i++)
                ret->port[i] = (int)ds_settings_int(st, ports_table[i].key);
        ret->max_connections = (int)ds_settings_int(st, "max_connections");
}

void ports_write(const struct port_set *s, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_str(w, "ports");
        mpw_arr_begin(w);
        for (size_t i = 0; ports_table[i].name; i++) {
                mpw_map_begin(w);
                mpw_kv_str(w, "name", ports_table[i].name);
                mpw_kv_str(w, "proto", ports_proto_name(ports_table[i].proto));
                mpw_kv_int(w, "port", s->port[i]);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        mpw_kv_int(w, "max_connections", s->max_connections);
        mpw_map_end(w);
}

int ports_well_known(const struct port_set *s, char *buf, size_t size)
{
        size_t off = 0;
        int n = 0;

        if (size)
                buf[0] = '\0';
        for (size_t i = 0; ports_table[i].name; i++) {
                int k;

                if (s->port[i] != ports_table[i].well_known)
                        continue;
                n++;
                if (off >= size)
                        continue;
                k = snprintf(buf + off, size - off, "%s%s=%d", n > 1 ? ", " : "", ports_table[i].name, s->port[i]);
                off = k < 0 ? size : off + (size_t)k;
        }
        return n;
}
