build/obj/tools/devctl/out.o: tools/devctl/out.c tools/devctl/devctl.h \
 bus/bus.h common/authz.h bus/bus_proto.h common/cfg.h common/err.h \
 common/mp.h common/schema.h common/paths.h
tools/devctl/devctl.h:
bus/bus.h:
common/authz.h:
bus/bus_proto.h:
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/paths.h:
