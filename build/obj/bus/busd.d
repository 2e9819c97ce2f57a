build/obj/bus/busd.o: bus/busd.c bus/bus_acl.h common/err.h \
 common/authz.h bus/bus_auth.h bus/bus_proto.h common/cfg.h common/mp.h \
 common/schema.h common/log.h common/paths.h common/state.h common/util.h
bus/bus_acl.h:
common/err.h:
common/authz.h:
bus/bus_auth.h:
bus/bus_proto.h:
common/cfg.h:
common/mp.h:
common/schema.h:
common/log.h:
common/paths.h:
common/state.h:
common/util.h:
