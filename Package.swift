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
/// states, the interpreter), where they cost 10-20%, and in the per-statement code (lexer,
/// binder, server), where they were 1-2% of a short statement; debug builds (the tests) keep them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnServer", targets: ["KilnServer"]),
        .executable(name: "kiln", targets: ["kiln"]),
        .executable(name: "kiln-bench", targets: ["kiln-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // A real client for the server's tests.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CMLIR", path: "Sources/CMLIR"),
        // C11 atomics at an address (flags in the request context that compiled code reads), a
        // thread's stack bounds (StackGuard).
        .target(name: "CKilnSystem"),
        // Shared vocabulary: errors, SQL types, values, decimal and date arithmetic.
        .target(name: "KilnCore", dependencies: ["CKilnSystem"], swiftSettings: hotPath),
        // PostgreSQL-dialect lexer, AST and parser.
        .target(name: "KilnSQL", dependencies: ["KilnCore"], swiftSettings: hotPath),
        // Columnar in-memory tables, the catalog, CSV reading.
        .target(name: "KilnStorage", dependencies: ["KilnCore", "CKilnSystem"], swiftSettings: hotPath),
        // Binder, logical/physical plan, pipeline slicer.
        .target(name: "KilnPlanner", dependencies: ["KilnCore", "KilnSQL", "KilnStorage"], swiftSettings: hotPath),
        // The only module that sees the MLIR C API.
        .target(name: "KilnMLIR", dependencies: ["CMLIR", "CKilnSystem"], swiftSettings: mlirHeaders,
                linkerSettings: [.unsafeFlags(mlirLinkFlags)]),
        // Kiln's in-memory IR, its printer, and the three dialects' IRDL definitions.
        .target(name: "KilnIR", dependencies: ["KilnCore"]),
        // Runtime state shared by compiled code and the interpreter (hash tables, buffers).
        .target(name: "KilnRuntime", dependencies: ["KilnCore", "KilnStorage", "KilnPlanner", "CKilnSystem"], swiftSettings: hotPath),
        // Plan -> high -> mid -> low lowerings.
        .target(name: "KilnCompiler", dependencies: ["KilnCore", "KilnIR", "KilnPlanner", "KilnRuntime", "CKilnSystem"]),
        // Runs low-level IR over the runtime state (same program as the JIT).
        .target(name: "KilnInterpreter", dependencies: ["KilnCore", "KilnIR", "KilnRuntime", "CKilnSystem"], swiftSettings: hotPath),
        // Low-level IR -> upstream MLIR -> LLVM -> native code.
        .target(name: "KilnJIT", dependencies: ["KilnCore", "KilnIR", "KilnMLIR", "KilnRuntime", "KilnStorage"], swiftSettings: mlirHeaders),
        // The public embedded API.
        .target(name: "Kiln", dependencies: [
            "KilnCore", "KilnSQL", "KilnStorage", "KilnPlanner", "KilnIR", "KilnCompiler",
            "KilnRuntime", "KilnInterpreter", "KilnJIT", "KilnMLIR", "KilnAuth", "CKilnSystem",
            .product(name: "Logging", package: "swift-log"),
            // SHA-256 keys of the persistent code cache.
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: mlirHeaders + hotPath),
        // Password verifiers and the SCRAM-SHA-256 exchange (roles live in the catalog).
        .target(name: "KilnAuth", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // PostgreSQL v3 protocol: message framing, encoding, value formats, SCRAM (no sockets).
        .target(name: "KilnWire", dependencies: [
            "KilnCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // `kiln serve`: the PostgreSQL wire-protocol server on swift-nio.
        .target(name: "KilnServer", dependencies: [
            "Kiln", "KilnWire", "KilnAuth",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: mlirHeaders + hotPath),
        // Benchmarks of the embedded API (`kiln-bench prepared`); build in release.
        .executableTarget(name: "kiln-bench", dependencies: ["Kiln", "KilnCore"], swiftSettings: mlirHeaders),
        // The shell.
        .executableTarget(name: "kiln", dependencies: ["Kiln", "KilnServer", "KilnSQL", .product(name: "Logging", package: "swift-log")], swiftSettings: mlirHeaders),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "KilnMLIR", "KilnIR", "KilnCompiler", "KilnSQL", "KilnJIT"],
                    resources: [.copy("Resources")], swiftSettings: mlirHeaders),
        .testTarget(name: "KilnServerTests", dependencies: [
            "KilnServer", "KilnWire", "KilnAuth", "Kiln",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], swiftSettings: mlirHeaders),
    ]
)
