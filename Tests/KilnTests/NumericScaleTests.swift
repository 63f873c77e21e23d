import XCTest
import Kiln
import KilnCore

/// Unconstrained numeric values with their own display scale (`PackedNumeric`): the packed
/// bits order and compare as the values do, round trips keep the scale, PostgreSQL's division
/// scale, limits, and a database directory that keeps it all across a reopen. (SQL answers
/// against PostgreSQL: Resources/sql/numeric-scale.test.)
final class NumericScaleTests: XCTestCase {
    /// Random decimals of every scale: unpack(pack(x)) is x, and the masked bits order as the
    /// values (and are equal exactly when the values are).
    func testPackedBitsOrderAsTheValues() throws {
        var generator = SystemRandomNumberGenerator()
        var values: [(Int128, Int)] = [(0, 0), (0, 5), (1, 0), (-1, 0), (10, 1), (-10, 1), (1, 38), (-1, 38)]
        values.append((Int128("9999999999999999999999999999999999")!, 0))
        values.append((-Int128("9999999999999999999999999999999999")!, 4))
        for _ in 0..<3000 {
            let digits = Int.random(in: 1...34, using: &generator)
            var mantissa = Int128(Int64.random(in: 0...Int64.max, using: &generator)) * Int128(Int64.random(in: 1...Int64.max, using: &generator))
            mantissa %= DecimalMath.pow10(digits)
            if Bool.random(using: &generator) { mantissa = -mantissa }
            let scale = Int.random(in: 0...min(38, 38 - digits + 4), using: &generator)
            values.append((mantissa, scale))
            // The same value at a larger scale (1.5 and 1.50).
            if scale < 38, let wider = DecimalMath.rescale(mantissa, from: scale, to: scale + 1), DecimalMath.digitCount(wider.magnitude) <= 34 {
                values.append((wider, scale + 1))
            }
        }
        var packed: [(Int128, (Int128, Int))] = []
        for (m, s) in values {
            let bits = try PackedNumeric.pack(m, scale: s)
            let (back, backScale) = PackedNumeric.unpack(bits)
            XCTAssertEqual(back, m, "\(m) scale \(s)")
            XCTAssertEqual(backScale, s)
            packed.append((bits, (m, s)))
        }
        for _ in 0..<20_000 {
            let (a, x) = packed.randomElement(using: &generator)!
            let (b, y) = packed.randomElement(using: &generator)!
            let order = try ScalarFunctions.compare(.numeric(x.0, scale: x.1), .numeric(y.0, scale: y.1))
            let bits = PackedNumeric.key(a) < PackedNumeric.key(b) ? -1 : PackedNumeric.key(a) == PackedNumeric.key(b) ? 0 : 1
            XCTAssertEqual(bits, order, "\(x) vs \(y)")
        }
    }

    /// PostgreSQL's select_div_scale, and the values it gives.
    /// The power table and the digit count from the bit length, at every boundary: 10^k - 1,
    /// 10^k, 2^k - 1 and 2^k, up to the largest UInt128.
    func testPowersAndDigitCounts() {
        var power: UInt128 = 1
        for k in 0...38 {
            XCTAssertEqual(UInt128(DecimalMath.pow10(k)), power, "10^\(k)")
            XCTAssertEqual(DecimalMath.digitCount(power), k + 1, "10^\(k)")
            if k > 0 { XCTAssertEqual(DecimalMath.digitCount(power - 1), k, "10^\(k) - 1") }
            if k < 38 { power *= 10 }
        }
        XCTAssertEqual(DecimalMath.pow10(-3), 1)
        XCTAssertEqual(DecimalMath.pow10(50), DecimalMath.pow10(38))
        XCTAssertEqual(DecimalMath.digitCount(0), 1)
        for bits in 1...128 {
            let top = bits == 128 ? UInt128.max : (UInt128(1) << bits) - 1
            for value in [top, UInt128(1) << (bits - 1)] {
                XCTAssertEqual(DecimalMath.digitCount(value), String(value).count, "\(value)")
            }
        }
    }

    /// The exact variance path gives PostgreSQL's digits (`numeric_stddev_internal`).
    func testVarianceDigits() throws {
        let database = try Database()
        try database.execute("CREATE TABLE vd (i INTEGER, d NUMERIC(6,2))")
        try database.execute("INSERT INTO vd VALUES (1, 1.25), (2, 2.50), (4, 0.75), (7, NULL)")
        XCTAssertEqual(try database.query("SELECT stddev_samp(i), var_pop(i), stddev_pop(d), variance(d), avg(d), sum(d) / 3 FROM vd")[0].map { $0.text }, ["2.6457513110645906", "5.2500000000000000", "0.73598007219398723790",
                                                         "0.81250000000000000000", "1.5000000000000000", "1.5000000000000000"])
    }

    func testDivisionScale() throws {
        func quotient(_ a: String, _ b: String) throws -> String {
            let (x, sx) = DecimalMath.parse(Substring(a))!, (y, sy) = DecimalMath.parse(Substring(b))!
            let (q, s) = try DecimalMath.divide(x, scale: sx, by: y, scale: sy)
            return DecimalMath.format(q, scale: s)
        }
        XCTAssertEqual(try quotient("1", "3"), "0.33333333333333333333")
        XCTAssertEqual(try quotient("10", "4"), "2.5000000000000000")
        XCTAssertEqual(try quotient("0.0001", "7"), "0.000014285714285714285714")
        XCTAssertEqual(try quotient("19999", "12345"), "1.62000810044552450385")
        XCTAssertEqual(try quotient("-2.25", "3"), "-0.75000000000000000000")
        // PostgreSQL's scale here is 40; Kiln's stops at 38, with the value right (a shift
        // past 10^38 is done in steps of 10^37).
        XCTAssertEqual(try quotient("1", "100000000000000000000"), "0.00000000000000000001000000000000000000")
        XCTAssertEqual(DecimalMath.rescale(5, from: 0, to: 40), nil)
        XCTAssertEqual(DecimalMath.rescale(5, from: 40, to: 0), 0)
        XCTAssertThrowsError(try quotient("1", "0")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "22012") }
    }

    /// Division whose shifted numerator passes 128 bits (long division in steps of 10^37) and
    /// exact division by powers of ten (by the inverse of 5^n) give what long division digit by
    /// digit gives, rounded half away from zero, for random operands of every size and shift.
    func testWideAndExactDivisionAgreeWithLongDivision() {
        /// lhs * 10^shift / rhs, digit by digit (the reference): nil when the quotient
        /// overflows, `.some(nil)` when ten times a remainder does not fit 128 bits (the
        /// reference cannot tell; the case is skipped).
        func reference(_ lhs: Int128, _ rhs: Int128, shift: Int) -> Int128?? {
            let divisor = rhs.magnitude
            var quotient = lhs.magnitude / divisor, remainder = lhs.magnitude % divisor
            for _ in 0..<shift {
                guard case (let r10, false) = remainder.multipliedReportingOverflow(by: 10) else { return .some(nil) }
                guard case (let q10, false) = quotient.multipliedReportingOverflow(by: 10) else { return nil }
                guard case (let next, false) = q10.addingReportingOverflow(r10 / divisor) else { return nil }
                quotient = next
                remainder = r10 % divisor
            }
            if remainder >= divisor - remainder { guard case (let up, false) = quotient.addingReportingOverflow(1) else { return nil }; quotient = up }
            guard quotient <= UInt128(Int128.max) else { return nil }
            return .some((lhs < 0) != (rhs < 0) ? -Int128(quotient) : Int128(quotient))
        }
        var generator = SplitMix(seed: 7)
        func random(digits: Int) -> Int128 {
            let wide = Int128(truncatingIfNeeded: generator.next()) << 64 | Int128(truncatingIfNeeded: generator.next())
            let value = wide.magnitude % UInt128(DecimalMath.pow10(digits))
            return generator.next() % 3 == 0 ? -Int128(value) : Int128(value)
        }
        for _ in 0..<20_000 {
            let lhs = random(digits: Int(generator.next() % 38) + 1)
            var rhs = random(digits: Int(generator.next() % 38) + 1)
            if rhs == 0 { rhs = 7 }
            let scale = Int(generator.next() % 39)
            let lhsScale = Int(generator.next() % 39), rhsScale = Int(generator.next() % 39)
            let shift = scale + rhsScale - lhsScale
            guard shift >= 0, shift <= 80 else { continue }
            let expected = reference(lhs, rhs, shift: shift)
            if case .some(nil) = expected { continue }
            XCTAssertEqual(DecimalMath.divide(lhs, scale: lhsScale, by: rhs, scale: rhsScale, resultScale: scale), expected.flatMap { $0 },
                           "\(lhs) e-\(lhsScale) / \(rhs) e-\(rhsScale) at scale \(scale)")
        }
        for n in 0...38 {
            for _ in 0..<200 {
                let quotient = UInt128(random(digits: max(1, 38 - n)).magnitude)
                let (value, overflow) = quotient.multipliedReportingOverflow(by: UInt128(DecimalMath.pow10(n)))
                guard !overflow else { continue }
                XCTAssertEqual(DecimalMath.exactQuotient(value, byPow10: n), quotient, "\(value) / 10^\(n)")
                if n > 0, value > 0 { XCTAssertNil(DecimalMath.exactQuotient(value + 1, byPow10: n), "\(value + 1) / 10^\(n)") }
            }
        }
    }

    /// An unconstrained value with more than 34 significant digits is 22003 where it is made
    /// (a literal's static scale holds 38); 34 are kept.
    func testSignificantDigitLimit() throws {
        let db = try Database()
        try db.execute("CREATE TABLE t (x NUMERIC)")
        XCTAssertThrowsError(try db.execute("INSERT INTO t VALUES ('0.12345678901234567890123456789012345')")) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "22003")
        }
        try db.execute("INSERT INTO t VALUES (1234567890123456789012345678901234)")
        XCTAssertEqual(try db.query("SELECT x, x * 1.0 FROM t").map { $0.map(\.text) }, [["1234567890123456789012345678901234", "1234567890123456789012345678901234.0"]])
        XCTAssertThrowsError(try db.query("SELECT x * 10.5 FROM t")) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "22003")
        }
        XCTAssertEqual(try db.query("SELECT count(*) FROM t"), [[.int64(1)]])
    }

    /// COPY keeps each field's scale (the fast path for plain decimals, the input function for
    /// the rest), and refuses a field past 34 digits.
    func testCopyKeepsEachFieldsScale() throws {
        let path = NSTemporaryDirectory() + "kiln-numeric-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "1.5\n2\n1.50\n-0.0001\n\\N\n1e3\n 7.25\n12345678901234567890.123456789\n".write(toFile: path, atomically: true, encoding: .utf8)
        let db = try Database()
        try db.execute("CREATE TABLE c (x NUMERIC)")
        try db.execute("COPY c FROM '\(path)'")
        XCTAssertEqual(try db.query("SELECT x FROM c").map { $0[0].text ?? "NULL" },
                       ["1.5", "2", "1.50", "-0.0001", "NULL", "1000", "7.25", "12345678901234567890.123456789"])
        XCTAssertEqual(try db.query("SELECT sum(x), count(DISTINCT x) FROM c").map { $0.map(\.text) }, [["12345678901234568902.373356789", "6"]])
        try "0.12345678901234567890123456789012345\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try db.execute("COPY c FROM '\(path)'")) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "22003") }
    }

    /// A database directory keeps each value's scale, and the key index (rebuilt after the
    /// reopen) finds 1.5 as 1.50.
    func testScalesSurviveAReopen() throws {
        let directory = NSTemporaryDirectory() + "kiln-numeric-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let query = "SELECT k, v FROM nk ORDER BY k"
        do {
            let db = try Database(path: directory)
            try db.execute("CREATE TABLE nk (k NUMERIC PRIMARY KEY, v NUMERIC)")
            try db.execute("INSERT INTO nk VALUES (1.5, 10.250), (2, 1/3::numeric), (-0.001, 0)")
            try db.execute("CHECKPOINT")
            try db.execute("INSERT INTO nk VALUES (7.00, 7)")
            db.close()
        }
        let db = try Database(path: directory)
        XCTAssertEqual(try db.query(query).map { $0.map { $0.text ?? "NULL" } },
                       [["-0.001", "0"], ["1.5", "10.250"], ["2", "0.33333333333333333333"], ["7.00", "7"]])
        XCTAssertEqual(try db.query("SELECT v FROM nk WHERE k = 1.50")[0][0].text, "10.250")
        XCTAssertEqual(try db.query("SELECT v FROM nk WHERE k = 7")[0][0].text, "7")
        XCTAssertThrowsError(try db.execute("INSERT INTO nk VALUES (1.500, 0)")) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState.code, "23505")
        }
        db.close()
    }
}
