import Kiln

/// The execution modes tests compare: every one must give the same answers.
enum JITMode: String, CaseIterable {
    /// The interpreter only.
    case interpreted
    /// Native code of the fast tier, waited for (no interpreter).
    case fast
    /// Native code of the optimised tier, waited for.
    case optimized
    /// Each pipeline's first morsel in the interpreter, the rest in the optimised tier.
    case switchedAfter1
    /// Each pipeline's first three morsels in the interpreter, the rest in the fast tier.
    case switchedAfter3

    var settings: [String] {
        switch self {
        case .interpreted: return ["jit = off"]
        case .fast: return ["jit = on", "jit_sync = on", "jit_tier = fast", "jit_switch_after_morsels = -1"]
        case .optimized: return ["jit = on", "jit_sync = on", "jit_tier = optimized", "jit_switch_after_morsels = -1"]
        case .switchedAfter1: return ["jit = on", "jit_sync = on", "jit_tier = optimized", "jit_switch_after_morsels = 1"]
        case .switchedAfter3: return ["jit = on", "jit_sync = on", "jit_tier = fast", "jit_switch_after_morsels = 3"]
        }
    }
}

extension Database {
    func use(_ mode: JITMode) throws {
        for setting in mode.settings { try execute("SET \(setting)") }
    }
}
