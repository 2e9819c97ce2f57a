/* bus_auth.c - ZAP (RFC 27) for CURVE against a directory of public keys */
#include "bus_auth.h"

#include <czmq.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "bus_proto.h"
#include "log.h"
#include "util.h"

struct key_entry {
        uint8_t pub[32];
        char name[BUS_NAME_MAX + 1];
};

struct bus_keys {
        struct key_entry *v;
        size_t n;
        int64_t last_refusal_log;
        unsigned refusals;
};

void bus_keys_destroy(bus_keys_t **pk)
{
        if (!*pk)
                return;
        free((*pk)->v);
        free(*pk);
        *pk = NULL;
}

size_t bus_keys_count(const bus_keys_t *k)
{
        return k->n;
}

int bus_keys_load(const char *dir, bus_keys_t **ret, struct ds_err *e)
{
        bus_keys_t *k = calloc(1, sizeof *k);
        struct dirent *de;
        DIR *d;

        if (!k)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                free(k);
                return ds_err_set(e, -errno, NULL, "key directory '%s': %s", dir, strerror(errno));
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                char path[4096];
                const char *name;
                struct key_entry *nv;
                zcert_t *c;

                if (l < 5 || strcmp(de->d_name + l - 4, ".pub") || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                c = zcert_load(path);
                if (!c) {
                        log_warn("key file '%s' is not a certificate, ignored", path);
                        continue;
                }
                nv = realloc(k->v, (k->n + 1) * sizeof *nv);
                if (!nv) {
                        zcert_destroy(&c);
                        break;
                }
                k->v = nv;
                memcpy(k->v[k->n].pub, zcert_public_key(c), 32);
                name = zcert_meta(c, "name");
                if (name && *name)
                        snprintf(k->v[k->n].name, sizeof k->v[k->n].name, "%s", name);
                else
                        snprintf(k->v[k->n].name, sizeof k->v[k->n].name, "%.*s", (int)(l - 4), de->d_name);
                k->n++;
                zcert_destroy(&c);
        }
        closedir(d);
        *ret = k;
        return 0;
}

const char *bus_keys_lookup_hex(const bus_keys_t *k, const char *hex)
{
        uint8_t pub[32];

        size_t n = 0;

        if (!hex || strlen(hex) != 64 || sodium_hex2bin(pub, sizeof pub, hex, 64, NULL, &n, NULL) < 0 || n != 32)
                return NULL;
        return bus_keys_lookup(k, pub);
}

const char *bus_keys_lookup(const bus_keys_t *k, const uint8_t pub[32])
{
        for (size_t i = 0; i < k->n; i++)
                if (ds_memeq(k->v[i].pub, pub, 32))
                        return k->v[i].name;
        return NULL;
}

static void send_str(void *s, const char *str, bool more)
{
        zmq_send(s, str, strlen(str), more ? ZMQ_SNDMORE : 0);
}

int bus_zap_handle(void *zap, const bus_keys_t *kc)
{
        bus_keys_t *k = (bus_keys_t *)kc;
        zmq_msg_t f[7];
        int n = 0, more = 1;
        const char *who = NULL;
        char addr[64] = "";

        /* version, request id, domain, address, routing id, mechanism, credentials */
        while (more && n < 7) {
                zmq_msg_init(&f[n]);
                if (zmq_msg_recv(&f[n], zap, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&f[n]);
                        for (int i = 0; i < n; i++)
                                zmq_msg_close(&f[i]);
                        return -EAGAIN;
                }
                more = zmq_msg_more(&f[n]);
                n++;
        }
        while (more) { /* drop anything beyond what ZAP 1.0 defines */
                zmq_msg_t x;
                zmq_msg_init(&x);
                zmq_msg_recv(&x, zap, 0);
                more = zmq_msg_more(&x);
                zmq_msg_close(&x);
        }
        if (n >= 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
            zmq_msg_size(&f[6]) == 32)
                who = bus_keys_lookup(k, zmq_msg_data(&f[6]));
        if (n >= 4)
                snprintf(addr, sizeof addr, "%.*s", (int)zmq_msg_size(&f[3]), (const char *)zmq_msg_data(&f[3]));
        /* reply: version, request id, status, text, user id, metadata */
        send_str(zap, "1.0", true);
        if (n >= 2)
                zmq_send(zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        else
                send_str(zap, "", true);
        if (who) {
                send_str(zap, "200", true);
                send_str(zap, "OK", true);
                send_str(zap, who, true);
        } else {
                int64_t now = ds_now_mono_ms();

                send_str(zap, "400", true);
                send_str(zap, "unknown key", true);
                send_str(zap, "", true);
                k->refusals++;
                if (now - k->last_refusal_log > 1000) { /* a flood must not flood the log */
                        log_audit("security", LOG_LVL_WARNING, NULL,
                                  "bus: refused connection from '%s': key not in the key directory (%u refused)",
                                  addr[0] ? addr : "local", k->refusals);
                        k->last_refusal_log = now;
                }
        }
        if (who) {
                /* metadata (ZMTP property list): X-Key = the client's public key in
                 * hex, read back per message with zmq_msg_gets() */
                uint8_t md[1 + 5 + 4 + 64];
                char hex[65];

                ds_hex(zmq_msg_data(&f[6]), 32, hex);
                md[0] = 5;
                memcpy(md + 1, "X-Key", 5);
                md[6] = 0, md[7] = 0, md[8] = 0, md[9] = 64;
                memcpy(md + 10, hex, 64);
                zmq_send(zap, md, sizeof md, 0);
        } else {
                zmq_send(zap, "", 0, 0);
        }
        for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
        return who ? 1 : 0;
}
