import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real CNCF distribution registry (Debian's `docker-registry`, 2.8) on 127.0.0.1 for one test: filesystem
/// storage in a temp folder, delete enabled, plain HTTP or TLS with a certificate from a CA made for it with
/// the openssl CLI, and anonymous, htpasswd (Basic) or token (Bearer) authentication.
///
/// Stopped with SIGKILL on ``stop()`` or deinit: children of a test inherit a mask that blocks SIGTERM.
public final class DistributionRegistry: @unchecked Sendable {
    // @unchecked: every property is set once in init; the process is only signalled afterwards.

    /// How clients authenticate.
    public enum Auth: Sendable {
        /// Anonymous pull and push.
        case none
        /// HTTP Basic against an htpasswd file holding one user (bcrypt, as distribution requires).
        case htpasswd(user: String, password: String)
        /// Bearer tokens from a token server: `realm` is its URL, `rootCertBundle` the PEM of the certificate
        /// whose key signs the tokens.
        case token(realm: String, service: String, issuer: String, rootCertBundle: String)
    }

    /// `127.0.0.1:<port>`, the registry part of an OCI reference.
    public let host: String
    /// `http://127.0.0.1:<port>` or `https://…`.
    public let baseURL: String
    /// The PEM of the CA that signed the server certificate (TLS only).
    public let caBundle: String?
    /// The storage root: blobs sit under `docker/registry/v2/blobs/sha256/<ab>/<hex>/data`.
    public let storageDirectory: String
    /// The registry's log (one JSON-ish line per request at level info).
    public let logPath: String
    /// The folder holding the configuration, certificates and storage; removed on deinit.
    public let directory: TemporaryDirectory
    private let process: Process

    /// Starts a registry and waits until it answers `GET /v2/`; throws with the end of its log when it does not.
    public static func start(tls: Bool = false, auth: Auth = .none) throws -> DistributionRegistry {
        var lastError: Error?
        // Another process may take the free port between the probe and the registry's bind: try a few.
        for _ in 0..<3 {
            do { return try DistributionRegistry(tls: tls, auth: auth) } catch { lastError = error }
        }
        throw lastError!
    }

    private init(tls: Bool, auth: Auth) throws {
        let binary = "/usr/bin/docker-registry"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw RegistryStartError("docker-registry is not installed: apt-get install docker-registry (the OCI tests need it)")
        }
        directory = TemporaryDirectory("model-sync-registry")
        let port = LoopbackPort.unused()
        host = "127.0.0.1:\(port)"
        baseURL = (tls ? "https://" : "http://") + host
        storageDirectory = directory.path + "/storage"
        logPath = directory.path + "/registry.log"
        try FileManager.default.createDirectory(atPath: storageDirectory, withIntermediateDirectories: true)

        var config = """
            version: 0.1
            log:
              level: info
              formatter: text
              accesslog: {disabled: true}
            storage:
              filesystem: {rootdirectory: "\(storageDirectory)"}
              delete: {enabled: true}
              maintenance: {uploadpurging: {enabled: false}}
            http:
              addr: "\(host)"
              secret: "\(UUID().uuidString)"

            """
        if tls {
            let (certificate, key, ca) = try Self.makeCertificates(in: directory)
            config += "  tls: {certificate: \"\(certificate)\", key: \"\(key)\"}\n"
            caBundle = ca
        } else {
            caBundle = nil
        }
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            let file = directory.path + "/htpasswd"
            let line = try Self.run("/usr/bin/htpasswd", ["-Bbn", user, password])
            try Data(line.utf8).write(to: URL(fileURLWithPath: file))
            config += "auth:\n  htpasswd: {realm: model-sync-test, path: \"\(file)\"}\n"
        case .token(let realm, let service, let issuer, let bundle):
            config += "auth:\n  token: {realm: \"\(realm)\", service: \"\(service)\", issuer: \"\(issuer)\", "
                + "rootcertbundle: \"\(bundle)\"}\n"
        }
        let configPath = directory.write("config.yml", config)

        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", configPath]
        let log = FileHandle(forWritingAtPath: directory.write("registry.log", []))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        guard LoopbackPort.waitForListener(port: port, timeout: 20, alive: { process.isRunning }) else {
            stop()
            let tail = String(decoding: directory.read("registry.log").suffix(2000), as: UTF8.self)
            throw RegistryStartError("docker-registry did not listen on \(host) within 20 s: \(tail)")
        }
    }

    deinit { stop() }

    /// Stops the registry (SIGKILL) and waits for it.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Where the registry keeps the bytes of blob `hex` (a SHA-256 in hex), whether or not it exists.
    public func blobPath(_ hex: String) -> String {
        storageDirectory + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// The hex digests of every blob the registry stores, in any repository.
    public func storedBlobs() -> Set<String> {
        let root = storageDirectory + "/docker/registry/v2/blobs/sha256"
        var found: Set<String> = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for hex in (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + prefix)) ?? []
            where FileManager.default.fileExists(atPath: root + "/\(prefix)/\(hex)/data") {
                found.insert(hex)
            }
        }
        return found
    }

    /// A CA, and a server certificate for 127.0.0.1 signed by it: (certificate, key, CA certificate) paths.
    private static func makeCertificates(in directory: TemporaryDirectory) throws -> (String, String, String) {
        let dir = directory.path
        let openssl = "/usr/bin/openssl"
        _ = try run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                              "-subj", "/CN=model-sync test CA", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"])
        _ = try run(openssl, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                              "-keyout", dir + "/server.key", "-out", dir + "/server.csr"])
        let extensions = directory.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _ = try run(openssl, ["x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.pem",
                              "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "2",
                              "-extfile", extensions, "-out", dir + "/server.pem"])
        return (dir + "/server.pem", dir + "/server.key", dir + "/ca.pem")
    }

    /// Runs a tool and returns its standard output; throws with its standard error when it fails.
    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let task = Process()
        task.executableURL = URL(fileURLWithPath: tool)
        task.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        task.standardOutput = output
        task.standardError = errors
        try task.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        task.waitUntilExit()
        guard task.terminationStatus == 0 else {
            throw RegistryStartError("\(tool) \(arguments.first ?? "") failed: " + String(decoding: err, as: UTF8.self))
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Why a test registry could not start.
public struct RegistryStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
