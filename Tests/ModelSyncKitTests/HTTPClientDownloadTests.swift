import Foundation
import Synchronization
import Testing
@testable import ModelSyncKit

@Suite("HTTPClient downloads")
struct HTTPClientDownloadTests {
    let size = 200_000

    func client(_ sleeps: HTTPSleepRecorder) -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 10, sleep: sleeps.sleep)
    }

    func sha256(ofFile path: String) throws -> Digest {
        SHA256.hash(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The Range headers the server saw for a key (nil for none).
    func ranges(_ server: LoopbackHTTPServer, key: String) throws -> [String?] {
        let response = try client(HTTPSleepRecorder()).send(HTTPRequest(url: server.baseURL + "/log?key=" + key))
        return try JSONDecoder().decode([String?].self, from: Data(response.body))
    }

    @Test("a download writes the file and reports progress up to the full size")
    func downloadWithProgress() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        var reports: [(UInt64, UInt64?)] = []
        let result = try client(HTTPSleepRecorder()).download(
            url: server.baseURL + "/download?size=\(size)&key=p", to: path, stallTimeout: 5
        ) { received, total in reports.append((received, total)) }
        #expect(result == DownloadResult(bytesWritten: UInt64(size), attempts: 1))
        #expect(try sha256(ofFile: path) == SHA256.hash(LoopbackHTTPServer.pattern(size: size)))
        #expect(!reports.isEmpty)
        #expect(reports.last?.0 == UInt64(size))
        #expect(reports.allSatisfy { $0.1 == UInt64(size) })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.0 < $1.0 })
    }

    @Test("a connection dropped halfway is resumed with a Range request and the file is identical")
    func resumeAfterDrop() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        let sleeps = HTTPSleepRecorder()
        let result = try client(sleeps).download(url: server.baseURL + "/download?size=\(size)&mode=drop&key=d",
                                                 to: path, stallTimeout: 5)
        #expect(result == DownloadResult(bytesWritten: UInt64(size), attempts: 2))
        #expect(try sha256(ofFile: path) == SHA256.hash(LoopbackHTTPServer.pattern(size: size)))
        #expect(try ranges(server, key: "d") == [nil, "bytes=\(size / 2)-"])
        #expect(sleeps.recorded.count == 1)
    }

    @Test("a stalled transfer is dropped after the stall timeout and resumed")
    func resumeAfterStall() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        let started = Date()
        let result = try client(HTTPSleepRecorder()).download(
            url: server.baseURL + "/download?size=\(size)&mode=stall&key=s", to: path, stallTimeout: 1)
        #expect(result.attempts == 2)
        // curl measures speed over a window of a few seconds, so detection takes a little longer than the timeout.
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(try sha256(ofFile: path) == SHA256.hash(LoopbackHTTPServer.pattern(size: size)))
        #expect(try ranges(server, key: "s") == [nil, "bytes=\(size / 2)-"])
    }

    @Test("a server that ignores Range gets the download restarted from zero")
    func serverIgnoresRange() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        let result = try client(HTTPSleepRecorder()).download(
            url: server.baseURL + "/download?size=\(size)&mode=ignore-range&key=i", to: path, stallTimeout: 5)
        #expect(result.bytesWritten == UInt64(size))
        #expect(result.attempts == 3)
        #expect(try sha256(ofFile: path) == SHA256.hash(LoopbackHTTPServer.pattern(size: size)))
        #expect(try ranges(server, key: "i") == [nil, "bytes=\(size / 2)-", nil])
    }

    @Test("a declared size over maxBytes stops the download before any byte and leaves no file")
    func tooLargeDeclared() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        var received: UInt64 = 0
        let error = #expect(throws: HTTPError.self) {
            try client(HTTPSleepRecorder()).download(url: server.baseURL + "/download?size=\(size)&key=t",
                                                     to: path, stallTimeout: 5, maxBytes: 1000) { bytes, _ in received = bytes }
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.message == "GET \(server.baseURL)/download: the response is larger than the 1000 bytes allowed")
        #expect(received == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a body without Content-Length is cut at maxBytes and leaves no file")
    func tooLargeStreamed() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        var received: UInt64 = 0
        let error = #expect(throws: HTTPError.self) {
            try client(HTTPSleepRecorder()).download(url: server.baseURL + "/download?size=\(size)&mode=no-length",
                                                     to: path, stallTimeout: 5, maxBytes: 5000) { bytes, _ in received = bytes }
        }
        #expect(error?.code == .tooLarge)
        #expect(received <= 5000)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a 404 is not retried, throws status 404 and leaves no file")
    func notFound() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        let sleeps = HTTPSleepRecorder()
        let error = #expect(throws: HTTPError.self) {
            try client(sleeps).download(url: server.baseURL + "/missing?X-Amz-Signature=abc", to: path)
        }
        #expect(error?.code == .status(404))
        #expect(error?.message == "GET \(server.baseURL)/missing: HTTP 404")
        #expect(sleeps.recorded.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a file:// URL downloads like any other")
    func fileURL() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let source = directory.path + "/source.bin"
        let bytes = LoopbackHTTPServer.pattern(size: 70_000)
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        var reader = client(HTTPSleepRecorder())
        reader.urlPolicy.allowFileURLs = true
        let result = try reader.download(url: "file://" + source, to: directory.path + "/copy.bin")
        #expect(result == DownloadResult(bytesWritten: 70_000, attempts: 1))
        #expect(try sha256(ofFile: directory.path + "/copy.bin") == SHA256.hash(bytes))
    }

    @Test("a failed download leaves a file already at the path untouched, and no temp file beside it")
    func failureKeepsExistingFile() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        try Data("previous archive".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: HTTPError.self) {
            try client(HTTPSleepRecorder()).download(url: server.baseURL + "/missing", to: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("previous archive".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["archive.zip"])
    }

    @Test("a completed download replaces the file at the path and leaves no temp file")
    func successReplacesFile() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/archive.zip"
        try Data("previous archive".utf8).write(to: URL(fileURLWithPath: path))
        _ = try client(HTTPSleepRecorder()).download(url: server.baseURL + "/download?size=\(size)&key=r", to: path)
        #expect(try sha256(ofFile: path) == SHA256.hash(LoopbackHTTPServer.pattern(size: size)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["archive.zip"])
    }
}
