import Kiln
#if canImport(Glibc)
import Glibc
#endif

/// Watches the statement the shell runs: Ctrl-C cancels it, and after two seconds a progress
/// bar on standard error shows how far it has got.
///
/// SIGINT is blocked in every thread (`blockInterrupts`, before the first thread starts) and
/// taken by a thread of its own with `sigwait`, so that no signal handler ever runs Swift code.
/// While a statement runs, SIGINT cancels it (57014, the session and its data stay); between
/// statements, an interactive shell ignores it (the line editor reads Ctrl-C as a key), and a
/// shell reading a pipe or a file ends as an unhandled SIGINT would (status 130).
///
/// `@unchecked Sendable`: every field is guarded by `monitor`.
final class StatementWatch: @unchecked Sendable {
    private let monitor = Monitor()
    private let database: Database
    private var running = false
    private var started = ContinuousClock.now
    /// The bar is on the screen (standard error) and must be cleared before anything prints.
    private var drawn = false
    /// The largest fraction shown for this statement (the bar never moves back).
    private var shown = 0.0
    /// Draw the bar at all: `.progress on`, an interactive shell, standard error a terminal.
    var progressBar = false
    /// SIGINT between statements is ignored (a terminal session) rather than ending the shell.
    var interactive = false
    /// Seconds a statement runs before the bar appears.
    static let delay: Duration = .seconds(2)

    init(database: Database) {
        self.database = database
    }

    /// Blocks SIGINT in the calling thread and every thread it starts later.
    static func blockInterrupts() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the signal and progress threads.
    func start() {
        _ = StatementThreads.start { [self] in takeInterrupts() }
        _ = StatementThreads.start { [self] in drawProgress() }
    }

    /// Runs `body` as the watched statement.
    func watch<R>(_ body: () throws(DatabaseError) -> R) throws(DatabaseError) -> R {
        monitor.withLock {
            running = true
            started = .now
            shown = 0
            monitor.broadcast()
        }
        defer {
            monitor.withLock {
                running = false
                clearBar()
            }
        }
        return try body()
    }

    /// Writes part of the running statement's result: the progress bar goes and stays away.
    func printing(_ body: () -> Void) {
        monitor.withLock {
            clearBar()
            shown = .infinity
        }
        body()
    }

    private func takeInterrupts() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        while true {
            var signal: Int32 = 0
            guard sigwait(&set, &signal) == 0 else { continue }
            monitor.withLock {
                if running {
                    database.cancellation.cancel()
                } else if !interactive {
                    fflush(nil)
                    _exit(130)
                }
            }
        }
    }

    private func drawProgress() {
        monitor.withLock {
            while true {
                guard running else {
                    monitor.wait()
                    continue
                }
                monitor.wait(milliseconds: 100)
                guard running, progressBar, shown.isFinite, ContinuousClock.now - started >= StatementWatch.delay,
                      let fraction = database.progress.fraction else { continue }
                shown = max(shown, fraction)
                drawBar(shown)
            }
        }
    }

    /// ` 42% ▕████████████▏` sized to the terminal (call with the lock held).
    private func drawBar(_ fraction: Double) {
        let columns = terminalColumns(2) ?? 80
        let width = max(10, min(60, columns - 8))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let percent = String(Int((fraction * 100).rounded(.down)))
        let text = "\r" + String(repeating: " ", count: 3 - percent.count) + percent + "% ▕"
            + String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled) + "▏"
        standardError(text)
        drawn = true
    }

    /// Removes the bar (call with the lock held).
    private func clearBar() {
        guard drawn else { return }
        standardError("\r\u{1B}[K")
        drawn = false
    }
}

/// The width of the terminal on file descriptor `fd`, nil when it is not one.
func terminalColumns(_ fd: Int32) -> Int? {
    guard isatty(fd) != 0 else { return nil }
    var size = winsize()
    guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}
