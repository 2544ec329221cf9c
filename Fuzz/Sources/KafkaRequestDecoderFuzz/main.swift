// libFuzzer entry point for the Kafka request decoders (every API and version KafkaWire
// speaks); the checks are in KafkaFuzzSupport, shared with the response harness.
import KafkaFuzzSupport
import KafkaWire

@_cdecl("LLVMFuzzerTestOneInput")
public func kafkaRequestDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzKafkaMessages(KafkaRequest.self, data, size)
}
