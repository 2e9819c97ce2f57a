build/obj/common/state.o: common/state.c common/state.h
common/state.h:
