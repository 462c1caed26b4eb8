import Foundation
import Testing
@testable import ModelSyncKit

/// The LFS client against giftless, a real Git LFS server, on 127.0.0.1.
@Suite("LFS client against giftless")
struct LFSGiftlessTests {
    func client(_ server: GiftlessServer, concurrency: Int = 4) -> LFSClient {
        LFSClient(endpoint: server.endpoint, http: HTTPClient(connectTimeout: 5, requestTimeout: 30, maxAttempts: 3,
                                                              sleep: { _ in }),
                  concurrency: concurrency, stallTimeout: 10)
    }

    @Test("objects uploaded in parallel come back byte for byte; a second upload sends nothing")
    func roundTrip() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([3 << 20, 1, 70_000, 5_000, 1 << 20, 123_457])
        let client = client(server)
        #expect(try client.missingObjects(entries.map(LFSObject.init)) == Set(entries.map(\.digest)))
        let sent = try client.upload(entries, from: fixture.outgoing(entries))
        #expect(sent.objects == entries.count)
        #expect(sent.bytes == entries.reduce(0) { $0 + $1.size })
        for entry in entries {
            #expect(server.storedObject(entry.digest) == LFSFixture.bytes(fixture.source, entry.digest))
        }

        let again = try self.client(server).upload(entries, from: fixture.outgoing(entries))
        #expect(again.objects == 0 && again.bytes == 0)
        #expect(try client.missingObjects(entries.map(LFSObject.init)).isEmpty)

        let puller = self.client(server, concurrency: 3)
        try puller.checkDownloadable(entries.map(LFSObject.init))
        let sink = fixture.sink(entries)
        try puller.download(entries, into: sink)
        #expect(sink.insertions.count == entries.count)
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.destination, entry.digest) == LFSFixture.bytes(fixture.source, entry.digest))
        }
    }

    /// giftless 0.6.2 serves every GET with a 200 and the whole body, ignoring Range: a client cutting
    /// large objects into ranges learns it on the first one and fetches each object in one stream.
    @Test("large objects from giftless, which ignores Range, arrive in one stream each and verify")
    func segmentsFallBackOnGiftless() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([3 << 20, 2 << 20, 5_000])
        try client(server).upload(entries, from: fixture.outgoing(entries))
        let puller = LFSClient(endpoint: server.endpoint,
                               http: HTTPClient(connectTimeout: 5, requestTimeout: 30, maxAttempts: 3, sleep: { _ in }),
                               concurrency: 4, stallTimeout: 10, segmentThreshold: 1 << 20, minimumSegment: 256 << 10)
        let sink = fixture.sink(entries)
        try puller.download(entries, into: sink)
        #expect(puller.rangesIgnored.withLock { $0 })
        #expect(Set(sink.insertions.map(\.digest)) == Set(entries.map(\.digest)))
        for entry in entries {
            #expect(LFSFixture.bytes(fixture.destination, entry.digest) == LFSFixture.bytes(fixture.source, entry.digest))
        }
        let tmp = try FileManager.default.contentsOfDirectory(atPath: fixture.destination.objects.layout.tmp)
        #expect(tmp.isEmpty)
    }

    @Test("only the objects the server lacks are uploaded")
    func uploadsOnlyMissing() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([10_000, 20_000, 30_000, 40_000])
        try client(server).upload(Array(entries.prefix(2)), from: fixture.outgoing(entries))
        let sent = try client(server).upload(entries, from: fixture.outgoing(entries))
        #expect(sent.objects == 2)
        #expect(sent.bytes == 70_000)
    }

    @Test("an object the server does not hold is a missing object (exit 3) naming it, alone or among known ones")
    func missingObject() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([1_000, 2_000])
        try client(server).upload([entries[0]], from: fixture.outgoing(entries))
        for asked in [[entries[1]], entries] {
            let error = #expect(throws: IntegrityError.self) {
                try client(server).checkDownloadable(asked.map(LFSObject.init))
            }
            #expect(error?.code == .missingObject)
            #expect(error?.message.contains(entries[1].digest.description) == true)
            #expect(error?.category.exitCode == 3)
        }
    }

    @Test("refused credentials name git.token_env and never show the token")
    func refusedCredentials() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([1_000])
        let secret = "not-a-valid-jwt-0123456789"
        let client = LFSClient(endpoint: LFSEndpoint(url: server.url, headers: [("Authorization", "Bearer \(secret)")]),
                               http: HTTPClient(maxAttempts: 1))
        let error = #expect(throws: LFSError.self) { try client.upload(entries, from: fixture.outgoing(entries)) }
        #expect(error?.code == .authentication)
        #expect(error?.category.exitCode == 4)
        #expect(error?.hint?.contains("git.token_env") == true)
        #expect(error.map { !$0.message.contains(secret) && !($0.hint ?? "").contains(secret) } == true)
    }

    @Test("credentials the server refuses are replaced once through refreshEndpoint")
    func refreshedEndpoint() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let entries = try fixture.blobs([5_000])
        let refreshes = Locked(0)
        let client = LFSClient(endpoint: LFSEndpoint(url: server.url, headers: [("Authorization", "Bearer expired-0123456789")]),
                               http: HTTPClient(maxAttempts: 1), refreshEndpoint: { [endpoint = server.endpoint] in
                                   refreshes.withLock { $0 += 1 }
                                   return endpoint
                               })
        #expect(try client.upload(entries, from: fixture.outgoing(entries)).objects == 1)
        #expect(refreshes.withLock { $0 } == 1)
        #expect(server.storedObject(entries[0].digest) != nil)
    }

    @Test("the endpoint answers the batch API; a plain web server does not")
    func probe() throws {
        let server = try GiftlessServer()
        #expect(client(server).answersBatchAPI())
        let web = try LoopbackHTTPServer()
        let plain = LFSClient(endpoint: LFSEndpoint(url: web.baseURL + "/org/repo.git/info/lfs"), http: HTTPClient(maxAttempts: 1))
        #expect(!plain.answersBatchAPI())
    }

    @Test("objects pushed by the git-lfs CLI are downloaded by the client")
    func gitLFSPushInterop() throws {
        let server = try GiftlessServer()
        let fixture = try LFSFixture()
        let work = fixture.directory.path + "/work"
        let bytes = pseudoRandomBytes(count: 2_500_000, seed: 77)
        fixture.directory.write("work/model.bin", bytes)
        let lfsURL = "http://_jwt:\(server.token)@127.0.0.1:\(server.port)/\(server.repository)"
        for command in [
            "git init -q -b main . && git lfs install --local >/dev/null",
            "git config user.email t@example.com && git config user.name t",
            "git lfs track '*.bin' >/dev/null && git add .gitattributes model.bin && git commit -q -m models",
            "git init -q --bare ../remote.git && git remote add origin ../remote.git",
            "git config lfs.url '\(lfsURL)' && git lfs push origin main",
        ] {
            #expect(try shell(command, in: work) == 0, "\(command) failed")
        }
        let entry = LFSFixture.entry(for: bytes, path: "model.bin")
        let sink = fixture.sink([entry])
        try client(server).download([entry], into: sink)
        #expect(LFSFixture.bytes(fixture.destination, entry.digest) == bytes)
    }

    private func shell(_ command: String, in directory: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
