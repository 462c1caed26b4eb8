import Foundation

extension LFSClient {
    /// A download batch for `objects`: throws IntegrityError(.missingObject) naming the first the server
    /// cannot serve, with the server's message; remembers the actions for `download`.
    ///
    /// A per-object error other than 404/410 (not there) is an ``LFSError`` with the server's message.
    public func checkDownloadable(_ objects: [LFSObject]) throws {
        var seen = Set<Digest>()
        let wanted = objects.filter { $0.size > 0 && seen.insert($0.oid).inserted }
        guard !wanted.isEmpty else { return }
        let results = try batch(.download, wanted)
        var actions: [Digest: LFSAction] = [:]
        for object in wanted {
            switch results[object.oid] {
            case .error(let code, let message) where code == 404 || code == 410:
                throw IntegrityError(.missingObject,
                                     "object \(object.oid) (\(object.size) bytes) is not on the LFS server at "
                                     + "\(describeEndpoint): \(message)",
                                     hint: "publish the model set again from a machine whose store holds it")
            case .error(let code, let message):
                throw LFSError(.objectError, "the LFS server at \(describeEndpoint) cannot serve object \(object.oid)"
                               + ": \(code.map { "error \($0): " } ?? "")\(message)", hint: code.flatMap(Self.hint(status:)))
            case .actions(let given):
                guard let download = given["download"] else {
                    throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) gave no download action "
                                   + "for object \(object.oid)")
                }
                _ = try headers(for: download, of: object)
                actions[object.oid] = download
            case nil:
                throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) did not answer for object \(object.oid)")
            }
        }
        downloadActions.withLock { $0.merge(actions) { _, new in new } }
    }

    /// Downloads `entries` into `sink`, in parallel, each verified before it is stored.
    ///
    /// Objects without a remembered, unexpired action are asked for in one batch first. An object of at
    /// least ``segmentThreshold`` bytes is fetched as several byte ranges at once (``SegmentedDownload``);
    /// every transfer, whole object or segment, shares the `concurrency` threads. The first failure stops
    /// the others and is rethrown (an integrity failure as is: exit 3, the blob never enters the store).
    public func download(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        var seen = Set<Digest>()
        let unique = entries.filter { seen.insert($0.digest).inserted }
        let stale = downloadActions.withLock { actions in
            unique.filter { $0.size > 0 && actions[$0.digest].map { $0.hasExpired() } ?? true }
        }
        try checkDownloadable(stale.map(LFSObject.init))
        let jobs = try DownloadJob.plan(unique, threshold: segmentThreshold, minimum: minimumSegment,
                                        count: concurrency, sink: sink)
        let workers = TransferWorkers()
        defer { for case .segment(let download, _) in jobs { download.abandonIfUnfinished() } }
        try workers.run(jobs, threads: concurrency) { job in
            switch job {
            case .whole(let entry): try self.download(entry, into: sink, workers: workers)
            case .segment(let download, let index): try self.fetch(segment: index, of: download, workers: workers)
            }
        }
    }

    /// One object, from open to finish; on failure the temp file is removed and the entry marked.
    func download(_ entry: ManifestEntry, into sink: BlobSink, workers: TransferWorkers) throws {
        let blob = try sink.open(entry)
        do {
            if entry.size > 0 { try transfer(LFSObject(entry), into: blob, workers: workers) }
            try blob.finish()
            _ = downloadActions.withLock { $0.removeValue(forKey: entry.digest) }
        } catch {
            blob.abandon()
            if !(error is TransferCancelled) { sink.markFailed(entry) }
            throw error
        }
    }

    /// Fetches segment `index` of `download` through the object's download action; the job that stores the
    /// object forgets the action.
    func fetch(segment index: Int, of download: SegmentedDownload, workers: TransferWorkers) throws {
        let stored = try download.fetch(segment: index, rangesIgnored: rangesIgnored, workers: workers, range: { range, stream in
            try withAction(for: LFSObject(download.entry)) { action, headers in
                try http.stream(url: action.href, headers: headers, range: range, stallTimeout: stallTimeout, into: stream)
            }
        }, whole: {
            try self.download(download.entry, into: download.sink, workers: workers)
        })
        if stored { _ = downloadActions.withLock { $0.removeValue(forKey: download.entry.digest) } }
    }

    /// Streams the object's bytes into `blob`, resuming from what it holds.
    private func transfer(_ object: LFSObject, into blob: IncomingBlob, workers: TransferWorkers) throws {
        try withAction(for: object) { action, headers in
            try http.stream(url: action.href, headers: headers, stallTimeout: stallTimeout,
                            into: IncomingBlobStream(blob: blob, workers: workers))
        }
    }

    /// Runs `body` with the object's action and headers; an action that expired or whose href refuses its
    /// credentials is replaced by a new batch call (twice at most). HTTP failures become ``LFSError``s.
    func withAction(for object: LFSObject, _ body: (LFSAction, [(String, String)]) throws -> Void) throws {
        var refreshes = 0
        while true {
            let action = try downloadAction(for: object)
            let headers = try headers(for: action, of: object)
            do {
                try body(action, headers)
                return
            } catch let error as HTTPError {
                if let status = error.code.status, status == 401 || status == 403, refreshes < 2 {
                    refreshes += 1
                    _ = downloadActions.withLock { $0.removeValue(forKey: object.oid) }
                    continue
                }
                throw LFSError(.transfer, "downloading object \(object.oid) from the LFS server at \(describeEndpoint) "
                               + "failed: \(scrub(error.message, headers: action.header))", hint: error.hint)
            }
        }
    }

    /// The remembered action for `object`, or a fresh one from a new batch call when it expired.
    private func downloadAction(for object: LFSObject) throws -> LFSAction {
        if let action = downloadActions.withLock({ $0[object.oid] }), !action.hasExpired() { return action }
        try checkDownloadable([object])
        guard let action = downloadActions.withLock({ $0[object.oid] }) else {
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) gave no download action for object \(object.oid)")
        }
        return action
    }
}
