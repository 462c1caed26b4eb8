import Foundation
import Synchronization
import ModelSyncTestSupport
@testable import ModelSyncKit

/// An `OCIAuthorizing` for tests: anonymous, or a fixed header handed out at once (`eager`) or only in
/// answer to a challenge, after which it is cached as a real authenticator caches its token.
final class FixedAuthorizer: OCIAuthorizing {
    private let header: String?
    private let eager: Bool
    private let state = Mutex<(cached: String?, challenges: [String], scopes: [String])>((nil, [], []))

    init(header: String? = nil, eager: Bool = false) {
        self.header = header
        self.eager = eager
    }

    /// Basic credentials for `user` and `password`.
    static func basic(_ user: String, _ password: String, eager: Bool = false) -> FixedAuthorizer {
        FixedAuthorizer(header: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), eager: eager)
    }

    func authorization(for scope: OCIScope) -> String? {
        state.withLock { state in
            state.scopes.append(scope.description)
            return eager ? header : state.cached
        }
    }

    func answer(challenge: String, scope: OCIScope) throws -> String? {
        state.withLock { state in
            state.challenges.append(challenge)
            state.cached = header
            return header
        }
    }

    /// The challenges answered so far.
    var challenges: [String] { state.withLock { $0.challenges } }
    /// The scopes asked for so far.
    var scopes: [String] { state.withLock { $0.scopes } }
}

/// Two stores and a registry client for the OCI client tests.
struct OCIFixture {
    let stores: LFSFixture

    init() throws {
        stores = try LFSFixture()
    }

    /// Options with small chunks, so a few hundred KiB exercise the chunked upload.
    static func smallChunks(_ change: (inout OCIClientOptions) -> Void = { _ in }) -> OCIClientOptions {
        var options = OCIClientOptions()
        options.chunkSize = 64 << 10
        options.monolithicLimit = 64 << 10
        options.stallTimeout = 10
        change(&options)
        return options
    }

    /// A client for `host/repository` whose retries wait a few milliseconds.
    static func client(_ host: String, _ repository: String = "models", auth: any OCIAuthorizing = FixedAuthorizer(),
                       options: OCIClientOptions = smallChunks()) throws -> OCIClient {
        let http = HTTPClient(maxAttempts: 4, initialBackoff: 0.2, maxBackoff: 0.4)
        return try OCIClient(reference: OCIReference(parsing: "\(host)/\(repository)"), auth: auth, options: options, http: http)
    }

    /// The bytes the registry stores for `digest`, nil when it has none.
    static func stored(_ registry: DistributionRegistry, _ digest: Digest) -> [UInt8]? {
        FileManager.default.contents(atPath: registry.blobPath(digest.hex)).map(Array.init)
    }

    /// The bytes of `digest` in the source store.
    func sourceBytes(_ digest: Digest) -> [UInt8]? {
        LFSFixture.bytes(stores.source, digest)
    }

    /// An OCI image manifest naming `config` and `layers` (pushed beforehand), with `padding` bytes of
    /// annotation to make it as large as a test needs.
    static func imageManifest(config: Digest, configSize: Int, layers: [ManifestEntry], padding: Int = 0) -> [UInt8] {
        let layerList = layers.map {
            #"{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#($0.digest)","size":\#($0.size),"#
                + #""annotations":{"org.opencontainers.image.title":"\#($0.path)"}}"#
        }.joined(separator: ",")
        return Array(("{\"schemaVersion\":2,\"mediaType\":\"\(OCIImageManifest.mediaType)\","
            + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"\(config)\",\"size\":\(configSize)},"
            + "\"layers\":[\(layerList)],"
            + "\"annotations\":{\"padding\":\"\(String(repeating: "x", count: padding))\"}}").utf8)
    }
}

extension DroppingProxy {
    /// The request lines that start with `prefix`.
    func lines(_ prefix: String) -> [String] {
        requestLines.filter { $0.hasPrefix(prefix) }
    }
}
