import Foundation

extension LFSClient {
    /// Which of `objects` the server lacks, from an upload batch; their upload actions are remembered for
    /// ``upload(_:from:)``. An object the server reports an error for is an ``LFSError`` with its message.
    public func missingObjects(_ objects: [LFSObject]) throws -> Set<Digest> {
        var seen = Set<Digest>()
        let wanted = objects.filter { $0.size > 0 && seen.insert($0.oid).inserted }
        guard !wanted.isEmpty else { return [] }
        let results = try batch(.upload, wanted)
        var missing = Set<Digest>()
        var remembered: [Digest: [String: LFSAction]] = [:]
        for object in wanted {
            let actions = try uploadActions(object, in: results)
            if actions["upload"] != nil {
                missing.insert(object.oid)
                remembered[object.oid] = actions
            }
        }
        uploadActions.withLock { $0.merge(remembered) { _, new in new } }
        return missing
    }

    /// Uploads the entries the server lacks, each verified through `outgoing` just before it is sent.
    ///
    /// Objects the server already holds are not sent (their bytes still count as done for the progress).
    /// Each upload is a PUT streamed from the store's file, followed by the `verify` call when the server
    /// offers one. Returns the objects and bytes actually sent.
    @discardableResult
    public func upload(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs) throws -> (objects: Int, bytes: UInt64) {
        let unique = Self.distinct(entries)
        var plans: [(ManifestEntry, [String: LFSAction])] = []
        let remembered = uploadActions.withLock { actions in
            actions.filter { !($0.value["upload"]?.hasExpired() ?? true) }
        }
        let unknown = unique.filter { remembered[$0.digest] == nil }
        let results = try batch(.upload, unknown.map(LFSObject.init))
        for entry in unique {
            let actions = try remembered[entry.digest] ?? uploadActions(LFSObject(entry), in: results)
            if actions["upload"] != nil {
                plans.append((entry, actions))
            } else {
                outgoing.sent(Int64(entry.size))
            }
        }
        let workers = TransferWorkers()
        try workers.run(plans.map { Plan(entry: $0.0, actions: $0.1) }, threads: concurrency) { plan in
            try self.upload(plan.entry, actions: plan.actions, from: outgoing, workers: workers)
            _ = self.uploadActions.withLock { $0.removeValue(forKey: plan.entry.digest) }
        }
        return (plans.count, plans.reduce(0) { $0 + $1.0.size })
    }

    /// One object to send and the actions the server gave for it.
    private struct Plan: Sendable {
        let entry: ManifestEntry
        let actions: [String: LFSAction]
    }

    /// The actions for `object` in an upload batch's results, its error turned into an ``LFSError``.
    private func uploadActions(_ object: LFSObject, in results: [Digest: LFSBatchResult]) throws -> [String: LFSAction] {
        switch results[object.oid] {
        case .actions(let actions):
            if let upload = actions["upload"] { _ = try headers(for: upload, of: object) }
            return actions
        case .error(let code, let message):
            throw LFSError(.objectError, "the LFS server at \(describeEndpoint) refused object \(object.oid) "
                           + "(\(object.size) bytes): \(code.map { "error \($0): " } ?? "")\(message)",
                           hint: code.flatMap(Self.hint(status:)))
        case nil:
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) did not answer for object \(object.oid)")
        }
    }

    /// Verifies, PUTs and verifies on the server one object; an action that expired or whose href refuses
    /// its credentials is replaced by a new batch call (twice at most).
    private func upload(_ entry: ManifestEntry, actions given: [String: LFSAction], from outgoing: OutgoingBlobs,
                        workers: TransferWorkers) throws {
        if workers.isCancelled { throw TransferCancelled() }
        let blob = try outgoing.verified(entry)
        let object = LFSObject(entry)
        var actions = given
        var refreshes = 0
        while true {
            if actions["upload"]?.hasExpired() ?? false {
                actions = try freshUploadActions(object)
            }
            guard let action = actions["upload"] else {
                outgoing.sent(Int64(entry.size))  // another publisher sent it meanwhile
                return
            }
            var headers = try headers(for: action, of: object)
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                headers.append(("Content-Type", "application/octet-stream"))
            }
            let response: HTTPResponse
            // The bytes this PUT reported, taken back if the server refuses it.
            let reported = Locked<Int64>(0)
            do {
                response = try http.upload(url: action.href, headers: headers, file: blob.path, size: blob.size,
                                           stallTimeout: stallTimeout,
                                           progress: { count in
                                               reported.withLock { $0 += count }
                                               outgoing.sent(count)
                                           },
                                           isCancelled: { workers.isCancelled })
            } catch {
                outgoing.sent(-reported.withLock { $0 })
                if workers.isCancelled { throw TransferCancelled() }
                throw LFSError(.transfer, "uploading object \(object.oid) to the LFS server at \(describeEndpoint) "
                               + "failed: \(scrub(error.message, headers: action.header))", hint: error.hint)
            }
            if (200...299).contains(response.status) { break }
            outgoing.sent(-reported.withLock { $0 })
            if response.status == 401 || response.status == 403, refreshes < 2 {
                refreshes += 1
                actions = try freshUploadActions(object)
                continue
            }
            throw LFSError(.transfer, "the LFS server at \(describeEndpoint) refused the upload of object \(object.oid) "
                           + "(\(object.size) bytes): \(scrub(statusText(response), headers: action.header))",
                           hint: Self.hint(status: response.status))
        }
        if let verify = actions["verify"] { try self.verify(object, with: verify) }
    }

    /// A new upload batch for one object.
    private func freshUploadActions(_ object: LFSObject) throws -> [String: LFSAction] {
        try uploadActions(object, in: batch(.upload, [object]))
    }

    /// `POST <verify href>` with the object's oid and size: the server confirms it holds the bytes.
    private func verify(_ object: LFSObject, with action: LFSAction) throws {
        var headers = try headers(for: action, of: object)
        headers.removeAll { ["accept", "content-type"].contains($0.0.lowercased()) }
        headers += [("Accept", Self.mediaType), ("Content-Type", Self.mediaType)]
        let body = Array(#"{"oid":"\#(object.oid.hex)","size":\#(object.size)}"#.utf8)
        let response: HTTPResponse
        do {
            response = try http.send(HTTPRequest(method: "POST", url: action.href, headers: headers, body: body))
        } catch {
            throw LFSError(.transfer, "verifying object \(object.oid) on the LFS server at \(describeEndpoint) "
                           + "failed: \(scrub(error.message, headers: action.header))", hint: error.hint)
        }
        guard (200...299).contains(response.status) else {
            throw LFSError(.transfer, "the LFS server at \(describeEndpoint) did not verify object \(object.oid) after "
                           + "its upload: \(scrub(statusText(response), headers: action.header))")
        }
    }
}
