import CKilnSystem
import KilnCore
import KilnRuntime
import KilnStorage

/// The dispatch loop.
enum Machine {
    static func execute(_ code: UnsafeBufferPointer<Instruction>, _ r: UnsafeMutablePointer<UInt64>) {
        var pc = 0
        let end = code.count
        while pc < end {
            switch code[pc] {
            case .constant(let d, let value): r[d] = value
            case .constant128(let d, let low, let high): r[d] = low; r[d + 1] = high
            case .move(let d, let a): r[d] = r[a]
            case .moveMasked(let d, let a, let mask): r[d] = r[a] & mask
            case .add(let d, let a, let b, let mask): r[d] = (r[a] &+ r[b]) & mask
            case .sub(let d, let a, let b, let mask): r[d] = (r[a] &- r[b]) & mask
            case .mul(let d, let a, let b, let mask): r[d] = (r[a] &* r[b]) & mask
            case .and(let d, let a, let b): r[d] = r[a] & r[b]
            case .or(let d, let a, let b): r[d] = r[a] | r[b]
            case .xor(let d, let a, let b, let mask): r[d] = (r[a] ^ r[b]) & mask
            case .wide(let d, let a, let b, let kind):
                let x = Reg.wide(r, a), y = Reg.wide(r, b)
                let z: Int128
                switch kind {
                case .add: z = x &+ y
                case .sub: z = x &- y
                case .mul: z = x &* y
                case .and: z = x & y
                case .or: z = x | y
                case .xor: z = x ^ y
                }
                Reg.setWide(r, d, z)
            case .divide(let d, let a, let b, let bits, let remainder):
                let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                // The lowering substitutes a safe divisor for zero and MIN / -1.
                let q = y == 0 ? 0 : (remainder ? x.remainderReportingOverflow(dividingBy: y).partialValue : x.dividedReportingOverflow(by: y).partialValue)
                r[d] = UInt64(bitPattern: q) & (bits >= 64 ? ~0 : (1 << UInt64(bits)) - 1)
            case .shiftRight(let d, let a, let b): r[d] = r[b] >= 64 ? 0 : r[a] >> r[b]
            case .shiftRight128(let d, let a, let b):
                Reg.setWide(r, d, Int128(bitPattern: UInt128(bitPattern: Reg.wide(r, a)) >> UInt128(min(r[b], 127))))
            case .compare(let d, let a, let b, let predicate, let bits):
                let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                r[d] = Machine.compare(predicate, x, y, r[a], r[b]) ? 1 : 0
            case .compare128(let d, let a, let b, let predicate):
                let x = Reg.wide(r, a), y = Reg.wide(r, b)
                r[d] = Machine.compare(predicate, x, y, UInt128(bitPattern: x), UInt128(bitPattern: y)) ? 1 : 0
            case .compareFloat(let d, let a, let b, let predicate, let double):
                let x = double ? Reg.double(r, a) : Double(Reg.float(r, a))
                let y = double ? Reg.double(r, b) : Double(Reg.float(r, b))
                r[d] = Machine.compareFloat(predicate, x, y) ? 1 : 0
            case .select(let d, let c, let a, let b): r[d] = r[c] & 1 != 0 ? r[a] : r[b]
            case .select128(let d, let c, let a, let b):
                let source = r[c] & 1 != 0 ? a : b
                r[d] = r[source]; r[d + 1] = r[source + 1]
            case .signExtend(let d, let a, let from, let mask): r[d] = UInt64(bitPattern: Reg.signed(r, a, bits: from)) & mask
            case .signExtend128(let d, let a, let from): Reg.setWide(r, d, Int128(Reg.signed(r, a, bits: from)))
            case .zeroExtend128(let d, let a): r[d] = r[a]; r[d + 1] = 0
            case .intToFloat(let d, let a, let from, let double):
                let v = Reg.signed(r, a, bits: from)
                r[d] = double ? Double(v).bitPattern : UInt64(Float(v).bitPattern)
            case .floatExtend(let d, let a): r[d] = Double(Reg.float(r, a)).bitPattern
            case .float(let d, let a, let b, let kind, let double):
                if double {
                    let x = Reg.double(r, a), y = Reg.double(r, b)
                    let z: Double
                    switch kind {
                    case .add: z = x + y
                    case .sub: z = x - y
                    case .mul: z = x * y
                    case .div: z = x / y
                    }
                    r[d] = z.bitPattern
                } else {
                    let x = Reg.float(r, a), y = Reg.float(r, b)
                    let z: Float
                    switch kind {
                    case .add: z = x + y
                    case .sub: z = x - y
                    case .mul: z = x * y
                    case .div: z = x / y
                    }
                    r[d] = UInt64(z.bitPattern)
                }
            case .floatNegate(let d, let a, let double):
                r[d] = double ? (-Reg.double(r, a)).bitPattern : UInt64((-Reg.float(r, a)).bitPattern)
            case .offset(let d, let base, let bytes): r[d] = r[base] &+ UInt64(bitPattern: Int64(bytes))
            case .index(let d, let base, let index, let size): r[d] = r[base] &+ UInt64(bitPattern: Int64(bitPattern: r[index]) &* Int64(size))
            case .load(let d, let p, let bytes):
                // safe because the lowering only emits loads of runtime-owned, live memory.
                let pointer = Reg.pointer(r, p)
                switch bytes {
                case 1: r[d] = UInt64(pointer.load(as: UInt8.self))
                case 2: r[d] = UInt64(pointer.loadUnaligned(as: UInt16.self))
                case 4: r[d] = UInt64(pointer.loadUnaligned(as: UInt32.self))
                case 16: r[d] = pointer.loadUnaligned(as: UInt64.self); r[d + 1] = pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                default: r[d] = pointer.loadUnaligned(as: UInt64.self)
                }
            case .atomicLoad32(let d, let p):
                // safe because the flag is an aligned Int32 of the live request context.
                r[d] = UInt64(UInt32(bitPattern: kiln_atomic_load_i32(Reg.pointer(r, p).assumingMemoryBound(to: Int32.self))))
            case .store(let v, let p, let bytes):
                let pointer = Reg.pointer(r, p)
                switch bytes {
                case 1: pointer.storeBytes(of: UInt8(truncatingIfNeeded: r[v]), as: UInt8.self)
                case 2: pointer.storeBytes(of: UInt16(truncatingIfNeeded: r[v]), as: UInt16.self)
                case 4: pointer.storeBytes(of: UInt32(truncatingIfNeeded: r[v]), as: UInt32.self)
                case 16:
                    pointer.storeBytes(of: r[v], as: UInt64.self)
                    pointer.storeBytes(of: r[v + 1], toByteOffset: 8, as: UInt64.self)
                default: pointer.storeBytes(of: r[v], as: UInt64.self)
                }
            case .pointerEqual(let d, let a, let b, let equal): r[d] = (r[a] == r[b]) == equal ? 1 : 0
            case .checked(let d, let overflow, let a, let b, let kind, let bits):
                if bits == 128 {
                    let x = Reg.wide(r, a), y = Reg.wide(r, b)
                    let (v, o) = kind == .add ? x.addingReportingOverflow(y) : kind == .sub ? x.subtractingReportingOverflow(y) : x.multipliedReportingOverflow(by: y)
                    Reg.setWide(r, d, v)
                    r[overflow] = o ? 1 : 0
                } else {
                    let x = Reg.signed(r, a, bits: bits), y = Reg.signed(r, b, bits: bits)
                    let (v, o) = kind == .add ? x.addingReportingOverflow(y) : kind == .sub ? x.subtractingReportingOverflow(y) : x.multipliedReportingOverflow(by: y)
                    let fits = bits == 64 ? !o : (v >= -(Int64(1) << (bits - 1)) && v < (Int64(1) << (bits - 1)))
                    r[d] = UInt64(bitPattern: v) & (bits >= 64 ? ~0 : (1 << UInt64(bits)) - 1)
                    r[overflow] = fits ? 0 : 1
                }
            case .raise(let context, let flag, let code):
                if r[flag] & 1 != 0 { kiln_rt_raise(Reg.pointer(r, context), code) }
            case .stringEqual(let d, let a, let b): r[d] = KilnString.equal(Reg.wide(r, a), Reg.wide(r, b)) ? 1 : 0
            case .stringCompare(let d, let a, let b): r[d] = UInt64(UInt32(bitPattern: Int32(KilnString.compare(Reg.wide(r, a), Reg.wide(r, b)).signum())))
            case .hash(let d, let a, let kind):
                switch kind {
                case .integer(let bits): r[d] = Hashing.mix(bits <= 8 ? r[a] : UInt64(bitPattern: Reg.signed(r, a, bits: bits)))
                case .float32: r[d] = Hashing.mix((Double(Reg.float(r, a)) + 0.0).bitPattern)
                case .float64: r[d] = Hashing.mix((Reg.double(r, a) + 0.0).bitPattern)
                case .int128: r[d] = Hashing.fold(r[a], r[a + 1])
                case .string: r[d] = KilnString.hash(Reg.wide(r, a))
                }
            case .call(let function, let d, let a0, let a1, let a2, let a3):
                Machine.call(function, r, d, a0, a1, a2, a3)
            case .jump(let target):
                pc = target
                continue
            case .jumpIfFalse(let c, let target):
                if r[c] & 1 == 0 { pc = target; continue }
            case .jumpIfNotLess(let a, let b, let target):
                if Int64(bitPattern: r[a]) >= Int64(bitPattern: r[b]) { pc = target; continue }
            }
            pc += 1
        }
    }

    static func call(_ function: RuntimeCall, _ r: UnsafeMutablePointer<UInt64>, _ d: Int, _ a0: Int, _ a1: Int, _ a2: Int, _ a3: Int) {
        func pointer(_ p: UnsafeMutableRawPointer) -> UInt64 { UInt64(UInt(bitPattern: p)) }
        let context = Reg.pointer(r, a0)
        switch function {
        case .open: r[d] = pointer(kiln_rt_open(context, Int64(bitPattern: r[a1])))
        case .next: r[d] = pointer(kiln_rt_next(context))
        case .visible: r[d] = pointer(kiln_rt_visible(context))
        case .finish: kiln_rt_finish(context, Int64(bitPattern: r[a1]))
        case .aggregateScratch: r[d] = pointer(kiln_rt_agg_scratch(context, Int64(bitPattern: r[a1])))
        case .aggregateFind: r[d] = pointer(kiln_rt_agg_find(context, Int64(bitPattern: r[a1]), Int64(bitPattern: r[a2])))
        case .aggregateHeader: r[d] = pointer(kiln_rt_agg_header(context, Int64(bitPattern: r[a1])))
        case .aggregateInsert: r[d] = pointer(kiln_rt_agg_insert(context, Int64(bitPattern: r[a1]), Int64(bitPattern: r[a2])))
        case .joinNullEntry: r[d] = pointer(kiln_rt_join_null_entry(context, Int64(bitPattern: r[a1])))
        case .joinGrow: r[d] = pointer(kiln_rt_join_grow(context, Int64(bitPattern: r[a1])))
        case .append: r[d] = pointer(kiln_rt_append(context, Int64(bitPattern: r[a1])))
        case .limitStep: r[d] = UInt64(UInt32(bitPattern: kiln_rt_limit_step(context, Int64(bitPattern: r[a1]))))
        case .seriesBegin: kiln_rt_series_begin(context, Int64(bitPattern: r[a1]))
        case .seriesNext: r[d] = UInt64(UInt32(bitPattern: kiln_rt_series_next(context, Int64(bitPattern: r[a1]))))
        case .seriesCursor: r[d] = pointer(kiln_rt_series_cursor(context, Int64(bitPattern: r[a1])))
        case .raise: kiln_rt_raise(context, Int32(truncatingIfNeeded: r[a1]))
        case .call: kiln_rt_call(context, Int64(bitPattern: r[a1]))
        case .like: r[d] = UInt64(UInt32(bitPattern: kiln_rt_like(context, Int64(bitPattern: r[a1]), Int64(bitPattern: r[a2]), Int64(bitPattern: r[a3]))))
        case .inList: r[d] = UInt64(UInt32(bitPattern: kiln_rt_in_list(context, Int64(bitPattern: r[a1]), Int64(bitPattern: r[a2]), Int64(bitPattern: r[a3]))))
        }
    }

    @inline(__always)
    static func compare<S: Comparable, U: Comparable>(_ predicate: Int, _ x: S, _ y: S, _ ux: U, _ uy: U) -> Bool {
        switch predicate {
        case 0: return x == y
        case 1: return x != y
        case 2: return x < y
        case 3: return x <= y
        case 4: return x > y
        case 5: return x >= y
        case 6: return ux < uy
        case 7: return ux <= uy
        case 8: return ux > uy
        default: return ux >= uy
        }
    }

    /// MLIR's `arith.cmpf` predicates (ordered: false when either is NaN; unordered: true).
    @inline(__always)
    static func compareFloat(_ predicate: Int, _ x: Double, _ y: Double) -> Bool {
        let unordered = x.isNaN || y.isNaN
        switch predicate {
        case 1: return !unordered && x == y
        case 2: return !unordered && x > y
        case 3: return !unordered && x >= y
        case 4: return !unordered && x < y
        case 5: return !unordered && x <= y
        case 6: return !unordered && x != y
        case 7: return !unordered
        case 8: return unordered || x == y
        case 9: return unordered || x > y
        case 10: return unordered || x >= y
        case 11: return unordered || x < y
        case 12: return unordered || x <= y
        case 13: return unordered || x != y
        case 14: return unordered
        case 15: return true
        default: return false
        }
    }
}
