import XCTest
import Kiln

/// All 99 TPC-DS queries at SF0.01 against the reference answers, in every execution mode.
///
/// The kit (schema, queries, answers, data) is `$KILN_TPCDS_DIR` (the README's test command
/// sets it: `../shared/tpcds`, else the repository's fixture unpacked under `.build`). The
/// answers are compared as the kit's README says: numbers within a relative 1e-6, or 0.01
/// when the answer has at most two fraction digits; NULL equals an empty field and an empty
/// string; rows in the order of the query's ORDER BY columns (`answers/order.json`), rows
/// whose keys tie in any order, and queries without ORDER BY as multisets.
final class TPCDSTests: XCTestCase {
    static let tables = ["call_center", "catalog_page", "catalog_returns", "catalog_sales", "customer", "customer_address",
                         "customer_demographics", "date_dim", "household_demographics", "income_band", "inventory", "item",
                         "promotion", "reason", "ship_mode", "store", "store_returns", "store_sales", "time_dim", "warehouse",
                         "web_page", "web_returns", "web_sales", "web_site"]

    var kit: URL? {
        if let directory = ProcessInfo.processInfo.environment["KILN_TPCDS_DIR"] { return URL(fileURLWithPath: directory) }
        let sibling = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/tpcds")
        return FileManager.default.fileExists(atPath: sibling.path) ? sibling : nil
    }

    func testAllQueriesAtSF001InEveryMode() throws {
        guard let kit, FileManager.default.fileExists(atPath: kit.appendingPathComponent("sf0.01/store_sales.dat").path) else {
            throw XCTSkip("no TPC-DS kit (set KILN_TPCDS_DIR)")
        }
        let db = try Database()
        try db.execute(try String(contentsOf: kit.appendingPathComponent("schema.sql"), encoding: .utf8))
        for table in Self.tables {
            let file = kit.appendingPathComponent("sf0.01/\(table).dat").path
            try db.execute("COPY \(table) FROM '\(file)' WITH (FORMAT csv, DELIMITER '|', HEADER false)")
        }
        let order = try JSONSerialization.jsonObject(with: Data(contentsOf: kit.appendingPathComponent("answers/order.json"))) as? [String: Any] ?? [:]
        for number in 1...99 {
            let query = number < 10 ? "q0\(number)" : "q\(number)"
            let sql = try String(contentsOf: kit.appendingPathComponent("queries/\(query).sql"), encoding: .utf8)
            let answer = try String(contentsOf: kit.appendingPathComponent("answers/sf0.01/\(query).csv"), encoding: .utf8)
            var lines = answer.components(separatedBy: "\n").dropFirst()
            if lines.last == "" { lines = lines.dropLast() }
            let expected = lines.map(Self.fields)
            let keys = ((order[query] as? [String: Any])?["keys"] as? [Int] ?? []).map { $0 - 1 }
            for mode in JITMode.allCases {
                try db.use(mode)
                do {
                    let rows = try db.query(sql).map { $0.map(\.text) }
                    if let problem = Self.compare(rows, expected, keys: keys) { XCTFail("\(query) (\(mode)): \(problem)") }
                } catch {
                    XCTFail("\(query) (\(mode)): \(error)")
                }
            }
        }
    }

    /// One answer line: `|`-separated; an empty unquoted field is NULL, `"..."` a string.
    static func fields(_ line: String) -> [String?] {
        var out: [String?] = []
        var characters = Substring(line)
        while true {
            if characters.first == "\"" {
                var text = ""
                characters = characters.dropFirst()
                while let c = characters.first {
                    characters = characters.dropFirst()
                    if c == "\"" {
                        if characters.first == "\"" { text.append("\""); characters = characters.dropFirst(); continue }
                        break
                    }
                    text.append(c)
                }
                out.append(text)
            } else {
                let field = characters.prefix { $0 != "|" }
                characters = characters.dropFirst(field.count)
                out.append(field.isEmpty ? nil : String(field))
            }
            guard characters.first == "|" else { break }
            characters = characters.dropFirst()
            if characters.isEmpty { out.append(nil); break }
        }
        return out
    }

    static func equal(_ got: String?, _ want: String?) -> Bool {
        let got = got == "" ? nil : got, want = want == "" ? nil : want
        guard let got, let want else { return got == nil && want == nil }
        if got == want { return true }
        if let a = Double(got), let b = Double(want) {
            let difference = abs(a - b)
            if difference <= 1e-6 * max(abs(a), abs(b)) || difference <= 1e-9 { return true }
            let fraction = want.contains(".") && !want.lowercased().contains("e") ? want.split(separator: ".")[1].count : 0
            return fraction <= 2 && difference <= 0.01 + 1e-9
        }
        let truths = [["t", "true"], ["f", "false"]]
        return truths.contains { $0.contains(got.lowercased()) && $0.contains(want.lowercased()) }
    }

    static func rowsEqual(_ a: [String?], _ b: [String?]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
    }

    /// nil when `got` holds the rows of `want`, each matched once (any order).
    static func multiset(_ got: [[String?]], _ want: [[String?]]) -> String? {
        var left = got
        for row in want {
            guard let index = left.firstIndex(where: { rowsEqual($0, row) }) else {
                return "expected row not found: \(row.map { $0 ?? "NULL" }.joined(separator: "|"))"
            }
            left.remove(at: index)
        }
        return nil
    }

    static func compare(_ got: [[String?]], _ want: [[String?]], keys: [Int]) -> String? {
        guard got.count == want.count else { return "\(got.count) rows, expected \(want.count)" }
        if let index = got.indices.first(where: { got[$0].count != want[$0].count }) {
            return "row \(index + 1): \(got[index].count) columns, expected \(want[index].count)"
        }
        guard !keys.isEmpty else { return multiset(got, want) }
        // Consecutive expected rows with equal sort keys may come in any order.
        var start = 0
        while start < want.count {
            var end = start + 1
            while end < want.count, keys.allSatisfy({ equal(want[end][$0], want[start][$0]) }) { end += 1 }
            if let problem = multiset(Array(got[start..<end]), Array(want[start..<end])) { return "rows \(start + 1)-\(end): \(problem)" }
            start = end
        }
        return nil
    }
}
