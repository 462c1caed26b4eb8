import Testing
@testable import ModelSyncKit

@Suite("HTTPError")
struct HTTPErrorTests {
    @Test("redaction removes userinfo, query string and fragment and keeps the rest")
    func redaction() {
        #expect(HTTPError.redact("https://u:p@bucket.example/a.zip?X-Amz-Signature=abc")
            == "https://bucket.example/a.zip")
        #expect(HTTPError.redact("https://api.runpod.ai/v2/e/status/1") == "https://api.runpod.ai/v2/e/status/1")
        #expect(HTTPError.redact("http://127.0.0.1:8080?sig=1#x") == "http://127.0.0.1:8080")
        #expect(HTTPError.redact("https://host/p@q?x=1") == "https://host/p@q")
        #expect(HTTPError.redact("file:///tmp/a b.zip") == "file:///tmp/a b.zip")
    }

    @Test("the message names method, redacted URL, curl's text and attempts; curl's text loses the query")
    func message() {
        let url = "https://bucket.example/a.zip?X-Amz-Signature=abc"
        let error = HTTPError(.connection, method: "GET", url: url, detail: "the connection broke",
                              curlMessage: "failed on \(url)", attempts: 3)
        #expect(error.message
            == "GET https://bucket.example/a.zip: the connection broke (failed on https://bucket.example/a.zip) after 3 attempts")
        #expect(error.category == .remote)
        #expect(error.hint != nil)
    }

    @Test("status codes compare by number")
    func statusCodes() {
        #expect(HTTPError.Code.status(404) == .status(404))
        #expect(HTTPError.Code.status(404) != .status(500))
        #expect(HTTPError.Code.status(404).description == "status 404")
        #expect(HTTPError.Code.tooLarge.description == "too-large")
    }
}
