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
            // Digits are written least significant first, then put in order.
            var magnitude = number.magnitude
            let firstDigit = index
            repeat {
                base[index] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                magnitude /= 10
                index += 1
            } while magnitude > 0
            var low = firstDigit
            var high = index - 1
            while low < high {
                (base[low], base[high]) = (base[high], base[low])
                low += 1
                high -= 1
            }
            suffix.withUnsafeBufferPointer { bytes in
                if let source = bytes.baseAddress { (base + index).update(from: source, count: bytes.count) }
            }
            return index + suffix.count
        }
    }
}
