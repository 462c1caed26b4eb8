import Foundation
import ModelSyncTestSupport
@testable import ModelSyncKit

extension GiftlessServer {
    /// The endpoint with the JWT as HTTP Basic credentials, as a client is configured.
    var endpoint: LFSEndpoint {
        LFSEndpoint(url: url, headers: [("Authorization", "Basic " + Data("_jwt:\(token)".utf8).base64EncodedString())])
    }

    /// The bytes giftless stores for `oid`, nil when it has none.
    func storedObject(_ oid: Digest) -> [UInt8]? { storedObject(oid.hex) }
}
