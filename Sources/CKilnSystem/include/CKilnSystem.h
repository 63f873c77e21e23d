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

/// The inverse of 5^n modulo 2^128 for n in 0...38, low and high 64 bits: a multiple of 10^n
/// shifted right by n and multiplied by it (wrapping) is the exact quotient, with no division
/// (decimal values unpacked per row divide exactly by powers of ten).
static inline uint64_t kiln_inverse5_low(int n) {
    static const uint64_t table[39] = {
        0x0000000000000001u, 0xcccccccccccccccdu, 0x8f5c28f5c28f5c29u,
        0x1cac083126e978d5u, 0xd288ce703afb7e91u, 0x5d4e8fb00bcbe61du,
        0x790fb65668c26139u, 0xe5032477ae8d46a5u, 0xc767074b22e90e21u,
        0x8e47ce423a2e9c6du, 0x4fa7f60d3ed61f49u, 0x0fee64690c913975u,
        0x3662e0e1cf503eb1u, 0xa47a2cf9f6433fbdu, 0x54186f653140a659u,
        0x7738164770402145u, 0xe4a4d1417cd9a041u, 0xc75429d9e5c5200du,
        0xc1773b91fac10669u, 0x26b172506559ce15u, 0xd489e3a9addec2d1u,
        0x90e860bb892c8d5du, 0x502e79bf1b6f4f79u, 0xdcd618596be30fe5u,
        0x2c2ad1ab7bfa3661u, 0x08d55d224bfed7adu, 0x01c445d3a8cc9189u,
        0xcd27412a54f5b6b5u, 0x8f6e403baa978af1u, 0xe97c733f221e4efdu,
        0x2eb27d7306d2dc99u, 0x6fbd4c4a34909285u, 0x16590f420a835081u,
        0x9e11cfda021a434du, 0xb936c32b9a0540a9u, 0x583e2708b8677355u,
        0x44d93b01be7b1711u, 0x742b72338c7f049du, 0xb0d57d3d827fcdb9u};
    return table[n];
}
static inline uint64_t kiln_inverse5_high(int n) {
    static const uint64_t table[39] = {
        0x0000000000000000u, 0xccccccccccccccccu, 0x28f5c28f5c28f5c2u,
        0x6e978d4fdf3b645au, 0x495182a9930be0deu, 0xdb76b3bb83cf2cf9u,
        0xc57e23f24d8fd5cbu, 0xc1193a63a91cc45bu, 0xf36b7213ee9f5a78u,
        0x97157d372fb9787eu, 0x516ab2a4a3251819u, 0x76aef08753d43805u,
        0xb156301b10c40b34u, 0x2377a3389cf4023du, 0x0717ed71b8fd9a0cu,
        0xce37fc49f1cc5202u, 0xf60b3275305c1066u, 0x6468a3b109ac0347u,
        0xe0e1ba569b88cd74u, 0x93605877b8b4f5e4u, 0x83e011b18b576460u,
        0x4d9336bd1bde4746u, 0xdc50a48c38c60e41u, 0x9276874f3e8e02d9u,
        0xea17b4a972e933c5u, 0xfb9e575516fb70c1u, 0x658611776aff168du,
        0xe11ad04b156637b5u, 0xf9d229a89de13e57u, 0x31f6d521b92d0c77u,
        0xa397c439f1d5cf4bu, 0xed84c0d863912975u, 0x62b42691ad836eb1u,
        0x46f0d483891a4956u, 0xa7c9c41a4e9edb77u, 0x87f52738761fc57eu,
        0xe7fdd4a4e46cc119u, 0xc7ff90edc748f36bu, 0x8e66502f8e41ca48u};
    return table[n];
}

#endif
