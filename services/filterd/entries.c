/* entries.c - list entries: parse, validate, normalise; the sorted list; the configuration */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"

const char *const fd_mode_names[] = { "off", "allow", "deny", NULL };

int fd_mode_parse(const char *s, enum fd_mode *ret)
{
        for (int i = 0; fd_mode_names[i]; i++)
                if (!strcmp(s, fd_mode_names[i])) {
                        *ret = (enum fd_mode)i;
                        return 0;
                }
        return -EINVAL;
}

/* lo with the bits after len cleared, hi with them set */
static void prefix_bounds(const uint8_t *a, size_t bytes, unsigned len, uint8_t lo[16], uint8_t hi[16])
{
        memset(lo, 0, 16);
        memset(hi, 0, 16);
        for (size_t i = 0; i < bytes; i++) {
                unsigned bits = len >= (i + 1) * 8 ? 8 : len > i * 8 ? len - (unsigned)i * 8 : 0;
                uint8_t mask = (uint8_t)(bits ? 0xff << (8 - bits) : 0);
                lo[i] = a[i] & mask;
                hi[i] = (uint8_t)(a[i] | (uint8_t)~mask);
        }
}

static int why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int fd_entry_parse(const char *s, size_t n, struct fd_entry *ret, char *why, size_t whylen)
{
        char buf[FD_ENTRY_TEXT], a1[FD_ENTRY_TEXT], a2[FD_ENTRY_TEXT];
        char x1[INET6_ADDRSTRLEN], x2[INET6_ADDRSTRLEN];
        struct fd_entry e = { 0 };
        const char *slash, *dash;
        uint8_t f2, x[16];

        if (n == 0)
                return why_set(why, whylen, "empty entry");
        if (n >= sizeof buf)
                return why_set(why, whylen, "too long for an address, prefix, range or MAC");
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (strlen(buf) != n)
                return why_set(why, whylen, "contains a NUL byte");
        for (size_t i = 0; i < n; i++)
                if (isspace((unsigned char)buf[i]) || !isprint((unsigned char)buf[i]))
                        return why_set(why, whylen, "contains a space or control character");
        slash = strchr(buf, '/');
        dash = strchr(buf, '-');
        if (slash && dash)
                return why_set(why, whylen, "a range cannot also have a prefix length");
        if (slash) {
                char *end;
                unsigned long len;
                size_t bytes;

                snprintf(a1, sizeof a1, "%.*s", (int)(slash - buf), buf);
                if (fd_ip_parse(a1, &e.fam, x) < 0)
                        return why_set(why, whylen, "'%s' before the prefix length is not an IP address", a1);
                bytes = fd_addr_len(e.fam);
                if (!isdigit((unsigned char)slash[1]))
                        return why_set(why, whylen, "prefix length is not a number");
                len = strtoul(slash + 1, &end, 10);
                if (*end || (slash[1] == '0' && slash[2]))
                        return why_set(why, whylen, "prefix length is not a number");
                if (len > bytes * 8)
                        return why_set(why, whylen, "prefix length must be 0-%zu for %s", bytes * 8,
                                       e.fam == FD_V4 ? "IPv4" : "IPv6");
                prefix_bounds(x, bytes, (unsigned)len, e.lo, e.hi);
                if (len == bytes * 8) {
                        fd_addr_format(e.fam, e.lo, e.text, sizeof e.text);
                } else {
                        fd_addr_format(e.fam, e.lo, x1, sizeof x1);
                        snprintf(e.text, sizeof e.text, "%s/%u", x1, (unsigned)len);
                }
        } else if (dash && fd_mac_parse(buf, x) < 0) {
                snprintf(a1, sizeof a1, "%.*s", (int)(dash - buf), buf);
                snprintf(a2, sizeof a2, "%s", dash + 1);
                if (fd_ip_parse(a1, &e.fam, e.lo) < 0)
                        return why_set(why, whylen, "range start '%s' is not an IP address", a1);
                if (fd_ip_parse(a2, &f2, e.hi) < 0)
                        return why_set(why, whylen, "range end '%s' is not an IP address", a2);
                if (f2 != e.fam)
                        return why_set(why, whylen, "range mixes IPv4 and IPv6");
                if (memcmp(e.lo, e.hi, 16) > 0)
                        return why_set(why, whylen, "range start is after its end");
                fd_addr_format(e.fam, e.lo, x1, sizeof x1);
                fd_addr_format(e.fam, e.hi, x2, sizeof x2);
                if (!memcmp(e.lo, e.hi, 16))
                        snprintf(e.text, sizeof e.text, "%s", x1);
                else
                        snprintf(e.text, sizeof e.text, "%s-%s", x1, x2);
        } else if (fd_addr_parse(buf, &e.fam, e.lo) == 0) {
                memcpy(e.hi, e.lo, 16);
                fd_addr_format(e.fam, e.lo, e.text, sizeof e.text);
        } else if (strchr(buf, ':') && !strchr(buf, '.') && strlen(buf) == 17 && buf[2] == ':') {
                return why_set(why, whylen, "not a MAC address (six hex pairs aa:bb:cc:dd:ee:ff)");
        } else {
                return why_set(why, whylen, "not an IPv4/IPv6 address, CIDR prefix, range a-b or MAC");
        }
        *ret = e;
        return 0;
}

int fd_entry_cmp(const struct fd_entry *a, const struct fd_entry *b)
{
        int r;

        if (a->fam != b->fam)
                return a->fam < b->fam ? -1 : 1;
        r = memcmp(a->lo, b->lo, 16);
        return r ? r : memcmp(a->hi, b->hi, 16);
}

bool fd_entry_contains(const struct fd_entry *e, uint8_t fam, const uint8_t *addr)
{
        size_t n = fd_addr_len(fam);

        return e->fam == fam && memcmp(e->lo, addr, n) <= 0 && memcmp(addr, e->hi, n) <= 0;
}

/* ---- the list ----------------------------------------------------------------- */

void fd_list_free(struct fd_list *l)
{
        free(l->v);
        memset(l, 0, sizeof *l);
}

static int list_reserve(struct fd_list *l, size_t want)
{
        struct fd_entry *v;
        size_t cap;

        if (want <= l->cap)
                return 0;
        cap = l->cap ? l->cap : 64;
        while (cap < want)
                cap *= 2;
        v = realloc(l->v, cap * sizeof *v);
        if (!v)
                return -ENOMEM;
        l->v = v;
        l->cap = cap;
        return 0;
}

int fd_list_copy(struct fd_list *dst, const struct fd_list *src)
{
        struct fd_list t = { 0 };

        if (list_reserve(&t, src->n) < 0)
                return -ENOMEM;
        if (src->n)
                memcpy(t.v, src->v, src->n * sizeof *t.v);
        t.n = src->n;
        fd_list_free(dst);
        *dst = t;
        return 0;
}

static int cmp_qsort(const void *a, const void *b)
{
        return fd_entry_cmp(a, b);
}

int fd_list_add(struct fd_list *l, const struct fd_entry *e, size_t n, size_t *ret_added)
{
        struct fd_list t = { 0 };
        size_t w = 0;

        /* build the result aside so that a refusal leaves the list as it was */
        if (list_reserve(&t, l->n + n) < 0)
                return -ENOMEM;
        if (l->n)
                memcpy(t.v, l->v, l->n * sizeof *t.v);
        if (n)
                memcpy(t.v + l->n, e, n * sizeof *e);
        t.n = l->n + n;
        qsort(t.v, t.n, sizeof *t.v, cmp_qsort);
        for (size_t i = 0; i < t.n; i++)
                if (w == 0 || fd_entry_cmp(&t.v[w - 1], &t.v[i]))
                        t.v[w++] = t.v[i];
        t.n = w;
        if (w > FD_MAX_ENTRIES) {
                fd_list_free(&t);
                return -E2BIG;
        }
        if (ret_added)
                *ret_added = w - l->n;
        fd_list_free(l);
        *l = t;
        return 0;
}

const struct fd_entry *fd_list_find(const struct fd_list *l, const struct fd_entry *e)
{
        return l->n ? bsearch(e, l->v, l->n, sizeof *l->v, cmp_qsort) : NULL;
}

int fd_list_del(struct fd_list *l, const struct fd_entry *e)
{
        const struct fd_entry *f = fd_list_find(l, e);
        size_t i;

        if (!f)
                return -ENOENT;
        i = (size_t)(f - l->v);
        memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
        l->n--;
        return 0;
}

bool fd_list_match(const struct fd_list *l, uint8_t fam, const uint8_t *addr)
{
        for (size_t i = 0; i < l->n; i++)
                if (fd_entry_contains(&l->v[i], fam, addr))
                        return true;
        return false;
}

bool fd_list_equal(const struct fd_list *a, const struct fd_list *b)
{
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (fd_entry_cmp(&a->v[i], &b->v[i]))
                        return false;
        return true;
}

/* a + 1 == b, for big-endian numbers of n bytes */
static bool adjacent(const uint8_t *a, const uint8_t *b, size_t n)
{
        uint8_t t[16];
        int carry = 1;

        memcpy(t, a, n);
        for (size_t i = n; i-- > 0 && carry;) {
                t[i]++;
                carry = t[i] == 0;
        }
        return !carry && memcmp(t, b, n) == 0;
}

int fd_list_merge(const struct fd_list *l, uint8_t fam, struct fd_range **ret, size_t *ret_n)
{
        size_t len = fd_addr_len(fam), k = 0;
        struct fd_range *v = calloc(l->n ? l->n : 1, sizeof *v);

        if (!v)
                return -ENOMEM;
        /* the list is sorted by lo within a family */
        for (size_t i = 0; i < l->n; i++) {
                const struct fd_entry *e = &l->v[i];
                if (e->fam != fam)
                        continue;
                if (k && (memcmp(e->lo, v[k - 1].hi, len) <= 0 || adjacent(v[k - 1].hi, e->lo, len))) {
                        if (memcmp(e->hi, v[k - 1].hi, len) > 0)
                                memcpy(v[k - 1].hi, e->hi, 16);
                        continue;
                }
                memcpy(v[k].lo, e->lo, 16);
                memcpy(v[k].hi, e->hi, 16);
                k++;
        }
        *ret = v;
        *ret_n = k;
        return 0;
}

void fd_range_format(uint8_t fam, const struct fd_range *r, char *buf, size_t size)
{
        size_t bytes = fd_addr_len(fam);
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        uint8_t lo[16], hi[16];

        fd_addr_format(fam, r->lo, a, sizeof a);
        if (fam == FD_MAC || !memcmp(r->lo, r->hi, bytes)) {
                snprintf(buf, size, "%s", a);
                return;
        }
        for (unsigned len = 0; len < bytes * 8; len++) {
                prefix_bounds(r->lo, bytes, len, lo, hi);
                if (!memcmp(lo, r->lo, bytes) && !memcmp(hi, r->hi, bytes)) {
                        snprintf(buf, size, "%s/%u", a, len);
                        return;
                }
        }
        fd_addr_format(fam, r->hi, b, sizeof b);
        snprintf(buf, size, "%s-%s", a, b);
}

/* ---- configuration ---------------------------------------------------------- */

void fd_config_free(struct fd_config *c)
{
        fd_list_free(&c->list);
        c->mode = FD_MODE_OFF;
}

int fd_config_copy(struct fd_config *dst, const struct fd_config *src)
{
        int r = fd_list_copy(&dst->list, &src->list);

        if (r == 0)
                dst->mode = src->mode;
        return r;
}

bool fd_config_equal(const struct fd_config *a, const struct fd_config *b)
{
        return a->mode == b->mode && fd_list_equal(&a->list, &b->list);
}

void fd_config_write(const struct fd_config *c, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "mode", fd_mode_names[c->mode]);
        mpw_str(w, "entries");
        mpw_arr_begin(w);
        for (size_t i = 0; i < c->list.n; i++)
                mpw_str(w, c->list.v[i].text);
        mpw_arr_end(w);
        mpw_map_end(w);
}

int fd_config_read(const msgpack_object *o, struct fd_config *ret, struct ds_err *e)
{
        const msgpack_object *m, *ents;
        struct fd_config c = { 0 };
        struct fd_entry *tmp;
        char mode[16], why[128];
        int r;

        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "state", "must be a map {mode, entries}");
        m = mp_get(o, "mode");
        if (mp_strcpy(m, mode, sizeof mode) < 0 || fd_mode_parse(mode, &c.mode) < 0)
                return ds_err_set(e, -EINVAL, "state.mode", "must be one of: off, allow, deny");
        ents = mp_get(o, "entries");
        if (ents && ents->type != MSGPACK_OBJECT_ARRAY)
                return ds_err_set(e, -EINVAL, "state.entries", "must be an array");
        if (ents && ents->via.array.size > FD_MAX_ENTRIES)
                return ds_err_set(e, -EINVAL, "state.entries", "more than %d entries", FD_MAX_ENTRIES);
        if (!ents || !ents->via.array.size) {
                *ret = c;
                return 0;
        }
        tmp = calloc(ents->via.array.size, sizeof *tmp);
        if (!tmp)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        for (uint32_t i = 0; i < ents->via.array.size; i++) {
                const msgpack_object *s = &ents->via.array.ptr[i];
                char field[48];

                snprintf(field, sizeof field, "state.entries[%u]", i);
                if (!mp_is_str(s)) {
                        free(tmp);
                        return ds_err_set(e, -EINVAL, field, "must be a string");
                }
                if (fd_entry_parse(s->via.str.ptr, s->via.str.size, &tmp[i], why, sizeof why) < 0) {
                        free(tmp);
                        return ds_err_set(e, -EINVAL, field, "'%.*s': %s", (int)(s->via.str.size > 64 ? 64 : s->via.str.size),
                                          s->via.str.ptr, why);
                }
        }
        r = fd_list_add(&c.list, tmp, ents->via.array.size, NULL);
        free(tmp);
        if (r < 0) {
                fd_config_free(&c);
                return ds_err_set(e, r, "state.entries", "cannot load the list");
        }
        *ret = c;
        return 0;
}
