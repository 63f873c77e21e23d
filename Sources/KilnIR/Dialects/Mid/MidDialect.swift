/// The mid-level dialect `kiln_mid`: explicit loops (upstream `scf`) over batches from cursors,
/// per-row values, and operator state ops (hash-aggregate update, sort append, output append,
/// limit step). Values are still SQL-typed (`!kiln_mid.val<"int4?">`, `?` = nullable); the
/// low-level lowering specialises them by type.
public enum MidDialect {
    public static let name = "kiln_mid"
    public static let irdl = """
    irdl.dialect @kiln_mid {
      irdl.type @ctx {}
      irdl.type @cursor {}
      irdl.type @batch {}
      irdl.type @val {}
      irdl.type @entry {}
      irdl.operation @open {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %r = irdl.parametric @kiln_mid::@cursor<>
        irdl.operands(ctx: %c)
        irdl.results(cursor: %r)
      }
      irdl.operation @next {
        %r = irdl.parametric @kiln_mid::@cursor<>
        %b = irdl.parametric @kiln_mid::@batch<>
        irdl.operands(cursor: %r)
        irdl.results(batch: %b)
      }
      irdl.operation @visible {
        %r = irdl.parametric @kiln_mid::@cursor<>
        %b = irdl.parametric @kiln_mid::@batch<>
        irdl.operands(cursor: %r, batch: %b)
        irdl.results(visible: %b)
      }
      irdl.operation @batch_size {
        %b = irdl.parametric @kiln_mid::@batch<>
        %n = irdl.is index
        irdl.operands(batch: %b)
        irdl.results(count: %n)
      }
      irdl.operation @load {
        %b = irdl.parametric @kiln_mid::@batch<>
        %i = irdl.is index
        %v = irdl.base @kiln_mid::@val
        irdl.operands(batch: %b, row: %i)
        irdl.results(out: %v)
      }
      irdl.operation @param {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.base @kiln_mid::@val
        irdl.operands(ctx: %c)
        irdl.results(out: %v)
      }
      irdl.operation @op {
        %a = irdl.any
        %v = irdl.base @kiln_mid::@val
        irdl.operands(args: variadic %a)
        irdl.results(out: %v)
      }
      irdl.operation @truth {
        %b = irdl.base @kiln_mid::@val
        %r = irdl.is i1
        irdl.operands(value: %b)
        irdl.results(out: %r)
      }
      irdl.operation @keep_going {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %r = irdl.is i1
        irdl.operands(ctx: %c)
        irdl.results(out: %r)
      }
      irdl.operation @limit_step {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %r = irdl.is i1
        irdl.operands(ctx: %c)
        irdl.results(emit: %r)
      }
      irdl.operation @hash_agg_update {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.any
        irdl.operands(ctx: %c, values: variadic %v)
        irdl.results()
      }
      irdl.operation @join_insert {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.any
        irdl.operands(ctx: %c, values: variadic %v)
        irdl.results()
      }
      irdl.operation @join_lookup {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.any
        %e = irdl.parametric @kiln_mid::@entry<>
        %h = irdl.is i64
        irdl.operands(ctx: %c, keys: variadic %v)
        irdl.results(first: %e, hash: %h)
      }
      irdl.operation @join_null_entry {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %e = irdl.parametric @kiln_mid::@entry<>
        irdl.operands(ctx: %c)
        irdl.results(entry: %e)
      }
      irdl.operation @entry_valid {
        %e = irdl.parametric @kiln_mid::@entry<>
        %b = irdl.is i1
        irdl.operands(entry: %e)
        irdl.results(valid: %b)
      }
      irdl.operation @join_match {
        %e = irdl.parametric @kiln_mid::@entry<>
        %h = irdl.is i64
        %v = irdl.any
        %b = irdl.is i1
        irdl.operands(entry: %e, hash: %h, keys: variadic %v)
        irdl.results(match: %b)
      }
      irdl.operation @entry_next {
        %e = irdl.parametric @kiln_mid::@entry<>
        %n = irdl.parametric @kiln_mid::@entry<>
        irdl.operands(entry: %e)
        irdl.results(next: %n)
      }
      irdl.operation @entry_field {
        %e = irdl.parametric @kiln_mid::@entry<>
        %v = irdl.base @kiln_mid::@val
        irdl.operands(entry: %e)
        irdl.results(out: %v)
      }
      irdl.operation @entry_mark {
        %e = irdl.parametric @kiln_mid::@entry<>
        irdl.operands(entry: %e)
        irdl.results()
      }
      irdl.operation @sort_append {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.any
        irdl.operands(ctx: %c, values: variadic %v)
        irdl.results()
      }
      irdl.operation @output_append {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.any
        irdl.operands(ctx: %c, values: variadic %v)
        irdl.results()
      }
      irdl.operation @series_begin {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.base @kiln_mid::@val
        irdl.operands(ctx: %c, start: %v, stop: %v, step: %v)
        irdl.results()
      }
      irdl.operation @series_next {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %r = irdl.is i1
        irdl.operands(ctx: %c)
        irdl.results(more: %r)
      }
      irdl.operation @series_value {
        %c = irdl.parametric @kiln_mid::@ctx<>
        %v = irdl.base @kiln_mid::@val
        irdl.operands(ctx: %c)
        irdl.results(out: %v)
      }
      irdl.operation @finish {
        %c = irdl.parametric @kiln_mid::@ctx<>
        irdl.operands(ctx: %c)
        irdl.results()
      }
    }
    """
}

/// A `!kiln_mid.cursor` value (a source's handle).
public struct MidCursor {
    public let value: IRValue
    public init?(_ value: IRValue) {
        guard value.type == "!kiln_mid.cursor" else { return nil }
        self.value = value
    }
}

/// A `!kiln_mid.batch` value (one morsel of a source).
public struct MidBatch {
    public let value: IRValue
    public init?(_ value: IRValue) {
        guard value.type == "!kiln_mid.batch" else { return nil }
        self.value = value
    }
}

extension IRBuilder {
    /// `kiln_mid.visible`: the rows of a table scan's batch that the statement's snapshot sees
    /// (MVCC). A batch without delete markers is itself; otherwise the runtime compacts it.
    public func visible(_ cursor: MidCursor, _ batch: MidBatch) -> MidBatch {
        MidBatch(value("kiln_mid.visible", [cursor.value, batch.value], "!kiln_mid.batch"))!
    }
}

/// A `!kiln_mid.val<"T">` value (a per-row SQL value; `T?` when it may be NULL).
public struct MidValue {
    public let value: IRValue
    public init?(_ value: IRValue) {
        guard value.type.hasPrefix("!kiln_mid.val<") else { return nil }
        self.value = value
    }
}

extension IRBuilder {
    /// `kiln_mid.series_begin`: restarts LATERAL series cursor `state` at these bounds.
    public func seriesBegin(ctx: IRValue, start: MidValue, stop: MidValue, step: MidValue, state: Int) {
        precondition(ctx.type == "!kiln_mid.ctx", "series_begin needs the pipeline context")
        add("kiln_mid.series_begin", [ctx, start.value, stop.value, step.value], [], [("state", .integer(Int64(state), type: "i64"))])
    }

    /// `kiln_mid.series_next`: steps cursor `state`; whether it has another value. `inline`:
    /// an integer series, stepped without a runtime call.
    public func seriesNext(ctx: IRValue, state: Int, inline: Bool) -> IRValue {
        precondition(ctx.type == "!kiln_mid.ctx", "series_next needs the pipeline context")
        return value("kiln_mid.series_next", [ctx], "i1", [("state", .integer(Int64(state), type: "i64")), ("inline", .integer(inline ? 1 : 0, type: "i64"))])
    }

    /// `kiln_mid.series_value`: cursor `state`'s value, of SQL type `valueType` (`int4`, or
    /// `int4?` when it is NULL past the last value: a LEFT JOIN LATERAL's NULL row).
    public func seriesValue(ctx: IRValue, state: Int, valueType: String) -> MidValue {
        precondition(ctx.type == "!kiln_mid.ctx", "series_value needs the pipeline context")
        return MidValue(value("kiln_mid.series_value", [ctx], "!kiln_mid.val<\"\(valueType)\">", [("state", .integer(Int64(state), type: "i64"))]))!
    }
}
