#ifndef LAB_CWIRESYSTEM_H
#define LAB_CWIRESYSTEM_H
// Linux interfaces that Swift's Glibc module does not export.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/tcp.h>
#endif
