/// Machine type of an interpreter register, from an MLIR type string.
enum RegisterType: Equatable {
    case int(bits: Int)
    case f32, f64, pointer

    init(_ type: String) {
        switch type {
        case "i1": self = .int(bits: 1)
        case "i8": self = .int(bits: 8)
        case "i16": self = .int(bits: 16)
        case "i32": self = .int(bits: 32)
        case "i64", "index": self = .int(bits: 64)
        case "i128": self = .int(bits: 128)
        case "f32": self = .f32
        case "f64": self = .f64
        default: self = .pointer
        }
    }

    var bits: Int {
        switch self {
        case .int(let b): return b
        case .f32: return 32
        case .f64, .pointer: return 64
        }
    }

    /// Registers are 64-bit slots; an i128 takes two.
    var slots: Int { bits == 128 ? 2 : 1 }

    var mask: UInt64 { bits >= 64 ? ~0 : (1 << UInt64(bits)) - 1 }
}

/// Reads and writes typed values in a register file of 64-bit slots. Integers are kept
/// zero-extended to their width (canonical form); signed views sign-extend on read.
enum Reg {
    @inline(__always) static func signed(_ r: UnsafeMutablePointer<UInt64>, _ i: Int, bits: Int) -> Int64 {
        let v = r[i]
        switch bits {
        case 1: return v & 1 == 0 ? 0 : -1
        case 8: return Int64(Int8(truncatingIfNeeded: v))
        case 16: return Int64(Int16(truncatingIfNeeded: v))
        case 32: return Int64(Int32(truncatingIfNeeded: v))
        default: return Int64(bitPattern: v)
        }
    }

    @inline(__always) static func wide(_ r: UnsafeMutablePointer<UInt64>, _ i: Int) -> Int128 {
        Int128(bitPattern: (UInt128(r[i + 1]) << 64) | UInt128(r[i]))
    }

    @inline(__always) static func setWide(_ r: UnsafeMutablePointer<UInt64>, _ i: Int, _ v: Int128) {
        let bits = UInt128(bitPattern: v)
        r[i] = UInt64(truncatingIfNeeded: bits)
        r[i + 1] = UInt64(truncatingIfNeeded: bits >> 64)
    }

    @inline(__always) static func double(_ r: UnsafeMutablePointer<UInt64>, _ i: Int) -> Double { Double(bitPattern: r[i]) }
    @inline(__always) static func float(_ r: UnsafeMutablePointer<UInt64>, _ i: Int) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: r[i])) }
    @inline(__always) static func pointer(_ r: UnsafeMutablePointer<UInt64>, _ i: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(r[i]))! }
}
