build/obj/common/authz.o: common/authz.c common/authz.h
common/authz.h:
