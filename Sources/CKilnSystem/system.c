// What Swift's Glibc module does not expose: the calling thread's stack bounds and the
// default stack of new threads (GNU extensions). The atomics are static inline functions in
// the header.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
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

int kiln_set_default_thread_stack(size_t size, size_t *previous) {
    pthread_attr_t attributes;
    if (pthread_getattr_default_np(&attributes) != 0) return -1;
    size_t before = 0;
    pthread_attr_getstacksize(&attributes, &before);
    int status = pthread_attr_setstacksize(&attributes, size);
    if (status == 0) status = pthread_setattr_default_np(&attributes);
    pthread_attr_destroy(&attributes);
    if (status != 0) return -1;
    *previous = before;
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

// Appending n zero bytes to a message is a linear map of the CRC register; these tables apply
// it for the two block lengths the hardware loop uses, so that three blocks can be summed up
// in three independent instruction streams and then combined (one crc32 instruction has a
// latency of three cycles but a throughput of one per cycle).
#define CRC_LONG 8192
#define CRC_SHORT 256
static uint32_t crc32c_long[4][256], crc32c_short[4][256];

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    for (; vector; vector >>= 1, matrix++) if (vector & 1) sum ^= *matrix;
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

/// The operator that appends `length` (a power of two) zero bytes, as a 32x32 bit matrix.
static void crc32c_zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = 0x82F63B78u;  // one zero bit
    for (int n = 1; n < 32; n++) odd[n] = 1u << (n - 1);
    gf2_square(even, odd);  // two bits
    gf2_square(odd, even);  // four bits
    for (;;) {
        gf2_square(even, odd);  // one byte, then four, sixteen, ...
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);  // two bytes, eight, ...
        length >>= 1;
        if (length == 0) break;
    }
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void crc32c_zeros_table(uint32_t table[4][256], size_t length) {
    uint32_t op[32];
    crc32c_zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        table[0][n] = gf2_times(op, n);
        table[1][n] = gf2_times(op, n << 8);
        table[2][n] = gf2_times(op, n << 16);
        table[3][n] = gf2_times(op, n << 24);
    }
}

static void crc32c_build_shift_tables(void) {
    crc32c_zeros_table(crc32c_long, CRC_LONG);
    crc32c_zeros_table(crc32c_short, CRC_SHORT);
}

static inline uint32_t crc32c_shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *p, size_t n) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc32c_build_shift_tables);
    uint64_t c0 = crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
        n--;
    }
    // Three streams over three consecutive blocks, then the first two shifted over the rest.
    size_t block = CRC_LONG;
    uint32_t (*table)[256] = crc32c_long;
    for (int pass = 0; pass < 2; pass++) {
        while (n >= 3 * block) {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + block;
            do {
                uint64_t a, b, d;
                memcpy(&a, p, 8);
                memcpy(&b, p + block, 8);
                memcpy(&d, p + 2 * block, 8);
                c0 = __builtin_ia32_crc32di(c0, a);
                c1 = __builtin_ia32_crc32di(c1, b);
                c2 = __builtin_ia32_crc32di(c2, d);
                p += 8;
            } while (p < end);
            c0 = crc32c_shift(table, (uint32_t)c0) ^ (uint32_t)c1;
            c0 = crc32c_shift(table, (uint32_t)c0) ^ (uint32_t)c2;
            p += 2 * block;
            n -= 3 * block;
        }
        block = CRC_SHORT;
        table = crc32c_short;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c0 = __builtin_ia32_crc32di(c0, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c0;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

// Carry-less multiplication folding (AVX-512 VPCLMULQDQ), as Intel's "Fast CRC Computation
// for Generic Polynomials Using PCLMULQDQ" describes it, for CRC32C's reflected polynomial.
// Four 512-bit accumulators each fold 64 bytes into the next 256 (distance 2048 bits): a
// 128-bit lane's low half (its first 8 bytes, the higher powers) is multiplied by
// x^(d+32) mod P and its high half by x^(d-32) mod P, bit-reflected (`crc32c_fold_constant`),
// and the next data xored in. The accumulators and lanes then fold into one 128-bit value,
// which has the message's remainder, and the crc32 instruction finishes it and the tail.
// About 2.5x the three-stream crc32 loop on this machine kind (32 GB/s on cached data).
static uint64_t crc32c_fold[5][2];  // distances 2048, 1536, 1024, 512 bits, then 128 (lanes use 384/256/128)
static uint64_t crc32c_lane[3][2];  // 384, 256, 128

/// x^e mod P (P = 0x1EDC6F41, normal order), bit-reflected and shifted as the folding uses it.
static uint64_t crc32c_fold_constant(unsigned e) {
    uint64_t r = 1;
    for (unsigned i = 0; i < e; i++) {
        r <<= 1;
        if (r & (1ull << 32)) r ^= (1ull << 32) | 0x1EDC6F41u;
    }
    uint32_t reflected = 0;
    for (int i = 0; i < 32; i++) if (r & (1ull << i)) reflected |= 1u << (31 - i);
    return (uint64_t)reflected << 1;
}

static void crc32c_build_fold_constants(void) {
    const unsigned distances[5] = {2048, 1536, 1024, 512, 128};
    for (int i = 0; i < 5; i++) {
        crc32c_fold[i][0] = crc32c_fold_constant(distances[i] + 32);
        crc32c_fold[i][1] = crc32c_fold_constant(distances[i] - 32);
    }
    const unsigned lanes[3] = {384, 256, 128};
    for (int i = 0; i < 3; i++) {
        crc32c_lane[i][0] = crc32c_fold_constant(lanes[i] + 32);
        crc32c_lane[i][1] = crc32c_fold_constant(lanes[i] - 32);
    }
}

// The steps, as macros over the constants' pairs (low half: x^(d+32), high half: x^(d-32)).
#define CRC32C_BROADCAST(k) _mm512_broadcast_i32x4(_mm_set_epi64x((long long)(k)[1], (long long)(k)[0]))
#define CRC32C_SHIFT512(a, kk) _mm512_xor_si512(_mm512_clmulepi64_epi128((a), (kk), 0x00), _mm512_clmulepi64_epi128((a), (kk), 0x11))
#define CRC32C_SHIFT128(a, k) _mm_xor_si128(_mm_clmulepi64_si128((a), _mm_set_epi64x((long long)(k)[1], (long long)(k)[0]), 0x00), \
                                            _mm_clmulepi64_si128((a), _mm_set_epi64x((long long)(k)[1], (long long)(k)[0]), 0x11))

__attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))
static uint32_t crc32c_vpclmul(uint32_t crc, const uint8_t *p, size_t n) {
    if (n < 512) return crc32c_hardware(crc, p, n);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc32c_build_fold_constants);
    __m512i k2048 = CRC32C_BROADCAST(crc32c_fold[0]);
    __m512i a0 = _mm512_loadu_si512(p), a1 = _mm512_loadu_si512(p + 64);
    __m512i a2 = _mm512_loadu_si512(p + 128), a3 = _mm512_loadu_si512(p + 192);
    // The register's starting value is xored into the message's first 4 bytes (zero-extended:
    // a cast would leave the upper lanes undefined, and -O0 builds do leave garbage there).
    a0 = _mm512_xor_si512(a0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
    p += 256;
    n -= 256;
    while (n >= 256) {
        a0 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a0, k2048, 0x00), _mm512_clmulepi64_epi128(a0, k2048, 0x11), _mm512_loadu_si512(p), 0x96);
        a1 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a1, k2048, 0x00), _mm512_clmulepi64_epi128(a1, k2048, 0x11), _mm512_loadu_si512(p + 64), 0x96);
        a2 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a2, k2048, 0x00), _mm512_clmulepi64_epi128(a2, k2048, 0x11), _mm512_loadu_si512(p + 128), 0x96);
        a3 = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a3, k2048, 0x00), _mm512_clmulepi64_epi128(a3, k2048, 0x11), _mm512_loadu_si512(p + 192), 0x96);
        p += 256;
        n -= 256;
    }
    __m512i z = _mm512_ternarylogic_epi64(CRC32C_SHIFT512(a0, CRC32C_BROADCAST(crc32c_fold[1])), CRC32C_SHIFT512(a1, CRC32C_BROADCAST(crc32c_fold[2])),
                                          _mm512_xor_si512(CRC32C_SHIFT512(a2, CRC32C_BROADCAST(crc32c_fold[3])), a3), 0x96);
    __m128i x = _mm_xor_si128(_mm_xor_si128(CRC32C_SHIFT128(_mm512_extracti32x4_epi32(z, 0), crc32c_lane[0]),
                                            CRC32C_SHIFT128(_mm512_extracti32x4_epi32(z, 1), crc32c_lane[1])),
                              _mm_xor_si128(CRC32C_SHIFT128(_mm512_extracti32x4_epi32(z, 2), crc32c_lane[2]), _mm512_extracti32x4_epi32(z, 3)));
    while (n >= 16) {
        x = _mm_xor_si128(CRC32C_SHIFT128(x, crc32c_fold[4]), _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    uint32_t c = (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    c = (uint32_t)_mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(x, 1));
    return crc32c_hardware(c, p, n);
}
#endif

/// 2: VPCLMULQDQ folding; 1: the SSE4.2 instruction; 0: the table. `KILN_CPU=avx2` (a machine
/// without AVX-512, as the JITs treat it) leaves out the first.
int kiln_crc32c_best_path(void) {
#if defined(__x86_64__)
    static int best = -1;
    int known = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (known < 0) {
        const char *cpu = getenv("KILN_CPU");
        int forcedAVX2 = cpu && strcmp(cpu, "avx2") == 0;
        if (__builtin_cpu_supports("sse4.2")) {
            known = !forcedAVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                    __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") ? 2 : 1;
        } else {
            known = 0;
        }
        __atomic_store_n(&best, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

uint32_t kiln_crc32c_path(int path, uint32_t crc, const void *data, size_t count) {
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    if (path > kiln_crc32c_best_path()) path = kiln_crc32c_best_path();
#if defined(__x86_64__)
    if (path == 2) return ~crc32c_vpclmul(crc, p, count);
    if (path == 1) return ~crc32c_hardware(crc, p, count);
#endif
    return ~crc32c_software(crc, p, count);
}

uint32_t kiln_crc32c(uint32_t crc, const void *data, size_t count) {
    return kiln_crc32c_path(kiln_crc32c_best_path(), crc, data, count);
}

// The GNU build ID of the running executable: what compiled code in a persistent code cache
// was built against (a rebuilt Kiln has another, so its cache entries are not used).
#include <link.h>
#include <elf.h>

struct build_id_search { uint8_t *out; size_t capacity; size_t length; };

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct build_id_search *search = data;
    // The first object is the executable itself.
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        if (header->p_type != PT_NOTE) continue;
        const uint8_t *note = (const uint8_t *)(info->dlpi_addr + header->p_vaddr);
        const uint8_t *end = note + header->p_memsz;
        while (note + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)note;
            const uint8_t *name = note + sizeof(ElfW(Nhdr));
            const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
            if (desc + n->n_descsz > end) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                size_t length = n->n_descsz < search->capacity ? n->n_descsz : search->capacity;
                memcpy(search->out, desc, length);
                search->length = length;
                return 1;
            }
            note = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
    return 1;
}

size_t kiln_build_id(uint8_t *out, size_t capacity) {
    struct build_id_search search = { out, capacity, 0 };
    dl_iterate_phdr(find_build_id, &search);
    return search.length;
}
