import KilnCore

/// The columns visible to an expression: the output of the FROM clause.
struct Scope {
    struct Entry {
        var qualifier: String?
        var name: String
        var type: SQLType
        var nullable: Bool
    }
    var entries: [Entry] = []

    /// Resolves `name` or `qualifier.name` to a column index.
    func resolve(_ parts: [String], position: Int) throws(DatabaseError) -> Int {
        let name = parts.last!
        let qualifier = parts.count > 1 ? parts[parts.count - 2] : nil
        var found: [Int] = []
        for (index, entry) in entries.enumerated() where entry.name == name {
            if let qualifier, entry.qualifier != qualifier { continue }
            found.append(index)
        }
        if found.count > 1 {
            throw DatabaseError(.ambiguousColumn, "column reference \"\(name)\" is ambiguous", position: position)
        }
        guard let index = found.first else {
            if let qualifier, !entries.contains(where: { $0.qualifier == qualifier }) {
                throw DatabaseError(.undefinedTable, "missing FROM-clause entry for table \"\(qualifier)\"", position: position)
            }
            let shown = parts.joined(separator: ".")
            throw DatabaseError(.undefinedColumn, "column \"\(shown)\" does not exist", position: position)
        }
        return index
    }
}
