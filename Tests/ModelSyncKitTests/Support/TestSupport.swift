// Helpers shared by both test targets.
@_exported import ModelSyncTestSupport
