/* test_clock.h - the injected clock of authd's unit tests: a context whose
 * now() is clock_ms, which a test moves by hand */
#pragma once
#include <stdlib.h>

#include "authd.h"

#define MINUTE (60 * 1000LL)
#define DAY (24 * 60 * MINUTE)

static int64_t clock_ms;
static int64_t fake_now(void) { return clock_ms; }

/* A zeroed context (caller frees) on the injected clock, set to a fixed start. */
static inline struct authd_ctx *test_ctx_new(void)
{
        struct authd_ctx *a = calloc(1, sizeof *a);

        if (a)
                a->now = fake_now;
        clock_ms = 1700000000000LL;
        return a;
}
