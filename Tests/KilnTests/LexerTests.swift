import XCTest
import KilnCore
import KilnSQL
@testable import Kiln

/// The lexer reads UTF-8 bytes; these pin what it must keep from PostgreSQL's rules and from
/// the character-based lexer it replaced: positions in characters, ASCII-only case folding,
/// multi-byte characters inside identifiers, and the literal forms.
final class LexerTests: XCTestCase {
    func tokens(_ sql: String) throws -> [Token] {
        var lexer = Lexer(sql)
        return try lexer.tokenize()
    }

    func lexError(_ sql: String) -> DatabaseError? {
        var lexer = Lexer(sql)
        do { _ = try lexer.tokenize() } catch { return error }
        return nil
    }

    func testKindsTextsAndPositions() throws {
        let t = try tokens("SELECT a1$, \"Q\"\"x\", 'it''s', E'a\\tb', 1.5e-3, .5, 42, $3 FROM t WHERE x != 2 AND y::int <= 3 -- c\n/* a /* nested */ one */;")
        XCTAssertEqual(t.map(\.kind), [
            .word("select"), .word("a1$"), .symbol(","), .quotedIdentifier("Q\"x"), .symbol(","), .string("it's"), .symbol(","),
            .string("a\tb"), .symbol(","), .decimal("1.5e-3"), .symbol(","), .decimal(".5"), .symbol(","), .integer("42"), .symbol(","),
            .parameter(3), .word("from"), .word("t"), .word("where"), .word("x"), .symbol("<>"), .integer("2"), .word("and"),
            .word("y"), .symbol("::"), .word("int"), .symbol("<="), .integer("3"), .symbol(";"), .end,
        ])
        XCTAssertEqual(t[0].position, 1)
        XCTAssertEqual(t[1].text, "a1$")
        XCTAssertEqual(t[3].text, "\"Q\"\"x\"")
        XCTAssertEqual(t[3].position, 13)
        XCTAssertEqual(t.last?.position, "SELECT a1$, \"Q\"\"x\", 'it''s', E'a\\tb', 1.5e-3, .5, 42, $3 FROM t WHERE x != 2 AND y::int <= 3 -- c\n/* a /* nested */ one */;".count + 1)
    }

    func testMultiByteCharactersAreIdentifierCharactersAndKeepTheirCase() throws {
        // PostgreSQL folds ASCII letters only (UTF-8): "Ä" stays, "B" becomes "b".
        let t = try tokens("SELECT naïve, ÄB, größe_2 FROM t")
        XCTAssertEqual(t.compactMap(\.word), ["select", "naïve", "Äb", "größe_2", "from", "t"])
        let db = try Database()
        try db.execute("CREATE TABLE m (größe INTEGER, Ärger TEXT)")
        try db.execute("INSERT INTO m VALUES (3, 'x')")
        XCTAssertEqual(try db.query("SELECT größe FROM m"), [[.int32(3)]])
        XCTAssertEqual(try db.execute("SELECT Ärger AS Ü FROM m").last?.columns.map(\.name), ["Ü"])
    }

    func testPositionsCountCharacters() throws {
        // 'é' is two bytes and "\r\n" two characters' bytes, but each is one character.
        let sql = "SELECT 'é',\r\n 'ü', bogus FROM (SELECT 1) s"
        let t = try tokens(sql)
        let bogus = try XCTUnwrap(t.first { $0.word == "bogus" })
        XCTAssertEqual(bogus.position, Array(sql).firstIndex(of: "b")! + 1)
        let db = try Database()
        XCTAssertThrowsError(try db.execute(sql)) { error in
            let error = error as! DatabaseError
            XCTAssertEqual(error.sqlState.code, "42703")
            XCTAssertEqual(error.position, bogus.position)
        }
        // Shaped statements (literals lifted) map positions back through multi-byte text too.
        try db.execute("CREATE TABLE s (k INTEGER, v TEXT)")
        let update = "UPDATE s SET v = 'ä' WHERE nope = 1"
        XCTAssertThrowsError(try db.execute(update)) { error in
            XCTAssertEqual((error as! DatabaseError).position, Array(update).firstIndex(of: "n")! + 1)
        }
    }

    func testAdjacentLiteralsJoinAcrossNewlinesOfEitherKind() throws {
        XCTAssertEqual(try tokens("'a'\n'b'").first?.kind, .string("ab"))
        XCTAssertEqual(try tokens("'a'\r\n  'b'").first?.kind, .string("ab"))
        XCTAssertEqual(try tokens("'a' 'b'").count, 3)  // no newline: two literals (a syntax error later)
    }

    func testErrors() {
        XCTAssertEqual(lexError("SELECT 1 # 2")?.message, "syntax error at or near \"#\"")
        XCTAssertEqual(lexError("SELECT 1 # 2")?.position, 10)
        XCTAssertEqual(lexError("SELECT 'é', 'abc")?.message, "unterminated quoted string at or near \"'abc\"")
        XCTAssertEqual(lexError("SELECT 'é', 'abc")?.position, 13)
        XCTAssertEqual(lexError("SELECT \"ab")?.message, "unterminated quoted identifier at or near \"\"ab\"")
        XCTAssertEqual(lexError("SELECT \"\"")?.message, "zero-length delimited identifier at or near \"\"\"\"")
        XCTAssertEqual(lexError("SELECT 12abc")?.message, "trailing junk after numeric literal at or near \"12a\"")
        XCTAssertEqual(lexError("SELECT 12é")?.message, "trailing junk after numeric literal at or near \"12é\"")
        XCTAssertEqual(lexError("SELECT $0")?.message, "invalid parameter number $0")
        XCTAssertEqual(lexError("SELECT $99999999999999999999")?.message, "invalid parameter number $99999999999999999999")
        XCTAssertNil(lexError("SELECT $65535"))
    }
}
