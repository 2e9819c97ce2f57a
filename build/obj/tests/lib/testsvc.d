build/obj/tests/lib/testsvc.o: tests/lib/testsvc.c common/log.h \
 bus/service.h bus/bus.h common/authz.h bus/bus_proto.h common/cfg.h \
 common/err.h common/mp.h common/schema.h common/paths.h common/util.h
common/log.h:
bus/service.h:
bus/bus.h:
common/authz.h:
bus/bus_proto.h:
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/paths.h:
common/util.h:
