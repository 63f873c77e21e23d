// What Swift's Glibc module does not expose: the calling thread's stack bounds (a GNU
// extension). The atomics are static inline functions in the header.
#define _GNU_SOURCE
#include <pthread.h>
#include "CKilnSystem.h"

int kiln_thread_stack(uintptr_t *low, size_t *size) {
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0) return -1;
    void *address = 0;
    size_t bytes = 0;
    int status = pthread_attr_getstack(&attributes, &address, &bytes);
    pthread_attr_destroy(&attributes);
    if (status != 0) return -1;
    *low = (uintptr_t)address;
    *size = bytes;
    return 0;
}
