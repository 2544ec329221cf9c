import WireCore

/// SQL text with one decimal number in it (`SELECT … WHERE id = 42`), built the way the C
/// peers build theirs with `snprintf`: the fixed text and the digits written straight into
/// one new string. String interpolation does the same job through the general formatting
/// machinery (a growing buffer, `Int.description`, three appends), about 1,100 instructions
/// and 60 lines of code cache per statement, which a benchmark of the *client* would
/// otherwise count against it.
struct StatementText: Sendable {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    /// The text is `prefix`, the number in decimal, then `suffix`.
    init(_ prefix: String, _ suffix: String = "") {
        self.prefix = Array(prefix.utf8)
        self.suffix = Array(suffix.utf8)
    }

    func callAsFunction(_ number: Int) -> String {
        // 20 digits and a sign hold any Int.
        String(unsafeUninitializedCapacity: prefix.count + 21 + suffix.count) { buffer in
            let base = buffer.baseAddress!
            var index = prefix.withUnsafeBufferPointer { bytes in
                if let source = bytes.baseAddress { base.update(from: source, count: bytes.count) }
                return bytes.count
            }
            if number < 0 {
                base[index] = UInt8(ascii: "-")
                index += 1
            }
            // The digits come out last first: written into a scratch buffer, then copied.
            let digitsAt = base + index
            index += withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
                let end = scratch.baseAddress! + 20
                let count = ByteWriter.writeDecimalDigits(number.magnitude, endingAt: end)
                digitsAt.update(from: end - count, count: count)
                return count
            }
            suffix.withUnsafeBufferPointer { bytes in
                if let source = bytes.baseAddress { (base + index).update(from: source, count: bytes.count) }
            }
            return index + suffix.count
        }
    }
}
