#if canImport(Glibc)
import Glibc
#endif

/// A lock with a condition variable (for state that `Mutex` cannot hold: non-Sendable
/// objects); `wait` inside `withLock` releases the lock while asleep.
public final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Releases and takes the lock around a stretch of work inside `withLock` (`unlocked`).
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func lock() { pthread_mutex_lock(mutex) }

    /// Sleeps until signalled (call with the lock held).
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// Sleeps until signalled or `milliseconds` passed (call with the lock held).
    public func wait(milliseconds: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var deadline = now
        let nanoseconds = Int(now.tv_nsec) + milliseconds * 1_000_000
        deadline.tv_sec += nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// A further condition of the same lock, for waiters that only one kind of event concerns
    /// (a broadcast to the monitor's own condition would wake every waiter).
    public final class Condition: @unchecked Sendable {
        fileprivate let pointer = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        public init() { pthread_cond_init(pointer, nil) }
        deinit {
            pthread_cond_destroy(pointer)
            pointer.deallocate()
        }
        /// Wakes every thread waiting on it (call with the monitor's lock held).
        public func broadcast() { pthread_cond_broadcast(pointer) }
    }

    /// Sleeps until `condition` is signalled (call with the lock held).
    public func wait(on condition: Condition) { pthread_cond_wait(condition.pointer, mutex) }
}
