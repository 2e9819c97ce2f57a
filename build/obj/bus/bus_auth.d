build/obj/bus/bus_auth.o: bus/bus_auth.c bus/bus_auth.h common/err.h \
 bus/bus_proto.h common/log.h common/util.h
bus/bus_auth.h:
common/err.h:
bus/bus_proto.h:
common/log.h:
common/util.h:
