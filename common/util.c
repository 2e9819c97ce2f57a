/* util.c */
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ds_now_mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ds_now_real_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ds_format_time(int64_t ms, char *buf, size_t size)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        char b[32];

        gmtime_r(&t, &tm);
        strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03dZ", b, (int)(ms % 1000));
}

int ds_parse_time(const char *s, int64_t *ret_ms)
{
        struct tm tm = { 0 };
        const char *end;
        time_t t;

        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end || (*end && strcmp(end, "Z") != 0))
                return -EINVAL;
        t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret_ms = (int64_t)t * 1000;
        return 0;
}

int ds_parse_duration(const char *s, int64_t *ret_s)
{
        char *end;
        long long v;
        int64_t mul = 1;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || v < 0)
                return -EINVAL;
        if (*end) {
                if (end[1])
                        return -EINVAL;
                switch (*end) {
                case 's': mul = 1; break;
                case 'm': mul = 60; break;
                case 'h': mul = 3600; break;
                case 'd': mul = 86400; break;
                default: return -EINVAL;
                }
        }
        if (v > INT64_MAX / mul)
                return -ERANGE;
        *ret_s = v * mul;
        return 0;
}

void ds_random(void *buf, size_t n)
{
        randombytes_buf(buf, n);
}

size_t ds_b64url_len(size_t n)
{
        return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void ds_b64url(const void *in, size_t n, char *out)
{
        sodium_bin2base64(out, ds_b64url_len(n), in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void ds_hex(const void *in, size_t n, char *out)
{
        sodium_bin2hex(out, 2 * n + 1, in, n);
}

bool ds_memeq(const void *a, const void *b, size_t n)
{
        return sodium_memcmp(a, b, n) == 0;
}

void ds_free_secret(char *s)
{
        if (!s)
                return;
        sodium_memzero(s, strlen(s));
        free(s);
}

char *ds_strdup0(const char *s)
{
        return s ? strdup(s) : NULL;
}

int ds_signalfd_open(void)
{
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        signal(SIGPIPE, SIG_IGN);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}
