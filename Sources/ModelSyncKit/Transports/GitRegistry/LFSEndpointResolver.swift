#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// Finds the Git LFS API of a registry's remote as git-lfs does (its docs/api/server-discovery.md), and the
/// headers that authenticate there:
///
/// - `git.lfs_url` wins, with the token (`git.token_env`, user `git.username`) when one is configured;
/// - `https://host/org/repo(.git)` → `https://host/org/repo.git/info/lfs`, with the token;
/// - an SSH remote (`ssh://[user@]host[:port]/path`, `[user@]host:path`) runs
///   `ssh [-i git.ssh_key] [-p port] user@host git-lfs-authenticate <path> <operation>` and uses the `href`
///   and `header` it prints; a server without that command (exit 127, "not found") gets the guessed
///   `https://host/<path>.git/info/lfs`, with the token;
/// - local paths, `file://` and `git://` have no LFS API (nil).
///
/// The token travels only in the endpoint's headers, which the LFS client gives to the endpoint's own origin.
struct LFSEndpointResolver: Sendable {
    /// What `git-lfs-authenticate` is asked for.
    enum Operation: String, Sendable { case download, upload }

    /// What kind of place a remote URL names.
    enum RemoteKind: Equatable {
        /// A path or `file://`: no LFS API.
        case local
        /// `git://`: anonymous and read-only, no LFS API.
        case gitProtocol
        /// `http://` or `https://`.
        case http(String)
        /// SSH, as git-lfs splits it: user (nil: ssh's default), host, port (nil: 22) and the path argument.
        case ssh(user: String?, host: String, port: Int?, path: String)
    }

    /// The remote's URL (`remote`'s URL in `repo_dir`).
    let remoteURL: String
    /// `git.lfs_url`.
    let lfsURL: String?
    /// `git.token_env`'s value.
    let token: String?
    /// `git.username`, or `x-access-token`.
    let username: String
    /// `git.ssh_key`.
    let sshKey: String?
    /// The ssh program (`GIT_SSH`, else `ssh` from PATH).
    var sshProgram = "ssh"
    /// `GIT_SSH_COMMAND`: a shell command line run instead of ``sshProgram``, the arguments appended, as git
    /// and git-lfs run it.
    var sshCommand: String?
    /// How long `git-lfs-authenticate` may take.
    var sshTimeout: Double = 60

    /// Whether the remote may have an LFS API at all (`git.lfs: auto` probes only these).
    var remoteMayHaveLFS: Bool {
        switch Self.kind(of: remoteURL) {
        case .http, .ssh: return true
        case .local, .gitProtocol: return false
        }
    }

    /// Classifies `url` the way git does: a scheme, else scp-like `[user@]host:path` (no slash before the
    /// colon), else a path.
    static func kind(of url: String) -> RemoteKind {
        let lowered = url.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") { return .http(url) }
        if lowered.hasPrefix("git://") { return .gitProtocol }
        if lowered.hasPrefix("ssh://") || lowered.hasPrefix("git+ssh://") || lowered.hasPrefix("ssh+git://") {
            return sshKind(url: url)
        }
        if url.contains("://") { return .local }
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/"), url[..<colon].count > 1 {
            let authority = String(url[..<colon])
            var path = String(url[url.index(after: colon)...])
            if path.hasPrefix("/") { path.removeFirst() }
            let (user, host) = splitUser(authority)
            return .ssh(user: user, host: host, port: nil, path: path)
        }
        return .local
    }

    /// `ssh://[user@]host[:port]/path`: the path keeps its leading slash, as git-lfs passes it.
    private static func sshKind(url: String) -> RemoteKind {
        let rest = url[url.range(of: "://")!.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let (user, hostPort) = splitUser(String(rest[..<slash]))
        var host = hostPort
        var port: Int?
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]"), let number = Int(hostPort[hostPort.index(after: colon)...]) {
            host = String(hostPort[..<colon])
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let path = String(rest[slash...]).removingPercentEncoding ?? String(rest[slash...])
        return .ssh(user: user, host: host, port: port, path: path)
    }

    private static func splitUser(_ authority: String) -> (String?, String) {
        guard let at = authority.lastIndex(of: "@") else { return (nil, authority) }
        return (String(authority[..<at]), String(authority[authority.index(after: at)...]))
    }

    /// `https://host/<path>` with `.git/info/lfs` appended (or `/info/lfs` after a `.git`), as git-lfs guesses.
    static func guessedURL(base: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base.hasSuffix(".git") ? base + "/info/lfs" : base + ".git/info/lfs"
    }

    /// The endpoint for `operation`; nil when the remote has no LFS API (a path, `file://`, `git://`) and no
    /// `git.lfs_url` is set.
    func endpoint(for operation: Operation) throws -> LFSEndpoint? {
        if let lfsURL { return LFSEndpoint(url: lfsURL, headers: tokenHeaders) }
        switch Self.kind(of: remoteURL) {
        case .local, .gitProtocol:
            return nil
        case .http(let url):
            return LFSEndpoint(url: Self.guessedURL(base: Self.withoutUserInfo(url)), headers: tokenHeaders)
        case .ssh(let user, let host, let port, let path):
            if let answer = try authenticate(user: user, host: host, port: port, path: path, operation: operation) {
                return answer
            }
            let hostPart = host.contains(":") ? "[\(host)]" : host
            let separator = path.hasPrefix("/") ? "" : "/"
            return LFSEndpoint(url: Self.guessedURL(base: "https://\(hostPart)\(separator)\(path)"), headers: tokenHeaders)
        }
    }

    /// A closure the LFS client calls for fresh headers when the server's answer expired (`expires_in`,
    /// `expires_at` of `git-lfs-authenticate`) or it refuses them: SSH remotes authenticate again; a token
    /// does not change.
    func refresher(for operation: Operation) -> (@Sendable () throws -> LFSEndpoint) {
        let resolver = self
        return {
            guard let endpoint = try resolver.endpoint(for: operation) else {
                throw UsageError("the registry remote \(HTTPError.redact(resolver.remoteURL)) has no Git LFS endpoint",
                                 hint: "set model_sync.git.lfs_url")
            }
            return endpoint
        }
    }

    /// `Authorization: Basic base64(user:token)` when a token is configured.
    var tokenHeaders: [(String, String)] {
        guard let token, !token.isEmpty else { return [] }
        return [("Authorization", "Basic " + Data("\(username):\(token)".utf8).base64EncodedString())]
    }

    /// `https://user:secret@host/…` without the user information: credentials never ride in a URL here.
    static func withoutUserInfo(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }
}

extension LFSEndpointResolver {
    /// What `git-lfs-authenticate` prints: an action, as in a batch answer.
    private struct SSHAnswer: Decodable {
        let href: String
        let header: [String: String]?
        let expires_in: Int?
        let expires_at: String?
    }

    /// The ssh command line for `git-lfs-authenticate`.
    func sshArguments(user: String?, host: String, port: Int?, path: String, operation: Operation) -> [String] {
        var arguments = ["-o", "BatchMode=yes"]
        if let sshKey { arguments += ["-i", sshKey, "-o", "IdentitiesOnly=yes"] }
        if let port { arguments += ["-p", String(port)] }
        arguments += ["--", user.map { "\($0)@\(host)" } ?? host, "git-lfs-authenticate", path, operation.rawValue]
        return arguments
    }

    /// Runs `git-lfs-authenticate` over ssh. Returns nil when the server has no such command (git-lfs then
    /// guesses the HTTPS endpoint); any other failure is a remote error (exit 4) with ssh's own message.
    func authenticate(user: String?, host: String, port: Int?, path: String, operation: Operation) throws -> LFSEndpoint? {
        let arguments = sshArguments(user: user, host: host, port: port, path: path, operation: operation)
        let (status, output, errors) = try runSSH(arguments)
        let said = (String(decoding: output, as: UTF8.self) + String(decoding: errors, as: UTF8.self))
        // 127 is also what env answers when there is no ssh program at all: that is not a server without
        // the command, and says so below.
        let noProgram = said.hasPrefix("/usr/bin/env:") || said.hasPrefix("env:")
        if !noProgram && (status == 127 || (said.contains("git-lfs-authenticate") && said.contains("not found"))) {
            return nil
        }
        let what = "ssh \(user.map { "\($0)@" } ?? "")\(host) git-lfs-authenticate \(path) \(operation.rawValue)"
        guard status == 0 else {
            throw LFSEndpointError(message: "\(what) failed (exit \(status)): "
                                   + SecretScrubber.shared.scrubbedPrefix(said.trimmingCharacters(in: .whitespacesAndNewlines), maxLength: 500),
                                   hint: "check git.ssh_key, ~/.ssh/known_hosts and that the server speaks Git LFS; or set git.lfs_url")
        }
        guard let answer = try? JSONCoding.decode(SSHAnswer.self, from: output), Self.isHTTP(answer.href) else {
            throw LFSEndpointError(message: "\(what) printed no Git LFS endpoint (a JSON object with an http(s) \"href\")",
                                   hint: "set git.lfs_url to the server's LFS API")
        }
        // Headers are used as given, and only for the href's own origin (the LFS client's rule).
        let headers = (answer.header ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return LFSEndpoint(url: answer.href, headers: headers)
    }

    private static func isHTTP(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("https://") || lowered.hasPrefix("http://")
    }

    /// Runs the ssh program with `arguments`, stdin closed, at most ``sshTimeout`` seconds (then SIGKILL).
    private func runSSH(_ arguments: [String]) throws -> (Int32, [UInt8], [UInt8]) {
        let process = Process()
        if let sshCommand, !sshCommand.isEmpty {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", sshCommand + " \"$@\"", "ssh"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [sshProgram] + arguments
        }
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw LFSEndpointError(message: "cannot run \(sshProgram) for git-lfs-authenticate: \(error)",
                                   hint: "install the OpenSSH client, or set git.lfs_url")
        }
        let collected = Locked<(out: [UInt8], err: [UInt8])>(([], []))
        let group = DispatchGroup()
        for (pipe, isOutput) in [(output, true), (errors, false)] {
            group.enter()
            DispatchQueue.global().async {
                // A JSON answer is small; anything beyond 1 MiB is not one.
                let data = pipe.fileHandleForReading.readDataToEndOfFile().prefix(1 << 20)
                collected.withLock { if isOutput { $0.out = Array(data) } else { $0.err = Array(data) } }
                group.leave()
            }
        }
        if group.wait(timeout: .now() + sshTimeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw LFSEndpointError(message: "\(sshProgram) git-lfs-authenticate did not answer within \(Int(sshTimeout)) s",
                                   hint: "check the network and the SSH server; or set git.lfs_url")
        }
        process.waitUntilExit()
        let result = collected.withLock { $0 }
        return (process.terminationStatus, result.out, result.err)
    }
}

/// Finding the LFS endpoint failed on the remote's side (exit 4).
struct LFSEndpointError: ModelSyncError {
    let message: String
    let hint: String?
    var category: ErrorCategory { .remote }
}
