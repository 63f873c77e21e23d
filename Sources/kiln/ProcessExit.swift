import Kiln
#if canImport(Glibc)
import Glibc
#endif

/// Ends the process, every way the shell and the server end (`-c`, `-f`, end of input,
/// `.quit`, Ctrl-D, a signal to `kiln serve`): Kiln's compile worker is shut down first, so
/// that no LLVM static destructor that `exit` runs can free tables under a compile in flight.
/// When the worker cannot be stopped (a compile still running after the timeout, or parked by
/// an LLVM fatal error), the process ends with `_exit` after flushing its output: no
/// destructor runs at all.
///
/// `KILN_TEST_PLAIN_EXIT=1` (tests) skips the explicit shutdown and calls `exit` as an embedding
/// application might: then only Kiln's `on_exit` fallback stands between `exit` and a compile
/// in flight.
func terminate(_ status: Int32) -> Never {
    // A database directory is checkpointed and released (its WAL would be replayed otherwise).
    if let database = openDatabase {
        do { try database.closeDirectory() } catch { standardError("kiln: the shutdown checkpoint failed (the WAL keeps every commit): \(error)\n") }
        database.close()
    }
    if getenv("KILN_TEST_PLAIN_EXIT") != nil {
        fflush(nil)
        exit(status)
    }
    let quiescent = Database.shutdownCompilation()
    fflush(nil)
    if quiescent { exit(status) }
    _exit(status)
}

/// The shell's or the server's database, closed by `terminate`.
nonisolated(unsafe) var openDatabase: Database?

/// `KILN_TEST_COMPILE_FAULT=invalid-module|llvm-fatal`: the process's first native compile
/// fails that way (the release-binary checks show that the answer and the process survive).
func injectCompileFaultForTests() {
    guard let value = getenv("KILN_TEST_COMPILE_FAULT") else { return }
    let name = String(cString: value)
    if !Database.injectCompileFault(name) { standardError("kiln: unknown KILN_TEST_COMPILE_FAULT \(name)\n") }
}
