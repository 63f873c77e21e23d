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

// CRC32C (Castagnoli), as iSCSI, ext4 and DuckDB use it for blocks: the SSE4.2 instruction
// where the CPU has it, a table otherwise (both give the same value).
static uint32_t crc32c_table[256];

static void crc32c_build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
}

static uint32_t crc32c_software(uint32_t crc, const uint8_t *p, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc32c_build_table);
    while (n--) crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t kiln_crc32c(uint32_t crc, const void *data, size_t count) {
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
#if defined(__x86_64__)
    static int hardware = -1;
    int known = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (known < 0) {
        known = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hardware, known, __ATOMIC_RELAXED);
    }
    if (known) return ~crc32c_hardware(crc, p, count);
#endif
    return ~crc32c_software(crc, p, count);
}
