build/obj/common/schema.o: common/schema.c common/schema.h common/err.h \
 common/mp.h
common/schema.h:
common/err.h:
common/mp.h:
