import Foundation
import Testing
@testable import ModelSyncKit

@Suite("planning a download")
struct DownloadPlanTests {
    @Test("jobs go largest object first, ties in manifest order, each object's segments together")
    func largestFirst() throws {
        let directory = TemporaryDirectory()
        let store = try Store.open(at: directory.path + "/store", lockTimeout: 1)
        let sizes: [(String, UInt64)] = [("a", 500), ("b", 5000), ("c", 2000), ("d", 500), ("e", 999)]
        let entries = sizes.map { name, size in
            ManifestEntry(path: name, size: size, digest: SHA256.hash(Array(name.utf8)))
        }
        let sink = BlobSink(objects: store.objects, total: entries.reduce(0) { $0 + $1.size }, progress: nil)
        let jobs = try DownloadJob.plan(entries, threshold: 1000, minimum: 100, count: 4, sink: sink)
        defer { for case .segment(let download, _) in jobs { download.abandonIfUnfinished() } }
        let order = jobs.map { job -> String in
            switch job {
            case .whole(let entry): entry.path
            case .segment(let download, _): download.entry.path
            }
        }
        #expect(order == ["b", "b", "b", "b", "c", "c", "c", "c", "e", "a", "d"])
        let segments = jobs.compactMap { job -> Int? in
            if case .segment(_, let index) = job { return index }
            return nil
        }
        #expect(segments == [0, 1, 2, 3, 0, 1, 2, 3])
    }
}
