/// A 128-bit structural fingerprint of a module: operation names, attributes, types, regions,
/// and which value each operand uses (values numbered in order of definition). Two modules
/// with the same fingerprint print the same text, so compiled code can be shared between them;
/// computing it walks the IR once and builds no strings (unlike printing it).
///
/// Built on two differently-salted `Hasher`s (SipHash with a per-process random seed), so
/// collisions cannot be crafted from SQL text; fingerprints are meaningful within one process.
public struct IRFingerprint: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(_ module: IRModule, salt: String = "") {
        var walker = Walker()
        walker.combine(salt)
        for op in module.operations { walker.operation(op) }
        (high, low) = walker.finish()
    }

    public var description: String {
        let hex = String(high, radix: 16) + String(low, radix: 16)
        return String(hex.prefix(16))
    }

    private struct Walker {
        var first = Hasher()
        var second = Hasher()
        var numbers: [ObjectIdentifier: Int] = [:]

        init() { second.combine(0x6b696c6e) }

        mutating func combine<T: Hashable>(_ value: T) {
            first.combine(value)
            second.combine(value)
        }

        mutating func define(_ value: IRValue) {
            numbers[ObjectIdentifier(value)] = numbers.count
            combine(value.type)
        }

        mutating func operation(_ op: IROperation) {
            combine(op.name)
            combine(op.operands.count)
            // An operand defined outside the module (never in Kiln's IR) hashes as -1.
            for operand in op.operands { combine(numbers[ObjectIdentifier(operand)] ?? -1) }
            combine(op.results.count)
            for result in op.results { define(result) }
            combine(op.attributes.count)
            for (key, value) in op.attributes {
                combine(key)
                attribute(value)
            }
            combine(op.regions.count)
            for region in op.regions {
                combine(region.blocks.count)
                for block in region.blocks {
                    combine(block.arguments.count)
                    for argument in block.arguments { define(argument) }
                    combine(block.operations.count)
                    for inner in block.operations { operation(inner) }
                }
            }
        }

        mutating func attribute(_ value: IRAttribute) {
            switch value {
            case .integer(let v, let type):
                combine(0)
                combine(v)
                combine(type)
            case .float(let v, let type):
                combine(1)
                combine(v.bitPattern)
                combine(type)
            case .string(let s):
                combine(2)
                combine(s)
            case .array(let items):
                combine(3)
                combine(items.count)
                for item in items { attribute(item) }
            case .raw(let r):
                combine(4)
                combine(r)
            }
        }

        func finish() -> (UInt64, UInt64) {
            (UInt64(bitPattern: Int64(first.finalize())), UInt64(bitPattern: Int64(second.finalize())))
        }
    }
}
