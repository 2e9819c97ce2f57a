/* log.h - logging to stderr (journald priority prefixes) and to the bus */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

enum log_level {
        LOG_LVL_ERR = 3,
        LOG_LVL_WARNING = 4,
        LOG_LVL_NOTICE = 5,
        LOG_LVL_INFO = 6,
        LOG_LVL_DEBUG = 7,
};

/* Optional sink that forwards records to the bus (set by the service layer).
 * category: "system", "security", "operation", "event"; user may be NULL. */
typedef void (*log_sink_fn)(void *ud, int level, const char *category,
                            const char *user, const char *msg);

void log_init(const char *ident);
void log_set_level(int max_level);
int log_get_level(void);
void log_set_sink(log_sink_fn fn, void *ud);
const char *log_level_name(int level);
int log_level_parse(const char *s);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Logs and returns r (a -errno), with errno set so that %m prints it. */
int log_errno_at(int level, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An audit/security record: to stderr and to the bus sink under category. */
void log_audit(const char *category, int level, const char *user, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_errno(r, ...) log_errno_at(LOG_LVL_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_errno_at(LOG_LVL_WARNING, (r), __VA_ARGS__)

/* Before READY only: logs and exits 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
