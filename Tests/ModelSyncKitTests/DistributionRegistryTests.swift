import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

/// The test registry the OCI tests stand on: each mode answers `/v2/` as a real registry does, and TLS is
/// verified against the CA made for it.
@Suite struct DistributionRegistryTests {
    @Test func anonymousOverHTTP() throws {
        let registry = try DistributionRegistry.start()
        let response = try HTTPClient(maxAttempts: 1).send(HTTPRequest(url: registry.baseURL + "/v2/"))
        #expect(response.status == 200)
        #expect(registry.storedBlobs().isEmpty)
    }

    @Test func basicAuthBehindTLS() throws {
        let registry = try DistributionRegistry.start(tls: true, auth: .htpasswd(user: "fleet", password: "s3cret"))
        #expect(registry.baseURL.hasPrefix("https://"))
        let client = HTTPClient(caBundle: registry.caBundle, maxAttempts: 1)
        let anonymous = try client.send(HTTPRequest(url: registry.baseURL + "/v2/"))
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Basic") == true)
        let basic = "Basic " + Data("fleet:s3cret".utf8).base64EncodedString()
        let authorized = try client.send(HTTPRequest(url: registry.baseURL + "/v2/", headers: [("Authorization", basic)]))
        #expect(authorized.status == 200)
        // Without the CA the certificate is not trusted: TLS verification stays on.
        #expect(throws: HTTPError.self) { try HTTPClient(maxAttempts: 1).send(HTTPRequest(url: registry.baseURL + "/v2/")) }
    }
}
