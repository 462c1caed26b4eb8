/// How an ``OCIClient`` talks to its registry: parallelism, transport security, upload sizes and caps.
public struct OCIClientOptions: Sendable {
    /// How many blob transfers run at once (`oci.concurrency`).
    public var concurrency: Int = 4
    /// Plain `http://` to a registry that is not on this machine (`oci.insecure`).
    public var insecure: Bool = false
    /// A PEM file of CAs to trust besides the system's (`oci.ca_bundle`).
    public var caBundle: String?
    /// Forces the scheme: true for `http://`, false for `https://`; nil picks `http://` for a loopback
    /// registry without a `caBundle` or when `insecure`, else `https://`.
    public var plainHTTP: Bool?
    /// The bytes of each `PATCH` of a chunked upload.
    public var chunkSize: Int = 64 << 20
    /// Blobs up to this size go in one `PUT`; larger ones in chunks of ``chunkSize``.
    public var monolithicLimit: Int = 16 << 20
    /// The largest manifest accepted from the registry; a larger one is refused after reading at most this
    /// many bytes.
    public var maxManifestBytes: Int = 4 << 20
    /// Repositories of the same registry whose blobs may be mounted instead of uploaded (`oci.mount_from`).
    public var mountFrom: [String] = []
    /// Seconds a transfer may move no byte before it is dropped and resumed.
    public var stallTimeout: Double = 60
    /// Blobs of at least this many bytes are downloaded as several byte ranges at once (up to
    /// ``concurrency``), each range at least ``minimumSegment`` bytes.
    public var segmentThreshold: UInt64 = 32 << 20
    /// The smallest range of a segmented download: each costs a request.
    public var minimumSegment: UInt64 = 8 << 20
    /// Tags asked per page of the tag list (`n`); the registry may send fewer and a `Link` to the next page.
    public var tagsPageSize: Int = 1000

    /// Options with the defaults above.
    public init() {}
}
