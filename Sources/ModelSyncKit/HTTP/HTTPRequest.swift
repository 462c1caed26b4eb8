/// An HTTP request: method, URL, headers in order, optional body.
///
/// ```swift
/// let request = HTTPRequest(method: "POST", url: "https://api.example/run",
///                           headers: [("Content-Type", "application/json")], body: Array(json.utf8))
/// ```
public struct HTTPRequest: Sendable {
    /// The method, `GET`, `POST`, `PUT`, `DELETE` or `HEAD`.
    public var method: String
    /// The absolute URL (`https://`, `http://` or `file://`).
    public var url: String
    /// Request headers as (name, value) pairs, sent in this order.
    public var headers: [(String, String)]
    /// The request body, sent as is; nil for none.
    public var body: [UInt8]?

    /// Builds a request.
    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// An HTTP response: the final status after redirects, its headers and its body.
public struct HTTPResponse: Sendable, Equatable {
    /// The HTTP status; a `file://` URL that could be read answers 200.
    public var status: Int
    /// The final response's headers, names lowercased; repeated headers are joined with ", ".
    public var headers: [String: String]
    /// The response body.
    public var body: [UInt8]

    /// Builds a response.
    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
