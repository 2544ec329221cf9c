"""librdkafka (confluent-kafka) peer for KafkaLibrdkafkaInteropTests.

Run by the tests with the .venv python; stdout is discarded, so results go to a JSON file
(written to a temporary name, then renamed, so a reader never sees half of it). Bytes are
hex strings, null is JSON null. Every loop is bounded by a deadline.

  consume BOOTSTRAP TOPIC PARTITIONS COUNT OUT TIMEOUT_S
      reads every partition from the beginning until COUNT records arrived (or the deadline),
      writes {"records": [{partition, offset, key, value, headers: [[k, v]]}]}
  produce BOOTSTRAP TOPIC COMPRESSION IN OUT
      IN: {"records": [{key, value, headers, partition?}]}; produces them in order with
      partitioner=murmur2_random and writes {"deliveries": [{partition, offset, error}]}
  group BOOTSTRAP TOPIC GROUP STRATEGY OUT STOP_FILE TIMEOUT_S
      subscribes as a group member until STOP_FILE exists (or the deadline), rewriting OUT with
      {"assignment": [partitions], "values": [hex], "errors": [...], "closed": bool}
"""
import json
import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING


def hexify(data):
    return None if data is None else data.hex()


def unhex(text):
    return None if text is None else bytes.fromhex(text)


def write_json(path, payload):
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(payload, handle)
    os.replace(temporary, path)


def log(message):
    print("librdkafka_peer: " + message, file=sys.stderr, flush=True)


def consume(bootstrap, topic, partitions, count, out, timeout):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "lab-interop-reader",  # required by the client; no commits, no subscribe
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
    })
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(int(partitions))])
    records, errors = [], []
    deadline = time.monotonic() + float(timeout)
    while len(records) < int(count) and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=500, timeout=0.2):
            if message.error():
                if not message.error().code() == -191:  # _PARTITION_EOF
                    errors.append(str(message.error()))
                continue
            records.append({
                "partition": message.partition(), "offset": message.offset(),
                "key": hexify(message.key()), "value": hexify(message.value()),
                "headers": [[k, hexify(v)] for k, v in (message.headers() or [])],
            })
    consumer.close()
    write_json(out, {"records": records, "errors": errors})


def produce(bootstrap, topic, compression, source, out):
    with open(source) as handle:
        wanted = json.load(handle)["records"]
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "compression.type": compression,
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "linger.ms": 5,
    })
    deliveries = [None] * len(wanted)

    def report(index):
        def callback(error, message):
            deliveries[index] = {
                "partition": message.partition(), "offset": message.offset(),
                "error": None if error is None else str(error),
            }
        return callback

    for index, record in enumerate(wanted):
        arguments = {"key": unhex(record.get("key")), "value": unhex(record.get("value")), "on_delivery": report(index)}
        if record.get("headers"):
            arguments["headers"] = [(k, unhex(v)) for k, v in record["headers"]]
        if record.get("partition") is not None:
            arguments["partition"] = record["partition"]
        while True:
            try:
                producer.produce(topic, **arguments)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(30)
    if left:
        log("%d records not delivered after 30 s" % left)
    write_json(out, {"deliveries": deliveries})


def group(bootstrap, topic, group_id, strategy, out, stop_file, timeout):
    state = {"assignment": [], "values": [], "errors": [], "closed": False}

    def on_assign(consumer, partitions):
        state["assignment"] = sorted(p.partition for p in partitions)
        log("assigned %s" % state["assignment"])
        write_json(out, state)

    def on_revoke(consumer, partitions):
        state["assignment"] = []
        write_json(out, state)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "partition.assignment.strategy": strategy,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "max.poll.interval.ms": 30000,
        "heartbeat.interval.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    write_json(out, state)
    deadline = time.monotonic() + float(timeout)
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        messages = consumer.consume(num_messages=500, timeout=0.2)
        fresh = [m for m in messages if not m.error()]
        state["errors"] += [str(m.error()) for m in messages if m.error()]
        if fresh:
            state["values"] += [hexify(m.value()) for m in fresh]
            try:
                consumer.commit(asynchronous=False)
            except Exception as error:  # a rebalance in between: the records come again
                state["errors"].append("commit: %s" % error)
            write_json(out, state)
        elif messages:
            write_json(out, state)
    log("stopping")
    consumer.close()
    log("closed")
    state["closed"] = True
    write_json(out, state)


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"consume": consume, "produce": produce, "group": group}[command](*arguments)
