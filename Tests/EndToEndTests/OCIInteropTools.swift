import Foundation
import ModelSyncTestSupport

/// The other OCI tools the interoperability tests check model-sync against: the oras Python SDK (through
/// Fixtures/oci/oras_files.py, in the `make oci-venv` environment) and skopeo (Debian).
enum OCITools {
    /// A tool that failed: its command line and what it printed.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `.build/oci-venv/bin/python`, which has the oras SDK.
    static var orasPython: String { CLI.packageRoot + "/.build/oci-venv/bin/python" }

    /// Runs `tool arguments…` with `environment` added; stdout as bytes, throws with stderr on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let directory = TemporaryDirectory("oci-tool")
        let outPath = directory.write("out", []), errPath = directory.write("err", [])
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                          + String(decoding: directory.read("err").suffix(3000), as: UTF8.self))
        }
        return directory.read("out")
    }

    /// Checks that `make oci-venv` ran, so a missing SDK fails with the fix rather than a Python traceback.
    static func requireOras() throws {
        guard FileManager.default.isExecutableFile(atPath: orasPython) else {
            throw Failure(description: "the oras SDK is not installed in .build/oci-venv: run `make oci-venv`")
        }
    }

    /// `oras push` of every file under `folder`, one layer per file titled with its relative path; the
    /// manifest digest the registry answered.
    @discardableResult
    static func orasPush(_ reference: String, folder: String, dockerConfig: String? = nil) throws -> String {
        try requireOras()
        var arguments = [CLI.packageRoot + "/Fixtures/oci/oras_files.py", "push", reference, folder, "--insecure"]
        if let dockerConfig { arguments += ["--config", dockerConfig] }
        return String(decoding: try run(orasPython, arguments), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `oras pull` of `reference` into `folder` (each layer written to its title).
    static func orasPull(_ reference: String, into folder: String, dockerConfig: String? = nil) throws {
        try requireOras()
        var arguments = [CLI.packageRoot + "/Fixtures/oci/oras_files.py", "pull", reference, folder, "--insecure"]
        if let dockerConfig { arguments += ["--config", dockerConfig] }
        try run(orasPython, arguments)
    }

    /// `skopeo inspect --raw`: the manifest's bytes exactly as the registry serves them.
    static func skopeoInspectRaw(_ reference: String, authfile: String? = nil) throws -> [UInt8] {
        var arguments = ["inspect", "--raw", "--tls-verify=false"]
        if let authfile { arguments += ["--authfile", authfile] }
        return try run("/usr/bin/skopeo", arguments + ["docker://" + reference])
    }

    /// `skopeo copy` to a `dir:` folder: `manifest.json` and one file per blob, named by its hex digest.
    static func skopeoCopy(_ reference: String, toDirectory directory: String, authfile: String? = nil) throws {
        var arguments = ["copy", "--src-tls-verify=false"]
        if let authfile { arguments += ["--src-authfile", authfile] }
        try run("/usr/bin/skopeo", arguments + ["docker://" + reference, "dir:" + directory])
    }

    /// `skopeo list-tags`: the repository's tags.
    static func skopeoTags(_ repository: String, authfile: String? = nil) throws -> [String] {
        var arguments = ["list-tags", "--tls-verify=false"]
        if let authfile { arguments += ["--authfile", authfile] }
        let output = try run("/usr/bin/skopeo", arguments + ["docker://" + repository])
        let object = try JSONSerialization.jsonObject(with: Data(output)) as? [String: Any]
        return object?["Tags"] as? [String] ?? []
    }

    /// Every regular file under `folder`, by path relative to it (hidden files included).
    static func files(in folder: String) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        // A models folder is a symlink to the active generation: walk what it points to.
        let folder = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return result }
        for case let relative as String in walker {
            let path = folder + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            result[relative] = Array(data)
        }
        return result
    }

    /// A Docker config file at `directory/config.json` holding `user:password` for `registry`.
    static func dockerConfig(in directory: String, registry: String, user: String, password: String) -> String {
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/config.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(#"{"auths": {"\#(registry)": {"auth": "\#(auth)"}}}"#.utf8),
                                       attributes: [.posixPermissions: 0o600])
        return path
    }
}

extension Sandbox {
    /// Writes `<file>.yaml`: models in `models` (default `<folder>/models`), the store in `<folder>/store`
    /// (`folder` defaults to `file`), the OCI registry `registry.host/repository`, and `extra` YAML lines after
    /// the `reference` key (indented by four spaces for more `oci:` keys).
    func writeOCIConfig(_ file: String, folder: String? = nil, models: String? = nil, registry: DistributionRegistry,
                        repository: String = "org/models", extra: String = "") {
        let folder = folder ?? file
        write("\(file).yaml", """
            model_sync:
              models_dir: \(models ?? folder + "/models")
              store_dir: \(folder)/store
              oci:
                reference: "\(registry.host)/\(repository)"
            \(extra)
            """)
    }
}
