build/obj/bus/bus_dispatch.o: bus/bus_dispatch.c bus/bus_internal.h \
 bus/bus.h common/authz.h bus/bus_proto.h common/cfg.h common/err.h \
 common/mp.h common/schema.h common/paths.h common/log.h common/util.h
bus/bus_internal.h:
bus/bus.h:
common/authz.h:
bus/bus_proto.h:
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/paths.h:
common/log.h:
common/util.h:
