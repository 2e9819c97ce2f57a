#!/usr/bin/python3
# timed_udp_delay.py LISTEN_PORT TARGET_PORT OUT_MS BACK_MS JITTER_MS [LISTEN_ADDR] :
# loopback UDP relay (this kernel has no netem) adding gauss(OUT_MS, JITTER_MS)
# on the way to the server and gauss(BACK_MS, JITTER_MS) on the way back.
# LISTEN_ADDR (127.0.0.1) may be another loopback address; the server is on 127.0.0.1.
import asyncio, random, sys
LP, TP = int(sys.argv[1]), int(sys.argv[2])
OUT, BACK, J = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
LA = sys.argv[6] if len(sys.argv) > 6 else '127.0.0.1'
def later(ms, fn): asyncio.get_running_loop().call_later(max(0.0, random.gauss(ms, J)) / 1000, fn)
class Up(asyncio.DatagramProtocol):              # relay -> server socket, one per client address
    def __init__(s, front, caddr): s.front, s.caddr = front, caddr
    def datagram_received(s, data, _): later(BACK, lambda: s.front.sendto(data, s.caddr))
class Front(asyncio.DatagramProtocol):
    def __init__(s): s.ups = {}
    def connection_made(s, t): s.t = t
    def datagram_received(s, data, caddr): asyncio.ensure_future(s.fwd(data, caddr))
    async def fwd(s, data, caddr):
        if caddr not in s.ups:
            s.ups[caddr], _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: Up(s.t, caddr), remote_addr=('127.0.0.1', TP))
        up = s.ups[caddr]; later(OUT, lambda: up.sendto(data))
async def main():
    await asyncio.get_running_loop().create_datagram_endpoint(Front, local_addr=(LA, LP))
    print('ready', flush=True); await asyncio.Event().wait()
asyncio.run(main())
