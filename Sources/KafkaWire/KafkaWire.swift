// KafkaWire: the Kafka protocol (codecs with no I/O, record batches and compression) and the client built on it.
