build/obj/bus/bus_client.o: bus/bus_client.c bus/bus.h common/authz.h \
 bus/bus_proto.h common/cfg.h common/err.h common/mp.h common/schema.h \
 common/paths.h bus/bus_internal.h common/log.h common/util.h
bus/bus.h:
common/authz.h:
bus/bus_proto.h:
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/paths.h:
bus/bus_internal.h:
common/log.h:
common/util.h:
