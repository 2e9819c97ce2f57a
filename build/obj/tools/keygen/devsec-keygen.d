build/obj/tools/keygen/devsec-keygen.o: tools/keygen/devsec-keygen.c \
 common/paths.h common/schema.h common/err.h common/mp.h common/state.h
common/paths.h:
common/schema.h:
common/err.h:
common/mp.h:
common/state.h:
