/* mp.h - msgpack writer with open-ended containers, bounded decoder, accessors */
#pragma once
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPW_MAX_DEPTH 32

/* Writer: maps and arrays are opened and closed; their counts are patched in
 * at close (32-bit headers), so callers never count entries. */
struct mpw {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        int depth;
        size_t hdr[MPW_MAX_DEPTH];
        uint32_t count[MPW_MAX_DEPTH + 1];
        bool is_map[MPW_MAX_DEPTH];
        bool bad; /* nesting overflow or unbalanced close */
};

void mpw_init(struct mpw *w);
void mpw_free(struct mpw *w);
/* mpw_free() after zeroing the buffer: for a writer that held a secret. */
void mpw_wipe(struct mpw *w);
void mpw_reset(struct mpw *w);
/* A writer kept between messages, made ready for the next one: emptied (and
 * zeroed first when wipe: it may have held a secret), or set up on first use
 * (a zeroed struct); one grown beyond keep_max bytes by a single large message
 * is let go, so that it does not pin that size. Returns w. */
struct mpw *mpw_reuse(struct mpw *w, size_t keep_max, bool wipe);
/* Moves src's contents into dst (dst uninitialised); src is left empty and usable. */
void mpw_move(struct mpw *dst, struct mpw *src);
/* 0 when every container was closed and nothing overflowed. */
int mpw_finish(const struct mpw *w);
static inline const char *mpw_data(const struct mpw *w) { return w->sb.data; }
static inline size_t mpw_len(const struct mpw *w) { return w->sb.size; }

void mpw_map_begin(struct mpw *w);
void mpw_map_end(struct mpw *w);
void mpw_arr_begin(struct mpw *w);
void mpw_arr_end(struct mpw *w);
void mpw_str(struct mpw *w, const char *s);
void mpw_strn(struct mpw *w, const char *s, size_t n);
void mpw_int(struct mpw *w, int64_t v);
void mpw_uint(struct mpw *w, uint64_t v);
void mpw_double(struct mpw *w, double v);
void mpw_bool(struct mpw *w, bool v);
void mpw_nil(struct mpw *w);
void mpw_bin(struct mpw *w, const void *p, size_t n);
void mpw_obj(struct mpw *w, const msgpack_object *o);
/* Append already-encoded msgpack bytes as one item. */
void mpw_raw(struct mpw *w, const void *p, size_t n);

static inline void mpw_kv_str(struct mpw *w, const char *k, const char *v)
{
        mpw_str(w, k);
        if (v)
                mpw_str(w, v);
        else
                mpw_nil(w);
}
static inline void mpw_kv_int(struct mpw *w, const char *k, int64_t v) { mpw_str(w, k); mpw_int(w, v); }
static inline void mpw_kv_uint(struct mpw *w, const char *k, uint64_t v) { mpw_str(w, k); mpw_uint(w, v); }
static inline void mpw_kv_bool(struct mpw *w, const char *k, bool v) { mpw_str(w, k); mpw_bool(w, v); }
static inline void mpw_kv_double(struct mpw *w, const char *k, double v) { mpw_str(w, k); mpw_double(w, v); }

/* Limits applied before any byte is unpacked. */
struct mp_limits {
        size_t max_msg;     /* bytes in one message */
        unsigned max_depth; /* container nesting */
        uint32_t max_items; /* entries in one map or array */
        uint32_t max_str;   /* bytes in one string or bin */
};
extern const struct mp_limits mp_limits_default;

/* Walks buf without allocating and checks it is exactly one well-formed
 * msgpack object within lim. Returns 0 or -EBADMSG/-EMSGSIZE with *why set. */
int mp_check(const void *buf, size_t len, const struct mp_limits *lim, const char **why);

/* mp_check()'s checks and the objects in one walk (as mp_decode_zone), into
 * a zone of *ret's own: on success *ret must be released with
 * msgpack_unpacked_destroy(). The object's strings point into buf. */
int mp_decode(const void *buf, size_t len, const struct mp_limits *lim, msgpack_unpacked *ret,
              const char **why);
/* mp_decode() into a zone the caller keeps and clears between messages: no
 * allocation per message once the zone has grown. The object's strings point
 * into buf. */
int mp_decode_zone(const void *buf, size_t len, const struct mp_limits *lim, msgpack_zone *z, msgpack_object *ret,
                   const char **why);
/* Where one value lies in the encoded message: buf + off, len bytes. */
struct mp_span {
        uint32_t off, len;
};
/* mp_decode_zone() in one walk over buf (the checks and the objects
 * together), also recording in spans[i] the bytes of the value of the
 * top-level map's entry i, for i < n_spans, so that a value can be copied as
 * it came instead of being packed again. Errors as mp_check(), and -ENOMEM. */
int mp_decode_spans(const void *buf, size_t len, const struct mp_limits *lim, msgpack_zone *z, msgpack_object *ret,
                    struct mp_span *spans, size_t n_spans, const char **why);

/* For a message that failed mp_check(): finds the raw bytes of a scalar "id"
 * at the top level of a map, without recursion or allocation, so the sender
 * still gets an answer. 0 with ret_p and ret_n set, or -ENOENT. */
int mp_peek_id(const void *buf, size_t len, const void **ret_p, size_t *ret_n);

/* The raw bytes of the value under key at the top level of a map (the first
 * of duplicate keys, as with mp_get), found without recursion or allocation:
 * for passing a value on without re-encoding it. buf must hold exactly one
 * object (as mp_check() makes sure). 0 with ret_p and ret_n set, or -ENOENT. */
int mp_peek_value(const void *buf, size_t len, const char *key, const void **ret_p, size_t *ret_n);

/* The length in bytes of the first object in buf (checked bytes), walked
 * without recursion: 0 with ret_n set, or -EBADMSG. */
int mp_item_len(const void *buf, size_t len, size_t *ret_n);

/* Accessors on decoded (borrowed) objects. */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);
bool mp_is_str(const msgpack_object *o);
bool mp_streq(const msgpack_object *o, const char *s);
/* Copies a string object into a NUL-terminated heap string (caller owns);
 * NULL when o is not a string or contains a NUL byte. */
char *mp_strdup(const msgpack_object *o);
/* Copies into buf; -E2BIG when it does not fit, -EINVAL when not a string. */
int mp_strcpy(const msgpack_object *o, char *buf, size_t size);
int mp_to_int64(const msgpack_object *o, int64_t *ret);
int mp_to_double(const msgpack_object *o, double *ret);
int mp_to_bool(const msgpack_object *o, bool *ret);
const char *mp_type_name(const msgpack_object *o);

/* Convenience lookups returning a default when absent or mistyped. */
int64_t mp_get_int(const msgpack_object *map, const char *key, int64_t def);
bool mp_get_bool(const msgpack_object *map, const char *key, bool def);
/* Borrowed pointer into the object (not NUL-terminated); *len set. */
const char *mp_get_strn(const msgpack_object *map, const char *key, size_t *len);
