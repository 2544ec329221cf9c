#ifndef LAB_CWIRESYSTEM_H
#define LAB_CWIRESYSTEM_H
// Linux interfaces that Swift's Glibc module does not export.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/tcp.h>

/// Names the calling thread (the kernel keeps 15 bytes; longer names are refused, so the
/// caller shortens them). pthread_setname_np needs _GNU_SOURCE, which the Glibc module lacks.
int cws_set_current_thread_name(const char *name);
#endif
