#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads the first line a test server prints on `fd` (at most `timeout` seconds) and parses it as the port
/// it listens on; nil when no such line comes.
public func readPortLine(_ fd: Int32, timeout: Double = 10) -> Int? {
    let deadline = Date().addingTimeInterval(timeout)
    var line: [UInt8] = []
    while Date() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
        guard poll(&poller, 1, remaining) > 0 else { continue }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) == 1 else { return nil }
        if byte == UInt8(ascii: "\n") { return Int(String(decoding: line, as: UTF8.self)) }
        line.append(byte)
    }
    return nil
}
