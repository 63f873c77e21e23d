import CMLIR

/// An MLIR failure (parse error, verifier rejection, failed pass) with MLIR's own diagnostic text.
public struct MLIRError: Error, CustomStringConvertible, Sendable {
    /// The diagnostics MLIR emitted, joined by newlines.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Collects diagnostics emitted while one MLIR call runs, instead of letting MLIR print them.
final class DiagnosticSink {
    var messages: [String] = []
    func take() -> String {
        defer { messages.removeAll() }
        return messages.joined(separator: "\n")
    }
}

func string(_ ref: MlirStringRef) -> String {
    guard let data = ref.data, ref.length > 0 else { return "" }
    // safe because MLIR guarantees `data` holds `length` bytes for the duration of the callback.
    return String(decoding: UnsafeRawBufferPointer(start: data, count: ref.length), as: UTF8.self)
}

/// Renders an MLIR entity through one of the C API's `print` callbacks.
func printed(_ body: (MlirStringCallback, UnsafeMutableRawPointer) -> Void) -> String {
    var text = ""
    withUnsafeMutablePointer(to: &text) { pointer in
        body({ ref, userData in
            userData!.assumingMemoryBound(to: String.self).pointee += string(ref)
        }, UnsafeMutableRawPointer(pointer))
    }
    return text
}

/// One MLIR context with every upstream dialect, pass and LLVM translation registered.
///
/// A context is not thread-safe: use one per thread (or guard it). Diagnostics emitted by calls
/// made through this context are captured and returned as `MLIRError`s.
public final class MLIRContext {
    let raw: MlirContext
    let sink = DiagnosticSink()
    private static let passesRegistered: Bool = {
        mlirRegisterAllPasses()
        return true
    }()

    public init() {
        _ = MLIRContext.passesRegistered
        let registry = mlirDialectRegistryCreate()
        mlirRegisterAllDialects(registry)
        raw = mlirContextCreateWithRegistry(registry, false)
        mlirDialectRegistryDestroy(registry)
        mlirContextLoadAllAvailableDialects(raw)
        mlirRegisterAllLLVMTranslations(raw)
        _ = mlirContextAttachDiagnosticHandler(raw, { diagnostic, userData in
            let sink = Unmanaged<DiagnosticSink>.fromOpaque(userData!).takeUnretainedValue()
            var text = printed { callback, data in mlirDiagnosticPrint(diagnostic, callback, data) }
            let noteCount = mlirDiagnosticGetNumNotes(diagnostic)
            for index in 0..<noteCount {
                let note = mlirDiagnosticGetNote(diagnostic, index)
                text += "\nnote: " + printed { callback, data in mlirDiagnosticPrint(note, callback, data) }
            }
            sink.messages.append(text)
            return mlirLogicalResultSuccess()
        }, Unmanaged.passUnretained(sink).toOpaque(), nil)
    }

    deinit { mlirContextDestroy(raw) }

    /// Loads the dialects that an `irdl.dialect` module defines; their ops and types verify from then on.
    public func loadIRDLDialects(_ irdlText: String) throws {
        let module = try parse(irdlText)
        guard mlirLogicalResultIsSuccess(mlirLoadIRDLDialects(module.raw)) else {
            throw MLIRError("IRDL dialect loading failed: " + sink.take())
        }
    }

    /// Parses (and verifies) a module from its textual form.
    public func parse(_ text: String) throws -> MLIRModule {
        _ = sink.take()
        let module = text.withCString { mlirModuleCreateParse(raw, mlirStringRefCreateFromCString($0)) }
        if mlirModuleIsNull(module) {
            let message = sink.take()
            throw MLIRError(message.isEmpty ? "could not parse MLIR module" : message)
        }
        return MLIRModule(raw: module, context: self)
    }
}
