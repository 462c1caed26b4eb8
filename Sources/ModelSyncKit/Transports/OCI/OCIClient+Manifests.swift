import Foundation

extension OCIClient {
    /// The media types a manifest GET accepts: OCI manifests and indexes, and Docker's for reading.
    static let manifestAccept = [OCIImageManifest.mediaType, OCIImageManifest.indexMediaType,
                                 OCIImageManifest.dockerMediaType, OCIImageManifest.dockerListMediaType]
        .joined(separator: ", ")

    /// `<repository URL>/manifests/<reference>`, the reference checked to be a tag or a digest (anything
    /// else could reach other paths of the registry).
    func manifestURL(_ reference: String) throws -> String {
        let isDigest = reference.hasPrefix(Digest.prefix) && (try? Digest(parsing: reference)) != nil
        guard isDigest || OCIReference.isTag(reference) else {
            throw OCIError(.invalidReference, "\"\(reference.prefix(140))\" is neither a tag nor a sha256 digest",
                           hint: "tags are letters, digits, _, . and - (at most 128, not starting with . or -)",
                           category: .usage)
        }
        return "\(repositoryURL)/manifests/\(reference)"
    }

    /// The manifest a tag or `sha256:<hex>` names, nil when the registry has none (404).
    ///
    /// At most ``OCIClientOptions/maxManifestBytes`` are read: a larger manifest is refused
    /// (``OCIError/Code/manifestTooLarge``, exit 3). The digest is the SHA-256 of the bytes received; when
    /// the reference is a digest, or the registry names one (`Docker-Content-Digest`), the bytes must
    /// match it (``IntegrityError``).
    public func manifest(_ reference: String) throws -> OCIStoredManifest? {
        let url = try manifestURL(reference)
        var capped = http
        capped.maxResponseBytes = max(0, options.maxManifestBytes)
        let what = "fetching manifest \(reference) of \(describe)"
        let response: HTTPResponse
        do {
            response = try send(HTTPRequest(url: url, headers: [("Accept", Self.manifestAccept)]), scope: pullScope,
                                what: what, using: capped)
        } catch let error as OCIError where error.httpCode == .tooLarge {
            throw manifestTooLarge(reference)
        }
        if response.status == 404 { return nil }
        try expect(response, [200], method: "GET", url: url, what: what)
        let digest = SHA256.hash(response.body)
        var claimed: [String] = []
        if reference.hasPrefix(Digest.prefix) { claimed.append(reference) }
        if let header = response.headers["docker-content-digest"], header.hasPrefix(Digest.prefix) { claimed.append(header) }
        for claim in claimed where claim != digest.description {
            throw IntegrityError(.digestMismatch, "manifest \(reference) of \(describe): the registry sent bytes that hash to "
                                 + "\(digest), not \(claim.prefix(80))",
                                 hint: "the registry or a cache in front of it serves corrupt data; report it to its operator")
        }
        return OCIStoredManifest(bytes: response.body, mediaType: Self.mediaType(of: response), digest: digest)
    }

    /// The answer's `Content-Type` without parameters; when it is missing or generic (`application/json`,
    /// as some caches serve it), the manifest's own `mediaType` field.
    static func mediaType(of response: HTTPResponse) -> String {
        let header = response.headers["content-type"]
            .map { String($0.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard header.isEmpty || header == "application/json" || header == "text/plain" else { return header }
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return (object?["mediaType"] as? String) ?? header
    }

    private func manifestTooLarge(_ reference: String) -> OCIError {
        OCIError(.manifestTooLarge, "manifest \(reference) of \(describe) is larger than the \(options.maxManifestBytes) bytes "
                 + "model-sync accepts; refused", hint: "the registry serves something that is not a model set's "
                 + "manifest; check model_sync.oci.reference and the tag", category: .integrity)
    }

    /// Pushes a manifest under `reference` (a tag, or its own digest) with `mediaType` as its `Content-Type`;
    /// returns its digest. The blobs it names must already be in the repository.
    @discardableResult
    public func putManifest(_ bytes: [UInt8], mediaType: String, reference: String) throws -> Digest {
        let url = try manifestURL(reference)
        let digest = SHA256.hash(bytes)
        if reference.hasPrefix(Digest.prefix), reference != digest.description {
            throw OCIError(.invalidReference, "manifest pushed under \(reference) has the digest \(digest)", category: .unexpected)
        }
        let what = "pushing manifest \(reference) to \(describe)"
        let response = try send(HTTPRequest(method: "PUT", url: url, headers: [("Content-Type", mediaType)], body: bytes),
                                scope: pushScope, what: what)
        try expect(response, [200, 201, 202, 204], method: "PUT", url: url, what: what)
        if let header = response.headers["docker-content-digest"], header.hasPrefix(Digest.prefix),
           header != digest.description {
            throw OCIError(.invalidAnswer, "\(what): the registry stored it as \(header.prefix(80)), not \(digest)")
        }
        return digest
    }

    /// Deletes the manifest `digest` (and so every tag naming it); a manifest already gone is not an error.
    public func deleteManifest(_ digest: Digest) throws {
        let url = try manifestURL(digest.description)
        let what = "deleting manifest \(digest) of \(describe)"
        let response = try send(HTTPRequest(method: "DELETE", url: url), scope: deleteScope, what: what)
        // Gone already (MANIFEST_UNKNOWN): what a delete wants. An unknown repository is a wrong reference.
        if response.status == 404, !OCIError.parseErrors(response.body).contains(where: { $0.code == "NAME_UNKNOWN" }) {
            return
        }
        try expect(response, [200, 202, 204], method: "DELETE", url: url, what: what)
    }

    /// Every tag of the repository (`GET …/tags/list`), following the `Link` header's pages; empty for a
    /// repository the registry does not know yet.
    public func tags() throws -> [String] {
        var url: String? = "\(repositoryURL)/tags/list?n=\(max(1, options.tagsPageSize))"
        var tags: [String] = []
        var visited = Set<String>()
        while let current = url {
            guard visited.insert(current).inserted, visited.count <= 10_000 else {
                throw OCIError(.invalidAnswer, "listing the tags of \(describe) failed: the registry's pages loop")
            }
            let what = "listing the tags of \(describe)"
            let response = try send(HTTPRequest(url: current), scope: pullScope, what: what)
            if response.status == 404, OCIError.parseErrors(response.body).contains(where: { $0.code == "NAME_UNKNOWN" }) {
                return []
            }
            try expect(response, [200], method: "GET", url: current, what: what)
            guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
                throw OCIError(.invalidAnswer, "\(what) failed: the registry's answer is not a JSON object")
            }
            // A repository with no tag left answers "tags": null.
            tags += (object["tags"] as? [String]) ?? []
            url = try Self.nextPage(response.headers["link"]).map { try resolve($0, against: current) }
        }
        return tags
    }

    /// The target of `rel="next"` in a `Link` header (`</v2/x/tags/list?n=2&last=b>; rel="next"`).
    static func nextPage(_ header: String?) -> String? {
        guard let header else { return nil }
        for link in header.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isNext = parts.dropFirst().contains { $0.replacingOccurrences(of: "\"", with: "").lowercased() == "rel=next" }
            if isNext { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }
}
