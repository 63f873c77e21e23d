import XCTest
@testable import KilnJIT
import KilnIR
import KilnMLIR

/// Each level's IRDL dialect is loaded into MLIR, which rejects malformed IR with its message.
final class DialectVerifierTests: XCTestCase {
    func testHighLevelRejectsSinkFedAColumn() throws {
        let compiler = try NativeCompiler()
        let bad = """
        func.func @pipeline_1(%ctx: !kiln_high.ctx) -> i1 {
          %s = "kiln_high.scan"(%ctx) {state = 0 : i64} : (!kiln_high.ctx) -> !kiln_high.stream
          %c = "kiln_high.field"(%s) {index = 0 : i64} : (!kiln_high.stream) -> !kiln_high.column
          %d = "kiln_high.output_sink"(%ctx, %c) {state = 1 : i64} : (!kiln_high.ctx, !kiln_high.column) -> i1
          return %d : i1
        }
        """
        XCTAssertThrowsError(try compiler.context.parse(bad)) { error in
            XCTAssertTrue("\(error)".contains("kiln_high.stream"), "\(error)")
        }
    }

    func testMidLevelRejectsStreamWhereBatchRequired() throws {
        let compiler = try NativeCompiler()
        let bad = """
        func.func @f(%c: !kiln_mid.cursor) -> index {
          %n = "kiln_mid.batch_size"(%c) : (!kiln_mid.cursor) -> index
          return %n : index
        }
        """
        XCTAssertThrowsError(try compiler.context.parse(bad)) { error in
            XCTAssertTrue("\(error)".contains("kiln_mid.batch"), "\(error)")
        }
    }

    func testLowLevelRejectsCheckedOnFloats() throws {
        let compiler = try NativeCompiler()
        let bad = """
        func.func @f(%a: f64) -> f64 {
          %r:2 = "kiln_low.checked"(%a, %a) {kind = "add"} : (f64, f64) -> (f64, i1)
          return %r#0 : f64
        }
        """
        XCTAssertThrowsError(try compiler.context.parse(bad)) { error in
            XCTAssertTrue("\(error)".contains("f64"), "\(error)")
        }
    }
}
