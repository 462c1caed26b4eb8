import Foundation

/// The two operations of the batch API.
enum LFSOperation: String, Sendable {
    case download
    case upload
}

/// The body of `POST <endpoint>/objects/batch`
/// (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md).
struct LFSBatchRequest: Encodable {
    struct Object: Encodable {
        let oid: String
        let size: UInt64
    }

    let operation: String
    let transfers = ["basic"]
    let objects: [Object]
    let hashAlgo = "sha256"

    enum CodingKeys: String, CodingKey {
        case operation, transfers, objects
        case hashAlgo = "hash_algo"
    }

    init(_ operation: LFSOperation, _ objects: [LFSObject]) {
        self.operation = operation.rawValue
        self.objects = objects.map { Object(oid: $0.oid.hex, size: $0.size) }
    }

    /// The request as JSON bytes.
    var body: [UInt8] {
        // Encoding strings and integers cannot fail.
        Array((try? JSONCoding.encode(self))?.utf8 ?? "".utf8)
    }
}

/// The server's answer to a batch request: a transfer adapter and one result per object.
struct LFSBatchResponse: Decodable {
    struct Object: Decodable {
        let oid: String
        let size: UInt64?
        let actions: [String: LFSAction]?
        let error: LFSObjectError?
    }

    let transfer: String?
    let objects: [Object]
}

/// A per-object error in a batch answer: `{"code": 404, "message": "Object does not exist"}`.
struct LFSObjectError: Decodable, Sendable {
    let code: Int?
    let message: String?
}

/// One action of a batch answer (`download`, `upload`, `verify`): where to send the request and with which
/// headers, until when.
struct LFSAction: Decodable, Sendable {
    /// The URL of the transfer.
    let href: String
    /// Headers for `href`, used as given (they usually carry the transfer's own authorization).
    let header: [String: String]
    /// When the action stops working, if the server says (from `expires_at`, or `expires_in` seconds after
    /// the answer was received).
    let expiry: Date?

    enum CodingKeys: String, CodingKey {
        case href, header
        case expiresAt = "expires_at"
        case expiresIn = "expires_in"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        href = try container.decode(String.self, forKey: .href)
        header = try container.decodeIfPresent([String: String].self, forKey: .header) ?? [:]
        var expiry: Date?
        if let seconds = try? container.decodeIfPresent(Double.self, forKey: .expiresIn), seconds.isFinite {
            expiry = Date().addingTimeInterval(seconds)
        }
        if let text = try? container.decodeIfPresent(String.self, forKey: .expiresAt),
           let date = LFSAction.parseDate(text), date.timeIntervalSince1970 > 0 {
            // Go servers send the zero time ("0001-01-01T00:00:00Z") for "no expiry".
            // Both given: the earlier one wins (git-lfs does the same).
            expiry = min(expiry ?? date, date)
        }
        self.expiry = expiry
    }

    /// True when the action expires within `margin` seconds: too late to start a transfer with it.
    func hasExpired(margin: Double = 5) -> Bool {
        guard let expiry else { return false }
        return expiry.timeIntervalSinceNow <= margin
    }

    /// An RFC 3339 time, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
