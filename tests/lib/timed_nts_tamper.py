#!/usr/bin/python3
# timed_nts_tamper.py LISTEN_ADDR PORT TARGET_ADDR MODE_FILE : a loopback UDP
# relay in front of an NTS server that does to each reply what MODE_FILE says
# (read per packet): pass, auth (flip a byte of the authenticator's
# ciphertext), ts (flip a byte of the transmit timestamp's seconds), strip
# (drop the extension fields). Prints "MODE N" for every reply it changed.
import asyncio, sys
LA, PORT, TA, MF = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def mode():
    try:
        return open(MF).read().strip() or 'pass'
    except OSError:
        return 'pass'
counts = {}
def tamper(data):
    m = mode()
    if m == 'pass' or len(data) < 48:
        return data
    b = bytearray(data)
    if m == 'auth':
        b[-1] ^= 0x01                # the authenticator is the last field
    elif m == 'ts':
        b[41] ^= 0x10                # transmit timestamp, seconds: ~12 days
    elif m == 'strip':
        b = b[:48]
    counts[m] = counts.get(m, 0) + 1
    print(m, counts[m], flush=True)
    return bytes(b)
class Up(asyncio.DatagramProtocol):
    def __init__(s, front, caddr): s.front, s.caddr = front, caddr
    def datagram_received(s, data, _): s.front.sendto(tamper(data), s.caddr)
class Front(asyncio.DatagramProtocol):
    def __init__(s): s.ups = {}
    def connection_made(s, t): s.t = t
    def datagram_received(s, data, caddr): asyncio.ensure_future(s.fwd(data, caddr))
    async def fwd(s, data, caddr):
        if caddr not in s.ups:
            s.ups[caddr], _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: Up(s.t, caddr), remote_addr=(TA, PORT))
        s.ups[caddr].sendto(data)
async def main():
    await asyncio.get_running_loop().create_datagram_endpoint(Front, local_addr=(LA, PORT))
    print('ready', flush=True); await asyncio.Event().wait()
asyncio.run(main())
