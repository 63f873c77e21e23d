import KilnCore
import KilnStorage

/// The C entry points compiled code calls. Each one resolves the `QueryRuntime` from the
/// request context and forwards; the JIT registers their addresses by name.

@_cdecl("kiln_rt_open")
public func kiln_rt_open(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.from(context).open(Int(state))
}

@_cdecl("kiln_rt_next")
public func kiln_rt_next(_ cursor: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    QueryRuntime.next(cursor)
}

/// The slow path of `kiln_mid.visible`: the batch a table scan's cursor just gave has delete
/// markers; returns the batch of the rows the statement's snapshot sees.
@_cdecl("kiln_rt_visible")
public func kiln_rt_visible(_ cursor: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    // safe because a table scan's cursor is its state, which the runtime keeps alive.
    guard let scan = Unmanaged<RuntimeState>.fromOpaque(cursor).takeUnretainedValue() as? TableScanState else {
        fatalError("kiln_rt_visible on a cursor that is not a table scan")
    }
    return scan.visible()
}

@_cdecl("kiln_rt_finish")
public func kiln_rt_finish(_ context: UnsafeMutableRawPointer, _ state: Int64) {
    QueryRuntime.from(context).finish(Int(state))
}

@_cdecl("kiln_rt_agg_scratch")
public func kiln_rt_agg_scratch(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.from(context).aggregateScratch(Int(state))
}

@_cdecl("kiln_rt_agg_find")
public func kiln_rt_agg_find(_ context: UnsafeMutableRawPointer, _ state: Int64, _ hash: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.with(context) { $0.aggregateFind(Int(state), hash: UInt64(bitPattern: hash)) }
}

@_cdecl("kiln_rt_agg_header")
public func kiln_rt_agg_header(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.from(context).aggregateHeader(Int(state))
}

@_cdecl("kiln_rt_agg_insert")
public func kiln_rt_agg_insert(_ context: UnsafeMutableRawPointer, _ state: Int64, _ hash: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.with(context) { $0.aggregateInsert(Int(state), hash: UInt64(bitPattern: hash)) }
}

/// A join build's current chunk is full: a new one, and its first entry (compiled code takes
/// the others from the table header's cursor).
@_cdecl("kiln_rt_join_grow")
public func kiln_rt_join_grow(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.with(context) { $0.joinGrow(Int(state)) }
}

@_cdecl("kiln_rt_join_null_entry")
public func kiln_rt_join_null_entry(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.from(context).joinNullEntry(Int(state))
}

@_cdecl("kiln_rt_append")
public func kiln_rt_append(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.with(context) { $0.append(Int(state)) }
}

@_cdecl("kiln_rt_series_begin")
public func kiln_rt_series_begin(_ context: UnsafeMutableRawPointer, _ state: Int64) {
    QueryRuntime.with(context) { $0.seriesBegin(Int(state)) }
}

@_cdecl("kiln_rt_series_next")
public func kiln_rt_series_next(_ context: UnsafeMutableRawPointer, _ state: Int64) -> Int32 {
    QueryRuntime.with(context) { $0.seriesNext(Int(state)) ? 1 : 0 }
}

@_cdecl("kiln_rt_series_cursor")
public func kiln_rt_series_cursor(_ context: UnsafeMutableRawPointer, _ state: Int64) -> UnsafeMutableRawPointer {
    QueryRuntime.with(context) { $0.seriesCursor(Int(state)) }
}

@_cdecl("kiln_rt_limit_step")
public func kiln_rt_limit_step(_ context: UnsafeMutableRawPointer, _ state: Int64) -> Int32 {
    QueryRuntime.with(context) { $0.limitStep(Int(state)) ? 1 : 0 }
}

/// A 16-byte string (or a 128-bit integer) passed as two 64-bit halves.
@inline(__always)
func joined(_ low: Int64, _ high: Int64) -> Int128 {
    Int128(bitPattern: (UInt128(UInt64(bitPattern: high)) << 64) | UInt128(UInt64(bitPattern: low)))
}

@_cdecl("kiln_rt_like")
public func kiln_rt_like(_ context: UnsafeMutableRawPointer, _ slot: Int64, _ low: Int64, _ high: Int64) -> Int32 {
    return QueryRuntime.with(context) { $0.like(Int(slot), joined(low, high)) ? 1 : 0 }
}

@_cdecl("kiln_rt_in_list")
public func kiln_rt_in_list(_ context: UnsafeMutableRawPointer, _ key: Int64, _ low: Int64, _ high: Int64) -> Int32 {
    return QueryRuntime.with(context) { $0.inList(Int(key), low, high) }
}

@_cdecl("kiln_rt_raise")
public func kiln_rt_raise(_ context: UnsafeMutableRawPointer, _ code: Int32) {
    QueryRuntime.from(context).raise(QueryRuntime.inlineError(code))
}

@_cdecl("kiln_rt_call")
public func kiln_rt_call(_ context: UnsafeMutableRawPointer, _ function: Int64) {
    QueryRuntime.with(context) { $0.call(Int(function)) }
}

/// Name, address and MLIR signature of every runtime function compiled code may call.
public enum RuntimeSymbols {
    public static let signatures: [(name: String, arguments: [String], results: [String])] = [
        ("kiln_rt_open", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_next", ["!llvm.ptr"], ["!llvm.ptr"]),
        ("kiln_rt_visible", ["!llvm.ptr"], ["!llvm.ptr"]),
        ("kiln_rt_finish", ["!llvm.ptr", "i64"], []),
        ("kiln_rt_agg_scratch", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_agg_find", ["!llvm.ptr", "i64", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_agg_header", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_agg_insert", ["!llvm.ptr", "i64", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_join_grow", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_join_null_entry", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_append", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_limit_step", ["!llvm.ptr", "i64"], ["i32"]),
        ("kiln_rt_series_begin", ["!llvm.ptr", "i64"], []),
        ("kiln_rt_series_next", ["!llvm.ptr", "i64"], ["i32"]),
        ("kiln_rt_series_cursor", ["!llvm.ptr", "i64"], ["!llvm.ptr"]),
        ("kiln_rt_raise", ["!llvm.ptr", "i32"], []),
        ("kiln_rt_call", ["!llvm.ptr", "i64"], []),
        ("kiln_rt_like", ["!llvm.ptr", "i64", "i64", "i64"], ["i32"]),
        ("kiln_rt_in_list", ["!llvm.ptr", "i64", "i64", "i64"], ["i32"]),
    ]

    public static var addresses: [(String, UnsafeMutableRawPointer)] {
        typealias Open = @convention(c) (UnsafeMutableRawPointer, Int64) -> UnsafeMutableRawPointer
        typealias Next = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
        typealias Finish = @convention(c) (UnsafeMutableRawPointer, Int64) -> Void
        typealias Find = @convention(c) (UnsafeMutableRawPointer, Int64, Int64) -> UnsafeMutableRawPointer
        typealias Step = @convention(c) (UnsafeMutableRawPointer, Int64) -> Int32
        typealias Raise = @convention(c) (UnsafeMutableRawPointer, Int32) -> Void
        typealias Like = @convention(c) (UnsafeMutableRawPointer, Int64, Int64, Int64) -> Int32
        func address<T>(_ f: T) -> UnsafeMutableRawPointer { unsafeBitCast(f, to: UnsafeMutableRawPointer.self) }
        return [
            ("kiln_rt_open", address(kiln_rt_open as Open)),
            ("kiln_rt_next", address(kiln_rt_next as Next)),
            ("kiln_rt_visible", address(kiln_rt_visible as Next)),
            ("kiln_rt_finish", address(kiln_rt_finish as Finish)),
            ("kiln_rt_agg_scratch", address(kiln_rt_agg_scratch as Open)),
            ("kiln_rt_agg_find", address(kiln_rt_agg_find as Find)),
            ("kiln_rt_agg_header", address(kiln_rt_agg_header as Open)),
            ("kiln_rt_agg_insert", address(kiln_rt_agg_insert as Find)),
            ("kiln_rt_join_grow", address(kiln_rt_join_grow as Open)),
            ("kiln_rt_join_null_entry", address(kiln_rt_join_null_entry as Open)),
            ("kiln_rt_append", address(kiln_rt_append as Open)),
            ("kiln_rt_limit_step", address(kiln_rt_limit_step as Step)),
            ("kiln_rt_series_begin", address(kiln_rt_series_begin as Finish)),
            ("kiln_rt_series_next", address(kiln_rt_series_next as Step)),
            ("kiln_rt_series_cursor", address(kiln_rt_series_cursor as Open)),
            ("kiln_rt_like", address(kiln_rt_like as Like)),
            ("kiln_rt_in_list", address(kiln_rt_in_list as Like)),
            ("kiln_rt_raise", address(kiln_rt_raise as Raise)),
            ("kiln_rt_call", address(kiln_rt_call as Finish)),
        ]
    }
}

@_cdecl("kiln_rt_str_eq")
public func kiln_rt_str_eq(_ aLow: Int64, _ aHigh: Int64, _ bLow: Int64, _ bHigh: Int64) -> Int32 {
    KilnString.equal(joined(aLow, aHigh), joined(bLow, bHigh)) ? 1 : 0
}

@_cdecl("kiln_rt_str_cmp")
public func kiln_rt_str_cmp(_ aLow: Int64, _ aHigh: Int64, _ bLow: Int64, _ bHigh: Int64) -> Int32 {
    Int32(KilnString.compare(joined(aLow, aHigh), joined(bLow, bHigh)).signum())
}

@_cdecl("kiln_rt_str_hash")
public func kiln_rt_str_hash(_ low: Int64, _ high: Int64) -> Int64 {
    Int64(bitPattern: KilnString.hash(joined(low, high)))
}

extension RuntimeSymbols {
    /// Functions the LLVM-level lowering introduces (not called from low-level IR directly).
    public static let lateSignatures: [(name: String, arguments: [String], results: [String])] = [
        ("kiln_rt_str_eq", ["i64", "i64", "i64", "i64"], ["i32"]),
        ("kiln_rt_str_hash", ["i64", "i64"], ["i64"]),
        ("kiln_rt_str_cmp", ["i64", "i64", "i64", "i64"], ["i32"]),
    ]

    public static var lateAddresses: [(String, UnsafeMutableRawPointer)] {
        typealias StrEq = @convention(c) (Int64, Int64, Int64, Int64) -> Int32
        typealias StrHash = @convention(c) (Int64, Int64) -> Int64
        return [("kiln_rt_str_eq", unsafeBitCast(kiln_rt_str_eq as StrEq, to: UnsafeMutableRawPointer.self)),
                ("kiln_rt_str_hash", unsafeBitCast(kiln_rt_str_hash as StrHash, to: UnsafeMutableRawPointer.self)),
                ("kiln_rt_str_cmp", unsafeBitCast(kiln_rt_str_cmp as StrEq, to: UnsafeMutableRawPointer.self))]
    }
}

// 128-bit helpers for the fast tier's LLVM IR, which carries `i128` values as two `i64`
// halves (see `LLVMEmitter`): what LLVM would otherwise inline or call from compiler-rt.

@_cdecl("kiln_rt_mul128")
public func kiln_rt_mul128(_ aLow: Int64, _ aHigh: Int64, _ bLow: Int64, _ bHigh: Int64, _ result: UnsafeMutableRawPointer) -> Int32 {
    let (product, overflow) = joined(aLow, aHigh).multipliedReportingOverflow(by: joined(bLow, bHigh))
    store128(product, result)
    return overflow ? 1 : 0
}

/// Signed division (or remainder) as LLVM's `sdiv`/`srem` on `i128`; the compiled code has
/// already replaced a zero divisor. The one overflowing case (MIN / -1) wraps.
@_cdecl("kiln_rt_div128")
public func kiln_rt_div128(_ aLow: Int64, _ aHigh: Int64, _ bLow: Int64, _ bHigh: Int64, _ result: UnsafeMutableRawPointer, _ remainder: Int32) {
    let a = joined(aLow, aHigh), b = joined(bLow, bHigh)
    guard b != 0 else { return store128(0, result) }
    store128(remainder != 0 ? a.remainderReportingOverflow(dividingBy: b).partialValue : a.dividedReportingOverflow(by: b).partialValue, result)
}

@_cdecl("kiln_rt_i128_to_f64")
public func kiln_rt_i128_to_f64(_ low: Int64, _ high: Int64) -> Double {
    Double(joined(low, high))
}

@inline(__always)
func store128(_ value: Int128, _ pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: Int64(truncatingIfNeeded: value), as: Int64.self)
    pointer.storeBytes(of: Int64(truncatingIfNeeded: value >> 64), toByteOffset: 8, as: Int64.self)
}

extension RuntimeSymbols {
    /// The 128-bit helpers (for the fast tier's LLVM IR only).
    public static var wideAddresses: [(String, UnsafeMutableRawPointer)] {
        typealias Multiply = @convention(c) (Int64, Int64, Int64, Int64, UnsafeMutableRawPointer) -> Int32
        typealias Divide = @convention(c) (Int64, Int64, Int64, Int64, UnsafeMutableRawPointer, Int32) -> Void
        typealias ToDouble = @convention(c) (Int64, Int64) -> Double
        return [("kiln_rt_mul128", unsafeBitCast(kiln_rt_mul128 as Multiply, to: UnsafeMutableRawPointer.self)),
                ("kiln_rt_div128", unsafeBitCast(kiln_rt_div128 as Divide, to: UnsafeMutableRawPointer.self)),
                ("kiln_rt_i128_to_f64", unsafeBitCast(kiln_rt_i128_to_f64 as ToDouble, to: UnsafeMutableRawPointer.self))]
    }
}
