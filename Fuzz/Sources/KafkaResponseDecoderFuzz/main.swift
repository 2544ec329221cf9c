// libFuzzer entry point for the Kafka response decoders (every API and version KafkaWire
// speaks); the checks are in KafkaFuzzSupport, shared with the request harness.
import KafkaFuzzSupport
import KafkaWire

@_cdecl("LLVMFuzzerTestOneInput")
public func kafkaResponseDecoderFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzKafkaMessages(KafkaResponse.self, data, size)
}
