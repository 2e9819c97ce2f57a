/* log.c - stderr logging with journald "<N>" prefixes under systemd */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct log_state {
        const char *ident;
        int max_level;
        bool journal;
        log_sink_fn sink;
        void *sink_ud;
        bool in_sink;
};

static struct log_state L = { .ident = "devsec", .max_level = LOG_LVL_INFO };

static const char *const level_names[] = {
        [LOG_LVL_ERR] = "err",       [LOG_LVL_WARNING] = "warning", [LOG_LVL_NOTICE] = "notice",
        [LOG_LVL_INFO] = "info",     [LOG_LVL_DEBUG] = "debug",
};

void log_init(const char *ident)
{
        const char *e;

        L.ident = ident;
        /* journald connects stderr as a stream and says so in JOURNAL_STREAM */
        L.journal = getenv("JOURNAL_STREAM") != NULL;
        e = getenv("DEVSEC_LOG_LEVEL");
        if (e && log_level_parse(e) > 0)
                L.max_level = log_level_parse(e);
}

void log_set_level(int max_level) { L.max_level = max_level; }
int log_get_level(void) { return L.max_level; }

void log_set_sink(log_sink_fn fn, void *ud)
{
        L.sink = fn;
        L.sink_ud = ud;
}

const char *log_level_name(int level)
{
        if (level < LOG_LVL_ERR || level > LOG_LVL_DEBUG)
                return "err";
        return level_names[level];
}

int log_level_parse(const char *s)
{
        for (int i = LOG_LVL_ERR; i <= LOG_LVL_DEBUG; i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static void emit(int level, const char *msg)
{
        if (L.journal) {
                fprintf(stderr, "<%d>%s\n", level, msg);
        } else {
                struct timespec ts;
                struct tm tm;
                char tbuf[32];

                clock_gettime(CLOCK_REALTIME, &ts);
                localtime_r(&ts.tv_sec, &tm);
                strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
                fprintf(stderr, "%s.%03ld %s[%d] %s: %s\n", tbuf, ts.tv_nsec / 1000000, L.ident,
                        (int)getpid(), log_level_name(level), msg);
        }
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
        char buf[1024];
        int saved = errno;

        if (level > L.max_level)
                return;
        errno = saved;
        vsnprintf(buf, sizeof buf, fmt, ap); /* truncation of a log line is acceptable */
        emit(level, buf);
        errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(level, fmt, ap);
        va_end(ap);
}

int log_errno_at(int level, int r, const char *fmt, ...)
{
        va_list ap;

        errno = r < 0 ? -r : r;
        va_start(ap, fmt);
        log_vmsg(level, fmt, ap);
        va_end(ap);
        return r;
}

void log_audit(const char *category, int level, const char *user, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (level <= L.max_level)
                emit(level, buf);
        /* the sink may itself log on failure: never recurse into it */
        if (L.sink && !L.in_sink) {
                L.in_sink = true;
                L.sink(L.sink_ud, level, category, user, buf);
                L.in_sink = false;
        }
}

void fatal(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_vmsg(LOG_LVL_ERR, fmt, ap);
        va_end(ap);
        exit(1);
}
