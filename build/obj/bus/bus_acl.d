build/obj/bus/bus_acl.o: bus/bus_acl.c bus/bus_acl.h common/err.h \
 bus/bus_proto.h
bus/bus_acl.h:
common/err.h:
bus/bus_proto.h:
