import Foundation
import ModelSyncTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Fixtures/http/server.py running on 127.0.0.1 with an ephemeral port, for one test.
///
/// Stopped with SIGKILL: children of a test inherit a mask that blocks SIGTERM.
final class LoopbackHTTPServer {
    private let process = Process()
    /// The port the server printed once listening.
    let port: Int

    /// `http://127.0.0.1:<port>`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("Fixtures/http/server.py").path
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.standardOutput = output
        try process.run()
        guard let port = readPortLine(output.fileHandleForReading.fileDescriptor) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ServerError(message: "the loopback server did not print its port within 10 s")
        }
        self.port = port
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Reads the first line of the server's stdout, waiting at most `timeout` seconds.
    struct ServerError: Error {
        let message: String
    }
}

/// Records the delays an `HTTPClient` asks for instead of sleeping.
final class HTTPSleepRecorder: Sendable {
    private let delays = Mutex<[Double]>([])

    /// The function to give `HTTPClient.sleep`.
    var sleep: @Sendable (Double) -> Void {
        { seconds in self.delays.withLock { $0.append(seconds) } }
    }

    /// The delays requested so far.
    var recorded: [Double] {
        delays.withLock { $0 }
    }
}

/// A fresh temporary directory, removed by `cleanup()`.
struct HTTPTestDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "model-sync-http-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension LoopbackHTTPServer {
    /// The bytes the loopback server's /download route serves.
    static func pattern(size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 2_654_435_761) >> 13) }
    }

    /// A port on 127.0.0.1 nothing listens on: bound, read and closed again.
    static func unusedPort() -> Int { LoopbackPort.unused() }
}
