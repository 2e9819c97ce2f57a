# timed_nts_lib.sh - sourced after tap.sh and timed_lib.sh by the NTS
# scenarios: a private CA and a chronyd NTS server on loopback (ports
# 24300-24399 only).
# nts_mkca DIR: ca.pem, server.pem/key (localhost, 127.0.0.1, 127.0.0.3), other.pem/key
# (ntp.other.test), ca2.pem (a CA nobody trusts)
nts_mkca() {
        local D=$1 n cn san
        mkdir -p "$D"
        ( cd "$D" || exit 1
        for ca in ca ca2; do
                openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test $ca" -keyout $ca.key -out $ca.pem \
                        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        done
        for n in server other; do
                if [ $n = server ]; then cn=localhost; san='DNS:localhost,IP:127.0.0.1,IP:127.0.0.3'; else cn=ntp.other.test; san='DNS:ntp.other.test'; fi
                openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout $n.key -out $n.csr 2>/dev/null
                printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$san" > $n.ext
                openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext -out $n.pem 2>/dev/null
                rm -f $n.csr $n.ext
        done; rm -f ca.srl; chmod 644 ./*.key )
}
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
