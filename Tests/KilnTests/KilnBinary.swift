import XCTest
import Foundation

/// Locates the `kiln` shell built next to the test bundle (`swift build` builds it).
enum KilnBinary {
    static func url() throws -> URL {
        var directory = Bundle.module.bundleURL.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("kiln")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw XCTSkip("kiln binary not built (run `swift build` first)")
    }
}
