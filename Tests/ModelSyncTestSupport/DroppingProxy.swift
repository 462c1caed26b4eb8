#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A TCP proxy on 127.0.0.1 in front of a local server that cuts chosen connections after a given number of
/// body bytes, the way a flaky network drops a transfer: for tests of resumed uploads and downloads.
///
/// Each connection is matched once, on its first request line (`PATCH /v2/…`); a matching rule cuts it after
/// `bytes` bytes past the end of the request's headers (`.request`: the server gets a truncated body) or of
/// the response's headers (`.response`: the client gets a truncated body). The request lines seen are kept,
/// in order, so a test can count what a client sent.
public final class DroppingProxy: @unchecked Sendable {
    /// Which way the cut stream flows.
    public enum Direction: Sendable { case request, response }

    private struct Rule {
        let prefix: String
        let direction: Direction
        let bytes: Int
        let stall: Bool
        /// Answer this status without forwarding the request at all.
        var status: Int?
        var skip: Int
        var times: Int
    }

    /// The port the proxy listens on.
    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    // `@unchecked Sendable`: rules, lines and the open sockets are only touched under `lock`.
    private let lock = NSLock()
    private var rules: [Rule] = []
    private var lines: [String] = []
    private var cuts = 0
    private var sockets: Set<Int32> = []
    private var stopped = false

    /// `127.0.0.1:<port>`.
    public var host: String { "127.0.0.1:\(port)" }

    /// A proxy to `127.0.0.1:<targetPort>`, listening at once.
    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = LoopbackPort.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            if fd >= 0 { close(fd) }
            throw ProxyError(message: "cannot listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        // The accept thread holds the proxy weakly, so releasing it (deinit → stop) ends the thread.
        let thread = Thread { [weak self, fd] in Self.acceptLoop(fd, proxy: { self }) }
        thread.start()
    }

    deinit { stop() }

    /// Cuts the next `times` connections whose request line starts with `prefix` (after letting `skip` of
    /// them through whole), `bytes` bytes into the body flowing in `direction`. With `stall`, the
    /// connection is not cut there but frozen: nothing more is read or forwarded until the client hangs up
    /// (its stall timeout).
    public func drop(requestsStartingWith prefix: String, after bytes: Int, of direction: Direction,
                     skip: Int = 0, times: Int = 1, stall: Bool = false) {
        lock.withLock {
            rules.append(Rule(prefix: prefix, direction: direction, bytes: bytes, stall: stall, skip: skip, times: times))
        }
    }

    /// Answers the next `times` requests whose request line starts with `prefix` (after `skip` of them) with
    /// `status` and an empty body, reading their body but never forwarding them: a server failing mid-way.
    public func answer(requestsStartingWith prefix: String, status: Int, skip: Int = 0, times: Int = 1) {
        lock.withLock {
            rules.append(Rule(prefix: prefix, direction: .request, bytes: 0, stall: false, status: status, skip: skip,
                              times: times))
        }
    }

    /// The first request line of every connection so far (`PATCH /v2/models/blobs/uploads/… HTTP/1.1`).
    public var requestLines: [String] { lock.withLock { lines } }

    /// How many connections were cut.
    public var cutCount: Int { lock.withLock { cuts } }

    /// Stops listening and closes every open connection.
    public func stop() {
        let open = lock.withLock { () -> Set<Int32> in
            if stopped { return [] }
            stopped = true
            return sockets
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private static func acceptLoop(_ listener: Int32, proxy: () -> DroppingProxy?) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(listener)
                return
            }
            guard let proxy = proxy() else {
                close(client)
                close(listener)
                return
            }
            proxy.serve(client)
        }
    }

    /// Connects `client` to the target and starts the two pumps of the connection.
    private func serve(_ client: Int32) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = LoopbackPort.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, lock.withLock({ () -> Bool in
            guard !stopped else { return false }
            sockets.formUnion([client, upstream])
            return true
        }) else {
            close(client)
            close(upstream)
            return
        }
        let connection = Connection(client: client, upstream: upstream)
        Thread { [self] in pump(connection, direction: .request) }.start()
        Thread { [self] in pump(connection, direction: .response) }.start()
    }

    /// What the two pumps of one connection share.
    private final class Connection: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        // Set by the request pump before it forwards a byte, read by the response pump after the server
        // answered: the server cannot answer a request it has not received, so the order is guaranteed.
        var rule: Rule?
        var finished = 0
        let lock = NSLock()

        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
    }

    /// Copies one direction of a connection, matching the rules on the first request and cutting where
    /// one says.
    private func pump(_ connection: Connection, direction: Direction) {
        let from = direction == .request ? connection.client : connection.upstream
        let to = direction == .request ? connection.upstream : connection.client
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var head: [UInt8] = []
        var headerEnd: Int?
        var forwarded = 0
        var limit: Int?
        defer { finish(connection) }
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            var chunk = Array(buffer[0..<count])
            if headerEnd == nil {
                head += chunk
                if let end = Self.headerEnd(head) {
                    headerEnd = end
                    if direction == .request { match(connection, head: head) }
                    let rule = connection.lock.withLock { connection.rule }
                    if let status = rule?.status {
                        answer(connection, status: status, head: head, headerEnd: end)
                        return
                    }
                    if let rule, rule.direction == direction { limit = end + rule.bytes }
                } else if head.count < 1 << 20 {
                    continue
                } else {
                    headerEnd = head.count  // not HTTP as far as we can tell: passed through
                }
                chunk = head
                head = []
            }
            if let limit, forwarded + chunk.count >= limit {
                _ = send(to, chunk, limit - forwarded, Int32(MSG_NOSIGNAL))
                lock.withLock { cuts += 1 }
                if connection.lock.withLock({ connection.rule?.stall == true }) { Self.waitForHangUp(connection.client) }
                shutdown(connection.client, Int32(SHUT_RDWR))
                shutdown(connection.upstream, Int32(SHUT_RDWR))
                return
            }
            var sent = 0
            while sent < chunk.count {
                let written = chunk[sent...].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                sent += written
            }
            forwarded += chunk.count
        }
    }

    /// Reads the rest of the request's body (by its Content-Length), then answers `status` and closes.
    private func answer(_ connection: Connection, status: Int, head: [UInt8], headerEnd: Int) {
        let headers = String(decoding: head[..<headerEnd], as: UTF8.self).lowercased()
        let length = headers.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        var remaining = length - (head.count - headerEnd)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while remaining > 0 {
            let count = buffer.withUnsafeMutableBytes { recv(connection.client, $0.baseAddress, min($0.count, remaining), 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            remaining -= count
        }
        let reply = Array("HTTP/1.1 \(status) Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = send(connection.client, reply, reply.count, Int32(MSG_NOSIGNAL))
        lock.withLock { cuts += 1 }
        shutdown(connection.client, Int32(SHUT_RDWR))
        shutdown(connection.upstream, Int32(SHUT_RDWR))
    }

    /// Blocks until the peer of `fd` closes its side (or the proxy stops), reading nothing meanwhile.
    private static func waitForHangUp(_ fd: Int32) {
        // POLLRDHUP (Linux): the peer closed its side, seen even with unread bytes pending. Swift's Glibc
        // module leaves it out (it needs _GNU_SOURCE), so its value from <bits/poll.h> is written here.
        let peerClosed: Int16 = 0x2000
        while true {
            var poller = pollfd(fd: fd, events: peerClosed, revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { return }
            if ready > 0 && poller.revents & (peerClosed | Int16(POLLHUP | POLLERR | POLLNVAL)) != 0 { return }
        }
    }

    /// Records the request line and picks the rule for this connection, if one matches.
    private func match(_ connection: Connection, head: [UInt8]) {
        let line = String(decoding: head.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let rule = lock.withLock { () -> Rule? in
            lines.append(line)
            guard let index = rules.firstIndex(where: { line.hasPrefix($0.prefix) }) else { return nil }
            if rules[index].skip > 0 {
                rules[index].skip -= 1
                return nil
            }
            let rule = rules[index]
            rules[index].times -= 1
            if rules[index].times <= 0 { rules.remove(at: index) }
            return rule
        }
        connection.lock.withLock { connection.rule = rule }
    }

    /// Closes the connection's sockets once both pumps have ended.
    private func finish(_ connection: Connection) {
        shutdown(connection.client, Int32(SHUT_RDWR))
        shutdown(connection.upstream, Int32(SHUT_RDWR))
        let last = connection.lock.withLock { () -> Bool in
            connection.finished += 1
            return connection.finished == 2
        }
        guard last else { return }
        lock.withLock { sockets.subtract([connection.client, connection.upstream]) }
        close(connection.client)
        close(connection.upstream)
    }

    /// The index just past the blank line ending the headers, nil when it has not arrived yet.
    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13
            && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    /// The proxy could not start.
    public struct ProxyError: Error {
        /// What failed.
        public let message: String
    }
}
