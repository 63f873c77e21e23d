import Kiln
import KilnWire
import NIOCore
import NIOSSL
import Synchronization

/// Connects one channel to its `Session`: decoded messages go to the session in order on the
/// server's worker pool (statements block; the event loop must not), and the session's
/// output goes back to the channel in order.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    // `@unchecked Sendable`: `session` is only touched by `queue`'s jobs, one at a time (or,
    // when `inline`, on the event loop, which then is the only thread); the rest is immutable.
    typealias InboundIn = FrontendMessage
    typealias OutboundOut = ByteBuffer

    private let session: Session
    private let queue: ConnectionQueue?
    /// Run the session on the event loop itself (EmbeddedChannel tests).
    private let inline: Bool
    private let server: ServerContext

    /// The session's cancellation, once it started: usable from the event loop while the
    /// session's queue is busy running the statement to stop.
    private let cancellation = Mutex<QueryCancellation?>(nil)
    /// Messages decoded from the last read, not yet handed to the session (event loop only).
    private var received: [FrontendMessage] = []

    init(server: ServerContext, inline: Bool = false) {
        self.server = server
        session = Session(server: server)
        queue = inline ? nil : server.workers.map(ConnectionQueue.init(pool:))
        self.inline = inline
        session.defersCommitAnswers = queue != nil
        session.onStarted = { [unowned self] started in self.cancellation.withLock { $0 = started } }
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        server.track(channel)
        // Large results go out while the statement still produces them, waiting for the
        // socket so that a slow client holds back a fast query instead of filling memory.
        let inline = inline
        session.spill = { buffer in
            if inline || channel.eventLoop.inEventLoop {
                // (a brief statement on the event loop: its result is small, and the loop
                // cannot wait for itself)
                channel.writeAndFlush(buffer, promise: nil)
            } else {
                try? channel.writeAndFlush(buffer).wait()
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        serveReceived(context)
        server.untrack(context.channel)
        // A client that went away does not wait for its query: stop it now (not after it).
        cancellation.withLock { $0 }?.cancel(.userRequest)
        onSession { session in session.close() }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Messages read together (Bind, Execute, Sync) are served in one job.
        received.append(unwrapInboundIn(data))
        if inline { serveReceived(context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        serveReceived(context)
        context.fireChannelReadComplete()
    }

    private func serveReceived(_ context: ChannelHandlerContext) {
        guard !received.isEmpty else { return }
        var messages = received[...]
        received = []
        let channel = context.channel
        let tls = server.tls
        let queue = queue
        if let queue {
            // Brief messages are served here, on the event loop, when the connection has
            // nothing running (`Session.receiveBriefly`); the first that is not, and all after
            // it, go to the statement threads in order.
            let session = self.session
            let served = queue.runInPlace {
                while let message = messages.first, session.receiveBriefly(message) { messages.removeFirst() }
                if messages.isEmpty { ConnectionHandler.finishTurn(session, to: channel, queue: queue, onEventLoop: true) }
            }
            if served && messages.isEmpty { return }
        }
        onSession { [messages] session in
            for message in messages {
                session.receive(message)
                guard session.startTLS, let tls else { continue }
                session.startTLS = false
                let answer = session.takeOutput()
                // In one event-loop task: the 'S' goes out in the clear, then TLS is in place
                // before the client's ClientHello (sent only after the 'S') can be read.
                channel.eventLoop.execute {
                    channel.writeAndFlush(answer, promise: nil)
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                    } catch {
                        channel.close(promise: nil)
                    }
                }
            }
            ConnectionHandler.finishTurn(session, to: channel, queue: queue)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        serveReceived(context)
        let channel = context.channel
        let violation = error as? ProtocolViolation
        onSession { session in
            if case .closed = session.state { return }
            session.fatal(DatabaseError(SQLState("08P01"), violation?.message ?? "connection error: \(error)"))
            ConnectionHandler.deliver(session, to: channel)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        serveReceived(context)
        let channel = context.channel
        if event is IdleStateHandler.IdleStateEvent {
            onSession { session in
                // Only a session waiting for a query outside a transaction times out.
                guard case .ready = session.state, session.transaction == .idle else { return }
                session.fatal(DatabaseError(SQLState("57P05"), "terminating connection due to idle-session timeout"))
                ConnectionHandler.deliver(session, to: channel)
            }
        } else if event is ServerContext.ShutdownEvent {
            cancellation.withLock { $0 }?.cancel(.userRequest)
            onSession { session in
                session.fatal(DatabaseError(SQLState("57P01"), "terminating connection due to administrator command"))
                ConnectionHandler.deliver(session, to: channel)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func onSession(_ body: @escaping @Sendable (Session) -> Void) {
        let session = UncheckedSession(session)
        if let queue { queue.enqueue { body(session.value) } } else { body(session.value) }
    }

    /// Sends what the session produced, like `deliver`; but when its statements committed and
    /// the commit is not on disk yet, the answer and the connection's next messages wait for
    /// the WAL sync without holding a statement thread (`Database.defersDurabilityWait`): the
    /// thread that completes the sync sends the answer. A sync that fails ends the connection
    /// with FATAL, as the commit's fate is then unknown (PostgreSQL stops the server).
    /// - Parameter onEventLoop: the turn ran on the event loop, which leaves the sync to the
    ///   WAL's acknowledger (its other connections would wait for it).
    static func finishTurn(_ session: Session, to channel: Channel, queue: ConnectionQueue?, onEventLoop: Bool = false) {
        guard let queue, let position = session.database?.takeAwaitedDurability() else {
            return deliver(session, to: channel)
        }
        let close = session.shouldClose
        let held = session.takeOutput()
        let parked = UncheckedSession(session)
        queue.park {
            // With nothing else to do, this thread syncs itself (no hand-off to the acknowledger).
            let syncHere = !onEventLoop && queue.poolIsQuiet
            // (the queue is parked: no job touches the session meanwhile)
            guard let database = parked.value.database else { return queue.resume() }
            database.whenDurable(position, syncHere: syncHere) { error in
                guard let error else {
                    if held.readableBytes > 0 { channel.writeAndFlush(held, promise: nil) } else { channel.flush() }
                    if close { channel.close(promise: nil) }
                    return queue.resume()
                }
                queue.resume {
                    let session = parked.value
                    if case .closed = session.state { return channel.close(promise: nil) }
                    session.fatal(error)
                    deliver(session, to: channel)
                }
            }
        }
    }

    /// Sends what the session produced; closes the channel when the session ended.
    static func deliver(_ session: Session, to channel: Channel) {
        let close = session.shouldClose
        let flush = session.needsFlush || close
        let output = session.takeOutput()
        if output.readableBytes > 0 {
            if flush { channel.writeAndFlush(output, promise: nil) } else { channel.write(output, promise: nil) }
        } else if flush {
            channel.flush()
        }
        if close { channel.close(promise: nil) }
    }
}

/// Carries the session into the connection's queue.
struct UncheckedSession: @unchecked Sendable {
    // `@unchecked Sendable`: the session is used on one serial queue only (see ConnectionHandler).
    let value: Session
    init(_ value: Session) { self.value = value }
}
