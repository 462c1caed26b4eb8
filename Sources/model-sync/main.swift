import ModelSyncKit
print(SHA256.hash(Array("abc".utf8)))
