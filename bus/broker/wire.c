/* wire.c - what every part of busd sends on the router: a message to one
 * peer, an error reply to a client. Below everything else: it sends and
 * counts, and calls no other part of busd. */
#include "broker.h"

int wire_send(struct busd *b, const uint8_t *rid, size_t rid_len, const void *data, size_t len)
{
        if (zmq_send(b->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(b->router, data, len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN)
                        return -EAGAIN;
                b->st.unroutable++;
                return -EHOSTUNREACH;
        }
        return 0;
}

void wire_reply_err(struct busd *b, const uint8_t *rid, size_t rid_len, const void *id, size_t id_len, int code,
                    const char *field, const char *fmt, ...)
{
        char msg[384];
        struct mpw w;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mpw_init(&w);
        bus_enc_rep_err(&w, id, id_len, code, msg, field, NULL);
        wire_send(b, rid, rid_len, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
}
