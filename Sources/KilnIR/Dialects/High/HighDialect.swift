/// The high-level dialect `kiln_high`: a pipeline as a data-flow graph of tuple streams and
/// column streams. No loops, no memory: `scan` produces a stream, `field` a column stream of
/// it, `op` computes column streams from column streams, `filter`/`project`/`limit` transform
/// streams, and a sink ends the pipeline. MLIR's verifier (from this IRDL) rejects, e.g., a sink
/// fed a column instead of a stream.
public enum HighDialect {
    public static let name = "kiln_high"
    public static let irdl = """
    irdl.dialect @kiln_high {
      irdl.type @ctx {}
      irdl.type @stream {}
      irdl.type @column {}
      irdl.operation @scan {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @series {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @single_row {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @hash_agg_source {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @hash_join_entries {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @sort_source {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c)
        irdl.results(out: %s)
      }
      irdl.operation @field {
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.base @kiln_high::@column
        irdl.operands(input: %s)
        irdl.results(out: %v)
      }
      irdl.operation @param {
        %c = irdl.parametric @kiln_high::@ctx<>
        %v = irdl.base @kiln_high::@column
        irdl.operands(ctx: %c)
        irdl.results(out: %v)
      }
      irdl.operation @op {
        %a = irdl.any
        %v = irdl.base @kiln_high::@column
        irdl.operands(args: variadic %a)
        irdl.results(out: %v)
      }
      irdl.operation @filter {
        %s = irdl.parametric @kiln_high::@stream<>
        %b = irdl.base @kiln_high::@column
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(input: %s, predicate: %b)
        irdl.results(out: %o)
      }
      irdl.operation @project {
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.any
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(input: %s, columns: variadic %v)
        irdl.results(out: %o)
      }
      irdl.operation @limit {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c, input: %s)
        irdl.results(out: %o)
      }
      irdl.operation @hash_agg_sink {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.any
        %d = irdl.is i1
        irdl.operands(ctx: %c, input: %s, values: variadic %v)
        irdl.results(done: %d)
      }
      irdl.operation @hash_join_probe {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.any
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c, input: %s, keys: variadic %v)
        irdl.results(out: %o)
      }
      irdl.operation @series_expand {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.base @kiln_high::@column
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(ctx: %c, input: %s, start: %v, stop: %v, step: %v)
        irdl.results(out: %o)
      }
      irdl.operation @join_residual {
        %s = irdl.parametric @kiln_high::@stream<>
        %b = irdl.base @kiln_high::@column
        %o = irdl.parametric @kiln_high::@stream<>
        irdl.operands(candidates: %s, condition: optional %b)
        irdl.results(out: %o)
      }
      irdl.operation @hash_join_sink {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %v = irdl.any
        %d = irdl.is i1
        irdl.operands(ctx: %c, input: %s, values: variadic %v)
        irdl.results(done: %d)
      }
      irdl.operation @join_mark_sink {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %b = irdl.base @kiln_high::@column
        %d = irdl.is i1
        irdl.operands(ctx: %c, candidates: %s, condition: optional %b)
        irdl.results(done: %d)
      }
      irdl.operation @sort_sink {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %d = irdl.is i1
        irdl.operands(ctx: %c, input: %s)
        irdl.results(done: %d)
      }
      irdl.operation @output_sink {
        %c = irdl.parametric @kiln_high::@ctx<>
        %s = irdl.parametric @kiln_high::@stream<>
        %d = irdl.is i1
        irdl.operands(ctx: %c, input: %s)
        irdl.results(done: %d)
      }
    }
    """
}

/// A `!kiln_high.stream` value (a tuple stream).
public struct HighStream {
    public let value: IRValue
    public init?(_ value: IRValue) {
        guard value.type == "!kiln_high.stream" else { return nil }
        self.value = value
    }
}

/// A `!kiln_high.column<"T">` value (a column stream of one SQL type).
public struct HighColumn {
    public let value: IRValue
    public init?(_ value: IRValue) {
        guard value.type.hasPrefix("!kiln_high.column<") else { return nil }
        self.value = value
    }
}

extension IRBuilder {
    /// `kiln_high.series_expand`: each row of `input` once per value of `generate_series(start,
    /// stop, step)` over its columns, the value (of IR type `valueType`, e.g. `int4?`)
    /// appended; cursor state `state`. With `preserve`, the stream goes on to a
    /// `join_residual` that closes it (a row without a counting value once, its value NULL).
    public func seriesExpand(ctx: IRValue, _ input: HighStream, start: HighColumn, stop: HighColumn, step: HighColumn, state: Int, valueType: String,
                             preserve: Bool) -> HighStream {
        precondition(ctx.type == "!kiln_high.ctx", "series_expand needs the pipeline context")
        return HighStream(value("kiln_high.series_expand", [ctx, input.value, start.value, stop.value, step.value], "!kiln_high.stream", [
            ("state", .integer(Int64(state), type: "i64")), ("value_type", .string(valueType)), ("preserve", .integer(preserve ? 1 : 0, type: "i64")),
        ]))!
    }
}
