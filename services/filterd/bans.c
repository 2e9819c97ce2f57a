/* bans.c - temporary bans: an address until a wall-clock time */
#include <stdlib.h>
#include <string.h>

#include "filterd.h"

void fd_bans_free(struct fd_bans *b)
{
        free(b->v);
        memset(b, 0, sizeof *b);
}

static struct fd_ban *find(const struct fd_bans *b, uint8_t fam, const uint8_t *addr)
{
        size_t len = fd_addr_len(fam);

        for (size_t i = 0; i < b->n; i++)
                if (b->v[i].fam == fam && !memcmp(b->v[i].addr, addr, len))
                        return &b->v[i];
        return NULL;
}

int fd_bans_add(struct fd_bans *b, uint8_t fam, const uint8_t *addr, int64_t until_ms)
{
        struct fd_ban *x = find(b, fam, addr);

        if (fam != FD_V4 && fam != FD_V6)
                return -EINVAL;
        if (x) {
                x->until_ms = until_ms; /* the newer decision wins, shorter or longer */
                return 0;
        }
        if (b->n >= FD_MAX_BANS)
                return -ENOSPC;
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 16;
                struct fd_ban *v = realloc(b->v, cap * sizeof *v);
                if (!v)
                        return -ENOMEM;
                b->v = v;
                b->cap = cap;
        }
        x = &b->v[b->n++];
        memset(x, 0, sizeof *x);
        x->fam = fam;
        memcpy(x->addr, addr, fd_addr_len(fam));
        x->until_ms = until_ms;
        fd_addr_format(fam, addr, x->text, sizeof x->text);
        return 1;
}

int fd_bans_del(struct fd_bans *b, uint8_t fam, const uint8_t *addr)
{
        struct fd_ban *x = find(b, fam, addr);

        if (!x)
                return -ENOENT;
        *x = b->v[--b->n];
        return 0;
}

const struct fd_ban *fd_bans_find(const struct fd_bans *b, uint8_t fam, const uint8_t *addr, int64_t now_ms)
{
        const struct fd_ban *x = find(b, fam, addr);

        return x && x->until_ms > now_ms ? x : NULL;
}

size_t fd_bans_prune(struct fd_bans *b, int64_t now_ms)
{
        size_t w = 0, n = b->n;

        for (size_t i = 0; i < b->n; i++)
                if (b->v[i].until_ms > now_ms)
                        b->v[w++] = b->v[i];
        b->n = w;
        return n - w;
}

void fd_bans_write(const struct fd_bans *b, struct mpw *w, int64_t now_ms)
{
        mpw_arr_begin(w);
        for (size_t i = 0; i < b->n; i++) {
                if (b->v[i].until_ms <= now_ms)
                        continue;
                mpw_map_begin(w);
                mpw_kv_str(w, "ip", b->v[i].text);
                mpw_kv_int(w, "until_ms", b->v[i].until_ms);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}

int fd_bans_read(const msgpack_object *o, struct fd_bans *ret, int64_t now_ms)
{
        struct fd_bans b = { 0 };

        if (!o || o->type != MSGPACK_OBJECT_ARRAY)
                return -EINVAL;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
                const msgpack_object *x = &o->via.array.ptr[i];
                int64_t until = mp_get_int(x, "until_ms", 0);
                uint8_t fam, a[16];
                char ip[64];

                if (mp_strcpy(mp_get(x, "ip"), ip, sizeof ip) < 0 || fd_addr_parse(ip, &fam, a) < 0 ||
                    until <= now_ms)
                        continue; /* a stale or damaged line is dropped, not fatal */
                if (fd_bans_add(&b, fam, a, until) < 0)
                        break;
        }
        fd_bans_free(ret);
        *ret = b;
        return 0;
}
