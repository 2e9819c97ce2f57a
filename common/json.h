/* json.h - the one JSON <-> msgpack bridge (jansson), with the bus's limits.
 *
 * Used wherever JSON meets the bus: devctl's --args-json, --json output and
 * config import/export, and the HTTPS API. Input is refused rather than
 * guessed at: invalid UTF-8, a NUL inside a string, a key given twice, an
 * integer beyond 64 bits, a container of more items than the bus decodes, nesting deeper than DS_JSON_MAX_DEPTH or a text
 * longer than DS_JSON_MAX_SIZE. */
#pragma once
#include <msgpack.h>
#include <stddef.h>
#include <stdio.h>

#include "mp.h"

/* One bus message is at most 1 MiB; a JSON text that encodes more could never
 * be sent. The depth leaves room for the two levels of the envelope below the
 * bus's default max_depth (16), and a container holds at most as many items
 * as the bus's decoder takes (mp_limits_default.max_items). */
#define DS_JSON_MAX_SIZE (1u << 20)
#define DS_JSON_MAX_DEPTH 14

/* Parses len bytes of text (need not be NUL-terminated) and appends the value
 * to w as one item. On error returns -EINVAL (or -EMSGSIZE, -ENOMEM) and
 * writes "line L column C: why" to err; w may hold a partial value then and
 * should be discarded. */
int ds_json_to_mp(const char *text, size_t len, struct mpw *w, char *err, size_t errlen);

/* Writes o as compact JSON. Binary and extension values become lowercase hex
 * strings, non-string map keys their printed form, non-finite floats null.
 * Returns 0 or -EIO / -ENOMEM. */
int ds_json_write(FILE *f, const msgpack_object *o);

/* Same, into a NUL-terminated string; caller owns (free()). NULL on error. */
char *ds_json_dumps(const msgpack_object *o);
/* The same of what a writer holds (one finished msgpack value). */
char *ds_json_dumps_mpw(const struct mpw *w);
