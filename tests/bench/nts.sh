#!/bin/bash
# NTS benchmark: clock error of timed with NTS and of `chronyd -Q` with NTS,
# side by side in the same run, against the same chronyd NTS server whose KE
# names 127.0.0.2 as its NTP server, where the same delaying relay (40 +- 10
# ms each way) forwards to it; the server shares our clock, so each one's
# error is what it would set the clock to. Then timed's NTS-KE time and the
# CPU per authenticated exchange. Loopback ports 24380-24389.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note (with target and PASS/FAIL).
source "$(dirname "$0")/../lib/tap.sh" >/dev/null
source "$(dirname "$0")/../lib/timed_lib.sh"
source "$(dirname "$0")/../lib/timed_nts_lib.sh"
ROUNDS=${NTS_BENCH_ROUNDS:-5}
have chronyd || { echo "nts bench: chronyd not installed" >&2; exit 0; }
timed_stack
nts_mkca "$T_DIR/pki"
NTS_NTPSERVER=127.0.0.2 chrony_nts_srv bench 24380 24381 server || exit 1
bg relay timeout 600 python3 "$ROOT_DIR/tests/lib/timed_udp_delay.py" 24380 24380 40 40 10 127.0.0.2
wait_for 5 grep -q ready "$T_DIR/log/relay.log"
timed_conf 'nts_servers=["127.0.0.1:24381"]' "nts_ca=\"$T_DIR/pki/ca.pem\"" poll_min_s=1 poll_max_s=1
timed_start >/dev/null || exit 1
S=$(src 24381)

te=""; ce=""; ke=""
for r in $(seq "$ROUNDS"); do
        # timed: 8 authenticated samples (a full clock filter) from a fresh clock process
        wait_status 60 "$S['rx']>=8 and $S['authenticated']>=8" || { echo "nts bench: no samples" >&2; exit 1; }
        e=$(dc --json call timed-clock sys.ping | jq_ "abs(j['virtual_offset_ns'])/1e6")
        te="$te $e"
        k=$(tstatus "$S['ke_ms']"); [ "$k" != 0 ] && ke="$ke $k"
        # chronyd -Q with NTS: same KE server, same relay, 8 samples (as root: the test dir is 0700)
        o=$(chronyd -u root -Q -t 40 "server 127.0.0.1 port 24380 nts ntsport 24381 iburst maxsamples 8" \
                "ntstrustedcerts $T_DIR/pki/ca.pem" nosystemcert 2>&1 |
                sed -n 's/.*System clock wrong by \([-0-9.]*\) seconds.*/\1/p')
        [ -n "$o" ] && ce="$ce $(python3 -c "print(abs($o) * 1000)")"
        # next round: timed starts over, with a new KE, from a clock process with no correction
        kill $CLOCK_PID; wait $CLOCK_PID 2>/dev/null
        bg timed-clock "$B/timed-clock" --dry-run; CLOCK_PID=$LAST_PID; svc_up timed-clock
        kill $TIMED_PID; wait $TIMED_PID 2>/dev/null
        rm -f "$T_DIR/state/timed/nts.mp"
        bg timed "$B/timed" --dry-run; TIMED_PID=$LAST_PID; svc_up timed
done
stats() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print('%.3f %.3f' % (sum(v)/len(v), max(v)) if v else 'nan nan')" $1; }
verdict() { python3 -c "import sys; print('PASS' if $1 else 'FAIL')" 2>/dev/null || echo FAIL; }
read tm tx <<<"$(stats "$te")"; read cm cx <<<"$(stats "$ce")"; read km kx <<<"$(stats "$ke")"
ratio=$(python3 -c "print('%.2f' % ($tm / $cm))" 2>/dev/null || echo nan)
printf 'BENCH\ttimed NTS offset error (mean of %d)\t%s\tms\t40+-10 ms each way, 8 authenticated samples, poll 1 s\n' "$ROUNDS" "$tm"
printf 'BENCH\ttimed NTS offset error (worst)\t%s\tms\tsame\n' "$tx"
printf 'BENCH\tchronyd -Q NTS offset error (mean of %d)\t%s\tms\tsame KE server and relay, maxsamples 8\n' "$ROUNDS" "$cm"
printf 'BENCH\tchronyd -Q NTS offset error (worst)\t%s\tms\tsame\n' "$cx"
printf 'BENCH\ttimed/chronyd NTS offset error\t%s\tx\ttarget <= 1.0: %s\n' "$ratio" "$(verdict "$ratio <= 1.0")"
printf 'BENCH\ttimed NTS-KE time (mean of %d)\t%s\tms\tloopback TLS 1.3, RSA 2048; worst %s ms; target <= 50: %s\n' \
        "$ROUNDS" "$km" "$kx" "$(verdict "$km <= 50")"
read un up <<<"$("$B/bench/nts_bench" 20000 2>/dev/null)"
printf 'BENCH\tCPU per NTS-authenticated exchange\t%s\tus\trequest built + reply verified, one cookie; plain check %s us; target <= 50: %s\n' \
        "$un" "$up" "$(verdict "${un:-999} <= 50")"
