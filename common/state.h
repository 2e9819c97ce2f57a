/* state.h - atomic state files: temp file, fsync, rename, fsync of the directory */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "mp.h"

/* Creates dir (and parents) with mode when missing. */
int state_mkdir_p(const char *dir, mode_t mode);
/* Atomically replaces dir/name with data. */
int state_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode);
/* Reads dir/name whole (caller owns *ret, NUL-terminated beyond len). -ENOENT when absent;
 * -EFBIG above max bytes. */
int state_read(const char *dir, const char *name, size_t max, char **ret, size_t *ret_len);
int state_remove(const char *dir, const char *name);
/* A msgpack state file, read whole and decoded: m->u.data is its value. */
struct state_mp {
        char *buf;
        size_t len;
        msgpack_unpacked u;
        bool decoded;
        const char *why; /* set when the file was read but does not decode */
};
/* Reads dir/name (at most max bytes) and decodes it under lim (NULL: the
 * defaults): 0, or as state_read (-ENOENT when absent), or mp_decode's code
 * with m->why. In every case m is released with state_mp_free. */
int state_read_mp(const char *dir, const char *name, size_t max, const struct mp_limits *lim, struct state_mp *m);
/* Frees what state_read_mp kept; the bytes are wiped (a state file may hold secrets). */
void state_mp_free(struct state_mp *m);
/* Removes name under the directory dfd (AT_FDCWD: a path), a file or a whole
 * tree; links are removed, never followed. Absent is fine; else the first -errno. */
int state_remove_tree(int dfd, const char *name);
/* Joins a and b with '/': caller owns. */
char *path_join(const char *a, const char *b);
/* fsync of a directory, so a rename or unlink in it is durable: 0 or -errno */
int state_sync_dir(const char *dir);
/* write(2) until all of data is written (EINTR retried): 0 or -errno */
int state_write_all(int fd, const void *data, size_t len);
