import Foundation

extension OCIClient {
    /// `<repository URL>/blobs/<digest>`.
    func blobURL(_ digest: Digest) -> String {
        "\(repositoryURL)/blobs/\(digest)"
    }

    /// The size of the blob `digest` in this repository (`HEAD`), nil when the registry lacks it.
    public func blobSize(_ digest: Digest) throws -> UInt64? {
        let url = blobURL(digest)
        let response = try send(HTTPRequest(method: "HEAD", url: url), scope: pullScope,
                                what: "checking blob \(digest) in \(describe)")
        switch response.status {
        case 200...299:
            return response.headers["content-length"].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        case 404:
            return nil
        default:
            // A HEAD answer has no body: one byte asked with a GET brings the registry's error codes.
            let what = "checking blob \(digest) in \(describe)"
            let probe = try send(HTTPRequest(url: url, headers: [("Range", "bytes=0-0")]), scope: pullScope, what: what)
            let answer = (200...299).contains(probe.status) || probe.status == 404 ? response : probe
            throw OCIError.answer(answer, method: "HEAD", url: url, what: what)
        }
    }

    /// The digests among `digests` that this repository lacks, checked with `HEAD`s in parallel.
    public func missingBlobs(_ digests: [Digest]) throws -> Set<Digest> {
        let unique = Array(Set(digests))
        let missing = Locked(Set<Digest>())
        try TransferWorkers().run(unique, threads: options.concurrency) { digest in
            if try self.blobSize(digest) == nil { _ = missing.withLock { $0.insert(digest) } }
        }
        return missing.withLock { $0 }
    }

    /// Uploads a small blob held in memory (a config blob) unless the repository has it; returns its digest.
    @discardableResult
    public func putBlob(bytes: [UInt8]) throws -> Digest {
        let digest = SHA256.hash(bytes)
        if try blobSize(digest) != nil { return digest }
        let what = "uploading blob \(digest) (\(bytes.count) bytes) to \(describe)"
        let session = try openUpload(what: what)
        let url = session.appending(digest: digest)
        let response = try send(HTTPRequest(method: "PUT", url: url,
                                            headers: [("Content-Type", "application/octet-stream")], body: bytes),
                                scope: pushScope, what: what)
        try expect(response, [201, 204], method: "PUT", url: url, what: what)
        return digest
    }

    /// The bytes of a small blob (a config blob), at most `maxBytes`, checked against `digest`.
    ///
    /// A larger answer is refused after reading at most `maxBytes`; bytes that do not hash to `digest` are an
    /// ``IntegrityError`` (exit 3). Redirects to blob storage are followed without the Authorization header.
    public func blobBytes(_ digest: Digest, maxBytes: Int) throws -> [UInt8] {
        let url = blobURL(digest)
        var capped = http
        capped.maxResponseBytes = maxBytes
        let what = "downloading blob \(digest) from \(describe)"
        let response: HTTPResponse
        do {
            response = try send(HTTPRequest(url: url), scope: pullScope, what: what, using: capped)
        } catch let error as OCIError where error.httpCode == .tooLarge {
            throw IntegrityError(.sizeMismatch, "blob \(digest) in \(describe) is larger than the \(maxBytes) bytes allowed")
        }
        try expect(response, [200], method: "GET", url: url, what: what)
        guard SHA256.hash(response.body) == digest else {
            throw IntegrityError(.digestMismatch, "blob \(digest) from \(describe): the registry sent bytes that hash to "
                                 + "\(SHA256.hash(response.body))",
                                 hint: "the registry or a cache in front of it serves corrupt data; report it to its operator")
        }
        return response.body
    }
}
