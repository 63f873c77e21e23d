import KilnCore
import KilnIR
import KilnPlanner
import KilnRuntime

extension MidToLow {
    /// Hash-join state ops: inserting build rows, looking up a bucket, walking its chain,
    /// comparing keys and reading build fields, all inline over `HashTableLayout`.
    mutating func lowerJoin(_ op: IROperation, _ l: LowBuilder) throws {
        let ctx = l.ctx
        let offsets = (op.attribute("offsets")?.arrayValue ?? []).compactMap { $0.integerValue.map(Int.init) }
        switch op.name {
        case "kiln_mid.join_insert":
            let state = Int64(op.integer("state") ?? 0)
            let keyCount = op.integer("keys") ?? 0
            let values = try op.operands.dropFirst().map(lowered)
            let types = op.operands.dropFirst().map { MidToLow.sqlType($0.type).0 }
            // A row with a NULL key can never match an equality: it stays out of the table.
            let nulls = values.prefix(keyCount).compactMap(\.null)
            let body = IRBlock()
            let b = LowBuilder(b: IRBuilder(body), ctx: ctx)
            let hash = keyHash(Array(values.prefix(keyCount)).map { LowValue(value: $0.value, null: nil) }, Array(types.prefix(keyCount)), b)
            let entry = joinEntry(state: state, size: RecordLayout(types: types).size, b)
            b.store(hash, entry, offset: HashTableLayout.entryHash)
            let record = b.gep(entry, HashTableLayout.entryRecord)
            for (index, value) in values.enumerated() {
                if let null = value.null { b.store(b.nullByte(null), record, offset: index) }
                b.storeValue(value.value, b.gep(record, offsets[index]), types[index])
            }
            b.b.add("scf.yield")
            if nulls.isEmpty {
                l.b.add("scf.if", [l.bool(true)], [], regions: [.single(body), IRRegion()])
            } else {
                var anyNull = nulls[0]
                for n in nulls.dropFirst() { anyNull = l.or(anyNull, n) }
                l.b.add("scf.if", [l.not(anyNull)], [], regions: [.single(body), IRRegion()])
            }
        case "kiln_mid.join_lookup":
            let state = Int64(op.integer("state") ?? 0)
            let keys = try op.operands.dropFirst().map(lowered)
            let types = op.operands.dropFirst().map { MidToLow.sqlType($0.type).0 }
            let header = perPipeline("header\(state)", l) { $0.call("kiln_rt_agg_header", [ctx, $0.int(state, "i64")], ["!llvm.ptr"]).result }
            let hash = keyHash(keys.map { LowValue(value: $0.value, null: nil) }, types, l)
            // The table is complete before any probe runs: its header's fields are pipeline constants.
            let mask = perPipeline("mask\(state)", l) { $0.load(header, offset: HashTableLayout.mask, "i64") }
            let slot = l.op("arith.andi", [hash, mask], "i64")
            // The slot's tag bit for this hash: clear means no entry can match, and the
            // directory (a likely cache miss) is not read.
            let tags = perPipeline("tags\(state)", l) { $0.load(header, offset: HashTableLayout.tags, "!llvm.ptr") }
            let word = l.op("arith.extui", [l.load(l.gep(tags, index: slot, elementType: "i16"), "i16")], "i64")
            let bit = l.op("arith.andi", [l.op("arith.shrui", [word, l.op("arith.shrui", [hash, l.int(60, "i64")], "i64")], "i64"), l.int(1, "i64")], "i64")
            var present = l.cmpi(1, bit, l.int(0, "i64"))
            let nulls = keys.compactMap(\.null)
            if !nulls.isEmpty {
                var anyNull = nulls[0]
                for n in nulls.dropFirst() { anyNull = l.or(anyNull, n) }
                present = l.and(present, l.not(anyNull))
            }
            let read = IRBlock(), skip = IRBlock()
            let r = LowBuilder(b: IRBuilder(read), ctx: ctx)
            let directory = perPipeline("directory\(state)", r) { $0.load(header, offset: HashTableLayout.directory, "!llvm.ptr") }
            r.b.add("scf.yield", [r.load(r.gep(directory, index: slot, elementType: "!llvm.ptr"), "!llvm.ptr")])
            let none = LowBuilder(b: IRBuilder(skip), ctx: ctx)
            none.b.add("scf.yield", [none.op("llvm.mlir.zero", [], "!llvm.ptr")])
            let first = l.b.add("scf.if", [present], ["!llvm.ptr"], regions: [.single(read), .single(skip)]).result
            values[op.results[0]] = LowValue(value: first, null: nil)
            values[op.results[1]] = LowValue(value: hash, null: nil)
        case "kiln_mid.join_null_entry":
            let state = Int64(op.integer("state") ?? 0)
            let entry = l.call("kiln_rt_join_null_entry", [ctx, l.int(state, "i64")], ["!llvm.ptr"]).result
            values[op.result] = LowValue(value: entry, null: nil)
        case "kiln_mid.entry_valid":
            let entry = try lowered(op.operands[0]).value
            let valid = l.b.add("llvm.icmp", [entry, l.op("llvm.mlir.zero", [], "!llvm.ptr")], ["i1"], [("predicate", .integer(1, type: "i64"))]).result
            values[op.result] = LowValue(value: valid, null: nil)
        case "kiln_mid.entry_next":
            let entry = try lowered(op.operands[0]).value
            values[op.result] = LowValue(value: l.load(entry, offset: HashTableLayout.entryNext, "!llvm.ptr"), null: nil)
        case "kiln_mid.join_match":
            let entry = try lowered(op.operands[0]).value
            let hash = try lowered(op.operands[1]).value
            let keys = try op.operands.dropFirst(2).map(lowered)
            let types = op.operands.dropFirst(2).map { MidToLow.sqlType($0.type).0 }
            var matches = l.cmpi(0, l.load(entry, offset: HashTableLayout.entryHash, "i64"), hash)
            let record = l.gep(entry, HashTableLayout.entryRecord)
            for (index, key) in keys.enumerated() {
                let stored = l.loadValue(l.gep(record, offsets[index]), types[index])
                let equal: IRValue
                if types[index].isFloat { equal = l.floatCompare("eq", key.value, stored) }
                else if types[index].physical == .string { equal = l.b.add("kiln_low.str_eq", [key.value, stored], ["i1"]).result }
                else if types[index] == .dynamicNumeric { equal = l.cmpi(0, packedKey(key.value, l), packedKey(stored, l)) }
                else { equal = l.cmpi(0, key.value, stored) }
                matches = l.and(matches, equal)
            }
            values[op.result] = LowValue(value: matches, null: nil)
        case "kiln_mid.entry_mark":
            // The mark is a non-NULL boolean: its null byte stays 0, its value becomes 1.
            let entry = try lowered(op.operands[0]).value
            l.store(l.int(1, "i8"), l.gep(entry, HashTableLayout.entryRecord), offset: op.integer("offset") ?? 0)
        default:  // kiln_mid.entry_field
            let entry = try lowered(op.operands[0]).value
            let (type, nullable) = MidToLow.sqlType(op.result.type)
            let record = l.gep(entry, HashTableLayout.entryRecord)
            let value = l.loadValue(l.gep(record, op.integer("offset") ?? 0), type)
            let column = op.integer("column") ?? 0
            let null = nullable ? l.fromMemory(l.load(record, offset: column, "i8"), physical: .bool) : nil
            values[op.result] = LowValue(value: value, null: null)
        }
    }

    /// A new entry of join table `state` (zeroed; `size`: record bytes): the one at the
    /// header's cursor, which moves on, or from `kiln_rt_join_grow` when the chunk is full.
    mutating func joinEntry(state: Int64, size: Int, _ l: LowBuilder) -> IRValue {
        let header = perPipeline("header\(state)", l) { $0.call("kiln_rt_agg_header", [l.ctx, $0.int(state, "i64")], ["!llvm.ptr"]).result }
        let cursorAddress = l.gep(header, HashTableLayout.cursor), remainingAddress = l.gep(header, HashTableLayout.remaining)
        let remaining = l.load(remainingAddress, "i64")
        let fits = l.cmpi(4, remaining, l.int(0, "i64"))
        let take = IRBlock(), grow = IRBlock()
        let t = LowBuilder(b: IRBuilder(take), ctx: l.ctx)
        let cursor = t.load(cursorAddress, "!llvm.ptr")
        t.store(t.gep(cursor, HashTableLayout.entrySize(recordSize: size)), cursorAddress)
        t.store(t.op("arith.subi", [remaining, t.int(1, "i64")], "i64"), remainingAddress)
        t.b.add("scf.yield", [cursor])
        let g = LowBuilder(b: IRBuilder(grow), ctx: l.ctx)
        g.b.add("scf.yield", [g.call("kiln_rt_join_grow", [l.ctx, g.int(state, "i64")], ["!llvm.ptr"]).result])
        return l.b.add("scf.if", [fits], ["!llvm.ptr"], regions: [.single(take), .single(grow)]).result
    }

    /// The hash of a key tuple (the same code on the build and the probe side).
    mutating func keyHash(_ keys: [LowValue], _ types: [SQLType], _ l: LowBuilder) -> IRValue {
        var hash = l.int(0x2545_F491, "i64")
        for (v, type) in zip(keys, types) {
            var h: IRValue
            if type.physical == .string {
                h = l.b.add("kiln_low.str_hash", [v.value], ["i64"]).result
            } else if type == .dynamicNumeric {
                h = l.b.add("kiln_low.hash", [packedKey(v.value, l)], ["i64"]).result
            } else {
                h = l.b.add("kiln_low.hash", [v.value], ["i64"]).result
            }
            if let null = v.null { h = l.select(null, l.int(0x7F4A_7C15, "i64"), h) }
            let mixed = l.op("arith.muli", [hash, l.int(Int64(bitPattern: 0x9e37_79b9_7f4a_7c15), "i64")], "i64")
            hash = l.op("arith.xori", [mixed, h], "i64")
        }
        return hash
    }
}
