import Foundation

/// Where the registry keeps things inside the repository, under `repo_models_subdir` (DESIGN.md):
///
/// ```
/// models/manifests/sha256/<64 hex>.json
/// models/objects/sha256/ab/<64 hex>
/// models/channels/latest            (the newest manifest's digest, one line)
/// ```
public struct RegistryLayout: Sendable, Hashable {
    /// The subdirectory (`repo_models_subdir`), without leading or trailing slashes; empty means the root.
    public let subdir: String

    /// A layout under `subdir` (slashes at either end are ignored).
    public init(subdir: String) {
        self.subdir = subdir.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    private func under(_ path: String) -> String { subdir.isEmpty ? path : subdir + "/" + path }

    /// The channel publishers move and clients follow.
    public static let latest = "latest"

    /// `<subdir>/channels/latest`.
    public var latestChannel: String { channelPath(Self.latest) }
    /// `<subdir>/channels/<name>`.
    public func channelPath(_ name: String) -> String { under("channels/" + name) }
    /// `<subdir>/manifests/sha256`.
    public var manifestsDirectory: String { under("manifests/sha256") }
    /// `<subdir>/objects/sha256`.
    public var objectsDirectory: String { under("objects/sha256") }

    /// `<subdir>/manifests/sha256/<hex>.json`.
    public func manifestPath(_ digest: Digest) -> String { manifestsDirectory + "/\(digest.hex).json" }
    /// `<subdir>/objects/sha256/<ab>/<hex>`.
    public func objectPath(_ digest: Digest) -> String { objectsDirectory + "/\(digest.fanout)/\(digest.hex)" }

    /// `<subdir>/<signature file's relative path>` (`manifests/sha256/<hex>.sig.json`, `channels/<name>.release.json`).
    public func signaturePath(_ file: SignatureFile) -> String { under(file.relativePath) }

    /// The text of `channels/latest` for a manifest: its digest and a newline.
    public static func channelText(_ digest: Digest) -> [UInt8] { Array((digest.description + "\n").utf8) }

    /// Parses `channels/latest`: one digest, surrounding whitespace ignored (a hand edit may drop the newline).
    public static func parseChannel(_ bytes: [UInt8]) throws -> Digest {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try Digest(parsing: text)
        } catch {
            throw IntegrityError(.invalidManifest, "channels/latest holds \"\(SecretScrubber.shared.scrubbedPrefix(text, maxLength: 80))\", not a manifest digest",
                                 hint: "it must hold one line: sha256:<64 hex>")
        }
    }
}
