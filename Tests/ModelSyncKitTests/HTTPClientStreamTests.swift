import Foundation
import Testing
@testable import ModelSyncKit

/// A stream target in memory that records restarts and may fail after some bytes.
final class MemoryStreamSink: HTTPStreamSink {
    struct Full: Error {}
    var bytes: [UInt8] = []
    var restarts = 0
    var limit = Int.max
    var written: UInt64 { UInt64(bytes.count) }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        guard bytes.count + chunk.count <= limit else { throw Full() }
        bytes.append(contentsOf: chunk)
    }

    func restart() throws {
        restarts += 1
        bytes = []
    }
}

@Suite("HTTPClient streams")
struct HTTPClientStreamTests {
    let size = 200_000

    func client(_ sleeps: HTTPSleepRecorder = HTTPSleepRecorder()) -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 10, sleep: sleeps.sleep)
    }

    func ranges(_ server: LoopbackHTTPServer, key: String) throws -> [String?] {
        let response = try client().send(HTTPRequest(url: server.baseURL + "/log?key=" + key))
        return try JSONDecoder().decode([String?].self, from: Data(response.body))
    }

    @Test("a dropped stream resumes with Range and appends the rest")
    func resumeAfterDrop() throws {
        let server = try LoopbackHTTPServer()
        let sink = MemoryStreamSink()
        let attempts = try client().stream(url: server.baseURL + "/download?size=\(size)&mode=drop&key=d",
                                           stallTimeout: 5, into: sink)
        #expect(attempts == 2)
        #expect(sink.bytes == LoopbackHTTPServer.pattern(size: size))
        #expect(sink.restarts == 0)
        #expect(try ranges(server, key: "d") == [nil, "bytes=\(size / 2)-"])
    }

    @Test("a server answering a Range request with the whole body restarts the sink")
    func ignoredRangeRestarts() throws {
        let server = try LoopbackHTTPServer()
        let sink = MemoryStreamSink()
        try client().stream(url: server.baseURL + "/download?size=\(size)&mode=ignore-range&key=i", stallTimeout: 5, into: sink)
        #expect(sink.bytes == LoopbackHTTPServer.pattern(size: size))
        #expect(sink.restarts == 1)
    }

    @Test("a status that retrying cannot fix is thrown with the server's words; nothing reaches the sink")
    func statusWithMessage() throws {
        let server = try LoopbackHTTPServer()
        let sink = MemoryStreamSink()
        let error = #expect(throws: HTTPError.self) { try client().stream(url: server.baseURL + "/status?code=404", into: sink) }
        #expect(error?.code == .status(404))
        #expect(error?.detail == "HTTP 404: status 404")
        #expect(error?.attempts == 1)
        #expect(sink.bytes.isEmpty)
    }

    @Test("an error of the sink ends the stream at once, unchanged")
    func sinkErrorPropagates() throws {
        let server = try LoopbackHTTPServer()
        let sink = MemoryStreamSink()
        sink.limit = 1_000
        let sleeps = HTTPSleepRecorder()
        #expect(throws: MemoryStreamSink.Full.self) {
            try client(sleeps).stream(url: server.baseURL + "/download?size=\(size)&key=f", into: sink)
        }
        #expect(sleeps.recorded.isEmpty)
        #expect(try ranges(server, key: "f").count == 1)
    }

    @Test("a PUT streams the file with its length and no Expect header")
    func uploadFile() throws {
        let server = try LoopbackHTTPServer()
        let directory = TemporaryDirectory()
        let text = String(repeating: "model bytes ", count: 4_000)  // the echo stays under the 64 KiB of answer kept
        let path = directory.write("blob", text)
        let sent = Locked<Int64>(0)
        let response = try client().upload(url: server.baseURL + "/echo", headers: [("Content-Type", "application/octet-stream")],
                                           file: path, size: UInt64(text.utf8.count),
                                           progress: { count in sent.withLock { $0 += count } })
        #expect(response.status == 200)
        let echo = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let headers = echo?["headers"] as? [String: String]
        #expect(echo?["method"] as? String == "PUT")
        #expect(echo?["body"] as? String == text)
        #expect(headers?["content-length"] == String(text.utf8.count))
        #expect(headers?["content-type"] == "application/octet-stream")
        #expect(headers?["expect"] == nil)
        #expect(sent.withLock { $0 } == Int64(text.utf8.count))
    }

    @Test("a PUT answered with a 503 is sent again from the first byte; progress is taken back")
    func uploadRetried() throws {
        let server = try LoopbackHTTPServer()
        let directory = TemporaryDirectory()
        let path = directory.write("blob", pseudoRandomBytes(count: 50_000, seed: 3))
        let sent = Locked<Int64>(0)
        let sleeps = HTTPSleepRecorder()
        let response = try client(sleeps).upload(url: server.baseURL + "/flaky?key=u&fail=1&code=503", file: path,
                                                 size: 50_000, progress: { count in sent.withLock { $0 += count } })
        #expect(response.status == 200)
        #expect(sleeps.recorded.count == 1)
        #expect(sent.withLock { $0 } == 50_000)
    }

    @Test("a file shorter than the size given is never sent truncated")
    func shortFileRefused() throws {
        let server = try LoopbackHTTPServer()
        let directory = TemporaryDirectory()
        let path = directory.write("blob", pseudoRandomBytes(count: 1_000, seed: 4))
        let error = #expect(throws: HTTPError.self) {
            try client().upload(url: server.baseURL + "/echo", file: path, size: 5_000)
        }
        #expect(error?.code == .file)
    }
}
