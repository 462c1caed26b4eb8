#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs the built `model-sync` binary the way a user would, in a given directory.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        /// stdout parsed as one JSON object.
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// The package root, found from this file's path.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `MODEL_SYNC_BINARY`, else the debug build in the package's `.build`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["MODEL_SYNC_BINARY"] { return path }
        return packageRoot + "/.build/debug/model-sync"
    }()

    let directory: String
    var environment: [String: String] = [:]
    /// A command line the binary is run through, such as `setpriv --reuid=65534 …` (empty: run it directly).
    var runThrough: [String] = []

    init(in directory: String, environment: [String: String] = [:]) {
        self.directory = directory
        self.environment = environment
    }

    /// Runs `model-sync arguments…`, waiting at most `timeout` seconds (then SIGKILL, and the test fails).
    @discardableResult
    func run(_ arguments: [String], timeout: TimeInterval = 120) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runThrough.first ?? CLI.binary)
        process.arguments = runThrough.isEmpty ? arguments : Array(runThrough.dropFirst()) + [CLI.binary] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "MODEL_SYNC_FAULT")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outFile = directory + "/.cli-out-\(UUID().uuidString)"
        let errFile = directory + "/.cli-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outFile)
            try? FileManager.default.removeItem(atPath: errFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errFile))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CLIError.timedOut(arguments)
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "")
    }
}

enum CLIError: Error {
    case timedOut([String])
}

/// A fresh directory for one test, removed afterwards (the shared `TemporaryDirectory`), that runs the CLI in it.
typealias Sandbox = TemporaryDirectory

extension TemporaryDirectory {
    /// The built binary, run in this directory.
    var cli: CLI { CLI(in: path) }
}

/// Runs a shell line, returning its exit status.
@discardableResult
func shell(_ line: String) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", line]
    try? process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

