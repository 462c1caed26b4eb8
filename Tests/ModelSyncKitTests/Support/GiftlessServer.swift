import Foundation
import ModelSyncTestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import ModelSyncKit

/// giftless (a Git LFS server in Python) under waitress on 127.0.0.1, with local storage in a temp folder
/// and JWT authentication, for one test. Installed by `make lfs-venv` into `.build/lfs-venv`.
///
/// Stopped with SIGKILL: children of a test inherit a mask that blocks SIGTERM.
final class GiftlessServer {
    /// The organization and repository of the endpoint (`/<org>/<repo>/objects/batch`).
    static let repository = "org/repo"
    private let process = Process()
    private let directory = TemporaryDirectory("model-sync-giftless")
    /// The port waitress listens on.
    let port: Int
    /// Where giftless keeps the objects: `<storage>/org/repo/<oid>`.
    let storage: String
    /// A JWT allowing every object operation on the repository, for HTTP Basic user `_jwt`.
    let token: String

    /// `http://127.0.0.1:<port>/org/repo`, the LFS API root.
    var url: String { "http://127.0.0.1:\(port)/\(Self.repository)" }

    /// The endpoint with the JWT as HTTP Basic credentials, as a client is configured.
    var endpoint: LFSEndpoint {
        LFSEndpoint(url: url, headers: [("Authorization", "Basic " + Data("_jwt:\(token)".utf8).base64EncodedString())])
    }

    /// The virtual environment `make lfs-venv` creates.
    static var venv: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/lfs-venv").path
    }

    init() throws {
        let venv = Self.venv
        guard FileManager.default.isExecutableFile(atPath: venv + "/bin/waitress-serve") else {
            throw ServerError(message: "giftless is not installed in \(venv): run `make lfs-venv` (the LFS tests need it)")
        }
        let secret = "model-sync-test-secret-" + UUID().uuidString
        storage = directory.path + "/storage"
        // giftless 0.6.2: parallel first uploads race to create the repository's folder; one gets a 500.
        try FileManager.default.createDirectory(atPath: storage + "/" + Self.repository, withIntermediateDirectories: true)
        let config = """
            AUTH_PROVIDERS:
              - factory: giftless.auth.jwt:factory
                options: {algorithm: HS256, private_key: "\(secret)"}
            PRE_AUTHORIZED_ACTION_PROVIDER:
              factory: giftless.auth.jwt:factory
              options: {algorithm: HS256, private_key: "\(secret)", default_lifetime: 3600}
            TRANSFER_ADAPTERS:
              basic:
                factory: giftless.transfer.basic_streaming:factory
                options:
                  storage_class: giftless.storage.local_storage:LocalStorage
                  storage_options: {path: "\(storage)"}
            """
        let configPath = directory.write("giftless.yaml", config)
        token = try Self.mintToken(secret: secret, venv: venv)
        port = LoopbackPort.unused()
        process.executableURL = URL(fileURLWithPath: venv + "/bin/waitress-serve")
        process.arguments = ["--listen=127.0.0.1:\(port)", "--threads=8", "--call", "giftless.app:init_app"]
        var environment = ProcessInfo.processInfo.environment
        environment["GIFTLESS_CONFIG_FILE"] = configPath
        process.environment = environment
        let log = FileHandle(forWritingAtPath: directory.write("server.log", []))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard LoopbackPort.waitForListener(port: port, timeout: 30) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ServerError(message: "giftless did not listen on port \(port) within 30 s: "
                              + String(decoding: directory.read("server.log").suffix(2000), as: UTF8.self))
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The bytes giftless stores for `oid`, nil when it has none.
    func storedObject(_ oid: Digest) -> [UInt8]? {
        FileManager.default.contents(atPath: storage + "/" + Self.repository + "/" + oid.hex).map(Array.init)
    }

    /// An HS256 JWT for the repository from the venv's PyJWT (what giftless itself verifies with).
    private static func mintToken(secret: String, venv: String) throws -> String {
        let script = """
            import jwt, sys, time
            print(jwt.encode({"sub": "tester", "name": "tester", "exp": int(time.time()) + 3600,
                              "scopes": ["obj:\(repository)/*"]}, sys.argv[1], algorithm="HS256"))
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: venv + "/bin/python")
        python.arguments = ["-c", script, secret]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard python.terminationStatus == 0, !token.isEmpty else {
            throw ServerError(message: "cannot mint a JWT with \(venv)/bin/python: run `make lfs-venv` again")
        }
        return token
    }

    struct ServerError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
