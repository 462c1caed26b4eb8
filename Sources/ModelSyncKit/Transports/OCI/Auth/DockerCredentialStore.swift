#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// A Docker credential helper (`docker-credential-<name>`, such as `pass`, `secretservice`, `ecr-login`,
/// `gcloud`), run as docker runs it: `docker-credential-<name> get`, the registry on stdin, and
/// `{"ServerURL": …, "Username": …, "Secret": …}` on stdout. A user name of `<token>` means the secret is an
/// identity token.
struct DockerCredentialStore {
    /// The helper's name, the part after `docker-credential-`.
    let name: String
    /// The config file that names it, for messages.
    let configFile: String
    /// Seconds before a helper that does not answer is killed (some ask a keyring, which may prompt).
    var timeout: Double = 60

    private struct Answer: Decodable {
        var Username: String?
        var Secret: String?
    }

    /// The credentials the helper holds for `serverURL`, nil when it has none ("credentials not found").
    /// The helper is found on the `PATH` of `environment` and runs with that environment.
    func get(serverURL: String, environment: [String: String]) throws(OCIAuthError) -> OCICredentials? {
        // A name with a slash would run a program outside PATH, one a config file should not be able to pick.
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw failure("the credential helper name \"\(name)\" is not a plain name",
                          hint: "name it as docker does (credsStore: \"pass\" runs docker-credential-pass)")
        }
        let program = "docker-credential-" + name
        guard let executable = Self.find(program, path: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin") else {
            throw failure("\(configFile) names the credential helper \(program), which is not on PATH",
                          hint: "install \(program), or remove credsStore/credHelpers from \(configFile) "
                              + "and set oci.username and oci.password_env")
        }
        let (status, output, errors) = try run(executable, input: serverURL + "\n", environment: environment)
        guard status == 0 else {
            // docker's helpers say "credentials not found in native keychain" when they hold nothing for the host.
            if (output + errors).lowercased().contains("credentials not found") { return nil }
            let said = String((errors.isEmpty ? output : errors).trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))
            throw failure("\(program) get failed for \(serverURL) (exit \(status))" + (said.isEmpty ? "" : ": \(said)"),
                          hint: "run `echo \(serverURL) | \(program) get` to see why, or `docker login \(serverURL)` again")
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(output.utf8)),
              let secret = answer.Secret, !secret.isEmpty else {
            throw failure("\(program) get answered something that is not {\"Username\", \"Secret\"} for \(serverURL)",
                          hint: "check the helper with `echo \(serverURL) | \(program) get`")
        }
        let username = answer.Username ?? ""
        if username == "<token>" {
            return OCICredentials(username: username, password: "", identityToken: secret, origin: .credentialHelper(name: name))
        }
        return OCICredentials(username: username, password: secret, origin: .credentialHelper(name: name))
    }

    private func failure(_ message: String, hint: String) -> OCIAuthError {
        OCIAuthError(.credentialHelper, message, hint: hint)
    }

    /// The first executable file named `program` in the `:`-separated `path`.
    static func find(_ program: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs the helper to its end or its timeout: its exit status, stdout and stderr.
    private func run(_ executable: String, input: String, environment: [String: String])
        throws(OCIAuthError) -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["get"]
        process.environment = environment
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw failure("cannot run \(executable): \(error.localizedDescription)",
                          hint: "check that \(executable) is an executable program")
        }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        // Both pipes are drained on their own threads so a helper that writes a lot never blocks on a full pipe.
        let collected = Locked<[Int: Data]>([:])
        let group = DispatchGroup()
        for (index, pipe) in [stdout, stderr].enumerated() {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.withLock { $0[index] = data }
                group.leave()
            }
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw failure("\(executable) get did not answer within \(Int(timeout)) s",
                          hint: "unlock the keyring it reads, or check it with `\(executable) get`")
        }
        process.waitUntilExit()
        let streams = collected.withLock { $0 }
        return (process.terminationStatus, String(decoding: streams[0] ?? Data(), as: UTF8.self),
                String(decoding: streams[1] ?? Data(), as: UTF8.self))
    }
}
