import Foundation
import Testing
@testable import ModelSyncKit

@Suite("HTTPClient requests")
struct HTTPClientTests {
    /// The JSON the loopback server's /echo route answers.
    struct Echo: Decodable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String
    }

    func client(_ sleeps: HTTPSleepRecorder, maxAttempts: Int = 5) -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 10, maxAttempts: maxAttempts, sleep: sleeps.sleep)
    }

    func echo(_ response: HTTPResponse) throws -> Echo {
        try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }

    @Test("a file:// URL is read and answers 200")
    func fileURL() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/hello.txt"
        try Data("hello, file".utf8).write(to: URL(fileURLWithPath: path))
        var reader = client(HTTPSleepRecorder())
        reader.urlPolicy.allowFileURLs = true
        let response = try reader.send(HTTPRequest(url: "file://" + path))
        #expect(response.status == 200)
        #expect(response.body == Array("hello, file".utf8))
    }

    @Test("a GET returns the body and lowercased headers, and sends the request headers and user agent")
    func getWithHeaders() throws {
        let server = try LoopbackHTTPServer()
        let request = HTTPRequest(url: server.baseURL + "/echo?x=1", headers: [("X-Test", "value 1")])
        let response = try client(HTTPSleepRecorder()).send(request)
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.headers["x-echo"] == "yes")
        let received = try echo(response)
        #expect(received.method == "GET")
        #expect(received.path == "/echo?x=1")
        #expect(received.headers["x-test"] == "value 1")
        #expect(received.headers["user-agent"] == "model-sync/\(HTTPClient.version)")
    }

    @Test("a POST sends its JSON body and headers, without curl's form type or Expect")
    func postJSON() throws {
        let server = try LoopbackHTTPServer()
        let json = #"{"input":{"prompt":"é"}}"#
        let request = HTTPRequest(method: "POST", url: server.baseURL + "/echo",
                                  headers: [("Content-Type", "application/json"), ("X-Request-Id", "42")],
                                  body: Array(json.utf8))
        let posted = try echo(try client(HTTPSleepRecorder()).send(request))
        #expect(posted.method == "POST")
        #expect(posted.body == json)
        #expect(posted.headers["content-type"] == "application/json")
        #expect(posted.headers["x-request-id"] == "42")
        #expect(posted.headers["expect"] == nil)

        let bare = HTTPRequest(method: "PUT", url: server.baseURL + "/echo", body: Array("raw".utf8))
        let bareEcho = try echo(try client(HTTPSleepRecorder()).send(bare))
        #expect(bareEcho.method == "PUT")
        #expect(bareEcho.body == "raw")
        #expect(bareEcho.headers["content-type"] == nil)
    }

    @Test("a 429 with Retry-After is retried after exactly that many seconds")
    func retryAfter() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        let url = server.baseURL + "/flaky?key=a&fail=1&code=429&retry_after=7"
        let response = try client(sleeps).send(HTTPRequest(url: url))
        #expect(response.status == 200)
        #expect(response.body == Array("ok after 2".utf8))
        #expect(sleeps.recorded == [7])
    }

    @Test("a Retry-After longer than maxRetryAfter is cut to it")
    func retryAfterCapped() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        var client = client(sleeps)
        client.maxRetryAfter = 60
        let url = server.baseURL + "/flaky?key=b&fail=1&code=429&retry_after=86400"
        #expect(try client.send(HTTPRequest(url: url)).status == 200)
        #expect(sleeps.recorded == [60])
    }

    @Test("two 503s are retried with growing, jittered backoff, then the 200 is returned")
    func serviceUnavailableTwice() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        let response = try client(sleeps).send(HTTPRequest(url: server.baseURL + "/flaky?key=c&fail=2&code=503"))
        #expect(response.body == Array("ok after 3".utf8))
        let delays = sleeps.recorded
        #expect(delays.count == 2)
        #expect((0.5...1).contains(delays[0]))
        #expect((1...2).contains(delays[1]))
    }

    @Test("a 404 is returned at once, without retry")
    func notFoundNotRetried() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        let response = try client(sleeps).send(HTTPRequest(url: server.baseURL + "/status?code=404"))
        #expect(response.status == 404)
        #expect(response.body == Array("status 404".utf8))
        #expect(sleeps.recorded.isEmpty)
    }

    @Test("a 503 that never ends throws status 503 after maxAttempts, naming the URL without its query")
    func serviceUnavailableForever() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        let error = #expect(throws: HTTPError.self) {
            try client(sleeps, maxAttempts: 3).send(HTTPRequest(url: server.baseURL + "/status?code=503"))
        }
        #expect(error?.code == .status(503))
        #expect(error?.attempts == 3)
        // The server's own explanation (its body) is part of the message.
        #expect(error?.message == "GET \(server.baseURL)/status: HTTP 503: status 503 after 3 attempts")
        #expect(error?.category == .remote)
        #expect(sleeps.recorded.count == 2)
    }

    @Test("a refused connection is retried, then reported with the URL stripped of its query and userinfo")
    func connectionRefused() throws {
        let port = LoopbackHTTPServer.unusedPort()
        let sleeps = HTTPSleepRecorder()
        let url = "http://user:hunter2@127.0.0.1:\(port)/run?token=s3cret#frag"
        let error = #expect(throws: HTTPError.self) { try client(sleeps).send(HTTPRequest(url: url)) }
        #expect(error?.code == .connection)
        #expect(error?.attempts == 5)
        #expect(error?.url == "http://127.0.0.1:\(port)/run")
        let message = error?.message ?? ""
        #expect(message.hasPrefix("GET http://127.0.0.1:\(port)/run: cannot connect ("))
        #expect(message.hasSuffix(" after 5 attempts"))
        #expect(!message.contains("s3cret") && !message.contains("hunter2") && !message.contains("token"))
        #expect(error?.curlMessage?.isEmpty == false)
        #expect(sleeps.recorded.count == 4)
    }

    @Test("a redirect keeps every header on the same origin and drops them all for another port")
    func redirectDropsAuthorization() throws {
        let origin = try LoopbackHTTPServer()
        let other = try LoopbackHTTPServer()
        let headers = [("Authorization", "Bearer rp_secret"), ("X-Trace", "t1")]
        let client = client(HTTPSleepRecorder())

        let sameHost = HTTPRequest(url: origin.baseURL + "/redirect?to=" + origin.baseURL + "/echo", headers: headers)
        let sameEcho = try echo(try client.send(sameHost))
        #expect(sameEcho.headers["host"] == "127.0.0.1:\(origin.port)")
        #expect(sameEcho.headers["authorization"] == "Bearer rp_secret")

        let otherHost = HTTPRequest(url: origin.baseURL + "/redirect?to=" + other.baseURL + "/echo", headers: headers)
        let otherEcho = try echo(try client.send(otherHost))
        #expect(otherEcho.headers["host"] == "127.0.0.1:\(other.port)")
        #expect(otherEcho.headers["authorization"] == nil)
        #expect(otherEcho.headers["x-trace"] == nil)
    }

    @Test("a header value with a line break is refused and its value is not in the message")
    func headerInjection() throws {
        let request = HTTPRequest(url: "http://127.0.0.1:1/x", headers: [("X-Key", "abc\r\nEvil: 1")])
        let error = #expect(throws: HTTPError.self) { try client(HTTPSleepRecorder()).send(request) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message == "GET http://127.0.0.1:1/x: the header \"X-Key\" has an invalid name or a line break in its value")
    }

    @Test("a response body over maxResponseBytes throws tooLarge")
    func responseTooLarge() throws {
        let server = try LoopbackHTTPServer()
        var client = client(HTTPSleepRecorder())
        client.maxResponseBytes = 10
        let error = #expect(throws: HTTPError.self) { try client.send(HTTPRequest(url: server.baseURL + "/echo")) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message == "GET \(server.baseURL)/echo: the response is larger than the 10 bytes allowed")
    }

    @Test("a TLS handshake that fails is reported as tls and not retried")
    func tlsFailureNotRetried() throws {
        let server = try LoopbackHTTPServer()
        let sleeps = HTTPSleepRecorder()
        let url = "https://127.0.0.1:\(server.port)/echo?sig=1"
        let error = #expect(throws: HTTPError.self) { try client(sleeps).send(HTTPRequest(url: url)) }
        #expect(error?.code == .tls)
        #expect(error?.attempts == 1)
        #expect(error?.message.hasPrefix("GET https://127.0.0.1:\(server.port)/echo: TLS failed (") == true)
        #expect(sleeps.recorded.isEmpty)
    }

    @Test("a file:// URL that does not exist throws with curl's explanation")
    func missingFile() throws {
        var reader = client(HTTPSleepRecorder())
        reader.urlPolicy.allowFileURLs = true
        let error = #expect(throws: HTTPError.self) {
            try reader.send(HTTPRequest(url: "file:///nonexistent/model-sync/a.zip"))
        }
        #expect(error?.code == .transfer)
        #expect(error?.message.hasPrefix("GET file:///nonexistent/model-sync/a.zip: cannot read the file (") == true)
    }
}
