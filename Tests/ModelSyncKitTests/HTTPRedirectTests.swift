import Foundation
import Testing
@testable import ModelSyncKit
#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP redirects and the URL policy")
struct HTTPRedirectTests {
    struct Echo: Decodable {
        let method: String
        let headers: [String: String]
        let body: String
    }

    let secretHeaders = [("Authorization", "Bearer rp_secret"), ("X-Api-Key", "configured-secret")]

    func client(maxRedirects: Int = 5) -> HTTPClient {
        HTTPClient(connectTimeout: 5, requestTimeout: 10, maxRedirects: maxRedirects, maxAttempts: 1,
                   sleep: HTTPSleepRecorder().sleep)
    }

    func redirect(_ from: LoopbackHTTPServer, to target: String, code: Int = 302) -> String {
        let encoded = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? target
        return from.baseURL + "/redirect?code=\(code)&to=" + encoded
    }

    func echo(_ body: [UInt8]) throws -> Echo {
        try JSONDecoder().decode(Echo.self, from: Data(body))
    }

    @Test("no configured header reaches another port, localhost for 127.0.0.1, or a second hop", arguments: [
        "other-port", "localhost", "two-hops",
    ])
    func headersStayOnTheirOrigin(_ route: String) throws {
        let origin = try LoopbackHTTPServer()
        let other = try LoopbackHTTPServer()
        let url: String
        switch route {
        case "other-port": url = redirect(origin, to: other.baseURL + "/echo")
        case "localhost": url = redirect(origin, to: "http://localhost:\(origin.port)/echo")
        default: url = redirect(origin, to: redirect(other, to: other.baseURL + "/echo"))
        }
        let received = try echo(client().send(HTTPRequest(url: url, headers: secretHeaders)).body)
        #expect(received.headers["authorization"] == nil)
        #expect(received.headers["x-api-key"] == nil)
        #expect(received.headers["user-agent"] == HTTPClient.defaultUserAgent)
    }

    @Test("a redirect that comes back to the configured origin gets its headers again")
    func backToOrigin() throws {
        let origin = try LoopbackHTTPServer()
        let other = try LoopbackHTTPServer()
        let url = redirect(origin, to: redirect(other, to: origin.baseURL + "/echo"))
        let received = try echo(client().send(HTTPRequest(url: url, headers: secretHeaders)).body)
        #expect(received.headers["authorization"] == "Bearer rp_secret")
        #expect(received.headers["x-api-key"] == "configured-secret")
    }

    @Test("a download redirected to another origin carries no header")
    func downloadDropsHeaders() throws {
        let origin = try LoopbackHTTPServer()
        let other = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let target = directory.path + "/echo.json"
        _ = try client().download(url: redirect(origin, to: other.baseURL + "/echo"), headers: secretHeaders, to: target)
        let received = try echo(Array(try Data(contentsOf: URL(fileURLWithPath: target))))
        #expect(received.headers["authorization"] == nil)
        #expect(received.headers["x-api-key"] == nil)
    }

    @Test("a 303, or a 302 answering a POST, continues as a GET without a body; a 307 keeps the POST")
    func methodAfterRedirect() throws {
        let server = try LoopbackHTTPServer()
        for (code, method, body) in [(303, "GET", ""), (302, "GET", ""), (307, "POST", "{}")] {
            let request = HTTPRequest(method: "POST", url: redirect(server, to: server.baseURL + "/echo", code: code),
                                      headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
            let received = try echo(client().send(request).body)
            #expect(received.method == method)
            #expect(received.body == body)
        }
    }

    @Test("redirects to file://, ftp://, gopher:// or plain http:// to another machine are refused", arguments: [
        "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x", "http://192.0.2.1/x", "dict://127.0.0.1/x",
    ])
    func refusedRedirects(_ target: String) throws {
        let server = try LoopbackHTTPServer()
        let url = redirect(server, to: target)
        let error = #expect(throws: HTTPError.self) { try client().send(HTTPRequest(url: url, headers: secretHeaders)) }
        #expect(error?.code == .refusedRedirect)
        #expect(error?.category == .remote)
        #expect(error?.message.contains("which is refused") == true)
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let download = #expect(throws: HTTPError.self) { try client().download(url: url, to: directory.path + "/a.zip") }
        #expect(download?.code == .refusedRedirect)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/a.zip"))
    }

    @Test("a redirect loop stops at maxRedirects")
    func redirectLimit() throws {
        let server = try LoopbackHTTPServer()
        var url = server.baseURL + "/echo"
        for _ in 0..<4 { url = redirect(server, to: url) }
        #expect(try client(maxRedirects: 4).send(HTTPRequest(url: url)).status == 200)
        let error = #expect(throws: HTTPError.self) { try client(maxRedirects: 3).send(HTTPRequest(url: url)) }
        #expect(error?.code == .tooManyRedirects)
    }

    @Test("only https://, http:// to loopback, and what the policy allows are fetched")
    func policy() throws {
        let strict = HTTPURLPolicy()
        for allowed in ["https://api.runpod.ai/v2/x/run", "http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:8/x",
                        "http://127.1.2.3/x", "HTTPS://Bucket.Example/a.zip"] {
            #expect(throws: Never.self) { _ = try strict.check(allowed, method: "GET") }
        }
        for refused in ["file:///etc/passwd", "ftp://example.com/a", "gopher://example.com/", "http://example.com/a",
                        "http://127.0.0.1.evil.example/a", "http://10.0.0.1/a", "scp://host/x"] {
            let error = #expect(throws: HTTPError.self) { _ = try strict.check(refused, method: "GET") }
            #expect(error?.code == .refusedURL, "\(refused)")
            #expect(error?.category == .usage)
        }
        #expect(throws: Never.self) { _ = try HTTPURLPolicy(allowInsecureHTTP: true).check("http://example.com/a", method: "GET") }
        #expect(throws: Never.self) { _ = try HTTPURLPolicy(allowFileURLs: true).check("file:///tmp/a", method: "GET") }
        let error = #expect(throws: HTTPError.self) { try client().send(HTTPRequest(url: "file:///etc/hostname")) }
        #expect(error?.message.hasPrefix("GET file:///etc/hostname: the scheme file:// is refused") == true)
    }

    @Test("origins compare scheme, host and port; relative locations resolve against the current URL")
    func origins() throws {
        #expect(try RemoteURL("https://A.example/x").origin == "https://a.example:443")
        #expect(try RemoteURL("http://127.0.0.1/x").origin != RemoteURL("http://localhost/x").origin)
        #expect(try RemoteURL("http://127.0.0.1:80/x").origin == RemoteURL("http://127.0.0.1/y").origin)
        #expect(try RemoteURL("https://h/a/b?q=1").resolving("../c").string == "https://h/c")
        #expect(try RemoteURL("https://h/a").resolving("//other:8/x").origin == "https://other:8")
        #expect(throws: HTTPError.self) { try RemoteURL("https://h/a\r\nX: y") }
    }

    @Test("a CA bundle that is a FIFO or a device is refused before any connection")
    func caBundleMustBeRegular() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let fifo = directory.path + "/ca.pem"
        #expect(mkfifo(fifo, 0o600) == 0)
        for bundle in [fifo, "/dev/zero"] {
            var https = client()
            https.caBundle = bundle
            let error = #expect(throws: HTTPError.self) { try https.send(HTTPRequest(url: "https://127.0.0.1:1/x")) }
            #expect(error?.code == .invalidTarget)
            #expect(error?.message == "GET https://127.0.0.1:1/x: the CA bundle \(bundle) is not a regular file")
        }
    }

    @Test("a download target that is a FIFO or a device is refused before any byte moves")
    func downloadTargetMustBeRegular() throws {
        let server = try LoopbackHTTPServer()
        let directory = try HTTPTestDirectory()
        defer { directory.cleanup() }
        let fifo = directory.path + "/archive.zip"
        #expect(mkfifo(fifo, 0o600) == 0)
        for target in [fifo, "/dev/null", directory.path] {
            let error = #expect(throws: HTTPError.self) {
                try client().download(url: server.baseURL + "/download?size=10", to: target)
            }
            #expect(error?.code == .invalidTarget)
            #expect(error?.category == .usage)
            #expect(error?.message.contains("the download target \(target) exists and is not a regular file") == true)
        }
    }
}
