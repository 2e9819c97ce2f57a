build/obj/common/paths.o: common/paths.c common/paths.h
common/paths.h:
