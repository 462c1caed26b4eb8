#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Serves the daemon's metrics at `GET /metrics` (Prometheus text format) on `daemon.metrics_listen`, from a
/// thread of its own: one short request at a time, which is all a scraper needs.
///
/// It serves the last text given to ``update(_:)`` and never touches the store, so a scrape never waits
/// for a run. Anything but `GET /metrics` is answered 404; a client that sends nothing for 5 seconds is
/// dropped.
public final class MetricsEndpoint: Sendable {
    /// Where it listens (the port chosen by the system when 0 was asked for).
    public let address: ListenAddress
    private let socket: Int32
    private let text = Locked<String>("")
    private let stopped = Locked<Bool>(false)

    /// Binds and listens on `address`; a taken port or an address not on this machine is a usage error
    /// (exit 2) naming `daemon.metrics_listen`.
    public init(listeningOn address: ListenAddress) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IOError.current("socket", address.description) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &socketAddress.sin_addr)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw UsageError("cannot listen on \(address) (model_sync.daemon.metrics_listen): \(reason)",
                             hint: "choose a free port, or an address of this machine (0.0.0.0 for every interface)")
        }
        socket = fd
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.address = ListenAddress(parsing: "\(address.host):\(UInt16(bigEndian: actual.sin_port))") ?? address
        let thread = Thread { [self] in serve() }
        thread.name = "metrics"
        thread.start()
    }

    /// The text served from now on.
    public func update(_ metrics: String) {
        text.withLock { $0 = metrics }
    }

    /// Stops listening; a request in progress is finished.
    public func stop() {
        guard !stopped.withLock({ value -> Bool in defer { value = true }; return value }) else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }

    private func serve() {
        while !stopped.withLock({ $0 }) {
            let client = accept(socket, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            // Not inherited by a configured command the daemon starts meanwhile.
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let requestLine = Self.readRequestLine(client) else { return }
        let parts = requestLine.split(separator: " ")
        let path = parts.count >= 2 ? parts[1].split(separator: "?").first.map(String.init) ?? "" : ""
        let (status, body, type): (String, String, String)
        if parts.first == "GET" && path == "/metrics" {
            (status, body, type) = ("200 OK", text.withLock { $0 }, "text/plain; version=0.0.4; charset=utf-8")
        } else {
            (status, body, type) = ("404 Not Found", "model-sync serves GET /metrics only\n", "text/plain; charset=utf-8")
        }
        let response = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        var bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeMutableBytes { send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// The first line of the request, read until the blank line that ends its headers (at most 8 KiB).
    private static func readRequestLine(_ client: Int32) -> String? {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while received.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        guard let end = received.firstIndex(of: 13) ?? received.firstIndex(of: 10) else { return nil }
        return String(decoding: received[..<end], as: UTF8.self)
    }
}
