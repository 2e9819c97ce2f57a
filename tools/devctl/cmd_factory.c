/* cmd_factory.c - devctl factory-reset: every service back to its factory
 * settings and state, logd first (its chain closed and sealed before any key
 * goes), authd last (it is what authorises the calls before it). A service
 * that fails is reported and the others are still reset; the exit code says
 * whether every one was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "util.h"

#define FR_MAX        64
#define FR_TIMEOUT_MS 30000

struct fr_svc {
        char name[BUS_NAME_MAX + 1];
        char state[16];
};

/* logd first (its chain sealed before any key goes), netcfgd next (it writes
 * the device's mark of the reset, which a daemon stopped now finds at its next
 * start), authd last, the others in busd's (sorted) order between */
static int rank(const char *name)
{
        return !strcmp(name, "logd") ? 0 : !strcmp(name, "netcfgd") ? 1 : !strcmp(name, "authd") ? 3 : 2;
}

static int by_rank(const void *a, const void *b)
{
        const struct fr_svc *x = a, *y = b;
        int d = rank(x->name) - rank(y->name);

        return d ? d : strcmp(x->name, y->name);
}

/* The confirmation: the device's name typed back, unless --yes. */
static int confirm(void)
{
        char host[256], line[256];

        if (gethostname(host, sizeof host - 1) < 0)
                snprintf(host, sizeof host, "device");
        host[sizeof host - 1] = '\0';
        fprintf(stderr,
                "This resets device '%s' to its factory state: every account, setting, key and certificate\n"
                "goes and the device must be initialised again. Type the device name to go on: ",
                host);
        if (!fgets(line, sizeof line, stdin))
                return DC_EUSAGE;
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, host)) {
                fprintf(stderr, "devctl: factory-reset: '%s' is not this device's name: nothing done\n", line);
                return DC_EUSAGE;
        }
        return DC_OK;
}

static int list_services(struct devctl *dc, struct fr_svc *v, size_t *ret_n)
{
        struct bus_reply rep;
        const msgpack_object *rows;
        size_t n = 0;
        int r;

        r = devctl_call(dc, "bus", "bus.services", NULL, false, NULL, &rep);
        if (r != DC_OK)
                return r;
        rows = mp_get(rep.r, "services");
        for (uint32_t i = 0; rows && rows->type == MSGPACK_OBJECT_ARRAY && i < rows->via.array.size && n < FR_MAX;
             i++) {
                const msgpack_object *o = &rows->via.array.ptr[i];
                if (mp_strcpy(mp_get(o, "name"), v[n].name, sizeof v[n].name) < 0 || !strcmp(v[n].name, "busd"))
                        continue;
                if (mp_strcpy(mp_get(o, "state"), v[n].state, sizeof v[n].state) < 0)
                        snprintf(v[n].state, sizeof v[n].state, "down");
                n++;
        }
        bus_reply_free(&rep);
        qsort(v, n, sizeof *v, by_rank);
        *ret_n = n;
        return DC_OK;
}

static void json_row(struct mpw *w, const char *name, const char *result, const char *detail, const msgpack_object *r)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "service", name);
        mpw_kv_str(w, "result", result);
        if (detail && *detail)
                mpw_kv_str(w, "detail", detail);
        if (r && r->type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < r->via.map.size; i++) {
                        const msgpack_object_kv *kv = &r->via.map.ptr[i];
                        if (kv->key.type != MSGPACK_OBJECT_STR || mp_streq(&kv->key, "service"))
                                continue;
                        mpw_strn(w, kv->key.via.str.ptr, kv->key.via.str.size);
                        mpw_obj(w, &kv->val);
                }
        mpw_map_end(w);
}

static void text_row(const char *name, const msgpack_object *r)
{
        if (mp_get(r, "chain_end"))
                printf("%-14s reset: log chain closed at record %lld with a final seal (%s), a new chain from "
                       "record %lld under a new key\n",
                       name, (long long)mp_get_int(r, "chain_end", 0),
                       mp_get_bool(r, "wiped", false) ? "wiped" : "kept", (long long)mp_get_int(r, "chain_start", 0));
        else if (mp_get(r, "initialised"))
                printf("%-14s reset: no account, no session: the device is uninitialised\n", name);
        else
                printf("%-14s reset%s\n", name, mp_get_bool(r, "restart", false) ? ": restarting with new keys" : "");
}

static int c_factory_reset(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv)
{
        struct fr_svc v[FR_MAX];
        size_t n = 0, failed = 0, skipped = 0, done = 0;
        bool yes = false, wipe = false;
        struct mpw args, out;
        uint8_t rnd[12];
        char gen[2 * sizeof rnd + 1];
        int r;

        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--yes"))
                        yes = true;
                else if (!strcmp(argv[i], "--wipe-logs"))
                        wipe = true;
                else if (!strcmp(argv[i], "--json"))
                        dc->json = true;
                else
                        return devctl_usage(cmd);
        }
        if (!yes && (r = confirm()) != DC_OK)
                return r;
        if ((r = list_services(dc, v, &n)) != DC_OK)
                return r;
        mpw_init(&args);
        mpw_map_begin(&args);
        mpw_kv_bool(&args, "wipe_logs", wipe);
        ds_random(rnd, sizeof rnd);
        ds_hex(rnd, sizeof rnd, gen);
        mpw_kv_str(&args, "generation", gen);
        mpw_map_end(&args);
        mpw_init(&out);
        mpw_map_begin(&out);
        mpw_str(&out, "services");
        mpw_arr_begin(&out);
        for (size_t i = 0; i < n; i++) {
                struct bus_reply rep;
                int code;

                if (!strcmp(v[i].state, "disabled")) {
                        /* a disabled function's daemon is stopped: nothing to reset until it runs */
                        skipped++;
                        if (dc->json)
                                json_row(&out, v[i].name, "skipped", "disabled", NULL);
                        else
                                printf("%-14s skipped: disabled: it resets at its next start\n", v[i].name);
                        continue;
                }
                code = bus_call_sync(devctl_bus(dc), v[i].name, "sys.factory_reset", &args, dc->token,
                                     dc->timeout_ms > FR_TIMEOUT_MS ? dc->timeout_ms : FR_TIMEOUT_MS, &rep);
                if (code == -DS_EDISABLED) {
                        /* its function went off with netcfgd's reset (or just before) */
                        skipped++;
                        if (dc->json)
                                json_row(&out, v[i].name, "skipped", "disabled", NULL);
                        else
                                printf("%-14s skipped: disabled: it resets at its next start\n", v[i].name);
                } else if (code < 0) {
                        failed++;
                        if (dc->json)
                                json_row(&out, v[i].name, "failed", rep.err.msg, NULL);
                        else
                                printf("%-14s FAILED: %s\n", v[i].name,
                                       rep.err.msg[0] ? rep.err.msg : ds_err_name(code));
                } else {
                        done++;
                        if (dc->json)
                                json_row(&out, v[i].name, "reset", NULL, rep.r);
                        else
                                text_row(v[i].name, rep.r);
                }
                bus_reply_free(&rep);
        }
        mpw_arr_end(&out);
        mpw_kv_uint(&out, "reset", done);
        mpw_kv_uint(&out, "failed", failed);
        mpw_kv_uint(&out, "skipped", skipped);
        mpw_map_end(&out);
        if (dc->json) {
                msgpack_unpacked u;
                const char *why;
                if (mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why) == 0) {
                        devctl_print_json(stdout, &u.data);
                        fputc('\n', stdout);
                        msgpack_unpacked_destroy(&u);
                }
        } else if (failed) {
                printf("factory reset INCOMPLETE: %zu service(s) reset, %zu failed: run it again once they are up "
                       "(a daemon without a reset of its own also resets at its next start)\n",
                       done, failed);
        } else {
                printf("factory reset done: %zu service(s) reset, %zu disabled one(s) reset at their next start; "
                       "initialise the device again (devctl init)\n",
                       done, skipped);
        }
        mpw_free(&args);
        mpw_free(&out);
        return failed ? DC_ESERVICE : DC_OK;
}

static const struct devctl_cmd factory_cmds[] = {
        {.path = "factory-reset",
         .svc = "*",
         .method = "sys.factory_reset",
         .fn = c_factory_reset,
         .usage = "[--yes] [--wipe-logs] [--json]",
         .help = "reset every service to its factory state (the device becomes uninitialised)"},
        {NULL},
};
DEVCTL_COMMANDS(factory_cmds);
