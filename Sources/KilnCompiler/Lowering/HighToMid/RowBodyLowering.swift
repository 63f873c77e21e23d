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
        /// A LATERAL series' output: the input stream's columns, then the series value.
        indirect case appended(base: Stream, value: IRValue)

        var width: Int {
            switch self {
            case .source(let types): return types.count
            case .projected(let columns): return columns.count
            case .joined(let base, _, let buildTypes, _, _): return base.width + buildTypes.count
            case .appended(let base, _): return base.width + 1
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
    /// LEFT JOIN LATERAL series loops waiting for their `join_residual`, by candidate stream.
    var openSeries: [ObjectIdentifier: OpenSeries] = [:]

    /// A LATERAL series loop's body block arguments: whether a row was emitted so far, and
    /// whether the cursor has a value (false: the NULL row of a LEFT JOIN LATERAL).
    struct OpenSeries {
        let emitted: IRValue
        let more: IRValue
    }

    struct OpenProbe {
        let before: IRBlock
        let after: IRBlock
        /// The bucket's first entry, the candidate entry and its key match.
        let first: IRValue
        var entry: IRValue
        var match: IRValue
        /// 1 LEFT, 2 semi, 3 anti.
        let mode: Int
        let base: Stream
        /// The builder of the block around the walk.
        let outer: IRBuilder
        /// LEFT: whether the candidate is a chain entry (else the NULL entry), and that entry.
        var isEntry: IRValue?
        var nullEntry: IRValue?
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
        case .appended(let base, let value): return index < base.width ? try column(index, of: base) : value
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
    ///
    /// LEFT, semi and anti joins leave the walk open: their `join_residual` computes the
    /// residual condition per candidate inside it and then closes it (`closeProbe`).
    func nestJoin(_ op: IROperation) throws {
        let keys = try op.operands.dropFirst(2).map { try materialize($0) }
        let buildTypes = (op.attribute("build_types")?.arrayValue ?? []).compactMap(\.stringValue)
        let layout = RecordLayout(types: keys.map { MidToLow.sqlType($0.type).0 } + buildTypes.map { parseSQLTypeParameter($0[...]).0 })
        let state = op.attribute("state") ?? .integer(0, type: "i64")
        let lookup = builder.add("kiln_mid.join_lookup", [ctx] + keys, ["!kiln_mid.entry", "i64"], [("state", state)])
        let keyOffsets = (0..<keys.count).map { IRAttribute.integer(Int64(layout.offsets[$0]), type: "i64") }
        guard let input = streams[ObjectIdentifier(op.operands[1])] else { throw failure("unknown stream") }
        let mode = op.integer("join_mode") ?? 0
        func match(_ entry: IRValue, _ b: IRBuilder) -> IRValue {
            b.value("kiln_mid.join_match", [entry, lookup.results[1]] + keys, "i1", [("state", state), ("offsets", .array(keyOffsets))])
        }
        func constant(_ value: Int64, _ b: IRBuilder) -> IRValue { b.value("arith.constant", [], "i1", [("value", .integer(value, type: "i1"))]) }
        // A walk stops at a cancel, an error (on any worker of a parallel pipeline: they
        // share the main context's error flag through the dispatcher, and their own) or a
        // reached LIMIT, so that a cancel does not wait for a whole morsel times the matches:
        // a cross product, a non-equality correlation, or one key that matches millions.
        func walking(_ valid: IRValue, _ b: IRBuilder) -> IRValue {
            b.value("arith.andi", [valid, b.value("kiln_mid.keep_going", [ctx], "i1")], "i1")
        }
        if mode == 0 {
            let before = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry")])
            let b = IRBuilder(before)
            let valid = walking(b.value("kiln_mid.entry_valid", [before.arguments[0]], "i1"), b)
            b.add("scf.condition", [valid, before.arguments[0]])
            let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry")])
            let entry = after.arguments[0]
            let a = IRBuilder(after)
            let inner = IRBlock()
            a.add("scf.if", [match(entry, a)], [], regions: [.single(inner), IRRegion()])
            a.add("scf.yield", [a.value("kiln_mid.entry_next", [entry], "!kiln_mid.entry")])
            builder.add("scf.while", [lookup.results[0]], ["!kiln_mid.entry"], regions: [.single(before), .single(after)])
            openBlocks.append(inner)
            builder = IRBuilder(inner)
            scopes.append([:])
            streams[ObjectIdentifier(op.result)] = .joined(base: input, entry: entry, buildTypes: buildTypes, keyCount: keys.count, layout: layout)
            return
        }
        // The walk carries (entry, flag): LEFT: a candidate was emitted; semi/anti: one met the condition.
        let before = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
        let b = IRBuilder(before)
        let (current, flag) = (before.arguments[0], before.arguments[1])
        let valid = b.value("kiln_mid.entry_valid", [current], "i1")
        let unflagged = b.value("arith.xori", [flag, constant(1, b)], "i1")
        // LEFT: go on while entries remain, or once more (the NULL entry) if none matched.
        // Semi/anti: go on while entries remain and none met the condition. Mark: every entry.
        let proceed = walking(mode == 4 ? valid : b.value(mode == 1 ? "arith.ori" : "arith.andi", [valid, unflagged], "i1"), b)
        b.add("scf.condition", [proceed, current, flag])
        let after = IRBlock(arguments: [IRValue(type: "!kiln_mid.entry"), IRValue(type: "i1")])
        let a = IRBuilder(after)
        var probe = OpenProbe(before: before, after: after, first: lookup.results[0], entry: after.arguments[0], match: IRValue(type: "i1"),
                              mode: mode, base: input, outer: builder, isEntry: nil, nullEntry: nil)
        if mode == 1 {
            let nullEntry = top.value("kiln_mid.join_null_entry", [ctx], "!kiln_mid.entry", [("state", state)])
            let isEntry = a.value("kiln_mid.entry_valid", [after.arguments[0]], "i1")
            probe.entry = a.value("arith.select", [isEntry, after.arguments[0], nullEntry], "!kiln_mid.entry")
            probe.isEntry = isEntry
            probe.nullEntry = nullEntry
        }
        probe.match = match(probe.entry, a)
        openProbes[ObjectIdentifier(op.result)] = probe
        builder = a
        scopes.append([:])
        streams[ObjectIdentifier(op.result)] = .joined(base: input, entry: probe.entry, buildTypes: buildTypes, keyCount: keys.count, layout: layout)
    }

    /// Closes an open chain walk. A candidate counts when its keys match and the residual
    /// condition (computed only then) is true. LEFT: the row body continues per counting
    /// candidate inside the walk, or once with the NULL entry if none counted; semi / anti:
    /// after the walk, inside `scf.if found` / `scf.if !found`, with the probe's columns.
    func closeProbe(_ op: IROperation) throws {
        guard let probe = openProbes.removeValue(forKey: ObjectIdentifier(op.operands[0])) else {
            throw failure("join_residual without its join probe")
        }
        func constant(_ value: Int64) -> IRValue { constantBool(value) }
        var hit = probe.match
        if let isEntry = probe.isEntry { hit = builder.value("arith.andi", [isEntry, hit], "i1") }
        if op.operands.count > 1 { hit = try meeting(op.operands[1], when: hit) }
        if let isEntry = probe.isEntry, let nullEntry = probe.nullEntry {
            // LEFT: emit each counting candidate, or the NULL entry (reached only unmatched).
            let emit = builder.value("arith.select", [isEntry, hit, constant(1)], "i1")
            let inner = IRBlock()
            builder.add("scf.if", [emit], [], regions: [.single(inner), IRRegion()])
            let next = builder.value("kiln_mid.entry_next", [probe.entry], "!kiln_mid.entry")
            let none = builder.value("kiln_mid.entry_next", [nullEntry], "!kiln_mid.entry")
            let following = builder.value("arith.select", [isEntry, next, none], "!kiln_mid.entry")
            let seen = builder.value("arith.ori", [probe.after.arguments[1], emit], "i1")
            builder.add("scf.yield", [following, seen])
            scopes.removeLast()
            builder = probe.outer
            builder.add("scf.while", [probe.first, constant(0)], ["!kiln_mid.entry", "i1"], regions: [.single(probe.before), .single(probe.after)])
            openBlocks.append(inner)
            builder = IRBuilder(inner)
            scopes.append([:])
            streams[ObjectIdentifier(op.result)] = streams[ObjectIdentifier(op.operands[0])]
            return
        }
        let next = builder.value("kiln_mid.entry_next", [probe.entry], "!kiln_mid.entry")
        builder.add("scf.yield", [next, hit])
        scopes.removeLast()
        builder = probe.outer
        let loop = builder.add("scf.while", [probe.first, constant(0)], ["!kiln_mid.entry", "i1"], regions: [.single(probe.before), .single(probe.after)])
        var emit = loop.results[1]
        if probe.mode == 3 { emit = builder.value("arith.xori", [emit, constant(1)], "i1") }
        nest(emit)
        streams[ObjectIdentifier(op.result)] = probe.base
    }

    /// Continues the row body once per value of a LATERAL series: `series_begin` with the
    /// row's bounds, then an `scf.while` stepping the cursor, carrying (emitted, finished).
    /// A LEFT JOIN LATERAL's loop runs once more past the last value, for the NULL row, when
    /// no value counted; it stays open for its `join_residual` (`closeSeries`).
    func nestSeries(_ op: IROperation) throws {
        guard let input = streams[ObjectIdentifier(op.operands[1])] else { throw failure("unknown stream") }
        var bounds: [MidValue] = []
        for operand in op.operands.dropFirst(2) {
            guard let bound = MidValue(try materialize(operand)) else { throw failure("series bound is not a value") }
            bounds.append(bound)
        }
        guard bounds.count == 3 else { throw failure("series_expand needs start, stop and step") }
        let state = op.integer("state") ?? 0
        let preserve = op.integer("preserve") == 1
        builder.seriesBegin(ctx: ctx, start: bounds[0], stop: bounds[1], step: bounds[2], state: state)
        let before = IRBlock(arguments: [IRValue(type: "i1"), IRValue(type: "i1")])
        let b = IRBuilder(before)
        let (emitted, finished) = (before.arguments[0], before.arguments[1])
        let valueType = op.string("value_type") ?? "int4"
        let more = b.seriesNext(ctx: ctx, state: state, inline: !valueType.hasPrefix("timestamp"))
        var proceed = more
        if preserve {
            let one = b.value("arith.constant", [], "i1", [("value", .integer(1, type: "i1"))])
            let unemitted = b.value("arith.xori", [emitted, one], "i1")
            let unfinished = b.value("arith.xori", [finished, one], "i1")
            proceed = b.value("arith.andi", [unfinished, b.value("arith.ori", [more, unemitted], "i1")], "i1")
        }
        // A cancel, an error or a reached LIMIT ends the series, as it ends a join's walk.
        proceed = b.value("arith.andi", [proceed, b.value("kiln_mid.keep_going", [ctx], "i1")], "i1")
        b.add("scf.condition", [proceed, emitted, more])
        let after = IRBlock(arguments: [IRValue(type: "i1"), IRValue(type: "i1")])
        builder.add("scf.while", [constantBool(0), constantBool(0)], ["i1", "i1"], regions: [.single(before), .single(after)])
        builder = IRBuilder(after)
        scopes.append([:])
        let value = builder.seriesValue(ctx: ctx, state: state, valueType: valueType).value
        streams[ObjectIdentifier(op.result)] = .appended(base: input, value: value)
        let series = OpenSeries(emitted: after.arguments[0], more: after.arguments[1])
        if preserve { openSeries[ObjectIdentifier(op.result)] = series } else { emitSeriesRow(series, emit: series.more) }
    }

    /// In a series loop's body: the rest of the row body inside `scf.if emit`, then the loop's
    /// `scf.yield` of (emitted, finished).
    func emitSeriesRow(_ series: OpenSeries, emit: IRValue) {
        let inner = IRBlock()
        builder.add("scf.if", [emit], [], regions: [.single(inner), IRRegion()])
        let emitted = builder.value("arith.ori", [series.emitted, emit], "i1")
        let finished = builder.value("arith.xori", [series.more, constantBool(1)], "i1")
        builder.add("scf.yield", [emitted, finished])
        openBlocks.append(inner)
        builder = IRBuilder(inner)
        scopes.append([:])
    }

    /// Closes a LEFT JOIN LATERAL series loop: a value counts when the ON condition (computed
    /// only for a value) holds; the NULL row past the last value is reached only when none did.
    func closeSeries(_ op: IROperation) throws {
        guard let series = openSeries.removeValue(forKey: ObjectIdentifier(op.operands[0])) else {
            throw failure("join_residual without its series")
        }
        var hit = series.more
        if op.operands.count > 1 { hit = try meeting(op.operands[1], when: hit) }
        emitSeriesRow(series, emit: builder.value("arith.select", [series.more, hit, constantBool(1)], "i1"))
        streams[ObjectIdentifier(op.result)] = streams[ObjectIdentifier(op.operands[0])]
    }

    /// Closes a mark probe's chain walk: a candidate whose keys match, whose entry is not yet
    /// marked and whose residual condition (computed only then) is true marks its entry (the
    /// mark is the entry's last column).
    func closeMark(_ op: IROperation) throws {
        guard let probe = openProbes.removeValue(forKey: ObjectIdentifier(op.operands[1])),
              case .joined(_, let entry, let buildTypes, let keyCount, let layout)? = streams[ObjectIdentifier(op.operands[1])] else {
            throw failure("join_mark_sink without its join probe")
        }
        let column = keyCount + buildTypes.count - 1
        let attributes: [(String, IRAttribute)] = [("column", .integer(Int64(column), type: "i64")), ("offset", .integer(Int64(layout.offsets[column]), type: "i64"))]
        let marked = builder.value("kiln_mid.entry_field", [entry], "!kiln_mid.val<\"bool\">", attributes)
        let unmarked = builder.value("arith.xori", [builder.value("kiln_mid.truth", [marked], "i1"), constantBool(1)], "i1")
        var hit = builder.value("arith.andi", [probe.match, unmarked], "i1")
        if op.operands.count > 2 { hit = try meeting(op.operands[2], when: hit) }
        let mark = IRBlock()
        IRBuilder(mark).add("kiln_mid.entry_mark", [entry], [], attributes)
        IRBuilder(mark).add("scf.yield")
        builder.add("scf.if", [hit], [], regions: [.single(mark), IRRegion()])
        let next = builder.value("kiln_mid.entry_next", [entry], "!kiln_mid.entry")
        builder.add("scf.yield", [next, hit])
        scopes.removeLast()
        builder = probe.outer
        builder.add("scf.while", [probe.first, constantBool(0)], ["!kiln_mid.entry", "i1"], regions: [.single(probe.before), .single(probe.after)])
    }

    /// `hit && condition`, the residual `condition` computed only when `hit` (inside `scf.if`).
    func meeting(_ condition: IRValue, when hit: IRValue) throws -> IRValue {
        let taken = IRBlock(), skipped = IRBlock()
        try inBranch(taken) { builder.value("kiln_mid.truth", [try materialize(condition)], "i1") }
        let no = IRBuilder(skipped).value("arith.constant", [], "i1", [("value", .integer(0, type: "i1"))])
        IRBuilder(skipped).add("scf.yield", [no])
        return builder.add("scf.if", [hit], ["i1"], regions: [.single(taken), .single(skipped)]).result
    }

    func constantBool(_ value: Int64) -> IRValue {
        builder.value("arith.constant", [], "i1", [("value", .integer(value, type: "i1"))])
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
