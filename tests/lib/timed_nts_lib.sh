# timed_nts_lib.sh - sourced after tap.sh and timed_lib.sh by the NTS
# scenarios: a private CA and a chronyd NTS server on loopback (ports
# 24300-24399 only).
# nts_mkca DIR: ca.pem, server.pem/key (localhost, 127.0.0.1, 127.0.0.3), other.pem/key
# (ntp.other.test), ca2.pem (a CA nobody trusts)
nts_mkca() { test_mkca "$1" 'DNS:localhost,IP:127.0.0.1,IP:127.0.0.3' ntp.other.test && chmod 644 "$1"/*.key; }
# chrony_nts_srv NAME NTP_PORT KE_PORT CERT [OFFSET_S]: chronyd serving NTP and
# NTS-KE with CERT (server or other) of $T_DIR/pki, naming $NTS_NTPSERVER (if
# set) as the NTP server in its KE answers, bound to $NTS_BIND (127.0.0.1);
# sets SRV_PID
chrony_nts_srv() {
        local n=$1 port=$2 ke=$3 cert=$4 off=${5:-} d="$T_DIR/chrony-$1"
        mkdir -p -m 700 "$d"
        cat > "$d/chrony.conf" <<EOC
port $port
bindaddress ${NTS_BIND:-127.0.0.1}
local stratum 8
allow 127.0.0.1
cmdport 0
bindcmdaddress $d/chronyd.sock
pidfile $d/chronyd.pid
driftfile $d/drift
ntsserverkey $T_DIR/pki/$cert.key
ntsservercert $T_DIR/pki/$cert.pem
ntsport $ke
ntsdumpdir $d
ntsprocesses 0
${NTS_NTPSERVER:+ntsntpserver $NTS_NTPSERVER}
EOC
        if [ -n "$off" ]; then
                case $off in [+-]*) ;; *) off="+$off" ;; esac
                bg "chrony-$n" timeout 300 env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="${off}s" FAKETIME_DONT_RESET=1 \
                        chronyd -4 -x -d -u root -f "$d/chrony.conf"
        else
                bg "chrony-$n" timeout 300 chronyd -4 -x -d -u root -f "$d/chrony.conf"
        fi
        SRV_PID=$LAST_PID
        wait_for 5 sh -c "ss -Hlun 'sport = :$port' | grep -q ." && wait_for 5 sh -c "ss -Hltn 'sport = :$ke' | grep -q ."
}
