import KilnCore
import KilnIR
import KilnRuntime
import KilnStorage

/// Runs low-level IR — the same program the JIT compiles — over the same runtime state.
///
/// Each pipeline function is translated once into a flat array of `Instruction`s over a
/// register file of 64-bit slots (an i128 takes two); structured control flow becomes jumps.
/// Runtime calls go to the same functions compiled code calls, so hash tables, sort buffers
/// and results are shared bit for bit with native code.
public final class InterpretedQuery {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    struct Function {
        var code: [Instruction]
        var slotCount: Int
        var contextSlot: Int
    }

    let functions: [Function]

    /// Translates the `pipeline_N` functions of a low-level module.
    public init(_ module: IRModule, pipelineCount: Int) throws {
        var functions: [Function] = []
        // By name once (a lookup per pipeline over every function was quadratic in pipelines).
        var byName: [String: IROperation] = [:]
        for (name, function) in module.functions where byName[name] == nil { byName[name] = function }
        for index in 1...max(1, pipelineCount) where index <= pipelineCount {
            guard let function = byName["pipeline_\(index)"],
                  let entry = function.regions.first?.blocks.first else {
                throw Failure(description: "module has no function pipeline_\(index)")
            }
            var translator = Translator()
            let contextSlot = translator.slot(entry.arguments[0])
            try translator.block(entry)
            functions.append(Function(code: translator.code, slotCount: translator.nextSlot, contextSlot: contextSlot))
        }
        self.functions = functions
    }

    public var pipelineCount: Int { functions.count }

    /// Runs pipeline `index` (0-based) with the request context.
    public func run(pipeline index: Int, context: UnsafeMutableRawPointer) {
        let function = functions[index]
        let registers = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, function.slotCount))
        registers.initialize(repeating: 0, count: max(1, function.slotCount))
        defer { registers.deallocate() }
        registers[function.contextSlot] = UInt64(UInt(bitPattern: context))
        function.code.withUnsafeBufferPointer { code in Machine.execute(code, registers) }
    }
}
