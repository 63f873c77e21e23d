import KilnCore
import KilnStorage
import KilnPlanner

/// Everything one execution of a compiled (or interpreted) query needs at run time: the
/// request context memory, the parameter block, operator states, and the string arena for
/// values computed during the query.
///
/// Not `Sendable`: one execution runs on one thread.
public final class QueryRuntime {
    public let context: UnsafeMutableRawPointer
    let parameters: UnsafeMutableRawPointer
    let parameterNulls: UnsafeMutablePointer<UInt8>
    let scratch: UnsafeMutableRawPointer
    let selection: UnsafeMutablePointer<Int32>
    public let slotTypes: [SQLType]
    var states: [RuntimeState] = []
    /// The states' addresses, unretained: the per-row entry points reach a state through
    /// these without the retain and release an array read costs (the runtime owns `states`).
    private(set) var stateAddresses = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: 1)
    /// The generic functions `kiln_rt_call` dispatches by index: the running program's (the
    /// interpreter's and each tier's lowering number them on their own; a switch replaces it).
    public var functions: [RuntimeFunction] {
        didSet {
            // A parallel worker keeps its own copy: the per-row calls copy an entry (retaining
            // its name and argument types), and on a buffer shared with other workers each of
            // those retains would bounce one cache line between cores.
            if isWorker { functions = functions.map(\.unshared) }
            bytePaths = functions.map(BytePath.init)
        }
    }
    /// Whether this is a parallel helper's runtime (see `init(plan:...:worker:)`).
    let isWorker: Bool
    public let arena = StringArena()
    /// Prepared LIKE (index slot * 2) and ILIKE (slot * 2 + 1) patterns: an array, as the
    /// lookup runs per row.
    var likePatterns: [LikePattern?]
    /// The prepared patterns' addresses, unretained (`likePatterns` owns them).
    let likeAddresses: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// The sets of long IN lists, by `inList`'s key (made at the first probe).
    var inListSets: [Int: InListSet] = [:]
    /// Generic functions with a path on the strings' bytes (no String, no Value), by index.
    var bytePaths: [BytePath?]
    enum BytePath {
        case substring
        /// `string_append(state, more)`: string_agg's step, appending in place.
        case append
        /// +, -, * and / into unconstrained numerics, and casts into them, on the packed bits
        /// (`PackedNumeric`): the per-row arithmetic of `numeric` columns and quotients.
        case packed(PackedOperation)
        init?(_ function: RuntimeFunction) {
            switch function.name {
            case "substring": self = .substring
            case "string_append": self = .append
            case "add", "sub", "mul":
                guard function.resultType == .dynamicNumeric, function.argumentTypes == [.dynamicNumeric, .dynamicNumeric] else { return nil }
                self = .packed(function.name == "add" ? .add : function.name == "sub" ? .subtract : .multiply)
            case "div", "avg_final":
                guard function.resultType == .dynamicNumeric, function.argumentTypes.count == 2,
                      let dividend = PackedOperand(function.argumentTypes[0]), let divisor = PackedOperand(function.argumentTypes[1]) else { return nil }
                self = .packed(.divide(dividend, divisor))
            case "var_samp_final", "var_pop_final", "stddev_samp_final", "stddev_pop_final":
                guard function.resultType == .dynamicNumeric, function.argumentTypes.count == 3, function.argumentTypes[0] == .bigint,
                      let sum = PackedOperand(function.argumentTypes[1]), let squares = PackedOperand(function.argumentTypes[2]) else { return nil }
                self = .packed(.variance(sum, squares, sample: function.name.hasSuffix("_samp_final"), root: function.name.hasPrefix("stddev")))
            case "cast" where function.resultType == .dynamicNumeric:
                guard let operand = PackedOperand(function.argumentTypes[0]), operand != .packed else { return nil }
                self = .packed(.convert(operand))
            default: return nil
            }
        }
    }
    enum PackedOperation: Equatable {
        /// Two unconstrained numerics.
        case add, subtract, multiply
        /// PostgreSQL's quotient (`select_div_scale`), of any two decimal or integer operands.
        case divide(PackedOperand, PackedOperand)
        /// A static decimal or an integer as an unconstrained numeric.
        case convert(PackedOperand)
        /// The variance family's final step (count, sum, sum of squares), exact.
        case variance(PackedOperand, PackedOperand, sample: Bool, root: Bool)
    }
    /// How an operand of packed arithmetic is stored in the scratch area.
    enum PackedOperand: Equatable {
        /// An unconstrained numeric's packed bits.
        case packed
        /// A static decimal of this scale.
        case scaled(Int)
        /// An integer of this width.
        case integer(PhysicalType)
        init?(_ type: SQLType) {
            switch type {
            case .dynamicNumeric: self = .packed
            case .numeric(_, let scale): self = .scaled(scale)
            case .smallint, .integer, .bigint: self = .integer(type.physical)
            default: return nil
            }
        }
        /// The operand at `base` as a mantissa and its scale.
        @inline(__always)
        func load(_ base: UnsafeRawPointer) -> (Int128, Int) {
            switch self {
            case .packed: return PackedNumeric.unpack(base.loadUnaligned(as: Int128.self))
            case .scaled(let scale): return (base.loadUnaligned(as: Int128.self), scale)
            case .integer(.int16): return (Int128(base.loadUnaligned(as: Int16.self)), 0)
            case .integer(.int32): return (Int128(base.loadUnaligned(as: Int32.self)), 0)
            case .integer: return (Int128(base.loadUnaligned(as: Int64.self)), 0)
            }
        }
    }
    /// The first error raised while running; the error flag in the context is set with it.
    public var error: DatabaseError?
    /// What the statement's table scans see (MVCC).
    public var snapshot = Snapshot.latest
    /// Where the statement's progress is counted (nil: not counted, as in applied subqueries).
    public var statementProgress: StatementProgress?

    /// - Parameters:
    ///   - plan: the pipeline plan (states and parameter slots).
    ///   - parameterValues: the value of each parameter slot, already of the slot's type.
    public let budget: MemoryBudget

    ///   - worker: makes this a parallel worker's runtime for one pipeline of `main`'s query:
    ///     the states at `local` (the pipeline's scan and sink) are its own, the others are
    ///     main's (the join tables the pipeline probes); its budget shares main's limit.
    public init(plan: PipelinePlan, parameterValues: [Value], functions: [RuntimeFunction], memoryLimit: Int = MemoryBudget.defaultLimit,
                worker: (main: QueryRuntime, local: Set<Int>)? = nil) {
        budget = worker.map { MemoryBudget(sharing: $0.main.budget) } ?? MemoryBudget(limit: memoryLimit)
        isWorker = worker != nil
        context = .allocate(byteCount: ContextLayout.size, alignment: 16)
        context.initializeMemory(as: UInt8.self, repeating: 0, count: ContextLayout.size)
        let slotCount = max(1, parameterValues.count)
        parameters = .allocate(byteCount: 16 * slotCount, alignment: 16)
        parameters.initializeMemory(as: UInt8.self, repeating: 0, count: 16 * slotCount)
        parameterNulls = .allocate(capacity: slotCount)
        parameterNulls.initialize(repeating: 0, count: slotCount)
        likePatterns = Array(repeating: nil, count: 2 * slotCount)
        likeAddresses = .allocate(capacity: 2 * slotCount)
        likeAddresses.initialize(repeating: nil, count: 2 * slotCount)
        scratch = .allocate(byteCount: ScratchLayout.size, alignment: 16)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: ScratchLayout.size)
        selection = .allocate(capacity: ContextLayout.selectionCapacity)
        self.functions = functions
        bytePaths = functions.map(BytePath.init)
        slotTypes = plan.parameterSlots.map {
            switch $0 {
            case .literal(_, let t), .statementParameter(_, let t), .outerValue(_, let t): return t
            case .transactionTime: return .timestamp
            }
        }
        for (index, value) in parameterValues.enumerated() {
            if value.isNull { parameterNulls[index] = 1 } else {
                ValueCodec.store(value, as: slotTypes[index], at: parameters + 16 * index, arena: arena)
            }
        }
        context.storeBytes(of: parameters, toByteOffset: ContextLayout.parameters, as: UnsafeMutableRawPointer.self)
        context.storeBytes(of: UnsafeMutableRawPointer(parameterNulls), toByteOffset: ContextLayout.parameterNulls, as: UnsafeMutableRawPointer.self)
        context.storeBytes(of: scratch, toByteOffset: ContextLayout.scratch, as: UnsafeMutableRawPointer.self)
        context.storeBytes(of: UnsafeMutableRawPointer(selection), toByteOffset: ContextLayout.selection, as: UnsafeMutableRawPointer.self)
        // Set before the states exist: a hash table sized from an estimate charges at once.
        budget.exceeded = { [unowned self] used in
            self.raise(DatabaseError(.outOfMemory, "out of memory", detail: "The query needs more than memory_limit (\(MemoryBudget.format(memoryLimit))) for its hash tables and buffers; \(MemoryBudget.format(used)) were requested.",
                                     hint: "Raise memory_limit, or make the query's joins and aggregates smaller."))
        }
        for (index, state) in plan.states.enumerated() {
            if let worker, !worker.local.contains(index) {
                states.append(worker.main.states[index])
                continue
            }
            switch state {
            case .tableScan(let table, let columns, let access): states.append(TableScanState(table: table, columns: columns, access: access))
            case .series(let type, let a, let b, let c): states.append(SeriesState(type: type, start: a, stop: b, step: c))
            case .seriesCursor(let type): states.append(SeriesCursorState(type: type))
            case .singleRow: states.append(SingleRowState())
            case .hashAggregate(let keyCount, let aggregates, let layout, let groups):
                states.append(HashAggregateState(keyCount: keyCount, aggregates: aggregates, layout: layout, expectedGroups: groups, budget: budget))
            case .sortBuffer(let layout, let keys, let limit, let offset):
                states.append(SortState(layout: layout, keys: keys, limit: limit, offset: offset, budget: budget))
            case .limitCounter(let l, let o): states.append(LimitState(limit: l, offset: o))
            case .windowBuffer(let layout, let partition, let order, let functions):
                states.append(WindowState(layout: layout, partition: partition, order: order, functions: functions, budget: budget))
            case .output(let layout): states.append(OutputState(layout: layout, budget: budget))
            case .hashJoin(_, let layout): states.append(HashJoinState(layout: layout, budget: budget))
            }
        }
        for (index, state) in states.enumerated() where worker == nil || worker!.local.contains(index) { state.owner = self }
        // A worker wires only its own scan (a probe pipeline's helper), to the main runtime's join.
        for filter in plan.keyRangeFilters where worker == nil || (worker!.local.contains(filter.scanState) && !worker!.local.contains(filter.joinState)) {
            guard let scan = states[filter.scanState] as? TableScanState, let join = states[filter.joinState] as? HashJoinState else { continue }
            // A worker's runtime shares the main runtime's join states, which the main one marked.
            if worker == nil { join.recordsKeyRange = true }
            scan.keyFilters.append((filter.column, join))
        }
        stateAddresses.deallocate()
        stateAddresses = .allocate(capacity: max(1, states.count))
        for (index, state) in states.enumerated() { stateAddresses[index] = Unmanaged.passUnretained(state).toOpaque() }
        // safe because the runtime outlives every call that receives this context.
        context.storeBytes(of: Unmanaged.passUnretained(self).toOpaque(), toByteOffset: ContextLayout.runtime, as: UnsafeMutableRawPointer.self)
    }

    deinit {
        context.deallocate()
        parameters.deallocate()
        parameterNulls.deallocate()
        scratch.deallocate()
        selection.deallocate()
        stateAddresses.deallocate()
        likeAddresses.deallocate()
    }

    /// Prepares per-execution state (limits read their parameters).
    public func prepare() throws(DatabaseError) {
        for state in states {
            if let limit = state as? LimitState { try limit.prepare(self) }
            if let sort = state as? SortState { sort.prepare(self) }
        }
    }

    /// Clears the stop flag and the progress counters before a pipeline runs.
    public func beginPipeline() {
        ContextFlags.store(context, ContextLayout.stop, 0)
        progress = PipelineProgress()
        sourceExpectedRows = 0
        suspended = false
        resuming = false
    }

    // MARK: - Morsel boundaries: progress, suspension, resumption

    /// What the running pipeline's source handed out so far.
    public struct PipelineProgress: Sendable {
        public var morsels = 0
        public var rows = 0
    }

    public private(set) var progress = PipelineProgress()
    /// Rows the running pipeline's source has in all (0: not known).
    public private(set) var sourceExpectedRows = 0
    /// Set when the running pipeline stopped at a morsel boundary (not at its end): its source
    /// keeps its position and every state its contents, and `resumePipeline` lets another
    /// program for the same pipeline (native code, a better tier) carry on from there.
    public private(set) var suspended = false
    /// The next `open` continues the suspended source instead of restarting it.
    var resuming = false
    /// Suspend once the pipeline's source has handed out this many morsels (forced switches in tests).
    public var suspendAfterMorsels = Int.max
    /// Asked at every morsel boundary: true when better code for the running pipeline is ready.
    public var upgradeAvailable: ((PipelineProgress) -> Bool)?
    /// A streamed result: the pipeline suspends at a morsel boundary once its output holds this
    /// many records, so that they can be delivered (and dropped) before it goes on.
    public var outputFlushRecords = Int.max
    /// Whether the last suspension was for delivering output (not for better code).
    public private(set) var outputFull = false
    /// The result buffer (the last output state), if the plan has one.
    private lazy var output: OutputState? = states.last { $0 is OutputState } as? OutputState

    /// Prepares a suspended pipeline to continue in another program (call its entry next).
    public func resumePipeline() {
        suspended = false
        resuming = true
    }

    /// Whether the pipeline should stop before its next morsel (never after an error or a stop:
    /// those end the pipeline as usual).
    func shouldSuspend() -> Bool {
        guard ContextFlags.load(context, ContextLayout.error) == 0, ContextFlags.load(context, ContextLayout.stop) == 0 else { return false }
        outputFull = false
        if let output, output.store.count >= outputFlushRecords {
            outputFull = true
            suspended = true
            return true
        }
        if progress.morsels >= suspendAfterMorsels || upgradeAvailable?(progress) == true {
            suspended = true
            return true
        }
        return false
    }

    /// A batch of no rows: what a source gives when its pipeline suspends.
    /// safe because it is never written after its initialisation (compiled code only reads its count).
    nonisolated(unsafe) static let emptyBatch: UnsafeMutableRawPointer = {
        let batch = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 16)
        batch.initializeMemory(as: UInt8.self, repeating: 0, count: 32)
        return batch
    }()

    /// Throws the error a pipeline raised, if any.
    public func checkError() throws(DatabaseError) {
        if let error { throw error }
    }

    /// Parameter slot `slot` (of type `type`) as a value of `target`; nil when it is NULL or has
    /// no exact value of that type (an index lookup then finds nothing).
    func parameterValue(_ slot: Int, as target: SQLType) -> Value? {
        if parameterNulls[slot] != 0 { return nil }
        let value = ValueCodec.load(slotTypes[slot], at: parameters + 16 * slot)
        if slotTypes[slot] == target { return value }
        guard let converted = try? Casts.cast(value, from: slotTypes[slot], to: target),
              let back = try? Casts.cast(converted, from: target, to: slotTypes[slot]), back == value else { return nil }
        return converted
    }

    func parameterInterval(_ slot: Int) -> Interval? {
        if parameterNulls[slot] != 0 { return nil }
        return Interval(packed: parameters.loadUnaligned(fromByteOffset: 16 * slot, as: Int128.self))
    }

    func parameterInteger(_ slot: Int) -> Int64? {
        if parameterNulls[slot] != 0 { return nil }
        switch slotTypes[slot] {
        case .smallint: return Int64(parameters.load(fromByteOffset: 16 * slot, as: Int16.self))
        case .integer: return Int64(parameters.load(fromByteOffset: 16 * slot, as: Int32.self))
        default: return parameters.load(fromByteOffset: 16 * slot, as: Int64.self)
        }
    }

    public func raise(_ error: DatabaseError) {
        if self.error == nil { self.error = error }
        ContextFlags.store(context, ContextLayout.error, 1)
    }

    /// The output rows as values.
    public func outputRows(layout: RecordLayout) -> [[Value]] {
        guard let output = states.last(where: { $0 is OutputState }) as? OutputState else { return [] }
        var rows: [[Value]] = []
        rows.reserveCapacity(output.store.count)
        for index in 0..<output.store.count {
            let record = output.store.record(index)
            rows.append(layout.types.indices.map { field in
                record.load(fromByteOffset: field, as: UInt8.self) != 0 ? .null : ValueCodec.load(layout.types[field], at: record + layout.offsets[field])
            })
        }
        return rows
    }

    /// Forgets the output rows (delivered to a stream), and the strings made for them since
    /// `mark` (taken when the output's pipeline started).
    public func discardOutput(releasingStringsTo mark: StringArena.Mark) {
        guard let output else { return }
        output.store.removeAll()
        arena.release(to: mark)
    }

    /// Calls `body` with the output's record pointers.
    public func withOutputRecords(_ body: (UnsafePointer<UnsafeMutableRawPointer?>, Int) throws(DatabaseError) -> Void) throws(DatabaseError) {
        guard let output = states.last(where: { $0 is OutputState }) as? OutputState else { return }
        try body(UnsafePointer(output.store.pointers), output.store.count)
    }

    static func from(_ context: UnsafeMutableRawPointer) -> QueryRuntime {
        Unmanaged<QueryRuntime>.fromOpaque(context.load(fromByteOffset: ContextLayout.runtime, as: UnsafeMutableRawPointer.self)).takeUnretainedValue()
    }

    /// Runs `body` on the context's runtime without retaining it (the per-row entry points:
    /// a retain and release pair per call cost more than the work in most of them).
    @inline(__always)
    static func with<R>(_ context: UnsafeMutableRawPointer, _ body: (QueryRuntime) -> R) -> R {
        Unmanaged<QueryRuntime>.fromOpaque(context.load(fromByteOffset: ContextLayout.runtime, as: UnsafeMutableRawPointer.self))._withUnsafeGuaranteedRef(body)
    }

    /// Runs `body` on state `index`, known to be an `S`, without retaining it.
    @inline(__always)
    func withState<S: RuntimeState, R>(_ index: Int, _ type: S.Type, _ body: (S) -> R) -> R {
        Unmanaged<S>.fromOpaque(stateAddresses[index])._withUnsafeGuaranteedRef(body)
    }

    // MARK: - Entry points used by compiled code (through the C exports) and the interpreter.

    public func open(_ state: Int) -> UnsafeMutableRawPointer {
        let s = states[state]
        if resuming { resuming = false } else {
            do { try s.open(self) } catch { raise(error) }
            if let statementProgress, !(s is TableScanState) { statementProgress.expect(s.expectedRows) }
            sourceExpectedRows = s.expectedRows
        }
        return Unmanaged.passUnretained(s).toOpaque()
    }

    /// The source's next batch; at each morsel boundary the pipeline may suspend instead (an
    /// empty batch ends its loop, `suspended` tells the caller it did not finish).
    public static func next(_ cursor: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let state = Unmanaged<RuntimeState>.fromOpaque(cursor).takeUnretainedValue()
        guard let runtime = state.owner else { return state.next() }
        if runtime.shouldSuspend() { return emptyBatch }
        let batch = state.next()
        let count = Int(batch.load(fromByteOffset: BatchLayout.count, as: Int64.self))
        if count > 0 {
            runtime.progress.morsels += 1
            runtime.progress.rows += count
            runtime.statementProgress?.advance(count)
        }
        return batch
    }

    /// Ends a pipeline's sink (not when the pipeline suspended: it continues later, nor when
    /// it ran on several workers: the executor ends the sink once their states are merged).
    public func finish(_ state: Int) {
        if suspended || finishDeferred { return }
        states[state].finish(self)
    }

    /// Set while a pipeline runs on several workers (see `finish`).
    public var finishDeferred = false

    /// Ends state `index` as its pipeline's end would (after a parallel pipeline's merge).
    public func finishState(_ index: Int) { states[index].finish(self) }

    // MARK: - Parallel workers

    /// Morsels table scan `index` skipped by its joins' key ranges (0: not a table scan).
    public func skippedMorsels(_ index: Int) -> Int { (states[index] as? TableScanState)?.skippedMorsels ?? 0 }

    /// Makes this runtime's scan at `index` one worker's share of a parallel scan; a sort
    /// buffer at `sink` tags its records with their place in the serial scan's order.
    public func shareScan(_ index: Int, _ dispatcher: MorselDispatcher, sink: Int) {
        let scan = states[index] as? TableScanState
        scan?.dispatcher = dispatcher
        if let sort = states[sink] as? SortState {
            sort.prepare(self)
            sort.startTagging()
            scan?.morselSink = sort
        }
    }

    /// Whether state `index` is a sort buffer (its parallel merge is `mergeSorted`).
    public func isSortBuffer(_ index: Int) -> Bool { states[index] is SortState }

    /// Merges the sort buffers at `index` of this runtime and `workers` into this one's, in the
    /// order one worker would give (see `SortState.mergeTagged`).
    public func mergeSorted(_ index: Int, workers: [QueryRuntime]) {
        guard let sort = states[index] as? SortState else { return }
        sort.mergeTagged(workers.compactMap { $0.states[index] as? SortState })
    }

    /// Folds a worker's sink state `index` into this runtime's (its groups, its join entries).
    public func merge(_ index: Int, from worker: QueryRuntime) throws(DatabaseError) {
        switch (states[index], worker.states[index]) {
        case (let mine as HashAggregateState, let theirs as HashAggregateState): try mine.merge(theirs)
        case (let mine as HashJoinState, let theirs as HashJoinState): mine.absorb(theirs)
        default: throw DatabaseError.internalError("state \(index) cannot be merged across workers")
        }
    }

    /// The runtimes of parallel workers whose strings this query's states still reference.
    public var retainedWorkers: [QueryRuntime] = []

    public func aggregateScratch(_ state: Int) -> UnsafeMutableRawPointer { unsafeDowncast(states[state], to: HashAggregateState.self).scratch }

    public func aggregateFind(_ state: Int, hash: UInt64) -> UnsafeMutableRawPointer { withState(state, HashAggregateState.self) { $0.find(hash: hash) } }

    /// The hash table header compiled probes read (see `HashTableLayout`).
    public func aggregateHeader(_ state: Int) -> UnsafeMutableRawPointer {
        if let join = states[state] as? HashJoinState { return join.header }
        return unsafeDowncast(states[state], to: HashAggregateState.self).header
    }

    /// The all-NULL entry a LEFT join's probe reaches for a row without a match.
    public func joinNullEntry(_ state: Int) -> UnsafeMutableRawPointer { unsafeDowncast(states[state], to: HashJoinState.self).nullEntry }

    /// A new chunk for a join build's entries (the current one is full); returns its first entry.
    public func joinGrow(_ state: Int) -> UnsafeMutableRawPointer { withState(state, HashJoinState.self) { $0.grow() } }

    /// Inserts a new group whose keys are in the scratch record; returns its record.
    public func aggregateInsert(_ state: Int, hash: UInt64) -> UnsafeMutableRawPointer { withState(state, HashAggregateState.self) { $0.insert(hash: hash) } }

    public func append(_ state: Int) -> UnsafeMutableRawPointer {
        switch stateKinds.withUnsafeBufferPointer({ $0[state] }) {
        case .sort: return withState(state, SortState.self) { $0.append() }
        case .output: return withState(state, OutputState.self) { $0.store.append() }
        case .window: return withState(state, WindowState.self) { $0.store.append() }
        case .other: fatalError("append to a state without records")
        }
    }

    enum RecordStateKind { case sort, output, window, other }

    /// Which states take appended records (decided once, not by a dynamic cast per row).
    lazy var stateKinds: [RecordStateKind] = states.map { state in
        switch state {
        case is SortState: return .sort
        case is OutputState: return .output
        case is WindowState: return .window
        default: return .other
        }
    }

    /// LIKE (`key` = slot * 2) or ILIKE (slot * 2 + 1) against the pattern in parameter
    /// slot `key / 2`, prepared on first use.
    public func like(_ key: Int, _ value: Int128) -> Bool {
        guard let address = likeAddresses[key] else { return prepareLike(key, value) }
        return Unmanaged<LikePattern>.fromOpaque(address)._withUnsafeGuaranteedRef { pattern in
            KilnString.withBytes(value) { pattern.matches($0) }
        }
    }

    /// The first use of a LIKE pattern: prepares it, then matches.
    private func prepareLike(_ key: Int, _ value: Int128) -> Bool {
        let stored = parameters.load(fromByteOffset: 16 * (key / 2), as: Int128.self)
        let bytes = KilnString.withBytes(stored) { Array($0) }
        let pattern: LikePattern
        do {
            pattern = try LikePattern(bytes, caseInsensitive: key % 2 == 1)
        } catch {
            raise(error)
            return false
        }
        likePatterns[key] = pattern
        likeAddresses[key] = Unmanaged.passUnretained(pattern).toOpaque()
        return KilnString.withBytes(value) { pattern.matches($0) }
    }

    /// `x IN (long constant list)`: `key` = the list's parameter slot * 4 + its kind
    /// (`InListSet.Kind`); the set is made at the first probe of an execution. 1: a member,
    /// 0: not, 2: not but a constant was NULL (the answer is NULL).
    public func inList(_ key: Int, _ low: Int64, _ high: Int64) -> Int32 {
        if let set = inListSets[key] { return set.probe(low, high) }
        let stored = parameters.load(fromByteOffset: 16 * (key / 4), as: Int128.self)
        guard parameterNulls[key / 4] == 0, let kind = InListSet.Kind(rawValue: key % 4),
              let set = InListSet(list: KilnString.string(stored), kind: kind, arena: arena) else {
            raise(DatabaseError.internalError("an IN list's constants do not read back"))
            return 0
        }
        inListSets[key] = set
        return set.probe(low, high)
    }

    public func limitStep(_ state: Int) -> Bool { withState(state, LimitState.self) { $0.step(context) } }

    /// A LATERAL series' cursor memory (`SeriesCursorState.cursor`).
    public func seriesCursor(_ state: Int) -> UnsafeMutableRawPointer { withState(state, SeriesCursorState.self) { $0.cursor } }

    /// Restarts a LATERAL series at the scratch area's bounds.
    public func seriesBegin(_ state: Int) {
        let failure: DatabaseError? = withState(state, SeriesCursorState.self) { s in
            do throws(DatabaseError) { try s.begin(scratch) } catch { return error }
            return nil
        }
        if let failure { raise(failure) }
    }

    /// Steps a LATERAL series: whether it has another value.
    public func seriesNext(_ state: Int) -> Bool { withState(state, SeriesCursorState.self) { $0.next() } }

    /// string_agg's step: the second string appended to the first (the state, NULL before the
    /// first value) in the arena, in place when the state has room (`StringArena.append`), so a
    /// group's string grows in amortised constant time per byte, not by a copy per row.
    func appendOnBytes() {
        let more = scratch.load(fromByteOffset: ScratchLayout.argument(1), as: Int128.self)
        let stateIsNull = scratch.load(fromByteOffset: ScratchLayout.argumentNull(0), as: UInt8.self) != 0
        let moreIsNull = scratch.load(fromByteOffset: ScratchLayout.argumentNull(1), as: UInt8.self) != 0
        var result = more
        if !stateIsNull && !moreIsNull {
            let state = scratch.load(fromByteOffset: ScratchLayout.argument(0), as: Int128.self)
            let length = KilnString.length(state) + KilnString.length(more)
            guard length <= StringArena.maximumStringBytes else {
                raise(DatabaseError(.programLimitExceeded, "out of memory",
                                    detail: "Cannot enlarge string buffer containing \(KilnString.length(state)) bytes by \(KilnString.length(more)) more bytes."))
                scratch.storeBytes(of: 1, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
                return
            }
            result = KilnString.withBytes(more) { KilnString.append($0, to: state, arena: arena) }
        }
        scratch.storeBytes(of: stateIsNull && moreIsNull ? 1 : 0, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
        scratch.storeBytes(of: stateIsNull && moreIsNull ? 0 : result, toByteOffset: ScratchLayout.result, as: Int128.self)
    }

    /// Unconstrained numeric arithmetic on the packed bits, with the scales and errors of
    /// `ScalarFunctions` (strict: NULL in, NULL out).
    func packedOnBits(_ operation: PackedOperation) {
        let arguments: Int
        switch operation {
        case .convert: arguments = 1
        case .variance: arguments = 3
        default: arguments = 2
        }
        var anyNull = false
        for i in 0..<arguments where scratch.load(fromByteOffset: ScratchLayout.argumentNull(i), as: UInt8.self) != 0 { anyNull = true }
        var result: Int128 = 0
        if case .variance(_, _, let sample, _) = operation, !anyNull {
            // Too few values: NULL.
            let count = scratch.loadUnaligned(fromByteOffset: ScratchLayout.argument(0), as: Int64.self)
            if count == 0 || (sample && count == 1) { anyNull = true }
        }
        if !anyNull {
            let first = UnsafeRawPointer(scratch + ScratchLayout.argument(0))
            let second = UnsafeRawPointer(scratch + ScratchLayout.argument(1))
            do throws(DatabaseError) {
                let (m, s): (Int128, Int)
                switch operation {
                case .convert(let operand):
                    (m, s) = operand.load(first)
                case .divide(let dividend, let divisor):
                    let (a, sa) = dividend.load(first)
                    let (b, sb) = divisor.load(second)
                    (m, s) = try DecimalMath.divide(a, scale: sa, by: b, scale: sb)
                case .variance(let sumOperand, let squaresOperand, let sample, let root):
                    let (sum, sumScale) = sumOperand.load(second)
                    let (squares, squaresScale) = squaresOperand.load(UnsafeRawPointer(scratch + ScratchLayout.argument(2)))
                    (m, s) = try DecimalMath.variance(count: first.loadUnaligned(as: Int64.self), sum: sum, scale: sumScale, squares: squares,
                                                      scale: squaresScale, sample: sample, root: root)
                case .add, .subtract, .multiply:
                    let (a, sa) = PackedOperand.packed.load(first)
                    let (b, sb) = PackedOperand.packed.load(second)
                    (m, s) = operation == .multiply ? try DecimalMath.multiply(a, scale: sa, b, scale: sb)
                        : try DecimalMath.add(a, scale: sa, b, scale: sb, subtract: operation == .subtract)
                }
                result = try PackedNumeric.pack(m, scale: s)
            } catch {
                raise(error)
                anyNull = true
            }
        }
        scratch.storeBytes(of: anyNull ? 1 : 0, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
        scratch.storeBytes(of: result, toByteOffset: ScratchLayout.result, as: Int128.self)
    }

    /// substring of an ASCII string straight on its bytes (no String, no Value); false when
    /// the general path must run (NULLs, non-ASCII text, a negative length).
    func substringOnBytes(_ function: RuntimeFunction) -> Bool {
        let count = function.argumentTypes.count
        for i in 0..<count where scratch.load(fromByteOffset: ScratchLayout.argumentNull(i), as: UInt8.self) != 0 { return false }
        let value = scratch.load(fromByteOffset: ScratchLayout.argument(0), as: Int128.self)
        let start = Int(scratch.load(fromByteOffset: ScratchLayout.argument(1), as: Int32.self))
        var length = Int.max
        if count > 2 {
            length = Int(scratch.load(fromByteOffset: ScratchLayout.argument(2), as: Int32.self))
            if length < 0 { return false }
        }
        let result: Int128? = KilnString.withBytes(value) { bytes in
            for byte in bytes where byte >= 0x80 { return nil }
            let from = max(1, start)
            let to = length == Int.max ? bytes.count + 1 : min(bytes.count + 1, start + length)
            if to <= from { return KilnString.make(UnsafeRawBufferPointer(start: nil, count: 0), arena: arena) }
            return KilnString.make(UnsafeRawBufferPointer(rebasing: bytes[(from - 1)..<(to - 1)]), arena: arena)
        }
        guard let result else { return false }
        scratch.storeBytes(of: 0, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
        scratch.storeBytes(of: result, toByteOffset: ScratchLayout.result, as: Int128.self)
        return true
    }

    /// Answers `__apply_<id>(outer values)` calls (correlated subqueries run per outer row);
    /// set by the executor when the plan has applied subqueries.
    public var applyEvaluator: ((Int, [Value]) throws(DatabaseError) -> Value)?

    /// Answers the functions that read or change session state (sequences: nextval, currval,
    /// setval, lastval); set by the executor.
    public var sessionFunction: ((String, [Value]) throws(DatabaseError) -> Value)?
    public static let sessionFunctionNames: Set<String> = ["nextval", "currval", "setval", "lastval"]

    /// Runs generic function `index` on the scratch area's arguments, writing the result there.
    public func call(_ index: Int) {
        let function = functions[index]
        switch bytePaths[index] {
        case .substring?: if substringOnBytes(function) { return }
        case .append?: return appendOnBytes()
        case .packed(let operation)?: return packedOnBits(operation)
        case nil: break
        }
        var arguments: [Value] = []
        for (i, type) in function.argumentTypes.enumerated() {
            if scratch.load(fromByteOffset: ScratchLayout.argumentNull(i), as: UInt8.self) != 0 { arguments.append(.null) }
            else { arguments.append(ValueCodec.load(type, at: scratch + ScratchLayout.argument(i))) }
        }
        do {
            let result: Value
            if function.name.hasPrefix("__apply_"), let id = Int(function.name.dropFirst(8)), let applyEvaluator {
                result = try applyEvaluator(id, arguments)
            } else if let sessionFunction, QueryRuntime.sessionFunctionNames.contains(function.name) {
                result = try sessionFunction(function.name, arguments)
            } else {
                result = try ScalarFunctions.evaluate(function.name, arguments, argumentTypes: function.argumentTypes, resultType: function.resultType)
            }
            if result.isNull {
                scratch.storeBytes(of: 1, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
                scratch.storeBytes(of: Int128(0), toByteOffset: ScratchLayout.result, as: Int128.self)
            } else {
                scratch.storeBytes(of: 0, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
                var typed = result
                // A static decimal at its type's scale (an unconstrained numeric keeps the value's).
                if case .numeric(let m, let s) = result, case .numeric(_, let target) = function.resultType, s != target {
                    typed = .numeric(DecimalMath.rescale(m, from: s, to: target) ?? 0, scale: target)
                }
                ValueCodec.store(typed, as: function.resultType, at: scratch + ScratchLayout.result, arena: arena)
            }
        } catch {
            raise(error)
            scratch.storeBytes(of: 1, toByteOffset: ScratchLayout.resultNull, as: UInt8.self)
            scratch.storeBytes(of: Int128(0), toByteOffset: ScratchLayout.result, as: Int128.self)
        }
    }

    /// Errors compiled code raises inline (`kiln_low.raise`), by code.
    public static func inlineError(_ code: Int32) -> DatabaseError {
        switch code {
        case 1: return DatabaseError(.numericValueOutOfRange, "smallint out of range")
        case 2: return DatabaseError(.numericValueOutOfRange, "integer out of range")
        case 3: return DatabaseError(.numericValueOutOfRange, "bigint out of range")
        case 4: return DatabaseError(.numericValueOutOfRange, "numeric field overflow")
        case 5: return DatabaseError.divisionByZero
        case 6: return DatabaseError(.numericValueOutOfRange, "value out of range: overflow")
        case 7: return DatabaseError(.cardinalityViolation, "more than one row returned by a subquery used as an expression")
        default: return DatabaseError.internalError("unknown runtime error \(code)")
        }
    }
}
