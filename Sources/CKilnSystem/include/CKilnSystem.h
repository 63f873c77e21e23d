#ifndef CKILN_SYSTEM_H
#define CKILN_SYSTEM_H
// Atomic access to flags that live in raw memory shared by Swift, compiled code and other
// threads (the request context's error and stop flags). Swift's `Atomic` cannot be placed at
// an address another party owns; these are C11 atomics at a given address.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// Whether tests asked for the code of a machine without AVX-512 (`KILN_CPU=avx2`): 8-lane
/// SIMD kernels, and JITs that generate no AVX-512 instructions.
static inline int kiln_cpu_forced_avx2(void) {
    const char *value = getenv("KILN_CPU");
    return value != 0 && strcmp(value, "avx2") == 0;
}

/// The calling thread's stack: its lowest address and size (0 on success, -1 when unknown).
int kiln_thread_stack(uintptr_t *low, size_t *size);

/// The stack size of threads created later without attributes (0 on success); `previous`
/// receives the size before the call. A library's threads (swift-nio's event loops) get it.
int kiln_set_default_thread_stack(size_t size, size_t *previous);

/// Loads a 32-bit flag (acquire: what the writer did before setting it is visible).
static inline int32_t kiln_atomic_load_i32(const int32_t *address) {
    return __atomic_load_n(address, __ATOMIC_ACQUIRE);
}

/// Stores a 32-bit flag (release).
static inline void kiln_atomic_store_i32(int32_t *address, int32_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

/// CRC32C of `count` bytes, continuing from `crc` (0 to start): checksums of data blocks and
/// WAL records.
uint32_t kiln_crc32c(uint32_t crc, const void *data, size_t count);

/// The fastest CRC32C way this CPU has: 2 (AVX-512 VPCLMULQDQ folding), 1 (SSE4.2's crc32
/// instruction) or 0 (a table). `KILN_CPU=avx2` rules out 2.
int kiln_crc32c_best_path(void);

/// `kiln_crc32c` the given way (at most the best one), for tests that check each way.
uint32_t kiln_crc32c_path(int path, uint32_t crc, const void *data, size_t count);

/// The running executable's GNU build ID (0 bytes when it has none); at most `capacity` bytes.
size_t kiln_build_id(uint8_t *out, size_t capacity);


/// 10^n for n in 0...38 as the low and high 64 bits of a 128-bit integer. A table in C: Swift
/// reads it with one load, where a global Swift array costs a `swift_once` check per use, and
/// decimal arithmetic asks for powers of ten per row.
static inline uint64_t kiln_pow10_low(int n) {
    static const uint64_t table[39] = {
        1u, 10u, 100u, 1000u,
        10000u, 100000u, 1000000u, 10000000u,
        100000000u, 1000000000u, 10000000000u, 100000000000u,
        1000000000000u, 10000000000000u, 100000000000000u, 1000000000000000u,
        10000000000000000u, 100000000000000000u, 1000000000000000000u, 10000000000000000000u,
        7766279631452241920u, 3875820019684212736u, 1864712049423024128u, 200376420520689664u,
        2003764205206896640u, 1590897978359414784u, 15908979783594147840u, 11515845246265065472u,
        4477988020393345024u, 7886392056514347008u, 5076944270305263616u, 13875954555633532928u,
        9632337040368467968u, 4089650035136921600u, 4003012203950112768u, 3136633892082024448u,
        12919594847110692864u, 68739955140067328u, 687399551400673280u};
    return table[n];
}
static inline uint64_t kiln_pow10_high(int n) {
    static const uint64_t table[39] = {
        0u, 0u, 0u, 0u,
        0u, 0u, 0u, 0u,
        0u, 0u, 0u, 0u,
        0u, 0u, 0u, 0u,
        0u, 0u, 0u, 0u,
        5u, 54u, 542u, 5421u,
        54210u, 542101u, 5421010u, 54210108u,
        542101086u, 5421010862u, 54210108624u, 542101086242u,
        5421010862427u, 54210108624275u, 542101086242752u, 5421010862427522u,
        54210108624275221u, 542101086242752217u, 5421010862427522170u};
    return table[n];
}

#endif
