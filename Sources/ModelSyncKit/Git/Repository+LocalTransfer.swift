#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncGit2

/// Moving objects and references between two repositories on this machine without building a pack: the
/// loose objects are hard-linked (or copied) from one object directory to the other, and references move by
/// compare-and-swap. See docs/architecture.md, "Git registry: where we step around libgit2".
extension Repository {
    /// The object directory (`git_repository_item_path(GIT_REPOSITORY_ITEM_OBJECTS)`), without a trailing slash.
    public var objectsDirectory: String {
        get throws {
            var buffer = git_buf()
            let code = git_repository_item_path(&buffer, handle, GIT_REPOSITORY_ITEM_OBJECTS)
            guard code == 0, let pointer = buffer.ptr else {
                throw GitError.last(code, operation: "find the object directory", repositoryPath: path)
            }
            defer { git_buf_dispose(&buffer) }
            var directory = String(cString: pointer)
            while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
            return directory
        }
    }

    /// Writes the file at `path` as a loose blob of stored (uncompressed) zlib blocks, in constant memory
    /// (``LooseObjectWriter``): the same object `git hash-object -w` would name, written at disk speed.
    /// A read-only file that did not change while it was read (a store object) is remembered, so a later
    /// ``checkout(_:baseline:force:streamingAdditions:)`` adding this blob links it rather than writing it.
    public func writeStoredBlob(fromFileAt path: String) throws -> GitOID {
        let (oid, source) = try LooseObjectWriter(objectsDirectory: objectsDirectory).writeBlob(fromFileAt: path)
        blobSources.remember(oid, source)
        return oid
    }

    /// Writes `bytes` as a loose blob of stored zlib blocks.
    public func writeStoredBlob(bytes: [UInt8]) throws -> GitOID {
        try LooseObjectWriter(objectsDirectory: objectsDirectory).writeBlob(bytes: bytes)
    }

    /// Makes the objects of the repository whose object directory is `objects` readable from this one, as
    /// `git clone --shared` does: a line in `objects/info/alternates` (added once) and the same alternate on
    /// this handle's open object database (`git_odb_add_disk_alternate`).
    public func addAlternate(objects: String) throws {
        let own = try objectsDirectory
        let file = own + "/info/alternates"
        var lines: [String] = []
        if let stream = fopen(file, "r") {
            var line: UnsafeMutablePointer<CChar>?
            var capacity = 0
            while getline(&line, &capacity, stream) > 0 {
                lines.append(String(cString: line!).droppingTrailingNewlines())
            }
            free(line)
            fclose(stream)
        }
        guard !lines.contains(objects) else { return }
        if mkdir(own + "/info", 0o755) != 0 && errno != EEXIST { throw IOError.current("mkdir", own + "/info") }
        // Rewritten whole and renamed into place rather than appended to: a link planted there is not followed.
        try DurableFile.write(Array((lines + [objects]).map { $0 + "\n" }.joined().utf8), to: file)

        var odb: OpaquePointer?
        var code = git_repository_odb(&odb, handle)
        guard code == 0, let odb else { throw GitError.last(code, operation: "open the object database", repositoryPath: path) }
        defer { git_odb_free(odb) }
        code = git_odb_add_disk_alternate(odb, objects)
        guard code == 0 else { throw GitError.last(code, operation: "add alternate \(objects)", repositoryPath: path) }
    }

    /// Points `name` at `oid` only if it still points at `expected` (nil: only if it does not exist yet),
    /// atomically (`git_reference_create_matching`, under the reference's lock file). Another writer that
    /// moved it first makes this throw ``GitError/Code/nonFastForward``, as a refused push would.
    public func updateReference(_ name: String, to oid: GitOID, expecting expected: GitOID?, logMessage: String) throws {
        var raw = oid.gitOID
        var reference: OpaquePointer?
        let code: Int32
        if var old = expected?.gitOID {
            code = git_reference_create_matching(&reference, handle, name, &raw, 1, &old, logMessage)
        } else {
            code = git_reference_create_matching(&reference, handle, name, &raw, 0, nil, logMessage)
        }
        if code == GIT_EMODIFIED.rawValue || code == GIT_EEXISTS.rawValue || code == GIT_ELOCKED.rawValue {
            let error = GitError.last(code, operation: "update \(name) to \(oid)", repositoryPath: path)
            throw GitError(code: .nonFastForward, errorClass: error.errorClass,
                           detail: "\(name) moved meanwhile: " + error.detail,
                           operation: error.operation, repositoryPath: path, category: .remote)
        }
        guard code == 0 else { throw GitError.last(code, operation: "update \(name) to \(oid)", repositoryPath: path) }
        git_reference_free(reference)
    }

    /// What ``copyMissingObjects(reachableFrom:to:)`` transferred.
    public struct ObjectTransfer: Sendable, Equatable {
        /// Objects put into the destination.
        public var objects = 0
        /// Of those, blobs, and their bytes (uncompressed).
        public var blobs = 0
        public var blobBytes: UInt64 = 0
        /// Objects hard-linked rather than copied.
        public var linked = 0
    }

    /// Puts into `destination` every object reachable from `commit` that it lacks (commits, trees, blobs),
    /// dependencies first, so an object present there always has what it points to. A loose object is
    /// hard-linked when both object directories share a filesystem, else copied (then flushed to disk); a
    /// packed one is read and written through libgit2. Nothing is compressed again.
    public func copyMissingObjects(reachableFrom commit: GitOID, to destination: Repository) throws -> ObjectTransfer {
        let sourceODB = try objectDatabase()
        defer { git_odb_free(sourceODB) }
        let destinationODB = try destination.objectDatabase()
        defer { git_odb_free(destinationODB) }
        let sourceObjects = try objectsDirectory
        let destinationObjects = try destination.objectsDirectory

        let missing = try objectsMissing(reachableFrom: commit) { oid in
            var raw = oid.gitOID
            return git_odb_exists(destinationODB, &raw) == 1
        }
        var transfer = ObjectTransfer()
        for (oid, type) in missing {
            if type == GIT_OBJECT_BLOB {
                transfer.blobs += 1
                transfer.blobBytes += try blobSize(oid)
            }
            let hex = oid.hex
            let loose = sourceObjects + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
            if access(loose, R_OK) == 0 {
                if try Self.copyLooseObject(loose, oid: oid, to: destinationObjects) { transfer.linked += 1 }
            } else {
                try copyPackedObject(oid, from: sourceODB, to: destinationODB, destinationPath: destination.path)
            }
            transfer.objects += 1
        }
        return transfer
    }

    /// The objects reachable from `commit` that `exists` says the other side lacks, children before the
    /// objects that name them (depth-first, post-order). The walk stops at an object the other side has:
    /// it has everything that object points to.
    private func objectsMissing(reachableFrom commit: GitOID,
                                exists: (GitOID) -> Bool) throws -> [(GitOID, git_object_t)] {
        var order: [(GitOID, git_object_t)] = []
        var visited = Set<GitOID>()
        var stack: [(GitOID, git_object_t, expanded: Bool)] = [(commit, GIT_OBJECT_COMMIT, false)]
        while let (oid, type, expanded) = stack.popLast() {
            if expanded { order.append((oid, type)); continue }
            guard visited.insert(oid).inserted, !exists(oid) else { continue }
            stack.append((oid, type, true))
            for child in try children(of: oid, type: type) { stack.append((child.0, child.1, false)) }
        }
        return order
    }

    /// The objects a commit (its parents and tree) or a tree (its subtrees and blobs) names.
    private func children(of oid: GitOID, type: git_object_t) throws -> [(GitOID, git_object_t)] {
        switch type {
        case GIT_OBJECT_COMMIT:
            let object = try GitCommit(oid, in: self)
            return object.parentOIDs.map { ($0, GIT_OBJECT_COMMIT) }
                + [(GitOID(git_commit_tree_id(object.handle).pointee), GIT_OBJECT_TREE)]
        case GIT_OBJECT_TREE:
            let tree = try GitTree(oid, in: self)
            var result: [(GitOID, git_object_t)] = []
            for index in 0..<git_tree_entrycount(tree.handle) {
                guard let entry = git_tree_entry_byindex(tree.handle, index) else { continue }
                let type = git_tree_entry_type(entry)
                guard type == GIT_OBJECT_TREE || type == GIT_OBJECT_BLOB else { continue }  // submodules
                result.append((GitOID(git_tree_entry_id(entry).pointee), type))
            }
            return result
        default:
            return []
        }
    }

    /// Hard-links the loose object file `loose` into `destinationObjects` (true), or copies it when the
    /// link is refused (another filesystem, a link limit), through the durable-write protocol (false).
    private static func copyLooseObject(_ loose: String, oid: GitOID, to destinationObjects: String) throws -> Bool {
        let target = try LooseObjectWriter.destination(of: oid, in: destinationObjects)
        do {
            // EEXIST (the object arrived meanwhile) counts as linked: the name is there, with the same bytes.
            try DurableFile.link(existing: loose, at: target.path)
            return true
        } catch {
            // `link` throws only IOError (typed): the link was refused, so copy.
            let input = try FileSystem.open(loose, O_RDONLY)
            defer { close(input) }
            let file = try DurableFile(in: destinationObjects, prefix: "tmp_obj_model_sync_")
            try file.copyContents(from: input)
            try file.commit(to: target.path, mode: 0o444, placement: .keepExisting, createdParent: target.createdDirectory)
            return false
        }
    }

    /// Copies a packed object through libgit2 (which loads it whole and deflates it at Z_BEST_SPEED).
    private func copyPackedObject(_ oid: GitOID, from sourceODB: OpaquePointer, to destinationODB: OpaquePointer,
                                  destinationPath: String) throws {
        var raw = oid.gitOID
        var object: OpaquePointer?
        var code = git_odb_read(&object, sourceODB, &raw)
        guard code == 0, let object else { throw GitError.last(code, operation: "read object \(oid)", repositoryPath: path) }
        defer { git_odb_object_free(object) }
        var written = git_oid()
        code = git_odb_write(&written, destinationODB, git_odb_object_data(object), git_odb_object_size(object),
                             git_odb_object_type(object))
        guard code == 0 else {
            throw GitError.last(code, operation: "write object \(oid)", repositoryPath: destinationPath)
        }
    }

    /// This repository's object database (`git_repository_odb`); the caller frees it.
    func objectDatabase() throws -> OpaquePointer {
        var odb: OpaquePointer?
        let code = git_repository_odb(&odb, handle)
        guard code == 0, let odb else { throw GitError.last(code, operation: "open the object database", repositoryPath: path) }
        return odb
    }

    /// Adds a remote (`git_remote_create`), as `git remote add` does.
    public func addRemote(named name: String, url: String) throws {
        var remote: OpaquePointer?
        let code = git_remote_create(&remote, handle, name, url)
        guard code == 0 else { throw GitError.last(code, operation: "add remote \(name)", repositoryPath: path) }
        git_remote_free(remote)
    }

    /// The URL of the remote `name` as configured.
    public func remoteURL(named name: String) throws -> String { try remote(named: name).url }
}

private extension String {
    func droppingTrailingNewlines() -> String {
        var copy = self
        while copy.last == "\n" { copy.removeLast() }
        return copy
    }
}
