/// One instruction of the interpreter's register machine. Payloads are register slots and
/// immediates only (trivial values), so dispatch involves no reference counting.
///
/// Structured control flow (`scf.for`, `scf.while`, `scf.if`) is flattened into jumps.
enum Instruction {
    case constant(d: Int, value: UInt64)
    case constant128(d: Int, low: UInt64, high: UInt64)
    case move(d: Int, a: Int)
    case moveMasked(d: Int, a: Int, mask: UInt64)
    case add(d: Int, a: Int, b: Int, mask: UInt64)
    case sub(d: Int, a: Int, b: Int, mask: UInt64)
    case mul(d: Int, a: Int, b: Int, mask: UInt64)
    case and(d: Int, a: Int, b: Int)
    case or(d: Int, a: Int, b: Int)
    case xor(d: Int, a: Int, b: Int, mask: UInt64)
    case wide(d: Int, a: Int, b: Int, kind: WideKind)
    case divide(d: Int, a: Int, b: Int, bits: Int, remainder: Bool)
    case shiftRight(d: Int, a: Int, b: Int)
    case shiftRight128(d: Int, a: Int, b: Int)
    case compare(d: Int, a: Int, b: Int, predicate: Int, bits: Int)
    case compare128(d: Int, a: Int, b: Int, predicate: Int)
    case compareFloat(d: Int, a: Int, b: Int, predicate: Int, double: Bool)
    case select(d: Int, c: Int, a: Int, b: Int)
    case select128(d: Int, c: Int, a: Int, b: Int)
    case signExtend(d: Int, a: Int, from: Int, mask: UInt64)
    case signExtend128(d: Int, a: Int, from: Int)
    case zeroExtend128(d: Int, a: Int)
    case intToFloat(d: Int, a: Int, from: Int, double: Bool)
    case floatExtend(d: Int, a: Int)
    case float(d: Int, a: Int, b: Int, kind: FloatKind, double: Bool)
    case floatNegate(d: Int, a: Int, double: Bool)
    case offset(d: Int, base: Int, bytes: Int)
    case index(d: Int, base: Int, index: Int, size: Int)
    case load(d: Int, p: Int, bytes: Int)
    /// An atomic load of a 32-bit flag (the request context's error and stop flags).
    case atomicLoad32(d: Int, p: Int)
    case store(v: Int, p: Int, bytes: Int)
    case pointerEqual(d: Int, a: Int, b: Int, equal: Bool)
    case checked(d: Int, overflow: Int, a: Int, b: Int, kind: WideKind, bits: Int)
    case raise(context: Int, flag: Int, code: Int32)
    case stringEqual(d: Int, a: Int, b: Int)
    case stringCompare(d: Int, a: Int, b: Int)
    case hash(d: Int, a: Int, kind: HashKind)
    case call(function: RuntimeCall, d: Int, a0: Int, a1: Int, a2: Int, a3: Int)
    case jump(target: Int)
    case jumpIfFalse(c: Int, target: Int)
    /// Jumps when the signed 64-bit `a >= b` (the exit test of a counted loop).
    case jumpIfNotLess(a: Int, b: Int, target: Int)
}

enum WideKind { case add, sub, mul, and, or, xor }
enum FloatKind { case add, sub, mul, div }
enum HashKind { case integer(bits: Int), float32, float64, int128, string }

/// The runtime functions low-level IR calls.
enum RuntimeCall {
    case open, next, visible, finish, aggregateScratch, aggregateFind, aggregateHeader, aggregateInsert, joinGrow, joinNullEntry, append, limitStep, raise, call, like, inList
    case seriesBegin, seriesNext, seriesCursor
}
