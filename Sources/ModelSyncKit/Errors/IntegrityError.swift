/// Content that is not what it claims to be: a digest or size mismatch, an invalid manifest or archive.
public struct IntegrityError: ModelSyncError {
    /// Which integrity rule failed.
    public struct Code: Hashable, Sendable {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public static let digestMismatch = Code("digest-mismatch")
        public static let sizeMismatch = Code("size-mismatch")
        public static let invalidManifest = Code("invalid-manifest")
        public static let invalidArchive = Code("invalid-archive")
        public static let missingObject = Code("missing-object")
        public static let invalidDigest = Code("invalid-digest")
        /// A required signature file is absent.
        public static let missingSignature = Code("missing-signature")
        /// A signature file that does not parse, does not verify, or has too few trusted signatures.
        public static let invalidSignature = Code("invalid-signature")
        /// A signed statement that names another manifest or channel than the one it sits beside.
        public static let signatureMismatch = Code("signature-mismatch")
        /// A release older than one this client accepted (a registry rolled back).
        public static let releaseRollback = Code("release-rollback")
        /// A release past its `expires` time (a frozen registry).
        public static let releaseExpired = Code("release-expired")
    }

    public let code: Code
    public let message: String
    public let hint: String?
    public var category: ErrorCategory { .integrity }

    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }
}
