/* log_verify.c - devctl log verify's parts: the key, the anchors, log.segments'
 * claims and the segments through log.read. Verification is done here, with the
 * off-device key, on the segments logd sends; logd never sees the key. An
 * anchor per key (device) remembers the last verified seal, so a later store
 * must extend it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devctl.h"
#include "log_verify.h"
#include "seal.h"
#include "state.h"
#include "util.h"

#define ANCHOR_FILE "log-anchors"
#define ANCHOR_MAX (1024 * 1024)

int logv_read_key(const char *path, struct seal_vkey *k)
{
        char buf[SEAL_KEY_TEXT_MAX + 64];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        r = seal_vkey_parse(buf, k);
        explicit_bzero(buf, sizeof buf);
        return r;
}

/* The anchor file: --anchor FILE, else $XDG_STATE_HOME/devsec or ~/.local/state/devsec. */
int logv_anchor_path(const char *opt, char *dir, size_t dsize, char *name, size_t nsize)
{
        const char *base;

        if (opt) {
                const char *slash = strrchr(opt, '/');
                if (!slash)
                        snprintf(dir, dsize, ".");
                else
                        snprintf(dir, dsize, "%.*s", slash == opt ? 1 : (int)(slash - opt), opt);
                snprintf(name, nsize, "%s", slash ? slash + 1 : opt);
                return name[0] ? 0 : -EINVAL;
        }
        snprintf(name, nsize, "%s", ANCHOR_FILE);
        if ((base = getenv("XDG_STATE_HOME")) && base[0] == '/')
                return snprintf(dir, dsize, "%s/devsec", base) < (int)dsize ? 0 : -ENAMETOOLONG;
        if ((base = getenv("HOME")) && *base)
                return snprintf(dir, dsize, "%s/.local/state/devsec", base) < (int)dsize ? 0 : -ENAMETOOLONG;
        return -ENOENT;
}

/* One line per key id: "ID SEQ EPOCH N HEADHEX AT_MS". */
int logv_anchor_load(const char *dir, const char *name, const char *id, struct seal_anchor *a, bool *found)
{
        char *buf = NULL, *line, *save = NULL;
        size_t len;
        int r = state_read(dir, name, ANCHOR_MAX, &buf, &len);

        *found = false;
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char lid[40], hex[65];
                unsigned long long seq, ep, n;
                long long at;
                if (sscanf(line, "%39s %llu %llu %llu %64s %lld", lid, &seq, &ep, &n, hex, &at) != 6 || strcmp(lid, id))
                        continue;
                if (strlen(hex) != 64)
                        continue;
                for (size_t i = 0; i < SEAL_HASH_LEN; i++) {
                        unsigned b;
                        sscanf(hex + 2 * i, "%2x", &b);
                        a->head[i] = (uint8_t)b;
                }
                a->seq = seq;
                a->epoch = ep;
                a->n = n;
                a->at_ms = at;
                *found = true;
        }
        free(buf);
        return 0;
}

int logv_anchor_save(const char *dir, const char *name, const char *id, const struct seal_anchor *a)
{
        char *buf = NULL, *line, *save = NULL, hex[65];
        size_t len = 0;
        struct mpw w; /* used as a growing byte buffer */
        int r = state_read(dir, name, ANCHOR_MAX, &buf, &len);

        if (r < 0 && r != -ENOENT)
                return r;
        if ((r = state_mkdir_p(dir, 0700)) < 0)
                goto out;
        mpw_init(&w);
        for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
                size_t l = strcspn(line, " ");
                if (l == strlen(id) && !strncmp(line, id, l))
                        continue;
                msgpack_sbuffer_write(&w.sb, line, strlen(line));
                msgpack_sbuffer_write(&w.sb, "\n", 1);
        }
        ds_hex(a->head, SEAL_HASH_LEN, hex);
        {
                char l[256];
                int n = snprintf(l, sizeof l, "%s %llu %llu %llu %s %lld\n", id, (unsigned long long)a->seq,
                                 (unsigned long long)a->epoch, (unsigned long long)a->n, hex, (long long)a->at_ms);
                msgpack_sbuffer_write(&w.sb, l, (size_t)n);
        }
        /* temp file, fsync, rename, fsync dir; 0600 in a 0700 dir */
        r = state_write(dir, name, w.sb.data, w.sb.size, 0600);
        mpw_free(&w);
out:
        free(buf);
        return r;
}

/* Reads one segment through log.read into *ret (caller frees), in pages of
 * page bytes (the largest logd offers: a bus message each). */
int logv_fetch_segment(struct devctl *dc, const char *name, uint64_t size, uint64_t page, char **ret,
                         size_t *ret_len)
{
        char *buf = malloc(size ? size : 1);
        uint64_t off = 0;

        if (!buf)
                return DC_ESERVICE;
        while (off < size) {
                struct bus_reply rep;
                const msgpack_object *d;
                struct mpw w;
                int r;

                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "segment", name);
                mpw_kv_uint(&w, "offset", off);
                mpw_kv_uint(&w, "max", size - off < page ? size - off : page);
                mpw_map_end(&w);
                r = devctl_call(dc, "logd", "log.read", &w, true, NULL, &rep);
                mpw_free(&w);
                if (r != DC_OK) {
                        free(buf);
                        return r;
                }
                d = mp_get(rep.r, "data");
                if (!d || d->type != MSGPACK_OBJECT_BIN || !d->via.bin.size || d->via.bin.size > size - off) {
                        bus_reply_free(&rep);
                        break; /* the segment is shorter than listed: the verifier names it */
                }
                memcpy(buf + off, d->via.bin.ptr, d->via.bin.size);
                off += d->via.bin.size;
                bus_reply_free(&rep);
        }
        *ret = buf;
        *ret_len = (size_t)off;
        return DC_OK;
}

uint64_t logv_claims(const msgpack_object *r, struct seal_claims *c)
{
        uint64_t page = (uint64_t)mp_get_int(r, "read_max", 512 * 1024);

        c->last_seq = (uint64_t)mp_get_int(r, "last_seq", 0);
        c->sealed_seq = (uint64_t)mp_get_int(r, "sealed_seq", 0);
        c->seals_made = (uint64_t)mp_get_int(r, "seals_made", 0);
        return page < 4096 || page > 16 * 1024 * 1024 ? 512 * 1024 : page;
}
