import Foundation
import XCTest
import KilnCore

/// The sort keys of an aggregate's own ORDER BY (`AggregateOrder`): byte order of the
/// encodings is the SQL order of the values, for every type and direction; records sort
/// stably. (SQL answers against PostgreSQL: Resources/sql/aggregate-order-by.test.)
final class AggregateOrderTests: XCTestCase {
    /// The key part of a one-key record.
    func key(_ value: Value, descending: Bool = false, nullsFirst: Bool = false) -> Substring {
        let record = AggregateOrder.record(directions: (descending ? "d" : "a") + (nullsFirst ? "f" : "l"), value: "", keys: [value])
        return record.prefix { $0 != ":" }
    }

    /// Random values of each kind: sorting by encoded key orders them as `less` does, in both
    /// directions, and equal values (1.5 and 1.50, -0 and 0) get equal keys.
    func check(_ values: [Value], less: (Value, Value) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        for descending in [false, true] {
            let sorted = values.sorted { key($0, descending: descending).lexicographicallyPrecedes(key($1, descending: descending)) }
            for (a, b) in zip(sorted, sorted.dropFirst()) {
                let wrong = descending ? less(a, b) : less(b, a)
                XCTAssertFalse(wrong, "\(a) before \(b)\(descending ? " descending" : "")", file: file, line: line)
                if !less(a, b), !less(b, a) {
                    XCTAssertEqual(key(a, descending: descending), key(b, descending: descending), "\(a) and \(b) are equal", file: file, line: line)
                }
            }
        }
    }

    func testNumericKeysOrderAsTheValues() {
        var values: [Value] = [.numeric(0, scale: 0), .numeric(0, scale: 3), .numeric(15, scale: 1), .numeric(150, scale: 2), .numeric(-15, scale: 1),
                               .numeric(-150, scale: 2), .numeric(1, scale: 38), .numeric(-1, scale: 38), .numeric(Int128.max, scale: 0), .numeric(-Int128.max, scale: 5)]
        for _ in 0..<2000 {
            let mantissa = Int128(Int64.random(in: Int64.min / 2...Int64.max / 2)) * Int128(Int64.random(in: -1000...1000))
            values.append(.numeric(mantissa, scale: Int.random(in: 0...30)))
        }
        check(values) { a, b in
            if let order = try? ScalarFunctions.compare(a, b) { return order < 0 }
            // Too far apart to align in 128 bits, with the leading digit in one place.
            guard case .numeric(let x, let s) = a, case .numeric(let y, let t) = b else { return false }
            return Double(x) / pow(10, Double(s)) < Double(y) / pow(10, Double(t))
        }
    }

    func testFloatIntegerTextAndIntervalKeys() {
        var doubles: [Value] = [.float64(.nan), .float64(.infinity), .float64(-.infinity), .float64(0), .float64(-0.0), .float64(.leastNonzeroMagnitude)]
        for _ in 0..<500 { doubles.append(.float64(Double.random(in: -1e6...1e6))) }
        check(doubles) { a, b in
            guard case .float64(let x) = a, case .float64(let y) = b else { return false }
            if x.isNaN { return false }
            return y.isNaN || x < y
        }
        var integers: [Value] = [.int64(.min), .int64(.max), .int64(0), .int64(-1)]
        for _ in 0..<500 { integers.append(.int64(Int64.random(in: .min ... .max))) }
        check(integers) { a, b in
            guard case .int64(let x) = a, case .int64(let y) = b else { return false }
            return x < y
        }
        let texts: [Value] = ["", "a", "ab", "abc", "b", "B", "é", "a b", "zz", "aa"].map { .text($0) }
        check(texts) { a, b in Array(a.text!.utf8).lexicographicallyPrecedes(Array(b.text!.utf8)) }
        let intervals: [Value] = [Interval(months: 1), Interval(days: 30), Interval(days: 30, micros: 1), Interval(micros: -3_600_000_000),
                                  Interval(days: 1), Interval(micros: 90_000_000_000), Interval(months: -2, days: 100)].map { .interval($0) }
        check(intervals) { a, b in
            func span(_ v: Value) -> Int128 {
                guard case .interval(let i) = v else { return 0 }
                return (Int128(i.months) * 30 + Int128(i.days)) * 86_400_000_000 + Int128(i.micros)
            }
            return span(a) < span(b)
        }
    }

    /// NULLs first or last in either direction; several keys compare as the pair; equal keys
    /// keep their arrival order.
    func testNullsSeveralKeysAndStability() throws {
        XCTAssertLessThan(key(.null, nullsFirst: true), key(.int32(.min), nullsFirst: true))
        XCTAssertGreaterThan(key(.null), key(.int32(.max)))
        XCTAssertGreaterThan(key(.null, descending: true), key(.int32(.min), descending: true))
        var state = ""
        let rows: [(String, [Value])] = [("1", [.text("b"), .int32(2)]), ("2", [.text("a"), .int32(9)]), ("3", [.text("b"), .int32(1)]),
                                         ("4", [.text("ab"), .null]), ("5", [.text("b"), .int32(1)]), ("6", [.null, .int32(0)])]
        for (value, keys) in rows { state += AggregateOrder.record(directions: "alad", value: value, keys: keys) }
        XCTAssertEqual(try AggregateOrder.concatenate(state), "243516")
        XCTAssertEqual(try AggregateOrder.concatenate(""), "")
    }
}
