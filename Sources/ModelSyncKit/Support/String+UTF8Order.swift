#if canImport(Glibc)
internal import Glibc
#endif

extension String {
    /// True when the UTF-8 bytes of `self` sort before those of `other` (`"B" < "a" < "é"`): the manifest's
    /// order, compared with `memcmp` where both strings are contiguous (native strings are), as sorting a
    /// folder of 200,000 names byte by byte through the generic sequence comparison was a visible cost.
    func utf8Precedes(_ other: String) -> Bool {
        let fast = utf8.withContiguousStorageIfAvailable { left in
            other.utf8.withContiguousStorageIfAvailable { right -> Bool in
                let common = min(left.count, right.count)
                if common > 0 {
                    let order = memcmp(left.baseAddress!, right.baseAddress!, common)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }
        if let fast, let result = fast { return result }
        return utf8.lexicographicallyPrecedes(other.utf8)
    }
}
