/// A manifest named on the command line: `sha256:<64 hex>`, the 64 hex alone, or a unique prefix of at
/// least 4 hex digits (as git takes short commit ids).
struct PublishedManifestReference {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    /// The one of `published` the reference names; a usage error (exit 2) when none or several do.
    func resolve(in published: [Digest]) throws -> Digest {
        let hex = (text.hasPrefix(Digest.prefix) ? String(text.dropFirst(Digest.prefix.count)) : text).lowercased()
        guard hex.count >= 4, hex.count <= 64, hex.allSatisfy(\.isHexDigit) else {
            throw UsageError("--manifest \(text.debugDescription) is not a manifest digest or a prefix of at least 4 hex digits",
                             hint: "`model-sync versions` lists the published manifests")
        }
        let matches = Set(published.filter { $0.hex.hasPrefix(hex) })
        guard let only = matches.first else {
            throw UsageError("no manifest published in the registry matches \(text)",
                             hint: "`model-sync versions` lists the published manifests")
        }
        guard matches.count == 1 else {
            let listed = matches.map(\.description).sorted().joined(separator: ", ")
            throw UsageError("--manifest \(text) matches \(matches.count) published manifests: \(listed)",
                             hint: "give more digits")
        }
        return only
    }
}
