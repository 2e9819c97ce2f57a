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

        if (!f)
                return NULL;
        if (!fgets(buf, sizeof buf, f)) {
                fclose(f);
                return NULL;
        }
        fclose(f);
        if ((nl = strpbrk(buf, "\r\n")))
                *nl = '\0';
        return strdup(buf);
}

static int decode(struct ds_backup *b)
{
        static const struct mp_limits lim = {
                .max_msg = DS_BACKUP_MAX_SIZE, .max_depth = 32, .max_items = 1u << 20, .max_str = 1u << 20};
        msgpack_unpacked u;
        const char *w;

        if (mp_decode(b->data, b->len, &lim, &u, &w) < 0) {
                fprintf(stderr, "backup_tool: payload: %s\n", w);
                return 1;
        }
        ds_json_write(stdout, &u.data);
        fputc('\n', stdout);
        msgpack_unpacked_destroy(&u);
        return 0;
}

/* OUT: IN's header (but format and kdf, which the writer makes), stdin's payload */
static int encode(struct ds_backup *b, const char *pass, const char *out)
{
        const msgpack_object *h = &b->hdr.data;
        struct mpw meta, data;
        char why[256], err[128];
        size_t len;
        char *text = slurp(stdin, &len);
        int r = 1;

        mpw_init(&meta);
        mpw_init(&data);
        if (!text || ds_json_to_mp(text, len, &data, err, sizeof err) < 0) {
                fprintf(stderr, "backup_tool: payload: %s\n", text ? err : "unreadable");
                goto out;
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
            ds_backup_write(out, mpw_data(&meta), mpw_len(&meta), mpw_data(&data), mpw_len(&data), pass,
                            &ds_backup_kdf_default, why, sizeof why) < 0) {
                fprintf(stderr, "backup_tool: %s\n", why);
                goto out;
        }
        r = 0;
out:
        free(text);
        mpw_free(&meta);
        mpw_free(&data);
        return r;
}

int main(int argc, char **argv)
{
        struct ds_backup b;
        char why[256], *pass;
        int r = 2;

        if (argc < 4 || !(pass = pass_of(argv[3]))) {
                fprintf(stderr, "usage: backup_tool decode|encode IN PASSFILE [OUT]\n");
                return 2;
        }
        if (ds_backup_open(argv[2], &b, why, sizeof why) < 0 || ds_backup_decrypt(&b, pass, why, sizeof why) < 0) {
                fprintf(stderr, "backup_tool: %s\n", why);
                r = 1;
        } else if (!strcmp(argv[1], "decode")) {
                r = decode(&b);
        } else if (!strcmp(argv[1], "encode") && argc == 5) {
                r = encode(&b, pass, argv[4]);
        } else {
                fprintf(stderr, "usage: backup_tool decode|encode IN PASSFILE [OUT]\n");
        }
        ds_backup_free(&b);
        free(pass);
        return r;
}
