/// An IPv4 address and TCP port to listen on (`127.0.0.1:9464`), as `daemon.metrics_listen` gives it.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The dotted IPv4 address (`0.0.0.0` for every interface).
    public let host: String
    /// The port, 1–65535.
    public let port: UInt16

    /// Parses `host:port`; `:port` alone means `0.0.0.0`. Nil for anything else.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = text[..<colon].isEmpty ? "0.0.0.0" : String(text[..<colon])
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }),
              let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        self.host = host
        self.port = port
    }

    /// The same host with another port (0: the system picks one, for tests).
    public func withPort(_ port: UInt16) -> ListenAddress {
        ListenAddress(host: host, port: port)
    }

    private init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}
