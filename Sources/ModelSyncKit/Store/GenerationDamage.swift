import Foundation

/// Generations that `fsck --repair` found damaged and could not mend (a file whose object it quarantined,
/// or one the store lacks): the next activation of their manifest, by `activate` or `pull`, re-makes their
/// files once the store holds the objects again, instead of calling the damaged set up to date.
///
/// Kept as a named value in the index: when the index is rebuilt the mark is lost, and the next
/// `fsck --repair` finds the damage again.
extension GenerationLedger {
    private static let damagedName = "generations.damaged"

    /// The generations marked damaged.
    func damaged() throws -> Set<Int> {
        guard let text = try index.value(named: GenerationLedger.damagedName) else { return [] }
        return Set(text.split(separator: " ").compactMap { Int($0) })
    }

    /// Marks generation `number` damaged.
    func markDamaged(_ number: Int) throws {
        try setDamaged(try damaged().union([number]))
    }

    /// Clears the damage mark of generation `number` (its files were re-made, or it is gone).
    func clearDamaged(_ number: Int) throws {
        let current = try damaged()
        guard current.contains(number) else { return }
        try setDamaged(current.subtracting([number]))
    }

    private func setDamaged(_ numbers: Set<Int>) throws {
        try index.setValue(numbers.isEmpty ? nil : numbers.sorted().map(String.init).joined(separator: " "),
                           named: GenerationLedger.damagedName)
    }
}
