import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// giftless (a Git LFS server in Python) under waitress on 127.0.0.1, with local storage and JWT
/// authentication, for one test. `make lfs-venv` installs it into `.build/lfs-venv`. Clients authenticate with
/// HTTP Basic, user `_jwt`, password ``token``.
///
/// Stopped with SIGKILL: children of a test inherit a mask that blocks SIGTERM.
public final class GiftlessServer: @unchecked Sendable {
    // @unchecked: every property is set once in init; the process is only signalled afterwards.

    /// The organization and repository of the endpoint (`/<org>/<repo>/objects/batch`).
    public let repository: String
    /// The port waitress listens on.
    public let port: Int
    /// Where giftless keeps the objects: `<storage>/<repository>/<oid>`.
    public let storage: String
    /// A JWT allowing every object operation on the repository.
    public let token: String
    private let process = Process()
    /// The file each request is logged to as it arrives and as it ends (``requests``).
    private let requestLog: String
    /// The folder holding configuration, log and storage when the caller gave none; removed on deinit.
    private let owned: TemporaryDirectory?

    /// `http://127.0.0.1:<port>/<repository>`, the LFS API root.
    public var url: String { "http://127.0.0.1:\(port)/\(repository)" }

    /// The virtual environment `make lfs-venv` creates.
    public static var venv: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/lfs-venv").path
    }

    /// Starts giftless with its files in `directory` (a new temp folder when nil) and waits until it listens.
    public init(directory: String? = nil, repository: String = "org/repo") throws {
        let venv = Self.venv
        guard FileManager.default.isExecutableFile(atPath: venv + "/bin/waitress-serve") else {
            throw RegistryStartError("giftless is not installed in \(venv): run `make lfs-venv` (the LFS tests need it)")
        }
        owned = directory == nil ? TemporaryDirectory("model-sync-giftless") : nil
        let directory = directory ?? owned!.path
        self.repository = repository
        let secret = "model-sync-test-secret-" + UUID().uuidString
        storage = directory + "/lfs-storage"
        // giftless 0.6.2: parallel first uploads race to create the repository's folder; one gets a 500.
        try FileManager.default.createDirectory(atPath: storage + "/" + repository, withIntermediateDirectories: true)
        let configPath = directory + "/giftless.yaml"
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

            """.utf8).write(to: URL(fileURLWithPath: configPath))
        token = try Self.mintToken(secret: secret, repository: repository, venv: venv)
        requestLog = directory + "/giftless-requests.log"
        try Data(Self.loggingApp.utf8).write(to: URL(fileURLWithPath: directory + "/giftless_request_log.py"))
        port = LoopbackPort.unused()
        process.executableURL = URL(fileURLWithPath: venv + "/bin/waitress-serve")
        process.arguments = ["--listen=127.0.0.1:\(port)", "--threads=8", "--call", "giftless_request_log:init_app"]
        var environment = ProcessInfo.processInfo.environment
        environment["GIFTLESS_CONFIG_FILE"] = configPath
        environment["GIFTLESS_REQUEST_LOG"] = requestLog
        environment["PYTHONPATH"] = directory
        process.environment = environment
        let logPath = directory + "/giftless.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let process = self.process
        guard LoopbackPort.waitForListener(port: port, timeout: 30, alive: { process.isRunning }) else {
            stop()
            let tail = (FileManager.default.contents(atPath: logPath) ?? Data()).suffix(2000)
            throw RegistryStartError("giftless did not listen on port \(port) within 30 s: "
                                     + String(decoding: tail, as: UTF8.self))
        }
    }

    deinit { stop() }

    /// Stops giftless (SIGKILL) and waits for it.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Where giftless keeps the object `hex`, whether or not it exists.
    public func objectPath(_ hex: String) -> String { storage + "/" + repository + "/" + hex }

    /// The bytes giftless stores for the object `hex`, nil when it has none.
    public func storedObject(_ hex: String) -> [UInt8]? {
        FileManager.default.contents(atPath: objectPath(hex)).map(Array.init)
    }

    /// The oids giftless stores, sorted.
    public var storedObjects: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: storage + "/" + repository)) ?? []).sorted()
    }

    /// One request giftless served: when it arrived and when its answer was sent (seconds since 1970, the
    /// machine's clock), its method, path and status.
    public struct Request: Sendable {
        public let started: Double
        public let ended: Double
        public let method: String
        public let path: String
        public let status: Int
    }

    /// Every request giftless answered so far, in the order they arrived.
    public var requests: [Request] {
        let text = (try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 5, let started = Double(fields[0]), let ended = Double(fields[1]),
                  let status = Int(fields[4]) else { return nil }
            return Request(started: started, ended: ended, method: String(fields[2]), path: String(fields[3]),
                           status: status)
        }.sorted { $0.started < $1.started }
    }

    /// The successful uploads (PUT) of the object `hex`, in the order they arrived.
    public func uploads(of hex: String) -> [Request] {
        requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/" + hex) && (200...299).contains($0.status) }
    }

    /// giftless's app behind a WSGI layer that logs each request once it is answered and its body read:
    /// `<arrival> <end> <method> <path> <status>`. The answer is held whole before it is sent: test objects
    /// are a few MiB.
    private static let loggingApp = """
        import os, threading, time
        import giftless.app

        _lock = threading.Lock()

        def init_app():
            app = giftless.app.init_app()
            inner = app.wsgi_app
            path = os.environ["GIFTLESS_REQUEST_LOG"]

            def logged(environ, start_response):
                started = time.time()
                status = []
                def recording(code, headers, exc_info=None):
                    status.append(code.split(" ")[0])
                    return start_response(code, headers, exc_info)
                result = inner(environ, recording)
                try:
                    body = list(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
                line = "%.6f %.6f %s %s %s\\n" % (started, time.time(), environ["REQUEST_METHOD"],
                                                  environ.get("PATH_INFO", "") or "/", status[0] if status else "0")
                with _lock, open(path, "a") as log:
                    log.write(line)
                return body

            app.wsgi_app = logged
            return app

        """

    /// An HS256 JWT for the repository from the venv's PyJWT (what giftless itself verifies with).
    private static func mintToken(secret: String, repository: String, venv: String) throws -> String {
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
            throw RegistryStartError("cannot mint a JWT with \(venv)/bin/python: run `make lfs-venv` again")
        }
        return token
    }
}
