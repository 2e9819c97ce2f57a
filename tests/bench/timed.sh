#!/bin/bash
# timed benchmark: clock error of timed and of `chronyd -Q`, side by side,
# against the same chronyd server behind the same delaying relay (40 +- 10 ms
# each way); the server shares our clock, so each one's error is what it
# would set the clock to. Then timed's idle RSS. Loopback ports 11150-11159.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note.
source "$(dirname "$0")/../lib/tap.sh" >/dev/null
source "$(dirname "$0")/../lib/timed_lib.sh"
ROUNDS=${TIMED_BENCH_ROUNDS:-5}
have chronyd || { echo "timed bench: chronyd not installed" >&2; exit 0; }
timed_stack
chrony_srv bench 11150 || exit 1
bg relay python3 "$ROOT_DIR/tests/lib/timed_udp_delay.py" 11151 11150 40 40 10
wait_for 5 grep -q ready "$T_DIR/log/relay.log"
timed_conf 'servers=["127.0.0.1:11151"]' poll_min_s=1 poll_max_s=1
timed_start >/dev/null || exit 1

te=""; ce=""
for r in $(seq "$ROUNDS"); do
        # timed: 8 samples (a full clock filter) from a fresh clock process
        wait_status 60 "`src 11151`['rx']>=8" || { echo "timed bench: no samples" >&2; exit 1; }
        e=$(dc --json call timed-clock sys.ping | jq_ "abs(j['virtual_offset_ns'])/1e6")
        te="$te $e"
        # chronyd -Q: same server, same relay, 8 samples
        o=$(chronyd -Q -t 30 "server 127.0.0.1 port 11151 iburst maxsamples 8" 2>&1 |
                sed -n 's/.*System clock wrong by \([-0-9.]*\) seconds.*/\1/p')
        [ -n "$o" ] && ce="$ce $(python3 -c "print(abs($o) * 1000)")"
        # next round: timed starts over from a clock process with no correction
        kill $CLOCK_PID; wait $CLOCK_PID 2>/dev/null
        bg timed-clock "$B/timed-clock" --dry-run; CLOCK_PID=$LAST_PID; svc_up timed-clock
        kill $TIMED_PID; wait $TIMED_PID 2>/dev/null
        bg timed "$B/timed" --dry-run; TIMED_PID=$LAST_PID; svc_up timed
done
stats() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print('%.3f %.3f' % (sum(v)/len(v), max(v)) if v else 'nan nan')" $1; }
read tm tx <<<"$(stats "$te")"; read cm cx <<<"$(stats "$ce")"
printf 'BENCH\ttimed offset error (mean of %d)\t%s\tms\t40+-10 ms each way, 8 samples, poll 1 s\n' "$ROUNDS" "$tm"
printf 'BENCH\ttimed offset error (worst)\t%s\tms\tsame\n' "$tx"
printf 'BENCH\tchronyd -Q offset error (mean of %d)\t%s\tms\tsame server and relay, maxsamples 8\n' "$ROUNDS" "$cm"
printf 'BENCH\tchronyd -Q offset error (worst)\t%s\tms\tsame\n' "$cx"
sleep 2
rss=$(awk '/VmRSS/ {print $2}' /proc/$TIMED_PID/status)
printf 'BENCH\ttimed idle RSS\t%s\tKiB\tone source, synchronised; USS %s KiB\n' "$rss" "$(uss $TIMED_PID)"
rss=$(awk '/VmRSS/ {print $2}' /proc/$CLOCK_PID/status)
printf 'BENCH\ttimed-clock idle RSS\t%s\tKiB\tUSS %s KiB\n' "$rss" "$(uss $CLOCK_PID)"
