/* check.c - sftp-storage's pure logic: the destination URL, the remote
 * directory, names, listings, the marker, fingerprints */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sftp.h"

int stor_url_parse(const char *s, bool allow_ftps, struct stor_url *ret, const char **ret_why)
{
        struct stor_url u = { 0 };
        const char *p, *h, *slash, *colon;
        size_t hl;

        if (!strncmp(s, "sftp://", 7)) {
                u.proto = STOR_SFTP;
                u.port = 22;
                p = s + 7;
        } else if (!strncmp(s, "ftpes://", 8)) {
                if (!allow_ftps) {
                        *ret_why = "explicit FTPS is a fallback that must be turned on by name (allow_ftps=true); use sftp://";
                        return -EINVAL;
                }
                u.proto = STOR_FTPES;
                u.port = 21;
                p = s + 8;
        } else if (!strncmp(s, "ftp://", 6)) {
                *ret_why = "plain FTP sends the password and the recordings in clear: refused (use sftp://, or "
                           "ftpes:// with allow_ftps=true)";
                return -EINVAL;
        } else if (!strncmp(s, "ftps://", 7)) {
                *ret_why = "implicit FTPS is not supported: use sftp://, or ftpes:// (explicit FTPS) with allow_ftps=true";
                return -EINVAL;
        } else {
                *ret_why = "must be sftp://HOST[:PORT]/DIR (or ftpes:// with allow_ftps=true)";
                return -EINVAL;
        }
        h = p;
        if (strchr(h, '@') && (!strchr(h, '/') || strchr(h, '@') < strchr(h, '/'))) {
                *ret_why = "no user in the URL: set username (and the password, if any, with --password-stdin)";
                return -EINVAL;
        }
        if (!(slash = strchr(h, '/'))) {
                *ret_why = "a remote directory is required (sftp://HOST/DIR)";
                return -EINVAL;
        }
        colon = memchr(h, ':', (size_t)(slash - h));
        hl = (size_t)((colon ? colon : slash) - h);
        if (hl == 0 || hl >= sizeof u.host) {
                *ret_why = "no host";
                return -EINVAL;
        }
        memcpy(u.host, h, hl);
        for (size_t i = 0; i < hl; i++)
                if (!isalnum((unsigned char)u.host[i]) && !strchr(".-", u.host[i])) {
                        *ret_why = "not a host name or IPv4 address";
                        return -EINVAL;
                }
        if (colon) {
                char *end;
                long port = strtol(colon + 1, &end, 10);
                if (end != slash || port < 1 || port > 65535) {
                        *ret_why = "bad port";
                        return -EINVAL;
                }
                u.port = port;
        }
        /* the directory: absolute, normalised, no "..", no odd bytes */
        size_t n = 0;
        for (p = slash; *p;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                const char *e = strchr(p, '/');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.')) {
                        *ret_why = "the remote directory must not contain '.' or '..'";
                        return -EINVAL;
                }
                for (size_t i = 0; i < l; i++)
                        if (!isalnum((unsigned char)p[i]) && !strchr("._-", p[i])) {
                                *ret_why = "the remote directory may hold only letters, digits, '.', '_', '-' and '/'";
                                return -EINVAL;
                        }
                if (n + 1 + l >= sizeof u.dir) {
                        *ret_why = "the remote directory is too long";
                        return -EINVAL;
                }
                u.dir[n++] = '/';
                memcpy(u.dir + n, p, l);
                n += l;
                p += l;
        }
        u.dir[n] = 0;
        if (stor_dir_is_system(u.dir)) {
                *ret_why = "the remote directory must not be '/' or a system directory: give one of its own "
                           "(e.g. /upload/camera1)";
                return -EINVAL;
        }
        *ret = u;
        return 0;
}

bool stor_dir_is_system(const char *dir)
{
        static const char *const sys[] = { "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                                           "/proc", "/root", "/run", "/sbin", "/sys", "/usr", "/var", "/tmp",
                                           "/home", "/opt", "/srv", "/mnt", "/media", NULL };
        if (!dir[0] || !strcmp(dir, "/"))
                return true;
        for (unsigned i = 0; sys[i]; i++) {
                size_t l = strlen(sys[i]);
                /* the directory itself, and what systems own below it
                 * (/home/x is a user's home: also not exclusive) */
                if (!strncmp(dir, sys[i], l) && (dir[l] == 0 || dir[l] == '/'))
                        return strcmp(sys[i], "/srv") && strcmp(sys[i], "/mnt") && strcmp(sys[i], "/media")
                                       ? true
                                       : dir[l] == 0;
        }
        return false;
}

bool stor_name_ok(const char *name)
{
        size_t l = strlen(name);

        if (l == 0 || l > STOR_NAME_MAX || name[0] == '.')
                return false;
        for (size_t i = 0; i < l; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
                        return false;
        return true;
}

void stor_final_name(const char *id, const char *name, char *buf, size_t size)
{
        snprintf(buf, size, "%.12s-%s", id, name);
}

void stor_tmp_name(const char *final, char *buf, size_t size)
{
        snprintf(buf, size, ".%s.part", final);
}

/* "-rw-r--r--    1 1001     1001     1234 Jan  1 00:00 name" */
int stor_list_parse(const char *text, size_t len, void (*fn)(void *ud, const char *name, uint64_t size, bool dir),
                    void *ud)
{
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
                char line[1024], *f[9], *save = NULL;
                unsigned n = 0;

                if (l && p[l - 1] == '\r')
                        l--;
                if (l > 0 && l < sizeof line) {
                        memcpy(line, p, l);
                        line[l] = 0;
                        for (char *t = strtok_r(line, " ", &save); t; t = n < 8 ? strtok_r(NULL, " ", &save) : NULL)
                                f[n++] = t;
                        if (n == 8 && save && *save) {
                                while (*save == ' ')
                                        save++;
                                f[8] = save;
                                if (strcmp(f[8], ".") && strcmp(f[8], "..")) {
                                        char *e;
                                        uint64_t sz = strtoull(f[4], &e, 10);
                                        if (*e == 0)
                                                fn(ud, f[8], sz, f[0][0] == 'd');
                                }
                        }
                }
                p += (nl ? (size_t)(nl - p) + 1 : (size_t)(end - p));
        }
        return 0;
}

int stor_list_line(char *buf, size_t size, const char *name, size_t name_len, uint64_t file_size, bool dir)
{
        int n = snprintf(buf, size, "%s 1 - - %" PRIu64 " Jan 1 00:00 ", dir ? "drwxr-xr-x" : "-rw-r--r--", file_size);

        if (n < 0 || (size_t)n + name_len + 1 >= size)
                return -ENOSPC;
        /* the server's bytes: a newline or a NUL in a name would make a line
         * of its own (a forged entry) or cut the name short; '?' for
         * control bytes keeps it one foreign entry */
        for (size_t i = 0; i < name_len; i++)
                buf[n++] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
        buf[n++] = '\n';
        buf[n] = 0;
        return n;
}

int stor_marker_text(const char *device_id, char *buf, size_t size)
{
        int n = snprintf(buf, size, "devsec-storage exclusive directory\ndevice=%s\n", device_id);
        return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int stor_marker_device(const char *text, size_t len, char *buf, size_t size)
{
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
                if (l > 7 && !strncmp(p, "device=", 7)) {
                        if (l - 7 >= size || l == 7)
                                return -EINVAL;
                        memcpy(buf, p + 7, l - 7);
                        buf[l - 7] = 0;
                        return 0;
                }
                p += l + 1;
        }
        return -EINVAL;
}

int stor_fingerprint(const void *key, size_t len, char *buf, size_t size)
{
        unsigned char md[32], b64[64];
        unsigned int mdl = 0;
        int n;

        if (!EVP_Digest(key, len, md, &mdl, EVP_sha256(), NULL) || mdl != 32)
                return -EINVAL;
        n = EVP_EncodeBlock(b64, md, 32);
        while (n > 0 && b64[n - 1] == '=')
                n--;
        if ((size_t)n >= size)
                return -ENOSPC;
        memcpy(buf, b64, (size_t)n);
        buf[n] = 0;
        return 0;
}
