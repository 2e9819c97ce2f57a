/* out.c - devctl output: JSON, key/value blocks and aligned tables; JSON input */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "devctl.h"

static void json_str(FILE *f, const char *s, size_t n)
{
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                switch (c) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
}

void devctl_print_json(FILE *f, const msgpack_object *o)
{
        if (!o) {
                fputs("null", f);
                return;
        }
        switch (o->type) {
        case MSGPACK_OBJECT_NIL: fputs("null", f); break;
        case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%llu", (unsigned long long)o->via.u64); break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%lld", (long long)o->via.i64); break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                if (isfinite(o->via.f64))
                        fprintf(f, "%.9g", o->via.f64);
                else
                        fputs("null", f);
                break;
        case MSGPACK_OBJECT_STR: json_str(f, o->via.str.ptr, o->via.str.size); break;
        case MSGPACK_OBJECT_BIN:
        case MSGPACK_OBJECT_EXT: {
                fputc('"', f);
                for (uint32_t i = 0; i < o->via.bin.size; i++)
                        fprintf(f, "%02x", (unsigned char)o->via.bin.ptr[i]);
                fputc('"', f);
                break;
        }
        case MSGPACK_OBJECT_ARRAY:
                fputc('[', f);
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        if (i)
                                fputc(',', f);
                        devctl_print_json(f, &o->via.array.ptr[i]);
                }
                fputc(']', f);
                break;
        case MSGPACK_OBJECT_MAP:
                fputc('{', f);
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        const msgpack_object *k = &o->via.map.ptr[i].key;
                        if (i)
                                fputc(',', f);
                        if (k->type == MSGPACK_OBJECT_STR)
                                json_str(f, k->via.str.ptr, k->via.str.size);
                        else {
                                fputc('"', f);
                                devctl_print_value(f, k);
                                fputc('"', f);
                        }
                        fputc(':', f);
                        devctl_print_json(f, &o->via.map.ptr[i].val);
                }
                fputc('}', f);
                break;
        }
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

/* ---- a small JSON reader for --args-json and config import ---------------- */

struct jp {
        const char *p;
        struct mpw *w;
        const char *err;
        int depth;
};

static void ws(struct jp *j)
{
        while (*j->p && isspace((unsigned char)*j->p))
                j->p++;
}

static int jvalue(struct jp *j);

static int jstring(struct jp *j, char **ret)
{
        size_t cap = 64, n = 0;
        char *s = malloc(cap);

        if (!s)
                return -1;
        j->p++; /* opening quote */
        while (*j->p && *j->p != '"') {
                char c = *j->p++;
                if (n + 8 > cap) {
                        char *ns = realloc(s, cap *= 2);
                        if (!ns) {
                                free(s);
                                return -1;
                        }
                        s = ns;
                }
                if (c == '\\') {
                        c = *j->p++;
                        switch (c) {
                        case 'n': s[n++] = '\n'; break;
                        case 't': s[n++] = '\t'; break;
                        case 'r': s[n++] = '\r'; break;
                        case 'b': s[n++] = '\b'; break;
                        case 'f': s[n++] = '\f'; break;
                        case 'u': {
                                unsigned v = 0;
                                for (int i = 0; i < 4; i++) {
                                        if (!isxdigit((unsigned char)*j->p)) {
                                                free(s);
                                                j->err = "bad \\u escape";
                                                return -1;
                                        }
                                        char h = *j->p++;
                                        v = v * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
                                }
                                if (v < 0x80) {
                                        s[n++] = (char)v;
                                } else if (v < 0x800) {
                                        s[n++] = (char)(0xc0 | (v >> 6));
                                        s[n++] = (char)(0x80 | (v & 0x3f));
                                } else {
                                        s[n++] = (char)(0xe0 | (v >> 12));
                                        s[n++] = (char)(0x80 | ((v >> 6) & 0x3f));
                                        s[n++] = (char)(0x80 | (v & 0x3f));
                                }
                                break;
                        }
                        case '\0': free(s); j->err = "unterminated string"; return -1;
                        default: s[n++] = c;
                        }
                } else {
                        s[n++] = c;
                }
        }
        if (*j->p != '"') {
                free(s);
                j->err = "unterminated string";
                return -1;
        }
        j->p++;
        s[n] = '\0';
        *ret = s;
        return (int)n;
}

static int jvalue(struct jp *j)
{
        ws(j);
        if (++j->depth > 30) {
                j->err = "nested too deeply";
                return -1;
        }
        if (*j->p == '{') {
                j->p++;
                mpw_map_begin(j->w);
                ws(j);
                if (*j->p == '}') {
                        j->p++;
                } else {
                        for (;;) {
                                char *k;
                                ws(j);
                                if (*j->p != '"') {
                                        j->err = "expected a key string";
                                        return -1;
                                }
                                if (jstring(j, &k) < 0)
                                        return -1;
                                mpw_str(j->w, k);
                                free(k);
                                ws(j);
                                if (*j->p++ != ':') {
                                        j->err = "expected ':'";
                                        return -1;
                                }
                                if (jvalue(j) < 0)
                                        return -1;
                                ws(j);
                                if (*j->p == ',') {
                                        j->p++;
                                        continue;
                                }
                                if (*j->p++ != '}') {
                                        j->err = "expected ',' or '}'";
                                        return -1;
                                }
                                break;
                        }
                }
                mpw_map_end(j->w);
        } else if (*j->p == '[') {
                j->p++;
                mpw_arr_begin(j->w);
                ws(j);
                if (*j->p == ']') {
                        j->p++;
                } else {
                        for (;;) {
                                if (jvalue(j) < 0)
                                        return -1;
                                ws(j);
                                if (*j->p == ',') {
                                        j->p++;
                                        continue;
                                }
                                if (*j->p++ != ']') {
                                        j->err = "expected ',' or ']'";
                                        return -1;
                                }
                                break;
                        }
                }
                mpw_arr_end(j->w);
        } else if (*j->p == '"') {
                char *s;
                int n = jstring(j, &s);
                if (n < 0)
                        return -1;
                mpw_strn(j->w, s, (size_t)n);
                free(s);
        } else if (!strncmp(j->p, "true", 4)) {
                j->p += 4;
                mpw_bool(j->w, true);
        } else if (!strncmp(j->p, "false", 5)) {
                j->p += 5;
                mpw_bool(j->w, false);
        } else if (!strncmp(j->p, "null", 4)) {
                j->p += 4;
                mpw_nil(j->w);
        } else if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
                char *end;
                long long v = strtoll(j->p, &end, 10);
                if (*end == '.' || *end == 'e' || *end == 'E') {
                        double d = strtod(j->p, &end);
                        mpw_double(j->w, d);
                } else {
                        mpw_int(j->w, v);
                }
                j->p = end;
        } else {
                j->err = "unexpected character";
                return -1;
        }
        j->depth--;
        return 0;
}

int devctl_json_to_mp(const char *json, struct mpw *w, char *err, size_t errlen)
{
        struct jp j = { .p = json, .w = w };

        if (jvalue(&j) < 0 || (ws(&j), *j.p != '\0')) {
                snprintf(err, errlen, "%s at offset %ld", j.err ? j.err : "trailing text", (long)(j.p - json));
                return -1;
        }
        return mpw_finish(w) < 0 ? -1 : 0;
}
