build/obj/common/cfg.o: common/cfg.c common/cfg.h common/err.h \
 common/mp.h common/schema.h common/util.h
common/cfg.h:
common/err.h:
common/mp.h:
common/schema.h:
common/util.h:
