// swift-tools-version:6.0
// Kiln: an analytical SQL engine whose queries compile through three MLIR dialects to native code.
import PackageDescription

/// MLIR and LLVM 22 from Debian (`libmlir-22-dev`, `llvm-22-dev`): the version and every flag live here.
let llvmRoot = "/usr/lib/llvm-22"
let mlirCAPILibraries = [
    "MLIRCAPIIR", "MLIRCAPIIRDL", "MLIRCAPIRegisterEverything", "MLIRCAPIExecutionEngine",
    "MLIRCAPIConversion", "MLIRCAPITransforms", "MLIRCAPILLVM", "MLIRCAPIFunc", "MLIRCAPISCF",
    "MLIRCAPIArith", "MLIRCAPIVector", "MLIRCAPIMemRef", "MLIRCAPITarget", "MLIRCAPIInterfaces",
    "MLIRCAPIControlFlow", "MLIRCAPIMath", "MLIRCAPIIndex", "MLIRCAPIDebug",
]
let mlirLinkFlags = ["-L\(llvmRoot)/lib", "-Xlinker", "--start-group"]
    + mlirCAPILibraries.map { "-l\($0)" }
    + ["-Xlinker", "--end-group", "-lMLIR", "-lLLVM", "-lstdc++",
       "-Xlinker", "-rpath", "-Xlinker", "\(llvmRoot)/lib"]
let mlirHeaders: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-I\(llvmRoot)/include"])]
/// Release builds skip dynamic exclusivity checks in the per-row code (COPY parsing, runtime
/// states, the interpreter), where they cost 10-20%; debug builds (the tests) keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    targets: [
        .systemLibrary(name: "CMLIR", path: "Sources/CMLIR"),
        // Shared vocabulary: errors, SQL types, values, decimal and date arithmetic.
        .target(name: "KilnCore", swiftSettings: hotPath),
        // PostgreSQL-dialect lexer, AST and parser.
        .target(name: "KilnSQL", dependencies: ["KilnCore"]),
        // Columnar in-memory tables, the catalog, CSV reading.
        .target(name: "KilnStorage", dependencies: ["KilnCore"], swiftSettings: hotPath),
        // Binder, logical/physical plan, pipeline slicer.
        .target(name: "KilnPlanner", dependencies: ["KilnCore", "KilnSQL", "KilnStorage"]),
        // The only module that sees the MLIR C API.
        .target(name: "KilnMLIR", dependencies: ["CMLIR"], swiftSettings: mlirHeaders,
                linkerSettings: [.unsafeFlags(mlirLinkFlags)]),
        // Kiln's in-memory IR, its printer, and the three dialects' IRDL definitions.
        .target(name: "KilnIR", dependencies: ["KilnCore"]),
        // Runtime state shared by compiled code and the interpreter (hash tables, buffers).
        .target(name: "KilnRuntime", dependencies: ["KilnCore", "KilnStorage", "KilnPlanner"], swiftSettings: hotPath),
        // Plan -> high -> mid -> low lowerings.
        .target(name: "KilnCompiler", dependencies: ["KilnCore", "KilnIR", "KilnPlanner", "KilnRuntime"]),
        // Runs low-level IR over the runtime state (same program as the JIT).
        .target(name: "KilnInterpreter", dependencies: ["KilnCore", "KilnIR", "KilnRuntime"], swiftSettings: hotPath),
        // Low-level IR -> upstream MLIR -> LLVM -> native code.
        .target(name: "KilnJIT", dependencies: ["KilnCore", "KilnIR", "KilnMLIR", "KilnRuntime"], swiftSettings: mlirHeaders),
        // The public embedded API.
        .target(name: "Kiln", dependencies: [
            "KilnCore", "KilnSQL", "KilnStorage", "KilnPlanner", "KilnIR", "KilnCompiler",
            "KilnRuntime", "KilnInterpreter", "KilnJIT", "KilnMLIR",
        ], swiftSettings: mlirHeaders + hotPath),
        // The shell.
        .executableTarget(name: "kiln", dependencies: ["Kiln"], swiftSettings: mlirHeaders),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "KilnMLIR", "KilnIR", "KilnCompiler", "KilnSQL", "KilnJIT"],
                    resources: [.copy("Resources")], swiftSettings: mlirHeaders),
    ]
)
