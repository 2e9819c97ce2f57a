/* out.c - devctl output: JSON, key/value blocks and aligned tables; JSON input */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"
#include "json.h"

void devctl_print_json(FILE *f, const msgpack_object *o)
{
        if (ds_json_write(f, o) < 0)
                fputs("null", f);
}

void devctl_print_value(FILE *f, const msgpack_object *o)
{
        if (!o)
                return;
        switch (o->type) {
        case MSGPACK_OBJECT_NIL: fputs("-", f); break;
        case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "yes" : "no", f); break;
        case MSGPACK_OBJECT_STR:
                if (o->via.str.size == 0)
                        fputs("-", f);
                else
                        for (uint32_t i = 0; i < o->via.str.size; i++) {
                                unsigned char c = (unsigned char)o->via.str.ptr[i];
                                fputc(c < 0x20 || c == 0x7f ? '?' : c, f); /* no terminal escapes */
                        }
                break;
        case MSGPACK_OBJECT_ARRAY: {
                bool scalars = true;
                for (uint32_t i = 0; i < o->via.array.size; i++)
                        if (o->via.array.ptr[i].type == MSGPACK_OBJECT_MAP ||
                            o->via.array.ptr[i].type == MSGPACK_OBJECT_ARRAY)
                                scalars = false;
                if (!scalars) {
                        devctl_print_json(f, o);
                        break;
                }
                if (o->via.array.size == 0)
                        fputs("-", f);
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        if (i)
                                fputs(",", f);
                        devctl_print_value(f, &o->via.array.ptr[i]);
                }
                break;
        }
        case MSGPACK_OBJECT_MAP: devctl_print_json(f, o); break;
        default: devctl_print_json(f, o); break;
        }
}

static size_t value_width(const msgpack_object *o)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);

        if (!m)
                return 1;
        devctl_print_value(m, o);
        fclose(m);
        free(buf);
        return len;
}

void devctl_print_map(FILE *f, const msgpack_object *m, int indent)
{
        size_t w = 0;

        if (!m || m->type != MSGPACK_OBJECT_MAP) {
                devctl_print_value(f, m);
                fputc('\n', f);
                return;
        }
        for (uint32_t i = 0; i < m->via.map.size; i++)
                if (m->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR && m->via.map.ptr[i].key.via.str.size > w)
                        w = m->via.map.ptr[i].key.via.str.size;
        for (uint32_t i = 0; i < m->via.map.size; i++) {
                const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
                bool rows = v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size > 0 &&
                            v->via.array.ptr[0].type == MSGPACK_OBJECT_MAP;

                fprintf(f, "%*s", indent, "");
                devctl_print_value(f, k);
                if (v->type == MSGPACK_OBJECT_MAP && v->via.map.size > 0) {
                        fputs(":\n", f);
                        devctl_print_map(f, v, indent + 2);
                } else if (rows) {
                        fputs(":\n", f);
                        devctl_print_table(f, v, NULL);
                } else {
                        fprintf(f, ":%*s ", (int)(w - (k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 1)), "");
                        devctl_print_value(f, v);
                        fputc('\n', f);
                }
        }
}

/* Columns: the given ones, else the keys of the first row (in order). */
void devctl_print_table(FILE *f, const msgpack_object *rows, const char *const *columns)
{
        const char *cols[32];
        size_t ncol = 0, width[32];

        if (!rows || rows->type != MSGPACK_OBJECT_ARRAY)
                return;
        if (rows->via.array.size == 0) {
                fputs("(none)\n", f);
                return;
        }
        if (columns) {
                for (; columns[ncol] && ncol < 32; ncol++)
                        cols[ncol] = columns[ncol];
        } else {
                const msgpack_object *r0 = &rows->via.array.ptr[0];
                static char names[32][64];
                for (uint32_t i = 0; r0->type == MSGPACK_OBJECT_MAP && i < r0->via.map.size && ncol < 32; i++)
                        if (mp_strcpy(&r0->via.map.ptr[i].key, names[ncol], sizeof names[ncol]) == 0) {
                                cols[ncol] = names[ncol];
                                ncol++;
                        }
        }
        for (size_t c = 0; c < ncol; c++) {
                width[c] = strlen(cols[c]);
                for (uint32_t i = 0; i < rows->via.array.size; i++) {
                        size_t vw = value_width(mp_get(&rows->via.array.ptr[i], cols[c]));
                        if (vw > width[c])
                                width[c] = vw;
                }
                if (width[c] > 60)
                        width[c] = 60;
        }
        for (size_t c = 0; c < ncol; c++) {
                for (const char *p = cols[c]; *p; p++)
                        fputc(toupper((unsigned char)*p), f);
                if (c + 1 < ncol)
                        fprintf(f, "%*s  ", (int)(width[c] - strlen(cols[c])), "");
        }
        fputc('\n', f);
        for (uint32_t i = 0; i < rows->via.array.size; i++) {
                for (size_t c = 0; c < ncol; c++) {
                        const msgpack_object *v = mp_get(&rows->via.array.ptr[i], cols[c]);
                        size_t vw = value_width(v);
                        if (v)
                                devctl_print_value(f, v);
                        else
                                fputc('-', f), vw = 1;
                        if (c + 1 < ncol)
                                fprintf(f, "%*s  ", (int)(vw < width[c] ? width[c] - vw : 0), "");
                }
                fputc('\n', f);
        }
}

int devctl_json_to_mp(const char *json, struct mpw *w, char *err, size_t errlen)
{
        if (ds_json_to_mp(json, strlen(json), w, err, errlen) < 0)
                return -1;
        return mpw_finish(w) < 0 ? -1 : 0;
}
