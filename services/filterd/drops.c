/* drops.c - packets the filter dropped, per hour over the last day: the nft
 * counters (carried over every replacement of the table) sampled once a
 * minute and at every filter.status, their growth added to the hour it
 * happened in. Kept in memory: a restart starts a new day of figures. */
#include <stdio.h>
#include <string.h>

#include "filterd.h"
#include "util.h"

#define HOUR_MS 3600000LL

void fd_drops_sample(struct fd_drop_hours *h, const struct fd_counters *c, int64_t now_real_ms)
{
        uint64_t total = 0, delta;
        int64_t hour = now_real_ms / HOUR_MS;
        size_t slot = (size_t)(hour % FD_DROP_HOURS);

        if (!c->valid)
                return;
        for (int i = 0; i < FD_CNT_N; i++)
                total += c->packets[i];
        /* the first sample is the baseline; a total that went down was reset */
        delta = !h->have_last ? 0 : total >= h->last_total ? total - h->last_total : total;
        h->last_total = total;
        h->have_last = true;
        if (h->hour[slot] != hour) {
                h->hour[slot] = hour;
                h->packets[slot] = 0;
        }
        h->packets[slot] += delta;
}

void fd_drops_write(const struct fd_drop_hours *h, struct mpw *w, int64_t now_real_ms)
{
        int64_t cur = now_real_ms / HOUR_MS;
        char t[40];

        mpw_arr_begin(w);
        for (int64_t hr = cur - FD_DROP_HOURS + 1; hr <= cur; hr++) {
                size_t slot = (size_t)(hr % FD_DROP_HOURS);
                ds_format_time(hr * HOUR_MS, t, sizeof t);
                mpw_map_begin(w);
                mpw_kv_str(w, "hour", t);
                mpw_kv_uint(w, "packets", h->hour[slot] == hr ? h->packets[slot] : 0);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}
