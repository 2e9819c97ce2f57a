/* bus_proto.h - the envelope: kinds, keys, limits, timing */
#pragma once

#define BUS_PROTO_V 1

/* Kinds ("k") */
#define BUS_K_HELLO "hello" /* service -> busd: name, ver, pid, methods[{n,auth}], topics */
#define BUS_K_REQ "req"     /* id, to, m, a, tok, t (timeout ms); busd adds c (caller stamp) */
#define BUS_K_REP "rep"     /* id, ok, r | err{code,msg,field,reason} */
#define BUS_K_PUB "pub"     /* topic, ts, src, data */
#define BUS_K_SUB "sub"     /* prefix; id and tok (an operator's session): answered with a rep */
#define BUS_K_UNSUB "unsub" /* prefix; busd -> peer also err{code,msg}: the subscription ended */
#define BUS_K_ACK "ack"     /* subscriber -> busd: seq, tag of the last event read (credit) */
#define BUS_K_HB "hb"       /* heartbeat, both ways */
#define BUS_K_WHO "who"     /* busd -> peer: unknown to me, say hello again */

#define BUS_SERVICE_SELF "bus" /* methods answered by busd itself */

#define BUS_NAME_MAX 32
#define BUS_TOPIC_MAX 128
#define BUS_METHOD_MAX 64
#define BUS_TOKEN_MAX 128
#define BUS_MAX_METHODS 256
#define BUS_MAX_SUBS 64 /* prefixes per peer */
#define BUS_SUB_QUEUE_DEFAULT 1000 /* events in flight to one operator subscriber */

#define BUS_DEFAULT_TIMEOUT_MS 5000
#define BUS_MAX_TIMEOUT_MS 120000
#define BUS_HB_MS 1000
#define BUS_HB_MISSES 3
/* Hard transport cap; the configurable message limit (default 1 MiB) is
 * answered with an EINVAL reply, this one drops the connection. */
#define BUS_TRANSPORT_MAX (16 << 20)
