import KilnCore
import KilnIR
import KilnPlanner

/// Lowers the column-stream expressions of one pipeline into its fused row loop, on demand.
///
/// A high-level value is materialised (as `kiln_mid` ops) the first time a consumer needs it,
/// in the consumer's block; results are remembered per block scope so that a value computed
/// inside a branch is never used outside it. `CASE` and `COALESCE` become `scf.if`s whose
/// branches materialise their own operands: a branch that is not taken computes nothing (so
/// `CASE WHEN x = 0 THEN NULL ELSE y / x END` never divides by zero), as PostgreSQL promises.
final class RowBodyLowering {
    /// What a stream's columns are.
    enum Stream {
        /// The pipeline source: column i is a load of field i.
        case source(types: [String])
        /// A projection: column i is the high-level value `columns[i]`.
        case projected(columns: [IRValue])
        /// A join's output: the input stream's columns, then the matching build entry's.
        indirect case joined(base: Stream, entry: IRValue, buildTypes: [String], keyCount: Int, layout: RecordLayout)

        var width: Int {
            switch self {
            case .source(let types): return types.count
            case .projected(let columns): return columns.count
            case .joined(let base, _, let buildTypes, _, _): return base.width + buildTypes.count
            }
        }
    }

    let function: String
    let ctx: IRValue
    let top: IRBuilder
    let batch: IRValue
    let row: IRValue
    let layout: String
    var builder: IRBuilder
    var openBlocks: [IRBlock]
    var definitions: [ObjectIdentifier: IROperation] = [:]
    var streams: [ObjectIdentifier: Stream] = [:]
    /// Materialised values by key, innermost scope last.
    var scopes: [[String: IRValue]] = [[:]]
    var recordLayout: RecordLayout?
    /// Semi and anti join chain walks waiting for their `join_residual`, by candidate stream.
    var openProbes: [ObjectIdentifier: OpenProbe] = [:]

    struct OpenProbe {
        let before: IRBlock
        let after: IRBlock
        /// The bucket's first entry, the candidate entry and its key match.
        let first: IRValue
        let entry: IRValue
        let match: IRValue
        let anti: Bool
        let base: Stream
        /// The builder of the block around the walk.
        let outer: IRBuilder
    }

    init(function: String, ctx: IRValue, top: IRBuilder, batch: IRValue, row: IRValue, layout: String, rowBlock: IRBlock) {
        self.function = function
        self.ctx = ctx
        self.top = top
        self.batch = batch
        self.row = row
        self.layout = layout
        builder = IRBuilder(rowBlock)
        openBlocks = [rowBlock]
    }

    func definitions(_ operations: ArraySlice<IROperation>) -> [IROperation] {
        operations.filter { !$0.results.isEmpty }
    }

    func define(_ op: IROperation) {
        for result in op.results { definitions[ObjectIdentifier(result)] = op }
    }

    func registerSource(_ source: IROperation) {
        var types: [String] = []
        if case .array(let items) = source.attribute("types") { types = items.compactMap(\.stringValue) }
        streams[ObjectIdentifier(source.result)] = .source(types: types)
        if layout == "records" {
            recordLayout = RecordLayout(types: types.map { parseSQLTypeParameter($0[...]).0 })
        }
    }

    func alias(_ stream: IRValue, to input: IRValue) {
        streams[ObjectIdentifier(stream)] = streams[ObjectIdentifier(input)]
    }

    func project(_ stream: IRValue, columns: [IRValue]) {
        streams[ObjectIdentifier(stream)] = .projected(columns: columns)
    }

    /// Continues the row body inside `scf.if condition` (filters and limits).
    func nest(_ condition: IRValue) {
        let inner = IRBlock()
        builder.add("scf.if", [condition], [], regions: [.single(inner), IRRegion()])
        openBlocks.append(inner)
        builder = IRBuilder(inner)
        scopes.append([:])
    }

    func failure(_ text: String) -> HighToMid.Failure { HighToMid.Failure(description: "\(text) (in \(function))") }

    func remembered(_ key: String) -> IRValue? {
        for scope in scopes.reversed() { if let value = scope[key] { return value } }
        return nil
    }

    func remember(_ key: String, _ value: IRValue) { scopes[scopes.count - 1][key] = value }

    static func midType(_ highType: String) -> String { HighToMid.midType(highType) }

    /// All columns of a stream, materialised (for sinks that store whole rows).
    func rowValues(of stream: IRValue) throws -> [IRValue] {
        guard let info = streams[ObjectIdentifier(stream)] else { throw failure("unknown stream") }
        return try (0..<info.width).map { try column($0, of: info) }
    }

    /// Column `index` of a stream, materialised in the current block.
    func column(_ index: Int, of info: Stream) throws -> IRValue {
        switch info {
        case .source(let types): return load(index, types: types)
        case .projected(let columns): return try materialize(columns[index])
        case .joined(let base, let entry, let buildTypes, let keyCount, let layout):
            if index < base.width { return try column(index, of: base) }
            let field = index - base.width
            let key = "entry\(ObjectIdentifier(entry).hashValue).\(field)"
            if let value = remembered(key) { return value }
            let value = builder.value("kiln_mid.entry_field", [entry], "!kiln_mid.val<\"\(buildTypes[field])\">", [
                ("column", .integer(Int64(keyCount + field), type: "i64")), ("offset", .integer(Int64(layout.offsets[keyCount + field]), type: "i64")),
            ])
            remember(key, value)
            return value
        }
    }

    /// Continues the row body once per matching build entry of a hash join:
    /// `scf.while` over the bucket's chain, `scf.if` on hash and key equality.
    func nestJoin(_ op: IROperation) throws {
        let keys = try op.operands.dropFirst(2).map { try materialize($0) }
        let buildTypes = (op.attribute("build_types")?.arrayValue ?? []).compactMap(\.stringValue)
        let layout = RecordLayout(types: keys.map { MidToLow.sqlType($0.type).0 } + buildTypes.map { parseSQLTypeParameter($0[...]).0 })
        let state = op.attribute("state") ?? .integer(0, type: "i64")
        let lookup = builder.add("kiln_mid.join_lookup", [ctx] + keys, ["!kiln_mid.entry", "i64"], [("state", state)])
        let keyOffsets = (0..<keys.count).map { IRAttribute.integer(Int64(layout.offsets[$0]), type: "i64") }
        let inner = IRBlock()
        let entry: IRValue
        let mode = op.integer("join_mode") ?? 0
        if mode == 1 {
            // LEFT join: walk the chain; when it ends without a match, visit once more with the
            // state's all-NULL entry, so the probe row appears with NULL build columns.
            let nullEntry = top.value("kiln_mid.join_null_entry", [ctx], "!kiln_mid.entry", [("state", state)])
            let before = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
            let b = IRBuilder(before)
            let (current, matched) = (before.arguments[0], before.arguments[1])
            let valid = b.value("kiln_mid.entry_valid", [current], "i1")
            let one = b.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
            let unmatched = b.value("arith.xori", [matched, one], "i1")
            let proceed = b.value("arith.ori", [valid, unmatched], "i1")
            b.add("scf.condition", [proceed, current, matched])
            let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
            let a = IRBuilder(after)
            let (chained, seen) = (after.arguments[0], after.arguments[1])
            let isEntry = a.value("kiln_mid.entry_valid", [chained], "i1")
            let visit = a.value("arith.select", [isEntry, chained, nullEntry], "!kiln_mid.entry")
            let keyMatch = a.value("kiln_mid.join_match", [visit, lookup.results[1]] + keys, "i1", [("state", state), ("offsets", .array(keyOffsets))])
            let constantTrue = a.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
            let emit = a.value("arith.select", [isEntry, keyMatch, constantTrue], "i1")
            a.add("scf.if", [emit], [], regions: [.single(inner), IRRegion()])
            let next = a.value("kiln_mid.entry_next", [visit], "!kiln_mid.entry")
            let zero = a.value("kiln_mid.entry_next", [nullEntry], "!kiln_mid.entry")
            let following = a.value("arith.select", [isEntry, next, zero], "!kiln_mid.entry")
            let nowSeen = a.value("arith.ori", [seen, emit], "i1")
            a.add("scf.yield", [following, nowSeen])
            let start = builder.value("arith.constant", [], "i1", [("value", .integer(0, type: "i1"))])
            builder.add("scf.while", [lookup.results[0], start], ["!kiln_mid.entry", "i1"], regions: [.single(before), .single(after)])
            entry = visit
        } else if mode == 2 || mode == 3 {
            // Semi and anti joins: walk the chain until a candidate meets the keys and the
            // residual (`join_residual` closes the loop); the row continues once after it.
            let before = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
            let b = IRBuilder(before)
            let (current, found) = (before.arguments[0], before.arguments[1])
            let valid = b.value("kiln_mid.entry_valid", [current], "i1")
            let one = b.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
            let searching = b.value("arith.andi", [valid, b.value("arith.xori", [found, one], "i1")], "i1")
            b.add("scf.condition", [searching, current, found])
            let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
            let candidate = after.arguments[0]
            let match = IRBuilder(after).value("kiln_mid.join_match", [candidate, lookup.results[1]] + keys, "i1", [("state", state), ("offsets", .array(keyOffsets))])
            guard let input = streams[ObjectIdentifier(op.operands[1])] else { throw failure("unknown stream") }
            openProbes[ObjectIdentifier(op.result)] = OpenProbe(before: before, after: after, first: lookup.results[0], entry: candidate, match: match,
                                                                 anti: mode == 3, base: input, outer: builder)
            builder = IRBuilder(after)
            scopes.append([:])
            streams[ObjectIdentifier(op.result)] = .joined(base: input, entry: candidate, buildTypes: buildTypes, keyCount: keys.count, layout: layout)
            return
        } else {
            let before = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry")])
            let b = IRBuilder(before)
            let valid = b.value("kiln_mid.entry_valid", [before.arguments[0]], "i1")
            b.add("scf.condition", [valid, before.arguments[0]])
            let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry")])
            entry = after.arguments[0]
            let a = IRBuilder(after)
            let match = a.value("kiln_mid.join_match", [entry, lookup.results[1]] + keys, "i1", [("state", state), ("offsets", .array(keyOffsets))])
            a.add("scf.if", [match], [], regions: [.single(inner), IRRegion()])
            let next = a.value("kiln_mid.entry_next", [entry], "!kiln_mid.entry")
            a.add("scf.yield", [next])
            builder.add("scf.while", [lookup.results[0]], ["!kiln_mid.entry"], regions: [.single(before), .single(after)])
        }
        openBlocks.append(inner)
        builder = IRBuilder(inner)
        scopes.append([:])
        guard let input = streams[ObjectIdentifier(op.operands[1])] else { throw failure("unknown stream") }
        streams[ObjectIdentifier(op.result)] = .joined(base: input, entry: entry, buildTypes: buildTypes, keyCount: keys.count, layout: layout)
    }

    /// Closes a semi or anti join's chain walk: a candidate counts when its keys match and
    /// the residual condition (computed only then) is true; the row body continues inside
    /// `scf.if found` (semi) or `scf.if !found` (anti) with the probe's columns.
    func closeProbe(_ op: IROperation) throws {
        guard let probe = openProbes.removeValue(forKey: ObjectIdentifier(op.operands[0])) else {
            throw failure("join_residual without its semi or anti join probe")
        }
        var hit = probe.match
        if op.operands.count > 1 {
            let taken = IRBlock(), skipped = IRBlock()
            try inBranch(taken) { builder.value("kiln_mid.truth", [try materialize(op.operands[1])], "i1") }
            let no = IRBuilder(skipped).value("arith.constant", [], "i1", [("value", .integer(0, type: "i1"))])
            IRBuilder(skipped).add("scf.yield", [no])
            hit = builder.add("scf.if", [probe.match], ["i1"], regions: [.single(taken), .single(skipped)]).result
        }
        let next = builder.value("kiln_mid.entry_next", [probe.entry], "!kiln_mid.entry")
        builder.add("scf.yield", [next, hit])
        scopes.removeLast()
        builder = probe.outer
        let start = builder.value("arith.constant", [], "i1", [("value", .integer(0, type: "i1"))])
        let loop = builder.add("scf.while", [probe.first, start], ["!kiln_mid.entry", "i1"], regions: [.single(probe.before), .single(probe.after)])
        var emit = loop.results[1]
        if probe.anti {
            emit = builder.value("arith.xori", [emit, builder.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])], "i1")
        }
        nest(emit)
        streams[ObjectIdentifier(op.result)] = probe.base
    }

    func load(_ index: Int, types: [String]) -> IRValue {
        let key = "load\(index)"
        if let value = remembered(key) { return value }
        var attributes: [(String, IRAttribute)] = [("column", .integer(Int64(index), type: "i64")), ("layout", .string(layout))]
        if let recordLayout { attributes.append(("offset", .integer(Int64(recordLayout.offsets[index]), type: "i64"))) }
        let value = builder.value("kiln_mid.load", [batch, row], "!kiln_mid.val<\"\(types[index])\">", attributes)
        remember(key, value)
        return value
    }

    /// The mid-level value of a high-level column stream, computed in the current block.
    func materialize(_ value: IRValue) throws -> IRValue {
        let key = "v\(ObjectIdentifier(value).hashValue)"
        if let known = remembered(key) { return known }
        guard let op = definitions[ObjectIdentifier(value)] else { throw failure("column stream without a definition") }
        let result: IRValue
        switch op.name {
        case "kiln_high.field":
            guard let info = streams[ObjectIdentifier(op.operands[0])] else { throw failure("unknown stream") }
            result = try column(op.integer("index") ?? 0, of: info)
        case "kiln_high.param":
            // Parameters are loop-invariant: read once, before the loop, visible everywhere.
            let parameter = top.value("kiln_mid.param", [ctx], Self.midType(op.result.type), op.attributes)
            scopes[0][key] = parameter
            return parameter
        case "kiln_high.op":
            switch op.string("name") {
            case "case": result = try lazyCase(op, from: 0)
            case "coalesce": result = try lazyCoalesce(op, from: 0)
            default:
                let arguments = try op.operands.map { try materialize($0) }
                result = builder.value("kiln_mid.op", arguments, Self.midType(op.result.type), op.attributes)
            }
        default:
            throw failure("\(op.name) does not produce a column stream")
        }
        remember(key, result)
        return result
    }

    /// Runs `body` with the builder inside `block` and a fresh scope; yields its value.
    func inBranch(_ block: IRBlock, _ body: () throws -> IRValue) rethrows {
        let (savedBuilder, savedScopes) = (builder, scopes)
        builder = IRBuilder(block)
        scopes.append([:])
        let value = try body()
        builder.add("scf.yield", [value])
        builder = savedBuilder
        scopes = savedScopes
    }

    /// `CASE`: operands are [c1, v1, c2, v2, ..., else]; nested `scf.if`s, one per WHEN.
    func lazyCase(_ op: IROperation, from index: Int) throws -> IRValue {
        if index >= op.operands.count - 1 { return try materialize(op.operands[op.operands.count - 1]) }
        let condition = builder.value("kiln_mid.truth", [try materialize(op.operands[index])], "i1")
        let taken = IRBlock(), other = IRBlock()
        try inBranch(taken) { try materialize(op.operands[index + 1]) }
        try inBranch(other) { try lazyCase(op, from: index + 2) }
        return builder.add("scf.if", [condition], [Self.midType(op.result.type)], regions: [.single(taken), .single(other)]).result
    }

    /// `COALESCE`: the next argument is computed only when all before it are NULL.
    func lazyCoalesce(_ op: IROperation, from index: Int) throws -> IRValue {
        let value = try materialize(op.operands[index])
        if index == op.operands.count - 1 { return value }
        let isNull = builder.value("kiln_mid.op", [value], "!kiln_mid.val<\"bool\">", [("name", .string("is_null"))])
        let condition = builder.value("kiln_mid.truth", [isNull], "i1")
        let next = IRBlock(), keep = IRBlock()
        try inBranch(next) { try lazyCoalesce(op, from: index + 1) }
        inBranch(keep) { value }
        return builder.add("scf.if", [condition], [Self.midType(op.result.type)], regions: [.single(next), .single(keep)]).result
    }
}
