import WireCore

/// A value that can be sent as one RESP bulk-string argument.
public protocol RedisArgument: Sendable {
    /// Calls `body` with the argument's bytes, without copying where the type allows.
    func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R
}

extension String: RedisArgument {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8(body)
    }
}

extension Substring: RedisArgument {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8(body)
    }
}

extension Array: RedisArgument where Element == UInt8 {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer(body)
    }
}

extension ArraySlice: RedisArgument where Element == UInt8 {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBufferPointer(body)
    }
}

extension Int: RedisArgument {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var writer = ByteWriter(capacity: 20)
        writer.writeDecimal(self)
        return try writer.bytes.withUnsafeBufferPointer(body)
    }
}

extension Int64: RedisArgument {
    @inlinable
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try Int(self).withArgumentBytes(body)
    }
}

extension Double: RedisArgument {
    public func withArgumentBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let text: String
        if self == .infinity { text = "+inf" } else if self == -.infinity { text = "-inf" } else { text = description }
        return try text.withArgumentBytes(body)
    }
}
