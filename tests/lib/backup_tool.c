/* backup_tool - edits a device backup for tests: decode prints the payload as
 * JSON; encode writes a new backup with IN's header and a JSON payload read
 * from stdin (so a test can plant a refusal inside a well-formed backup).
 *   backup_tool decode IN PASSFILE
 *   backup_tool encode IN PASSFILE OUT < payload.json */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "json.h"

static char *slurp(FILE *f, size_t *ret_len)
{
        size_t cap = 1 << 16, len = 0, n;
        char *b = malloc(cap);

        while (b && (n = fread(b + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap && !(b = realloc(b, cap *= 2)))
                        return NULL;
        }
        *ret_len = len;
        return b;
}

static char *pass_of(const char *file)
{
        FILE *f = fopen(file, "r");
        char buf[1100], *nl;

        if (!f || !fgets(buf, sizeof buf, f))
                return NULL;
        fclose(f);
        if ((nl = strpbrk(buf, "\r\n")))
                *nl = '\0';
        return strdup(buf);
}

int main(int argc, char **argv)
{
        struct ds_backup b;
        msgpack_unpacked u;
        char why[256], *pass;
        const char *w;

        if (argc < 4 || !(pass = pass_of(argv[3]))) {
                fprintf(stderr, "usage: backup_tool decode|encode IN PASSFILE [OUT]\n");
                return 2;
        }
        if (ds_backup_open(argv[2], &b, why, sizeof why) < 0 || ds_backup_decrypt(&b, pass, why, sizeof why) < 0) {
                fprintf(stderr, "backup_tool: %s\n", why);
                return 1;
        }
        if (!strcmp(argv[1], "decode")) {
                static const struct mp_limits lim = {
                        .max_msg = DS_BACKUP_MAX_SIZE, .max_depth = 32, .max_items = 1u << 20, .max_str = 1u << 20};
                if (mp_decode(b.data, b.len, &lim, &u, &w) < 0)
                        return 1;
                ds_json_write(stdout, &u.data);
                fputc('\n', stdout);
                return 0;
        }
        if (!strcmp(argv[1], "encode") && argc == 5) {
                struct mpw meta, data;
                size_t len;
                char *text = slurp(stdin, &len), err[128];
                const msgpack_object *h = &b.hdr.data;

                mpw_init(&meta);
                mpw_init(&data);
                if (!text || ds_json_to_mp(text, len, &data, err, sizeof err) < 0) {
                        fprintf(stderr, "backup_tool: payload: %s\n", text ? err : "unreadable");
                        return 1;
                }
                mpw_map_begin(&meta);
                for (uint32_t i = 0; i < h->via.map.size; i++) {
                        const msgpack_object *k = &h->via.map.ptr[i].key;
                        if (mp_streq(k, "format") || mp_streq(k, "kdf") || mp_streq(k, "cipher"))
                                continue;
                        mpw_obj(&meta, k);
                        mpw_obj(&meta, &h->via.map.ptr[i].val);
                }
                mpw_map_end(&meta);
                if (mpw_finish(&meta) < 0 || mpw_finish(&data) < 0 ||
                    ds_backup_write(argv[4], mpw_data(&meta), mpw_len(&meta), mpw_data(&data), mpw_len(&data), pass,
                                    &ds_backup_kdf_default, why, sizeof why) < 0) {
                        fprintf(stderr, "backup_tool: %s\n", why);
                        return 1;
                }
                return 0;
        }
        fprintf(stderr, "usage: backup_tool decode|encode IN PASSFILE [OUT]\n");
        return 2;
}
