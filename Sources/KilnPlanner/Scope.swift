import KilnCore

/// The columns visible to an expression: the output of the FROM clause.
struct Scope {
    struct Entry {
        var qualifier: String?
        var name: String
        var type: SQLType
        var nullable: Bool
        /// A joined table's copy of a column `JOIN ... USING` merged: reachable qualified
        /// (`a.k`), left out of unqualified names and of `*`.
        var hidden = false
        /// A system column (`ctid`, a modifying statement's row identity): named only, never
        /// part of `*` or `t.*`.
        var system = false
    }
    var entries: [Entry] = []
    /// The entries unqualified `*` lists, in order (nil: every visible entry in order). USING
    /// puts the merged columns first, as PostgreSQL does.
    var starOrder: [Int]?

    /// The entries unqualified `*` expands to.
    var starEntries: [Int] { (starOrder ?? Array(entries.indices)).filter { !entries[$0].hidden && !entries[$0].system } }

    /// This scope's entries followed by `other`'s (the columns of a join).
    func appending(_ other: Scope) -> Scope {
        var joined = self
        joined.entries += other.entries
        if starOrder != nil || other.starOrder != nil {
            joined.starOrder = starEntries + other.starEntries.map { $0 + entries.count }
        }
        return joined
    }

    /// The one visible entry named `name` (USING and NATURAL's lookup on one side of a join).
    func usingColumn(_ name: String, side: String, position: Int) throws(DatabaseError) -> Int {
        let found = entries.indices.filter { entries[$0].name == name && !entries[$0].hidden }
        if found.count > 1 {
            throw DatabaseError(.ambiguousColumn, "common column name \"\(name)\" appears more than once in \(side) table", position: position)
        }
        guard let index = found.first else {
            throw DatabaseError(.undefinedColumn, "column \"\(name)\" specified in USING clause does not exist in \(side) table", position: position)
        }
        return index
    }

    /// Resolves `name` or `qualifier.name` to a column index.
    func resolve(_ parts: [String], position: Int) throws(DatabaseError) -> Int {
        let name = parts.last!
        let qualifier = parts.count > 1 ? parts[parts.count - 2] : nil
        var found: [Int] = []
        for (index, entry) in entries.enumerated() where entry.name == name {
            if let qualifier, entry.qualifier != qualifier { continue }
            if qualifier == nil, entry.hidden { continue }
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
