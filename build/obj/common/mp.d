build/obj/common/mp.o: common/mp.c common/mp.h
common/mp.h:
