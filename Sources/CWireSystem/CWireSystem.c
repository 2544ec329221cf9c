#define _GNU_SOURCE
#include <pthread.h>
#include "CWireSystem.h"

int cws_set_current_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}
