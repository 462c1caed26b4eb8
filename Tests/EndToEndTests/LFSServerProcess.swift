#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// giftless (the Git LFS server `make lfs-venv` installs into `.build/lfs-venv`) on 127.0.0.1 with local
/// storage in `directory/lfs-storage` and JWT authentication, for an end-to-end test; stopped with SIGKILL.
/// Clients authenticate with HTTP Basic, user `_jwt`, password ``token``.
final class LFSServerProcess {
    /// The organization and repository of the endpoint.
    static let repository = "org/models"
    private let process = Process()
    let port: UInt16
    let storage: String
    /// A JWT allowing every object operation on the repository.
    let token: String

    /// The LFS API root, `http://127.0.0.1:<port>/org/models`.
    var url: String { "http://127.0.0.1:\(port)/\(Self.repository)" }

    static var venv: String { CLI.packageRoot + "/.build/lfs-venv" }

    init(directory: String) throws {
        let venv = Self.venv
        guard FileManager.default.isExecutableFile(atPath: venv + "/bin/waitress-serve") else {
            throw LFSServerError(message: "giftless is not installed in \(venv): run `make lfs-venv`")
        }
        let secret = "model-sync-e2e-secret-" + UUID().uuidString
        storage = directory + "/lfs-storage"
        // giftless 0.6.2: parallel first uploads race to create the repository's folder.
        try FileManager.default.createDirectory(atPath: storage + "/" + Self.repository, withIntermediateDirectories: true)
        let config = directory + "/giftless.yaml"
        try Data("""
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

            """.utf8).write(to: URL(fileURLWithPath: config))
        token = try Self.mintToken(secret: secret, venv: venv)
        port = try freePort()
        process.executableURL = URL(fileURLWithPath: venv + "/bin/waitress-serve")
        process.arguments = ["--listen=127.0.0.1:\(port)", "--threads=8", "--call", "giftless.app:init_app"]
        var environment = ProcessInfo.processInfo.environment
        environment["GIFTLESS_CONFIG_FILE"] = config
        process.environment = environment
        _ = FileManager.default.createFile(atPath: directory + "/giftless.log", contents: nil)
        let log = FileHandle(forWritingAtPath: directory + "/giftless.log")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while (try? waitForPort(port)) == nil {
            guard Date() < deadline, process.isRunning else {
                stop(process)
                throw LFSServerError(message: "giftless did not listen on port \(port)")
            }
        }
    }

    deinit { stop(process) }

    /// The bytes giftless stores for the object `hex`, nil when it has none.
    func storedObject(_ hex: String) -> Data? {
        FileManager.default.contents(atPath: storage + "/" + Self.repository + "/" + hex)
    }

    /// The oids giftless stores.
    var storedObjects: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: storage + "/" + Self.repository)) ?? []).sorted()
    }

    private static func mintToken(secret: String, venv: String) throws -> String {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: venv + "/bin/python")
        python.arguments = ["-c", """
            import jwt, sys, time
            print(jwt.encode({"sub": "tester", "name": "tester", "exp": int(time.time()) + 3600,
                              "scopes": ["obj:\(repository)/*"]}, sys.argv[1], algorithm="HS256"))
            """, secret]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard python.terminationStatus == 0, !token.isEmpty else {
            throw LFSServerError(message: "cannot mint a JWT with \(venv)/bin/python")
        }
        return token
    }
}

struct LFSServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
