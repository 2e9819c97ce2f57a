/* index.c - pure logic of the index: segment names, the signed message, the
 * entry's wire form, outage intervals, coverage, the token bucket. No I/O. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "anr.h"

const char *const anr_istate_names[] = { "open", "pending", "fetching", "filled", "partly-filled", "failed", NULL };

/* A closed segment: renamed into place by the media stack, so its name has
 * none of the marks of a file being written (leading dot, .part, .tmp). */
const char *anr_segment_name_check(const char *s, size_t n)
{
        if (n == 0 || n > ANR_NAME_MAX)
                return "a segment name has 1 to 96 characters";
        if (s[0] < '0' || s[0] > '9')
                return "a segment name begins with its start time (epoch milliseconds)";
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                      ch == '_' || ch == '.'))
                        return "a segment name has only letters, digits, '-', '_' and '.'";
        }
        if (memmem(s, n, "..", 2))
                return "a segment name has no '..'";
        if ((n >= 5 && !memcmp(s + n - 5, ".part", 5)) || (n >= 4 && !memcmp(s + n - 4, ".tmp", 4)))
                return "a segment still being written (.part, .tmp) is not closed";
        return NULL;
}

static int digits(const char *s, int64_t *ret, const char **end)
{
        int64_t v = 0;
        int n = 0;

        while (*s >= '0' && *s <= '9') {
                if (++n > 15)
                        return -EINVAL;
                v = v * 10 + (*s++ - '0');
        }
        if (n < 10)
                return -EINVAL;
        *ret = n <= 10 ? v * 1000 : v; /* 10 digits: seconds */
        *end = s;
        return 0;
}

int anr_segment_times(const char *name, int64_t *ret_start, int64_t *ret_end)
{
        int64_t s, e = 0;
        const char *p;

        if (digits(name, &s, &p) < 0)
                return -EINVAL;
        if (*p == '-' && p[1] >= '0' && p[1] <= '9') {
                const char *q;
                if (digits(p + 1, &e, &q) < 0 || e < s)
                        return -EINVAL;
        }
        *ret_start = s;
        *ret_end = e;
        return 0;
}

const char *anr_camera_id_check(const char *s, size_t n)
{
        if (n == 0 || n > ANR_CAM_MAX)
                return "a camera id has 1 to 24 characters";
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
                        return "a camera id has only a-z, 0-9, '-' and '_'";
        return NULL;
}

static size_t put64(unsigned char *p, uint64_t v)
{
        for (int i = 7; i >= 0; i--)
                *p++ = (unsigned char)(v >> (8 * i));
        return 8;
}

size_t anr_sig_message(const char *camera, const struct anr_entry *e, unsigned char *buf, size_t size)
{
        size_t lc = strlen(ANR_SIG_CONTEXT) + 1, li = strlen(camera) + 1, ln = strlen(e->name) + 1;
        size_t need = lc + li + ln + 24 + 32, n = 0;

        if (need > size)
                return 0;
        memcpy(buf, ANR_SIG_CONTEXT, lc);
        n += lc;
        memcpy(buf + n, camera, li);
        n += li;
        memcpy(buf + n, e->name, ln);
        n += ln;
        n += put64(buf + n, (uint64_t)e->start_ms);
        n += put64(buf + n, (uint64_t)e->end_ms);
        n += put64(buf + n, e->size);
        memcpy(buf + n, e->sha256, 32);
        return n + 32;
}

int anr_entry_sign(const char *camera, struct anr_entry *e, const unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
        unsigned char m[256];
        size_t n = anr_sig_message(camera, e, m, sizeof m);

        if (!n)
                return -EINVAL;
        return crypto_sign_detached(e->sig, NULL, m, n, sk) == 0 ? 0 : -EINVAL;
}

bool anr_entry_verify(const char *camera, const struct anr_entry *e, const unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
        unsigned char m[256];
        size_t n = anr_sig_message(camera, e, m, sizeof m);

        return n && crypto_sign_verify_detached(e->sig, m, n, pk) == 0;
}

void anr_entry_write(struct mpw *w, const struct anr_entry *e)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "name", e->name);
        mpw_kv_int(w, "start", e->start_ms);
        mpw_kv_int(w, "end", e->end_ms);
        mpw_kv_uint(w, "size", e->size);
        mpw_str(w, "sha256");
        mpw_bin(w, e->sha256, sizeof e->sha256);
        mpw_str(w, "sig");
        mpw_bin(w, e->sig, sizeof e->sig);
        mpw_map_end(w);
}

static int bin_field(const msgpack_object *m, const char *k, void *out, size_t n)
{
        const msgpack_object *o = mp_get(m, k);

        if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
                return -EINVAL;
        memcpy(out, o->via.bin.ptr, n);
        return 0;
}

int anr_entry_read(const msgpack_object *o, struct anr_entry *ret, const char **ret_field)
{
        struct anr_entry e;
        int64_t v;

        memset(&e, 0, sizeof e);
        *ret_field = "entry";
        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return -EINVAL;
        *ret_field = "name";
        if (mp_strcpy(mp_get(o, "name"), e.name, sizeof e.name) < 0 || anr_segment_name_check(e.name, strlen(e.name)))
                return -EINVAL;
        *ret_field = "start";
        if (mp_to_int64(mp_get(o, "start"), &e.start_ms) < 0 || e.start_ms < 0)
                return -EINVAL;
        *ret_field = "end";
        if (mp_to_int64(mp_get(o, "end"), &e.end_ms) < 0 || e.end_ms < e.start_ms)
                return -EINVAL;
        *ret_field = "size";
        if (mp_to_int64(mp_get(o, "size"), &v) < 0 || v < 0)
                return -EINVAL;
        e.size = (uint64_t)v;
        *ret_field = "sha256";
        if (bin_field(o, "sha256", e.sha256, sizeof e.sha256) < 0)
                return -EINVAL;
        *ret_field = "sig";
        if (bin_field(o, "sig", e.sig, sizeof e.sig) < 0)
                return -EINVAL;
        *ret_field = NULL;
        *ret = e;
        return 0;
}

int anr_hex_decode(const char *hex, size_t n, unsigned char *out, size_t out_len)
{
        if (n != 2 * out_len)
                return -EINVAL;
        for (size_t i = 0; i < out_len; i++) {
                unsigned v = 0;
                for (int k = 0; k < 2; k++) {
                        char ch = hex[2 * i + (size_t)k];
                        v <<= 4;
                        if (ch >= '0' && ch <= '9')
                                v |= (unsigned)(ch - '0');
                        else if (ch >= 'a' && ch <= 'f')
                                v |= (unsigned)(ch - 'a' + 10);
                        else if (ch >= 'A' && ch <= 'F')
                                v |= (unsigned)(ch - 'A' + 10);
                        else
                                return -EINVAL;
                }
                out[i] = (unsigned char)v;
        }
        return 0;
}

struct anr_interval *anr_intervals_current(struct anr_interval *iv, unsigned n)
{
        return n && iv[n - 1].state == ANR_I_OPEN ? &iv[n - 1] : NULL;
}

struct anr_interval *anr_intervals_open(struct anr_interval *iv, unsigned *n, unsigned max, int64_t lost_ms,
                                        int64_t merge_ms, bool *ret_merged)
{
        struct anr_interval *last = *n ? &iv[*n - 1] : NULL;

        *ret_merged = false;
        if (last && last->state == ANR_I_OPEN)
                return last;
        /* flapping: a loss soon after the last return reopens that interval */
        if (last && last->closed_ms && lost_ms - last->closed_ms <= merge_ms && last->state != ANR_I_FILLED &&
            last->state != ANR_I_PARTIAL && last->state != ANR_I_FAILED) {
                last->state = ANR_I_OPEN;
                last->closed_ms = 0;
                last->flaps++;
                last->reason[0] = 0;
                *ret_merged = true;
                return last;
        }
        if (*n == max) {
                /* drop the oldest finished interval; an unfinished one is never dropped */
                unsigned k;
                for (k = 0; k < *n; k++)
                        if (iv[k].state >= ANR_I_FILLED)
                                break;
                if (k == *n)
                        return NULL;
                memmove(&iv[k], &iv[k + 1], (*n - k - 1) * sizeof *iv);
                (*n)--;
        }
        last = &iv[(*n)++];
        memset(last, 0, sizeof *last);
        last->opened_ms = lost_ms;
        last->state = ANR_I_OPEN;
        return last;
}

int64_t anr_uncovered_ms(const struct anr_entry *e, size_t n, int64_t t0, int64_t t1, int64_t tol_ms)
{
        int64_t at = t0, gap = 0;

        for (size_t i = 0; i < n && at < t1; i++) {
                if (e[i].end_ms <= at)
                        continue;
                if (e[i].start_ms > at + tol_ms)
                        gap += (e[i].start_ms < t1 ? e[i].start_ms : t1) - at;
                if (e[i].end_ms > at)
                        at = e[i].end_ms;
        }
        if (at < t1 - tol_ms)
                gap += t1 - at;
        return gap;
}

void anr_bucket_init(struct anr_bucket *b, uint64_t rate_Bps, uint64_t burst, int64_t now_ms)
{
        b->rate = (double)rate_Bps;
        b->cap = (double)burst;
        b->tokens = (double)burst;
        b->last_ms = now_ms;
}

uint64_t anr_bucket_take(struct anr_bucket *b, uint64_t want, uint64_t min, int64_t now_ms, int64_t *ret_wait_ms)
{
        uint64_t got;

        *ret_wait_ms = 0;
        if (b->rate <= 0)
                return want;
        if (now_ms > b->last_ms) {
                b->tokens += b->rate * (double)(now_ms - b->last_ms) / 1000.0;
                if (b->tokens > b->cap)
                        b->tokens = b->cap;
                b->last_ms = now_ms;
        }
        if (min > want)
                min = want;
        if (b->tokens < (double)min) {
                *ret_wait_ms = (int64_t)(((double)min - b->tokens) * 1000.0 / b->rate) + 1;
                return 0;
        }
        got = b->tokens >= (double)want ? want : (uint64_t)b->tokens;
        b->tokens -= (double)got;
        return got;
}
