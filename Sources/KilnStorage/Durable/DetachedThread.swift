#if canImport(Glibc)
import Glibc
#endif

/// The storage layer's background threads (the WAL's acknowledger, the flush of
/// `synchronous_commit = off`): detached, with the default stack, running `body` once.
enum DetachedThread {
    /// Starts a thread running `body`; false when none could be started.
    static func start(_ body: @escaping () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        guard started == 0 else {
            box.release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    private final class Body {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
