build/obj/tools/devctl/devctl.o: tools/devctl/devctl.c \
 tools/devctl/devctl.h bus/bus.h common/authz.h bus/bus_proto.h \
 common/cfg.h common/err.h common/mp.h common/schema.h common/paths.h \
 common/log.h common/state.h common/util.h
tools/devctl/devctl.h:
bus/bus.h:
common/authz.h:
bus/bus_proto.h:
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/paths.h:
common/log.h:
common/state.h:
common/util.h:
