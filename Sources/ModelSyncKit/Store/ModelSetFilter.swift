/// What of a models folder becomes part of a published set: everything but secrets (built in: `.env*`,
/// private keys and credential files) and what the folder's `.modelsyncignore` (gitignore syntax) leaves out.
/// The ignore file can re-include a built-in exclusion with `!pattern`.
///
/// `publish`, `import` and `pack` use it; activating an existing folder for the first time does not (nothing
/// in a user's folder is ever dropped from a set without a publish).
struct ModelSetFilter: Sendable {
    /// The ignore file at the models folder's root.
    static let ignoreFileName = ".modelsyncignore"
    /// Files that hold secrets and never belong in a set that travels to other machines.
    static let secretPatterns = [
        ".env", ".env.*", "*.pem", "*.key", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.p12", "*.pfx",
        ".netrc", ".git-credentials", ".pgpass", ".npmrc", ".pypirc",
    ]
    /// The largest ignore file read.
    static let maxIgnoreFileBytes = 1 << 20

    /// Why a file was left out.
    typealias Exclusion = ModelSetExclusion

    private let rules: IgnoreRules

    /// The filter for the models folder at `root`: the built-in rules, then `root/.modelsyncignore` when it
    /// exists. An ignore file that is not a readable UTF-8 regular file is a usage error naming it.
    init(root: String) throws {
        let path = root + "/" + Self.ignoreFileName
        var rules = IgnoreRules(patterns: Self.secretPatterns + ["/" + Self.ignoreFileName], builtIn: true)
        if let info = try FileSystem.status(path) {
            guard FileSystem.isRegular(info), info.st_size <= Self.maxIgnoreFileBytes,
                  let text = String(validating: try FileSystem.readAll(path), as: UTF8.self) else {
                throw UsageError("\(path) is not a UTF-8 text file of at most 1 MiB",
                                 hint: "write one gitignore pattern per line, or remove it")
            }
            rules = rules.followed(by: IgnoreRules(parsing: text))
        }
        self.rules = rules
    }

    /// Why `path` is left out of the set, or nil when it is part of it.
    func exclusion(for path: String) -> Exclusion? {
        var matcher = matcher()
        return matcher.exclusion(for: path)
    }

    /// A matcher for many paths of one walk: it remembers each folder's verdict, so the files of a folder
    /// cost one match of their own name each.
    func matcher() -> Matcher {
        Matcher(rules: rules)
    }

    /// Matches paths against the filter's rules, remembering folder verdicts.
    struct Matcher {
        let rules: IgnoreRules
        private var folders: [Substring: IgnoreRules.Rule?] = [:]

        init(rules: IgnoreRules) {
            self.rules = rules
        }

        /// Why `path` is left out of the set, or nil when it is part of it.
        mutating func exclusion(for path: String) -> Exclusion? {
            guard let rule = excludingRule(for: path) else { return nil }
            let isIgnoreFile = rule.source == "/" + ModelSetFilter.ignoreFileName
            return Exclusion(path: path, pattern: rule.source, isSecret: rule.builtIn && !isIgnoreFile)
        }

        private mutating func excludingRule(for path: String) -> IgnoreRules.Rule? {
            // Split on the byte `/` (never part of a longer UTF-8 sequence): splitting by Characters was most
            // of the filter's cost on a large folder.
            let pieces = path.utf8.split(separator: UInt8(ascii: "/"))
            let segments = pieces.map { String(Substring($0)) }
            guard !segments.isEmpty else { return nil }
            // A file below an excluded folder is excluded whatever its own name (git's rule).
            for depth in 1..<segments.count {
                let folder = path[path.startIndex..<pieces[depth - 1].endIndex]
                let verdict: IgnoreRules.Rule?
                if let known = folders[folder] {
                    verdict = known
                } else {
                    verdict = rules.excludingFolderRule(Array(segments[0..<depth]))
                    folders[folder] = verdict
                }
                if let verdict { return verdict }
            }
            return rules.excludingFileRule(segments)
        }
    }
}

/// A file of a models folder left out of its set, and why.
public struct ModelSetExclusion: Sendable, Equatable, Encodable {
    /// The file's path below the models folder.
    public let path: String
    /// The pattern that left it out, as written.
    public let pattern: String
    /// True for a built-in secret pattern: worth a warning, since the user did not ask for it.
    public let isSecret: Bool

    enum CodingKeys: String, CodingKey {
        case path, pattern, isSecret = "secret"
    }
}
