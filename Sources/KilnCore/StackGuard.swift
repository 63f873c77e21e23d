import CKilnSystem
#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL's `check_stack_depth`: recursive passes over user input (the parser, the binder)
/// call `check` at each level, and it throws 54001 ("stack depth limit exceeded") while some
/// stack is still left, instead of letting deep input overflow the thread's stack and end the
/// process (and with it every session of a server).
///
/// Each thread's stack bounds are read once (`pthread_getattr_np`) and kept in a thread-local
/// slot; a check compares the address of a local variable with the low end plus a reserve.
public enum StackGuard {
    /// Stack kept free below the deepest checked frame: room for the unchecked frames between
    /// two checks and for the error's own path (release frames are small, debug ones large).
    public static let reserve: Int = {
        #if DEBUG
        return 1 << 20
        #else
        return 256 << 10
        #endif
    }()

    /// Throws 54001 when less than `reserve` bytes of the current thread's stack remain.
    @inline(__always)
    public static func check(position: Int? = nil) throws(DatabaseError) {
        if remaining < reserve {
            throw DatabaseError(.stackDepthLimitExceeded, "stack depth limit exceeded", position: position,
                                hint: "The statement nests expressions or subqueries too deeply; simplify it (long AND / OR chains are fine).")
        }
    }

    /// Bytes of stack left below the current frame (very large when the bounds are unknown).
    @inline(__always)
    public static var remaining: Int {
        var marker: UInt8 = 0
        let here = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        return Int(here) - Int(lowLimit()) + reserve
    }

    /// The lowest address the current thread may reach before `check` throws.
    private static func lowLimit() -> UInt {
        if let cached = pthread_getspecific(key) { return UInt(bitPattern: cached) }
        var low: UInt = 0
        var start: UInt = 0
        var size = 0
        if kiln_thread_stack(&start, &size) == 0, start != 0 { low = start + UInt(reserve) }
        // Unknown bounds: the limit stays 0, so `check` never throws.
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: low))
        return low
    }

    /// The thread-local slot of each thread's low limit.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
