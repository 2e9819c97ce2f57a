# cg_split.awk - reads a callgrind output file; prints "TOTAL OUTSIDE" where
# TOTAL is every instruction counted and OUTSIDE the instructions spent in
# libzmq (and whatever libzmq calls: libsodium's CURVE, libc) entered from
# code that is not libzmq's: the inclusive cost of every call edge that
# crosses into libzmq. TOTAL - OUTSIDE is the program's own share.
function zmq(o) { return o ~ /libzmq/ }
function name(s,   id) { # "(12) /path" defines id 12, "(12)" refers to it
        if (match(s, /^\([0-9]+\)/)) {
                id = substr(s, 2, RLENGTH - 2)
                if (length(s) > RLENGTH) obn[id] = substr(s, RLENGTH + 2)
                return obn[id]
        }
        return s
}
/^ob=/ { ob = name(substr($0, 4)); next }
/^cob=/ { cob = name(substr($0, 5)); have_cob = 1; next }
/^fn=/ { fob = ob; next }
/^calls=/ { pending = 1; callee = have_cob ? cob : fob; have_cob = 0; next }
/^(summary|totals):/ { total = $2; next }
/^[0-9+*-]/ {
        if (pending) {
                if (!zmq(fob) && zmq(callee)) outside += $2
                pending = 0
        }
        next
}
END { printf "%d %d\n", total, outside }
